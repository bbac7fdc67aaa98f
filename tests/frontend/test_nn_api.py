"""tf.nn and tf.losses: TF's graphs (op types, names, attributes, shapes), values against numpy,
and TF's errors.

Hard-coded values (dropout draws, max_pool_with_argmax) were obtained once from TensorFlow 2.21
(tf.compat.v1, graph mode) running the same programs.
"""

import numpy as np
import pytest

import tfc as tf

RNG = np.random.RandomState(0)
X = (RNG.randn(2, 5, 5, 3) * 3).astype(np.float32)


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def _ops():
    return [(op.name, op.type) for op in tf.get_default_graph().get_operations()]


# Activations -----------------------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = [
    (tf.nn.relu, "Relu", lambda x: np.maximum(x, 0)),
    (tf.nn.relu6, "Relu6", lambda x: np.clip(x, 0, 6)),
    (tf.nn.elu, "Elu", lambda x: np.where(x < 0, np.exp(x) - 1, x)),
    (tf.nn.selu, "Selu", lambda x: 1.0507009873554805 * np.where(x < 0, 1.6732632423543772 * (np.exp(x) - 1), x)),
    (tf.nn.softplus, "Softplus", lambda x: np.log1p(np.exp(x))),
    (tf.nn.softsign, "Softsign", lambda x: x / (1 + np.abs(x))),
    (tf.nn.leaky_relu, "LeakyRelu", lambda x: np.where(x > 0, x, np.float32(0.2) * x)),
    (tf.nn.sigmoid, "Sigmoid", _sigmoid),
    (tf.nn.tanh, "Tanh", np.tanh),
]


@pytest.mark.parametrize("fn, op_type, ref", ACTIVATIONS, ids=[a[1] for a in ACTIVATIONS])
def test_activations(fn, op_type, ref):
    x = tf.placeholder(tf.float32, [2, 5, 5, 3], name="x")
    y = fn(x)
    assert (y.op.type, y.name, y.dtype, y.shape.as_list()) == (op_type, f"{op_type}:0", tf.float32, [2, 5, 5, 3])
    np.testing.assert_allclose(_run(y, {x: X}), ref(X.astype(np.float64)), rtol=2e-6, atol=1e-6)


def test_relu_of_ints_and_named_constant_input():
    y = tf.nn.relu([1, -2, 3], name="r")
    assert ("r/features", "Const") in _ops() and y.dtype == tf.int32
    np.testing.assert_array_equal(_run(y), [1, 0, 3])


def test_leaky_relu_alpha_and_int_features():
    y = tf.nn.leaky_relu(tf.constant([-2, 3]), alpha=0.5)
    assert y.dtype == tf.float32 and y.op.get_attr("alpha") == pytest.approx(0.5)
    np.testing.assert_array_equal(_run(y), [-1.0, 3.0])


def test_crelu_graph():
    y = tf.nn.crelu(tf.constant([[1.0, -2.0]]))
    assert y.name == "CRelu/Relu:0" and y.shape.as_list() == [1, 4]
    assert [o for o in _ops() if o[0].startswith("CRelu")] == [
        ("CRelu/Neg", "Neg"), ("CRelu/axis", "Const"), ("CRelu", "ConcatV2"), ("CRelu/Relu", "Relu")]
    np.testing.assert_array_equal(_run(y), [[1, 0, 0, 2]])


def test_activation_rejects_ints():
    with pytest.raises(TypeError, match="parameter 'features' has DataType int32 not in list"):
        tf.nn.elu(tf.constant([1]))


# Softmax ---------------------------------------------------------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_and_log_softmax():
    x = tf.constant(X)
    last, middle, by_dim = tf.nn.softmax(x), tf.nn.softmax(x, axis=1), tf.nn.softmax(x, dim=-1)
    log = tf.nn.log_softmax(x, axis=2)
    assert [t.op.type for t in (last, middle, by_dim, log)] == ["Softmax"] * 3 + ["LogSoftmax"]
    got = _run([last, middle, by_dim, log])
    np.testing.assert_allclose(got[0], _softmax(X, -1), rtol=1e-5)
    np.testing.assert_allclose(got[1], _softmax(X, 1), rtol=1e-5)
    np.testing.assert_allclose(got[2], got[0])
    np.testing.assert_allclose(got[3], np.log(_softmax(X.astype(np.float64), 2)), rtol=1e-5, atol=1e-5)


def test_softmax_errors():
    with pytest.raises(TypeError, match="parameter 'logits' has DataType int32"):
        tf.nn.softmax(tf.constant([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`dim` must be in the range \[-2, 2\)"):
        tf.nn.softmax(tf.constant([[1.0, 2.0]]), axis=3)
    with pytest.raises(ValueError, match="Cannot specify both 'dim' and 'axis'"):
        tf.nn.softmax(tf.constant([1.0]), axis=0, dim=0)


def test_bias_add():
    b = np.float32([1, 2, 3])
    nhwc = tf.nn.bias_add(tf.constant(X), b)
    nchw = tf.nn.bias_add(tf.constant(X.transpose(0, 3, 1, 2)), b, data_format="NCHW")
    assert nhwc.op.type == "BiasAdd" and nhwc.op.get_attr("data_format") == "NHWC"
    assert nchw.op.get_attr("data_format") == "NCHW" and ("BiasAdd/bias", "Const") in _ops()
    got = _run([nhwc, nchw])
    np.testing.assert_array_equal(got[0], X + b)
    np.testing.assert_array_equal(got[1], X.transpose(0, 3, 1, 2) + b[:, None, None])
    with pytest.raises(ValueError, match=r"as many biases as the last dimension.*'BiasAdd_2'"):
        tf.nn.bias_add(tf.placeholder(tf.float32, [2, 3]), [1.0, 2.0])


# Convolutions ----------------------------------------------------------------------------------------
def _conv_ref(x, f, stride, pads):
    """Plain NHWC cross-correlation with explicit ((top, bottom), (left, right)) padding."""
    x = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw = f.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, f.shape[3]))
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j] = np.tensordot(win, f, axes=([1, 2, 3], [0, 1, 2]))
    return out


F = RNG.randn(3, 3, 3, 2).astype(np.float32)


def test_conv2d_graph_and_values():
    x = tf.placeholder(tf.float32, [2, 5, 5, 3], name="x")
    same = tf.nn.conv2d(x, F, [1, 1, 1, 1], "SAME")
    explicit = tf.nn.conv2d(x, F, 2, [[0, 0], [1, 1], [2, 2], [0, 0]])
    op = explicit.op
    assert (op.type, op.name, explicit.shape.as_list()) == ("Conv2D", "Conv2D_1", [2, 3, 4, 2])
    assert op.get_attr("strides") == [1, 2, 2, 1] and op.get_attr("padding") == "EXPLICIT"
    assert op.get_attr("explicit_paddings") == [0, 0, 1, 1, 2, 2, 0, 0]
    assert op.get_attr("dilations") == [1, 1, 1, 1] and op.get_attr("use_cudnn_on_gpu") is True
    assert [t.op.name for t in same.op.inputs] == ["x", "Conv2D/filter"]
    got = _run([same, explicit], {x: X})
    np.testing.assert_allclose(got[0], _conv_ref(X, F, 1, ((1, 1), (1, 1))), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], _conv_ref(X, F, 2, ((1, 1), (2, 2))), rtol=1e-5, atol=1e-5)


def test_conv2d_nchw_and_dilations():
    y = tf.nn.conv2d(tf.constant(X.transpose(0, 3, 1, 2)), F, [1, 1], "VALID", data_format="NCHW",
                     dilations=2)
    assert y.op.get_attr("dilations") == [1, 1, 2, 2] and y.shape.as_list() == [2, 2, 1, 1]
    dilated = np.zeros((5, 5, 3, 2), np.float32)
    dilated[::2, ::2] = F
    np.testing.assert_allclose(_run(y), _conv_ref(X, dilated, 1, ((0, 0), (0, 0))).transpose(0, 3, 1, 2),
                               rtol=1e-5, atol=1e-5)


def test_conv2d_errors():
    x = tf.placeholder(tf.float32, [1, 5, 5, 3])
    with pytest.raises(ValueError, match=r"strides should be of length 1, 2 or 4. Received: strides=\[1, 1, 1\]"):
        tf.nn.conv2d(x, F, [1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="""Attr 'padding' of 'Conv2D' Op passed string 'FOO' not in: "SAME", "VALID", "EXPLICIT"."""):
        tf.nn.conv2d(x, F, 1, "FOO")
    with pytest.raises(ValueError, match=r"Depth of input \(3\) is not a multiple of input depth of filter \(4\) for 'Conv2D'"):
        tf.nn.conv2d(x, np.zeros((3, 3, 4, 2), np.float32), 1, "SAME")
    with pytest.raises(ValueError, match="Negative dimension size caused by subtracting 3 from 2"):
        tf.nn.conv2d(tf.placeholder(tf.float32, [1, 2, 2, 3]), F, 1, "VALID")


def test_depthwise_and_separable():
    x = tf.placeholder(tf.float32, [2, 5, 5, 3], name="x")
    p = RNG.randn(1, 1, 6, 4).astype(np.float32)
    d = tf.nn.depthwise_conv2d(x, F, [1, 1, 1, 1], "SAME")
    dilated = tf.nn.depthwise_conv2d(x, F, [1, 1, 1, 1], "SAME", rate=[2, 2])
    native = tf.nn.depthwise_conv2d_native(x, F, [1, 1, 1, 1], "VALID")
    sep = tf.nn.separable_conv2d(x, F, p, [1, 1, 1, 1], "SAME")
    assert (d.op.type, d.name, d.shape.as_list()) == ("DepthwiseConv2dNative", "depthwise:0", [2, 5, 5, 6])
    assert dilated.op.get_attr("dilations") == [1, 2, 2, 1]
    assert (native.name, native.shape.as_list()) == ("DepthwiseConv2dNative:0", [2, 3, 3, 6])
    assert (sep.op.type, sep.name) == ("Conv2D", "separable_conv2d:0")
    assert sep.op.inputs[0].op.name == "separable_conv2d/depthwise"
    assert ("depthwise/dilation_rate", "Const") in _ops()
    got = _run([d, dilated, native, sep], {x: X})
    # Output channel c * 2 + m is input channel c convolved with F[:, :, c, m].
    expanded = np.zeros((3, 3, 3, 6), np.float32)
    for c in range(3):
        expanded[:, :, c, 2 * c:2 * c + 2] = F[:, :, c, :]
    want = _conv_ref(X, expanded, 1, ((1, 1), (1, 1)))
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[2], _conv_ref(X, expanded, 1, ((0, 0), (0, 0))), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[3], want @ p[0, 0], rtol=1e-4, atol=1e-4)
    big = np.zeros((5, 5, 3, 6), np.float32)
    big[::2, ::2] = expanded
    np.testing.assert_allclose(got[1], _conv_ref(X, big, 1, ((2, 2), (2, 2))), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="Dimensions 2 and 1 are not compatible"):
        tf.nn.separable_conv2d(x, F, np.zeros((2, 1, 6, 4), np.float32), [1, 1, 1, 1], "SAME")


# Pooling ---------------------------------------------------------------------------------------------
def test_avg_and_max_pool():
    x = tf.constant(X)
    avg = tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    mx = tf.nn.max_pool(x, 2, 2, "VALID")
    same = tf.nn.max_pool(x, 3, 2, "SAME")
    assert (avg.op.type, avg.op.get_attr("ksize"), avg.shape.as_list()) == ("AvgPool", [1, 2, 2, 1], [2, 2, 2, 3])
    assert (mx.op.type, mx.op.get_attr("strides"), same.shape.as_list()) == ("MaxPool", [1, 2, 2, 1], [2, 3, 3, 3])
    blocks = X[:, :4, :4].reshape(2, 2, 2, 2, 2, 3)
    got = _run([avg, mx, same])
    np.testing.assert_allclose(got[0], blocks.mean(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_array_equal(got[1], blocks.max(axis=(2, 4)))
    padded = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    np.testing.assert_array_equal(got[2][:, 1, 1], padded[:, 2:5, 2:5].max(axis=(1, 2)))
    with pytest.raises(ValueError, match="""Attr 'padding' of 'AvgPool' Op passed string 'FOO' not in: "SAME", "VALID"."""):
        tf.nn.avg_pool(x, 2, 2, "FOO")


def test_max_pool_with_argmax():
    value = np.float32([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3]).reshape(1, 3, 3, 2)
    x = tf.constant(value)
    out, argmax = tf.nn.max_pool_with_argmax(x, [1, 2, 2, 1], [1, 1, 1, 1], "SAME")
    batch = tf.nn.max_pool_with_argmax(np.concatenate([value, value]), [1, 2, 2, 1], [1, 2, 2, 1], "VALID",
                                       include_batch_in_index=True, Targmax=tf.int32)
    assert out.op.type == "MaxPoolWithArgmax" and argmax.dtype == tf.int64 and batch.argmax.dtype == tf.int32
    got = _run([out, argmax, batch.argmax])
    np.testing.assert_array_equal(got[0], [[[[5, 6], [5, 9], [5, 9]], [[9, 7], [9, 8], [5, 8]],
                                            [[9, 7], [9, 3], [2, 3]]]])
    np.testing.assert_array_equal(got[1], [[[[8, 7], [4, 5], [4, 5]], [[12, 13], [14, 11], [10, 11]],
                                            [[12, 13], [14, 15], [16, 17]]]])
    np.testing.assert_array_equal(got[2], [[[[8, 7]]], [[[26, 25]]]])
    with pytest.raises(ValueError, match="`data_format` values other  than 'NHWC' are not supported"):
        tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NCHW")


# Normalization ---------------------------------------------------------------------------------------
def test_l2_loss_and_l2_normalize():
    x = tf.constant(X)
    loss, norm, norm_all = tf.nn.l2_loss(x), tf.nn.l2_normalize(x, 1), tf.nn.l2_normalize(x, epsilon=1e-3)
    assert (loss.op.type, loss.shape.as_list()) == ("L2Loss", [])
    assert (norm.op.type, norm.name) == ("Mul", "l2_normalize:0")
    assert ("l2_normalize/Maximum", "Maximum") in _ops() and ("l2_normalize/Rsqrt", "Rsqrt") in _ops()
    got = _run([loss, norm, norm_all])
    np.testing.assert_allclose(got[0], (X.astype(np.float64) ** 2).sum() / 2, rtol=1e-5)
    np.testing.assert_allclose(got[1], X / np.sqrt((X ** 2).sum(axis=1, keepdims=True)), rtol=1e-5)
    np.testing.assert_allclose(got[2], X / np.sqrt((X ** 2).sum()), rtol=1e-5)


def test_moments():
    mean, var = tf.nn.moments(tf.constant(X), [0, 1, 2])
    kmean, kvar = tf.nn.moments(tf.constant(X), [0], keep_dims=True)
    assert (mean.name, var.name, mean.shape.as_list()) == ("moments/Squeeze:0", "moments/Squeeze_1:0", [3])
    assert (kmean.name, kvar.name, kmean.shape.as_list()) == ("moments_1/mean:0", "moments_1/variance:0", [1, 5, 5, 3])
    assert ("moments/StopGradient", "StopGradient") in _ops()
    got = _run([mean, var, kmean, kvar])
    np.testing.assert_allclose(got[0], X.mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], X.var(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(got[2], X.mean(axis=0, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[3], X.var(axis=0, keepdims=True), rtol=1e-5)


def test_batch_normalization_and_fused_batch_norm():
    mean, var = np.float32([0.1, -2, 3]), np.float32([4, 5, 6])
    scale, offset = np.float32([1, 2, 3]), np.float32([0.5, 0, 1])
    x = tf.constant(X)
    bn = tf.nn.batch_normalization(x, mean, var, offset, scale, 0.001)
    scalar = tf.nn.batch_normalization(x, 1.0, 2.0, 3.0, 4.0, 0.001)
    y, m, v = tf.nn.fused_batch_norm(x, scale, offset, mean, var, is_training=False)
    assert bn.name == "batchnorm/add:0" and scalar.name == "batchnorm_1/add:0"   # numpy + eps: no op
    assert ("batchnorm_1/Rsqrt/x", "Const") in _ops()
    assert (y.op.type, y.name, m.name, v.name) == ("FusedBatchNormV3", "FusedBatchNormV3:0",
                                                   "FusedBatchNormV3:1", "FusedBatchNormV3:2")
    want = (X - mean) / np.sqrt(var + 0.001) * scale + offset
    got = _run([bn, scalar, y, m, v])
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], (X - 1) / np.sqrt(2.001) * 4 + 3, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[2], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[3], mean)
    np.testing.assert_array_equal(got[4], var)
    with pytest.raises(ValueError, match="only is_training=False"):
        tf.nn.fused_batch_norm(x, scale, offset)


# Dropout ---------------------------------------------------------------------------------------------
def test_dropout_graph_is_tf_2_21s():
    x = tf.placeholder(tf.float32, [3, 4], name="x")
    y = tf.nn.dropout(x, keep_prob=0.6)
    assert y.name == "dropout/SelectV2:0" and y.shape.as_list() == [3, 4]
    assert [(n, t) for n, t in _ops() if n != "x"] == [
        ("dropout/Const", "Const"), ("dropout/Mul", "Mul"), ("dropout/Shape", "Const"),
        ("dropout/random_uniform/RandomUniform", "RandomUniform"), ("dropout/GreaterEqual/y", "Const"),
        ("dropout/GreaterEqual", "GreaterEqual"), ("dropout/Const_1", "Const"), ("dropout/SelectV2", "SelectV2")]


def test_dropout_draws_tfs_numbers_run_after_run():
    y = tf.nn.dropout(tf.constant(np.arange(1, 13, dtype=np.float32).reshape(3, 4)), rate=0.5, seed=7)
    with tf.Session() as sess:
        first, second = sess.run(y), sess.run(y)
    np.testing.assert_array_equal(first, [[0, 4, 0, 0], [10, 12, 0, 16], [18, 20, 22, 0]])
    np.testing.assert_array_equal(second, [[2, 4, 0, 0], [10, 0, 0, 0], [18, 0, 22, 24]])


def test_dropout_graph_seed_noise_shape_and_rate_zero():
    tf.set_random_seed(42)
    x = tf.constant(np.ones((4, 3), np.float32))
    a = tf.nn.dropout(x, keep_prob=0.75)
    assert tf.nn.dropout(x, rate=0.0) is x          # no ops, but it uses up a seed as in TF
    b = tf.nn.dropout(x, rate=0.4, noise_shape=[4, 1])
    assert b.op.inputs[0].op.inputs[0].op.inputs[0].op.name == "dropout_2/random_uniform/shape"
    k, f = np.float32(4 / 3), np.float32(1 / 0.6)
    with tf.Session() as sess:
        runs = [sess.run([a, b]) for _ in range(2)]
    # TF 2.21 with the same program except the rate-0 dropout, which takes seed 1 there too:
    # a gets op seed 0 and b op seed 2 in both.
    np.testing.assert_array_equal(runs[0][0], np.float32([[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 0]]) * k)
    np.testing.assert_array_equal(runs[1][0], np.float32([[1, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]]) * k)
    assert [op.get_attr("seed2") for op in tf.get_default_graph().get_operations()
            if op.type == "RandomUniform"] == [0, 2]
    assert runs[0][1].shape == (4, 3) and set(np.unique(runs[0][1])) <= {0, f}
    assert all((row == row[0]).all() for row in runs[0][1])     # one draw per row


def test_dropout_errors():
    x = tf.constant([1.0])
    with pytest.raises(ValueError, match=r"`rate` must be a scalar tensor or a float in the range \[0, 1\)"):
        tf.nn.dropout(x, rate=1.0)
    with pytest.raises(ValueError, match="Cannot specify both 'keep_prob' and 'rate'."):
        tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match="`rate` must be provided"):
        tf.nn.dropout(x)
    with pytest.raises(ValueError, match="`x.dtype` must be a floating point tensor"):
        tf.nn.dropout(tf.constant([1]), rate=0.5)


# Cross entropies -------------------------------------------------------------------------------------
LABELS = RNG.dirichlet([1, 1, 1], 4).astype(np.float32)
LOGITS = (RNG.randn(4, 3) * 5).astype(np.float32)


def _log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    return x - x.max(axis=axis, keepdims=True) - np.log(np.exp(x - x.max(axis=axis, keepdims=True)).sum(axis=axis, keepdims=True))


def test_softmax_cross_entropies():
    l, g = tf.constant(LABELS), tf.constant(LOGITS)
    v1 = tf.nn.softmax_cross_entropy_with_logits(labels=l, logits=g)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=l, logits=g)
    positional = tf.nn.softmax_cross_entropy_with_logits(l, g)      # TF 2.21 takes these too
    axis0 = tf.nn.softmax_cross_entropy_with_logits_v2(l, g, axis=0)
    assert (v1.op.type, v1.name, v1.shape.as_list()) == ("SoftmaxCrossEntropyWithLogits",
                                                         "softmax_cross_entropy_with_logits_sg:0", [4])
    assert ("softmax_cross_entropy_with_logits_sg/labels_stop_gradient", "StopGradient") in _ops()
    assert v2.name == "softmax_cross_entropy_with_logits:0" and axis0.shape.as_list() == [3]
    got = _run([v1, v2, positional, axis0])
    want = -(LABELS * _log_softmax(LOGITS)).sum(-1)
    for value in got[:3]:
        np.testing.assert_allclose(value, want, rtol=1e-5)
    np.testing.assert_allclose(got[3], -(LABELS * _log_softmax(LOGITS, 0)).sum(0), rtol=1e-5)
    with pytest.raises(ValueError, match="Both `labels` and `logits` must be provided for softmax_cross"):
        tf.nn.softmax_cross_entropy_with_logits(labels=l)
    with pytest.raises(ValueError, match="logits and labels must be broadcastable"):
        tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.constant([[1.0, 2, 3]]), logits=tf.constant([[1.0, 2]]))


def test_sparse_softmax_cross_entropy():
    y = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0, 1, 2, 1]), logits=LOGITS)
    y3 = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.zeros((2, 2), np.int64),
                                                        logits=LOGITS.reshape(2, 2, 3), name="xentropy")
    assert y.name == "SparseSoftmaxCrossEntropyWithLogits/SparseSoftmaxCrossEntropyWithLogits:0"
    assert y3.name == "xentropy/xentropy:0" and y3.shape.as_list() == [2, 2]
    got = _run([y, y3])
    np.testing.assert_allclose(got[0], -_log_softmax(LOGITS)[np.arange(4), [0, 1, 2, 1]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1].reshape(-1), -_log_softmax(LOGITS)[:, 0], rtol=1e-5)
    with pytest.raises(ValueError, match=r"`labels.shape.rank` must equal `logits.shape.rank - 1`"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[[1]], logits=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="`labels.shape` must equal `logits.shape` except for the last"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0, 1], logits=[[1.0, 2.0]])
    with pytest.raises(TypeError, match="parameter 'labels' has DataType float32"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1.0], logits=[[1.0, 2.0]])


def test_sigmoid_and_weighted_cross_entropy():
    z, x = tf.constant(LABELS), tf.constant(LOGITS)
    sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    weighted = tf.nn.weighted_cross_entropy_with_logits(z, x, 2.0)
    targets = tf.nn.weighted_cross_entropy_with_logits(targets=z, logits=x, pos_weight=0.5)
    assert (sig.name, weighted.name, targets.name) == ("logistic_loss:0", "logistic_loss_1:0", "logistic_loss_2:0")
    got = _run([sig, weighted, targets])
    xd, zd = LOGITS.astype(np.float64), LABELS.astype(np.float64)
    np.testing.assert_allclose(got[0], np.maximum(xd, 0) - xd * zd + np.log1p(np.exp(-abs(xd))), rtol=1e-5, atol=1e-6)
    for value, q in ((got[1], 2.0), (got[2], 0.5)):
        np.testing.assert_allclose(value, (1 - zd) * xd + (1 + (q - 1) * zd) * (np.log1p(np.exp(-abs(xd))) + np.maximum(-xd, 0)),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"`logits` and `labels` must have the same shape, received \(\(1, 2\) vs \(1, 3\)\)"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant([[1.0, 2, 3]]), logits=tf.constant([[1.0, 2]]))


def test_embedding_lookup():
    params = tf.constant(LOGITS)
    rows = tf.nn.embedding_lookup(params, [1, 2])
    grid = tf.nn.embedding_lookup([params], [[3, 0], [1, 1]])
    assert rows.name == "embedding_lookup/Identity:0" and grid.shape.as_list() == [2, 2, 3]
    assert ("embedding_lookup", "GatherV2") in _ops() and ("embedding_lookup/ids", "Const") in _ops()
    got = _run([rows, grid])
    np.testing.assert_array_equal(got[0], LOGITS[[1, 2]])
    np.testing.assert_array_equal(got[1], LOGITS[[[3, 0], [1, 1]]])


def test_missing_ops_are_absent():
    # The IR has no transposed convolution or top-k yet.
    for name in ("conv2d_transpose", "top_k", "in_top_k"):
        assert not hasattr(tf.nn, name)


# tf.losses ---------------------------------------------------------------------------------------------
P = RNG.rand(4, 3).astype(np.float32)
T = RNG.rand(4, 3).astype(np.float32)
W = np.float32([[1], [0], [2], [1]])


def test_losses_reductions():
    R = tf.losses.Reduction
    l, p, w = tf.constant(T), tf.constant(P), tf.constant(W)
    mse = tf.losses.mean_squared_error(l, p)
    mean = tf.losses.mean_squared_error(l, p, weights=w, reduction=R.MEAN)
    none = tf.losses.absolute_difference(l, p, reduction=R.NONE, loss_collection=None)
    nonzero = tf.losses.absolute_difference(l, p, weights=w)
    total = tf.losses.huber_loss(l, p, reduction=R.SUM, delta=0.3)
    batch = tf.losses.log_loss(l, p, reduction=R.SUM_OVER_BATCH_SIZE)
    assert (mse.name, mean.name, none.name, total.name) == (
        "mean_squared_error/value:0", "mean_squared_error_1/value:0", "absolute_difference/Mul:0",
        "huber_loss/Sum:0")
    assert mse.op.type == "DivNoNan" and ("mean_squared_error/num_present", "Sum") in _ops()
    assert ("mean_squared_error/SquaredDifference", "SquaredDifference") in _ops()
    assert [t.name for t in tf.losses.get_losses()] == [
        "mean_squared_error/value:0", "mean_squared_error_1/value:0", "absolute_difference_1/value:0",
        "huber_loss/Sum:0", "log_loss/value:0"]
    got = _run([mse, mean, none, nonzero, total, batch])
    sq, ad = (P - T).astype(np.float64) ** 2, np.abs(P - T).astype(np.float64)
    np.testing.assert_allclose(got[0], sq.mean(), rtol=1e-6)
    np.testing.assert_allclose(got[1], (sq * W).sum() / (np.ones_like(sq) * W).sum(), rtol=1e-6)
    np.testing.assert_allclose(got[2], ad, rtol=1e-6)
    np.testing.assert_allclose(got[3], (ad * W).sum() / 9, rtol=1e-6)       # 3 rows of nonzero weight
    quad = np.minimum(ad, 0.3)
    np.testing.assert_allclose(got[4], (0.5 * quad ** 2 + 0.3 * (ad - quad)).sum(), rtol=1e-6)
    ll = -T * np.log(P + 1e-7) - (1 - T) * np.log(1 - P + 1e-7)
    np.testing.assert_allclose(got[5], ll.mean(), rtol=1e-5)


def test_cross_entropy_losses_with_smoothing():
    l, g = tf.constant(LABELS), tf.constant(LOGITS)
    sig = tf.losses.sigmoid_cross_entropy(l, g, label_smoothing=0.1)
    soft = tf.losses.softmax_cross_entropy(l, g, label_smoothing=0.1)
    sparse = tf.losses.sparse_softmax_cross_entropy(tf.constant([[0], [1], [2], [0]]), g, weights=0.5)
    assert (sig.name, soft.name, sparse.name) == ("sigmoid_cross_entropy_loss/value:0",
                                                  "softmax_cross_entropy_loss/value:0",
                                                  "sparse_softmax_cross_entropy_loss/value:0")
    assert ("sigmoid_cross_entropy_loss/xentropy", "LogisticLoss") in _ops()
    assert ("softmax_cross_entropy_loss/labels_stop_gradient", "StopGradient") in _ops()
    got = _run([sig, soft, sparse])
    x, z = LOGITS.astype(np.float64), LABELS * 0.9 + 0.05
    np.testing.assert_allclose(got[0], (np.maximum(x, 0) - x * z + np.log1p(np.exp(-abs(x)))).mean(), rtol=1e-5)
    smooth = LABELS * 0.9 + 0.1 / 3
    np.testing.assert_allclose(got[1], -(smooth * _log_softmax(LOGITS)).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(got[2], 0.5 * -_log_softmax(LOGITS)[np.arange(4), [0, 1, 2, 0]].mean(), rtol=1e-5)


def test_total_loss_and_collections():
    a = tf.losses.mean_squared_error(tf.constant(T), tf.constant(P))
    one = tf.losses.get_total_loss()
    assert (one.op.type, one.name) == ("Identity", "total_loss:0")
    b = tf.losses.compute_weighted_loss(tf.constant(P), 2.0)
    tf.losses.add_loss(tf.constant(1.5), loss_collection="extra")
    both = tf.losses.get_total_loss(name="both")
    assert tf.losses.get_losses() == [a, b] and both.op.type == "AddN"
    assert b.name == "weighted_loss/value:0" and len(tf.losses.get_losses(loss_collection="extra")) == 1
    got = _run([a, b, both])
    np.testing.assert_allclose(got[2], got[0] + got[1], rtol=1e-6)
    np.testing.assert_allclose(got[1], P.mean() * 2, rtol=1e-6)


def test_loss_errors():
    zeros = tf.constant(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"weights can not be broadcast to values. values.rank=2. weights.rank=1"):
        tf.losses.mean_squared_error(zeros, zeros, weights=tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"weights can not be broadcast to values. Mismatch at dim 1"):
        tf.losses.mean_squared_error(zeros, zeros, weights=tf.constant([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="Invalid Reduction Key foo"):
        tf.losses.mean_squared_error(zeros, zeros, reduction="foo")
    with pytest.raises(ValueError, match=r"Shapes \(4, 2\) and \(4, 3\) are incompatible"):
        tf.losses.mean_squared_error(zeros, tf.constant(np.zeros((4, 2), np.float32)))
    with pytest.raises(ValueError, match="Argument `labels` must not be None."):
        tf.losses.mean_squared_error(None, zeros)
    tf.reset_default_graph()
    with pytest.raises(ValueError, match="at least one Tensor"):
        tf.losses.get_total_loss()
