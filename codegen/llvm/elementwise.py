"""Elementwise ops as scalar expressions, and the loop nest that evaluates them.

Each elementwise op of the op table has an entry in `SCALAR`: a function from the LLVM
values of its operands (in compute types: float16 computes as float, bool as i1) to the
result's value. A kernel is then one loop nest over the output: broadcasting is a stride of 0,
adjacent dimensions collapse wherever all operands walk them the same way, and the innermost
loop is a plain strided loop that LLVM vectorizes. Because an op is just an expression, a
group of fused elementwise ops is evaluated in one loop nest by composing the expressions.

Transcendental functions come from `mathlib` (branch-free, vectorizable: exp, expm1, log,
log1p, tanh, sigmoid, sin, cos). tan, asin, acos, atan, sinh, cosh, atan2, float pow and
float fmod (floor_mod/truncate_mod) call libm through LLVM intrinsics / frem.

Where the reference computes a formula step by step in float16 (elu, softplus, floor_div...),
`ScalarBuilder.rnd` rounds the intermediate results to half precision the same way.

Run-time errors (integer division by zero, integer pow with a negative exponent) are checked
by a serial pre-pass over the operand's buffer before the main loop (`PRECHECKS`): the checked
operand must therefore come from outside a fused group.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation, Value
from tfc.ir.dtypes import DType

from . import loops, mathlib
from .emitter import CodegenError, kernel
from .types import F16, F32, F64, I1, I8, I32, I64, compute_type, i64, storage_type

Scalar = Callable[..., ir.Value]     # (expr: ScalarBuilder, *operands) -> value


class ScalarBuilder:
    """Emits the scalar code of one op: `b` is the IR builder, `dtype` the dtype of the op's
    (first) operand, `out_dtype` the result's."""

    def __init__(self, builder: ir.IRBuilder, module: ir.Module, dtype: DType, out_dtype: DType,
                 attributes: dict, fast_flags: list | None = None):
        self.b = builder
        self.module = module
        self.dtype = dtype
        self.out_dtype = out_dtype
        self.attributes = attributes
        # When a list: `math` may use fast variants and appends the i1 "this element needs
        # the full-range function" of each (see emit_fused).
        self.fast_flags = fast_flags
        # Per-channel constants of the op at the current element (quant ops), set by emit_fused.
        self.channels: list[ir.Value] | None = None

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

    def fconst(self, value) -> ir.Value:
        """A float constant rounded to the op's dtype first (as `x.dtype.type(value)` does)."""
        return self.const(float(self.dtype.numpy.type(value)))

    def rnd(self, value: ir.Value) -> ir.Value:
        """Round an intermediate float16 result (computed in float) to half precision, where
        the reference rounds it; a no-op for other dtypes."""
        if self.dtype != dt.float16:
            return value
        return self.b.fpext(self.b.fptrunc(value, F16), F32)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        """Call `llvm.NAME` overloaded on the type of the first argument."""
        ty = args[0].type
        suffix = {F32: "f32", F64: "f64", F16: "f16"}.get(ty, f"i{getattr(ty, 'width', 0)}")
        full = f"llvm.{name}.{suffix}"
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ty, [a.type for a in args]), full)
        return self.b.call(fn, list(args))

    def math(self, name: str, *args: ir.Value) -> ir.Value:
        """A vectorizable mathlib function (exp, log, tanh, sin...)."""
        if self.fast_flags is None:
            return mathlib.call(self.b, self.module, name, *args)
        value, needs_full = mathlib.call_fast(self.b, self.module, name, *args)
        if needs_full is not None:
            self.fast_flags.append(needs_full)
        return value

    # comparisons: ordered for floats (false on NaN), signed/unsigned for integers
    def cmp(self, op: str, x, y) -> ir.Value:
        if self.is_float:
            return self.b.fcmp_ordered(op, x, y)
        if self.is_signed:
            return self.b.icmp_signed(op, x, y)
        return self.b.icmp_unsigned(op, x, y)


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


@scalar("math.add_n")
def _add_n(s, *xs):
    # Left to right, each partial sum rounded to the dtype (float16 too).
    total = xs[0]
    for i, x in enumerate(xs[1:]):
        total = _add(s, s.rnd(total) if i else total, x)
    return total


@scalar("math.neg")
def _neg(s, x):
    return s.b.fneg(x) if s.is_float else s.b.sub(s.const(0), x)


@scalar("math.square")
def _square(s, x):
    return _mul(s, x, x)


@scalar("math.squared_difference")
def _squared_difference(s, x, y):
    d = s.rnd(_sub(s, x, y))
    return _mul(s, d, d)


@scalar("math.abs")
def _abs(s, x):
    if s.is_float:
        return s.intrinsic("fabs", x)
    neg = s.b.icmp_signed("<", x, s.const(0))
    return s.b.select(neg, s.b.sub(s.const(0), x), x)


@scalar("math.sign")
def _sign(s, x):
    zero, one, minus_one = s.const(0), s.const(1), s.const(-1)
    # NaN stays NaN; +-0 gives +0 (numpy's sign).
    rest = s.b.select(s.b.fcmp_unordered("uno", x, x), x, zero) if s.is_float else zero
    return s.b.select(s.cmp(">", x, zero), one, s.b.select(s.cmp("<", x, zero), minus_one, rest))


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


# Integer division (the divisor is checked for 0 by a pre-pass; INT_MIN / -1 wraps) --------------
def _safe_divisor(s, y):
    """y with 0 and -1 (signed) replaced by 1, so sdiv/srem can never trap."""
    one = s.const(1)
    bad = s.b.icmp_unsigned("==", y, s.const(0))
    if s.is_signed:
        bad = s.b.or_(bad, s.b.icmp_signed("==", y, s.const(-1)))
    return s.b.select(bad, one, y)


def _is_minus_one(s, y):
    return s.b.icmp_signed("==", y, s.const(-1))


def _signs_differ(s, r, y):
    """r != 0 and r, y of different signs (the floor-division correction)."""
    nonzero = s.b.icmp_unsigned("!=", r, s.const(0))
    return s.b.and_(nonzero, s.b.icmp_signed("<", s.b.xor(r, y), s.const(0)))


@scalar("math.floor_div")
def _floor_div(s, x, y):
    if s.is_float:
        return s.intrinsic("floor", s.rnd(s.b.fdiv(x, y)))
    ys = _safe_divisor(s, y)
    if not s.is_signed:
        return s.b.udiv(x, ys)
    q, r = s.b.sdiv(x, ys), s.b.srem(x, ys)
    q = s.b.sub(q, s.b.zext(_signs_differ(s, r, y), q.type))
    return s.b.select(_is_minus_one(s, y), s.b.sub(s.const(0), x), q)


@scalar("math.floor_mod")
def _floor_mod(s, x, y):
    if s.is_float:
        # TF: t = fmod(x, y); t + y where t is non-zero and its sign differs from y's.
        t = s.b.frem(x, y)
        zero = s.const(0)
        nonzero = s.b.fcmp_unordered("!=", t, zero)
        differ = s.b.xor(s.b.fcmp_ordered("<", y, zero), s.b.fcmp_ordered("<", t, zero))
        return s.b.select(s.b.and_(nonzero, differ), s.rnd(s.b.fadd(t, y)), t)
    ys = _safe_divisor(s, y)
    if not s.is_signed:
        return s.b.urem(x, ys)
    r = s.b.srem(x, ys)
    r = s.b.select(_signs_differ(s, r, y), s.b.add(r, y), r)
    return s.b.select(_is_minus_one(s, y), s.const(0), r)


@scalar("math.truncate_div")
def _truncate_div(s, x, y):
    if s.is_float:
        return s.intrinsic("trunc", s.rnd(s.b.fdiv(x, y)))
    ys = _safe_divisor(s, y)
    if not s.is_signed:
        return s.b.udiv(x, ys)
    return s.b.select(_is_minus_one(s, y), s.b.sub(s.const(0), x), s.b.sdiv(x, ys))


@scalar("math.truncate_mod")
def _truncate_mod(s, x, y):
    if s.is_float:
        return s.b.frem(x, y)
    ys = _safe_divisor(s, y)
    if not s.is_signed:
        return s.b.urem(x, ys)
    return s.b.select(_is_minus_one(s, y), s.const(0), s.b.srem(x, ys))


@scalar("math.pow")
def _pow(s, x, y):
    if s.is_float:
        return s.intrinsic("pow", x, y)                 # libm
    # Square and multiply while the exponent has bits left (a pre-pass rejects y < 0); wraps.
    # A loop rather than dtype.bits unrolled steps: integer pow is rare, its code stays small.
    b = s.b
    pre = b.block
    header = b.append_basic_block("ipow.header")
    body = b.append_basic_block("ipow.body")
    end = b.append_basic_block("ipow.end")
    b.branch(header)
    b.position_at_end(header)
    result, base, e = b.phi(x.type), b.phi(x.type), b.phi(x.type)
    for phi, start in ((result, s.const(1)), (base, x), (e, y)):
        phi.add_incoming(start, pre)
    b.cbranch(b.icmp_unsigned("!=", e, s.const(0)), body, end)
    b.position_at_end(body)
    result.add_incoming(b.select(b.trunc(e, I1), b.mul(result, base), result), body)
    base.add_incoming(b.mul(base, base), body)
    e.add_incoming(b.lshr(e, s.const(1)), body)
    b.branch(header)
    b.position_at_end(end)
    return result


SCALAR["math.atan2"] = lambda s, y, x: s.intrinsic("atan2", y, x)   # libm


# Comparisons and logic ----------------------------------------------------------------------------
def _compare(float_op: str, int_op: str) -> Scalar:
    def emit(s, x, y):
        if s.is_float:
            if float_op == "!=":
                return s.b.fcmp_unordered("!=", x, y)            # NaN != anything
            return s.b.fcmp_ordered(float_op, x, y)
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


# Transcendental functions ------------------------------------------------------------------------
for _name in ("exp", "expm1", "log", "log1p", "sin", "cos", "tanh", "sigmoid"):
    SCALAR[f"math.{_name}"] = (lambda name: lambda s, x: s.math(name, x))(_name)
for _name in ("tan", "asin", "acos", "atan", "sinh", "cosh"):        # libm
    SCALAR[f"math.{_name}"] = (lambda name: lambda s, x: s.intrinsic(name, x))(_name)


# Activations ---------------------------------------------------------------------------------------
@scalar("nn.relu")
def _relu(s, x):
    # Eigen's (x < 0 ? 0 : x): NaN and -0 pass through; unsigned values are never negative.
    if not s.is_signed:
        return x
    return s.b.select(s.cmp("<", x, s.const(0)), s.const(0), x)


@scalar("nn.relu6")
def _relu6(s, x):
    r = _relu(s, x)
    six = s.const(6)
    return s.b.select(s.cmp(">", r, six), six, r)


@scalar("nn.elu")
def _elu(s, x):
    em1 = s.b.fsub(s.rnd(s.math("exp", x)), s.const(1))     # exp(x) - 1, as TF (not expm1)
    return s.b.select(s.cmp("<", x, s.const(0)), em1, x)


SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


@scalar("nn.selu")
def _selu(s, x):
    em1 = s.rnd(s.b.fsub(s.rnd(s.math("exp", x)), s.const(1)))
    neg = s.b.fmul(s.fconst(SELU_SCALE * SELU_ALPHA), em1)
    pos = s.b.fmul(s.fconst(SELU_SCALE), x)
    return s.b.select(s.cmp("<", x, s.const(0)), neg, pos)


@scalar("nn.softplus")
def _softplus(s, x):
    t = s.dtype.numpy.type
    with np.errstate(all="ignore"):
        threshold = float(np.log(t(np.finfo(s.dtype.numpy).eps)) + t(2))   # as the reference
    e = s.rnd(s.math("exp", x))
    mid = s.math("log1p", e)
    small = s.b.select(s.cmp("<", x, s.const(threshold)), e, mid)
    return s.b.select(s.cmp(">", x, s.const(-threshold)), x, small)


@scalar("nn.softsign")
def _softsign(s, x):
    return s.b.fdiv(x, s.rnd(s.b.fadd(s.const(1), s.intrinsic("fabs", x))))


@scalar("nn.leaky_relu")
def _leaky_relu(s, x):
    alpha = s.fconst(np.float32(s.attributes.get("alpha", 0.2)))   # a float32 attribute
    return s.b.select(s.cmp(">", x, s.const(0)), x, s.b.fmul(x, alpha))


def _log1p_exp(s, x):
    """log1p(exp(x)) with the dtype's intermediate rounding."""
    return s.rnd(s.math("log1p", s.rnd(s.math("exp", x))))


@scalar("nn.sigmoid_cross_entropy_with_logits")
def _sigmoid_xent(s, z, x):
    zero = s.const(0)
    nonneg = s.cmp(">=", x, zero)
    relu = s.b.select(nonneg, x, zero)
    neg_abs = s.b.select(nonneg, s.b.fneg(x), x)
    head = s.rnd(s.b.fsub(relu, s.rnd(s.b.fmul(x, z))))
    return s.b.fadd(head, _log1p_exp(s, neg_abs))


@scalar("nn.weighted_cross_entropy_with_logits")
def _weighted_xent(s, z, x, q):
    one, zero = s.const(1), s.const(0)
    log_weight = s.rnd(s.b.fadd(one, s.rnd(s.b.fmul(s.rnd(s.b.fsub(q, one)), z))))
    head = s.rnd(s.b.fmul(s.rnd(s.b.fsub(one, z)), x))
    neg_x = s.b.fneg(x)
    relu_neg = s.b.select(s.cmp("<", neg_x, zero), zero, neg_x)
    tail = s.rnd(s.b.fadd(_log1p_exp(s, s.b.fneg(s.intrinsic("fabs", x))), relu_neg))
    return s.b.fadd(head, s.rnd(s.b.fmul(log_weight, tail)))


# Cast ----------------------------------------------------------------------------------------------
_MANTISSA_BITS = {dt.float16: 10, dt.float32: 23, dt.float64: 52}


def _float_to_float(s, x, src: DType, dst: DType):
    b = s.b
    if s.attributes.get("truncate") and _MANTISSA_BITS[src] > _MANTISSA_BITS[dst]:
        # Clear the mantissa bits the target cannot hold: the conversion rounds toward zero.
        ity = I64 if x.type == F64 else I32
        drop = _MANTISSA_BITS[src] - _MANTISSA_BITS[dst]
        x = b.bitcast(b.and_(b.bitcast(x, ity), ir.Constant(ity, -(1 << drop))), x.type)
    src_ty, dst_ty = compute_type(src), compute_type(dst)
    if src_ty == dst_ty:
        return x
    if src_ty == F32:
        return b.fpext(x, F64)
    r = b.fptrunc(x, F32)
    if dst != dt.float16:
        return r
    # float64 -> float16 must round once: round to odd in float, then the store rounds to
    # nearest (exact, float having more than 11 + 2 bits).
    back = b.fpext(r, F64)
    inexact = b.fcmp_ordered("!=", back, x)
    away = b.fcmp_ordered(">", s.intrinsic("fabs", back), s.intrinsic("fabs", x))
    bits = b.bitcast(r, I32)
    toward_zero = b.select(away, b.sub(bits, ir.Constant(I32, 1)), bits)
    odd = b.or_(toward_zero, ir.Constant(I32, 1))
    return b.bitcast(b.select(inexact, odd, bits), F32)


def _float_to_int(s, x, dst: DType):
    """The reference's conversion: truncate; values in range convert exactly; NaN and the
    out-of-range ones go through a 32-bit (64-bit for 64-bit targets) signed integer as its
    minimum, then saturate (8/16-bit targets) or wrap (32/64-bit)."""
    b = s.b
    fty = x.type
    t = s.intrinsic("trunc", x)
    ity = storage_type(dst)
    info = np.iinfo(dst.numpy)

    def in_range(lo, hi):
        return b.and_(b.fcmp_ordered(">=", t, ir.Constant(fty, float(lo))),
                      b.fcmp_ordered("<", t, ir.Constant(fty, float(hi))))

    fits = in_range(info.min, float(info.max) + 1.0)
    safe = b.select(fits, t, ir.Constant(fty, 0.0))
    exact = b.fptosi(safe, ity) if dst.kind == "int" else b.fptoui(safe, ity)
    via_bits = 64 if dst.bits == 64 else 32
    vty = ir.IntType(via_bits)
    via_fits = in_range(-2.0 ** (via_bits - 1), 2.0 ** (via_bits - 1))
    wide = b.select(via_fits, b.fptosi(b.select(via_fits, t, ir.Constant(fty, 0.0)), vty),
                    ir.Constant(vty, -(1 << (via_bits - 1))))
    if dst.bits < 32:
        lo, hi = ir.Constant(vty, int(info.min)), ir.Constant(vty, int(info.max))
        wide = b.select(b.icmp_signed("<", wide, lo), lo, wide)
        wide = b.select(b.icmp_signed(">", wide, hi), hi, wide)
    converted = b.trunc(wide, ity) if dst.bits < via_bits else wide
    return b.select(fits, exact, converted)


@scalar("math.cast")
def _cast(s, x):
    src, dst, b = s.dtype, s.out_dtype, s.b
    if src == dst:
        return x
    if dst.is_bool:
        if src.is_floating:
            return b.fcmp_unordered("!=", x, ir.Constant(x.type, 0.0))       # NaN is true
        return b.icmp_unsigned("!=", x, ir.Constant(x.type, 0))
    if src.is_bool:
        return b.uitofp(x, compute_type(dst)) if dst.is_floating else b.zext(x, storage_type(dst))
    if src.is_floating and dst.is_floating:
        r = _float_to_float(s, x, src, dst)
        if dst == dt.float16 and src != dt.float16:
            # The value the float16 store holds, so that an op reading it inside a fused
            # group sees the rounded value (the store's own rounding is then exact).
            r = b.fpext(b.fptrunc(r, F16), F32)
        return r
    if src.is_floating:
        return _float_to_int(s, x, dst)
    if dst.is_floating:
        return (b.sitofp if src.kind == "int" else b.uitofp)(x, compute_type(dst))
    # integer -> integer: two's complement wrap
    ity = storage_type(dst)
    if ity.width < x.type.width:
        return b.trunc(x, ity)
    if ity.width > x.type.width:
        return (b.sext if src.kind == "int" else b.zext)(x, ity)
    return x


# Quantization (quant.quantize / dequantize / requantize; see ir/ops/quant.py) --------------------
# Each op multiplies by a float32 constant per channel along its `axis` attribute (or one per
# tensor): CHANNEL_TABLES gives those constants, computed exactly as the reference does.
# Per-tensor constants are LLVM constants; per-channel ones a global table that emit_fused
# reads as an extra input broadcast along the axis (`ScalarBuilder.channels`).
def _f32_table(values) -> np.ndarray:
    return np.asarray(values, np.float64).astype(np.float32).reshape(-1)


CHANNEL_TABLES: dict[str, Callable[[dict], list[np.ndarray]]] = {
    "quant.quantize": lambda a: [(1.0 / np.asarray(a["scale"], np.float64)).astype(np.float32).reshape(-1)],
    "quant.dequantize": lambda a: [_f32_table(a["scale"])],
    "quant.requantize": lambda a: [(np.asarray(a["in_scale"], np.float64)
                                    / np.asarray(a["out_scale"], np.float64)).astype(np.float32).reshape(-1)],
}


def _channel_value(s, name: str) -> ir.Value:
    """The op's float32 multiplier for the current element."""
    if getattr(s, "channels", None):
        return s.channels[0]
    table = CHANNEL_TABLES[name](s.attributes)[0]
    if table.size != 1:
        raise CodegenError(f"{name} with per-channel scales cannot be evaluated here (only in "
                           "an elementwise loop nest, not inside a fused reduction)")
    return ir.Constant(F32, float(table[0]))


def _round_saturate(s, v: ir.Value, dtype: DType) -> ir.Value:
    """rint (half to even), NaN -> 0, clip to dtype's range, convert: the reference's `_saturate`."""
    b = s.b
    info = np.iinfo(dtype.numpy)
    lo, hi = ir.Constant(F32, float(info.min)), ir.Constant(F32, float(info.max))
    r = s.intrinsic("roundeven", v)
    r = b.select(b.fcmp_ordered("<", r, lo), lo, r)
    r = b.select(b.fcmp_ordered(">", r, hi), hi, r)
    r = b.select(b.fcmp_unordered("uno", r, r), ir.Constant(F32, 0.0), r)
    return b.fptosi(r, storage_type(dtype))


def _int_to_f32(s, q: ir.Value) -> ir.Value:
    return s.b.sitofp(q, F32)


@scalar("quant.quantize")
def _quantize(s, x):
    x = s.b.fptrunc(x, F32) if x.type == F64 else x
    return _round_saturate(s, s.b.fmul(x, _channel_value(s, "quant.quantize")), s.out_dtype)


@scalar("quant.dequantize")
def _dequantize(s, q):
    value = s.b.fmul(_int_to_f32(s, q), _channel_value(s, "quant.dequantize"))
    if s.out_dtype == dt.float16:          # rounded once from float32, as astype does
        value = s.b.fpext(s.b.fptrunc(value, F16), F32)
    return value


@scalar("quant.requantize")
def _requantize(s, q):
    return _round_saturate(s, s.b.fmul(_int_to_f32(s, q), _channel_value(s, "quant.requantize")),
                           s.out_dtype)


def _channel_axis(op: Operation) -> tuple[int, int] | None:
    """(axis, channel count) of an op with per-channel constants; None when per tensor."""
    if op.name not in CHANNEL_TABLES:
        return None
    tables = CHANNEL_TABLES[op.name](op.attributes)
    size = max(t.size for t in tables)
    axis = op.attributes.get("axis")
    if size == 1 or axis is None:
        return None
    shape = op.operands[0].type.shape
    return axis % len(shape), size


def has_channel_tables(ops) -> bool:
    """Whether any of `ops` multiplies by per-channel constants (quant ops with an `axis` and
    several scales): such ops evaluate only in emit_fused's loop nest, which knows the
    element's position (not in a fused reduction's `_evaluate`)."""
    return any(_channel_axis(op) is not None for op in ops)


def _split_dim(dims, strides, j, parts):
    """Split loop dim j (walked contiguously by every operand, or not at all) into `parts`
    (outermost first, product dims[j])."""
    new_strides = []
    for s in strides:
        inner = [s[j]]
        for p in reversed(parts[1:]):
            inner.insert(0, inner[0] * p)
        new_strides.append(s[:j] + inner + s[j + 1:])
    return dims[:j] + list(parts) + dims[j + 1:], new_strides


def _channel_inputs(k, ops, out_shape, strides_list):
    """For each op with per-channel constants: its tables as extra loop inputs. Returns
    (dims, strides of the operands and output, entries), the loop dims split so that each such
    op's channel axis is one dim; an entry is (op, the tables' globals, the tables' strides
    over the dims, None) or, when the axis cannot be a dim, (op, globals, None, (inner, count)):
    the channel from the element's flat index. `out_shape` is normally the ops' shape; inside
    a parallel chunk (fusion.py's _ChunkView) it is the collapsed shape of the chunk, whose
    first dim starts mid-tensor: the axis must then lie in a later dim."""
    dims = list(out_shape)
    strides = [list(s) for s in strides_list]
    entries = []
    whole = all(list(op.operands[0].type.shape) == dims for op in ops if _channel_axis(op) is not None)
    for op in ops:
        found = _channel_axis(op)
        if found is None:
            continue
        axis, count = found
        full = list(op.operands[0].type.shape)
        inner = int(np.prod(full[axis + 1:], dtype=np.int64))
        tables = CHANNEL_TABLES[op.name](op.attributes)
        gvs = [_table_global(k.module, t) for t in tables]
        if 0 in dims or 0 in full:                         # empty: the loop never runs
            entries.append((op, gvs, [0] * len(dims), None))
            continue
        j, suffix = None, 1
        for cand in range(len(dims) - 1, -1 if whole else 0, -1):
            if inner % suffix == 0 and (dims[cand] * suffix) % (inner * count) == 0:
                j = cand
                break
            suffix *= dims[cand]
        if j is None:
            entries.append((op, gvs, None, (inner, count)))
            continue
        parts = [dims[j] * suffix // (inner * count), count, inner // suffix]
        dims, strides = _split_dim(dims, strides, j, parts)
        for e in entries:
            if e[2] is not None:
                e[2][:] = _split_dim([0] * len(e[2]), [e[2]], j, parts)[1][0]
        table_strides = [0] * len(dims)
        table_strides[j + 1] = 1
        entries.append((op, gvs, table_strides, None))
    return dims, strides, entries


def _table_global(module: ir.Module, table: np.ndarray) -> ir.GlobalVariable:
    data = np.ascontiguousarray(table, np.float32)
    ty = ir.ArrayType(F32, data.size)
    gv = ir.GlobalVariable(module, ty, module.get_unique_name("quant_scale"))
    gv.global_constant = True
    gv.linkage = "internal"
    gv.align = 64
    gv.initializer = ir.Constant(ty, [ir.Constant(F32, float(v)) for v in data])
    return gv


# Run-time checks -----------------------------------------------------------------------------------
# op name -> (index of the checked operand, dtype -> predicate(builder, value) -> i1 or None).
# The op fails when the predicate holds for any element of that operand and the op's result is
# non-empty (TF checks every element of a broadcast divisor).
def _int_zero(dtype: DType):
    if not dtype.is_integer:
        return None
    return lambda b, v: b.icmp_unsigned("==", v, ir.Constant(v.type, 0))


def _int_negative(dtype: DType):
    if not dtype.is_integer:
        return None
    return lambda b, v: b.icmp_signed("<", v, ir.Constant(v.type, 0))


PRECHECKS: dict[str, tuple[int, Callable]] = {
    "math.floor_div": (1, _int_zero),
    "math.floor_mod": (1, _int_zero),
    "math.truncate_div": (1, _int_zero),
    "math.truncate_mod": (1, _int_zero),
    "math.pow": (1, _int_negative),
}


def carried_loop(b: ir.IRBuilder, count, initial: list, step: Callable, name: str) -> list:
    """for i in [0, count): values = step(i, values), the values carried in phis (so LLVM keeps
    them in registers); the values after the loop. `count` is an int or an i64."""
    pre = b.block
    header = b.append_basic_block(f"{name}.header")
    body = b.append_basic_block(f"{name}.body")
    end = b.append_basic_block(f"{name}.end")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(I64, name=f"{name}.i")
    i.add_incoming(i64(0), pre)
    values = [b.phi(v.type) for v in initial]
    for phi, v in zip(values, initial):
        phi.add_incoming(v, pre)
    b.cbranch(b.icmp_signed("<", i, count if isinstance(count, ir.Value) else i64(count)), body, end)
    b.position_at_end(body)
    new = step(i, values)
    for phi, v in zip(values, new):
        phi.add_incoming(v, b.block)
    i.add_incoming(b.add(i, i64(1)), b.block)
    b.branch(header)
    b.position_at_end(end)
    return values


def _any(b: ir.IRBuilder, count: int, predicate: Callable[[ir.Value], ir.Value]) -> ir.Value:
    """i1: predicate(i) holds for some 0 <= i < count (an or-reduction LLVM vectorizes)."""
    (acc,) = carried_loop(b, count, [ir.Constant(I8, 0)],
                          lambda i, acc: [b.or_(acc[0], b.zext(predicate(i), I8))], "any")
    return b.icmp_unsigned("!=", acc, ir.Constant(I8, 0))


def emit_prechecks(k, ops: list[Operation], inside: set[int]) -> None:
    """The serial pre-pass of every op in `ops` that can fail at run time."""
    for op in ops:
        entry = PRECHECKS.get(op.name)
        if entry is None or not op.results[0].type.num_elements:
            continue
        index, make = entry
        value = op.operands[index]
        predicate = make(value.type.dtype)
        if predicate is None:
            continue
        if id(value) in inside:
            raise CodegenError(f"{op.name} cannot be fused with the op computing its operand "
                               f"{index}: that operand is checked before the loop")
        b = k.builder
        ptr = k.ptr(value)
        dtype = value.type.dtype
        bad = _any(b, value.type.num_elements,
                   lambda i: predicate(b, load_scalar(b, b.gep(ptr, [i]), dtype)))
        k.fail_if(bad)


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


# The operand whose dtype is the op's `ScalarBuilder.dtype` (the first, unless listed).
DTYPE_OPERAND = {"math.select_v2": 1, "math.select": 1}


def emit_elementwise(k, op: Operation) -> None:
    """One elementwise op as a loop nest over its output."""
    emit_fused(k, [op], op.results[0])


def emit_fused(k, ops: list[Operation], output: Value,
               strides: dict[int, list[int]] | None = None) -> None:
    """Evaluate the elementwise `ops` (in order; each reads earlier ones or outside values)
    in one loop nest writing `output`. `strides` may override an input's element strides
    (by id of the value; one per output dim, else numpy broadcasting).

    The loop uses the fast variants of mathlib functions (sin/cos without the huge-argument
    reduction) and or-reduces their "needs the full-range function" flags; if any element
    needed it, the whole loop runs again with the full-range functions. (So `output` must not
    alias an input of the group.)"""
    b = k.builder
    out_shape = list(output.type.shape)
    inside = {id(r) for op in ops for r in op.results}
    emit_prechecks(k, ops, inside)
    inputs: list[Value] = []
    for op in ops:
        for v in op.operands:
            if id(v) not in inside and all(v is not x for x in inputs):
                inputs.append(v)
    in_strides = [(strides or {}).get(id(v)) or loops.broadcast_strides(v.type.shape, out_shape)
                  for v in inputs]
    out_strides = loops.row_major_strides(out_shape)
    # Per-channel constants (quant ops): extra inputs along the op's axis (see _channel_inputs).
    loop_dims, split, channel = _channel_inputs(k, ops, out_shape, in_strides + [out_strides])
    table_strides = [t for entry in channel if entry[2] is not None for t in [entry[2]] * len(entry[1])]
    dims, collapsed = loops.collapse_dims(loop_dims, split + table_strides)
    table_strides = collapsed[len(split):]
    collapsed = collapsed[:len(split)]
    in_strides, out_strides = collapsed[:-1], collapsed[-1]
    pointers = [k.ptr(v) for v in inputs]
    out_ptr = k.ptr(output)
    if not dims:
        dims, in_strides, out_strides = [1], [[0] for _ in inputs], [0]
        table_strides = [[0] for _ in table_strides]

    def loop(fast: bool) -> list[ir.Value]:
        flags: list[ir.Value] = []
        with loops.for_nest(b, dims) as ivs:
            values: dict[int, ir.Value] = {}
            for v, p, s in zip(inputs, pointers, in_strides):
                values[id(v)] = load_scalar(b, b.gep(p, [loops.offset(b, ivs, s)]), v.type.dtype)
            tables = _load_channels(b, channel, table_strides, ivs, out_ptr, out_strides)
            for op in ops:
                if op.operands:
                    operand_dtype = op.operands[DTYPE_OPERAND.get(op.name, 0)].type.dtype
                else:
                    operand_dtype = op.results[0].type.dtype
                sb = ScalarBuilder(b, k.module, operand_dtype, op.results[0].type.dtype,
                                   op.attributes, flags if fast else None)
                sb.channels = tables.get(id(op))
                fn = SCALAR.get(op.name) or _KERNEL_ONLY[op.name]
                values[id(op.results[0])] = fn(sb, *[values[id(v)] for v in op.operands])
            store_scalar(b, values[id(output)], b.gep(out_ptr, [loops.offset(b, ivs, out_strides)]),
                         output.type.dtype)
            if flags:
                any_flag = flags[0]
                for flag in flags[1:]:
                    any_flag = b.or_(any_flag, flag)
                slot = _flag_slot(k)
                b.store(b.or_(b.load(slot), b.zext(any_flag, I8)), slot)
                flags = [slot]
        return flags

    flags = loop(fast=True)
    if flags:
        with b.if_then(b.icmp_unsigned("!=", b.load(flags[0]), ir.Constant(I8, 0)), likely=False):
            loop(fast=False)


def _load_channels(b, channel, table_strides, ivs, out_ptr, out_strides) -> dict[int, list]:
    """id(op) -> the op's per-channel constants at the current element."""
    found: dict[int, list] = {}
    strides = iter(table_strides)
    for op, gvs, own, fallback in channel:
        values = []
        for gv in gvs:
            base = b.bitcast(gv, F32.as_pointer())
            if own is not None:
                at = loops.offset(b, ivs, next(strides))
            else:
                # A parallel chunk whose first dim holds the channel axis: the channel from the
                # element's flat index (the chunk's output pointer is the tensor's plus an offset).
                inner, count = fallback
                if not isinstance(out_ptr, ir.GEPInstr) or len(out_ptr.indices) != 1:
                    raise CodegenError(f"{op.name}: per-channel scales in this loop nest")
                flat = b.add(out_ptr.indices[0], loops.offset(b, ivs, out_strides))
                at = b.urem(b.udiv(flat, i64(inner)), i64(count)) if inner != 1 else b.urem(flat, i64(count))
            values.append(b.load(b.gep(base, [at])))
        found[id(op)] = values
    return found


def _flag_slot(k) -> ir.Value:
    """An i8 stack slot, 0 on entry, allocated in the entry function's prologue (so that it
    becomes a register and the loop's or-reduction vectorizes)."""
    prologue = k.compiler.prologue
    slot = prologue.alloca(I8, name="needs_full_range")
    prologue.store(ir.Constant(I8, 0), slot)
    return slot


# TF1 Select: not ELEMENTWISE (a vector cond picks whole rows), so not in SCALAR (the fusion
# pass must not treat it as broadcasting), but the same loop with cond's strides set by hand.
_KERNEL_ONLY: dict[str, Scalar] = {"math.select": SCALAR["math.select_v2"]}


@kernel("math.select")
def emit_select(k, op: Operation) -> None:
    cond, x, _ = op.operands
    out = op.results[0]
    strides = {}
    if len(cond.type.shape) == 1 and len(out.type.shape) > 1:
        strides[id(cond)] = [1] + [0] * (len(out.type.shape) - 1)
    elif cond.type.shape == out.type.shape:
        strides[id(cond)] = loops.row_major_strides(out.type.shape)
    emit_fused(k, [op], out, strides)
