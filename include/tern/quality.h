/* Fidelity as model quality (issue 11, runtime/quality.c): bits per byte of
 * a byte-level model (transformer or recurrent) on a text (a validation split), for tern's float
 * reference, its integer reference and the accelerator (ISA simulator or RTL,
 * every position's logits compared bit for bit with the integer
 * reference's), plus top-1 agreement of the integer with the float model.
 *
 * Protocol (the same as models/train/train.py eval_bpb, so the PyTorch
 * figure compares): the text's bytes are cut into windows of W + 1 bytes
 * (W = min(max_seq, TERN_QUALITY_WINDOW) unless given) with stride W, so consecutive
 * windows share one byte; the first W bytes of a window are fed and each
 * predicts the next, so every byte but the first is predicted exactly once,
 * with the context restarting at each window (the last window may be
 * shorter).  bits per byte = sum over predicted bytes of -log2 softmax(logits)
 * [byte] / predicted bytes, the softmax in double over logits (float, or
 * integer Q12 / 4096).  The accelerator runs each window as one prefill
 * step of its first W-1 bytes (tern_tfm_exec_step_all: the HEAD program
 * writes every row's logits), so it covers the same positions as the
 * references; its logits must equal the integer reference's at every one. */
#ifndef TERN_QUALITY_H
#define TERN_QUALITY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/backend.h"
#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default window: the sequence length the shipped models were trained
 * and evaluated at (models/train/train.py --seq), so the figures compare. */
#define TERN_QUALITY_WINDOW 256

typedef struct tern_quality_config {
  const char *model;     /* checkpoint path, preset or description file (vocab 256) */
  const char *text;      /* the text file (untrusted; at most 64 MiB) */
  size_t max_bytes;      /* bytes of the text used (0 = all) */
  int window;            /* W, tokens fed per window (0 = min(max_seq, TERN_QUALITY_WINDOW);
                            1 .. max_seq) */
  const char *backend;   /* NULL: references only; "isa" or "rtl": also the accelerator */
  size_t accel_bytes;    /* bytes (from the start) the accelerator runs (0 = the same as the
                            references) */
  tern_hwcfg hw;         /* accelerator configuration */
  tern_run_opts run;     /* watchdog / max_cycles of every accelerator program (0 = defaults) */
} tern_quality_config;

void tern_quality_config_default(tern_quality_config *c);

typedef struct tern_quality_result {
  char model[64];
  size_t bytes;            /* bytes of text used */
  size_t predicted;        /* bytes predicted by the references */
  int window;
  double bpb_float;        /* tern float reference */
  double bpb_int;          /* integer reference */
  double top1_agree;       /* fraction of positions with integer top-1 == float top-1 */
  double rel_cost;         /* (bpb_int - bpb_float) / bpb_float */
  /* accelerator (0 unless backend) */
  size_t accel_predicted;  /* positions the accelerator ran */
  size_t accel_bit_exact;  /* of which logits equal the integer reference's (all vocab values) */
  double bpb_accel;        /* from the accelerator's logits */
  double bpb_int_slice;    /* the integer reference on the same positions */
  uint64_t accel_cycles;   /* over all accelerator steps */
  double seconds_float, seconds_int, seconds_accel; /* wall clock of this process */
} tern_quality_result;

/* 0, -2 with a message for a bad configuration / input (CLI exit 2), -1 when
 * a run fails (exit 1).  Prints progress and the table to out (may be NULL). */
int tern_quality(const tern_quality_config *c, tern_quality_result *r, FILE *out, char *err,
                 size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
