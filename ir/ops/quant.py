"""Quantized ops: symmetric (no zero point) int8 / int16 quantization.

    quant.quantize(x)    {dtype: i8|i16, scale, axis?}  q = clip(rint(f32(x) * f32(1 / f64(s))), min, max); NaN -> 0
    quant.dequantize(q)  {scale, axis?, dtype: f32|f16}  f32(q) * f32(s), then cast to dtype
    quant.requantize(q)  {in_scale, out_scale, axis?, dtype: i8|i16}
                         m = f32(f64(in) / f64(out)); clip(rint(f32(q) * m), min, max)
    quant.conv2d(x, w)   NHWC x HWIO, both i8 (-> i32) or both i16 (-> i64): exact integer sums
    quant.matmul(a, b)   2-D, both i8 (-> i32) or both i16 (-> i64)

`scale` has one element (per tensor) or shape[axis] elements (per channel along `axis`, e.g.
axis=3 for an HWIO weight or an NHWC conv accumulator, axis=1 for a [K, N] matmul weight).
All float arithmetic is IEEE single precision exactly as written, so native kernels can match
the reference bit for bit. `rint` rounds half to even. The fixed-point scheme of the MLU
(`dst = round(src / 2^pos)`) is the special case scale = 2^pos.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..opdef import (CONTRACTION, ELEMENTWISE, Attr, ComputeError, InferenceError, Operand,
                     define, normalize_axis, same_dtype, shape_str)
from ..types import TensorType
from .nn import _conv_setup, _infer_conv, _pair  # noqa: F401  (shared window geometry)
from .math import _infer_matmul

QTYPES = (dt.int8, dt.int16)
ACC_INPUTS = (dt.int8, dt.int16, dt.int32, dt.int64)
FLOAT_INPUTS = (dt.float16, dt.float32, dt.float64)
ACCUMULATOR = {dt.int8: dt.int32, dt.int16: dt.int64}


def _check_scales(scale, name="scale"):
    if len(scale) == 0:
        raise InferenceError(f"attribute '{name}' must have at least 1 element")
    for s in scale:
        if not (np.isfinite(s) and s > 0):
            raise InferenceError(f"attribute '{name}' must hold finite positive floats, got {list(scale)}")


def _check_axis(t: TensorType, attrs, names=("scale",)):
    """Normalize `axis` against the operand and check each scale's length."""
    axis = attrs.get("axis")
    for name in names:
        _check_scales(attrs[name], name)
    if axis is None:
        for name in names:
            if len(attrs[name]) != 1:
                raise InferenceError(f"attribute '{name}' has {len(attrs[name])} elements but no "
                                     "'axis' is given (per tensor needs exactly 1)")
        return
    if t.shape is None:
        return
    axis = normalize_axis(axis, t.rank)
    dim = t.shape[axis]
    for name in names:
        n = len(attrs[name])
        if n != 1 and dim is not None and n != dim:
            raise InferenceError(f"attribute '{name}' has {n} elements, expected 1 or {dim} "
                                 f"(dimension {axis} of shape {shape_str(t.shape)})")


def _per_channel(values, ndim, axis, dtype):
    """The scale array shaped to broadcast along `axis` of an `ndim` tensor."""
    arr = np.asarray(values, dtype=np.float64).astype(dtype)
    if axis is None or arr.size == 1:
        return arr.reshape(()) if arr.size == 1 else arr
    shape = [1] * ndim
    shape[axis % ndim] = arr.size
    return arr.reshape(shape)


def _check_runtime_channels(x, scale, axis, what="scale"):
    if axis is not None and len(scale) != 1 and x.shape[axis % x.ndim] != len(scale):
        raise ComputeError(f"{what} has {len(scale)} elements but dimension {axis} has "
                           f"{x.shape[axis % x.ndim]}")


def _saturate(v: np.ndarray, dtype: dt.DType) -> np.ndarray:
    """rint then clip an f32 array into `dtype`; NaN -> 0."""
    info = np.iinfo(dtype.numpy)
    r = np.rint(v)
    r = np.where(np.isnan(r), np.float32(0), r)
    r = np.clip(r, np.float32(info.min), np.float32(info.max))
    return r.astype(dtype.numpy)


# quantize ------------------------------------------------------------------------------------
def _infer_quantize(types, attrs):
    if attrs["dtype"] not in QTYPES:
        raise InferenceError(f"attribute 'dtype' must be i8 or i16, got {attrs['dtype'].ir_name}")
    _check_axis(types[0], attrs)
    return [TensorType(types[0].shape, attrs["dtype"])]


def _quantize(x, dtype, scale, axis=None):
    _check_runtime_channels(x, scale, axis)
    inv = (1.0 / np.asarray(scale, np.float64)).astype(np.float32)
    inv = _per_channel(inv, x.ndim, axis, np.float32)
    with np.errstate(all="ignore"):
        return _saturate(x.astype(np.float32) * inv, dtype)


define("quant.quantize", operands=[Operand("x", FLOAT_INPUTS)],
       attrs=[Attr("dtype", "dtype"), Attr("scale", "floats"), Attr("axis", "int", default=None)],
       infer=_infer_quantize, compute=_quantize, traits={ELEMENTWISE},
       doc="Symmetric quantization to i8/i16: clip(rint(f32(x) * f32(1 / f64(scale))), min, max), "
           "NaN -> 0; scale per tensor or per channel along `axis`.")


# dequantize ----------------------------------------------------------------------------------
def _infer_dequantize(types, attrs):
    if attrs["dtype"] not in (dt.float32, dt.float16):
        raise InferenceError(f"attribute 'dtype' must be f32 or f16, got {attrs['dtype'].ir_name}")
    _check_axis(types[0], attrs)
    return [TensorType(types[0].shape, attrs["dtype"])]


def _dequantize(q, scale, axis=None, dtype=dt.float32):
    _check_runtime_channels(q, scale, axis)
    s = _per_channel(scale, q.ndim, axis, np.float32)
    out = q.astype(np.float32) * s
    return out.astype(dtype.numpy)


define("quant.dequantize", operands=[Operand("q", ACC_INPUTS)],
       attrs=[Attr("scale", "floats"), Attr("axis", "int", default=None),
              Attr("dtype", "dtype", default="f32")],
       infer=_infer_dequantize, compute=_dequantize, traits={ELEMENTWISE},
       doc="f32(q) * f32(scale) (per tensor or per channel along `axis`), cast to `dtype` (f32 or f16).")


# requantize ----------------------------------------------------------------------------------
def _infer_requantize(types, attrs):
    if attrs["dtype"] not in QTYPES:
        raise InferenceError(f"attribute 'dtype' must be i8 or i16, got {attrs['dtype'].ir_name}")
    _check_axis(types[0], attrs, ("in_scale", "out_scale"))
    return [TensorType(types[0].shape, attrs["dtype"])]


def _requantize(q, in_scale, out_scale, dtype, axis=None):
    _check_runtime_channels(q, in_scale, axis, "in_scale")
    _check_runtime_channels(q, out_scale, axis, "out_scale")
    a, b = np.asarray(in_scale, np.float64), np.asarray(out_scale, np.float64)
    m = (a / b).astype(np.float32)
    m = _per_channel(m, q.ndim, axis, np.float32)
    return _saturate(q.astype(np.float32) * m, dtype)


define("quant.requantize", operands=[Operand("q", ACC_INPUTS)],
       attrs=[Attr("in_scale", "floats"), Attr("out_scale", "floats"), Attr("axis", "int", default=None),
              Attr("dtype", "dtype")],
       infer=_infer_requantize, compute=_requantize, traits={ELEMENTWISE},
       doc="Rescale an integer tensor: clip(rint(f32(q) * f32(f64(in_scale) / f64(out_scale))), min, max) "
           "into i8/i16 (dequantize then quantize without the float round trip).")


# conv2d / matmul -----------------------------------------------------------------------------
def _accumulator(types, what):
    dtype = same_dtype(types)
    if dtype not in QTYPES:
        raise InferenceError(f"{what} operands must be i8 or i16, got {dtype.ir_name}")
    return ACCUMULATOR[dtype]


def _infer_qconv(types, attrs):
    acc = _accumulator(types, "quant.conv2d")
    (t,) = _infer_conv(types, {**attrs, "data_format": "NHWC"})
    return [TensorType(t.shape, acc)]


def _exact_dtype(x, w, k):
    """float64 when every partial sum of k products is an integer below 2^53 (BLAS-fast and
    exact), else int64."""
    bound = float(np.iinfo(x.dtype).min) * float(np.iinfo(w.dtype).min) * max(k, 1)
    return np.float64 if bound < 2.0 ** 53 else np.int64


def _qconv2d(x, w, **attrs):
    attrs = {**attrs, "data_format": "NHWC"}
    acc = ACCUMULATOR[dt.from_numpy(x.dtype)]
    work = _exact_dtype(x, w, w.shape[0] * w.shape[1] * w.shape[2])
    xs, (oh, ow), windows = _conv_setup(x.astype(work), w, attrs)
    n, c_out = xs.shape[0], w.shape[3]
    out = np.zeros((n, oh, ow, c_out), work)
    if out.size:
        # windows: (N, oh, ow, C, kh, kw); filter: (kh, kw, C, O); the sums are exact.
        out[:] = np.tensordot(windows(xs), w.astype(work), axes=([3, 4, 5], [2, 0, 1]))
    # through int64: a sum outside the accumulator's range wraps (mod 2^32), as the kernels do
    return out.astype(np.int64).astype(acc.numpy)


define("quant.conv2d", operands=[Operand("input", QTYPES), Operand("filter", QTYPES)],
       attrs=[Attr("strides", "ints"), Attr("padding", "str", choices=("SAME", "VALID", "EXPLICIT")),
              Attr("explicit_paddings", "ints", default=()), Attr("dilations", "ints", default=(1, 1))],
       infer=_infer_qconv, compute=_qconv2d, traits={CONTRACTION},
       doc="Integer 2-D convolution, NHWC input x HWIO filter (zero padding, TF geometry): "
           "i8 x i8 -> exact i32 sums, i16 x i16 -> exact i64 sums.")


def _infer_qmatmul(types, attrs):
    acc = _accumulator(types, "quant.matmul")
    for t, name in zip(types, "ab"):
        if t.shape is not None and t.rank != 2:
            raise InferenceError(f"operand '{name}' must be 2-D, got shape {shape_str(t.shape)}")
    (t,) = _infer_matmul(types, attrs)
    return [TensorType(t.shape, acc)]


def _qmatmul(a, b, transpose_a=False, transpose_b=False):
    acc = ACCUMULATOR[dt.from_numpy(a.dtype)]
    a = a.T if transpose_a else a
    b = b.T if transpose_b else b
    if a.shape[1] != b.shape[0]:
        raise ComputeError(f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)}")
    work = _exact_dtype(a, b, a.shape[1])
    return np.matmul(a.astype(work), b.astype(work)).astype(np.int64).astype(acc.numpy)


define("quant.matmul", operands=[Operand("a", QTYPES), Operand("b", QTYPES)],
       attrs=[Attr("transpose_a", "bool", default=False), Attr("transpose_b", "bool", default=False)],
       infer=_infer_qmatmul, compute=_qmatmul, traits={CONTRACTION},
       doc="Integer 2-D matrix product: i8 x i8 -> exact i32 sums, i16 x i16 -> exact i64 sums.")
