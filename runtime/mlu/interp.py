"""Execution of BANG C: each function of a program is translated once into a Python function
(source generated from the pycparser AST, then exec'd), so running a kernel costs about what
the equivalent hand-written Python costs: locals are Python locals, loops are Python loops,
`for (int i = a; i < n; i += k)` with an untouched bound becomes `for i in range(...)`.

C semantics: integers are Python ints wrapped to their type after every operation (two's
complement), division truncates toward zero, float is numpy float32, half numpy float16,
double Python float; the usual arithmetic conversions decide each operation's type at
translation time. Pointers are `memory.Pointer` values (region + byte address + pointee type);
every load/store is bounds-checked against the pointer's region.

Source lines: every generated line maps to its C line, so any error raised while a statement
runs (by a load, a copy or an intrinsic) is reported at that statement's line.
"""

from __future__ import annotations

import sys

import numpy as np
from pycparser import c_ast

from . import cparse
from .memory import MLUError, Pointer, Region

# --------------------------------------------------------------------------------------
# C types


class CType:
    __slots__ = ("kind", "name", "size", "np_dtype", "signed", "bits", "rank", "target",
                 "elem", "n", "lo", "hi", "key", "ret", "params")

    def __init__(self, kind, name, size, np_dtype=None, signed=False, bits=0, rank=0,
                 target=None, elem=None, n=0):
        self.kind = kind
        self.name = name
        self.key = name
        self.size = size
        self.np_dtype = np.dtype(np_dtype) if np_dtype is not None else None
        self.signed = signed
        self.bits = bits
        self.rank = rank
        self.target = target
        self.elem = elem
        self.n = n
        self.ret = None
        self.params = None
        if kind == "int":
            self.lo = -(1 << (bits - 1)) if signed else 0
            self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
            if name == "bool":
                self.lo, self.hi = 0, 1
        else:
            self.lo = self.hi = None

    @property
    def is_int(self):
        return self.kind == "int"

    @property
    def is_float(self):
        return self.kind == "float"

    @property
    def is_arith(self):
        return self.kind in ("int", "float")

    @property
    def is_ptr(self):
        return self.kind == "ptr"

    def __repr__(self):
        return self.name


def _int(name, bits, signed, dt, rank):
    return CType("int", name, bits // 8, dt, signed, bits, rank)


BOOL = _int("bool", 8, False, np.uint8, 0)
I8 = _int("int8_t", 8, True, np.int8, 1)
U8 = _int("uint8_t", 8, False, np.uint8, 1)
I16 = _int("int16_t", 16, True, np.int16, 2)
U16 = _int("uint16_t", 16, False, np.uint16, 2)
I32 = _int("int", 32, True, np.int32, 3)
U32 = _int("unsigned int", 32, False, np.uint32, 3)
I64 = _int("long", 64, True, np.int64, 4)
U64 = _int("unsigned long", 64, False, np.uint64, 4)
F16 = CType("float", "half", 2, np.float16, True, 16, 1)
F32 = CType("float", "float", 4, np.float32, True, 32, 2)
F64 = CType("float", "double", 8, np.float64, True, 64, 3)
VOID = CType("void", "void", 1)
DYN = CType("dyn", "<intrinsic result>", 8)
STRING = CType("string", "char[]", 8)
SCALARS = [BOOL, I8, U8, I16, U16, I32, U32, I64, U64, F16, F32, F64]

NAMED_TYPES = {
    "half": F16, "bool": BOOL, "_Bool": BOOL, "int8_t": I8, "uint8_t": U8, "int16_t": I16,
    "uint16_t": U16, "int32_t": I32, "uint32_t": U32, "int64_t": I64, "uint64_t": U64,
    "size_t": U64, "ssize_t": I64, "intptr_t": I64, "uintptr_t": U64, "float": F32,
    "double": F64, "void": VOID, "mluMemcpyDirection_t": I32,
}

_ptr_cache: dict = {}
_arr_cache: dict = {}


def ptr_to(t: CType) -> CType:
    p = _ptr_cache.get(t.key)
    if p is None:
        p = CType("ptr", t.name + "*", 8, t.np_dtype, target=t)
        p.key = t.key + "*"
        _ptr_cache[t.key] = p
    return p


def array_of(t: CType, n: int) -> CType:
    k = (t.key, n)
    a = _arr_cache.get(k)
    if a is None:
        a = CType("array", f"{t.name}[{n}]", t.size * n, t.np_dtype, elem=t, n=n)
        a.key = f"{t.key}[{n}]"
        _arr_cache[k] = a
    return a


def _fits(src: CType, dst: CType) -> bool:
    return dst.lo <= src.lo and src.hi <= dst.hi


def promote(t: CType) -> CType:
    if t.kind == "int" and t.rank < 3:
        return I32
    return t


def common_type(a: CType, b: CType) -> CType:
    if a.kind == "dyn" and b.kind == "dyn":
        return F64
    if a.kind == "dyn":
        return b if b.is_float else F64
    if b.kind == "dyn":
        return a if a.is_float else F64
    if a.is_float or b.is_float:
        fa = a if a.is_float else None
        fb = b if b.is_float else None
        if fa and fb:
            return fa if fa.rank >= fb.rank else fb
        return fa or fb
    a, b = promote(a), promote(b)
    if a is b:
        return a
    if a.signed == b.signed:
        return a if a.rank >= b.rank else b
    u, s = (a, b) if not a.signed else (b, a)
    if u.rank >= s.rank:
        return u
    if s.rank > u.rank:
        return s
    return U64


# --------------------------------------------------------------------------------------
# runtime helpers (bound into every program's namespace)


class Fault(MLUError):
    pass


def _fault(rule, detail):
    raise MLUError("", "", 0, rule, detail)


def _null():
    raise MLUError("", "", 0, "null pointer dereference", "access through a NULL pointer")


def _oob(r: Region, a: int, n: int):
    raise MLUError("", "", 0, f"out-of-bounds {r.space.upper()} access",
                   f"{n} bytes at {a:#x} outside {r.describe()}")


def _idiv(a, b):
    if b == 0:
        _fault("division by zero", "integer division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _imod(a, b):
    if b == 0:
        _fault("division by zero", "integer remainder by zero")
    q = abs(a) // abs(b)
    q = q if (a >= 0) == (b >= 0) else -q
    return a - b * q


def _make_ld(t: CType):
    sz = t.size
    dt = t.np_dtype
    conv = int if t.is_int else None

    def ld(p, i):
        try:
            r = p.region
        except AttributeError:
            _null()
        a = p.addr + i * sz
        if a < r.lo or a + sz > r.hi:
            _oob(r, a, sz)
        j = a - r.base
        if j % sz:
            v = r.buf[j:j + sz].view(dt)[0]
        else:
            vw = r._views.get(dt)
            if vw is None:
                vw = r.typed(dt)
            v = vw[j // sz]
        return conv(v) if conv is not None else v

    def st(p, i, v):
        try:
            r = p.region
        except AttributeError:
            _null()
        a = p.addr + i * sz
        if a < r.lo or a + sz > r.hi:
            _oob(r, a, sz)
        j = a - r.base
        if j % sz:
            r.buf[j:j + sz].view(dt)[0] = v
        else:
            vw = r._views.get(dt)
            if vw is None:
                vw = r.typed(dt)
            vw[j // sz] = v
        return v

    return ld, st


def _f2i(t: CType):
    lo, hi = t.lo, t.hi

    def f(x):
        x = float(x)
        if x != x:
            return 0
        if x <= lo:
            return lo
        if x >= hi:
            return hi
        return int(x)
    return f


def _pidx(p, i, size, elem):
    if p is None:
        _null()
    return Pointer(p.region, p.addr + i * size, elem)


def _pcast(p, t):
    if p is None:
        return None
    return Pointer(p.region, p.addr, t)


def _paddr(p):
    return 0 if p is None else p.addr


def _pdiff(p, q):
    if p is None or q is None:
        _null()
    return (p.addr - q.addr) // max(p.ctype.size, 1)


def _peq(p, q):
    if p is None or q is None:
        return 1 if p is q else 0
    return 1 if (p.addr == q.addr and p.region.space == q.region.space) else 0


def _int2ptr(v, t):
    if v == 0:
        return None
    _fault("unsupported construct", "casting a non-zero integer to a pointer")


def _padd(p, k):
    if p is None:
        _null()
    return Pointer(p.region, p.addr + k * p.ctype.size, p.ctype)


def _dyn_to(t: CType):
    if t.is_int:
        lo, hi, bits, signed = t.lo, t.hi, t.bits, t.signed
        f2i = _f2i(t)

        def f(v):
            if v is None:
                return 0
            if isinstance(v, (int, np.integer)):
                v = int(v)
                if t is BOOL:
                    return 1 if v else 0
                v &= (1 << bits) - 1
                if signed and v > hi:
                    v -= 1 << bits
                return v
            return f2i(v)
        return f
    if t.is_float:
        c = {16: np.float16, 32: np.float32, 64: np.float64}[t.bits]
        return lambda v: c(0 if v is None else v)
    if t.is_ptr:
        def g(v):
            if v is None or isinstance(v, Pointer):
                return v
            _fault("type error", f"intrinsic returned {v!r} where a pointer is needed")
        return g
    return lambda v: v


_CFMT = None


def _printf(fmt, *args):
    import re
    global _CFMT
    if _CFMT is None:
        _CFMT = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)(hh|h|ll|l|z)?([diuxXfFeEgGcsp%])")

    def rep(m):
        return "%%" if m.group(3) == "%" else "%" + m.group(1) + {"u": "d", "p": "s"}.get(
            m.group(3), m.group(3))
    pyfmt = _CFMT.sub(rep, fmt)
    vals = tuple(float(a) if isinstance(a, (np.floating,)) else a for a in args)
    try:
        sys.stdout.write(pyfmt % vals)
    except (TypeError, ValueError):
        sys.stdout.write(fmt + " " + " ".join(map(str, vals)))
    return 0


DIRECTIONS = ["GDRAM2NRAM", "NRAM2GDRAM", "LDRAM2NRAM", "NRAM2LDRAM", "GDRAM2WRAM",
              "WRAM2GDRAM", "LDRAM2WRAM", "WRAM2LDRAM", "NRAM2NRAM", "NRAM2WRAM", "WRAM2NRAM",
              "GDRAM2SRAM", "SRAM2GDRAM", "LDRAM2SRAM", "SRAM2LDRAM", "SRAM2NRAM", "NRAM2SRAM",
              "SRAM2WRAM", "WRAM2SRAM", "GDRAM2GDRAM", "GDRAM2LDRAM", "LDRAM2GDRAM", "SRAM2SRAM"]
_DIR_SPACES = [tuple(s.lower() for s in d.split("2")[::-1]) for d in DIRECTIONS]  # (dst, src)
_OFFCHIP = ("gdram", "ldram")


def _memcpy(T, dst, src, size, d, async_, dst_stride=0, src_stride=0, segnum=0):
    if not isinstance(d, int) or not 0 <= d < len(DIRECTIONS):
        _fault("copy direction", f"invalid direction value {d!r}")
    name = DIRECTIONS[d]
    ds, ss = _DIR_SPACES[d]
    if dst is None or src is None:
        _fault("null pointer dereference", f"{name} copy with a NULL pointer")
    if dst.region.space != ds or src.region.space != ss:
        _fault("copy direction",
               f"{name} needs a {ds.upper()} destination and a {ss.upper()} source, got "
               f"dst in {dst.region.space.upper()} ({dst.region.name!r}) and src in "
               f"{src.region.space.upper()} ({src.region.name!r})")
    size = int(size)
    segnum = int(segnum)
    if size < 0 or segnum < 0:
        _fault("copy size", f"{name}: size {size} and segnum {segnum} must be >= 0")
    prof = T.profile
    if prof.strict_alignment:
        if "WRAM" in name and size % 64:
            _fault("alignment", f"{name} of {size} bytes: WRAM copies on {prof.name} must be a "
                                f"multiple of 64 bytes")
        if name == "NRAM2NRAM" and size % 128:
            _fault("alignment", f"NRAM2NRAM copy of {size} bytes: on {prof.name} it must be a "
                                f"multiple of 128 bytes")
    nseg = segnum + 1
    total = size * nseg
    if size:
        dr, sr = dst.region, src.region
        if nseg == 1:
            for p, r in ((dst, dr), (src, sr)):
                if p.addr < r.lo or p.addr + size > r.hi:
                    _oob(r, p.addr, size)
            di = dst.addr - dr.base
            si = src.addr - sr.base
            dr.buf[di:di + size] = sr.buf[si:si + size]
        else:
            dst_stride, src_stride = int(dst_stride), int(src_stride)
            if dst_stride < 0 or src_stride < 0:
                _fault("copy size", f"{name}: negative stride")
            for p, r, stv in ((dst, dr, dst_stride), (src, sr, src_stride)):
                end = p.addr + stv * segnum + size
                if p.addr < r.lo or end > r.hi:
                    _oob(r, p.addr, end - p.addr)
            from numpy.lib.stride_tricks import as_strided
            di = dst.addr - dr.base
            si = src.addr - sr.base
            dv = as_strided(dr.buf[di:], shape=(nseg, size), strides=(dst_stride, 1))
            sv = as_strided(sr.buf[si:], shape=(nseg, size), strides=(src_stride, 1))
            dv[...] = sv.copy() if dr is sr else sv
    offchip = (ds in _OFFCHIP) + (ss in _OFFCHIP)
    if offchip:
        cycles = prof.dma_latency_cycles + total * offchip / prof.gdram_bytes_per_cycle
        T.dma("io", cycles, async_, total * offchip)
    else:
        cycles = prof.dma_latency_cycles + total / prof.move_bytes_per_cycle
        T.dma("move", cycles, async_, 0)


MATH = {  # name: (return type, parameter types, implementation on numpy scalars)
    "abs": (I32, [I32], abs), "labs": (I64, [I64], abs), "llabs": (I64, [I64], abs),
    "fabs": (F64, [F64], np.abs), "fabsf": (F32, [F32], np.abs),
    "sqrt": (F64, [F64], np.sqrt), "sqrtf": (F32, [F32], np.sqrt),
    "exp": (F64, [F64], np.exp), "expf": (F32, [F32], np.exp),
    "log": (F64, [F64], np.log), "logf": (F32, [F32], np.log),
    "floor": (F64, [F64], np.floor), "floorf": (F32, [F32], np.floor),
    "ceil": (F64, [F64], np.ceil), "ceilf": (F32, [F32], np.ceil),
    "pow": (F64, [F64, F64], np.power), "powf": (F32, [F32, F32], np.power),
    "fmaxf": (F32, [F32, F32], np.fmax), "fminf": (F32, [F32, F32], np.fmin),
    "fmax": (F64, [F64, F64], np.fmax), "fmin": (F64, [F64, F64], np.fmin),
    "tanhf": (F32, [F32], np.tanh), "tanh": (F64, [F64], np.tanh),
}

BUILTIN_IDS = {  # name -> Task attribute
    "taskId": "taskId", "taskIdX": "taskIdX", "taskIdY": "taskIdY", "taskIdZ": "taskIdZ",
    "taskDim": "taskDim", "taskDimX": "taskDimX", "taskDimY": "taskDimY",
    "taskDimZ": "taskDimZ", "clusterId": "clusterId", "clusterDim": "clusterDim",
    "coreId": "coreId", "coreDim": "coreDim",
}
CONSTANTS = {
    "true": (1, BOOL), "false": (0, BOOL), "INT_MAX": (2**31 - 1, I32),
    "INT_MIN": (-2**31, I32), "UINT_MAX": (2**32 - 1, U32),
    "FLT_MAX": (np.float32(3.4028235e38), F32), "FLT_MIN": (np.float32(1.1754944e-38), F32),
    "INFINITY": (np.float32("inf"), F32), "NAN": (np.float32("nan"), F32),
}
for _i, _d in enumerate(DIRECTIONS):
    CONSTANTS[_d] = (_i, I32)
SYNCS = {"__sync": "all", "__sync_compute": "compute", "__sync_io": "io", "__sync_move": "move",
         "__sync_io_move_compute": "all"}
BARRIERS = {"__sync_cluster": "cluster", "__sync_all": "all", "__sync_all_ipu": "all",
            "__sync_all_mpu": "all"}

BASE_ENV = {"_f32": np.float32, "_f16": np.float16, "_f64": np.float64, "_idiv": _idiv, "_imod": _imod,
            "_pidx": _pidx, "_pcast": _pcast, "_paddr": _paddr, "_pdiff": _pdiff, "_peq": _peq,
            "_int2ptr": _int2ptr, "_padd": _padd, "_memcpy": _memcpy, "_printf": _printf,
            "_fault": _fault, "_null": _null, "Pointer": Pointer}
for _t in SCALARS:
    _k = _t.name.replace(" ", "_")
    BASE_ENV[f"_ld_{_k}"], BASE_ENV[f"_st_{_k}"] = _make_ld(_t)
    if _t.is_int:
        BASE_ENV[f"_f2i_{_k}"] = _f2i(_t)
    BASE_ENV[f"_dyn_{_k}"] = _dyn_to(_t)


def _tk(t: CType) -> str:
    return t.name.replace(" ", "_")


# Test hook / fallback: intrinsics looked up here before runtime/mlu/intrinsics.py.
LOCAL_INTRINSICS: dict = {}


def intrinsic_table():
    """INTRINSICS of runtime/mlu/intrinsics.py (owned by S2) merged with LOCAL_INTRINSICS;
    (table, import problem or None)."""
    table, problem = {}, None
    try:
        from . import intrinsics as _intr
        table.update(getattr(_intr, "INTRINSICS", {}))
    except ImportError as e:
        problem = f"intrinsics module not available ({e})"
    except Exception as e:  # a broken intrinsics module must not take the parser down
        problem = f"intrinsics module failed to import ({type(e).__name__}: {e})"
    table.update(LOCAL_INTRINSICS)
    return table, problem


# --------------------------------------------------------------------------------------
# the translator


class NC:  # "not a constant"
    pass


class E:
    """A translated expression: Python source, C type, constant value (or NC), condition
    source for boolean contexts, and whether it is free of side effects."""
    __slots__ = ("src", "t", "const", "cond", "pure")

    def __init__(self, src, t, const=NC, cond=None, pure=True):
        self.src = src
        self.t = t
        self.const = const
        self.cond = cond if cond is not None else src
        self.pure = pure


class Sym:
    __slots__ = ("kind", "ref", "t", "name")

    def __init__(self, kind, ref, t, name=""):
        self.kind = kind    # local | static | gmem | const | plist
        self.ref = ref
        self.t = t
        self.name = name


class StaticVar:
    __slots__ = ("sid", "name", "space", "t", "line", "func")

    def __init__(self, sid, name, space, t, line, func):
        self.sid, self.name, self.space, self.t, self.line, self.func = \
            sid, name, space, t, line, func

    @property
    def target(self):
        return self.t.elem if self.t.kind == "array" else self.t


class FuncInfo:
    def __init__(self, name, ret, params, kind, line, node):
        self.name = name
        self.pyname = "F_" + name
        self.ret = ret
        self.params = params      # [(name, CType)]
        self.kind = kind          # entry | func | device | host | None
        self.line = line
        self.node = node
        self.callees: set[str] = set()
        self.statics: set[int] = set()
        self.barrier = False
        self.fn = None

    @property
    def is_entry(self):
        return self.kind == "entry"


class _Loop:
    __slots__ = ("kind", "step", "cond", "flag")

    def __init__(self, kind, step=None, cond=None, flag=None):
        self.kind, self.step, self.cond, self.flag = kind, step, cond, flag


_GEN_COUNTER = [0]
LINEMAPS: dict[str, tuple[str, list]] = {}   # generated filename -> (C filename, line map)


class Translator:
    def __init__(self, parsed: cparse.ParsedSource, profile):
        self.ps = parsed
        self.file = parsed.filename
        self.profile = profile
        self.env = dict(BASE_ENV)
        self.out: list[str] = []
        self.cmap: list[int] = []
        self.n = 0
        self.typedefs: dict[str, CType] = {}
        self.gscope: dict[str, Sym] = {}
        self.funcs: dict[str, FuncInfo] = {}
        self.statics: list[StaticVar] = []
        self.global_regions: list[Region] = []
        self.intrinsics, self.intr_problem = intrinsic_table()
        self.cur: FuncInfo | None = None
        self.addr_taken: set = set()
        self.scopes: list[dict] = []
        self.loops: list[_Loop] = []
        self.line = 0

    # ---- utilities ----------------------------------------------------------------------
    def err(self, node, rule, detail):
        line = node.coord.line if node is not None and node.coord is not None else self.line
        return MLUError("", self.file, line, rule, detail)

    def uniq(self, prefix="_t"):
        self.n += 1
        return f"{prefix}{self.n}"

    def bind(self, obj, prefix="_k"):
        name = self.uniq(prefix)
        self.env[name] = obj
        return name

    def emit(self, ind, text, line=None):
        self.out.append("    " * ind + text)
        self.cmap.append(line if line is not None else self.line)

    def lit(self, v, t: CType) -> str:
        if t.is_int:
            return repr(int(v))
        if t is F64:
            return self.bind(np.float64(v))
        return self.bind(v)

    def lookup(self, name):
        for sc in reversed(self.scopes):
            if name in sc:
                return sc[name]
        return self.gscope.get(name)

    # ---- types --------------------------------------------------------------------------
    def base_type(self, node, names):
        names = list(names)
        if len(names) == 1:
            n = names[0]
            if n in self.typedefs:
                return self.typedefs[n]
            if n in NAMED_TYPES:
                return NAMED_TYPES[n]
        s = [n for n in names if n not in ("signed",)]
        unsigned = "unsigned" in s
        if "char" in s:
            return U8 if unsigned else I8
        if "short" in s:
            return U16 if unsigned else I16
        if "long" in s:
            return F64 if "double" in s else (U64 if unsigned else I64)
        if "double" in s:
            return F64
        if "float" in s:
            return F32
        if "void" in s:
            return VOID
        if "_Bool" in s or "bool" in s:
            return BOOL
        if "half" in s:
            return F16
        if all(n in ("int", "unsigned") for n in s):
            return U32 if unsigned else I32
        raise self.err(node, "unsupported construct", f"type {' '.join(names)}")

    def resolve(self, node, param=False) -> CType:
        if isinstance(node, c_ast.Typename) or isinstance(node, c_ast.Decl):
            return self.resolve(node.type, param)
        if isinstance(node, c_ast.TypeDecl):
            tn = node.type
            if isinstance(tn, c_ast.IdentifierType):
                return self.base_type(node, tn.names)
            if isinstance(tn, c_ast.Enum):
                self.declare_enum(tn)
                return I32
            raise self.err(node, "unsupported construct",
                           f"{type(tn).__name__.lower()} types (struct/union) are not supported")
        if isinstance(node, c_ast.PtrDecl):
            return ptr_to(self.resolve(node.type))
        if isinstance(node, c_ast.ArrayDecl):
            elem = self.resolve(node.type)
            if node.dim is None:
                if param:
                    return ptr_to(elem)
                raise self.err(node, "unsupported construct", "array without a size")
            if param:
                return ptr_to(elem)
            n = self.const_int(node.dim, "array size")
            if n <= 0:
                raise self.err(node, "unsupported construct", f"array size {n} must be > 0")
            return array_of(elem, n)
        if isinstance(node, c_ast.FuncDecl):
            raise self.err(node, "unsupported construct", "function pointers")
        raise self.err(node, "unsupported construct", f"type node {type(node).__name__}")

    def const_int(self, node, what):
        e = self.expr(node)
        if e.const is NC or not e.t.is_int:
            raise self.err(node, "unsupported construct", f"{what} must be an integer constant")
        return int(e.const)

    def declare_enum(self, en):
        if en.values is None:
            return
        v = -1
        for it in en.values.enumerators:
            v = self.const_int(it.value, "enum value") if it.value is not None else v + 1
            (self.scopes[-1] if self.scopes else self.gscope)[it.name] = Sym("const", v, I32)

    # ---- program ----------------------------------------------------------------------
    def translate(self):
        ast = self.ps.ast
        fdefs = []
        for ext in ast.ext:
            if isinstance(ext, c_ast.Typedef):
                if ext.name in cparse.BUILTIN_TYPEDEFS and ext.coord is not None and \
                        ext.coord.file != self.file:
                    continue
                if ext.name in cparse.BUILTIN_TYPEDEFS and ext.name in NAMED_TYPES:
                    continue   # prelude typedef
                self.typedefs[ext.name] = self.resolve(ext.type)
            elif isinstance(ext, c_ast.FuncDef):
                fi = self.declare_func(ext.decl, ext)
                fdefs.append((fi, ext))
            elif isinstance(ext, c_ast.Decl):
                if isinstance(ext.type, c_ast.FuncDecl):
                    self.declare_func(ext, None)
                else:
                    self.global_decl(ext)
            elif isinstance(ext, c_ast.Pragma):
                continue
            else:
                raise self.err(ext, "unsupported construct", type(ext).__name__)
        for fi, fd in fdefs:
            self.func(fi, fd)
        src = "\n".join(self.out) + "\n"
        _GEN_COUNTER[0] += 1
        gname = f"<mlu:{self.file}#{_GEN_COUNTER[0]}>"
        LINEMAPS[gname] = (self.file, [0] + self.cmap)
        code = compile(src, gname, "exec")
        exec(code, self.env)
        for fi in self.funcs.values():
            if fi.node is not None:
                fi.fn = self.env[fi.pyname]
        self.source = src
        return self

    def declare_func(self, decl, fdef):
        fd = decl.type
        line = decl.coord.line if decl.coord else 0
        if not isinstance(fd, c_ast.FuncDecl):
            raise self.err(decl, "unsupported construct", "declaration")
        ret = self.resolve(fd.type)
        params = []
        if fd.args is not None:
            for p in fd.args.params:
                if isinstance(p, c_ast.EllipsisParam):
                    raise self.err(p, "unsupported construct", "variadic functions")
                if isinstance(p, c_ast.Typename) and self.resolve(p) is VOID:
                    continue
                if isinstance(p, c_ast.ID):
                    raise self.err(p, "unsupported construct", "K&R parameter lists")
                pt = self.resolve(p.type, param=True)
                if pt is VOID:
                    continue
                params.append((p.name, pt))
        kind = self.ps.funckinds.get(id(decl))
        if fdef is None and (decl.name in MATH or decl.name in SYNCS or decl.name in BARRIERS
                             or decl.name in self.intrinsics or decl.name.startswith("__")):
            return None     # a prototype of a builtin/intrinsic (from a header): ignore
        fi = self.funcs.get(decl.name)
        if fi is None:
            fi = FuncInfo(decl.name, ret, params, kind, line, fdef)
            self.funcs[decl.name] = fi
        else:
            if fdef is not None:
                if fi.node is not None:
                    raise self.err(decl, "redefinition", f"function {decl.name!r}")
                fi.node = fdef
                fi.params = params
                fi.line = line
            fi.kind = fi.kind or kind
        if decl.name in MATH or decl.name in SYNCS or decl.name in BARRIERS or \
                decl.name in ("__memcpy", "__memcpy_async", "__is_mpu", "printf"):
            if fdef is not None:
                raise self.err(decl, "redefinition", f"{decl.name!r} is a builtin")
        return fi

    def static_var(self, decl, space, t, func):
        sv = StaticVar(len(self.statics), decl.name, space, t, decl.coord.line, func)
        self.statics.append(sv)
        return sv

    def global_decl(self, decl):
        if decl.name is None:
            if isinstance(decl.type, c_ast.Enum):
                self.declare_enum(decl.type)
                return
            raise self.err(decl, "unsupported construct",
                           f"{type(decl.type).__name__.lower()} declarations (struct/union)")
        space = self.ps.spaces.get(id(decl))
        t = self.resolve(decl.type)
        if "extern" in (decl.storage or []):
            raise self.err(decl, "unsupported construct", "extern variables")
        if space in ("nram", "wram", "sram", "ldram"):
            if decl.init is not None:
                raise self.err(decl, "unsupported construct",
                               f"initializer on a __{space}__ variable")
            sv = self.static_var(decl, space, t, None)
            self.gscope[decl.name] = Sym("static", sv.sid, t, decl.name)
            return
        if "const" in (decl.quals or []) and t.is_arith and decl.init is not None and \
                not isinstance(decl.init, c_ast.InitList):
            self.scopes = [{}]
            c = self.assign_conv(self.expr(decl.init), t, decl)
            self.scopes = []
            if c.const is not NC:
                self.gscope[decl.name] = Sym("const", c.const, t, decl.name)
                return
        # plain / const / __mlu_const__ / __mlu_device__ file-scope data: a GDRAM region of
        # the program, initialized at load time
        buf = np.zeros((t.size + 63) // 64 * 64, np.uint8)
        addr = 0x100000000 + 0x1000 * len(self.global_regions)
        region = Region("gdram", decl.name, buf, addr, addr, addr + t.size)
        self.global_regions.append(region)
        target = t.elem if t.kind == "array" else t
        ptr = Pointer(region, addr, target)
        self.gscope[decl.name] = Sym("gmem", self.bind(ptr, "_g"), t, decl.name)
        if decl.init is not None:
            self.scopes = [{}]
            values = self.flat_init(decl.init, t, decl)
            scal = self.scalar_of(t)
            st = self.env[f"_st_{_tk(scal)}"]
            for k, e in values:
                v = self.const_value(e, scal, decl)
                st(ptr if t.kind != "array" else Pointer(region, addr, scal), k, v)
            self.scopes = []

    def const_value(self, e: E, t: CType, node):
        c = self.convert(e, t)
        if c.const is NC:
            raise self.err(node, "unsupported construct",
                           "file-scope initializers must be constants")
        return c.const

    def scalar_of(self, t):
        while t.kind == "array":
            t = t.elem
        return t

    def flat_init(self, init, t, node):
        """[(flat element index, E)] for an initializer of type t."""
        out = []
        scal = self.scalar_of(t)

        def rec(it, tt, base):
            if tt.kind == "array":
                if not isinstance(it, c_ast.InitList):
                    raise self.err(node, "unsupported construct", "array initializer")
                per = tt.size // scal.size // tt.n
                if len(it.exprs) > tt.n:
                    raise self.err(node, "initializer", "too many initializers")
                for i, sub in enumerate(it.exprs):
                    if isinstance(sub, c_ast.InitList) or tt.elem.kind != "array":
                        rec(sub, tt.elem, base + i * per)
                    else:
                        rec(sub, tt.elem, base + i * per)
            else:
                if isinstance(it, c_ast.InitList):
                    if len(it.exprs) != 1:
                        raise self.err(node, "initializer", "scalar initializer list")
                    it = it.exprs[0]
                out.append((base, self.expr(it)))
        rec(init, t, 0)
        return out

    # ---- functions ----------------------------------------------------------------------
    def func(self, fi: FuncInfo, fd):
        self.cur = fi
        self.scopes = [{}]
        self.loops = []
        self.line = fi.line
        self.addr_taken = _address_taken(fd.body)
        pnames = []
        spilled = []
        for name, t in fi.params:
            py = self.uniq("v_" + (name or "p") + "_")
            pnames.append(py)
            if name:
                self.scopes[0][name] = Sym("local", py, t, name)
                if name in self.addr_taken and t.is_arith:
                    spilled.append((name, py, t))
        self.emit(0, f"def {fi.pyname}(_T{''.join(', ' + p for p in pnames)}):", fi.line)
        self.emit(1, "_S = _T.statics", fi.line)
        for name, py, t in spilled:   # a parameter whose address is taken lives in LDRAM
            sv = StaticVar(len(self.statics), name, "ldram", t, fi.line, fi.name)
            self.statics.append(sv)
            fi.statics.add(sv.sid)
            self.scopes[0][name] = Sym("static", sv.sid, t, name)
            self.emit(1, f"_st_{_tk(t)}(_S[{sv.sid}], 0, {py})", fi.line)
        self.block(fd.body.block_items or [], 1, new_scope=False)
        self.emit(0, "", fi.line)
        self.cur = None

    def block(self, items, ind, new_scope=True):
        if new_scope:
            self.scopes.append({})
        items = [it for it in items if not isinstance(it, (c_ast.EmptyStatement, c_ast.Pragma))]
        n0 = len(self.out)
        if items:
            self.emit(ind, f"_T.t += {len(items)}", items[0].coord.line if items[0].coord else None)
        for it in items:
            self.stmt(it, ind)
        if len(self.out) == n0:
            self.emit(ind, "pass")
        if new_scope:
            self.scopes.pop()

    def body(self, node, ind):
        if isinstance(node, c_ast.Compound):
            self.block(node.block_items or [], ind)
        else:
            self.block([node] if node is not None else [], ind)

    def stmt(self, node, ind):
        if node.coord is not None:
            self.line = node.coord.line
        m = getattr(self, "s_" + type(node).__name__, None)
        if m is None:
            if isinstance(node, (c_ast.Goto, c_ast.Label)):
                raise self.err(node, "unsupported construct", "goto and labels")
            raise self.err(node, "unsupported construct", f"statement {type(node).__name__}")
        m(node, ind)

    def s_Compound(self, node, ind):
        self.emit(ind, "if True:")
        self.block(node.block_items or [], ind + 1)

    def s_EmptyStatement(self, node, ind):
        pass

    def s_Pragma(self, node, ind):
        pass

    def s_Typedef(self, node, ind):
        self.typedefs[node.name] = self.resolve(node.type)

    def s_DeclList(self, node, ind):
        for d in node.decls:
            self.s_Decl(d, ind)

    def s_Decl(self, node, ind):
        if isinstance(node.type, c_ast.FuncDecl):
            self.declare_func(node, None)
            return
        if node.name is None:   # e.g. a bare enum declaration
            if isinstance(node.type, c_ast.Enum):
                self.declare_enum(node.type)
                return
            raise self.err(node, "unsupported construct",
                           f"{type(node.type).__name__.lower()} declarations (struct/union)")
        space = self.ps.spaces.get(id(node))
        storage = node.storage or []
        if "extern" in storage:
            raise self.err(node, "unsupported construct", "extern variables")
        t = self.resolve(node.type)
        line = node.coord.line
        if t is VOID:
            raise self.err(node, "type error", f"variable {node.name!r} of type void")
        if t.kind == "array" and space is None and t.elem.is_ptr:
            # local array of pointers (ping-pong tables): a Python list
            py = self.uniq("v_" + node.name + "_")
            self.scopes[-1][node.name] = Sym("plist", py, t, node.name)
            self.emit(ind, f"{py} = [None] * {t.n}", line)
            if node.init is not None:
                for k, e in self.flat_init(node.init, t, node):
                    self.emit(ind, f"{py}[{k}] = {self.convert(e, t.elem).src}", line)
            return
        if space in ("nram", "wram", "sram", "ldram") or t.kind == "array" or "static" in storage:
            if space is None:
                space = "ldram"
            if t.kind == "array" and t.elem.is_ptr:
                raise self.err(node, "unsupported construct", "arrays of pointers in memory")
            if t.is_ptr:
                raise self.err(node, "unsupported construct",
                               f"a pointer variable stored in __{space}__ memory")
            sv = self.static_var(node, space, t, self.cur.name)
            self.cur.statics.add(sv.sid)
            self.scopes[-1][node.name] = Sym("static", sv.sid, t, node.name)
            if node.init is not None:
                scal = self.scalar_of(t)
                st = f"_st_{_tk(scal)}"
                base = f"_S[{sv.sid}]"
                if t.kind == "array" and t.elem.kind == "array":
                    base = f"_pcast(_S[{sv.sid}], {self.bind(scal)})"
                for k, e in self.flat_init(node.init, t, node):
                    self.emit(ind, f"{st}({base}, {k}, {self.convert(e, scal).src})", line)
            return
        if node.name in self.addr_taken and t.is_arith:
            # a local scalar whose address is taken (&x passed to a helper): lives in LDRAM
            sv = self.static_var(node, "ldram", t, self.cur.name)
            self.cur.statics.add(sv.sid)
            if node.init is not None:
                init = node.init.exprs[0] if isinstance(node.init, c_ast.InitList) else node.init
                v = self.assign_conv(self.expr(init), t, node).src
            else:
                v = "0" if t.is_int else self.lit(t.np_dtype.type(0), t)
            self.scopes[-1][node.name] = Sym("static", sv.sid, t, node.name)
            self.emit(ind, f"_st_{_tk(t)}(_S[{sv.sid}], 0, {v})", line)
            return
        if "const" in (node.quals or []) and t.is_arith and node.init is not None and \
                not isinstance(node.init, c_ast.InitList) and node.name not in self.addr_taken:
            c = self.assign_conv(self.expr(node.init), t, node)
            if c.const is not NC:       # `const int N = 4;` is a constant (C++ rules, as in cncc)
                self.scopes[-1][node.name] = Sym("const", c.const, t, node.name)
                return
        py = self.uniq("v_" + node.name + "_")
        if node.init is not None:
            if isinstance(node.init, c_ast.InitList):
                if len(node.init.exprs) != 1:
                    raise self.err(node, "initializer", "scalar initializer list")
                e = self.expr(node.init.exprs[0])
            else:
                e = self.expr(node.init)
            src = self.assign_conv(e, t, node).src
            self.scopes[-1][node.name] = Sym("local", py, t, node.name)
            self.emit(ind, f"{py} = {src}", line)
        else:
            self.scopes[-1][node.name] = Sym("local", py, t, node.name)
            zero = "None" if t.is_ptr else ("0" if t.is_int else self.lit(
                {16: np.float16(0), 32: np.float32(0), 64: np.float64(0)}[t.bits], t))
            self.emit(ind, f"{py} = {zero}", line)

    def s_If(self, node, ind):
        c = self.cond(node.cond)
        self.emit(ind, f"if {c}:")
        self.body(node.iftrue, ind + 1)
        if node.iffalse is not None:
            if isinstance(node.iffalse, c_ast.If):
                # flatten else-if chains into a nested else (keeps lines right)
                self.emit(ind, "else:", node.iffalse.coord.line)
                self.stmt(node.iffalse, ind + 1)
            else:
                self.emit(ind, "else:", node.iffalse.coord.line if node.iffalse.coord else None)
                self.body(node.iffalse, ind + 1)

    def s_While(self, node, ind):
        c = self.cond(node.cond)
        self.emit(ind, f"while {c}:")
        self.loops.append(_Loop("while"))
        self.body(node.stmt, ind + 1)
        self.loops.pop()

    def s_DoWhile(self, node, ind):
        line = node.coord.line
        c = self.cond(node.cond)
        self.emit(ind, "while True:", line)
        self.loops.append(_Loop("do", cond=c))
        self.body(node.stmt, ind + 1)
        self.loops.pop()
        self.emit(ind + 1, f"if not ({c}):", node.cond.coord.line if node.cond.coord else line)
        self.emit(ind + 2, "break")

    def s_For(self, node, ind):
        line = node.coord.line
        self.scopes.append({})
        if self.try_range_for(node, ind):
            self.scopes.pop()
            return
        if node.init is not None:
            if isinstance(node.init, c_ast.DeclList):
                self.s_DeclList(node.init, ind)
            else:
                self.expr_stmt(node.init, ind)
        c = self.cond(node.cond) if node.cond is not None else "True"
        step = []
        if node.next is not None:
            step = self.stmt_srcs(node.next)
        self.line = line
        self.emit(ind, f"while {c}:", line)
        self.loops.append(_Loop("for", step=step))
        self.body(node.stmt, ind + 1)
        self.loops.pop()
        for s in step:
            self.emit(ind + 1, s, line)
        self.scopes.pop()

    def try_range_for(self, node, ind) -> bool:
        init, cond, nxt = node.init, node.cond, node.next
        if not (isinstance(init, c_ast.DeclList) and len(init.decls) == 1):
            return False
        d = init.decls[0]
        if d.init is None or not isinstance(d.type, c_ast.TypeDecl) or \
                self.ps.spaces.get(id(d)) is not None:
            return False
        try:
            t = self.resolve(d.type)
        except MLUError:
            return False
        if not t.is_int or not isinstance(cond, c_ast.BinaryOp) or \
                cond.op not in ("<", "<=", ">", ">=", "!=") or \
                not (isinstance(cond.left, c_ast.ID) and cond.left.name == d.name):
            return False
        name = d.name
        step = None
        if isinstance(nxt, c_ast.UnaryOp) and isinstance(nxt.expr, c_ast.ID) and \
                nxt.expr.name == name:
            step = {"p++": 1, "++": 1, "p--": -1, "--": -1}.get(nxt.op)
        elif isinstance(nxt, c_ast.Assignment) and isinstance(nxt.lvalue, c_ast.ID) and \
                nxt.lvalue.name == name and nxt.op in ("+=", "-="):
            try:
                e = self.expr(nxt.rvalue)
            except MLUError:
                return False
            if e.const is NC or not e.t.is_int or int(e.const) <= 0:
                return False
            step = int(e.const) if nxt.op == "+=" else -int(e.const)
        if not step:
            return False
        if (cond.op in ("<", "<=") and step < 0) or (cond.op in (">", ">=") and step > 0) or \
                (cond.op == "!=" and abs(step) != 1):
            return False
        # the bound must be a side-effect-free expression of locals the body leaves alone
        assigned = _assigned_names(node.stmt)
        if name in assigned or not _simple_bound(cond.right, self, assigned | {name}):
            return False
        init_e = self.expr(d.init)
        bound = self.expr(cond.right)
        if not bound.t.is_int or bound.t.bits > 32 and not bound.t.signed:
            return False
        start_e = self.assign_conv(init_e, t, d)
        start = start_e.src
        ct = common_type(t, bound.t)
        if not ct.is_int or t.rank < 3:
            return False
        if t.signed and not ct.signed and not (start_e.const is not NC and start_e.const >= 0):
            return False        # i < unsigned bound with a possibly negative i: C compares unsigned
        b = bound.src
        if cond.op == "<=":
            b = f"({b}) + 1"
        elif cond.op == ">=":
            b = f"({b}) - 1"
        py = self.uniq("v_" + name + "_")
        self.scopes[-1][name] = Sym("local", py, t, name)
        rng = f"range({start}, {b})" if step == 1 else f"range({start}, {b}, {step})"
        self.emit(ind, f"for {py} in {rng}:", node.coord.line)
        self.loops.append(_Loop("range"))
        self.body(node.stmt, ind + 1)
        self.loops.pop()
        return True

    def s_Switch(self, node, ind):
        line = node.coord.line
        v = self.expr(node.cond)
        if not v.t.is_int:
            raise self.err(node, "type error", "switch on a non-integer")
        items = node.stmt.block_items if isinstance(node.stmt, c_ast.Compound) else [node.stmt]
        sections = []
        table = {}
        default = None
        for it in items or []:
            if isinstance(it, c_ast.Case):
                table.setdefault(int(self.const_int(it.expr, "case label")), len(sections))
                sections.append(it.stmts or [])
            elif isinstance(it, c_ast.Default):
                default = len(sections)
                sections.append(it.stmts or [])
            else:
                if not sections:
                    continue
                sections[-1] = list(sections[-1]) + [it]
        iv = self.uniq("_sw")
        cf = self.uniq("_swc")
        self.emit(ind, f"{iv} = {self.bind(table)}.get({v.src}, {default if default is not None else len(sections)})", line)
        self.emit(ind, f"{cf} = False", line)
        self.emit(ind, "while True:", line)
        sw = _Loop("switch", flag=cf)
        sw.step = None          # set to True when a `continue` inside needs forwarding
        self.loops.append(sw)
        for k, sec in enumerate(sections):
            self.emit(ind + 1, f"if {iv} <= {k}:", line)
            self.block(sec, ind + 2, new_scope=False)
        self.loops.pop()
        self.emit(ind + 1, "break", line)
        if sw.step:
            self.emit(ind, f"if {cf}:", line)
            self.emit_continue(ind + 1)

    def s_Break(self, node, ind):
        if not self.loops:
            raise self.err(node, "syntax error", "break outside a loop")
        self.emit(ind, "break")

    def emit_continue(self, ind):
        for lp in reversed(self.loops):
            if lp.kind == "switch":
                lp.step = True
                self.emit(ind, f"{lp.flag} = True")
                self.emit(ind, "break")
                return
            if lp.kind == "for":
                for s in lp.step:
                    self.emit(ind, s)
            elif lp.kind == "do":
                self.emit(ind, f"if not ({lp.cond}):")
                self.emit(ind + 1, "break")
            self.emit(ind, "continue")
            return
        raise MLUError("", self.file, self.line, "syntax error", "continue outside a loop")

    def s_Continue(self, node, ind):
        self.emit_continue(ind)

    def s_Return(self, node, ind):
        if node.expr is None:
            self.emit(ind, "return None")
            return
        e = self.expr(node.expr)
        if self.cur.ret is VOID:
            self.emit(ind, f"{e.src}")
            self.emit(ind, "return None")
            return
        self.emit(ind, f"return {self.assign_conv(e, self.cur.ret, node).src}")

    def expr_stmt(self, node, ind):
        for s in self.stmt_srcs(node):
            self.emit(ind, s)

    def stmt_srcs(self, node) -> list[str]:
        """Python statements for a C expression evaluated for its side effects."""
        if isinstance(node, c_ast.ExprList):
            out = []
            for e in node.exprs:
                out.extend(self.stmt_srcs(e))
            return out
        if isinstance(node, c_ast.Assignment) and isinstance(node.lvalue, c_ast.ID):
            sym = self.lookup(node.lvalue.name)
            if sym is not None and sym.kind == "local":
                return [f"{sym.ref} = {self.assign_value(node).src}"]
        if isinstance(node, c_ast.Assignment):
            lv = self.lvalue(node.lvalue)
            if lv[0] == "mem" and lv[3].is_arith:
                _, p, i, t = lv
                tp, ti = self.uniq("_p"), self.uniq("_i")
                cur = E(f"_ld_{_tk(t)}({tp}, {ti})", t)
                v = self._assign_value(node, lv, cur)
                return [f"{tp} = {p}", f"{ti} = {i}", f"_st_{_tk(t)}({tp}, {ti}, {v.src})"]
        if isinstance(node, c_ast.UnaryOp) and node.op in ("p++", "++", "p--", "--") and \
                isinstance(node.expr, c_ast.ID):
            sym = self.lookup(node.expr.name)
            if sym is not None and sym.kind == "local":
                return [f"{sym.ref} = {self.incdec_value(sym, node.op).src}"]
        e = self.expr(node)
        if e.pure and e.const is not NC:
            return []
        return [e.src]

    # the statement forms (ExprList, Assignment, FuncCall, UnaryOp...) as statements
    def s_Assignment(self, node, ind):
        self.expr_stmt(node, ind)

    s_FuncCall = s_UnaryOp = s_ExprList = s_BinaryOp = s_Cast = s_ID = s_Constant = \
        s_TernaryOp = s_ArrayRef = s_Assignment

    # ---- expressions --------------------------------------------------------------------
    def cond(self, node) -> str:
        e = self.expr(node)
        if e.t.kind in ("void",):
            raise self.err(node, "type error", "void value used as a condition")
        return e.cond

    def convert(self, e: E, t: CType) -> E:
        s = e.t
        if s is t or (s.key == t.key):
            return e
        src = e.src
        r = None            # the converted expression's source; None: no conversion from s to t
        if t.is_int:
            if s.is_int:
                if _fits(s, t):
                    out = E(src, t, e.const, pure=e.pure)
                    return out
                if t is BOOL:
                    r = f"(1 if ({src}) else 0)"
                elif t.signed:
                    h = 1 << (t.bits - 1)
                    r = f"(((({src}) + {h}) & {(1 << t.bits) - 1}) - {h})"
                else:
                    r = f"(({src}) & {(1 << t.bits) - 1})"
            elif s.is_float:
                r = f"(1 if ({src}) else 0)" if t is BOOL else f"_f2i_{_tk(t)}({src})"
            elif s.is_ptr:
                r = f"(0 if ({src}) is None else 1)" if t is BOOL else f"_paddr({src})"
            elif s.kind == "dyn":
                r = f"_dyn_{_tk(t)}({src})"
        elif t.is_float:
            if s.is_arith:
                r = {16: f"_f16({src})", 32: f"_f32({src})", 64: f"_f64({src})"}[t.bits]
            elif s.kind == "dyn":
                r = f"_dyn_{_tk(t)}({src})"
        elif t.is_ptr:
            if s.is_ptr:
                if s.target.key == t.target.key:
                    return E(src, t, e.const, pure=e.pure)
                r = f"_pcast({src}, {self.bind(t.target)})"
            elif s.is_int:
                if e.const == 0:
                    return E("None", t, None, cond="False")
                r = f"_int2ptr({src}, None)"
            elif s.kind == "dyn":
                r = f"{self.bind(_dyn_to(t))}({src})"
        elif t is VOID:
            return E(src, VOID, pure=e.pure)
        if r is None:
            raise MLUError("", self.file, self.line, "type error", f"cannot convert {s} to {t}")
        return self.fold(E(r, t, pure=e.pure), e.const is not NC)

    def assign_conv(self, e: E, t: CType, node) -> E:
        if t.is_ptr and e.t.is_arith and not (e.t.is_int and e.const == 0):
            raise self.err(node, "type error", f"assigning {e.t} to a pointer {t}")
        if t.is_arith and e.t.is_ptr and t is not BOOL:
            raise self.err(node, "type error", f"assigning a pointer to {t}")
        return self.convert(e, t)

    def fold(self, e: E, allconst: bool) -> E:
        if not allconst or not e.pure:
            return e
        try:
            with np.errstate(all="ignore"):
                v = eval(e.src, self.env)
        except Exception:
            return e
        if e.t.is_int:
            return E(repr(int(v)), e.t, int(v))
        if e.t.is_float:
            return E(self.lit(v, e.t), e.t, v)
        return e

    def expr(self, node) -> E:
        if node is not None and node.coord is not None:
            pass
        m = getattr(self, "e_" + type(node).__name__, None)
        if m is None:
            raise self.err(node, "unsupported construct", f"expression {type(node).__name__}")
        return m(node)

    def e_Constant(self, node):
        v = node.value
        if node.type == "string":
            import ast as _ast
            try:
                s = _ast.literal_eval(v)
            except Exception:
                s = v.strip('"')
            return E(self.bind(s), STRING, s)
        if node.type == "char":
            import ast as _ast
            c = _ast.literal_eval(v)
            c = ord(c) if isinstance(c, str) else c
            return E(repr(c), I32, c)
        low = v.lower()
        if node.type in ("float", "double") or (("." in low or "e" in low or "p" in low)
                                                 and not low.startswith("0x")) or \
                (low.startswith("0x") and "p" in low):
            t = F64
            body = low
            if body.endswith("f"):
                t, body = F32, body[:-1]
            elif body.endswith("l"):
                body = body[:-1]
            val = float.fromhex(body) if body.startswith("0x") else float(body)
            val = {F32: np.float32, F64: np.float64}[t](val)
            return E(self.lit(val, t), t, val)
        body = low.rstrip("ul")
        suf = low[len(body):]
        if body.startswith("0x"):
            val = int(body, 16)
            hexa = True
        elif body.startswith("0b"):
            val = int(body, 2)
            hexa = True
        elif len(body) > 1 and body.startswith("0"):
            val = int(body, 8)
            hexa = True
        else:
            val = int(body)
            hexa = False
        u, l_ = "u" in suf, "l" in suf
        cands = ([U32, U64] if u else [I32, U32, I64, U64] if hexa else [I32, I64])
        if l_:
            cands = [U64] if u else ([I64, U64] if hexa else [I64])
        for t in cands:
            if t.lo <= val <= t.hi:
                return E(repr(val), t, val)
        return E(repr(val & (2**64 - 1)), U64, val & (2**64 - 1))

    def e_ID(self, node):
        name = node.name
        sym = self.lookup(name)
        if sym is not None:
            return self.sym_value(sym, node)
        if name in BUILTIN_IDS:
            return E(f"_T.{BUILTIN_IDS[name]}", I32)
        if name in CONSTANTS:
            v, t = CONSTANTS[name]
            return E(self.lit(v, t), t, v)
        if name in ("NULL", "nullptr"):
            return E("None", ptr_to(VOID), None, cond="False")
        if name in self.funcs:
            raise self.err(node, "unsupported construct", f"function {name!r} used as a value")
        raise self.err(node, "undeclared identifier", repr(name))

    def sym_value(self, sym: Sym, node):
        t = sym.t
        if sym.kind == "local":
            return E(sym.ref, t)
        if sym.kind == "const":
            return E(self.lit(sym.ref, t), t, sym.ref)
        if sym.kind == "plist":
            raise self.err(node, "unsupported construct",
                           f"array of pointers {sym.name!r} used other than by subscript")
        ptr = self.sym_addr(sym)
        if t.kind == "array":
            return E(ptr, ptr_to(t.elem))
        return E(f"_ld_{_tk(t)}({ptr}, 0)", t, pure=True)

    def sym_addr(self, sym: Sym) -> str:
        """Source of a Pointer to a memory-resident variable (decayed for arrays)."""
        if sym.kind == "static":
            if self.cur is not None:
                self.cur.statics.add(sym.ref)
            return f"_S[{sym.ref}]"
        if sym.kind == "gmem":
            return sym.ref
        raise MLUError("", self.file, self.line, "unsupported construct",
                       f"taking the address of local variable {sym.name!r}")

    # lvalues: ("local", pyname, t) | ("mem", ptr_src, index_src, t) | ("plist", py, idx, t)
    def lvalue(self, node):
        if isinstance(node, c_ast.ID):
            sym = self.lookup(node.name)
            if sym is None:
                if node.name in BUILTIN_IDS or node.name in CONSTANTS:
                    raise self.err(node, "type error", f"{node.name} is not assignable")
                raise self.err(node, "undeclared identifier", repr(node.name))
            if sym.kind == "local":
                return ("local", sym.ref, sym.t)
            if sym.kind == "const":
                raise self.err(node, "type error", f"{node.name} is not assignable")
            if sym.t.kind == "array":
                raise self.err(node, "type error", f"array {node.name!r} is not assignable")
            return ("mem", self.sym_addr(sym), "0", sym.t)
        if isinstance(node, c_ast.ArrayRef):
            if isinstance(node.name, c_ast.ID):
                sym = self.lookup(node.name.name)
                if sym is not None and sym.kind == "plist":
                    i = self.expr(node.subscript)
                    return ("plist", sym.ref, self.convert(i, I64).src, sym.t.elem)
            b = self.expr(node.name)
            i = self.expr(node.subscript)
            if i.t.is_ptr and b.t.is_int:
                b, i = i, b
            if not b.t.is_ptr:
                raise self.err(node, "type error", "subscript of a non-pointer")
            if not i.t.is_int:
                raise self.err(node, "type error", "array subscript is not an integer")
            return ("mem", b.src, i.src, b.t.target)
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            p = self.expr(node.expr)
            if not p.t.is_ptr:
                raise self.err(node, "type error", "dereference of a non-pointer")
            return ("mem", p.src, "0", p.t.target)
        raise self.err(node, "unsupported construct", f"assignment target {type(node).__name__}")

    def lv_read(self, lv) -> E:
        if lv[0] == "local":
            return E(lv[1], lv[2])
        if lv[0] == "plist":
            return E(f"{lv[1]}[{lv[2]}]", lv[3])
        _, p, i, t = lv
        return self.mem_read(p, i, t)

    def mem_read(self, p, i, t) -> E:
        if t.kind == "array":
            return E(f"_pidx({p}, {i}, {t.size}, {self.bind(t.elem)})", ptr_to(t.elem))
        if t.is_ptr:
            raise MLUError("", self.file, self.line, "unsupported construct",
                           "pointers stored in memory (arrays of pointers)")
        if t is VOID or not t.is_arith:
            raise MLUError("", self.file, self.line, "type error", f"dereferencing {t}")
        return E(f"_ld_{_tk(t)}({p}, {i})", t)

    def e_ArrayRef(self, node):
        lv = self.lvalue(node)
        return self.lv_read(lv)

    def e_StructRef(self, node):
        raise self.err(node, "unsupported construct", "structs")

    def e_Cast(self, node):
        t = self.resolve(node.to_type)
        e = self.expr(node.expr)
        if t.is_ptr and e.t.is_float:
            raise self.err(node, "type error", "cast of a float to a pointer")
        return self.convert(e, t)

    def e_ExprList(self, node):
        es = [self.expr(x) for x in node.exprs]
        last = es[-1]
        return E(f"({', '.join(e.src for e in es)})[-1]", last.t,
                 pure=all(e.pure for e in es))

    def e_TernaryOp(self, node):
        c = self.expr(node.cond)
        a = self.expr(node.iftrue)
        b = self.expr(node.iffalse)
        if a.t.is_arith and b.t.is_arith:
            t = common_type(a.t, b.t)
        elif a.t.is_ptr:
            t = a.t
        elif b.t.is_ptr:
            t = b.t
        elif a.t.kind == "dyn" or b.t.kind == "dyn":
            t = DYN
        else:
            t = a.t
        if t is not DYN:
            a, b = self.convert(a, t), self.convert(b, t)
        e = E(f"({a.src} if {c.cond} else {b.src})", t, pure=a.pure and b.pure and c.pure)
        return self.fold(e, c.const is not NC and a.const is not NC and b.const is not NC)

    def e_UnaryOp(self, node):
        op = node.op
        if op == "sizeof":
            if isinstance(node.expr, c_ast.Typename):
                t = self.resolve(node.expr)
            else:
                t = self.type_nodecay(node.expr)
            return E(repr(t.size), U64, t.size)
        if op in ("p++", "++", "p--", "--"):
            return self.incdec(node)
        if op == "&":
            return self.addr_of(node.expr)
        if op == "*":
            lv = self.lvalue(node)
            return self.lv_read(lv)
        e = self.expr(node.expr)
        if op == "!":
            r = E(f"(0 if {e.cond} else 1)", I32, cond=f"(not {e.cond})", pure=e.pure)
            return self.fold(r, e.const is not NC)
        if not e.t.is_arith:
            raise self.err(node, "type error", f"unary {op} on {e.t}")
        t = promote(e.t) if e.t.is_int else e.t
        e = self.convert(e, t)
        if op == "+":
            return e
        if op == "-":
            r = E(f"(-{e.src})", t, pure=e.pure) if t.is_float else \
                E(self._wrap(f"(-{e.src})", t), t, pure=e.pure)
            return self.fold(r, e.const is not NC)
        if op == "~":
            if not t.is_int:
                raise self.err(node, "type error", "~ on a float")
            return self.fold(E(self._wrap(f"(~{e.src})", t), t, pure=e.pure), e.const is not NC)
        raise self.err(node, "unsupported construct", f"unary operator {op}")

    def type_nodecay(self, node) -> CType:
        if isinstance(node, c_ast.ID):
            sym = self.lookup(node.name)
            if sym is not None:
                return sym.t
        if isinstance(node, c_ast.ArrayRef):
            b = self.type_nodecay(node.name)
            if b.kind == "array":
                return b.elem
            if b.is_ptr:
                return b.target
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            b = self.type_nodecay(node.expr)
            if b.kind == "array":
                return b.elem
            if b.is_ptr:
                return b.target
        return self.expr(node).t

    def addr_of(self, node):
        if isinstance(node, c_ast.ID):
            sym = self.lookup(node.name)
            if sym is None:
                raise self.err(node, "undeclared identifier", repr(node.name))
            if sym.kind in ("static", "gmem"):
                t = sym.t
                if t.kind == "array":   # &arr: pointer to the array
                    return E(f"_pcast({self.sym_addr(sym)}, {self.bind(t)})", ptr_to(t))
                return E(self.sym_addr(sym), ptr_to(t))
            raise self.err(node, "unsupported construct",
                           f"taking the address of local scalar {node.name!r} (declare it as a "
                           f"1-element array instead)")
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            p = self.expr(node.expr)
            return p
        if isinstance(node, c_ast.ArrayRef):
            lv = self.lvalue(node)
            if lv[0] != "mem":
                raise self.err(node, "unsupported construct", "address of a pointer-array element")
            _, p, i, t = lv
            return E(f"_pidx({p}, {i}, {t.size}, {self.bind(t)})", ptr_to(t))
        raise self.err(node, "unsupported construct", "address of this expression")

    @staticmethod
    def _wrap(src, t: CType) -> str:
        if t is BOOL:
            return f"(1 if ({src}) else 0)"
        if t.signed:
            h = 1 << (t.bits - 1)
            return f"(((({src}) + {h}) & {(1 << t.bits) - 1}) - {h})"
        return f"(({src}) & {(1 << t.bits) - 1})"

    def arith(self, op, a: E, b: E, node) -> E:
        """a op b for arithmetic operands and +,- with pointers."""
        allc = a.const is not NC and b.const is not NC
        pure = a.pure and b.pure
        if op in ("+", "-") and (a.t.is_ptr or b.t.is_ptr):
            if a.t.is_ptr and b.t.is_ptr:
                if op == "+":
                    raise self.err(node, "type error", "adding two pointers")
                return E(f"_pdiff({a.src}, {b.src})", I64, pure=pure)
            if b.t.is_ptr:
                if op == "-":
                    raise self.err(node, "type error", "integer minus pointer")
                a, b = b, a
            if not b.t.is_int:
                raise self.err(node, "type error", "pointer arithmetic with a non-integer")
            if a.t.target.kind == "array":
                sz = a.t.target.size
                bs = b.src if op == "+" else f"-({b.src})"
                return E(f"_pidx({a.src}, {bs}, {sz}, {self.bind(a.t.target)})", a.t, pure=pure)
            bs = b.src if op == "+" else f"-({b.src})"
            return E(f"_padd({a.src}, {bs})", a.t, pure=pure)
        if not (a.t.is_arith or a.t.kind == "dyn") or not (b.t.is_arith or b.t.kind == "dyn"):
            raise self.err(node, "type error", f"operator {op} on {a.t} and {b.t}")
        if op in ("<<", ">>"):
            if not (a.t.is_int and b.t.is_int):
                raise self.err(node, "type error", "shift of a non-integer")
            t = promote(a.t)
            a = self.convert(a, t)
            if op == "<<":
                r = E(self._wrap(f"({a.src} << {b.src})", t), t, pure=pure)
            else:
                r = E(f"({a.src} >> {b.src})", t, pure=pure)
            return self.fold(r, allc)
        t = common_type(a.t, b.t)
        a, b = self.convert(a, t), self.convert(b, t)
        x, y = a.src, b.src
        if t.is_float:
            if op == "%":
                raise self.err(node, "type error", "% on floating-point operands")
            if op in ("&", "|", "^"):
                raise self.err(node, "type error", f"{op} on floating-point operands")
            return self.fold(E(f"({x} {op} {y})", t, pure=pure), allc)
        if op == "/":
            r = self._wrap(f"_idiv({x}, {y})", t) if t.signed else f"_idiv({x}, {y})"
            return self.fold(E(r, t, pure=pure), allc)
        if op == "%":
            return self.fold(E(f"_imod({x}, {y})", t, pure=pure), allc)
        if op in ("&", "|", "^"):
            if t.signed:
                return self.fold(E(f"({x} {op} {y})", t, pure=pure), allc)
            return self.fold(E(f"({x} {op} {y})", t, pure=pure), allc)
        return self.fold(E(self._wrap(f"({x} {op} {y})", t), t, pure=pure), allc)

    def compare(self, op, a: E, b: E, node) -> E:
        pure = a.pure and b.pure
        allc = a.const is not NC and b.const is not NC
        if a.t.is_ptr or b.t.is_ptr:
            if a.t.is_int and a.const == 0:
                a = E("None", b.t, None)
            if b.t.is_int and b.const == 0:
                b = E("None", a.t, None)
            if not (a.t.is_ptr and b.t.is_ptr):
                raise self.err(node, "type error", "comparison of a pointer and a non-pointer")
            if op in ("==", "!="):
                if a.src == "None" or b.src == "None":
                    o = b if a.src == "None" else a
                    c = f"({o.src} is {'None' if op == '==' else 'not None'})"
                else:
                    c = f"{'' if op == '==' else 'not '}_peq({a.src}, {b.src})"
            else:
                c = f"(_paddr({a.src}) {op} _paddr({b.src}))"
            return E(f"(1 if {c} else 0)", I32, cond=c, pure=pure)
        if not (a.t.is_arith or a.t.kind == "dyn") or not (b.t.is_arith or b.t.kind == "dyn"):
            raise self.err(node, "type error", f"comparison of {a.t} and {b.t}")
        t = common_type(a.t, b.t)
        a, b = self.convert(a, t), self.convert(b, t)
        c = f"({a.src} {op} {b.src})"
        return self.fold(E(f"(1 if {c} else 0)", I32, cond=c, pure=pure), allc)

    def e_BinaryOp(self, node):
        op = node.op
        a = self.expr(node.left)
        b = self.expr(node.right)
        if op in ("&&", "||"):
            py = "and" if op == "&&" else "or"
            c = f"({a.cond} {py} {b.cond})"
            r = E(f"(1 if {c} else 0)", I32, cond=c, pure=a.pure and b.pure)
            return self.fold(r, a.const is not NC and b.const is not NC)
        if op in ("<", "<=", ">", ">=", "==", "!="):
            return self.compare(op, a, b, node)
        if op in ("+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"):
            return self.arith(op, a, b, node)
        raise self.err(node, "unsupported construct", f"operator {op}")

    def assign_value(self, node) -> E:
        """The converted value to store for an Assignment (lvalue type), reading lvalue once."""
        lv = self.lvalue(node.lvalue)
        return self._assign_value(node, lv, self.lv_read(lv))

    def _assign_value(self, node, lv, cur: E) -> E:
        t = lv[-1] if lv[0] != "local" else lv[2]
        r = self.expr(node.rvalue)
        if node.op == "=":
            return self.assign_conv(r, t, node)
        op = node.op[:-1]
        v = self.arith(op, cur, r, node)
        return self.assign_conv(v, t, node)

    def e_Assignment(self, node):
        lv = self.lvalue(node.lvalue)
        if lv[0] == "local":
            v = self._assign_value(node, lv, E(lv[1], lv[2]))
            return E(f"({lv[1]} := {v.src})", lv[2], pure=False)
        if lv[0] == "plist":
            tmp = self.uniq("_i")
            cur = E(f"{lv[1]}[{tmp}]", lv[3])
            v = self._assign_value(node, lv, cur)
            return E(f"({tmp} := {lv[2]}, {lv[1]}.__setitem__({tmp}, _v := {v.src}), _v)[-1]"
                     .replace("_v", self.uniq("_v")), lv[3], pure=False)
        _, p, i, t = lv
        if t.kind == "array" or not t.is_arith:
            raise self.err(node, "type error", f"assignment to {t}")
        tp, ti = self.uniq("_p"), self.uniq("_i")
        cur = E(f"_ld_{_tk(t)}({tp}, {ti})", t)
        v = self._assign_value(node, lv, cur)
        return E(f"({tp} := {p}, {ti} := {i}, _st_{_tk(t)}({tp}, {ti}, {v.src}))[-1]", t,
                 pure=False)

    def incdec_value(self, sym, op) -> E:
        t = sym.t
        one = 1 if "+" in op else -1
        if t.is_ptr:
            return E(f"_padd({sym.ref}, {one})", t)
        if t.is_float:
            return E(f"({sym.ref} + {self.lit(t.np_dtype.type(1) if t is not F64 else 1.0, t)}"
                     f" * {one})", t)
        return E(self._wrap(f"({sym.ref} + {one})", t), t)

    def incdec(self, node) -> E:
        op = node.op
        post = op.startswith("p")
        lv = self.lvalue(node.expr)
        one = 1 if "+" in op else -1
        if lv[0] == "local":
            sym = Sym("local", lv[1], lv[2])
            nv = self.incdec_value(sym, op)
            if post:
                return E(f"({lv[1]}, {lv[1]} := {nv.src})[0]", lv[2], pure=False)
            return E(f"({lv[1]} := {nv.src})", lv[2], pure=False)
        if lv[0] == "plist":
            raise self.err(node, "unsupported construct", "++/-- on a pointer-array element")
        _, p, i, t = lv
        if not t.is_arith:
            raise self.err(node, "type error", f"++/-- on {t}")
        tp, ti, to = self.uniq("_p"), self.uniq("_i"), self.uniq("_o")
        old = E(f"{to}", t)
        nv = self.convert(self.arith("+", old, E(repr(one), I32, one), node), t)
        res = to if post else nv.src
        return E(f"({tp} := {p}, {ti} := {i}, {to} := _ld_{_tk(t)}({tp}, {ti}), "
                 f"_st_{_tk(t)}({tp}, {ti}, {nv.src}), {res})[-1]" if post else
                 f"({tp} := {p}, {ti} := {i}, {to} := _ld_{_tk(t)}({tp}, {ti}), "
                 f"_st_{_tk(t)}({tp}, {ti}, {nv.src}))[-1]", t, pure=False)

    # ---- calls --------------------------------------------------------------------------
    def e_FuncCall(self, node):
        if not isinstance(node.name, c_ast.ID):
            raise self.err(node, "unsupported construct", "calls through function pointers")
        name = node.name.name
        args = list(node.args.exprs) if node.args is not None else []
        fi = self.funcs.get(name)
        if fi is not None:
            if len(args) != len(fi.params):
                raise self.err(node, "call", f"{name} takes {len(fi.params)} arguments, "
                                             f"got {len(args)}")
            srcs = [self.assign_conv(self.expr(a), pt, a).src for a, (_, pt) in
                    zip(args, fi.params)]
            if self.cur is not None:
                self.cur.callees.add(name)
            return E(f"{fi.pyname}(_T{''.join(', ' + s for s in srcs)})", fi.ret, pure=False)
        if name in SYNCS:
            self._nargs(node, args, 0)
            return E(f"_T.sync({SYNCS[name]!r})", VOID, pure=False)
        if name in BARRIERS:
            self._nargs(node, args, 0)
            if self.cur is not None:
                self.cur.barrier = True
            return E(f"_T.barrier({BARRIERS[name]!r})", VOID, pure=False)
        if name == "__is_mpu":
            self._nargs(node, args, 0)
            return E("_T.is_mpu", I32, pure=True)
        if name in ("__memcpy", "__memcpy_async"):
            if len(args) not in (4, 7):
                raise self.err(node, "unsupported construct",
                               f"{name} with {len(args)} arguments (supported: 4 = "
                               f"(dst, src, size, dir), 7 = (dst, src, size, dir, dst_stride, "
                               f"src_stride, segnum))")
            es = [self.expr(a) for a in args]
            for k in (0, 1):
                if not es[k].t.is_ptr:
                    raise self.err(node, "type error", f"{name} argument {k + 1} is not a pointer")
            for k in range(2, len(es)):
                if not es[k].t.is_int:
                    raise self.err(node, "type error", f"{name} argument {k + 1} is not an integer")
            asy = name == "__memcpy_async"
            extra = "".join(", " + e.src for e in es[4:])
            return E(f"_memcpy(_T, {es[0].src}, {es[1].src}, {es[2].src}, {es[3].src}, {asy}"
                     f"{extra})", VOID, pure=False)
        if name in ("printf", "__bang_printf"):
            es = [self.expr(a) for a in args]
            if not es or es[0].t is not STRING:
                raise self.err(node, "unsupported construct", "printf needs a literal format")
            return E(f"_printf({', '.join(e.src for e in es)})", I32, pure=False)
        if name in MATH:
            rt, pts, fn = MATH[name]
            self._nargs(node, args, len(pts))
            srcs = [self.convert(self.expr(a), pt).src for a, pt in zip(args, pts)]
            return E(f"{self.bind(fn, '_m')}({', '.join(srcs)})", rt, pure=True)
        if name in self.intrinsics:
            fn = self.intrinsics[name]
            es = [self.expr(a) for a in args]
            srcs = []
            for e in es:
                if e.t.is_float:
                    srcs.append(f"float({e.src})")
                elif e.t is STRING or e.t.is_ptr or e.t.is_int or e.t.kind == "dyn":
                    srcs.append(e.src)
                else:
                    raise self.err(node, "type error", f"argument of type {e.t} to {name}")
            tup = "(" + "".join(s + ", " for s in srcs) + ")"
            return E(f"{self.bind(fn, '_I_' + name.strip('_') + '_')}(_T, {tup})", DYN, pure=False)
        detail = f"unsupported intrinsic/function {name}"
        if self.intr_problem and name.startswith("__"):
            detail += f" ({self.intr_problem})"
        raise self.err(node, "unsupported intrinsic/function", detail)

    def _nargs(self, node, args, n):
        if len(args) != n:
            raise self.err(node, "call", f"{node.name.name} takes {n} arguments, got {len(args)}")


def _address_taken(node) -> set:
    out = set()

    class V(c_ast.NodeVisitor):
        def visit_UnaryOp(self, n):
            if n.op == "&" and isinstance(n.expr, c_ast.ID):
                out.add(n.expr.name)
            self.generic_visit(n)
    if node is not None:
        V().visit(node)
    return out


def _assigned_names(node) -> set:
    out = set()

    class V(c_ast.NodeVisitor):
        def visit_Assignment(self, n):
            if isinstance(n.lvalue, c_ast.ID):
                out.add(n.lvalue.name)
            self.generic_visit(n)

        def visit_UnaryOp(self, n):
            if n.op in ("p++", "++", "p--", "--", "&") and isinstance(n.expr, c_ast.ID):
                out.add(n.expr.name)
            self.generic_visit(n)

        def visit_Decl(self, n):
            if n.name:
                out.add(n.name)     # shadowing: be conservative
            self.generic_visit(n)
    if node is not None:
        V().visit(node)
    return out


def _simple_bound(node, tr: Translator, forbidden: set) -> bool:
    if isinstance(node, c_ast.Constant):
        return True
    if isinstance(node, c_ast.ID):
        if node.name in forbidden:
            return False
        sym = tr.lookup(node.name)
        if sym is None:
            return node.name in BUILTIN_IDS or node.name in CONSTANTS
        return sym.kind in ("local", "const")
    if isinstance(node, c_ast.BinaryOp):
        return _simple_bound(node.left, tr, forbidden) and _simple_bound(node.right, tr, forbidden)
    if isinstance(node, c_ast.UnaryOp):
        return node.op in ("-", "+", "~", "!", "sizeof") and \
            (node.op == "sizeof" or _simple_bound(node.expr, tr, forbidden))
    if isinstance(node, c_ast.Cast):
        return _simple_bound(node.expr, tr, forbidden)
    if isinstance(node, c_ast.TernaryOp):
        return all(_simple_bound(x, tr, forbidden) for x in (node.cond, node.iftrue, node.iffalse))
    return False


def c_line_of(tb) -> int:
    """The C line of the innermost generated frame in a traceback (0 if none)."""
    line = 0
    while tb is not None:
        lm = LINEMAPS.get(tb.tb_frame.f_code.co_filename)
        if lm is not None:
            cm = lm[1]
            ln = tb.tb_lineno
            if 0 <= ln < len(cm):
                line = cm[ln]
        tb = tb.tb_next
    return line


class Program:
    """A loaded .mlu source: translated functions, on-chip variables, entry kernels."""

    def __init__(self, source: str, filename: str, profile):
        from .profiles import get_profile
        self.profile = get_profile(profile)
        self.filename = filename
        self.source_text = source
        arch = {"mlu270": 270, "mlu370": 372}.get(self.profile.name, 270)
        parsed = cparse.parse(source, filename, {"__BANG_ARCH__": str(arch)})
        tr = Translator(parsed, self.profile)
        with np.errstate(all="ignore"):
            tr.translate()
        self.generated = tr.source
        self.funcs = tr.funcs
        self.statics = tr.statics
        for name, fi in self.funcs.items():
            if fi.node is None and any(name in g.callees for g in self.funcs.values()):
                raise MLUError("", filename, fi.line, "undefined function",
                               f"{name} is declared but never defined")
        self._layouts: dict = {}

    @property
    def kernels(self) -> list[str]:
        return [n for n, f in self.funcs.items() if f.is_entry and f.fn is not None]

    def kernel_params(self, kernel: str):
        """[(name, is_pointer)] of an entry kernel's parameters, or None if there is none."""
        fi = self.funcs.get(kernel)
        if fi is None or not fi.is_entry or fi.fn is None:
            return None
        return [(name, t.is_ptr) for name, t in fi.params]

    def reachable(self, name) -> list[FuncInfo]:
        seen, todo = [], [name]
        while todo:
            n = todo.pop()
            if n in [f.name for f in seen]:
                continue
            fi = self.funcs[n]
            seen.append(fi)
            todo.extend(sorted(fi.callees))
        return seen

    def uses_barrier(self, name) -> bool:
        return any(f.barrier for f in self.reachable(name))

    def layout(self, kernel: str, block: bool):
        """{space: (total_bytes, [(StaticVar, offset)])} for a kernel; capacity errors."""
        key = (kernel, block)
        if key in self._layouts:
            return self._layouts[key]
        p = self.profile
        sids = set()
        for fi in self.reachable(kernel):
            sids |= fi.statics
        caps = {"nram": (p.nram_usable, "usable NRAM", "__nram__"),
                "wram": (p.wram_bytes, "WRAM", "__wram__"),
                "sram": (p.sram_bytes, "SRAM", "__mlu_shared__"),
                "ldram": (p.ldram_bytes, "LDRAM", "local")}
        out = {s: [0, []] for s in caps}
        for sid in sorted(sids):
            v = self.statics[sid]
            cap, what, qual = caps[v.space]
            if v.space == "sram" and block:
                raise MLUError(kernel, self.filename, v.line, "SRAM in a BLOCK task",
                               f"__mlu_shared__ {v.name!r}: BLOCK tasks have no SRAM; launch "
                               f"with a UNION task type")
            off = (out[v.space][0] + 63) // 64 * 64
            if off + v.t.size > cap:
                raise MLUError(kernel, self.filename, v.line, f"{v.space.upper()} capacity",
                               f"{qual} variable {v.name!r} ({v.t.size} bytes at offset {off}) "
                               f"exceeds the {what} of {p.name} ({cap} bytes)")
            out[v.space][1].append((v, off))
            out[v.space][0] = off + v.t.size
        self._layouts[key] = out
        return out
