"""Tests of the array ops (tfc/ir/ops/array.py) against numpy, hand-computed values and values
obtained once from TensorFlow 2.21 (tf.compat.v1 semantics; noted where used)."""

from __future__ import annotations

import numpy as np
import pytest

import tfc.ir.ops  # noqa: F401  (registers the op table)
from tfc.ir import dtypes as dt
from tfc.ir.builder import BuildError, FunctionBuilder
from tfc.ir.types import TensorType
from tfc.runtime.interpreter import InterpreterError, evaluate_op, run_function

f32 = np.float32
A6 = np.arange(6, dtype=f32).reshape(2, 3)
A24 = np.arange(24, dtype=np.int32).reshape(2, 3, 4)

EXAMPLES = [
    ("array.reshape", [A6], {"shape": [3, -1]}),
    ("array.transpose", [A6], {"perm": [1, 0]}),
    ("array.slice", [A6], {"begin": [0, 1], "size": [-1, 2]}),
    ("array.strided_slice", [A24], {"begin": [1, 0, 0], "end": [0, 0, 0], "strides": [1, 1, -1],
                                    "end_mask": 6, "begin_mask": 4, "shrink_axis_mask": 1}),
    ("array.split", [A6], {"axis": 1, "sizes": [1, -1]}),
    ("array.concat", [A6, A6], {"axis": -1}),
    ("array.pad", [A6], {"paddings": [1, 0, 2, 2], "mode": "REFLECT"}),
    ("array.gather", [A6, np.array([2, 0], np.int32)], {"axis": 1}),
    ("array.gather_nd", [A6, np.array([[1, 2], [0, 0]], np.int64)], {}),
    ("array.one_hot", [np.array([0, 2, -1], np.int32)], {"depth": 3}),
    ("array.tile", [A6], {"multiples": [2, 1]}),
    ("array.stack", [A6, A6], {"axis": 1}),
    ("array.unstack", [A6], {"axis": 1}),
    ("array.expand_dims", [A6], {"axis": -1}),
    ("array.squeeze", [np.zeros((1, 3, 1), f32)], {}),
    ("array.broadcast_to", [np.arange(3, dtype=f32)], {"shape": [2, 3]}),
    ("array.reverse", [A6], {"axes": [0, -1]}),
    ("array.shape", [A6], {"out_type": "int64"}),
    ("array.fill", [np.array(1.5, f32)], {"shape": [2, 2]}),
    ("array.range", [], {"start": 1.0, "limit": 10.0, "delta": 3.0}),
    ("array.where", [np.array([[True, False], [False, True]])], {}),
    ("array.matrix_diag_part", [A24], {"k": [-1, 1], "padding_value": 9.0}),
    ("array.matrix_diag", [np.array([[1, 2], [3, 4]], np.int32)], {"k": [0, 1]}),
    ("array.matrix_set_diag", [A6, np.array([7, 8], f32)], {"k": [1]}),
    ("array.matrix_band_part", [A24], {"num_lower": 1, "num_upper": -1}),
    ("array.diag", [np.array([1, 2], np.int32)], {}),
    ("array.diag_part", [np.arange(16, dtype=f32).reshape(2, 2, 2, 2)], {}),
]


# Helpers -------------------------------------------------------------------------------------
def types_of(name, arg_types, attrs=None):
    """Result types of `name` on arguments of `arg_types` ((shape, dtype) pairs)."""
    fb = FunctionBuilder("f", [TensorType(s, d) for s, d in arg_types])
    return [r.type for r in fb.create(name, list(fb.args), attrs or {}).results]


def shape_of(name, shape, attrs=None, dtype=dt.float32):
    (t,) = types_of(name, [(shape, dtype)], attrs)
    return t.shape


def run_with_types(name, arrays, attrs, arg_types):
    """Run `name` in a function whose arguments have the (less specific) `arg_types` shapes."""
    fb = FunctionBuilder("f", [TensorType(s, dt.from_numpy(a.dtype)) for s, a in zip(arg_types, arrays)])
    fn = fb.ret(list(fb.create(name, list(fb.args), attrs).results))
    return run_function(fn, arrays)


def check(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name,inputs,attrs", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_run(name, inputs, attrs):
    evaluate_op(name, *inputs, **attrs)


# array.reshape -------------------------------------------------------------------------------
@pytest.mark.parametrize("in_shape,shape,want", [
    ((2, 3), [3, 2], (3, 2)),
    ((2, 3), [-1], (6,)),
    ((2, 3), [1, -1, 2], (1, 3, 2)),
    ((), [1, 1], (1, 1)),
    ((1, 1), [], ()),
    ((0, 3), [-1, 3], (0, 3)),
    ((0, 3), [5, 0, -1], (5, 0, 0)),
    # TF leaves zero dims out of both counts when the shape has a zero dim: [0,3] -> [-1,0]
    # gives [3,0] and [2,0,3] -> [-1,0,2] gives [3,0,2] (values from TF 2.21).
    ((0, 3), [-1, 0], (3, 0)),
    ((2, 0, 3), [-1, 0, 2], (3, 0, 2)),
])
def test_reshape(in_shape, shape, want):
    x = np.arange(np.prod(in_shape), dtype=f32).reshape(in_shape)
    check(evaluate_op("array.reshape", x, shape=shape), x.reshape(want))


@pytest.mark.parametrize("in_shape,shape,want", [
    ((None, 4), [-1, 2, 2], (None, 2, 2)),
    ((None, 4), [3, 2, 2], (3, 2, 2)),
    ((None, 3), [-1, 4], (None, 4)),
    (None, [-1, 2], (None, 2)),
    (None, [2, 2], (2, 2)),
    ((0, None), [-1, 4], (0, 4)),      # no zero in the shape: an empty input gives 0 for -1
    ((None, 3), [-1, 0], (None, 0)),
])
def test_reshape_infer(in_shape, shape, want):
    assert shape_of("array.reshape", in_shape, {"shape": shape}) == want


@pytest.mark.parametrize("in_shape,shape,match", [
    ((2, 3), [4], r"Cannot reshape a tensor with 6 elements to shape \[4\] \(4 elements\)"),
    ((2, 3), [-1, 4], "Input to reshape is a tensor with 6 values, but the requested shape "
                      "requires a multiple of 4"),
    ((2, 3), [-1, -1], "Only one input size may be -1, not both 0 and 1"),
    ((2, 3), [-2, 3], "Size 0 must be non-negative, not -2"),
    ((2, 3), [-1, 0], "Input to reshape is a tensor with 6 values, but the requested shape has 0"),
    ((None, 3), [4], r"to shape \[4\] \(4 elements, not a multiple of 3\)"),
])
def test_reshape_errors(in_shape, shape, match):
    with pytest.raises(BuildError, match=match):
        shape_of("array.reshape", in_shape, {"shape": shape})


def test_reshape_runtime_error_with_unknown_dim():
    with pytest.raises(InterpreterError, match="requires a multiple of 4"):
        run_with_types("array.reshape", [np.zeros((2, 3), f32)], {"shape": [-1, 4]}, [(None, 3)])
    out, = run_with_types("array.reshape", [np.zeros((4, 3), f32)], {"shape": [-1, 4]}, [(None, 3)])
    assert out.shape == (3, 4)


# array.transpose -----------------------------------------------------------------------------
@pytest.mark.parametrize("perm", [[1, 0, 2], [2, 0, 1], [0, 1, 2], [-1, 0, 1]])
def test_transpose(perm):
    check(evaluate_op("array.transpose", A24, perm=perm), np.transpose(A24, [p % 3 for p in perm]))


def test_transpose_infer_and_errors():
    assert shape_of("array.transpose", (None, 3, 4), {"perm": [2, 0, 1]}) == (4, None, 3)
    assert shape_of("array.transpose", None, {"perm": [1, 0, 2]}) == (None, None, None)
    assert evaluate_op("array.transpose", np.zeros((0, 2)), perm=[1, 0]).shape == (2, 0)
    with pytest.raises(BuildError, match=r"transpose expects a vector of size 2. But input\(1\) is a vector of size 1"):
        shape_of("array.transpose", (2, 3), {"perm": [0]})
    with pytest.raises(BuildError, match=r"1 is missing from \{0,0\}"):
        shape_of("array.transpose", (2, 3), {"perm": [0, 0]})
    with pytest.raises(BuildError, match="perm dim 2 is out of range of input rank 2"):
        shape_of("array.transpose", (2, 3), {"perm": [0, 2]})


# array.slice ---------------------------------------------------------------------------------
@pytest.mark.parametrize("begin,size", [
    ([0, 0], [2, 3]), ([1, 1], [1, 2]), ([0, 1], [-1, -1]), ([0, 3], [1, -1]), ([2, 0], [0, 3]),
    ([1, 2], [-1, 0]),
])
def test_slice(begin, size):
    want = A6[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    check(evaluate_op("array.slice", A6, begin=begin, size=size), want)


def test_slice_infer_and_errors():
    assert shape_of("array.slice", (None, 3), {"begin": [1, 1], "size": [-1, -1]}) == (None, 2)
    assert shape_of("array.slice", (None, 3), {"begin": [1, 1], "size": [2, 1]}) == (2, 1)
    assert shape_of("array.slice", None, {"begin": [1, 1], "size": [2, -1]}) == (2, None)
    with pytest.raises(BuildError, match=r"Expected begin and size arguments to be 1-D tensors "
                                         r"of size 2, but got shapes \[1\] and \[1\] instead"):
        shape_of("array.slice", (2, 3), {"begin": [0], "size": [1]})
    with pytest.raises(BuildError, match=r"Expected begin\[1\] in \[0, 3\], but got 4"):
        shape_of("array.slice", (2, 3), {"begin": [0, 4], "size": [1, 1]})
    with pytest.raises(BuildError, match=r"Expected begin\[1\] in \[0, 3\], but got -1"):
        shape_of("array.slice", (2, 3), {"begin": [0, -1], "size": [1, 1]})
    with pytest.raises(BuildError, match=r"Expected size\[1\] in \[0, 2\], but got 3"):
        shape_of("array.slice", (2, 3), {"begin": [0, 1], "size": [1, 3]})
    with pytest.raises(BuildError, match=r"Expected size\[1\] in \[0, 2\], but got -2"):
        shape_of("array.slice", (2, 3), {"begin": [0, 1], "size": [1, -2]})
    with pytest.raises(InterpreterError, match=r"Expected size\[0\] in \[0, 2\], but got 5"):
        run_with_types("array.slice", [np.zeros((3, 3), f32)], {"begin": [1, 1], "size": [5, 1]},
                       [(None, 3)])


# array.strided_slice -------------------------------------------------------------------------
class _Index:
    def __getitem__(self, key):
        return key


I = _Index()


def strided_slice_spec(key):
    """The StridedSlice attributes Python indexing x[key] lowers to (as TF's _slice_helper)."""
    key = key if isinstance(key, tuple) else (key,)
    spec = {"begin": [], "end": [], "strides": [], "begin_mask": 0, "end_mask": 0,
            "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    for i, k in enumerate(key):
        bit = 1 << i
        if isinstance(k, slice):
            spec["begin"].append(0 if k.start is None else k.start)
            spec["end"].append(0 if k.stop is None else k.stop)
            spec["strides"].append(1 if k.step is None else k.step)
            spec["begin_mask"] |= bit if k.start is None else 0
            spec["end_mask"] |= bit if k.stop is None else 0
            continue
        spec["begin"].append(0 if k is None or k is Ellipsis else k)
        spec["end"].append(0 if k is None or k is Ellipsis else k + 1)
        spec["strides"].append(1)
        if k is Ellipsis:
            spec["ellipsis_mask"] |= bit
        elif k is None:
            spec["new_axis_mask"] |= bit
        else:
            spec["shrink_axis_mask"] |= bit
    return spec


STRIDED_CASES = [
    ((2, 3, 4), I[1:3, ..., None, ::-1, 2]),
    ((2, 3, 4), I[1]),
    ((2, 3, 4), I[-1]),
    ((2, 3, 4), I[-2, -1, -4]),
    ((2, 3, 4), I[:, 1]),
    ((2, 3, 4), I[..., 1]),
    ((2, 3, 4), I[..., ::2]),
    ((2, 3, 4), I[1, ...]),
    ((2, 3, 4), I[...]),
    ((2, 3, 4), I[None]),
    ((2, 3, 4), I[None, ..., None]),
    ((2, 3, 4), I[:, None, :, None]),
    ((2, 3, 4), I[..., None]),
    ((2, 3, 4), I[0, ..., None, 1]),
    ((2, 3, 4), I[::-1]),
    ((2, 3, 4), I[::-1, ::-2, ::-3]),
    ((2, 3, 4), I[:, 2:0:-1]),
    ((2, 3, 4), I[:, -1:0:-1]),
    ((2, 3, 4), I[:, -1::-1]),
    ((2, 3, 4), I[:, :-4:-1]),
    ((2, 3, 4), I[:, 10:-10:-1]),
    ((2, 3, 4), I[:, -10:10]),
    ((2, 3, 4), I[:, 5:7]),
    ((2, 3, 4), I[:, 2:1]),
    ((2, 3, 4), I[:, 1:2:-1]),
    ((2, 3, 4), I[:, :, 1:4:2]),
    ((2, 3, 4), I[:, :, 3:0:-2]),
    ((2, 3, 4), I[:, :, -3:]),
    ((2, 3, 4), I[-5:5, -100:100:7]),
    ((2, 3, 4), I[1, 2, 3]),
    ((2, 3, 4), I[1, None, 2]),
    ((2, 3, 4), I[..., 1, 2, 3]),
    ((2, 3, 4), I[1, ..., 2, 3]),
    ((5,), I[::-1]),
    ((5,), I[4::-2]),
    ((5,), I[-6:]),
    ((5,), I[:-6:-1]),
    ((5,), I[3]),
    ((5,), I[None, ::2, None]),
    ((0, 3), I[:, 1]),
    ((0, 3), I[::-1, ::-1]),
    ((3, 0), I[1, :]),
    ((3, 0), I[1:, ::-1]),
    ((), I[...]),
    ((), I[None]),
    ((), I[None, ..., None]),
    ((4, 1, 3, 2), I[1:, ..., ::-1]),
    ((4, 1, 3, 2), I[..., 0, :, None, 1]),
]


@pytest.mark.parametrize("shape,key", STRIDED_CASES, ids=[f"{s}-{k}" for s, k in STRIDED_CASES])
def test_strided_slice_matches_numpy_indexing(shape, key):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    check(evaluate_op("array.strided_slice", x, **strided_slice_spec(key)), x[key])


@pytest.mark.parametrize("spec,want_shape,want_first", [
    # Masks spelled directly (not reachable from Python indexing); results from TF 2.21.
    ({"begin": [0, 0], "end": [1, 1], "strides": [1, 1], "ellipsis_mask": 1, "new_axis_mask": 1},
     (2, 3, 1), [0, 4, 8]),                      # the ellipsis wins over new_axis on one bit
    ({"begin": [0, 0], "end": [1, 1], "strides": [1, 1], "new_axis_mask": 1, "shrink_axis_mask": 1},
     (1, 1, 3, 4), [0, 1, 2]),                   # new_axis wins over shrink on one bit
    ({"begin": [1], "end": [0], "strides": [1], "begin_mask": 1, "shrink_axis_mask": 1},
     (3, 4), [12, 13, 14]),                      # shrink ignores begin_mask and end
    ({"begin": [0, 0, 0, 0], "end": [1, 1, 1, 1], "strides": [1, 1, 1, 1], "new_axis_mask": 8},
     (1, 1, 1, 1), [0]),
])
def test_strided_slice_raw_masks(spec, want_shape, want_first):
    out = evaluate_op("array.strided_slice", A24, **spec)
    assert out.shape == want_shape and out.ravel()[:3].tolist() == want_first


@pytest.mark.parametrize("shape,spec,want", [
    ((2, None, 4), dict(begin=[0, 1], end=[1, 3], strides=[1, 1]), (1, None, 4)),
    ((2, None, 4), dict(begin=[0, 1], end=[1, 3], strides=[1, 1], shrink_axis_mask=2), (1, 4)),
    ((2, None, 4), dict(begin=[0, 0], end=[0, 0], strides=[1, -1], begin_mask=3, end_mask=3),
     (2, None, 4)),
    ((None, 3), dict(begin=[0], end=[0], strides=[1], new_axis_mask=1, ellipsis_mask=0),
     (1, None, 3)),
    (None, dict(begin=[0, 1], end=[1, 3], strides=[1, 1], shrink_axis_mask=2), None),
])
def test_strided_slice_infer(shape, spec, want):
    assert shape_of("array.strided_slice", shape, spec) == want


@pytest.mark.parametrize("spec,match", [
    (dict(begin=[0], end=[1], strides=[0]), r"strides\[0\] must be non-zero"),
    (dict(begin=[5], end=[6], strides=[1], shrink_axis_mask=1),
     "slice index 5 of dimension 0 out of bounds."),
    (dict(begin=[-3], end=[-2], strides=[1], shrink_axis_mask=1),
     "slice index -1 of dimension 0 out of bounds."),   # TF reports the index plus the size
    (dict(begin=[1], end=[6], strides=[-1], shrink_axis_mask=1),
     "only stride 1 allowed on non-range indexing."),
    (dict(begin=[0, 0], end=[1, 1], strides=[1, 1], ellipsis_mask=3),
     "Multiple ellipses in slice spec not allowed"),
    (dict(begin=[0] * 4, end=[1] * 4, strides=[1] * 4),
     "Index out of range using input dim 3; input has only 3 dims"),
    (dict(begin=[0, 0], end=[1, 1], strides=[1]),
     r"Expected begin, end, and strides to be 1D equal size tensors, but got shapes \[2\], "
     r"\[2\], and \[1\] instead."),
])
def test_strided_slice_errors(spec, match):
    with pytest.raises(BuildError, match=match):
        shape_of("array.strided_slice", (2, 3, 4), spec)


def test_strided_slice_runtime_bounds_with_unknown_dim():
    spec = dict(begin=[0, 5], end=[1, 6], strides=[1, 1], shrink_axis_mask=2)
    assert shape_of("array.strided_slice", (2, None, 4), spec) == (1, 4)
    with pytest.raises(InterpreterError, match="slice index 5 of dimension 1 out of bounds."):
        run_with_types("array.strided_slice", [np.zeros((2, 3, 4), f32)], spec, [(2, None, 4)])


# array.split ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,attrs,want_sizes", [
    ((2, 6), {"axis": 1, "num": 3}, [2, 2, 2]),
    ((2, 6), {"axis": -1, "num": 2}, [3, 3]),
    ((4, 3), {"axis": -2, "num": 1}, [4]),
    ((2, 6), {"axis": 1, "sizes": [1, 2, 3]}, [1, 2, 3]),
    ((2, 6), {"axis": 1, "sizes": [1, -1, 2]}, [1, 3, 2]),
    ((2, 6), {"axis": -1, "sizes": [6, -1]}, [6, 0]),
    ((2, 6), {"axis": 1, "sizes": [0, 6, 0]}, [0, 6, 0]),
    ((0, 6), {"axis": 0, "num": 2}, [0, 0]),
    ((2, 0), {"axis": 1, "sizes": [-1]}, [0]),
])
def test_split(shape, attrs, want_sizes):
    x = np.arange(int(np.prod(shape)), dtype=f32).reshape(shape)
    axis = attrs["axis"] % 2
    out = evaluate_op("array.split", x, **attrs)
    out = out if isinstance(out, tuple) else (out,)
    want = np.split(x, np.cumsum(want_sizes)[:-1], axis=axis)
    assert len(out) == len(want)
    for got, w in zip(out, want):
        check(got, w)


def test_split_infer():
    shapes = lambda shape, attrs: [t.shape for t in types_of("array.split", [(shape, dt.float32)], attrs)]
    assert shapes((None, 6), {"axis": 1, "num": 3}) == [(None, 2)] * 3
    assert shapes((2, None), {"axis": 1, "num": 2}) == [(2, None)] * 2
    assert shapes((2, None), {"axis": -1, "sizes": [1, -1, 2]}) == [(2, 1), (2, None), (2, 2)]
    assert shapes(None, {"axis": 1, "sizes": [1, 2]}) == [None, None]


@pytest.mark.parametrize("shape,attrs,match", [
    ((2, 3), {"axis": 1, "num": 2}, r"Number of ways to split should evenly divide the split "
                                    r"dimension, but got split_dim 1 \(size = 3\) and num_split 2"),
    ((2, 3), {"axis": 2, "num": 1}, r"axis 2 is not in \[-2, 2\)"),
    ((2, 3), {"axis": -3, "num": 1}, r"axis -3 is not in \[-2, 2\)"),
    ((2, 3), {"axis": 1, "num": 0}, "Number of ways to split should be > 0, but got 0"),
    ((2, 3), {"axis": 1}, "exactly one of 'num' and 'sizes' must be given"),
    ((2, 3), {"axis": 1, "num": 3, "sizes": [1, 2]}, "exactly one of"),
    ((2, 3), {"axis": 1, "sizes": [1, 1]}, r"can't split axis of size 3 into pieces of size \[1,1\]"),
    ((2, 3), {"axis": 1, "sizes": [-1, -1]}, "size_splits can only have one -1"),
    ((2, 3), {"axis": 1, "sizes": [4, -1]}, "Split size at index 1 must be >= 0. Got: -1"),
    ((2, 3), {"axis": 1, "sizes": [-2, 5]}, "Split size at index 0 must be >= 0. Got: -2"),
])
def test_split_errors(shape, attrs, match):
    with pytest.raises(BuildError, match=match):
        types_of("array.split", [(shape, dt.float32)], attrs)


def test_split_runtime_error_with_unknown_dim():
    with pytest.raises(InterpreterError, match=r"can't split axis of size 3 into pieces of size \[1,1\]"):
        run_with_types("array.split", [np.zeros((2, 3), f32)], {"axis": 1, "sizes": [1, 1]}, [(2, None)])


# array.concat --------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3), (2, 4)], 1), ([(2, 3), (1, 3), (0, 3)], 0), ([(2, 3), (2, 1)], -1),
    ([(2, 3), (2, 3)], -2), ([(2, 0), (2, 0)], 1), ([(4,)], 0), ([(1, 2, 3), (1, 5, 3)], -2),
])
def test_concat(shapes, axis):
    xs = [np.full(s, i, np.int64) for i, s in enumerate(shapes)]
    check(evaluate_op("array.concat", *xs, axis=axis), np.concatenate(xs, axis=axis))


def test_concat_strings_and_infer():
    check(evaluate_op("array.concat", np.array([b"a"]), np.array([b"b", b"c"]), axis=0),
          np.array([b"a", b"b", b"c"], dtype=object))
    got = types_of("array.concat", [((None, 3), dt.float32), ((2, None), dt.float32)], {"axis": 0})
    assert got[0].shape == (None, 3)
    got = types_of("array.concat", [((None, 3), dt.float32), ((2, None), dt.float32)], {"axis": 1})
    assert got[0].shape == (2, None)
    got = types_of("array.concat", [((2, 3), dt.float32), ((2, 4), dt.float32)], {"axis": 1})
    assert got[0].shape == (2, 7)
    got = types_of("array.concat", [(None, dt.float32), ((2, 4), dt.float32)], {"axis": 0})
    assert got[0].shape == (None, 4)
    assert types_of("array.concat", [(None, dt.int32)] * 2, {"axis": 0})[0].shape is None


@pytest.mark.parametrize("shapes,axis,match", [
    ([(2, 3), (2, 4)], 0, r"ConcatOp : Dimension 1 in both shapes must be equal: "
                          r"shape\[0\] = \[2,3\] vs. shape\[1\] = \[2,4\]"),
    ([(2, 3), (2, 3, 1)], 0, r"ConcatOp : Ranks of all input tensors should match: "
                             r"shape\[0\] = \[2,3\] vs. shape\[1\] = \[2,3,1\]"),
    ([(2, 3), (2, 3)], 2, r"ConcatOp : Expected concatenating dimensions in the range "
                          r"\[-2, 2\), but got 2"),
    ([(2, 3), (2, 3)], -3, r"in the range \[-2, 2\), but got -3"),
    ([(), ()], 0, r"Can't concatenate scalars \(use tf.stack instead\)"),
    ([(None, 3), (2, None), (1, 4)], 0, r"Dimension 1 in both shapes must be equal: "
                                        r"shape\[0\] = \[\?,3\] vs. shape\[2\] = \[1,4\]"),
])
def test_concat_errors(shapes, axis, match):
    with pytest.raises(BuildError, match=match):
        types_of("array.concat", [(s, dt.float32) for s in shapes], {"axis": axis})


def test_concat_dtype_and_runtime_errors():
    with pytest.raises(BuildError, match="same dtype"):
        types_of("array.concat", [((2,), dt.float32), ((2,), dt.int32)], {"axis": 0})
    with pytest.raises(BuildError, match="at least one"):
        types_of("array.concat", [], {"axis": 0})
    with pytest.raises(InterpreterError, match=r"shape\[0\] = \[1,3\] vs. shape\[1\] = \[2,4\]"):
        run_with_types("array.concat", [np.zeros((1, 3), f32), np.zeros((2, 4), f32)], {"axis": 0},
                       [(None, 3), (2, None)])


# array.pad -----------------------------------------------------------------------------------
@pytest.mark.parametrize("paddings,mode,value", [
    ([1, 1, 2, 2], "CONSTANT", 0.0), ([0, 0, 0, 0], "CONSTANT", 0.0), ([2, 0, 0, 3], "CONSTANT", -1.5),
    ([1, 1, 2, 2], "REFLECT", 0.0), ([1, 0, 0, 2], "REFLECT", 0.0),
    ([2, 1, 3, 2], "SYMMETRIC", 0.0), ([2, 2, 3, 3], "SYMMETRIC", 0.0),
])
def test_pad(paddings, mode, value):
    x = np.array([[1, 2, 3], [4, 5, 6]], f32)
    pairs = list(zip(paddings[::2], paddings[1::2]))
    if mode == "CONSTANT":
        want = np.pad(x, pairs, constant_values=value)
    else:
        want = np.pad(x, pairs, mode=mode.lower())
    check(evaluate_op("array.pad", x, paddings=paddings, mode=mode, constant_value=value), want)


def test_pad_tf_values_and_dtypes():
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    # From TF 2.21: tf.pad(x, [[1,1],[2,2]], "REFLECT") and [[2,1],[3,2]] "SYMMETRIC".
    check(evaluate_op("array.pad", x, paddings=[1, 1, 2, 2], mode="REFLECT"),
          np.array([[6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 5, 4],
                    [3, 2, 1, 2, 3, 2, 1]], np.int32))
    check(evaluate_op("array.pad", x, paddings=[2, 1, 3, 2], mode="SYMMETRIC"),
          np.array([[6, 5, 4, 4, 5, 6, 6, 5], [3, 2, 1, 1, 2, 3, 3, 2], [3, 2, 1, 1, 2, 3, 3, 2],
                    [6, 5, 4, 4, 5, 6, 6, 5], [6, 5, 4, 4, 5, 6, 6, 5]], np.int32))
    check(evaluate_op("array.pad", np.array([True, False]), paddings=[1, 1], constant_value=1.0),
          np.array([True, True, False, True]))
    check(evaluate_op("array.pad", np.array([b"a"]), paddings=[1, 1]),
          np.array([b"", b"a", b""], dtype=object))
    check(evaluate_op("array.pad", np.float32(3), paddings=[]), np.float32(3))
    check(evaluate_op("array.pad", np.zeros((0, 2), f32), paddings=[1, 0, 0, 0], constant_value=7.0),
          np.full((1, 2), 7, f32))
    assert shape_of("array.pad", (None, 3), {"paddings": [1, 2, 0, 1]}) == (None, 4)
    assert shape_of("array.pad", None, {"paddings": [1, 2, 0, 1]}) == (None, None)


@pytest.mark.parametrize("shape,attrs,match", [
    ((2, 3), {"paddings": [1, 1]}, "The first dimension of paddings must be the rank of inputs"),
    ((2, 3), {"paddings": [1, 1, 0]}, r"a \(before, after\) pair per dim"),
    ((2, 3), {"paddings": [1, -1, 0, 0]}, "Paddings must be non-negative: 1 -1"),
    ((2, 3), {"paddings": [2, 0, 0, 0], "mode": "REFLECT"},
     "paddings must be less than the dimension size: 2, 0 not less than 2"),
    ((2, 3), {"paddings": [0, 0, 0, 3], "mode": "REFLECT"},
     "paddings must be less than the dimension size: 0, 3 not less than 3"),
    ((2, 3), {"paddings": [3, 0, 0, 0], "mode": "SYMMETRIC"},
     "paddings must be no greater than the dimension size: 3, 0 greater than 2"),
    ((2, 3), {"paddings": [0, 0, 0, 0], "mode": "WRAP"}, "must be one of"),
    ((2, 3), {"paddings": [0, 0, 0, 0], "constant_value": 0.5}, None),
])
def test_pad_errors(shape, attrs, match):
    if match is None:   # a float constant is fine for a float tensor, not for an int one
        shape_of("array.pad", shape, attrs)
        with pytest.raises(BuildError, match="constant_value 0.5 is not representable as int32"):
            shape_of("array.pad", shape, attrs, dtype=dt.int32)
        return
    with pytest.raises(BuildError, match=match):
        shape_of("array.pad", shape, attrs)


def test_pad_runtime_error_with_unknown_dim():
    with pytest.raises(InterpreterError, match="paddings must be less than the dimension size: 1, 0"):
        run_with_types("array.pad", [np.zeros((1, 3), f32)], {"paddings": [1, 0, 0, 1], "mode": "REFLECT"},
                       [(None, 3)])


# array.gather --------------------------------------------------------------------------------
P52 = np.arange(10, dtype=f32).reshape(5, 2)


@pytest.mark.parametrize("params,indices,axis", [
    (P52, np.array([4, 0, 0], np.int32), 0),
    (P52, np.array([[1, 0], [3, 4]], np.int64), 0),
    (P52, np.array(3, np.int32), 0),
    (P52, np.array([1, 1, 0], np.int32), 1),
    (P52, np.array([1], np.int32), -1),
    (P52, np.array([[1], [0]], np.int32), -2),
    (P52, np.zeros((0,), np.int32), 1),
    (A24, np.array([[3, 0], [2, 1]], np.int64), 2),
    (np.array([b"x", b"y"]), np.array([1, 1, 0], np.int32), 0),
])
def test_gather(params, indices, axis):
    want = np.take(params, indices, axis=axis)
    if want.dtype.kind == "S":          # the interpreter holds strings as object arrays
        want = want.astype(object)
    check(evaluate_op("array.gather", params, indices, axis=axis), want)


def test_gather_batch_dims():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    # From TF 2.21: tf.gather(x, [[2,0],[1,1]], axis=1, batch_dims=1) and [[3,0],[1,2]] axis=2.
    check(evaluate_op("array.gather", x, np.array([[2, 0], [1, 1]], np.int32), axis=1, batch_dims=1),
          np.array([[[8, 9, 10, 11], [0, 1, 2, 3]], [[16, 17, 18, 19], [16, 17, 18, 19]]], np.int32))
    check(evaluate_op("array.gather", x, np.array([[3, 0], [1, 2]], np.int32), axis=2, batch_dims=-1),
          np.array([[[3, 0], [7, 4], [11, 8]], [[13, 14], [17, 18], [21, 22]]], np.int32))
    # batch_dims == rank(indices): one index per batch row; compare with a Python loop.
    idx = np.array([[0, 3, 1], [2, 2, 0]], np.int64)
    want = np.array([[x[b, i, idx[b, i]] for i in range(3)] for b in range(2)], np.int32)
    check(evaluate_op("array.gather", x, idx, axis=2, batch_dims=2), want)
    out = evaluate_op("array.gather", np.zeros((0, 3), f32), np.zeros((0, 2), np.int32), axis=1, batch_dims=1)
    assert out.shape == (0, 2)


@pytest.mark.parametrize("params,indices,attrs,want", [
    # The batch dim is known from indices (TF 2.21's shape function leaves it unknown).
    ((None, 3, 4), (2, 3), {"axis": -1, "batch_dims": -1}, (2, 3, 3)),
    ((None, 3, 4), (5,), {"axis": 1}, (None, 5, 4)),
    ((None, 3), (), {"axis": 1}, (None,)),
    (None, (2, 3), {"axis": 1}, None),
    ((2, 3), None, {"axis": 1}, None),
    ((None, 3, 4), (2, None), {"axis": 1, "batch_dims": 1}, (2, None, 4)),
])
def test_gather_infer(params, indices, attrs, want):
    got = types_of("array.gather", [(params, dt.float32), (indices, dt.int32)], attrs)
    assert got[0].shape == want


@pytest.mark.parametrize("params,indices,attrs,match", [
    ((5, 2), (1,), {"axis": 2}, r"Expected axis in the range \[-2, 2\), but got 2"),
    ((5, 2), (1,), {"axis": -3}, r"Expected axis in the range \[-2, 2\), but got -3"),
    ((), (1,), {}, "params must be at least 1 dimensional"),
    ((5, 2), (3, 1), {"axis": 1, "batch_dims": 1}, r"params.shape\[0\]: 5 should be equal to indices.shape\[0\]: 3"),
    ((2, 3, 4), (2, 3), {"axis": 0, "batch_dims": 1}, r"batch_dims \(1\) must be less than or equal to axis \(0\)"),
    ((5, 2), (5, 1), {"axis": 1, "batch_dims": 3}, r"Expected batch_dims in the range \[-2, 2\], but got 3"),
    ((5, 2), (5, 2), {"axis": 1, "batch_dims": 2}, r"batch_dims \(2\) must be less than rank\(params\) \(2\)"),
])
def test_gather_errors(params, indices, attrs, match):
    with pytest.raises(BuildError, match=match):
        types_of("array.gather", [(params, dt.float32), (indices, dt.int32)], attrs)
    with pytest.raises(BuildError, match="operand 'indices' has dtype float32"):
        types_of("array.gather", [((2,), dt.float32), ((1,), dt.float32)], {})


@pytest.mark.parametrize("params,indices,attrs,match", [
    (P52, np.array([0, 7], np.int32), {}, r"indices\[1\] = 7 is not in \[0, 5\)"),
    (P52, np.array([[0, 1], [7, 2]], np.int32), {}, r"indices\[1,0\] = 7 is not in \[0, 5\)"),
    (P52, np.array(7, np.int32), {}, r"indices = 7 is not in \[0, 5\)"),
    (P52, np.array([-1], np.int64), {}, r"indices\[0\] = -1 is not in \[0, 5\)"),
    (np.zeros((0, 2), f32), np.array([0], np.int32), {}, r"indices\[0\] = 0 is not in \[0, 0\)"),
    (P52, np.array([[0], [1], [2], [3], [2]], np.int32), {"axis": 1, "batch_dims": 1},
     r"indices\[2,0\] = 2 is not in \[0, 2\)"),
])
def test_gather_index_errors(params, indices, attrs, match):
    with pytest.raises(InterpreterError, match=match):
        evaluate_op("array.gather", params, indices, **attrs)


# array.gather_nd -----------------------------------------------------------------------------
@pytest.mark.parametrize("params,indices", [
    (np.arange(15, dtype=f32).reshape(5, 3), np.array([[1, 2], [4, 0]], np.int32)),
    (np.arange(15, dtype=f32).reshape(5, 3), np.array([[1], [4]], np.int64)),
    (np.arange(15, dtype=f32).reshape(5, 3), np.array([3], np.int32)),
    (A24, np.array([[[1, 2], [0, 1]]], np.int32)),
    (A24, np.array([[1, 2, 3], [0, 0, 0]], np.int32)),
    (A24, np.zeros((2, 0), np.int32)),
    (A24, np.zeros((0, 2), np.int32)),
])
def test_gather_nd(params, indices):
    k = indices.shape[-1]
    rows = indices.reshape(int(np.prod(indices.shape[:-1])), k)
    want = np.array([params[tuple(r)] for r in rows], params.dtype).reshape(
        indices.shape[:-1] + params.shape[k:])
    check(evaluate_op("array.gather_nd", params, indices), want)


def test_gather_nd_infer_and_errors():
    t = lambda p, i: types_of("array.gather_nd", [(p, dt.float32), (i, dt.int32)])[0].shape
    assert t((None, 3, 4), (7, 2)) == (7, 4)
    assert t((None, 3, 4), (None, 1)) == (None, 3, 4)
    assert t((5, 3), (2, None)) is None
    assert t(None, (2, 1)) is None
    with pytest.raises(BuildError, match=r"indices.shape\[-1\] must be <= params.rank, but saw "
                                         r"indices shape: \[1,3\] and params shape: \[5,3\]"):
        t((5, 3), (1, 3))
    with pytest.raises(BuildError, match="indices must be at least a vector"):
        t((5, 3), ())
    with pytest.raises(BuildError, match="params must be at least a vector"):
        t((), (2, 0))
    p = np.arange(15, dtype=f32).reshape(5, 3)
    with pytest.raises(InterpreterError, match=r"indices\[1\] = \[4, 3\] does not index into param shape \[5,3\]"):
        evaluate_op("array.gather_nd", p, np.array([[1, 2], [4, 3]], np.int32))
    with pytest.raises(InterpreterError, match=r"indices\[0,0\] = \[1, -1\] does not index"):
        evaluate_op("array.gather_nd", p, np.array([[[1, -1]]], np.int32))
    with pytest.raises(InterpreterError, match=r"indices = \[7\] does not index"):
        evaluate_op("array.gather_nd", p, np.array([7], np.int32))


# array.one_hot -------------------------------------------------------------------------------
@pytest.mark.parametrize("indices,depth,axis", [
    (np.array([0, 2, -1, 5], np.int32), 3, -1),
    (np.array([[0, 2], [1, 1]], np.int64), 4, 0),
    (np.array([[0, 2], [1, 1]], np.int64), 3, 1),
    (np.array([[0, 2], [1, 1]], np.int32), 3, 2),
    (np.array(2, np.int32), 3, -1),
    (np.array([0, 255, 3], np.uint8), 4, -1),
    (np.zeros((0, 2), np.int32), 3, 1),
    (np.array([0, 1], np.int32), 0, -1),
])
def test_one_hot(indices, depth, axis):
    hot = (indices[..., None] == np.arange(depth)).astype(f32)
    want = np.moveaxis(hot, -1, indices.ndim if axis == -1 else axis)
    check(evaluate_op("array.one_hot", indices, depth=depth, axis=axis), want)


def test_one_hot_values_dtype_infer_and_errors():
    # From TF 2.21: tf.one_hot([[0,2],[-1,3]], 3, on_value=7, off_value=-2, axis=1, dtype=int32).
    check(evaluate_op("array.one_hot", np.array([[0, 2], [-1, 3]], np.int32), depth=3, on_value=7.0,
                      off_value=-2.0, axis=1, dtype="int32"),
          np.array([[[7, -2], [-2, -2], [-2, 7]], [[-2, -2], [-2, -2], [-2, -2]]], np.int32))
    check(evaluate_op("array.one_hot", np.array([1], np.int64), depth=2, dtype="bool"),
          np.array([[False, True]]))
    t = lambda shape, **a: types_of("array.one_hot", [(shape, dt.int32)], {"depth": 3, **a})[0]
    assert t((None, 2), axis=1).shape == (None, 3, 2)
    assert t((None,), dtype="float64") == TensorType((None, 3), dt.float64)
    assert t(None).shape is None
    with pytest.raises(BuildError, match=r"Expected axis to be -1 or between \[0, 2\).  But received: 2"):
        t((4,), axis=2)
    with pytest.raises(BuildError, match=r"between \[0, 2\).  But received: -2"):
        t((4,), axis=-2)
    with pytest.raises(BuildError, match="depth must be non-negative, got: -1"):
        t((4,), depth=-1)
    with pytest.raises(BuildError, match="on_value 1.5 is not representable as int8"):
        t((4,), on_value=1.5, dtype="int8")
    with pytest.raises(BuildError, match="operand 'indices' has dtype float32"):
        types_of("array.one_hot", [((2,), dt.float32)], {"depth": 3})


# array.tile ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,multiples", [
    ((2, 3), [2, 1]), ((2, 3), [1, 3]), ((2, 3), [0, 2]), ((), []), ((0, 2), [3, 2]), ((2,), [4]),
])
def test_tile(shape, multiples):
    x = np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape)
    check(evaluate_op("array.tile", x, multiples=multiples), np.tile(x, multiples))


def test_tile_infer_and_errors():
    assert shape_of("array.tile", (None, 3), {"multiples": [2, 0]}) == (None, 0)
    assert shape_of("array.tile", (None, 3), {"multiples": [0, 2]}) == (0, 6)
    assert shape_of("array.tile", None, {"multiples": [2, 3]}) == (None, None)
    with pytest.raises(BuildError, match="Expected multiples argument to be a vector of length 2 but got length 1"):
        shape_of("array.tile", (2, 3), {"multiples": [2]})
    with pytest.raises(BuildError, match=r"Expected multiples\[1\] >= 0, but got -1"):
        shape_of("array.tile", (2, 3), {"multiples": [2, -1]})


# array.stack / array.unstack -----------------------------------------------------------------
@pytest.mark.parametrize("shape,axis,n", [((2, 3), 0, 2), ((2, 3), 2, 3), ((2, 3), -1, 1),
                                          ((2, 3), -3, 2), ((), 0, 3), ((0, 2), 1, 2)])
def test_stack(shape, axis, n):
    xs = [np.full(shape, i, f32) for i in range(n)]
    check(evaluate_op("array.stack", *xs, axis=axis), np.stack(xs, axis=axis))


def test_stack_infer_and_errors():
    t = lambda shapes, axis=0: types_of("array.stack", [(s, dt.float32) for s in shapes], {"axis": axis})[0].shape
    assert t([(None, 3), (2, None)], axis=1) == (2, 2, 3)
    assert t([None, (2, None)], axis=-1) == (2, None, 2)
    assert t([None, None]) is None
    with pytest.raises(BuildError, match=r"Shapes of all inputs must match: values\[0\].shape = "
                                         r"\[2\] != values\[1\].shape = \[3\]"):
        t([(2,), (3,)])
    with pytest.raises(BuildError, match=r"values\[0\].shape = \[\?\] != values\[1\].shape = \[2,1\]"):
        t([(None,), (2, 1)])
    with pytest.raises(BuildError, match=r"axis 2 is not in \[-2, 2\)"):
        t([(2,), (2,)], axis=2)
    with pytest.raises(BuildError, match=r"axis -3 is not in \[-2, 2\)"):
        t([(2,), (2,)], axis=-3)
    with pytest.raises(InterpreterError, match=r"values\[0\].shape = \[2\] != values\[1\].shape = \[3\]"):
        run_with_types("array.stack", [np.zeros(2, f32), np.zeros(3, f32)], {}, [(None,), (3,)])


@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((3,), 0),
                                        ((2, 0), 0), ((1, 2, 3), -2)])
def test_unstack(shape, axis):
    x = np.arange(int(np.prod(shape)), dtype=f32).reshape(shape)
    out = evaluate_op("array.unstack", x, axis=axis)
    out = out if isinstance(out, tuple) else (out,)
    want = [np.take(x, i, axis=axis) for i in range(x.shape[axis])]
    assert len(out) == len(want)
    for got, w in zip(out, want):
        check(got, w)


def test_unstack_infer_and_errors():
    t = lambda shape, axis=0: [r.shape for r in types_of("array.unstack", [(shape, dt.float32)], {"axis": axis})]
    assert t((None, 3), axis=1) == [(None,)] * 3
    assert t((0, 3)) == []
    with pytest.raises(BuildError, match=r"Cannot infer argument `num` from shape \[\?,3\]"):
        t((None, 3))
    with pytest.raises(BuildError, match="Cannot infer argument `num` from shape <unknown>"):
        t(None)
    with pytest.raises(BuildError, match=r"axis 2 is not in \[-2, 2\)"):
        t((2, 3), axis=2)
    with pytest.raises(BuildError, match=r"axis 0 is not in \[0, 0\)"):
        t(())
    strings = evaluate_op("array.unstack", np.array([b"a", b"b"]))
    assert [s.dtype for s in strings] == [object, object] and strings[1][()] == b"b"


# array.expand_dims / array.squeeze -----------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3), ((), 0)])
def test_expand_dims(shape, axis):
    x = np.ones(shape, np.int8)
    check(evaluate_op("array.expand_dims", x, axis=axis), np.expand_dims(x, axis))


def test_expand_dims_infer_and_errors():
    assert shape_of("array.expand_dims", (None, 3), {"axis": -1}) == (None, 3, 1)
    assert shape_of("array.expand_dims", None, {"axis": 0}) is None
    with pytest.raises(BuildError, match=r"dim 3 not in the interval \[-3, 2\]."):
        shape_of("array.expand_dims", (2, 3), {"axis": 3})
    with pytest.raises(BuildError, match=r"dim -4 not in the interval \[-3, 2\]."):
        shape_of("array.expand_dims", (2, 3), {"axis": -4})


@pytest.mark.parametrize("shape,axes,want", [
    ((1, 2, 1, 3), None, (2, 3)), ((1, 2, 1, 3), [], (2, 3)), ((1, 2, 1, 3), [0], (2, 1, 3)),
    ((1, 2, 1, 3), [-2, 0], (2, 3)), ((1, 1), [0, 0], (1,)), ((1,), None, ()), ((0, 1), None, (0,)),
])
def test_squeeze(shape, axes, want):
    x = np.arange(int(np.prod(shape)), dtype=f32).reshape(shape)
    attrs = {} if axes is None else {"axes": axes}
    check(evaluate_op("array.squeeze", x, **attrs), x.reshape(want))


def test_squeeze_infer_and_errors():
    assert shape_of("array.squeeze", (None, 1, 3), {"axes": [1]}) == (None, 3)
    assert shape_of("array.squeeze", (None, 1, 3), {"axes": [0]}) == (1, 3)   # assumed 1
    assert shape_of("array.squeeze", (None, 1, 3)) is None    # squeeze-all with an unknown dim
    assert shape_of("array.squeeze", None, {"axes": [0]}) is None
    with pytest.raises(BuildError, match=r"Can not squeeze dim\[0\], expected a dimension of 1, got 2"):
        shape_of("array.squeeze", (2, 1, 3), {"axes": [0]})
    with pytest.raises(BuildError, match=r"squeeze_dims\[0\] not in \[-3,3\)."):
        shape_of("array.squeeze", (2, 1, 3), {"axes": [3]})
    with pytest.raises(InterpreterError, match=r"Can not squeeze dim\[0\], expected a dimension of 1, got 2"):
        run_with_types("array.squeeze", [np.zeros((2, 1, 3), f32)], {"axes": [0]}, [(None, 1, 3)])


# array.broadcast_to --------------------------------------------------------------------------
@pytest.mark.parametrize("shape,target", [((3,), (2, 3)), ((1, 3), (4, 3)), ((), (2, 2)),
                                          ((1, 3), (0, 3)), ((2, 1), (2, 1)), ((2, 1), (5, 2, 4))])
def test_broadcast_to(shape, target):
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    check(evaluate_op("array.broadcast_to", x, shape=target), np.broadcast_to(x, target))


def test_broadcast_to_infer_and_errors():
    assert shape_of("array.broadcast_to", (None, 3), {"shape": [4, 3]}) == (4, 3)
    assert shape_of("array.broadcast_to", None, {"shape": [4, 3]}) == (4, 3)
    with pytest.raises(BuildError, match=r"Unable to broadcast tensor of shape \[2,3\] to tensor of shape \[4,3\]"):
        shape_of("array.broadcast_to", (2, 3), {"shape": [4, 3]})
    with pytest.raises(BuildError, match=r"Unable to broadcast tensor of shape \[0,3\] to tensor of shape \[1,3\]"):
        shape_of("array.broadcast_to", (0, 3), {"shape": [1, 3]})
    with pytest.raises(BuildError, match=r"Rank of input \(2\) must be no greater than rank of output shape \(1\)."):
        shape_of("array.broadcast_to", (2, 3), {"shape": [3]})
    with pytest.raises(BuildError, match="Dimension -1 must be >= 0"):
        shape_of("array.broadcast_to", (2, 3), {"shape": [-1, 3]})
    with pytest.raises(InterpreterError, match=r"Unable to broadcast tensor of shape \[2,3\]"):
        run_with_types("array.broadcast_to", [np.zeros((2, 3), f32)], {"shape": [4, 3]}, [(None, 3)])


# array.reverse -------------------------------------------------------------------------------
@pytest.mark.parametrize("axes", [[], [0], [1], [-1], [0, 2], [2, -3, 1]])
def test_reverse(axes):
    check(evaluate_op("array.reverse", A24, axes=axes), np.flip(A24, [a % 3 for a in axes]))


def test_reverse_infer_and_errors():
    assert shape_of("array.reverse", (None, 3), {"axes": [0]}) == (None, 3)
    assert shape_of("array.reverse", None, {"axes": [5]}) is None
    check(evaluate_op("array.reverse", np.zeros((0, 2), f32), axes=[0, 1]), np.zeros((0, 2), f32))
    with pytest.raises(BuildError, match="axis 0 specified more than once."):
        shape_of("array.reverse", (2, 3), {"axes": [0, -2]})
    with pytest.raises(BuildError, match=r"'axis'\[0\] = 2 is out of valid range \[-2, 2\)"):
        shape_of("array.reverse", (2, 3), {"axes": [2]})


# array.shape / array.fill --------------------------------------------------------------------
def test_shape():
    check(evaluate_op("array.shape", np.zeros((2, 0, 3), f32)), np.array([2, 0, 3], np.int32))
    check(evaluate_op("array.shape", np.zeros((2, 0, 3), f32), out_type="int64"), np.array([2, 0, 3], np.int64))
    check(evaluate_op("array.shape", np.float32(1)), np.zeros((0,), np.int32))
    assert types_of("array.shape", [((None, 3), dt.float32)])[0] == TensorType((2,), dt.int32)
    out, = run_with_types("array.shape", [np.zeros((5, 3), f32)], {}, [(None, 3)])
    check(out, np.array([5, 3], np.int32))
    with pytest.raises(BuildError, match="needs an operand of known rank"):
        types_of("array.shape", [(None, dt.float32)])
    with pytest.raises(BuildError, match="out_type must be int32 or int64, got float32"):
        types_of("array.shape", [((2,), dt.float32)], {"out_type": "float32"})


@pytest.mark.parametrize("value,shape", [(np.float32(1.5), [2, 3]), (np.int64(-7), [4]),
                                         (np.bool_(True), []), (np.float32(0), [0, 3])])
def test_fill(value, shape):
    check(evaluate_op("array.fill", value, shape=shape), np.full(shape, value, dtype=value.dtype))


def test_fill_strings_infer_and_errors():
    check(evaluate_op("array.fill", np.array(b"ab"), shape=[2]), np.array([b"ab", b"ab"], dtype=object))
    assert types_of("array.fill", [(None, dt.int32)], {"shape": [2]})[0] == TensorType((2,), dt.int32)
    with pytest.raises(BuildError, match="Fill dimensions must be >= 0"):
        types_of("array.fill", [((), dt.float32)], {"shape": [2, -1]})
    with pytest.raises(BuildError, match=r"value must be a scalar, got shape \[1\]"):
        types_of("array.fill", [((1,), dt.float32)], {"shape": [2]})


# array.range ---------------------------------------------------------------------------------
@pytest.mark.parametrize("start,limit,delta,dtype", [
    (0, 5, 1, "int32"), (-3, 4, 2, "int32"), (10, -3, -4, "int64"), (5, 5, 1, "int32"),
    (5, 5, -1, "int16"), (0, 10, 3, "uint16"), (-128, 127, 50, "int8"),
])
def test_range_integers(start, limit, delta, dtype):
    check(evaluate_op("array.range", start=float(start), limit=float(limit), delta=float(delta), dtype=dtype),
          np.arange(start, limit, delta, dtype=dtype))


def test_range_floats_match_tf():
    # Values from TF 2.21 (tf.range in float32 / float64): element i is start + T(i) * delta.
    check(evaluate_op("array.range", start=0.1, limit=2.0, delta=0.3, dtype="float32"),
          np.array([0.10000000149011612, 0.4000000059604645, 0.7000000476837158, 1.0,
                    1.3000000715255737, 1.600000023841858, 1.9000000953674316], f32))
    got = evaluate_op("array.range", start=-1.3, limit=7.9, delta=0.37, dtype="float64")
    assert got.dtype == np.float64 and len(got) == 25
    assert got[3] == -0.19000000000000017 and got[24] == 7.579999999999999
    # limit rounds to float32 first (1e9 + 300 -> 1000000320), so TF gives 44 elements.
    got = evaluate_op("array.range", start=1e9, limit=1e9 + 300, delta=7.3, dtype="float32")
    assert got.shape == (44,) and got[:6].tolist() == [1e9] * 5 + [1000000064.0]
    assert types_of("array.range", [], {"start": 0.0, "limit": 1.0, "delta": 0.1,
                                        "dtype": "float32"})[0] == TensorType((10,), dt.float32)


@pytest.mark.parametrize("attrs,match", [
    ({"start": 0.0, "limit": 5.0, "delta": 0.0}, "Requires delta != 0"),
    ({"start": 5.0, "limit": 0.0, "delta": 1.0}, "Requires start <= limit when delta > 0: 5/0"),
    ({"start": 0.0, "limit": 5.0, "delta": -1.0}, "Requires start >= limit when delta < 0: 0/5"),
    ({"start": 0.5, "limit": 0.25, "delta": 1.0, "dtype": "float32"},
     "Requires start <= limit when delta > 0: 0.5/0.25"),
    ({"start": 1.5, "limit": 5.0, "delta": 1.0}, "start 1.5 is not representable as int32"),
    ({"start": 0.0, "limit": 5.0, "delta": 1.0, "dtype": "bool"}, "dtype must be one of"),
    ({"start": -1.0, "limit": 5.0, "delta": 1.0, "dtype": "uint32"},
     "start -1.0 is not representable as uint32"),
])
def test_range_errors(attrs, match):
    with pytest.raises(BuildError, match=match):
        types_of("array.range", [], attrs)


# array.where ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cond", [
    np.array([[True, False], [False, True]]),
    np.array([0.0, np.nan, -2.0, 0.0], f32),            # NaN is nonzero, so true
    np.array([[0, 3], [4, 0]], np.uint8),
    np.zeros((2, 0, 3), np.int32),
    np.array([1 + 0j, 0j], np.complex64),
    np.arange(24).reshape(2, 3, 4) % 5 == 0,
])
def test_where(cond):
    check(evaluate_op("array.where", cond), np.argwhere(cond).astype(np.int64))


def test_where_infer_and_errors():
    assert types_of("array.where", [((None, 3), dt.bool_)])[0] == TensorType((None, 2), dt.int64)
    assert types_of("array.where", [(None, dt.float32)])[0].shape == (None, None)
    with pytest.raises(BuildError, match="WhereOp : Unhandled input dimensions: 0"):
        types_of("array.where", [((), dt.bool_)])
    with pytest.raises(BuildError, match="operand 'condition' has dtype string"):
        types_of("array.where", [((2,), dt.string)])


# array.matrix_diag_part / matrix_diag / matrix_set_diag ----------------------------------------
M34 = np.arange(1, 13, dtype=f32).reshape(3, 4)


@pytest.mark.parametrize("attrs,want", [
    # Values from TF 2.21 (tf.linalg.diag_part on M34).
    ({}, [1, 6, 11]),
    ({"k": [1]}, [2, 7, 12]),
    ({"k": [-2]}, [9]),
    ({"k": [3]}, [4]),
    ({"k": [-1, 1], "padding_value": 9.0}, [[2, 7, 12], [1, 6, 11], [5, 10, 9]]),
    ({"k": [-1, 2], "align": "LEFT_RIGHT"}, [[3, 8, 0], [2, 7, 12], [1, 6, 11], [0, 5, 10]]),
    ({"k": [-1, 2], "align": "RIGHT_LEFT"}, [[0, 3, 8], [2, 7, 12], [1, 6, 11], [5, 10, 0]]),
    ({"k": [-1, 2], "align": "LEFT_LEFT"}, [[3, 8, 0], [2, 7, 12], [1, 6, 11], [5, 10, 0]]),
])
def test_matrix_diag_part(attrs, want):
    check(evaluate_op("array.matrix_diag_part", M34, **attrs), np.array(want, f32))


def test_matrix_diag_part_batch_empty_and_infer():
    check(evaluate_op("array.matrix_diag_part", A24), np.array([[0, 5, 10], [12, 17, 22]], np.int32))
    check(evaluate_op("array.matrix_diag_part", np.zeros((2, 0, 3), f32)), np.zeros((2, 0), f32))
    assert shape_of("array.matrix_diag_part", (None, 3, 4)) == (None, 3)
    assert shape_of("array.matrix_diag_part", (5, None, 4)) == (5, None)
    assert shape_of("array.matrix_diag_part", (5, 3, 4), {"k": [-2, 0]}) == (5, 3, 3)
    assert shape_of("array.matrix_diag_part", None) is None


@pytest.mark.parametrize("shape,attrs,match", [
    ((3,), {}, "Shape must be at least rank 2 but is rank 1"),
    ((3, 4), {"k": [4]}, "lower_diag_index is out of bound."),
    ((3, 4), {"k": [-3]}, "lower_diag_index is out of bound."),
    ((3, 4), {"k": [0, 4]}, "upper_diag_index is out of bound."),
    ((3, 4), {"k": [1, 0]}, "lower_diag_index is greater than upper_diag_index"),
    ((3, 4), {"k": [-1, 1, 2]}, "diag_index must be a vector with one or two elements. It has 3"),
    ((3, 4), {"align": "LEFT"}, "attribute 'align' must be one of"),
])
def test_matrix_diag_part_errors(shape, attrs, match):
    with pytest.raises(BuildError, match=match):
        shape_of("array.matrix_diag_part", shape, attrs)


@pytest.mark.parametrize("diagonal,attrs,want", [
    # Values from TF 2.21 (tf.linalg.diag).
    ([1, 2], {"k": [1]}, [[0, 1, 0], [0, 0, 2], [0, 0, 0]]),
    ([1, 2], {"k": [-1], "num_cols": 4}, [[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]]),
    ([1, 2], {"num_rows": 3}, [[1, 0], [0, 2], [0, 0]]),
    ([1, 2], {"num_cols": 3}, [[1, 0, 0], [0, 2, 0]]),
    ([1, 2], {"k": [1], "num_rows": 4}, [[0, 1, 0], [0, 0, 2], [0, 0, 0], [0, 0, 0]]),
    ([[1, 2], [3, 4]], {"k": [0, 1], "padding_value": 7.0}, [[3, 2], [7, 4]]),
    ([[1, 2], [3, 4]], {"k": [-1, 0]}, [[1, 0], [3, 2]]),
    ([[1, 2], [3, 4]], {}, [[[1, 0], [0, 2]], [[3, 0], [0, 4]]]),
])
def test_matrix_diag(diagonal, attrs, want):
    check(evaluate_op("array.matrix_diag", np.array(diagonal, np.int32), **attrs),
          np.array(want, np.int32))


def test_matrix_diag_infer_and_errors():
    assert shape_of("array.matrix_diag", (None, 3)) == (None, 3, 3)
    assert shape_of("array.matrix_diag", (2, None), {"num_rows": 4}) == (2, 4, None)
    assert shape_of("array.matrix_diag", (2, 3), {"k": [2]}) == (2, 5, 5)
    check(evaluate_op("array.matrix_diag", np.array([True]), padding_value=1.0), np.array([[True]]))
    with pytest.raises(BuildError, match="Shape must be at least rank 1 but is rank 0"):
        shape_of("array.matrix_diag", ())
    with pytest.raises(BuildError, match="num_rows is too small"):
        shape_of("array.matrix_diag", (2,), {"num_rows": 1, "num_cols": 1})
    with pytest.raises(BuildError, match="num_rows = 3 != min_num_rows = 2, num_cols = 4 != "
                                         "min_num_cols = 2"):
        shape_of("array.matrix_diag", (2,), {"num_rows": 3, "num_cols": 4})
    with pytest.raises(BuildError, match="number of diagonals provided in the input does not match"):
        shape_of("array.matrix_diag", (3, 2), {"k": [0, 1]})
    with pytest.raises(BuildError, match="padding_value 0.5 is not representable as int32"):
        shape_of("array.matrix_diag", (3,), {"padding_value": 0.5}, dt.int32)


def test_matrix_set_diag():
    # Values from TF 2.21 (tf.linalg.set_diag on M34).
    check(evaluate_op("array.matrix_set_diag", M34, np.array([1, 2, 3], f32)),
          np.array([[1, 2, 3, 4], [5, 2, 7, 8], [9, 10, 3, 12]], f32))
    check(evaluate_op("array.matrix_set_diag", M34, np.array([1, 2], f32), k=[2]),
          np.array([[1, 2, 1, 4], [5, 6, 7, 2], [9, 10, 11, 12]], f32))
    check(evaluate_op("array.matrix_set_diag", M34, np.array([[1, 2, 3], [4, 5, 6]], f32), k=[0, 1]),
          np.array([[4, 1, 3, 4], [5, 5, 2, 8], [9, 10, 6, 3]], f32))
    x = np.zeros((2, 2, 2), np.int32)
    got = evaluate_op("array.matrix_set_diag", x, np.array([[1, 2], [3, 4]], np.int32))
    check(got, np.array([[[1, 0], [0, 2]], [[3, 0], [0, 4]]], np.int32))


def test_matrix_set_diag_infer_and_errors():
    assert types_of("array.matrix_set_diag", [((None, 3, 4), dt.float32), ((None, 3), dt.float32)])[0] \
        == TensorType((None, 3, 4), dt.float32)
    with pytest.raises(BuildError, match=r"Input shape: \[3,4\]\nDiagonal shape: \[2\]\n"
                                         r"Expected diagonal shape: \[3\]"):
        types_of("array.matrix_set_diag", [((3, 4), dt.float32), ((2,), dt.float32)])
    with pytest.raises(BuildError, match="operands must have the same dtype"):
        types_of("array.matrix_set_diag", [((3, 4), dt.float32), ((3,), dt.int32)])
    with pytest.raises(InterpreterError, match="Expected diagonal shape"):
        run_with_types("array.matrix_set_diag", [M34, np.zeros(4, f32)], {}, [(None, 4), (None,)])


# array.matrix_band_part ----------------------------------------------------------------------
@pytest.mark.parametrize("lower,upper", [(0, 0), (1, 0), (-1, 1), (3, -2), (-3, 0), (0, 4), (-1, -1)])
def test_matrix_band_part(lower, upper):
    i, j = np.indices((3, 4))
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    check(evaluate_op("array.matrix_band_part", M34, num_lower=lower, num_upper=upper),
          np.where(keep, M34, f32(0)))


def test_matrix_band_part_batch_bool_and_errors():
    x = np.ones((2, 2, 2), bool)
    check(evaluate_op("array.matrix_band_part", x, num_lower=0, num_upper=-1),
          np.array([[[True, True], [False, True]]] * 2))
    assert shape_of("array.matrix_band_part", (None, None, 4), {"num_lower": 9, "num_upper": 1}) \
        == (None, None, 4)
    # TF 2.21's words (its kernel checks these when the graph runs).
    with pytest.raises(BuildError, match=r"input must be at least 2-dim, received shape: \[4\]"):
        shape_of("array.matrix_band_part", (4,), {"num_lower": 1, "num_upper": 1})
    with pytest.raises(BuildError, match=r"num_lower must be negative or less or equal to number "
                                         r"of rows \(3\) got: 5"):
        shape_of("array.matrix_band_part", (3, 4), {"num_lower": 5, "num_upper": 0})
    with pytest.raises(BuildError, match=r"num_upper must be negative or less or equal to number "
                                         r"of columns \(4\) got: 5"):
        shape_of("array.matrix_band_part", (3, 4), {"num_lower": 0, "num_upper": 5})


# array.diag / array.diag_part ----------------------------------------------------------------
def test_diag_and_diag_part():
    d = np.array([[1, 2], [3, 4]], np.int32)
    got = evaluate_op("array.diag", d)
    want = np.zeros((2, 2, 2, 2), np.int32)
    for i in range(2):
        for j in range(2):
            want[i, j, i, j] = d[i, j]
    check(got, want)
    check(evaluate_op("array.diag_part", got), d)
    check(evaluate_op("array.diag", np.array([b"a"], dtype=object)), np.array([[b"a"]], dtype=object))
    check(evaluate_op("array.diag_part", np.arange(16).reshape(2, 2, 2, 2)), np.array([[0, 5], [10, 15]]))
    assert shape_of("array.diag", (None, 2)) == (None, 2, None, 2)
    assert shape_of("array.diag_part", (None, 3, 2, None)) == (2, 3)


@pytest.mark.parametrize("name,shape,match", [
    ("array.diag", (), "Shape must be at least rank 1 but is rank 0"),
    ("array.diag_part", (3,), "Input must have even and non-zero rank, input rank is 1"),
    ("array.diag_part", (), "Input must have even and non-zero rank, input rank is 0"),
    ("array.diag_part", (2, 3), "Dimensions must be equal, but are 2 and 3"),
])
def test_diag_errors(name, shape, match):
    with pytest.raises(BuildError, match=match):
        shape_of(name, shape)
