#!/usr/bin/python3
"""Quantisation-aware training of a tern transformer (BitNet b1.58) on Debian's
fortunes, exported as a checkpoint tern can load.

Read top to bottom:
  1. the model description (tern's INI `[model]` format, docs/MODELS.md)
  2. the numerics, each one a copy of a line of tern's C float reference
  3. the model: models/tfm_float.c as a batched PyTorch module
  4. the corpus and its train/validation split
  5. training (AdamW, linear warmup, cosine decay, a wall-clock budget)
  6. export: model.safetensors (HF BitNet 2B4T names and packing), config.json,
     reference.json, and a self-check that reads the file back
  7. main

The forward pass is tern's float reference (models/tfm_float.c), not an
approximation of it: the same quantisers with C's roundf, the same order of
the float32 operations where it matters (BitLinear's y = acc * beta * gamma /
127, RMSNorm's x / rms * g), RoPE tables built in double.  Only the order of
the float sums inside dot products differs (BLAS vs C's index order); the
self-check measures that difference against a NumPy copy of the C loops.

Conventions and their sources in tern: models/train/README.md.
Python is only for training; the C kit never needs it.
"""
import argparse
import json
import math
import os
import shlex
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# 1. Model description (tern's INI format, docs/MODELS.md "Model description format")
# --------------------------------------------------------------------------------------------

# field -> (kind, lo, hi, default).  Ranges as models/tfm_config.c.
FIELDS = {
    "name": ("name", None, None, None),
    "source": ("source", None, None, ""),
    "vocab": ("int", 2, 1 << 20, None),
    "dim": ("int", 1, 65536, None),
    "layers": ("int", 1, 1024, None),
    "heads": ("int", 1, 1024, None),
    "kv_heads": ("int", 1, 1024, None),  # default: heads
    "head_dim": ("int", 2, 4096, None),  # default: dim / heads
    "ffn": ("int", 1, 1 << 18, None),
    "ffn_type": ("enum", ("swiglu", "relu2_glu", "relu2", "gelu"), None, None),
    "norm": ("enum", ("rmsnorm", "layernorm"), None, "rmsnorm"),
    "norm_bias": ("bool", None, None, False),
    "subln": ("bool", None, None, False),
    "rope_theta": ("float", 1.0, 1e12, 10000.0),
    "window": ("int", 0, 1 << 24, 0),
    "tie_embeddings": ("bool", None, None, True),
    "repeat": ("int", 1, 16, 1),
    "share_ffn": ("bool", None, None, False),
    "max_seq": ("int", 1, 1 << 24, 2048),
    "eps": ("float", 0.0, 1.0, 1e-5),
    "seed": ("u64", None, None, 1),
}
REQUIRED = ("name", "vocab", "dim", "layers", "heads", "ffn", "ffn_type")

# What this script implements.  Any other value stops the script (it would
# otherwise train a different model than tern runs).
SUPPORTED = {
    "ffn_type": "relu2_glu",   # HF BitNet's gate/up/down with hidden_act relu2
    "norm": "rmsnorm",
    "norm_bias": False,
    "subln": True,             # BitNet 2B4T's attn_sub_norm / ffn_sub_norm
    "window": 0,
    "tie_embeddings": True,
    "repeat": 1,
    "share_ffn": False,
}


class ConfigError(Exception):
    pass


def parse_tern(text, what):
    """Parse a tern model description.  Mirrors models/tfm_config.c and inih:
    `#`/`;` comment lines, ` ;` inline comments, `name = value` (or `:`)."""
    cfg, section = {}, None
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ConfigError(f"{what}:{lineno}: syntax error, expected 'field = value', "
                                  "'[model]' or a comment")
            section = line[1:-1].strip()
            if section != "model":
                raise ConfigError(f"{what}:{lineno}: section '[{section}]' is unknown, "
                                  "expected [model]")
            continue
        cut = min([i for i in (line.find("="), line.find(":")) if i >= 0], default=-1)
        if cut < 0:
            raise ConfigError(f"{what}:{lineno}: syntax error, expected 'field = value', "
                              "'[model]' or a comment")
        key, value = line[:cut].strip(), line[cut + 1:]
        for i in range(1, len(value)):  # inih inline comment: ';' after whitespace
            if value[i] == ";" and value[i - 1].isspace():
                value = value[:i]
                break
        value = value.strip()
        if section is None:
            raise ConfigError(f"{what}:{lineno}: field '{key}' outside a section, "
                              "expected a [model] section first")
        if key not in FIELDS:
            raise ConfigError(f"{what}:{lineno}: unknown field '{key}', expected one of "
                              + ", ".join(FIELDS))
        if key in cfg:
            raise ConfigError(f"{what}:{lineno}: field '{key}' is given twice")
        cfg[key] = parse_value(key, value, f"{what}:{lineno}")
    for key in REQUIRED:
        if key not in cfg:
            raise ConfigError(f"{what}: field '{key}' is missing")
    for key, (_, _, _, default) in FIELDS.items():
        cfg.setdefault(key, default)
    if cfg["kv_heads"] is None:
        cfg["kv_heads"] = cfg["heads"]
    if cfg["head_dim"] is None:
        if cfg["dim"] % cfg["heads"]:
            raise ConfigError(f"{what}: field 'heads' is {cfg['heads']}, expected a divisor "
                              f"of dim = {cfg['dim']} (or give head_dim)")
        cfg["head_dim"] = cfg["dim"] // cfg["heads"]
    if cfg["heads"] % cfg["kv_heads"]:
        raise ConfigError(f"{what}: field 'kv_heads' is {cfg['kv_heads']}, expected a divisor "
                          f"of heads = {cfg['heads']}")
    if cfg["head_dim"] % 2:
        raise ConfigError(f"{what}: field 'head_dim' is {cfg['head_dim']}, expected an even "
                          "number (RoPE pairs)")
    for key, want in SUPPORTED.items():
        if cfg[key] != want:
            raise ConfigError(f"{what}: field '{key}' is {fmt_value(cfg[key])}: "
                              f"models/train/train.py implements only {key} = {fmt_value(want)}")
    return cfg


def parse_value(key, value, where):
    kind, lo, hi, _ = FIELDS[key]
    bad = f"{where}: field '{key}' is '{value[:40]}', expected "
    if kind == "name":
        ok = 0 < len(value) < 64 and all(c.isascii() and (c.isalnum() or c in "._-") for c in value)
        if not ok:
            raise ConfigError(bad + "1..63 characters of [A-Za-z0-9._-]")
        return value
    if kind == "source":
        if len(value) > 160 or ";" in value or any(not " " <= c <= "~" for c in value):
            raise ConfigError(bad + "at most 160 printable characters without ';'")
        return value
    if kind == "int":
        try:
            x = int(value, 10)
        except ValueError:
            x = None
        if x is None or not lo <= x <= hi:
            raise ConfigError(bad + f"an integer in {lo}..{hi}")
        return x
    if kind == "float":
        try:
            x = float(value)
        except ValueError:
            x = None
        if x is None or not lo < x <= hi:
            raise ConfigError(bad + f"a number in ({lo:g}, {hi:g}]")
        return x
    if kind == "bool":
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ConfigError(bad + "true or false")
    if kind == "enum":
        if value not in lo:
            raise ConfigError(bad + ", ".join(lo))
        return value
    if kind == "u64":
        try:
            x = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            x = None
        if x is None or not 0 <= x < 1 << 64:
            raise ConfigError(bad + "an unsigned 64-bit integer (decimal or 0x)")
        return x
    raise AssertionError(kind)


def fmt_value(v):
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def renamed_description(text, name, source):
    """The description text with new `name` and `source` values and every other
    line as it was (a source line is added after the name if there is none)."""
    lines = text.rstrip("\n").split("\n")
    keys = [l.split("=", 1)[0].strip() for l in lines]
    out = []
    for line, key in zip(lines, keys):
        if key == "name":
            out.append(f"name = {name}")
            if "source" not in keys:
                out.append(f"source = {source}")
        elif key == "source":
            out.append(f"source = {source}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# 2. Numerics: tern's float reference, one function per C line (float32 throughout)
# --------------------------------------------------------------------------------------------

def round_half_away(x):
    """C's roundf: halves away from zero (torch.round is half-to-even).
    sign(x)*floor(|x|+0.5) is wrong for 0.49999997f (|x|+0.5 rounds up to 1 in
    float32); trunc plus the exact fractional part is not: x - trunc(x) is
    exact for every float."""
    t = torch.trunc(x)
    return t + torch.sign(x) * ((x - t).abs() >= 0.5).to(x.dtype)


def ternarize(w):
    """models/numerics.c tern_ternarize: beta = mean|W| summed in double, cast to
    float, floored at 1e-5 (NaN too); codes = clamp(roundf(W / beta), -1, 1)."""
    beta = w.detach().double().abs().mean().float()
    if not beta >= 1e-5:
        beta = torch.tensor(1e-5, dtype=torch.float32)
    codes = round_half_away(w.detach() / beta).clamp(-1, 1)
    return beta, codes


class RoundSTE(torch.autograd.Function):
    """clamp(roundf(x), lo, hi) forward; straight-through (identity) backward,
    as BitNet's x + (quant(x) - x).detach()."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        return round_half_away(x).clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g, None, None


def linear(x, w):
    """x [..., K] times w[out, K]^T.  A 1x1 convolution: oneDNN's kernels are
    several times faster than this torch build's reference BLAS (BLAS_INFO=
    generic).  With integer operands (BitLinear) the sums are exact in any order."""
    y = F.conv1d(x.reshape(-1, x.shape[-1], 1), w[:, :, None])
    return y.reshape(*x.shape[:-1], w.shape[0])


def batched_linear(x, w):
    """x [..., M, K] times w [..., N, K]^T, one linear() per leading index: for
    the attention's two products this is 2-3x faster here than torch's bmm."""
    xs, ws = x.reshape(-1, *x.shape[-2:]), w.reshape(-1, *w.shape[-2:])
    y = torch.stack([linear(a, b) for a, b in zip(xs, ws)])
    return y.view(*x.shape[:-1], w.shape[-2])


def bitlinear(x, *ws):
    """tfm_float.c bitlinear of one input into one or more matrices that share
    it (Q/K/V, gate/up: tern quantises the normed row once and reuses the codes):
      gamma = fmaxf(max|x|, 1e-5f); scale = 127.0f / gamma;
      xq = clamp(roundf(x * scale), -128, 127); acc = xq . codes (exact);
      y = acc * beta * gamma / 127.0f  (left to right).
    Gradients straight through both quantisers, none through beta and gamma:
    dL/dx = g . W_dq, dL/dW = g^T . x_dq, as BitNet's training code."""
    gamma = x.detach().abs().amax(dim=-1, keepdim=True).clamp_min(1e-5)
    scale = 127.0 / gamma
    xq = RoundSTE.apply(x * scale, -128, 127)
    betas, codes = [], []
    for w in ws:
        beta = ternarize(w)[0]
        betas.append(beta.expand(w.shape[0]))
        codes.append(RoundSTE.apply(w / beta, -1, 1))
    acc = linear(xq, torch.cat(codes, 0) if len(codes) > 1 else codes[0])
    return acc * torch.cat(betas) * gamma / 127.0


def i8rows(e):
    """models/model_common.c tern_mc_gen_i8rows: per row scale = amax / 127.0f
    (1 if amax == 0), q = clamp(roundf(x / scale), -127, 127).  q carries a
    straight-through gradient to e (times 1/scale)."""
    amax = e.detach().abs().amax(dim=1)
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    return RoundSTE.apply(e / scale[:, None], -127, 127), scale


def rms_norm(x, g, eps):
    """tfm_float.c norm_row: ss = sum x^2, rms = sqrtf(ss / n + eps), y = x / rms * g."""
    ss = (x * x).sum(dim=-1, keepdim=True)
    rms = torch.sqrt(ss / float(x.shape[-1]) + eps)
    return x / rms * g


def rope_tables(cfg, n):
    """tfm_float.c tern_tfm_ctx_new: angle = p * theta^(-2i/hd) in double,
    cos and sin in double, stored as float32.  [n][hd/2]."""
    hd, half = cfg["head_dim"], cfg["head_dim"] // 2
    cos = np.zeros((n, half), np.float32)
    sin = np.zeros((n, half), np.float32)
    for p in range(n):
        for i in range(half):
            ang = float(p) * math.pow(cfg["rope_theta"], -2.0 * float(i) / float(hd))
            cos[p, i], sin[p, i] = math.cos(ang), math.sin(ang)
    return torch.from_numpy(cos), torch.from_numpy(sin)


def rope(x, cos, sin):
    """tfm_float.c rope, rotate-half: (x0, x1) = (p[i], p[i + hd/2]) ->
    (x0 cos - x1 sin, x0 sin + x1 cos).  x: [..., T, hd], cos/sin: [T, hd/2]."""
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)


# --------------------------------------------------------------------------------------------
# 3. The model: tern's float reference (models/tfm_float.c tern_tfm_prefill), batched
# --------------------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd, F_ = cfg["dim"], cfg["head_dim"], cfg["ffn"]
        qd, kvd = cfg["heads"] * hd, cfg["kv_heads"] * hd
        lin = lambda out, inp: nn.Parameter(torch.empty(out, inp))  # [out, in] as nn.Linear
        self.input_layernorm = nn.Parameter(torch.ones(d))
        self.q_proj, self.k_proj, self.v_proj = lin(qd, d), lin(kvd, d), lin(kvd, d)
        self.attn_sub_norm = nn.Parameter(torch.ones(qd))
        self.o_proj = lin(d, qd)
        self.post_attention_layernorm = nn.Parameter(torch.ones(d))
        self.gate_proj, self.up_proj = lin(F_, d), lin(F_, d)
        self.ffn_sub_norm = nn.Parameter(torch.ones(F_))
        self.down_proj = lin(d, F_)


class TernLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Parameter(torch.empty(cfg["vocab"], cfg["dim"]))
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg["layers"]))
        self.norm = nn.Parameter(torch.ones(cfg["dim"]))
        cos, sin = rope_tables(cfg, cfg["max_seq"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def init_weights(self, gen):
        """Embedding N(0, 1/dim) as tern's generator (z / sqrt(dim)); projections
        N(0, 1/in), the two residual outputs (o, down) further by
        1/sqrt(2 layers) (GPT-2); norm gains 1."""
        cfg = self.cfg
        with torch.no_grad():
            self.embed_tokens.normal_(0.0, 1.0 / math.sqrt(cfg["dim"]), generator=gen)
            for b in self.layers:
                for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                             "down_proj"):
                    w = getattr(b, name)
                    std = 1.0 / math.sqrt(w.shape[1])
                    if name in ("o_proj", "down_proj"):
                        std /= math.sqrt(2 * cfg["layers"])
                    w.normal_(0.0, std, generator=gen)

    def forward(self, tokens):
        cfg = self.cfg
        B, T = tokens.shape
        H, KV, hd, eps = cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["eps"]
        G = H // KV                                       # query heads per KV head
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        inv_sqrt_hd = float(np.float32(1.0) / np.sqrt(np.float32(hd)))  # 1.0f / sqrtf(hd)
        mask = torch.zeros(T, T).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1),
                                              float("-inf")).repeat(G, 1)   # causal
        eq, escale = i8rows(self.embed_tokens)            # int8 rows as tern stores them
        x = (eq * escale[:, None])[tokens]                # [B, T, d]
        for b in self.layers:
            h = rms_norm(x, b.input_layernorm, eps)
            q, k, v = bitlinear(h, b.q_proj, b.k_proj, b.v_proj).split(
                [H * hd, KV * hd, KV * hd], dim=-1)
            # query head h = kv * G + g reads KV head kv: group the G query heads of a
            # KV head as G*T rows of one matrix product with that head's keys
            q = rope(q.view(B, T, KV, G, hd).permute(0, 2, 3, 1, 4), cos, sin)
            q = q.reshape(B, KV, G * T, hd)
            k = rope(k.view(B, T, KV, hd).transpose(1, 2), cos, sin)   # [B, KV, T, hd]
            v = v.view(B, T, KV, hd).transpose(1, 2)
            # tern: s = (q . k) * inv_sqrt_hd.  Scaling q first is the same float
            # when inv_sqrt_hd is a power of two (head_dim 4, 16, 64, ...), and
            # saves a pass over the T x T scores.
            s = batched_linear(q * inv_sqrt_hd, k) + mask               # [B, KV, G*T, T]
            p = F.softmax(s, dim=-1)
            a = batched_linear(p, v.transpose(-2, -1))                 # p @ v
            a = a.view(B, KV, G, T, hd).permute(0, 3, 1, 2, 4).reshape(B, T, H * hd)
            a = rms_norm(a, b.attn_sub_norm, eps)                     # SubLN
            x = x + bitlinear(a, b.o_proj)
            h = rms_norm(x, b.post_attention_layernorm, eps)
            gate, up = bitlinear(h, b.gate_proj, b.up_proj).split(cfg["ffn"], dim=-1)
            r = F.relu(gate)
            m = r * r * up                                            # relu2_glu
            m = rms_norm(m, b.ffn_sub_norm, eps)                      # SubLN
            x = x + bitlinear(m, b.down_proj)
        hn = rms_norm(x, self.norm, eps)
        return linear(hn, eq) * escale       # tied LM head: (sum_i hn_i q_v[i]) * scale_v

    def projections(self):
        """(HF name, parameter) of every BitLinear matrix."""
        for i, b in enumerate(self.layers):
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                yield f"model.layers.{i}.self_attn.{n}.weight", getattr(b, n)
            for n in ("gate_proj", "up_proj", "down_proj"):
                yield f"model.layers.{i}.mlp.{n}.weight", getattr(b, n)

    def norms(self):
        for i, b in enumerate(self.layers):
            yield f"model.layers.{i}.input_layernorm.weight", b.input_layernorm
            yield f"model.layers.{i}.self_attn.attn_sub_norm.weight", b.attn_sub_norm
            yield f"model.layers.{i}.post_attention_layernorm.weight", b.post_attention_layernorm
            yield f"model.layers.{i}.mlp.ffn_sub_norm.weight", b.ffn_sub_norm
        yield "model.norm.weight", self.norm


def param_counts(model):
    tern = sum(p.numel() for _, p in model.projections())
    norm = sum(p.numel() for _, p in model.norms())
    emb = model.embed_tokens.numel()
    return tern, norm, emb


# --------------------------------------------------------------------------------------------
# 4. Corpus: Debian's fortunes, byte level, a deterministic split by entry
# --------------------------------------------------------------------------------------------

def read_fortunes(corpus_dir, exclude):
    """Every regular file of corpus_dir in sorted order, except the strfile
    indexes (*.dat), the *.u8 symlinks and `exclude`.  Returns [(file, [entry])],
    entries split at lines holding only '%'."""
    files = []
    for name in sorted(os.listdir(corpus_dir)):
        path = os.path.join(corpus_dir, name)
        if name.endswith(".dat") or name.endswith(".u8") or os.path.islink(path):
            continue
        if name in exclude or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        entries, cur = [], []
        for line in lines:
            if line == b"%":
                if cur:
                    entries.append(b"\n".join(cur) + b"\n")
                cur = []
            else:
                cur.append(line)
        if cur and any(cur):
            entries.append(b"\n".join(cur).rstrip(b"\n") + b"\n")
        files.append((name, entries))
    return files


def split_corpus(files, every):
    """Entries numbered 0, 1, ... across the files in order; entry i goes to
    validation if i % every == every - 1, else to training.  Each split is the
    concatenation of its entries, each followed by a '%' line (the fortune
    file format)."""
    train, val, i = [], [], 0
    for _, entries in files:
        for e in entries:
            (val if i % every == every - 1 else train).append(e + b"%\n")
            i += 1
    return b"".join(train), b"".join(val), i


def batch_at(data, offsets, T):
    idx = offsets[:, None] + torch.arange(T + 1)[None, :]
    chunk = data[idx].long()
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def eval_bpb(model, data, T, batch):
    """Bits per byte over the whole split: non-overlapping windows of T + 1
    bytes (stride T; each window predicts its last T bytes from its own prefix
    only, so the first bytes of a window see little context)."""
    n = data.numel()
    starts = list(range(0, n - 1, T))
    nll, count = 0.0, 0
    for i in range(0, len(starts), batch):
        group = starts[i:i + batch]
        full = [s for s in group if s + T + 1 <= n]
        if full:
            x, y = batch_at(data, torch.tensor(full), T)
            logits = model(x)
            nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                   reduction="sum").item()
            count += y.numel()
        for s in group:
            if s + T + 1 > n:  # the last, shorter window
                chunk = data[s:].long()[None]
                logits = model(chunk[:, :-1])
                nll += F.cross_entropy(logits[0], chunk[0, 1:], reduction="sum").item()
                count += chunk.shape[1] - 1
    return nll / count / math.log(2)


# --------------------------------------------------------------------------------------------
# 5. Training
# --------------------------------------------------------------------------------------------

class Log:
    def __init__(self):
        self.lines = []

    def __call__(self, msg=""):
        print(msg, flush=True)
        self.lines.append(msg)


def lr_at(step, total, args):
    """Linear warmup over args.warmup steps, then cosine from lr to lr * min_lr_frac."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, total - args.warmup))
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


RESUME_KEYS = ("config", "corpus", "exclude", "val_every", "seq", "batch", "eval_batch", "steps",
               "plan_after", "plan_margin", "lr", "min_lr_frac", "warmup", "weight_decay", "beta1",
               "beta2", "clip", "log_every", "eval_every", "save_every", "seed", "threads")


def train(model, train_data, val_data, args, log, hist, resume_path):
    """The training loop.  Every --save-every steps it saves everything the loop
    needs (model, AdamW, data-order generator, step, plan, history, log) to
    resume_path; with --resume it continues from there, and the result is the
    same as without the interruption (tested)."""
    T, B = args.seq, args.batch
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed + 1)  # data order
    n_off = train_data.numel() - T - 1
    budget = args.minutes * 60.0 if args.minutes > 0 else float("inf")
    if args.resume and os.path.exists(resume_path):
        r = torch.load(resume_path)
        for k in RESUME_KEYS:
            if r["args"][k] != getattr(args, k) and not (k == "steps" and args.steps is None):
                sys.exit(f"--resume {resume_path}: saved with --{k.replace('_', '-')} "
                         f"{r['args'][k]}, now {getattr(args, k)}")
        model.load_state_dict(r["model"])
        opt.load_state_dict(r["opt"])
        gen.set_state(r["gen"])
        step, total, eval_s = r["step"], r["total"], r["eval_s"]
        hist.update(r["hist"])
        log.lines = list(r["log"])
        t0 = time.time() - r["elapsed"]
        log(f"--- resumed from {resume_path} at step {step} ({r['elapsed']:.0f} s spent): "
            + shlex.join(sys.argv))
    else:
        step, total = 0, args.steps
        t0 = time.time()
        ev0 = time.time()
        bpb = eval_bpb(model, val_data, T, args.eval_batch)
        eval_s = time.time() - ev0
        hist["val"].append((0, bpb))
        log(f"step 0: val {bpb:.4f} bits/byte (eval {eval_s:.1f} s)")
    run_loss, run_n, tl = 0.0, 0, time.time()
    stopped = None
    while step < (total if total else 10 ** 12):
        if total is None and step == args.plan_after:
            # plan the step count from the measured step time: cosine over it
            st = (time.time() - t_plan) / (args.plan_after - 2)
            per = st + eval_s / args.eval_every
            left = (budget - (time.time() - t0)) * (1 - args.plan_margin) - eval_s
            total = max(step + 1, int(left / per) + step)
            log(f"measured {st * 1000:.0f} ms/step (+{eval_s:.1f} s per eval every "
                f"{args.eval_every} steps): planned {total} steps for the {args.minutes:g}-minute "
                f"budget less {args.plan_margin:.0%}")
        if step == 2:
            t_plan = time.time()
        lr = lr_at(step, total if total else 10 ** 9, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch_at(train_data, torch.randint(0, n_off, (B,), generator=gen), T)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        run_loss += loss.item()
        run_n += 1
        if step % args.log_every == 0 or step == total:
            dt = (time.time() - tl) / run_n
            hist["train"].append((step, run_loss / run_n))
            log(f"step {step}/{total}: train loss {run_loss / run_n:.4f} nats "
                f"({run_loss / run_n / math.log(2):.3f} bits/byte), lr {lr:.2e}, "
                f"{dt * 1000:.0f} ms/step, {time.time() - t0:.0f} s")
            run_loss, run_n, tl = 0.0, 0, time.time()
        if step % args.eval_every == 0 or step == total:
            ev0 = time.time()
            bpb = eval_bpb(model, val_data, T, args.eval_batch)
            hist["val"].append((step, bpb))
            log(f"step {step}: val {bpb:.4f} bits/byte (eval {time.time() - ev0:.1f} s)")
            tl += time.time() - ev0
        if args.save_every and step % args.save_every == 0 and step != total:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "gen": gen.get_state(), "step": step, "total": total, "eval_s": eval_s,
                        "elapsed": time.time() - t0, "hist": hist, "log": log.lines,
                        "args": {k: getattr(args, k) for k in RESUME_KEYS}}, resume_path)
        if step != total and (step == args.stop_after or time.time() - t0 > budget):
            stopped = step
            break
    if stopped is not None:
        why = (f"--stop-after {stopped}" if stopped == args.stop_after else
               f"the time budget of {args.minutes:g} minutes")
        log(f"stopped by {why} at step {stopped} of {total} planned")
        if hist["val"][-1][0] != stopped:
            bpb = eval_bpb(model, val_data, T, args.eval_batch)
            hist["val"].append((stopped, bpb))
            log(f"step {stopped}: val {bpb:.4f} bits/byte")
    return step, total, stopped, time.time() - t0, hist["val"][-1][1]


def reproducing_command(argv, total, stopped):
    """argv with the step plan made explicit (--steps, --stop-after) and no time
    budget: reruns the same steps whatever the machine's speed."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--steps", "--minutes", "--stop-after"):
            skip = True
            continue
        if a == "--resume":
            continue
        if a.split("=")[0] in ("--steps", "--minutes", "--stop-after"):
            continue
        out.append(a)
    out += ["--steps", str(total), "--minutes", "0"]
    if stopped is not None:
        out += ["--stop-after", str(stopped)]
    # run from the repository root (make train does): no machine-specific cd
    return "/usr/bin/python3 " + shlex.join(out)


TRAINING_ARGS = ("config", "out", "name", "source", "corpus", "exclude", "val_every", "seq",
                 "batch", "lr", "min_lr_frac", "warmup", "weight_decay", "beta1", "beta2", "clip",
                 "seed", "threads", "log_every", "eval_every", "eval_batch")


def explicit_argv(args):
    """The script and every argument that shapes the trained directory, given
    explicitly: COMMAND keeps reproducing it if a default changes later."""
    out = [sys.argv[0]]
    for k in TRAINING_ARGS:
        v = getattr(args, k)
        if v is not None:
            out += ["--" + k.replace("_", "-"), str(v)]
    return out


def with_out(command, out):
    """command with the value of its --out replaced by out."""
    words = shlex.split(command)
    for i, w in enumerate(words[:-1]):
        if w == "--out":
            words[i + 1] = out
    return shlex.join(words)


# --------------------------------------------------------------------------------------------
# 6. Export: safetensors (HF BitNet 2B4T layout), config.json, reference.json, self-check
# --------------------------------------------------------------------------------------------

DTYPES = {"I8": np.int8, "U8": np.uint8, "F32": np.float32, "F64": np.float64}


def write_safetensors(path, tensors):
    """tensors: [(name, dtype, numpy array)].  8-byte little-endian header
    length N, N bytes of JSON (space-padded so the data starts at a multiple of
    8), then the tensors' little-endian bytes back to back."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, dt, arr in tensors:
        b = np.ascontiguousarray(arr, dtype=np.dtype(DTYPES[dt]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out, spans = {}, []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")
        if end - b != int(np.prod(e["shape"], dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"{path}: tensor '{name}': {end - b} bytes for shape {e['shape']}")
        out[name] = np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"])
        spans.append((b, end))
    spans.sort()
    pos = 0
    for b, end in spans:
        if b != pos:
            raise ValueError(f"{path}: tensor data has a hole or overlap at byte {pos}")
        pos = end
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} bytes after the last tensor")
    return header, out


def pack_2b4t(codes):
    """[out, in] codes in {-1,0,1} -> uint8 [R = ceil(out/4), in]: byte[p][j]
    holds t[p + sR][j] + 1 in bits 2s+1:2s (s = 0..3); rows beyond out hold 1."""
    out, inp = codes.shape
    R = (out + 3) // 4
    t = np.zeros((4 * R, inp), np.int64)
    t[:out] = codes
    u = (t + 1).reshape(4, R, inp)
    return (u[0] | (u[1] << 2) | (u[2] << 4) | (u[3] << 6)).astype(np.uint8)


def unpack_2b4t(packed, out):
    R = packed.shape[0]
    u = np.stack([(packed >> (2 * s)) & 3 for s in range(4)]).reshape(4 * R, packed.shape[1])
    if (u == 3).any():
        raise ValueError("reserved 2-bit value 3 in a packed projection")
    return u[:out].astype(np.int8) - 1


def export_tensors(model):
    tensors = []
    q, scale = (a.detach() for a in i8rows(model.embed_tokens))
    tensors.append(("model.embed_tokens.weight", "I8", q.numpy().astype(np.int8)))
    tensors.append(("model.embed_tokens.weight_scale", "F32", scale.numpy().astype(np.float32)))
    norms = dict(model.norms())
    projs = dict(model.projections())
    for i in range(model.cfg["layers"]):
        pre = f"model.layers.{i}."
        order = ["input_layernorm.weight"] + \
                [f"self_attn.{p}_proj.weight" for p in "qkvo"] + \
                ["self_attn.attn_sub_norm.weight", "post_attention_layernorm.weight"] + \
                [f"mlp.{p}_proj.weight" for p in ("gate", "up", "down")] + \
                ["mlp.ffn_sub_norm.weight"]
        for n in order:
            if n.endswith("proj.weight"):
                beta, codes = ternarize(projs[pre + n])
                tensors.append((pre + n, "U8", pack_2b4t(codes.numpy().astype(np.int8))))
                tensors.append((pre + n + "_scale", "F64",
                                np.array([1.0 / float(beta.item())], np.float64)))
            else:
                tensors.append((pre + n, "F32", norms[pre + n].detach().numpy().astype(np.float32)))
    tensors.append(("model.norm.weight", "F32", model.norm.detach().numpy().astype(np.float32)))
    return tensors


def self_check(model, path):
    """Read the file back and check that every code and scale is the one the
    model computes with.  Raises on any difference."""
    _, t = read_safetensors(path)
    q, scale = (a.detach() for a in i8rows(model.embed_tokens))
    if not np.array_equal(t["model.embed_tokens.weight"], q.numpy().astype(np.int8)):
        raise AssertionError("self-check: embedding codes differ")
    if not np.array_equal(t["model.embed_tokens.weight_scale"], scale.numpy()):
        raise AssertionError("self-check: embedding scales differ")
    for name, w in model.projections():
        beta, codes = ternarize(w)
        got = unpack_2b4t(t[name], w.shape[0])
        if not np.array_equal(got, codes.numpy().astype(np.int8)):
            raise AssertionError(f"self-check: {name}: codes differ")
        ws = t[name + "_scale"]
        if ws.shape != (1,) or np.float32(1.0 / ws[0]) != beta.numpy():
            raise AssertionError(f"self-check: {name}_scale: (float)(1/{ws[0]!r}) != beta "
                                 f"{beta.item()!r}")
    for name, g in model.norms():
        if not np.array_equal(t[name], g.detach().numpy()):
            raise AssertionError(f"self-check: {name} differs")
    n = 2 + 2 * sum(1 for _ in model.projections()) + sum(1 for _ in model.norms())
    if len(t) != n:
        raise AssertionError(f"self-check: {len(t)} tensors in the file, expected {n}")
    return t


def c_expf():
    """glibc's expf (what tern's C calls) as a NumPy function, or None."""
    try:
        import ctypes
        import ctypes.util
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
        return np.vectorize(lambda v: np.float32(libm.expf(float(v))), otypes=[np.float32])
    except (OSError, AttributeError):
        return None


def c_order_logits(t, cfg, tokens, expf):
    """Last-position logits computed from the file alone, NumPy float32 in the
    order of models/tfm_float.c's loops: sequential float sums
    (np.add.accumulate), exact integer BitLinear sums, expf = glibc's.  Equal
    bit for bit to tern's C float reference (measured with glibc's expf;
    NumPy's own exp differs from it in the last bit now and then)."""
    f32 = np.float32
    d, H, KV, hd = cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps, n = f32(cfg["eps"]), len(tokens)

    def seqsum(a, axis=-1):
        return np.add.accumulate(a, axis=axis, dtype=f32).take(-1, axis=axis)

    def norm(x, g):
        rms = np.sqrt(seqsum(x * x) / f32(x.shape[-1]) + eps)
        return (x / rms[:, None] * g).astype(f32)

    def rnd(x):
        t_ = np.trunc(x)
        return t_ + np.sign(x) * (np.abs(x - t_) >= f32(0.5))

    def bitlinear(x, name):
        codes = unpack_2b4t(t[name], out_rows[name]).astype(np.int64)
        beta = f32(1.0 / t[name + "_scale"][0])
        gamma = np.maximum(np.abs(x).max(axis=1), f32(1e-5))
        scale = f32(127.0) / gamma
        xq = np.clip(rnd(x * scale[:, None]), -128, 127).astype(np.int64)
        acc = (xq @ codes.T).astype(f32)
        return (acc * beta * gamma[:, None] / f32(127.0)).astype(f32)

    qd, kvd = H * hd, KV * hd
    out_rows = {}
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        for nm, o in (("self_attn.q_proj", qd), ("self_attn.k_proj", kvd), ("self_attn.v_proj", kvd),
                      ("self_attn.o_proj", d), ("mlp.gate_proj", cfg["ffn"]),
                      ("mlp.up_proj", cfg["ffn"]), ("mlp.down_proj", d)):
            out_rows[p + nm + ".weight"] = o
    cos, sin = (a.numpy() for a in rope_tables(cfg, n))
    half = hd // 2
    eq, es = t["model.embed_tokens.weight"], t["model.embed_tokens.weight_scale"]
    x = (eq[tokens].astype(f32) * es[tokens][:, None]).astype(f32)
    inv = f32(1.0) / np.sqrt(f32(hd))
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        h = norm(x, t[p + "input_layernorm.weight"])
        q = bitlinear(h, p + "self_attn.q_proj.weight").reshape(n, H, hd)
        k = bitlinear(h, p + "self_attn.k_proj.weight").reshape(n, KV, hd)
        v = bitlinear(h, p + "self_attn.v_proj.weight").reshape(n, KV, hd)
        for r in (q, k):
            x0, x1 = r[..., :half].copy(), r[..., half:].copy()
            r[..., :half] = x0 * cos[:, None, :] - x1 * sin[:, None, :]
            r[..., half:] = x0 * sin[:, None, :] + x1 * cos[:, None, :]
        a = np.zeros((n, H, hd), f32)
        for tt in range(n):
            for hh in range(H):
                kv = hh // (H // KV)
                s = seqsum(q[tt, hh][None, :] * k[:tt + 1, kv], axis=1) * inv
                e = expf(s - s.max()).astype(f32)
                pj = e / seqsum(e, axis=0)
                a[tt, hh] = seqsum(pj[:, None] * v[:tt + 1, kv], axis=0)
        a = norm(a.reshape(n, qd), t[p + "self_attn.attn_sub_norm.weight"])
        x = (x + bitlinear(a, p + "self_attn.o_proj.weight")).astype(f32)
        h = norm(x, t[p + "post_attention_layernorm.weight"])
        up = bitlinear(h, p + "mlp.up_proj.weight")
        r = np.maximum(bitlinear(h, p + "mlp.gate_proj.weight"), f32(0))
        m = norm((r * r * up).astype(f32), t[p + "mlp.ffn_sub_norm.weight"])
        x = (x + bitlinear(m, p + "mlp.down_proj.weight")).astype(f32)
    hn = norm(x[-1:], t["model.norm.weight"])[0]
    return (seqsum(hn[None, :] * eq.astype(f32), axis=1) * es).astype(f32)


PROMPTS = [
    "The secret of life is ",
    "A man walked into a bar and ",
    "Never trust a computer that ",
    "The best thing about the future is ",
]


@torch.no_grad()
def greedy(model, prompt_tokens, n_new):
    """Greedy (argmax, lowest index on ties: np.argmax), full recompute per token."""
    toks = list(prompt_tokens)
    for _ in range(n_new):
        logits = model(torch.tensor([toks]))[0, -1].numpy()
        toks.append(int(np.argmax(logits)))
    return toks[len(prompt_tokens):]


def detok(tokens):
    """tern_tfm_detokenize_bytes: tokens outside 1..255 become '?'; bytes as latin-1."""
    return "".join(chr(t) if 1 <= t < 256 else "?" for t in tokens)


def hf_config(cfg, desc_text):
    return {
        "architectures": ["BitNetForCausalLM"],
        "model_type": "bitnet",
        "vocab_size": cfg["vocab"],
        "hidden_size": cfg["dim"],
        "intermediate_size": cfg["ffn"],
        "num_hidden_layers": cfg["layers"],
        "num_attention_heads": cfg["heads"],
        "num_key_value_heads": cfg["kv_heads"],
        "head_dim": cfg["head_dim"],
        "hidden_act": "relu2",
        "rms_norm_eps": float(np.float32(cfg["eps"])),  # tern's float eps, exactly
        "rope_theta": float(cfg["rope_theta"]),
        "tie_word_embeddings": True,
        "max_position_embeddings": cfg["max_seq"],
        "tern": {"format": 1, "model": desc_text},
    }


def plot(hist, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    if hist["train"]:
        s, l = zip(*hist["train"])
        ax.plot(s, [v / math.log(2) for v in l], label="train loss (bits/byte, running mean)",
                lw=1)
    if hist["val"]:
        s, v = zip(*hist["val"])
        ax.plot(s, v, "o-", label="validation bits/byte", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("bits per byte")
    ax.set_ylim(bottom=max(0.0, min([v for _, v in hist["val"]] + [8]) - 0.5), top=min(
        8.5, max([v for _, v in hist["val"]] + [1]) + 0.2))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def export(model, state, out_dir, log):
    """Write model.safetensors, config.json, reference.json, loss.png, COMMAND."""
    cfg = model.cfg
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    st_path = os.path.join(out_dir, "model.safetensors")
    tensors = export_tensors(model)
    write_safetensors(st_path, tensors)
    t = self_check(model, st_path)
    log(f"wrote {st_path} ({os.path.getsize(st_path)} bytes, {len(tensors)} tensors); "
        "self-check: codes and scales read back equal the model's")
    for name, dt, arr in tensors:
        log(f"  {name} {dt} {list(arr.shape)}")
    desc = state["description"]
    if parse_tern(desc, "exported description") != {**cfg, "name": state["name"],
                                                     "source": state["source"]}:
        raise AssertionError("exported description does not parse to the trained config")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(cfg, desc), f, indent=2)
        f.write("\n")
    refs, worst = [], 0.0
    expf = c_expf()
    for prompt in PROMPTS:
        toks = list(prompt.encode())
        with torch.no_grad():
            logits = model(torch.tensor([toks]))[0, -1].numpy().astype(np.float32)
        c_logits = c_order_logits(t, cfg, toks, expf or np.exp)
        diff = float(np.abs(c_logits - logits).max())
        worst = max(worst, diff)
        cont = greedy(model, toks, 64)
        refs.append({"prompt": prompt, "tokens": toks,
                     "logits": [float(v) for v in logits],
                     "logits_c_order": [float(v) for v in c_logits],
                     "greedy_tokens": cont, "greedy": detok(cont)})
        log(f"  prompt {prompt!r} -> {detok(cont)!r}  (max |torch - C order| = {diff:.2e})")
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"model": state["name"],
                   "note": "logits: float32 logits of the last prompt position from the PyTorch "
                           "float reference with exactly the exported codes and scales (summation "
                           "order of BLAS/oneDNN); logits_c_order: the same from the file alone in "
                           "the loop order of models/tfm_float.c with glibc's expf (bit-equal to "
                           "tern's C float reference when 'expf' is 'glibc'); greedy: 64 bytes "
                           "from the PyTorch model, argmax with the lowest index on ties, tokens "
                           "outside 1..255 shown as '?'",
                   "expf": "glibc" if expf else "numpy",
                   "max_abs_diff_torch_vs_c_order": worst,
                   "prompts": refs}, f, indent=1)
        f.write("\n")
    log(f"reference.json: {len(PROMPTS)} prompts; largest |logit difference| between PyTorch "
        f"and the C-order copy: {worst:.3e}")
    plot(state["hist"], os.path.join(out_dir, "loss.png"), f"{state['name']}: QAT on fortunes")
    with open(os.path.join(out_dir, "COMMAND"), "w") as f:
        f.write(state["command"] + "\n")


# --------------------------------------------------------------------------------------------
# 7. main
# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--config", default="models/train/configs/tiny.tern",
                    help="tern model description (INI [model])")
    ap.add_argument("--out", default="models/trained/tiny", help="export directory")
    ap.add_argument("--ckpt", default=None,
                    help="where to save the PyTorch state (default /tmp/tern-train/NAME.pt)")
    ap.add_argument("--export-only", metavar="CKPT", default=None,
                    help="skip training: export the saved PyTorch state CKPT to --out")
    ap.add_argument("--name", default=None, help="name in the exported description "
                    "(default: config name + '-fortunes')")
    ap.add_argument("--source", default="tern models/train/train.py QAT on Debian fortunes "
                    "(byte level)", help="source line of the exported description")
    ap.add_argument("--corpus", default="/usr/share/games/fortunes")
    ap.add_argument("--exclude", default="ascii-art",
                    help="comma-separated corpus files to leave out")
    ap.add_argument("--val-every", type=int, default=20,
                    help="entry i goes to validation if i %% N == N - 1")
    ap.add_argument("--seq", type=int, default=256, help="training sequence length (<= max_seq)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None,
                    help="planned steps (cosine over them); default: plan from --minutes")
    ap.add_argument("--minutes", type=float, default=30.0,
                    help="wall-clock budget of the training loop (0 = none); training stops "
                    "when it is used up")
    ap.add_argument("--save-every", type=int, default=500,
                    help="save the training state every N steps (a multiple of --log-every; "
                    "0 = never) to CKPT.resume")
    ap.add_argument("--resume", action="store_true",
                    help="continue from CKPT.resume if it exists (same arguments)")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="end training after this step (the schedule still spans --steps)")
    ap.add_argument("--plan-after", type=int, default=30,
                    help="without --steps: steps timed before planning")
    ap.add_argument("--plan-margin", type=float, default=0.1,
                    help="without --steps: fraction of the budget left unplanned (other jobs "
                    "on the machine may slow the steps down)")
    ap.add_argument("--lr", type=float, default=8e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1,
                    help="the cosine ends at lr times this")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1,
                    help="AdamW weight decay of the matrices (norm gains: none)")
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0 = off)")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1234, help="initialisation seed; data order "
                    "uses seed + 1")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 leaves a core free)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = Log()

    if args.export_only:
        state = torch.load(args.export_only)
        cfg = parse_tern(state["config_text"], args.export_only + ":config_text")
        model = TernLM(cfg)
        model.load_state_dict(state["model"])
        log.lines = list(state["log"])
        log(f"\n--- export only: {' '.join(sys.argv)}")
        state["command"] = with_out(state["command"], args.out)
        export(model, state, args.out, log)
        with open(os.path.join(args.out, "train.log"), "w") as f:
            f.write("\n".join(log.lines) + "\n")
        return

    with open(args.config) as f:
        config_text = f.read()
    cfg = parse_tern(config_text, args.config)
    if not 1 <= args.seq <= cfg["max_seq"]:
        sys.exit(f"--seq {args.seq}: expected 1..max_seq = {cfg['max_seq']}")
    if cfg["vocab"] != 256:
        sys.exit(f"{args.config}: field 'vocab' is {cfg['vocab']}: the corpus is byte level, "
                 "expected 256")
    name = args.name or cfg["name"] + "-fortunes"
    desc = renamed_description(config_text, name, args.source)
    parse_tern(desc, "exported description")  # name and source must be valid
    ckpt = args.ckpt or f"/tmp/tern-train/{name}.pt"
    resume_path = ckpt + ".resume"
    if args.save_every % args.log_every:
        sys.exit(f"--save-every {args.save_every}: expected a multiple of --log-every "
                 f"{args.log_every}")
    os.makedirs(os.path.dirname(ckpt) or ".", exist_ok=True)
    command = f"cd {shlex.quote(os.getcwd())} && /usr/bin/python3 " + shlex.join(sys.argv)

    log(f"command: {command}")
    log(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
        f"threads {args.threads}")
    log(f"seeds: init {args.seed}, data order {args.seed + 1}")
    log(f"arguments: {vars(args)}")
    log(f"model description ({args.config}):\n{config_text.rstrip()}")

    files = read_fortunes(args.corpus, set(args.exclude.split(",")) if args.exclude else set())
    train_bytes, val_bytes, n_entries = split_corpus(files, args.val_every)
    log(f"corpus {args.corpus}: {len(files)} files, {n_entries} entries "
        f"(excluded: {args.exclude or 'none'}; *.dat indexes and *.u8 symlinks skipped)")
    for fname, entries in files:
        log(f"  {fname}: {len(entries)} entries, {sum(len(e) for e in entries)} bytes")
    log(f"split: entries numbered across the files in sorted order; entry i -> validation if "
        f"i % {args.val_every} == {args.val_every - 1}; each entry followed by a '%' line")
    log(f"train {len(train_bytes)} bytes, validation {len(val_bytes)} bytes")
    train_data = torch.frombuffer(bytearray(train_bytes), dtype=torch.uint8)
    val_data = torch.frombuffer(bytearray(val_bytes), dtype=torch.uint8)

    model = TernLM(cfg)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    tern_p, norm_p, emb_p = param_counts(model)
    log(f"parameters: ternary {tern_p}, norm {norm_p}, embedding {emb_p}, total "
        f"{tern_p + norm_p + emb_p} (non-emb {tern_p + norm_p})")
    log(f"batch {args.batch} x {args.seq} bytes = {args.batch * args.seq} tokens/step")

    hist = {"train": [], "val": []}
    steps, total, stopped, elapsed, bpb = train(model, train_data, val_data, args, log, hist,
                                                resume_path)
    log(f"trained {steps} steps in {elapsed:.0f} s ({elapsed / 60:.1f} min, "
        f"{elapsed / max(1, steps) * 1000:.0f} ms/step incl. evals); "
        f"final validation {bpb:.4f} bits/byte")
    command = reproducing_command(explicit_argv(args), total, stopped)
    log(f"reproducing command (written to COMMAND): {command}")
    state = {"config_text": config_text, "model": model.state_dict(), "hist": hist,
             "name": name, "source": args.source, "description": desc, "command": command,
             "steps": steps, "log": None}
    os.makedirs(os.path.dirname(ckpt) or ".", exist_ok=True)
    log(f"PyTorch state: {ckpt}")
    state["log"] = list(log.lines)
    torch.save(state, ckpt)
    if os.path.exists(resume_path):
        os.remove(resume_path)
    export(model, state, args.out, log)
    with open(os.path.join(args.out, "train.log"), "w") as f:
        f.write("\n".join(log.lines) + "\n")
    log(f"done: {args.out}")


if __name__ == "__main__":
    main()
