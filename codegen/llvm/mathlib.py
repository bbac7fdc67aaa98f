"""Vectorizable float32/float64 math functions, emitted as LLVM IR.

Every function here is straight-line, select-based code (no branches, no calls), defined
once per module as an `internal alwaysinline` function `tfc.math.NAME.f32|f64`: after
inlining, a loop calling it keeps a single-block body that LLVM's loop vectorizer turns into
SIMD code. Out-of-range lanes are handled with selects; table lookups become gathers.

    exp, expm1      Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2; a polynomial for e**r
                    (Cephes' for float32, a degree-11 near-minimax fit for float64); 2**n
                    applied as two power-of-two factors so that denormal results round once.
    log, log1p      x = 2**k m with m in [sqrt(1/2), sqrt(2)) by integer arithmetic on the
                    bits (denormals scaled first); Cephes' polynomial (float32) / fdlibm's
                    s = f/(2+f) series (float64); log1p = log(u) + (x - (u - 1)) / u.
    tanh            float32: XLA's rational approximation (3 ulp); float64: expm1(2|x|) /
                    (expm1(2|x|) + 2) with x's sign (relative accuracy at 0).
    sigmoid         1 / (1 + exp(-x)), the reference formula.
    sin, cos        Full range ("sin", "cos"): float32 computed in float64, a three-part
                    Cody-Waite reduction below 2**20 and glibc's exact integer reduction (a
                    24x96-bit product with the bits of 2/pi) above; float64: fdlibm's
                    three-step reduction below 2**20 and a branch-free Payne-Hanek reduction
                    above (the 53-bit mantissa times a 182-bit window of 2/pi in 26-bit limbs,
                    gathered from a table indexed by the exponent); fdlibm's kernels.
                    Fast variants (`FAST`, `call_fast`) skip the huge-argument reduction:
                    float32 in float arithmetic (16 lanes) for |x| < 71476, float64 below
                    2**20; they report the elements that need the full-range function.

Accuracy (tests/codegen/test_elementwise.py sweeps them against numpy): within a few ulp,
i.e. inside 1e-6 relative for float32 and 1e-14 for float64, including NaN, +-inf, +-0,
denormal inputs and results, and the overflow/underflow thresholds.
"""

from __future__ import annotations

import functools
from typing import Callable

from llvmlite import ir

from .types import F32, F64, I32, I64

# The bits of 2/pi -------------------------------------------------------------------------------


@functools.cache
def two_over_pi_bits(nbits: int = 1400) -> int:
    """floor(2/pi * 2**nbits), from Machin's formula in exact integer arithmetic."""
    guard = 64
    one = 1 << (nbits + guard)

    def arctan_inv(k: int) -> int:          # atan(1/k) * one
        total, term, n, sign = 0, one // k, 1, 1
        while term:
            total += sign * (term // n)
            term //= k * k
            n += 2
            sign = -sign
        return total

    pi = 16 * arctan_inv(5) - 4 * arctan_inv(239)     # pi * 2**(nbits + guard)
    return (2 * one * one // pi) >> guard              # 2/pi * 2**nbits


def _bits_at(k: int, count: int, nbits: int = 1400) -> int:
    """Bits k .. k + count - 1 of 2/pi (k >= 1 is the 2**-k digit; bits at k <= 0 are 0) as
    an integer, bit k most significant."""
    last = k + count - 1
    if last <= 0:
        return 0
    return (two_over_pi_bits(nbits) >> (nbits - last)) & ((1 << count) - 1)


# glibc's __inv_pio4: word i holds 32 bits of 2/pi ending at bit 8 i + 8.
_INV_PIO4 = [_bits_at(8 * i - 23, 32) for i in range(24)]

# float64 Payne-Hanek: LIMB-bit windows of 2/pi starting at every bit position k - PH_PAD.
LIMB = 26
LIMBS = 7                                    # a 182-bit window
PH_PAD = 40                                  # windows may start at bit -33 (|x| >= 2**20)
_PH_MAX_START = (1023 - 52 - 1) + LIMB * (LIMBS - 1)
_PH_TABLE = [_bits_at(q - PH_PAD, LIMB) for q in range(_PH_MAX_START + PH_PAD + 1)]


# Emission helpers -------------------------------------------------------------------------------
class Ctx:
    """Scalar float arithmetic of one type (float or double) on an IR builder."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module, ty: ir.Type):
        self.b = b
        self.module = module
        self.ty = ty
        self.is64 = ty == F64
        self.ity = I64 if self.is64 else I32
        self.mant = 52 if self.is64 else 23
        self.bias = 1023 if self.is64 else 127

    # constants
    def c(self, value) -> ir.Constant:
        return ir.Constant(self.ty, float(value))

    def i(self, value) -> ir.Constant:
        width = self.ity.width
        value = int(value) & ((1 << width) - 1)
        return ir.Constant(self.ity, value - (1 << width) if value >> (width - 1) else value)

    # arithmetic
    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def intrinsic(self, name: str, *args):
        ty = args[0].type
        suffix = "f64" if ty == F64 else "f32" if ty == F32 else f"i{ty.width}"
        full = f"llvm.{name}.{suffix}"
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ty, [a.type for a in args]), full)
        return self.b.call(fn, list(args))

    def fma(self, a, b, c):
        """a * b + c, fused where the target has FMA (llvm.fmuladd)."""
        return self.intrinsic("fmuladd", a, b, c)

    def exact_fma(self, a, b, c):
        """a * b + c with one rounding (llvm.fma)."""
        return self.intrinsic("fma", a, b, c)

    def poly(self, x, coeffs):
        """Horner: coeffs[0] x**n + ... + coeffs[n]."""
        acc = self.c(coeffs[0])
        for coeff in coeffs[1:]:
            acc = self.fma(acc, x, self.c(coeff))
        return acc

    def abs(self, x):
        return self.intrinsic("fabs", x)

    def rint(self, x):
        return self.intrinsic("rint", x)

    # comparisons (ordered: false on NaN)
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def isnan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def select(self, cond, a, b):
        return self.b.select(cond, a, b)

    def clamp(self, x, lo, hi):
        """x clamped to [lo, hi]; NaN becomes lo (callers restore NaN at the end)."""
        return self.intrinsic("minnum", self.intrinsic("maxnum", x, self.c(lo)), self.c(hi))

    # bits
    def bits(self, x):
        return self.b.bitcast(x, self.ity)

    def from_bits(self, i):
        return self.b.bitcast(i, self.ty)

    def to_int(self, x):
        return self.b.fptosi(x, self.ity)

    def to_float(self, i):
        return self.b.sitofp(i, self.ty)

    def pow2(self, k):
        """2**k for an integer k in the normal exponent range."""
        return self.from_bits(self.b.shl(self.b.add(k, self.i(self.bias)), self.i(self.mant)))

    def xor_sign(self, x, sign_source):
        """x with its sign flipped where sign_source is negative (x * sign(sign_source))."""
        sign = self.b.and_(self.bits(sign_source), self.i(1 << (63 if self.is64 else 31)))
        return self.from_bits(self.b.xor(self.bits(x), sign))

    def copysign(self, x, sign_source):
        return self.intrinsic("copysign", x, sign_source)


IMPLS: dict[tuple[str, str], Callable] = {}      # (name, "f32"|"f64") -> emit(ctx, *args)


def _impl(name: str, *suffixes: str):
    def register(fn):
        for suffix in suffixes or ("f32", "f64"):
            IMPLS[(name, suffix)] = fn
        return fn
    return register


def call(b: ir.IRBuilder, module: ir.Module, name: str, *args: ir.Value) -> ir.Value:
    """Call mathlib function `name` on float or double `args`, defining it in `module` once."""
    ty = args[0].type
    suffix = {F32: "f32", F64: "f64"}.get(ty)
    if suffix is None or (name, suffix) not in IMPLS:
        raise KeyError(f"mathlib has no {name} for {ty}")
    fname = f"tfc.math.{name}.{suffix}"
    fn = module.globals.get(fname)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ty, [ty] * len(args)), fname)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        body = ir.IRBuilder(fn.append_basic_block("entry"))
        body.ret(IMPLS[(name, suffix)](Ctx(body, module, ty), *fn.args))
    return b.call(fn, list(args))


def available(name: str) -> bool:
    return (name, "f32") in IMPLS


# Fast variants: valid on part of the domain. `call_fast` returns the fast value and an i1
# that holds where it is not valid; the caller then recomputes with the full-range function
# (elementwise.emit_fused re-runs its loop when any element needs it).
FAST: dict[str, tuple[str, Callable]] = {}       # name -> (fast variant, emit(ctx, x) -> i1)


def call_fast(b: ir.IRBuilder, module: ir.Module, name: str, *args: ir.Value):
    """(value, needs_full_range: i1 or None) for mathlib function `name`."""
    if name not in FAST:
        return call(b, module, name, *args), None
    fast, needs = FAST[name]
    return call(b, module, fast, *args), needs(Ctx(b, module, args[0].type), *args)


def _table(module: ir.Module, name: str, values: list[int], ty: ir.IntType) -> ir.GlobalVariable:
    gv = module.globals.get(name)
    if gv is None:
        aty = ir.ArrayType(ty, len(values))
        gv = ir.GlobalVariable(module, aty, name)
        gv.global_constant = True
        gv.linkage = "internal"
        gv.initializer = ir.Constant(aty, values)
    return gv


def _lookup(f: Ctx, table: ir.GlobalVariable, index: ir.Value) -> ir.Value:
    ptr = f.b.gep(table, [ir.Constant(I32, 0), index], inbounds=True)
    return f.b.load(ptr)


# exp ----------------------------------------------------------------------------------------------
LOG2E = 1.4426950408889634
# Cody-Waite splits of ln 2: n * hi is exact for the |n| that occur.
LN2_HI_F32, LN2_LO_F32 = 0.693359375, -2.12194440e-4
LN2_HI_F64, LN2_LO_F64 = 6.93147180369123816490e-01, 1.90821492927058770002e-10
# Cephes expf: e**r = 1 + r + r^2 P(r)
_EXP_F32 = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
            1.6666665459e-1, 5.0000001201e-1]
# float64: (e**r - 1 - r) / r**2 on |r| <= ln2/2, near-minimax (mpmath.chebyfit, error 1e-16).
_EXPM1_TAIL_F64 = [2.5100424157005067e-08, 2.7620138719733994e-07, 2.7557268378684192e-06,
                   2.480152119021773e-05, 0.00019841269863105968, 0.0013888888917281794,
                   0.008333333333330051, 0.04166666666662399, 0.16666666666666669,
                   0.5000000000000001]
_FACT = [1.0]
for _k in range(1, 20):
    _FACT.append(_FACT[-1] * _k)


def _taylor_tail(first: int, last: int) -> list[float]:
    """Coefficients (highest first) of sum_{k=first..last} r**(k-first) / k!."""
    return [1.0 / _FACT[k] for k in range(last, first - 1, -1)]


def _reduce_ln2(f: Ctx, x):
    """n (float, never -0), r = x - n ln2."""
    n = f.add(f.rint(f.mul(x, f.c(LOG2E))), f.c(0.0))
    hi, lo = (LN2_HI_F64, LN2_LO_F64) if f.is64 else (LN2_HI_F32, LN2_LO_F32)
    r = f.fma(n, f.c(-hi), x)
    r = f.fma(n, f.c(-lo), r)
    return n, r


@_impl("exp")
def _exp(f: Ctx, x):
    lo, hi = (-746.0, 710.0) if f.is64 else (-104.0, 89.0)
    xc = f.clamp(x, lo, hi)                      # beyond: 0 / inf through the scaling below
    n, r = _reduce_ln2(f, xc)
    if f.is64:
        p = f.fma(f.mul(r, r), f.poly(r, _EXPM1_TAIL_F64), r)
    else:
        p = f.fma(f.mul(r, r), f.poly(r, _EXP_F32), r)
    p = f.add(p, f.c(1.0))
    k = f.to_int(n)
    k1 = f.b.ashr(k, f.i(1))
    k2 = f.b.sub(k, k1)
    result = f.mul(f.mul(p, f.pow2(k1)), f.pow2(k2))
    return f.select(f.isnan(x), x, result)


@_impl("expm1")
def _expm1(f: Ctx, x):
    lo, hi = (-60.0, 710.0) if f.is64 else (-30.0, 89.0)
    xc = f.clamp(x, lo, hi)
    n, r = _reduce_ln2(f, xc)
    tail = _EXPM1_TAIL_F64 if f.is64 else _taylor_tail(2, 8)
    p = f.fma(f.mul(r, r), f.poly(r, tail), r)   # e**r - 1
    # e**x - 1 = 2 (2**(n-1) p + (2**(n-1) - 1/2)): exact for n = 0, no overflow of 2**n.
    half_scale = f.pow2(f.b.sub(f.to_int(n), f.i(1)))
    t = f.fma(half_scale, p, f.sub(half_scale, f.c(0.5)))
    result = f.mul(t, f.c(2.0))
    tiny = f.c(2.0 ** (-54 if f.is64 else -25))    # e**x - 1 rounds to x (keeps -0, denormals)
    result = f.select(f.lt(f.abs(x), tiny), x, result)
    return f.select(f.isnan(x), x, result)


# log ----------------------------------------------------------------------------------------------
_LOG_F32 = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
            1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
            3.3333331174e-1]                                            # Cephes logf
_LG = [6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01]                                        # fdlibm Lg1..Lg7


def _log_special(f: Ctx, x, result):
    inf = f.c(float("inf"))
    result = f.select(f.eq(x, inf), x, result)
    result = f.select(f.eq(x, f.c(0.0)), f.neg(inf), result)
    return f.select(f.b.fcmp_unordered("<", x, f.c(0.0)), f.c(float("nan")), result)


@_impl("log")
def _log(f: Ctx, x):
    tiny = 2.0 ** (-1022 if f.is64 else -126)
    scale_bits = 54 if f.is64 else 23
    small = f.lt(x, f.c(tiny))
    xs = f.select(small, f.mul(x, f.c(2.0 ** scale_bits)), x)
    adjust = f.select(small, f.i(-scale_bits), f.i(0))
    sqrt_half_bits = 0x3FE6A09E667F3BCD if f.is64 else 0x3F3504F3
    ix = f.b.sub(f.bits(xs), f.i(sqrt_half_bits))
    k = f.b.add(f.b.ashr(ix, f.i(f.mant)), adjust)
    m = f.from_bits(f.b.add(f.b.and_(ix, f.i((1 << f.mant) - 1)), f.i(sqrt_half_bits)))
    fm = f.sub(m, f.c(1.0))                       # in [sqrt(1/2) - 1, sqrt(2) - 1)
    dk = f.to_float(k)
    if f.is64:
        s = f.div(fm, f.add(f.c(2.0), fm))
        z = f.mul(s, s)
        w = f.mul(z, z)
        t1 = f.mul(w, f.poly(w, [_LG[5], _LG[3], _LG[1]]))
        t2 = f.mul(z, f.poly(w, [_LG[6], _LG[4], _LG[2], _LG[0]]))
        big_r = f.add(t2, t1)
        hfsq = f.mul(f.mul(f.c(0.5), fm), fm)
        inner = f.fma(dk, f.c(LN2_LO_F64), f.mul(s, f.add(hfsq, big_r)))
        result = f.fma(dk, f.c(LN2_HI_F64), f.neg(f.sub(f.sub(hfsq, inner), fm)))
    else:
        z = f.mul(fm, fm)
        y = f.mul(f.mul(fm, z), f.poly(fm, _LOG_F32))
        y = f.fma(dk, f.c(LN2_LO_F32), y)
        y = f.fma(z, f.c(-0.5), y)
        result = f.fma(dk, f.c(LN2_HI_F32), f.add(fm, y))
    return _log_special(f, x, result)


@_impl("log1p")
def _log1p(f: Ctx, x):
    one = f.c(1.0)
    u = f.add(one, x)
    lg = call(f.b, f.module, "log", u)
    correction = f.div(f.sub(x, f.sub(u, one)), u)     # log(1 + x) = log(u) + log1p(c/u)
    result = f.add(lg, correction)
    result = f.select(f.eq(u, one), x, result)          # tiny x, +-0
    inf = f.c(float("inf"))
    result = f.select(f.eq(x, inf), x, result)
    return f.select(f.eq(x, f.c(-1.0)), f.neg(inf), result)


# tanh, sigmoid ------------------------------------------------------------------------------------
# float32: XLA's / Eigen's rational approximation x P(x^2) / Q(x^2) on |x| <= 7.905 (the
# value rounds to +-1 beyond), x itself below 0.0004: within 4e-7 relative (3 ulp).
_TANH_P = [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
           4.89352455891786e-03]
_TANH_Q = [1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
           4.89352518554385e-03]
TANH_CLAMP_F32 = 7.90531110763549805


@_impl("tanh", "f32")
def _tanh_f32(f: Ctx, x):
    hi = f.c(TANH_CLAMP_F32)
    c = f.select(f.gt(x, hi), hi, f.select(f.lt(x, f.neg(hi)), f.neg(hi), x))   # keeps NaN
    z = f.mul(c, c)
    t = f.div(f.mul(c, f.poly(z, _TANH_P)), f.poly(z, _TANH_Q))
    return f.select(f.lt(f.abs(x), f.c(0.0004)), x, t)


@_impl("tanh", "f64")
def _tanh(f: Ctx, x):
    a = f.abs(x)
    limit = f.c(22.0 if f.is64 else 10.0)         # tanh rounds to 1 beyond
    a = f.select(f.gt(a, limit), limit, a)
    e = call(f.b, f.module, "expm1", f.add(a, a))
    t = f.div(e, f.add(e, f.c(2.0)))
    return f.copysign(t, x)


@_impl("sigmoid")
def _sigmoid(f: Ctx, x):
    one = f.c(1.0)
    e = call(f.b, f.module, "exp", f.neg(x))
    return f.div(one, f.add(one, e))


# sin, cos -----------------------------------------------------------------------------------------
# fdlibm: pi/2 in 33-bit pieces (n * PIO2_k exact for n < 2**20) and their tails.
PIO2_1, PIO2_1T = 1.57079632673412561417e+00, 6.07710050650619224932e-11
PIO2_2, PIO2_2T = 6.07710050630396597660e-11, 2.02226624879595063154e-21
PIO2_3, PIO2_3T = 2.02226624871116645580e-21, 8.47842766036889956997e-32
INV_PIO2 = 6.36619772367581382433e-01
PIO2_HI, PIO2_LO = 1.5707963267948966, 6.123233995736766e-17
_SIN = [1.58969099521155010221e-10, -2.50507602534068634195e-08, 2.75573137070700676789e-06,
        -1.98412698298579493134e-04, 8.33333333332248946124e-03, -1.66666666666666324348e-01]
_COS = [-1.13596475577881948265e-11, 2.08757232129817482790e-09, -2.75573143513906633035e-07,
        2.48015872894767294178e-05, -1.38888888888741095749e-03, 4.16666666666666019037e-02]
MEDIUM = 2.0 ** 20                            # below: Cody-Waite; above: Payne-Hanek


def _sin_kernel(d: Ctx, r):
    z = d.mul(r, r)
    return d.fma(d.mul(z, r), d.poly(z, _SIN), r)


def _cos_kernel(d: Ctx, r):
    z = d.mul(r, r)
    tail = d.mul(d.mul(z, z), d.poly(z, _COS))
    return d.add(d.c(1.0), d.sub(tail, d.mul(d.c(0.5), z)))


def _reduce_medium(d: Ctx, a):
    """(n as i64, r) with a = n pi/2 + r for 0 <= a < 2**20 (fdlibm's three steps)."""
    n = d.rint(d.mul(a, d.c(INV_PIO2)))
    r = d.sub(a, d.mul(n, d.c(PIO2_1)))          # exact
    for p, pt in ((PIO2_2, PIO2_2T), (PIO2_3, PIO2_3T)):
        t = r
        w = d.mul(n, d.c(p))
        r = d.sub(t, w)
        w = d.sub(d.mul(n, d.c(pt)), d.sub(d.sub(t, r), w))
    return d.b.fptosi(n, I64), d.sub(r, w)


def _reduce_large_f32(d: Ctx, xi):
    """glibc's reduce_large: xi = the bits of |x| (i32, |x| >= 2); (n as i64, r as double)."""
    b = d.b
    table = _table(d.module, "tfc.math.inv_pio4", _INV_PIO4, I32)
    index = b.and_(b.lshr(xi, ir.Constant(I32, 26)), ir.Constant(I32, 15))
    shift = b.and_(b.lshr(xi, ir.Constant(I32, 23)), ir.Constant(I32, 7))
    m = b.or_(b.and_(xi, ir.Constant(I32, 0xFFFFFF)), ir.Constant(I32, 0x800000))
    m = b.shl(m, shift)
    a0 = _lookup(d, table, index)
    a1 = _lookup(d, table, b.add(index, ir.Constant(I32, 4)))
    a2 = _lookup(d, table, b.add(index, ir.Constant(I32, 8)))
    m64 = b.zext(m, I64)
    res0 = b.zext(b.mul(m, a0), I64)                          # low 32 bits only
    res1 = b.mul(m64, b.zext(a1, I64))
    res2 = b.mul(m64, b.zext(a2, I64))
    res0 = b.or_(b.lshr(res2, ir.Constant(I64, 32)), b.shl(res0, ir.Constant(I64, 32)))
    res0 = b.add(res0, res1)
    n = b.lshr(b.add(res0, ir.Constant(I64, 1 << 61)), ir.Constant(I64, 62))
    res0 = b.sub(res0, b.shl(n, ir.Constant(I64, 62)))
    r = d.mul(b.sitofp(res0, F64), d.c(PIO2_HI * 2.0 ** -62))
    return n, r


def _reduce_large_f64(d: Ctx, a):
    """Payne-Hanek for 2**20 <= a < inf (other lanes give garbage, never UB)."""
    b = d.b
    mask = ir.Constant(I64, (1 << LIMB) - 1)
    bits = d.bits(a)
    exponent = b.sub(b.lshr(bits, ir.Constant(I64, 52)), ir.Constant(I64, 1023))
    # clamp to the table's range (lanes outside it are not selected)
    lo, hi = ir.Constant(I64, 20), ir.Constant(I64, 1023)
    exponent = b.select(b.icmp_signed("<", exponent, lo), lo, exponent)
    exponent = b.select(b.icmp_signed(">", exponent, hi), hi, exponent)
    m = b.or_(b.and_(bits, ir.Constant(I64, (1 << 52) - 1)), ir.Constant(I64, 1 << 52))
    m0 = b.and_(m, mask)
    m1 = b.lshr(m, ir.Constant(I64, LIMB))
    # a = m 2**e, e = E - 52; the window starts at bit k0 = e - 1 of 2/pi
    start = b.add(b.sub(exponent, ir.Constant(I64, 53)), ir.Constant(I64, PH_PAD))
    table = _table(d.module, "tfc.math.two_over_pi_limbs", _PH_TABLE, I32)
    limbs_p = []
    for j in range(LIMBS):                                    # least significant first
        q = b.add(start, ir.Constant(I64, LIMB * (LIMBS - 1 - j)))
        limbs_p.append(b.zext(_lookup(d, table, b.trunc(q, I32)), I64))
    # (m * P) mod 2**182 in 26-bit limbs
    limbs = []
    carry = ir.Constant(I64, 0)
    for k in range(LIMBS):
        column = b.mul(m0, limbs_p[k])
        if k > 0:
            column = b.add(column, b.mul(m1, limbs_p[k - 1]))
        column = b.add(column, carry)
        limbs.append(b.and_(column, mask))
        carry = b.lshr(column, ir.Constant(I64, LIMB))
    top = limbs[6]                                            # 2 integer + 24 fraction bits
    n = b.lshr(b.add(top, ir.Constant(I64, 1 << 23)), ir.Constant(I64, 24))
    frac = b.sub(top, b.shl(n, ir.Constant(I64, 24)))
    def scaled(v, e):
        return d.mul(b.sitofp(v, F64), d.c(2.0 ** e))
    hi = d.add(scaled(frac, -24), scaled(limbs[5], -50))      # exact
    lo = d.add(scaled(limbs[4], -76), scaled(limbs[3], -102))   # exact
    lo = d.add(lo, scaled(limbs[2], -128))
    s = d.add(hi, lo)
    e = d.sub(lo, d.sub(s, hi))
    rh = d.mul(s, d.c(PIO2_HI))
    rl = d.exact_fma(s, d.c(PIO2_HI), d.neg(rh))
    rl = d.add(rl, d.fma(s, d.c(PIO2_LO), d.mul(e, d.c(PIO2_HI))))
    return n, d.add(rh, rl)


def _reduce(f: Ctx, x, full_range: bool = True):
    """(n mod 4 as i64, r as double, d, x as double) with |x| = n pi/2 + r; x is float or
    double. Without full_range, only |x| < MEDIUM (and inf, NaN) are reduced correctly."""
    if f.is64:
        d, xd = f, x
    else:
        d, xd = Ctx(f.b, f.module, F64), f.b.fpext(x, F64)
    a = d.abs(xd)
    medium = d.lt(a, d.c(MEDIUM))
    n, r = _reduce_medium(d, d.select(medium, a, d.c(0.0)))
    if full_range:
        if f.is64:
            n_l, r_l = _reduce_large_f64(d, a)
        else:
            n_l, r_l = _reduce_large_f32(d, f.b.bitcast(f.abs(x), I32))
        n = f.b.select(medium, n, n_l)
        r = d.select(medium, r, r_l)
    return n, r, d, xd


def _finish(f: Ctx, d: Ctx, x, value):
    result = value if f.is64 else f.b.fptrunc(value, F32)
    finite = f.lt(f.abs(x), f.c(float("inf")))
    return f.select(finite, result, f.sub(x, x))          # inf, NaN -> NaN


def _quadrant(f: Ctx, n, cosine: bool):
    """(swap sin/cos, negate) for quadrant n (mod 4) of sin, or of cos."""
    b = f.b
    odd = b.icmp_unsigned("!=", b.and_(n, ir.Constant(I64, 1)), ir.Constant(I64, 0))
    if cosine:
        n = b.add(n, ir.Constant(I64, 1))
    negate = b.icmp_unsigned("!=", b.and_(n, ir.Constant(I64, 2)), ir.Constant(I64, 0))
    return odd, negate


def _sin_impl(full_range: bool):
    def emit(f: Ctx, x):
        n, r, d, xd = _reduce(f, x, full_range)
        swap, negate = _quadrant(f, n, cosine=False)
        v = d.select(swap, _cos_kernel(d, r), _sin_kernel(d, r))
        v = d.select(negate, d.neg(v), v)
        return _finish(f, d, x, d.xor_sign(v, xd))           # sin is odd
    return emit


def _cos_impl(full_range: bool):
    def emit(f: Ctx, x):
        n, r, d, _ = _reduce(f, x, full_range)
        swap, negate = _quadrant(f, n, cosine=True)
        v = d.select(swap, _sin_kernel(d, r), _cos_kernel(d, r))
        v = d.select(negate, d.neg(v), v)
        return _finish(f, d, x, v)
    return emit


def _beyond_medium(f: Ctx, x):
    a = f.abs(x)
    return f.b.and_(f.b.fcmp_ordered(">=", a, f.c(MEDIUM)), f.lt(a, f.c(float("inf"))))


# float32 fast path: float arithmetic (16 lanes), three-part Cody-Waite with FMA (pi/2 pieces
# 0x1.921fb0p0, 0x1.5110b4p-22, 0x1.84698ap-48), Cephes' sinf/cosf polynomials: ~1 ulp for
# |x| < FAST_F32 (numpy's bound for the same reduction).
FAST_F32 = 71476.0625
PIO2_F32 = (1.570796012878418, 3.1391647326017846e-07, 5.390302953474238e-15)
_SIN_F32 = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]
_COS_F32 = [2.443315711809948e-05, -1.388731625493765e-03, 4.166664568298827e-02]


def _sincos_fast_f32(cosine: bool):
    def emit(f: Ctx, x):
        b = f.b
        q = f.rint(f.mul(x, f.c(INV_PIO2)))
        r = x
        for part in PIO2_F32:
            r = f.exact_fma(q, f.c(-part), r)
        z = f.mul(r, r)
        sin_r = f.fma(f.mul(z, r), f.poly(z, _SIN_F32), r)
        cos_r = f.fma(f.mul(z, z), f.poly(z, _COS_F32), f.fma(z, f.c(-0.5), f.c(1.0)))
        qi = f.to_int(f.select(f.lt(f.abs(x), f.c(FAST_F32)), q, f.c(0.0)))
        n = b.sext(qi, I64)
        swap, negate = _quadrant(f, n, cosine)
        v = f.select(swap, sin_r if cosine else cos_r, cos_r if cosine else sin_r)
        v = f.select(negate, f.neg(v), v)
        if not cosine:
            v = f.select(f.lt(f.abs(x), f.c(2.0 ** -12)), x, v)     # sin x = x, keeps -0
        finite = f.lt(f.abs(x), f.c(float("inf")))
        return f.select(finite, v, f.sub(x, x))
    return emit


def _beyond_fast_f32(f: Ctx, x):
    a = f.abs(x)
    return f.b.and_(f.b.fcmp_ordered(">=", a, f.c(FAST_F32)), f.lt(a, f.c(float("inf"))))


IMPLS[("sin", "f32")] = IMPLS[("sin", "f64")] = _sin_impl(True)
IMPLS[("cos", "f32")] = IMPLS[("cos", "f64")] = _cos_impl(True)
IMPLS[("sin_fast", "f64")] = _sin_impl(False)
IMPLS[("cos_fast", "f64")] = _cos_impl(False)
IMPLS[("sin_fast", "f32")] = _sincos_fast_f32(cosine=False)
IMPLS[("cos_fast", "f32")] = _sincos_fast_f32(cosine=True)


def _needs_full(f: Ctx, x):
    return _beyond_medium(f, x) if f.is64 else _beyond_fast_f32(f, x)


FAST["sin"] = ("sin_fast", _needs_full)
FAST["cos"] = ("cos_fast", _needs_full)
