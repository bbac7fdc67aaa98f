"""Neural-network ops (`tf.nn`, TF 2.21's `tf.compat.v1.nn`): activations, softmax, bias add,
convolutions, pooling, normalization, dropout, cross entropies and embedding lookup.

Each function builds the graph TF builds (op types, names, inputs, attributes) and lowers to
the IR's nn ops. Composite functions whose TF graph is long shape bookkeeping around one kernel
are one graph op named like TF's main op, lowering to the one IR op that computes the same
numbers: the softmax cross entropies (TF's Reshape/Slice/transpose ops around the kernel are
left out, so the result is `<scope>:0`, not `<scope>/Reshape_2:0`), softmax on a non-last axis
(no transposes), and the sigmoid / weighted cross entropies (ops of type LogisticLoss /
WeightedLogisticLoss named `logistic_loss`, where TF has ten elementwise ops ending in an AddV2
of that name). `dropout` is TF 2.21's graph op for op (its RandomUniform draws TF's numbers).

Not here, because the IR cannot express them: `conv2d_transpose` (no transposed convolution),
`top_k` and `in_top_k` (no sort / top-k op).
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from tfc.ir import dtypes as dt

from ..errors import InvalidArgumentError
from ..framework import Tensor, convert_to_tensor
from . import array_ops, math_ops, random_ops
from .core import apply_op, convert_same_dtype, ir_op, make_op, op_scope, outputs

_FLOAT_NAMES = "half, bfloat16, float32, float64"


# Math the family needs ------------------------------------------------------------------------------
def _div_no_nan(x, y, name=None):
    """`tf.div_no_nan` (x / y, 0 where y == 0): the math family's, or until it has one a
    DivNoNan op lowering to select(y == 0, 0, x / y)."""
    fn = getattr(math_ops, "div_no_nan", None)
    if fn is not None:
        return fn(x, y, name=name)

    def lower(ctx, op, a, b):
        zero = ctx.b.constant_of(np.zeros((), a.type.dtype.numpy))
        quotient = ctx.b.op("math.real_div", a, b)
        return ctx.b.op("math.select_v2", ctx.b.op("math.equal", b, zero), zero, quotient)

    return apply_op("DivNoNan", name, [("x", x), ("y", y)], lower, default_name="div_no_nan")


# Shared checks and attribute forms ----------------------------------------------------------------
def _check_float(op_type: str, param: str, tensor: Tensor) -> None:
    """TF's TypeError for an input outside the op's float types."""
    if not tensor.dtype.is_floating:
        raise TypeError(f"Value passed to parameter '{param}' has DataType {tensor.dtype.name} not "
                        f"in list of allowed values: {_FLOAT_NAMES}")


def _float_op(op_type, ir_name, name, named_inputs, *, default_name=None, attrs=None, order=None,
              **ir_attrs):
    """One graph op on float inputs (converted to one dtype) lowering to IR `ir_name`, whose
    operands are the inputs in `order` (indices; default: as given)."""
    with op_scope(name, default_name or op_type, [v for _, v in named_inputs]) as scope:
        tensors = convert_same_dtype(op_type, named_inputs)
        for (param, _), t in zip(named_inputs, tensors):
            _check_float(op_type, param, t)
        attrs = dict(attrs or {}, T=tensors[0].dtype)
        order = order or range(len(tensors))

        def lower(ctx, op, *values):
            return ctx.b.op(ir_name, *[values[i] for i in order], **ir_attrs)

        return outputs(make_op(op_type, tensors, lower, name=scope, attrs=attrs))


def _get_sequence(value, n, channel_index, name):
    """TF's `_get_sequence`: strides / dilations / ksize as the 4-element (n + 2) list."""
    if value is None:
        return [1] * (n + 2)
    if isinstance(value, (int, np.integer)):
        value = [value]
    value = [int(v) for v in value]
    if len(value) == n + 2:
        return value
    if len(value) == 1:
        value = value * n
    elif len(value) != n:
        raise ValueError(f"{name} should be of length 1, {n} or {n + 2}. Received: {name}={value} "
                         f"of length {len(value)}")
    return [1, 1] + value if channel_index == 1 else [1] + value + [1]


def _bad_padding(op_type, padding, allowed=("SAME", "VALID", "EXPLICIT")):
    return ValueError(f"Attr 'padding' of '{op_type}' Op passed string '{padding}' not in: "
                      + ", ".join(f'"{a}"' for a in allowed) + ".")


def _convert_padding(padding, op_type):
    """TF's `convert_padding`: ('SAME' | 'VALID' | 'EXPLICIT', explicit_paddings 8-list)."""
    if padding == "EXPLICIT":
        raise ValueError("'EXPLICIT' is not a valid value for `padding`. To use explicit padding, "
                         "`padding` must be a list.")
    if isinstance(padding, (list, tuple)):
        explicit = []
        for i, pair in enumerate(padding):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError("When `padding` is a list, each element of `padding` must be a "
                                 f"list/tuple of size 2. Received: padding={padding} with element "
                                 f"at index {i} of {'type ' + str(type(pair)) if not isinstance(pair, (list, tuple)) else 'size ' + str(len(pair))}")
            explicit.extend(int(p) for p in pair)
        if len(padding) != 4:
            raise ValueError(f"When padding is a list, it must be of size 4. Received: "
                             f"padding={padding} of size {len(padding)}")
        return "EXPLICIT", explicit
    if isinstance(padding, bytes):
        padding = padding.decode()
    if padding not in ("SAME", "VALID"):
        raise _bad_padding(op_type, padding)
    return padding, []


def _spatial(values, data_format, what):
    """The [h, w] part of a 4-element attribute; batch and channel entries must be 1."""
    h, w = (2, 3) if data_format == "NCHW" else (1, 2)
    c = 1 if data_format == "NCHW" else 3
    if values[0] != 1 or values[c] != 1:
        raise ValueError(f"Current implementation does not yet support {what} in the batch and "
                         "depth dimensions.")
    return (values[h], values[w])


def _explicit_hw(explicit, data_format):
    """IR explicit_paddings [top, bottom, left, right] from TF's 8-element list."""
    if not explicit:
        return ()
    pairs = [explicit[i:i + 2] for i in range(0, 8, 2)]
    h, w = (2, 3) if data_format == "NCHW" else (1, 2)
    c = 1 if data_format == "NCHW" else 3
    if any(pairs[0]) or any(pairs[c]):
        raise ValueError("Nonzero explicit padding in the batch or depth dimensions is not supported")
    return tuple(pairs[h] + pairs[w])


def _data_format(data_format, allowed=("NHWC", "NCHW")):
    data_format = "NHWC" if data_format is None else data_format
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    if data_format not in allowed:
        raise ValueError(f"Value for attr 'data_format' of \"{data_format}\" is not in the list of "
                         f"allowed values: {', '.join(repr(f).replace(chr(39), chr(34)) for f in allowed)}")
    return data_format


# Activations ----------------------------------------------------------------------------------------
def _activation(op_type, ir_name, param="features"):
    def activation(features, name=None):
        return _float_op(op_type, ir_name, name, [(param, features)])
    activation.__name__ = op_type.lower()
    activation.__doc__ = f"`tf.nn.{op_type.lower()}`: TF's {op_type} op (IR {ir_name})."
    return activation


def relu(features, name=None):
    """`tf.nn.relu`: max(features, 0); integer features are allowed, as in TF."""
    with op_scope(name, "Relu", [features]) as scope:
        x = convert_to_tensor(features, name="features")
        if not (x.dtype.is_floating or x.dtype.is_integer):
            raise TypeError(f"Value passed to parameter 'features' has DataType {x.dtype.name} not "
                            f"in list of allowed values: float32, float64, int32, uint8, int16, int8, "
                            f"int64, bfloat16, uint16, half, uint32, uint64, qint8")
        return outputs(make_op("Relu", [x], lambda ctx, op, v: ctx.b.op("nn.relu", v), name=scope,
                               attrs={"T": x.dtype}))


relu6 = _activation("Relu6", "nn.relu6")
elu = _activation("Elu", "nn.elu")
selu = _activation("Selu", "nn.selu")
softplus = _activation("Softplus", "nn.softplus")
softsign = _activation("Softsign", "nn.softsign")


def sigmoid(x, name=None):
    """`tf.nn.sigmoid` (`tf.sigmoid`): 1 / (1 + exp(-x)) (TF's Sigmoid op)."""
    return math_ops.sigmoid(x, name=name)


def tanh(x, name=None):
    """`tf.nn.tanh` (`tf.tanh`): TF's Tanh op."""
    return math_ops.tanh(x, name=name)


def leaky_relu(features, alpha=0.2, name=None):
    """`tf.nn.leaky_relu`: x if x > 0 else alpha * x; integer features are cast to float32."""
    with op_scope(name, "LeakyRelu", [features, alpha]) as scope:
        x = convert_to_tensor(features, name="features")
        if x.dtype.is_integer:
            x = math_ops.cast(x, dt.float32)
        if isinstance(alpha, Tensor) or hasattr(alpha, "_as_tensor"):
            raise TypeError("tfc's leaky_relu needs a Python number for `alpha` (TF's LeakyRelu "
                            "attribute)")
        alpha = float(np.float32(alpha))   # TF's float attribute
        return _float_op("LeakyRelu", "nn.leaky_relu", scope, [("features", x)], attrs={"alpha": alpha},
                         alpha=alpha)


def crelu(features, name=None, axis=-1):
    """`tf.nn.crelu`: relu(concat([x, -x], axis)), as TF builds it (CRelu/Neg, CRelu (ConcatV2),
    CRelu/Relu)."""
    with op_scope(name, "CRelu", [features]) as scope:
        features = convert_to_tensor(features, name="features")
        c = array_ops.concat([features, math_ops.negative(features)], axis, name=scope)
        return relu(c)


def _softmax_op(op_type, ir_name):
    def softmax_fn(logits, axis=None, name=None, dim=None):
        axis = _deprecated_lookup("axis", axis, "dim", dim)
        axis = -1 if axis is None else int(axis)
        with op_scope(name, op_type, [logits]) as scope:
            x = convert_to_tensor(logits, name="logits")
            _check_float(op_type, "logits", x)
            rank = x.shape.ndims
            if rank is not None and not -rank <= axis < rank:
                raise InvalidArgumentError(None, None, f"`dim` must be in the range [{-rank}, {rank}) "
                                           f"where {rank} is the number of dimensions in the input. "
                                           f"Received: dim={axis}")
            return outputs(make_op(op_type, [x], lambda ctx, op, v: ctx.b.op(ir_name, v, axis=axis),
                                   name=scope, attrs={"T": x.dtype}))
    return softmax_fn


softmax = _softmax_op("Softmax", "nn.softmax")
softmax.__name__ = "softmax"
softmax.__doc__ = ("`tf.nn.softmax(logits, axis=None, name=None, dim=None)`: exp / sum(exp) along "
                   "`axis` (default last). TF transposes for a non-last axis; tfc's one op takes "
                   "the axis.")
log_softmax = _softmax_op("LogSoftmax", "nn.log_softmax")
log_softmax.__name__ = "log_softmax"
log_softmax.__doc__ = "`tf.nn.log_softmax(logits, axis=None, name=None, dim=None)`."


def _deprecated_lookup(new_name, new_value, old_name, old_value):
    if new_value is not None and old_value is not None:
        raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'.")
    return new_value if new_value is not None else old_value


def bias_add(value, bias, data_format=None, name=None):
    """`tf.nn.bias_add`: value + bias along the channel dimension (last, or 1 for NC*)."""
    data_format = "NCHW" if data_format is not None and data_format.startswith("NC") else "NHWC"
    with op_scope(name, "BiasAdd", [value, bias]) as scope:
        value = convert_to_tensor(value, name="input")
        bias = convert_to_tensor(bias, dtype=value.dtype, name="bias")
        return _float_op("BiasAdd", "nn.bias_add", scope, [("value", value), ("bias", bias)],
                         attrs={"data_format": data_format}, data_format=data_format)


# Convolutions -----------------------------------------------------------------------------------------
def _conv_op(op_type, ir_name, input, filter, strides, padding, data_format, dilations, name,
             extra_attrs=None):
    """Conv2D / DepthwiseConv2dNative with TF's 4-element attributes, lowering with [h, w]."""
    data_format = _data_format(data_format)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, explicit = _convert_padding(padding, op_type)
    strides = _get_sequence(strides, 2, channel_index, "strides")
    dilations = _get_sequence(dilations, 2, channel_index, "dilations")
    ir_attrs = dict(strides=_spatial(strides, data_format, "strides"), padding=padding,
                    explicit_paddings=_explicit_hw(explicit, data_format),
                    dilations=_spatial(dilations, data_format, "dilations"), data_format=data_format)
    attrs = dict(strides=strides, padding=padding, explicit_paddings=explicit,
                 data_format=data_format, dilations=dilations, **(extra_attrs or {}))
    return _float_op(op_type, ir_name, name, [("input", input), ("filter", filter)], attrs=attrs,
                     **ir_attrs)


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
           dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006 (TF's signature)
    """`tf.nn.conv2d`: 2-D convolution with an HWIO filter. `strides`/`dilations` are ints or
    lists of 1, 2 or 4; `padding` 'SAME', 'VALID' or an explicit [[0, 0], [t, b], [l, r], [0, 0]]."""
    filter = _deprecated_lookup("filters", filters, "filter", filter)
    return _conv_op("Conv2D", "nn.conv2d", input, filter, strides, padding, data_format, dilations,
                    name, {"use_cudnn_on_gpu": bool(use_cudnn_on_gpu)})


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC",
                            dilations=[1, 1, 1, 1], name=None):  # noqa: B006 (TF's signature)
    """`tf.nn.depthwise_conv2d_native`: TF's DepthwiseConv2dNative op; filter
    [kh, kw, in_channels, multiplier]."""
    return _conv_op("DepthwiseConv2dNative", "nn.depthwise_conv2d", input, filter, strides, padding,
                    data_format, dilations, name)


def _depthwise_in_scope(scope, input, filter, strides, padding, rate, data_format, op_name):
    """TF's `with_space_to_batch` around DepthwiseConv2dNative, inside `scope`: the filter's
    Shape and the dilation_rate constants, then the op. A rate above 1 becomes the op's
    dilations (TF builds SpaceToBatchND / BatchToSpaceND around a VALID convolution, which
    computes the same dilated convolution)."""
    data_format = _data_format(data_format)
    rate = [1, 1] if rate is None else ([int(rate)] * 2 if isinstance(rate, (int, np.integer))
                                        else [int(r) for r in rate])
    if len(rate) != 2:
        raise ValueError(f"dilation_rate must be of shape [2], got {rate}")
    if any(r < 1 for r in rate):
        raise ValueError("dilation_rate must be positive")
    padding = padding.decode() if isinstance(padding, bytes) else padding
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"padding must be either VALID or SAME, but got {padding!r}")
    strides = _get_sequence(strides, 2, 1 if data_format == "NCHW" else 3, "strides")
    if rate != [1, 1] and _spatial(strides, data_format, "strides") != (1, 1):
        raise ValueError("strides > window_shape not supported due to inconsistency between CPU "
                         "and GPU implementations")
    array_ops.shape(filter, name="Shape")
    convert_to_tensor(rate, dtype=dt.int32, name="dilation_rate")
    dilations = [1, 1] + rate if data_format == "NCHW" else [1] + rate + [1]
    return depthwise_conv2d_native(input, filter, strides, padding, data_format=data_format,
                                   dilations=dilations, name=op_name or scope)


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None, data_format=None,
                     dilations=None):
    """`tf.nn.depthwise_conv2d`: a depthwise convolution (each input channel convolved with
    its own `multiplier` filters); `rate` (or `dilations`) dilates the filter."""
    rate = _deprecated_lookup("dilations", dilations, "rate", rate)
    with op_scope(name, "depthwise", [input, filter]) as scope:
        input = convert_to_tensor(input, name="tensor_in")
        filter = convert_to_tensor(filter, name="filter_in")
        return _depthwise_in_scope(scope, input, filter, strides, padding, rate, data_format, None)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, rate=None,
                     name=None, data_format=None, dilations=None):
    """`tf.nn.separable_conv2d`: a depthwise convolution (op `<name>/depthwise`) followed by a
    1x1 Conv2D with `pointwise_filter` (op `<name>`), as TF builds it."""
    rate = _deprecated_lookup("dilations", dilations, "rate", rate)
    with op_scope(name, "separable_conv2d", [input, depthwise_filter, pointwise_filter]) as scope:
        input = convert_to_tensor(input, name="tensor_in")
        depthwise_filter = convert_to_tensor(depthwise_filter, name="depthwise_filter")
        pointwise_filter = convert_to_tensor(pointwise_filter, name="pointwise_filter")
        shape = pointwise_filter.shape.with_rank(4)
        for i in (0, 1):
            if not shape[i].is_compatible_with(1):
                raise ValueError(f"Dimensions {shape[i]} and 1 are not compatible")
        depthwise = _depthwise_in_scope(scope, input, depthwise_filter, strides, padding, rate,
                                        data_format, "depthwise")
        return conv2d(depthwise, pointwise_filter, [1, 1, 1, 1], padding="VALID",
                      data_format=data_format, name=scope)


# Pooling ------------------------------------------------------------------------------------------------
def _pool(op_type, ir_name, value, ksize, strides, padding, data_format, name, input):
    value = _deprecated_lookup("input", input, "value", value)
    data_format = _data_format(data_format)
    channel_index = 1 if data_format == "NCHW" else 3
    with op_scope(name, op_type, [value]) as scope:
        ksize = _get_sequence(ksize, 2, channel_index, "ksize")
        strides = _get_sequence(strides, 2, channel_index, "strides")
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding not in ("SAME", "VALID"):
            raise _bad_padding(op_type, padding, ("SAME", "VALID") if op_type == "AvgPool"
                               else ("SAME", "VALID", "EXPLICIT"))
        attrs = dict(ksize=ksize, strides=strides, padding=padding, data_format=data_format)
        return _float_op(op_type, ir_name, scope, [("input", value)], attrs=attrs,
                         ksize=_pool_spatial(ksize, data_format), strides=_spatial(strides, data_format, "strides"),
                         padding=padding, data_format=data_format)


def _pool_spatial(ksize, data_format):
    c = 1 if data_format == "NCHW" else 3
    if ksize[0] != 1 or ksize[c] != 1:
        raise ValueError("Pooling is not yet supported on the batch or depth dimension in tfc "
                         f"(ksize={ksize})")
    return _spatial(ksize, data_format, "ksize")


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """`tf.nn.avg_pool`: mean over [kh, kw] windows (SAME counts only real elements)."""
    return _pool("AvgPool", "nn.avg_pool", value, ksize, strides, padding, data_format, name, input)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """`tf.nn.max_pool`: max over [kh, kw] windows."""
    return _pool("MaxPool", "nn.max_pool", value, ksize, strides, padding, data_format, name, input)


MaxPoolWithArgmax = collections.namedtuple("MaxPoolWithArgmax", ["output", "argmax"])


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC", Targmax=None, name=None,
                         output_dtype=None, include_batch_in_index=False):
    """`tf.nn.max_pool_with_argmax`: (output, argmax), argmax the flattened index
    ((b * H + y) * W + x) * C + c of each maximum (b only with include_batch_in_index)."""
    if data_format != "NHWC":
        raise ValueError(f"`data_format` values other  than 'NHWC' are not supported. Received: "
                         f"data_format={data_format}")
    Targmax = dt.as_dtype(_deprecated_lookup("output_dtype", output_dtype, "Targmax", Targmax) or dt.int64)
    ksize, strides = _get_sequence(ksize, 2, 3, "ksize"), _get_sequence(strides, 2, 3, "strides")
    padding, _ = _convert_padding(padding, "MaxPoolWithArgmax")
    with op_scope(name, "MaxPoolWithArgmax", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        _check_float("MaxPoolWithArgmax", "input", x)

        def lower(ctx, op, v):
            return list(ctx.b.op("nn.max_pool_with_argmax", v, ksize=_pool_spatial(ksize, "NHWC"),
                                 strides=_spatial(strides, "NHWC", "strides"), padding=padding,
                                 output_dtype=Targmax,
                                 include_batch_in_index=bool(include_batch_in_index)))

        op = make_op("MaxPoolWithArgmax", [x], lower, name=scope,
                     attrs=dict(ksize=ksize, strides=strides, padding=padding, Targmax=Targmax,
                                include_batch_in_index=bool(include_batch_in_index), T=x.dtype))
    return MaxPoolWithArgmax(*op.outputs)


# Normalization --------------------------------------------------------------------------------------------
def l2_loss(t, name=None):
    """`tf.nn.l2_loss`: sum(t ** 2) / 2."""
    return _float_op("L2Loss", "nn.l2_loss", name, [("t", t)])


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """`tf.nn.l2_normalize`: x * rsqrt(max(sum(x ** 2, axis), epsilon)), as TF builds it."""
    axis = _deprecated_lookup("axis", axis, "dim", dim)
    with op_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        x_inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, epsilon))
        return math_ops.multiply(x, x_inv_norm, name=scope)


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """`tf.nn.moments`: (mean, variance) over `axes`; float16 is computed in float32."""
    keep_dims = bool(_deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims))
    with op_scope(name, "moments", [x, axes]):
        x = convert_to_tensor(x, name="x")
        y = math_ops.cast(x, dt.float32) if x.dtype == dt.float16 else x
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        variance = math_ops.reduce_mean(
            math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes, keepdims=True,
            name="variance")
        if not keep_dims:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if x.dtype == dt.float16:
            return math_ops.cast(mean, dt.float16), math_ops.cast(variance, dt.float16)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """`tf.nn.batch_normalization`: x * inv + (offset - mean * inv), inv = rsqrt(variance +
    epsilon) * scale, with TF's ops (batchnorm/add, Rsqrt, mul, mul_1, mul_2, sub, add_1)."""
    with op_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = convert_to_tensor(x, name="x")
        if isinstance(variance, Tensor) or hasattr(variance, "_as_tensor"):
            inv = math_ops.rsqrt(math_ops.add(variance, variance_epsilon, name="add"))
        else:   # Python arithmetic, as `variance + variance_epsilon` is in TF
            inv = math_ops.rsqrt(np.add(variance, variance_epsilon) if isinstance(variance, np.ndarray)
                                 else variance + variance_epsilon)
        if scale is not None:
            inv = math_ops.multiply(inv, scale, name="mul")
        scaled = math_ops.multiply(x, math_ops.cast(inv, x.dtype), name="mul")
        mean_inv = math_ops.multiply(mean, inv, name="mul")
        shift = math_ops.subtract(offset, mean_inv, name="sub") if offset is not None \
            else math_ops.negative(mean_inv)
        return math_ops.add(scaled, math_ops.cast(shift, x.dtype), name="add")


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """`tf.nn.fused_batch_norm` in inference mode (is_training=False): (y, mean, variance)
    from a FusedBatchNormV3 op. Training mode (batch statistics) is not supported."""
    if is_training:
        raise ValueError("tfc's fused_batch_norm supports only is_training=False (inference with "
                         "the given mean and variance); training mode is not implemented")
    if mean is None or variance is None:
        raise ValueError("Both `mean` and `variance` must be a 1D tensor when `is_training` is "
                         "False or `exponential_avg_factor` != 1.0. Received: "
                         f"`mean` {mean!r} and `variance` {variance!r}")
    data_format = _data_format(data_format)
    x = convert_to_tensor(x, name="input")
    scale = convert_to_tensor(scale, name="scale")
    offset = convert_to_tensor(offset, name="offset")
    mean = convert_to_tensor(mean, name="mean")
    variance = convert_to_tensor(variance, name="variance")
    epsilon = float(np.float32(max(epsilon, 1.001e-5)))   # TF's cuDNN minimum, as a float attr
    _check_float("FusedBatchNormV3", "x", x)

    def lower(ctx, op, xv, s, o, m, v):
        y = ctx.b.op("nn.fused_batch_norm", xv, s, o, m, v, epsilon=epsilon, data_format=data_format)
        empty = ctx.b.constant_of(np.zeros((0,), s.type.dtype.numpy))
        return [y, m, v, m, v, empty]

    op = make_op("FusedBatchNormV3", [x, scale, offset, mean, variance], lower, name=name,
                 attrs=dict(T=x.dtype, U=scale.dtype, epsilon=epsilon, data_format=data_format,
                            is_training=False, exponential_avg_factor=float(exponential_avg_factor)))
    return op.outputs[0], op.outputs[1], op.outputs[2]


# Dropout ------------------------------------------------------------------------------------------------
def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """`tf.nn.dropout` (TF1 signature): zero each element with probability `rate` (or
    1 - keep_prob) and scale the rest by 1 / (1 - rate). The graph is TF 2.21's: Mul by the
    scale, a RandomUniform of noise_shape (TF's seeds, so TF's numbers), GreaterEqual, SelectV2."""
    if keep_prob is not None and not isinstance(keep_prob, (numbers.Real, Tensor)):
        raise ValueError(f"`keep_prob` must be a floating point number or Tensor. Received: "
                         f"keep_prob={keep_prob}")
    if keep_prob is not None:
        rate_from_keep_prob = 1. - keep_prob if isinstance(keep_prob, numbers.Real) \
            else math_ops.subtract(1., keep_prob, name="sub")
    else:
        rate_from_keep_prob = None
    rate = _deprecated_lookup("rate", rate, "keep_prob", rate_from_keep_prob)
    if rate is None:
        raise ValueError(f"`rate` must be provided. Received: rate={rate}")
    return _dropout(x, rate, noise_shape, seed, name)


def _dropout(x, rate, noise_shape, seed, name):
    with op_scope(name, "dropout", [x]):
        is_number = isinstance(rate, numbers.Real)
        if is_number and not 0 <= rate < 1:
            raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). "
                             f"Received: rate={rate}")
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. "
                             f"Received: x_dtype=<dtype: '{x.dtype.name}'>")
        if is_number and rate == 0:
            random_ops.get_seed(seed)   # TF's dummy_rng_step: later ops' seeds stay the same
            return x
        if is_number:
            scale = convert_to_tensor(1 / (1 - rate), dtype=x.dtype)
            ret = math_ops.multiply(x, scale, name="Mul")
        else:
            rate = convert_to_tensor(rate)
            if rate.shape.ndims not in (None, 0):
                raise ValueError(f"Shape {rate.shape} must have rank 0")
            if rate.dtype != x.dtype:
                raise ValueError(f"`x.dtype` must be compatible with `rate.dtype`. Received: "
                                 f"x.dtype=<dtype: '{x.dtype.name}'> and "
                                 f"rate.dtype=<dtype: '{rate.dtype.name}'>")
            one = convert_to_tensor(1, dtype=x.dtype)
            ret = _math_op("RealDiv", "math.real_div", x, math_ops.subtract(one, rate, name="Sub"))
        shape = _noise_shape(x, noise_shape)
        uniform = random_ops.random_uniform(shape, dtype=x.dtype, seed=seed)
        keep = math_ops.greater_equal(uniform, rate)
        zero = convert_to_tensor(0, dtype=x.dtype)
        return math_ops.where_v2(keep, ret, zero)


def _math_op(op_type, ir_name, x, y):
    """A raw gen_math_ops binary op (named by its type, e.g. 'RealDiv')."""
    return ir_op(op_type, ir_name, None, [("x", x), ("y", y)])


def _noise_shape(x, noise_shape):
    """TF's `_get_noise_shape`: shape(x), or noise_shape with None dims taken from x."""
    if noise_shape is None:
        return array_ops.shape(x)
    if isinstance(noise_shape, Tensor):
        return noise_shape
    dims = list(noise_shape.as_list() if hasattr(noise_shape, "as_list") else noise_shape)
    known = x.shape.as_list() if x.shape.ndims is not None else None
    if known is not None and len(known) == len(dims):
        dims = [k if d is None and k is not None else d for d, k in zip(dims, known)]
    return [int(d) for d in dims]


# Cross entropies ----------------------------------------------------------------------------------------
def _ensure_xent_args(name, labels, logits):
    if labels is None or logits is None:
        raise ValueError(f"Both `labels` and `logits` must be provided for {name}Received: "
                         f"labels={labels} and logits={logits}")


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    """`tf.nn.softmax_cross_entropy_with_logits_v2`: -sum(labels * log_softmax(logits), axis)
    (TF's reshapes around the kernel are folded into the one SoftmaxCrossEntropyWithLogits op)."""
    axis = _deprecated_lookup("axis", axis, "dim", dim)
    axis = -1 if axis is None else int(axis)
    with op_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        return _float_op("SoftmaxCrossEntropyWithLogits", "nn.softmax_cross_entropy_with_logits",
                         scope, [("features", logits), ("labels", labels)], order=(1, 0), axis=axis)


def softmax_cross_entropy_with_logits(labels=None, logits=None, dim=-1, name=None, axis=None):
    """`tf.nn.softmax_cross_entropy_with_logits` (TF1's, deprecated): labels pass through a
    StopGradient. (TF 2.21's compat.v1 takes labels and logits positionally too: its old
    `_sentinel` argument is gone.)"""
    _ensure_xent_args("softmax_cross_entropy_with_logits", labels, logits)
    axis = axis if axis is not None else dim   # TF raises when both are given (dim has a default)
    with op_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, axis=axis, name=scope)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """`tf.nn.sparse_softmax_cross_entropy_with_logits`: -log_softmax(logits)[labels] for
    int32/int64 class labels of rank(logits) - 1."""
    _ensure_xent_args("sparse_softmax_cross_entropy_with_logits", labels, logits)
    # As TF: the scope is `name`, and the op inside it is `name` again (xentropy/xentropy).
    with op_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]):
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        ls, gs = labels.shape, logits.shape
        if gs.ndims == 0:
            raise ValueError(f"`logits` cannot be a scalar. Received logits={logits}`")
        if gs.ndims is not None and ls.ndims is not None and ls.ndims != gs.ndims - 1:
            raise ValueError(f"`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
                             f"labels.shape={ls} of rank {ls.ndims} and logits.shape={gs} of rank "
                             f"{gs.ndims}")
        if ls.is_fully_defined() and gs.ndims is not None and gs[:-1].is_fully_defined() \
                and ls != gs[:-1]:
            raise ValueError(f"`labels.shape` must equal `logits.shape` except for the last "
                             f"dimension. Received: labels.shape={ls} and logits.shape={gs}")
        if labels.dtype not in (dt.int32, dt.int64):
            raise TypeError(f"Value passed to parameter 'labels' has DataType {labels.dtype.name} "
                            "not in list of allowed values: int32, int64")
        _check_float("SparseSoftmaxCrossEntropyWithLogits", "features", logits)
        array_ops.shape(labels, name="Shape")

        def lower(ctx, op, features, labels_value):
            return ctx.b.op("nn.sparse_softmax_cross_entropy_with_logits", labels_value, features)

        return outputs(make_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], lower,
                               name=name, attrs={"T": logits.dtype, "Tlabels": labels.dtype}))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """`tf.nn.sigmoid_cross_entropy_with_logits`: max(x, 0) - x * z + log1p(exp(-|x|)), one
    op named like TF's result (logistic_loss)."""
    _ensure_xent_args("sigmoid_cross_entropy_with_logits", labels, logits)
    with op_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        try:
            labels.shape.assert_is_compatible_with(logits.shape)
        except ValueError:
            raise ValueError(f"`logits` and `labels` must have the same shape, received "
                             f"({logits.shape} vs {labels.shape}).") from None
        return _float_op("LogisticLoss", "nn.sigmoid_cross_entropy_with_logits", scope,
                         [("labels", labels), ("logits", logits)])


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None,
                                       targets=None):
    """`tf.nn.weighted_cross_entropy_with_logits` (`targets` is TF1's name for labels): sigmoid
    cross entropy with the positive term weighted by `pos_weight`, one op named logistic_loss."""
    labels = _deprecated_lookup("labels", labels, "targets", targets)
    with op_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        try:
            labels.shape.assert_is_compatible_with(logits.shape)
        except ValueError:
            raise ValueError(f"`logits` and `labels` must have the same shape, received "
                             f"({logits.shape} vs {labels.shape}).") from None
        return _float_op("WeightedLogisticLoss", "nn.weighted_cross_entropy_with_logits", scope,
                         [("labels", labels), ("logits", logits), ("pos_weight", pos_weight)])


# Embeddings ---------------------------------------------------------------------------------------------
def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):
    """`tf.nn.embedding_lookup` for one (unpartitioned) params tensor: rows of `params` at
    `ids` (GatherV2 named `embedding_lookup`, then its Identity)."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError("tfc supports embedding_lookup on a single params tensor, not "
                             f"{len(params)} partitions")
        params = params[0]
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}. Must be one of "
                         "either `mod` or `div`.")
    if max_norm is not None:
        raise ValueError("tfc's embedding_lookup does not support max_norm")
    with op_scope(name, "embedding_lookup", [params, ids]) as scope:
        ids = convert_to_tensor(ids, name="ids")
        result = array_ops.gather(params, ids, name=scope)
        return array_ops.identity(result)


__all__ = [
    "relu", "relu6", "elu", "selu", "softplus", "softsign", "leaky_relu", "crelu", "sigmoid", "tanh",
    "softmax", "log_softmax", "bias_add",
    "conv2d", "depthwise_conv2d", "depthwise_conv2d_native", "separable_conv2d",
    "avg_pool", "max_pool", "max_pool_with_argmax",
    "l2_loss", "l2_normalize", "moments", "batch_normalization", "fused_batch_norm",
    "dropout",
    "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
    "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
    "embedding_lookup",
]
