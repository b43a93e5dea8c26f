"""Tests of models/train/train.py (the numerics against C, the description
parser, the 2B4T packing, the safetensors writer/reader, the model against a
NumPy copy of tern's C loop order).  Run from the repository root:

    /usr/bin/python3 -m unittest models/train/test_train.py

A few seconds, one thread."""
import ctypes
import ctypes.util
import json
import os
import re
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models/train/configs/tiny.tern")
torch.set_num_threads(1)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def libm():
    m = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    m.roundf.restype, m.roundf.argtypes = ctypes.c_float, [ctypes.c_float]
    return m


def small_cfg():
    """tiny's structure at a smaller size (fast tests)."""
    text = read(TINY)
    text = text.replace("dim = 64", "dim = 32").replace("ffn = 192", "ffn = 40")
    return T.parse_tern(text, "small-test")


class Numerics(unittest.TestCase):
    def test_round_is_c_roundf(self):
        m = libm()
        edge = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 0.0, -0.0,
                8388607.5, -8388607.5, 16777217.0, 1e30, -1e30, 127.49999, 127.5, -128.5]
        rnd = np.random.RandomState(0)
        vals = np.float32(edge + list(rnd.randn(20000) * 4) + list(np.arange(-600, 600) / 4))
        got = T.round_half_away(torch.from_numpy(vals)).numpy()
        want = np.float32([m.roundf(float(v)) for v in vals])
        np.testing.assert_array_equal(got, want)

    def test_ternarize_as_tern_ternarize(self):
        w = torch.tensor([[0.3, -0.1, 0.0], [0.15, -0.45, 0.9]])
        beta, codes = T.ternarize(w)
        b = np.float32(np.abs(w.numpy().astype(np.float64)).sum() / 6)
        self.assertEqual(beta.item(), float(b))
        # w / beta = 0.9/b ... roundf, clamp to [-1, 1]
        want = np.clip(np.float32([T.round_half_away(torch.tensor(v / b)).item()
                                   for v in w.numpy().ravel()]), -1, 1).reshape(2, 3)
        np.testing.assert_array_equal(codes.numpy(), want)
        beta0, codes0 = T.ternarize(torch.zeros(4, 4))
        self.assertEqual(beta0.item(), float(np.float32(1e-5)))
        self.assertFalse(codes0.any())

    def test_i8rows_as_tern(self):
        e = torch.tensor([[0.0, 0.0], [1.0, -0.5], [-2.54, 0.01]])
        q, scale = T.i8rows(e)
        self.assertEqual(scale[0].item(), 1.0)
        self.assertEqual(scale[1].item(), float(np.float32(1.0) / np.float32(127)))
        np.testing.assert_array_equal(q.detach().numpy()[1], [127, -64])  # -63.5 -> -64

    def test_bitlinear_exact_and_ste(self):
        g = torch.Generator().manual_seed(3)
        x = torch.randn(5, 24, generator=g, requires_grad=True)
        w = torch.randn(12, 24, generator=g, requires_grad=True)
        y = T.bitlinear(x, w)
        # forward: tern's loop on the same codes
        beta, codes = T.ternarize(w)
        xn, c = x.detach().numpy(), codes.numpy().astype(np.int64)
        for r in range(5):
            gamma = max(np.float32(np.abs(xn[r]).max()), np.float32(1e-5))
            xq = np.clip(T.round_half_away(torch.from_numpy(xn[r] * (np.float32(127) / gamma)))
                         .numpy(), -128, 127).astype(np.int64)
            acc = (c @ xq).astype(np.float32)
            want = acc * beta.numpy() * gamma / np.float32(127)
            np.testing.assert_array_equal(y[r].detach().numpy(), want)
        # backward straight through: dL/dx = g . W_dq, dL/dW = g^T . x_dq
        gy = torch.randn(5, 12, generator=g)
        y.backward(gy)
        w_dq = codes * beta
        np.testing.assert_allclose(x.grad.numpy(), (gy @ w_dq).numpy(), rtol=1e-5, atol=1e-6)
        gamma = x.detach().abs().amax(-1, keepdim=True)
        x_dq = T.round_half_away(x.detach() * (127.0 / gamma)) / (127.0 / gamma)
        np.testing.assert_allclose(w.grad.numpy(), (gy.t() @ x_dq).numpy(), rtol=1e-5, atol=1e-6)


class Description(unittest.TestCase):
    def test_tiny_is_the_c_preset(self):
        """configs/tiny.tern is the text of the tiny preset in models/tfm_presets.c."""
        src = read(os.path.join(ROOT, "models/tfm_presets.c"))
        m = re.search(r'P\("tiny",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', src)
        self.assertIsNotNone(m)
        body = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        body = body.encode().decode("unicode_escape")
        self.assertEqual(read(TINY), "[model]\nname = tiny\n" + body)

    def test_tiny_fields(self):
        c = T.parse_tern(read(TINY), "tiny")
        self.assertEqual((c["vocab"], c["dim"], c["layers"], c["heads"], c["kv_heads"],
                          c["head_dim"], c["ffn"], c["max_seq"]), (256, 64, 4, 4, 2, 16, 192, 256))
        m = T.TernLM(c)
        self.assertEqual(sum(T.param_counts(m)), 214592)  # docs/MODELS.md: 214.6K

    def test_refuses_what_it_does_not_implement(self):
        base = read(TINY)
        for old, new, field in [("ffn_type = relu2_glu", "ffn_type = swiglu", "ffn_type"),
                                ("subln = true", "subln = false", "subln"),
                                ("norm = rmsnorm", "norm = layernorm", "norm"),
                                ("tie_embeddings = true", "tie_embeddings = false",
                                 "tie_embeddings"),
                                ("seed = 1", "seed = 1\nwindow = 64", "window"),
                                ("seed = 1", "seed = 1\nrepeat = 2", "repeat")]:
            with self.assertRaisesRegex(T.ConfigError, f"field '{field}'"):
                T.parse_tern(base.replace(old, new), "x.tern")

    def test_errors_name_the_line_and_field(self):
        base = read(TINY)
        cases = [(base.replace("dim = 64", "dim = abc"), r"x.tern:5: field 'dim' is 'abc'"),
                 (base + "dim = 64\n", "field 'dim' is given twice"),
                 (base.replace("ffn = 192\n", ""), "field 'ffn' is missing"),
                 (base + "colour = red\n", "unknown field 'colour'"),
                 (base.replace("[model]", "[x]"), r"section '\[x\]' is unknown"),
                 (base.replace("kv_heads = 2", "kv_heads = 3"), "expected a divisor of heads")]
        for text, msg in cases:
            with self.assertRaisesRegex(T.ConfigError, msg):
                T.parse_tern(text, "x.tern")

    def test_comments(self):
        text = "# c\n; c\n" + read(TINY).replace("dim = 64", "dim = 64 ; width")
        self.assertEqual(T.parse_tern(text, "x")["dim"], 64)

    def test_renamed_description(self):
        text = T.renamed_description(read(TINY), "tiny-x", "trained here")
        c = T.parse_tern(text, "x")
        self.assertEqual((c["name"], c["source"]), ("tiny-x", "trained here"))
        self.assertEqual({**T.parse_tern(read(TINY), "t"), "name": "tiny-x",
                          "source": "trained here"}, c)


class Command(unittest.TestCase):
    def test_reproducing_command(self):
        argv = ["models/train/train.py", "--minutes", "30", "--lr=1e-2", "--steps=5", "--out", "a b"]
        c = T.reproducing_command(argv, 100, None)
        self.assertTrue(c.endswith("/usr/bin/python3 models/train/train.py --lr=1e-2 --out 'a b' "
                                   "--steps 100 --minutes 0"), c)
        c = T.reproducing_command(argv + ["--stop-after", "7"], 100, 90)
        self.assertTrue(c.endswith("--steps 100 --minutes 0 --stop-after 90"), c)


class Export(unittest.TestCase):
    def test_pack_2b4t_layout(self):
        rnd = np.random.RandomState(1)
        for out in (1, 4, 7, 12, 13):
            codes = rnd.randint(-1, 2, size=(out, 5)).astype(np.int8)
            p = T.pack_2b4t(codes)
            R = (out + 3) // 4
            self.assertEqual(p.shape, (R, 5))
            self.assertEqual(p.dtype, np.uint8)
            # HF transformers' unpack_weights (BitNet): row block i = bits 2i..2i+1
            hf = np.concatenate([((p >> (2 * i)) & 3) for i in range(4)], 0).astype(np.int8) - 1
            np.testing.assert_array_equal(hf[:out], codes)
            self.assertFalse(hf[out:].any())  # padding rows are weight 0 (stored 1)
            np.testing.assert_array_equal(T.unpack_2b4t(p, out), codes)

    def test_safetensors_roundtrip(self):
        tensors = [("a", "I8", np.int8([[1, -2, 3]])), ("b", "F32", np.float32([1.5, -2.25])),
                   ("c", "U8", np.uint8([[255], [0]])), ("d", "F64", np.float64([1 / 3]))]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            T.write_safetensors(path, tensors)
            raw = read(path, "rb")
            n = int.from_bytes(raw[:8], "little")
            self.assertEqual((8 + n) % 8, 0)
            header = json.loads(raw[8:8 + n])
            self.assertEqual(header["__metadata__"], {"format": "pt"})
            self.assertEqual(header["a"], {"dtype": "I8", "shape": [1, 3], "data_offsets": [0, 3]})
            _, t = T.read_safetensors(path)
            for name, _, arr in tensors:
                np.testing.assert_array_equal(t[name], arr)
                self.assertEqual(t[name].dtype, arr.dtype)

    def test_export_self_check_and_c_order(self):
        """A random small model: the exported file reads back to the model's codes
        and the PyTorch logits agree with the NumPy copy of tern's loops."""
        cfg = small_cfg()
        torch.manual_seed(5)
        m = T.TernLM(cfg)
        m.init_weights(torch.Generator().manual_seed(5))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            T.write_safetensors(path, T.export_tensors(m))
            t = T.self_check(m, path)
            for name, _ in m.projections():
                beta = T.ternarize(dict(m.projections())[name])[0].item()
                self.assertEqual(float(np.float32(1.0 / t[name + "_scale"][0])), beta)
            toks = list(b"Hello, world. ")
            with torch.no_grad():
                want = m(torch.tensor([toks]))[0, -1].numpy()
            got = T.c_order_logits(t, cfg, toks, T.c_expf() or np.exp)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)

    def test_greedy_prefix_consistency(self):
        """Causality: the logits of a prefix do not change when tokens follow."""
        cfg = small_cfg()
        m = T.TernLM(cfg)
        m.init_weights(torch.Generator().manual_seed(6))
        toks = torch.tensor([list(b"The cat sat on the mat.")])
        with torch.no_grad():
            full = m(toks)[0]
            part = m(toks[:, :10])[0]
        np.testing.assert_allclose(full[:10].numpy(), part.numpy(), rtol=0, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
