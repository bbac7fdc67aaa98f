"""Math ops: elementwise arithmetic and comparisons, casts, reductions, argmax/argmin, matmul
and the small linear-algebra ops.

Semantics are TensorFlow 1.x's (checked against TF's CPU kernels): no implicit dtype
promotion, integer arithmetic wraps around, integer division by zero is an error, and the
dtype sets are the ones TF's CPU kernels accept.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import dtypes as dt
from ..opdef import (BROADCAST, COMMUTATIVE, CONTRACTION, ELEMENTWISE, REDUCTION, Attr,
                     ComputeError, InferenceError, Operand, define, infer_broadcast,
                     infer_compare, infer_same, broadcast_shapes, same_dtype, shape_str)
from ..types import TensorType

# Dtype sets --------------------------------------------------------------------------------
FLOATS, COMPLEX, REAL, NUMERIC = dt.FLOATS, dt.COMPLEX, dt.REAL, dt.NUMERIC
SIGNED_INTS = dt.SIGNED_INTS
BOOL = (dt.bool_,)
FLOAT_COMPLEX = FLOATS + COMPLEX                     # transcendental functions
SIGNED = FLOATS + SIGNED_INTS                        # abs
SIGNED_COMPLEX = SIGNED + COMPLEX                    # neg, sign, pow
CASTABLE = NUMERIC + BOOL                            # TF has no string <-> number Cast
INDEX_TYPES = (dt.int32, dt.int64)                   # argmax/argmin output_type

INT_DIV_BY_ZERO = "Integer division by zero"


def _is_int(array: np.ndarray) -> bool:
    return array.dtype.kind in "iu"


def _dims(shape) -> str:
    """A concrete shape the way TF's runtime errors print it: [2,3]."""
    return "[" + ",".join(str(d) for d in shape) + "]"


# Unary elementwise ops ---------------------------------------------------------------------
def _infer_bool(types, attrs):
    return [types[0].with_dtype(dt.bool_)]


def _unary(name, compute, dtypes, doc, result_bool=False):
    define(f"math.{name}", operands=[Operand("x", dtypes)],
           infer=_infer_bool if result_bool else infer_same,
           compute=compute, traits={ELEMENTWISE}, doc=doc)


def _in_float32(fn):
    """Evaluate a formula of several steps for float16 in float32 and round once, as TF's half
    kernels do (in float16, exp(12) would already overflow inside sigmoid(-12))."""
    def compute(x):
        if x.dtype == np.float16:
            return fn(x.astype(np.float32)).astype(np.float16)
        return fn(x)
    return compute


@_in_float32
def _sigmoid(x):
    # exp(-x) overflows to inf for very negative x, which gives the right limit 0.
    return 1 / (1 + np.exp(-x))


@_in_float32
def _rsqrt(x):
    return 1 / np.sqrt(x)


_unary("abs", np.abs, SIGNED, "|x|; abs(INT_MIN) wraps to INT_MIN as in TF (Abs). Complex abs is "
       "a separate op in TF (ComplexAbs).")
_unary("neg", np.negative, SIGNED_COMPLEX, "-x; -INT_MIN wraps to INT_MIN (TF Neg).")
# numpy >= 2's sign is x/|x| for complex (0 for 0), like TF's.
_unary("sign", np.sign, SIGNED_COMPLEX, "-1, 0 or 1 (NaN for NaN); x/|x| for complex (TF Sign).")
_unary("square", np.square, NUMERIC, "x*x, wrapping for integers (TF Square).")
_unary("sqrt", np.sqrt, FLOAT_COMPLEX, "Square root; NaN for negative reals (TF Sqrt).")
_unary("rsqrt", _rsqrt, FLOAT_COMPLEX, "1/sqrt(x) (TF Rsqrt).")
_unary("exp", np.exp, FLOAT_COMPLEX, "e**x (TF Exp).")
_unary("expm1", np.expm1, FLOAT_COMPLEX, "e**x - 1, accurate near 0 (TF Expm1).")
_unary("log", np.log, FLOAT_COMPLEX, "Natural logarithm; -inf at 0, NaN below (TF Log).")
_unary("log1p", np.log1p, FLOAT_COMPLEX, "log(1 + x), accurate near 0 (TF Log1p).")
_unary("sin", np.sin, FLOAT_COMPLEX, "Sine (TF Sin).")
_unary("cos", np.cos, FLOAT_COMPLEX, "Cosine (TF Cos).")
_unary("tan", np.tan, FLOAT_COMPLEX, "Tangent (TF Tan).")
_unary("asin", np.arcsin, FLOAT_COMPLEX, "Arcsine (TF Asin).")
_unary("acos", np.arccos, FLOAT_COMPLEX, "Arccosine (TF Acos).")
_unary("atan", np.arctan, FLOAT_COMPLEX, "Arctangent (TF Atan).")
_unary("sinh", np.sinh, FLOAT_COMPLEX, "Hyperbolic sine (TF Sinh).")
_unary("cosh", np.cosh, FLOAT_COMPLEX, "Hyperbolic cosine (TF Cosh).")
_unary("tanh", np.tanh, FLOAT_COMPLEX, "Hyperbolic tangent (TF Tanh).")
_unary("sigmoid", _sigmoid, FLOAT_COMPLEX, "1 / (1 + e**-x) (TF Sigmoid, tf.nn.sigmoid).")
_unary("floor", np.floor, FLOATS, "Largest integer <= x, as a float (TF Floor).")
_unary("ceil", np.ceil, FLOATS, "Smallest integer >= x, as a float (TF Ceil).")
_unary("round", np.round, FLOATS + (dt.int32, dt.int64),
       "Round half to even (TF Round); the identity on integers.")
_unary("reciprocal", np.reciprocal, FLOAT_COMPLEX, "1/x; +-inf at +-0 (TF Reciprocal / Inv).")
_unary("is_finite", np.isfinite, FLOATS, "Not inf and not NaN (TF IsFinite).", result_bool=True)
_unary("is_nan", np.isnan, FLOATS, "x is NaN (TF IsNan).", result_bool=True)
_unary("is_inf", np.isinf, FLOATS, "x is +inf or -inf (TF IsInf).", result_bool=True)
_unary("logical_not", np.logical_not, BOOL, "Boolean not (TF LogicalNot).")


# Binary elementwise ops --------------------------------------------------------------------
def _binary(name, compute, dtypes, doc, compare=False, commutative=False, names=("x", "y")):
    """A broadcasting binary op. `compute` gets arrays whose shapes are known to broadcast."""

    def checked(x, y):
        # Shapes only known at run time can still fail to broadcast; say so as TF does.
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise ComputeError(f"Incompatible shapes: {_dims(x.shape)} vs. {_dims(y.shape)}") from None
        return compute(x, y)

    traits = {ELEMENTWISE, BROADCAST} | ({COMMUTATIVE} if commutative else set())
    define(f"math.{name}", operands=[Operand(names[0], dtypes), Operand(names[1], dtypes)],
           infer=infer_compare if compare else infer_broadcast,
           compute=checked, traits=traits, doc=doc)


def _check_int_divisor(x, y):
    """TF fails an integer division or modulo whose (used) divisor contains a zero. When the
    result is non-empty, broadcasting uses every element of y."""
    if _is_int(x) and np.broadcast(x, y).size and np.any(y == 0):
        raise ComputeError(INT_DIV_BY_ZERO)


def _floor_div(x, y):
    if _is_int(x):
        _check_int_divisor(x, y)
        return np.floor_divide(x, y)        # INT_MIN // -1 wraps to INT_MIN, as in TF
    # floor(x / y), not numpy's floor_divide: TF gives inf/2 = inf and -5 // inf = -0.
    return np.floor(x / y)


def _floor_mod(x, y):
    if _is_int(x):
        _check_int_divisor(x, y)
        return np.mod(x, y)                 # Python rules: the result has y's sign
    # TF's float formula (differs from np.mod in the sign of zero results): fmod, then shift
    # a non-zero remainder whose sign differs from y's by y.
    t = np.fmod(x, y)
    return np.where((t != 0) & ((y < 0) != (t < 0)), t + y, t)


def _truncate_div(x, y):
    if _is_int(x):
        _check_int_divisor(x, y)
        # x - fmod(x, y) is an exact multiple of y (and cannot overflow), so flooring divides
        # exactly; C semantics round toward zero.
        return np.floor_divide(x - np.fmod(x, y), y)
    return np.trunc(x / y)


def _truncate_mod(x, y):
    _check_int_divisor(x, y)
    return np.fmod(x, y)                    # C's %: the result has x's sign


def _pow(x, y):
    if _is_int(x) and np.broadcast(x, y).size and np.any(y < 0):
        raise ComputeError("Integers to negative integer powers are not allowed")
    return np.power(x, y)                   # integer powers wrap around


def _maximum(x, y):
    # NaN propagates from either side. On ties (only visible as maximum(-0., 0.)) TF's vector
    # kernel returns y (its scalar tail returns x); we follow the vector kernel.
    out = np.where(x > y, x, y)
    return np.where(np.isnan(x), x, out) if x.dtype.kind == "f" else out


def _minimum(x, y):
    out = np.where(x < y, x, y)
    return np.where(np.isnan(x), x, out) if x.dtype.kind == "f" else out


def _squared_difference(x, y):
    d = x - y
    return d * np.conj(d) if d.dtype.kind == "c" else d * d


def _add(x, y):
    if x.dtype == object:
        # Strings concatenate; numpy hands back a bare str for 0-d operands.
        return np.asarray(np.add(x, y), dtype=object)
    return np.add(x, y)


_binary("add", _add, NUMERIC + (dt.string,),
        "x + y; string concatenation for strings (TF Add, AddV2).", commutative=True)
_binary("sub", np.subtract, NUMERIC, "x - y (TF Sub).")
_binary("mul", np.multiply, NUMERIC, "x * y (TF Mul).", commutative=True)
_binary("real_div", np.true_divide, FLOAT_COMPLEX,
        "x / y; x/0 is +-inf or NaN (TF RealDiv, tf.divide on floats).")
_binary("floor_div", _floor_div, REAL,
        "Integers: floor division (Python //); floats: floor(x / y) (TF FloorDiv).")
_binary("floor_mod", _floor_mod, REAL,
        "Remainder of floor division, with the sign of y (TF FloorMod, Python %).")
_binary("truncate_div", _truncate_div, REAL,
        "Division rounding toward zero, as C (TF TruncateDiv).")
_binary("truncate_mod", _truncate_mod, (dt.int32, dt.int64, dt.float32, dt.float64),
        "Remainder of truncating division, with the sign of x: C's % / fmod (TF TruncateMod).")
_binary("pow", _pow, SIGNED_COMPLEX,
        "x ** y; integer powers wrap, negative integer exponents fail (TF Pow).")
_binary("maximum", _maximum, REAL, "Larger of x and y; NaN if either is NaN (TF Maximum).",
        commutative=True)
_binary("minimum", _minimum, REAL, "Smaller of x and y; NaN if either is NaN (TF Minimum).",
        commutative=True)
_binary("squared_difference", _squared_difference, FLOATS + (dt.int32, dt.int64) + COMPLEX,
        "(x - y) * conj(x - y) (TF SquaredDifference).", commutative=True)
_binary("atan2", np.arctan2, FLOATS, "Angle of the point (x, y): atan(y / x) in the right "
        "quadrant (TF Atan2).", names=("y", "x"))
_binary("logical_and", np.logical_and, BOOL, "Boolean and (TF LogicalAnd).", commutative=True)
_binary("logical_or", np.logical_or, BOOL, "Boolean or (TF LogicalOr).", commutative=True)
_binary("logical_xor", np.logical_xor, BOOL, "Boolean exclusive or (tf.math.logical_xor).",
        commutative=True)
_binary("equal", np.equal, NUMERIC + BOOL + (dt.string,), "x == y; NaN equals nothing (TF Equal).",
        compare=True, commutative=True)
_binary("not_equal", np.not_equal, NUMERIC + BOOL + (dt.string,), "x != y (TF NotEqual).",
        compare=True, commutative=True)
_binary("greater", np.greater, REAL, "x > y (TF Greater).", compare=True)
_binary("greater_equal", np.greater_equal, REAL, "x >= y (TF GreaterEqual).", compare=True)
_binary("less", np.less, REAL, "x < y (TF Less).", compare=True)
_binary("less_equal", np.less_equal, REAL, "x <= y (TF LessEqual).", compare=True)


# Shapes that must be equal (add_n, select) -------------------------------------------------
def _merge_shapes(a, b):
    """The most specific shape equal to both, or InferenceError in TF's words."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise InferenceError(f"Shapes must be equal rank, but are {len(a)} and {len(b)}")
    for i, (x, y) in enumerate(zip(a, b)):
        if x is not None and y is not None and x != y:
            raise InferenceError(f"Dimension {i} in both shapes must be equal, but are {x} and {y}. "
                                 f"Shapes are {shape_str(a)} and {shape_str(b)}.")
    return tuple(y if x is None else x for x, y in zip(a, b))


# add_n --------------------------------------------------------------------------------------
def _infer_add_n(types, attrs):
    if not types:
        raise InferenceError("expected at least one input")
    dtype = same_dtype(types)
    shape = functools.reduce(_merge_shapes, (t.shape for t in types))
    return [TensorType(shape, dtype)]


def _add_n(*inputs):
    for value in inputs[1:]:
        if value.shape != inputs[0].shape:
            raise ComputeError(f"Inputs to operation AddN must have the same size and shape.  "
                               f"Input 0: {_dims(inputs[0].shape)} != input: {_dims(value.shape)}")
    # Left to right in the operand dtype (float16 sums may overflow to inf, as in TF).
    return functools.reduce(np.add, inputs[1:], inputs[0].copy())


define("math.add_n", operands=[Operand("inputs", NUMERIC, variadic=True)],
       infer=_infer_add_n, compute=_add_n, traits={ELEMENTWISE},
       doc="Sum of one or more tensors of the same shape; no broadcasting (TF AddN, tf.add_n).")


# select / select_v2 ------------------------------------------------------------------------
def _infer_select(types, attrs):
    cond, x, y = types
    dtype = same_dtype([x, y])
    shape = _merge_shapes(x.shape, y.shape)
    if cond.shape is None or cond.shape == ():
        return [TensorType(shape, dtype)]                       # scalar cond picks x or y whole
    if len(cond.shape) == 1 and (shape is None or len(shape) > 1):
        # A vector cond picks whole rows: its length is x's first dimension.
        if shape is not None:
            shape = _merge_shapes(cond.shape, shape[:1]) + shape[1:]
        return [TensorType(shape, dtype)]
    return [TensorType(_merge_shapes(cond.shape, shape), dtype)]


def _select(cond, x, y):
    if x.shape != y.shape:
        raise ComputeError(f"'then' and 'else' must have the same size.  but received: "
                           f"{_dims(x.shape)} vs. {_dims(y.shape)}")
    if cond.ndim == 0:
        return (x if cond else y).copy()
    if cond.ndim == 1 and x.ndim > 1:
        if cond.shape[0] != x.shape[0]:
            raise ComputeError(f"Number of batches of 'then' must match size of 'cond', but saw: "
                               f"{x.shape[0]} vs. {cond.shape[0]}")
        cond = cond.reshape(cond.shape + (1,) * (x.ndim - 1))
    elif cond.shape != x.shape:
        raise ComputeError(f"Inputs to operation Select of type Select must have the same size and "
                           f"shape.  Input 0: {_dims(cond.shape)} != input 1: {_dims(x.shape)}")
    return np.where(cond, x, y)


define("math.select", operands=[Operand("cond", BOOL), Operand("x"), Operand("y")],
       infer=_infer_select, compute=_select,
       doc="Where cond, x, else y (TF1 Select, tf.where(cond, x, y)); cond is a scalar, has x's "
           "shape, or is a vector choosing x's rows. Not broadcasting, so not ELEMENTWISE.")


def _infer_select_v2(types, attrs):
    cond, x, y = types
    dtype = same_dtype([x, y])
    return [TensorType(broadcast_shapes(cond.shape, x.shape, y.shape), dtype)]


def _select_v2(cond, x, y):
    try:
        np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise ComputeError(f"condition {_dims(cond.shape)}, then {_dims(x.shape)} and else "
                           f"{_dims(y.shape)} must be broadcastable") from None
    return np.where(cond, x, y)


define("math.select_v2", operands=[Operand("cond", BOOL), Operand("x"), Operand("y")],
       infer=_infer_select_v2, compute=_select_v2, traits={ELEMENTWISE, BROADCAST},
       doc="Where cond, x, else y, broadcasting all three (TF SelectV2, tf.where in TF2).")


# cast ----------------------------------------------------------------------------------------
def _infer_cast(types, attrs):
    to = attrs["to"]
    if to not in CASTABLE:
        raise InferenceError(f"Cast {types[0].dtype.name} to {to.name} is not supported")
    return [types[0].with_dtype(to)]


_MANTISSA_BITS = {np.dtype(np.float16): 10, np.dtype(np.float32): 23, np.dtype(np.float64): 52}


def _truncate_mantissa(x: np.ndarray, target: np.dtype) -> np.ndarray:
    """Cast(Truncate=true) between floats: clear the mantissa bits the narrower target cannot
    hold, so the conversion rounds toward zero instead of to nearest."""
    drop = _MANTISSA_BITS[x.dtype] - _MANTISSA_BITS[target]
    if drop <= 0:
        return x
    bits = x.view(np.dtype(f"u{x.dtype.itemsize}"))
    mask = ~np.array((1 << drop) - 1, dtype=bits.dtype)
    return (bits & mask).view(x.dtype)


def _float_to_int(x: np.ndarray, target: dt.DType, saturate: bool = True) -> np.ndarray:
    """Truncate toward zero. NaN and values out of the target's range are undefined in C++;
    we follow TF's vectorized x86 kernel: the value is first converted to a 32-bit (for 64-bit
    targets, 64-bit) signed integer, NaN and out-of-range values becoming its minimum; 8- and
    16-bit targets then saturate (300.0 -> uint8 is 255, -1.0 -> uint8 is 0) and 32/64-bit
    ones wrap (-1.0 -> uint32 is 4294967295). TF's scalar code (used for the last n % 32
    elements, and for complex sources, which we follow with saturate=False) wraps the 8- and
    16-bit ones too."""
    t = np.trunc(x.astype(np.float64))
    info = np.iinfo(target.numpy)
    fits = (t >= info.min) & (t < float(info.max) + 1.0)   # False for NaN; bounds exact
    via = np.iinfo(np.int64 if target.bits == 64 else np.int32)
    via_fits = (t >= via.min) & (t < -float(via.min))
    wide = np.where(via_fits, t, via.min).astype(via.dtype)
    if saturate and target.bits < 32:
        converted = np.clip(wide, info.min, info.max).astype(target.numpy)
    else:
        converted = wide.astype(target.numpy)               # two's complement wrap
    exact = np.where(fits, t, 0).astype(target.numpy)
    return np.where(fits, exact, converted)


def _cast(x, to, truncate=False):
    if to.numpy is None:
        raise ComputeError(f"cannot compute a cast to {to.name} in numpy")
    target = to.numpy
    from_complex = x.dtype.kind == "c"
    if from_complex and to.kind != "complex":
        x = x.real                                          # TF drops the imaginary part
    if to.is_bool:
        return x != 0                                       # NaN is true
    if x.dtype.kind == "f" and to.is_integer:
        return _float_to_int(x, to, saturate=not from_complex)
    if truncate and x.dtype.kind == "f" and to.is_floating:
        x = _truncate_mantissa(x, target)
    return x.astype(target)                                 # integers wrap; floats round


define("math.cast", operands=[Operand("x", CASTABLE)],
       attrs=[Attr("to", "dtype"), Attr("truncate", "bool", default=False)],
       infer=_infer_cast, compute=_cast, traits={ELEMENTWISE},
       doc="Convert to dtype `to` (TF Cast): float->int truncates toward zero, ->bool is x != 0, "
           "complex->real keeps the real part, integers wrap; truncate rounds floats toward zero.")


# Reductions ----------------------------------------------------------------------------------
def reduction_axes(axes, rank: int) -> tuple[int, ...]:
    """`axes` (None = all) as sorted non-negative axes, or InferenceError in TF's words."""
    if axes is None:
        return tuple(range(rank))
    out = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise InferenceError(f"Invalid reduction dimension {axis} for input with {rank} dimensions")
        if axis % rank in out:
            raise InferenceError(f"Axes contains duplicate dimension: {axis % rank}")
        out.append(axis % rank)
    return tuple(sorted(out))


def _infer_reduce(types, attrs):
    t = types[0]
    axes, keep_dims = attrs.get("axes"), attrs["keep_dims"]
    if t.shape is None:
        if axes is not None and len(set(axes)) != len(axes):
            raise InferenceError(f"Axes contains duplicate dimension: {axes}")
        if axes is None and not keep_dims:
            return [TensorType((), t.dtype)]
        return [TensorType(None, t.dtype)]
    reduced = reduction_axes(axes, len(t.shape))
    if keep_dims:
        shape = tuple(1 if i in reduced else d for i, d in enumerate(t.shape))
    else:
        shape = tuple(d for i, d in enumerate(t.shape) if i not in reduced)
    return [TensorType(shape, t.dtype)]


def _sum(x, axis, keepdims):
    if x.dtype == np.float16:
        # float16 accumulates in float32 and rounds once. (TF's half sums depend on its
        # vectorization: pairs of values may overflow to inf before the rest is added.)
        return np.sum(x, axis, dtype=np.float32, keepdims=keepdims).astype(np.float16)
    return np.sum(x, axis, dtype=x.dtype, keepdims=keepdims)   # integers wrap


def _prod(x, axis, keepdims):
    if x.dtype == np.float16:
        return np.prod(x, axis, dtype=np.float32, keepdims=keepdims).astype(np.float16)
    return np.prod(x, axis, dtype=x.dtype, keepdims=keepdims)


def _mean(x, axis, keepdims):
    count = int(np.prod([x.shape[a] for a in axis], dtype=np.int64))
    if _is_int(x):
        # TF sums integers in 64 bits (so int8/int16/int32 means never overflow; int64 and
        # uint64 sums wrap) and divides rounding toward zero; an empty mean is 0.
        wide = np.int64 if x.dtype.kind == "i" else np.uint64
        total = np.sum(x, axis, dtype=wide, keepdims=keepdims)
        if count == 0:
            return np.zeros_like(total, dtype=x.dtype)
        n = wide(count)
        return np.floor_divide(total - np.fmod(total, n), n).astype(x.dtype)
    total = _sum(x, axis, keepdims)
    if x.dtype == np.float16:
        # The float16 sum is rounded before dividing, as TF does (a sum past 65504 gives inf).
        return (total.astype(np.float32) / count).astype(np.float16)
    return total / x.dtype.type(count)                          # empty: 0/0 = NaN


def _max(x, axis, keepdims):
    # Empty reductions give the identity: -inf for floats, the dtype's minimum for integers.
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return np.max(x, axis, keepdims=keepdims, initial=lowest)  # NaN propagates


def _min(x, axis, keepdims):
    highest = np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max
    return np.min(x, axis, keepdims=keepdims, initial=highest)


def _reduction(name, reduce, dtypes, doc):
    def compute(x, axes=None, keep_dims=False):
        axis = reduction_axes(axes, x.ndim)
        return np.asarray(reduce(x, axis, keep_dims), dtype=x.dtype)

    define(f"math.{name}", operands=[Operand("x", dtypes)],
           attrs=[Attr("axes", "ints", default=None), Attr("keep_dims", "bool", default=False)],
           infer=_infer_reduce, compute=compute, traits={REDUCTION}, doc=doc)


_reduction("reduce_sum", _sum, NUMERIC, "Sum over `axes` (all if absent); 0 when empty (TF Sum).")
_reduction("reduce_mean", _mean, NUMERIC,
           "Mean over `axes`; integer means round toward zero; empty: NaN, 0 for ints (TF Mean).")
_reduction("reduce_max", _max, REAL, "Maximum over `axes`; NaN propagates; empty: -inf or the "
           "dtype's minimum (TF Max).")
_reduction("reduce_min", _min, REAL, "Minimum over `axes`; NaN propagates; empty: +inf or the "
           "dtype's maximum (TF Min).")
_reduction("reduce_prod", _prod, NUMERIC, "Product over `axes`; 1 when empty (TF Prod).")
_reduction("reduce_any", lambda x, axis, keepdims: np.any(x, axis, keepdims=keepdims), BOOL,
           "Logical or over `axes`; false when empty (TF Any).")
_reduction("reduce_all", lambda x, axis, keepdims: np.all(x, axis, keepdims=keepdims), BOOL,
           "Logical and over `axes`; true when empty (TF All).")


# argmax / argmin -----------------------------------------------------------------------------
def _infer_arg(types, attrs):
    t, axis, output_type = types[0], attrs["axis"], attrs["output_type"]
    if output_type not in INDEX_TYPES:
        raise InferenceError(f"attribute 'output_type' must be int32 or int64, got {output_type.name}")
    if t.shape is None:
        return [TensorType(None, output_type)]
    rank = len(t.shape)
    if not -rank <= axis < rank:
        raise InferenceError(f"Expected dimension in the range [{-rank}, {rank}), but got {axis}")
    axis %= rank
    return [TensorType(t.shape[:axis] + t.shape[axis + 1:], output_type)]


def _arg(find_max: bool):
    def compute(x, axis, output_type=dt.int64):
        axis %= x.ndim
        out_shape = x.shape[:axis] + x.shape[axis + 1:]
        if x.shape[axis] == 0:
            if np.prod(out_shape, dtype=np.int64) > 0:
                raise ComputeError(f"Reduction axis {axis} is empty in shape {_dims(x.shape)}")
            return np.zeros(out_shape, output_type.numpy)
        if x.dtype.kind == "f":
            # TF's scan only moves to an element that beats the best so far, so NaN never
            # wins (and an all-NaN slice gives 0): treat NaN as the worst value.
            x = np.where(np.isnan(x), -np.inf if find_max else np.inf, x)
        index = np.argmax(x, axis) if find_max else np.argmin(x, axis)   # first on ties
        return np.asarray(index).astype(output_type.numpy)
    return compute


for _name, _find_max in (("argmax", True), ("argmin", False)):
    define(f"math.{_name}", operands=[Operand("x", REAL + BOOL)],
           attrs=[Attr("axis", "int"), Attr("output_type", "dtype", default=dt.int64)],
           infer=_infer_arg, compute=_arg(_find_max), traits={REDUCTION},
           doc=f"Index of the {'largest' if _find_max else 'smallest'} value along `axis`: the "
               f"first on ties; NaN is ignored (TF Arg{'Max' if _find_max else 'Min'}).")


# matmul --------------------------------------------------------------------------------------
def _check_matrix_rank(shape):
    if shape is not None and len(shape) < 2:
        raise InferenceError(f"Shape must be at least rank 2 but is rank {len(shape)}")


def _infer_matmul(types, attrs):
    a, b = types
    dtype = same_dtype(types)
    _check_matrix_rank(a.shape)
    _check_matrix_rank(b.shape)
    if a.shape is None or b.shape is None:
        return [TensorType(None, dtype)]
    m, ka = (a.shape[-1], a.shape[-2]) if attrs["transpose_a"] else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if attrs["transpose_b"] else (b.shape[-2], b.shape[-1])
    if ka is not None and kb is not None and ka != kb:
        raise InferenceError(f"Dimensions must be equal, but are {ka} and {kb}")
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return [TensorType(batch + (m, n), dtype)]


def _matmul(a, b, transpose_a=False, transpose_b=False):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)                          # transpose only, no conjugate
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    if a.shape[-1] != b.shape[-2]:
        raise ComputeError(f"Matrix size-incompatible: In[0]: {_dims(a.shape)}, In[1]: {_dims(b.shape)}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ComputeError(f"Incompatible batch dimensions: {_dims(a.shape)} vs. {_dims(b.shape)}") from None
    if a.dtype == np.float16:
        # TF accumulates half products in float32.
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    return np.matmul(a, b)                                  # integer products wrap


MATMUL_TYPES = FLOATS + (dt.int32, dt.int64) + COMPLEX
define("math.matmul", operands=[Operand("a", MATMUL_TYPES), Operand("b", MATMUL_TYPES)],
       attrs=[Attr("transpose_a", "bool", default=False), Attr("transpose_b", "bool", default=False)],
       infer=_infer_matmul, compute=_matmul, traits={CONTRACTION},
       doc="Matrix product over the last two dims, batch dims broadcasting (TF MatMul, "
           "BatchMatMulV2); transpose_* transpose without conjugating.")


# Linear algebra ------------------------------------------------------------------------------
def _square_matrices(t: TensorType):
    _check_matrix_rank(t.shape)
    if t.shape is not None:
        rows, cols = t.shape[-2:]
        if rows is not None and cols is not None and rows != cols:
            raise InferenceError(f"Dimensions must be equal, but are {rows} and {cols}")


def _infer_matrix_inverse(types, attrs):
    _square_matrices(types[0])
    return [types[0]]


def _matrix_inverse(x, adjoint=False):
    if adjoint:
        x = np.conj(np.swapaxes(x, -1, -2))
    work = x.astype(np.float32) if x.dtype == np.float16 else x   # LAPACK has no float16
    # TF factors each matrix (LU with partial pivoting) and refuses a zero pivot; LAPACK fails
    # on the same matrices. A NaN makes its pivots NaN, which TF refuses as well.
    if np.isnan(work).any():
        raise ComputeError("Input is not invertible.")
    try:
        return np.linalg.inv(work).astype(x.dtype)
    except np.linalg.LinAlgError:
        raise ComputeError("Input is not invertible.") from None


define("linalg.matrix_inverse", operands=[Operand("x", (dt.float16, dt.float32, dt.float64) + COMPLEX)],
       attrs=[Attr("adjoint", "bool", default=False)],
       infer=_infer_matrix_inverse, compute=_matrix_inverse,
       doc="Inverse of each square matrix in [..., n, n], of its adjoint if `adjoint` (TF "
           "MatrixInverse); a singular matrix fails.")


def _infer_matrix_determinant(types, attrs):
    t = types[0]
    _square_matrices(t)
    return [TensorType(None if t.shape is None else t.shape[:-2], t.dtype)]


define("linalg.matrix_determinant", operands=[Operand("x", (dt.float32, dt.float64) + COMPLEX)],
       infer=_infer_matrix_determinant,
       compute=lambda x: np.asarray(np.linalg.det(x), dtype=x.dtype),
       doc="Determinant of each square matrix: [..., n, n] -> [...]; 1 for 0x0 (TF "
           "MatrixDeterminant).")


def _infer_qr(types, attrs):
    t = types[0]
    _check_matrix_rank(t.shape)
    if t.shape is None:
        return [TensorType(None, t.dtype), TensorType(None, t.dtype)]
    batch, (m, n) = t.shape[:-2], t.shape[-2:]
    if attrs["full_matrices"]:
        k_q = k_r = m
    else:
        k_q = k_r = None if m is None or n is None else min(m, n)
    return [TensorType(batch + (m, k_q), t.dtype), TensorType(batch + (k_r, n), t.dtype)]


def _qr(x, full_matrices=False):
    # numpy's LAPACK Householder QR (geqrf + orgqr) makes the sign choices of TF's Eigen
    # HouseholderQR (beta = -sign(x0) * norm), so Q and R agree with TF's, not only up to signs.
    work = x.astype(np.float32) if x.dtype == np.float16 else x    # LAPACK has no float16
    q, r = np.linalg.qr(work, mode="complete" if full_matrices else "reduced")
    return q.astype(x.dtype), r.astype(x.dtype)


define("linalg.qr", operands=[Operand("x", (dt.float16, dt.float32, dt.float64) + COMPLEX)],
       attrs=[Attr("full_matrices", "bool", default=False)],
       infer=_infer_qr, compute=_qr,
       doc="QR decomposition of each matrix in [..., M, N]: q [..., M, K] with orthonormal "
           "columns and upper-triangular r [..., K, N], K = min(M, N), or K = M if "
           "`full_matrices` (TF Qr, tf.linalg.qr).")
