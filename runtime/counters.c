/* Counter names, expanded from TERN_COUNTER_LIST (include/tern/counters.h). */
#include "tern/counters.h"

#include <stddef.h>

static const char *const names[TERN_NCOUNTERS] = {
#define X(n) #n,
    TERN_COUNTER_LIST(X)
#undef X
};

const char *tern_counter_name(int i) {
  if (i < 0 || i >= TERN_NCOUNTERS) return NULL;
  return names[i];
}
