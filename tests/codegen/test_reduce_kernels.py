"""Native reductions, argmax/argmin (kernels/reduce.py) and add_n against the interpreter.

Tolerances: integer, boolean, max/min and argmax/argmin results are exact. Float sums and
means accumulate in another order than numpy's pairwise sum (float32 lanes flushed into
float64 totals), so they agree within 1e-5 relative plus an absolute 1e-6 * sum(|x|) (the
scale of any float32 sum's rounding error, which matters where values cancel); float16 to
one half-precision ulp (2e-3 relative). Products: 1e-5 (float32), 2e-3 (float16)."""

from __future__ import annotations

import numpy as np
import pytest

from tfc.codegen.llvm.native import NativeError, NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.runtime.interpreter import InterpreterError, run_function

from .harness import one_op_function

# Compiled functions stay alive for the whole module: an MCJIT engine owns the (cached)
# target machine, so freeing one would free the machine the next compilation uses.
_KEEP: list[NativeFunction] = []

RNG = np.random.default_rng(11)
FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
REDUCTIONS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"]
# (axes, keep_dims) on a (5, 37, 9) input: every simplified layout (innermost reduced or
# kept, reduced dims before the kept ones, all, none) and the size-1 / negative-axis cases.
AXES = [(None, False), ([2], False), ([1], True), ([0], False), ([0, 2], False),
        ([0, 1], True), ([1, 2], False), ([-1, 0], True), ([], False)]


def jit(function) -> NativeFunction:
    native = NativeFunction.jit(function)
    _KEEP.append(native)
    return native


def data(shape, dtype, low=None, high=None):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return RNG.integers(info.min if low is None else low, info.max if high is None else high,
                            shape, dtype=dtype, endpoint=True)
    return RNG.uniform(-1 if low is None else low, 1 if high is None else high, shape).astype(dtype)


def compare(expected, got, inputs, rtol, scale=1e-6):
    for e, g in zip(expected, got):
        e = np.asarray(e)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if e.dtype.kind == "f":
            atol = scale * max(float(np.nansum(np.abs(x.astype(np.float64))))
                               for x in inputs if x.dtype.kind == "f") if scale else 0.0
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, e)


def check_function(build, inputs, rtol=1e-5, scale=1e-6):
    inputs = [np.asarray(x) for x in inputs]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in inputs]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(inputs))])
    function = fb.ret(list(build(fb, list(fb.args))))
    verify(Module([function]))
    expected = run_function(function, inputs)
    got = jit(function)(*inputs)
    compare(expected, got, inputs, rtol, scale)
    return got


def check(name, inputs, attrs=None, rtol=1e-5, scale=1e-6):
    inputs = [np.asarray(x) for x in inputs]
    function = one_op_function(name, inputs, attrs or {})
    expected = run_function(function, inputs)
    got = jit(function)(*inputs)
    compare(expected, got, inputs, rtol, scale)
    return got


AXES_SHORT = [(None, False), ([2], False), ([0], True), ([0, 2], False)]


def all_axes(name, axes_list=AXES):
    def build(fb, a):
        return [fb.op(f"math.{name}", a[0], axes=axes, keep_dims=kd) for axes, kd in axes_list]
    return build


# Every reduction, dtype and layout ----------------------------------------------------------------
@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_float_reductions(name, dtype):
    x = data((5, 37, 9), dtype, 0.5, 1.5) if name == "reduce_prod" else data((5, 37, 9), dtype)
    x[0, 0, 0] = -0.0
    rtol = 2e-3 if dtype == np.float16 else 1e-5
    if name == "reduce_prod":
        # Products of hundreds of values leave float16; keep the reductions short there.
        x = x[:, :3] if dtype == np.float16 else x[:, :20]
    check_function(all_axes(name), [x], rtol=rtol, scale=1e-3 if dtype == np.float16 else 1e-6)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dtype", INTS)
def test_int_reductions(name, dtype):
    # Full-range values: sums and products wrap, means of 64-bit sums round toward zero.
    # Every layout for int32; the main ones for the other widths (compile time).
    check_function(all_axes(name, AXES if dtype == np.int32 else AXES_SHORT),
                   [data((5, 37, 9), dtype)])


@pytest.mark.parametrize("name", ["reduce_any", "reduce_all"])
def test_bool_reductions(name):
    x = data((5, 37, 9), np.bool_)
    x[1] = not name.endswith("any")          # a slab where the answer is decided by all
    check_function(all_axes(name), [x])


def test_int_mean_rounds_toward_zero():
    x = np.array([[-7, 1, 2], [7, -1, -2], [-5, 0, 0], [127, 127, 127]], np.int8)
    check("math.reduce_mean", [x], {"axes": [1]})
    big = np.full((3, 4), np.iinfo(np.int64).max, np.int64)          # the int64 sum wraps
    check("math.reduce_mean", [big], {"axes": [1]})
    check("math.reduce_mean", [np.full((2, 5), 2 ** 64 - 3, np.uint64)], {"axes": [0]})


# Long reductions: the vector loop, its chunks and float32 accuracy ---------------------------------
@pytest.mark.parametrize("shape, axes", [((3, 100003), [1]), ((100003, 3), [0]),
                                         ((300, 7, 301), [0, 2]), ((200001,), None),
                                         ((64, 50, 129), [0, 1])])
def test_long_float32_sums(shape, axes):
    x = data(shape, np.float32, 0, 1)        # no cancellation: a tight relative check
    got = check("math.reduce_sum", [x], {"axes": axes}, scale=0)[0]
    # Accurate, not just close to numpy (whose sums over an outer axis are sequential).
    exact = np.sum(x.astype(np.float64), axis=None if axes is None else tuple(axes))
    np.testing.assert_allclose(got, exact, rtol=1e-6)
    check("math.reduce_mean", [x], {"axes": axes}, scale=0)


def test_long_reductions_other_ops():
    x = data((3, 5001), np.float32)
    x[1, 4321] = np.nan
    x[2, 5000] = np.inf                      # in the scalar tail
    check_function(lambda fb, a: [fb.op("math.reduce_max", a[0], axes=[1]),
                                  fb.op("math.reduce_min", a[0], axes=[1]),
                                  fb.op("math.reduce_max", a[0], axes=[0]),
                                  fb.op("math.argmax", a[0], axis=1),
                                  fb.op("math.argmin", a[0], axis=1)], [x], scale=0)
    i = data((4099, 3), np.int16)
    check_function(lambda fb, a: [fb.op("math.reduce_sum", a[0], axes=[0]),
                                  fb.op("math.reduce_mean", a[0], axes=[0]),
                                  fb.op("math.reduce_max", a[0], axes=None)], [i])


# NaN, infinities, empty reductions -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_inf(dtype):
    x = data((4, 40), dtype)
    x[0, 3] = np.nan                          # in the vector part
    x[1, 39] = np.nan                         # in the tail
    x[2, :] = -np.inf
    x[3, 5] = np.inf
    x[3, 7] = -np.inf
    rtol = 2e-3 if dtype == np.float16 else 1e-5

    def build(fb, a):
        return [fb.op(f"math.{n}", a[0], axes=ax, keep_dims=False)
                for n in ("reduce_max", "reduce_min", "reduce_sum", "reduce_mean")
                for ax in ([1], [0])]
    check_function(build, [x], rtol=rtol, scale=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the interpreter's 0/0
def test_empty_reductions():
    for dtype in (np.float32, np.float16, np.int32, np.uint8, np.int64):
        x = np.zeros((0, 3), dtype)
        check_function(lambda fb, a: [fb.op(f"math.{n}", a[0], axes=[0], keep_dims=False)
                                      for n in REDUCTIONS] +
                       [fb.op(f"math.{n}", a[0], axes=None, keep_dims=True)
                        for n in REDUCTIONS] +
                       [fb.op("math.reduce_sum", a[0], axes=[1], keep_dims=False)], [x])
    b = np.zeros((2, 0), bool)
    check_function(lambda fb, a: [fb.op("math.reduce_any", a[0], axes=[1], keep_dims=False),
                                  fb.op("math.reduce_all", a[0], axes=[1], keep_dims=False)], [b])


# argmax / argmin ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + INTS + [np.bool_])
def test_arg(dtype):
    x = data((6, 45, 7), dtype)
    if np.dtype(dtype).kind in "iub":
        x = data((6, 45, 7), dtype, 0, 3) if dtype != np.bool_ else x  # many ties
    else:
        x = np.round(x * 2) / 2                                           # ties
        x[0, 5, 0] = np.nan
        x[1, :, 1] = np.nan                                               # all NaN: index 0
        x[2, :3, 2] = -np.inf
        x[3, 0, :] = np.nan                                               # NaN first

    def build(fb, a):
        return [fb.op(f"math.{n}", a[0], axis=axis, output_type=ot)
                for n in ("argmax", "argmin") for axis, ot in
                ((0, dt.int64), (1, dt.int32), (-1, dt.int64))]
    check_function(build, [x])


def test_arg_edges():
    check("math.argmax", [np.zeros((0, 3), np.float32)], {"axis": 1})       # empty output
    check("math.argmin", [np.array([3.0, -np.inf, -np.inf], np.float32)], {"axis": 0})
    x = np.zeros((2, 0), np.float32)
    function = one_op_function("math.argmax", [x], {"axis": 1})
    with pytest.raises(InterpreterError):
        run_function(function, [x])
    with pytest.raises(NativeError):
        jit(function)(x)


# add_n ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + [np.int8, np.uint32, np.int64])
def test_add_n(dtype):
    xs = [data((3, 1023), dtype) for _ in range(4)]
    check("math.add_n", xs, rtol=0 if dtype != np.float16 else 1e-3, scale=0)
    check("math.add_n", xs[:1], scale=0)
    if dtype == np.float16:
        # Left to right in float16: 60000 + 60000 overflows before - 60000.
        big = np.full((5,), 60000, np.float16)
        check("math.add_n", [big, big, -big], scale=0)


# Layouts produced by transposes, and the multi-threaded paths -------------------------------------
def test_reductions_of_transposed_values():
    x = data((6, 20, 33), np.float32)

    def build(fb, a):
        t = fb.op("array.transpose", a[0], perm=[2, 0, 1])
        return [fb.op("math.reduce_sum", t, axes=[1], keep_dims=False),
                fb.op("math.reduce_max", t, axes=[0, 2], keep_dims=True),
                fb.op("math.argmin", t, axis=0),
                fb.op("math.reduce_mean", t, axes=None, keep_dims=False)]
    check_function(build, [x])


def test_large_parallel():
    x = data((700, 1031), np.float32)

    def build(fb, a):
        return [fb.op("math.reduce_sum", a[0], axes=[1], keep_dims=False),
                fb.op("math.reduce_sum", a[0], axes=[0], keep_dims=False),
                fb.op("math.reduce_max", a[0], axes=[1], keep_dims=False),
                fb.op("math.reduce_min", a[0], axes=[0], keep_dims=False),
                fb.op("math.argmax", a[0], axis=1),
                fb.op("math.argmin", a[0], axis=0)]
    check_function(build, [x])
    y = data((40, 30, 1100), np.float64)
    check_function(lambda fb, a: [fb.op("math.reduce_mean", a[0], axes=[0, 2], keep_dims=False),
                                  fb.op("math.reduce_prod", a[0], axes=[1], keep_dims=False)],
                   [y * 0 + 1 + y * 1e-3])
