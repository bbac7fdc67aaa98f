"""TensorFlow's Philox4x32-10 random numbers in LLVM IR, bit for bit as `tfc.ir.philox`.

`philox_block` emits the ten rounds on one 128-bit counter (the key comes from the op's
`seed` attribute, so it is a constant); `emit_blocks` runs a loop over the generator's blocks
starting at (seed2 << 64) + counter (128-bit arithmetic, as `PhiloxRandom::Skip`), handing
each block's four words to a callback. The bits-to-number conversions and Box-Muller follow
ir/philox.py: Box-Muller calls the C library's `logf`/`sincosf` (float32, float16) and
`log`/`sin`/`cos` (float64), which are glibc's, the functions ir/philox.py reproduces.

Kernels here: random.uniform, random.uniform_int, random.normal, random.truncated_normal
(every dtype they allow). random.gamma, random.multinomial and random.shuffle have none.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation

from . import loops
from .kernels.linalg import kernel
from .types import F16, F32, F64, I32, I64, i64

I16 = ir.IntType(16)
MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
#: Blocks one truncated-normal group may read (TF reserves 256 samples per output).
_RESERVED_PER_OUTPUT = 256


def philox_block(b: ir.IRBuilder, lo: ir.Value, hi: ir.Value, seed: int) -> list[ir.Value]:
    """The four i32 words of Philox4x32-10 at the 128-bit counter (lo, hi) (i64 halves)
    with key (seed low word, seed high word)."""
    seed &= MASK64
    k0, k1 = seed & MASK32, seed >> 32
    c = [b.trunc(lo, I32), b.trunc(b.lshr(lo, i64(32)), I32),
         b.trunc(hi, I32), b.trunc(b.lshr(hi, i64(32)), I32)]
    for _ in range(10):
        p0 = b.mul(b.zext(c[0], I64), i64(_M0))
        p1 = b.mul(b.zext(c[2], I64), i64(_M1))
        c = [b.xor(b.xor(b.trunc(b.lshr(p1, i64(32)), I32), c[1]), ir.Constant(I32, k0)),
             b.trunc(p1, I32),
             b.xor(b.xor(b.trunc(b.lshr(p0, i64(32)), I32), c[3]), ir.Constant(I32, k1)),
             b.trunc(p0, I32)]
        k0 = (k0 + _W0) & MASK32
        k1 = (k1 + _W1) & MASK32
    return c


def counter_start(b: ir.IRBuilder, counter: ir.Value, seed2: int) -> tuple[ir.Value, ir.Value]:
    """(lo, hi) of the 128-bit block (seed2 << 64) + counter, `counter` a signed i64."""
    sign = b.ashr(counter, i64(63))                 # the high half of sext(counter)
    return counter, b.add(i64(seed2 & MASK64), sign)


def block_counter(b, start, index: ir.Value) -> tuple[ir.Value, ir.Value]:
    """start + index (index a non-negative i64), with the carry into the high half."""
    lo = b.add(start[0], index)
    carry = b.zext(b.icmp_unsigned("<", lo, index), I64)
    return lo, b.add(start[1], carry)


def emit_blocks(b: ir.IRBuilder, start, seed: int, count: int, per_block: int, convert,
                store) -> None:
    """Values 0..count-1, `per_block` to a block, from consecutive blocks at `start`: each
    block's words become values by `convert(b, words)`, and `store(b, value, value_index)`
    emits the store of each. Full blocks run in a loop; a last partial block follows it."""
    full, rest = divmod(count, per_block)

    def block(index, limit):
        words = philox_block(b, *block_counter(b, start, index), seed)
        values = convert(b, words)
        for j in range(limit):
            store(b, values[j], b.add(b.mul(index, i64(per_block)), i64(j)))

    with loops.for_range(b, 0, full, name="blk") as index:
        block(index, per_block)
    if rest:
        block(i64(full), rest)


# Bits to numbers -----------------------------------------------------------------------------
def bits_to_float32(b, w):
    """Uint32ToFloat: 23 mantissa bits under exponent 0, minus 1."""
    bits = b.or_(b.and_(w, ir.Constant(I32, 0x7FFFFF)), ir.Constant(I32, 0x3F800000))
    return b.fsub(b.bitcast(bits, F32), ir.Constant(F32, 1.0))


def bits_to_float16(b, w):
    """Uint16ToHalf: 10 mantissa bits, minus 1 (returned as float; exact)."""
    bits = b.or_(b.and_(w, ir.Constant(I32, 0x3FF)), ir.Constant(I32, 15 << 10))
    half = b.bitcast(b.trunc(bits, I16), F16)
    return b.fsub(b.fpext(half, F32), ir.Constant(F32, 1.0))


def bits_to_float64(b, hi, lo):
    """Uint64ToDouble: 20 bits of hi and all of lo as the 52-bit mantissa, minus 1."""
    mantissa = b.or_(b.shl(b.zext(b.and_(hi, ir.Constant(I32, 0xFFFFF)), I64), i64(32)), b.zext(lo, I64))
    bits = b.or_(mantissa, i64(0x3FF0000000000000))
    return b.fsub(b.bitcast(bits, F64), ir.Constant(F64, 1.0))


def uniform_values(b, words, dtype) -> list[ir.Value]:
    """A block's uniforms in [0, 1), in compute type (float for float16)."""
    if dtype == dt.float64:
        return [bits_to_float64(b, words[0], words[1]), bits_to_float64(b, words[2], words[3])]
    convert = bits_to_float16 if dtype == dt.float16 else bits_to_float32
    return [convert(b, w) for w in words]


def values_per_block(dtype) -> int:
    return 2 if dtype in (dt.float64, dt.int64) else 4


# Box-Muller ----------------------------------------------------------------------------------
def _declare(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
    existing = module.globals.get(name)
    return existing if existing is not None else ir.Function(module, fnty, name)


def _slot(b: ir.IRBuilder, ty):
    with b.goto_entry_block():
        return b.alloca(ty)


def box_muller_float(b, x0, x1) -> tuple[ir.Value, ir.Value]:
    """BoxMullerFloat: two words to two float32 normals (sin * r, cos * r)."""
    module = b.module
    logf = _declare(module, "logf", ir.FunctionType(F32, [F32]))
    sqrtf = _declare(module, "llvm.sqrt.f32", ir.FunctionType(F32, [F32]))
    sincosf = _declare(module, "sincosf", ir.FunctionType(ir.VoidType(), [F32, F32.as_pointer(),
                                                                        F32.as_pointer()]))
    u = bits_to_float32(b, x0)
    eps = ir.Constant(F32, float(np.float32(1e-7)))
    u1 = b.select(b.fcmp_ordered("<", u, eps), eps, u)
    v1 = b.fptrunc(b.fmul(ir.Constant(F64, 2.0 * math.pi), b.fpext(bits_to_float32(b, x1), F64)), F32)
    r = b.call(sqrtf, [b.fmul(ir.Constant(F32, -2.0), b.call(logf, [u1]))])
    s_slot, c_slot = _slot(b, F32), _slot(b, F32)
    b.call(sincosf, [v1, s_slot, c_slot])
    return b.fmul(b.load(s_slot), r), b.fmul(b.load(c_slot), r)


def box_muller_double(b, x0, x1, x2, x3) -> tuple[ir.Value, ir.Value]:
    """BoxMullerDouble: four words to two float64 normals (sin * r, cos * r)."""
    module = b.module
    unary = ir.FunctionType(F64, [F64])
    log, sin, cos = (_declare(module, name, unary) for name in ("log", "sin", "cos"))
    sqrt = _declare(module, "llvm.sqrt.f64", unary)
    u = bits_to_float64(b, x0, x1)
    eps = ir.Constant(F64, 1e-7)
    u1 = b.select(b.fcmp_ordered("<", u, eps), eps, u)
    v1 = b.fmul(ir.Constant(F64, 2 * math.pi), bits_to_float64(b, x2, x3))
    r = b.call(sqrt, [b.fmul(ir.Constant(F64, -2.0), b.call(log, [u1]))])
    return b.fmul(b.call(sin, [v1]), r), b.fmul(b.call(cos, [v1]), r)


def normal_values(b, words, dtype) -> list[ir.Value]:
    """A block's normals: four float32 (for float16/float32) or two float64."""
    if dtype == dt.float64:
        return list(box_muller_double(b, *words))
    return [*box_muller_float(b, words[0], words[1]), *box_muller_float(b, words[2], words[3])]


def store_float(b, value, ptr, dtype):
    if dtype == dt.float16:
        value = b.fptrunc(value, F16)
    b.store(value, ptr)


# Kernels -------------------------------------------------------------------------------------
def _start(k, op):
    b = k.builder
    counter = b.load(k.ptr(op.operands[0]))
    return counter_start(b, counter, op.attributes["seed2"])


@kernel("random.uniform")
def emit_uniform(k, op: Operation) -> None:
    out = op.results[0]
    dtype = out.type.dtype
    start, ptr = _start(k, op), k.ptr(out)
    emit_blocks(k.builder, start, op.attributes["seed"], out.type.num_elements,
                values_per_block(dtype), lambda b, words: uniform_values(b, words, dtype),
                lambda b, value, at: store_float(b, value, b.gep(ptr, [at]), dtype))


@kernel("random.uniform_int")
def emit_uniform_int(k, op: Operation) -> None:
    out = op.results[0]
    dtype = out.type.dtype
    lo, hi = op.attributes["minval"], op.attributes["maxval"]
    span = hi - lo
    start, ptr = _start(k, op), k.ptr(out)
    base = i64(lo & MASK64)

    def convert(b, words):
        if dtype == dt.int32:
            return [b.trunc(b.add(base, b.zext(b.urem(w, ir.Constant(I32, span & MASK32)), I64)), I32)
                    for w in words]
        values = []
        for j in range(2):
            bits = b.or_(b.zext(words[2 * j], I64), b.shl(b.zext(words[2 * j + 1], I64), i64(32)))
            values.append(b.add(base, b.urem(bits, i64(span & MASK64))))
        return values

    emit_blocks(k.builder, start, op.attributes["seed"], out.type.num_elements,
                values_per_block(dtype), convert, lambda b, value, at: b.store(value, b.gep(ptr, [at])))


@kernel("random.normal")
def emit_normal(k, op: Operation) -> None:
    out = op.results[0]
    dtype = out.type.dtype
    start, ptr = _start(k, op), k.ptr(out)
    emit_blocks(k.builder, start, op.attributes["seed"], out.type.num_elements,
                values_per_block(dtype), lambda b, words: normal_values(b, words, dtype),
                lambda b, value, at: store_float(b, value, b.gep(ptr, [at]), dtype))


@kernel("random.truncated_normal")
def emit_truncated_normal(k, op: Operation) -> None:
    """Group g of 4 values (2 for float64) reads blocks g * 256 (g * 128), g * 256 + 1, ...
    and keeps the first normals with |x| < 2, in order, until the group is full."""
    out = op.results[0]
    dtype = out.type.dtype
    n = out.type.num_elements
    group = 2 if dtype == dt.float64 else 4
    stride = group * _RESERVED_PER_OUTPUT // 4
    groups = -(-n // group)
    b = k.builder
    start, ptr = _start(k, op), k.ptr(out)
    seed = op.attributes["seed"]
    ty = F64 if dtype == dt.float64 else F32
    fabs = _declare(k.module, f"llvm.fabs.{'f64' if ty == F64 else 'f32'}", ir.FunctionType(ty, [ty]))
    filled = _slot(b, I64)
    used = _slot(b, I64)
    with loops.for_range(b, 0, groups, name="grp") as g:
        b.store(i64(0), filled)
        b.store(i64(0), used)
        loop = b.append_basic_block("tn.loop")
        body = b.append_basic_block("tn.body")
        done = b.append_basic_block("tn.done")
        b.branch(loop)
        b.position_at_end(loop)
        b.cbranch(b.icmp_signed("<", b.load(filled), i64(group)), body, done)
        b.position_at_end(body)
        index = b.add(b.mul(g, i64(stride)), b.load(used))
        words = philox_block(b, *block_counter(b, start, index), seed)
        for value in normal_values(b, words, dtype):
            count = b.load(filled)
            keep = b.and_(b.fcmp_ordered("<", b.call(fabs, [value]), ir.Constant(ty, 2.0)),
                          b.icmp_signed("<", count, i64(group)))
            with b.if_then(keep):
                at = b.add(b.mul(g, i64(group)), count)
                with b.if_then(b.icmp_signed("<", at, i64(n))):
                    store_float(b, value, b.gep(ptr, [at]), dtype)
                b.store(b.add(count, i64(1)), filled)
        b.store(b.add(b.load(used), i64(1)), used)
        b.branch(loop)
        b.position_at_end(done)
