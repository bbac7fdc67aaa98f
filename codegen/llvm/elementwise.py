"""Elementwise ops as scalar expressions, and the loop nest that evaluates them.

Each elementwise op of the op table has an entry in `SCALAR`: a function from the LLVM
values of its operands (in compute types: float16 computes as float, bool as i1) to the
result's value. A kernel is then one loop nest over the output: broadcasting is a stride of 0,
adjacent dimensions collapse wherever all operands walk them the same way, and the innermost
loop is a plain strided loop that LLVM vectorizes. Because an op is just an expression, a
group of fused elementwise ops is evaluated in one loop nest by composing the expressions.
"""

from __future__ import annotations

from typing import Callable

from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation, Value
from tfc.ir.dtypes import DType

from . import loops
from .types import F16, F32, F64, I1, I64, compute_type, storage_type

Scalar = Callable[..., ir.Value]     # (expr: ScalarBuilder, *operands) -> value


class ScalarBuilder:
    """Emits the scalar code of one op: `b` is the IR builder, `dtype` the dtype of the op's
    (first) operand, `out_dtype` the result's."""

    def __init__(self, builder: ir.IRBuilder, module: ir.Module, dtype: DType, out_dtype: DType,
                 attributes: dict):
        self.b = builder
        self.module = module
        self.dtype = dtype
        self.out_dtype = out_dtype
        self.attributes = attributes

    @property
    def is_float(self) -> bool:
        return self.dtype.is_floating

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in ("int", "float", "qint")

    def ty(self) -> ir.Type:
        return compute_type(self.dtype)

    def const(self, value) -> ir.Value:
        ty = self.ty()
        return ir.Constant(ty, float(value) if isinstance(ty, (ir.FloatType, ir.DoubleType)) else int(value))

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        """Call `llvm.NAME` overloaded on the type of the first argument."""
        ty = args[0].type
        suffix = {F32: "f32", F64: "f64", F16: "f16"}.get(ty, f"i{getattr(ty, 'width', 0)}")
        full = f"llvm.{name}.{suffix}"
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ty, [a.type for a in args]), full)
        return self.b.call(fn, list(args))


SCALAR: dict[str, Scalar] = {}


def scalar(*names: str):
    def register(fn):
        for name in names:
            SCALAR[name] = fn
        return fn
    return register


# Arithmetic --------------------------------------------------------------------------------------
@scalar("math.add")
def _add(s, x, y):
    return s.b.fadd(x, y) if s.is_float else s.b.add(x, y)


@scalar("math.sub")
def _sub(s, x, y):
    return s.b.fsub(x, y) if s.is_float else s.b.sub(x, y)


@scalar("math.mul")
def _mul(s, x, y):
    return s.b.fmul(x, y) if s.is_float else s.b.mul(x, y)


@scalar("math.real_div")
def _real_div(s, x, y):
    return s.b.fdiv(x, y)


@scalar("math.neg")
def _neg(s, x):
    return s.b.fneg(x) if s.is_float else s.b.sub(s.const(0), x)


@scalar("math.square")
def _square(s, x):
    return _mul(s, x, x)


@scalar("math.squared_difference")
def _squared_difference(s, x, y):
    d = _sub(s, x, y)
    return _mul(s, d, d)


@scalar("math.abs")
def _abs(s, x):
    if s.is_float:
        return s.intrinsic("fabs", x)
    neg = s.b.icmp_signed("<", x, s.const(0))
    return s.b.select(neg, s.b.sub(s.const(0), x), x)


def _minmax(is_max: bool) -> Scalar:
    def emit(s, x, y):
        if s.is_float:
            # NaN in either operand gives NaN (TF's Maximum/Minimum); otherwise the larger.
            pick = s.b.fcmp_ordered(">" if is_max else "<", x, y)
            chosen = s.b.select(pick, x, y)
            x_nan = s.b.fcmp_unordered("uno", x, x)
            return s.b.select(x_nan, x, chosen)
        cmp = (s.b.icmp_signed if s.is_signed else s.b.icmp_unsigned)(">" if is_max else "<", x, y)
        return s.b.select(cmp, x, y)
    return emit


SCALAR["math.maximum"] = _minmax(True)
SCALAR["math.minimum"] = _minmax(False)


@scalar("nn.relu")
def _relu(s, x):
    zero = s.const(0)
    if s.is_float:
        # max(x, 0) that keeps NaN, as the interpreter does.
        return s.b.select(s.b.fcmp_unordered("ult", x, zero), zero, x)
    return s.b.select(s.b.icmp_signed("<", x, zero), zero, x)


@scalar("nn.relu6")
def _relu6(s, x):
    r = _relu(s, x)
    six = s.const(6)
    return s.b.select(s.b.fcmp_ordered(">", r, six), six, r)


# Comparisons and logic ----------------------------------------------------------------------------
def _compare(float_op: str, int_op: str) -> Scalar:
    def emit(s, x, y):
        if s.is_float:
            return s.b.fcmp_ordered(float_op, x, y) if float_op != "!=" else s.b.fcmp_unordered("!=", x, y)
        if s.dtype.is_bool or not s.is_signed:
            return s.b.icmp_unsigned(int_op, x, y)
        return s.b.icmp_signed(int_op, x, y)
    return emit


for _name, _op in (("equal", "=="), ("not_equal", "!="), ("greater", ">"), ("greater_equal", ">="),
                   ("less", "<"), ("less_equal", "<=")):
    SCALAR[f"math.{_name}"] = _compare(_op, _op)

SCALAR["math.logical_and"] = lambda s, x, y: s.b.and_(x, y)
SCALAR["math.logical_or"] = lambda s, x, y: s.b.or_(x, y)
SCALAR["math.logical_xor"] = lambda s, x, y: s.b.xor(x, y)
SCALAR["math.logical_not"] = lambda s, x: s.b.not_(x)
SCALAR["math.select_v2"] = lambda s, c, x, y: s.b.select(c, x, y)


@scalar("math.is_nan")
def _is_nan(s, x):
    return s.b.fcmp_unordered("uno", x, x)


@scalar("math.is_inf")
def _is_inf(s, x):
    return s.b.fcmp_ordered("==", s.intrinsic("fabs", x), s.const(float("inf")))


@scalar("math.is_finite")
def _is_finite(s, x):
    return s.b.fcmp_ordered("<", s.intrinsic("fabs", x), s.const(float("inf")))


# Rounding and roots ------------------------------------------------------------------------------
SCALAR["math.floor"] = lambda s, x: s.intrinsic("floor", x)
SCALAR["math.ceil"] = lambda s, x: s.intrinsic("ceil", x)
SCALAR["math.sqrt"] = lambda s, x: s.intrinsic("sqrt", x)
SCALAR["math.round"] = lambda s, x: s.intrinsic("roundeven", x) if s.is_float else x
SCALAR["math.reciprocal"] = lambda s, x: s.b.fdiv(s.const(1), x)
SCALAR["math.rsqrt"] = lambda s, x: s.b.fdiv(s.const(1), s.intrinsic("sqrt", x))


# Loading, storing and the loop nest ----------------------------------------------------------------
def load_scalar(b: ir.IRBuilder, ptr: ir.Value, dtype: DType) -> ir.Value:
    """Load one element and convert it to its compute type."""
    raw = b.load(ptr)
    if dtype == dt.float16:
        return b.fpext(raw, F32)
    if dtype == dt.bool_:
        return b.trunc(raw, I1)
    return raw


def store_scalar(b: ir.IRBuilder, value: ir.Value, ptr: ir.Value, dtype: DType) -> None:
    if dtype == dt.float16:
        value = b.fptrunc(value, F16)
    elif dtype == dt.bool_:
        value = b.zext(value, storage_type(dtype))
    b.store(value, ptr)


def supports(op: Operation) -> bool:
    return op.name in SCALAR


def emit_elementwise(k, op: Operation) -> None:
    """One elementwise op as a loop nest over its output."""
    emit_fused(k, [op], op.results[0])


def emit_fused(k, ops: list[Operation], output: Value) -> None:
    """Evaluate the elementwise `ops` (in order; each reads earlier ones or outside values)
    in one loop nest writing `output`."""
    b = k.builder
    out_shape = list(output.type.shape)
    inside = {id(r) for op in ops for r in op.results}
    inputs: list[Value] = []
    for op in ops:
        for v in op.operands:
            if id(v) not in inside and all(v is not x for x in inputs):
                inputs.append(v)
    strides = [loops.broadcast_strides(v.type.shape, out_shape) for v in inputs]
    out_strides = loops.row_major_strides(out_shape)
    dims, collapsed = loops.collapse_dims(out_shape, strides + [out_strides])
    in_strides, out_strides = collapsed[:-1], collapsed[-1]
    pointers = [k.ptr(v) for v in inputs]
    out_ptr = k.ptr(output)
    if not dims:
        dims, in_strides, out_strides = [1], [[0] for _ in inputs], [0]
    with loops.for_nest(b, dims) as ivs:
        values: dict[int, ir.Value] = {}
        for v, p, s in zip(inputs, pointers, in_strides):
            values[id(v)] = load_scalar(b, b.gep(p, [loops.offset(b, ivs, s)]), v.type.dtype)
        for op in ops:
            operand_dtype = op.operands[0].type.dtype if op.operands else op.results[0].type.dtype
            if op.name == "math.select_v2":
                operand_dtype = op.operands[1].type.dtype
            sb = ScalarBuilder(b, k.module, operand_dtype, op.results[0].type.dtype, op.attributes)
            values[id(op.results[0])] = SCALAR[op.name](sb, *[values[id(v)] for v in op.operands])
        store_scalar(b, values[id(output)], b.gep(out_ptr, [loops.offset(b, ivs, out_strides)]),
                     output.type.dtype)
