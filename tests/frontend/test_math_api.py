"""The math family of `import tfc as tf` (compiler/api/math_ops.py, tf.math, tf.linalg): values
against numpy or values obtained once from TensorFlow 2.21's tf.compat.v1 (marked "TF:"), the
graph TF builds (op types, names, inputs), dtypes and static shapes, and TF's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tfc as tf

f32, f64, i32, i64 = np.float32, np.float64, np.int32, np.int64


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def graph_ops():
    """[(name, type)] of the default graph's ops, in creation order."""
    return [(op.name, op.type) for op in tf.get_default_graph().get_operations()]


def inputs_of(name):
    return [t.name for t in tf.get_default_graph().get_operation_by_name(name).inputs]


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        if tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES):
            sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict=feed_dict)


def check(got, expected, dtype=None, rtol=1e-6, atol=1e-6):
    expected = np.asarray(expected, dtype=dtype if dtype is not None else np.asarray(got).dtype)
    got = np.asarray(got)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


X = np.array([[-2.5, -1.0, 0.0], [0.5, 1.5, 3.0]], f32)
Y = np.array([1.5, -2.0, 4.0], f32)


def placeholder(value, name="x"):
    return tf.placeholder(tf.as_dtype(value.dtype), value.shape, name=name)


# Binary elementwise ops ------------------------------------------------------------------------
BINARY = [
    # fn, TF op type (= default name), numpy reference
    (tf.subtract, "Sub", np.subtract),
    (tf.multiply, "Mul", np.multiply),
    (tf.realdiv, "RealDiv", np.divide),
    (tf.floor_div, "FloorDiv", np.floor_divide),
    (tf.floormod, "FloorMod", np.mod),
    (tf.mod, "FloorMod", np.mod),
    (tf.maximum, "Maximum", np.maximum),
    (tf.minimum, "Minimum", np.minimum),
    (tf.squared_difference, "SquaredDifference", lambda a, b: (a - b) ** 2),
    (tf.atan2, "Atan2", np.arctan2),
    (tf.equal, "Equal", np.equal),
    (tf.not_equal, "NotEqual", np.not_equal),
    (tf.greater, "Greater", np.greater),
    (tf.greater_equal, "GreaterEqual", np.greater_equal),
    (tf.less, "Less", np.less),
    (tf.less_equal, "LessEqual", np.less_equal),
]


@pytest.mark.parametrize("fn, op_type, ref", BINARY, ids=lambda v: getattr(v, "__name__", v))
def test_binary_ops(fn, op_type, ref):
    x = placeholder(X)
    out = fn(x, Y)
    second = "x" if op_type == "Atan2" else "y"                # atan2(y, x): TF's argument names
    assert graph_ops() == [("x", "Placeholder"), (f"{op_type}/{second}", "Const"), (op_type, op_type)]
    assert out.name == f"{op_type}:0" and out.shape.as_list() == [2, 3]
    check(run(out, {x: X}), ref(X, Y), rtol=1e-6)
    named = fn(x, 2.0, name="named")
    assert named.op.name == "named" and inputs_of("named") == ["x:0", f"named/{second}:0"]


def test_add():
    x = placeholder(X)
    out = tf.add(x, 1)                     # TF: `y` takes x's dtype (an AddV2 named Add)
    assert graph_ops()[1:] == [("Add/y", "Const"), ("Add", "AddV2")]
    assert out.dtype == tf.float32
    check(run(out, {x: X}), X + 1)
    s = tf.add(tf.constant("ab"), "c")      # strings concatenate with Add
    assert s.op.type == "Add"
    assert run(s) == b"abc"


def test_binary_python_operands_and_broadcast():
    assert run(tf.multiply(2, 3)) == 6
    assert graph_ops() == [("Mul/x", "Const"), ("Mul/y", "Const"), ("Mul", "Mul")]
    out = tf.subtract(tf.zeros([4, 1, 3]), tf.ones([2, 1]))
    assert out.shape.as_list() == [4, 2, 3]


def test_atan2_argument_order():
    out = tf.atan2(x=tf.constant([1.0]), y=tf.constant([2.0]))
    check(run(out), np.arctan2([2.0], [1.0]).astype(f32))


def test_binary_dtype_and_shape_errors():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    with pytest.raises(TypeError, match=r"^Input 'y' of 'AddV2' Op has type int32 that does not "
                                        r"match type float32 of argument 'x'\.$"):
        tf.add(x, tf.constant(1))
    with pytest.raises(TypeError, match="Input 'y' of 'Sub' Op has type int32"):
        tf.subtract(x, tf.placeholder(tf.int32, [2, 3]))
    # (The failed Sub above took the name Sub, as in TF.)
    with pytest.raises(ValueError, match=r"^Dimensions must be equal, but are 3 and 4 for 'Sub_1' "
                                         r"\(op: 'Sub'\) with input shapes: \[2,3\], \[4\]\.$"):
        tf.subtract(x, tf.zeros([4]))
    with pytest.raises(TypeError, match=r"Input 'x' of 'LogicalAnd' Op has type int32 that does "
                                        r"not match expected type of bool\."):
        tf.logical_and(tf.constant(1), tf.constant(1))
    with pytest.raises(TypeError, match=r"Value passed to parameter 'x' has DataType int32 not in list "
                                        r"of allowed values: bfloat16, float16, float32, float64, "
                                        r"complex64, complex128"):
        tf.sqrt(tf.constant(1))


def test_division_family():
    a, b = tf.constant([-7, 7]), tf.constant([2, 2])
    # TF: python-2 div floors ints; floordiv/mod floor; truncate* round toward zero.
    results = run([tf.div(a, 2), tf.floordiv(a, 2), tf.mod(a, 3), tf.truncatediv(a, b),
                   tf.truncatemod(a, 3), tf.div(tf.constant([-7.0]), 2.0)])
    for got, expected in zip(results, [[-4, 3], [-4, 3], [2, 1], [-3, 3], [-1, 1], [-3.5]]):
        check(got, expected)
    ops = dict(graph_ops())
    assert ops["div"] == "FloorDiv" and ops["floordiv"] == "FloorDiv" and ops["FloorMod"] == "FloorMod"
    assert ops["TruncateDiv"] == "TruncateDiv" and ops["div_1"] == "RealDiv"


def test_truediv_casts_integers():
    x = tf.placeholder(tf.int32, [2], name="x")
    out = tf.truediv(x, 2)
    assert graph_ops() == [("x", "Placeholder"), ("truediv/y", "Const"), ("truediv/Cast", "Cast"),
                           ("truediv/Cast_1", "Cast"), ("truediv", "RealDiv")]
    assert out.dtype == tf.float64                        # TF: int32 -> float64
    check(run(out, {x: [3, -3]}), [1.5, -1.5])
    assert tf.truediv(tf.constant([1], tf.int16), tf.constant([2], tf.int16)).dtype == tf.float32
    with pytest.raises(TypeError, match=r"^`x` and `y` must have the same dtype, got tf.float32 != "
                                        r"tf.int32\.$"):
        tf.truediv(tf.constant(1.0), tf.constant(1))
    with pytest.raises(TypeError, match=r"Invalid dtype tf.bool in __truediv__"):
        tf.truediv(tf.constant(True), tf.constant(False))


def test_divide():
    x = tf.placeholder(tf.float32, [2], name="x")
    assert tf.divide(x, 2.0).op.name == "truediv"
    assert tf.divide(x, 2.0, name="dd").op.name == "dd" and inputs_of("dd") == ["x:0", "dd/y:0"]
    out = tf.divide(3, x)                       # 3 becomes a float32 Const first, as in TF
    check(run(out, {x: [2, 4]}), [1.5, 0.75])
    assert tf.divide(tf.constant([3]), tf.constant([2])).dtype == tf.float64


def test_pow_and_logical_xor_graph():
    tf.pow(tf.placeholder(tf.float32, [2], name="x"), 2.0)
    assert graph_ops()[1:] == [("Pow/y", "Const"), ("Pow", "Pow")]
    tf.reset_default_graph()
    b, c = tf.placeholder(tf.bool, [4], name="b"), tf.placeholder(tf.bool, [4], name="c")
    out = tf.logical_xor(b, c)
    # TF builds xor from three ops; the last is named LogicalXor.
    assert graph_ops()[2:] == [("LogicalOr", "LogicalOr"), ("LogicalAnd", "LogicalAnd"),
                               ("LogicalNot", "LogicalNot"), ("LogicalXor", "LogicalAnd")]
    feed = {b: [True, True, False, False], c: [True, False, True, False]}
    check(run([out, tf.logical_and(b, c), tf.logical_or(b, c)], feed),
          [[False, True, True, False], [True, False, False, False], [True, True, True, False]])


def test_add_n():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    out = tf.add_n([x, x, np.ones((2, 3), f32)])
    assert graph_ops() == [("x", "Placeholder"), ("Const", "Const"), ("AddN", "AddN")]
    assert inputs_of("AddN") == ["x:0", "x:0", "Const:0"]
    check(run(out, {x: X}), 2 * X + 1)
    assert tf.add_n([x]) is x                                   # TF: one input passes through
    assert tf.add_n([x], name="s").op.type == "Identity"
    with pytest.raises(ValueError, match="Inputs must be an iterable of at least one"):
        tf.add_n([])
    with pytest.raises(TypeError, match=r"Tensors in list passed to 'inputs' of 'AddN' Op have types "
                                        r"\[float32, int32\] that don't all match\."):
        tf.add_n([x, tf.zeros([2, 3], tf.int32)])
    with pytest.raises(ValueError, match="Dimension 1 in both shapes must be equal, but are 3 and 4"):
        tf.add_n([x, tf.zeros([2, 4])])


def test_scalar_mul():
    x = tf.placeholder(tf.float32, [2], name="x")
    out = tf.scalar_mul(2, x)
    assert graph_ops()[1:] == [("scalar", "Const"), ("Mul", "Mul")]
    check(run(out, {x: [1, 2]}), [2, 4])
    with pytest.raises(ValueError, match=r"The input scalar must be a 0-D value. Received shape \(1,\)\."):
        tf.scalar_mul([2.0], x)


# Unary ops -------------------------------------------------------------------------------------
UNARY = [
    (tf.abs, "Abs", np.abs, X), (tf.negative, "Neg", np.negative, X),
    (tf.sign, "Sign", np.sign, X), (tf.square, "Square", np.square, X),
    (tf.sqrt, "Sqrt", np.sqrt, np.abs(X)), (tf.rsqrt, "Rsqrt", lambda v: 1 / np.sqrt(v), np.abs(X) + 1),
    (tf.exp, "Exp", np.exp, X), (tf.expm1, "Expm1", np.expm1, X),
    (tf.log, "Log", np.log, np.abs(X) + 1), (tf.log1p, "Log1p", np.log1p, np.abs(X)),
    (tf.sin, "Sin", np.sin, X), (tf.cos, "Cos", np.cos, X), (tf.tan, "Tan", np.tan, X),
    (tf.asin, "Asin", np.arcsin, X / 3), (tf.acos, "Acos", np.arccos, X / 3),
    (tf.atan, "Atan", np.arctan, X), (tf.sinh, "Sinh", np.sinh, X), (tf.cosh, "Cosh", np.cosh, X),
    (tf.tanh, "Tanh", np.tanh, X), (tf.sigmoid, "Sigmoid", lambda v: 1 / (1 + np.exp(-v)), X),
    (tf.floor, "Floor", np.floor, X), (tf.ceil, "Ceil", np.ceil, X),
    (tf.round, "Round", np.round, X), (tf.rint, "Rint", np.rint, X),
    (tf.reciprocal, "Reciprocal", np.reciprocal, X + 5),
    (tf.is_finite, "IsFinite", np.isfinite, X), (tf.is_nan, "IsNan", np.isnan, X),
    (tf.is_inf, "IsInf", np.isinf, X), (tf.logical_not, "LogicalNot", np.logical_not, X > 0),
]


@pytest.mark.parametrize("fn, op_type, ref, value", UNARY, ids=lambda v: getattr(v, "__name__", ""))
def test_unary_ops(fn, op_type, ref, value):
    x = placeholder(value)
    out = fn(x)
    assert graph_ops() == [("x", "Placeholder"), (op_type, op_type)]
    assert out.dtype == (tf.bool if ref in (np.isfinite, np.isnan, np.isinf, np.logical_not) else x.dtype)
    check(run(out, {x: value}), ref(value), rtol=2e-6)


def test_unary_special_cases():
    assert tf.abs(-1.0).op.inputs[0].name == "Abs/x:0"
    # TF: round and rint round half to even; round on integers is no op at all.
    halves = [0.5, 1.5, 2.5, -0.5, -1.5]
    check(run(tf.round(halves)), [0, 2, 2, -0, -2], f32)
    check(run(tf.rint(halves)), [0, 2, 2, -0, -2], f32)
    i = tf.constant([1, 2])
    assert tf.round(i) is i
    check(run(tf.is_finite([1.0, np.inf, np.nan])), [True, False, False])
    assert tf.sigmoid(tf.constant(0.0), name="s").op.name == "s"


# Casts -----------------------------------------------------------------------------------------
def test_cast():
    x = tf.placeholder(tf.float32, [3], name="x")
    assert tf.cast(x, tf.float32) is x and graph_ops() == [("x", "Placeholder")]   # no op
    out = tf.cast(x, tf.int32)
    assert out.op.type == "Cast" and out.op.name == "Cast"
    check(run(out, {x: [1.7, -1.7, 0.2]}), [1, -1, 0], i32)
    assert tf.cast(1.5, tf.int32).op.inputs[0].name == "Cast_1/x:0"


@pytest.mark.parametrize("fn, name, dtype", [
    (tf.to_float, "ToFloat", tf.float32), (tf.to_double, "ToDouble", tf.float64),
    (tf.to_int32, "ToInt32", tf.int32), (tf.to_int64, "ToInt64", tf.int64),
    (tf.to_bfloat16, "ToBFloat16", tf.bfloat16)])
def test_to_dtype(fn, name, dtype):
    x = tf.placeholder(tf.int16, [2])
    out = fn(x)
    assert out.op.name == name and out.op.type == "Cast" and out.dtype == dtype


def test_saturate_cast():
    x = tf.placeholder(tf.float32, [5], name="x")
    out = tf.saturate_cast(x, tf.int32)
    assert graph_ops()[1:] == [("saturate_cast/Const", "Const"), ("saturate_cast/Const_1", "Const"),
                               ("saturate_cast/clamp", "ClipByValue"), ("saturate_cast", "Cast")]
    value = np.array([np.nan, 1e10, -1e10, 3.7, np.inf], f32)
    # TF: the float32 upper limit is nudged below 2**31; NaN becomes INT_MIN (as TF's Cast).
    check(run(out, {x: value}), [-2147483648, 2147483520, -2147483648, 3, 2147483520], i32)
    check(run(tf.saturate_cast(x, tf.uint8), {x: value}), [0, 255, 0, 3, 255], np.uint8)     # TF
    check(run(tf.saturate_cast(tf.constant([300, -300]), tf.int8)), [127, -128], np.int8)


# Reductions ------------------------------------------------------------------------------------
REDUCTIONS = [
    (tf.reduce_sum, "Sum", np.sum), (tf.reduce_mean, "Mean", np.mean),
    (tf.reduce_max, "Max", np.max), (tf.reduce_min, "Min", np.min),
    (tf.reduce_prod, "Prod", np.prod),
]


@pytest.mark.parametrize("fn, op_type, ref", REDUCTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_reductions(fn, op_type, ref):
    x = placeholder(X)
    all_axes = fn(x)
    assert graph_ops() == [("x", "Placeholder"), ("Const", "Const"), (op_type, op_type)]
    one_axis = fn(x, 1)
    assert inputs_of(one_axis.op.name) == ["x:0", f"{op_type}_1/reduction_indices:0"]
    kept = fn(x, [0], keepdims=True)
    old = fn(x, reduction_indices=-1, keep_dims=True)
    assert all_axes.shape.as_list() == [] and one_axis.shape.as_list() == [2]
    assert kept.shape.as_list() == [1, 3] and old.shape.as_list() == [2, 1]
    results = run([all_axes, one_axis, kept, old], {x: X})
    for got, expected in zip(results, [ref(X), ref(X, 1), ref(X, 0, keepdims=True),
                                       ref(X, -1, keepdims=True)]):
        check(got, expected, f32, rtol=1e-6)


def test_reduce_any_all():
    b = tf.constant([[True, False], [True, True]])
    got = run([tf.reduce_any(b), tf.reduce_all(b, 1), tf.reduce_all(b, 0, keepdims=True)])
    check(got[0], True)
    check(got[1], [False, True])
    check(got[2], [[True, False]])
    with pytest.raises(TypeError, match=r"Input 'input' of 'Any' Op has type float32 that does not "
                                        r"match expected type of bool\."):
        tf.reduce_any(tf.zeros([2]))


def test_reduction_unknown_rank_and_tensor_axis():
    x = tf.placeholder(tf.float32, None, name="x")
    out = tf.reduce_sum(x)
    # TF: with the rank unknown, the axes are range(Rank(x)); the result is still a scalar.
    assert graph_ops() == [("x", "Placeholder"), ("Rank", "Rank"), ("range/start", "Const"),
                           ("range/delta", "Const"), ("range", "Range"), ("Sum", "Sum")]
    assert out.shape.as_list() == []
    check(run(out, {x: X}), X.sum(), rtol=1e-6)
    partial = tf.reduce_max(x, 0)
    assert partial.shape.ndims is None
    check(run(partial, {x: X}), X.max(0))
    check(run(tf.reduce_sum(tf.constant(X), tf.constant(1))), X.sum(1), rtol=1e-6)
    check(run(tf.reduce_mean(tf.constant([[1, 2], [4, 4]]), 1)), [1, 4], i32)   # TF: int mean truncates


def test_reduction_errors():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    with pytest.raises(ValueError, match=r"^Invalid reduction dimension 2 for input with 2 dimensions "
                                         r"for 'Sum' \(op: 'Sum'\) with input shapes: \[2,3\], \[\]\.$"):
        tf.reduce_sum(x, 2)
    with pytest.raises(ValueError, match=r"Cannot specify both 'reduction_indices' and 'axis'\."):
        tf.reduce_sum(x, 1, reduction_indices=1)
    with pytest.raises(TypeError, match=r"Value passed to parameter 'reduction_indices' has DataType "
                                        r"float32 not in list of allowed values: int32, int64"):
        tf.reduce_sum(x, 1.0)


def test_reduce_logsumexp():
    x = tf.placeholder(tf.float32, [3, 2], name="x")
    out = tf.reduce_logsumexp(x, 1)
    types = [t for _, t in graph_ops()]
    assert types == ["Placeholder", "Const", "Max", "IsFinite", "Const", "SelectV2", "StopGradient",
                     "Sub", "Exp", "Const", "Sum", "Log", "Shape", "Reshape", "AddV2"]
    assert out.op.name == "ReduceLogSumExp" and out.shape.as_list() == [3]
    value = np.array([[np.inf, 1.0], [-np.inf, -np.inf], [1.0, 2.0]], f32)
    check(run(out, {x: value}), [np.inf, -np.inf, 2.3132617])                          # TF
    row = tf.placeholder(tf.float32, [1, 2])
    check(run(tf.reduce_logsumexp(row, keepdims=True), {row: value[2:]}), [[np.log(np.e + np.e ** 2)]])
    assert tf.reduce_logsumexp(x).shape.as_list() == []


def test_count_nonzero():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    out = tf.count_nonzero(x, 1)
    assert graph_ops()[1:] == [("count_nonzero/zeros", "Const"), ("count_nonzero/NotEqual", "NotEqual"),
                               ("count_nonzero/Cast", "Cast"),
                               ("count_nonzero/Sum/reduction_indices", "Const"), ("count_nonzero/Sum", "Sum")]
    assert out.dtype == tf.int64
    check(run(out, {x: [[0, 1, 2], [0, 0, -1]]}), [2, 1])                              # TF
    check(run(tf.count_nonzero(tf.constant([True, False, True]), dtype=tf.int32)), 2, i32)
    check(run(tf.count_nonzero(tf.constant(["a", "", "b"]))), 2, i64)
    check(run(tf.count_nonzero(input=tf.constant([[1, 0]]), reduction_indices=1, keep_dims=True)), [[1]], i64)


def test_argmax_argmin():
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    out = tf.argmax(x, 1)
    assert graph_ops()[1:] == [("ArgMax/dimension", "Const"), ("ArgMax", "ArgMax")]
    assert out.dtype == tf.int64 and out.shape.as_list() == [2]
    value = [[1, np.nan, 3], [5, 5, 0]]
    check(run(out, {x: value}), [2, 0])                                                # TF: NaN ignored
    check(run(tf.argmax(x), {x: value}), [1, 1, 0])                                   # TF
    low = tf.argmin(x, dimension=1, output_type=tf.int32)
    assert low.dtype == tf.int32
    check(run(low, {x: [[3, 1, 2], [0, 0, -1]]}), [1, 2])
    with pytest.raises(ValueError, match=r"^Dimension \(3\) must be in the range \[-2, 2\), where 2 is "
                                         r"the number of dimensions in the input\. for 'ArgMax_2'"):
        tf.argmax(x, 3)


# matmul and linear algebra ---------------------------------------------------------------------
def test_matmul_graph_and_values():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)).astype(f32), rng.standard_normal((3, 4)).astype(f32)
    pa, pb = placeholder(a, "a"), placeholder(b, "b")
    out = tf.matmul(pa, pb)
    assert graph_ops()[2:] == [("MatMul", "MatMul")] and out.shape.as_list() == [2, 4]
    t = tf.matmul(pb, pa, transpose_a=True, transpose_b=True)
    adj = tf.matmul(pa, pa, adjoint_b=True)
    assert t.op.get_attr("transpose_a") and adj.op.get_attr("transpose_b")
    results = run([out, t, adj], {pa: a, pb: b})
    check(results[0], a @ b, rtol=1e-5)
    check(results[1], b.T @ a.T, rtol=1e-5)
    check(results[2], a @ a.T, rtol=1e-5)


def test_batch_matmul():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 3, 2)).astype(f32), rng.standard_normal((4, 3)).astype(f32)
    pa = placeholder(a, "a")
    out = tf.matmul(pa, b, transpose_a=True, transpose_b=True)
    assert out.op.type == "BatchMatMulV2" and out.op.name == "MatMul"
    assert out.op.get_attr("adj_x") and out.shape.as_list() == [5, 2, 4]
    check(run(out, {pa: a}), np.swapaxes(a, 1, 2) @ b.T, rtol=1e-5)
    assert tf.matmul(tf.placeholder(tf.float32), b).op.type == "BatchMatMulV2"     # unknown rank
    sparse = tf.matmul(b, b.T, a_is_sparse=True)
    assert sparse.op.type == "SparseMatMul"
    check(run(sparse), b @ b.T, rtol=1e-5)


def test_matmul_errors():
    a = tf.placeholder(tf.float32, [2, 3], name="a")
    with pytest.raises(ValueError, match=r"^Dimensions must be equal, but are 3 and 4 for 'MatMul' "
                                         r"\(op: 'MatMul'\) with input shapes: \[2,3\], \[4,5\]\.$"):
        tf.matmul(a, tf.placeholder(tf.float32, [4, 5]))
    with pytest.raises(ValueError, match=r"^Shape must be rank 2 but is rank 1 for 'MatMul_1'"):
        tf.matmul(a, tf.placeholder(tf.float32, [3]))
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 2 and 3 for 'MatMul_2' "
                                         r"\(op: 'BatchMatMulV2'\)"):
        tf.matmul(tf.zeros([2, 2, 3]), tf.zeros([3, 3, 4]))
    with pytest.raises(TypeError, match=r"Input 'b' of 'MatMul' Op has type int32 that does not match "
                                        r"type float32 of argument 'a'\."):
        tf.matmul(a, tf.zeros([3, 5], tf.int32))
    with pytest.raises(TypeError, match=r"Input 'y' of 'BatchMatMulV2' Op has type int32"):
        tf.matmul(tf.zeros([2, 2, 3]), tf.zeros([3, 4], tf.int32))
    with pytest.raises(ValueError, match=r"Only one of `transpose_a` and `adjoint_a` can be True\."):
        tf.matmul(a, a, transpose_a=True, adjoint_a=True)


def test_tensordot():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 2, 3)).astype(f32), rng.standard_normal((4, 3)).astype(f32)
    pa, pb = placeholder(a, "a"), placeholder(b, "b")
    out = tf.tensordot(pa, pb, [[2], [1]])
    assert graph_ops()[2:] == [
        ("Tensordot/Reshape/shape", "Const"), ("Tensordot/Reshape", "Reshape"),
        ("Tensordot/transpose/perm", "Const"), ("Tensordot/transpose", "Transpose"),
        ("Tensordot/MatMul", "MatMul"), ("Tensordot/shape", "Const"), ("Tensordot", "Reshape")]
    assert out.shape.as_list() == [5, 2, 4]
    c = rng.standard_normal((3, 2, 4)).astype(f32)
    results = run([out, tf.tensordot(a, c, ([1, 2], [1, 0])), tf.tensordot(b, c, 0),
                   tf.tensordot(a[0], a[0], [[0, 1], [0, 1]])], {pa: a, pb: b})
    check(results[0], np.tensordot(a, b, [[2], [1]]), rtol=1e-5)
    check(results[1], np.tensordot(a, c, ([1, 2], [1, 0])), rtol=1e-5, atol=1e-5)
    check(results[2], np.tensordot(b, c, 0), rtol=1e-5)
    check(results[3], np.tensordot(a[0], a[0], 2), rtol=1e-5)


def test_matrix_ops():
    m = np.array([[4.0, 7.0], [2.0, 6.0]])
    inv, det = tf.matrix_inverse(m), tf.matrix_determinant(m)
    assert (inv.op.type, det.op.type) == ("MatrixInverse", "MatrixDeterminant")
    assert tf.linalg.inv is tf.matrix_inverse and tf.linalg.det is tf.matrix_determinant
    adj = tf.matrix_inverse(m, adjoint=True)
    results = run([inv, det, adj])
    check(results[0], np.linalg.inv(m), rtol=1e-12)
    check(results[1], 10.0, rtol=1e-12)
    check(results[2], np.linalg.inv(m.T), rtol=1e-12)
    with pytest.raises(TypeError, match="Value passed to parameter 'input' has DataType int32"):
        tf.matrix_inverse(tf.constant([[1]]))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3 for 'MatrixInverse_3'"):
        tf.matrix_inverse(tf.zeros([2, 3]))


def test_matrix_transpose():
    a = tf.placeholder(tf.float32, [5, 2, 3], name="a")
    out = tf.linalg.transpose(a)
    assert graph_ops()[1:] == [("matrix_transpose/transpose/perm", "Const"),
                               ("matrix_transpose/transpose", "Transpose")]
    assert out.shape.as_list() == [5, 3, 2] and tf.matrix_transpose is tf.linalg.matrix_transpose
    value = np.arange(30, dtype=f32).reshape(5, 2, 3)
    check(run(out, {a: value}), np.swapaxes(value, 1, 2))
    with pytest.raises(ValueError, match=r"Argument `a` should be a \(batch\) matrix with rank >= 2"):
        tf.matrix_transpose(tf.zeros([3]))


def test_qr():
    a = np.array([[1, 2], [3, 4], [5, 6]], f64)
    q, r = tf.qr(a)
    assert q.op is r.op and q.op.type == "Qr" and q.op.name == "Qr"
    assert q.shape.as_list() == [3, 2] and r.shape.as_list() == [2, 2]
    full = tf.linalg.qr(a, full_matrices=True)
    assert full.q.shape.as_list() == [3, 3] and full.r.shape.as_list() == [3, 2]
    q_value, r_value, fq = run([q, r, full.q])
    # TF: Q and R of this matrix (LAPACK and Eigen make the same sign choices).
    check(q_value, [[-0.16903085094570325, 0.89708522714506], [-0.5070925528371099, 0.27602622373694297],
                    [-0.8451542547285166, -0.34503277967117774]], rtol=1e-12)
    check(r_value, [[-5.916079783099616, -7.437357441610944], [0, 0.8280786712108239]], rtol=1e-12)
    check(fq @ fq.T, np.eye(3), atol=1e-12)
    batch = tf.qr(tf.placeholder(tf.float32, [None, 4, 3]))
    assert batch.q.shape.as_list() == [None, 4, 3] and batch.r.shape.as_list() == [None, 3, 3]
    with pytest.raises(TypeError, match="Value passed to parameter 'input' has DataType int32"):
        tf.qr(tf.constant([[1, 2]]))


def test_trace():
    x = tf.placeholder(tf.float32, [2, 2, 3], name="x")
    out = tf.trace(x)
    assert graph_ops()[1:] == [("Trace/diag_part/k", "Const"), ("Trace/diag_part/padding_value", "Const"),
                               ("Trace/diag_part", "MatrixDiagPartV3"),
                               ("Trace/reduction_indices", "Const"), ("Trace", "Sum")]
    check(run(out, {x: np.arange(12, dtype=f32).reshape(2, 2, 3)}), [4, 16])            # TF
    check(run(tf.linalg.trace(np.eye(3, dtype=f32) * 2)), 6, f32)


def test_norm():
    m = np.array([[1, -2, 3], [-4, 5, -6]], f32)
    x = placeholder(m)
    out = tf.norm(x)
    assert graph_ops()[1:] == [("norm/mul", "Mul"), ("norm/Const", "Const"), ("norm/Sum", "Sum"),
                               ("norm/Sqrt", "Sqrt"), ("norm/Squeeze", "Squeeze")]
    cases = [
        (out, np.linalg.norm(m)),
        (tf.norm(x, ord=1, axis=1), np.abs(m).sum(1)),
        (tf.norm(x, ord=np.inf, axis=0), np.abs(m).max(0)),
        (tf.norm(x, ord=3, axis=-1), (np.abs(m) ** 3).sum(-1) ** (1 / 3)),
        (tf.norm(x, ord=1, axis=[0, 1]), 9),                                           # TF
        (tf.norm(x, ord=np.inf, axis=(0, 1), keepdims=True), [[15]]),                  # TF
        (tf.norm(x, ord="fro", axis=[0, 1]), np.linalg.norm(m)),
        (tf.linalg.norm(x, keep_dims=True), [[np.linalg.norm(m)]]),
    ]
    for got, expected in zip(run([c for c, _ in cases], {x: m}), [e for _, e in cases]):
        check(got, expected, f32, rtol=1e-5)
    with pytest.raises(ValueError, match="'ord' must be a supported vector norm, got -1"):
        tf.norm(x, ord=-1)
    with pytest.raises(ValueError, match=r"'axis' must be None, an integer, or a tuple of 2 unique "
                                         r"integers, got \(0, 0\)"):
        tf.norm(x, axis=[0, 0])
    with pytest.raises(ValueError, match=r"'ord' must be a supported matrix norm in \['euclidean', "
                                         r"'fro', 1, 2, inf\], got 3"):
        tf.norm(x, ord=3, axis=[0, 1])
    with pytest.raises(NotImplementedError, match="matrix 2-norm"):
        tf.norm(x, ord=2, axis=[0, 1])


# Clipping --------------------------------------------------------------------------------------
def test_clip_by_value():
    x = placeholder(X)
    out = tf.clip_by_value(x, -1.0, 1.0)
    assert graph_ops()[1:] == [("clip_by_value/Minimum/y", "Const"), ("clip_by_value/Minimum", "Minimum"),
                               ("clip_by_value/y", "Const"), ("clip_by_value", "Maximum")]
    check(run(out, {x: X}), np.clip(X, -1, 1))
    check(run(tf.clip_by_value([np.nan, 5.0], 0.0, 1.0)), [np.nan, 1.0])                # TF
    with pytest.raises(ValueError, match=r"Shapes \(2, 3\) and \(3, 2, 3\) are incompatible"):
        tf.clip_by_value(x, tf.zeros([3, 2, 3]), 1.0)


def test_clip_by_norm():
    x = placeholder(X)
    out = tf.clip_by_norm(x, 1.0)
    assert out.op.name == "clip_by_norm" and out.op.type == "Identity"
    types = [t for _, t in graph_ops()[1:]]
    assert types == ["Mul", "Const", "Sum", "Const", "Greater", "Const", "Const", "Fill", "Select",
                     "Sqrt", "Select", "Const", "Mul", "Const", "Maximum", "RealDiv", "Identity"]
    rows = tf.clip_by_norm(x, tf.constant(2.0), axes=[1])
    got = run([out, rows, tf.clip_by_norm(tf.zeros([2]), 1.0), tf.clip_by_norm(x, 100.0)], {x: X})
    check(got[0], X / np.linalg.norm(X), rtol=1e-6)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    check(got[1], X * 2 / np.maximum(norms, 2), rtol=1e-6)
    check(got[2], [0, 0])                                          # TF: safe for an all-zero t
    check(got[3], X)
    check(run(tf.clip_by_norm([[3.0, 4.0]], 1.0)), [[0.6, 0.8]])                       # TF


def test_clip_by_average_norm():
    out = tf.clip_by_average_norm(tf.constant([[3.0, 4.0]]), 1.0)
    assert out.op.name == "clip_by_average_norm"
    check(run(out), [[1.2, 1.6]])                                                      # TF
    x = tf.placeholder(tf.float32, [None, 2])
    check(run(tf.clip_by_average_norm(x, 10.0), {x: [[3.0, 4.0]]}), [[3.0, 4.0]])


def test_global_norm_and_clip_by_global_norm():
    a, b = tf.constant([3.0, 4.0], name="a"), tf.constant([[12.0]], name="b")
    norm = tf.global_norm([a, None, b])
    assert norm.op.name == "global_norm/global_norm" and norm.op.type == "Sqrt"
    assert [t for _, t in graph_ops()[2:]] == ["L2Loss", "L2Loss", "Pack", "Const", "Sum", "Const",
                                               "Mul", "Sqrt"]
    check(run(norm), 13.0)                                                             # TF
    tf.reset_default_graph()
    a, b = tf.constant([3.0, 4.0], name="a"), tf.constant([[12.0]], name="b")
    clipped, used = tf.clip_by_global_norm([a, None, b], 6.5)
    assert clipped[1] is None and used.op.name == "global_norm/global_norm"
    # TF's names for the outputs: the scope name, twice, then _<index>.
    assert [c.op.name for c in (clipped[0], clipped[2])] == ["clip_by_global_norm/clip_by_global_norm/_0",
                                                              "clip_by_global_norm/clip_by_global_norm/_2"]
    got = run([clipped[0], clipped[2], used])
    check(got[0], [1.5, 2.0])
    check(got[1], [[6.0]])
    check(got[2], 13.0)
    same, _ = tf.clip_by_global_norm([a], 100.0, use_norm=tf.constant(5.0))
    check(run(same[0]), [3.0, 4.0])
    inf = tf.clip_by_global_norm([tf.constant([np.inf, 1.0]), tf.constant([2.0])], 1.0)
    got = run(inf)
    check(got[0][0], [np.nan, np.nan])                                                 # TF: NaN signals inf
    check(got[1], np.inf, f32)
    with pytest.raises(TypeError, match="`t_list` should be a sequence of tensors"):
        tf.clip_by_global_norm(a, 1.0)


# where -----------------------------------------------------------------------------------------
def test_where():
    c = tf.placeholder(tf.bool, [2], name="c")
    out = tf.where(c, tf.zeros([2, 3]), tf.ones([2, 3]))
    assert out.op.type == "Select" and out.op.name == "Select"
    check(run(out, {c: [True, False]}), [[0, 0, 0], [1, 1, 1]], f32)
    py = tf.where([True, False], [1.0, 2.0], [3.0, 4.0])
    assert inputs_of(py.op.name) == ["Select_1/condition:0", "Select_1/t:0", "Select_1/e:0"]
    check(run(py), [1.0, 4.0])
    indices = tf.where([[True, False], [False, True]])
    assert indices.op.type == "Where" and indices.dtype == tf.int64
    assert indices.shape.as_list() == [None, 2]
    check(run(indices), [[0, 0], [1, 1]], i64)                                        # TF
    check(run(tf.where([0.0, 2.0, -1.0])), [[1], [2]], i64)
    with pytest.raises(ValueError, match="x and y must both be non-None or both be None."):
        tf.where(c, tf.zeros([2]))
    with pytest.raises(TypeError, match=r"Input 'condition' of 'Select' Op has type float32"):
        tf.where(tf.zeros([2]), tf.zeros([2]), tf.zeros([2]))
    with pytest.raises(ValueError, match=r"Dimension 0 in both shapes must be equal, but are 3 and 2"):
        tf.where(tf.placeholder(tf.bool, [3]), tf.zeros([2, 3]), tf.ones([2, 3]))


def test_where_v2():
    c = tf.placeholder(tf.bool, [3], name="c")
    out = tf.where_v2(c, tf.zeros([2, 3]), 1.0)
    assert out.op.type == "SelectV2" and inputs_of("SelectV2")[2] == "SelectV2/e:0"
    check(run(out, {c: [True, False, True]}), [[0, 1, 0], [0, 1, 0]], f32)
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 4 and 3 for 'SelectV2_1'"):
        tf.where_v2(tf.placeholder(tf.bool, [4]), tf.zeros([2, 3]), 1.0)


# Python operators ------------------------------------------------------------------------------
OPERATORS = [
    # expression, TF's op name, op type, name of the converted Python operand
    (lambda x: x + 1, "add", "AddV2", "add/y"), (lambda x: 1 + x, "add", "AddV2", "add/x"),
    (lambda x: x - 1, "sub", "Sub", "sub/y"), (lambda x: 1 - x, "sub", "Sub", "sub/x"),
    (lambda x: x * 2, "mul", "Mul", "mul/y"), (lambda x: 2 * x, "mul", "Mul", "mul/x"),
    (lambda x: x / 2, "truediv", "RealDiv", "truediv/y"),
    (lambda x: 2 / x, "truediv", "RealDiv", "truediv/x"),
    (lambda x: x // 2, "floordiv", "FloorDiv", "floordiv/y"),
    (lambda x: 2 // x, "floordiv", "FloorDiv", "floordiv/x"),
    (lambda x: x % 2, "mod", "FloorMod", "mod/y"), (lambda x: 2 % x, "mod", "FloorMod", "mod/x"),
    (lambda x: x ** 2, "pow", "Pow", "pow/y"), (lambda x: 2 ** x, "pow", "Pow", "pow/x"),
    (lambda x: x < 1, "Less", "Less", "Less/y"), (lambda x: x <= 1, "LessEqual", "LessEqual", "LessEqual/y"),
    (lambda x: x > 1, "Greater", "Greater", "Greater/y"), (lambda x: 1 > x, "Less", "Less", "Less/y"),
    (lambda x: x >= 1, "GreaterEqual", "GreaterEqual", "GreaterEqual/y"),
    (lambda x: -x, "Neg", "Neg", None), (lambda x: abs(x), "Abs", "Abs", None),
]
NUMBERS = np.array([[1.5, -2.0], [3.0, 0.5]], f32)
REFERENCES = [lambda v: v + 1, lambda v: 1 + v, lambda v: v - 1, lambda v: 1 - v, lambda v: v * 2,
              lambda v: 2 * v, lambda v: v / 2, lambda v: 2 / v, lambda v: v // 2, lambda v: 2 // v,
              lambda v: v % 2, lambda v: 2 % v, lambda v: v ** 2, lambda v: 2 ** v, lambda v: v < 1,
              lambda v: v <= 1, lambda v: v > 1, lambda v: 1 > v, lambda v: v >= 1, lambda v: -v,
              lambda v: abs(v)]


@pytest.mark.parametrize("case", range(len(OPERATORS)))
@pytest.mark.parametrize("on", ["tensor", "variable"])
def test_operators(case, on):
    expression, op_name, op_type, const_name = OPERATORS[case]
    x = tf.placeholder(tf.float32, [2, 2], name="x") if on == "tensor" else tf.Variable(NUMBERS, name="x")
    value_name = "x:0" if on == "tensor" else "x/read:0"
    out = expression(x)
    assert out.op.name == op_name and out.op.type == op_type
    expected_inputs = [value_name] if const_name is None else \
        [f"{const_name}:0", value_name] if const_name.endswith("/x") else [value_name, f"{const_name}:0"]
    assert inputs_of(op_name) == expected_inputs
    feed = {x: NUMBERS} if on == "tensor" else None
    check(run(out, feed), REFERENCES[case](NUMBERS), rtol=1e-6)


def test_matmul_and_logical_operators():
    a = tf.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], f32), name="a")
    out = a @ np.eye(2, dtype=f32)
    assert out.op.name == "matmul" and inputs_of("matmul") == ["a/read:0", "matmul/b:0"]
    r = np.eye(2, dtype=f32) @ tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert r.op.name == "matmul_1" and inputs_of("matmul_1")[0] == "matmul_1/x:0"
    check(run(out), [[1, 2], [3, 4]], f32)
    b = tf.placeholder(tf.bool, [4], name="b")
    c = tf.placeholder(tf.bool, [4], name="c")
    exprs = [~b, b & c, b | True, True | b, b ^ c, False ^ b]
    assert [e.op.name for e in exprs] == ["LogicalNot", "and", "or", "or_1", "xor", "xor_1"]
    assert exprs[4].op.type == "LogicalAnd" and inputs_of("xor/LogicalOr") == ["b:0", "c:0"]
    feed = {b: [True, True, False, False], c: [True, False, True, False]}
    got = run(exprs, feed)
    expected = [[0, 0, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0]]
    for g, e in zip(got, expected):
        check(g, np.array(e, bool))
    with pytest.raises(TypeError, match="tfc has no bitwise ops"):
        tf.constant(1) & tf.constant(2)


def test_operator_special_cases():
    t = tf.constant([True, False])
    prod = t * tf.constant([True, True])      # TF: bools multiply as int32, then cast back
    assert [n for n, _ in graph_ops()[2:]] == ["mul/Cast", "mul/Cast_1", "mul", "mul/Cast_2"]
    check(run(prod), [True, False])
    x = tf.placeholder(tf.float32, [2], name="x")
    assert (x == x) is True and (x != x) is False and x.__eq__(x) is True        # identity, as TF1
    with pytest.raises(TypeError, match="Input 'y' of 'AddV2' Op has type int32 that does not match "
                                        "type float32 of argument 'x'"):
        x + tf.constant([1, 2])
    with pytest.raises(TypeError, match="Expected int32, but got 1.5"):
        1.5 + tf.constant(1)
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 2 and 3 for 'add_2'"):
        x + tf.zeros([3])
    check(run(np.array([1.0, 2.0], f32) + x, {x: [1, 1]}), [2, 3], f32)      # numpy defers to Tensor
    check(run(np.float32(3) * tf.Variable([1.0, 2.0])), [3, 6], f32)
    with tf.name_scope("scope"):
        assert (x + 1).op.name == "scope/add"


# Namespaces ------------------------------------------------------------------------------------
def test_namespaces():
    assert tf.math.add is tf.add and tf.math.reduce_sum is tf.reduce_sum
    assert tf.math.logical_xor is tf.logical_xor and tf.math.floormod is tf.mod
    assert tf.linalg.matmul is tf.matmul and tf.linalg.qr is tf.qr and tf.linalg.trace is tf.trace
    assert tf.linalg.transpose is tf.matrix_transpose and tf.linalg.global_norm is tf.global_norm
    for name in tf.math.__all__:
        assert getattr(tf.math, name) is getattr(tf, name), name
    for name in ("det", "inv", "matmul", "norm", "qr", "tensordot", "trace", "transpose"):
        assert callable(getattr(tf.linalg, name))
