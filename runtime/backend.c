/* tern_backend_run and tern_session_*: the ISA simulator or a Verilated RTL
 * library loaded with dlopen (include/tern/backend.h).  The RTL library for a configuration is
 * <dir>/<tern_hwcfg_rtl_name(cfg)>/libtern_rtl.so, dir = $TERN_RTL_DIR or
 * <repo>/build/rtl; a missing library, or one older than a source it is built
 * from (rtl/, the sim/ shim, sim/rtl.mk), is built with
 * `make -C <repo> rtl-lib RTL_PARAMS="..."`. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/err.h"
#include "tern/backend.h"
#include "tern/isasim.h"
#include "rt_util.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

typedef void (*fn_built_config)(tern_hwcfg *);
typedef tern_rtl *(*fn_create)(const tern_hwcfg *, char *, size_t);
typedef int (*fn_load)(tern_rtl *, const tern_word *, size_t, char *, size_t);
typedef int (*fn_run)(tern_rtl *, uint8_t *, uint64_t, const tern_run_opts *, tern_counters *,
                      char *, size_t);
typedef void (*fn_destroy)(tern_rtl *);

typedef struct rtl_lib {
  char path[1024];
  void *handle;
  fn_built_config built_config;
  fn_create create;
  fn_load load;
  fn_run run;
  fn_destroy destroy;
} rtl_lib;

/* Libraries stay loaded for the life of the process (a Verilated model's
 * static state does not survive dlclose/dlopen cycles reliably). */
#define MAX_LIBS 16
static rtl_lib libs[MAX_LIBS];
static int n_libs;

/* configurations that may be built on demand (tern_rtl_build_allow) */
#define MAX_ALLOWED 64
static tern_hwcfg allowed[MAX_ALLOWED];
static int n_allowed, allow_all;

static int hwcfg_rtl_equal(const tern_hwcfg *a, const tern_hwcfg *b);

void tern_rtl_build_allow(const tern_hwcfg *cfg) {
  if (!cfg) return;
  for (int i = 0; i < n_allowed; i++)
    if (hwcfg_rtl_equal(&allowed[i], cfg)) return;
  if (n_allowed < MAX_ALLOWED) allowed[n_allowed++] = *cfg;
}

void tern_rtl_build_allow_all(int yes) { allow_all = yes != 0; }

static int build_allowed(const tern_hwcfg *cfg) {
  if (allow_all) return 1;
  for (int i = 0; i < n_allowed; i++)
    if (hwcfg_rtl_equal(&allowed[i], cfg)) return 1;
  return 0;
}

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int build_lib(const tern_hwcfg *cfg, const char *dir, const char *path, char *err,
                     size_t errlen) {
  char params[512], out[1400] = "";
  snprintf(params, sizeof params,
           "ROWS=%d COLS=%d WBUF=%d ABUF=%d ACC=%d OUT=%d QD=%d IMEM=%d BW=%d PSUM=%d", cfg->rows,
           cfg->cols, cfg->wbuf_depth, cfg->abuf_depth, cfg->acc_depth, cfg->out_depth,
           cfg->qdepth, cfg->imem_depth, cfg->dram_bw, tern_hwcfg_psum_bits(cfg));
  if (getenv("TERN_RTL_DIR") && *getenv("TERN_RTL_DIR")) {
    /* sim/rtl.mk writes to RTL_OUT; make -C changes directory, so make it absolute */
    char cwd[1024] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    snprintf(out, sizeof out, " RTL_OUT='%s%s%s'", cwd, cwd[0] ? "/" : "", dir);
  }
  char cmd[3000];
  /* build output goes to stderr so stdout stays the program's report */
  snprintf(cmd, sizeof cmd, "make --no-print-directory -C '%s' rtl-lib RTL_PARAMS=\"%s\"%s 1>&2",
           TERN_ROOT, params, out);
  fprintf(stderr, "tern: RTL library %s %s; building it: %s\n", path,
          file_exists(path) ? "is older than its sources" : "not found", cmd);
  fflush(stderr);
  int rc = system(cmd);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    tern_err(err, errlen,
            "RTL library %s is missing and building it failed (make rtl-lib RTL_PARAMS=\"%s\" "
            "exited with status %d)",
            path, params, rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128));
    return -1;
  }
  if (!file_exists(path)) {
    tern_err(err, errlen,
            "RTL library %s is still missing after make rtl-lib RTL_PARAMS=\"%s\" succeeded "
            "(does $TERN_RTL_DIR point somewhere else than the build writes to?)",
            path, params);
    return -1;
  }
  return 0;
}

static int hwcfg_rtl_equal(const tern_hwcfg *a, const tern_hwcfg *b) {
  return a->rows == b->rows && a->cols == b->cols && a->wbuf_depth == b->wbuf_depth &&
         a->abuf_depth == b->abuf_depth && a->acc_depth == b->acc_depth &&
         a->out_depth == b->out_depth && a->qdepth == b->qdepth &&
         a->imem_depth == b->imem_depth && a->dram_bw == b->dram_bw &&
         tern_hwcfg_psum_bits(a) == tern_hwcfg_psum_bits(b);
}

static void describe(const tern_hwcfg *c, char *buf, size_t len) {
  snprintf(buf, len,
           "rows=%d cols=%d wbuf=%d abuf=%d acc=%d out=%d qdepth=%d imem=%d dram_bw=%d psum_bits=%d",
           c->rows, c->cols, c->wbuf_depth, c->abuf_depth, c->acc_depth, c->out_depth, c->qdepth,
           c->imem_depth, c->dram_bw, tern_hwcfg_psum_bits(c));
}

static rtl_lib *get_lib(const tern_hwcfg *cfg, char *err, size_t errlen) {
  char name[256], path[1024];
  tern_hwcfg_rtl_name(cfg, name, sizeof name);
  const char *dir = getenv("TERN_RTL_DIR");
  if (!dir || !*dir) dir = TERN_ROOT "/build/rtl";
  snprintf(path, sizeof path, "%s/%s/libtern_rtl.so", dir, name);
  for (int i = 0; i < n_libs; i++)
    if (strcmp(libs[i].path, path) == 0) return &libs[i];
  if (n_libs >= MAX_LIBS) {
    tern_err(err, errlen, "too many RTL configurations loaded in one process (max %d)", MAX_LIBS);
    return NULL;
  }
  struct stat st;
  char src[1200];
  int stale = stat(path, &st) == 0 && rt_rtl_newer_source(st.st_mtime, src, sizeof src);
  if (!file_exists(path) && !build_allowed(cfg)) {
    tern_err(err, errlen,
             "RTL library for configuration %s is not built (%s) and this configuration was not "
             "named on the command line, so tern does not build it: pass --array %dx%d and "
             "--set for the other fields to name it, or build it with `make rtl-lib "
             "RTL_PARAMS=\"ROWS=%d COLS=%d WBUF=%d ABUF=%d ACC=%d OUT=%d QD=%d IMEM=%d BW=%d "
             "PSUM=%d\"`",
             name, path, cfg->rows, cfg->cols, cfg->rows, cfg->cols, cfg->wbuf_depth,
             cfg->abuf_depth, cfg->acc_depth, cfg->out_depth, cfg->qdepth, cfg->imem_depth,
             cfg->dram_bw, tern_hwcfg_psum_bits(cfg));
    return NULL;
  }
  if ((!file_exists(path) || stale) && build_lib(cfg, dir, path, err, errlen) != 0) return NULL;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *de = dlerror();
    tern_err(err, errlen, "cannot load RTL library %s: %s", path, de ? de : "dlopen failed");
    return NULL;
  }
  rtl_lib L;
  memset(&L, 0, sizeof L);
  snprintf(L.path, sizeof L.path, "%s", path);
  L.handle = h;
  struct {
    const char *sym;
    void **slot;
  } syms[] = {
      {"tern_rtl_built_config", (void **)&L.built_config},
      {"tern_rtl_create", (void **)&L.create},
      {"tern_rtl_load", (void **)&L.load},
      {"tern_rtl_run", (void **)&L.run},
      {"tern_rtl_destroy", (void **)&L.destroy},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    dlerror();
    void *p = dlsym(h, syms[i].sym);
    if (!p) {
      tern_err(err, errlen, "RTL library %s: symbol %s missing (expected the tern_rtl_* API of "
                           "include/tern/backend.h)",
              path, syms[i].sym);
      dlclose(h);
      return NULL;
    }
    /* POSIX guarantees object and function pointers convert through void*; memcpy avoids
     * the ISO C warning about casting between them. */
    memcpy(syms[i].slot, &p, sizeof p);
  }
  tern_hwcfg built;
  memset(&built, 0, sizeof built);
  L.built_config(&built);
  if (!hwcfg_rtl_equal(&built, cfg)) {
    char a[256], b[256];
    describe(&built, a, sizeof a);
    describe(cfg, b, sizeof b);
    tern_err(err, errlen, "RTL library %s was built for %s, expected %s", path, a, b);
    dlclose(h);
    return NULL;
  }
  libs[n_libs] = L;
  return &libs[n_libs++];
}

/* Encode, load into IMEM and run on an existing RTL handle (its SRAMs keep
 * whatever the previous run on the same handle left). */
static int rtl_load_run(rtl_lib *L, tern_rtl *h, const tern_hwcfg *cfg, const tern_insn *prog,
                        size_t n, uint8_t *dram, uint64_t dram_bytes, const tern_run_opts *opts,
                        tern_counters *out, char *err, size_t errlen) {
  char ve[512];
  /* the same check the ISA simulator makes: a program the golden model refuses
   * never runs on the RTL */
  if (tern_validate(cfg, prog, n, dram_bytes, ve, sizeof ve) != 0) {
    tern_err(err, errlen, "invalid program: %s", ve);
    return -1;
  }
  tern_word *words = calloc(n ? n : 1, sizeof *words);
  if (!words) {
    tern_err(err, errlen, "out of memory encoding %zu instructions", n);
    return -1;
  }
  char e2[512];
  for (size_t i = 0; i < n; i++) {
    if (tern_encode(&prog[i], &words[i], e2, sizeof e2) != 0) {
      tern_err(err, errlen, "insn %zu (%s): cannot encode: %s", i, tern_op_name(prog[i].op), e2);
      free(words);
      return -1;
    }
  }
  char e3[1024]; /* a watchdog report names all three queues, fetch and the tokens */
  int rc = L->load(h, words, n, e3, sizeof e3);
  free(words);
  if (rc != 0) {
    tern_err(err, errlen, "RTL: program load failed: %s", e3);
    return -1;
  }
  rc = L->run(h, dram, dram_bytes, opts, out, e3, sizeof e3);
  if (rc != 0) {
    tern_err(err, errlen, "RTL: run failed: %s", e3);
    return -1;
  }
  return 0;
}

static int run_rtl(const tern_hwcfg *cfg, const tern_insn *prog, size_t n, uint8_t *dram,
                   uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out, char *err,
                   size_t errlen) {
  rtl_lib *L = get_lib(cfg, err, errlen);
  if (!L) return -1;
  char e2[512];
  tern_rtl *h = L->create(cfg, e2, sizeof e2);
  if (!h) {
    tern_err(err, errlen, "RTL (%s): create failed: %s", L->path, e2);
    return -1;
  }
  int rc = rtl_load_run(L, h, cfg, prog, n, dram, dram_bytes, opts, out, err, errlen);
  L->destroy(h);
  return rc;
}

int tern_backend_run(const char *backend, const tern_hwcfg *cfg, const tern_insn *prog, size_t n,
                     uint8_t *dram, uint64_t dram_bytes, const tern_run_opts *opts,
                     tern_counters *out, char *err, size_t errlen) {
  if (!backend) backend = "isa";
  memset(out, 0, sizeof *out);
  char e2[512];
  if (tern_hwcfg_check(cfg, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "hardware configuration: %s", e2);
    return -1;
  }
  if (strcmp(backend, "isa") == 0)
    return tern_isasim_run(cfg, prog, n, dram, dram_bytes, opts, out, err, errlen);
  if (strcmp(backend, "rtl") == 0)
    return run_rtl(cfg, prog, n, dram, dram_bytes, opts, out, err, errlen);
  tern_err(err, errlen, "backend '%s', expected isa or rtl", backend);
  return -1;
}

/* ---- sessions ------------------------------------------------------------ */

struct tern_session {
  int rtl;           /* 0 isa, 1 rtl */
  tern_isasim *isa;  /* isa: the machine (its SRAMs persist) */
  rtl_lib *lib;      /* rtl: the library and one handle (its model persists) */
  tern_rtl *h;
  tern_hwcfg cfg;    /* the configuration programs are validated against */
};

tern_session *tern_session_open(const char *backend, const tern_hwcfg *cfg, char *err,
                                size_t errlen) {
  if (!backend) backend = "isa";
  char e2[512];
  if (!cfg) {
    tern_err(err, errlen, "session: configuration is NULL");
    return NULL;
  }
  if (tern_hwcfg_check(cfg, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "hardware configuration: %s", e2);
    return NULL;
  }
  int is_rtl = strcmp(backend, "rtl") == 0;
  if (!is_rtl && strcmp(backend, "isa") != 0) {
    tern_err(err, errlen, "backend '%s', expected isa or rtl", backend);
    return NULL;
  }
  tern_session *s = calloc(1, sizeof *s);
  if (!s) {
    tern_err(err, errlen, "session: out of memory");
    return NULL;
  }
  s->rtl = is_rtl;
  s->cfg = *cfg;
  if (!is_rtl) {
    s->isa = tern_isasim_new(cfg, err, errlen);
    if (!s->isa) {
      free(s);
      return NULL;
    }
    return s;
  }
  s->lib = get_lib(cfg, err, errlen);
  if (!s->lib) {
    free(s);
    return NULL;
  }
  s->h = s->lib->create(cfg, e2, sizeof e2);
  if (!s->h) {
    tern_err(err, errlen, "RTL (%s): create failed: %s", s->lib->path, e2);
    free(s);
    return NULL;
  }
  return s;
}

int tern_session_run(tern_session *s, const tern_insn *prog, size_t n, uint8_t *dram,
                     uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out,
                     char *err, size_t errlen) {
  if (!s || !out) {
    tern_err(err, errlen, "session_run: NULL %s", s ? "counters" : "session");
    return -1;
  }
  memset(out, 0, sizeof *out);
  if (!s->rtl) return tern_isasim_exec(s->isa, prog, n, dram, dram_bytes, opts, out, err, errlen);
  return rtl_load_run(s->lib, s->h, &s->cfg, prog, n, dram, dram_bytes, opts, out, err, errlen);
}

void tern_session_close(tern_session *s) {
  if (!s) return;
  tern_isasim_free(s->isa);
  if (s->h) s->lib->destroy(s->h);
  free(s);
}

/* ---- run options on a command line --------------------------------------- */

int tern_run_opts_is_flag(const char *flag) {
  return flag && (!strcmp(flag, "--watchdog") || !strcmp(flag, "--max-cycles"));
}

int tern_run_opts_flag(tern_run_opts *o, const char *flag, const char *value, char *err,
                       size_t errlen) {
  if (!o || !tern_run_opts_is_flag(flag))
    return tern_err(err, errlen, "'%s': not a run option, expected --watchdog or --max-cycles",
                    flag ? flag : "");
  int wd = !strcmp(flag, "--watchdog");
  const uint64_t hi = wd ? TERN_WATCHDOG_FLAG_MAX : TERN_MAX_CYCLES_FLAG_MAX;
  const char *range = wd ? "1..1000000000000 (10^12)" : "1..1000000000000000 (10^15)";
  /* decimal digits only: no sign, blank, hex or exponent; accumulate with an overflow check */
  uint64_t v = 0;
  int ok = value && *value;
  for (const char *p = value; ok && *p; p++) {
    if (*p < '0' || *p > '9') {
      ok = 0;
      break;
    }
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) v = UINT64_MAX; /* saturate: out of range below */
    else v = v * 10 + d;
  }
  if (!ok || v < 1 || v > hi)
    return tern_err(err, errlen, "%s: '%s', expected a number of cycles in %s", flag,
                    value ? value : "", range);
  if (wd) o->watchdog = v;
  else o->max_cycles = v;
  return 0;
}
