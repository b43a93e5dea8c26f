/* `tern sweep` / `tern sweep-merge`: include/tern/sweep.h, docs/SWEEP.md.
 *
 * The measurements are tern compare's (runtime/compare.c,
 * tern_compare_measure_seq: the step runners of include/tern/tfm_exec.h and
 * rnn_exec.h, energy = counters x the technology table); synthesis is tern
 * synth's (runtime/synth.c).  This file adds the spec, the per-point files,
 * the synthesis cache, the merge and the job lists for make, Slurm and GNU
 * parallel: points are scheduled by those tools, never by a scheduler of
 * our own. */
#define _DEFAULT_SOURCE /* realpath, gethostname */
#include "tern/sweep.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../models/model_common.h"
#include "rt_util.h"
#include "tern/compare.h"
#include "tern/energy.h"
#include "tern/err.h"
#include "tern/report.h"
#include "tern/rnn.h"
#include "tern/synth.h"
#include "tern/tfm.h"

/* ---- spec ---------------------------------------------------------------------------- */

enum {
  W_NAME, W_MODEL, W_PREFILL, W_DECODE, W_BACKEND, W_TECH, W_RTL_VALIDATE, W_SYNTH,
  W_SYNTH_DEVICE, W_SYNTH_FMAX, W_SYNTH_TIMEOUT, W_SYNTH_SET, W_SYNTH_SCOPE, W_COUNT
};
static const char *const wfields[W_COUNT] = {
    "name", "model", "prefill", "decode", "backend", "tech", "rtl_validate", "synth",
    "synth_device", "synth_fmax", "synth_timeout", "synth_set", "synth_scope"};

/* the hardware keys a [hw] / [grid] / [points] entry may set */
static const char *const hw_keys[] = {"array",      "rows",      "cols",      "wbuf_depth",
                                      "abuf_depth", "acc_depth", "out_depth", "qdepth",
                                      "imem_depth", "dram_bw",   "dram_lat",  "dram_bytes",
                                      "clock_mhz",  "psum_bits"};
#define N_HW_KEYS ((int)(sizeof hw_keys / sizeof hw_keys[0]))
#define HW_KEY_LIST                                                                          \
  "array (RxC), rows, cols, wbuf_depth, abuf_depth, acc_depth, out_depth, qdepth, "         \
  "imem_depth, dram_bw, dram_lat, dram_bytes, clock_mhz, psum_bits"

typedef struct grid_key {
  char key[32];
  int line;
  int nval;
  char val[TERN_SWEEP_MAX_VALUES][32];
} grid_key;

typedef struct point_line {
  int line;
  char text[TERN_SWEEP_LABEL];
} point_line;

typedef struct parse_state {
  tern_mc_ini ini; /* first: tern_mc_ini_parse passes &ps as the handler's user */
  tern_sweep_spec *s;
  char section[16];
  int have_w[W_COUNT];
  int have_hw[N_HW_KEYS];
  int grid_line, points_line;
  int ngrid;
  grid_key *grid;    /* TERN_SWEEP_MAX_KEYS */
  int npl;
  point_line *pl;    /* TERN_SWEEP_MAX_POINTS */
  char rtl_value[256];
  int rtl_line;
} parse_state;

static int hw_key_index(const char *k) {
  for (int i = 0; i < N_HW_KEYS; i++)
    if (!strcmp(k, hw_keys[i])) return i;
  return -1;
}

/* key=value on a configuration: "array" sets rows and cols, the rest is
 * tern_hwcfg_set's */
static int apply_kv(tern_hwcfg *c, const char *key, const char *value, char *err, size_t errlen) {
  if (!strcmp(key, "array")) {
    int r, cc;
    if (tern_parse_array(value, &r, &cc, err, errlen)) return -1;
    c->rows = r;
    c->cols = cc;
    return 0;
  }
  return tern_hwcfg_set(c, key, value, err, errlen);
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  return s;
}

static int check_kv(parse_state *ps, const char *where, const char *key, const char *value,
                    tern_hwcfg *c);

/* Splits a "key=value key=value ..." list (blank-separated) in place into at
 * most KV_MAX items: the count, or -1 with *bad = the first item that is not
 * key=value (or the first item past KV_MAX). */
enum { KV_MAX = 32 };
static int split_kv(char *buf, char **key, char **val, const char **bad) {
  char *save = NULL;
  int n = 0;
  for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save), n++) {
    char *eq = strchr(t, '=');
    if (n == KV_MAX || !eq || eq == t || !eq[1]) {
      *bad = t;
      return -1;
    }
    *eq = 0;
    key[n] = t;
    val[n] = eq + 1;
  }
  return n;
}

static int handle_workload(parse_state *ps, const char *name, const char *value) {
  tern_mc_ini *in = &ps->ini;
  tern_sweep_spec *s = ps->s;
  int f = -1;
  for (int i = 0; i < W_COUNT; i++)
    if (!strcmp(name, wfields[i])) f = i;
  if (f < 0)
    return tern_mc_perr(in,
                        "[workload] unknown field '%.40s', expected name, model, prefill, decode, "
                        "backend, tech, rtl_validate, synth, synth_device, synth_fmax, "
                        "synth_timeout, synth_set or synth_scope",
                        name);
  if (ps->have_w[f]) return tern_mc_perr(in, "[workload] field '%s' is given twice", name);
  ps->have_w[f] = 1;
  in->fields = wfields;
  in->nfields = W_COUNT;
  in->field = f;
  switch (f) {
    case W_NAME:
      if (!tern_mc_name_ok(value) || strlen(value) >= sizeof s->name)
        return tern_mc_perr(in, "field 'name' is '%.40s', expected 1..%d characters of "
                                "[A-Za-z0-9._-]",
                            value, (int)sizeof s->name - 1);
      snprintf(s->name, sizeof s->name, "%s", value);
      return 1;
    case W_MODEL:
      if (!*value || strlen(value) >= 512)
        return tern_mc_perr(in, "field 'model' is '%.40s', expected a preset name (tern models) "
                                "or a model file",
                            value);
      snprintf(s->model, sizeof s->model, "%s", value);
      return 1;
    case W_PREFILL: return tern_mc_int(in, value, 1, 4096, &s->prefill);
    case W_DECODE: return tern_mc_int(in, value, 1, 4096, &s->decode);
    case W_BACKEND:
      if (strcmp(value, "isa") && strcmp(value, "rtl"))
        return tern_mc_perr(in, "field 'backend' is '%.40s', expected isa or rtl", value);
      snprintf(s->backend, sizeof s->backend, "%s", value);
      return 1;
    case W_TECH: {
      char path[600], e2[512];
      if (strlen(value) >= sizeof s->tech || tern_tech_path(value, path, sizeof path, e2, sizeof e2))
        return tern_mc_perr(in, "field 'tech' is '%.40s', expected a table name such as 45nm or "
                                "7nm (reports/tech/NAME.tsv)",
                            value);
      if (access(path, R_OK) != 0)
        return tern_mc_perr(in, "field 'tech' is '%.40s': %s is not readable, expected 45nm or 7nm",
                            value, path);
      snprintf(s->tech, sizeof s->tech, "%s", value);
      return 1;
    }
    case W_RTL_VALIDATE:
      snprintf(ps->rtl_value, sizeof ps->rtl_value, "%s", value);
      ps->rtl_line = in->line;
      return 1;
    case W_SYNTH: {
      if (!strcmp(value, "none")) {
        s->synth = -1;
        return 1;
      }
      tern_synth_target t;
      char e2[256];
      if (tern_synth_target_parse(value, &t, e2, sizeof e2))
        return tern_mc_perr(in, "field 'synth' is '%.40s', expected none, generic, ice40, ecp5 "
                                "or xilinx",
                            value);
      s->synth = (int)t;
      return 1;
    }
    case W_SYNTH_DEVICE:
      if (strcmp(value, "hx8k") && strcmp(value, "up5k"))
        return tern_mc_perr(in, "field 'synth_device' is '%.40s', expected hx8k or up5k (iCE40)",
                            value);
      snprintf(s->synth_device, sizeof s->synth_device, "%s", value);
      return 1;
    case W_SYNTH_FMAX: return tern_mc_bool(in, value, &s->synth_fmax);
    case W_SYNTH_SCOPE:
      if (!strcmp(value, "design")) s->synth_array_only = 0;
      else if (!strcmp(value, "array")) s->synth_array_only = 1;
      else
        return tern_mc_perr(in, "field 'synth_scope' is '%.40s', expected design (the whole "
                                "accelerator) or array (the PE array alone)",
                            value);
      return 1;
    case W_SYNTH_TIMEOUT: return tern_mc_int(in, value, 1, 86400, &s->synth_timeout);
    case W_SYNTH_SET: {
      /* key=value items applied to a point's configuration before synthesis */
      if (strlen(value) >= sizeof s->synth_set)
        return tern_mc_perr(in, "field 'synth_set' is longer than %d characters",
                            (int)sizeof s->synth_set - 1);
      char buf[sizeof s->synth_set], *key[KV_MAX], *val[KV_MAX];
      const char *bad = NULL;
      snprintf(buf, sizeof buf, "%s", value);
      int n = split_kv(buf, key, val, &bad);
      if (n < 0)
        return tern_mc_perr(in, "field 'synth_set' item '%.40s', expected key=value (e.g. "
                                "acc_depth=32 out_depth=32; at most %d items)",
                            bad, KV_MAX);
      for (int i = 0; i < n; i++) {
        if (!strcmp(key[i], "array") || !strcmp(key[i], "rows") || !strcmp(key[i], "cols") ||
            !strcmp(key[i], "dram_bw"))
          return tern_mc_perr(in, "field 'synth_set' item '%s=%.20s': expected a buffer depth, "
                                  "qdepth or imem_depth (the array and the DRAM width are what "
                                  "the sweep measures)",
                              key[i], val[i]);
        if (!check_kv(ps, "[workload] synth_set", key[i], val[i], NULL)) return 0;
      }
      snprintf(s->synth_set, sizeof s->synth_set, "%s", value);
      return 1;
    }
    default: break;
  }
  return 1;
}

/* one "key=value" of [hw] / [grid] / [points] checked on a scratch configuration */
static int check_kv(parse_state *ps, const char *where, const char *key, const char *value,
                    tern_hwcfg *c) {
  char e2[512];
  if (hw_key_index(key) < 0)
    return tern_mc_perr(&ps->ini, "%s unknown field '%.40s', expected one of " HW_KEY_LIST, where,
                        key);
  tern_hwcfg scratch = tern_hwcfg_default();
  if (apply_kv(c ? c : &scratch, key, value, e2, sizeof e2))
    return tern_mc_perr(&ps->ini, "%s field '%s': %s", where, key, e2);
  return 1;
}

static int handle_grid(parse_state *ps, const char *name, const char *value) {
  tern_mc_ini *in = &ps->ini;
  if (hw_key_index(name) < 0)
    return tern_mc_perr(in, "[grid] unknown field '%.40s', expected one of " HW_KEY_LIST, name);
  for (int i = 0; i < ps->ngrid; i++) {
    if (!strcmp(ps->grid[i].key, name))
      return tern_mc_perr(in, "[grid] field '%s' is given twice (first on line %d)", name,
                          ps->grid[i].line);
    int a = !strcmp(name, "array"), b = !strcmp(ps->grid[i].key, "array");
    int rc = !strcmp(name, "rows") || !strcmp(name, "cols");
    int rc2 = !strcmp(ps->grid[i].key, "rows") || !strcmp(ps->grid[i].key, "cols");
    if ((a && rc2) || (b && rc))
      return tern_mc_perr(in, "[grid] field '%s' with '%s' (line %d): expected either array or "
                              "rows/cols",
                          name, ps->grid[i].key, ps->grid[i].line);
  }
  if (ps->ngrid == TERN_SWEEP_MAX_KEYS)
    return tern_mc_perr(in, "[grid] more than %d fields", TERN_SWEEP_MAX_KEYS);
  grid_key *g = &ps->grid[ps->ngrid];
  memset(g, 0, sizeof *g);
  snprintf(g->key, sizeof g->key, "%s", name);
  g->line = in->line;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", value);
  char *save = NULL;
  int empty = 0;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    t = trim(t);
    if (!*t) {
      empty = 1;
      break;
    }
    if (g->nval == TERN_SWEEP_MAX_VALUES)
      return tern_mc_perr(in, "[grid] field '%s': more than %d values", name,
                          TERN_SWEEP_MAX_VALUES);
    if (strlen(t) >= sizeof g->val[0])
      return tern_mc_perr(in, "[grid] field '%s': value '%.40s' is too long", name, t);
    if (!check_kv(ps, "[grid]", name, t, NULL)) return 0;
    for (int j = 0; j < g->nval; j++)
      if (!strcmp(g->val[j], t))
        return tern_mc_perr(in, "[grid] field '%s': value '%s' is given twice", name, t);
    snprintf(g->val[g->nval++], sizeof g->val[0], "%s", t);
  }
  if (empty || !g->nval || value[strlen(value) - 1] == ',')
    return tern_mc_perr(in, "[grid] field '%s' is '%.60s', expected a comma-separated list of "
                            "values (e.g. 4x4, 8x8 or 4, 8, 16)",
                        name, value);
  ps->ngrid++;
  return 1;
}

static int handle_points(parse_state *ps, const char *name, const char *value) {
  tern_mc_ini *in = &ps->ini;
  if (strcmp(name, "point"))
    return tern_mc_perr(in, "[points] unknown field '%.40s', expected 'point = key=value ...'",
                        name);
  if (ps->npl == TERN_SWEEP_MAX_POINTS)
    return tern_mc_perr(in, "[points] more than %d points", TERN_SWEEP_MAX_POINTS);
  if (strlen(value) >= TERN_SWEEP_LABEL)
    return tern_mc_perr(in, "[points] point is longer than %d characters", TERN_SWEEP_LABEL - 1);
  char buf[TERN_SWEEP_LABEL], *key[KV_MAX], *val[KV_MAX];
  const char *bad = NULL;
  snprintf(buf, sizeof buf, "%s", value);
  int n = split_kv(buf, key, val, &bad);
  if (n < 0)
    return tern_mc_perr(in, "[points] point item '%.40s', expected key=value (e.g. array=8x8 "
                            "dram_bw=8; at most %d items)",
                        bad, KV_MAX);
  for (int i = 0; i < n; i++)
    if (!check_kv(ps, "[points]", key[i], val[i], NULL)) return 0;
  if (!n)
    return tern_mc_perr(in, "[points] empty point, expected key=value items (e.g. array=8x8 "
                            "dram_bw=8)");
  ps->pl[ps->npl].line = in->line;
  snprintf(ps->pl[ps->npl].text, TERN_SWEEP_LABEL, "%s", value);
  ps->npl++;
  return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  parse_state *ps = user;
  tern_mc_ini *in = &ps->ini;
  if (!section[0])
    return tern_mc_perr(in, "field '%.40s' outside a section, expected [workload], [hw], [grid] "
                            "or [points] first",
                        name);
  if (strcmp(section, ps->section)) { /* a new section (inih gives no separate event) */
    if (strcmp(section, "workload") && strcmp(section, "hw") && strcmp(section, "grid") &&
        strcmp(section, "points"))
      return tern_mc_perr(in, "section '[%.40s]' is unknown, expected [workload], [hw], [grid] "
                              "or [points]",
                          section);
    snprintf(ps->section, sizeof ps->section, "%s", section);
    if (!strcmp(section, "grid") && !ps->grid_line) ps->grid_line = in->line;
    if (!strcmp(section, "points") && !ps->points_line) ps->points_line = in->line;
  }
  if (!strcmp(section, "workload")) return handle_workload(ps, name, value);
  if (!strcmp(section, "hw")) {
    int k = hw_key_index(name);
    if (k >= 0 && ps->have_hw[k]) return tern_mc_perr(in, "[hw] field '%s' is given twice", name);
    if (!check_kv(ps, "[hw]", name, value, &ps->s->base)) return 0;
    ps->have_hw[k] = 1;
    return 1;
  }
  if (!strcmp(section, "grid")) return handle_grid(ps, name, value);
  return handle_points(ps, name, value);
}

void tern_sweep_spec_free(tern_sweep_spec *s) {
  if (!s) return;
  free(s->hw);
  free(s->label);
  free(s->rtl);
  s->hw = NULL;
  s->label = NULL;
  s->rtl = NULL;
  s->npoints = 0;
}

/* the key of a tern_hwcfg_check message ("dram_bw = 3, expected ...") */
static int msg_names_key(const char *msg, const char *key) {
  size_t n = strlen(key);
  if (!strcmp(key, "array"))
    return !strncmp(msg, "rows =", 6) || !strncmp(msg, "cols =", 6);
  return !strncmp(msg, key, n) && msg[n] == ' ';
}

static int expand_points(parse_state *ps, const char *what, char *err, size_t errlen) {
  tern_sweep_spec *s = ps->s;
  long n = 1;
  if (ps->ngrid) {
    for (int i = 0; i < ps->ngrid; i++) {
      n *= ps->grid[i].nval;
      if (n > TERN_SWEEP_MAX_POINTS)
        return tern_err(err, errlen, "%s:%d: [grid] has more than %d points", what,
                        ps->grid[i].line, TERN_SWEEP_MAX_POINTS);
    }
  } else {
    n = ps->npl;
  }
  s->hw = calloc((size_t)n, sizeof *s->hw);
  s->label = calloc((size_t)n, sizeof *s->label);
  s->rtl = calloc((size_t)n, 1);
  if (!s->hw || !s->label || !s->rtl) return tern_err(err, errlen, "out of memory");
  s->npoints = (int)n;
  char e2[512];
  for (int k = 0; k < n; k++) {
    tern_hwcfg c = s->base;
    char *lab = s->label[k];
    size_t at = 0;
    int line = ps->ngrid ? ps->grid_line : ps->pl[k].line;
    if (ps->ngrid) {
      long rem = k;
      int idx[TERN_SWEEP_MAX_KEYS];
      for (int i = ps->ngrid - 1; i >= 0; i--) { /* last key varies fastest */
        idx[i] = (int)(rem % ps->grid[i].nval);
        rem /= ps->grid[i].nval;
      }
      for (int i = 0; i < ps->ngrid; i++) {
        const char *v = ps->grid[i].val[idx[i]];
        if (apply_kv(&c, ps->grid[i].key, v, e2, sizeof e2))
          return tern_err(err, errlen, "%s:%d: [grid] field '%s': %s", what, ps->grid[i].line,
                          ps->grid[i].key, e2);
        at += (size_t)snprintf(lab + at, at < TERN_SWEEP_LABEL ? TERN_SWEEP_LABEL - at : 0,
                               "%s%s=%s", i ? " " : "", ps->grid[i].key, v);
      }
    } else {
      char buf[TERN_SWEEP_LABEL], *key[KV_MAX], *val[KV_MAX];
      const char *bad = NULL;
      snprintf(buf, sizeof buf, "%s", ps->pl[k].text);
      int n = split_kv(buf, key, val, &bad); /* checked when the spec was read */
      for (int i = 0; i < n; i++) {
        if (apply_kv(&c, key[i], val[i], e2, sizeof e2))
          return tern_err(err, errlen, "%s:%d: [points] field '%s': %s", what, line, key[i], e2);
        at += (size_t)snprintf(lab + at, at < TERN_SWEEP_LABEL ? TERN_SWEEP_LABEL - at : 0,
                               "%s%s=%s", i ? " " : "", key[i], val[i]);
      }
    }
    if (tern_hwcfg_check(&c, e2, sizeof e2)) {
      if (ps->ngrid)
        for (int i = 0; i < ps->ngrid; i++)
          if (msg_names_key(e2, ps->grid[i].key)) line = ps->grid[i].line;
      return tern_err(err, errlen, "%s:%d: point %d (%s): %s", what, line, k, lab, e2);
    }
    s->hw[k] = c;
  }
  return 0;
}

static int parse_rtl_validate(parse_state *ps, const char *what, char *err, size_t errlen) {
  tern_sweep_spec *s = ps->s;
  const char *v = ps->rtl_value;
  if (!v[0] || !strcmp(v, "none")) return 0;
  if (!strcmp(v, "all")) {
    memset(s->rtl, 1, (size_t)s->npoints);
    return 0;
  }
  if (!strncmp(v, "first ", 6)) {
    char *end = NULL;
    errno = 0;
    long n = strtol(v + 6, &end, 10);
    if (v[6] == ' ' || v[6] == '+' || v[6] == '-' || !v[6] || *end || errno || n < 1 ||
        n > s->npoints)
      return tern_err(err, errlen, "%s:%d: field 'rtl_validate' is '%s', expected first N with "
                                   "N in 1..%d (the number of points)",
                      what, ps->rtl_line, v, s->npoints);
    memset(s->rtl, 1, (size_t)n);
    return 0;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    t = trim(t);
    char *end = NULL;
    errno = 0;
    long k = strtol(t, &end, 10);
    if (!*t || *end || errno || k < 0 || k >= s->npoints)
      return tern_err(err, errlen, "%s:%d: field 'rtl_validate' is '%s', expected none, all, "
                                   "first N or a comma-separated list of point indices in 0..%d",
                      what, ps->rtl_line, v, s->npoints - 1);
    s->rtl[k] = 1;
  }
  return 0;
}

int tern_sweep_spec_parse(const char *text, const char *what, const char *base_dir,
                          tern_sweep_spec *s, char *err, size_t errlen) {
  if (!what) what = "<string>";
  if (!text || !s) return tern_err(err, errlen, "%s: null argument", what);
  memset(s, 0, sizeof *s);
  snprintf(s->path, sizeof s->path, "%s", what);
  s->prefill = 8;
  s->decode = 8;
  snprintf(s->backend, sizeof s->backend, "isa");
  snprintf(s->tech, sizeof s->tech, "45nm");
  s->synth = -1;
  snprintf(s->synth_device, sizeof s->synth_device, "hx8k");
  s->base = tern_hwcfg_default();
  parse_state *ps = calloc(1, sizeof *ps);
  grid_key *grid = calloc(TERN_SWEEP_MAX_KEYS, sizeof *grid);
  point_line *pl = calloc(TERN_SWEEP_MAX_POINTS, sizeof *pl);
  int rc = -1;
  if (!ps || !grid || !pl) {
    tern_err(err, errlen, "out of memory");
    goto out;
  }
  ps->s = s;
  ps->grid = grid;
  ps->pl = pl;
  if (tern_mc_ini_parse(&ps->ini, text, what, wfields, W_COUNT, handler, ps, err, errlen))
    goto out;
  if (!ps->have_w[W_MODEL]) {
    tern_err(err, errlen, "%s: [workload] field 'model' is missing, expected a preset name (tern "
                          "models) or a model file",
             what);
    goto out;
  }
  if (s->synth_array_only && s->synth_set[0]) {
    tern_err(err, errlen, "%s: [workload] synth_set = '%s' with synth_scope = array: the array "
                          "alone has no buffers, expected no synth_set or synth_scope = design",
             what, s->synth_set);
    goto out;
  }
  if (ps->ngrid && ps->npl) {
    tern_err(err, errlen, "%s:%d: [points] after [grid] (line %d): expected one of them", what,
             ps->points_line, ps->grid_line);
    goto out;
  }
  if (!ps->ngrid && !ps->npl) {
    tern_err(err, errlen, "%s: no points, expected a [grid] section (key = v1, v2, ...) or a "
                          "[points] section (point = key=value ...)",
             what);
    goto out;
  }
  if (!s->name[0]) { /* the file's base name without .ini */
    const char *b = strrchr(what, '/');
    b = b ? b + 1 : what;
    size_t n = strcspn(b, ".");
    char nm[64];
    snprintf(nm, sizeof nm, "%.*s", (int)(n < 63 ? n : 63), b);
    for (char *p = nm; *p; p++)
      if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_')) *p = '_';
    snprintf(s->name, sizeof s->name, "%s", nm[0] ? nm : "sweep");
  }
  /* a model file relative to the spec */
  if (base_dir && s->model[0] != '/' && strchr(s->model, '/')) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", base_dir, s->model);
    if (access(p, R_OK) == 0) snprintf(s->model, sizeof s->model, "%.1000s", p);
  }
  {
    tern_tfm_config tc;
    tern_rnn_config rcf;
    char e1[512], e2[512];
    if (tern_tfm_load_config(s->model, &tc, e1, sizeof e1) &&
        tern_rnn_load_config(s->model, &rcf, e2, sizeof e2)) {
      tern_err(err, errlen, "%s: [workload] field 'model' is '%s': not a transformer (%s) nor a "
                            "recurrent model (%s)",
               what, s->model, e1, e2);
      goto out;
    }
  }
  if (expand_points(ps, what, err, errlen) || parse_rtl_validate(ps, what, err, errlen)) goto out;
  rc = 0;
out:
  free(pl);
  free(grid);
  free(ps);
  if (rc) tern_sweep_spec_free(s);
  return rc;
}

int tern_sweep_spec_load(const char *path, tern_sweep_spec *s, char *err, size_t errlen) {
  char *text = NULL;
  if (tern_mc_read_text(path, &text, err, errlen)) return -1;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *sl = strrchr(dir, '/');
  if (sl) *sl = 0;
  else snprintf(dir, sizeof dir, ".");
  int rc = tern_sweep_spec_parse(text, path, dir, s, err, errlen);
  free(text);
  return rc;
}

/* ---- point files ----------------------------------------------------------------------- */

enum { FT_I, FT_U, FT_D, FT_B, FT_S };
typedef struct field_desc {
  const char *name;
  int type;
  size_t off;
} field_desc;

static const field_desc fields[] = {
#define FD(t, n) {#n, FT_##t, offsetof(tern_sweep_point, n)},
    TERN_SWEEP_FIELDS(FD)
#undef FD
};
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

/* a point as a JSON object (libjansson), keys in TERN_SWEEP_FIELDS order, and "pareto"
 * unless pareto == -2.  Non-finite doubles are written as 0. */
static json_t *point_json(const tern_sweep_point *p, int pareto) {
  json_t *o = json_object();
  for (int i = 0; i < NFIELDS; i++) {
    const void *a = (const char *)p + fields[i].off;
    json_t *v;
    switch (fields[i].type) {
      case FT_I: v = json_integer((json_int_t) * (const int64_t *)a); break;
      case FT_U: v = json_integer((json_int_t) * (const uint64_t *)a); break;
      case FT_D: v = json_real(isfinite(*(const double *)a) ? *(const double *)a : 0.0); break;
      case FT_B: v = json_boolean(*(const int *)a); break;
      default: v = json_string_nocheck((const char *)a); break;
    }
    json_object_set_new(o, fields[i].name, v);
  }
  if (pareto != -2) json_object_set_new(o, "pareto", json_integer(pareto));
  return o;
}

#define JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))

int tern_sweep_point_write(FILE *f, const tern_sweep_point *p) {
  json_t *o = point_json(p, -2);
  int rc = json_dumpf(o, f, JSON_FLAGS);
  json_decref(o);
  fputs("\n", f);
  return rc || ferror(f) ? -1 : 0;
}

int tern_sweep_point_read(const char *path, tern_sweep_point *p, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  char *text = NULL;
  if (tern_mc_read_text(path, &text, err, errlen)) return -1;
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  free(text);
  if (!o) return tern_err(err, errlen, "%s: line %d: %s", path, je.line, je.text);
  int rc = -1, have_index = 0;
  if (!json_is_object(o)) {
    tern_err(err, errlen, "%s: expected a JSON object written by tern sweep", path);
    goto out;
  }
  for (int i = 0; i < NFIELDS; i++) {
    const char *key = fields[i].name;
    const json_t *v = json_object_get(o, key);
    void *a = (char *)p + fields[i].off;
    if (!v || json_is_null(v)) continue;
    if (fields[i].type == FT_S) {
      if (!json_is_string(v)) {
        tern_err(err, errlen, "%s: \"%s\" is not a string, expected a string", path, key);
        goto out;
      }
      snprintf((char *)a, TERN_SWEEP_STR, "%s", json_string_value(v));
    } else if (json_is_string(v)) {
      tern_err(err, errlen, "%s: \"%s\" is a string, expected a number", path, key);
      goto out;
    } else if (fields[i].type == FT_B) {
      if (!json_is_boolean(v)) {
        tern_err(err, errlen, "%s: \"%s\" is not true or false", path, key);
        goto out;
      }
      *(int *)a = json_is_true(v);
    } else if (fields[i].type == FT_D) {
      if (!json_is_number(v)) {
        tern_err(err, errlen, "%s: \"%s\" is not a number", path, key);
        goto out;
      }
      *(double *)a = json_number_value(v);
    } else {
      if (!json_is_integer(v) || (fields[i].type == FT_U && json_integer_value(v) < 0)) {
        tern_err(err, errlen, "%s: \"%s\" is not a%s integer", path, key,
                 fields[i].type == FT_U ? " non-negative" : "n");
        goto out;
      }
      if (fields[i].type == FT_I) *(int64_t *)a = json_integer_value(v);
      else *(uint64_t *)a = (uint64_t)json_integer_value(v);
      if (!strcmp(key, "index")) have_index = 1;
    }
  }
  if (!have_index || p->index < 0 || p->n_points < 1 || p->index >= p->n_points) {
    tern_err(err, errlen, "%s: \"index\" / \"n_points\" missing or out of range (a point file "
                          "written by tern sweep has both)",
             path);
    goto out;
  }
  rc = 0;
out:
  json_decref(o);
  return rc;
}

/* ---- running a point ------------------------------------------------------------------- */

static void lprintf(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lprintf(FILE *log, const char *fmt, ...) {
  if (!log) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(log, fmt, ap);
  va_end(ap);
  fflush(log);
}

/* every counter of every program equal (ISA simulator vs RTL), else a note */
static int counters_equal(const char *phase, const tern_compare_point *a,
                          const tern_compare_point *b, char *note, size_t n) {
  if (a->nprog != b->nprog) {
    snprintf(note, n, "%s: %d programs on the ISA simulator, %d on the RTL", phase, a->nprog,
             b->nprog);
    return 0;
  }
  for (int i = 0; i < a->nprog; i++)
    for (int c = 0; c < TERN_NCOUNTERS; c++)
      if (a->prog[i].v[c] != b->prog[i].v[c]) {
        snprintf(note, n, "%s program %d: %s %" PRIu64 " (isa) vs %" PRIu64 " (rtl)", phase, i,
                 tern_counter_name(c), a->prog[i].v[c], b->prog[i].v[c]);
        return 0;
      }
  return 1;
}

static void synth_fill(tern_sweep_point *p, const tern_synth_result *r) {
  const tern_synth_unit *t = &r->unit[TERN_SYNTH_U_TOTAL], *a = &r->unit[TERN_SYNTH_U_ARRAY];
  p->synth_luts = t->luts;
  p->synth_ffs = t->ffs;
  p->synth_carries = t->carries;
  p->synth_brams = t->brams;
  p->synth_dsps = t->dsps;
  p->synth_array_luts = a->luts;
  p->synth_array_ffs = a->ffs;
  p->synth_array_dsps = a->dsps + a->muls;
  p->synth_luts_per_pe = r->luts_per_pe;
  p->synth_ffs_per_pe = r->ffs_per_pe;
  p->synth_array_mul_free = r->array_mul_free;
  p->synth_fmax_mhz = r->fmax_mhz;
  snprintf(p->synth_timing_source, sizeof p->synth_timing_source, "%s", r->timing_source);
  p->synth_logic_depth = r->logic_depth;
  p->synth_fits = r->fits;
  p->synth_seconds = r->seconds;
}

/* synthesis of point p's RTL configuration, cached per target in
 * outdir/synth/<target>[-device][-pnr]/<rtl name>/ (lock file: one run per
 * configuration even when points run in parallel) */
static int run_synth(const tern_sweep_spec *s, const tern_hwcfg *point_hw, const char *outdir,
                     tern_sweep_point *p, FILE *log, char *err, size_t errlen) {
  tern_synth_target t = (tern_synth_target)s->synth;
  tern_hwcfg shw = *point_hw;
  const tern_hwcfg *hw = &shw;
  if (s->synth_set[0] && !s->synth_array_only) { /* checked when the spec was read */
    char buf[sizeof s->synth_set], e2[256], *key[KV_MAX], *val[KV_MAX];
    const char *bad = NULL;
    snprintf(buf, sizeof buf, "%s", s->synth_set);
    int n = split_kv(buf, key, val, &bad);
    for (int i = 0; i < n; i++)
      if (apply_kv(&shw, key[i], val[i], e2, sizeof e2))
        return tern_err(err, errlen, "synth_set %s: %s", key[i], e2);
    if (tern_hwcfg_check(&shw, e2, sizeof e2))
      return tern_err(err, errlen, "synth_set '%s' on this point: %s", s->synth_set, e2);
  }
  /* the array alone depends on rows, cols and psum_bits only: one synthesis per array */
  if (s->synth_array_only) {
    char an[64];
    tern_hwcfg_array_name(hw, an, sizeof an);
    snprintf(p->synth_rtl_name, sizeof p->synth_rtl_name, "%s-array", an);
  } else {
    tern_hwcfg_rtl_name(hw, p->synth_rtl_name, sizeof p->synth_rtl_name);
    snprintf(p->synth_set, sizeof p->synth_set, "%s", s->synth_set);
  }
  snprintf(p->synth_scope, sizeof p->synth_scope, "%s", s->synth_array_only ? "array" : "design");
  int ice = t == TERN_SYNTH_ICE40;
  char tdir[1400], cdir[1700], lock[1800], res[1800];
  snprintf(tdir, sizeof tdir, "%s/synth/%s%s%s%s", outdir, tern_synth_target_name(t),
           ice ? "-" : "", ice ? s->synth_device : "", ice && s->synth_fmax ? "-pnr" : "");
  snprintf(cdir, sizeof cdir, "%s/%s", tdir, p->synth_rtl_name);
  snprintf(lock, sizeof lock, "%s.lock", cdir);
  snprintf(res, sizeof res, "%s/sweep-synth.json", cdir);
  snprintf(p->synth_target, sizeof p->synth_target, "%s", tern_synth_target_name(t));
  snprintf(p->synth_device, sizeof p->synth_device, "%s", ice ? s->synth_device : "");
  if (rt_mkdir_p(cdir, err, errlen)) return -1;
  int fd = open(lock, O_CREAT | O_RDWR, 0666);
  if (fd < 0) return tern_err(err, errlen, "%s: cannot open: %s", lock, strerror(errno));
  if (flock(fd, LOCK_EX) != 0) {
    close(fd);
    return tern_err(err, errlen, "%s: flock: %s", lock, strerror(errno));
  }
  tern_synth_result r;
  memset(&r, 0, sizeof r);
  int rc = -1;
  char e2[1024];
  struct stat rst;
  char newer[1200];
  const char *stale = stat(res, &rst) == 0 ? rt_rtl_newer_source(rst.st_mtime, newer, sizeof newer)
                                           : NULL;
  if (stale) lprintf(log, "synth: %s is older than %s: synthesising again\n", res, stale);
  if (!stale && access(res, R_OK) == 0 && tern_synth_read_json(res, &r, e2, sizeof e2) == 0) {
    p->synth_cached = 1;
    lprintf(log, "synth: %s (cached)\n", res);
    rc = 0;
  } else {
    tern_synth_opts o;
    tern_synth_opts_default(&o);
    o.target = t;
    o.hw = *hw;
    o.device = ice ? s->synth_device : NULL;
    o.pnr = ice && s->synth_fmax;
    o.array_only = s->synth_array_only;
    o.outdir = cdir;
    if (s->synth_timeout) o.timeout_s = s->synth_timeout;
    lprintf(log, "synth: %s %s in %s\n", tern_synth_target_name(t), p->synth_rtl_name, cdir);
    if (tern_synth_run(&o, &r, log, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "%s", e2);
    } else {
      char tmp[1900];
      snprintf(tmp, sizeof tmp, "%s.tmp", res);
      FILE *f = fopen(tmp, "w");
      if (!f || tern_synth_write_json(f, &r) != 0 || fclose(f) != 0 || rename(tmp, res) != 0) {
        tern_err(err, errlen, "%s: cannot write the synthesis result", res);
      } else {
        rc = 0;
      }
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  if (rc == 0) synth_fill(p, &r);
  return rc;
}

static int write_point_file(const char *outdir, const tern_sweep_point *p, char *err,
                            size_t errlen) {
  char dir[1200], path[1300], tmp[1400];
  snprintf(dir, sizeof dir, "%s/points", outdir);
  if (rt_mkdir_p(dir, err, errlen)) return -1;
  snprintf(path, sizeof path, "%s/p%04d.json", dir, (int)p->index);
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return tern_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
  int bad = tern_sweep_point_write(f, p);
  if (fclose(f) != 0) bad = -1;
  if (bad || rename(tmp, path) != 0) {
    unlink(tmp);
    return tern_err(err, errlen, "%s: write error", path);
  }
  return 0;
}

int tern_sweep_run_point(const tern_sweep_spec *s, int k, const char *outdir,
                         tern_sweep_point *p, FILE *log, char *err, size_t errlen) {
  if (!s || !outdir || !p) return rt_fail(err, errlen, -2, "tern_sweep_run_point: null argument");
  if (k < 0 || k >= s->npoints)
    return rt_fail(err, errlen, -2, "--point: %d, expected 0..%d (%s has %d points)", k,
                   s->npoints - 1, s->path, s->npoints);
  double t0 = rt_now_ms();
  memset(p, 0, sizeof *p);
  const tern_hwcfg *hw = &s->hw[k];
  p->index = k;
  p->n_points = s->npoints;
  snprintf(p->sweep, sizeof p->sweep, "%s", s->name);
  snprintf(p->label, sizeof p->label, "%s", s->label[k]);
  snprintf(p->backend, sizeof p->backend, "%s", s->backend);
  snprintf(p->tech, sizeof p->tech, "%s", s->tech);
  p->rows = hw->rows;
  p->cols = hw->cols;
  p->pes = (int64_t)hw->rows * hw->cols;
  p->wbuf_depth = hw->wbuf_depth;
  p->abuf_depth = hw->abuf_depth;
  p->acc_depth = hw->acc_depth;
  p->out_depth = hw->out_depth;
  p->qdepth = hw->qdepth;
  p->imem_depth = hw->imem_depth;
  p->dram_bw = hw->dram_bw;
  p->psum_bits = tern_hwcfg_psum_bits(hw);
  p->dram_lat = hw->dram_lat;
  p->dram_bytes = hw->dram_bytes;
  p->clock_mhz = hw->clock_mhz;
  tern_hwcfg_rtl_name(hw, p->rtl_name, sizeof p->rtl_name);
  if (gethostname(p->host, sizeof p->host - 1) != 0) snprintf(p->host, sizeof p->host, "?");
  {
    tern_tfm_config tc;
    tern_rnn_config rcf;
    char e1[256];
    if (tern_tfm_load_config(s->model, &tc, e1, sizeof e1) == 0) {
      tern_tfm_params pc = tern_tfm_param_count(&tc);
      p->params_total = pc.total;
      p->params_ternary = pc.ternary;
      snprintf(p->family, sizeof p->family, "transformer");
    } else if (tern_rnn_load_config(s->model, &rcf, e1, sizeof e1) == 0) {
      tern_rnn_params pc = tern_rnn_param_count(&rcf);
      p->params_total = pc.total;
      p->params_ternary = pc.ternary;
      snprintf(p->family, sizeof p->family, "%s (recurrent)", tern_rnn_arch_name(rcf.arch));
    }
  }
  char tp[600], e2[1024];
  tern_tech tech;
  if (tern_tech_path(s->tech, tp, sizeof tp, e2, sizeof e2) ||
      tern_tech_load(tp, &tech, e2, sizeof e2))
    return rt_fail(err, errlen, -2, "%s: [workload] tech: %s", s->path, e2);
  const int P = s->prefill, D = s->decode;
  tern_compare_model *m = tern_compare_model_new(s->model, P + D, e2, sizeof e2);
  if (!m) return rt_fail(err, errlen, -1, "point %d: %s", k, e2);
  snprintf(p->model, sizeof p->model, "%s", tern_compare_model_name(m));
  lprintf(log, "point %d/%d (%s): %s, prefill %d + decode %d tokens on the %s backend, %s\n", k,
          s->npoints, s->label[k], p->model, P, D, s->backend, p->rtl_name);
  tern_compare_point pre, dec, rpre, rdec;
  memset(&rpre, 0, sizeof rpre);
  memset(&rdec, 0, sizeof rdec);
  int rc = -1, status = 0;
  if (tern_compare_measure_seq(m, s->backend, hw, &s->run, &tech, P, D, &pre, &dec, e2,
                               sizeof e2)) {
    tern_compare_model_free(m);
    return rt_fail(err, errlen, -1, "point %d (%s): %s", k, s->label[k], e2);
  }
  const double hz = hw->clock_mhz * 1e6;
  p->prefill_tokens = P;
  p->prefill_cycles = pre.cycles;
  p->prefill_tokens_per_s = pre.cycles ? hz * P / (double)pre.cycles : 0.0;
  p->prefill_uj_per_token = pre.energy_pj / 1e6 / P;
  p->prefill_dram_rd_bytes = pre.dram_rd;
  p->prefill_dram_wr_bytes = pre.dram_wr;
  p->prefill_weight_bytes = pre.weight_bytes;
  p->prefill_array_util =
      pre.cycles ? (double)pre.total.v[TERN_CNT_GEMM_ROWS] / (double)pre.cycles : 0.0;
  p->decode_tokens = D;
  p->decode_cycles = dec.cycles;
  p->decode_cycles_per_token = (double)dec.cycles / D;
  p->decode_tokens_per_s = dec.cycles ? hz * D / (double)dec.cycles : 0.0;
  p->decode_uj_per_token = dec.energy_pj / 1e6 / D;
  p->decode_dram_rd_bytes_per_token = (double)dec.dram_rd / D;
  p->decode_dram_wr_bytes_per_token = (double)dec.dram_wr / D;
  p->decode_weight_bytes_per_token = (double)dec.weight_bytes / D;
  p->decode_array_util =
      dec.cycles ? (double)dec.total.v[TERN_CNT_GEMM_ROWS] / (double)dec.cycles : 0.0;
  p->decode_dram_roofline =
      dec.cycles ? (double)dec.dram_rd / hw->dram_bw / (double)dec.cycles : 0.0;
  lprintf(log,
          "  %s: prefill %" PRIu64 " cycles (%.1f tokens/s), decode %.1f cycles/token = %.1f "
          "tokens/s at %.0f MHz, %.3f uJ/token, array busy %.1f %% of the decode cycles\n",
          s->backend, pre.cycles, p->prefill_tokens_per_s, p->decode_cycles_per_token,
          p->decode_tokens_per_s, hw->clock_mhz, p->decode_uj_per_token,
          100.0 * p->decode_array_util);
  if (s->rtl[k] && strcmp(s->backend, "rtl") != 0) {
    double r0 = rt_now_ms();
    p->rtl_validated = 1;
    if (tern_compare_measure_seq(m, "rtl", hw, &s->run, &tech, P, D, &rpre, &rdec, e2,
                                 sizeof e2)) {
      snprintf(p->rtl_note, sizeof p->rtl_note, "RTL run failed: %.200s", e2);
      status = 1;
    } else {
      p->rtl_prefill_cycles = rpre.cycles;
      p->rtl_decode_cycles = rdec.cycles;
      char note[256];
      p->rtl_equal = counters_equal("prefill", &pre, &rpre, note, sizeof note) &&
                     counters_equal("decode", &dec, &rdec, note, sizeof note);
      if (p->rtl_equal)
        snprintf(p->rtl_note, sizeof p->rtl_note,
                 "all %d counters of all %d programs equal (ISA simulator vs Verilated RTL)",
                 TERN_NCOUNTERS, pre.nprog + dec.nprog);
      else {
        snprintf(p->rtl_note, sizeof p->rtl_note, "%s", note);
        status = 1;
      }
    }
    p->rtl_seconds = (rt_now_ms() - r0) / 1e3;
    lprintf(log, "  rtl: %s%s\n", p->rtl_equal ? "equal: " : "DIFFERS: ", p->rtl_note);
  }
  tern_compare_model_free(m);
  m = NULL;
  if (s->synth >= 0) {
    if (run_synth(s, hw, outdir, p, log, e2, sizeof e2)) {
      snprintf(p->synth_error, sizeof p->synth_error, "%.250s", e2);
      lprintf(log, "  synth failed: %s\n", e2);
      status = 1;
    } else {
      if (p->synth_fmax_mhz > 0)
        p->decode_tokens_per_s_at_fmax =
            p->synth_fmax_mhz * 1e6 / p->decode_cycles_per_token;
      lprintf(log, "  synth %s: %" PRIu64 " LUTs, %" PRIu64 " FFs, %" PRIu64 " BRAMs, %" PRIu64
                   " DSPs, %.1f LUTs/PE%s\n",
              p->synth_target, p->synth_luts, p->synth_ffs, p->synth_brams, p->synth_dsps,
              p->synth_luts_per_pe, p->synth_cached ? " (cached)" : "");
    }
  }
  p->run_seconds = (rt_now_ms() - t0) / 1e3;
  if (write_point_file(outdir, p, err, errlen) == 0) rc = status;
  tern_compare_point_free(&pre);
  tern_compare_point_free(&dec);
  tern_compare_point_free(&rpre);
  tern_compare_point_free(&rdec);
  return rc;
}

/* ---- merge ----------------------------------------------------------------------------- */

void tern_sweep_result_free(tern_sweep_result *r) {
  if (!r) return;
  free(r->pt);
  free(r->pareto);
  r->pt = NULL;
  r->pareto = NULL;
  r->n = 0;
}

int tern_sweep_pareto(int n, const double *a, const double *b, const int *valid, int *front) {
  int cnt = 0;
  for (int i = 0; i < n; i++) {
    if (valid && !valid[i]) {
      front[i] = -1;
      continue;
    }
    int dominated = 0;
    for (int j = 0; j < n && !dominated; j++) {
      if (j == i || (valid && !valid[j])) continue;
      if (a[j] >= a[i] && b[j] <= b[i] && (a[j] > a[i] || b[j] < b[i])) dominated = 1;
    }
    front[i] = !dominated;
    cnt += !dominated;
  }
  return cnt;
}

static int cmp_index(const void *x, const void *y) {
  const tern_sweep_point *a = x, *b = y;
  return a->index < b->index ? -1 : a->index > b->index;
}

static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void fmt_double(char *b, size_t n, double v) {
  if (!isfinite(v)) v = 0.0;
  snprintf(b, n, "%.10g", v);
}

static int write_csv(const char *path, const tern_sweep_result *r, char *err, size_t errlen) {
  FILE *f = fopen(path, "w");
  if (!f) return tern_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
  for (int i = 0; i < NFIELDS; i++) fprintf(f, "%s,", fields[i].name);
  fputs("pareto\n", f);
  for (int k = 0; k < r->n; k++) {
    const tern_sweep_point *p = &r->pt[k];
    for (int i = 0; i < NFIELDS; i++) {
      const void *a = (const char *)p + fields[i].off;
      char b[64];
      switch (fields[i].type) {
        case FT_I: fprintf(f, "%" PRId64, *(const int64_t *)a); break;
        case FT_U: fprintf(f, "%" PRIu64, *(const uint64_t *)a); break;
        case FT_D: fmt_double(b, sizeof b, *(const double *)a); fputs(b, f); break;
        case FT_B: fputs(*(const int *)a ? "1" : "0", f); break;
        default: csv_str(f, (const char *)a); break;
      }
      fputc(',', f);
    }
    fprintf(f, "%d\n", r->pareto[k]);
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) return tern_err(err, errlen, "%s: write error", path);
  return 0;
}

static int write_json(const char *path, const tern_sweep_result *r, char *err, size_t errlen) {
  json_t *pts = json_array();
  for (int k = 0; k < r->n; k++) json_array_append_new(pts, point_json(&r->pt[k], r->pareto[k]));
  json_t *o = json_pack("{ss si si so}", "sweep", r->n ? r->pt[0].sweep : "", "n_points",
                        r->n_expected, "n_missing", r->n_missing, "points", pts);
  int rc = !o || json_dump_file(o, path, JSON_FLAGS) != 0;
  json_decref(o);
  if (rc) return tern_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
  return 0;
}

int tern_sweep_merge(const char *dir, tern_sweep_result *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  if (!dir || !*dir) return tern_err(err, errlen, "sweep-merge: empty directory name");
  snprintf(r->dir, sizeof r->dir, "%s", dir);
  char pdir[1200];
  snprintf(pdir, sizeof pdir, "%s/points", dir);
  DIR *d = opendir(pdir);
  if (!d)
    return tern_err(err, errlen, "%s: cannot open: %s (expected the points/ directory of a tern "
                                 "sweep output directory)",
                    pdir, strerror(errno));
  int cap = 0;
  struct dirent *de;
  int rc = -1;
  while ((de = readdir(d)) != NULL) {
    const char *nm = de->d_name;
    size_t L = strlen(nm);
    if (nm[0] != 'p' || L < 7 || strcmp(nm + L - 5, ".json")) continue;
    int digits = 1;
    for (size_t i = 1; i < L - 5; i++)
      if (!isdigit((unsigned char)nm[i])) digits = 0;
    if (!digits) continue;
    if (r->n == cap) {
      cap = cap ? cap * 2 : 64;
      tern_sweep_point *np = realloc(r->pt, (size_t)cap * sizeof *np);
      if (!np) {
        tern_err(err, errlen, "out of memory");
        goto out;
      }
      r->pt = np;
    }
    char path[1500];
    snprintf(path, sizeof path, "%s/%s", pdir, nm);
    if (tern_sweep_point_read(path, &r->pt[r->n], err, errlen)) goto out;
    r->n++;
  }
  if (!r->n) {
    tern_err(err, errlen, "%s: no point files (p<K>.json); run tern sweep SPEC --point K --out %s "
                          "first",
             pdir, dir);
    goto out;
  }
  qsort(r->pt, (size_t)r->n, sizeof *r->pt, cmp_index);
  for (int k = 0; k < r->n; k++) {
    if (k && r->pt[k].index == r->pt[k - 1].index) {
      tern_err(err, errlen, "%s: two point files with index %" PRId64, pdir, r->pt[k].index);
      goto out;
    }
    if (r->pt[k].n_points > r->n_expected) r->n_expected = (int)r->pt[k].n_points;
    if (strcmp(r->pt[k].sweep, r->pt[0].sweep)) {
      tern_err(err, errlen, "%s: points of two sweeps ('%s' and '%s')", pdir, r->pt[0].sweep,
               r->pt[k].sweep);
      goto out;
    }
  }
  for (int i = 0, k = 0; i < r->n_expected; i++) {
    while (k < r->n && r->pt[k].index < i) k++;
    if (k < r->n && r->pt[k].index == i) continue;
    if (r->n_missing < (int)(sizeof r->missing / sizeof r->missing[0]))
      r->missing[r->n_missing] = i;
    r->n_missing++;
  }
  r->pareto = calloc((size_t)r->n, sizeof *r->pareto);
  double *a = calloc((size_t)r->n, sizeof *a), *b = calloc((size_t)r->n, sizeof *b);
  int *valid = calloc((size_t)r->n, sizeof *valid);
  if (!r->pareto || !a || !b || !valid) {
    free(a), free(b), free(valid);
    tern_err(err, errlen, "out of memory");
    goto out;
  }
  for (int k = 0; k < r->n; k++) {
    a[k] = r->pt[k].decode_tokens_per_s;
    b[k] = (double)r->pt[k].synth_luts;
    valid[k] = r->pt[k].synth_luts > 0 && !r->pt[k].synth_error[0];
    if (valid[k]) r->has_synth = 1;
  }
  tern_sweep_pareto(r->n, a, b, valid, r->pareto);
  free(a), free(b), free(valid);
  char path[1200];
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  if (write_csv(path, r, err, errlen)) goto out;
  snprintf(path, sizeof path, "%s/sweep.json", dir);
  if (write_json(path, r, err, errlen)) goto out;
  rc = 0;
out:
  closedir(d);
  if (rc) tern_sweep_result_free(r);
  return rc;
}

/* ---- job lists -------------------------------------------------------------------------- */

int tern_sweep_emit_parse(const char *s, tern_sweep_emit_kind *k, char *err, size_t errlen) {
  if (s && !strcmp(s, "make")) *k = TERN_SWEEP_EMIT_MAKE;
  else if (s && !strcmp(s, "slurm")) *k = TERN_SWEEP_EMIT_SLURM;
  else if (s && !strcmp(s, "parallel")) *k = TERN_SWEEP_EMIT_PARALLEL;
  else return tern_err(err, errlen, "--emit: '%s', expected slurm, parallel or make", s ? s : "");
  return 0;
}

/* paths go into make targets and shell lines unquoted-safe: no blanks or
 * shell / make metacharacters */
static int path_ok(const char *p) {
  if (!p || !*p) return 0;
  for (; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr("/._-+,=@", *p))) return 0;
  return 1;
}

/* " --watchdog N --max-cycles M" for the options tern sweep was given ("" for the defaults) */
static void run_opts_args(const tern_run_opts *o, char *buf, size_t n) {
  int k = 0;
  buf[0] = 0;
  if (o->watchdog) k = snprintf(buf, n, " --watchdog %" PRIu64, o->watchdog);
  if (o->max_cycles && k >= 0 && (size_t)k < n)
    snprintf(buf + k, n - (size_t)k, " --max-cycles %" PRIu64, o->max_cycles);
}

int tern_sweep_emit_text(FILE *f, tern_sweep_emit_kind k, const tern_sweep_spec *s,
                         const char *spec, const char *out, const char *tern) {
  const int n = s->npoints;
  char ro[96];
  run_opts_args(&s->run, ro, sizeof ro);
  switch (k) {
    case TERN_SWEEP_EMIT_MAKE:
      fprintf(f,
              "# Sweep '%s': %d points (generated by `tern sweep %s --emit make`;\n"
              "# `tern sweep SPEC --jobs N` writes and runs the same file).\n"
              "#   make -f %s/Makefile -k -j N      run the points N at a time, then merge\n"
              "# A point whose file exists and is newer than the spec is not run again;\n"
              "# delete %s/points/pKKKK.json to rerun it.  Logs: %s/logs/pKKKK.log.\n"
              "TERN := %s\nSPEC := %s\nOUT := %s\n",
              s->name, n, spec, out, out, out, tern, spec, out);
      fputs("POINTS :=", f);
      for (int i = 0; i < n; i++) fprintf(f, " \\\n  $(OUT)/points/p%04d.json", i);
      fputs("\n\n.PHONY: all points merge\nall: merge\npoints: $(POINTS)\n"
            "merge: points\n\t$(TERN) sweep-merge $(OUT)\n\n"
            "$(OUT)/points/p%.json: $(SPEC)\n"
            "\t@echo \"point $*\"\n"
            "\t@mkdir -p $(OUT)/logs\n",
            f);
      fprintf(f,
              "\t@$(TERN) sweep $(SPEC) --point $* --out $(OUT)%s >$(OUT)/logs/p$*.log 2>&1 || "
              "{ tail -n 5 $(OUT)/logs/p$*.log; exit 1; }\n",
              ro);
      break;
    case TERN_SWEEP_EMIT_SLURM:
      fprintf(f,
              "#!/bin/bash\n"
              "# Sweep '%s' as a Slurm job array: one array task per point (%d points),\n"
              "# generated by `tern sweep %s --emit slurm`.  The repository, the spec and\n"
              "# %s must be on a filesystem every node sees at the same path.\n"
              "#   jid=$(sbatch --parsable %s/sweep.slurm)\n"
              "#   sbatch --dependency=afterany:$jid --wrap '%s sweep-merge %s'\n"
              "# (or run `%s sweep-merge %s` once the array has finished).\n"
              "#SBATCH --job-name=tern-sweep-%s\n"
              "#SBATCH --array=0-%d\n"
              "#SBATCH --ntasks=1\n"
              "#SBATCH --cpus-per-task=1\n"
              "#SBATCH --output=%s/logs/slurm-%%A_%%a.log\n"
              "set -eu\n"
              "exec %s sweep %s --point \"$SLURM_ARRAY_TASK_ID\" --out %s%s\n",
              s->name, n, spec, out, out, tern, out, tern, out, s->name, n - 1, out, tern, spec,
              out, ro);
      break;
    case TERN_SWEEP_EMIT_PARALLEL:
      for (int i = 0; i < n; i++)
        fprintf(f, "%s sweep %s --point %d --out %s%s >%s/logs/p%04d.log 2>&1\n", tern, spec, i,
                out, ro, out, i);
      break;
  }
  return ferror(f) ? -1 : 0;
}

int tern_sweep_emit_files(tern_sweep_emit_kind k, const tern_sweep_spec *s, const char *spec,
                          const char *out, const char *tern, char *path, size_t pathlen,
                          char *err, size_t errlen) {
  const char *what[3] = {spec, out, tern};
  const char *names[3] = {"the spec path", "--out", "the tern binary path"};
  for (int i = 0; i < 3; i++)
    if (!path_ok(what[i]))
      return tern_err(err, errlen, "%s '%s': expected a path of letters, digits and / . _ - + , = @ "
                                   "only (it goes into make targets and shell lines)",
                      names[i], what[i] ? what[i] : "");
  char d[1200];
  snprintf(d, sizeof d, "%s/points", out);
  if (rt_mkdir_p(d, err, errlen)) return -1;
  snprintf(d, sizeof d, "%s/logs", out);
  if (rt_mkdir_p(d, err, errlen)) return -1;
  static const char *const file[3] = {"Makefile", "sweep.slurm", "sweep.jobs"};
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", out, file[k]);
  FILE *f = fopen(p, "w");
  if (!f) return tern_err(err, errlen, "%s: cannot write: %s", p, strerror(errno));
  int bad = tern_sweep_emit_text(f, k, s, spec, out, tern);
  if (fclose(f) != 0 || bad) return tern_err(err, errlen, "%s: write error", p);
  if (path) snprintf(path, pathlen, "%s", p);
  if (k == TERN_SWEEP_EMIT_SLURM) chmod(p, 0755);
  if (k == TERN_SWEEP_EMIT_PARALLEL) {
    char sh[1200];
    snprintf(sh, sizeof sh, "%s/sweep-parallel.sh", out);
    f = fopen(sh, "w");
    if (!f) return tern_err(err, errlen, "%s: cannot write: %s", sh, strerror(errno));
    fprintf(f,
            "#!/bin/sh\n"
            "# Sweep '%s' with GNU parallel: %s holds one command per point (%d points),\n"
            "# generated by `tern sweep %s --emit parallel`.  Options go to parallel:\n"
            "#   sh %s -j 2                            this machine, 2 at a time\n"
            "#   sh %s --sshloginfile nodes.txt        many machines (nodes.txt: one\n"
            "#       \"cores/host\" per line, e.g. 8/node1; the repository, the spec and the\n"
            "#       output directory at the same path on every host, e.g. a shared filesystem)\n"
            "# then the point files are merged (tern sweep-merge).\n"
            "status=0\n"
            "parallel --joblog %s/logs/parallel.joblog \"$@\" < %s || status=$?\n"
            "%s sweep-merge %s || status=1\n"
            "exit $status\n",
            s->name, p, s->npoints, spec, sh, sh, out, p, tern, out);
    if (fclose(f) != 0) return tern_err(err, errlen, "%s: write error", sh);
    chmod(sh, 0755);
  }
  return 0;
}

/* ---- command line ------------------------------------------------------------------------ */

const char *tern_sweep_usage(void) {
  return "usage: tern sweep SPEC [--out DIR] [--jobs N] [--emit slurm|parallel|make] [--point K]\n"
         "                  [--watchdog N] [--max-cycles N]\n"
         "Design-space sweep (docs/SWEEP.md): one workload (a model, prefill and decode tokens)\n"
         "on every accelerator configuration of SPEC (an INI file: [workload], optional [hw],\n"
         "[grid] or [points]) with the cycle model (ISA simulator; RTL validation and FPGA\n"
         "synthesis where the spec asks).  One JSON file per point in DIR/points/, merged into\n"
         "DIR/sweep.csv, DIR/sweep.json and DIR/report.html / report.md (Pareto plot).\n"
         "  --out DIR          output directory (default reports/out/sweep-NAME)\n"
         "  --jobs N           points run N at a time by make -j N (default 2)\n"
         "  --emit KIND        only write the job list for a scheduler: slurm (DIR/sweep.slurm,\n"
         "                     a job array), parallel (DIR/sweep.jobs + DIR/sweep-parallel.sh for\n"
         "                     GNU parallel, also --sshloginfile) or make (DIR/Makefile); then\n"
         "                     tern sweep-merge DIR\n"
         "  --point K          run point K only and write DIR/points/pKKKK.json (what the jobs run)\n"
         TERN_RUN_OPTS_HELP
         "                     (for every program of every point; the job lists pass them on)\n";
}

const char *tern_sweep_merge_usage(void) {
  return "usage: tern sweep-merge DIR\n"
         "Merge DIR/points/p*.json (written by tern sweep --point K on any machines) into\n"
         "DIR/sweep.csv, DIR/sweep.json and the report DIR/report.html / report.md.\n";
}

int tern_sweep_parse_args(int argc, char **argv, tern_sweep_args *a, int *help, char *err,
                          size_t errlen) {
  memset(a, 0, sizeof *a);
  a->jobs = 2;
  a->emit = -1;
  a->point = -1;
  *help = 0;
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      *help = 1;
      return 0;
    }
    if (s[0] != '-') {
      if (a->spec) return tern_err(err, errlen, "SPEC given twice ('%s' and '%s')", a->spec, s);
      a->spec = s;
      continue;
    }
    if (strcmp(s, "--out") && strcmp(s, "--jobs") && strcmp(s, "--emit") && strcmp(s, "--point") &&
        !tern_run_opts_is_flag(s))
      return tern_err(err, errlen, "unknown option '%s' for tern sweep, expected --out, --jobs, "
                                   "--emit, --point, --watchdog or --max-cycles (tern sweep --help)",
                      s);
    if (i + 1 >= argc) return tern_err(err, errlen, "%s: missing value", s);
    const char *v = argv[++i];
    if (!strcmp(s, "--out")) {
      if (!*v) return tern_err(err, errlen, "--out: empty, expected a directory");
      a->out = v;
    } else if (tern_run_opts_is_flag(s)) {
      if (tern_run_opts_flag(&a->run, s, v, err, errlen)) return -1;
    } else if (!strcmp(s, "--emit")) {
      tern_sweep_emit_kind k;
      if (tern_sweep_emit_parse(v, &k, err, errlen)) return -1;
      a->emit = (int)k;
    } else {
      char *end = NULL;
      errno = 0;
      long x = strtol(v, &end, 10);
      long hi = !strcmp(s, "--jobs") ? 256 : TERN_SWEEP_MAX_POINTS - 1;
      long lo = !strcmp(s, "--jobs") ? 1 : 0;
      if (!*v || *end || errno || x < lo || x > hi)
        return tern_err(err, errlen, "%s: '%s', expected an integer in %ld..%ld", s, v, lo, hi);
      if (!strcmp(s, "--jobs")) a->jobs = (int)x;
      else a->point = (int)x;
    }
  }
  if (!a->spec) return tern_err(err, errlen, "missing SPEC (an INI file; tern sweep --help)");
  if (a->emit >= 0 && a->point >= 0)
    return tern_err(err, errlen, "--emit with --point: expected one of them");
  return 0;
}

int tern_sweep_run_local(const tern_sweep_spec *s, const char *spec, const char *out, int jobs,
                         const char *tern, FILE *log, char *err, size_t errlen) {
  char mk[1200];
  if (tern_sweep_emit_files(TERN_SWEEP_EMIT_MAKE, s, spec, out, tern, mk, sizeof mk, err, errlen))
    return -2;
  char jb[16];
  snprintf(jb, sizeof jb, "%d", jobs);
  lprintf(log, "sweep '%s': %d points, make -f %s -k -j %d points\n", s->name, s->npoints, mk,
          jobs);
  if (log) fflush(log);
  pid_t pid = fork();
  if (pid < 0) return rt_fail(err, errlen, -1, "fork: %s", strerror(errno));
  if (pid == 0) {
    if (log && fileno(log) != STDOUT_FILENO) dup2(fileno(log), STDOUT_FILENO);
    execlp("make", "make", "--no-print-directory", "-f", mk, "-k", "-j", jb, "points",
           (char *)NULL);
    fprintf(stderr, "tern sweep: cannot run make: %s\n", strerror(errno));
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return rt_fail(err, errlen, -1, "waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    tern_err(err, errlen, "make -f %s exited with status %d: a point failed (its log is in %s/logs/)",
             mk, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    return 1;
  }
  return 0;
}

/* the tern binary the jobs run: this one */
static void self_exe(char *buf, size_t n) {
  ssize_t k = readlink("/proc/self/exe", buf, n - 1);
  if (k <= 0) snprintf(buf, n, "tern");
  else buf[k] = 0;
}

static void print_points(FILE *out, const tern_sweep_result *r) {
  int w = 28; /* the point column: as wide as the longest label */
  for (int k = 0; k < r->n; k++)
    if ((int)strlen(r->pt[k].label) > w) w = (int)strlen(r->pt[k].label);
  fprintf(out, "%4s  %-*s %12s %10s %9s %8s %9s %7s %7s %6s\n", "#", w, "point", "dec cyc/tok",
          "tokens/s", "uJ/token", "util %", "LUTs", "LUT/PE", "Pareto", "RTL");
  for (int k = 0; k < r->n; k++) {
    const tern_sweep_point *p = &r->pt[k];
    char luts[32], lpe[32];
    if (p->synth_luts) {
      snprintf(luts, sizeof luts, "%" PRIu64, p->synth_luts);
      snprintf(lpe, sizeof lpe, "%.1f", p->synth_luts_per_pe);
    } else {
      snprintf(luts, sizeof luts, "%s", p->synth_error[0] ? "failed" : "-");
      snprintf(lpe, sizeof lpe, "-");
    }
    fprintf(out, "%4" PRId64 "  %-*s %12.1f %10.1f %9.3f %8.2f %9s %7s %7s %6s\n", p->index, w,
            p->label, p->decode_cycles_per_token, p->decode_tokens_per_s, p->decode_uj_per_token,
            100.0 * p->decode_array_util, luts, lpe,
            r->pareto[k] == 1 ? "yes" : r->pareto[k] == 0 ? "no" : "-",
            !p->rtl_validated ? "-" : p->rtl_equal ? "equal" : "DIFFERS");
  }
}

static int merge_and_report(const char *dir, FILE *out, char *err, size_t errlen) {
  tern_sweep_result r;
  if (tern_sweep_merge(dir, &r, err, errlen)) return 1;
  print_points(out, &r);
  int bad = 0;
  for (int k = 0; k < r.n; k++)
    if (r.pt[k].synth_error[0] || (r.pt[k].rtl_validated && !r.pt[k].rtl_equal)) bad = 1;
  if (r.n_missing) {
    fprintf(out, "missing: %d of %d points (first: %d)\n", r.n_missing, r.n_expected,
            r.missing[0]);
    bad = 1;
  }
  fprintf(out, "merged %d points: %s/sweep.csv, %s/sweep.json\n", r.n, dir, dir);
  if (r.has_synth)
    fprintf(out, "LUTs: Yosys synth_%s of %s\n", r.pt[0].synth_target,
            !strcmp(r.pt[0].synth_scope, "array") ? "the PE array alone (synth_scope = array)"
                                                  : "the whole accelerator");
  char e2[1024];
  if (tern_sweep_report_write(dir, &r, e2, sizeof e2)) {
    tern_sweep_result_free(&r);
    tern_err(err, errlen, "report: %s", e2);
    return 1;
  }
  fprintf(out, "report: %s/report.html, %s/report.md (%senergy.png, util.png)\n", dir, dir,
          r.has_synth ? "pareto.png, " : "");
  tern_sweep_result_free(&r);
  if (bad) {
    tern_err(err, errlen, "some points failed or are missing (see above)");
    return 1;
  }
  return 0;
}

int tern_sweep_merge_main(int argc, char **argv) {
  char err[2048];
  if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
    fputs(tern_sweep_merge_usage(), stdout);
    return 0;
  }
  if (argc != 3 || argv[2][0] == '-') {
    fputs(tern_sweep_merge_usage(), stderr);
    return 2;
  }
  if (merge_and_report(argv[2], stdout, err, sizeof err)) {
    fflush(stdout);
    fprintf(stderr, "tern sweep-merge: %s\n", err);
    return 1;
  }
  return 0;
}

int tern_sweep_main(int argc, char **argv) {
  tern_sweep_args a;
  tern_sweep_spec s;
  char err[2048] = "";
  int help;
  if (tern_sweep_parse_args(argc, argv, &a, &help, err, sizeof err)) {
    fprintf(stderr, "tern sweep: %s\n", err);
    return 2;
  }
  if (help) {
    fputs(tern_sweep_usage(), stdout);
    return 0;
  }
  if (tern_sweep_spec_load(a.spec, &s, err, sizeof err)) {
    fprintf(stderr, "tern sweep: %s\n", err);
    return 2;
  }
  s.run = a.run;
  char outbuf[1100], out[PATH_MAX], spec[PATH_MAX], tern[PATH_MAX];
  if (a.out) snprintf(outbuf, sizeof outbuf, "%s", a.out);
  else snprintf(outbuf, sizeof outbuf, "reports/out/sweep-%s", s.name);
  int rc = 0;
  if (rt_mkdir_p(outbuf, err, sizeof err) || !realpath(outbuf, out) || !realpath(a.spec, spec)) {
    if (!err[0]) snprintf(err, sizeof err, "%s: %s", outbuf, strerror(errno));
    fprintf(stderr, "tern sweep: %s\n", err);
    tern_sweep_spec_free(&s);
    return 2;
  }
  self_exe(tern, sizeof tern);
  if (a.point >= 0) {
    tern_sweep_point p;
    rc = tern_sweep_run_point(&s, a.point, out, &p, stdout, err, sizeof err);
    if (rc >= 0) printf("wrote %s/points/p%04d.json\n", out, a.point);
    if (rc < 0) fprintf(stderr, "tern sweep: %s\n", err);
    else if (rc) fprintf(stderr, "tern sweep: point %d: %s%s%s\n", a.point, p.rtl_note,
                         p.synth_error[0] ? " synthesis: " : "", p.synth_error);
    tern_sweep_spec_free(&s);
    return rc == -2 ? 2 : rc ? 1 : 0;
  }
  if (a.emit >= 0) {
    char path[1300];
    if (tern_sweep_emit_files((tern_sweep_emit_kind)a.emit, &s, spec, out, tern, path, sizeof path,
                              err, sizeof err)) {
      fprintf(stderr, "tern sweep: %s\n", err);
      tern_sweep_spec_free(&s);
      return 2;
    }
    printf("wrote %s (%d points)\n", path, s.npoints);
    if (a.emit == TERN_SWEEP_EMIT_SLURM)
      printf("submit: jid=$(sbatch --parsable %s)\nmerge:  sbatch --dependency=afterany:$jid "
             "--wrap '%s sweep-merge %s'\n",
             path, tern, out);
    else if (a.emit == TERN_SWEEP_EMIT_PARALLEL)
      printf("run:    sh %s/sweep-parallel.sh -j 2   (or --sshloginfile nodes.txt; it merges at "
             "the end)\n",
             out);
    else
      printf("run:    make -f %s -k -j 2   (runs the points, then %s sweep-merge %s)\n", path,
             tern, out);
    tern_sweep_spec_free(&s);
    return 0;
  }
  /* a local sweep: make -j runs the points, then merge + report */
  char copy[PATH_MAX + 32];
  snprintf(copy, sizeof copy, "%s/sweep-spec.ini", out);
  if (strcmp(copy, spec)) {
    char *text = NULL;
    if (tern_mc_read_text(spec, &text, err, sizeof err) == 0) {
      FILE *f = fopen(copy, "w");
      if (f) {
        fprintf(f, "; copy of %s (tern sweep)\n%s", spec, text);
        fclose(f);
      }
      free(text);
    }
  }
  double t0 = rt_now_ms();
  rc = tern_sweep_run_local(&s, spec, out, a.jobs, tern, stdout, err, sizeof err);
  double secs = (rt_now_ms() - t0) / 1e3;
  if (rc < 0) {
    fprintf(stderr, "tern sweep: %s\n", err);
    tern_sweep_spec_free(&s);
    return rc == -2 ? 2 : 1;
  }
  if (rc) fprintf(stderr, "tern sweep: %s\n", err);
  printf("sweep '%s': %d points in %.1f s wall clock (make -j %d on this machine)\n", s.name,
         s.npoints, secs, a.jobs);
  if (merge_and_report(out, stdout, err, sizeof err)) {
    fflush(stdout);
    fprintf(stderr, "tern sweep: %s\n", err);
    rc = 1;
  }
  tern_sweep_spec_free(&s);
  return rc ? 1 : 0;
}
