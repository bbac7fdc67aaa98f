"""The math family: elementwise arithmetic, comparisons and logic, casts, reductions, argmax,
matmul and linear algebra, norms and clipping, `tf.where`, and the Python operators on
tensors and variables (`x + 1`, `a @ b`, `x < y`...).

Each function mirrors the graph `tf.compat.v1` builds for the same call: the same op types,
names, name scopes and inputs (`tf.add(x, 1)` makes `Add/y` and an AddV2 named `Add`; `x + 1`
makes `add/y` and `add`), the same output dtype and static shape, and TF's words for dtype
errors (TypeError) and shape errors (ValueError). Composite TF functions (reduce_logsumexp,
clip_by_norm, norm...) build TF's own sequence of ops.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.opdef import BROADCAST, InferenceError, get_op
from tfc.ir.types import TensorType

from ..framework import Tensor, VariableRef, convert_to_tensor
from . import array_ops
from .core import convert_same_dtype, make_op, op_scope, outputs

INDEX_DTYPES = (dt.int32, dt.int64)
# The order TF's common dtype lists print in (in its "not in list of allowed values" errors).
_TF_DTYPE_ORDER = ((dt.bfloat16, dt.float16, dt.float32, dt.float64) + dt.SIGNED_INTS + dt.UNSIGNED_INTS
                   + dt.COMPLEX + (dt.bool_, dt.string))


# Building one op the way TF's generated wrappers do -----------------------------------------
def _apply(op_type: str, ir_name: str | None, name, named_inputs, *, index=(), same=None,
           lower=None, attrs=None, default_name=None, **ir_attrs):
    """Add op `op_type` in name scope `name` (default: `default_name` or the type) and return
    its output(s). Inputs are converted inside the scope, named by TF's argument names; those
    in `same` (default: all but `index`) share one dtype; `index` inputs are int32/int64
    tensors whose values the lowering reads statically. The other inputs map in order to the
    operands of IR op `ir_name`, whose dtypes they must have. Without `lower`, the op lowers to
    `ir_name` with `ir_attrs`."""
    names = [n for n, _ in named_inputs]
    same = [n for n in names if n not in index] if same is None else list(same)
    with op_scope(name, default_name or op_type, [v for _, v in named_inputs]) as scope:
        tensors = _convert_inputs(op_type, named_inputs, same)
        typed = [(n, t) for n, t in zip(names, tensors) if n not in index]
        if ir_name is not None:
            operands = get_op(ir_name).operand_groups(len(typed))
            allowed = [operand.dtypes for operand, positions in operands for _ in positions]
            for (arg, t), dtypes in zip(typed, allowed):
                _check_dtype(op_type, arg, t.dtype, dtypes)
        for arg, t in zip(names, tensors):
            if arg in index:
                _check_dtype(op_type, arg, t.dtype, INDEX_DTYPES)
        op = make_op(op_type, tensors, _reading_variables(lower or _lower_to(ir_name, **ir_attrs)),
                     name=scope, attrs=attrs)
    return outputs(op)


def _convert_inputs(op_type, named_inputs, same):
    """Tensors for `named_inputs`, in order; the `same` group (contiguous, as in TF's op
    signatures) is converted together so Python values take its tensors' dtype."""
    group = [(n, v) for n, v in named_inputs if n in same]
    tensors, converted_group = [], None
    for n, v in named_inputs:
        if n in same:
            if converted_group is None:
                converted_group = iter(convert_same_dtype(op_type, group))
            tensors.append(next(converted_group))
        else:
            tensors.append(convert_to_tensor(v, name=n))
    return tensors


def _check_dtype(op_type, arg, dtype, allowed) -> None:
    """TF's TypeError for an input of a dtype the op does not take."""
    if allowed is None or dtype in allowed:
        return
    if len(allowed) == 1:
        raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {dtype.name} that does not match "
                        f"expected type of {allowed[0].name}.")
    allowed = sorted(allowed, key=lambda d: _TF_DTYPE_ORDER.index(d) if d in _TF_DTYPE_ORDER else 99)
    raise TypeError(f"Value passed to parameter '{arg}' has DataType {dtype.name} not in list of "
                    f"allowed values: {', '.join(d.name for d in allowed)}")



def _reading_variables(lower):
    """A lowering rule that sees a variable's value where it is given the variable's ref
    tensor (TF reads ref inputs implicitly)."""
    def rule(ctx, op, *values):
        values = [ctx.read_variable(v.op) if isinstance(v, VariableRef) else v for v in values]
        return lower(ctx, op, *values)
    return rule


def _lower_to(ir_name, **ir_attrs):
    """The rule lowering to one IR op; broadcasting ops check shapes in TF's words first."""
    broadcasts = get_op(ir_name).has(BROADCAST)

    def lower(ctx, op, *values):
        if broadcasts:
            _check_broadcast(*(v.type.shape for v in values))
        return ctx.b.op(ir_name, *values, **ir_attrs)
    return lower


def _check_broadcast(*shapes) -> None:
    """TF's message for shapes that do not broadcast: 'Dimensions must be equal, but are 3
    and 4'."""
    if any(s is None for s in shapes):
        return
    for i in range(1, max(len(s) for s in shapes) + 1):
        known = [s[-i] for s in shapes if len(s) >= i and s[-i] is not None and s[-i] != 1]
        if len(set(known)) > 1:
            raise InferenceError(f"Dimensions must be equal, but are {known[0]} and "
                                 f"{next(d for d in known if d != known[0])}")


def _deprecated_lookup(new_name, new_value, old_name, old_value):
    """TF's deprecation.deprecated_argument_lookup: at most one of the two spellings."""
    if new_value is not None:
        if old_value is not None:
            raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'.")
        return new_value
    return old_value


def _is_tensor_like(x) -> bool:
    return isinstance(x, Tensor) or hasattr(x, "_as_tensor")


def _named(fn, name: str, doc: str):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


# Array ops this family builds ------------------------------------------------------------------
def _shape(x):
    """gen_array_ops.shape: always a Shape op (array_ops.shape folds a static shape into a
    Const; TF's reduce_logsumexp calls the raw op)."""
    return _apply("Shape", None, None, [("input", x)], attrs={"out_type": dt.int32},
                  lower=lambda ctx, op, v: ctx.b.op("array.shape", v, out_type=dt.int32))


# Binary elementwise ops ------------------------------------------------------------------------
def _gen_binary(public_name, op_type, ir_name, doc):
    """A function `fn(x, y, name=None)` building one `op_type` op (TF's generated wrapper)."""
    def fn(x, y, name=None):
        return _apply(op_type, ir_name, name, [("x", x), ("y", y)])
    return _named(fn, public_name, doc)


def add(x, y, name=None):
    """`tf.add`: x + y with broadcasting (an AddV2 named `Add`; strings concatenate with Add).
    `y` is converted with `x`'s dtype as a hint."""
    with op_scope(name, "Add", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, preferred_dtype=x.dtype, name="y")
        op_type = "Add" if x.dtype == dt.string else "AddV2"
        return _apply(op_type, "math.add", scope, [("x", x), ("y", y)])


subtract = _gen_binary("subtract", "Sub", "math.sub", "`tf.subtract`: x - y with broadcasting.")
multiply = _gen_binary("multiply", "Mul", "math.mul", "`tf.multiply`: x * y with broadcasting.")
realdiv = _gen_binary("realdiv", "RealDiv", "math.real_div", "`tf.realdiv`: x / y for real types.")
floor_div = _gen_binary("floor_div", "FloorDiv", "math.floor_div",
                        "`tf.floor_div`: floor(x / y), Python's // for integers.")
floormod = _gen_binary("floormod", "FloorMod", "math.floor_mod",
                       "`tf.floormod` (`tf.mod`): remainder of floor division, Python's %.")
mod = floormod
truncatediv = _gen_binary("truncatediv", "TruncateDiv", "math.truncate_div",
                          "`tf.truncatediv`: division rounding toward zero, as C.")
truncatemod = _gen_binary("truncatemod", "TruncateMod", "math.truncate_mod",
                          "`tf.truncatemod`: remainder with the sign of x, as C's %.")
maximum = _gen_binary("maximum", "Maximum", "math.maximum", "`tf.maximum`: the larger of x and y.")
minimum = _gen_binary("minimum", "Minimum", "math.minimum", "`tf.minimum`: the smaller of x and y.")
squared_difference = _gen_binary("squared_difference", "SquaredDifference", "math.squared_difference",
                                 "`tf.squared_difference`: (x - y) ** 2.")
logical_and = _gen_binary("logical_and", "LogicalAnd", "math.logical_and", "`tf.logical_and`.")
logical_or = _gen_binary("logical_or", "LogicalOr", "math.logical_or", "`tf.logical_or`.")
equal = _gen_binary("equal", "Equal", "math.equal", "`tf.equal`: x == y elementwise (bool).")
not_equal = _gen_binary("not_equal", "NotEqual", "math.not_equal", "`tf.not_equal`: x != y (bool).")
greater = _gen_binary("greater", "Greater", "math.greater", "`tf.greater`: x > y (bool).")
greater_equal = _gen_binary("greater_equal", "GreaterEqual", "math.greater_equal",
                            "`tf.greater_equal`: x >= y (bool).")
less = _gen_binary("less", "Less", "math.less", "`tf.less`: x < y (bool).")
less_equal = _gen_binary("less_equal", "LessEqual", "math.less_equal", "`tf.less_equal`: x <= y (bool).")


def atan2(y, x, name=None):
    """`tf.atan2`: the angle of the point (x, y) (note TF's argument order)."""
    return _apply("Atan2", "math.atan2", name, [("y", y), ("x", x)])


def pow(x, y, name=None):  # noqa: A001 (TF's name)
    """`tf.pow`: x ** y (a Pow op in scope `Pow`)."""
    with op_scope(name, "Pow", [x]) as scope:
        return _apply("Pow", "math.pow", scope, [("x", x), ("y", y)])


def logical_xor(x, y, name="LogicalXor"):
    """`tf.logical_xor`: (x or y) and not (x and y), built from those three ops as TF does."""
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# Division --------------------------------------------------------------------------------------
# Integer types that Python 3 division turns into floats first (TF's _TRUEDIV_TABLE).
_TRUEDIV_TABLE = {
    dt.uint8: dt.float32, dt.int8: dt.float32, dt.uint16: dt.float32, dt.int16: dt.float32,
    dt.uint32: dt.float64, dt.int32: dt.float64, dt.uint64: dt.float64, dt.int64: dt.float64,
    dt.bfloat16: None, dt.float16: None, dt.float32: None, dt.float64: None,
    dt.complex64: None, dt.complex128: None,
}


def truediv(x, y, name=None):
    """`tf.truediv`: Python 3 division; integers are cast to float32 (8/16-bit) or float64
    first, as TF does."""
    with op_scope(name, "truediv", [x, y]) as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, preferred_dtype=x.dtype, name="y")
        if x.dtype != y.dtype:
            raise TypeError(f"`x` and `y` must have the same dtype, got {x.dtype!r} != {y.dtype!r}.")
        if x.dtype not in _TRUEDIV_TABLE:
            raise TypeError(f"Invalid dtype {x.dtype!r} in __truediv__. Expected one of "
                            f"{{{', '.join(repr(d) for d in _TRUEDIV_TABLE)}}}.")
        target = _TRUEDIV_TABLE[x.dtype]
        if target is not None:
            x, y = cast(x, target), cast(y, target)
        return _apply("RealDiv", "math.real_div", scope, [("x", x), ("y", y)])


def div(x, y, name=None):
    """`tf.div` (TF1's Python 2 division): RealDiv for floats, FloorDiv for integers."""
    with op_scope(name, "div", [x, y]) as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, dtype=x.dtype, name="y")
        floating = x.dtype.is_floating or x.dtype.is_complex
        return _apply("RealDiv" if floating else "FloorDiv",
                      "math.real_div" if floating else "math.floor_div", scope, [("x", x), ("y", y)])


def divide(x, y, name=None):
    """`tf.divide`: `x / y` (truediv)."""
    if name is not None:
        return truediv(x, y, name=name)
    if not _is_tensor_like(x):
        x = convert_to_tensor(x, dtype=y.dtype if _is_tensor_like(y) else None)
    return x / y


def floordiv(x, y, name=None):
    """`tf.floordiv`: floor division (a FloorDiv op in scope `floordiv`)."""
    with op_scope(name, "floordiv", [x, y]) as scope:
        return _apply("FloorDiv", "math.floor_div", scope, [("x", x), ("y", y)])


def _mod_operator(x, y, name=None):
    """math_ops.mod, behind `%`: a FloorMod op in scope `mod`."""
    with op_scope(name, "mod", [x, y]) as scope:
        return floormod(x, y, name=scope)


# n-ary -----------------------------------------------------------------------------------------
_ADD_N_ERROR = ("Inputs must be an iterable of at least one Tensor/IndexedSlices with the same dtype "
                "and shape.")


def add_n(inputs, name=None):
    """`tf.add_n`: the sum of same-shaped tensors (an AddN op; one input passes through)."""
    if not inputs or not isinstance(inputs, Iterable):
        raise ValueError(_ADD_N_ERROR)
    tensors = [convert_to_tensor(x) for x in inputs]
    if len(tensors) == 1:
        return array_ops.identity(tensors[0], name=name) if name else tensors[0]
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"Tensors in list passed to 'inputs' of 'AddN' Op have types "
                        f"[{', '.join(t.dtype.name for t in tensors)}] that don't all match.")
    return _apply("AddN", "math.add_n", name, [("inputs", t) for t in tensors],
                  attrs={"N": len(tensors)})


def scalar_mul(scalar, x, name=None):
    """`tf.scalar_mul`: a 0-D `scalar` times `x` (a Mul op)."""
    scalar = convert_to_tensor(scalar, dtype=dt.as_dtype(x.dtype), name="scalar")
    if scalar.shape.ndims != 0:
        raise ValueError(f"The input scalar must be a 0-D value. Received shape {scalar.shape}.")
    return _apply("Mul", "math.mul", name, [("x", scalar), ("y", x)])


# Unary elementwise ops -------------------------------------------------------------------------
def _gen_unary(public_name, op_type, ir_name, doc):
    def fn(x, name=None):
        return _apply(op_type, ir_name, name, [("x", x)])
    return _named(fn, public_name, doc)


abs = _gen_unary("abs", "Abs", "math.abs", "`tf.abs`: |x| (real types).")  # noqa: A001
negative = _gen_unary("negative", "Neg", "math.neg", "`tf.negative`: -x.")
sign = _gen_unary("sign", "Sign", "math.sign", "`tf.sign`: -1, 0 or 1.")
square = _gen_unary("square", "Square", "math.square", "`tf.square`: x * x.")
sqrt = _gen_unary("sqrt", "Sqrt", "math.sqrt", "`tf.sqrt`.")
rsqrt = _gen_unary("rsqrt", "Rsqrt", "math.rsqrt", "`tf.rsqrt`: 1 / sqrt(x).")
exp = _gen_unary("exp", "Exp", "math.exp", "`tf.exp`.")
expm1 = _gen_unary("expm1", "Expm1", "math.expm1", "`tf.expm1`: exp(x) - 1.")
log = _gen_unary("log", "Log", "math.log", "`tf.log`: natural logarithm.")
log1p = _gen_unary("log1p", "Log1p", "math.log1p", "`tf.log1p`: log(1 + x).")
sin = _gen_unary("sin", "Sin", "math.sin", "`tf.sin`.")
cos = _gen_unary("cos", "Cos", "math.cos", "`tf.cos`.")
tan = _gen_unary("tan", "Tan", "math.tan", "`tf.tan`.")
asin = _gen_unary("asin", "Asin", "math.asin", "`tf.asin`.")
acos = _gen_unary("acos", "Acos", "math.acos", "`tf.acos`.")
atan = _gen_unary("atan", "Atan", "math.atan", "`tf.atan`.")
sinh = _gen_unary("sinh", "Sinh", "math.sinh", "`tf.sinh`.")
cosh = _gen_unary("cosh", "Cosh", "math.cosh", "`tf.cosh`.")
tanh = _gen_unary("tanh", "Tanh", "math.tanh", "`tf.tanh`.")
sigmoid = _gen_unary("sigmoid", "Sigmoid", "math.sigmoid", "`tf.sigmoid`: 1 / (1 + exp(-x)).")
floor = _gen_unary("floor", "Floor", "math.floor", "`tf.floor`.")
ceil = _gen_unary("ceil", "Ceil", "math.ceil", "`tf.ceil`.")
rint = _gen_unary("rint", "Rint", "math.round", "`tf.rint`: round half to even.")
reciprocal = _gen_unary("reciprocal", "Reciprocal", "math.reciprocal", "`tf.reciprocal`: 1 / x.")
is_finite = _gen_unary("is_finite", "IsFinite", "math.is_finite", "`tf.is_finite` (bool).")
is_nan = _gen_unary("is_nan", "IsNan", "math.is_nan", "`tf.is_nan` (bool).")
is_inf = _gen_unary("is_inf", "IsInf", "math.is_inf", "`tf.is_inf` (bool).")
logical_not = _gen_unary("logical_not", "LogicalNot", "math.logical_not", "`tf.logical_not`.")


def round(x, name=None):  # noqa: A001 (TF's name)
    """`tf.round`: round half to even; integers are returned unchanged (no op)."""
    x = convert_to_tensor(x, name="x")
    if x.dtype.is_integer:
        return x
    return _apply("Round", "math.round", name, [("x", x)])


# Casts -----------------------------------------------------------------------------------------
def cast(x, dtype, name=None):
    """`tf.cast`: convert to `dtype` (floats truncate toward zero into ints). A tensor that
    already has `dtype` is returned as is, without an op."""
    dtype = dt.as_dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == dtype:
        return x
    with op_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == dtype:
            return x
        return _apply("Cast", "math.cast", scope, [("x", x)], to=dtype,
                      attrs={"SrcT": x.dtype, "DstT": dtype, "Truncate": False})


def _cast_to(public_name, dtype, default_name):
    def fn(x, name=default_name):
        return cast(x, dtype, name=name)
    return _named(fn, public_name, f"`tf.{public_name}`: cast to {dtype.name} (a Cast op named "
                                   f"{default_name}).")


to_float = _cast_to("to_float", dt.float32, "ToFloat")
to_double = _cast_to("to_double", dt.float64, "ToDouble")
to_int32 = _cast_to("to_int32", dt.int32, "ToInt32")
to_int64 = _cast_to("to_int64", dt.int64, "ToInt64")
to_bfloat16 = _cast_to("to_bfloat16", dt.bfloat16, "ToBFloat16")


def saturate_cast(value, dtype, name=None):
    """`tf.saturate_cast`: clamp to what `dtype` can hold (a ClipByValue named `clamp`), then
    cast. The limits are TF's: nudged toward 0 where the input type cannot hold them exactly."""
    with op_scope(name, "saturate_cast", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        dtype = dt.as_dtype(dtype)
        in_dtype = value.dtype
        if in_dtype.is_complex or dtype.is_complex or in_dtype.numpy is None:
            raise TypeError(f"tfc's saturate_cast takes real numeric types, got {in_dtype.name} "
                            f"to {dtype.name}")
        low, high = _saturation_limits(in_dtype, dtype)
        value = _clip_by_value_op(value, convert_to_tensor(low, dtype=in_dtype),
                                  convert_to_tensor(high, dtype=in_dtype), name="clamp")
        return cast(value, dtype, name=scope)


def _saturation_limits(in_dtype, out_dtype):
    """TF's clamp bounds for saturate_cast, as values of `in_dtype`."""
    np_type = in_dtype.numpy.type
    try:
        promoted = np.promote_types(in_dtype.numpy, out_dtype.numpy)
    except TypeError:
        promoted = np.float64
    low = np_type(np.maximum(in_dtype.min, out_dtype.min))
    if np.array([low, out_dtype.min], dtype=promoted)[0] < np.array(out_dtype.min, dtype=promoted):
        low = np.nextafter(low, np_type(0), dtype=np_type)
    high = np_type(np.minimum(float(in_dtype.max), float(out_dtype.max)))
    if np.array([high, out_dtype.max], dtype=promoted)[0] > np.array(out_dtype.max, dtype=promoted):
        high = np.nextafter(high, np_type(0), dtype=np_type)
    return low, high


def _clip_by_value_op(t, low, high, name=None):
    """gen_math_ops._clip_by_value (ClipByValue): min(max_value, t) then max(min_value, ...);
    NaN stays NaN, as in TF's kernel."""
    def lower(ctx, op, x, lo, hi):
        return ctx.b.op("math.maximum", ctx.b.op("math.minimum", x, hi), lo)

    return _apply("ClipByValue", None, name, [("t", t), ("clip_value_min", low),
                                               ("clip_value_max", high)], lower=lower)


# Reductions ------------------------------------------------------------------------------------
def _reduction_dims(x, axis):
    """TF's _ReductionDims: `axis`, or for all axes a Const range(rank) in the current scope
    (Rank and Range ops when the rank is unknown or 0, or `x` is not a tensor)."""
    if axis is not None:
        return axis
    rank = x.shape.ndims if _is_tensor_like(x) else None
    if rank:
        return array_ops.constant(np.arange(rank, dtype=np.int32))
    return array_ops.range(0, array_ops.rank(x))


def _reduce_lower(ir_name):
    def lower(ctx, op, x, axes):
        dims = array_ops.static_ints(ctx, axes, "reduction_indices")
        keep_dims = op.get_attr("keep_dims")
        if dims is None:
            shape = None if x.type.shape is None or not keep_dims else (None,) * len(x.type.shape)
            return ctx.unknown(TensorType(shape, x.type.dtype))
        return ctx.b.op(ir_name, x, axes=dims, keep_dims=keep_dims)
    return lower


def _reduce(op_type, ir_name, input_tensor, axis, keepdims, name):
    keepdims = bool(keepdims) if keepdims is not None else False
    dims = _reduction_dims(input_tensor, axis)
    out = _apply(op_type, ir_name, name, [("input", input_tensor), ("reduction_indices", dims)],
                 index=("reduction_indices",), lower=_reduce_lower(ir_name),
                 attrs={"keep_dims": keepdims})
    if axis is None and not keepdims and not out.shape.is_fully_defined():
        out.set_shape(())               # TF's _may_reduce_to_scalar
    return out


def _reduction(public_name, op_type, ir_name, what):
    def reduce(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
        axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
        keepdims = _deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
        return _reduce(op_type, ir_name, input_tensor, axis, keepdims, name)
    return _named(reduce, public_name,
                  f"`tf.{public_name}`: the {what} over `axis` (all axes if None); `keepdims` "
                  f"keeps reduced axes as size 1. A {op_type} op.")


reduce_sum = _reduction("reduce_sum", "Sum", "math.reduce_sum", "sum")
reduce_mean = _reduction("reduce_mean", "Mean", "math.reduce_mean", "mean")
reduce_max = _reduction("reduce_max", "Max", "math.reduce_max", "maximum")
reduce_min = _reduction("reduce_min", "Min", "math.reduce_min", "minimum")
reduce_prod = _reduction("reduce_prod", "Prod", "math.reduce_prod", "product")
reduce_any = _reduction("reduce_any", "Any", "math.reduce_any", "logical or")
reduce_all = _reduction("reduce_all", "All", "math.reduce_all", "logical and")


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """`tf.reduce_logsumexp`: log(sum(exp(x))) computed stably, as TF builds it (the max is
    subtracted first; an infinite max is replaced by 0)."""
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    keepdims = bool(_deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims))
    with op_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        raw_max = reduce_max(input_tensor, axis=axis, keepdims=True)
        my_max = array_ops.stop_gradient(_select_v2(is_finite(raw_max), raw_max, 0))
        result = log(reduce_sum(exp(subtract(input_tensor, my_max)), axis=axis, keepdims=keepdims))
        if not keepdims:
            my_max = array_ops.reshape(my_max, _shape(result))
        result = add(result, my_max, name=scope)
    if axis is None and not keepdims and not result.shape.is_fully_defined():
        result.set_shape(())
    return result


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype=dt.int64, name=None,
                  reduction_indices=None, keep_dims=None, input=None):  # noqa: A002 (TF's name)
    """`tf.count_nonzero`: how many elements are not zero (not False, not ''), over `axis`."""
    keepdims = bool(_deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims))
    input_tensor = _deprecated_lookup("input", input, "input_tensor", input_tensor)
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    with op_scope(name, "count_nonzero", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input")
        if x.dtype.is_bool:
            predicate = x
        else:
            zero = array_ops.constant(b"" if x.dtype == dt.string else 0, dtype=x.dtype, name="zeros")
            predicate = not_equal(x, zero)
        return cast(reduce_sum(cast(predicate, dt.int64), axis=axis, keepdims=keepdims), dtype)


# argmax / argmin -------------------------------------------------------------------------------
def _arg_reduce(op_type, ir_name, input, axis, name, output_type):  # noqa: A002
    output_type = dt.as_dtype(output_type)

    def lower(ctx, op, x, dimension):
        dims = array_ops.static_ints(ctx, dimension, "dimension")
        rank = None if x.type.shape is None else len(x.type.shape)
        if dims is None:
            shape = None if rank is None else (None,) * max(rank - 1, 0)
            return ctx.unknown(TensorType(shape, output_type))
        if dimension.type.shape:
            raise InferenceError(f"Shape must be rank 0 but is rank {len(dimension.type.shape)}")
        if rank is not None and not -rank <= dims[0] < rank:
            raise InferenceError(f"Dimension ({dims[0]}) must be in the range [{-rank}, {rank}), "
                                 f"where {rank} is the number of dimensions in the input.")
        return ctx.b.op(ir_name, x, axis=dims[0], output_type=output_type)

    return _apply(op_type, ir_name, name, [("input", input), ("dimension", 0 if axis is None else axis)],
                  index=("dimension",), lower=lower, attrs={"output_type": output_type})


def argmax(input, axis=None, name=None, dimension=None, output_type=dt.int64):  # noqa: A002
    """`tf.argmax`: the index of the largest value along `axis` (default 0)."""
    axis = _deprecated_lookup("axis", axis, "dimension", dimension)
    return _arg_reduce("ArgMax", "math.argmax", input, axis, name, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=dt.int64):  # noqa: A002
    """`tf.argmin`: the index of the smallest value along `axis` (default 0)."""
    axis = _deprecated_lookup("axis", axis, "dimension", dimension)
    return _arg_reduce("ArgMin", "math.argmin", input, axis, name, output_type)


# matmul and tensordot --------------------------------------------------------------------------
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """`tf.matmul`: the matrix product over the last two dims. A MatMul op for two matrices,
    BatchMatMulV2 (batch dims broadcasting) when a rank is above 2 or unknown; `*_is_sparse`
    on float32 matrices gives TF's SparseMatMul (computed densely)."""
    with op_scope(name, "MatMul", [a, b]) as scope:
        for t, adj, which in ((transpose_a, adjoint_a, "a"), (transpose_b, adjoint_b, "b")):
            if t and adj:
                raise ValueError(f"Only one of `transpose_{which}` and `adjoint_{which}` can be True. "
                                 f"Received `transpose_{which}`={t}, `adjoint_{which}`={adj}.")
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, preferred_dtype=a.dtype, name="b")
        for t, adj in ((a, adjoint_a), (b, adjoint_b)):
            if adj and t.dtype.is_complex:
                raise NotImplementedError("tfc has no complex conjugate: adjoint of complex "
                                          "matrices is not supported")
        transpose_a, transpose_b = bool(transpose_a or adjoint_a), bool(transpose_b or adjoint_b)
        ranks = (a.shape.ndims, b.shape.ndims)
        batched = any(r is None or r > 2 for r in ranks)
        if batched and not (a_is_sparse or b_is_sparse):
            return _apply("BatchMatMulV2", "math.matmul", scope, [("x", a), ("y", b)],
                          lower=_matmul_lower(transpose_a, transpose_b, rank2=False),
                          attrs={"adj_x": transpose_a, "adj_y": transpose_b})
        sparse_types = (dt.float32, dt.bfloat16)
        sparse = (a_is_sparse or b_is_sparse) and a.dtype in sparse_types and b.dtype in sparse_types
        return _apply("SparseMatMul" if sparse else "MatMul", "math.matmul", scope, [("a", a), ("b", b)],
                      lower=_matmul_lower(transpose_a, transpose_b, rank2=True),
                      attrs={"transpose_a": transpose_a, "transpose_b": transpose_b})


def _matmul_lower(transpose_a, transpose_b, rank2):
    def lower(ctx, op, a, b):
        shapes = (a.type.shape, b.type.shape)
        if rank2:
            for shape in shapes:
                if shape is not None and len(shape) != 2:
                    raise InferenceError(f"Shape must be rank 2 but is rank {len(shape)}")
        elif all(s is not None and len(s) >= 2 for s in shapes):
            _check_broadcast(shapes[0][:-2], shapes[1][:-2])
        return ctx.b.op("math.matmul", a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    return lower


def tensordot(a, b, axes, name=None):
    """`tf.tensordot`: contract `axes` of `a` with those of `b` (an int n: the last n of a
    with the first n of b; or a pair of axis lists). As TF builds it for static shapes:
    transpose and reshape each side to a matrix, MatMul, reshape to the free dims."""
    with op_scope(name, "Tensordot", [a, b, axes]) as scope:
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, name="b")
        a_axes, b_axes = _tensordot_axes(a, axes)
        a_matrix, a_free = _tensordot_reshape(a, a_axes)
        b_matrix, b_free = _tensordot_reshape(b, b_axes, flipped=True)
        product = matmul(a_matrix, b_matrix)
        if product.shape.as_list() == a_free + b_free:
            return product
        return array_ops.reshape(product, np.array(a_free + b_free, np.int32), name=scope)


def _tensordot_axes(a, axes):
    if isinstance(axes, (int, np.integer)):
        if axes < 0:
            raise ValueError(f"`axes` must be at least 0. Received: {axes}.")
        rank = a.shape.ndims
        if rank is None:
            raise NotImplementedError("tfc's tensordot needs inputs of known shape")
        if axes > rank:
            raise ValueError(f"`axes` must not be larger than the number of dimensions of tensor {a}.  "
                             f"Received {axes}, vs tensor dimensions {rank}.")
        return list(range(rank - axes, rank)), list(range(axes))
    if isinstance(axes, (list, tuple)):
        if len(axes) != 2:
            raise ValueError(f"`axes` must be an integer or have length 2. Received {axes}.")
        a_axes, b_axes = axes
        if isinstance(a_axes, (int, np.integer)) and isinstance(b_axes, (int, np.integer)):
            a_axes, b_axes = [a_axes], [b_axes]
        a_axes, b_axes = list(a_axes), list(b_axes)
        if len(a_axes) != len(b_axes):
            raise ValueError(f"Different number of contraction axes `a` and `b`, "
                             f"{len(a_axes)} != {len(b_axes)}.")
        return a_axes, b_axes
    raise NotImplementedError("tfc's tensordot takes `axes` as an int or a pair of lists, not a tensor")


def _tensordot_reshape(a, axes, flipped=False):
    """`a` transposed and reshaped to a matrix whose rows (columns if `flipped`) are the free
    dims; returns it and the free dims."""
    if not a.shape.is_fully_defined():
        raise NotImplementedError("tfc's tensordot needs inputs of fully known shape, got "
                                  f"{a.shape}")
    shape = a.shape.as_list()
    axes = [i if i >= 0 else i + len(shape) for i in axes]
    free = [i for i in range(len(shape)) if i not in axes]
    free_dims = [shape[i] for i in free]
    prod_free = int(np.prod(free_dims, dtype=np.int64))
    prod_axes = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    perm = axes + free if flipped else free + axes
    new_shape = [prod_axes, prod_free] if flipped else [prod_free, prod_axes]
    if perm != list(range(len(shape))):
        a = array_ops.transpose(a, perm)
    if a.shape.as_list() != new_shape:
        a = array_ops.reshape(a, new_shape)
    return a, free_dims


# Linear algebra --------------------------------------------------------------------------------
def matrix_inverse(input, adjoint=False, name=None):  # noqa: A002
    """`tf.matrix_inverse` (`tf.linalg.inv`): the inverse of each square matrix."""
    return _apply("MatrixInverse", "linalg.matrix_inverse", name, [("input", input)],
                  adjoint=bool(adjoint), attrs={"adjoint": bool(adjoint)})


def matrix_determinant(input, name=None):  # noqa: A002
    """`tf.matrix_determinant` (`tf.linalg.det`): the determinant of each square matrix."""
    return _apply("MatrixDeterminant", "linalg.matrix_determinant", name, [("input", input)])


QR = collections.namedtuple("Qr", ["q", "r"])


def qr(input, full_matrices=False, name=None):  # noqa: A002
    """`tf.qr` (`tf.linalg.qr`): the QR decomposition of each matrix, a Qr op with outputs
    (q, r): q [..., M, K] orthonormal columns, r [..., K, N] upper triangular, K = min(M, N)
    (K = M with `full_matrices`)."""
    q, r = _apply("Qr", "linalg.qr", name, [("input", input)], full_matrices=bool(full_matrices),
                  attrs={"full_matrices": bool(full_matrices)})
    return QR(q, r)


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """`tf.matrix_transpose` (`tf.linalg.transpose`): swap the last two dims."""
    with op_scope(name, "matrix_transpose", [a]):
        a = convert_to_tensor(a, name="a")
        ndims = a.shape.ndims
        if ndims is None:
            raise NotImplementedError("tfc's matrix_transpose needs an input of known rank")
        if ndims < 2:
            raise ValueError(f"Argument `a` should be a (batch) matrix with rank >= 2.  Received `a` = "
                             f"{a} with shape: {a.shape}")
        if conjugate and a.dtype.is_complex:
            raise NotImplementedError("tfc has no complex conjugate: conjugate=True on complex "
                                      "matrices is not supported")
        return array_ops.transpose(a, list(range(ndims - 2)) + [ndims - 1, ndims - 2])


def trace(x, name=None):
    """`tf.trace` (`tf.linalg.trace`): the sum of each matrix's main diagonal."""
    with op_scope(name, "Trace", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        return reduce_sum(array_ops.matrix_diag_part(x), [-1], name=scope)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):  # noqa: A002
    """`tf.norm`: the vector norm over `axis` (an int or None: all elements) or the matrix
    norm over a pair of axes. Orders: 'euclidean'/2 and other positive p, 1, inf; for matrices
    'fro'/'euclidean', 1 and inf (the matrix 2-norm needs an SVD, which tfc lacks)."""
    keepdims = bool(_deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims))
    is_matrix_norm = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix_norm:
        axis = tuple(axis)
        if not all(isinstance(i, int) for i in axis) or axis[0] == axis[1]:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        supported = ["euclidean", "fro", 1, 2, np.inf]
        if not (ord in ("euclidean", "fro") if isinstance(ord, str) else ord in (1, 2, np.inf)):
            raise ValueError(f"'ord' must be a supported matrix norm in {supported}, got {ord}")
        if ord == 2:
            raise NotImplementedError("tfc cannot compute the matrix 2-norm (it needs an SVD)")
    else:
        if not (isinstance(axis, int) or axis is None):
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if not (ord == "euclidean" or (not isinstance(ord, str) and np.isreal(ord) and ord > 0)):
            raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
        if axis is not None:
            axis = (axis,)
    with op_scope(name, "norm", [tensor]):
        tensor = convert_to_tensor(tensor)
        if isinstance(ord, str) or ord == 2:
            result = sqrt(reduce_sum(tensor * tensor, axis, keepdims=True))
        else:
            result = abs(tensor)
            if ord == 1:
                result = reduce_sum(result, None if axis is None else axis[0], keepdims=True)
                if is_matrix_norm:
                    result = reduce_max(result, axis[-1], keepdims=True)
            elif ord == np.inf:
                if is_matrix_norm:
                    result = reduce_sum(result, axis[1], keepdims=True)
                result = reduce_max(result, None if axis is None else axis[0], keepdims=True)
            else:
                result = pow(reduce_sum(pow(result, ord), axis, keepdims=True), 1.0 / ord)
        if not keepdims:
            result = array_ops.squeeze(result, axis)
        return result


# Clipping --------------------------------------------------------------------------------------
def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """`tf.clip_by_value`: min(max(t, clip_value_min), clip_value_max), as a Minimum then a
    Maximum op; the bounds may not broadcast `t` to a larger shape."""
    with op_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = minimum(values, clip_value_max)
        values.shape.assert_is_compatible_with(t_min.shape)
        t_max = maximum(t_min, clip_value_min, name=scope)
        values.shape.assert_is_compatible_with(t_max.shape)
    return t_max


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """`tf.clip_by_norm`: t * clip_norm / max(l2norm(t), clip_norm), the L2 norm taken over
    `axes` (all if None); TF's formula, safe for an all-zero `t`."""
    with op_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = convert_to_tensor(t, name="t")
        if np.isscalar(clip_norm):
            clip_norm = max(clip_norm, 0)
        else:
            clip_norm = cast(maximum(clip_norm, 0), dtype=values.dtype)
        l2sum = reduce_sum(values * values, axes, keepdims=True)
        pred = l2sum > 0
        l2sum_safe = where(pred, l2sum, array_ops.ones_like(l2sum))
        l2norm = where(pred, sqrt(l2sum_safe), l2sum)
        intermediate = values * clip_norm
        values.shape.assert_is_compatible_with(intermediate.shape)
        return array_ops.identity(intermediate / maximum(l2norm, clip_norm), name=scope)


def clip_by_average_norm(t, clip_norm, name=None):
    """`tf.clip_by_average_norm`: t * clip_norm / max(l2norm(t) / size(t), clip_norm)."""
    with op_scope(name, "clip_by_average_norm", [t, clip_norm]) as scope:
        t = convert_to_tensor(t, name="t")
        n_element = cast(array_ops.size(t), dt.float32)
        l2norm_inv = rsqrt(reduce_sum(t * t, array_ops.range(array_ops.rank(t))))
        clipped = t * clip_norm * minimum(l2norm_inv * n_element, array_ops.constant(1.0) / clip_norm)
        return array_ops.identity(clipped, name=scope)


def _check_sequence(t_list):
    if not isinstance(t_list, Sequence) or isinstance(t_list, str):
        raise TypeError(f"`t_list` should be a sequence of tensors. Received {type(t_list)}.")
    return list(t_list)


def global_norm(t_list, name=None):
    """`tf.global_norm`: sqrt(sum of squares of every element of every tensor in `t_list`)
    (None entries are skipped), as TF builds it from L2Loss ops."""
    from . import nn_ops               # nn_ops imports this module

    t_list = _check_sequence(t_list)
    with op_scope(name, "global_norm", t_list):
        values = [None if t is None else convert_to_tensor(t, name=f"t_{i}") for i, t in enumerate(t_list)]
        half_squared_norms = [nn_ops.l2_loss(v) for v in values if v is not None]
        half_squared_norm = reduce_sum(array_ops.stack(half_squared_norms))
        two = array_ops.constant(2.0, dtype=half_squared_norm.dtype)
        return sqrt(half_squared_norm * two, name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """`tf.clip_by_global_norm`: scale every tensor by clip_norm / max(global_norm, clip_norm);
    returns (clipped list, global_norm). An infinite norm makes every value NaN, as in TF."""
    t_list = _check_sequence(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    with op_scope(name, "clip_by_global_norm", t_list + [clip_norm]) as scope:
        scale_for_finite = clip_norm * minimum(1.0 / use_norm,
                                               array_ops.constant(1.0, dtype=use_norm.dtype) / clip_norm)
        scale = scale_for_finite + (use_norm - use_norm)   # NaN when the norm is infinite
        values = [None if t is None else convert_to_tensor(t, name=f"t_{i}") for i, t in enumerate(t_list)]
        clipped = [None if v is None else array_ops.identity(v * cast(scale, v.dtype), name=f"{scope}_{i}")
                   for i, v in enumerate(values)]
    return clipped, use_norm


# where -----------------------------------------------------------------------------------------
def _where_indices(condition, name):
    with op_scope(name, "Where", [condition]) as scope:
        condition = convert_to_tensor(condition, preferred_dtype=dt.bool_, name="condition")
        return _apply("Where", "array.where", scope, [("condition", condition)])


def where(condition, x=None, y=None, name=None):
    """`tf.where` (TF1): with `condition` only, the int64 coordinates of its true elements;
    with `x` and `y`, a Select: elements of x where condition, else of y (condition a scalar,
    x's shape, or a vector picking rows)."""
    if x is None and y is None:
        return _where_indices(condition, name)
    if x is not None and y is not None:
        return _apply("Select", "math.select", name, [("condition", condition), ("t", x), ("e", y)],
                      same=("t", "e"))
    raise ValueError("x and y must both be non-None or both be None.")


def _select_v2(condition, t, e, name=None):
    return _apply("SelectV2", "math.select_v2", name, [("condition", condition), ("t", t), ("e", e)],
                  same=("t", "e"))


def where_v2(condition, x=None, y=None, name=None):
    """`tf.where_v2` (TF2's tf.where): like `where`, but condition, x and y broadcast."""
    if x is None and y is None:
        return _where_indices(condition, name)
    if x is not None and y is not None:
        return _select_v2(condition, x, y, name)
    raise ValueError("x and y must both be non-None or both be None.")


# Python operators ------------------------------------------------------------------------------
def _mul_operator(x, y, name=None):
    """`*`: Mul; bool operands are multiplied as int32 and cast back, as TF does."""
    if any(isinstance(v, Tensor) and v.dtype.is_bool for v in (x, y)):
        return cast(multiply(cast(x, dt.int32), cast(y, dt.int32), name=name), dt.bool_)
    return multiply(x, y, name=name)


def _logical_operator(symbol, logical_fn):
    """`&`, `|`, `^`: the logical op on bool tensors (TF's bitwise ops on integers are not in
    tfc)."""
    def fn(x, y, name=None):
        x = convert_to_tensor(x)
        if not x.dtype.is_bool:
            raise TypeError(f"tfc has no bitwise ops: '{symbol}' needs bool tensors, got {x.dtype.name}")
        return logical_fn(x, y, name=name)
    return fn


def _invert_operator(x, name=None):
    x = convert_to_tensor(x)
    if not x.dtype.is_bool:
        raise TypeError(f"tfc has no bitwise ops: '~' needs a bool tensor, got {x.dtype.name}")
    return logical_not(x, name=name)


# TF's operator name (the name scope of the ops it builds) -> the function behind it.
_BINARY_OPERATORS = {
    "add": add, "sub": subtract, "mul": _mul_operator, "truediv": truediv, "floordiv": floordiv,
    "mod": _mod_operator, "pow": pow, "matmul": matmul,
    "and": _logical_operator("&", logical_and), "or": _logical_operator("|", logical_or),
    "xor": _logical_operator("^", logical_xor),
}


def _binary_operator(op_name, fn):
    """`x OP y` and the reflected `y OP x` (x not a tensor: converted with y's dtype, as 'op/x'),
    both in name scope `op_name` (TF's binary_op_wrapper)."""
    def forward(x, y):
        with op_scope(None, op_name, [x, y]) as scope:
            return fn(x, y, name=scope)

    def reflected(y, x):
        with op_scope(None, op_name, [x, y]) as scope:
            y = convert_to_tensor(y)
            x = convert_to_tensor(x, dtype=y.dtype, name="x")
            return fn(x, y, name=scope)

    return forward, reflected


def _operators() -> dict:
    methods = {}
    for op_name, fn in _BINARY_OPERATORS.items():
        methods[f"__{op_name}__"], methods[f"__r{op_name}__"] = _binary_operator(op_name, fn)
    methods.update({
        "__neg__": lambda x: negative(x), "__abs__": lambda x: abs(x),
        "__invert__": lambda x: _invert_operator(x),
        "__lt__": lambda x, y: less(x, y), "__le__": lambda x, y: less_equal(x, y),
        "__gt__": lambda x, y: greater(x, y), "__ge__": lambda x, y: greater_equal(x, y),
    })
    return methods   # __eq__ / __ne__ stay identity comparisons, as in TF1


def install_operators() -> None:
    """Give Tensor the operators, and Variable the same ones applied to its value. Idempotent.
    tfc.api.variables imports this module before it defines Variable, so when this module is
    loaded from inside that import only Tensor gets them here, and tfc/math.py (imported once
    every family has loaded) calls again for Variable."""
    from . import variables

    Variable = getattr(variables, "Variable", None)
    for method, fn in _operators().items():
        setattr(Tensor, method, fn)
        if Variable is not None:
            setattr(Variable, method,
                    lambda self, *args, _m=method: getattr(Tensor, _m)(self._as_tensor(), *args))
    if Variable is not None:
        Variable.__array_priority__ = Tensor.__array_priority__


__all__ = [
    # elementwise binary
    "add", "subtract", "multiply", "div", "divide", "truediv", "realdiv", "floordiv", "floor_div",
    "mod", "floormod", "truncatediv", "truncatemod", "pow", "maximum", "minimum",
    "squared_difference", "atan2", "logical_and", "logical_or", "logical_xor", "equal",
    "not_equal", "greater", "greater_equal", "less", "less_equal", "add_n", "scalar_mul",
    # elementwise unary
    "abs", "negative", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "sin",
    "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "floor", "ceil",
    "round", "rint", "reciprocal", "is_finite", "is_nan", "is_inf", "logical_not",
    # casts
    "cast", "saturate_cast", "to_float", "to_double", "to_int32", "to_int64", "to_bfloat16",
    # reductions
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
    "reduce_all", "reduce_logsumexp", "count_nonzero", "argmax", "argmin",
    # linear algebra
    "matmul", "tensordot", "matrix_inverse", "matrix_determinant", "matrix_transpose", "qr",
    "trace", "norm",
    # clipping
    "clip_by_value", "clip_by_norm", "clip_by_average_norm", "clip_by_global_norm", "global_norm",
    # selection
    "where", "where_v2",
]

install_operators()
