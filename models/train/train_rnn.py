#!/usr/bin/python3
"""Quantisation-aware training of tern's recurrent LMs (Hawk, Griffin, MLGRU)
on Debian's fortunes, exported as checkpoints tern can load.

Read top to bottom:
  1. the model description (tern's recurrent INI `[model]` format,
     docs/MODELS.md "Recurrent models (issue 4)", models/rnn_config.c)
  2. the numerics that are not already in train.py, each a copy of a line of
     models/rnn_float.c (the rest is imported from train.py: roundf, absmean
     ternarisation, BitLinear, int8 rows, RMSNorm, RoPE tables)
  3. the model: models/rnn_float.c tern_rnn_prefill, batched over sequences
     and parallel over positions except for the elementwise linear recurrence
     h_t = a_t h_(t-1) + u_t, which runs position by position as in C
  4. training (AdamW, warmup + cosine, a wall-clock budget) on train.py's
     corpus and split, validation bits/byte with train.py's eval_bpb
  5. export: model.safetensors (tern's recurrent names, BitNet 2B4T packing),
     config.json, reference.json, train.log, loss.png, COMMAND and a self-check
     that reads the file back
  6. main

Conventions and where they come from in tern's C: models/train/README_rnn.md.
Python is only for training; the C kit never needs it.
"""
import argparse
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# read-only use of the transformer trainer's helpers (models/train/train.py)
from train import (RoundSTE, Log, batch_at, bitlinear, detok, eval_bpb, greedy,  # noqa: E402
                   i8rows, linear, lr_at, pack_2b4t, plot, read_fortunes, read_safetensors,
                   renamed_description, reproducing_command, rms_norm, rope, rope_tables,
                   split_corpus, ternarize, unpack_2b4t, write_safetensors)

# --------------------------------------------------------------------------------------------
# 1. Model description (models/rnn_config.c: fields, ranges, per-arch defaults, checks)
# --------------------------------------------------------------------------------------------

MAX_SEQ = 1 << 24
# field -> (kind, lo, hi).  Ranges as models/rnn_config.c.
FIELDS = {
    "name": ("name", None, None),
    "source": ("source", None, None),
    "arch": ("enum", ("hawk", "griffin", "mlgru"), None),
    "vocab": ("int", 2, 1 << 20),
    "dim": ("int", 1, 65536),
    "layers": ("int", 1, 1024),
    "heads": ("int", 1, 1024),
    "lru_width": ("int", 1, 1 << 18),
    "lru_block": ("int", 1, 1 << 18),
    "conv_width": ("int", 1, 16),
    "ffn": ("int", 1, 1 << 18),
    "window": ("int", 1, MAX_SEQ),
    "pattern": ("pattern", None, None),
    "tie_embeddings": ("bool", None, None),
    "max_seq": ("int", 1, MAX_SEQ),
    "eps": ("eps", None, None),
    "seed": ("u64", None, None),
}
REQUIRED = ("name", "arch", "vocab", "dim", "layers")
PATTERN_LETTERS = {"hawk": "r", "griffin": "ra", "mlgru": "m"}
PATTERN_EXPECT = {"hawk": "r (hawk: recurrent blocks only)",
                  "griffin": "r (recurrent) and a (local attention) for griffin",
                  "mlgru": "m (mlgru)"}


class ConfigError(Exception):
    pass


def parse_value(key, value, where):
    kind, lo, hi = FIELDS[key]
    bad = f"{where}: field '{key}' is '{value[:40]}', expected "
    if kind == "name":
        if not (0 < len(value) < 64 and all(c.isascii() and (c.isalnum() or c in "._-")
                                            for c in value)):
            raise ConfigError(bad + "1..63 characters of [A-Za-z0-9._-]")
        return value
    if kind == "source":
        if len(value) > 160 or ";" in value or any(not " " <= c <= "~" for c in value):
            raise ConfigError(bad + "at most 160 printable characters without ';'")
        return value
    if kind == "enum":
        if value not in lo:
            raise ConfigError(bad + ", ".join(lo[:-1]) + " or " + lo[-1])
        return value
    if kind == "int":
        try:
            x = int(value, 10)
        except ValueError:
            x = None
        if x is None or not lo <= x <= hi:
            raise ConfigError(bad + f"an integer in {lo}..{hi}")
        return x
    if kind == "pattern":
        if not (1 <= len(value) <= 16 and all(c in "ram" for c in value)):
            raise ConfigError(bad + "1..16 letters of r (recurrent), a (local attention) or m "
                              "(mlgru)")
        return value
    if kind == "bool":
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ConfigError(bad + "true or false")
    if kind == "eps":  # strtof, (0, 1]; kept as the float32 value C stores
        try:
            x = float(np.float32(float(value)))
        except ValueError:
            x = None
        if x is None or not 0.0 < x <= 1.0:
            raise ConfigError(bad + "a number in (0, 1]")
        return x
    if kind == "u64":
        try:
            x = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            x = None
        if x is None or not 0 <= x < 1 << 64:
            raise ConfigError(bad + "an unsigned 64-bit integer (decimal or 0x)")
        return x
    raise AssertionError(kind)


def parse_rnn(text, what):
    """Parse a tern recurrent model description: inih line rules as train.py's
    parse_tern, fields / defaults / checks as models/rnn_config.c."""
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
    have = set(cfg)
    c = {"source": "", "heads": 1, "conv_width": 4, "window": 1024, "max_seq": 65536,
         "eps": float(np.float32(1e-6)), "seed": 1, **cfg}
    mlgru = c["arch"] == "mlgru"
    # per-arch defaults (tern_rnn_parse_string)
    if "lru_width" not in have:
        c["lru_width"] = c["dim"] if mlgru else max(c["dim"] * 4 // 3 // c["heads"] * c["heads"],
                                                    c["heads"])
    if "lru_block" not in have:
        if mlgru:
            c["lru_block"] = c["lru_width"]
        elif c["lru_width"] % c["heads"]:
            raise ConfigError(f"{what}: field 'heads' is {c['heads']}, expected a divisor of "
                              f"lru_width = {c['lru_width']} (or give lru_block)")
        else:
            c["lru_block"] = c["lru_width"] // c["heads"]
    if "ffn" not in have:
        c["ffn"] = min(256 * ((c["dim"] * 8 // 3 + 255) // 256) if mlgru else 3 * c["dim"], 1 << 18)
    if "pattern" not in have:
        c["pattern"] = {"hawk": "r", "griffin": "rra", "mlgru": "m"}[c["arch"]]
    if "tie_embeddings" not in have:
        c["tie_embeddings"] = not mlgru
    check_rnn(c, what)
    return c


def check_rnn(c, what):
    """tern_rnn_check: the shape checks, messages naming the field."""
    if not 1 <= c["lru_block"] <= c["lru_width"]:
        raise ConfigError(f"{what}: field 'lru_block' is {c['lru_block']}, expected an integer in "
                          f"1..{c['lru_width']}")
    if c["lru_width"] % c["lru_block"]:
        raise ConfigError(f"{what}: field 'lru_block' is {c['lru_block']}, expected a divisor of "
                          f"lru_width = {c['lru_width']}")
    if c["arch"] == "mlgru" and c["lru_width"] % c["heads"]:
        raise ConfigError(f"{what}: field 'heads' is {c['heads']}, expected a divisor of "
                          f"lru_width = {c['lru_width']}")
    if not all(ch in PATTERN_LETTERS[c["arch"]] for ch in c["pattern"]):
        raise ConfigError(f"{what}: field 'pattern' is '{c['pattern']}', expected 1..16 letters "
                          f"of {PATTERN_EXPECT[c['arch']]}")
    if "a" in c["pattern"]:
        if c["dim"] % c["heads"]:
            raise ConfigError(f"{what}: field 'heads' is {c['heads']}, expected a divisor of dim "
                              f"= {c['dim']} (attention head size dim / heads)")
        if (c["dim"] // c["heads"]) % 2:
            raise ConfigError(f"{what}: field 'heads' is {c['heads']}, expected dim / heads (= "
                              f"{c['dim'] // c['heads']}) to be even (RoPE pairs)")


def block_kind(cfg, b):
    return cfg["pattern"][b % len(cfg["pattern"])]


# --------------------------------------------------------------------------------------------
# 2. Numerics of models/rnn_float.c (float32; the shared ones come from train.py)
# --------------------------------------------------------------------------------------------

EVAL_T = 256       # validation windows (train.py's protocol: its --seq default), whatever --seq is
RGLRU_C = 8.0      # TERN_RNN_RGLRU_C
LAMBDA_MIN = 0.5   # training keeps Lambda above the integer reference's bound 0.434 (below)


def sigmoid(x):
    """sigmoidf_: 1.0f / (1.0f + expf(-x))."""
    return 1.0 / (1.0 + torch.exp(-x))


def silu(x):
    """x / (1.0f + expf(-x)) (MLGRU candidate and the mlgru MLP)."""
    return x / (1.0 + torch.exp(-x))


def gelu_tanh(x):
    """gelu_tanh: 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))),
    C's left-to-right evaluation order."""
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def softplus(x):
    """tern_rnn_softplus: x > 20 -> x; x < -20 -> expf(x); else log1pf(expf(x))."""
    return torch.where(x > 20.0, x, torch.where(x < -20.0, torch.exp(x), torch.log1p(torch.exp(x))))


class SqrtBounded(torch.autograd.Function):
    """sqrtf forward; derivative bounded by 1000 (RecurrentGemma's
    SqrtBoundDerivative), so a -> 1 does not blow up the gradient."""

    @staticmethod
    def forward(ctx, x):
        y = torch.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2.0 * y).clamp_min(1.0 / 1000.0)


class LinearScan(torch.autograd.Function):
    """h_t = a_t * h_(t-1) + u_t over dim 1 of [B, T, W], h_(-1) = 0: the
    recurrence of tern_rnn_rglru_step (h = a*h + mult*(i*x)) and of the
    MLGRU (h = f*h + (1-f)*c), one multiply and one add per element in
    position order, as C.  Backward: the reverse scan
    g_u[t] = g_h[t] + a[t+1] g_u[t+1], g_a[t] = g_u[t] h[t-1]."""

    @staticmethod
    def forward(ctx, a, u):
        at, ut = a.transpose(0, 1).contiguous(), u.transpose(0, 1).contiguous()
        h = torch.empty_like(ut)
        prev = torch.zeros_like(ut[0])
        for t in range(ut.shape[0]):
            prev = at[t] * prev + ut[t]
            h[t] = prev
        ctx.save_for_backward(at, h)
        return h.transpose(0, 1)

    @staticmethod
    def backward(ctx, gh):
        at, h = ctx.saved_tensors
        ght = gh.transpose(0, 1).contiguous()
        gu = torch.empty_like(ght)
        T = ght.shape[0]
        gu[T - 1] = ght[T - 1]
        for t in range(T - 2, -1, -1):
            gu[t] = ght[t] + at[t + 1] * gu[t + 1]
        hprev = torch.cat([torch.zeros_like(h[:1]), h[:-1]], 0)
        return (gu * hprev).transpose(0, 1), gu.transpose(0, 1)


def conv1d_causal(x, w, b):
    """mix_recurrent's depthwise Conv1D: acc = 0; acc += w[k] * x[t-cw+1+k] for
    k = 0 .. cw-1 (oldest first; zeros before position 0), then acc + b.
    x [B, T, W], w [cw, W], b [W]."""
    cw, T = w.shape[0], x.shape[1]
    xp = F.pad(x, (0, 0, cw - 1, 0))
    acc = None
    for k in range(cw):
        term = w[k] * xp[:, k:k + T]
        acc = term if acc is None else acc + term
    return acc + b


def bitlinear_bd(x, *ws):
    """bitlinear_bd: ONE per-token quantisation of the whole row (one gamma over
    all blocks), then block h maps x[h*S .. h*S+S) to y[h*S .. h*S+S):
    acc[h*S + n] = sum_k xq[h*S + k] * W_h[k][n] (exact), y = acc * beta * gamma / 127.
    ws: master weights [blocks, S (k), S (n)], ONE absmean beta per matrix over
    all blocks (tern_tblockdiag).  STE as train.py's bitlinear."""
    gamma = x.detach().abs().amax(dim=-1, keepdim=True).clamp_min(1e-5)
    xq = RoundSTE.apply(x * (127.0 / gamma), -128, 127)
    shape, W = x.shape, x.shape[-1]
    xs = xq.reshape(-1, W, 1)
    out = []
    for w in ws:
        nb, S, _ = w.shape
        beta = ternarize(w)[0]
        codes = RoundSTE.apply(w / beta, -1, 1)                  # [h, k, n]
        wt = codes.permute(0, 2, 1).reshape(nb * S, S, 1)        # out h*S+n, in k of group h
        acc = F.conv1d(xs, wt, groups=nb).reshape(shape)
        out.append(acc * beta * gamma / 127.0)
    return out


# --------------------------------------------------------------------------------------------
# 3. The model: models/rnn_float.c tern_rnn_prefill, batched
# --------------------------------------------------------------------------------------------

def P(*shape):
    return nn.Parameter(torch.empty(*shape))


class RnnBlock(nn.Module):
    """One residual block: x += mixer(RMSNorm(x)); x += MLP(RMSNorm(x)).
    Linear weights are [out, in] as nn.Linear (tern's K -> N matrix transposed)."""

    def __init__(self, cfg, kind):
        super().__init__()
        d, w, f = cfg["dim"], cfg["lru_width"], cfg["ffn"]
        self.kind = kind
        self.mix_norm = nn.Parameter(torch.ones(d))
        self.mlp_norm = nn.Parameter(torch.ones(d))
        if kind == "r":
            nb, S = w // cfg["lru_block"], cfg["lru_block"]
            self.linear_x, self.linear_y, self.linear_out = P(w, d), P(w, d), P(d, w)
            self.conv_w = nn.Parameter(torch.empty(cfg["conv_width"], w))  # [tap][channel]
            self.conv_b = nn.Parameter(torch.zeros(w))
            self.gate_a, self.gate_x = P(nb, S, S), P(nb, S, S)          # [h][k][n]
            self.b_a, self.b_x = nn.Parameter(torch.zeros(w)), nn.Parameter(torch.zeros(w))
            self.lam = nn.Parameter(torch.empty(w))
        elif kind == "a":
            hd = d // cfg["heads"]
            self.q_proj, self.k_proj, self.v_proj, self.o_proj = P(d, d), P(hd, d), P(hd, d), P(d, d)
        else:
            self.f_proj, self.c_proj, self.g_proj, self.o_proj = P(w, d), P(w, d), P(w, d), P(d, w)
        self.gate_proj, self.up_proj, self.down_proj = P(f, d), P(f, d), P(d, f)


class TernRNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Parameter(torch.empty(cfg["vocab"], cfg["dim"]))
        if not cfg["tie_embeddings"]:
            self.lm_head = nn.Parameter(torch.empty(cfg["vocab"], cfg["dim"]))
        self.layers = nn.ModuleList(RnnBlock(cfg, block_kind(cfg, b)) for b in range(cfg["layers"]))
        self.norm = nn.Parameter(torch.ones(cfg["dim"]))
        self._rope = (0, None, None)

    def init_weights(self, gen):
        """Embedding (and untied LM head) N(0, 1/dim) as tern's generator;
        ternary masters N(0, 1/in), the residual outputs (linear_out, o_proj,
        down_proj) further by 1/sqrt(2 layers) (GPT-2); gate blocks N(0, 1/size);
        Conv1D taps N(0, 1/cw), biases 0; Lambda as models/rnn_weights.c gen_lambda
        (a^8 uniform in [0.9, 0.999], Lambda = logit(a)); norm gains 1."""
        cfg = self.cfg
        L = cfg["layers"]
        with torch.no_grad():
            self.embed_tokens.normal_(0.0, 1.0 / math.sqrt(cfg["dim"]), generator=gen)
            if not cfg["tie_embeddings"]:
                self.lm_head.normal_(0.0, 1.0 / math.sqrt(cfg["dim"]), generator=gen)
            for b in self.layers:
                for name, p in b.named_parameters():
                    if name in ("mix_norm", "mlp_norm", "conv_b", "b_a", "b_x"):
                        continue
                    if name == "lam":
                        ac = 0.9 + 0.099 * torch.rand(p.shape, generator=gen, dtype=torch.float64)
                        a = ac ** (1.0 / RGLRU_C)
                        p.copy_((torch.log(a) - torch.log1p(-a)).float())
                    elif name == "conv_w":
                        p.normal_(0.0, 1.0 / math.sqrt(p.shape[0]), generator=gen)
                    elif name in ("gate_a", "gate_x"):
                        p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]), generator=gen)
                    else:
                        std = 1.0 / math.sqrt(p.shape[1])
                        if name in ("linear_out", "o_proj", "down_proj"):
                            std /= math.sqrt(2 * L)
                        p.normal_(0.0, std, generator=gen)

    def rope_tab(self, T):
        n, cos, sin = self._rope
        if T > n:
            n = max(T, 2 * n, 512)
            cos, sin = rope_tables({"head_dim": self.cfg["dim"] // self.cfg["heads"],
                                    "rope_theta": 10000.0}, n)
            self._rope = (n, cos, sin)
        return cos[:T], sin[:T]

    # ---- temporal mixers (tern_rnn_prefill's switch) -------------------------------------
    def mix_recurrent(self, b, h):
        """mix_recurrent: x = W_x h, y = GeLU(W_y h) (one quantisation of h);
        xc = Conv1D(x); ga, gx = BD_a xc, BD_x xc (one quantisation of xc);
        r = sigma(ga + b_a), i = sigma(gx + b_x), log a = -8 r softplus(-Lambda),
        a = expf(log a), h = a h + sqrtf(fmaxf(1 - a a, 0)) (i x); out = W_out(h y)."""
        w = self.cfg["lru_width"]
        xb, yb = bitlinear(h, b.linear_x, b.linear_y).split([w, w], dim=-1)
        yb = gelu_tanh(yb)
        xc = conv1d_causal(xb, b.conv_w, b.conv_b)
        ga, gx = bitlinear_bd(xc, b.gate_a, b.gate_x)
        r = sigmoid(ga + b.b_a)
        i = sigmoid(gx + b.b_x)
        log_a = -RGLRU_C * r * softplus(-b.lam)
        a = torch.exp(log_a)
        mult = SqrtBounded.apply(torch.clamp_min(1.0 - a * a, 0.0))
        hs = LinearScan.apply(a, mult * (i * xc))
        return bitlinear(hs * yb, b.linear_out)

    def mix_attention(self, b, h):
        """mix_attention: q = W_q h (heads x hd), k = W_k h, v = W_v h (one KV
        head), rotate-half RoPE at the absolute position, scores (q . k) / sqrtf(hd)
        over positions t - window < j <= t, softmax, P.V, out = W_o a."""
        cfg = self.cfg
        B, T, d = h.shape
        H, hd = cfg["heads"], d // cfg["heads"]
        q, k, v = bitlinear(h, b.q_proj, b.k_proj, b.v_proj).split([d, hd, hd], dim=-1)
        cos, sin = self.rope_tab(T)
        q = rope(q.view(B, T, H, hd).transpose(1, 2), cos, sin)      # [B, H, T, hd]
        k = rope(k, cos, sin)                                         # [B, T, hd]
        inv = float(np.float32(1.0) / np.sqrt(np.float32(hd)))        # 1.0f / sqrtf(hd)
        # banded: query t sees the W = min(window, T) slots t-W+1 .. t (slot w <-> j = t-W+1+w);
        # slots before position 0 are masked (C's loop starts at j0 = max(0, t-window+1))
        W = min(cfg["window"], T)
        kw = F.pad(k, (0, 0, W - 1, 0)).unfold(1, W, 1)                # [B, T, hd, W]
        vw = F.pad(v, (0, 0, W - 1, 0)).unfold(1, W, 1)
        s = (q[..., None] * kw[:, None]).sum(-2) * inv                # [B, H, T, W]
        j = torch.arange(T)[:, None] - (W - 1) + torch.arange(W)[None, :]
        mask = torch.zeros(T, W).masked_fill(j < 0, float("-inf"))
        p = F.softmax(s + mask, dim=-1)
        a = (p[:, :, :, None, :] * vw[:, None]).sum(-1)               # [B, H, T, hd]
        return bitlinear(a.transpose(1, 2).reshape(B, T, d), b.o_proj)

    def mix_mlgru(self, b, h):
        """mix_mlgru: f, c, g = W_f h, W_c h, W_g h (one quantisation of h);
        f = sigma(f), c = SiLU(c), h = f h + (1 - f) c, g = sigma(g) h, out = W_o g."""
        w = self.cfg["lru_width"]
        f, c, g = bitlinear(h, b.f_proj, b.c_proj, b.g_proj).split([w, w, w], dim=-1)
        fs = sigmoid(f)
        hs = LinearScan.apply(fs, (1.0 - fs) * silu(c))
        return bitlinear(sigmoid(g) * hs, b.o_proj)

    def mlp(self, b, h):
        """mlp: down(GeLU(gate h) * up h) (hawk/griffin) or down(SiLU(gate h) * up h) (mlgru)."""
        gate, up = bitlinear(h, b.gate_proj, b.up_proj).split(self.cfg["ffn"], dim=-1)
        m = silu(gate) * up if self.cfg["arch"] == "mlgru" else gelu_tanh(gate) * up
        return bitlinear(m, b.down_proj)

    def forward(self, tokens):
        cfg, eps = self.cfg, self.cfg["eps"]
        eq, escale = i8rows(self.embed_tokens)       # int8 rows as tern stores them
        x = (eq * escale[:, None])[tokens]           # e[j] * s
        for b in self.layers:
            h = rms_norm(x, b.mix_norm, eps)
            if b.kind == "r":
                o = self.mix_recurrent(b, h)
            elif b.kind == "a":
                o = self.mix_attention(b, h)
            else:
                o = self.mix_mlgru(b, h)
            x = x + o
            x = x + self.mlp(b, rms_norm(x, b.mlp_norm, eps))
        hn = rms_norm(x, self.norm, eps)
        wq, ws = (eq, escale) if cfg["tie_embeddings"] else i8rows(self.lm_head)
        return linear(hn, wq) * ws                   # (sum_j hn_j q_v[j]) * scale_v

    def clamp_(self):
        """After each optimiser step: Lambda >= LAMBDA_MIN.  tern_rnn_quantize
        (models/rnn_int.c) refuses 8 softplus(-Lambda) >= 4 (Lambda <= 0.434)."""
        with torch.no_grad():
            for b in self.layers:
                if b.kind == "r":
                    b.lam.clamp_(min=LAMBDA_MIN)

    # ---- parameter lists -------------------------------------------------------------------
    def ternary(self):
        """(export name, parameter, is block-diagonal) of every ternary matrix, file order."""
        names = {"r": [("rec.linear_x", "linear_x"), ("rec.linear_y", "linear_y"),
                       ("rec.linear_out", "linear_out"), ("rec.gate_a", "gate_a"),
                       ("rec.gate_x", "gate_x")],
                 "a": [("attn.q_proj", "q_proj"), ("attn.k_proj", "k_proj"),
                       ("attn.v_proj", "v_proj"), ("attn.o_proj", "o_proj")],
                 "m": [("mlgru.f_proj", "f_proj"), ("mlgru.c_proj", "c_proj"),
                       ("mlgru.g_proj", "g_proj"), ("mlgru.o_proj", "o_proj")]}
        for i, b in enumerate(self.layers):
            for ext, attr in names[b.kind] + [("mlp.gate_proj", "gate_proj"),
                                              ("mlp.up_proj", "up_proj"),
                                              ("mlp.down_proj", "down_proj")]:
                yield f"model.layers.{i}.{ext}.weight", getattr(b, attr), attr.startswith("gate_") \
                    and attr != "gate_proj"

    def floats(self):
        """(export name, float32 vector as stored) of every float tensor."""
        for i, b in enumerate(self.layers):
            p = f"model.layers.{i}."
            yield p + "mix_norm.weight", b.mix_norm
            yield p + "mlp_norm.weight", b.mlp_norm
            if b.kind == "r":
                yield p + "rec.conv_1d.weight", b.conv_w.reshape(-1)   # [cw][w] flattened
                yield p + "rec.conv_1d.bias", b.conv_b
                yield p + "rec.gate_a.bias", b.b_a
                yield p + "rec.gate_x.bias", b.b_x
                yield p + "rec.lambda", b.lam
        yield "model.norm.weight", self.norm


def param_counts(model):
    tern = sum(p.numel() for _, p, _ in model.ternary())
    other = sum(p.numel() for _, p in model.floats())
    emb = model.embed_tokens.numel()
    head = 0 if model.cfg["tie_embeddings"] else model.lm_head.numel()
    return tern, other, emb, head


# --------------------------------------------------------------------------------------------
# 4. Training (train.py's loop with parameter groups for the recurrent parameters and the
#    Lambda bound; corpus, split, batches and eval_bpb are train.py's)
# --------------------------------------------------------------------------------------------

def train(model, train_data, val_data, args, log, hist):
    T, B = args.seq, args.batch
    decay = [p for _, p, _ in model.ternary()] + [model.embed_tokens]
    if not model.cfg["tie_embeddings"]:
        decay.append(model.lm_head)
    ids = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed + 1)  # data order
    n_off = train_data.numel() - T - 1
    budget = args.minutes * 60.0 if args.minutes > 0 else float("inf")
    total = args.steps
    t0 = time.time()
    ev0 = time.time()
    bpb = eval_bpb(model, val_data, EVAL_T, args.eval_batch)
    eval_s = time.time() - ev0
    hist["val"].append((0, bpb))
    log(f"step 0: val {bpb:.4f} bits/byte (eval {eval_s:.1f} s)")
    run_loss, run_n, tl = 0.0, 0, time.time()
    stopped, step, t_plan = None, 0, time.time()
    while step < (total if total else 10 ** 12):
        if total is None and step == args.plan_after:
            st = (time.time() - t_plan) / (args.plan_after - 2)
            per = st + eval_s / args.eval_every
            # leave the export (greedy continuations, self-check) inside the budget too
            total = max(step + 1, int((budget - (time.time() - t0) - eval_s - args.reserve)
                                      / per) + step)
            log(f"measured {st * 1000:.0f} ms/step (+{eval_s:.1f} s per eval every "
                f"{args.eval_every} steps): planned {total} steps for the {args.minutes:g}-minute "
                f"budget ({args.reserve:g} s kept for the final eval and export)")
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
        model.clamp_()
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
            bpb = eval_bpb(model, val_data, EVAL_T, args.eval_batch)
            hist["val"].append((step, bpb))
            log(f"step {step}: val {bpb:.4f} bits/byte (eval {time.time() - ev0:.1f} s)")
            tl += time.time() - ev0
        if step != total and (step == args.stop_after or time.time() - t0 > budget - args.reserve):
            stopped = step
            break
    if stopped is not None:
        why = (f"--stop-after {stopped}" if stopped == args.stop_after else
               f"the time budget of {args.minutes:g} minutes")
        log(f"stopped by {why} at step {stopped} of {total} planned")
        if hist["val"][-1][0] != stopped:
            bpb = eval_bpb(model, val_data, EVAL_T, args.eval_batch)
            hist["val"].append((stopped, bpb))
            log(f"step {stopped}: val {bpb:.4f} bits/byte")
    return step, total, stopped, time.time() - t0, hist["val"][-1][1]


# --------------------------------------------------------------------------------------------
# 5. Export
# --------------------------------------------------------------------------------------------

def gate_matrix(codes):
    """Block-diagonal codes [h][k][n] -> the stored linear M [out = S, in = blocks*S],
    M[n][h*S + k] = W_h[k][n] (tern's codes of block h at element offset h*S*S,
    seen as a K = blocks*S by N = S tern_tpacked)."""
    nb, S, _ = codes.shape
    return codes.permute(2, 0, 1).reshape(S, nb * S)


def ternary_export(w, bd):
    """(beta float32 tensor, codes as a [out, in] int8 array)."""
    beta, codes = ternarize(w)
    codes = gate_matrix(codes) if bd else codes
    return beta, codes.numpy().astype(np.int8)


def export_tensors(model):
    cfg = model.cfg
    tensors = []
    q, scale = (a.detach() for a in i8rows(model.embed_tokens))
    tensors.append(("model.embed_tokens.weight", "I8", q.numpy().astype(np.int8)))
    tensors.append(("model.embed_tokens.weight_scale", "F32", scale.numpy().astype(np.float32)))
    if not cfg["tie_embeddings"]:
        q, scale = (a.detach() for a in i8rows(model.lm_head))
        tensors.append(("lm_head.weight", "I8", q.numpy().astype(np.int8)))
        tensors.append(("lm_head.weight_scale", "F32", scale.numpy().astype(np.float32)))
    floats = {n: v for n, v in model.floats()}
    terns = {n: (p, bd) for n, p, bd in model.ternary()}
    order = {"r": ["rec.linear_x", "rec.linear_y", "rec.linear_out", "rec.conv_1d.weight",
                   "rec.conv_1d.bias", "rec.gate_a", "rec.gate_x", "rec.gate_a.bias",
                   "rec.gate_x.bias", "rec.lambda"],
             "a": ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj"],
             "m": ["mlgru.f_proj", "mlgru.c_proj", "mlgru.g_proj", "mlgru.o_proj"]}
    for i, b in enumerate(model.layers):
        pre = f"model.layers.{i}."
        for n in ["mix_norm.weight", "mlp_norm.weight"] + order[b.kind] + \
                ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]:
            if pre + n + ".weight" in terns:
                name = pre + n + ".weight"
                beta, codes = ternary_export(*terns[name])
                tensors.append((name, "U8", pack_2b4t(codes)))
                tensors.append((name + "_scale", "F64",
                                np.array([1.0 / float(beta.item())], np.float64)))
            else:
                tensors.append((pre + n, "F32", floats[pre + n].detach().numpy().astype(np.float32)))
    tensors.append(("model.norm.weight", "F32", model.norm.detach().numpy().astype(np.float32)))
    return tensors


def self_check(model, path):
    """Read the file back; every code, (float)(1/scale), int8 row, row scale and
    float vector must equal what the model computes with.  Raises otherwise."""
    _, t = read_safetensors(path)
    cfg = model.cfg
    rows = [("model.embed_tokens", model.embed_tokens)]
    if not cfg["tie_embeddings"]:
        rows.append(("lm_head", model.lm_head))
    elif "lm_head.weight" in t:
        raise AssertionError("self-check: lm_head.weight written for a tied model")
    for name, e in rows:
        q, scale = (a.detach() for a in i8rows(e))
        if not np.array_equal(t[name + ".weight"], q.numpy().astype(np.int8)):
            raise AssertionError(f"self-check: {name} codes differ")
        if not np.array_equal(t[name + ".weight_scale"], scale.numpy()):
            raise AssertionError(f"self-check: {name} scales differ")
    n = 2 * len(rows)
    for name, w, bd in model.ternary():
        beta, codes = ternarize(w)
        if bd:   # check the layout against tern_tblockdiag's definition element by element
            nb, S, _ = codes.shape
            M = unpack_2b4t(t[name], S)
            if M.shape != (S, nb * S):
                raise AssertionError(f"self-check: {name}: shape {M.shape}")
            c = codes.numpy()
            for h in range(nb):
                for k in range(S):
                    if not np.array_equal(M[:, h * S + k], c[h, k, :]):
                        raise AssertionError(f"self-check: {name}: block {h} row {k} differs")
        else:
            if t[name].shape != ((w.shape[0] + 3) // 4, w.shape[1]):
                raise AssertionError(f"self-check: {name}: packed shape {t[name].shape}")
            if not np.array_equal(unpack_2b4t(t[name], w.shape[0]), codes.numpy().astype(np.int8)):
                raise AssertionError(f"self-check: {name}: codes differ")
        ws = t[name + "_scale"]
        if ws.shape != (1,) or np.float32(1.0 / ws[0]) != beta.numpy():
            raise AssertionError(f"self-check: {name}_scale: (float)(1/{ws[0]!r}) != beta "
                                 f"{beta.item()!r}")
        n += 2
    for name, v in model.floats():
        if t[name].ndim != 1 or not np.array_equal(t[name], v.detach().numpy()):
            raise AssertionError(f"self-check: {name} differs")
        n += 1
    if len(t) != n:
        raise AssertionError(f"self-check: {len(t)} tensors in the file, expected {n}")
    return t


PROMPTS = [
    "The secret of life is ",
    "A man walked into a bar and ",
    "Never trust a computer that ",
    "The best thing about the future is ",
]


def hf_config(cfg, desc_text):
    return {
        "architectures": ["TernRecurrentForCausalLM"],
        "model_type": "tern-recurrent",
        "vocab_size": cfg["vocab"],
        "hidden_size": cfg["dim"],
        "num_hidden_layers": cfg["layers"],
        "tie_word_embeddings": bool(cfg["tie_embeddings"]),
        "tern": {"format": 1, "family": "recurrent", "model": desc_text},
    }


def export(model, state, out_dir, log):
    """Write model.safetensors, config.json, reference.json, loss.png, COMMAND."""
    cfg = model.cfg
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    st_path = os.path.join(out_dir, "model.safetensors")
    tensors = export_tensors(model)
    write_safetensors(st_path, tensors)
    self_check(model, st_path)
    log(f"wrote {st_path} ({os.path.getsize(st_path)} bytes, {len(tensors)} tensors); "
        "self-check: codes, scales, int8 rows and float vectors read back equal the model's")
    for name, dt, arr in tensors:
        log(f"  {name} {dt} {list(arr.shape)}")
    desc = state["description"]
    if parse_rnn(desc, "exported description") != {**cfg, "name": state["name"],
                                                    "source": state["source"]}:
        raise AssertionError("exported description does not parse to the trained config")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(cfg, desc), f, indent=2)
        f.write("\n")
    refs = []
    for prompt in PROMPTS:
        toks = list(prompt.encode())
        with torch.no_grad():
            logits = model(torch.tensor([toks]))[0, -1].numpy().astype(np.float32)
        cont = greedy(model, toks, 64)
        refs.append({"prompt": prompt, "tokens": toks, "logits": [float(v) for v in logits],
                     "greedy_tokens": cont, "greedy": detok(cont)})
        log(f"  prompt {prompt!r} -> {detok(cont)!r}")
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"model": state["name"],
                   "note": "logits: float32 logits of the last prompt position from the PyTorch "
                           "float reference (models/rnn_float.c's math) with exactly the exported "
                           "codes and scales, state zero at the start; greedy: 64 bytes from the "
                           "PyTorch model, argmax with the lowest index on ties, tokens outside "
                           "1..255 shown as '?'; valid_bpb: bits per byte of the float model on "
                           "the validation split (train.py's eval_bpb: windows of 256)",
                   "valid_bpb": state["valid_bpb"],
                   "prompts": refs}, f, indent=1)
        f.write("\n")
    log(f"reference.json: {len(PROMPTS)} prompts, valid_bpb {state['valid_bpb']:.4f}")
    plot(state["hist"], os.path.join(out_dir, "loss.png"), f"{state['name']}: QAT on fortunes")
    with open(os.path.join(out_dir, "COMMAND"), "w") as f:
        f.write(state["command"] + "\n")


# --------------------------------------------------------------------------------------------
# 6. main
# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--config", default="models/train/configs/hawk-tiny.tern",
                    help="tern recurrent model description (INI [model])")
    ap.add_argument("--out", default=None, help="export directory (default models/trained/NAME)")
    ap.add_argument("--ckpt", default=None,
                    help="where to save the PyTorch state (default /tmp/tern-train/NAME.pt)")
    ap.add_argument("--export-only", metavar="CKPT", default=None,
                    help="skip training: export the saved PyTorch state CKPT to --out")
    ap.add_argument("--source", default=None, help="source line of the exported description "
                    "(default 'tern models/train/train_rnn.py QAT on Debian fortunes (ARCH)')")
    ap.add_argument("--corpus", default="/usr/share/games/fortunes")
    ap.add_argument("--exclude", default="ascii-art",
                    help="comma-separated corpus files to leave out")
    ap.add_argument("--val-every", type=int, default=20,
                    help="entry i goes to validation if i %% N == N - 1")
    ap.add_argument("--seq", type=int, default=256, help="training sequence length (<= max_seq); "
                    "validation always uses windows of 256 as train.py")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--eval-batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=None,
                    help="planned steps (cosine over them); default: plan from --minutes")
    ap.add_argument("--minutes", type=float, default=20.0,
                    help="wall-clock budget of training + final eval + export (0 = none)")
    ap.add_argument("--reserve", type=float, default=45.0,
                    help="seconds of the budget kept for the final eval and the export")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="end training after this step (the schedule still spans --steps)")
    ap.add_argument("--plan-after", type=int, default=50,
                    help="without --steps: steps timed before planning")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1,
                    help="AdamW weight decay of the ternary matrices and the embedding / LM head "
                    "(norm gains, Conv1D, gate biases, Lambda: none)")
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0 = off)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1234, help="initialisation seed; data order "
                    "uses seed + 1")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = Log()

    if args.export_only:
        state = torch.load(args.export_only)
        cfg = parse_rnn(state["config_text"], args.export_only + ":config_text")
        model = TernRNN(cfg)
        model.load_state_dict(state["model"])
        log.lines = list(state["log"])
        log(f"\n--- export only: {' '.join(sys.argv)}")
        out = args.out or os.path.join("models/trained", state["name"])
        export(model, state, out, log)
        with open(os.path.join(out, "train.log"), "w") as f:
            f.write("\n".join(log.lines) + "\n")
        return

    t_start = time.time()
    with open(args.config) as f:
        config_text = f.read()
    cfg = parse_rnn(config_text, args.config)
    if cfg["vocab"] != 256:
        sys.exit(f"{args.config}: field 'vocab' is {cfg['vocab']}: the corpus is byte level, "
                 "models/train/train_rnn.py implements only vocab = 256")
    if not 1 <= args.seq <= cfg["max_seq"] or EVAL_T > cfg["max_seq"]:
        sys.exit(f"--seq {args.seq} / validation windows of {EVAL_T}: expected at most max_seq = "
                 f"{cfg['max_seq']}")
    name = cfg["name"]
    source = args.source or f"tern models/train/train_rnn.py QAT on Debian fortunes ({cfg['arch']})"
    desc = renamed_description(config_text, name, source)
    parse_rnn(desc, "exported description")  # name and source must be valid
    out = args.out or os.path.join("models/trained", name)
    ckpt = args.ckpt or f"/tmp/tern-train/{name}.pt"
    # run from the repository root (make train does): no machine-specific cd
    command = "/usr/bin/python3 " + shlex.join(sys.argv)

    log(f"command: {command}")
    log(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
        f"threads {args.threads}")
    log(f"seeds: init {args.seed}, data order {args.seed + 1}")
    log(f"arguments: {vars(args)}")
    log(f"model description ({args.config}):\n{config_text.rstrip()}")
    log(f"resolved: {cfg}")

    files = read_fortunes(args.corpus, set(args.exclude.split(",")) if args.exclude else set())
    train_bytes, val_bytes, n_entries = split_corpus(files, args.val_every)
    log(f"corpus {args.corpus}: {len(files)} files, {n_entries} entries "
        f"(excluded: {args.exclude or 'none'}; *.dat indexes and *.u8 symlinks skipped)")
    log(f"split (train.py's): entry i -> validation if i % {args.val_every} == "
        f"{args.val_every - 1}; train {len(train_bytes)} bytes, validation {len(val_bytes)} bytes")
    train_data = torch.frombuffer(bytearray(train_bytes), dtype=torch.uint8)
    val_data = torch.frombuffer(bytearray(val_bytes), dtype=torch.uint8)

    model = TernRNN(cfg)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    tern_p, other_p, emb_p, head_p = param_counts(model)
    log(f"parameters: ternary {tern_p}, float {other_p}, embedding {emb_p}, lm_head {head_p}, "
        f"total {tern_p + other_p + emb_p + head_p} (non-emb {tern_p + other_p})")
    log(f"batch {args.batch} x {args.seq} bytes = {args.batch * args.seq} tokens/step")

    hist = {"train": [], "val": []}
    steps, total, stopped, elapsed, bpb = train(model, train_data, val_data, args, log, hist)
    log(f"trained {steps} steps in {elapsed:.0f} s ({elapsed / 60:.1f} min, "
        f"{elapsed / max(1, steps) * 1000:.0f} ms/step incl. evals); "
        f"final validation {bpb:.4f} bits/byte")
    command = reproducing_command(sys.argv, total, stopped)
    log(f"reproducing command (written to COMMAND): {command}")
    state = {"config_text": config_text, "model": model.state_dict(), "hist": hist,
             "name": name, "source": source, "description": desc, "command": command,
             "steps": steps, "valid_bpb": bpb, "log": None}
    os.makedirs(os.path.dirname(ckpt) or ".", exist_ok=True)
    log(f"PyTorch state: {ckpt}")
    state["log"] = list(log.lines)
    torch.save(state, ckpt)
    export(model, state, out, log)
    log(f"done: {out} ({time.time() - t_start:.0f} s from start to end of export)")
    with open(os.path.join(out, "train.log"), "w") as f:
        f.write("\n".join(log.lines) + "\n")


if __name__ == "__main__":
    main()
