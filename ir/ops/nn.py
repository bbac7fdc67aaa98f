"""Neural-network ops: activations, softmax, bias add, convolutions, pooling, losses, batch norm
and dropout, with the semantics of TensorFlow 1.x (tf.compat.v1.nn).

Layout conventions shared by the windowed ops (convolutions and pooling):
- `data_format` "NHWC" (TF's default) or "NCHW"; the reference code transposes NCHW to NHWC,
  computes, and transposes back.
- `strides`, `dilations` and `ksize` have two elements [h, w] (TF's 4-element form has 1s for
  batch and channel, which the front end drops).
- Filters are always HWIO: [kh, kw, in_channels, out_channels] (TF's layout for both formats).
- SAME padding follows TF: out = ceil(in / stride), and the total padding
  max((out - 1) * stride + effective_kernel - in, 0) is split with the odd element at the end.

Float16 inputs are computed in float32 and rounded once at the end (numpy has no fast float16
matmul, and accumulating in half precision would only lose accuracy).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import dtypes as dt
from ..opdef import (CONTRACTION, ELEMENTWISE, BROADCAST, RANDOM, REDUCTION, STATEFUL, Attr,
                     ComputeError, InferenceError, Operand, broadcast_shapes, define,
                     infer_same, normalize_axis, same_dtype, shape_str)
from ..types import TensorType

FLOATS = (dt.float16, dt.float32, dt.float64)
RELU_TYPES = FLOATS + dt.INTS
DATA_FORMATS = ("NHWC", "NCHW")


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype to compute in: float32 for float16, else the dtype itself."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _dims_str(shape) -> str:
    """A shape the way TF's kernels print it: [2,4]."""
    return shape_str(shape).replace(" ", "")


# Activations ---------------------------------------------------------------------------------
def _relu(x):
    # TF's Relu is Eigen's cwiseMax(x, 0) = (x < 0 ? 0 : x): NaN and -0.0 pass through.
    return np.where(x < 0, x.dtype.type(0), x)


def _relu6(x):
    y = _relu(x)
    return np.where(y > 6, x.dtype.type(6), y)


def _elu(x):
    # TF computes exp(x) - 1, not expm1 (tiny negative x give 0, as in TF).
    one = x.dtype.type(1)
    return np.where(x < 0, np.exp(x) - one, x)


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


def _selu(x):
    t = x.dtype.type
    return np.where(x < 0, t(_SELU_SCALE * _SELU_ALPHA) * (np.exp(x) - t(1)), t(_SELU_SCALE) * x)


def _softplus(x):
    # TF's functor: x where exp(x) would overflow and softplus(x) == x to machine precision,
    # exp(x) where it would underflow, log1p(exp(x)) in between.
    t = x.dtype.type
    threshold = np.log(t(np.finfo(x.dtype).eps)) + t(2)
    return np.where(x > -threshold, x, np.where(x < threshold, np.exp(x), np.log1p(np.exp(x))))


def _softsign(x):
    return x / (x.dtype.type(1) + np.abs(x))


def _leaky_relu(x, alpha=0.2):
    # TF's `alpha` attribute is a float32, cast to x's dtype (so f64 sees 0.2000000029802...).
    return np.where(x > 0, x, x * x.dtype.type(np.float32(alpha)))


def _activation(name, fn, dtypes=FLOATS, attrs=(), doc=""):
    define(f"nn.{name}", operands=[Operand("features", dtypes)], attrs=attrs, infer=infer_same,
           compute=fn, traits={ELEMENTWISE}, doc=doc)


_activation("relu", _relu, RELU_TYPES, doc="max(x, 0) (TF Relu); NaN stays NaN.")
_activation("relu6", _relu6, doc="min(max(x, 0), 6) (TF Relu6).")
_activation("elu", _elu, doc="x if x >= 0 else exp(x) - 1 (TF Elu).")
_activation("selu", _selu, doc="scale * (x if x >= 0 else alpha * (exp(x) - 1)) (TF Selu).")
_activation("softplus", _softplus, doc="log(1 + exp(x)), computed without overflow (TF Softplus).")
_activation("softsign", _softsign, doc="x / (1 + |x|) (TF Softsign).")
_activation("leaky_relu", _leaky_relu, attrs=[Attr("alpha", "float", default=0.2)],
            doc="x if x > 0 else alpha * x (TF LeakyRelu).")


# Softmax -------------------------------------------------------------------------------------
def _infer_softmax(types, attrs):
    t = types[0]
    if t.shape is not None:
        if t.rank == 0:
            raise InferenceError("logits must have at least 1 dimension, got a scalar")
        normalize_axis(attrs["axis"], t.rank)
    return [t]


def _shifted_and_log_sum_exp(logits, axis):
    """(logits - max, log(sum(exp(logits - max)))) along `axis`: the stable softmax pieces."""
    shifted = logits - np.max(logits, axis=axis, keepdims=True, initial=-np.inf)
    return shifted, np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax(logits, axis=-1):
    x = logits.astype(_work_dtype(logits.dtype))
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(shifted)
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(logits.dtype)


def _log_softmax(logits, axis=-1):
    shifted, lse = _shifted_and_log_sum_exp(logits.astype(_work_dtype(logits.dtype)), axis)
    return (shifted - lse).astype(logits.dtype)


for _name, _fn, _tf in [("softmax", _softmax, "Softmax"), ("log_softmax", _log_softmax, "LogSoftmax")]:
    define(f"nn.{_name}", operands=[Operand("logits", FLOATS)], attrs=[Attr("axis", "int", default=-1)],
           infer=_infer_softmax, compute=_fn,
           doc=f"{_name} along `axis`, shifted by the max for stability (TF {_tf}, tf.nn.{_name}).")


# Bias add ------------------------------------------------------------------------------------
def _channel_axis(data_format: str, rank: int) -> int:
    return 1 if data_format == "NCHW" else rank - 1


def _infer_bias_add(types, attrs):
    value, bias = types
    dtype = same_dtype(types)
    fmt = attrs["data_format"]
    if bias.shape is not None and bias.rank != 1:
        raise InferenceError(f"bias must be 1-D, got shape {shape_str(bias.shape)}")
    if value.shape is None:
        return [value]
    min_rank = 3 if fmt == "NCHW" else 2
    if value.rank < min_rank:
        raise InferenceError(f"value must be at least rank {min_rank} for {fmt}, "
                             f"got shape {shape_str(value.shape)}")
    axis = _channel_axis(fmt, value.rank)
    channels = value.shape[axis]
    length = None if bias.shape is None else bias.shape[0]
    if channels is not None and length is not None and channels != length:
        where = "last" if fmt == "NHWC" else "channel (second, NCHW)"
        raise InferenceError(f"Must provide as many biases as the {where} dimension of the input "
                             f"tensor: {_dims_str(bias.shape)} vs. {_dims_str(value.shape)}")
    shape = list(value.shape)
    shape[axis] = channels if channels is not None else length
    return [TensorType(tuple(shape), dtype)]


def _bias_add(value, bias, data_format="NHWC"):
    shape = [1] * value.ndim
    shape[_channel_axis(data_format, value.ndim)] = bias.shape[0]
    return value + bias.reshape(shape)


define("nn.bias_add", operands=[Operand("value", FLOATS), Operand("bias", FLOATS)],
       attrs=[Attr("data_format", "str", default="NHWC", choices=DATA_FORMATS)],
       infer=_infer_bias_add, compute=_bias_add,
       doc="value + bias along the channel dimension (last for NHWC, 1 for NCHW) (TF BiasAdd).")


# Windowed ops: shared geometry ---------------------------------------------------------------
def _pair(attrs, name, what):
    """A 2-element [h, w] attribute, each at least 1."""
    value = attrs[name]
    if len(value) != 2:
        raise InferenceError(f"{name} must have 2 elements [{what}_h, {what}_w], got {list(value)}")
    if any(v < 1 for v in value):
        label = {"strides": "Stride must be > 0", "dilations": "Dilation rate must be >= 1",
                 "ksize": "Sliding window ksize must be >= 1"}[name]
        raise InferenceError(f"{label}, but got {list(value)}")
    return value


def _explicit_pads(attrs):
    """[(top, bottom), (left, right)] from explicit_paddings, or None unless padding is EXPLICIT."""
    pads = attrs.get("explicit_paddings", ())
    if attrs["padding"] != "EXPLICIT":
        if pads:
            raise InferenceError("explicit_paddings attribute must be empty if the padding "
                                 "attribute is not EXPLICIT")
        return None
    if len(pads) != 4:
        raise InferenceError("explicit_paddings attribute must contain 4 values [top, bottom, left, "
                             f"right], but got: {len(pads)}")
    if any(p < 0 for p in pads):
        raise InferenceError(f"All elements of explicit_paddings must be nonnegative, got {list(pads)}")
    return [(pads[0], pads[1]), (pads[2], pads[3])]


def _window_dim(size, kernel, stride, dilation, padding, explicit=None, error=InferenceError):
    """(output size, pad before, pad after) of one spatial dim, as TF computes it. `size` or
    `kernel` may be None (unknown): the output is then None unless SAME makes it known."""
    if size is None:
        return None, None, None
    if padding == "SAME":
        out = -(-size // stride)
        if kernel is None:
            return out, None, None
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        return out, total // 2, total - total // 2
    if kernel is None:
        return None, None, None
    before, after = explicit if explicit is not None else (0, 0)
    padded, effective = size + before + after, (kernel - 1) * dilation + 1
    if padded < effective:
        raise error(f"Negative dimension size caused by subtracting {effective} from {padded}")
    return (padded - effective) // stride + 1, before, after


def _nhwc_dims(t: TensorType, data_format: str, what: str):
    """(n, h, w, c) of a rank-4 operand (all None for unknown rank)."""
    if t.shape is None:
        return (None,) * 4
    if t.rank != 4:
        raise InferenceError(f"{what} must be rank 4, got shape {shape_str(t.shape)}")
    n, a, b, c = t.shape
    return (n, b, c, a) if data_format == "NCHW" else (n, a, b, c)


def _from_nhwc(dims, data_format):
    n, h, w, c = dims
    return (n, c, h, w) if data_format == "NCHW" else (n, h, w, c)


def _to_nhwc(x, data_format):
    return x.transpose(0, 2, 3, 1) if data_format == "NCHW" else x


def _from_nhwc_array(x, data_format):
    return x.transpose(0, 3, 1, 2) if data_format == "NCHW" else x


def _output_geometry(h, w, kernel, strides, dilations, padding, explicit, error=InferenceError):
    """((out_h, pad_h), (out_w, pad_w)) with pad = (before, after)."""
    explicit = explicit or [None, None]
    rows = _window_dim(h, kernel[0], strides[0], dilations[0], padding, explicit[0], error)
    cols = _window_dim(w, kernel[1], strides[1], dilations[1], padding, explicit[1], error)
    return (rows[0], rows[1:]), (cols[0], cols[1:])


def _windows(x, kernel, strides, dilations, pads, out_hw, fill):
    """The windows of NHWC `x` as a view (N, out_h, out_w, C, kh, kw): window (i, j) starts at
    padded row i * stride_h and takes every dilation_h-th row. Padding uses `fill`."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    if any(pads[0] + pads[1]):
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    effective = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    view = sliding_window_view(x, effective, axis=(1, 2))
    return view[:, ::sh, ::sw, :, ::dh, ::dw][:, :out_hw[0], :out_hw[1]]


def _batch_chunks(n, per_item, budget=1 << 24):
    """Slices over the batch so one chunk's im2col copy stays near `budget` elements."""
    step = max(1, budget // max(per_item, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# Convolutions --------------------------------------------------------------------------------
CONV_ATTRS = [
    Attr("strides", "ints"),
    Attr("padding", "str", choices=("SAME", "VALID", "EXPLICIT")),
    Attr("explicit_paddings", "ints", default=()),
    Attr("dilations", "ints", default=(1, 1)),
    Attr("data_format", "str", default="NHWC", choices=DATA_FORMATS),
]


def _infer_conv(types, attrs, depthwise=False):
    x, f = types
    dtype = same_dtype(types)
    fmt = attrs["data_format"]
    strides = _pair(attrs, "strides", "stride")
    dilations = _pair(attrs, "dilations", "dilation")
    explicit = _explicit_pads(attrs)
    n, h, w, c = _nhwc_dims(x, fmt, "input")
    if f.shape is not None and f.rank != 4:
        raise InferenceError(f"filter must be rank 4 [kh, kw, in_c, {'multiplier' if depthwise else 'out_c'}], "
                             f"got shape {shape_str(f.shape)}")
    kh, kw, f_in, f_out = f.shape if f.shape is not None else (None,) * 4
    if f_in == 0 and not depthwise:
        raise InferenceError("Depth of filter must not be 0")
    if c is not None and f_in is not None and c != f_in:
        if depthwise:
            raise InferenceError(f"input and filter must have the same depth: {c} vs {f_in}")
        if f_in and c % f_in == 0:
            raise InferenceError(f"Depth of input ({c}) differs from input depth of filter ({f_in}); "
                                 "grouped convolution is not supported")
        raise InferenceError(f"Depth of input ({c}) is not a multiple of input depth of filter ({f_in})")
    (oh, _), (ow, _) = _output_geometry(h, w, (kh, kw), strides, dilations, attrs["padding"], explicit)
    if depthwise:
        depth = c if c is not None else f_in
        out_c = None if depth is None or f_out is None else depth * f_out
    else:
        out_c = f_out
    return [TensorType(_from_nhwc((n, oh, ow, out_c), fmt), dtype)]


def _infer_depthwise_conv(types, attrs):
    return _infer_conv(types, attrs, depthwise=True)


def _conv_setup(x, f, attrs):
    """Input as NHWC in the work dtype, the window geometry, and the windows' view maker."""
    fmt = attrs.get("data_format", "NHWC")
    xs = _to_nhwc(x, fmt).astype(_work_dtype(x.dtype), copy=False)
    kernel = f.shape[:2]
    strides, dilations = attrs["strides"], attrs.get("dilations", (1, 1))
    (oh, ph), (ow, pw) = _output_geometry(xs.shape[1], xs.shape[2], kernel, strides, dilations,
                                          attrs["padding"], _explicit_pads(attrs), error=ComputeError)
    return xs, (oh, ow), lambda chunk: _windows(chunk, kernel, strides, dilations, (ph, pw), (oh, ow), 0)


def _conv2d(x, f, **attrs):
    # im2col: a strided view of every window, then one matrix product per batch chunk.
    xs, (oh, ow), windows = _conv_setup(x, f, attrs)
    n, kh, kw, c_in, c_out = xs.shape[0], f.shape[0], f.shape[1], f.shape[2], f.shape[3]
    fw = f.astype(xs.dtype, copy=False)
    out = np.zeros((n, oh, ow, c_out), xs.dtype)
    if out.size:
        for chunk in _batch_chunks(n, oh * ow * kh * kw * c_in):
            # windows: (N, oh, ow, C, kh, kw); filter: (kh, kw, C, O)
            out[chunk] = np.tensordot(windows(xs[chunk]), fw, axes=([3, 4, 5], [2, 0, 1]))
    return _from_nhwc_array(out, attrs.get("data_format", "NHWC")).astype(x.dtype)


def _depthwise_conv2d(x, f, **attrs):
    # Each input channel c is convolved with its own filters f[:, :, c, :]; output channel
    # c * multiplier + m (TF's order).
    xs, (oh, ow), windows = _conv_setup(x, f, attrs)
    n, kh, kw, c, mult = xs.shape[0], f.shape[0], f.shape[1], f.shape[2], f.shape[3]
    fw = f.astype(xs.dtype, copy=False).reshape(kh * kw, c, mult).transpose(1, 0, 2)  # (C, K, M)
    out = np.zeros((n, oh, ow, c, mult), xs.dtype)
    if out.size:
        for chunk in _batch_chunks(n, oh * ow * kh * kw * c):
            patches = windows(xs[chunk])                       # (N', oh, ow, C, kh, kw)
            count = patches.shape[0] * oh * ow
            cols = patches.reshape(count, c, kh * kw).transpose(1, 0, 2)  # (C, P, K)
            out[chunk] = np.matmul(cols, fw).transpose(1, 0, 2).reshape(-1, oh, ow, c, mult)
    out = out.reshape(n, oh, ow, c * mult)
    return _from_nhwc_array(out, attrs.get("data_format", "NHWC")).astype(x.dtype)


define("nn.conv2d", operands=[Operand("input", FLOATS), Operand("filter", FLOATS)],
       attrs=CONV_ATTRS, infer=_infer_conv, compute=_conv2d, traits={CONTRACTION},
       doc="2-D convolution (cross-correlation) with an HWIO filter, strides/dilations [h, w], "
           "SAME/VALID/EXPLICIT padding (TF Conv2D, tf.nn.conv2d).")

define("nn.depthwise_conv2d", operands=[Operand("input", FLOATS), Operand("filter", FLOATS)],
       attrs=CONV_ATTRS, infer=_infer_depthwise_conv,
       compute=_depthwise_conv2d, traits={CONTRACTION},
       doc="Depthwise 2-D convolution, filter [kh, kw, in_c, multiplier], output channel "
           "c * multiplier + m (TF DepthwiseConv2dNative, tf.nn.depthwise_conv2d).")


# Pooling -------------------------------------------------------------------------------------
def _pool_attrs(formats=DATA_FORMATS):
    attrs = [Attr("ksize", "ints"), Attr("strides", "ints"),
             Attr("padding", "str", choices=("SAME", "VALID"))]
    if len(formats) > 1:
        attrs.append(Attr("data_format", "str", default="NHWC", choices=formats))
    return attrs


def _pool_geometry(types, attrs):
    """(dtype, (n, out_h, out_w, c)) of a pooling op."""
    x = types[0]
    fmt = attrs.get("data_format", "NHWC")
    ksize = _pair(attrs, "ksize", "k")
    strides = _pair(attrs, "strides", "stride")
    n, h, w, c = _nhwc_dims(x, fmt, "input")
    (oh, _), (ow, _) = _output_geometry(h, w, ksize, strides, (1, 1), attrs["padding"], None)
    return x.dtype, (n, oh, ow, c)


def _infer_pool(types, attrs):
    dtype, dims = _pool_geometry(types, attrs)
    return [TensorType(_from_nhwc(dims, attrs["data_format"]), dtype)]


def _pool_windows(xs, attrs, fill):
    """Windows (N, oh, ow, C, kh, kw) of NHWC `xs`, padded with `fill`, and the padding."""
    ksize, strides = attrs["ksize"], attrs["strides"]
    (oh, ph), (ow, pw) = _output_geometry(xs.shape[1], xs.shape[2], ksize, strides, (1, 1),
                                          attrs["padding"], None, error=ComputeError)
    if 0 in (xs.shape[0], oh, ow, xs.shape[3]):
        return None, (oh, ow), (ph, pw)
    return _windows(xs, ksize, strides, (1, 1), (ph, pw), (oh, ow), fill), (oh, ow), (ph, pw)


def _max_pool(x, ksize, strides, padding, data_format="NHWC"):
    # TF's MaxPool starts from the dtype's lowest finite value and keeps v when v > max: NaN
    # never wins and an all -inf (or all NaN) window gives `lowest`. Padding never wins either.
    attrs = dict(ksize=ksize, strides=strides, padding=padding)
    lowest = np.finfo(x.dtype).min
    xs = np.fmax(_to_nhwc(x, data_format), x.dtype.type(lowest))
    win, (oh, ow), _ = _pool_windows(xs, attrs, lowest)
    if win is None:
        out = np.zeros((xs.shape[0], oh, ow, xs.shape[3]), x.dtype)
    else:
        out = win.max(axis=(4, 5))
    return _from_nhwc_array(out, data_format)


def _avg_pool(x, ksize, strides, padding, data_format="NHWC"):
    # SAME: each window's sum is divided by its number of real (non-padding) elements, as TF.
    attrs = dict(ksize=ksize, strides=strides, padding=padding)
    xs = _to_nhwc(x, data_format).astype(_work_dtype(x.dtype))
    win, (oh, ow), pads = _pool_windows(xs, attrs, 0)
    if win is None:
        return _from_nhwc_array(np.zeros((xs.shape[0], oh, ow, xs.shape[3]), x.dtype), data_format)
    ones = np.ones((1, xs.shape[1], xs.shape[2], 1), xs.dtype)
    counts = _windows(ones, ksize, strides, (1, 1), pads, (oh, ow), 0).sum(axis=(4, 5))
    out = win.sum(axis=(4, 5)) / counts
    return _from_nhwc_array(out.astype(x.dtype), data_format)


define("nn.max_pool", operands=[Operand("input", FLOATS)], attrs=_pool_attrs(),
       infer=_infer_pool, compute=_max_pool,
       doc="Max over [kh, kw] windows; NaN is ignored and the result is at least the dtype's "
           "lowest finite value, as TF's CPU kernel (TF MaxPool, tf.nn.max_pool).")

define("nn.avg_pool", operands=[Operand("input", FLOATS)], attrs=_pool_attrs(),
       infer=_infer_pool, compute=_avg_pool,
       doc="Mean over [kh, kw] windows; SAME divides by the count of real elements "
           "(TF AvgPool, tf.nn.avg_pool).")


def _infer_max_pool_with_argmax(types, attrs):
    dtype, dims = _pool_geometry(types, attrs)
    if attrs["output_dtype"] not in (dt.int32, dt.int64):
        raise InferenceError(f"output_dtype must be int32 or int64, got {attrs['output_dtype'].name}")
    return [TensorType(dims, dtype), TensorType(dims, attrs["output_dtype"])]


def _max_pool_with_argmax(x, ksize, strides, padding, output_dtype=dt.int64,
                          include_batch_in_index=False):
    # TF's CPU kernel visits each window's real elements in row-major order, takes the first
    # one, then replaces it by any later v with max < v. So ties go to the first element, and
    # NaN wins only as the first element of its window (later NaNs never compare greater).
    attrs = dict(ksize=ksize, strides=strides, padding=padding)
    n, h, w, c = x.shape
    index_dtype = output_dtype.numpy
    win, (oh, ow), pads = _pool_windows(x, attrs, np.nan)
    if win is None:
        shape = (n, oh, ow, c)
        return np.zeros(shape, x.dtype), np.zeros(shape, index_dtype)
    kh, kw = ksize
    win = win.reshape(n, oh, ow, c, kh * kw)
    # Which window slots are real input elements (not padding): (oh, ow, kh * kw).
    real = _windows(np.ones((1, h, w, 1), bool), ksize, strides, (1, 1), pads, (oh, ow), False)
    real = real.reshape(oh, ow, kh * kw)[None, :, :, None, :]
    first = np.argmax(real, axis=-1)                     # first real slot of each window
    first_value = np.take_along_axis(win, first[..., None], axis=-1)[..., 0]
    candidates = np.where(np.isnan(win) | ~real, -np.inf, win)
    slot = np.argmax(candidates, axis=-1)                 # first occurrence of the max
    use_first = np.isnan(first_value) | (np.max(candidates, axis=-1) == -np.inf)
    slot = np.where(use_first, first, slot)
    # Window slot -> input row/column -> TF's flattened index.
    rows = np.arange(oh)[None, :, None, None] * strides[0] + slot // kw - pads[0][0]
    cols = np.arange(ow)[None, None, :, None] * strides[1] + slot % kw - pads[1][0]
    channels = np.arange(c)[None, None, None, :]
    index = (rows * w + cols) * c + channels
    if include_batch_in_index:
        index = index + np.arange(n)[:, None, None, None] * (h * w * c)
    output = np.take_along_axis(win, slot[..., None], axis=-1)[..., 0]
    return output, index.astype(index_dtype)


define("nn.max_pool_with_argmax", operands=[Operand("input", FLOATS)],
       attrs=_pool_attrs(formats=("NHWC",)) + [
           Attr("output_dtype", "dtype", default=dt.int64),
           Attr("include_batch_in_index", "bool", default=False)],
       infer=_infer_max_pool_with_argmax, compute=_max_pool_with_argmax,
       doc="NHWC max pooling that also returns the flattened input index of each max, "
           "((b*H + y)*W + x)*C + c or without b (TF MaxPoolWithArgmax).")


# Losses --------------------------------------------------------------------------------------
def _l2_loss(t):
    x = t.astype(_work_dtype(t.dtype))
    return np.asarray(np.sum(np.square(x) * x.dtype.type(0.5)), dtype=t.dtype)


define("nn.l2_loss", operands=[Operand("t", FLOATS)],
       infer=lambda types, attrs: [TensorType((), types[0].dtype)], compute=_l2_loss,
       traits={REDUCTION}, doc="sum(t ** 2) / 2 as a scalar (TF L2Loss, tf.nn.l2_loss).")


def _infer_softmax_xent(types, attrs):
    labels, logits = types
    dtype = same_dtype(types)
    if labels.shape is None or logits.shape is None:
        return [TensorType(None, dtype)]
    try:
        if labels.rank != logits.rank:
            raise InferenceError("rank")
        shape = broadcast_shapes(logits.shape, labels.shape)
    except InferenceError:
        raise InferenceError(f"logits and labels must be broadcastable: logits_size="
                             f"{_dims_str(logits.shape)} labels_size={_dims_str(labels.shape)}") from None
    if not shape:
        raise InferenceError("logits must have at least 1 dimension, got a scalar")
    axis = normalize_axis(attrs["axis"], len(shape))
    return [TensorType(shape[:axis] + shape[axis + 1:], dtype)]


def _softmax_xent(labels, logits, axis=-1):
    # TF's kernel: sum(labels * (log(sum(exp(shifted))) - shifted)); a zero label times an
    # infinite term gives NaN there, as in TF.
    work = _work_dtype(logits.dtype)
    z, x = np.broadcast_arrays(labels.astype(work), logits.astype(work))
    shifted, lse = _shifted_and_log_sum_exp(x, axis)
    return np.sum(z * (lse - shifted), axis=axis).astype(logits.dtype)


define("nn.softmax_cross_entropy_with_logits",
       operands=[Operand("labels", FLOATS), Operand("logits", FLOATS)],
       attrs=[Attr("axis", "int", default=-1)],
       infer=_infer_softmax_xent, compute=_softmax_xent,
       doc="-sum(labels * log_softmax(logits)) along `axis`; labels broadcast against logits "
           "(TF SoftmaxCrossEntropyWithLogits, tf.nn.softmax_cross_entropy_with_logits).")


def _infer_sparse_xent(types, attrs):
    labels, logits = types
    if logits.shape is not None and logits.rank == 0:
        raise InferenceError("logits must have at least 1 dimension, got a scalar")
    if logits.shape is None:
        return [TensorType(labels.shape, logits.dtype)]
    batch = logits.shape[:-1]
    if labels.shape is None:
        return [TensorType(batch, logits.dtype)]
    if labels.rank != logits.rank - 1:
        raise InferenceError(f"rank of labels (received {labels.rank}) should equal rank of logits "
                             f"minus 1 (received {logits.rank})")
    if any(a is not None and b is not None and a != b for a, b in zip(labels.shape, batch)):
        raise InferenceError(f"labels.shape must equal logits.shape except for the last dimension. "
                             f"Received: labels.shape={shape_str(labels.shape)} and "
                             f"logits.shape={shape_str(logits.shape)}")
    shape = tuple(a if a is not None else b for a, b in zip(labels.shape, batch))
    return [TensorType(shape, logits.dtype)]


def _sparse_softmax_xent(labels, logits):
    classes = logits.shape[-1]
    flat_labels = labels.reshape(-1)
    if classes == 0:
        raise ComputeError(f"Must have at least one class, but got logits shape "
                           f"[{flat_labels.size},0]")
    if flat_labels.size and (flat_labels.min() < 0 or flat_labels.max() >= classes):
        # TF reports the smallest label if one is negative, else the largest.
        bad = flat_labels.min() if flat_labels.min() < 0 else flat_labels.max()
        values = " ".join(str(v) for v in flat_labels)
        raise ComputeError(f"Received a label value of {bad} which is outside the valid range of "
                           f"[0, {classes}).  Label values: {values}")
    work = logits.astype(_work_dtype(logits.dtype))
    shifted, lse = _shifted_and_log_sum_exp(work, -1)
    picked = np.take_along_axis(shifted, labels[..., None].astype(np.intp), axis=-1)
    return (lse - picked)[..., 0].astype(logits.dtype)


define("nn.sparse_softmax_cross_entropy_with_logits",
       operands=[Operand("labels", (dt.int32, dt.int64)), Operand("logits", FLOATS)],
       infer=_infer_sparse_xent, compute=_sparse_softmax_xent,
       doc="-log_softmax(logits)[label] per example; labels outside [0, classes) are an error "
           "(TF SparseSoftmaxCrossEntropyWithLogits).")


def _check_same_shape(labels: TensorType, logits: TensorType):
    if labels.shape is None or logits.shape is None:
        return
    if labels.rank != logits.rank or any(a is not None and b is not None and a != b
                                         for a, b in zip(labels.shape, logits.shape)):
        raise InferenceError(f"`logits` and `labels` must have the same shape, received "
                             f"({shape_str(logits.shape)} vs {shape_str(labels.shape)})")


def _infer_sigmoid_xent(types, attrs):
    labels, logits = types
    dtype = same_dtype(types)
    _check_same_shape(labels, logits)
    if logits.shape is None:
        return [TensorType(labels.shape, dtype)]
    if labels.shape is None:
        return [logits]
    return [TensorType(tuple(a if a is not None else b for a, b in zip(logits.shape, labels.shape)), dtype)]


def _sigmoid_xent(labels, logits):
    # tf.nn.sigmoid_cross_entropy_with_logits: max(x, 0) - x * z + log1p(exp(-|x|)).
    zero = logits.dtype.type(0)
    relu_logits = np.where(logits >= 0, logits, zero)
    neg_abs_logits = np.where(logits >= 0, -logits, logits)
    return relu_logits - logits * labels + np.log1p(np.exp(neg_abs_logits))


define("nn.sigmoid_cross_entropy_with_logits",
       operands=[Operand("labels", FLOATS), Operand("logits", FLOATS)],
       infer=_infer_sigmoid_xent, compute=_sigmoid_xent, traits={ELEMENTWISE},
       doc="max(x, 0) - x * z + log(1 + exp(-|x|)), stable for large |x| "
           "(tf.nn.sigmoid_cross_entropy_with_logits).")


def _infer_weighted_xent(types, attrs):
    labels, logits, pos_weight = types
    dtype = same_dtype(types)
    (same,) = _infer_sigmoid_xent(types[:2], attrs)
    return [TensorType(broadcast_shapes(same.shape, pos_weight.shape), dtype)]


def _weighted_xent(labels, logits, pos_weight):
    # tf.nn.weighted_cross_entropy_with_logits, term by term.
    one = logits.dtype.type(1)
    log_weight = one + (pos_weight - one) * labels
    return (one - labels) * logits + log_weight * (np.log1p(np.exp(-np.abs(logits))) + _relu(-logits))


define("nn.weighted_cross_entropy_with_logits",
       operands=[Operand("labels", FLOATS), Operand("logits", FLOATS), Operand("pos_weight", FLOATS)],
       infer=_infer_weighted_xent, compute=_weighted_xent, traits={ELEMENTWISE, BROADCAST},
       doc="Sigmoid cross entropy with positives weighted by pos_weight (broadcast), "
           "(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + max(-x, 0)) "
           "(tf.nn.weighted_cross_entropy_with_logits).")


# Batch normalization -------------------------------------------------------------------------
_BN_PARAMS = ("scale", "offset", "mean", "variance")


def _infer_fused_batch_norm(types, attrs):
    x, params = types[0], types[1:]
    fmt = attrs["data_format"]
    n, h, w, channels = _nhwc_dims(x, fmt, "x")
    param_dtype = same_dtype(params)
    # TF keeps the parameters in float32 when x is float16 (FusedBatchNormV2/V3's U).
    allowed = (dt.float16, dt.float32) if x.dtype == dt.float16 else (x.dtype,)
    if param_dtype not in allowed:
        raise InferenceError(f"scale, offset, mean and variance must be "
                             f"{' or '.join(d.name for d in allowed)} for x of dtype {x.dtype.name}, "
                             f"got {param_dtype.name}")
    for name, t in zip(_BN_PARAMS, params):
        if t.shape is None:
            continue
        if t.rank != 1:
            raise InferenceError(f"{name} must be 1-dimensional, got shape {shape_str(t.shape)}")
        if channels is not None and t.shape[0] is not None and t.shape[0] != channels:
            raise InferenceError(f"{name} must have the same number of elements as the channels "
                                 f"of x, got {t.shape[0]} and {channels}")
        channels = channels if channels is not None else t.shape[0]
    if x.shape is None:
        return [x]
    return [TensorType(_from_nhwc((n, h, w, channels), fmt), x.dtype)]


def _fused_batch_norm(x, scale, offset, mean, variance, epsilon=0.001, data_format="NHWC"):
    # TF's inference-mode CPU kernel, in the parameters' dtype:
    # (x - mean) * (rsqrt(variance + epsilon) * scale) + offset, cast back to x's dtype.
    work = scale.dtype
    shape = [1, 1, 1, 1]
    shape[_channel_axis(data_format, 4)] = -1
    factor = (1 / np.sqrt(variance + work.type(epsilon))) * scale
    xw = x.astype(work)
    y = (xw - mean.reshape(shape)) * factor.reshape(shape) + offset.reshape(shape)
    return y.astype(x.dtype)


define("nn.fused_batch_norm",
       operands=[Operand("x", FLOATS)] + [Operand(n, FLOATS) for n in _BN_PARAMS],
       attrs=[Attr("epsilon", "float", default=0.001),
              Attr("data_format", "str", default="NHWC", choices=DATA_FORMATS)],
       infer=_infer_fused_batch_norm, compute=_fused_batch_norm,
       doc="Inference-mode batch norm on the channel dim: (x - mean) * rsqrt(variance + epsilon) "
           "* scale + offset (TF FusedBatchNorm/V2/V3 with is_training=false).")


# Dropout -------------------------------------------------------------------------------------
def _infer_dropout(types, attrs):
    x, counter = types
    rate = attrs["rate"]
    if not 0 <= rate < 1:
        raise InferenceError(f"rate must be a float in the range [0, 1), got {rate}")
    if counter.shape is not None and counter.rank != 0:
        raise InferenceError(f"counter must be a scalar, got shape {shape_str(counter.shape)}")
    noise = attrs.get("noise_shape")
    if noise is not None:
        if any(d < 0 for d in noise):
            raise InferenceError(f"noise_shape must not have negative dims, got {list(noise)}")
        if x.shape is not None:
            ok = len(noise) <= x.rank and all(
                n == 1 or d is None or n == d for n, d in zip(noise[::-1], x.shape[::-1]))
            if not ok:
                raise InferenceError(f"noise_shape {list(noise)} must broadcast to the shape of x "
                                     f"{shape_str(x.shape)}")
    return [x]


def _dropout(x, counter, rate, seed, seed2, noise_shape=None):
    # tf.compat.v1.nn.dropout (TF 2's _dropout): rate 0 returns x without drawing; otherwise
    # keep = uniform(noise_shape) >= rate and out = where(keep, x * (1 / (1 - rate)), 0).
    if rate == 0:
        return x.copy()
    from ..philox import uniform

    shape = x.shape if noise_shape is None else tuple(noise_shape)
    try:
        fits = np.broadcast_shapes(shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:   # only reachable when x's shape was unknown at build time
        raise ComputeError(f"noise_shape {list(shape)} must broadcast to the shape of x {list(x.shape)}")
    u = uniform(shape, x.dtype, seed, seed2, int(counter))
    scale = x.dtype.type(1 / (1 - rate))
    keep = u >= x.dtype.type(rate)
    return np.where(keep, x * scale, x.dtype.type(0))


define("nn.dropout",
       operands=[Operand("x", FLOATS), Operand("counter", (dt.int64,))],
       attrs=[Attr("rate", "float"), Attr("seed", "int"), Attr("seed2", "int"),
              Attr("noise_shape", "ints", default=None)],
       infer=_infer_dropout, compute=_dropout, traits={STATEFUL, RANDOM},
       doc="Zeroes each element (or noise_shape block) with probability `rate` and scales the rest "
           "by 1 / (1 - rate); uniforms from Philox (seed, seed2) at block `counter` "
           "(tf.compat.v1.nn.dropout).")
