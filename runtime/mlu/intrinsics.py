"""The BANG C intrinsics of the MLU simulator (semantics from shared/BANG.md).

`INTRINSICS` maps an intrinsic's name to `fn(ctx, args)`; the interpreter calls it for every call
of that name with the evaluated C arguments (Python int/float for scalars, `Pointer` for
pointers).  Each function checks the documented rules (operand spaces, the profile's alignment
and size rules, overlap), computes its result with numpy on whole vectors, writes it through
`ctx.view` and charges its cost with `ctx.charge("compute", cycles)`.

Numerics
- fp16 operands are computed in float32 and rounded (nearest even) to float16, fp32 in float32.
- Saturating profiles (mlu270): a floating result never is Inf/NaN: +-Inf and overflow clamp to
  the dtype's largest finite value, NaN becomes 0.  Integer results saturate to the dtype's
  range.  Non-saturating profiles (mlu370): IEEE results, integers wrap.
- Table-based activations (sigmoid, tanh, exp, log, recip, sqrt, rsqrt) are evaluated as linear
  interpolation in float32 tables (see `_TABLES`), so they carry a small, deterministic error
  (measured maxima in the README); sigmoid/tanh saturate to 0/-1 below -7.75 and to 1 above 7.75.
  relu and abs are exact.
- Float -> int conversions `(dst, src, n, pos)` compute `src / 2^pos` in float64, round by the
  suffix and saturate (both profiles): `_rd` (the 2xx spelling) and `_rn` round to nearest,
  ties to even; `_tz` toward zero; `_dn` toward -inf; `_up` toward +inf; `_oz` away from zero.
  NaN becomes 0.  The same suffixes apply to `__bang_float2half_*`.

Cost model (per call, added to the core's compute queue)
- vector unit: VECTOR_STARTUP_CYCLES + passes * ceil(bytes / 128), bytes = the largest operand
  of the call; relu/abs and plain arithmetic take one pass, table-based activations two.
- pooling: VECTOR_STARTUP_CYCLES + Ho * Wo * kh * kw * ceil(C * sizeof / 128).
- tensor unit (conv, mlp, matmul): TENSOR_STARTUP_CYCLES + ceil(2 * MACs / rate), rate the
  profile's ops/cycle of the input dtype (the slower one if the two inputs differ).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["INTRINSICS", "VECTOR_STARTUP_CYCLES", "TENSOR_STARTUP_CYCLES", "VECTOR_BYTES_PER_CYCLE",
           "ROUND_MODES", "TABLE_DOMAIN"]

VECTOR_BYTES_PER_CYCLE = 128
VECTOR_STARTUP_CYCLES = 20      # assumption: issue + pipeline fill of one vector instruction
TENSOR_STARTUP_CYCLES = 100     # assumption: weight-load / pipeline fill of one tensor instruction
ALIGN_BYTES = 64                # operand address alignment on strict (2xx) profiles
SIZE_BYTES = 128                # operand size granularity on strict (2xx) profiles
TABLE_DOMAIN = 7.75             # sigmoid/tanh tables cover [-7.75, 7.75]

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
I8 = np.dtype(np.int8)
I16 = np.dtype(np.int16)
I32 = np.dtype(np.int32)
U8 = np.dtype(np.uint8)
FLOATS = (F16, F32)
VECTOR_TYPES = (F16, F32, I8, I16, I32, U8)
ROUND_MODES = ("rn", "rd", "tz", "dn", "up", "oz")

INTRINSICS: dict = {}


# ----------------------------------------------------------------------------------------------
# registration and argument checking

def _register(*names, nargs):
    """Register fn(ctx, args, name) under each name; checks the argument count first."""
    lo, hi = (nargs, nargs) if isinstance(nargs, int) else nargs

    def wrap(fn):
        for name in names:
            def call(ctx, args, _name=name):
                args = tuple(args)
                if not lo <= len(args) <= hi:
                    want = str(lo) if lo == hi else f"{lo} to {hi}"
                    _fail(ctx, "arguments", f"{_name} takes {want} arguments, got {len(args)}")
                with np.errstate(all="ignore"):
                    return fn(ctx, args, _name)
            call.__name__ = name
            call.__doc__ = fn.__doc__
            INTRINSICS[name] = call
        return fn
    return wrap


def _fail(ctx, rule, detail):
    ctx.fail(rule, detail)
    raise RuntimeError(f"{rule}: {detail}")  # ctx.fail raises; this is only a safety net


def _is_ptr(x) -> bool:
    return getattr(x, "space", None) is not None


def _ptr(ctx, name, args, i, what, spaces=("nram",)):
    p = args[i]
    if not _is_ptr(p):
        _fail(ctx, "arguments", f"{name}: argument {i + 1} ({what}) must be a pointer, got {p!r}")
    if p.space not in spaces:
        want = " or ".join(s.upper() for s in spaces)
        _fail(ctx, "space", f"{name}: {what} must be in {want}, got a {p.space.upper()} pointer")
    return p


def _ptrs(ctx, name, args, *whats):
    """The first len(whats) arguments, each checked by `_ptr` as an NRAM pointer."""
    return [_ptr(ctx, name, args, i, what) for i, what in enumerate(whats)]


def _int(ctx, name, args, i, what, minimum=1):
    v = args[i]
    if _is_ptr(v) or not isinstance(v, (int, float, np.integer, np.floating)):
        _fail(ctx, "arguments", f"{name}: argument {i + 1} ({what}) must be an integer, got {v!r}")
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            _fail(ctx, "arguments", f"{name}: {what} = {v} is not a number")
        v = int(v)  # C converts a floating argument to int by truncation
    v = int(v)
    if minimum is not None and v < minimum:
        _fail(ctx, "arguments", f"{name}: {what} must be >= {minimum}, got {v}")
    return v


def _scalar(ctx, name, args, i, what):
    v = args[i]
    if _is_ptr(v) or not isinstance(v, (int, float, np.integer, np.floating)):
        _fail(ctx, "arguments", f"{name}: argument {i + 1} ({what}) must be a number, got {v!r}")
    return v


def _dtype(ctx, name, ptrs, allowed, default=None):
    """The common element type of `ptrs` (void* pointers take it from the others)."""
    dts = [np.dtype(p.dtype) for p in ptrs if p.dtype is not None]
    if not dts:
        if default is None:
            _fail(ctx, "type", f"{name}: cannot tell the element type: every operand is a void pointer")
        return np.dtype(default)
    dt = dts[0]
    for other in dts[1:]:
        if other != dt:
            _fail(ctx, "type", f"{name}: operands have different element types ({_cname(dt)} and {_cname(other)})")
    if dt not in allowed:
        _fail(ctx, "type", f"{name}: element type {_cname(dt)} is not supported "
                           f"(supported: {', '.join(_cname(a) for a in allowed)})")
    return dt


def _want(ctx, name, p, dt, what):
    """Check that pointer `p` points to `dt` (void* is accepted)."""
    if p.dtype is not None and np.dtype(p.dtype) != dt:
        _fail(ctx, "type", f"{name}: {what} must be {_cname(dt)}*, got {_cname(np.dtype(p.dtype))}*")


_CNAMES = {F16: "half", F32: "float", I8: "int8_t", I16: "int16_t", I32: "int32_t", U8: "uint8_t",
           np.dtype(np.int64): "int64_t", np.dtype(np.uint16): "uint16_t", np.dtype(np.uint32): "uint32_t",
           np.dtype(np.float64): "double"}


def _cname(dt) -> str:
    return _CNAMES.get(np.dtype(dt), str(np.dtype(dt)))


def _strict(ctx) -> bool:
    return bool(getattr(ctx.profile, "strict_alignment", False))


def _saturating(ctx) -> bool:
    return bool(getattr(ctx.profile, "saturating", False))


def _align(ctx, name, p, nbytes, what, size_rule=True):
    """The 2xx rules: operand address 64-byte aligned and its size a multiple of 128 bytes."""
    if not _strict(ctx):
        return
    if p.addr % ALIGN_BYTES:
        _fail(ctx, "alignment", f"{name}: {what} at {p.space.upper()} address {p.addr} is not "
                                f"{ALIGN_BYTES}-byte aligned ({ctx.profile.name})")
    if size_rule and nbytes % SIZE_BYTES:
        _fail(ctx, "alignment", f"{name}: {what} spans {nbytes} bytes, not a multiple of {SIZE_BYTES} "
                                f"({ctx.profile.name})")


def _no_overlap(ctx, name, p, pbytes, q, qbytes, pwhat="dst", qwhat="src"):
    if p.space == q.space and p.addr < q.addr + qbytes and q.addr < p.addr + pbytes:
        _fail(ctx, "overlap", f"{name}: {pwhat} [{p.addr}, {p.addr + pbytes}) overlaps {qwhat} "
                              f"[{q.addr}, {q.addr + qbytes}) in {p.space.upper()}; it must not")


def _view(ctx, p, count, dt):
    return ctx.view(p, count, dt)


def _vector_type(ctx, name, operands, n, allowed):
    """The common element type of the vector operands ((pointer, what) pairs), each checked by
    `_align` for n elements; returns (dtype, bytes of one operand)."""
    dt = _dtype(ctx, name, [p for p, _ in operands], allowed)
    nbytes = n * dt.itemsize
    for p, what in operands:
        _align(ctx, name, p, nbytes, what)
    return dt, nbytes


def _dst_src_n(ctx, name, args, allowed):
    """The operands of a `(dst, src, n)` intrinsic: (dst, src, n, dtype, bytes of one operand)."""
    dst, src = _ptrs(ctx, name, args, "dst", "src")
    n = _int(ctx, name, args, 2, "n")
    dt, nbytes = _vector_type(ctx, name, ((dst, "dst"), (src, "src")), n, allowed)
    return dst, src, n, dt, nbytes


def _charge_vector(ctx, nbytes, passes=1):
    cycles = VECTOR_STARTUP_CYCLES + passes * -(-int(nbytes) // VECTOR_BYTES_PER_CYCLE)
    ctx.charge("compute", cycles)
    return cycles


_FMAX = {F16: float(np.finfo(F16).max), F32: float(np.finfo(F32).max),
         np.dtype(np.float64): float(np.finfo(np.float64).max)}


def _store(ctx, out, values):
    """Write `values` into the view `out`, rounding to its dtype with the profile's saturation.
    (Callers run under the errstate of `_register`'s wrapper.)"""
    dt = out.dtype
    values = np.asarray(values)
    if dt.kind == "f":
        if values.dtype.kind == "f" and ctx.profile.saturating:
            big = _FMAX[dt]
            values = np.minimum(np.maximum(values, -big), big)   # +-Inf and overflow clamp; NaN stays
            nan = np.isnan(values)
            if nan.any():
                values[nan] = 0.0
        out[...] = values                                 # round to nearest even
    else:
        if values.dtype.kind == "f":
            values = np.where(np.isnan(values), 0.0, values)
            info = np.iinfo(dt)
            values = np.clip(values, info.min, info.max)
        elif ctx.profile.saturating:
            info = np.iinfo(dt)
            values = np.clip(values, info.min, info.max)
        out[...] = values.astype(dt)                      # wraps when not saturated


def _load(view):
    """Operand values for computing: float32 for floats (fp16 widened), int64 for integers.
    An fp32 operand is the view itself: every caller computes a new array before storing."""
    if view.dtype == F32:
        return view
    if view.dtype.kind == "f":
        return view.astype(np.float32)
    return view.astype(np.int64)


# ----------------------------------------------------------------------------------------------
# elementwise binary ops

def _binary(op):
    def fn(ctx, args, name):
        dst, a, b = _ptrs(ctx, name, args, "dst", "src0", "src1")
        n = _int(ctx, name, args, 3, "n")
        dt, nbytes = _vector_type(ctx, name, ((dst, "dst"), (a, "src0"), (b, "src1")), n, VECTOR_TYPES)
        av, bv = _load(_view(ctx, a, n, dt)), _load(_view(ctx, b, n, dt))
        out = _view(ctx, dst, n, dt)
        _store(ctx, out, op(av, bv, dt))
        _charge_vector(ctx, nbytes)
    return fn


def _cmp(op):
    return lambda a, b, dt: op(a, b).astype(a.dtype)


_BINARY = {
    "__bang_add": lambda a, b, dt: a + b,
    "__bang_sub": lambda a, b, dt: a - b,
    "__bang_mul": lambda a, b, dt: a * b,
    "__bang_maxequal": lambda a, b, dt: np.maximum(a, b),
    "__bang_minequal": lambda a, b, dt: np.minimum(a, b),
    "__bang_ge": _cmp(np.greater_equal),
    "__bang_gt": _cmp(np.greater),
    "__bang_le": _cmp(np.less_equal),
    "__bang_lt": _cmp(np.less),
    "__bang_eq": _cmp(np.equal),
    "__bang_ne": _cmp(np.not_equal),
}
_BINARY_ALIASES = {"__bang_maxequal": ("__bang_maximum",), "__bang_minequal": ("__bang_minimum",)}
for _name, _op in _BINARY.items():
    _register(_name, *_BINARY_ALIASES.get(_name, ()), nargs=4)(_binary(_op))


def _scalar_value(value, dt):
    """A scalar operand as the hardware sees it: rounded to the operand type."""
    if dt.kind == "f":
        return np.float32(np.asarray(value, dtype=np.float64).astype(dt))
    return np.int64(int(value))


def _with_scalar(op):
    def fn(ctx, args, name):
        dst, a = _ptrs(ctx, name, args, "dst", "src")
        value = _scalar(ctx, name, args, 2, "value")
        n = _int(ctx, name, args, 3, "n")
        dt, nbytes = _vector_type(ctx, name, ((dst, "dst"), (a, "src")), n, VECTOR_TYPES)
        av = _load(_view(ctx, a, n, dt))
        out = _view(ctx, dst, n, dt)
        _store(ctx, out, op(av, _scalar_value(value, dt)))
        _charge_vector(ctx, nbytes)
    return fn


for _names, _op in ((("__bang_add_scalar", "__bang_add_const"), lambda a, v: a + v),
                    (("__bang_sub_scalar", "__bang_sub_const"), lambda a, v: a - v),
                    (("__bang_mul_scalar", "__bang_mul_const"), lambda a, v: a * v)):
    _register(*_names, nargs=4)(_with_scalar(_op))


def _cycle(op):
    def fn(ctx, args, name):
        dst, a, seg = _ptrs(ctx, name, args, "dst", "src", "seg")
        n = _int(ctx, name, args, 3, "n")
        seg_n = _int(ctx, name, args, 4, "seg_n")
        dt = _dtype(ctx, name, (dst, a, seg), VECTOR_TYPES)
        if n % seg_n:
            _fail(ctx, "size", f"{name}: n = {n} is not divisible by seg_n = {seg_n}")
        nbytes = n * dt.itemsize
        _align(ctx, name, dst, nbytes, "dst")
        _align(ctx, name, a, nbytes, "src")
        _align(ctx, name, seg, seg_n * dt.itemsize, "seg")
        av = _load(_view(ctx, a, n, dt)).reshape(-1, seg_n)
        sv = _load(_view(ctx, seg, seg_n, dt))[None, :]
        out = _view(ctx, dst, n, dt)
        _store(ctx, out, op(av, sv).reshape(-1))
        _charge_vector(ctx, nbytes)
    return fn


for _name, _op in (("__bang_cycle_add", np.add), ("__bang_cycle_sub", np.subtract),
                   ("__bang_cycle_mul", np.multiply)):
    _register(_name, nargs=5)(_cycle(_op))


# ----------------------------------------------------------------------------------------------
# activations

def _knots(lo, hi, step):
    x = np.arange(lo, hi + step / 2, step, dtype=np.float64)
    return x


def _table(x, f):
    """A float32 table of f at the knots x (what the hardware's lookup table would hold)."""
    return x, f(x).astype(np.float32).astype(np.float64)


_TABLES = {
    # name: (knots, values); the step sizes are the model's assumption.
    "sigmoid": _table(_knots(-TABLE_DOMAIN, TABLE_DOMAIN, 1 / 16), lambda x: 1 / (1 + np.exp(-x))),
    "tanh": _table(_knots(-TABLE_DOMAIN, TABLE_DOMAIN, 1 / 16), np.tanh),
    "exp2": _table(_knots(0.0, 1.0, 1 / 16), np.exp2),         # 2^f on [0, 1]
    "log": _table(_knots(1.0, 2.0, 1 / 16), np.log),           # ln m on [1, 2]
    "recip": _table(_knots(1.0, 2.0, 1 / 32), lambda x: 1 / x),  # 1/m on [1, 2]
    "sqrt": _table(_knots(1.0, 4.0, 1 / 16), np.sqrt),         # sqrt m on [1, 4]
    "rsqrt": _table(_knots(1.0, 4.0, 1 / 16), lambda x: 1 / np.sqrt(x)),
}


def _interp(name, x):
    knots, values = _TABLES[name]
    return np.interp(x, knots, values)


def _split(x):
    """x = m * 2^e with m in [1, 2) (x finite, > 0)."""
    m, e = np.frexp(x)
    return m * 2.0, e - 1


def _bounded(name, low):
    """sigmoid/tanh: the table inside [-TABLE_DOMAIN, TABLE_DOMAIN], `low` below it, 1 above."""
    def f(x):
        y = _interp(name, x)
        return np.where(x < -TABLE_DOMAIN, low, np.where(x > TABLE_DOMAIN, 1.0, y))
    return f


def _act_exp(x):
    t = x * (1 / math.log(2))
    finite = np.isfinite(t)
    t0 = np.where(finite, np.clip(t, -1100, 1100), 0.0)
    k = np.floor(t0)
    y = np.ldexp(_interp("exp2", t0 - k), k.astype(np.int64))
    y = np.where(finite, y, np.where(np.isnan(x), np.nan, np.where(x > 0, np.inf, 0.0)))
    return y


def _positive_table(x, name, fn_pos, zero, neg):
    """Evaluate a mantissa-table function for x > 0; x == 0 -> zero, x < 0 -> neg, inf/NaN IEEE."""
    pos = (x > 0) & np.isfinite(x)
    xs = np.where(pos, x, 1.0)
    y = fn_pos(xs)
    y = np.where(pos, y, np.where(x == 0, zero, neg))
    y = np.where(np.isposinf(x), _INF_RESULT[name], y)
    return np.where(np.isnan(x), np.nan, y)


_INF_RESULT = {"log": np.inf, "sqrt": np.inf, "rsqrt": 0.0}


def _act_log(x):
    def f(v):
        m, e = _split(v)
        return _interp("log", m) + e * math.log(2)
    return _positive_table(x, "log", f, -np.inf, np.nan)


def _root(name, sign, zero):
    """sqrt (sign 1) or rsqrt (sign -1): x = m * 4^h with m in [1, 4), the table at m times 2^(sign*h)."""
    def f(v):
        m, e = _split(v)
        odd = (e % 2) != 0
        m = np.where(odd, m * 2, m)
        e = np.where(odd, e - 1, e)
        return np.ldexp(_interp(name, m), (sign * (e // 2)).astype(np.int64))
    return lambda x: _positive_table(x, name, f, zero, np.nan)


def _act_recip(x):
    ax = np.abs(x)
    fin = np.isfinite(ax) & (ax > 0)
    m, e = _split(np.where(fin, ax, 1.0))
    y = np.ldexp(_interp("recip", m), (-e).astype(np.int64)) * np.sign(np.where(fin, x, 1.0))
    y = np.where(fin, y, np.where(np.isnan(x), np.nan,
                                  np.where(ax == 0, np.copysign(np.inf, x), np.copysign(0.0, x))))
    return y


_ACTIVATIONS = {
    # name: (function of float64 values, passes over the data, exact)
    "relu": (lambda x: np.maximum(x, 0), 1),
    "abs": (np.abs, 1),
    "sigmoid": (_bounded("sigmoid", 0.0), 2),
    "tanh": (_bounded("tanh", -1.0), 2),
    "exp": (_act_exp, 2),
    "log": (_act_log, 2),
    "recip": (_act_recip, 2),
    "sqrt": (_root("sqrt", 1, 0.0), 2),
    "rsqrt": (_root("rsqrt", -1, np.inf), 2),
    "square": (lambda x: x * x, 1),
}

_ACTIVE_ALIASES = {
    "relu": ("__bang_active_relu", "__bang_relu"),
    "abs": ("__bang_active_abs", "__bang_abs"),
    "sigmoid": ("__bang_active_sigmoid", "__bang_sigmoid"),
    "tanh": ("__bang_active_tanh", "__bang_tanh"),
    "exp": ("__bang_active_exp", "__bang_active_exphp", "__bang_exp"),
    "log": ("__bang_active_log", "__bang_log"),
    "recip": ("__bang_active_recip", "__bang_active_reciphp", "__bang_recip"),
    "sqrt": ("__bang_active_sqrt", "__bang_active_sqrthp", "__bang_sqrt"),
    "rsqrt": ("__bang_active_rsqrt", "__bang_active_rsqrthp", "__bang_rsqrt"),
    "square": ("__bang_square",),
}


def _active(kind):
    fn_values, passes = _ACTIVATIONS[kind]

    def fn(ctx, args, name):
        allowed = FLOATS if kind not in ("relu", "abs") else VECTOR_TYPES
        dst, src, n, dt, nbytes = _dst_src_n(ctx, name, args, allowed)
        sv = _view(ctx, src, n, dt)
        x = sv.astype(np.float64) if dt.kind == "f" else sv.astype(np.int64)
        y = fn_values(x)
        if dt.kind == "f":
            y = y.astype(np.float32)  # the unit computes in fp32, then rounds to dst
        _store(ctx, _view(ctx, dst, n, dt), y)
        _charge_vector(ctx, nbytes, passes)
    return fn


for _kind, _names in _ACTIVE_ALIASES.items():
    _register(*_names, nargs=3)(_active(_kind))


# ----------------------------------------------------------------------------------------------
# fills

def _fill(forced=None, zero=False):
    """(dst, n, value), or (dst, n) with `zero`; `forced` the element type of the typed variants."""
    def fn(ctx, args, name):
        dst = _ptr(ctx, name, args, 0, "dst")
        n = _int(ctx, name, args, 1, "n")
        value = 0 if zero else _scalar(ctx, name, args, 2, "value")
        if forced is not None:
            _want(ctx, name, dst, forced, "dst")
            dt = forced
        else:
            dt = _dtype(ctx, name, (dst,), VECTOR_TYPES, default=np.int8)
        nbytes = n * dt.itemsize
        _align(ctx, name, dst, nbytes, "dst")
        out = _view(ctx, dst, n, dt)
        if dt.kind == "f":
            _store(ctx, out, np.full(n, float(value), dtype=np.float64))
        else:
            info = np.iinfo(dt)
            v = int(value)
            out[...] = min(max(v, info.min), info.max) if _saturating(ctx) else np.array(v).astype(dt)
        _charge_vector(ctx, nbytes)
    return fn


_register("__bang_write_zero", nargs=2)(_fill(zero=True))
_register("__bang_write_value", "__nramset", nargs=3)(_fill())
_register("__nramset_half", nargs=3)(_fill(F16))
_register("__nramset_float", nargs=3)(_fill(F32))
_register("__nramset_int", nargs=3)(_fill(I32))
_register("__nramset_short", nargs=3)(_fill(I16))


# ----------------------------------------------------------------------------------------------
# pooling

def _out_size(ctx, name, h, w, kh, kw, sh, sw):
    """(ho, wo): how many kh x kw windows at strides (sh, sw) fit in h x w (pooling, conv)."""
    if kh > h or kw > w:
        _fail(ctx, "size", f"{name}: kernel {kh}x{kw} is larger than the input {h}x{w}")
    return (h - kh) // sh + 1, (w - kw) // sw + 1


def _windows(x, kh, kw, sh, sw, ho, wo):
    """The windows of x [h, w, c] as an array [ho, wo, c, kh, kw] (strided selection drops the
    windows that do not fit)."""
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))[::sh, ::sw][:ho, :wo]


def _pool(kind):
    def fn(ctx, args, name):
        dst, src = _ptrs(ctx, name, args, "dst", "src")
        c = _int(ctx, name, args, 2, "channel")
        h = _int(ctx, name, args, 3, "height")
        w = _int(ctx, name, args, 4, "width")
        kh = _int(ctx, name, args, 5, "kernel_height")
        kw = _int(ctx, name, args, 6, "kernel_width")
        sw = _int(ctx, name, args, 7, "stride_width") if len(args) > 7 else kw
        sh = _int(ctx, name, args, 8, "stride_height") if len(args) > 8 else kh
        dt = _dtype(ctx, name, (dst, src), FLOATS if kind != "max" else (F16, F32, I16, I8))
        ho, wo = _out_size(ctx, name, h, w, kh, kw, sh, sw)
        isz = dt.itemsize
        src_bytes, dst_bytes = h * w * c * isz, ho * wo * c * isz
        if _strict(ctx) and (c * isz) % SIZE_BYTES:
            _fail(ctx, "alignment", f"{name}: channel * sizeof({_cname(dt)}) = {c * isz} bytes is not a "
                                    f"multiple of {SIZE_BYTES} ({ctx.profile.name})")
        _align(ctx, name, dst, dst_bytes, "dst")
        _align(ctx, name, src, src_bytes, "src")
        _no_overlap(ctx, name, dst, dst_bytes, src, src_bytes)
        x = _view(ctx, src, h * w * c, dt).reshape(h, w, c)
        win = _windows(x, kh, kw, sh, sw, ho, wo)
        if kind == "max":
            y = win.max(axis=(3, 4))
        else:
            y = win.astype(np.float32).sum(axis=(3, 4), dtype=np.float32)
            if kind == "avg":
                y = y / np.float32(kh * kw)
        _store(ctx, _view(ctx, dst, ho * wo * c, dt), y.reshape(-1))
        cycles = VECTOR_STARTUP_CYCLES + ho * wo * kh * kw * -(-(c * isz) // VECTOR_BYTES_PER_CYCLE)
        ctx.charge("compute", cycles)
    return fn


_register("__bang_maxpool", nargs=(7, 9))(_pool("max"))
_register("__bang_sumpool", nargs=(7, 9))(_pool("sum"))
_register("__bang_avgpool", nargs=(7, 9))(_pool("avg"))


# ----------------------------------------------------------------------------------------------
# tensor unit: conv, mlp, matmul

_TENSOR_INPUTS = (I8, I16, F16, F32)


def _tensor_rate(ctx, name, dts):
    """ops/cycle for the input types; error if the profile's tensor unit does not take them."""
    prof = ctx.profile
    floats = [d for d in dts if d.kind == "f"]
    if floats:
        if len(set(dts)) != 1:
            _fail(ctx, "type", f"{name}: floating inputs must have one type, got "
                               f"{' and '.join(_cname(d) for d in dts)}")
        if not getattr(prof, "float_conv", False):
            _fail(ctx, "type", f"{name}: the {prof.name} tensor unit takes int8/int16 inputs only, got "
                               f"{_cname(dts[0])} (fp16/fp32 need mlu370)")
        return prof.fp16_ops_per_cycle if dts[0] == F16 else prof.fp32_ops_per_cycle
    if I16 in dts:
        return prof.int16_ops_per_cycle
    return prof.int8_ops_per_cycle


def _tensor_types(ctx, name, dst, src, weights):
    """(input type, weight type, result type, ops/cycle) of a tensor-unit call; a void* weight
    pointer takes the input's type, the result is fp16 or fp32."""
    sdt = _dtype(ctx, name, (src,), _TENSOR_INPUTS)
    wdt = _dtype(ctx, name, (weights,), _TENSOR_INPUTS, default=sdt)
    ddt = _dtype(ctx, name, (dst,), FLOATS)
    return sdt, wdt, ddt, _tensor_rate(ctx, name, [sdt, wdt])


def _tensor_inputs(ctx, name, dst, src, weights):
    """The operands of a tensor-unit call, each (pointer, dtype, element count, what): checks
    their address alignment and that dst and src do not overlap; returns the src and weight
    values (flat) in the accumulation type."""
    for p, dt, count, what in (dst, src, weights):
        _align(ctx, name, p, count * dt.itemsize, what, size_rule=False)
    (d, ddt, dcount, _), (s, sdt, scount, swhat) = dst, src
    _no_overlap(ctx, name, d, dcount * ddt.itemsize, s, scount * sdt.itemsize, qwhat=swhat)
    acc_t = _acc_dtype(sdt)
    return [_view(ctx, p, count, dt).astype(acc_t) for p, dt, count, _ in (src, weights)]


def _tensor_result(ctx, out, acc, pos):
    """acc (exact sums as float64 or fp32 sums) scaled by 2^pos, rounded into out."""
    _store(ctx, out, (np.ldexp(acc, pos)).astype(np.float32) if out.dtype == F32
           else np.ldexp(acc, pos))


def _charge_tensor(ctx, macs, rate):
    cycles = TENSOR_STARTUP_CYCLES + math.ceil(2 * macs / rate)
    ctx.charge("compute", cycles)
    return cycles


def _acc_dtype(dt):
    # integer products are summed exactly (float64 holds every int8/int16 sum of < 2^21 terms
    # exactly); floating inputs accumulate in fp32 as the unit does.
    return np.float64 if dt.kind == "i" else np.float32


@_register("__bang_conv", nargs=12)
def _conv(ctx, args, name):
    """dst[ho, wo, co] = 2^pos * sum src[ho*sh+i, wo*sw+j, ci] * kernel[co, i, j, ci]."""
    dst, src = _ptrs(ctx, name, args, "dst", "src")
    ker = _ptr(ctx, name, args, 2, "kernel", spaces=("wram",))
    ci = _int(ctx, name, args, 3, "channel_input")
    h = _int(ctx, name, args, 4, "height")
    w = _int(ctx, name, args, 5, "width")
    kh = _int(ctx, name, args, 6, "kernel_height")
    kw = _int(ctx, name, args, 7, "kernel_width")
    sw = _int(ctx, name, args, 8, "stride_width")
    sh = _int(ctx, name, args, 9, "stride_height")
    co = _int(ctx, name, args, 10, "channel_output")
    pos = _int(ctx, name, args, 11, "fix_position", minimum=None)
    sdt, kdt, ddt, rate = _tensor_types(ctx, name, dst, src, ker)
    ho, wo = _out_size(ctx, name, h, w, kh, kw, sh, sw)
    if _strict(ctx) and co % 64:
        _fail(ctx, "alignment", f"{name}: channel_output = {co} is not a multiple of 64 ({ctx.profile.name})")
    x, k = _tensor_inputs(ctx, name, (dst, ddt, ho * wo * co, "dst"), (src, sdt, h * w * ci, "src"),
                          (ker, kdt, co * kh * kw * ci, "kernel"))
    win = _windows(x.reshape(h, w, ci), kh, kw, sh, sw, ho, wo)
    cols = win.transpose(0, 1, 3, 4, 2).reshape(ho * wo, kh * kw * ci)   # (i, j, ci) order
    acc = cols @ k.reshape(co, kh * kw * ci).T
    _tensor_result(ctx, _view(ctx, dst, ho * wo * co, ddt), acc.reshape(-1), pos)
    _charge_tensor(ctx, ho * wo * co * kh * kw * ci, rate)


@_register("__bang_mlp", nargs=6)
def _mlp(ctx, args, name):
    """dst[h] = 2^pos * sum_w filter[h][w] * src[w]; filter in WRAM."""
    dst, src = _ptrs(ctx, name, args, "dst", "src")
    flt = _ptr(ctx, name, args, 2, "filter", spaces=("wram",))
    height = _int(ctx, name, args, 3, "height")
    width = _int(ctx, name, args, 4, "width")
    pos = _int(ctx, name, args, 5, "fix_position", minimum=None)
    sdt, fdt, ddt, rate = _tensor_types(ctx, name, dst, src, flt)
    if _strict(ctx) and height % 64:
        _fail(ctx, "alignment", f"{name}: height = {height} is not a multiple of 64 ({ctx.profile.name})")
    x, f = _tensor_inputs(ctx, name, (dst, ddt, height, "dst"), (src, sdt, width, "src"),
                          (flt, fdt, height * width, "filter"))
    _tensor_result(ctx, _view(ctx, dst, height, ddt), f.reshape(height, width) @ x, pos)
    _charge_tensor(ctx, height * width, rate)


@_register("__bang_matmul", nargs=(6, 7))
def _matmul(ctx, args, name):
    """dst[M, N] = 2^pos * a[M, K] @ b[K, N]; a row-major in NRAM, b column-major in WRAM."""
    dst, a = _ptrs(ctx, name, args, "dst", "a")
    b = _ptr(ctx, name, args, 2, "b", spaces=("wram",))
    m = _int(ctx, name, args, 3, "M")
    k = _int(ctx, name, args, 4, "K")
    n = _int(ctx, name, args, 5, "N")
    pos = _int(ctx, name, args, 6, "fix_position", minimum=None) if len(args) > 6 else 0
    adt, bdt, ddt, rate = _tensor_types(ctx, name, dst, a, b)
    av, bv = _tensor_inputs(ctx, name, (dst, ddt, m * n, "dst"), (a, adt, m * k, "a"), (b, bdt, k * n, "b"))
    av, bv = av.reshape(m, k), bv.reshape(n, k)    # b column-major [K, N]
    _tensor_result(ctx, _view(ctx, dst, m * n, ddt), (av @ bv.T).reshape(-1), pos)
    _charge_tensor(ctx, m * k * n, rate)


# ----------------------------------------------------------------------------------------------
# reductions, transpose

@_register("__bang_reduce_sum", nargs=3)
def _reduce_sum(ctx, args, name):
    """Each 128-byte chunk of src summed into the first element of the chunk in dst; the other
    elements of dst are set to 0.  A partial last chunk (mlu370 only) is summed as it is."""
    dst, src, n, dt, nbytes = _dst_src_n(ctx, name, args, FLOATS + (I16, I32))
    chunk = SIZE_BYTES // dt.itemsize
    x = _load(_view(ctx, src, n, dt))
    pad = (-n) % chunk
    if pad:
        x = np.concatenate([x, np.zeros(pad, x.dtype)])
    sums = x.reshape(-1, chunk).sum(axis=1, dtype=x.dtype)
    y = np.zeros(n + pad, x.dtype)
    y[::chunk] = sums
    _store(ctx, _view(ctx, dst, n, dt), y[:n])
    _charge_vector(ctx, nbytes)


def _argext(pick):
    def fn(ctx, args, name):
        """dst[0] = the max (min) of src[0:n], dst[1] = the index of its first occurrence, stored
        as a value of dst's type."""
        dst, src = _ptrs(ctx, name, args, "dst", "src")
        n = _int(ctx, name, args, 2, "n")
        dt = _dtype(ctx, name, (dst, src), FLOATS + (I16, I32))
        _align(ctx, name, src, n * dt.itemsize, "src")
        _align(ctx, name, dst, 0, "dst", size_rule=False)
        x = _view(ctx, src, n, dt)
        idx = int(pick(x))
        value = x[idx].astype(np.float64 if dt.kind == "f" else np.int64)
        _store(ctx, _view(ctx, dst, 2, dt), np.array([value, idx], dtype=value.dtype))
        _charge_vector(ctx, n * dt.itemsize)
    return fn


_register("__bang_argmax", "__bang_max", nargs=3)(_argext(np.argmax))
_register("__bang_argmin", "__bang_min", nargs=3)(_argext(np.argmin))


@_register("__bang_transpose", nargs=4)
def _transpose(ctx, args, name):
    """dst[j][i] = src[i][j] for src [h, w]; dst and src must not overlap."""
    dst, src = _ptrs(ctx, name, args, "dst", "src")
    h = _int(ctx, name, args, 2, "height")
    w = _int(ctx, name, args, 3, "width")
    dt, nbytes = _vector_type(ctx, name, ((dst, "dst"), (src, "src")), h * w, VECTOR_TYPES)
    _no_overlap(ctx, name, dst, nbytes, src, nbytes)
    x = _view(ctx, src, h * w, dt).reshape(h, w)
    _view(ctx, dst, h * w, dt)[...] = x.T.reshape(-1)
    _charge_vector(ctx, nbytes)


# ----------------------------------------------------------------------------------------------
# conversions

def _round(x, mode):
    if mode in ("rn", "rd"):
        return np.rint(x)
    if mode == "tz":
        return np.trunc(x)
    if mode == "dn":
        return np.floor(x)
    if mode == "up":
        return np.ceil(x)
    return np.sign(x) * np.ceil(np.abs(x))          # oz: away from zero


def _convert_checks(ctx, name, args, sdt, ddt):
    dst, src = _ptrs(ctx, name, args, "dst", "src")
    n = _int(ctx, name, args, 2, "n")
    _want(ctx, name, dst, ddt, "dst")
    _want(ctx, name, src, sdt, "src")
    _align(ctx, name, dst, n * ddt.itemsize, "dst")
    _align(ctx, name, src, n * sdt.itemsize, "src")
    if ddt.itemsize != sdt.itemsize:
        _no_overlap(ctx, name, dst, n * ddt.itemsize, src, n * sdt.itemsize)
    return dst, src, n


def _conversion(sdt, ddt, write, position=True):
    """A `(dst, src, n[, position])` conversion from sdt to ddt: `write(ctx, out, x, pos)` fills
    the dst view `out` from the src view `x` (pos is 0 without a position argument)."""
    def fn(ctx, args, name):
        dst, src, n = _convert_checks(ctx, name, args, sdt, ddt)
        pos = _int(ctx, name, args, 3, "position", minimum=None) if position else 0
        x = _view(ctx, src, n, sdt)
        write(ctx, _view(ctx, dst, n, ddt), x, pos)
        _charge_vector(ctx, n * max(sdt.itemsize, ddt.itemsize))
    return fn


def _float2int(mode):
    def write(ctx, out, x, pos):
        """dst = saturate(round(src / 2^pos))."""
        q = _round(np.ldexp(x.astype(np.float64), -pos), mode)
        q = np.nan_to_num(q, nan=0.0, posinf=np.inf, neginf=-np.inf)
        info = np.iinfo(out.dtype)
        out[...] = np.clip(q, info.min, info.max).astype(out.dtype)
    return write


def _int2float(ctx, out, x, pos):
    """dst = src * 2^pos, rounded to dst's type."""
    _store(ctx, out, np.ldexp(x.astype(np.float64), pos))


def _float2half_rounded(x, mode):
    """float32 array -> float16 with the rounding mode (IEEE overflow behaviour)."""
    h = x.astype(F16)
    if mode in ("rn", "rd"):
        return h
    back = h.astype(np.float32)
    fin = np.isfinite(x)
    if mode == "tz":
        step = fin & (np.abs(back) > np.abs(x))
        return np.where(step, np.nextafter(h, np.zeros_like(h)), h)
    if mode == "dn":
        step = fin & (back > x)
        return np.where(step, np.nextafter(h, np.full_like(h, -np.inf)), h)
    if mode == "up":
        step = fin & (back < x)
        return np.where(step, np.nextafter(h, np.full_like(h, np.inf)), h)
    # oz: away from zero
    step = fin & (np.abs(back) < np.abs(x))
    return np.where(step, np.nextafter(h, np.copysign(np.full_like(h, np.inf), h)), h)


def _float2half(mode):
    return lambda ctx, out, x, pos: _store(ctx, out, _float2half_rounded(np.asarray(x, np.float32), mode))


_register("__bang_half2float", nargs=3)(
    _conversion(F16, F32, lambda ctx, out, x, pos: _store(ctx, out, x.astype(np.float32)), position=False))
_FLOAT_NAMES = ((F32, "float"), (F16, "half"))
_INT_NAMES = ((I8, "int8"), (I16, "int16"))
for _mode in ROUND_MODES:
    _register(f"__bang_float2half_{_mode}", nargs=3)(_conversion(F32, F16, _float2half(_mode), position=False))
    for (_f, _fname), (_i, _iname) in itertools.product(_FLOAT_NAMES, _INT_NAMES):
        _register(f"__bang_{_fname}2{_iname}_{_mode}", nargs=4)(_conversion(_f, _i, _float2int(_mode)))
for (_i, _iname), (_f, _fname) in itertools.product(_INT_NAMES, _FLOAT_NAMES):
    _register(f"__bang_{_iname}2{_fname}", nargs=4)(_conversion(_i, _f, _int2float))
