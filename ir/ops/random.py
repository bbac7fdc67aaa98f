"""Random ops: TensorFlow's stateful random kernels, reproduced number for number.

Every op draws from TF's Philox4x32-10 generator (`tfc.ir.philox`), keyed by the attributes
`seed` and `seed2` exactly as the TF kernel with those attributes. The first operand,
`counter`, is a scalar int64: the generator block at which this execution starts. TF
advances a kernel's generator by a fixed amount on every execution, so execution k of an op
starts at `k * philox.blocks_reserved(...)`; the session, not the op, keeps that count.
The front end always passes concrete seeds, so (0, 0) is an ordinary seed pair here (TF
itself would pick random seeds for it).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .. import philox
from ..opdef import RANDOM, STATEFUL, Attr, InferenceError, Operand, define, shape_str
from ..types import TensorType

_FLOATS = (dt.float16, dt.float32, dt.float64)
_INT_OUT = (dt.int32, dt.int64)
_TRAITS = {STATEFUL, RANDOM}
_SEEDS = [Attr("seed", "int"), Attr("seed2", "int")]
_COUNTER = Operand("counter", (dt.int64,))


def _check_counter(counter: TensorType) -> None:
    if counter.shape is not None and counter.shape != ():
        raise InferenceError(f"counter must be a scalar, got shape {shape_str(counter.shape)}")


def _check_shape(shape) -> tuple[int, ...]:
    for d in shape:
        if d < 0:
            raise InferenceError(f"Dimension {d} must be >= 0")
    return tuple(shape)


def _float_dtype(attrs) -> dt.DType:
    dtype = attrs["dtype"]
    if dtype not in _FLOATS:
        raise InferenceError(f"attribute 'dtype' must be one of f16, f32, f64, got {dtype.ir_name}")
    return dtype


def _counter(counter: np.ndarray) -> int:
    return int(counter)


# random.uniform / random.normal / random.truncated_normal: same signature, different sampler.
def _infer_float_sample(types, attrs):
    _check_counter(types[0])
    return [TensorType(_check_shape(attrs["shape"]), _float_dtype(attrs))]


def _float_sampler(name: str, sampler, doc: str) -> None:
    def compute(counter, *, shape, dtype, seed, seed2):
        return sampler(shape, dtype.numpy, seed, seed2, _counter(counter))

    define(f"random.{name}", operands=[_COUNTER],
           attrs=[Attr("shape", "ints"), Attr("dtype", "dtype", default=dt.float32), *_SEEDS],
           infer=_infer_float_sample, compute=compute, traits=_TRAITS, doc=doc)


_float_sampler("uniform", philox.uniform,
               "Uniform floats in [0, 1) (TF RandomUniform; tf.random_uniform scales/shifts).")
_float_sampler("normal", philox.normal,
               "Standard normal floats by Box-Muller (TF RandomStandardNormal).")
_float_sampler("truncated_normal", philox.truncated_normal,
               "Standard normal floats redrawn until |x| < 2 (TF TruncatedNormal).")


def _infer_uniform_int(types, attrs):
    _check_counter(types[0])
    dtype = attrs["dtype"]
    if dtype not in _INT_OUT:
        raise InferenceError(f"attribute 'dtype' must be i32 or i64, got {dtype.ir_name}")
    lo, hi = attrs["minval"], attrs["maxval"]
    for name, value in (("minval", lo), ("maxval", hi)):
        if not dtype.min <= value <= dtype.max:
            raise InferenceError(f"attribute '{name}' = {value} does not fit {dtype.name}")
    if not lo < hi:
        raise InferenceError(f"Need minval < maxval, got {lo} >= {hi}")
    return [TensorType(_check_shape(attrs["shape"]), dtype)]


define(
    "random.uniform_int",
    operands=[_COUNTER],
    attrs=[Attr("shape", "ints"), Attr("minval", "int"), Attr("maxval", "int"),
           Attr("dtype", "dtype", default=dt.int32), *_SEEDS],
    infer=_infer_uniform_int,
    compute=lambda counter, *, shape, minval, maxval, dtype, seed, seed2: philox.uniform_int(
        shape, minval, maxval, dtype.numpy, seed, seed2, _counter(counter)),
    traits=_TRAITS,
    doc="Uniform integers in [minval, maxval) (TF RandomUniformInt, tf.random_uniform with an "
        "integer dtype).",
)


def _infer_gamma(types, attrs):
    counter, alpha = types
    _check_counter(counter)
    shape = _check_shape(attrs["shape"])
    return [TensorType(None if alpha.shape is None else shape + alpha.shape, alpha.dtype)]


define(
    "random.gamma",
    operands=[_COUNTER, Operand("alpha", _FLOATS)],
    attrs=[Attr("shape", "ints"), *_SEEDS],
    infer=_infer_gamma,
    compute=lambda counter, alpha, *, shape, seed, seed2: philox.gamma(
        shape, alpha, seed, seed2, _counter(counter)),
    traits=_TRAITS,
    doc="Gamma(alpha, 1) samples of shape `shape + alpha.shape` (TF RandomGamma; "
        "tf.random_gamma divides by beta).",
)


def _infer_multinomial(types, attrs):
    counter, logits = types
    _check_counter(counter)
    if attrs["output_dtype"] not in _INT_OUT:
        raise InferenceError(f"attribute 'output_dtype' must be i32 or i64, got {attrs['output_dtype']}")
    if attrs["num_samples"] < 0:
        raise InferenceError(f"num_samples should be non-negative, got {attrs['num_samples']}")
    if attrs["num_threads"] < 1:
        raise InferenceError(f"num_threads should be positive, got {attrs['num_threads']}")
    batch = None
    if logits.shape is not None:
        if len(logits.shape) != 2:
            raise InferenceError(f"logits should be a matrix, got shape {shape_str(logits.shape)}")
        batch, classes = logits.shape
        if classes == 0:
            raise InferenceError("num_classes should be positive, got 0")
    return [TensorType((batch, attrs["num_samples"]), attrs["output_dtype"])]


define(
    "random.multinomial",
    operands=[_COUNTER, Operand("logits", _FLOATS)],
    attrs=[Attr("num_samples", "int"), Attr("output_dtype", "dtype", default=dt.int64),
           *_SEEDS, Attr("num_threads", "int", default=1)],
    infer=_infer_multinomial,
    compute=lambda counter, logits, *, num_samples, output_dtype, seed, seed2, num_threads:
        philox.multinomial(logits, num_samples, seed, seed2, _counter(counter),
                           output_dtype.numpy, num_threads),
    traits=_TRAITS,
    doc="Class indices drawn from softmax(logits) per row: [batch, num_samples] (TF "
        "Multinomial). `num_threads`: TF's intra-op pool size, which decides how TF splits "
        "large batches and so which numbers it draws; 1 matches TF for small problems.",
)


def _infer_shuffle(types, attrs):
    _check_counter(types[0])
    return [types[1]]


define(
    "random.shuffle",
    operands=[_COUNTER, Operand("value")],
    infer=_infer_shuffle,
    attrs=_SEEDS,
    compute=lambda counter, value, *, seed, seed2: philox.shuffle(
        value, seed, seed2, _counter(counter)),
    traits=_TRAITS,
    doc="`value` with its first dimension randomly permuted (TF RandomShuffle).",
)
