"""The nn op family: activations, softmax, bias add, convolutions, pooling, losses, batch norm
and dropout, checked against plain (loop-based where it matters) numpy references, values
computed once with TensorFlow 2.21 (tf.compat.v1, CPU), type inference with unknown dims and
the error messages for bad shapes and attributes."""

import math
import time

import numpy as np
import pytest

from tfc.ir import BuildError, FunctionBuilder, TensorType, dtypes as dt
from tfc.runtime.interpreter import InterpreterError, evaluate_op, run_function

F16, F32, F64 = np.float16, np.float32, np.float64
RNG = np.random.default_rng(1234)


def rand(*shape, dtype=F32, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def ints(n, dtype=F32):
    """0, 1, ..., n - 1 as a float array: exact sums keep hard-coded TF values exact."""
    return np.arange(n, dtype=dtype)


EXAMPLES = [
    ("nn.relu", [np.array([-1.0, 0.0, 2.0], F32)], {}),
    ("nn.relu", [np.array([-3, 4], np.int32)], {}),
    ("nn.relu6", [np.array([-1.0, 3.0, 9.0], F32)], {}),
    ("nn.elu", [np.array([-1.0, 0.5], F32)], {}),
    ("nn.selu", [np.array([-1.0, 0.5], F64)], {}),
    ("nn.softplus", [np.array([-20.0, 0.0, 20.0], F32)], {}),
    ("nn.softsign", [np.array([-3.0, 1.0], F16)], {}),
    ("nn.leaky_relu", [np.array([-1.0, 2.0], F32)], {"alpha": 0.1}),
    ("nn.softmax", [np.array([[1.0, 2.0, 3.0]], F32)], {"axis": -1}),
    ("nn.log_softmax", [np.array([[1.0, 2.0], [0.0, 0.0]], F32)], {"axis": 0}),
    ("nn.bias_add", [np.ones((2, 3), F32), np.array([1.0, 2.0, 3.0], F32)], {}),
    ("nn.bias_add", [np.ones((1, 2, 2, 2), F32), np.array([1.0, 2.0], F32)], {"data_format": "NCHW"}),
    ("nn.conv2d", [ints(16).reshape(1, 4, 4, 1), np.ones((2, 2, 1, 2), F32)],
     {"strides": [2, 2], "padding": "SAME"}),
    ("nn.conv2d", [ints(18).reshape(1, 2, 3, 3), np.ones((2, 2, 2, 1), F32)],
     {"strides": [1, 1], "padding": "EXPLICIT", "explicit_paddings": [1, 0, 0, 1],
      "dilations": [1, 1], "data_format": "NCHW"}),
    ("nn.depthwise_conv2d", [ints(18).reshape(1, 3, 3, 2), np.ones((2, 2, 2, 2), F32)],
     {"strides": [1, 1], "padding": "VALID", "dilations": [1, 1]}),
    ("nn.max_pool", [ints(16).reshape(1, 4, 4, 1)], {"ksize": [2, 2], "strides": [2, 2], "padding": "VALID"}),
    ("nn.avg_pool", [ints(9).reshape(1, 1, 3, 3)],
     {"ksize": [2, 2], "strides": [1, 1], "padding": "SAME", "data_format": "NCHW"}),
    ("nn.max_pool_with_argmax", [ints(16).reshape(1, 4, 4, 1)],
     {"ksize": [2, 2], "strides": [2, 2], "padding": "SAME", "output_dtype": dt.int32,
      "include_batch_in_index": True}),
    ("nn.l2_loss", [np.array([[1.0, 2.0], [3.0, 4.0]], F32)], {}),
    ("nn.softmax_cross_entropy_with_logits",
     [np.array([[0.0, 1.0], [0.5, 0.5]], F32), np.array([[1.0, 2.0], [3.0, 0.0]], F32)], {"axis": -1}),
    ("nn.sparse_softmax_cross_entropy_with_logits",
     [np.array([1, 0], np.int64), np.array([[1.0, 2.0], [3.0, 0.0]], F32)], {}),
    ("nn.sigmoid_cross_entropy_with_logits",
     [np.array([0.0, 1.0], F32), np.array([-2.0, 3.0], F32)], {}),
    ("nn.weighted_cross_entropy_with_logits",
     [np.array([0.0, 1.0], F32), np.array([-2.0, 3.0], F32), np.array(2.0, F32)], {}),
    ("nn.fused_batch_norm",
     [rand(1, 2, 2, 3), np.ones(3, F32), np.zeros(3, F32), np.zeros(3, F32), np.ones(3, F32)],
     {"epsilon": 0.001, "data_format": "NHWC"}),
    ("nn.dropout", [np.ones((2, 3), F32), np.array(0, np.int64)],
     {"rate": 0.5, "seed": 1, "seed2": 2, "noise_shape": [2, 1]}),
]


def types_of(name, arg_types, attrs=None):
    """Result types of op `name` built on arguments of `arg_types` ((shape, dtype) pairs)."""
    fb = FunctionBuilder("f", [TensorType(s, d) for s, d in arg_types])
    return [r.type for r in fb.create(name, list(fb.args), attrs or {}).results]


def shapes_of(name, arg_types, attrs=None):
    return [t.shape for t in types_of(name, arg_types, attrs)]


def build_error(name, arg_types, attrs, match):
    with pytest.raises(BuildError, match=match):
        types_of(name, arg_types, attrs)


def run_with_types(name, arrays, attrs, arg_types):
    """Run op `name` on `arrays` in a function whose arguments have `arg_types` (which may have
    unknown dims), so runtime checks that inference could not make are exercised."""
    fb = FunctionBuilder("f", [TensorType(s, d) for s, d in arg_types])
    op = fb.create(name, list(fb.args), attrs)
    return run_function(fb.ret(list(op.results)), arrays)


def close(got, want, dtype=F32, rtol=None, atol=None):
    tol = {F16: 2e-3, F32: 2e-6, F64: 1e-12}[np.dtype(dtype).type]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.astype(F64), np.asarray(want, F64), rtol=rtol or tol,
                               atol=atol if atol is not None else tol, equal_nan=True)


@pytest.mark.parametrize("name, inputs, attrs", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_run(name, inputs, attrs):
    evaluate_op(name, *inputs, **attrs)


# Activations ---------------------------------------------------------------------------------
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-10, -1e-10, 0.5, -0.5, 3.0, -3.0, 6.0, 7.0,
           20.0, -20.0, 100.0, -100.0]

# Straightforward references in float64, rounded to the dtype.
ACTIVATION_REFS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "leaky_relu": lambda x: np.where(x > 0, x, np.float32(0.2) * x),
}


@pytest.mark.parametrize("dtype", [F16, F32, F64])
@pytest.mark.parametrize("name", sorted(ACTIVATION_REFS))
def test_activation_values(name, dtype):
    x = np.concatenate([np.array(SPECIAL), RNG.standard_normal(40) * 8]).astype(dtype)
    with np.errstate(all="ignore"):
        want = ACTIVATION_REFS[name](x.astype(F64))
    got = evaluate_op(f"nn.{name}", x)
    tol = {F16: 4e-3, F32: 1e-6, F64: 1e-12}[dtype]
    close(got, want, dtype, rtol=tol, atol=tol)


def test_activations_match_tf_edge_values():
    x = np.array([np.nan, -np.inf, np.inf, -1e-10, -0.0, 0.0, 1.0, 7.0, -3.0], F32)
    nan, inf = np.nan, np.inf
    # Computed once with TF 2.21.
    np.testing.assert_array_equal(evaluate_op("nn.relu", x), [nan, 0, inf, 0, 0, 0, 1, 7, 0])
    np.testing.assert_array_equal(evaluate_op("nn.relu6", x), [nan, 0, 6, 0, 0, 0, 1, 6, 0])
    # TF's Elu is exp(x) - 1 (not expm1): -1e-10 gives exactly 0.
    np.testing.assert_array_equal(evaluate_op("nn.elu", x)[:6], [nan, -1, inf, 0, 0, 0])
    # Softsign of +-inf is inf / inf = NaN in TF too.
    np.testing.assert_array_equal(evaluate_op("nn.softsign", x)[:3], [nan, nan, nan])
    # TF's Relu is cwiseMax(x, 0), which keeps -0.0.
    assert np.signbit(evaluate_op("nn.relu", np.array([-0.0], F32)))[0]
    # Softplus thresholds: exp(x) below log(eps) + 2, x above -(log(eps) + 2).
    sp = np.array([-100, -20, -16, -15, 0.5, 15, 16, 20, 100], F32)
    want = [0.0, 2.06115369216775e-09, 1.1253517584464134e-07, 3.0590231858695915e-07,
            0.9740769267082214, 15.0, 16.0, 20.0, 100.0]
    close(evaluate_op("nn.softplus", sp), want)
    close(evaluate_op("nn.softplus", np.array([30.0, 40.0], F64)), [30.00000000000009, 40.0], F64,
          rtol=1e-15, atol=0)


def test_leaky_relu_alpha_is_float32_like_tf():
    # TF's alpha attribute is a float32: in float64 the slope is 0.2000000029802322.
    got = evaluate_op("nn.leaky_relu", np.array([-1.0, 2.0], F64))
    assert got[0] == -float(np.float32(0.2)) and got[1] == 2.0
    np.testing.assert_array_equal(evaluate_op("nn.leaky_relu", np.array([-10.0, 0.0], F32), alpha=0.01),
                                  [np.float32(-10) * np.float32(0.01), 0])


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_relu_integers(dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.min + 1, 0, 1, info.max], dtype)
    got = evaluate_op("nn.relu", x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.maximum(x, 0))


@pytest.mark.parametrize("name", sorted(ACTIVATION_REFS))
def test_activation_infer_and_empty(name):
    assert types_of(f"nn.{name}", [((None, 3), dt.float16)]) == [TensorType((None, 3), dt.float16)]
    assert types_of(f"nn.{name}", [(None, dt.float64)]) == [TensorType(None, dt.float64)]
    assert evaluate_op(f"nn.{name}", np.zeros((0, 3), F32)).shape == (0, 3)
    if name != "relu":
        build_error(f"nn.{name}", [((2,), dt.int32)], {}, "dtype int32")


# Softmax -------------------------------------------------------------------------------------
def softmax_ref(x, axis):
    x = x.astype(F64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype", [F16, F32, F64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(dtype, axis):
    x = rand(3, 4, 5, dtype=dtype, scale=4)
    close(evaluate_op("nn.softmax", x, axis=axis), softmax_ref(x, axis), dtype)
    close(evaluate_op("nn.log_softmax", x, axis=axis), np.log(softmax_ref(x, axis)), dtype)


def test_softmax_is_stable_and_handles_inf():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -np.inf]], F32)
    got = evaluate_op("nn.softmax", x)
    close(got[0], softmax_ref(np.array([0.0, 1.0, 2.0]), 0))
    close(got[1], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0.0])
    log = evaluate_op("nn.log_softmax", x)
    assert np.isfinite(log[0]).all() and log[1, 2] == -np.inf
    # +inf logits and all -inf rows give NaN rows, as in TF.
    bad = np.array([[1.0, np.inf], [-np.inf, -np.inf]], F32)
    assert np.isnan(evaluate_op("nn.softmax", bad)).all()
    assert np.isnan(evaluate_op("nn.log_softmax", bad)).all()
    assert evaluate_op("nn.softmax", np.zeros((3, 0), F32)).shape == (3, 0)


def test_softmax_infer_and_errors():
    assert shapes_of("nn.softmax", [((None, 10), dt.float32)]) == [(None, 10)]
    assert shapes_of("nn.log_softmax", [(None, dt.float32)], {"axis": 3}) == [None]
    build_error("nn.softmax", [((), dt.float32)], {}, "at least 1 dimension")
    build_error("nn.softmax", [((2, 3), dt.float32)], {"axis": 2}, "out of range")
    build_error("nn.log_softmax", [((2, 3), dt.int32)], {}, "dtype int32")


# Bias add ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, fmt, axis", [
    ((2, 5), "NHWC", 1), ((2, 3, 4, 5), "NHWC", 3), ((2, 5, 4), "NCHW", 1),
    ((2, 5, 3, 4), "NCHW", 1), ((1, 5, 2, 2, 2), "NCHW", 1)])
def test_bias_add(shape, fmt, axis):
    x, b = rand(*shape), rand(shape[axis])
    want = x + b.reshape([-1 if i == axis else 1 for i in range(len(shape))])
    np.testing.assert_array_equal(evaluate_op("nn.bias_add", x, b, data_format=fmt), want)


def test_bias_add_infer_and_errors():
    f32 = dt.float32
    assert shapes_of("nn.bias_add", [((None, None), f32), ((7,), f32)]) == [(None, 7)]
    assert shapes_of("nn.bias_add", [((None, None, 3, 3), f32), ((4,), f32)],
                     {"data_format": "NCHW"}) == [(None, 4, 3, 3)]
    assert shapes_of("nn.bias_add", [(None, f32), ((4,), f32)]) == [None]
    build_error("nn.bias_add", [((2, 4), f32), ((3,), f32)], {},
                r"Must provide as many biases as the last dimension of the input tensor: \[3\] vs. \[2,4\]")
    build_error("nn.bias_add", [((2, 4, 5), f32), ((5,), f32)], {"data_format": "NCHW"},
                r"as many biases as the channel .*\[5\] vs. \[2,4,5\]")
    build_error("nn.bias_add", [((4,), f32), ((4,), f32)], {}, "at least rank 2")
    build_error("nn.bias_add", [((2, 4), f32), ((4,), f32)], {"data_format": "NCHW"}, "at least rank 3")
    build_error("nn.bias_add", [((2, 4), f32), ((1, 4), f32)], {}, "bias must be 1-D")
    build_error("nn.bias_add", [((2, 4), f32), ((4,), dt.float64)], {}, "same dtype")
    build_error("nn.bias_add", [((2, 4), f32), ((4,), f32)], {"data_format": "NCDHW"}, "must be one of")


# Convolution references ----------------------------------------------------------------------
def same_pads(size, k, s, d=1):
    """TF's SAME rule, written out independently of the op."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pads_for(padding, x_hw, k_hw, strides, dilations, explicit):
    if padding == "SAME":
        return [same_pads(x_hw[i], k_hw[i], strides[i], dilations[i]) for i in range(2)]
    if padding == "EXPLICIT":
        return [(explicit[0], explicit[1]), (explicit[2], explicit[3])]
    return [(0, 0), (0, 0)]


def pad_nhwc(x, pads, value=0.0):
    n, h, w, c = x.shape
    (t, b), (l, r) = pads
    out = np.full((n, h + t + b, w + l + r, c), value, F64)
    out[:, t:t + h, l:l + w] = x
    return out


def conv_ref(x, f, strides, padding, dilations=(1, 1), explicit=(), depthwise=False):
    """Loop-based NHWC convolution in float64 (depthwise: output channel c * M + m)."""
    kh, kw, cin, cout = f.shape
    pads = pads_for(padding, x.shape[1:3], (kh, kw), strides, dilations, explicit)
    xp = pad_nhwc(x.astype(F64), pads)
    (sh, sw), (dh, dw) = strides, dilations
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, cin * cout if depthwise else cout))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    pixel = xp[:, i * sh + a * dh, j * sw + b * dw, :]   # (N, C)
                    if depthwise:
                        out[:, i, j, :] += (pixel[:, :, None] * f[a, b][None]).reshape(len(pixel), -1)
                    else:
                        out[:, i, j, :] += pixel @ f[a, b].astype(F64)
    return out


def nchw(x):
    return x.transpose(0, 3, 1, 2)


def nhwc(x):
    return x.transpose(0, 2, 3, 1)


CONV_CASES = [
    # (input NHWC shape, filter shape, strides, padding, dilations, explicit_paddings)
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1), ()),
    ((1, 6, 7, 2), (2, 2, 2, 3), (2, 2), "SAME", (1, 1), ()),
    ((1, 5, 6, 1), (4, 3, 1, 2), (2, 3), "SAME", (1, 1), ()),
    ((2, 7, 5, 2), (3, 2, 2, 2), (1, 2), "VALID", (1, 1), ()),
    ((1, 8, 8, 2), (3, 3, 2, 2), (1, 1), "SAME", (2, 2), ()),
    ((1, 9, 7, 1), (2, 3, 1, 2), (2, 1), "VALID", (3, 2), ()),
    ((1, 7, 7, 2), (3, 3, 2, 1), (2, 2), "SAME", (2, 2), ()),
    ((2, 4, 5, 2), (3, 3, 2, 3), (1, 1), "EXPLICIT", (1, 1), (1, 2, 0, 3)),
    ((1, 5, 5, 1), (2, 2, 1, 1), (2, 2), "EXPLICIT", (2, 1), (0, 1, 1, 0)),
    ((1, 3, 3, 2), (1, 1, 2, 5), (1, 1), "VALID", (1, 1), ()),
]


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("xs, fs, strides, padding, dilations, explicit", CONV_CASES)
def test_conv2d_matches_loop_reference(xs, fs, strides, padding, dilations, explicit, fmt):
    x, f = rand(*xs), rand(*fs)
    want = conv_ref(x, f, strides, padding, dilations, explicit)
    attrs = dict(strides=list(strides), padding=padding, dilations=list(dilations),
                 explicit_paddings=list(explicit), data_format=fmt)
    if fmt == "NCHW":
        got = nhwc(evaluate_op("nn.conv2d", nchw(x), f, **attrs))
    else:
        got = evaluate_op("nn.conv2d", x, f, **attrs)
    close(got, want, F32, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [F16, F64])
def test_conv2d_dtypes(dtype):
    x, f = rand(1, 5, 5, 2, dtype=dtype), rand(3, 3, 2, 2, dtype=dtype)
    got = evaluate_op("nn.conv2d", x, f, strides=[1, 1], padding="SAME")
    close(got, conv_ref(x, f, (1, 1), "SAME"), dtype, rtol=1e-2 if dtype == F16 else 1e-12,
          atol=1e-2 if dtype == F16 else 1e-12)


def test_conv2d_matches_tf_values():
    # Even kernel and stride with SAME: input 5x4, kernel 4x2, stride 2 pads rows (1, 2) and
    # columns (0, 0). Values computed once with TF 2.21.
    x = ints(20).reshape(1, 5, 4, 1)
    f = np.arange(1, 9, dtype=F32).reshape(4, 2, 1, 1)
    got = evaluate_op("nn.conv2d", x, f, strides=[2, 2], padding="SAME")
    np.testing.assert_array_equal(got[0, :, :, 0], [[182, 248], [460, 532], [154, 174]])
    # Dilation 2 with SAME, then with stride 2 too (TF computed both).
    x2 = ints(36).reshape(1, 6, 6, 1)
    f2 = np.array([1, -1, 2, 1], F32).reshape(2, 2, 1, 1)
    got = evaluate_op("nn.conv2d", x2, f2, strides=[1, 1], padding="SAME", dilations=[2, 2])
    np.testing.assert_array_equal(got[0, :, :, 0], [
        [7, 20, 23, 26, 29, 20], [12, 36, 39, 42, 45, 36], [12, 54, 57, 60, 63, 54],
        [12, 72, 75, 78, 81, 72], [12, 90, 93, 96, 99, 90], [-25, -2, -2, -2, -2, 28]])
    got = evaluate_op("nn.conv2d", x2, f2, strides=[2, 2], padding="SAME", dilations=[2, 2])
    np.testing.assert_array_equal(got[0, :, :, 0], [[36, 42, 36], [72, 78, 72], [-2, -2, 28]])


def test_conv2d_empty_and_zero_channels():
    f = rand(3, 3, 2, 4)
    assert evaluate_op("nn.conv2d", np.zeros((0, 5, 5, 2), F32), f, strides=[1, 1],
                       padding="SAME").shape == (0, 5, 5, 4)
    assert evaluate_op("nn.conv2d", np.zeros((1, 0, 5, 2), F32), f, strides=[2, 2],
                       padding="SAME").shape == (1, 0, 3, 4)
    out = evaluate_op("nn.conv2d", rand(1, 4, 4, 2), rand(3, 3, 2, 0), strides=[1, 1], padding="VALID")
    assert out.shape == (1, 2, 2, 0)


def test_conv2d_is_fast_enough_for_vgg():
    # VGG's biggest layer (224x224, 64 -> 64 channels, 3x3 SAME) must take well under a second;
    # a Python loop over pixels would take minutes.
    x, f = rand(1, 224, 224, 64), rand(3, 3, 64, 64, scale=0.05)
    start = time.perf_counter()
    out = evaluate_op("nn.conv2d", x, f, strides=[1, 1], padding="SAME")
    assert time.perf_counter() - start < 5.0
    assert out.shape == (1, 224, 224, 64) and out.dtype == F32
    # Spot-check one output pixel against a direct sum.
    want = np.tensordot(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))[0, 99:102, 9:12], f, 3)
    np.testing.assert_allclose(out[0, 99, 9], want, rtol=1e-4, atol=1e-4)


CONV_ATTRS = {"strides": [1, 1], "padding": "SAME"}


@pytest.mark.parametrize("x, f, attrs, want", [
    ((None, 28, 28, 1), (5, 5, 1, 32), CONV_ATTRS, (None, 28, 28, 32)),
    ((None, None, None, 3), (3, 3, 3, 8), {"strides": [2, 2], "padding": "VALID"}, (None, None, None, 8)),
    ((4, 9, None, 3), (3, 3, 3, 8), {"strides": [2, 2], "padding": "VALID"}, (4, 4, None, 8)),
    ((4, 9, 9, 3), (None, None, 3, 8), {"strides": [2, 2], "padding": "SAME"}, (4, 5, 5, 8)),
    ((4, 9, 9, 3), (None, None, 3, 8), {"strides": [2, 2], "padding": "VALID"}, (4, None, None, 8)),
    ((None, 3, 10, 10), (3, 3, 3, 8), {"strides": [1, 1], "padding": "VALID", "data_format": "NCHW"},
     (None, 8, 8, 8)),
    ((1, 5, 6, 2), (3, 3, 2, 4), {"strides": [1, 2], "padding": "EXPLICIT",
                                  "explicit_paddings": [1, 1, 2, 0]}, (1, 5, 3, 4)),
    ((1, 9, 9, 2), (3, 3, 2, 4), {"strides": [1, 1], "padding": "VALID", "dilations": [3, 2]},
     (1, 3, 5, 4)),
    (None, (3, 3, 2, 4), CONV_ATTRS, (None, None, None, 4)),
    ((1, 8, 8, 2), None, CONV_ATTRS, (1, 8, 8, None)),
])
def test_conv2d_infer(x, f, attrs, want):
    assert shapes_of("nn.conv2d", [(x, dt.float32), (f, dt.float32)], attrs) == [want]


@pytest.mark.parametrize("x, f, attrs, match", [
    ((1, 5, 5, 3), (3, 3, 2, 4), CONV_ATTRS, r"Depth of input \(3\) is not a multiple of input depth of filter \(2\)"),
    ((1, 5, 5, 4), (3, 3, 2, 4), CONV_ATTRS, "grouped convolution is not supported"),
    ((1, 3, 5, 5), (3, 3, 5, 4), dict(CONV_ATTRS, data_format="NCHW"), r"Depth of input \(3\)"),
    ((5, 5, 3), (3, 3, 3, 4), CONV_ATTRS, r"input must be rank 4, got shape \[5, 5, 3\]"),
    ((1, 5, 5, 3), (3, 3, 3), CONV_ATTRS, "filter must be rank 4"),
    ((1, 5, 5, 0), (3, 3, 0, 4), CONV_ATTRS, "Depth of filter must not be 0"),
    ((1, 2, 5, 3), (3, 3, 3, 4), {"strides": [1, 1], "padding": "VALID"},
     "Negative dimension size caused by subtracting 3 from 2"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [1, 1], "padding": "VALID", "dilations": [3, 1]},
     "subtracting 7 from 5"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [1, 1, 1, 1], "padding": "SAME"}, "strides must have 2 elements"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [0, 1], "padding": "SAME"}, "Stride must be > 0"),
    ((1, 5, 5, 3), (3, 3, 3, 4), dict(CONV_ATTRS, dilations=[1, 0]), "Dilation rate must be >= 1"),
    ((1, 5, 5, 3), (3, 3, 3, 4), dict(CONV_ATTRS, explicit_paddings=[1, 1, 1, 1]),
     "explicit_paddings attribute must be empty"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [1, 1], "padding": "EXPLICIT"}, "must contain 4 values"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [1, 1], "padding": "EXPLICIT", "explicit_paddings": [1, -1, 0, 0]},
     "must be nonnegative"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"strides": [1, 1], "padding": "FULL"}, "must be one of"),
    ((1, 5, 5, 3), (3, 3, 3, 4), {"padding": "SAME"}, "missing required attribute 'strides'"),
])
def test_conv2d_errors(x, f, attrs, match):
    build_error("nn.conv2d", [(x, dt.float32), (f, dt.float32)], attrs, match)


def test_conv2d_runtime_error_when_unknown_dims_are_too_small():
    with pytest.raises(InterpreterError, match="subtracting 3 from 2"):
        run_with_types("nn.conv2d", [np.zeros((1, 2, 2, 1), F32), np.zeros((3, 3, 1, 1), F32)],
                       {"strides": [1, 1], "padding": "VALID"},
                       [((None, None, None, 1), dt.float32), ((3, 3, 1, 1), dt.float32)])


def test_conv2d_dtype_errors():
    build_error("nn.conv2d", [((1, 5, 5, 3), dt.float32), ((3, 3, 3, 4), dt.float64)], CONV_ATTRS, "same dtype")
    build_error("nn.conv2d", [((1, 5, 5, 3), dt.int32), ((3, 3, 3, 4), dt.int32)], CONV_ATTRS, "dtype int32")


# Depthwise convolution -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("xs, fs, strides, padding, dilations, explicit", [
    ((2, 5, 5, 3), (3, 3, 3, 2), (1, 1), "SAME", (1, 1), ()),
    ((1, 6, 7, 2), (2, 2, 2, 3), (2, 2), "SAME", (1, 1), ()),
    ((1, 7, 6, 2), (3, 2, 2, 1), (1, 2), "VALID", (2, 1), ()),
    ((1, 8, 8, 1), (2, 2, 1, 2), (1, 1), "SAME", (2, 3), ()),
    ((2, 4, 5, 2), (3, 3, 2, 2), (2, 1), "EXPLICIT", (1, 1), (1, 2, 0, 3)),
])
def test_depthwise_conv2d_matches_loop_reference(xs, fs, strides, padding, dilations, explicit, fmt):
    x, f = rand(*xs), rand(*fs)
    want = conv_ref(x, f, strides, padding, dilations, explicit, depthwise=True)
    attrs = dict(strides=list(strides), padding=padding, dilations=list(dilations),
                 explicit_paddings=list(explicit), data_format=fmt)
    if fmt == "NCHW":
        got = nhwc(evaluate_op("nn.depthwise_conv2d", nchw(x), f, **attrs))
    else:
        got = evaluate_op("nn.depthwise_conv2d", x, f, **attrs)
    close(got, want, F32, rtol=1e-5, atol=1e-5)


def test_depthwise_channel_order_matches_tf():
    # Output channel c * multiplier + m; computed once with TF 2.21.
    x = ints(8).reshape(1, 2, 2, 2)
    f = np.arange(1, 7, dtype=F32).reshape(1, 1, 2, 3)
    got = evaluate_op("nn.depthwise_conv2d", x, f, strides=[1, 1], padding="VALID")
    np.testing.assert_array_equal(got[0, 0, 0], [0, 0, 0, 4, 5, 6])


def test_depthwise_conv2d_infer_and_errors():
    f32 = dt.float32
    assert shapes_of("nn.depthwise_conv2d", [((None, 9, 9, 3), f32), ((3, 3, 3, 2), f32)],
                     CONV_ATTRS) == [(None, 9, 9, 6)]
    assert shapes_of("nn.depthwise_conv2d", [((None, None, 9, 9), f32), ((3, 3, 4, 2), f32)],
                     {"strides": [2, 2], "padding": "VALID", "data_format": "NCHW"}) == [(None, 8, 4, 4)]
    assert shapes_of("nn.depthwise_conv2d", [((1, 9, 9, 3), f32), ((3, 3, 3, None), f32)],
                     CONV_ATTRS) == [(1, 9, 9, None)]
    build_error("nn.depthwise_conv2d", [((1, 5, 5, 2), f32), ((1, 1, 1, 3), f32)], CONV_ATTRS,
                "input and filter must have the same depth: 2 vs 1")
    build_error("nn.depthwise_conv2d", [((1, 2, 3, 2), f32), ((2, 2, 2, 1), f32)],
                {"strides": [1, 1], "padding": "VALID", "dilations": [2, 2]}, "subtracting 3 from 2")


# Pooling -------------------------------------------------------------------------------------
def pool_ref(x, ksize, strides, padding, kind):
    """Loop-based NHWC pooling over the real (non-padding) elements of each window. max
    follows TF's MaxPool: NaN is skipped and the result is at least the dtype's lowest value."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = ksize, strides
    if padding == "SAME":
        (top, _), (left, _) = same_pads(h, kh, sh), same_pads(w, kw, sw)
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
    else:
        top = left = 0
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    lowest = np.finfo(x.dtype).min
    out = np.zeros((n, oh, ow, c), F64)
    for i in range(oh):
        for j in range(ow):
            rows = [r for r in range(i * sh - top, i * sh - top + kh) if 0 <= r < h]
            cols = [q for q in range(j * sw - left, j * sw - left + kw) if 0 <= q < w]
            window = x[:, rows][:, :, cols].astype(F64).reshape(n, -1, c)
            if kind == "max":
                clean = np.where(np.isnan(window), -np.inf, window)
                out[:, i, j] = np.maximum(clean.max(axis=1), lowest)
            else:
                out[:, i, j] = window.mean(axis=1)
    return out


POOL_CASES = [
    # (input NHWC shape, ksize, strides, padding)
    ((2, 5, 5, 3), (2, 2), (2, 2), "SAME"),
    ((1, 6, 7, 2), (3, 3), (2, 2), "SAME"),
    ((1, 4, 4, 1), (2, 2), (1, 1), "SAME"),
    ((1, 7, 5, 2), (3, 2), (2, 1), "VALID"),
    ((1, 3, 3, 1), (4, 4), (1, 1), "SAME"),
    ((2, 6, 6, 2), (2, 2), (2, 2), "VALID"),
    ((1, 5, 6, 2), (1, 3), (3, 2), "SAME"),
]


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("xs, ksize, strides, padding", POOL_CASES)
def test_pool_matches_loop_reference(xs, ksize, strides, padding, kind, fmt):
    x = rand(*xs)
    x.flat[::7] = np.nan if kind == "max" else 0.0
    want = pool_ref(x, ksize, strides, padding, kind)
    attrs = dict(ksize=list(ksize), strides=list(strides), padding=padding, data_format=fmt)
    if fmt == "NCHW":
        got = nhwc(evaluate_op(f"nn.{kind}_pool", nchw(x), **attrs))
    else:
        got = evaluate_op(f"nn.{kind}_pool", x, **attrs)
    close(got, want, F32, rtol=1e-6, atol=1e-6)


def test_pool_values_from_tf():
    # Computed once with TF 2.21: SAME averages divide by the number of real elements.
    avg = evaluate_op("nn.avg_pool", ints(9).reshape(1, 3, 3, 1), ksize=[2, 2], strides=[1, 1], padding="SAME")
    np.testing.assert_array_equal(avg[0, :, :, 0], [[2, 3, 3.5], [5, 6, 6.5], [6.5, 7.5, 8]])
    avg = evaluate_op("nn.avg_pool", ints(16).reshape(1, 4, 4, 1), ksize=[3, 3], strides=[2, 2], padding="SAME")
    np.testing.assert_array_equal(avg[0, :, :, 0], [[5, 6.5], [11, 12.5]])
    mx = evaluate_op("nn.max_pool", -ints(9).reshape(1, 3, 3, 1), ksize=[2, 2], strides=[2, 2], padding="SAME")
    np.testing.assert_array_equal(mx[0, :, :, 0], [[0, -2], [-6, -8]])
    # TF's MaxPool skips NaN, even as a window's first element...
    x = np.array([[1, 2, np.nan, 4], [5, 6, 7, 8]], F32).reshape(1, 2, 4, 1)
    np.testing.assert_array_equal(evaluate_op("nn.max_pool", x, ksize=[2, 2], strides=[2, 2],
                                              padding="VALID").ravel(), [6, 8])
    x = np.array([[np.nan, np.nan, 3, 4], [np.nan, np.nan, 7, np.nan]], F32).reshape(1, 2, 4, 1)
    np.testing.assert_array_equal(evaluate_op("nn.max_pool", x, ksize=[2, 2], strides=[2, 2],
                                              padding="VALID").ravel(), [np.finfo(F32).min, 7])
    # ...and starts from the lowest finite value, so an all -inf window gives it.
    for dtype in (F16, F32, F64):
        got = evaluate_op("nn.max_pool", np.full((1, 2, 2, 1), -np.inf, dtype), ksize=[2, 2],
                          strides=[1, 1], padding="SAME")
        np.testing.assert_array_equal(got, np.full((1, 2, 2, 1), np.finfo(dtype).min, dtype))
    # Averages propagate NaN and inf.
    x = np.array([1, np.nan, np.inf, 2], F32).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(evaluate_op("nn.avg_pool", x, ksize=[2, 2], strides=[1, 1],
                                              padding="SAME").ravel(), [np.nan, np.nan, np.inf, 2])


@pytest.mark.parametrize("dtype", [F16, F64])
def test_pool_dtypes(dtype):
    x = rand(1, 4, 5, 2, dtype=dtype)
    for kind in ("max", "avg"):
        got = evaluate_op(f"nn.{kind}_pool", x, ksize=[3, 3], strides=[2, 2], padding="SAME")
        close(got, pool_ref(x, (3, 3), (2, 2), "SAME", kind), dtype)


def test_pool_empty():
    for kind in ("max", "avg"):
        assert evaluate_op(f"nn.{kind}_pool", np.zeros((0, 4, 4, 2), F32), ksize=[2, 2], strides=[2, 2],
                           padding="VALID").shape == (0, 2, 2, 2)
        assert evaluate_op(f"nn.{kind}_pool", np.zeros((1, 4, 4, 0), F32), ksize=[2, 2], strides=[2, 2],
                           padding="SAME").shape == (1, 2, 2, 0)
        assert evaluate_op(f"nn.{kind}_pool", np.zeros((1, 0, 4, 1), F32), ksize=[2, 2], strides=[2, 2],
                           padding="SAME").shape == (1, 0, 2, 1)


POOL_ATTRS = {"ksize": [2, 2], "strides": [2, 2], "padding": "SAME"}


@pytest.mark.parametrize("name", ["nn.max_pool", "nn.avg_pool"])
def test_pool_infer_and_errors(name):
    f32 = dt.float32
    assert shapes_of(name, [((None, 7, 7, 3), f32)], POOL_ATTRS) == [(None, 4, 4, 3)]
    assert shapes_of(name, [((None, 3, None, 7), f32)], dict(POOL_ATTRS, data_format="NCHW")) == [(None, 3, None, 4)]
    assert shapes_of(name, [((2, 7, 6, 3), f32)], {"ksize": [3, 2], "strides": [2, 2], "padding": "VALID"}) == [(2, 3, 3, 3)]
    assert shapes_of(name, [(None, f32)], POOL_ATTRS) == [(None, None, None, None)]
    build_error(name, [((1, 2, 4, 1), f32)], {"ksize": [3, 3], "strides": [1, 1], "padding": "VALID"},
                "Negative dimension size caused by subtracting 3 from 2")
    build_error(name, [((1, 4, 4, 1), f32)], {"ksize": [1, 2, 2, 1], "strides": [2, 2], "padding": "SAME"},
                "ksize must have 2 elements")
    build_error(name, [((1, 4, 4, 1), f32)], {"ksize": [0, 2], "strides": [2, 2], "padding": "SAME"},
                "ksize must be >= 1")
    build_error(name, [((1, 4, 4, 1), f32)], {"ksize": [2, 2], "strides": [2, 0], "padding": "SAME"},
                "Stride must be > 0")
    build_error(name, [((1, 4, 4, 1), f32)], dict(POOL_ATTRS, padding="EXPLICIT"), "must be one of")
    build_error(name, [((4, 4, 1), f32)], POOL_ATTRS, "input must be rank 4")


# Max pool with argmax ------------------------------------------------------------------------
def argmax_pool_ref(x, ksize, strides, padding, include_batch):
    """TF's CPU kernel, loop for loop: visit input pixels in row-major order and, for every
    output window containing it, take it if the window is still empty or holds a smaller
    value (so ties keep the first, and NaN only wins as the window's first element)."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = ksize, strides
    if padding == "SAME":
        (top, _), (left, _) = same_pads(h, kh, sh), same_pads(w, kw, sw)
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
    else:
        top = left = 0
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, oh, ow, c), x.dtype)
    arg = np.full((n, oh, ow, c), -1, np.int64)
    for b in range(n):
        for y in range(h):
            for xx in range(w):
                for i in range(oh):
                    for j in range(ow):
                        if not (0 <= y - (i * sh - top) < kh and 0 <= xx - (j * sw - left) < kw):
                            continue
                        for d in range(c):
                            v = x[b, y, xx, d]
                            if arg[b, i, j, d] == -1 or out[b, i, j, d] < v:
                                out[b, i, j, d] = v
                                flat = (y * w + xx) * c + d
                                arg[b, i, j, d] = flat + (b * h * w * c if include_batch else 0)
    return out, arg


@pytest.mark.parametrize("include_batch", [False, True])
@pytest.mark.parametrize("xs, ksize, strides, padding", POOL_CASES[:6])
def test_max_pool_with_argmax_matches_kernel_loop(xs, ksize, strides, padding, include_batch):
    x = np.round(rand(*xs) * 2) / 2       # many ties
    x.flat[::5] = np.nan
    x.flat[3::11] = -np.inf
    want_out, want_arg = argmax_pool_ref(x, ksize, strides, padding, include_batch)
    out, arg = evaluate_op("nn.max_pool_with_argmax", x, ksize=list(ksize), strides=list(strides),
                           padding=padding, include_batch_in_index=include_batch)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(arg, want_arg)
    assert arg.dtype == np.int64


# Input for values computed once with TF 2.21: (H=3, W=3, C=2), a batch of it and its negation.
ARGMAX_X = np.array([[[3, 3], [1, 5], [5, 0]],
                     [[2, 5], [np.nan, 5], [4, 4]],
                     [[4, 0], [4, np.nan], [1, 1]]], F32)
ARGMAX_X = np.stack([ARGMAX_X, -ARGMAX_X])
NAN = np.nan


@pytest.mark.parametrize("padding, k, s, want_out, want_arg", [
    ("SAME", 2, 2,
     [[[[3, 5], [5, 4]], [[4, 0], [1, 1]]], [[[-1, -3], [-4, 0]], [[-4, 0], [-1, -1]]]],
     [[[[0, 3], [4, 11]], [[12, 13], [16, 17]]], [[[20, 19], [28, 23]], [[30, 31], [34, 35]]]]),
    ("VALID", 2, 1,
     [[[[3, 5], [5, 5]], [[4, 5], [NAN, 5]]], [[[-1, -3], [-1, 0]], [[-2, 0], [NAN, -1]]]],
     [[[[0, 3], [4, 3]], [[12, 7], [8, 9]]], [[[20, 19], [20, 23]], [[24, 31], [26, 35]]]]),
    ("SAME", 3, 1,
     [[[[3, 5], [5, 5], [5, 5]], [[4, 5], [5, 5], [5, 5]], [[4, 5], [4, 5], [NAN, 5]]],
      [[[-1, -3], [-1, 0], [-1, 0]], [[-1, 0], [-1, 0], [-1, 0]], [[-2, 0], [-1, 0], [NAN, -1]]]],
     [[[[0, 3], [4, 3], [4, 3]], [[12, 3], [4, 3], [4, 3]], [[12, 7], [10, 7], [8, 9]]],
      [[[20, 19], [20, 23], [20, 23]], [[20, 31], [20, 23], [20, 23]], [[24, 31], [34, 31], [26, 35]]]]),
])
def test_max_pool_with_argmax_matches_tf(padding, k, s, want_out, want_arg):
    out, arg = evaluate_op("nn.max_pool_with_argmax", ARGMAX_X, ksize=[k, k], strides=[s, s],
                           padding=padding, include_batch_in_index=True)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(arg, want_arg)


def test_max_pool_with_argmax_without_batch_and_int32():
    out, arg = evaluate_op("nn.max_pool_with_argmax", ARGMAX_X, ksize=[2, 2], strides=[1, 1],
                           padding="VALID", output_dtype=dt.int32)
    assert arg.dtype == np.int32
    # From TF 2.21: the second image's indices do not include the batch offset.
    np.testing.assert_array_equal(arg, [[[[0, 3], [4, 3]], [[12, 7], [8, 9]]],
                                        [[[2, 1], [2, 5]], [[6, 13], [8, 17]]]])


def test_max_pool_with_argmax_infer_and_errors():
    f32 = dt.float32
    assert types_of("nn.max_pool_with_argmax", [((None, 5, 5, 3), f32)], POOL_ATTRS) == [
        TensorType((None, 3, 3, 3), f32), TensorType((None, 3, 3, 3), dt.int64)]
    assert types_of("nn.max_pool_with_argmax", [(None, dt.float16)], dict(POOL_ATTRS, output_dtype="int32")) == [
        TensorType((None,) * 4, dt.float16), TensorType((None,) * 4, dt.int32)]
    build_error("nn.max_pool_with_argmax", [((1, 4, 4, 1), f32)], dict(POOL_ATTRS, output_dtype="float32"),
                "output_dtype must be int32 or int64")
    build_error("nn.max_pool_with_argmax", [((1, 4, 4, 1), f32)], dict(POOL_ATTRS, data_format="NCHW"),
                "unknown attribute 'data_format'")


# l2_loss -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_l2_loss(dtype):
    x = rand(3, 4, dtype=dtype)
    got = evaluate_op("nn.l2_loss", x)
    assert got.shape == ()
    close(got, (x.astype(F64) ** 2).sum() / 2, dtype)


def test_l2_loss_edge_cases():
    assert evaluate_op("nn.l2_loss", np.array([[1, 2], [3, 4]], F32)) == 15.0
    assert evaluate_op("nn.l2_loss", np.array(3.0, F64)) == 4.5
    assert evaluate_op("nn.l2_loss", np.zeros((0,), F16)) == 0.0
    # TF 2.21 gives inf here too: 90000 does not fit in float16.
    assert evaluate_op("nn.l2_loss", np.array([300.0, 300.0], F16)) == np.inf
    assert np.isnan(evaluate_op("nn.l2_loss", np.array([1.0, np.nan], F32)))
    assert types_of("nn.l2_loss", [(None, dt.float32)]) == [TensorType((), dt.float32)]
    build_error("nn.l2_loss", [((2,), dt.int32)], {}, "dtype int32")


# Softmax cross entropy -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F16, F32, F64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_cross_entropy(dtype, axis):
    logits = rand(3, 4, 5, dtype=dtype, scale=3)
    labels = RNG.random((3, 4, 5)).astype(dtype)
    want = -(labels.astype(F64) * np.log(softmax_ref(logits, axis))).sum(axis=axis)
    got = evaluate_op("nn.softmax_cross_entropy_with_logits", labels, logits, axis=axis)
    close(got, want, dtype, rtol=1e-2 if dtype == F16 else None)


def test_softmax_cross_entropy_edge_cases():
    # Values from TF 2.21: a -inf logit with a zero label gives NaN (0 * inf).
    labels = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]], F32)
    logits = np.array([[1.0, 2.0, 3.0], [1.0, -np.inf, 0.0]], F32)
    got = evaluate_op("nn.softmax_cross_entropy_with_logits", labels, logits)
    np.testing.assert_allclose(got[0], 0.9076059, rtol=1e-6)
    assert np.isnan(got[1])
    # Labels broadcast against logits (TF's kernel broadcasts): [1, 3] vs [2, 3].
    got = evaluate_op("nn.softmax_cross_entropy_with_logits", labels[:1], logits)
    np.testing.assert_allclose(got, [0.9076059, np.inf], rtol=1e-6)
    # Large logits stay finite; zero classes give a zero loss (TF: [0, 0]).
    big = np.array([[1000.0, -1000.0]], F32)
    close(evaluate_op("nn.softmax_cross_entropy_with_logits", np.array([[0.0, 1.0]], F32), big), [2000.0])
    np.testing.assert_array_equal(
        evaluate_op("nn.softmax_cross_entropy_with_logits", np.zeros((2, 0), F32), np.zeros((2, 0), F32)), [0, 0])


def test_softmax_cross_entropy_infer_and_errors():
    name, f32 = "nn.softmax_cross_entropy_with_logits", dt.float32
    assert shapes_of(name, [((None, 10), f32), ((None, 10), f32)]) == [(None,)]
    assert shapes_of(name, [((1, 10), f32), ((None, 10), f32)]) == [(None,)]
    assert shapes_of(name, [((4, 10, 3), f32), ((4, 10, 3), f32)], {"axis": 1}) == [(4, 3)]
    assert shapes_of(name, [((1, 10), f32), ((6, 10), f32)]) == [(6,)]
    assert shapes_of(name, [(None, f32), ((6, 10), f32)]) == [None]
    build_error(name, [((2, 2), f32), ((2, 3), f32)], {},
                r"logits and labels must be broadcastable: logits_size=\[2,3\] labels_size=\[2,2\]")
    build_error(name, [((3,), f32), ((2, 3), f32)], {}, "must be broadcastable")
    build_error(name, [((), f32), ((), f32)], {}, "at least 1 dimension")
    build_error(name, [((2, 3), f32), ((2, 3), f32)], {"axis": 2}, "out of range")
    build_error(name, [((2, 3), dt.float64), ((2, 3), f32)], {}, "same dtype")


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_sparse_softmax_cross_entropy(label_dtype, dtype):
    logits = rand(2, 3, 7, dtype=dtype, scale=3)
    labels = RNG.integers(0, 7, (2, 3)).astype(label_dtype)
    log_p = np.log(softmax_ref(logits, -1))
    want = -np.take_along_axis(log_p, labels[..., None].astype(np.int64), -1)[..., 0]
    got = evaluate_op("nn.sparse_softmax_cross_entropy_with_logits", labels, logits)
    close(got, want, dtype, rtol=1e-2 if dtype == F16 else None)


def test_sparse_softmax_cross_entropy_edge_cases():
    name = "nn.sparse_softmax_cross_entropy_with_logits"
    # From TF 2.21: scalar label with 1-D logits; -inf at the label gives inf.
    np.testing.assert_allclose(evaluate_op(name, np.array(1), ints(3)), 1.4076059, rtol=1e-6)
    np.testing.assert_array_equal(evaluate_op(name, np.array([0, 1]), np.array([[1, -np.inf]] * 2, F32)), [0, np.inf])
    assert evaluate_op(name, np.zeros((0,), np.int32), np.zeros((0, 4), F32)).shape == (0,)


@pytest.mark.parametrize("labels, match", [
    # TF reports the smallest label when one is negative, else the largest.
    ([10, 3, 11], r"Received a label value of 11 which is outside the valid range of \[0, 10\)\.  Label values: 10 3 11"),
    ([1, 3, -1], r"Received a label value of -1 which is outside the valid range of \[0, 10\)\.  Label values: 1 3 -1"),
    ([10], r"^nn\.sparse.*Received a label value of 10 which is outside the valid range of \[0, 10\)\."),
])
def test_sparse_softmax_cross_entropy_label_errors(labels, match):
    with pytest.raises(InterpreterError, match=match):
        evaluate_op("nn.sparse_softmax_cross_entropy_with_logits", np.array(labels, np.int64),
                    np.zeros((len(labels), 10), F32))


def test_sparse_softmax_cross_entropy_infer_and_errors():
    name, f32, i64 = "nn.sparse_softmax_cross_entropy_with_logits", dt.float32, dt.int64
    assert types_of(name, [((None,), i64), ((None, 10), f32)]) == [TensorType((None,), f32)]
    assert shapes_of(name, [((None, 5), dt.int32), ((8, None, 10), f32)]) == [(8, 5)]
    assert shapes_of(name, [(None, i64), ((8, 10), f32)]) == [(8,)]
    assert shapes_of(name, [((8,), i64), (None, f32)]) == [(8,)]
    build_error(name, [((2,), i64), ((3, 10), f32)], {}, "labels.shape must equal logits.shape except for the last")
    build_error(name, [((1, 2), i64), ((3, 10), f32)], {}, r"rank of labels \(received 2\) should equal rank of logits minus 1")
    build_error(name, [((), i64), ((), f32)], {}, "at least 1 dimension")
    build_error(name, [((3,), dt.float32), ((3, 10), f32)], {}, "operand 'labels' has dtype float32")
    with pytest.raises(InterpreterError, match=r"Must have at least one class, but got logits shape \[1,0\]"):
        evaluate_op(name, np.array([0]), np.zeros((1, 0), F32))


# Sigmoid and weighted cross entropy ----------------------------------------------------------
def sigmoid_xent_ref(z, x, q=1.0):
    """The textbook loss -q z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)) in float64."""
    x, z = x.astype(F64), z.astype(F64)
    s = 1 / (1 + np.exp(-x))
    return -q * z * np.log(s) - (1 - z) * np.log(1 - s)


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_sigmoid_and_weighted_cross_entropy(dtype):
    x = rand(4, 5, dtype=dtype, scale=4)
    z = RNG.random((4, 5)).astype(dtype)
    q = (RNG.random((5,)) * 3).astype(dtype)
    tol = 5e-3 if dtype == F16 else 1e-5
    close(evaluate_op("nn.sigmoid_cross_entropy_with_logits", z, x), sigmoid_xent_ref(z, x), dtype,
          rtol=tol, atol=tol)
    close(evaluate_op("nn.weighted_cross_entropy_with_logits", z, x, q),
          sigmoid_xent_ref(z, x, q.astype(F64)), dtype, rtol=tol, atol=tol)


def test_cross_entropy_stability_and_tf_values():
    x = np.array([-100, -1, 0, 1, 100, np.inf, -np.inf, np.nan], F32)
    z = np.array([0, 1, 0.5, 0, 1, 1, 0, 1], F32)
    nan = np.nan
    # Computed once with TF 2.21 (inf * 0 terms give NaN there too).
    close(evaluate_op("nn.sigmoid_cross_entropy_with_logits", z, x),
          [0, 1.3132617, 0.6931472, 1.3132617, 0, nan, nan, nan])
    close(evaluate_op("nn.weighted_cross_entropy_with_logits", z, x, np.array(2.0, F32)),
          [0, 2.6265235, 1.0397208, 1.3132617, 0, nan, nan, nan])
    # Large |x| with the wrong label: exactly |x|, no overflow.
    big = np.array([1e4, -1e4], F32)
    close(evaluate_op("nn.sigmoid_cross_entropy_with_logits", np.array([0, 1], F32), big), [1e4, 1e4])


def test_weighted_cross_entropy_broadcasts_pos_weight():
    x, z = rand(8), RNG.random(8).astype(F32)
    q = np.array([[1.0], [3.0]], F32)
    got = evaluate_op("nn.weighted_cross_entropy_with_logits", z, x, q)
    assert got.shape == (2, 8)
    close(got[0], sigmoid_xent_ref(z, x), rtol=1e-5, atol=1e-6)
    close(got[1], sigmoid_xent_ref(z, x, 3.0), rtol=1e-5, atol=1e-6)


def test_cross_entropy_infer_and_errors():
    f32 = dt.float32
    assert shapes_of("nn.sigmoid_cross_entropy_with_logits", [((None, 3), f32), ((4, None), f32)]) == [(4, 3)]
    assert shapes_of("nn.sigmoid_cross_entropy_with_logits", [(None, f32), ((4, 3), f32)]) == [(4, 3)]
    assert shapes_of("nn.weighted_cross_entropy_with_logits",
                     [((None, 3), f32), ((None, 3), f32), ((), f32)]) == [(None, 3)]
    assert shapes_of("nn.weighted_cross_entropy_with_logits",
                     [((8,), f32), ((8,), f32), ((2, 1), f32)]) == [(2, 8)]
    build_error("nn.sigmoid_cross_entropy_with_logits", [((2,), f32), ((8,), f32)], {},
                r"`logits` and `labels` must have the same shape, received \(\[8\] vs \[2\]\)")
    build_error("nn.weighted_cross_entropy_with_logits", [((1,), f32), ((8,), f32), ((), f32)], {},
                "must have the same shape")
    build_error("nn.weighted_cross_entropy_with_logits", [((8,), f32), ((8,), f32), ((2,), f32)], {},
                "cannot be broadcast")
    build_error("nn.weighted_cross_entropy_with_logits", [((8,), f32), ((8,), f32), ((), dt.float64)], {},
                "same dtype")


# Fused batch norm ----------------------------------------------------------------------------
def batch_norm_ref(x, scale, offset, mean, variance, eps, axis):
    shape = [-1 if i == axis else 1 for i in range(4)]
    r = lambda v: v.astype(F64).reshape(shape)
    return (x.astype(F64) - r(mean)) / np.sqrt(r(variance) + eps) * r(scale) + r(offset)


@pytest.mark.parametrize("x_dtype, p_dtype", [(F32, F32), (F16, F32), (F16, F16), (F64, F64)])
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_fused_batch_norm(x_dtype, p_dtype, fmt):
    axis = 3 if fmt == "NHWC" else 1
    x = rand(2, 3, 4, 5, dtype=x_dtype, scale=3)
    c = x.shape[axis]
    scale, offset, mean = rand(c, dtype=p_dtype), rand(c, dtype=p_dtype), rand(c, dtype=p_dtype)
    variance = RNG.random(c).astype(p_dtype)
    got = evaluate_op("nn.fused_batch_norm", x, scale, offset, mean, variance, epsilon=0.01, data_format=fmt)
    want = batch_norm_ref(x, scale, offset, mean, variance, 0.01, axis)
    tol = 2e-2 if F16 in (x_dtype, p_dtype) else 1e-5
    close(got, want, x_dtype, rtol=tol, atol=tol)


def test_fused_batch_norm_infer_and_errors():
    name, f32 = "nn.fused_batch_norm", dt.float32
    vec = ((4,), f32)
    assert shapes_of(name, [((None, 7, 7, 4), f32), vec, vec, vec, vec]) == [(None, 7, 7, 4)]
    assert shapes_of(name, [((None, None, 7, 7), f32), vec, vec, vec, vec],
                     {"data_format": "NCHW"}) == [(None, 4, 7, 7)]
    assert types_of(name, [((2, 3, 3, 4), dt.float16), vec, vec, vec, vec]) == [TensorType((2, 3, 3, 4), dt.float16)]
    assert shapes_of(name, [(None, f32), vec, vec, vec, vec]) == [None]
    build_error(name, [((2, 3, 3, 4), f32), ((3,), f32), vec, vec, vec], {},
                "scale must have the same number of elements as the channels of x, got 3 and 4")
    build_error(name, [((2, 3, 3, 4), f32), vec, vec, vec, ((3,), f32)], {}, "variance must have the same number")
    build_error(name, [((2, 3, 3, 4), f32), ((2, 2), f32), vec, vec, vec], {}, "scale must be 1-dimensional")
    build_error(name, [((3, 3, 4), f32), vec, vec, vec, vec], {}, "x must be rank 4")
    build_error(name, [((2, 3, 3, 4), dt.float64), vec, vec, vec, vec], {}, "must be float64 for x of dtype float64")
    build_error(name, [((2, 3, 3, 4), f32), vec, vec, vec, ((4,), dt.float64)], {}, "same dtype")


# Dropout -------------------------------------------------------------------------------------
def dropout(x, rate, seed=1, seed2=2, counter=0, noise_shape=None):
    attrs = {"rate": rate, "seed": seed, "seed2": seed2}
    if noise_shape is not None:
        attrs["noise_shape"] = noise_shape
    return evaluate_op("nn.dropout", x, np.array(counter, np.int64), **attrs)


def test_dropout_structure():
    x = RNG.random((100, 100)).astype(F32) + 1
    out = dropout(x, 0.3, seed=5, seed2=9)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] * np.float32(1 / 0.7), rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_array_equal(dropout(x, 0.3, seed=5, seed2=9), out)           # deterministic
    assert (dropout(x, 0.3, seed=5, seed2=9, counter=7) != out).any()               # new blocks
    assert (dropout(x, 0.3, seed=5, seed2=10) != out).any()                         # new seed
    np.testing.assert_array_equal(dropout(x, 0.0), x)                               # rate 0: x itself
    block = dropout(np.ones((50, 4, 6), F64), 0.5, noise_shape=[50, 1, 6])
    assert (block == block[:, :1, :]).all() and set(np.unique(block)) <= {0.0, 2.0}
    assert dropout(np.zeros((0, 3), F32), 0.5).shape == (0, 3)


def test_dropout_matches_tf():
    # tf.set_random_seed(1); tf.nn.dropout(x, rate, seed=s2) -> RandomUniform(seed=1, seed2=s2),
    # first run (counter 0). Values computed once with TF 2.21.
    x = np.arange(1, 13, dtype=F32).reshape(3, 4)
    np.testing.assert_array_equal(dropout(x, 0.5), [[0, 4, 0, 0], [0, 0, 14, 0], [18, 0, 0, 0]])
    np.testing.assert_array_equal(dropout(x, 0.5, noise_shape=[3, 1]),
                                  [[0, 0, 0, 0], [10, 12, 14, 16], [0, 0, 0, 0]])
    np.testing.assert_array_equal(dropout(x, 0.5, noise_shape=[1, 4]),
                                  [[0, 4, 0, 0], [0, 12, 0, 0], [0, 20, 0, 0]])
    np.testing.assert_array_equal(dropout(x.astype(F64), 0.5),
                                  [[0, 0, 0, 0], [10, 12, 14, 16], [18, 0, 0, 24]])
    np.testing.assert_array_equal(dropout(x.astype(F16), 0.3), np.array(
        [[0.0, 2.857421875, 4.28515625, 5.71484375], [7.14453125, 0.0, 10.0, 0.0],
         [12.859375, 14.2890625, 0.0, 17.140625]], F16))
    np.testing.assert_array_equal(dropout(x, 0.25, seed2=7, noise_shape=[3, 1]), x * np.float32(1 / 0.75))
    # TF selects with where(keep, x * scale, 0): a dropped NaN or inf becomes 0, not NaN.
    xi = np.array([np.inf, np.nan, np.inf, np.nan, -np.inf, 1, 2, 3], F32)
    np.testing.assert_array_equal(dropout(xi, 0.5, seed2=3), [np.inf, np.nan, np.inf, 0, -np.inf, 0, 4, 6])


def test_dropout_infer_and_errors():
    f32, i64 = dt.float32, ((), dt.int64)
    attrs = {"rate": 0.5, "seed": 1, "seed2": 2}
    assert types_of("nn.dropout", [((None, 4), f32), i64], attrs) == [TensorType((None, 4), f32)]
    assert shapes_of("nn.dropout", [((None, 4), f32), i64], dict(attrs, noise_shape=[7, 1])) == [(None, 4)]
    assert shapes_of("nn.dropout", [(None, f32), (None, dt.int64)], dict(attrs, noise_shape=[7, 1])) == [None]
    for rate in (1.0, -0.1, 1.5):
        build_error("nn.dropout", [((2,), f32), i64], dict(attrs, rate=rate), r"rate must be a float in the range \[0, 1\)")
    build_error("nn.dropout", [((2, 4), f32), i64], dict(attrs, noise_shape=[2, 3]), "must broadcast to the shape of x")
    build_error("nn.dropout", [((4,), f32), i64], dict(attrs, noise_shape=[2, 4]), "must broadcast")
    build_error("nn.dropout", [((2, 4), f32), ((1,), dt.int64)], attrs, "counter must be a scalar")
    build_error("nn.dropout", [((2, 4), f32), ((), dt.int32)], attrs, "operand 'counter' has dtype int32")
    build_error("nn.dropout", [((2, 4), dt.int32), i64], attrs, "operand 'x' has dtype int32")
    build_error("nn.dropout", [((2, 4), f32), i64], {"rate": 0.5}, "missing required attribute 'seed'")


def test_traits():
    from tfc.ir.opdef import CONTRACTION, ELEMENTWISE, RANDOM, get_op
    assert get_op("nn.dropout").has(RANDOM) and not get_op("nn.dropout").is_pure
    assert get_op("nn.conv2d").has(CONTRACTION) and get_op("nn.depthwise_conv2d").has(CONTRACTION)
    assert get_op("nn.relu").has(ELEMENTWISE) and get_op("nn.conv2d").is_pure
