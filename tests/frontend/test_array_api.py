"""The array family of `import tfc as tf` (compiler/api/array_ops.py): values against numpy,
and the graphs (op names, types, static shapes) and errors TF 2.21's tf.compat.v1 gives. Op
lists and messages quoted below were obtained once from TF 2.21."""

import numpy as np
import pytest

import tfc as tf

A = np.arange(6, dtype=np.float32).reshape(2, 3)
A24 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
M34 = np.arange(1, 13, dtype=np.float32).reshape(3, 4)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def ops():
    return [(o.name, o.type) for o in tf.get_default_graph().get_operations()]


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def check(got, want, dtype=None):
    want = np.asarray(want, dtype=dtype if dtype is not None else np.asarray(got).dtype)
    assert np.asarray(got).shape == want.shape and np.asarray(got).dtype == want.dtype, (got, want)
    np.testing.assert_array_equal(got, want)


def x23(shape=(2, 3), dtype=tf.float32, name="x"):
    return tf.placeholder(dtype, shape, name=name)


# constant --------------------------------------------------------------------------------------
def test_constant_with_shape_pads_fills_and_reshapes():
    check(run(tf.constant([1, 2], shape=[2, 2])), [[1, 2], [2, 2]], np.int32)   # TF1: last repeats
    check(run(tf.constant(5.0, shape=[2, 2])), np.full((2, 2), 5, np.float32))
    check(run(tf.constant([], shape=[2])), [0, 0], np.float32)
    check(run(tf.constant([[1, 2], [3, 4]], shape=[4])), [1, 2, 3, 4], np.int32)
    assert ops() == [("Const", "Const"), ("Const_1", "Const"), ("Const_2", "Const"), ("Const_3", "Const")]


def test_constant_errors():
    with pytest.raises(ValueError, match=r"^Too many elements provided. Takes at most 2, but got 3.$"):
        tf.constant([1, 2, 3], shape=[2])
    with pytest.raises(TypeError, match=r"^Expected Tensor's shape: \(3,\), but got \(2,\).$"):
        tf.constant([1, 2], shape=[3], verify_shape=True)
    with pytest.raises(TypeError, match="Expected int32, but got 1.5 of type 'float'."):
        tf.constant(1.5, dtype=tf.int32)


# identities ----------------------------------------------------------------------------------------
def test_identity_n_stop_gradient_and_placeholder_with_default():
    x, u = x23(), x23((None, 3), name="u")
    a, b = tf.identity_n([x, u])
    assert (a.name, b.name, b.shape.as_list()) == ("IdentityN:0", "IdentityN:1", [None, 3])
    s = tf.stop_gradient(x)
    assert s.op.type == "StopGradient" and s.name == "StopGradient:0"
    d = tf.placeholder_with_default([1.0, 2.0], [None])
    out = run([a, b, s, d], {x: A, u: A[:1]})
    check(out[1], A[:1])
    check(out[2], A)
    check(out[3], [1, 2], np.float32)


def test_identity_reads_a_variable():
    v = tf.Variable([1.0, 2.0], name="v")
    i = tf.identity(v)
    assert i.op.inputs[0].name == "v:0" and i.name == "Identity:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        check(sess.run(i), [1, 2], np.float32)


# shapes --------------------------------------------------------------------------------------------
def test_shape_size_rank_are_constants_when_known():
    x, u, r = x23(), x23((None, 3), name="u"), tf.placeholder(tf.float32, name="r")
    assert [tf.shape(x).op.type, tf.shape(u).op.type, tf.shape(x, name="foo").op.name] == \
        ["Const", "Shape", "foo"]
    assert tf.shape(x, out_type=tf.int64).dtype == tf.int64
    assert [tf.size(x).op.type, tf.size(u).op.type, tf.size(x23((None, 0), name="e")).op.type] == \
        ["Const", "Size", "Const"]
    assert [tf.rank(x).op.type, tf.rank(r).op.type] == ["Const", "Rank"]
    s1, s2 = tf.shape_n([x, u])
    assert (s1.name, s2.name, s2.shape.as_list()) == ("ShapeN:0", "ShapeN:1", [2])
    feed = {u: np.zeros((4, 3), np.float32), x: A, r: np.zeros((1, 2, 3), np.float32)}
    got = run([tf.shape(u), tf.size(u), tf.rank(r), s2, tf.size(x)], feed)
    check(got[0], [4, 3], np.int32)
    assert got[1] == 12 and got[2] == 3 and got[4] == 6
    check(got[3], [4, 3], np.int32)


def test_reshape_with_a_partly_known_shape():
    # TF's shape inference: (?, 784), (?, 784), (?, ?), (?, 28, 28), (28, 28).
    x = tf.placeholder(tf.float32, [None, 28, 28])
    batch = tf.shape(x)[0]
    assert tf.reshape(x, [batch, 784]).shape.as_list() == [None, 784]
    assert tf.reshape(x, tf.stack([batch, 28 * 28])).shape.as_list() == [None, 784]
    assert tf.reshape(x, [batch, -1]).shape.as_list() == [None, None]
    assert tf.reshape(x, tf.concat([[-1], tf.shape(x)[1:]], 0)).shape.as_list() == [None, 28, 28]
    assert tf.reshape(x, tf.shape(x)[1:]).shape.as_list() == [28, 28]
    assert tf.shape(x)[1:].op.type == "StridedSlice"
    y = tf.reshape(x, [batch, 784])
    assert [o for o in ops() if o[0].startswith("Reshape")][:3] == \
        [("Reshape/shape/1", "Const"), ("Reshape/shape", "Pack"), ("Reshape", "Reshape")]
    assert run(y, {x: np.ones((5, 28, 28), np.float32)}).shape == (5, 784)


def test_expand_dims_squeeze_and_broadcast_to():
    x = x23()
    assert tf.expand_dims(x, 1).shape.as_list() == [2, 1, 3]
    assert tf.expand_dims(x, dim=-1).shape.as_list() == [2, 3, 1]
    y = x23((1, 2, 1), name="y")
    assert tf.squeeze(y).shape.as_list() == [2]
    assert tf.squeeze(y, axis=0).shape.as_list() == [2, 1]
    sq = tf.squeeze(y, squeeze_dims=[2])
    assert sq.shape.as_list() == [1, 2] and sq.op.get_attr("squeeze_dims") == [2]
    assert tf.squeeze(x23((1, None, 2), name="z")).shape.ndims is None
    b = tf.broadcast_to(x, [4, 2, 3])
    assert b.shape.as_list() == [4, 2, 3]
    assert ("BroadcastTo/shape", "Const") in ops() and ("ExpandDims/dim", "Const") in ops()
    check(run(b, {x: A}), np.broadcast_to(A, (4, 2, 3)))
    with pytest.raises(ValueError, match="Cannot specify both 'dim' and 'axis'."):
        tf.expand_dims(x, 0, dim=0)
    with pytest.raises(ValueError, match=r"Must specify an axis argument to tf.expand_dims\(\)"):
        tf.expand_dims(x)
    with pytest.raises(ValueError, match=r"dim 3 not in the interval \[-3, 2\]. for 'ExpandDims_2'"):
        tf.expand_dims(x, 3)
    with pytest.raises(ValueError, match=r"Can not squeeze dim\[1\], expected a dimension of 1, got 2"):
        tf.squeeze(y, axis=1)


def test_broadcast_shapes():
    assert tf.broadcast_static_shape(tf.TensorShape([2, 1]), tf.TensorShape([3])).as_list() == [2, 3]
    d = tf.broadcast_dynamic_shape([2, 1], [3])
    assert d.op.type == "BroadcastArgs"
    check(run(d), [2, 3], np.int32)


# creating ------------------------------------------------------------------------------------------
def test_fill_zeros_like_ones_like_graphs():
    u = x23((None, 3), name="u")
    tf.fill([2, 3], 5.0)
    tf.ones_like(u)
    tf.zeros_like(u, dtype=tf.int32)
    assert ops() == [  # from TF 2.21
        ("u", "Placeholder"), ("Fill/dims", "Const"), ("Fill/value", "Const"), ("Fill", "Fill"),
        ("ones_like/Shape", "Shape"), ("ones_like/Const", "Const"), ("ones_like", "Fill"),
        ("zeros_like/Shape", "Shape"), ("zeros_like/Const", "Const"), ("zeros_like", "Fill")]
    tf.reset_default_graph()
    x, u = x23(), x23((None, 3), name="u")
    assert tf.zeros_like(x).op.type == "Const"
    z = tf.zeros_like(u)
    o = tf.ones_like(x)
    assert (z.op.type, z.shape.as_list()) == ("ZerosLike", [None, 3])
    assert ("ones_like/Shape/shape_as_tensor", "Const") in ops()
    f = tf.fill([tf.constant(3), 2], 1.0)
    assert f.shape.as_list() == [3, 2] and ("Fill/dims", "Pack") in ops()
    got = run([z, o, f], {u: np.ones((4, 3), np.float32)})
    check(got[0], np.zeros((4, 3), np.float32))
    check(got[1], np.ones((2, 3), np.float32))
    check(got[2], np.ones((3, 2), np.float32))
    assert tf.fill(tf.shape(u), 2.0).shape.as_list() == [None, 3]
    with pytest.raises(TypeError, match="Value passed to parameter 'dims' has DataType float32 not "
                                        "in list of allowed values: int32, int64"):
        tf.fill([2.0], 1)


@pytest.mark.parametrize("args,kwargs,want", [
    ((5,), {}, np.arange(5, dtype=np.int32)),
    ((1, 5, 2), {}, np.array([1, 3], np.int32)),
    ((1.0, 5), {}, np.arange(1, 5, dtype=np.float32)),
    ((1, 5.5, 0.5), {"dtype": tf.float64}, np.arange(1, 5.5, 0.5)),
    ((5,), {"dtype": tf.int64}, np.arange(5)),
    ((10, 0, -3), {}, np.array([10, 7, 4, 1], np.int32)),
])
def test_range(args, kwargs, want):
    check(run(tf.range(*args, **kwargs)), want)


def test_range_graph_and_errors():
    tf.range(1.0, 5)
    tf.range(tf.constant(3), name="r")
    assert ops() == [  # from TF 2.21
        ("range/start", "Const"), ("range/limit", "Const"), ("range/delta", "Const"),
        ("range/Cast", "Cast"), ("range/Cast_1", "Cast"), ("range", "Range"),
        ("Const", "Const"), ("r/start", "Const"), ("r/delta", "Const"), ("r", "Range")]
    with pytest.raises(ValueError, match="Requires start <= limit when delta > 0: 5/1"):
        tf.range(5, 1)
    with pytest.raises(TypeError, match="Expected int32, but got 1.5 of type 'float'."):
        tf.range(1.5, dtype=tf.int32)


def test_linspace_builds_tfs_graph():
    y = tf.linspace(0.0, 1.0, 5)
    assert y.name == "linspace/Slice:0" and y.shape.as_list() == [5]
    assert len(ops()) == 74       # the ops TF 2.21's linspace_nd builds
    assert [t for _, t in ops()][-3:] == ["Const", "ConcatV2", "Slice"]
    check(run(y), [0, 0.25, 0.5, 0.75, 1], np.float32)
    check(run(tf.lin_space(2.0, 3.0, 1)), [2], np.float32)
    start = tf.placeholder(tf.float32, [2])
    z = tf.linspace(start, 10.0, 3)
    check(run(z, {start: [0, 4]}), [[0, 4], [5, 7], [10, 10]], np.float32)


def test_one_hot():
    tf.one_hot([1, 2], 3)
    assert ops() == [("one_hot/on_value", "Const"), ("one_hot/off_value", "Const"),
                     ("one_hot/indices", "Const"), ("one_hot/depth", "Const"), ("one_hot", "OneHot")]
    check(run(tf.one_hot([1, 2], 3, on_value=5, off_value=-1)), [[-1, 5, -1], [-1, -1, 5]], np.int32)
    got = tf.one_hot([1, 2], 3, on_value=5.0, dtype=tf.float64, axis=0)
    check(run(got), [[0, 0], [5, 0], [0, 5]], np.float64)
    on = tf.placeholder(tf.float32, [])
    check(run(tf.one_hot([0, 3], 2, on_value=on), {on: 7.0}), [[7, 0], [0, 0]], np.float32)
    with pytest.raises(TypeError, match="dtype <dtype: 'float32'> of on_value does not match dtype "
                                        "parameter <dtype: 'int32'>"):
        tf.one_hot([1], 3, on_value=1.0, dtype=tf.int32)
    with pytest.raises(TypeError, match="has DataType float32 not in list of allowed values: uint8, "
                                        "int8, int32, int64"):
        tf.one_hot([1.0], 3)


def test_eye():
    tf.eye(2, 3, dtype=tf.int32)
    assert ops() == [("eye/ones", "Const"), ("eye/zeros", "Const"), ("eye/set_diag/k", "Const"),
                     ("eye/set_diag", "MatrixSetDiagV3")]
    check(run(tf.eye(3, 2)), np.eye(3, 2, dtype=np.float32))
    e = tf.eye(2, batch_shape=[3])
    assert e.name == "eye_2/diag:0"
    check(run(e), np.broadcast_to(np.eye(2, dtype=np.float32), (3, 2, 2)))
    n = tf.constant(3)
    assert tf.eye(n).shape.as_list() == [3, 3]
    with pytest.raises(TypeError, match="must be positive integer values. Received: num_rows=2.0"):
        tf.eye(2.0)


def test_sequence_mask():
    m = tf.sequence_mask([1, 3, 2], 5)
    assert ops() == [  # from TF 2.21
        ("SequenceMask/Const", "Const"), ("SequenceMask/Const_1", "Const"),
        ("SequenceMask/Const_2", "Const"), ("SequenceMask/Const_3", "Const"),
        ("SequenceMask/Range", "Range"), ("SequenceMask/ExpandDims/dim", "Const"),
        ("SequenceMask/ExpandDims", "ExpandDims"), ("SequenceMask/Cast", "Cast"),
        ("SequenceMask/Less", "Less")]
    check(run(m), np.arange(5) < np.array([[1], [3], [2]]))
    lengths = tf.placeholder(tf.int32, [None])
    f = tf.sequence_mask(lengths, 3, dtype=tf.float32)
    assert f.name == "SequenceMask_1/Cast_1:0"
    check(run(f, {lengths: [2, 0]}), [[1, 1, 0], [0, 0, 0]], np.float32)
    # Without maxlen the width depends on the fed values: tfc needs static shapes.
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs a value that is known"):
        run(tf.sequence_mask(lengths), {lengths: [2, 0]})
    assert tf.sequence_mask([[1, 2], [3, 0]], 4).shape.as_list() == [2, 2, 4]
    with pytest.raises(ValueError, match="Argument `maxlen` must be scalar for sequence_mask"):
        tf.sequence_mask([1], [2, 3])


def test_meshgrid():
    gx, gy = tf.meshgrid([1, 2, 3], [4, 5])
    assert (gx.name, gy.name) == ("meshgrid/mul:0", "meshgrid/mul_1:0")
    assert ("meshgrid/ones/packed", "Pack") in ops() and len(ops()) == 20   # as TF 2.21
    want = np.meshgrid([1, 2, 3], [4, 5])
    got = run([gx, gy])
    check(got[0], want[0].astype(np.int32))
    check(got[1], want[1].astype(np.int32))
    got = run(tf.meshgrid([1., 2], [3., 4, 5], [6.], indexing="ij"))
    for g, w in zip(got, np.meshgrid([1., 2], [3., 4, 5], [6.], indexing="ij")):
        check(g, w.astype(np.float32))
    with pytest.raises(ValueError, match="must be either 'xy' or 'ij', got 'foo'"):
        tf.meshgrid([1], indexing="foo")


# transforming --------------------------------------------------------------------------------------
def test_transpose():
    x = x23()
    t = tf.transpose(x)
    assert (t.name, t.shape.as_list()) == ("transpose:0", [3, 2])
    assert ("transpose/perm", "Const") in ops()
    check(run(t, {x: A}), A.T)
    check(run(tf.transpose(A24, [1, 0, 2])), A24.transpose(1, 0, 2))
    tf.reset_default_graph()
    r = tf.placeholder(tf.float32)
    t = tf.transpose(r)
    assert t.shape.ndims is None
    assert ops() == [  # from TF 2.21
        ("Placeholder", "Placeholder"), ("transpose/Rank", "Rank"), ("transpose/sub/y", "Const"),
        ("transpose/sub", "Sub"), ("transpose/Range/limit", "Const"),
        ("transpose/Range/delta", "Const"), ("transpose/Range", "Range"), ("transpose", "Transpose")]
    check(run(t, {r: A24}), A24.T)
    with pytest.raises(TypeError, match="Value passed to parameter 'perm' has DataType float32 not "
                                        "in list of allowed values: int32, int64"):
        tf.transpose(A, [1.0, 0.0])


def test_reverse_and_tile():
    r = tf.reverse(A, [1])
    assert r.op.type == "ReverseV2" and ("ReverseV2/axis", "Const") in ops()
    check(run(r), A[:, ::-1])
    check(run(tf.reverse_v2(A, [0, -1])), A[::-1, ::-1])
    t = tf.tile(A, [2, 1])
    assert ("Tile/multiples", "Const") in ops()
    check(run(t), np.tile(A, [2, 1]))
    u = x23((None, 3), name="u")
    partial = tf.tile(u, [tf.shape(u)[0], 2])
    assert partial.shape.as_list() == [None, 6]


@pytest.mark.parametrize("kwargs,op_type", [
    ({}, "Pad"), ({"constant_values": 3}, "PadV2"),
    ({"mode": "reflect"}, "MirrorPad"), ({"mode": "SYMMETRIC"}, "MirrorPad"),
])
def test_pad(kwargs, op_type):
    p = tf.pad(A, [[1, 1], [2, 2]], **kwargs)
    assert p.op.type == op_type and p.op.name == op_type
    mode = kwargs.get("mode", "constant").lower()
    extra = {"constant_values": 3} if "constant_values" in kwargs else {}
    want = np.pad(A, [[1, 1], [2, 2]], mode=mode, **extra)
    check(run(p), want)


def test_pad_unknown_dims_and_errors():
    assert tf.pad(x23((None, 3), name="u"), [[1, 1], [2, 2]]).shape.as_list() == [None, 7]
    with pytest.raises(ValueError, match='Value of argument `mode` expected to be one of "CONSTANT", '
                                         '"REFLECT", or "SYMMETRIC". Received `mode` = FOO'):
        tf.pad(A, [[1, 1], [2, 2]], mode="foo")


# joining and splitting -----------------------------------------------------------------------------
def test_stack_builds_a_constant_or_packs():
    assert tf.stack([1, 2]).op.type == "Const"
    tf.reset_default_graph()
    c = tf.constant(1)
    s = tf.stack([c, 2])
    assert ops() == [("Const", "Const"), ("stack/1", "Const"), ("stack", "Pack")]
    check(run(s), [1, 2], np.int32)
    tf.reset_default_graph()
    s = tf.stack([[1., 2.], [3., 4.]], axis=1)
    assert ops() == [("stack", "Const"), ("stack_1/values_0", "Const"), ("stack_1/values_1", "Const"),
                     ("stack_1", "Pack")]
    check(run(s), [[1, 3], [2, 4]], np.float32)
    tf.reset_default_graph()
    x = x23()
    s = tf.stack([[x[0, 0], 1.0], [2.0, 3.0]])
    assert [o for o in ops() if o[0].startswith("stack")] == [
        ("stack/0/1", "Const"), ("stack/0", "Pack"), ("stack/1_1", "Const"), ("stack", "Pack")]
    check(run(s, {x: A + 7}), [[7, 1], [2, 3]], np.float32)
    assert tf.stack([x, x], 1).shape.as_list() == [2, 2, 3]


def test_stack_errors():
    x = x23()
    with pytest.raises(TypeError, match=r"Tensors in list passed to 'values' of 'Pack' Op have types "
                                        r"\[int32, float32\] that don't all match."):
        tf.stack([tf.constant(1), 2.0])
    with pytest.raises(ValueError, match=r"Argument `axis` = 3 not in range \[-3, 3\)"):
        tf.stack([x, x], axis=3)
    with pytest.raises(ValueError, match="Shapes of all inputs must match"):
        tf.stack([x, x23((3, 3), name="y")])


def test_unstack():
    a, b = tf.unstack(x23())
    assert (a.name, b.name, a.op.get_attr("num")) == ("unstack:0", "unstack:1", 2)
    cols = tf.unstack(A, axis=1)
    for got, want in zip(run(cols), A.T):
        check(got, want)
    u = x23((None, 3), name="u")
    p, q = tf.unstack(u, num=2)
    assert p.shape.as_list() == [3]
    check(run(q, {u: A}), A[1])
    assert tf.unstack(tf.zeros([1, 2]))[0].shape.as_list() == [2]
    with pytest.raises(ValueError, match=r"Cannot infer argument `num` from shape"):
        tf.unstack(u)
    with pytest.raises(ValueError, match="Dimension must be 3 but is 2"):
        tf.unstack(tf.zeros([2, 3]), num=3)
    with pytest.raises(ValueError, match=r"Argument `axis` = 0 not in range \[0, 0\)"):
        tf.unstack(tf.constant(1.0))


def test_concat():
    x = x23()
    c = tf.concat([[[1, 2, 3]], x], 0)
    assert ops() == [("x", "Placeholder"), ("concat/values_0", "Const"), ("concat/axis", "Const"),
                     ("concat", "ConcatV2")]
    check(run(c, {x: A}), np.concatenate([[[1, 2, 3]], A]).astype(np.float32))
    one = tf.concat([x], 0)
    assert (one.name, one.op.type) == ("concat_1/concat:0", "Identity")
    check(run(tf.concat([A, A], -1)), np.concatenate([A, A], -1))
    check(run(tf.concat([[1, 2], [3]], 0)), [1, 2, 3], np.int32)
    assert tf.concat([x, x], tf.placeholder(tf.int32, [])).shape.as_list() == [None, None]
    with pytest.raises(TypeError, match=r"Tensors in list passed to 'values' of 'ConcatV2' Op have "
                                        r"types \[float32, int32\] that don't all match."):
        tf.concat([x, tf.constant([[1, 2, 3]])], 0)
    with pytest.raises(TypeError, match="Value passed to parameter 'axis' has DataType float32"):
        tf.concat([A, A], 0.0)
    with pytest.raises(ValueError, match="Can't concatenate scalars"):
        tf.concat([1, 2], 0)


def test_split():
    pieces = tf.split(A, 3, 1)
    assert [p.name for p in pieces] == ["split:0", "split:1", "split:2"]
    assert ops()[-3:] == [("split/split_dim", "Const"), ("split/value", "Const"), ("split", "Split")]
    for got, want in zip(run(pieces), np.split(A, 3, 1)):
        check(got, want)
    a, b = tf.split(A, [1, -1], 1)
    assert (a.op.type, b.shape.as_list()) == ("SplitV", [2, 2])
    assert ("Const", "Const") in ops() and ("split_1/split_dim", "Const") in ops()
    check(run(b), A[:, 1:])
    assert len(tf.split(A, tf.constant([1, 2]), 1)) == 2
    assert len(tf.split(A, 1)) == 1
    with pytest.raises(ValueError, match="Rank-0 tensors are not supported as the "
                                         "num_or_size_splits argument to split"):
        tf.split(A, tf.constant(2))
    with pytest.raises(ValueError, match="evenly divide"):
        tf.split(A, 2, 1)


# slicing and gathering -----------------------------------------------------------------------------
def test_slice_and_strided_slice():
    s = tf.slice(A, [0, 1], [1, -1])
    assert [o for o in ops() if o[0].startswith("Slice")] == [
        ("Slice/input", "Const"), ("Slice/begin", "Const"), ("Slice/size", "Const"), ("Slice", "Slice")]
    check(run(s), A[:1, 1:])
    tf.reset_default_graph()
    ss = tf.strided_slice(A, [0, 1], [1, 3])
    assert ("ones_like", "Fill") in ops() and ss.name == "StridedSlice:0"
    check(run(ss), A[0:1, 1:3])
    s2 = tf.strided_slice(A, [0, 1], [1, 3], [1, 1], begin_mask=1, shrink_axis_mask=1)
    check(run(s2), A[0, 1:3])
    u = x23((None, 3), name="u")
    begin = tf.placeholder(tf.int32, [2])
    assert tf.slice(u, begin, [1, -1]).shape.as_list() == [1, None]         # as TF 2.21
    assert tf.slice(u, [0, 1], begin).shape.as_list() == [None, None]


def test_gather_and_gather_nd():
    g = tf.gather(A, [1, 0])
    assert [o for o in ops() if o[0].startswith("GatherV2")][-2:] == [
        ("GatherV2/axis", "Const"), ("GatherV2", "GatherV2")]
    check(run(g), A[[1, 0]])
    check(run(tf.gather(A, [1, 0], axis=1)), A[:, [1, 0]])
    check(run(tf.gather(A, [[1, 0], [2, 2]], axis=1, batch_dims=1)), [[1, 0], [5, 5]], np.float32)
    check(run(tf.gather([1, 2, 3], 1)), 2, np.int32)
    v = tf.Variable([1.0, 2.0], name="v")
    gv = tf.gather(v, [0])
    assert gv.op.inputs[0].name == "v/read:0"
    nd = tf.gather_nd(A, [[1, 0]])
    assert nd.op.type == "GatherNd"
    check(run(nd), [3], np.float32)
    b = tf.gather_nd(A24, [[[1, 0], [0, 3]], [[2, 2], [0, 0]]], batch_dims=1)
    assert b.name == "BatchGatherND/Reshape_3:0" and b.shape.as_list() == [2, 2]
    check(run(b), [[A24[0, 1, 0], A24[0, 0, 3]], [A24[1, 2, 2], A24[1, 0, 0]]], np.float32)
    with pytest.raises(TypeError, match="Value passed to parameter 'indices' has DataType float32"):
        tf.gather(A, [1.0])


def test_boolean_mask():
    m = tf.boolean_mask(A, [True, False])
    assert m.name == "boolean_mask/GatherV2:0" and len(ops()) == 29   # TF 2.21's ops
    assert ("boolean_mask/Where", "Where") in ops()
    assert m.shape.as_list() == [1, 3]     # TF says [?, 3]; a known mask gives a static shape
    check(run(m), A[:1])
    check(run(tf.boolean_mask(A, [True, False, True], axis=1)), A[:, [0, 2]])
    mask = tf.placeholder(tf.bool, [None])
    dyn = tf.boolean_mask(A24, mask)
    assert dyn.shape.as_list() == [None, 3, 4]
    check(run(dyn, {mask: [False, True]}), A24[1:])
    check(run(tf.boolean_mask(A24, A24[..., 0] > 10)), A24[A24[..., 0] > 10])   # a 2-D mask
    with pytest.raises(ValueError, match="mask cannot be scalar."):
        tf.boolean_mask(A, True)


# Python indexing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [
    1, -1, (1, 2), (-1, slice(None, None, -2)), (Ellipsis, None, slice(1, None)), (),
    (slice(None), None), (None, Ellipsis), slice(-5, 5), (0, slice(3, 0, -1)), [1, 2],
    (slice(None), 0, None), (Ellipsis, 1),
])
def test_getitem_matches_numpy(spec):
    x = tf.constant(A24)
    np_spec = tuple(spec) if isinstance(spec, list) else spec
    check(run(x[spec]), A24[np_spec])


def test_getitem_graph():
    x = x23()
    y = x[1]
    assert ops() == [("x", "Placeholder"), ("strided_slice/stack", "Const"),
                     ("strided_slice/stack_1", "Const"), ("strided_slice/stack_2", "Const"),
                     ("strided_slice", "StridedSlice")]
    assert y.op.get_attr("shrink_axis_mask") == 1 and y.shape.as_list() == [3]
    z = x[..., None, 1:]
    assert [z.op.get_attr(k) for k in ("ellipsis_mask", "new_axis_mask", "end_mask")] == [1, 2, 4]
    assert z.shape.as_list() == [2, 1, 2]
    tf.reset_default_graph()
    x = x23()
    i = tf.constant(1)
    y = x[i]
    assert ops() == [  # from TF 2.21
        ("x", "Placeholder"), ("Const", "Const"), ("add/y", "Const"), ("add", "AddV2"),
        ("strided_slice/stack", "Pack"), ("strided_slice/stack_1", "Pack"),
        ("strided_slice/stack_2", "Const"), ("strided_slice", "StridedSlice")]
    check(run(y, {x: A}), A[1])
    e = x[()]
    assert ("strided_slice_1/Const", "Const") in ops() and e.shape.as_list() == [2, 3]


def test_getitem_with_tensors_variables_and_masks():
    x = tf.constant(A24)
    stop = tf.placeholder(tf.int32, [])
    assert x[:stop, 2].shape.as_list() == [None, 4]                       # as TF 2.21
    assert x[stop].shape.as_list() == [3, 4] and x[..., stop, None].shape.as_list() == [2, 3, 1]
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs a value that is known"):
        run(x[:stop], {stop: 1})            # a fed bound makes the shape dynamic: not in tfc
    y = x[:tf.constant(1), 2]
    check(run(y), A24[:1, 2])
    y64 = x[tf.constant(1, tf.int64), 1:]
    assert [t.dtype for t in y64.op.inputs[1:]] == [tf.int64] * 3
    check(run(y64), A24[1, 1:])
    v = tf.Variable([[1., 2.], [3., 4.]], name="v")
    r = v[1, ::-1]
    assert r.op.inputs[0].name == "v/read:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        check(sess.run(r), [4, 3], np.float32)
    m = x[tf.constant([True, False])]
    assert m.name == "boolean_mask/GatherV2:0"
    check(run(m), A24[:1])
    assert tf.newaxis is None


@pytest.mark.parametrize("spec,error,match", [
    (1.0, TypeError, r"Only integers, slices \(`:`\), ellipsis \(`...`\), tf.newaxis \(`None`\) "
                     r"and scalar tf.int32/tf.int64 tensors are valid indices, got 1.0"),
    ("a", TypeError, "are valid indices, got 'a'"),
    (5, ValueError, "slice index 5 of dimension 0 out of bounds."),
    ((0, 0, 0), ValueError, "Index out of range using input dim 2"),
])
def test_getitem_errors(spec, error, match):
    with pytest.raises(error, match=match):
        x23()[spec]


def test_getitem_errors_with_tensors():
    x = x23()
    with pytest.raises(TypeError, match="are valid indices, got <tf.Tensor 'Const:0' shape=\\(1,\\)"):
        x[tf.constant([1])]
    with pytest.raises(TypeError, match=r"types \[int32, int64\] that don't all match."):
        x[:tf.constant(2), tf.constant(1, tf.int64)]


# matrices ------------------------------------------------------------------------------------------
def test_matrix_diag_part_and_matrix_diag():
    d = tf.matrix_diag_part(A24)
    assert ops() == [("diag_part/input", "Const"), ("diag_part/k", "Const"),
                     ("diag_part/padding_value", "Const"), ("diag_part", "MatrixDiagPartV3")]
    check(run(d), [[0, 5, 10], [12, 17, 22]], np.float32)
    check(run(tf.matrix_diag_part(M34, k=(-1, 1), padding_value=9)),
          [[2, 7, 12], [1, 6, 11], [5, 10, 9]], np.float32)       # from TF 2.21
    assert tf.matrix_diag_part(x23((None, 3), name="u")).shape.as_list() == [None]
    m = tf.matrix_diag([[1, 2], [3, 4]])
    assert m.name == "diag:0" and [t for _, t in ops()[-6:]] == ["Const"] * 5 + ["MatrixDiagV3"]
    check(run(m), [[[1, 0], [0, 2]], [[3, 0], [0, 4]]], np.int32)
    check(run(tf.matrix_diag([1, 2], k=1)), [[0, 1, 0], [0, 0, 2], [0, 0, 0]], np.int32)
    check(run(tf.matrix_diag(tf.constant([True, True]), padding_value=1)), [[True, True], [True, True]])
    check(run(tf.matrix_set_diag(M34, [1., 2, 3])),
          [[1, 2, 3, 4], [5, 2, 7, 8], [9, 10, 3, 12]], np.float32)
    with pytest.raises(ValueError, match="Shape must be at least rank 2 but is rank 1 for 'diag_part"):
        tf.matrix_diag_part([1., 2.])
    with pytest.raises(ValueError, match="Shape must be at least rank 1 but is rank 0"):
        tf.matrix_diag(3.0)


def test_matrix_band_part_diag_and_diag_part():
    b = tf.matrix_band_part(A24, 1, 0)
    assert [o for o in ops() if o[0].startswith("MatrixBandPart/")] == [
        ("MatrixBandPart/input", "Const"), ("MatrixBandPart/num_lower", "Const"),
        ("MatrixBandPart/num_upper", "Const")]
    i, j = np.indices((3, 4))
    check(run(b), np.where((i - j <= 1) & (j <= i), A24, 0))
    check(run(tf.matrix_band_part(A24, tf.constant(-1, tf.int64), 0)), np.where(j <= i, A24, 0))
    d = tf.diag([[1, 2], [3, 4]])
    assert d.op.type == "Diag" and d.shape.as_list() == [2, 2, 2, 2]
    check(run(tf.diag_part(d)), [[1, 2], [3, 4]], np.int32)
    check(run(tf.diag_part([[1, 2], [3, 4]])), [1, 4], np.int32)
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3 for 'DiagPart"):
        tf.diag_part([[1, 2, 3], [3, 4, 5]])


def test_shapes_known_in_part_follow_tf():
    # Static shapes TF 2.21 infers for the same calls.
    x = tf.placeholder(tf.float32, [None, 4, 2])
    batch = tf.shape(x)[0]
    assert tf.fill([batch, 3], 1.0).shape.as_list() == [None, 3]
    assert tf.ones_like(x).shape.as_list() == [None, 4, 2]
    assert tf.zeros(tf.shape(x)).shape.as_list() == [None, 4, 2]
    assert tf.broadcast_to(x[:, :1], tf.shape(x)).shape.as_list() == [None, 4, 2]
    assert tf.reshape(x, x.shape[1:]).shape.as_list() == [4, 2]          # a TensorShape
    assert tf.range(x.shape[1]).shape.as_list() == [4]                    # a Dimension
    assert tf.range(batch).shape.as_list() == [None]
    dim = tf.shape(x)[1]
    assert dim.op.type == "StridedSlice" and run(dim, {x: np.zeros((3, 4, 2))}) == 4
    with pytest.raises(ValueError, match=r"Cannot convert a partially known TensorShape"):
        tf.reshape(x, x.shape)
