/* FPGA synthesis of the accelerator RTL (include/tern/synth.h, issue 5):
 * writes a Yosys script into opts.outdir, runs Yosys (and for iCE40
 * nextpnr-ice40, icepack, icetime) as child processes with a timeout, and
 * reads the per-module `stat` of the hierarchical netlist into the units of
 * the report.  Nothing is hand-counted.
 *
 * Flow (docs/SYNTH.md):
 *   1. read the rtl/ sources, chparam tern_top, synth_<target> -noflatten up to the
 *      RAM mapping step (coarse netlist: `stat` -> $mul/$macc per module);
 *   2. every single-port scratchpad memory ($mem_v2 cell named wmem/amem/
 *      imem) is moved into its own submodule (tern_scr_<name>) with `submod`,
 *      so its RAM mapping result (block RAM, LUT RAM or flip-flops) is counted
 *      on its own; ACC and OUT are the RTL modules tern_acc_ram / tern_out_ram
 *      (banks + live-value table, rtl/tern_mpram.sv) and counted as such;
 *   3. the rest of synth_<target>, `stat` (mapped cells per module), then
 *      `flatten; ltp` for the logic-depth estimate;
 *   4. iCE40 with pnr: tern_array in rtl/synth/tern_array_wrap.sv (serial
 *      I/O) through synth_ice40, nextpnr-ice40, icepack and icetime. */
#include "tern/synth.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rt_util.h"
#include "tern/err.h"
#include "tern/io.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

/* ------------------------------------------------------------------ names */

static const char *const TARGET_NAMES[] = {"generic", "ice40", "ecp5", "xilinx"};
static const char *const UNIT_NAMES[TERN_SYNTH_NUNITS] = {"array", "pe",      "vec",  "dma",
                                                          "scratch", "control", "total"};
static const char *const MEM_NAMES[TERN_SYNTH_NMEMS] = {"wbuf", "abuf", "acc", "out", "imem"};
/* the RTL's memory names (tern_compute: g_bank[k].wmem/amem; tern_top: imem), or the module
 * that is the scratchpad (ACC and OUT: a tern_mpram inside, whose cells count for them) */
static const char *const MEM_RTL[TERN_SYNTH_NMEMS] = {"wmem", "amem", NULL, NULL, "imem"};
static const char *const MEM_MODULE[TERN_SYNTH_NMEMS] = {NULL, NULL, "tern_acc_ram",
                                                         "tern_out_ram", NULL};

const char *tern_synth_target_name(tern_synth_target t) {
  return ((unsigned)t < 4) ? TARGET_NAMES[t] : "?";
}

int tern_synth_target_parse(const char *s, tern_synth_target *t, char *err, size_t errlen) {
  for (int i = 0; i < 4; i++)
    if (s && !strcmp(s, TARGET_NAMES[i])) {
      *t = (tern_synth_target)i;
      return 0;
    }
  return tern_err(err, errlen, "target = '%s', expected generic, ice40, ecp5 or xilinx",
                  s ? s : "(null)");
}

const char *tern_synth_mem_name(int m) {
  return (m >= 0 && m < TERN_SYNTH_NMEMS) ? MEM_NAMES[m] : "?";
}
const char *tern_synth_unit_name(int u) {
  return (u >= 0 && u < TERN_SYNTH_NUNITS) ? UNIT_NAMES[u] : "?";
}
const char *tern_synth_mem_where(const tern_synth_unit *m) {
  if (m->brams) return "block RAM";
  if (m->lutrams) return "LUT RAM";
  if (m->ffs) return "flip-flops";
  if (m->luts) return "logic";
  return "-";
}

tern_hwcfg tern_synth_hw_default(int rows, int cols) {
  tern_hwcfg h = tern_hwcfg_small(rows, cols); /* WBUF 64, QDEPTH 4, DRAM_BW = rows */
  h.abuf_depth = 512;
  h.acc_depth = 32;
  h.out_depth = 32;
  h.imem_depth = 256;
  return h;
}

void tern_synth_opts_default(tern_synth_opts *o) {
  memset(o, 0, sizeof *o);
  o->target = TERN_SYNTH_GENERIC;
  o->hw = tern_synth_hw_default(4, 4);
  o->device = "hx8k";
  o->pnr = 1;
  o->target_mhz = 100.0;
  o->outdir = NULL;
  o->timeout_s = 0;
}

/* ------------------------------------------------------------------ helpers */

/* strncpy that always terminates (and does not trip -Wformat-truncation) */
static void scopy(char *dst, size_t n, const char *src) {
  if (!n) return;
  size_t l = strlen(src);
  if (l >= n) l = n - 1;
  memcpy(dst, src, l);
  dst[l] = 0;
}

/* A tool's output file (report, log), at most 256 MiB; NULL if unreadable. */
static char *read_file(const char *path) {
  uint8_t *b;
  char e[64];
  return tern_read_file(path, (size_t)256 << 20, "a tool's report", &b, NULL, e, sizeof e) ? NULL
                                                                                           : (char *)b;
}

/* Tool path: $ENVVAR if set, else the name searched in PATH.  0 or -1. */
static int find_tool(const char *name, const char *envvar, const char *pkg, char *out, size_t outlen,
                     char *err, size_t errlen) {
  const char *ev = getenv(envvar);
  if (ev && *ev) {
    if (access(ev, X_OK) != 0)
      return tern_err(err, errlen, "%s: %s=%s is not an executable file (%s)", name, envvar, ev,
                      strerror(errno));
    snprintf(out, outlen, "%s", ev);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  const char *p = path;
  while (*p) {
    const char *q = strchr(p, ':');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    char cand[1024];
    if (len > 0 && len < 900) {
      snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, name);
      if (access(cand, X_OK) == 0) {
        snprintf(out, outlen, "%s", cand);
        return 0;
      }
    }
    if (!q) break;
    p = q + 1;
  }
  return tern_err(err, errlen, "%s not found in PATH (install it: apt-get install %s, or set %s)",
                  name, pkg, envvar);
}

/* First line of a log that looks like an error (for messages). */
static void first_error_line(const char *logpath, char *out, size_t outlen) {
  scopy(out, outlen, "(no log)");
  FILE *f = fopen(logpath, "r");
  if (!f) return;
  char line[1024], last[1024] = "";
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (strstr(line, "ERROR") || strstr(line, "Error") || strstr(line, "error:")) {
      scopy(out, outlen, line);
      fclose(f);
      return;
    }
    if (line[0]) snprintf(last, sizeof last, "%s", line);
  }
  fclose(f);
  scopy(out, outlen, last[0] ? last : "(the log is empty)");
}

/* SIGINT / SIGTERM / SIGHUP while a tool runs: the tool runs in its own
 * process group (so that a timeout kills yosys together with the abc it
 * starts), which a terminal's ^C or make's kill would not reach.  The handler
 * only records the signal; run_tool kills the group, waits for it, restores
 * the caller's handlers and raises the signal again. */
static volatile sig_atomic_t tool_signal;
static void on_tool_signal(int sig) { tool_signal = sig; }
static const int tool_sigs[3] = {SIGINT, SIGTERM, SIGHUP};

/* Runs argv (argv[0] = full path) in dir, stdout+stderr to logpath, with a
 * timeout.  0 on exit status 0; -1 with a message otherwise (rc_out gets
 * the exit status, -2 timeout, -3 could not start). */
static int run_tool(const char *label, char *const argv[], const char *dir, const char *logpath,
                    int timeout_s, double *secs, int *rc_out, char *err, size_t errlen) {
  double t0 = (rt_now_ms() / 1e3);
  if (rc_out) *rc_out = -3;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return tern_err(err, errlen, "%s: fork: %s", label, strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    if (chdir(dir) != 0) _exit(126);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
      dup2(nul, 0);
      close(nul);
    }
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  struct sigaction old[3], sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tool_signal;
  sigemptyset(&sa.sa_mask);
  tool_signal = 0;
  for (int i = 0; i < 3; i++) { /* a signal the caller ignores stays ignored */
    sigaction(tool_sigs[i], NULL, &old[i]);
    if (old[i].sa_handler != SIG_IGN) sigaction(tool_sigs[i], &sa, NULL);
  }
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (tool_signal) {
      int sig = tool_signal;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      for (int i = 0; i < 3; i++) sigaction(tool_sigs[i], &old[i], NULL);
      raise(sig);
      return tern_err(err, errlen, "%s: interrupted by signal %d", label, sig);
    }
    if (w < 0 && errno != EINTR) {
      for (int i = 0; i < 3; i++) sigaction(tool_sigs[i], &old[i], NULL);
      return tern_err(err, errlen, "%s: waitpid: %s", label, strerror(errno));
    }
    if (timeout_s > 0 && (rt_now_ms() / 1e3) - t0 > timeout_s) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      for (int i = 0; i < 3; i++) sigaction(tool_sigs[i], &old[i], NULL);
      if (secs) *secs += (rt_now_ms() / 1e3) - t0;
      if (rc_out) *rc_out = -2;
      return tern_err(err, errlen, "%s: timed out after %d s (log %s)", label, timeout_s, logpath);
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < 3; i++) sigaction(tool_sigs[i], &old[i], NULL);
  if (secs) *secs += (rt_now_ms() / 1e3) - t0;
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (rc_out) *rc_out = rc;
  if (rc != 0) {
    char line[512];
    first_error_line(logpath, line, sizeof line);
    return tern_err(err, errlen, "%s exited with status %d (log %s): %s", label, rc, logpath, line);
  }
  return 0;
}

/* The RTL directory: TERN_ROOT/rtl, or $TERN_SYNTH_RTL (tests synthesise a
 * modified copy there; rtl/synth/ is always TERN_ROOT's). */
static const char *rtl_dir(void) {
  static char buf[900];
  const char *e = getenv("TERN_SYNTH_RTL");
  if (e && *e) snprintf(buf, sizeof buf, "%s", e);
  else snprintf(buf, sizeof buf, "%s/rtl", TERN_ROOT);
  return buf;
}

/* The .sv files of the RTL directory, sorted, absolute, space separated. */
static int rtl_sources(char *out, size_t outlen, char *err, size_t errlen) {
  char dir[900];
  snprintf(dir, sizeof dir, "%s", rtl_dir());
  struct dirent **names = NULL;
  DIR *d = opendir(dir);
  if (!d) return tern_err(err, errlen, "RTL directory %s: %s", dir, strerror(errno));
  char *list[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    size_t l = strlen(e->d_name);
    if (l > 3 && !strcmp(e->d_name + l - 3, ".sv")) list[n++] = strdup(e->d_name);
  }
  closedir(d);
  (void)names;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(list[i], list[j]) > 0) {
        char *t = list[i];
        list[i] = list[j];
        list[j] = t;
      }
  out[0] = 0;
  size_t used = 0;
  int rc = 0;
  for (int i = 0; i < n; i++) {
    int w = snprintf(out + used, outlen - used, "%s%s/%s", i ? " " : "", dir, list[i]);
    if (w < 0 || (size_t)w >= outlen - used) rc = -1;
    else used += (size_t)w;
    free(list[i]);
  }
  if (rc) return tern_err(err, errlen, "RTL source list too long");
  if (n == 0) return tern_err(err, errlen, "no .sv files in %s", dir);
  return 0;
}

/* ------------------------------------------------------------------ stat parsing */

typedef struct {
  char type[200];
  uint64_t n;
} cellcount;

typedef struct {
  char name[400];
  cellcount *c;
  int nc, cap;
} modstat;

typedef struct {
  modstat *m;
  int n, cap;
} design_stat;

static void ds_free(design_stat *d) {
  for (int i = 0; i < d->n; i++) free(d->m[i].c);
  free(d->m);
  memset(d, 0, sizeof *d);
}

/* Makes room for element n of *p (capacity *cap, doubling from 16); -1 when out of memory
 * (*p unchanged, so the caller can still free it). */
static int grow(void **p, int *cap, int n, size_t elt) {
  if (n < *cap) return 0;
  int nc = *cap ? 2 * *cap : 16;
  void *q = realloc(*p, (size_t)nc * elt);
  if (!q) return -1;
  *p = q;
  *cap = nc;
  return 0;
}

/* Parses Yosys' text `stat` output: "=== module ===" then the cell list
 * under "Number of cells:" (lines "     TYPE   COUNT"). */
static int parse_stat(const char *path, design_stat *d, char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  FILE *f = fopen(path, "r");
  if (!f) return tern_err(err, errlen, "yosys stat output %s missing: %s", path, strerror(errno));
  char line[2048];
  modstat *cur = NULL;
  int in_cells = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!strncmp(line, "=== ", 4)) {
      in_cells = 0;
      cur = NULL;
      if (strstr(line, "design hierarchy")) break;
      char *s = line + 4, *e = strstr(s, " ===");
      if (!e) continue;
      *e = 0;
      void *m = d->m;
      if (grow(&m, &d->cap, d->n, sizeof *d->m)) goto oom;
      d->m = m;
      cur = &d->m[d->n++];
      memset(cur, 0, sizeof *cur);
      scopy(cur->name, sizeof cur->name, s);
      continue;
    }
    if (!cur) continue;
    if (strstr(line, "Number of cells:")) {
      in_cells = 1;
      continue;
    }
    if (!in_cells) continue;
    if (strncmp(line, "     ", 5) != 0) {
      if (line[0]) in_cells = 0;
      continue;
    }
    char type[400];
    unsigned long long cnt;
    if (sscanf(line, " %399s %llu", type, &cnt) != 2) continue;
    void *c = cur->c;
    if (grow(&c, &cur->cap, cur->nc, sizeof *cur->c)) goto oom;
    cur->c = c;
    scopy(cur->c[cur->nc].type, sizeof cur->c[cur->nc].type, type);
    cur->c[cur->nc].n = cnt;
    cur->nc++;
  }
  fclose(f);
  if (d->n == 0) return tern_err(err, errlen, "no module statistics in %s", path);
  return 0;
oom:
  fclose(f);
  ds_free(d);
  return tern_err(err, errlen, "%s: out of memory", path);
}

static int ds_find(const design_stat *d, const char *name) {
  for (int i = 0; i < d->n; i++)
    if (!strcmp(d->m[i].name, name)) return i;
  return -1;
}

/* Module base name: "$paramod$hash\tern_fifo" -> "tern_fifo". */
/* The RTL module name of a Yosys module: "$paramod$<hash>\\tern_array" and
 * "$paramod\\tern_pe\\W=s32'..." (short parameter lists are spelled out) -> the
 * name; plain names unchanged. */
static const char *basename_of(const char *m) {
  static char buf[256];
  const char *b = m;
  if (!strncmp(m, "$paramod\\", 9)) b = m + 9;
  else if (!strncmp(m, "$paramod$", 9) && strchr(m, '\\')) b = strchr(m, '\\') + 1;
  size_t n = strcspn(b, "\\");
  snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), b);
  return buf;
}

static int starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* Adds n cells of `type` to u (mapped netlist classes per target). */
static void classify(tern_synth_target t, const char *type, uint64_t n, tern_synth_unit *u) {
  if (!strcmp(type, "$mul") || starts(type, "$__MUL") || !strcmp(type, "$__soft_mul")) {
    u->muls += n;
    return;
  }
  switch (t) {
    case TERN_SYNTH_ICE40:
      if (!strcmp(type, "SB_LUT4")) u->luts += n;
      else if (starts(type, "SB_DFF")) u->ffs += n;
      else if (!strcmp(type, "SB_CARRY")) u->carries += n;
      else if (starts(type, "SB_RAM") || starts(type, "SB_SPRAM")) u->brams += n;
      else if (!strcmp(type, "SB_MAC16")) u->dsps += n;
      else u->other += n;
      return;
    case TERN_SYNTH_ECP5:
      if (!strcmp(type, "LUT4")) u->luts += n;
      else if (!strcmp(type, "TRELLIS_FF")) u->ffs += n;
      else if (!strcmp(type, "CCU2C")) u->carries += n;
      else if (!strcmp(type, "DP16KD") || !strcmp(type, "PDPW16KD")) u->brams += n;
      else if (starts(type, "MULT18X18") || starts(type, "MULT9X9") || starts(type, "ALU54"))
        u->dsps += n;
      else if (starts(type, "TRELLIS_DPR") || starts(type, "DPR16X4")) u->lutrams += n;
      else u->other += n;
      return;
    case TERN_SYNTH_XILINX:
      if (starts(type, "LUT") && isdigit((unsigned char)type[3])) u->luts += n;
      else if (starts(type, "FD")) u->ffs += n;
      else if (starts(type, "CARRY")) u->carries += n;
      else if (starts(type, "RAMB")) u->brams += n;
      else if (starts(type, "DSP48")) u->dsps += n;
      else if (starts(type, "RAM32") || starts(type, "RAM64") || starts(type, "RAM128") ||
               starts(type, "RAM256") || starts(type, "SRL"))
        u->lutrams += n;
      else u->other += n;
      return;
    case TERN_SYNTH_GENERIC:
    default:
      if (starts(type, "$_DFF") || starts(type, "$_SDFF") || starts(type, "$_ALDFF") ||
          starts(type, "$_DLATCH") || starts(type, "$_SR_") || starts(type, "$_FF_"))
        u->ffs += n;
      else if (starts(type, "$_")) u->luts += n;
      else if (starts(type, "$mem")) u->other += n;
      else u->other += n;
      return;
  }
}

static void unit_add(tern_synth_unit *a, const tern_synth_unit *b, uint64_t k) {
  a->luts += k * b->luts;
  a->ffs += k * b->ffs;
  a->carries += k * b->carries;
  a->brams += k * b->brams;
  a->dsps += k * b->dsps;
  a->muls += k * b->muls;
  a->lutrams += k * b->lutrams;
  a->other += k * b->other;
}

/* Where a module's own cells go. */
enum { CLS_ARRAY, CLS_PE, CLS_VEC, CLS_DMA, CLS_MEM0, CLS_CONTROL = CLS_MEM0 + TERN_SYNTH_NMEMS };

static int module_class(const char *name) {
  const char *b = basename_of(name);
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
    char key[32];
    snprintf(key, sizeof key, "tern_scr_%s", MEM_NAMES[m]);
    if (strstr(name, key) || (MEM_MODULE[m] && !strcmp(b, MEM_MODULE[m]))) return CLS_MEM0 + m;
  }
  if (!strcmp(b, "tern_mpram")) return -1; /* counts for the scratchpad that contains it */
  if (!strcmp(b, "tern_pe")) return CLS_PE;
  if (!strcmp(b, "tern_array")) return CLS_ARRAY;
  if (!strcmp(b, "tern_vec")) return CLS_VEC;
  if (!strcmp(b, "tern_dma_load") || !strcmp(b, "tern_dma_store")) return CLS_DMA;
  return CLS_CONTROL;
}

typedef struct {
  tern_synth_unit cls[CLS_CONTROL + 1];
  tern_synth_unit pe_one;
  uint64_t n_pe;
} walk_acc;

static void walk(const design_stat *d, tern_synth_target t, int mi, uint64_t mult, walk_acc *acc,
                 int depth, int parent_cls) {
  if (depth > 32) return;
  const modstat *m = &d->m[mi];
  int cls = module_class(m->name);
  if (cls < 0) cls = parent_cls;
  tern_synth_unit own;
  memset(&own, 0, sizeof own);
  for (int i = 0; i < m->nc; i++) {
    int sub = ds_find(d, m->c[i].type);
    if (sub >= 0) walk(d, t, sub, mult * m->c[i].n, acc, depth + 1, cls);
    else classify(t, m->c[i].type, m->c[i].n, &own);
  }
  unit_add(&acc->cls[cls], &own, mult);
  if (cls == CLS_PE) {
    acc->pe_one = own;
    acc->n_pe += mult;
  }
}

/* Fills r->unit / r->mem from a mapped stat; muls_only: add only the muls
 * field (coarse netlist). */
static int units_from_stat(const char *path, tern_synth_target t, const char *top, int muls_only,
                           tern_synth_result *r, char *err, size_t errlen) {
  design_stat d;
  if (parse_stat(path, &d, err, errlen) != 0) return -1;
  int ti = -1;
  for (int i = 0; i < d.n; i++)
    if (!strcmp(basename_of(d.m[i].name), top)) ti = i;
  if (ti < 0) {
    ds_free(&d);
    return tern_err(err, errlen, "module %s not in %s", top, path);
  }
  walk_acc acc;
  memset(&acc, 0, sizeof acc);
  walk(&d, t, ti, 1, &acc, 0, CLS_CONTROL);
  ds_free(&d);
  tern_synth_unit u[TERN_SYNTH_NUNITS], mem[TERN_SYNTH_NMEMS];
  memset(u, 0, sizeof u);
  memset(mem, 0, sizeof mem);
  u[TERN_SYNTH_U_ARRAY] = acc.cls[CLS_ARRAY];
  unit_add(&u[TERN_SYNTH_U_ARRAY], &acc.cls[CLS_PE], 1);
  u[TERN_SYNTH_U_PE] = acc.pe_one;
  u[TERN_SYNTH_U_VEC] = acc.cls[CLS_VEC];
  u[TERN_SYNTH_U_DMA] = acc.cls[CLS_DMA];
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
    mem[m] = acc.cls[CLS_MEM0 + m];
    unit_add(&u[TERN_SYNTH_U_SCRATCH], &mem[m], 1);
  }
  u[TERN_SYNTH_U_CONTROL] = acc.cls[CLS_CONTROL];
  for (int k = 0; k < TERN_SYNTH_U_TOTAL; k++)
    if (k != TERN_SYNTH_U_PE) unit_add(&u[TERN_SYNTH_U_TOTAL], &u[k], 1);
  if (muls_only) {
    for (int k = 0; k < TERN_SYNTH_NUNITS; k++) r->unit[k].muls = u[k].muls;
    for (int m = 0; m < TERN_SYNTH_NMEMS; m++) r->mem[m].muls = mem[m].muls;
  } else {
    for (int k = 0; k < TERN_SYNTH_NUNITS; k++) {
      uint64_t keep = r->unit[k].muls;
      r->unit[k] = u[k];
      r->unit[k].muls += keep;
    }
    for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
      uint64_t keep = r->mem[m].muls;
      r->mem[m] = mem[m];
      r->mem[m].muls += keep;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ scripts */

static const char *synth_cmd(tern_synth_target t) {
  switch (t) {
    case TERN_SYNTH_ICE40: return "synth_ice40";
    case TERN_SYNTH_ECP5: return "synth_ecp5";
    case TERN_SYNTH_XILINX: return "synth_xilinx";
    default: return "synth";
  }
}
/* the label before which memories are mapped (coarse netlist ends there) */
static const char *split_label(tern_synth_target t) {
  switch (t) {
    case TERN_SYNTH_ICE40:
    case TERN_SYNTH_ECP5: return "map_ram";
    case TERN_SYNTH_XILINX: return "map_memory";
    default: return "fine";
  }
}
static const char *ff_exclude(tern_synth_target t) {
  switch (t) {
    case TERN_SYNTH_ICE40: return " t:SB_DFF* %d t:SB_RAM* %d t:SB_MAC16 %d";
    case TERN_SYNTH_ECP5: return " t:TRELLIS_FF %d t:DP16KD %d t:MULT18X18D %d t:TRELLIS_DPR16X4 %d";
    case TERN_SYNTH_XILINX: return " t:FD* %d t:RAMB* %d t:DSP48* %d t:RAM* %d t:SRL* %d";
    default: return "";
  }
}

static int is_up5k(const tern_synth_opts *o) { return o->device && !strcmp(o->device, "up5k"); }

static void hw_chparam(FILE *f, const tern_hwcfg *h) {
  fprintf(f,
          "chparam -set ROWS %d -set COLS %d -set WBUF_DEPTH %d -set ABUF_DEPTH %d -set ACC_DEPTH %d "
          "-set OUT_DEPTH %d -set QDEPTH %d -set IMEM_DEPTH %d -set DRAM_BW %d -set PSUM_W %d "
          "tern_top\n",
          h->rows, h->cols, h->wbuf_depth, h->abuf_depth, h->acc_depth, h->out_depth, h->qdepth,
          h->imem_depth, h->dram_bw, tern_hwcfg_psum_bits(h));
}

static int write_main_script(const tern_synth_opts *o, const char *path, char *err, size_t errlen) {
  char srcs[8192];
  if (rtl_sources(srcs, sizeof srcs, err, errlen) != 0) return -1;
  FILE *f = fopen(path, "w");
  if (!f) return tern_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
  tern_synth_target t = o->target;
  const char *top = o->array_only ? "tern_array" : "tern_top";
  char syn[128];
  snprintf(syn, sizeof syn, "%s -top %s%s%s%s", synth_cmd(t), top,
           (t == TERN_SYNTH_ICE40 || t == TERN_SYNTH_ECP5) ? " -noflatten" : "",
           (t == TERN_SYNTH_ICE40 && is_up5k(o)) ? " -dsp" : "",
           t == TERN_SYNTH_XILINX ? " -noiopad" : ""); /* a block of a larger design: no I/O buffers */
  fprintf(f, "# written by tern synth (runtime/synth.c); run in this directory: yosys -s synth.ys\n");
  fprintf(f, "read_verilog -sv -I%s %s\n", rtl_dir(), srcs);
  if (o->array_only)
    fprintf(f, "chparam -set ROWS %d -set COLS %d -set PSUM_W %d tern_array\n", o->hw.rows,
            o->hw.cols, tern_hwcfg_psum_bits(&o->hw));
  else
    hw_chparam(f, &o->hw);
  fprintf(f, "# 0. multipliers as written: $mul cells after proc (on a copy; constant powers of two\n"
             "#    become shifts in opt_expr).  Later alumacc turns adder trees into $macc too.\n");
  fprintf(f, "design -push-copy\nhierarchy -top %s\nproc\nopt_expr\nopt_clean\n", top);
  fprintf(f, "tee -q -o stat_mul.txt stat\ndesign -pop\n");
  fprintf(f, "# 1. up to the RAM mapping: coarse netlist\n");
  fprintf(f, "%s -run :%s\n", syn, split_label(t));
  fprintf(f, "tee -q -o stat_coarse.txt stat\n");
  fprintf(f, "tee -q -o memories.txt select -list t:$mem_v2\n");
  fprintf(f, "# 2. each scratchpad memory into its own submodule tern_scr_<name>\n");
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++)
    if (MEM_RTL[m])
      fprintf(f, "setattr -set submod \"tern_scr_%s\" t:$mem_v2 n:*%s* %%i\n", MEM_NAMES[m],
              MEM_RTL[m]);
  fprintf(f, "submod\n");
  fprintf(f, "# 3. the rest of the flow, mapped cells per module, logic depth (estimate)\n");
  fprintf(f, "%s -run %s:\n", syn, split_label(t));
  fprintf(f, "tee -q -o stat.txt stat\n");
  fprintf(f, "flatten\n");
  fprintf(f, "tee -q -o ltp.txt ltp -noff %s/*%s\n", top, ff_exclude(t));
  fclose(f);
  return 0;
}

/* ------------------------------------------------------------------ ltp and nextpnr parsing */

/* "\u_array.g_row[1].g_col[1].u_pe.psum_o_SB_DFF_Q_D [31] (via ...)" -> "u_array...psum_o[31]" */
static void ltp_node_name(const char *line, char *out, size_t outlen) {
  const char *s = strchr(line, ':');
  s = s ? s + 1 : line;
  while (*s == ' ') s++;
  if (*s == '\\') s++;
  char name[512];
  size_t n = 0;
  while (s[n] && s[n] != ' ' && n < sizeof name - 1) {
    name[n] = s[n];
    n++;
  }
  name[n] = 0;
  const char *rest = s + n;
  /* "$flatten\g_row[3].g_col[3].u_pe.$0\psum_o[31:0]" -> "g_row[3].g_col[3].u_pe.psum_o" */
  const char *drop[] = {"$flatten\\", "$0\\"};
  for (size_t i = 0; i < 2; i++) {
    char *d;
    while ((d = strstr(name, drop[i]))) memmove(d, d + strlen(drop[i]), strlen(d + strlen(drop[i])) + 1);
  }
  /* "$paramod$<hash>\\" prefixes of submodule names; "$auto$..." cell names: keep the instance path */
  char *pm;
  while ((pm = strstr(name, "$paramod$"))) {
    char *bs = strchr(pm, '\\');
    if (!bs) break;
    memmove(pm, bs + 1, strlen(bs + 1) + 1);
  }
  char *au = strstr(name, "$auto$");
  if (!au) au = strstr(name, "$techmap");
  if (au && au != name) {
    *au = 0;
    size_t l = strlen(name);
    if (l && name[l - 1] == '.') name[l - 1] = 0;
  }
  char *rng = strchr(name, '[');
  while (rng) {
    char *colon = strchr(rng, ':'), *close = strchr(rng, ']');
    if (colon && close && colon < close) {
      memmove(rng, close + 1, strlen(close + 1) + 1);
      rng = strchr(rng, '[');
    } else {
      rng = strchr(rng + 1, '[');
    }
  }
  /* strip Yosys/ABC-made suffixes: _SB_..., _$..., $abc$... */
  const char *cut[] = {"_SB_", "_$", "$abc$", "_TRELLIS", "_LUT", "_CCU2C", "_CARRY", "_FD"};
  for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
    char *c = strstr(name, cut[i]);
    if (c && c != name) *c = 0;
  }
  int bit = -1;
  const char *br = strchr(rest, '[');
  if (br && br < rest + 3) bit = atoi(br + 1);
  if (bit >= 0) snprintf(out, outlen, "%s[%d]", name, bit);
  else snprintf(out, outlen, "%s", name);
}

static void parse_ltp(const char *path, const char *top, tern_synth_result *r) {
  char *txt = read_file(path);
  r->logic_depth = -1;
  if (!txt) return;
  char key[128];
  snprintf(key, sizeof key, "Longest topological path in %s (length=", top);
  char *p = strstr(txt, key);
  if (!p) {
    free(txt);
    return;
  }
  r->logic_depth = atoi(p + strlen(key));
  char first[600] = "", last[600] = "";
  int carries = 0;
  char *line = strchr(p, '\n');
  while (line && *line) {
    line++;
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    int idx;
    if (len == 0 || !strchr(line, ':') || line[0] != ' ' || sscanf(line, " %d:", &idx) != 1) {
      if (len == 0) break;
    } else {
      char buf[2048];
      snprintf(buf, sizeof buf, "%.*s", (int)(len < 2000 ? len : 2000), line);
      if (strstr(buf, "CARRY") || strstr(buf, "CCU2C")) carries++;
      if (!first[0]) ltp_node_name(buf, first, sizeof first);
      ltp_node_name(buf, last, sizeof last);
    }
    line = end;
  }
  free(txt);
  /* inside a PE the path can only end at psum_o (the PE's one register); ABC names the
   * net feeding it after whichever source wire it merged (e.g. "u_pe.cin[31]") */
  char *pe = strstr(last, "u_pe");
  if (pe) {
    char inst[600];
    snprintf(inst, sizeof inst, "%.*s", (int)(pe - last) + 4, last);
    snprintf(last, sizeof last, "the psum register of %.500s", inst);
  }
  char via[64] = "";
  if (carries > 0) snprintf(via, sizeof via, " through %d carry-chain nodes", carries);
  snprintf(r->critical_path, sizeof r->critical_path,
           "estimate: %d nodes deep (Yosys ltp on the flattened netlist, registers cut), from %.160s%s "
           "to %.160s",
           r->logic_depth, first, via, last);
}

/* nextpnr cell names -> words */
static void pnr_cell_words(const char *cell, char *out, size_t outlen) {
  int k = -1, n = -1;
  const char *g = strstr(cell, "g_row[");
  if (g) k = atoi(g + 6);
  const char *c = strstr(cell, "g_col[");
  if (c) n = atoi(c + 6);
  /* Inside a PE the only flip-flops are psum_o, so any PE logic cell that starts or ends
   * a timing path is the psum register (nextpnr may name the cell after the LUT packed
   * with the flip-flop, e.g. "u_pe.cin_SB_LUT4_..._LC.I3"). */
  if ((strstr(cell, "psum_o") || strstr(cell, ".u_pe.")) && k >= 0)
    snprintf(out, outlen, "the psum register of tern_pe row %d column %d", k, n);
  else if (strstr(cell, "in_q"))
    snprintf(out, outlen,
             "an operand register (wrapper input shift register; in tern_compute the WBUF/ABUF "
             "bank read register holding a weight code / activation)");
  else if (strstr(cell, "out_q"))
    snprintf(out, outlen, "the wrapper's output shift register");
  else snprintf(out, outlen, "%s", cell);
}

static void parse_nextpnr(const char *logpath, tern_synth_result *r) {
  char *txt = read_file(logpath);
  if (!txt) return;
  /* utilisation */
  char *u = strstr(txt, "ICESTORM_LC:");
  if (u) {
    int used = 0, tot = 0, pct = 0;
    if (sscanf(u, "ICESTORM_LC: %d/ %d %d%%", &used, &tot, &pct) >= 2 ||
        sscanf(u, "ICESTORM_LC: %d/%d %d%%", &used, &tot, &pct) >= 2) {
      snprintf(r->fit_note, sizeof r->fit_note, "array wrapper placed: %d/%d logic cells (%d%%)",
               used, tot, tot ? (100 * used + tot / 2) / tot : 0);
    }
  }
  /* the last critical path report of the (only) clock */
  char *cp = NULL, *q = txt;
  while ((q = strstr(q, "Critical path report for clock"))) cp = q++;
  if (cp) {
    char src[512] = "", sink[512] = "";
    int carries = 0, luts = 0;
    char *line = cp;
    while ((line = strchr(line, '\n'))) {
      line++;
      char *end = strchr(line, '\n');
      size_t len = end ? (size_t)(end - line) : strlen(line);
      char buf[1024];
      snprintf(buf, sizeof buf, "%.*s", (int)(len < 1000 ? len : 1000), line);
      if (strstr(buf, "ns logic") || strstr(buf, "Critical path report") ||
          strstr(buf, "Max frequency"))
        break;
      char *s = strstr(buf, "Source ");
      char *k = strstr(buf, "Sink ");
      if (s) {
        char cell[512];
        if (sscanf(s + 7, "%511s", cell) == 1) {
          if (!src[0]) snprintf(src, sizeof src, "%s", cell);
          if (strstr(cell, ".COUT")) carries++;
          else if (strstr(cell, ".O")) luts++;
        }
      }
      if (k) {
        char cell[512];
        if (sscanf(k + 5, "%511s", cell) == 1) snprintf(sink, sizeof sink, "%s", cell);
      }
      if (!end) break;
    }
    if (src[0] && sink[0]) {
      char ws[300], wk[300];
      pnr_cell_words(src, ws, sizeof ws);
      pnr_cell_words(sink, wk, sizeof wk);
      int lut_only = luts > 0 ? luts - 1 : 0; /* the source LC's own output is counted as .O */
      snprintf(r->critical_path, sizeof r->critical_path,
               "from %.200s through %d LUT(s) and a %d-cell carry chain (the %d-bit psum adder) to "
               "%.200s",
               ws, lut_only, carries, tern_hwcfg_psum_bits(&r->hw), wk);
    }
  }
  free(txt);
}

/* "Total path delay: 8.80 ns (113.64 MHz)" */
static double parse_icetime(const char *logpath) {
  char *txt = read_file(logpath);
  if (!txt) return 0;
  double mhz = 0;
  /* icetime 2023: "Timing estimate: 10.59 ns (94.47 MHz)"; older: "Total path delay: ..." */
  const char *keys[] = {"Timing estimate:", "Total path delay:"};
  for (int k = 0; k < 2 && mhz <= 0; k++) {
    char *p = strstr(txt, keys[k]);
    if (!p) continue;
    double ns = 0;
    p += strlen(keys[k]);
    if (sscanf(p, " %lf ns (%lf MHz)", &ns, &mhz) < 2 && ns > 0) mhz = 1000.0 / ns;
  }
  free(txt);
  return mhz;
}

static double parse_nextpnr_fmax(const char *logpath) {
  char *txt = read_file(logpath);
  if (!txt) return 0;
  double mhz = 0;
  char *p = txt;
  while ((p = strstr(p, "Max frequency for clock"))) {
    char *c = strstr(p, "': ");
    if (c) mhz = atof(c + 3);
    p++;
  }
  free(txt);
  return mhz;
}

/* ------------------------------------------------------------------ run */

static int run_pnr(const tern_synth_opts *o, const char *dir, tern_synth_result *r, FILE *log,
                   int timeout_s, char *err, size_t errlen) {
  char yosys[1024], nextpnr[1024], icepack[1024], icetime[1024];
  if (find_tool("yosys", "TERN_YOSYS", "yosys", yosys, sizeof yosys, err, errlen) != 0) return -1;
  if (find_tool("nextpnr-ice40", "TERN_NEXTPNR", "nextpnr-ice40", nextpnr, sizeof nextpnr, err,
                errlen) != 0)
    return -1;
  if (find_tool("icepack", "TERN_ICEPACK", "fpga-icestorm", icepack, sizeof icepack, err, errlen) !=
      0)
    return -1;
  if (find_tool("icetime", "TERN_ICETIME", "fpga-icestorm", icetime, sizeof icetime, err, errlen) !=
      0)
    return -1;
  int up5k = is_up5k(o);
  const char *dev = up5k ? "up5k" : "hx8k";
  const char *pkg = up5k ? "sg48" : "ct256";
  char path[1200];
  snprintf(path, sizeof path, "%s/pnr.ys", dir);
  FILE *f = fopen(path, "w");
  if (!f) return tern_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
  fprintf(f, "# written by tern synth: tern_array in the serial-I/O wrapper, for nextpnr-ice40\n");
  fprintf(f, "read_verilog -sv %s/rtl/tern_pe.sv %s/rtl/tern_array.sv %s/rtl/synth/tern_array_wrap.sv\n",
          TERN_ROOT, TERN_ROOT, TERN_ROOT);
  fprintf(f, "chparam -set ROWS %d -set COLS %d -set PSUM_W %d tern_array_wrap\n", o->hw.rows,
          o->hw.cols, tern_hwcfg_psum_bits(&o->hw));
  fprintf(f, "synth_ice40 -top tern_array_wrap%s -json wrap.json\n", up5k ? " -dsp" : "");
  fprintf(f, "tee -q -o stat_wrap.txt stat\n");
  fclose(f);

  char lp[1200];
  snprintf(lp, sizeof lp, "%s/yosys_pnr.log", dir);
  if (log) fprintf(log, "synth: yosys -s pnr.ys (tern_array %dx%d in tern_array_wrap)\n", o->hw.rows, o->hw.cols);
  char *a1[] = {yosys, "-q", "-l", "yosys_pnr.full.log", "-s", "pnr.ys", NULL};
  if (run_tool("yosys (pnr netlist)", a1, dir, lp, timeout_s, &r->seconds, NULL, err, errlen) != 0)
    return -1;

  char freq[32];
  snprintf(freq, sizeof freq, "%g", o->target_mhz > 0 ? o->target_mhz : 100.0);
  char devflag[16];
  snprintf(devflag, sizeof devflag, "--%s", dev);
  char *a2[] = {nextpnr, devflag, "--package", (char *)pkg, "--json", "wrap.json", "--asc", "wrap.asc",
                "--pcf-allow-unconstrained", "--freq", freq, "--timing-allow-fail", "--seed", "1", NULL};
  snprintf(lp, sizeof lp, "%s/nextpnr.log", dir);
  if (log) fprintf(log, "synth: nextpnr-ice40 --%s --package %s --freq %s\n", dev, pkg, freq);
  int rc = 0;
  char e2[1024];
  if (run_tool("nextpnr-ice40", a2, dir, lp, timeout_s, &r->seconds, &rc, e2, sizeof e2) != 0) {
    if (rc == -2 || rc == -3) return tern_err(err, errlen, "%s", e2);
    /* did not place or route: reported, not an error */
    r->fits = 0;
    char line[200];
    first_error_line(lp, line, sizeof line);
    snprintf(r->fit_note, sizeof r->fit_note, "tern_array %dx%d does not place on %s: %s",
             o->hw.rows, o->hw.cols, dev, line);
    snprintf(r->timing_source, sizeof r->timing_source, "none (nextpnr-ice40 --%s failed, log %s)",
             dev, "nextpnr.log");
    return 0;
  }
  r->fits = 1;
  parse_nextpnr(lp, r);

  char *a3[] = {icepack, "wrap.asc", "wrap.bin", NULL};
  snprintf(lp, sizeof lp, "%s/icepack.log", dir);
  if (run_tool("icepack", a3, dir, lp, timeout_s, &r->seconds, NULL, err, errlen) != 0) return -1;

  char *a4[] = {icetime, "-d", (char *)dev, "-P", (char *)pkg, "-t", "-r", "icetime.rpt", "wrap.asc", NULL};
  snprintf(lp, sizeof lp, "%s/icetime.log", dir);
  if (log) fprintf(log, "synth: icetime -d %s -P %s\n", dev, pkg);
  if (run_tool("icetime", a4, dir, lp, timeout_s, &r->seconds, NULL, err, errlen) != 0) return -1;
  r->fmax_mhz = parse_icetime(lp);
  if (r->fmax_mhz > 0) {
    snprintf(r->timing_source, sizeof r->timing_source,
             "icetime after nextpnr-ice40 --%s (tern_array %dx%d in rtl/synth/tern_array_wrap.sv)",
             dev, o->hw.rows, o->hw.cols);
  } else {
    snprintf(lp, sizeof lp, "%s/nextpnr.log", dir);
    r->fmax_mhz = parse_nextpnr_fmax(lp);
    snprintf(r->timing_source, sizeof r->timing_source,
             "nextpnr-ice40 --%s timing (icetime gave no path delay; tern_array %dx%d in the wrapper)",
             dev, o->hw.rows, o->hw.cols);
  }
  return 0;
}

/* Device capacity: does the whole accelerator fit (from the synthesis counts)? */
static void whole_fit_note(const tern_synth_opts *o, tern_synth_result *r) {
  int up5k = is_up5k(o);
  uint64_t lcs = up5k ? 5280 : 7680, brams = up5k ? 30 : 32, dsps = up5k ? 8 : 0;
  const tern_synth_unit *t = &r->unit[TERN_SYNTH_U_TOTAL];
  uint64_t need = t->luts > t->ffs ? t->luts : t->ffs;
  int fits = need <= lcs && t->brams <= brams && t->dsps <= dsps;
  char buf[256];
  snprintf(buf, sizeof buf,
           "; whole accelerator: %llu LUT4 / %llu FF / %llu BRAM / %llu DSP vs %llu LC / %llu / %llu "
           "on %s: %s",
           (unsigned long long)t->luts, (unsigned long long)t->ffs, (unsigned long long)t->brams,
           (unsigned long long)t->dsps, (unsigned long long)lcs, (unsigned long long)brams,
           (unsigned long long)dsps, up5k ? "up5k" : "hx8k", fits ? "fits (by count)" : "does not fit");
  size_t l = strlen(r->fit_note);
  snprintf(r->fit_note + l, sizeof r->fit_note - l, "%s", l ? buf : buf + 2);
}

int tern_synth_run(const tern_synth_opts *o, tern_synth_result *r, FILE *log, char *err,
                   size_t errlen) {
  memset(r, 0, sizeof *r);
  r->logic_depth = -1;
  r->fits = -1;
  if ((unsigned)o->target > TERN_SYNTH_XILINX)
    return tern_err(err, errlen, "target = %d, expected generic, ice40, ecp5 or xilinx", (int)o->target);
  char e2[512];
  if (tern_hwcfg_check(&o->hw, e2, sizeof e2) != 0) return tern_err(err, errlen, "%s", e2);
  if (o->target == TERN_SYNTH_ICE40 && o->device && strcmp(o->device, "hx8k") && strcmp(o->device, "up5k"))
    return tern_err(err, errlen, "device = '%s', expected hx8k or up5k", o->device);
  if (o->target_mhz < 0 || o->target_mhz > 2000)
    return tern_err(err, errlen, "target_mhz = %g, expected 0 (default 100) .. 2000", o->target_mhz);
  r->target = o->target;
  r->hw = o->hw;
  snprintf(r->device, sizeof r->device, "%s",
           o->target == TERN_SYNTH_ICE40 ? (is_up5k(o) ? "up5k" : "hx8k") : "-");
  int timeout_s = o->timeout_s > 0 ? o->timeout_s : 1800;

  char dir[1024];
  if (o->outdir && *o->outdir) {
    snprintf(dir, sizeof dir, "%s", o->outdir);
  } else {
    char name[256];
    tern_hwcfg_rtl_name(&o->hw, name, sizeof name);
    snprintf(dir, sizeof dir, "%s/build/synth/%s_%s%s%s%s", TERN_ROOT, tern_synth_target_name(o->target),
             name, o->target == TERN_SYNTH_ICE40 ? "_" : "", o->target == TERN_SYNTH_ICE40 ? r->device : "",
             o->array_only ? "_array" : "");
  }
  /* absolute: the tools run with the output directory as working directory */
  if (dir[0] != '/') {
    char cwd[700];
    if (!getcwd(cwd, sizeof cwd)) return tern_err(err, errlen, "getcwd: %s", strerror(errno));
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/%.300s", cwd, dir);
    snprintf(dir, sizeof dir, "%s", tmp);
  }
  if (rt_mkdir_p(dir, err, errlen) != 0) return -1;

  char yosys[1024];
  if (find_tool("yosys", "TERN_YOSYS", "yosys", yosys, sizeof yosys, err, errlen) != 0) return -1;
  char path[1200], lp[1200];
  snprintf(path, sizeof path, "%s/synth.ys", dir);
  if (write_main_script(o, path, err, errlen) != 0) return -1;
  snprintf(lp, sizeof lp, "%s/yosys.log", dir);
  if (log) {
    fprintf(log, "synth: yosys -s %s (%s, %dx%d; log %s)\n", path, synth_cmd(o->target), o->hw.rows,
            o->hw.cols, lp);
    fflush(log);
  }
  char *a1[] = {yosys, "-q", "-l", "yosys.full.log", "-s", "synth.ys", NULL};
  if (run_tool("yosys", a1, dir, lp, timeout_s, &r->seconds, NULL, err, errlen) != 0) {
    /* yosys -q prints only errors; the full log names the pass */
    char full[1200], line[400];
    snprintf(full, sizeof full, "%s/yosys.full.log", dir);
    first_error_line(full, line, sizeof line);
    size_t l = strlen(err);
    if (access(full, R_OK) == 0 && l + 10 < errlen) snprintf(err + l, errlen - l, " [%s: %s]", "yosys.full.log", line);
    return -1;
  }
  snprintf(path, sizeof path, "%s/stat.txt", dir);
  const char *top = o->array_only ? "tern_array" : "tern_top";
  if (units_from_stat(path, o->target, top, 0, r, err, errlen) != 0) return -1;
  snprintf(path, sizeof path, "%s/stat_mul.txt", dir);
  if (units_from_stat(path, o->target, top, 1, r, err, errlen) != 0) return -1;
  int npe = o->hw.rows * o->hw.cols;
  r->luts_per_pe = (double)r->unit[TERN_SYNTH_U_ARRAY].luts / npe;
  r->ffs_per_pe = (double)r->unit[TERN_SYNTH_U_ARRAY].ffs / npe;
  r->array_mul_free = r->unit[TERN_SYNTH_U_ARRAY].dsps == 0 && r->unit[TERN_SYNTH_U_ARRAY].muls == 0;
  snprintf(path, sizeof path, "%s/ltp.txt", dir);
  parse_ltp(path, top, r);
  const char *why = o->target == TERN_SYNTH_ECP5     ? "no open place-and-route for ECP5 with the Debian tools"
                    : o->target == TERN_SYNTH_XILINX ? "no open place-and-route for Xilinx"
                    : o->target == TERN_SYNTH_ICE40  ? "place-and-route not run (--no-pnr)"
                                                     : "generic gates, no device";
  snprintf(r->timing_source, sizeof r->timing_source, "yosys logic depth (estimate; %s)", why);

  if (o->target == TERN_SYNTH_ICE40) {
    if (o->pnr) {
      char cp_est[sizeof r->critical_path];
      snprintf(cp_est, sizeof cp_est, "%s", r->critical_path);
      r->critical_path[0] = 0;
      if (run_pnr(o, dir, r, log, timeout_s, err, errlen) != 0) return -1;
      if (!r->critical_path[0]) snprintf(r->critical_path, sizeof r->critical_path, "%s", cp_est);
    }
    if (!o->array_only) whole_fit_note(o, r);
  }
  FILE *jf;
  snprintf(path, sizeof path, "%s/synth.json", dir);
  if ((jf = fopen(path, "w"))) {
    tern_synth_write_json(jf, r);
    fclose(jf);
  }
  return 0;
}

/* ------------------------------------------------------------------ output */

static void print_row(FILE *f, const char *name, const tern_synth_unit *u) {
  fprintf(f, "  %-12s %9llu %9llu %8llu %6llu %5llu %5llu %7llu %6llu\n", name,
          (unsigned long long)u->luts, (unsigned long long)u->ffs, (unsigned long long)u->carries,
          (unsigned long long)u->brams, (unsigned long long)u->dsps, (unsigned long long)u->muls,
          (unsigned long long)u->lutrams, (unsigned long long)u->other);
}

void tern_synth_print(FILE *f, const tern_synth_result *r) {
  const tern_hwcfg *h = &r->hw;
  fprintf(f, "tern synth: target %s%s%s, array %dx%d, WBUF %d ABUF %d ACC %d OUT %d QDEPTH %d IMEM %d DRAM_BW %d PSUM %d bits\n",
          tern_synth_target_name(r->target), r->target == TERN_SYNTH_ICE40 ? " " : "",
          r->target == TERN_SYNTH_ICE40 ? r->device : "", h->rows, h->cols, h->wbuf_depth,
          h->abuf_depth, h->acc_depth, h->out_depth, h->qdepth, h->imem_depth, h->dram_bw,
          tern_hwcfg_psum_bits(h));
  const char *lutname = r->target == TERN_SYNTH_GENERIC ? "gates" : "LUTs";
  fprintf(f, "  %-12s %9s %9s %8s %6s %5s %5s %7s %6s\n", "unit", lutname, "FFs", "carries", "BRAMs",
          "DSPs", "muls", "LUTRAM", "other");
  static const char *const label[TERN_SYNTH_NUNITS] = {
      "array", "  one PE", "vector unit", "DMA", "scratchpads", "control", "total"};
  for (int u = 0; u < TERN_SYNTH_NUNITS; u++) print_row(f, label[u], &r->unit[u]);
  fprintf(f, "  scratchpads:\n");
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
    char nm[32];
    snprintf(nm, sizeof nm, "  %s", MEM_NAMES[m]);
    print_row(f, nm, &r->mem[m]);
  }
  fprintf(f, "  where:");
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++)
    fprintf(f, "%s %s -> %s", m ? ";" : "", MEM_NAMES[m], tern_synth_mem_where(&r->mem[m]));
  fprintf(f, "\n");
  if (r->mem[TERN_SYNTH_M_ACC].brams || r->mem[TERN_SYNTH_M_ACC].ffs)
    fprintf(f, "  (ACC and OUT: 2 writes + 3 reads per cycle, as 2 x 3 one-write one-read banks and "
               "a live-value table of depth x 1 flip-flops, rtl/tern_mpram.sv; docs/SYNTH.md)\n");
  fprintf(f, "per PE: %.1f %s, %.1f FFs\n", r->luts_per_pe, lutname, r->ffs_per_pe);
  fprintf(f, "array: %llu multipliers / %llu DSPs%s\n", (unsigned long long)r->unit[TERN_SYNTH_U_ARRAY].muls,
          (unsigned long long)r->unit[TERN_SYNTH_U_ARRAY].dsps,
          r->array_mul_free ? " (add/subtract only, as designed)" : "  <-- NOT multiplier-free");
  if (r->fmax_mhz > 0) fprintf(f, "timing: Fmax %.1f MHz (%s)\n", r->fmax_mhz, r->timing_source);
  else fprintf(f, "timing: %s\n", r->timing_source);
  if (r->critical_path[0]) fprintf(f, "critical path: %s\n", r->critical_path);
  if (r->logic_depth >= 0)
    fprintf(f, "logic depth: %d nodes (Yosys ltp on the flattened %s, estimate)\n", r->logic_depth,
            r->unit[TERN_SYNTH_U_TOTAL].luts == r->unit[TERN_SYNTH_U_ARRAY].luts ? "array" : "design");
  if (r->fit_note[0]) fprintf(f, "fit: %s\n", r->fit_note);
  fprintf(f, "tools: %.1f s\n", r->seconds);
}

/* ------------------------------------------------------------------ JSON (libjansson) */

static json_t *unit_json(const tern_synth_unit *u) {
  return json_pack("{sI sI sI sI sI sI sI sI}", "luts", (json_int_t)u->luts, "ffs",
                   (json_int_t)u->ffs, "carries", (json_int_t)u->carries, "brams",
                   (json_int_t)u->brams, "dsps", (json_int_t)u->dsps, "muls", (json_int_t)u->muls,
                   "lutrams", (json_int_t)u->lutrams, "other", (json_int_t)u->other);
}

int tern_synth_write_json(FILE *f, const tern_synth_result *r) {
  const tern_hwcfg *h = &r->hw;
  json_t *units = json_object(), *mems = json_object();
  for (int u = 0; u < TERN_SYNTH_NUNITS; u++) json_object_set_new(units, UNIT_NAMES[u], unit_json(&r->unit[u]));
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) json_object_set_new(mems, MEM_NAMES[m], unit_json(&r->mem[m]));
  json_t *o = json_pack(
      "{ss ss s{si si si si si si si si si si} so so sf sf si sf ss ss si si ss sf}", "target",
      tern_synth_target_name(r->target), "device", r->device, "hw", "rows", h->rows, "cols",
      h->cols, "wbuf_depth", h->wbuf_depth, "abuf_depth", h->abuf_depth, "acc_depth",
      h->acc_depth, "out_depth", h->out_depth, "qdepth", h->qdepth, "imem_depth", h->imem_depth,
      "dram_bw", h->dram_bw, "psum_bits", tern_hwcfg_psum_bits(h), "unit", units, "mem", mems,
      "luts_per_pe", r->luts_per_pe, "ffs_per_pe", r->ffs_per_pe, "array_mul_free",
      r->array_mul_free, "fmax_mhz", r->fmax_mhz, "timing_source", r->timing_source,
      "critical_path", r->critical_path, "logic_depth", r->logic_depth, "fits", r->fits,
      "fit_note", r->fit_note, "seconds", r->seconds);
  int rc = !o || json_dumpf(o, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ? -1 : 0;
  json_decref(o);
  fputc('\n', f);
  return rc || ferror(f) ? -1 : 0;
}

static double jnum(const json_t *o, const char *key, double def) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : def;
}

/* An integer field (the writer writes every one as a JSON integer): absent
 * (or o absent) -> def; else an integer in lo..hi, or -1 with a message
 * naming the file and the key.  Converting any number to int or uint64_t
 * was undefined for a real or an out-of-range value (fuzz_json found
 * "psum_bits": 1e308). */
static int jint(const json_t *o, const char *key, long long def, long long lo, long long hi,
                long long *v, const char *path, const char *where, char *err, size_t errlen) {
  const json_t *x = json_object_get(o, key);
  if (!x) {
    *v = def;
    return 0;
  }
  if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
    return tern_err(err, errlen, "%s: JSON: %s%s: expected an integer in %lld..%lld", path, where,
                    key, lo, hi);
  *v = (long long)json_integer_value(x);
  return 0;
}

static void jstr(const json_t *o, const char *key, char *out, size_t n) {
  const json_t *v = json_object_get(o, key);
  if (json_is_string(v)) snprintf(out, n, "%s", json_string_value(v));
}

int tern_synth_read_json(const char *path, tern_synth_result *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  json_error_t je;
  uint8_t *text;
  size_t tlen;
  if (tern_read_file(path, (size_t)16 << 20, "a synthesis result (JSON)", &text, &tlen, err, errlen))
    return -1;
  json_t *o = json_loadb((const char *)text, tlen, 0, &je);
  free(text);
  if (!o) return tern_err(err, errlen, "%s: JSON: line %d: %s", path, je.line, je.text);
  int rc = -1;
  if (!json_is_object(o)) {
    tern_err(err, errlen, "%s: JSON: expected an object", path);
    goto out;
  }
  const json_t *t = json_object_get(o, "target");
  if (t && (!json_is_string(t) || tern_synth_target_parse(json_string_value(t), &r->target, NULL, 0))) {
    tern_err(err, errlen, "%s: JSON: target: expected generic, ice40, ecp5 or xilinx", path);
    goto out;
  }
  jstr(o, "device", r->device, sizeof r->device);
  jstr(o, "timing_source", r->timing_source, sizeof r->timing_source);
  jstr(o, "critical_path", r->critical_path, sizeof r->critical_path);
  jstr(o, "fit_note", r->fit_note, sizeof r->fit_note);
  const json_t *h = json_object_get(o, "hw");
  struct {
    const char *key;
    int *v;
  } hw[] = {{"rows", &r->hw.rows},           {"cols", &r->hw.cols},
            {"wbuf_depth", &r->hw.wbuf_depth}, {"abuf_depth", &r->hw.abuf_depth},
            {"acc_depth", &r->hw.acc_depth},   {"out_depth", &r->hw.out_depth},
            {"qdepth", &r->hw.qdepth},         {"imem_depth", &r->hw.imem_depth},
            {"dram_bw", &r->hw.dram_bw},       {"psum_bits", &r->hw.psum_bits}};
  long long v;
  for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
    if (jint(h, hw[i].key, 0, INT_MIN, INT_MAX, &v, path, "hw.", err, errlen)) goto out;
    *hw[i].v = (int)v;
  }
  static const char *const ukeys[] = {"luts", "ffs", "carries", "brams", "dsps", "muls", "lutrams", "other"};
  for (int g = 0; g < 2; g++) {
    const json_t *grp = json_object_get(o, g ? "mem" : "unit");
    int n = g ? TERN_SYNTH_NMEMS : TERN_SYNTH_NUNITS;
    for (int i = 0; i < n; i++) {
      char where[64];
      snprintf(where, sizeof where, "%s.%s.", g ? "mem" : "unit", g ? MEM_NAMES[i] : UNIT_NAMES[i]);
      const json_t *uj = json_object_get(grp, g ? MEM_NAMES[i] : UNIT_NAMES[i]);
      tern_synth_unit *u = g ? &r->mem[i] : &r->unit[i];
      uint64_t *f[] = {&u->luts, &u->ffs, &u->carries, &u->brams, &u->dsps, &u->muls, &u->lutrams, &u->other};
      for (int k = 0; k < 8; k++) {
        if (jint(uj, ukeys[k], 0, 0, LLONG_MAX, &v, path, where, err, errlen)) goto out;
        *f[k] = (uint64_t)v;
      }
    }
  }
  r->luts_per_pe = jnum(o, "luts_per_pe", 0);
  r->ffs_per_pe = jnum(o, "ffs_per_pe", 0);
  if (jint(o, "array_mul_free", 0, 0, 1, &v, path, "", err, errlen)) goto out;
  r->array_mul_free = (int)v;
  r->fmax_mhz = jnum(o, "fmax_mhz", 0);
  if (jint(o, "logic_depth", -1, -1, INT_MAX, &v, path, "", err, errlen)) goto out;
  r->logic_depth = (int)v;
  if (jint(o, "fits", -1, -1, 1, &v, path, "", err, errlen)) goto out;
  r->fits = (int)v;
  r->seconds = jnum(o, "seconds", 0);
  if (r->hw.rows < 1 || r->hw.cols < 1) {
    tern_err(err, errlen, "%s: hw.rows / hw.cols missing (not a tern synth result)", path);
    goto out;
  }
  rc = 0;
out:
  json_decref(o);
  return rc;
}

/* ------------------------------------------------------------------ command line */

const char *tern_synth_usage(void) {
  return "usage: tern synth --target generic|ice40|ecp5|xilinx --array RxC [--set key=value]...\n"
         "                  [--device hx8k|up5k] [--no-pnr] [--array-only] [--freq MHZ] [--timeout S]\n"
         "                  [--out DIR] [--json FILE]\n"
         "Synthesise the accelerator RTL with Yosys and report LUTs, flip-flops, carry cells,\n"
         "block RAMs and DSPs per unit (array, one PE, vector unit, DMA, scratchpads, control),\n"
         "LUTs/PE and FFs/PE, and that the array has no multiplier.  iCE40: nextpnr-ice40 +\n"
         "icetime place the array (in a serial-I/O wrapper) and give Fmax and the critical path;\n"
         "other targets: Yosys' logic-depth estimate.  docs/SYNTH.md.\n"
         "  --target T         generic (Yosys gates), ice40, ecp5 or xilinx (required)\n"
         "  --array RxC        array size (default 4x4)\n"
         "  --set key=value    wbuf_depth, abuf_depth, acc_depth, out_depth, qdepth, imem_depth,\n"
         "                     dram_bw, psum_bits (defaults: 64, 512, 32, 32, 4, 256, rows, 32;\n"
         "                     psum_bits: the array's partial sums, 9 + log2(rows) .. 32 or min)\n"
         "  --device D         ice40 device: hx8k (default) or up5k (up5k: DSPs enabled)\n"
         "  --no-pnr           ice40: skip place-and-route (logic-depth estimate only)\n"
         "  --array-only       synthesise tern_array alone (array and PE rows only; seconds)\n"
         "  --freq MHZ         nextpnr target frequency (default 100)\n"
         "  --timeout S        per tool run (default 1800)\n"
         "  --out DIR          scripts, logs, netlists (default build/synth/<target>_<config>)\n"
         "  --json FILE        write the result as JSON (also DIR/synth.json)\n";
}

int tern_synth_parse_args(int argc, char **argv, tern_synth_opts *o, const char **json_path,
                          int *help, char *err, size_t errlen) {
  tern_synth_opts_default(o);
  *json_path = NULL;
  *help = 0;
  int have_target = 0, rows = 4, cols = 4;
  const char *sets[64];
  int nsets = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *help = 1;
      return 0;
    }
    if (!strcmp(a, "--no-pnr")) {
      o->pnr = 0;
      continue;
    }
    if (!strcmp(a, "--array-only")) {
      o->array_only = 1;
      continue;
    }
    static const char *const with_value[] = {"--target", "--array", "--set",  "--device",
                                             "--freq",   "--timeout", "--out", "--json"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
      if (!strcmp(a, with_value[k])) known = 1;
    if (!known)
      return tern_err(err, errlen,
                      "unknown option '%s' for tern synth, expected --target, --array, --set, "
                      "--device, --no-pnr, --array-only, --freq, --timeout, --out or --json (tern synth --help)",
                      a);
    if (i + 1 >= argc) return tern_err(err, errlen, "%s: missing value", a);
    const char *v = argv[++i];
    char e2[512];
    if (!strcmp(a, "--target")) {
      if (tern_synth_target_parse(v, &o->target, e2, sizeof e2)) return tern_err(err, errlen, "--target: %s", e2);
      have_target = 1;
    } else if (!strcmp(a, "--array")) {
      if (tern_parse_array(v, &rows, &cols, e2, sizeof e2)) return tern_err(err, errlen, "--array: %s", e2);
    } else if (!strcmp(a, "--set")) {
      if (nsets == 64) return tern_err(err, errlen, "--set: more than 64 overrides");
      sets[nsets++] = v;
    } else if (!strcmp(a, "--device")) {
      if (strcmp(v, "hx8k") && strcmp(v, "up5k"))
        return tern_err(err, errlen, "--device: '%s', expected hx8k or up5k", v);
      o->device = v;
    } else if (!strcmp(a, "--freq")) {
      char *end;
      double f = strtod(v, &end);
      if (*end || !(f > 0 && f <= 2000))
        return tern_err(err, errlen, "--freq: '%s', expected a frequency in MHz (0 < f <= 2000)", v);
      o->target_mhz = f;
    } else if (!strcmp(a, "--timeout")) {
      char *end;
      long t = strtol(v, &end, 10);
      if (*end || t < 1 || t > 1000000)
        return tern_err(err, errlen, "--timeout: '%s', expected seconds >= 1", v);
      o->timeout_s = (int)t;
    } else if (!strcmp(a, "--out")) {
      o->outdir = v;
    } else if (!strcmp(a, "--json")) {
      *json_path = v;
    }
  }
  if (!have_target)
    return tern_err(err, errlen, "--target: missing, expected generic, ice40, ecp5 or xilinx");
  o->hw = tern_synth_hw_default(rows, cols);
  for (int k = 0; k < nsets; k++) {
    const char *v = sets[k];
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
      return tern_err(err, errlen, "--set: '%s', expected key=value (e.g. acc_depth=64)", v);
    char key[64], e2[512];
    size_t kl = (size_t)(eq - v);
    if (kl >= sizeof key) return tern_err(err, errlen, "--set: key of '%s' too long", v);
    memcpy(key, v, kl);
    key[kl] = 0;
    if (tern_hwcfg_set(&o->hw, key, eq + 1, e2, sizeof e2))
      return tern_err(err, errlen, "--set %s: %s", v, e2);
  }
  char e2[512];
  if (tern_hwcfg_check(&o->hw, e2, sizeof e2)) return tern_err(err, errlen, "--array / --set: %s", e2);
  return 0;
}
