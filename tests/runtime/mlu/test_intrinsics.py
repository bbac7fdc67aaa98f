"""Unit tests of the BANG intrinsics (runtime/mlu/intrinsics.py) against hand-computed values and
BANG.md's rules.  Each intrinsic is called directly with a small context that provides the
contract's ctx API (view / fail / charge / profile) over flat NRAM and WRAM byte arrays; the same
intrinsics running inside real .mlu kernels are tested in test_handwritten.py."""

from __future__ import annotations

import numpy as np
import pytest

from tfc.runtime.mlu.intrinsics import (INTRINSICS, TENSOR_STARTUP_CYCLES,
                                        VECTOR_STARTUP_CYCLES)
from tfc.runtime.mlu.memory import MLUError
from tfc.runtime.mlu.profiles import PROFILES

F16, F32 = np.float16, np.float32
V = VECTOR_STARTUP_CYCLES


class Ptr:
    def __init__(self, space, addr, dtype):
        self.space, self.addr = space, addr
        self.dtype = None if dtype is None else np.dtype(dtype)

    def __add__(self, k):
        return Ptr(self.space, self.addr + k * self.dtype.itemsize, self.dtype)


class Ctx:
    """The contract's IntrinsicContext over flat memories (sizes from the profile)."""

    def __init__(self, profile="mlu270"):
        self.profile = PROFILES[profile]
        self.mem = {"nram": np.zeros(self.profile.nram_usable, np.uint8),
                    "wram": np.zeros(self.profile.wram_bytes, np.uint8),
                    "gdram": np.zeros(1 << 16, np.uint8)}
        self.charges = []

    def view(self, p, count, dtype=None):
        dt = np.dtype(dtype or p.dtype)
        buf = self.mem[p.space]
        nbytes = count * dt.itemsize
        if p.addr < 0 or p.addr + nbytes > len(buf):
            raise MLUError("k", "t.mlu", 1, f"out-of-bounds {p.space.upper()} access",
                           f"{nbytes} bytes at {p.addr:#x}")
        return buf[p.addr:p.addr + nbytes].view(dt)

    def fail(self, rule, detail):
        raise MLUError("k", "t.mlu", 1, rule, detail)

    def charge(self, queue, cycles):
        self.charges.append((queue, cycles))

    # helpers
    def put(self, addr, array, space="nram"):
        a = np.ascontiguousarray(array)
        self.mem[space][addr:addr + a.nbytes] = a.view(np.uint8).reshape(-1)
        return Ptr(space, addr, a.dtype)

    def ptr(self, addr, dtype, space="nram"):
        return Ptr(space, addr, dtype)

    def get(self, p, count):
        return self.view(p, count).copy()

    def call(self, name, *args):
        return INTRINSICS[name](self, args)

    @property
    def cycles(self):
        return sum(c for q, c in self.charges if q == "compute")


def rules(excinfo):
    return excinfo.value.rule


@pytest.fixture(params=["mlu270", "mlu370"])
def ctx(request):
    return Ctx(request.param)


# ---------------------------------------------------------------------------------------------
# elementwise

def test_add_sub_mul_f32(ctx):
    a = np.arange(32, dtype=F32)
    b = np.full(32, 0.5, F32)
    pa, pb = ctx.put(0, a), ctx.put(128, b)
    dst = ctx.ptr(256, F32)
    ctx.call("__bang_add", dst, pa, pb, 32)
    assert ctx.get(dst, 32).tolist() == [i + 0.5 for i in range(32)]
    ctx.call("__bang_sub", dst, pa, pb, 32)
    assert ctx.get(dst, 32).tolist() == [i - 0.5 for i in range(32)]
    ctx.call("__bang_mul", dst, pa, pb, 32)
    assert ctx.get(dst, 32).tolist() == [i * 0.5 for i in range(32)]
    # dst may alias a source
    ctx.call("__bang_add", pa, pa, pa, 32)
    assert ctx.get(pa, 32).tolist() == [2.0 * i for i in range(32)]


def test_f16_rounds_each_result(ctx):
    a = np.full(64, 2048, F16)
    b = np.full(64, 1, F16)
    dst = ctx.ptr(512, F16)
    ctx.call("__bang_add", dst, ctx.put(0, a), ctx.put(128, b), 64)
    assert (ctx.get(dst, 64) == 2048).all()          # 2049 is not a half: ties to even -> 2048
    b3 = np.full(64, 3, F16)
    ctx.call("__bang_add", dst, ctx.put(0, a), ctx.put(128, b3), 64)
    assert (ctx.get(dst, 64) == 2052).all()          # 2051 -> 2052 (even mantissa)


def test_saturation_mlu270_only():
    for prof, expect16, expect32 in (("mlu270", 65504.0, np.finfo(F32).max), ("mlu370", np.inf, np.inf)):
        c = Ctx(prof)
        a = c.put(0, np.full(64, 60000, F16))
        d = c.ptr(256, F16)
        c.call("__bang_add", d, a, a, 64)
        assert (c.get(d, 64) == expect16).all()
        c.call("__bang_sub_scalar", d, a, 70000.0, 64)  # scalar rounds to half first: inf on 370
        got = c.get(d, 64)
        assert (got == -expect16).all() if prof == "mlu270" else np.isneginf(got).all()
        x = c.put(0, np.full(32, 3e38, F32))
        d32 = c.ptr(256, F32)
        c.call("__bang_mul_scalar", d32, x, 10.0, 32)
        assert (c.get(d32, 32) == expect32).all()


def test_integer_saturates_on_mlu270_wraps_on_mlu370():
    for prof in ("mlu270", "mlu370"):
        c = Ctx(prof)
        a = c.put(0, np.full(64, 30000, np.int16))
        b = c.put(128, np.full(64, 2768, np.int16))
        d = c.ptr(256, np.int16)
        c.call("__bang_add", d, a, b, 64)
        want = 32767 if prof == "mlu270" else np.int16(-32768)
        assert (c.get(d, 64) == want).all()


def test_scalar_ops_round_the_value_to_half(ctx):
    a = ctx.put(0, np.ones(64, F16))
    d = ctx.ptr(128, F16)
    ctx.call("__bang_mul_scalar", d, a, 0.1, 64)
    assert (ctx.get(d, 64) == F16(0.1)).all()
    ctx.call("__bang_add_scalar", d, a, 2.5, 64)
    assert (ctx.get(d, 64) == 3.5).all()
    ctx.call("__bang_sub_const", d, a, 2.0, 64)      # the old name
    assert (ctx.get(d, 64) == -1.0).all()


def test_cycle_ops_broadcast_the_segment(ctx):
    a = ctx.put(0, np.arange(128, dtype=F32))
    seg = ctx.put(512, np.arange(32, dtype=F32) * 100)
    d = ctx.ptr(1024, F32)
    ctx.call("__bang_cycle_add", d, a, seg, 128, 32)
    want = np.arange(128) + (np.arange(128) % 32) * 100
    assert ctx.get(d, 128).tolist() == want.tolist()
    ctx.call("__bang_cycle_mul", d, a, seg, 128, 32)
    assert ctx.get(d, 128).tolist() == (np.arange(128) * (np.arange(128) % 32) * 100).tolist()
    ctx.call("__bang_cycle_sub", d, a, seg, 128, 32)
    assert ctx.get(d, 128).tolist() == (np.arange(128) - (np.arange(128) % 32) * 100).tolist()
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_cycle_add", d, a, seg, 96, 64)
    assert rules(e) == "size"


def test_max_min_and_comparisons(ctx):
    a = np.array([1, 5, -2, 3] * 16, F16)
    b = np.array([2, 5, -3, 0] * 16, F16)
    pa, pb, d = ctx.put(0, a), ctx.put(128, b), ctx.ptr(256, F16)
    expected = {
        "__bang_maxequal": [2, 5, -2, 3], "__bang_minequal": [1, 5, -3, 0],
        "__bang_ge": [0, 1, 1, 1], "__bang_gt": [0, 0, 1, 1], "__bang_le": [1, 1, 0, 0],
        "__bang_lt": [1, 0, 0, 0], "__bang_eq": [0, 1, 0, 0], "__bang_ne": [1, 0, 1, 1],
    }
    expected["__bang_maximum"] = expected["__bang_maxequal"]     # 3xx spellings
    expected["__bang_minimum"] = expected["__bang_minequal"]
    for name, want in expected.items():
        ctx.call(name, d, pa, pb, 64)
        got = ctx.get(d, 64)
        assert got.dtype == F16 and got.tolist() == want * 16, name


# ---------------------------------------------------------------------------------------------
# activations

def _active(ctx, name, x, dtype=F32):
    x = np.asarray(x, dtype)
    n = len(x)
    src = ctx.put(0, x)
    dst = ctx.ptr(((x.nbytes + 127) // 128) * 128, dtype)
    ctx.call(name, dst, src, n)
    return ctx.get(dst, n)


def test_relu_abs_exact(ctx):
    x = np.linspace(-3, 3, 64).astype(F16)
    assert (_active(ctx, "__bang_active_relu", x, F16) == np.maximum(x, 0)).all()
    assert (_active(ctx, "__bang_active_abs", x, F16) == np.abs(x)).all()
    assert (_active(ctx, "__bang_abs", x, F16) == np.abs(x)).all()


def test_sigmoid_table_error_and_saturation(ctx):
    x = np.linspace(-7.7, 7.7, 1024).astype(F32)
    y = _active(ctx, "__bang_active_sigmoid", x)
    ref = 1 / (1 + np.exp(-x.astype(np.float64)))
    rel = np.abs(y - ref) / ref
    assert rel.mean() <= 0.01 and rel.max() < 0.01   # BANG.md: average relative error <= 1%
    assert rel.max() > 0                              # a table, not the exact function
    tails = _active(ctx, "__bang_active_sigmoid", np.array([-7.8, -20, 7.8, 30] * 8, F32))
    assert tails.tolist() == [0.0, 0.0, 1.0, 1.0] * 8   # 0 below -7.75, 1 above 7.75
    # fp16: the result is rounded to half
    yh = _active(ctx, "__bang_active_sigmoid", np.linspace(-4, 4, 64), F16)
    assert yh.dtype == F16
    assert np.allclose(yh, 1 / (1 + np.exp(-np.linspace(-4, 4, 64).astype(F16).astype(float))), rtol=0.01)


def test_tanh_table(ctx):
    x = np.linspace(-7.7, 7.7, 1024).astype(F32)
    y = _active(ctx, "__bang_active_tanh", x)
    ref = np.tanh(x.astype(np.float64))
    assert np.abs(y - ref).max() < 1e-3
    nz = np.abs(ref) > 0.05
    assert (np.abs(y - ref)[nz] / np.abs(ref[nz])).mean() <= 0.01
    assert _active(ctx, "__bang_active_tanh", np.array([-8, 8] * 16, F32)).tolist() == [-1, 1] * 16


def test_exp_log_recip_sqrt_rsqrt_within_one_percent(ctx):
    x = np.linspace(-10, 10, 1024).astype(F32)
    cases = {
        "__bang_active_exp": (x, np.exp),
        "__bang_active_log": (np.linspace(0.01, 1000, 1024).astype(F32), np.log),
        "__bang_active_recip": (np.linspace(-50, 50, 1024).astype(F32) + 0.0123, lambda v: 1 / v),
        "__bang_active_sqrt": (np.linspace(0.001, 1e4, 1024).astype(F32), np.sqrt),
        "__bang_active_rsqrt": (np.linspace(0.001, 1e4, 1024).astype(F32), lambda v: 1 / np.sqrt(v)),
    }
    for name, (xs, f) in cases.items():
        y = _active(ctx, name, xs).astype(np.float64)
        ref = f(xs.astype(np.float64))
        err = np.abs(y - ref) / np.maximum(np.abs(ref), 1e-3)
        assert err.max() < 0.01, (name, err.max())
        assert err.max() > 0, name


def test_activation_domain_edges():
    c370, c270 = Ctx("mlu370"), Ctx("mlu270")
    x = np.array([0.0, -1.0] * 16, F32)
    # IEEE on mlu370
    assert np.isinf(_active(c370, "__bang_active_recip", x)[0])
    assert np.isnan(_active(c370, "__bang_active_sqrt", x)[1])
    assert np.isneginf(_active(c370, "__bang_active_log", x)[0])
    # saturating on mlu270: no Inf/NaN
    big = np.finfo(F32).max
    assert _active(c270, "__bang_active_recip", x)[0] == big
    assert _active(c270, "__bang_active_sqrt", x)[1] == 0.0
    assert _active(c270, "__bang_active_log", x)[0] == -big
    assert _active(c270, "__bang_active_exp", np.full(64, 20, F16), F16)[0] == 65504
    assert np.isinf(_active(c370, "__bang_active_exp", np.full(64, 20, F16), F16)[0])
    assert _active(c370, "__bang_active_sqrt", np.full(32, 4.0, F32))[0] == 2.0
    assert _active(c370, "__bang_active_exp", np.zeros(32, F32))[0] == 1.0


# ---------------------------------------------------------------------------------------------
# fills

def test_write_zero_and_value(ctx):
    d = ctx.put(0, np.ones(64, F16))
    ctx.call("__bang_write_zero", d, 64)
    assert (ctx.get(d, 64) == 0).all()
    ctx.call("__bang_write_value", d, 64, 1.5)
    assert (ctx.get(d, 64) == 1.5).all()
    ctx.call("__nramset_half", d, 64, -0.25)
    assert (ctx.get(d, 64) == -0.25).all()
    f = ctx.put(256, np.zeros(32, F32))
    ctx.call("__nramset_float", f, 32, 3.0)
    assert (ctx.get(f, 32) == 3.0).all()
    with pytest.raises(MLUError) as e:
        ctx.call("__nramset_float", d, 64, 1.0)
    assert rules(e) == "type"


# ---------------------------------------------------------------------------------------------
# pooling

def _hwc(h, w, c, dtype=F32):
    return (np.arange(h * w * c) % 97).astype(dtype).reshape(h, w, c)


def _pool_ref(x, kh, kw, sh, sw, reduce):
    h, w, c = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((ho, wo, c), np.float64)
    for i in range(ho):
        for j in range(wo):
            out[i, j] = reduce(x[i * sh:i * sh + kh, j * sw:j * sw + kw].astype(np.float64), axis=(0, 1))
    return out


def test_maxpool_drops_partial_windows(ctx):
    x = _hwc(5, 5, 32)                          # 5x5, k2 s2 -> 2x2 (the 5th row/column dropped)
    src = ctx.put(0, x)
    dst = ctx.ptr(8192, F32)
    ctx.call("__bang_maxpool", dst, src, 32, 5, 5, 2, 2, 2, 2)
    got = ctx.get(dst, 2 * 2 * 32).reshape(2, 2, 32)
    assert (got == _pool_ref(x, 2, 2, 2, 2, np.max)).all()
    # hand-computed corner: window rows 0-1, cols 0-1 of channel 0 = max(x[0,0,0], x[0,1,0], x[1,0,0], x[1,1,0])
    assert got[0, 0, 0] == max(x[0, 0, 0], x[0, 1, 0], x[1, 0, 0], x[1, 1, 0])
    # the last row of x never contributes
    x2 = x.copy()
    x2[4] = 1000
    x2[:, 4] = 1000
    ctx.put(0, x2)
    ctx.call("__bang_maxpool", dst, src, 32, 5, 5, 2, 2, 2, 2)
    assert (ctx.get(dst, 128).reshape(2, 2, 32) == got).all()


def test_sumpool_avgpool_and_default_stride(ctx):
    x = _hwc(4, 6, 64, F16)
    src = ctx.put(0, x)
    dst = ctx.ptr(8192, F16)
    ctx.call("__bang_sumpool", dst, src, 64, 4, 6, 3, 3, 1, 1)       # stride 1: 2x4 outputs
    ref = _pool_ref(x, 3, 3, 1, 1, np.sum)
    assert np.array_equal(ctx.get(dst, 2 * 4 * 64).reshape(2, 4, 64), ref.astype(F16))
    ctx.call("__bang_avgpool", dst, src, 64, 4, 6, 2, 3)            # stride = kernel: 2x2
    ref = _pool_ref(x, 2, 3, 2, 3, np.mean)
    assert np.array_equal(ctx.get(dst, 2 * 2 * 64).reshape(2, 2, 64), ref.astype(F32).astype(F16))


def test_pool_rules():
    c = Ctx("mlu270")
    src = c.put(0, _hwc(4, 4, 16))             # 16 floats = 64 bytes per pixel: not a multiple of 128
    with pytest.raises(MLUError) as e:
        c.call("__bang_maxpool", c.ptr(4096, F32), src, 16, 4, 4, 2, 2, 2, 2)
    assert rules(e) == "alignment" and "channel" in str(e.value)
    Ctx("mlu370").call("__bang_maxpool", Ptr("nram", 4096, F32), Ctx("mlu370").put(0, _hwc(4, 4, 16)),
                       16, 4, 4, 2, 2, 2, 2)
    c = Ctx("mlu370")
    src = c.put(0, _hwc(4, 4, 32))
    with pytest.raises(MLUError) as e:      # dst overlapping src
        c.call("__bang_maxpool", c.ptr(128, F32), src, 32, 4, 4, 2, 2, 2, 2)
    assert rules(e) == "overlap"


# ---------------------------------------------------------------------------------------------
# tensor unit

def _conv_ref(x, k, sh, sw):
    h, w, ci = x.shape
    co, kh, kw, _ = k.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((ho, wo, co), np.int64 if x.dtype.kind == "i" else np.float64)
    for i in range(ho):
        for j in range(wo):
            patch = x[i * sh:i * sh + kh, j * sw:j * sw + kw].astype(out.dtype)
            for o in range(co):
                out[i, j, o] = (patch * k[o].astype(out.dtype)).sum()
    return out


def test_conv_int8_fixed_point_scaling(ctx):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (5, 4, 3)).astype(np.int8)
    k = rng.integers(-128, 128, (64, 3, 2, 3)).astype(np.int8)
    src = ctx.put(0, x)
    ker = ctx.put(0, k, space="wram")
    dst = ctx.ptr(4096, F32)
    ctx.call("__bang_conv", dst, src, ker, 3, 5, 4, 3, 2, 1, 2, 64, -4)   # stride_w=1, stride_h=2
    ref = _conv_ref(x, k, 2, 1)                                           # Ho = 2, Wo = 3
    got = ctx.get(dst, 2 * 3 * 64).reshape(2, 3, 64)
    assert np.array_equal(got, (ref / 16.0).astype(F32))                  # exact * 2^-4
    # hand check of one output
    assert got[1, 2, 5] == (x[2:5, 2:4].astype(int) * k[5].astype(int)).sum() / 16
    # fp16 destination rounds; cost = startup + 2*MACs/8192
    ctx.charges.clear()
    dsth = ctx.ptr(4096, F16)
    ctx.call("__bang_conv", dsth, src, ker, 3, 5, 4, 3, 2, 1, 2, 64, -3)
    assert np.array_equal(ctx.get(dsth, 384).reshape(2, 3, 64), (ref / 8.0).astype(F16))
    macs = 2 * 3 * 64 * 3 * 2 * 3
    assert ctx.cycles == TENSOR_STARTUP_CYCLES + -(-2 * macs // 8192)


def test_conv_int16_rate_and_float_profiles():
    c = Ctx("mlu270")
    x = np.arange(2 * 2 * 4, dtype=np.int16).reshape(2, 2, 4)
    k = np.ones((64, 1, 1, 4), np.int16) * 300
    c.call("__bang_conv", c.ptr(1024, F32), c.put(0, x), c.put(0, k, "wram"), 4, 2, 2, 1, 1, 1, 1, 64, 0)
    got = c.get(c.ptr(1024, F32), 4 * 64).reshape(2, 2, 64)
    assert np.array_equal(got, np.repeat(x.sum(axis=2, keepdims=True) * 300, 64, axis=2).astype(F32))
    assert c.cycles == TENSOR_STARTUP_CYCLES + -(-2 * 4 * 64 * 4 // 4096)
    # fp16 inputs: error on mlu270, fine on mlu370
    xf = np.ones((2, 2, 4), F16)
    kf = np.full((64, 1, 1, 4), 0.5, F16)
    with pytest.raises(MLUError) as e:
        c.call("__bang_conv", c.ptr(1024, F16), c.put(0, xf), c.put(0, kf, "wram"), 4, 2, 2, 1, 1, 1, 1, 64, 0)
    assert rules(e) == "type" and "int8/int16" in str(e.value)
    c3 = Ctx("mlu370")
    c3.call("__bang_conv", c3.ptr(1024, F16), c3.put(0, xf), c3.put(0, kf, "wram"), 4, 2, 2, 1, 1, 1, 1, 64, 1)
    assert (c3.get(c3.ptr(1024, F16), 256) == 4.0).all()          # 4 * 0.5 * 2^1
    assert c3.cycles == TENSOR_STARTUP_CYCLES + -(-2 * 4 * 64 * 4 // 3072)


def test_conv_rules():
    c = Ctx("mlu270")
    x = c.put(0, np.ones((2, 2, 4), np.int8))
    k = c.put(0, np.ones((32, 1, 1, 4), np.int8), "wram")
    with pytest.raises(MLUError) as e:
        c.call("__bang_conv", c.ptr(1024, F32), x, k, 4, 2, 2, 1, 1, 1, 1, 32, 0)
    assert rules(e) == "alignment" and "64" in str(e.value)
    c3 = Ctx("mlu370")       # Co % 64 is a 2xx rule only
    c3.call("__bang_conv", c3.ptr(1024, F32), c3.put(0, np.ones((2, 2, 4), np.int8)),
            c3.put(0, np.ones((32, 1, 1, 4), np.int8), "wram"), 4, 2, 2, 1, 1, 1, 1, 32, 0)
    assert (c3.get(c3.ptr(1024, F32), 128) == 4).all()
    with pytest.raises(MLUError) as e:       # kernel must be in WRAM
        c.call("__bang_conv", c.ptr(1024, F32), x, x, 4, 2, 2, 1, 1, 1, 1, 64, 0)
    assert rules(e) == "space" and "WRAM" in str(e.value)


def test_mlp_and_matmul(ctx):
    rng = np.random.default_rng(1)
    src = rng.integers(-100, 100, 40).astype(np.int8)
    flt = rng.integers(-100, 100, (64, 40)).astype(np.int8)
    d = ctx.ptr(1024, F32)
    ctx.call("__bang_mlp", d, ctx.put(0, src), ctx.put(0, flt, "wram"), 64, 40, -2)
    assert np.array_equal(ctx.get(d, 64), (flt.astype(int) @ src.astype(int) / 4).astype(F32))
    a = rng.integers(-100, 100, (3, 40)).astype(np.int16)
    b = rng.integers(-100, 100, (40, 64)).astype(np.int16)
    ctx.call("__bang_matmul", d, ctx.put(0, a), ctx.put(0, np.ascontiguousarray(b.T), "wram"), 3, 40, 64)
    assert np.array_equal(ctx.get(d, 192).reshape(3, 64), (a.astype(int) @ b.astype(int)).astype(F32))
    ctx.call("__bang_matmul", d, ctx.put(0, a), ctx.put(0, np.ascontiguousarray(b.T), "wram"), 3, 40, 64, 1)
    assert np.array_equal(ctx.get(d, 192).reshape(3, 64), (a.astype(int) @ b.astype(int) * 2).astype(F32))


def test_mlp_height_rule():
    c = Ctx("mlu270")
    with pytest.raises(MLUError) as e:
        c.call("__bang_mlp", c.ptr(1024, F32), c.put(0, np.ones(40, np.int8)),
               c.put(0, np.ones((32, 40), np.int8), "wram"), 32, 40, 0)
    assert rules(e) == "alignment"


# ---------------------------------------------------------------------------------------------
# reductions, transpose

def test_reduce_sum_per_128_byte_chunk(ctx):
    x = np.arange(64, dtype=F32)              # two chunks of 32 floats
    d = ctx.ptr(512, F32)
    ctx.call("__bang_reduce_sum", d, ctx.put(0, x), 64)
    got = ctx.get(d, 64)
    assert got[0] == sum(range(32)) and got[32] == sum(range(32, 64))
    assert (np.delete(got, [0, 32]) == 0).all()
    h = np.ones(128, F16)                      # two chunks of 64 halfs
    dh = ctx.ptr(512, F16)
    ctx.call("__bang_reduce_sum", dh, ctx.put(0, h), 128)
    assert ctx.get(dh, 128)[[0, 64]].tolist() == [64.0, 64.0]


def test_argmax(ctx):
    x = np.zeros(64, F16)
    x[[7, 40]] = 3.5                            # first max wins
    d = ctx.ptr(256, F16)
    ctx.call("__bang_argmax", d, ctx.put(0, x), 64)
    assert ctx.get(d, 2).tolist() == [3.5, 7.0]
    ctx.call("__bang_min", d, ctx.put(0, -x), 64)
    assert ctx.get(d, 2).tolist() == [-3.5, 7.0]


def test_transpose_and_overlap(ctx):
    x = np.arange(8 * 16, dtype=F32).reshape(8, 16)
    src = ctx.put(0, x)
    d = ctx.ptr(1024, F32)
    ctx.call("__bang_transpose", d, src, 8, 16)
    assert np.array_equal(ctx.get(d, 128).reshape(16, 8), x.T)
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_transpose", ctx.ptr(256, F32), src, 8, 16)
    assert rules(e) == "overlap"


# ---------------------------------------------------------------------------------------------
# conversions

def test_half_float_conversions(ctx):
    x = np.array([1.0, 1 + 2 ** -11 + 2 ** -20, -(1 + 2 ** -11 + 2 ** -20), 1 + 2 ** -11, 2.5e-8, -3.0,
                  1 + 3 * 2 ** -11, 0.0] * 8, F32)
    src = ctx.put(0, x)
    d = ctx.ptr(1024, F16)
    ulp = 2.0 ** -10
    modes = {
        "rn": [1, 1 + ulp, -(1 + ulp), 1, 0, -3, 1 + 2 * ulp, 0],
        "rd": [1, 1 + ulp, -(1 + ulp), 1, 0, -3, 1 + 2 * ulp, 0],   # 2xx spelling of nearest
        "tz": [1, 1, -1, 1, 0, -3, 1 + ulp, 0],
        "dn": [1, 1, -(1 + ulp), 1, 0, -3, 1 + ulp, 0],
        "up": [1, 1 + ulp, -1, 1 + ulp, 2.0 ** -24, -3, 1 + 2 * ulp, 0],
        "oz": [1, 1 + ulp, -(1 + ulp), 1 + ulp, 2.0 ** -24, -3, 1 + 2 * ulp, 0],
    }
    for mode, want in modes.items():
        ctx.call(f"__bang_float2half_{mode}", d, src, 64)
        assert ctx.get(d, 8).astype(float).tolist() == want, mode
    back = ctx.ptr(2048, F32)
    ctx.call("__bang_half2float", back, d, 64)
    assert ctx.get(back, 8).tolist() == [float(v) for v in ctx.get(d, 8)]


def test_float2half_overflow():
    for prof, want in (("mlu270", 65504.0), ("mlu370", np.inf)):
        c = Ctx(prof)
        src = c.put(0, np.full(64, 70000, F32))
        d = c.ptr(1024, F16)
        c.call("__bang_float2half_rn", d, src, 64)
        assert c.get(d, 1)[0] == want
        c.call("__bang_float2half_tz", d, src, 64)
        assert c.get(d, 1)[0] == 65504


def test_float_to_int_fixed_point(ctx):
    x = np.array([2.5, 3.5, -2.5, 1.25, 300.0, -300.0, 0.74, -0.26] * 16, F32)   # 128 floats
    src = ctx.put(0, x)
    d = ctx.ptr(1024, np.int8)
    cases = {
        "rd": [2, 4, -2, 1, 127, -128, 1, 0], "rn": [2, 4, -2, 1, 127, -128, 1, 0],
        "tz": [2, 3, -2, 1, 127, -128, 0, 0], "dn": [2, 3, -3, 1, 127, -128, 0, -1],
        "up": [3, 4, -2, 2, 127, -128, 1, 0], "oz": [3, 4, -3, 2, 127, -128, 1, -1],
    }
    for mode, want in cases.items():
        ctx.call(f"__bang_float2int8_{mode}", d, src, 128, 0)
        assert ctx.get(d, 8).tolist() == want, mode
    # position: dst = round(src / 2^pos)
    ctx.call("__bang_float2int8_rd", d, src, 128, -2)           # * 4
    assert ctx.get(d, 8).tolist() == [10, 14, -10, 5, 127, -128, 3, -1]
    ctx.call("__bang_float2int8_rd", d, src, 128, 2)            # / 4
    assert ctx.get(d, 8).tolist() == [1, 1, -1, 0, 75, -75, 0, 0]
    h = ctx.put(0, np.array([1000.0, -40000 / 1.0, 0.5, 1.5] * 32, F16))
    d16 = ctx.ptr(1024, np.int16)
    ctx.call("__bang_half2int16_rd", d16, h, 128, -5)            # * 32, saturating
    assert ctx.get(d16, 4).tolist() == [32000, -32768, 16, 48]


def test_int_to_float_fixed_point(ctx):
    q = np.array([-128, -1, 0, 1, 127, 64, 3, -3] * 16, np.int8)
    src = ctx.put(0, q)
    d = ctx.ptr(1024, F32)
    ctx.call("__bang_int82float", d, src, 128, -3)
    assert ctx.get(d, 8).tolist() == (q[:8] / 8).tolist()
    dh = ctx.ptr(1024, F16)
    ctx.call("__bang_int82half", dh, src, 128, 2)
    assert ctx.get(dh, 8).tolist() == (q[:8] * 4.0).tolist()
    q16 = ctx.put(0, np.array([32767, -32768, 5, 7] * 32, np.int16))
    ctx.call("__bang_int162float", d, q16, 128, -1)
    assert ctx.get(d, 4).tolist() == [16383.5, -16384, 2.5, 3.5]
    ctx.call("__bang_int162half", dh, q16, 128, 1)
    got = ctx.get(dh, 4)
    if ctx.profile.saturating:
        assert got.tolist() == [65504, -65504, 10, 14]     # clamped to the largest half
    else:
        assert np.isposinf(got[0]) and np.isneginf(got[1])     # 65534 >= 65520 rounds to inf and got[2:].tolist() == [10, 14]


# ---------------------------------------------------------------------------------------------
# rules shared by every intrinsic

def test_alignment_errors_on_mlu270_only():
    for prof in ("mlu270", "mlu370"):
        c = Ctx(prof)
        a = c.put(32, np.ones(32, F32))        # address 32: not 64-byte aligned
        b = c.put(256, np.ones(32, F32))
        d = c.ptr(512, F32)
        if prof == "mlu270":
            with pytest.raises(MLUError) as e:
                c.call("__bang_add", d, a, b, 32)
            assert rules(e) == "alignment" and "aligned" in str(e.value)
            with pytest.raises(MLUError) as e:
                c.call("__bang_add", d, b, b, 16)     # 64 bytes: not a multiple of 128
            assert rules(e) == "alignment" and "128" in str(e.value)
            with pytest.raises(MLUError) as e:
                c.call("__bang_half2float", d, c.put(0, np.ones(32, F16)), 32)   # src is 64 bytes
            assert rules(e) == "alignment"
        else:
            c.call("__bang_add", d, a, b, 32)
            c.call("__bang_add", d, b, b, 16)
            c.call("__bang_half2float", d, c.put(0, np.ones(32, F16)), 32)
            assert (c.get(d, 16) == 1.0).all()


def test_capacity_out_of_nram(ctx):
    top = ctx.profile.nram_usable
    a = ctx.ptr(top - 128, F32)
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", a, a, a, 64)
    assert "out-of-bounds" in rules(e)


def test_space_type_and_argument_errors(ctx):
    g = Ptr("gdram", 0, F32)
    n = ctx.ptr(0, F32)
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", n, g, n, 32)
    assert rules(e) == "space" and "NRAM" in str(e.value) and "GDRAM" in str(e.value)
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", n, ctx.ptr(128, F16), n, 32)
    assert rules(e) == "type"
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", n, n, n)
    assert rules(e) == "arguments"
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", n, n, 3, 32)
    assert rules(e) == "arguments"
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_add", n, n, n, 0)
    assert rules(e) == "arguments"
    with pytest.raises(MLUError) as e:
        ctx.call("__bang_active_sigmoid", ctx.ptr(0, np.int16), ctx.ptr(128, np.int16), 64)
    assert rules(e) == "type"
    # void* operands take the type of the others
    ctx.put(0, np.ones(32, F32))
    ctx.call("__bang_add", Ptr("nram", 256, None), Ptr("nram", 0, None), n, 32)
    assert (ctx.get(ctx.ptr(256, F32), 32) == 2).all()


def test_vector_cycle_charges(ctx):
    n = ctx.ptr(0, F32)
    ctx.call("__bang_add", n, n, n, 32)                 # 128 bytes: one cycle
    assert ctx.charges == [("compute", V + 1)]
    ctx.charges.clear()
    h = ctx.ptr(0, F16)
    ctx.call("__bang_mul", h, h, h, 1024)               # 2048 bytes: 16 cycles
    ctx.call("__bang_active_sigmoid", h, h, 1024)       # table-based: two passes
    assert ctx.charges == [("compute", V + 16), ("compute", V + 32)]
    ctx.charges.clear()
    ctx.call("__bang_half2float", ctx.ptr(4096, F32), h, 64)   # the float side: 256 bytes
    assert ctx.cycles == V + 2
    ctx.charges.clear()
    src = ctx.put(0, _hwc(4, 4, 64))
    ctx.call("__bang_maxpool", ctx.ptr(8192, F32), src, 64, 4, 4, 2, 2, 2, 2)   # 2x2 out, 4 taps, 2 cycles each
    assert ctx.cycles == V + 2 * 2 * 4 * 2


def test_short_vectors_cost_a_full_128_bytes():
    c = Ctx("mlu370")
    n = c.ptr(0, F32)
    c.call("__bang_add", n, n, n, 3)
    assert c.cycles == V + 1
    c.charges.clear()
    c.call("__bang_add", n, n, n, 33)
    assert c.cycles == V + 2


def test_every_intrinsic_is_callable():
    assert {"__bang_add", "__bang_conv", "__bang_mlp", "__bang_matmul", "__bang_maxpool",
            "__bang_avgpool", "__bang_sumpool", "__bang_reduce_sum", "__bang_argmax",
            "__bang_transpose", "__bang_half2float", "__nramset_half", "__nramset_float",
            "__bang_write_zero", "__bang_write_value", "__bang_float2int16_rd",
            "__bang_int162half"} <= set(INTRINSICS)
    assert all(callable(f) for f in INTRINSICS.values())


# ---------------------------------------------------------------------------------------------
# the same intrinsics inside real .mlu kernels run through Device (interpreter + real context)

CTYPES = {np.dtype(F16): "half", np.dtype(F32): "float", np.dtype(np.int8): "int8_t",
          np.dtype(np.int16): "int16_t", np.dtype(np.int32): "int32_t"}


def kernel_source(body, ins, outs, wram=()):
    """A kernel K(gdram inputs..., gdram outputs...) that copies each input to an on-chip array of
    the same name (NRAM, or WRAM for names in `wram`), runs `body`, copies the outputs back."""
    decls, params, loads, stores = [], [], [], []
    for name, a in ins.items():
        space, direction = ("__wram__", "GDRAM2WRAM") if name in wram else ("__nram__", "GDRAM2NRAM")
        t = CTYPES[a.dtype]
        decls.append(f"{space} {t} {name}[{a.size}];")
        params.append(f"{t} *g_{name}")
        loads.append(f"  __memcpy({name}, g_{name}, {a.nbytes}, {direction});")
    for name, (count, dt) in outs.items():
        t = CTYPES[np.dtype(dt)]
        if name not in ins:
            decls.append(f"__nram__ {t} {name}[{count}];")
        params.append(f"{t} *g_out_{name}")
        stores.append(f"  __memcpy(g_out_{name}, {name}, {count * np.dtype(dt).itemsize}, NRAM2GDRAM);")
    return "\n".join(["#include <mlu.h>", *decls, f"__mlu_entry__ void K({', '.join(params)}) {{",
                      *loads, *("  " + ln for ln in body.strip().splitlines()), *stores, "}", ""])


def device_run(body, ins, outs, profile="mlu270", wram=()):
    from tfc.runtime.mlu import Device

    ins = {k: np.ascontiguousarray(v) for k, v in ins.items()}
    source = kernel_source(body, ins, outs, wram)
    dev = Device(profile)
    prog = dev.load(source, "t.mlu")
    args, bufs = [], {}
    for name, a in ins.items():
        b = dev.malloc(a.nbytes)
        dev.write(b, a)
        args.append(b)
    for name, (count, dt) in outs.items():
        bufs[name] = dev.malloc(count * np.dtype(dt).itemsize)
        args.append(bufs[name])
    report = dev.launch(prog, "K", args=args)
    return {n: dev.read(bufs[n], (c,), dt) for n, (c, dt) in outs.items()}, report


def line_of(source, needle):
    return next(i for i, ln in enumerate(source.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_device_elementwise_and_cost(profile):
    a = np.arange(64, dtype=F16)
    b = np.full(64, 0.5, F16)
    out, rep = device_run("__bang_mul(d, a, b, 64);\n__bang_add_scalar(d, d, 1.0, 64);",
                          {"a": a, "b": b}, {"d": (64, F16)}, profile)
    assert out["d"].tolist() == [i * 0.5 + 1 for i in range(64)]
    assert rep.compute_cycles == 2 * (V + 1)           # two vector instructions of 128 bytes


def test_device_cycle_add_and_activation():
    x = np.linspace(-10, 10, 128).astype(F32)
    seg = np.arange(32, dtype=F32)
    out, rep = device_run("__bang_cycle_add(d, x, seg, 128, 32);\n__bang_active_sigmoid(s, x, 128);",
                          {"x": x, "seg": seg}, {"d": (128, F32), "s": (128, F32)})
    assert out["d"].tolist() == (x + np.tile(seg, 4)).tolist()
    ref = 1 / (1 + np.exp(-x.astype(np.float64)))
    inside = np.abs(x) <= 7.75
    assert np.abs(out["s"][inside] - ref[inside]).max() < 1e-3
    assert (out["s"][x < -7.75] == 0).all() and (out["s"][x > 7.75] == 1).all()
    assert rep.compute_cycles == (V + 4) + (V + 2 * 4)


def test_device_maxpool_drops_partial_windows():
    x = _hwc(5, 5, 64, F16)
    out, _ = device_run("__bang_maxpool(d, x, 64, 5, 5, 2, 2, 2, 2);", {"x": x}, {"d": (2 * 2 * 64, F16)})
    assert np.array_equal(out["d"].reshape(2, 2, 64), _pool_ref(x, 2, 2, 2, 2, np.max).astype(F16))


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_device_conv_int8_with_fix_position(profile):
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (4, 4, 16)).astype(np.int8)
    k = rng.integers(-128, 128, (64, 3, 3, 16)).astype(np.int8)
    out, rep = device_run("__bang_conv(d, x, k, 16, 4, 4, 3, 3, 1, 1, 64, -6);", {"x": x, "k": k},
                          {"d": (2 * 2 * 64, F32)}, profile, wram=("k",))
    assert np.array_equal(out["d"].reshape(2, 2, 64), (_conv_ref(x, k, 1, 1) / 64).astype(F32))
    macs = 2 * 2 * 64 * 3 * 3 * 16
    assert rep.compute_cycles == TENSOR_STARTUP_CYCLES + -(-2 * macs // 8192)


def test_device_mlp_matmul_reduce_argmax_transpose():
    rng = np.random.default_rng(4)
    s = rng.integers(-50, 50, 64).astype(np.int16)
    f = rng.integers(-50, 50, (64, 64)).astype(np.int16)
    body = """__bang_mlp(m, s, f, 64, 64, 1);
__bang_matmul(mm, s, f, 1, 64, 64);
__bang_reduce_sum(r, v, 64);
__bang_argmax(am, v, 64);
__bang_transpose(t, v, 2, 32);"""
    v = rng.standard_normal(64).astype(F32)
    out, _ = device_run(body, {"s": s, "f": f, "v": v},
                        {"m": (64, F32), "mm": (64, F32), "r": (64, F32), "am": (2, F32), "t": (64, F32)},
                        wram=("f",))
    assert np.array_equal(out["m"], (f.astype(int) @ s.astype(int) * 2).astype(F32))
    assert np.array_equal(out["mm"], (f.astype(int) @ s.astype(int)).astype(F32))  # b stored [N][K]
    assert np.allclose(out["r"][[0, 32]], [v[:32].sum(), v[32:].sum()], rtol=1e-6)
    assert out["am"].tolist() == [v.max(), float(np.argmax(v))]
    assert np.array_equal(out["t"], v.reshape(2, 32).T.reshape(-1))


def test_device_conversions_and_fills():
    x = np.array([2.5, -2.5, 3.5, 100.0] * 32, F32)
    q = np.array([-128, 1, 2, 127] * 32, np.int8)
    body = """__bang_float2int8_rd(i8, x, 128, -1);
__bang_int82float(f, q, 128, -2);
__bang_float2half_tz(h, x, 128);
__bang_half2float(f2, h, 128);
__nramset_half(fill, 64, 0.1);"""
    out, _ = device_run(body, {"x": x, "q": q},
                        {"i8": (128, np.int8), "f": (128, F32), "h": (128, F16), "f2": (128, F32),
                         "fill": (64, F16)})
    assert out["i8"][:4].tolist() == [5, -5, 7, 127]         # round(x * 2), ties to even, saturating
    assert out["f"][:4].tolist() == [-32.0, 0.25, 0.5, 31.75]
    assert out["f2"][:4].tolist() == [2.5, -2.5, 3.5, 100.0]
    assert (out["fill"] == F16(0.1)).all()


def test_device_saturation_mlu270_vs_mlu370():
    a = np.full(64, 40000, F16)
    for profile, want in (("mlu270", 65504.0), ("mlu370", np.inf)):
        out, _ = device_run("__bang_add(d, a, a, 64);", {"a": a}, {"d": (64, F16)}, profile)
        assert (out["d"] == want).all()


def test_device_errors_name_kernel_line_and_rule():
    from tfc.runtime.mlu import MLUError as DeviceError

    a = np.ones(64, F32)
    body = "__bang_add(d, a + 8, a + 8, 32);"          # a + 8 floats = 32 bytes: misaligned
    src = kernel_source(body, {"a": a}, {"d": (64, F32)})
    with pytest.raises(DeviceError) as e:
        device_run(body, {"a": a}, {"d": (64, F32)}, "mlu270")
    assert e.value.rule == "alignment" and e.value.kernel == "K"
    assert e.value.line == line_of(src, "__bang_add")
    out, _ = device_run(body, {"a": a}, {"d": (64, F32)}, "mlu370")   # fine on mlu370
    assert (out["d"][:32] == 2).all()
    # beyond the operand's allocation
    body = "__bang_add(d, a, a, 128);"
    with pytest.raises(DeviceError) as e:
        device_run(body, {"a": a}, {"d": (128, F32)}, "mlu370")
    assert "out-of-bounds" in e.value.rule and e.value.line == line_of(kernel_source(body, {"a": a},
                                                                                    {"d": (128, F32)}), "__bang_add")
    # conv kernel not in WRAM
    x = np.ones((2, 2, 4), np.int8)
    with pytest.raises(DeviceError) as e:
        device_run("__bang_conv(d, x, x, 4, 2, 2, 1, 1, 1, 1, 64, 0);", {"x": x}, {"d": (256, F32)})
    assert e.value.rule == "space"
    # fp16 conv on mlu270
    xh = np.ones((2, 2, 64), F16)
    kh = np.ones((64, 1, 1, 64), F16)
    with pytest.raises(DeviceError) as e:
        device_run("__bang_conv(d, x, k, 64, 2, 2, 1, 1, 1, 1, 64, 0);", {"x": xh, "k": kh},
                   {"d": (256, F16)}, "mlu270", wram=("k",))
    assert e.value.rule == "type" and "int8/int16" in str(e.value)
