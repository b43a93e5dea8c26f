/* The one error-message helper of libtern: every API that can fail takes
 * (char *err, size_t errlen) and fills it with a message naming the file,
 * field and expected value. */
#ifndef TERN_ERR_H
#define TERN_ERR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Formats into err (if err && errlen) and returns -1. */
int tern_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* va_list form; returns -1. */
int tern_verr(char *err, size_t errlen, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif
#endif
