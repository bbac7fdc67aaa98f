"""Native nn.* and random.* kernels against the interpreter.

Cases are grouped into few multi-op functions, since compiling one costs 0.1 s (several
seconds when it contains the packed float32 GEMM). Tolerances: float32 1e-5 relative unless
stated; float16 2e-3 (an ulp, where our rounding order may differ from numpy's); float64
1e-12; random ops and dropout bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfc.codegen.llvm.kernels  # noqa: F401  (registers every kernel family)
from tfc.codegen.llvm.emitter import KERNELS
from tfc.codegen.llvm.native import NativeError, NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.runtime.interpreter import run_function

from .harness import one_op_function

RNG = np.random.default_rng(1234)
FLOATS = [np.float16, np.float32, np.float64]
TOL = {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}


def jit(function) -> NativeFunction:
    return NativeFunction.jit(function)


def randn(shape, dtype, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


class Group:
    """Many op applications in one function: `add` cases, then `check` compiles once and
    compares every result with the case's tolerance."""

    def __init__(self):
        self.cases = []

    def add(self, name, inputs, attrs=None, rtol=None, atol=0.0):
        inputs = [np.asarray(x) for x in inputs]
        if rtol is None:
            rtol = TOL.get(inputs[-1].dtype.type, 1e-5)
        self.cases.append((name, inputs, attrs or {}, rtol, atol))

    def check(self, exact=False):
        args = [x for case in self.cases for x in case[1]]
        fb = FunctionBuilder("main", [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in args])
        results, spans, i = [], [], 0
        for name, inputs, attrs, _, _ in self.cases:
            op = fb.create(name, list(fb.args[i:i + len(inputs)]), attrs)
            i += len(inputs)
            spans.append((len(results), len(op.results)))
            results.extend(op.results)
        function = fb.ret(results)
        verify(Module([function]))
        expected = run_function(function, args)
        got = jit(function)(*args)
        for (name, inputs, attrs, rtol, atol), (start, count) in zip(self.cases, spans):
            what = f"{name} {[x.shape for x in inputs]} {[x.dtype.name for x in inputs]} {attrs}"
            for e, g in zip(expected[start:start + count], got[start:start + count]):
                assert g.dtype == e.dtype and g.shape == e.shape, (what, g.dtype, g.shape, e.shape)
                if e.dtype.kind == "f" and not exact:
                    np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64),
                                               rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
                else:
                    np.testing.assert_array_equal(g, e, err_msg=what)


# bias_add / batch norm ---------------------------------------------------------------------
def test_bias_add_and_batch_norm():
    g = Group()
    for dtype in FLOATS:
        g.add("nn.bias_add", [randn((2, 3, 5, 7), dtype), randn((7,), dtype)])
        g.add("nn.bias_add", [randn((2, 7, 5, 3), dtype), randn((7,), dtype)], {"data_format": "NCHW"})
        g.add("nn.bias_add", [randn((1023, 3), dtype), randn((3,), dtype)])
        g.add("nn.bias_add", [np.zeros((0, 4), dtype), randn((4,), dtype)])
    c = 5
    for dtype, pdtype in [(np.float32, np.float32), (np.float64, np.float64),
                          (np.float16, np.float32), (np.float16, np.float16)]:
        for fmt in ("NHWC", "NCHW"):
            x = randn((2, 3, 4, c) if fmt == "NHWC" else (2, c, 3, 4), dtype)
            params = [randn((c,), pdtype), randn((c,), pdtype), randn((c,), pdtype),
                      np.abs(randn((c,), pdtype)) + pdtype(0.5)]
            g.add("nn.fused_batch_norm", [x] + params, {"epsilon": 0.001, "data_format": fmt},
                  rtol={np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-14}[dtype])
    g.check()


# softmax family ----------------------------------------------------------------------------
def test_softmax_and_log_softmax():
    g = Group()
    for name in ("nn.softmax", "nn.log_softmax"):
        for dtype in FLOATS:
            x = randn((7, 1023), dtype, 4.0)
            x[0, 5] = np.nan
            x[1, 3] = np.inf
            x[2, :] = -np.inf
            x[3, 7] = -np.inf
            x[4, :] = randn((1023,), dtype, 60.0)    # spread out: tiny and subnormal terms
            g.add(name, [x], {"axis": -1}, atol=1e-300 if dtype == np.float64 else 0)
            g.add(name, [randn((3, 1), dtype)], {"axis": -1})
        x = randn((3, 17, 5, 2), np.float32, 3.0)
        x[1, 4, 2, 1] = np.nan
        for axis in (0, 1, 2):
            g.add(name, [x], {"axis": axis})
        g.add(name, [randn((2, 9, 3), np.float16, 3.0)], {"axis": 1})
        g.add(name, [randn((2, 9, 3), np.float64, 3.0)], {"axis": -2})
        g.add(name, [np.zeros((0, 4), np.float32)], {"axis": 0})
    g.check()


def test_l2_loss_and_softmax_cross_entropies():
    g = Group()
    for dtype in FLOATS:
        g.add("nn.l2_loss", [randn((33, 31), dtype)],
              rtol={np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-12}[dtype])
        g.add("nn.l2_loss", [np.zeros((0,), dtype)])
        rtol = {np.float16: 2e-3, np.float32: 2e-5, np.float64: 1e-12}[dtype]
        logits = randn((6, 11), dtype, 3.0)
        labels = RNG.dirichlet(np.ones(11), 6).astype(dtype)
        g.add("nn.softmax_cross_entropy_with_logits", [labels, logits], rtol=rtol)
        # labels broadcast against logits, reduction over the first axis
        g.add("nn.softmax_cross_entropy_with_logits",
              [RNG.random((1, 4)).astype(dtype), randn((5, 4), dtype)], {"axis": 0}, rtol=rtol)
        logits = logits.copy()
        logits[2, 3] = np.inf
        g.add("nn.softmax_cross_entropy_with_logits", [labels, logits], rtol=rtol)
        for label_dtype in (np.int32, np.int64):
            g.add("nn.sparse_softmax_cross_entropy_with_logits",
                  [RNG.integers(0, 10, (4, 3)).astype(label_dtype), randn((4, 3, 10), dtype, 3.0)],
                  rtol=rtol)
    g.check()


def test_sparse_softmax_cross_entropy_bad_label():
    logits = randn((3, 5), np.float32)
    labels = np.array([0, 1, 2], np.int32)
    function = one_op_function("nn.sparse_softmax_cross_entropy_with_logits", [labels, logits], {})
    native = jit(function)
    for bad in (5, -1, 2**31 - 1):
        labels = np.array([0, bad, 2], np.int32)
        with pytest.raises(NativeError, match="sparse_softmax"):
            native(labels, logits)
    ok = np.array([0, 4, 2], np.int32)
    np.testing.assert_allclose(native(ok, logits)[0], run_function(function, [ok, logits])[0],
                               rtol=2e-5)


def test_sigmoid_cross_entropies():
    g = Group()
    for dtype in FLOATS:
        x = randn((5, 41), dtype, 4.0)
        x[0, :4] = [np.inf, -np.inf, np.nan, 0]
        x[1, :3] = [30, -30, 1e-4]
        z = RNG.random((5, 41)).astype(dtype)
        # float32: numpy's log1p and exp are within an ulp of ours; float16 rounds each step.
        rtol = {np.float16: 1e-3, np.float32: 2e-6, np.float64: 1e-14}[dtype]
        g.add("nn.sigmoid_cross_entropy_with_logits", [z, x], rtol=rtol, atol=1e-7)
        q = (RNG.random((41,)) * 3).astype(dtype)
        g.add("nn.weighted_cross_entropy_with_logits", [z, x, q], rtol=rtol, atol=1e-7)
    g.check()


# pooling -----------------------------------------------------------------------------------
POOL_CASES = [((2, 7, 9, 3), (3, 3), (2, 2), "SAME"), ((1, 8, 8, 5), (2, 2), (2, 2), "VALID"),
              ((2, 5, 6, 4), (3, 2), (1, 3), "SAME"), ((1, 4, 4, 2), (5, 5), (1, 1), "SAME")]


def test_pooling():
    g = Group()
    for shape, ksize, strides, padding in POOL_CASES:
        x = randn(shape, np.float32)
        x.flat[::7] = np.nan
        x.flat[3::11] = -np.inf
        for fmt in ("NHWC", "NCHW"):
            xf = x if fmt == "NHWC" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            attrs = {"ksize": ksize, "strides": strides, "padding": padding, "data_format": fmt}
            g.add("nn.max_pool", [xf], attrs)
            g.add("nn.avg_pool", [xf], attrs)
    for dtype in (np.float16, np.float64):
        x = randn((2, 6, 7, 3), dtype)
        x[0, 0, 0, :] = -np.inf
        for name in ("nn.max_pool", "nn.avg_pool"):
            g.add(name, [x], {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME"})
    x = randn((4, 64, 64, 32), np.float32)      # large: rows split over the cores
    g.add("nn.max_pool", [x], {"ksize": (3, 3), "strides": (1, 1), "padding": "SAME"})
    g.add("nn.avg_pool", [x], {"ksize": (3, 3), "strides": (2, 2), "padding": "VALID"})
    g.add("nn.max_pool", [np.zeros((0, 4, 4, 2), np.float32)],
          {"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"})
    g.check()


def test_max_pool_with_argmax():
    g = Group()
    for shape, ksize, strides, padding in POOL_CASES + [((2, 64, 64, 64), (3, 3), (2, 2), "SAME")]:
        x = randn(shape, np.float32)
        x.flat[::5] = np.nan
        x.flat[1::9] = -np.inf
        x.flat[2::13] = 0.5                           # ties
        for index_dtype, batch in [(dt.int64, False), (dt.int32, True)]:
            g.add("nn.max_pool_with_argmax", [x], {
                "ksize": ksize, "strides": strides, "padding": padding,
                "output_dtype": index_dtype, "include_batch_in_index": batch})
        g.add("nn.max_pool_with_argmax", [x.astype(np.float16)],
              {"ksize": ksize, "strides": strides, "padding": padding})
    g.check(exact=True)


# convolutions ------------------------------------------------------------------------------
CONV_CASES = [
    # input NHWC, filter HWIO, strides, padding, explicit paddings, dilations
    ((1, 7, 9, 3), (3, 3, 3, 4), (1, 1), "SAME", (), (1, 1)),
    ((2, 8, 7, 5), (3, 2, 5, 6), (2, 3), "VALID", (), (1, 1)),
    ((1, 9, 9, 2), (3, 3, 2, 3), (1, 2), "SAME", (), (2, 2)),
    ((2, 5, 6, 3), (2, 3, 3, 2), (1, 1), "EXPLICIT", (1, 2, 0, 3), (1, 2)),
    ((3, 4, 5, 6), (1, 1, 6, 7), (1, 1), "VALID", (), (1, 1)),
    ((1, 6, 6, 4), (1, 1, 4, 3), (2, 2), "SAME", (), (1, 1)),
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), "SAME", (), (1, 1)),
]
LARGE_CONV_CASES = [((2, 30, 30, 16), (3, 3, 16, 32), (1, 1), "SAME", (), (1, 1)),
                    ((2, 30, 30, 64), (1, 1, 64, 48), (1, 1), "VALID", (), (1, 1))]
CONV_ATOL = {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}


def _conv_inputs(case, dtype, fmt, depthwise=False):
    shape, fshape, strides, padding, explicit, dilations = case
    if depthwise:
        fshape = fshape[:2] + (shape[3], 2)
    x, f = randn(shape, dtype), randn(fshape, dtype)
    if fmt == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit,
             "dilations": dilations, "data_format": fmt}
    return x, f, attrs


def _inf_filter(dtype):
    # The reference pads with zeros and multiplies: 0 * inf = NaN at the border.
    x = randn((1, 4, 4, 2), dtype)
    f = randn((3, 3, 2, 2), dtype)
    f[0, 0, 1, 0] = np.inf
    return x, f, {"strides": (1, 1), "padding": "SAME"}


def test_conv2d_gemm():
    """float32 and float16 (im2col + packed GEMM), one compiled function."""
    g = Group()
    for dtype in (np.float32, np.float16):
        for fmt in ("NHWC", "NCHW"):
            for case in CONV_CASES:
                x, f, attrs = _conv_inputs(case, dtype, fmt)
                # the GEMM's blocking and FMAs reorder the sums: results near 0 need atol
                g.add("nn.conv2d", [x, f], attrs, atol=CONV_ATOL[dtype])
    for fmt in ("NHWC", "NCHW"):
        for case in LARGE_CONV_CASES:             # split over the cores
            x, f, attrs = _conv_inputs(case, np.float32, fmt)
            g.add("nn.conv2d", [x, f], attrs, rtol=1e-4, atol=1e-4)
    x, f, attrs = _inf_filter(np.float32)
    g.add("nn.conv2d", [x, f], attrs, atol=1e-5)
    g.check()


def test_conv2d_float64_and_depthwise():
    g = Group()
    for fmt in ("NHWC", "NCHW"):
        for case in CONV_CASES[:5]:
            x, f, attrs = _conv_inputs(case, np.float64, fmt)
            g.add("nn.conv2d", [x, f], attrs, atol=1e-12)
        for case in CONV_CASES[:4] + CONV_CASES[6:]:
            x, f, attrs = _conv_inputs(case, np.float32, fmt, depthwise=True)
            g.add("nn.depthwise_conv2d", [x, f], attrs, atol=1e-5)
            g.add("nn.depthwise_conv2d", [x, f[:, :, :, :1].copy()], attrs, atol=1e-5)
        for dtype in (np.float16, np.float64):
            for case in (CONV_CASES[0], CONV_CASES[3]):
                x, f, attrs = _conv_inputs(case, dtype, fmt, depthwise=True)
                g.add("nn.depthwise_conv2d", [x, f], attrs, atol=CONV_ATOL[dtype])
    # large: rows split over the cores
    x, f, attrs = _conv_inputs(((2, 48, 48, 32), (3, 3, 32, 1), (1, 1), "SAME", (), (1, 1)),
                               np.float32, "NHWC", depthwise=True)
    g.add("nn.depthwise_conv2d", [x, f], attrs, atol=1e-5)
    x, f, attrs = _conv_inputs(((2, 20, 20, 16), (3, 3, 16, 16), (1, 1), "SAME", (), (1, 1)),
                               np.float64, "NCHW")
    g.add("nn.conv2d", [x, f], attrs, atol=1e-12)
    for dtype in (np.float32, np.float64):
        x, f, attrs = _inf_filter(dtype)
        g.add("nn.depthwise_conv2d", [x, f[:, :, :, :1].copy()], attrs, atol=1e-5)
    x, f, attrs = _inf_filter(np.float64)
    g.add("nn.conv2d", [x, f], attrs, atol=1e-12)
    g.check()


def test_conv_after_transpose():
    if "array.transpose" not in KERNELS:
        pytest.skip("no array.transpose kernel")
    # An NCHW tensor transposed to NHWC inside the function, then convolved and pooled.
    x = randn((2, 3, 8, 8), np.float64)
    f = randn((3, 3, 3, 4), np.float64)
    fb = FunctionBuilder("main", [TensorType(x.shape, dt.float64), TensorType(f.shape, dt.float64)])
    t = fb.op("array.transpose", fb.args[0], perm=(0, 2, 3, 1))
    y = fb.op("nn.conv2d", t, fb.args[1], strides=(1, 1), padding="SAME")
    z = fb.op("nn.max_pool", y, ksize=(2, 2), strides=(2, 2), padding="VALID")
    s = fb.op("nn.softmax", fb.op("array.transpose", z, perm=(0, 3, 1, 2)), axis=1)
    function = fb.ret([y, z, s])
    verify(Module([function]))
    for e, got in zip(run_function(function, [x, f]), jit(function)(x, f)):
        np.testing.assert_allclose(got, e, rtol=1e-12, atol=1e-12)


# random ------------------------------------------------------------------------------------
def _random_group(cases):
    fb = FunctionBuilder("main", [TensorType((), dt.int64)])
    results = []
    for name, attrs in cases:
        results.extend(fb.create(name, [fb.args[0]], attrs).results)
    function = fb.ret(results)
    verify(Module([function]))
    native = jit(function)
    for counter in (0, 1 << 20, -1, 2**63 - 1):
        c = np.array(counter, np.int64)
        for (name, attrs), e, got in zip(cases, run_function(function, [c]), native(c)):
            np.testing.assert_array_equal(got, e, err_msg=f"{name} {attrs} counter={counter}")


def test_random_floats_bit_exact():
    cases = []
    for name in ("random.uniform", "random.normal", "random.truncated_normal"):
        for dtype in (dt.float16, dt.float32, dt.float64):
            for shape, seed, seed2 in [((7, 5), 1, 2), ((1023,), 87654321987, -5), ((0,), 3, 4)]:
                cases.append((name, {"shape": shape, "dtype": dtype, "seed": seed, "seed2": seed2}))
    _random_group(cases)


def test_random_uniform_int_bit_exact():
    _random_group([("random.uniform_int", {"shape": (5, 7), "minval": lo, "maxval": hi,
                                           "dtype": dtype, "seed": 9, "seed2": 10})
                   for dtype, lo, hi in [(dt.int32, -5, 17), (dt.int32, -2**31, 2**31 - 1),
                                         (dt.int64, -2**63, 2**63 - 1), (dt.int64, 10, 1000003),
                                         (dt.int64, 0, 1)]])


def test_dropout_bit_exact():
    g = Group()
    for dtype in FLOATS:
        for rate, noise, counter in [(0.3, None, 0), (0.5, (1, 9), 9 * 256), (0.0, None, 0),
                                     (0.9, (4, 1), -1), (0.5, (9,), 0), (0.2, None, 36 * 256)]:
            x = randn((4, 9), dtype)
            x[0, 0] = np.nan
            g.add("nn.dropout", [x, np.array(counter, np.int64)],
                  {"rate": rate, "seed": 5, "seed2": 77, "noise_shape": noise})
    g.check(exact=True)
