"""Elementwise kernels (single ops and fused `core.fusion` groups), reductions and softmax, in
BANG C.

An elementwise kernel streams its output through NRAM in tiles: the flat output is split over
`taskDim` tasks (the last one takes the remainder), each task walks its part in tiles of TILE
elements (a multiple of 128 bytes and of every broadcast period) with a 3-stage ping-pong
pipeline (store tile i-2, compute tile i-1, load tile i; `__memcpy_async` + `__sync()`), and
the tile's computation chains `__bang_*` intrinsics on NRAM "slots" (one per live value).

Each input of the group is one of:
  stream    same number of elements as the output: loaded tile by tile;
  const     a one-element constant: a literal in the source (`__bang_add_scalar(.., 0.5f, ..)`);
  scalar    a one-element runtime value: loaded once, read into a C variable;
  period    a suffix of the output's shape (a bias): loaded once into NRAM repeated to P elements
            (P = lcm(C, 128 bytes)) and applied with `__bang_cycle_add/sub/mul`;
  gather    any other broadcast: loaded once whole, each tile filled by a scalar index loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfc.ir import dtypes as dt

from .common import (ALIGN, CodegenError, Kernel, Param, align_elems, begin_kernel, c_float, clamped,
                     constant_of, ctype, is_float, lcm, pow2_exponent, registry, round_up, split_over_tasks,
                     storage_dtype, unsupported)

F32 = dt.float32
F16 = dt.float16


# Operand descriptors ---------------------------------------------------------------------------
@dataclass
class D:
    kind: str                    # slot | const | scalar | period
    dtype: object                # the representation in NRAM (bool values are held as floats)
    slot: int = -1
    value: float = 0.0
    var: str = ""                # scalar: C variable; period: NRAM pointer variable
    period: int = 0              # period: P elements
    array: np.ndarray | None = None   # period: the constant values (P elements) if known


@dataclass
class Input:
    name: str                    # C parameter name
    value: object                # the IR value inside the ops (region argument or operand)
    outer: object                # the IR value bound to the parameter (outside the group)
    kind: str                    # stream | const | scalar | period | gather
    dtype: object
    const: np.ndarray | None = None
    period_c: int = 0            # period: C elements of the source
    period: int = 0              # period: P elements in NRAM
    gather_index: str = ""       # gather: C expression of the source index from `g`
    gather_size: int = 0
    run: int = 0                 # run: elements of the contiguous (unbroadcast) suffix
    run_index: str = ""          # run: C expression of the run's source index from `q`


def _strip(shape):
    shape = list(shape)
    while shape and shape[0] == 1:
        shape.pop(0)
    return tuple(shape)


def _broadcast_index(in_shape, out_shape, var: str = "g") -> str:
    """C expression: the flat index into a broadcast input of the element `var` of the output."""
    in_shape = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    terms = []
    out_stride = 1
    in_strides = []
    s = 1
    for d in reversed(in_shape):
        in_strides.append(s)
        s *= d
    in_strides.reverse()
    strides = []
    for d in reversed(out_shape):
        strides.append(out_stride)
        out_stride *= d
    strides.reverse()
    for axis, (di, do) in enumerate(zip(in_shape, out_shape)):
        if di == 1 or in_strides[axis] == 0:
            continue
        coord = f"({var} / {strides[axis]})" if strides[axis] != 1 else var
        if axis > 0:
            coord = f"({coord} % {do})"
        terms.append(coord if in_strides[axis] == 1 else f"{coord} * {in_strides[axis]}")
    return " + ".join(terms) or "0"


def classify(value, outer, out_shape, name: str, budget: int) -> Input:
    t = value.type
    n_out = int(np.prod(out_shape, dtype=np.int64))
    n_in = int(np.prod(t.shape, dtype=np.int64))
    const = constant_of(outer)
    if n_in == n_out and _strip(t.shape) == _strip(out_shape):
        return Input(name, value, outer, "stream", t.dtype)
    if n_in == 1:
        if const is not None:
            return Input(name, value, outer, "const", t.dtype, const=const)
        return Input(name, value, outer, "scalar", t.dtype)
    s = _strip(t.shape)
    if tuple(out_shape[len(out_shape) - len(s):]) == s and t.dtype != dt.bool_:
        p = lcm(n_in, align_elems(t.dtype))
        if p * t.dtype.itemsize <= budget // 8:
            return Input(name, value, outer, "period", t.dtype, const=const, period_c=n_in, period=p)
    # a contiguous suffix of dims the input shares with the output: each tile is loaded as
    # runs of that many elements (one copy per run)
    full = (1,) * (len(out_shape) - len(t.shape)) + tuple(t.shape)
    run, k = 1, len(out_shape)
    while k > 0 and full[k - 1] == out_shape[k - 1]:
        run *= out_shape[k - 1]
        k -= 1
    if run * t.dtype.itemsize >= 4 * ALIGN and t.dtype != dt.bool_:
        return Input(name, value, outer, "run", t.dtype, run=run,
                     run_index=_broadcast_index(full[:k], tuple(out_shape[:k]), "q"))
    if n_in * t.dtype.itemsize > budget // 4:
        raise CodegenError(f"a broadcast input of shape {list(t.shape)} against {list(out_shape)} "
                           "does not fit in NRAM")
    return Input(name, value, outer, "gather", t.dtype, gather_index=_broadcast_index(t.shape, out_shape),
                 gather_size=n_in)


# The tile program ------------------------------------------------------------------------------
class TileProgram:
    """The computation of a DAG of elementwise ops on one tile, on NRAM slots.

    `compute(w, n)` writes C statements that leave the result in `self.result` (a slot).
    Slots are laid out from the C pointer variable `stage`, SLOT_BYTES apart."""

    def __init__(self, ops, inputs: list[Input], result, target):
        self.ops = ops
        self.inputs = inputs
        self.result_value = result
        self.target = target
        self.free: list[int] = []
        self.nslots = 0
        self.max_itemsize = 4
        self.tiled: dict[str, int] = {}      # period var -> slot-less persistent tiled buffer name
        self.lines: list[str] = []
        self.n = "n"
        self.stream_slots: dict[str, int] = {}
        self.scratch_int8: dict[str, int] = {}
        self.extra_periods: list = []        # (name, values, P) weights added by mul_by_constants

    # slots ------------------------------------------------------------------------------------
    def alloc(self) -> int:
        if self.free:
            return self.free.pop(0)
        self.nslots += 1
        return self.nslots - 1

    def release(self, d: D) -> None:
        if d.kind == "slot" and d.slot not in self.free and d.slot not in self.pinned:
            self.free.append(d.slot)
            self.free.sort()

    def ptr(self, d: D) -> str:
        return d.var if d.kind == "period" else self.slot_ptr(d.slot, d.dtype)

    def slot_ptr(self, slot: int, dtype) -> str:
        return f"(({ctype(dtype)} *)(stage + {slot} * SLOT_BYTES))"

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def mul_by_constants(self, out: D, a: D, values: np.ndarray) -> D:
        """out = a * values, `values` per-channel constants along the last axis: an extra weight
        input (a period of P elements in NRAM, `w<k>_p`) and one `__bang_cycle_mul`."""
        c = values.size
        per = lcm(c, align_elems(dt.from_numpy(values.dtype)))
        name = f"w{len(self.extra_periods)}"
        self.extra_periods.append((name, np.tile(values, per // c), per))
        self.emit(f"__bang_cycle_mul({self.ptr(out)}, {self.ptr(a)}, {name}_p, {self.n}, {per});")
        return out

    def temp(self, d: D) -> D:
        """`d`, released after the current op (a temporary of its handler)."""
        self.temps.append(d)
        return d

    def new_slot(self, dtype) -> D:
        self.max_itemsize = max(self.max_itemsize, dtype.itemsize)
        return D("slot", dtype, slot=self.alloc())

    def scalar_text(self, d: D) -> str:
        return c_float(d.value) if d.kind == "const" else d.var

    def materialize(self, d: D) -> D:
        """`d` as a slot (a const/scalar is filled in, a period repeated)."""
        if d.kind == "slot":
            return d
        out = self.new_slot(d.dtype)
        if d.kind in ("const", "scalar"):
            self.emit(f"__bang_write_value({self.ptr(out)}, {self.n}, ({ctype(d.dtype)}){self.scalar_text(d)});")
        elif d.kind == "period":
            es = d.dtype.itemsize
            self.emit(f"for (int r = 0; r < {self.n}; r += {d.period}) {{")
            self.emit(f"  __memcpy({self.ptr(out)} + r, {d.var}, {d.period * es}, NRAM2NRAM);")
            self.emit("}")
        self.temps.append(out)
        return out

    # the DAG -------------------------------------------------------------------------------------
    def build(self) -> None:
        """Generate the compute statements once (slot numbers are then fixed)."""
        self.temps: list[D] = []
        self.pinned: set[int] = set()
        env: dict[int, D] = {}
        for inp in self.inputs:
            if inp.kind in ("stream", "gather", "run"):
                rep = _representation(inp.dtype)
                if inp.dtype == dt.bool_:
                    raw = self.new_slot(dt.int8)
                    self.stream_slots[inp.name] = raw.slot
                    env[id(inp.value)] = D("slot", rep, slot=raw.slot)   # converted in place below
                    self.scratch_int8[inp.name] = raw.slot
                else:
                    d = self.new_slot(inp.dtype)
                    self.stream_slots[inp.name] = d.slot
                    env[id(inp.value)] = d
            elif inp.kind == "const":
                env[id(inp.value)] = D("const", _representation(inp.dtype), value=float(np.asarray(inp.const).reshape(-1)[0]))
            elif inp.kind == "scalar":
                env[id(inp.value)] = D("scalar", _representation(inp.dtype), var=f"{inp.name}_s")
            elif inp.kind == "period":
                arr = None
                if inp.const is not None:
                    arr = np.tile(np.asarray(inp.const).reshape(-1), inp.period // inp.period_c)
                env[id(inp.value)] = D("period", inp.dtype, var=f"{inp.name}_p", period=inp.period, array=arr)
        # bool streams: int8 0/1 -> float in a fresh slot
        for inp in self.inputs:
            if inp.name in self.scratch_int8:
                raw = self.scratch_int8[inp.name]
                out = self.new_slot(F32)
                self.emit(f"__bang_int82float({self.slot_ptr(out.slot, F32)}, {self.slot_ptr(raw, dt.int8)}, {self.n}, 0);")
                self.free.append(raw)
                env[id(inp.value)] = out
        uses: dict[int, int] = {}
        for i, op in enumerate(self.ops):
            for v in op.operands:
                uses[id(v)] = i
        uses[id(self.result_value)] = len(self.ops)
        for i, op in enumerate(self.ops):
            args = [env[id(v)] for v in op.operands]
            handler = HANDLERS.get(op.name)
            if handler is None:
                raise unsupported(op, "no BANG C elementwise kernel for this op")
            self.temps = []
            out_dtype = op.result.type.dtype
            result = handler(self, op, args, out_dtype)
            env[id(op.result)] = result
            for v, d in zip(op.operands, args):
                if uses.get(id(v)) == i and d is not result:
                    self.release(d)
            for d in self.temps:
                if d is not result:
                    self.release(d)
        res = env[id(self.result_value)]
        out_dtype = self.result_value.type.dtype
        if res.kind != "slot":
            res = self.materialize(res)
        if out_dtype == dt.bool_:            # 1.0/0.0 -> int8 0/1
            dst = self.new_slot(dt.int8)
            fn = "__bang_float2int8_rd" if res.dtype == F32 else "__bang_half2int8_rd"
            self.emit(f"{fn}({self.ptr(dst)}, {self.ptr(res)}, {self.n}, 0);")
            res = dst
        self.result = res


def _representation(dtype):
    """How a value of `dtype` is held in NRAM: bools as float32 1.0/0.0."""
    return F32 if dtype == dt.bool_ else dtype


# Handlers: (prog, op, args, out_dtype) -> D -------------------------------------------------------
HANDLERS = {}
handler = registry(HANDLERS)


def _float_only(op, args):
    for a in args:
        if not is_float(a.dtype):
            raise unsupported(op, f"{a.dtype.name} operands (the vector unit path here is float16/float32)")


def _binary_vector(p: TileProgram, fn: str, a: D, b: D, dtype) -> D:
    a, b = p.materialize(a), p.materialize(b)
    out = p.new_slot(dtype)
    p.emit(f"{fn}({p.ptr(out)}, {p.ptr(a)}, {p.ptr(b)}, {p.n});")
    return out


SCALAR_FN = {"add": "__bang_add_scalar", "sub": "__bang_sub_scalar", "mul": "__bang_mul_scalar"}


def _arith(p: TileProgram, kind: str, a: D, b: D, dtype) -> D:
    """a (+|-|*) b for any operand kinds."""
    vec, cyc = f"__bang_{kind}", f"__bang_cycle_{kind}"
    if a.kind == "slot" and b.kind in ("const", "scalar"):
        out = p.new_slot(dtype)
        p.emit(f"{SCALAR_FN[kind]}({p.ptr(out)}, {p.ptr(a)}, ({ctype(dtype)}){p.scalar_text(b)}, {p.n});")
        return out
    if b.kind == "slot" and a.kind in ("const", "scalar"):
        out = p.new_slot(dtype)
        if kind == "sub":      # c - b = (b * -1) + c
            p.emit(f"__bang_mul_scalar({p.ptr(out)}, {p.ptr(b)}, ({ctype(dtype)})-1.0f, {p.n});")
            p.emit(f"__bang_add_scalar({p.ptr(out)}, {p.ptr(out)}, ({ctype(dtype)}){p.scalar_text(a)}, {p.n});")
        else:
            p.emit(f"{SCALAR_FN[kind]}({p.ptr(out)}, {p.ptr(b)}, ({ctype(dtype)}){p.scalar_text(a)}, {p.n});")
        return out
    if a.kind == "slot" and b.kind == "period":
        out = p.new_slot(dtype)
        p.emit(f"{cyc}({p.ptr(out)}, {p.ptr(a)}, {b.var}, {p.n}, {b.period});")
        return out
    if b.kind == "slot" and a.kind == "period":
        out = p.new_slot(dtype)
        p.emit(f"{cyc}({p.ptr(out)}, {p.ptr(b)}, {a.var}, {p.n}, {a.period});")
        if kind == "sub":
            p.emit(f"__bang_mul_scalar({p.ptr(out)}, {p.ptr(out)}, ({ctype(dtype)})-1.0f, {p.n});")
        return out
    return _binary_vector(p, vec, a, b, dtype)


ARITH = {"math.add": "add", "nn.bias_add": "add", "math.sub": "sub", "math.mul": "mul"}


@handler(*ARITH)
def _add_sub_mul(p, op, args, dtype):
    _float_only(op, args)
    return _arith(p, ARITH[op.name], args[0], args[1], dtype)


@handler("math.add_n")
def _add_n(p, op, args, dtype):
    _float_only(op, args)
    acc = args[0]
    for b in args[1:]:
        new = _arith(p, "add", acc, b, dtype)
        if acc is not args[0]:
            p.release(acc)
        acc = new
    return p.materialize(acc)


@handler("math.real_div")
def _div(p, op, args, dtype):
    _float_only(op, args)
    a, b = args
    if b.kind == "const":
        return _arith(p, "mul", a, D("const", b.dtype, value=float(np.float32(1.0) / np.float32(b.value))), dtype)
    if b.kind == "period" and b.array is not None:
        with np.errstate(divide="ignore"):
            inv = (np.float32(1.0) / b.array.astype(np.float32)).astype(b.dtype.numpy)
        a = p.materialize(a)
        return p.mul_by_constants(p.new_slot(dtype), a, inv)
    if b.kind == "scalar":
        p.emit(f"{b.var}_inv = 1.0f / {b.var};")
        return _arith(p, "mul", a, D("scalar", b.dtype, var=f"{b.var}_inv"), dtype)
    bs = p.materialize(b)
    r = p.new_slot(dtype)
    p.emit(f"__bang_active_recip({p.ptr(r)}, {p.ptr(bs)}, {p.n});")
    p.temps.append(r)
    return _arith(p, "mul", a, r, dtype)


@handler("math.maximum", "math.minimum")
def _maxmin(p, op, args, dtype):
    _float_only(op, args)
    a, b = args
    if op.name == "math.maximum":
        for x, y in ((a, b), (b, a)):
            if x.kind == "slot" and y.kind == "const" and y.value == 0.0:
                out = p.new_slot(dtype)
                p.emit(f"__bang_active_relu({p.ptr(out)}, {p.ptr(x)}, {p.n});")
                return out
    fn = "__bang_maxequal" if op.name == "math.maximum" else "__bang_minequal"
    return _binary_vector(p, fn, a, b, dtype)


COMPARE = {"math.greater": "__bang_gt", "math.greater_equal": "__bang_ge", "math.less": "__bang_lt",
           "math.less_equal": "__bang_le", "math.equal": "__bang_eq", "math.not_equal": "__bang_ne"}


@handler(*COMPARE)
def _compare(p, op, args, dtype):
    _float_only(op, args)
    return _binary_vector(p, COMPARE[op.name], args[0], args[1], args[0].dtype)


@handler("math.logical_and")
def _and(p, op, args, dtype):
    return _arith(p, "mul", args[0], args[1], F32)


@handler("math.logical_or")
def _or(p, op, args, dtype):
    return _binary_vector(p, "__bang_maxequal", args[0], args[1], F32)


@handler("math.logical_xor")
def _xor(p, op, args, dtype):
    return _binary_vector(p, "__bang_ne", args[0], args[1], F32)


@handler("math.logical_not")
def _not(p, op, args, dtype):
    a = p.materialize(args[0])
    out = p.new_slot(F32)
    p.emit(f"__bang_mul_scalar({p.ptr(out)}, {p.ptr(a)}, -1.0f, {p.n});")
    p.emit(f"__bang_add_scalar({p.ptr(out)}, {p.ptr(out)}, 1.0f, {p.n});")
    return out


@handler("math.select", "math.select_v2")
def _select(p, op, args, dtype):
    c, a, b = args
    _float_only(op, [a, b])
    # b + c * (a - b)
    t = p.temp(_arith(p, "sub", a, b, dtype))
    t2 = p.temp(_binary_vector(p, "__bang_mul", t, c, dtype) if c.kind == "slot" else _arith(p, "mul", t, c, dtype))
    return _arith(p, "add", t2, b, dtype)


UNARY = {"nn.relu": "__bang_active_relu", "math.sigmoid": "__bang_active_sigmoid",
         "math.tanh": "__bang_active_tanh", "math.exp": "__bang_active_exp",
         "math.log": "__bang_active_log", "math.sqrt": "__bang_active_sqrt",
         "math.rsqrt": "__bang_active_rsqrt", "math.reciprocal": "__bang_active_recip",
         "math.abs": "__bang_active_abs"}


def _unary(p, fn, a, dtype):
    a = p.materialize(a)
    out = p.new_slot(dtype)
    p.emit(f"{fn}({p.ptr(out)}, {p.ptr(a)}, {p.n});")
    return out


def _in_place(p, kind: str, d: D, literal: str, dtype) -> D:
    """d = d (+|*) literal (a C float literal, kind "add" | "mul"), in d's own slot."""
    p.emit(f"__bang_{kind}_scalar({p.ptr(d)}, {p.ptr(d)}, ({ctype(dtype)}){literal}, {p.n});")
    return d


def _const_d(dtype, value) -> D:
    return D("const", dtype, value=float(value))


@handler(*UNARY)
def _activation(p, op, args, dtype):
    _float_only(op, args)
    return _unary(p, UNARY[op.name], args[0], dtype)


@handler("math.neg")
def _neg(p, op, args, dtype):
    _float_only(op, args)
    return _arith(p, "mul", args[0], _const_d(dtype, -1.0), dtype)


@handler("math.square")
def _square(p, op, args, dtype):
    _float_only(op, args)
    a = p.materialize(args[0])
    return _binary_vector(p, "__bang_mul", a, a, dtype)


@handler("math.squared_difference")
def _sqdiff(p, op, args, dtype):
    _float_only(op, args)
    t = p.temp(_arith(p, "sub", args[0], args[1], dtype))
    return _binary_vector(p, "__bang_mul", t, t, dtype)


@handler("nn.relu6")
def _relu6(p, op, args, dtype):
    _float_only(op, args)
    r = p.temp(_unary(p, "__bang_active_relu", args[0], dtype))
    return _binary_vector(p, "__bang_minequal", r, _const_d(dtype, 6.0), dtype)


@handler("nn.leaky_relu")
def _leaky(p, op, args, dtype):
    _float_only(op, args)
    alpha = float(np.float32(op.attributes.get("alpha", 0.2)))
    if not 0.0 <= alpha <= 1.0:
        raise unsupported(op, f"alpha {alpha} outside [0, 1] (max(x, alpha*x) needs it)")
    x = p.materialize(args[0])
    t = p.temp(_arith(p, "mul", x, _const_d(dtype, alpha), dtype))
    return _binary_vector(p, "__bang_maxequal", x, t, dtype)


@handler("nn.softplus")
def _softplus(p, op, args, dtype):
    _float_only(op, args)
    e = p.temp(_in_place(p, "add", _unary(p, "__bang_active_exp", args[0], dtype), "1.0f", dtype))
    return _unary(p, "__bang_active_log", e, dtype)


@handler("math.cast")
def _cast(p, op, args, dtype):
    a = args[0]
    src = op.operands[0].type.dtype
    if src == dtype or (src == dt.bool_ and dtype == F32):
        return a
    if src == F32 and dtype == F16:
        return _unary(p, "__bang_float2half_rn", a, F16)
    if src == F16 and dtype == F32:
        return _unary(p, "__bang_half2float", a, F32)
    if src == dt.bool_ and dtype == F16:
        return _unary(p, "__bang_float2half_rn", a, F16)
    if dtype == dt.bool_ and is_float(src):
        return _binary_vector(p, "__bang_ne", a, _const_d(a.dtype, 0.0), a.dtype)
    if src in (dt.int8, dt.int16) and dtype in (F32, F16):
        fn = {(dt.int8, F32): "__bang_int82float", (dt.int16, F32): "__bang_int162float",
              (dt.int8, F16): "__bang_int82half", (dt.int16, F16): "__bang_int162half"}[(src, dtype)]
        a = p.materialize(a)
        out = p.new_slot(dtype)
        p.emit(f"{fn}({p.ptr(out)}, {p.ptr(a)}, {p.n}, 0);")
        return out
    raise unsupported(op, f"cast {src.name} -> {dtype.name}")


INT_TO_FLOAT = {dt.int8: "__bang_int82float", dt.int16: "__bang_int162float"}


def _channel_scales(op, attr: str, rank: int):
    scales = [float(s) for s in op.attributes[attr]]
    axis = op.attributes.get("axis")
    if len(scales) == 1:
        return scales[0], None
    if axis is None or axis % rank != rank - 1:
        raise unsupported(op, "per-channel scales along an axis other than the last")
    return None, scales


@handler("quant.quantize")
def _quantize(p, op, args, dtype):
    a = p.materialize(args[0])
    src = a.dtype
    if src not in (F32, F16):
        raise unsupported(op, f"quantize from {src.name}")
    fn = {(F32, dt.int8): "__bang_float2int8_rd", (F32, dt.int16): "__bang_float2int16_rd",
          (F16, dt.int8): "__bang_half2int8_rd", (F16, dt.int16): "__bang_half2int16_rd"}[(src, dtype)]
    rank = len(op.operands[0].type.shape)
    scale, scales = _channel_scales(op, "scale", rank)
    out = p.new_slot(dtype)
    pos = pow2_exponent(scale) if scale is not None else None
    if pos is not None:
        p.emit(f"{fn}({p.ptr(out)}, {p.ptr(a)}, {p.n}, {pos});")
        return out
    t = p.temp(p.new_slot(src))
    if scale is not None:
        inv = float(np.float32(1.0 / np.float64(scale)))
        p.emit(f"__bang_mul_scalar({p.ptr(t)}, {p.ptr(a)}, ({ctype(src)}){c_float(inv)}, {p.n});")
    else:
        inv = (1.0 / np.asarray(scales, np.float64)).astype(np.float32)
        p.mul_by_constants(t, a, inv.astype(src.numpy))
    p.emit(f"{fn}({p.ptr(out)}, {p.ptr(t)}, {p.n}, 0);")
    return out


@handler("quant.dequantize")
def _dequantize(p, op, args, dtype):
    a = p.materialize(args[0])
    src = a.dtype
    if src not in (dt.int8, dt.int16):
        raise unsupported(op, f"dequantize from {src.name} (only int8/int16 outside a conv/matmul)")
    rank = len(op.operands[0].type.shape)
    scale, scales = _channel_scales(op, "scale", rank)
    fn = INT_TO_FLOAT[src]
    out = p.new_slot(F32)
    pos = pow2_exponent(scale) if scale is not None else None
    p.emit(f"{fn}({p.ptr(out)}, {p.ptr(a)}, {p.n}, {pos if pos is not None else 0});")
    if pos is None:
        if scale is not None:
            p.emit(f"__bang_mul_scalar({p.ptr(out)}, {p.ptr(out)}, {c_float(scale)}, {p.n});")
        else:
            p.mul_by_constants(out, out, np.asarray(scales, np.float32))
    if dtype == F16:
        h = p.new_slot(F16)
        p.emit(f"__bang_float2half_rn({p.ptr(h)}, {p.ptr(out)}, {p.n});")
        p.temps.append(out)
        return h
    return out


@handler("nn.fused_batch_norm")
def _batch_norm(p, op, args, dtype):
    """(x - mean) * (rsqrt(variance + epsilon) * scale) + offset with constant [C] parameters:
    three cycle ops."""
    x, scale, offset, mean, var = args
    if op.attributes.get("data_format", "NHWC") not in ("NHWC", "NDHWC") and len(op.result.type.shape) != 2:
        raise unsupported(op, "data_format NCHW (channels must be the last axis)")
    if any(d.kind != "period" or d.array is None for d in (scale, offset, mean, var)):
        raise unsupported(op, "scale/offset/mean/variance must be constant [C] vectors")
    _float_only(op, [x])
    work = scale.array.dtype.type
    factor = ((1 / np.sqrt(var.array + work(op.attributes.get("epsilon", 0.001)))) * scale.array)
    t = p.temp(_arith(p, "sub", p.materialize(x), mean, dtype))
    out = p.temp(p.mul_by_constants(p.new_slot(dtype), t, factor.astype(x.dtype.numpy)))
    return _arith(p, "add", out, offset, dtype)


def _neg_part_exp(p, x, dtype):
    """exp(min(x, 0)) - 1 (0 for x >= 0)."""
    m = p.temp(_binary_vector(p, "__bang_minequal", x, _const_d(dtype, 0.0), dtype))
    return _in_place(p, "add", _unary(p, "__bang_active_exp", m, dtype), "-1.0f", dtype)


@handler("nn.elu", "nn.selu")
def _elu(p, op, args, dtype):
    _float_only(op, args)
    x = p.materialize(args[0])
    e = p.temp(_neg_part_exp(p, x, dtype))
    r = p.temp(_unary(p, "__bang_active_relu", x, dtype))
    if op.name == "nn.selu":
        from tfc.ir.ops.nn import _SELU_ALPHA, _SELU_SCALE
        _in_place(p, "mul", e, c_float(_SELU_SCALE * _SELU_ALPHA), dtype)
        _in_place(p, "mul", r, c_float(_SELU_SCALE), dtype)
    return _binary_vector(p, "__bang_add", r, e, dtype)


@handler("nn.softsign")
def _softsign(p, op, args, dtype):
    _float_only(op, args)
    x = p.materialize(args[0])
    a = p.temp(_in_place(p, "add", _unary(p, "__bang_active_abs", x, dtype), "1.0f", dtype))
    r = p.temp(_unary(p, "__bang_active_recip", a, dtype))
    return _binary_vector(p, "__bang_mul", x, r, dtype)


@handler("math.sign")
def _sign(p, op, args, dtype):
    _float_only(op, args)
    x = p.materialize(args[0])
    gt = p.temp(_binary_vector(p, "__bang_gt", x, _const_d(dtype, 0.0), dtype))
    lt = p.temp(_binary_vector(p, "__bang_lt", x, _const_d(dtype, 0.0), dtype))
    return _binary_vector(p, "__bang_sub", gt, lt, dtype)


@handler("math.log1p")
def _log1p(p, op, args, dtype):
    _float_only(op, args)
    t = p.temp(_arith(p, "add", p.materialize(args[0]), _const_d(dtype, 1.0), dtype))
    return _unary(p, "__bang_active_log", t, dtype)


@handler("math.expm1")
def _expm1(p, op, args, dtype):
    _float_only(op, args)
    return _in_place(p, "add", _unary(p, "__bang_active_exp", args[0], dtype), "-1.0f", dtype)


@handler("array.fill")
def _fill(p, op, args, dtype):
    return args[0]


@handler("quant.requantize")
def _requantize(p, op, args, dtype):
    a = p.materialize(args[0])
    src = a.dtype
    if src not in (dt.int8, dt.int16):
        raise unsupported(op, f"requantize from {src.name} (int8/int16 only)")
    rank = len(op.operands[0].type.shape)
    ins, ins_v = _channel_scales(op, "in_scale", rank)
    outs, outs_v = _channel_scales(op, "out_scale", rank)
    f = p.temp(p.new_slot(F32))
    p.emit(f"{INT_TO_FLOAT[src]}({p.ptr(f)}, {p.ptr(a)}, {p.n}, 0);")
    if ins is not None and outs is not None:
        m = float(np.float32(np.float64(ins) / np.float64(outs)))
        p.emit(f"__bang_mul_scalar({p.ptr(f)}, {p.ptr(f)}, {c_float(m)}, {p.n});")
    else:
        c = op.operands[0].type.shape[-1]
        iv = np.broadcast_to(np.asarray(ins_v if ins is None else [ins], np.float64), (c,))
        ov = np.broadcast_to(np.asarray(outs_v if outs is None else [outs], np.float64), (c,))
        p.mul_by_constants(f, f, (iv / ov).astype(np.float32))
    out = p.new_slot(dtype)
    fn = "__bang_float2int8_rd" if dtype == dt.int8 else "__bang_float2int16_rd"
    p.emit(f"{fn}({p.ptr(out)}, {p.ptr(f)}, {p.n}, 0);")
    return out


@handler("core.identity")
def _identity(p, op, args, dtype):
    return args[0]


# Kernel assembly -------------------------------------------------------------------------------
def elementwise_kernel(name: str, ops, inputs: list[Input], result, out_value, target,
                       comment: str = "") -> Kernel:
    """One streaming kernel computing `result` (a value of `ops`) into the output buffer."""
    shape = tuple(result.type.shape)
    total = int(np.prod(shape, dtype=np.int64))
    prog = TileProgram(ops, inputs, result, target)
    prog.build()
    out_store = storage_dtype(result.type.dtype)
    # persistent NRAM: periods (P elems each), scalars (one 128-byte granule each), gathers
    persistent = []          # (varname, ctype, bytes, kind, input/None)
    for inp in inputs:
        if inp.kind == "period":
            persistent.append((f"{inp.name}_p", ctype(inp.dtype), inp.period * inp.dtype.itemsize, "period", inp))
        elif inp.kind == "scalar":
            persistent.append((f"{inp.name}_b", ctype(storage_dtype(inp.dtype)), ALIGN, "scalar", inp))
        elif inp.kind == "gather":
            persistent.append((f"{inp.name}_g", ctype(storage_dtype(inp.dtype)),
                               round_up(inp.gather_size * inp.dtype.itemsize, ALIGN), "gather", inp))
    for pname, values, per in prog.extra_periods:
        persistent.append((f"{pname}_p", ctype(dt.from_numpy(values.dtype)), per * values.itemsize, "weight", values))
    pers_bytes = sum(round_up(b, ALIGN) for _, _, b, _, _ in persistent)
    va = lcm(*([align_elems(t) for t in _slot_dtypes(prog, inputs, out_store)] +
               [inp.period for inp in inputs if inp.kind == "period"] +
               [per for _, _, per in prog.extra_periods]))
    nslots = max(prog.nslots, 1)
    budget = target.nram_usable - pers_bytes
    per_elem = 2 * nslots * prog.max_itemsize
    tile = (budget // per_elem) // va * va
    if tile <= 0:
        raise CodegenError(f"{name}: the group needs {nslots} NRAM slots with a period of {va} "
                           f"elements, more than fits in {target.nram_usable} bytes of NRAM")
    unit = va
    ntasks = max(1, min(target.cores, total // unit, -(-total * out_store.itemsize // 16384)))
    per_task = round_up(-(-total // ntasks), va)
    tile = min(tile, max(va, per_task))
    slot_bytes = round_up(tile * prog.max_itemsize, ALIGN)
    stage_bytes = nslots * slot_bytes

    params: list[Param] = []
    for inp in inputs:
        if inp.kind == "const":
            continue
        if inp.kind == "period" and inp.const is not None:
            params.append(Param(inp.name, ctype(inp.dtype) + " *",
                                ("weight", np.tile(np.asarray(inp.const, inp.dtype.numpy).reshape(-1),
                                                   inp.period // inp.period_c))))
        else:
            params.append(Param(inp.name, ctype(storage_dtype(inp.dtype)) + " *",
                                ("value", inp.outer)))
    for pname, values, per in prog.extra_periods:
        params.append(Param(pname, ctype(dt.from_numpy(values.dtype)) + " *", ("weight", values)))
    params.append(Param("out", ctype(out_store) + " *", ("output", out_value)))

    w = begin_kernel(name, params, comment, [("TOTAL", total), ("TILE", tile), ("UNIT", unit),
                                             ("SLOT_BYTES", slot_bytes), ("STAGE_BYTES", stage_bytes)],
                     target.nram_usable, nram_macro=True)
    split_over_tasks(w, "TOTAL", "(TOTAL / UNIT) / taskDim * UNIT")
    offset = 2 * stage_bytes
    for var, ct, nbytes, kind, inp in persistent:
        w(f"{ct} *{var} = ({ct} *)(nram_buffer + {offset});")
        if kind == "period":
            if inp.const is not None:      # expanded at compile time: one copy
                w(f"__memcpy({var}, {inp.name}, {inp.period * inp.dtype.itemsize}, GDRAM2NRAM);")
            else:
                reps = inp.period // inp.period_c
                w(f"for (int r = 0; r < {reps}; r++) {{")
                w(f"  __memcpy({var} + r * {inp.period_c}, {inp.name}, {inp.period_c * inp.dtype.itemsize}, GDRAM2NRAM);")
                w("}")
        elif kind == "weight":
            w(f"__memcpy({var}, {var[:-2]}, {nbytes}, GDRAM2NRAM);")
        elif kind == "scalar":
            es = inp.dtype.itemsize
            w(f"__memcpy({var}, {inp.name}, {es}, GDRAM2NRAM);")
            w(f"float {inp.name}_s = (float){var}[0];")
            w(f"float {inp.name}_s_inv = 1.0f;")
        elif kind == "gather":
            w(f"__memcpy({var}, {inp.name}, {inp.gather_size * inp.dtype.itemsize}, GDRAM2NRAM);")
        offset += round_up(nbytes, ALIGN)
    assert offset <= target.nram_usable, (offset, target.nram_usable)
    w("int repeat = (count + TILE - 1) / TILE;")
    w.open("for (int i = 0; i < repeat + 2; i++)")
    # store tile i-2
    w.open("if (i >= 2)")
    w("char *stage = nram_buffer + (i % 2) * STAGE_BYTES;")
    clamped(w, "len", "count - (i - 2) * TILE", "TILE")
    w(f"__memcpy_async(out + start + (i - 2) * TILE, {prog.ptr(prog.result)}, "
      f"len * {out_store.itemsize}, NRAM2GDRAM);")
    w.close()
    # compute tile i-1
    w.open("if (i >= 1 && i - 1 < repeat)")
    w("char *stage = nram_buffer + ((i - 1) % 2) * STAGE_BYTES;")
    w("int off = start + (i - 1) * TILE;")
    clamped(w, "len", "count - (i - 1) * TILE", "TILE")
    w(f"int n = (len + {va - 1}) / {va} * {va};")
    for inp in inputs:
        if inp.kind == "gather":
            st = storage_dtype(inp.dtype)
            slot = prog.stream_slots[inp.name]
            w(f"{ctype(st)} *{inp.name}_t = {prog.slot_ptr(slot, st)};")
            w("for (int j = 0; j < len; j++) {")
            w("  int g = off + j;")
            w(f"  {inp.name}_t[j] = {inp.name}_g[{inp.gather_index}];")
            w("}")
    if not prog.lines:
        w("(void)n;")
    w.extend(prog.lines)
    w.close()
    # load tile i
    w.open("if (i < repeat)")
    w("char *stage = nram_buffer + (i % 2) * STAGE_BYTES;")
    clamped(w, "len", "count - i * TILE", "TILE")
    for inp in inputs:
        if inp.kind == "stream":
            st = storage_dtype(inp.dtype)
            slot = prog.stream_slots[inp.name]
            w(f"__memcpy_async({prog.slot_ptr(slot, st)}, {inp.name} + start + i * TILE, "
              f"len * {st.itemsize}, GDRAM2NRAM);")
        elif inp.kind == "run":
            slot = prog.stream_slots[inp.name]
            es = inp.dtype.itemsize
            w(f"for (int k = 0; k < len; ) {{   /* {inp.name}: runs of {inp.run} elements */")
            w("  int g = start + i * TILE + k;")
            w(f"  int q = g / {inp.run};")
            w(f"  int m = {inp.run} - g % {inp.run};")
            w("  if (m > len - k) { m = len - k; }")
            w(f"  __memcpy_async({prog.slot_ptr(slot, inp.dtype)} + k, {inp.name} + ({inp.run_index}) * {inp.run} "
              f"+ g % {inp.run}, m * {es}, GDRAM2NRAM);")
            w("  k += m;")
            w("}")
    w.close()
    w("__sync();")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, (ntasks, 1, 1), "BLOCK")


def _slot_dtypes(prog, inputs, out_dtype):
    return {out_dtype, F32} | {storage_dtype(inp.dtype) for inp in inputs}
