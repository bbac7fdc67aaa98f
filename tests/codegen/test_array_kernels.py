"""Native array.* kernels (kernels/array.py) against the interpreter: every result must be
bit-exact (data movement never rounds), for every storage dtype, odd and empty shapes, inputs
produced by transposes, the multi-threaded paths (large tensors) and the run-time index
checks of gathers."""

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

RNG = np.random.default_rng(7)
ALL_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
              np.int32, np.uint32, np.int64, np.uint64, np.bool_]


def data(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return RNG.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    x = RNG.standard_normal(shape).astype(dtype)
    if x.size > 4:
        x.flat[1], x.flat[3] = np.nan, -np.inf
    return x


def jit(function) -> NativeFunction:
    native = NativeFunction.jit(function)
    _KEEP.append(native)
    return native


def run_both(function, inputs):
    expected = run_function(function, inputs)
    got = jit(function)(*inputs)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        e = np.asarray(e)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        # Bit-exact: compare the bytes (NaN payloads and -0.0 included).
        assert g.tobytes() == np.ascontiguousarray(e).tobytes(), (g, e)
    return got


def check(name, inputs, attrs=None):
    inputs = [np.asarray(x) for x in inputs]
    return run_both(one_op_function(name, inputs, attrs or {}), inputs)


def check_function(build, inputs):
    """`build(fb, args)` returns the results of a multi-op function."""
    inputs = [np.asarray(x) for x in inputs]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in inputs]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(inputs))])
    function = fb.ret(list(build(fb, list(fb.args))))
    verify(Module([function]))
    return run_both(function, inputs)


def check_fails(name, inputs, attrs=None):
    """The interpreter raises a run-time error and native code reports the op as failed."""
    inputs = [np.asarray(x) for x in inputs]
    function = one_op_function(name, inputs, attrs or {})
    with pytest.raises(InterpreterError):
        run_function(function, inputs)
    with pytest.raises(NativeError):
        jit(function)(*inputs)


# Transposes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, perm", [
    ((37, 45), (1, 0)),                     # tiled, partial tiles on both edges
    ((64, 48), (1, 0)),                     # full tiles only
    ((3, 5, 7), (2, 0, 1)),
    ((2, 3, 4, 5), (0, 3, 1, 2)),           # NHWC -> NCHW
    ((2, 17, 19, 33), (0, 2, 3, 1)),        # NCHW -> NHWC
    ((1, 7, 1, 3), (3, 2, 1, 0)),           # size-1 dims
    ((1023, 3), (1, 0)),
    ((5, 6, 7), (0, 1, 2)),                 # identity: one memcpy
    ((5, 6, 7), (1, 0, 2)),                 # rows stay contiguous
    ((0, 3), (1, 0)),
    ((), ()),
])
def test_transpose_shapes(shape, perm):
    check("array.transpose", [data(shape)], {"perm": list(perm)})


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_transpose_dtypes(dtype):
    # Several ops per function: tiled (both dims >= a tile), edge-only, and a 3-d permutation.
    x, y = data((70, 37), dtype), data((4, 33, 9), dtype)
    check_function(lambda fb, a: [fb.op("array.transpose", a[0], perm=[1, 0]),
                                  fb.op("array.transpose", a[1], perm=[2, 0, 1]),
                                  fb.op("array.transpose", a[1], perm=[1, 2, 0])], [x, y])


def test_transpose_negative_perm():
    check("array.transpose", [data((4, 5, 6))], {"perm": [-1, 0, 1]})


# Slices and strided slices --------------------------------------------------------------------
def test_slice():
    x = data((7, 9, 11), np.int16)
    check_function(lambda fb, a: [
        fb.op("array.slice", a[0], begin=[1, 2, 3], size=[3, -1, 5]),
        fb.op("array.slice", a[0], begin=[0, 0, 0], size=[7, 9, 11]),
        fb.op("array.slice", a[0], begin=[6, 0, 0], size=[1, 9, 11]),
        fb.op("array.slice", a[0], begin=[2, 3, 4], size=[0, 2, 2]),
        fb.op("array.slice", a[0], begin=[0, 8, 10], size=[-1, 1, 1])], [x])


@pytest.mark.parametrize("attrs", [
    dict(begin=[2, 0, -1], end=[0, 5, 0], strides=[-1, 2, -2]),
    dict(begin=[1, 0, 0], end=[5, 0, 0], strides=[2, 1, 1], end_mask=0b110),
    dict(begin=[0, 2], end=[0, 0], strides=[1, 1], begin_mask=1, end_mask=3),
    dict(begin=[0, 1], end=[0, 0], strides=[1, -1], ellipsis_mask=1, shrink_axis_mask=0),
    dict(begin=[1, 0, 3], end=[2, 0, 4], strides=[1, 1, 1], shrink_axis_mask=0b101,
         new_axis_mask=0b010),
    dict(begin=[0, -2], end=[0, -100], strides=[1, -3], ellipsis_mask=1),
    dict(begin=[-1], end=[0], strides=[1], shrink_axis_mask=1),
    dict(begin=[0, 0, 0, 0], end=[0, 0, 0, 0], strides=[1, 1, 1, 1], new_axis_mask=0b1001,
         ellipsis_mask=0b0100),
    dict(begin=[3, 0, 0], end=[3, 0, 0], strides=[1, 1, 1]),     # empty
])
def test_strided_slice(attrs):
    check("array.strided_slice", [data((6, 7, 9), np.float64)], attrs)


# Split, concat, stack, unstack -----------------------------------------------------------------
def test_split_and_concat():
    x = data((4, 10, 3), np.uint8)
    check_function(lambda fb, a: [
        *fb.op("array.split", a[0], axis=1, sizes=[1, -1, 3, 0]),
        *fb.op("array.split", a[0], axis=-1, num=3),
        *fb.op("array.split", a[0], axis=0, num=2)], [x])
    y, z, w = data((4, 2, 3)), data((4, 0, 3)), data((4, 5, 3))
    check_function(lambda fb, a: [
        fb.op("array.concat", *a, axis=1),
        fb.op("array.concat", a[0], a[0], axis=-1),
        fb.op("array.concat", a[2], a[0], axis=0 + 1)], [y, z, w])
    check("array.concat", [data((3,), np.bool_), data((1,), np.bool_)], {"axis": 0})
    check("array.concat", [data((2, 3), np.int64)] * 3, {"axis": 0})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_unstack(axis):
    xs = [data((3, 5), np.float16) for _ in range(3)]
    check("array.stack", xs, {"axis": axis})
    check("array.unstack", [data((3, 4, 2), np.int32)], {"axis": axis})


def test_stack_unstack_edges():
    check("array.stack", [data((0, 2)), data((0, 2))], {"axis": 1})
    check("array.stack", [data(()), data(())], {"axis": 0})
    check("array.unstack", [data((2, 0))], {"axis": 0})
    check("array.unstack", [data((5,), np.bool_)], {"axis": 0})


# Tile, broadcast_to, reverse ---------------------------------------------------------------------
def test_tile_broadcast_reverse():
    x = data((3, 1, 4), np.int8)
    check_function(lambda fb, a: [
        fb.op("array.tile", a[0], multiples=[2, 3, 1]),
        fb.op("array.tile", a[0], multiples=[1, 5, 3]),
        fb.op("array.tile", a[0], multiples=[1, 0, 2]),
        fb.op("array.broadcast_to", a[0], shape=[2, 3, 6, 4]),
        fb.op("array.broadcast_to", a[0], shape=[3, 1, 4]),
        fb.op("array.reverse", a[0], axes=[0, 2]),
        fb.op("array.reverse", a[0], axes=[-1]),
        fb.op("array.reverse", a[0], axes=[1]),
        fb.op("array.reverse", a[0], axes=[])], [x])
    check("array.broadcast_to", [data((1,), np.float64)], {"shape": [1023]})
    check("array.broadcast_to", [data((5, 1), np.uint16)], {"shape": [0, 5, 7]})
    check("array.tile", [data((), np.float32)], {"multiples": []})
    check("array.reverse", [data((7, 1023), np.float16)], {"axes": [0, 1]})


# Padding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad_modes(mode):
    x = data((3, 5, 4), np.float32)
    attrs = {"mode": mode}
    if mode == "CONSTANT":
        attrs["constant_value"] = 2.5
    check_function(lambda fb, a: [
        fb.op("array.pad", a[0], paddings=[1, 2, 2, 1, 3, 3], **attrs),
        fb.op("array.pad", a[0], paddings=[0, 0, 2, 2, 0, 0], **attrs),     # one dim
        fb.op("array.pad", a[0], paddings=[2, 1, 0, 0, 0, 0], **attrs),     # outermost only
        fb.op("array.pad", a[0], paddings=[0, 0, 0, 0, 1, 2], **attrs),     # innermost only
        fb.op("array.pad", a[0], paddings=[0, 0, 0, 0, 0, 0], **attrs)], [x])
    check("array.pad", [data((6,), np.float64)], {"paddings": [3, 2], **attrs})


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_pad_dtypes(dtype):
    x = data((2, 3, 5), dtype)
    # constant_value 1 is not a uniform byte pattern (no memset), 0 is.
    check_function(lambda fb, a: [
        fb.op("array.pad", a[0], paddings=[1, 0, 0, 2, 1, 1], constant_value=1.0),
        fb.op("array.pad", a[0], paddings=[0, 1, 1, 1, 0, 3], constant_value=0.0),
        fb.op("array.pad", a[0], paddings=[1, 1, 2, 2, 4, 4], mode="REFLECT"),
        fb.op("array.pad", a[0], paddings=[2, 2, 3, 1, 5, 5], mode="SYMMETRIC")], [x])


def test_pad_empty_input():
    check("array.pad", [data((0, 3))], {"paddings": [1, 1, 0, 2], "constant_value": -1.0})
    check("array.pad", [data((2, 0), np.int8)], {"paddings": [1, 0, 0, 0], "mode": "SYMMETRIC"})
    check("array.pad", [data((), np.float64)], {"paddings": []})


# Gathers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_gather(idx_dtype):
    p = data((4, 6, 5), np.float32)
    i1 = RNG.integers(0, 6, (3, 2)).astype(idx_dtype)
    i0 = RNG.integers(0, 4, (7,)).astype(idx_dtype)
    ib = RNG.integers(0, 5, (4, 3)).astype(idx_dtype)
    check_function(lambda fb, a: [
        fb.op("array.gather", a[0], a[1], axis=1),
        fb.op("array.gather", a[0], a[2], axis=0),
        fb.op("array.gather", a[0], a[2], axis=-1),
        fb.op("array.gather", a[0], a[3], axis=2, batch_dims=1),
        fb.op("array.gather", a[0], a[3], axis=-1, batch_dims=-1)], [p, i1, i0, ib])
    check("array.gather", [data((5,), np.bool_), np.array(3, idx_dtype)])
    check("array.gather", [data((5, 0), np.int8), np.array([4, 0], idx_dtype)])
    check("array.gather", [data((5, 2), np.int8), np.zeros((0,), idx_dtype)])


def test_gather_out_of_range():
    p = data((4, 6))
    check_fails("array.gather", [p, np.array([0, 6], np.int32)], {"axis": 1})
    check_fails("array.gather", [p, np.array([[1], [-1]], np.int64)])
    check_fails("array.gather", [data((0, 3)), np.array([0], np.int32)])
    check_fails("array.gather", [data((3, 0)), np.array([3], np.int64)])  # even when copying nothing


@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_gather_nd(idx_dtype):
    p = data((4, 6, 5), np.uint16)
    full = np.stack([RNG.integers(0, n, (2, 3)) for n in (4, 6, 5)], -1).astype(idx_dtype)
    part = np.stack([RNG.integers(0, n, (7,)) for n in (4, 6)], -1).astype(idx_dtype)
    none = np.zeros((3, 0), idx_dtype)
    check_function(lambda fb, a: [fb.op("array.gather_nd", a[0], a[1]),
                                  fb.op("array.gather_nd", a[0], a[2]),
                                  fb.op("array.gather_nd", a[0], a[3])], [p, full, part, none])
    check("array.gather_nd", [data((4, 0), np.float32), np.zeros((0, 1), idx_dtype)])


def test_gather_nd_out_of_range():
    p = data((4, 6))
    check_fails("array.gather_nd", [p, np.array([[0, 6]], np.int32)])
    check_fails("array.gather_nd", [p, np.array([[-1]], np.int64)])
    check_fails("array.gather_nd", [data((0, 3)), np.zeros((2, 0), np.int32)])
    check_fails("array.gather_nd", [data((4, 0)), np.zeros((2, 1), np.int64)])


# Creating tensors ------------------------------------------------------------------------------
@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64, np.uint8])
def test_one_hot(idx_dtype):
    idx = np.array([[0, 2, 9], [5, 1, 3]]).astype(idx_dtype)
    if idx_dtype != np.uint8:
        idx[0, 2] = -1
    check_function(lambda fb, a: [
        fb.op("array.one_hot", a[0], depth=4),
        fb.op("array.one_hot", a[0], depth=6, axis=1, on_value=5.0, off_value=-1.0,
              dtype=dt.int16),
        fb.op("array.one_hot", a[0], depth=3, axis=0, dtype=dt.bool_),
        fb.op("array.one_hot", a[0], depth=0, dtype=dt.float64),
        fb.op("array.one_hot", a[0], depth=5, on_value=0.5, dtype=dt.float16)], [idx])


def test_fill_range_shape():
    for dtype in ALL_DTYPES:
        check("array.fill", [data((), dtype)], {"shape": [3, 1, 7]})
    check("array.fill", [np.float32(1.0)], {"shape": [0, 4]})
    for dtype, (start, limit, delta) in [(dt.int32, (-3, 20, 4)), (dt.int64, (10, -7, -3)),
                                         (dt.float32, (0.5, 3.0, 0.3)), (dt.float64, (1, 0, -0.1)),
                                         (dt.uint16, (1, 10, 2)), (dt.int8, (-100, 100, 7)),
                                         (dt.float32, (1, 1, 1))]:
        check("array.range", [], {"start": start, "limit": limit, "delta": delta, "dtype": dtype})
    check("array.shape", [data((3, 0, 5))], {"out_type": dt.int64})
    check("array.shape", [data(())], {"out_type": dt.int32})


# Multi-op functions ------------------------------------------------------------------------------
def test_ops_on_transposed_values():
    x = data((6, 10, 8))
    idx = np.array([3, 0, 7], np.int32)

    def build(fb, a):
        t = fb.op("array.transpose", a[0], perm=[2, 0, 1])            # (8, 6, 10)
        return [fb.op("array.slice", t, begin=[1, 0, 2], size=[5, -1, 7]),
                fb.op("array.pad", t, paddings=[0, 1, 2, 0, 1, 1], mode="SYMMETRIC"),
                fb.op("array.gather", t, a[1], axis=0),
                fb.op("array.transpose", t, perm=[1, 2, 0]),          # back to x
                fb.op("array.concat", t, t, axis=2),
                fb.op("array.reverse", t, axes=[0])]
    check_function(build, [x, idx])


def test_identity_with_several_operands():
    x, y = data((3, 4)), data((5,), np.int32)

    def build(fb, a):
        t = fb.op("array.transpose", a[0], perm=[1, 0])
        i0, i1, i2 = fb.op("core.identity", t, a[1], a[0])
        return [i0, i1, fb.op("array.reverse", i0, axes=[0]), i2, t]
    check_function(build, [x, y])


# Large tensors: the multi-threaded paths ------------------------------------------------------------
def test_large_parallel():
    x = data((640, 1100))
    idx = RNG.integers(0, 640, (900,)).astype(np.int32)

    def build(fb, a):
        return [fb.op("array.transpose", a[0], perm=[1, 0]),
                fb.op("array.slice", a[0], begin=[3, 5], size=[630, 1090]),
                fb.op("array.concat", a[0], a[0], axis=1),
                fb.op("array.pad", a[0], paddings=[2, 3, 1, 4], constant_value=1.0),
                fb.op("array.pad", a[0], paddings=[2, 3, 1, 4], mode="REFLECT"),
                fb.op("array.gather", a[0], a[1], axis=0),
                fb.op("array.broadcast_to", fb.op("array.slice", a[0], begin=[0, 0],
                                                  size=[1, 1100]), shape=[700, 1100]),
                fb.op("array.one_hot", a[1], depth=700)]
    check_function(build, [x, idx])
    check("array.transpose", [data((3, 200, 1500), np.float16)], {"perm": [2, 0, 1]})


# Diagonals and bands -------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [(0,), (2,), (-3,), (-1, 2), (-4, 6), (1, 3)])
def test_matrix_diag_family(k):
    x = data((2, 5, 7), np.float32)
    aligns = ["RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT"]
    parts = check_function(lambda fb, a: [
        fb.op("array.matrix_diag_part", a[0], k=list(k), align=al, padding_value=9.0)
        for al in aligns], [x])

    def build(fb, a):
        out = []
        for al, d in zip(aligns, a[1:]):
            out += [fb.op("array.matrix_diag", d, k=list(k), align=al, padding_value=-1.0),
                    fb.op("array.matrix_diag", d, k=list(k), align=al, num_rows=5, num_cols=7),
                    fb.op("array.matrix_set_diag", a[0], d, k=list(k), align=al)]
        return out
    check_function(build, [x] + parts)


def test_band_part_and_diag():
    x = data((2, 6, 5), np.int16)
    check_function(lambda fb, a: [
        fb.op("array.matrix_band_part", a[0], num_lower=nl, num_upper=nu)
        for nl, nu in [(0, 0), (-1, 0), (1, -1), (2, 3), (-1, -1), (6, 5)]], [x])
    check("array.matrix_diag", [data((3, 4), np.bool_)])
    check("array.matrix_diag_part", [data((3, 0, 4), np.float64)])
    check("array.diag", [data((2, 3), np.float16)])
    check("array.diag_part", [data((2, 3, 2, 3), np.uint8)])
