"""Kernels of quant.matmul and quant.conv2d (ir/ops/quant.py): exact integer products.

quant.quantize / dequantize / requantize are elementwise: their scalar formulas are in
`elementwise.py` (so fused groups containing them compile).

int8 x int8 -> int32: an integer GEMM in the Goto shape with AVX-512 dot-product instructions.
The right operand B [K, N] is packed in panels of 16 columns: for each group of G rows of K
one 64-byte vector holding, per column j, its G consecutive values (zero padded in K and N).
A row block of A is packed the same way per tile of `mr` rows: per group of K one 32-bit word
per row holding its G values. The micro-kernel keeps an mr x nv tile of <16 x i32>
accumulators; per group it loads nv B vectors and, per row, broadcasts the row's word and
issues one dot-product instruction per vector:

  - with AVX512-VNNI (G = 4): `vpdpbusd`, 4 products u8 x s8 per lane. A is made unsigned
    by xor 0x80 (a + 128); the extra 128 * sum_k B[k, j] is subtracted when the tile is
    stored (the column sums are packed after B). 64 multiply-adds per instruction.
  - otherwise (G = 2): the values as i16 pairs and the generic IR pattern
    add(acc, even + odd lanes of sext * sext), which LLVM selects as `vpmaddwd` (and
    `vpdpwssd` with VNNI). 32 multiply-adds per instruction.

Sums are exact (modulo 2^32 past the int32 range, which needs K > 131072). A constant B (a
weight) is packed once at compile time into the weights blob, which then holds only the packed
copy when no other op reads the weight (`PACKS_CONSTANT`, emitter.plan_function); otherwise B
is packed at run time into scratch. Large products split their rows (or, for few rows, their column panels)
over the cores.

quant.conv2d, chunks of (image, output pixels) spread over the cores as in nn.py's float conv:
  - constant filter with short window rows (`_conv_rows`): no im2col. Each window row is
    kw * C contiguous input bytes; K is ordered window row by window row, each padded to a multiple of G with zero
    filter rows, so every packed word of A is one load from the input (zero padded into
    scratch first when the windows reach outside it);
  - otherwise: the int8 im2col rows of a chunk (nn.py's `_im2col`) are A and the filter viewed as [kh*kw*C, O] is
    B; a pointwise (1x1, stride 1, unpadded) conv uses the input as A directly.

int16 x int16 -> int64: the same GEMM with G = 2 (i16 pairs, `vpmaddwd`/`vpdpwssd`) and
int64 accumulators (`declare_qgemm16`: each pair sum widened, exactly); the conv through
im2col (int16 columns).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation, Value

from .. import loops, target
from ..elementwise import carried_loop
from ..emitter import PACKS_CONSTANT, CodegenError, alias_root, kernel, _align
from ..loops import imin
from ..types import I1, I8, I32, I64, i64
from .linalg import MIN_PARALLEL_MACS, THREADS, run_workers, split_range
from .nn import IM2COL_BUDGET, Window, _conv_window, _im2col, _memcpy, chunk_of, pixel_chunks

I16 = ir.IntType(16)
VW = 16                               # i32 lanes per vector (512 bits)
V16 = ir.VectorType(I32, VW)
#: (micro-tile rows, vectors) per variant, chosen by the number of 16-column panels.
TILES = {1: (12, 1), 2: (12, 2), 3: (8, 3), 4: (6, 4)}
#: Bytes of a packed A block (it stays in L2 while the B panels stream past it).
A_BLOCK_BYTES = 1 << 17
#: Convolutions whose window rows (kw * C bytes) are at most this long pack A straight from
#: the input (`_conv_rows`); longer rows are copied faster by im2col (measured: LeNet's first
#: conv, 5 bytes, ~30% faster by rows; its second, 30 bytes, ~20% slower; 3x3x64 equal).
ROWS_MAX_BYTES = 16


def group_size() -> int:
    """Values of K per 32-bit lane: 4 with AVX512-VNNI (vpdpbusd), else 2 (i16 pairs)."""
    return 4 if target.has_feature("avx512vnni") and target.has_feature("avx512bw") else 2


def choose_nv(n: int) -> int:
    """Vectors per micro-tile for N columns: the fewest padded panels, then the widest."""
    panels = -(-n // VW)
    return min(range(1, 5), key=lambda nv: (-(-panels // nv) * nv, -nv))


def panel_count(n: int, nv: int) -> int:
    return -(-(-(-n // VW)) // nv) * nv


def packed_b_bytes(k: int, n: int, nv: int, g: int) -> int:
    """Bytes of a packed B: the panels (64 bytes per panel and group of K), then the
    compensation row (i32 per padded column)."""
    return panel_count(n, nv) * (-(-k // g)) * 64 + panel_count(n, nv) * VW * 4


def pack_b_numpy(b: np.ndarray, nv: int, g: int) -> np.ndarray:
    """The run-time packing of B [K, N] (int8) done in numpy, as uint8 bytes."""
    k, n = b.shape
    kg, npan = -(-k // g), panel_count(n, nv)
    full = np.zeros((kg * g, npan * VW), np.int64)
    full[:k, :n] = b
    # (kg, g, panel, 16) -> (panel, kg, 16, g)
    blocks = full.reshape(kg, g, npan, VW).transpose(2, 0, 3, 1)
    elem = np.int8 if g == 4 else np.int16
    panels = np.ascontiguousarray(blocks).astype(elem).view(np.uint8).reshape(-1)
    comp = np.zeros(npan * VW, np.int64)
    if g == 4:
        comp[:] = 128 * full.sum(axis=0)
    comp = (comp & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    return np.concatenate([panels, comp.view(np.uint8)])


# ---------------------------------------------------------------------------------------------
# LLVM functions (one per module and variant)
# ---------------------------------------------------------------------------------------------
def _fn(module: ir.Module, name: str, args: list, names: str):
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), args), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    for arg, n in zip(fn.args, names.split()):
        arg.name = n
    return fn


def declare_pack_b(module: ir.Module, nv: int, g: int, src: ir.IntType = I8) -> ir.Function:
    """`void tfc_qpack_b(K, N, T* B, rsb, csb, i8* Bp)`: pack_b_numpy at run time (T = i8,
    or i16 with g = 2)."""
    name = f"tfc_qpack_b_g{g}_nv{nv}_i{src.width}"
    if name in module.globals:
        return module.globals[name]
    i8p = I8.as_pointer()
    fn = _fn(module, name, [I64, I64, src.as_pointer(), I64, I64, i8p], "K N B rsb csb Bp")
    K, N, B, rsb, csb, Bp = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    sum_slot = b.alloca(I32, name="colsum")
    kg = b.sdiv(b.add(K, i64(g - 1)), i64(g))
    npan = b.mul(b.sdiv(b.add(b.sdiv(b.add(N, i64(VW - 1)), i64(VW)), i64(nv - 1)), i64(nv)), i64(nv))
    elem = I8 if g == 4 else I16
    out = b.bitcast(Bp, elem.as_pointer())
    comp = b.bitcast(b.gep(Bp, [b.mul(b.mul(npan, kg), i64(64))]), I32.as_pointer())
    with loops.for_range(b, 0, npan, name="p") as p:
        with loops.for_range(b, 0, VW, name="j") as j:
            col = b.add(b.mul(p, i64(VW)), j)
            col_ok = b.icmp_signed("<", col, N)
            b.store(ir.Constant(I32, 0), sum_slot)
            with loops.for_range(b, 0, kg, name="q") as q:
                base = b.mul(b.add(b.mul(b.add(b.mul(p, kg), q), i64(VW)), j), i64(g))
                for e in range(g):
                    row = b.add(b.mul(q, i64(g)), i64(e))
                    ok = b.and_(col_ok, b.icmp_signed("<", row, K))
                    at = b.select(ok, b.add(b.mul(row, rsb), b.mul(col, csb)), i64(0))
                    v = b.select(ok, b.load(b.gep(B, [at])), ir.Constant(src, 0))
                    b.store(_widen(b, v, elem), b.gep(out, [b.add(base, i64(e))]))
                    b.store(b.add(b.load(sum_slot), b.sext(v, I32)), sum_slot)
            total = b.mul(b.load(sum_slot), ir.Constant(I32, 128 if g == 4 else 0))
            b.store(total, b.gep(comp, [col]))
    b.ret_void()
    return fn


def _dot(b: ir.IRBuilder, module: ir.Module, g: int, acc, a_word, bvec):
    """acc + the G-wide dot products of each lane (see the module docstring)."""
    splat = _splat(b, a_word)
    if g == 4:
        name = "llvm.x86.avx512.vpdpbusd.512"
        fn = module.globals.get(name) or ir.Function(module, ir.FunctionType(V16, [V16, V16, V16]), name)
        return b.call(fn, [acc, splat, bvec])
    v32 = ir.VectorType(I16, 2 * VW)
    w32 = ir.VectorType(I32, 2 * VW)
    prod = b.mul(b.sext(b.bitcast(splat, v32), w32), b.sext(b.bitcast(bvec, v32), w32), flags=["nsw"])
    even = b.shuffle_vector(prod, ir.Constant(w32, ir.Undefined), ir.Constant(V16, list(range(0, 2 * VW, 2))))
    odd = b.shuffle_vector(prod, ir.Constant(w32, ir.Undefined), ir.Constant(V16, list(range(1, 2 * VW, 2))))
    return b.add(acc, b.add(even, odd))


def declare_qgemm(module: ir.Module, nv: int, g: int) -> ir.Function:
    """`void tfc_qgemm(M, N, K, i8* A, rsa, csa, i8* Bp, i32* C, ldc, i8* scratch, m0, m1, p0, p1)`:
    rows [m0, m1) and column panels [p0, p1) (multiples of nv) of C = A @ B, int8 -> int32,
    B packed by `declare_pack_b` / `pack_b_numpy`; `scratch` holds `a_scratch_bytes(K, nv)`."""
    name = f"tfc_qgemm_g{g}_nv{nv}"
    if name in module.globals:
        return module.globals[name]
    mr, _ = TILES[nv]
    i8p, i32p = I8.as_pointer(), I32.as_pointer()
    fn = _fn(module, name, [I64, I64, I64, i8p, I64, I64, i8p, i32p, I64, i8p, I64, I64, I64, I64],
             "M N K A rsa csa Bp C ldc scratch m0 m1 p0 p1")
    M, N, K, A, rsa, csa, Bp, C, ldc, scratch, m0, m1, p0, p1 = fn.args
    for arg in (A, Bp, C, scratch):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    kg = b.sdiv(b.add(K, i64(g - 1)), i64(g))
    npan = b.mul(b.sdiv(b.add(b.sdiv(b.add(N, i64(VW - 1)), i64(VW)), i64(nv - 1)), i64(nv)), i64(nv))
    comp = b.bitcast(b.gep(Bp, [b.mul(b.mul(npan, kg), i64(64))]), i32p)
    bvecs = b.bitcast(Bp, V16.as_pointer())
    ap = b.bitcast(scratch, i32p)
    # rows per packed block: a multiple of mr with the block within A_BLOCK_BYTES
    tile_bytes = b.mul(kg, i64(4 * mr))
    mc = b.mul(loops.imax(b, i64(1), b.sdiv(i64(A_BLOCK_BYTES), tile_bytes)), i64(mr))
    with loops.for_range(b, m0, m1, mc, name="i0") as i0:
        rows = imin(b, mc, b.sub(m1, i0))
        _pack_a(b, g, mr, A, rsa, csa, K, kg, ap, i0, rows)
        _tiles(b, module, g, mr, nv, ap, kg, rows, i0, bvecs, comp, C, ldc, N, p0, p1)
    b.ret_void()
    return fn


def _tiles(b, module, g, mr, nv, ap, kg, rows, row_base, bvecs, comp, C, ldc, N, p0, p1):
    """C rows [row_base, row_base + rows) x column panels [p0, p1) from the packed A block `ap`
    (tiles of mr rows) and packed B."""
    lanes = ir.Constant(V16, list(range(VW)))
    ntiles = b.sdiv(b.add(rows, i64(mr - 1)), i64(mr))
    with loops.for_range(b, p0, p1, nv, name="pc") as pc:
        with loops.for_range(b, 0, ntiles, name="t") as t:
            tile_rows = imin(b, i64(mr), b.sub(rows, b.mul(t, i64(mr))))
            atile = b.gep(ap, [b.mul(t, b.mul(kg, i64(mr)))])
            row0 = b.add(row_base, b.mul(t, i64(mr)))
            # Branch-free stores: lanes past N and rows past the tile are masked off.
            none = ir.Constant(ir.VectorType(I1, VW), [0] * VW)
            cols, masks, comps = [], [], []
            for v in range(nv):
                col = b.mul(b.add(pc, i64(v)), i64(VW))
                left = imin(b, loops.imax(b, b.sub(N, col), i64(0)), i64(VW))
                cols.append(col)
                masks.append(b.icmp_signed("<", lanes, _splat(b, b.trunc(left, I32))))
                if g == 4:
                    comps.append(b.load(b.bitcast(b.gep(comp, [col]), V16.as_pointer()), align=4))

            def tile(count):
                acc = _micro_kernel(b, module, g, count, nv, atile, bvecs, pc, kg, mr)
                for r in range(count):
                    crow = b.gep(C, [b.mul(b.add(row0, i64(r)), ldc)])
                    row_ok = b.icmp_signed("<", i64(r), tile_rows)
                    for v in range(nv):
                        value = b.sub(acc[r][v], comps[v]) if g == 4 else acc[r][v]
                        dst = b.bitcast(b.gep(crow, [cols[v]]), V16.as_pointer())
                        _masked_store(b, module, value, dst, b.select(row_ok, masks[v], none))

            # A one-row tile (a batch-1 product) does not compute mr - 1 padding rows.
            with b.if_else(b.icmp_signed("==", tile_rows, i64(1))) as (single, full):
                with single:
                    tile(1)
                with full:
                    tile(mr)


def declare_qgemm_packed(module: ir.Module, nv: int, g: int) -> ir.Function:
    """`void tfc_qgemm_packed(M, N, KG, i32* Ap, i8* Bp, i32* C, ldc, p0, p1)`: rows [0, M) of C
    from A already packed (ceil(M / mr) tiles of KG groups, as `_pack_a` lays them out)."""
    name = f"tfc_qgemm_packed_g{g}_nv{nv}"
    if name in module.globals:
        return module.globals[name]
    mr, _ = TILES[nv]
    i8p, i32p = I8.as_pointer(), I32.as_pointer()
    fn = _fn(module, name, [I64, I64, I64, i32p, i8p, i32p, I64, I64, I64], "M N KG Ap Bp C ldc p0 p1")
    M, N, kg, ap, Bp, C, ldc, p0, p1 = fn.args
    for arg in (ap, Bp, C):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    npan = b.mul(b.sdiv(b.add(b.sdiv(b.add(N, i64(VW - 1)), i64(VW)), i64(nv - 1)), i64(nv)), i64(nv))
    comp = b.bitcast(b.gep(Bp, [b.mul(b.mul(npan, kg), i64(64))]), i32p)
    _tiles(b, module, g, mr, nv, ap, kg, M, i64(0), b.bitcast(Bp, V16.as_pointer()), comp, C, ldc,
           N, p0, p1)
    b.ret_void()
    return fn


def _splat(b, x, vty=V16):
    """A vector of `vty` with every lane x."""
    v = b.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(I32, 0))
    zeros = ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count)
    return b.shuffle_vector(v, ir.Constant(vty, ir.Undefined), zeros)


def _masked_store(b, module, value, ptr, mask):
    """Store the lanes of `value` (<16 x i32> or <8 x i64>) where `mask` holds (the last,
    partial vector of a row)."""
    vty = value.type
    width = vty.element.width
    name = f"llvm.masked.store.v{vty.count}i{width}.p0"
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [vty, vty.as_pointer(), I32,
                                                                 ir.VectorType(I1, vty.count)]), name)
    b.call(fn, [value, ptr, ir.Constant(I32, width // 8), mask])


def _group_operands(b, mr, nv, atile, bvecs, pc, kg, q, stride):
    """Group q's nv packed B vectors (panels pc...) and the mr words of the A tile."""
    bv = [b.load(b.gep(bvecs, [b.add(b.mul(b.add(pc, i64(v)), kg), q)]), align=4) for v in range(nv)]
    arow = b.gep(atile, [b.mul(q, i64(stride))])
    return bv, [b.load(b.gep(arow, [i64(r)]), align=4) for r in range(mr)]


def _micro_kernel(b, module, g, mr, nv, atile, bvecs, pc, kg, stride):
    """The mr x nv accumulators after the whole K (phis of a loop over the groups); the A tile
    holds `stride` words per group."""
    def step(q, accs):
        bv, words = _group_operands(b, mr, nv, atile, bvecs, pc, kg, q, stride)
        return [_dot(b, module, g, accs[r * nv + v], words[r], bv[v]) for r in range(mr) for v in range(nv)]

    accs = carried_loop(b, kg, [ir.Constant(V16, [0] * VW)] * (mr * nv), step, "mk")
    return [accs[r * nv:(r + 1) * nv] for r in range(mr)]


def _pack_a(b, g, mr, A, rsa, csa, K, kg, ap, i0, rows):
    """ap[(t * kg + q) * mr + r] = the word of row i0 + t * mr + r, group q (int8 made
    unsigned when g = 4). Rows past `rows` (up to a multiple of mr) repeat the last row: their
    results are never stored. Words are written in order (rows innermost, unrolled), rows read
    in place, so the loop needs no scatter."""
    kfull = b.sdiv(K, i64(g))
    ntiles = b.sdiv(b.add(rows, i64(mr - 1)), i64(mr))
    last = b.sub(rows, i64(1))
    flip = ir.Constant(I32, 0x80808080)
    contiguous = b.icmp_signed("==", csa, i64(1))
    with loops.for_range(b, 0, ntiles, name="pt") as t:
        tile = b.gep(ap, [b.mul(t, b.mul(kg, i64(mr)))])
        srcs = []
        for r in range(mr):
            row = imin(b, b.add(b.mul(t, i64(mr)), i64(r)), last)
            srcs.append(b.gep(A, [b.mul(b.add(i0, row), rsa)]))
        with b.if_else(contiguous) as (contig, strided):
            with contig:
                with loops.for_range(b, 0, kfull, name="pq") as q:
                    if g == 4:
                        words = [b.load(b.gep(b.bitcast(src, I32.as_pointer()), [q]), align=1)
                                 for src in srcs]
                        _store_words(b, tile, q, mr, words, flip)
                    else:
                        _store_words(b, tile, q, mr, [_pair(b, src, q, i64(1)) for src in srcs])
            with strided:
                with loops.for_range(b, 0, kfull, name="ps") as q:
                    _store_words(b, tile, q, mr, [_word(b, g, src, q, csa, K) for src in srcs])
        with loops.for_range(b, kfull, kg, name="pk") as q:            # the partial group
            _store_words(b, tile, q, mr, [_word(b, g, src, q, csa, K) for src in srcs])


def _store_words(b, tile, q, mr, words, flip=None):
    """The mr words of group q as one vector store (which also keeps the loop vectorizer from
    turning the loop over q into scatters)."""
    vty = ir.VectorType(I32, mr)
    vec = ir.Constant(vty, ir.Undefined)
    for r, w in enumerate(words):
        vec = b.insert_element(vec, w, ir.Constant(I32, r))
    if flip is not None:
        vec = b.xor(vec, ir.Constant(vty, [flip.constant] * mr))
    dst = b.bitcast(b.gep(tile, [b.mul(q, i64(mr))]), vty.as_pointer())
    b.store(vec, dst, align=4)


def _widen(b, v, ty):
    return v if v.type == ty else b.sext(v, ty)


def _pair(b, src, q, csa):
    lo = b.load(b.gep(src, [b.mul(b.mul(q, i64(2)), csa)]))
    hi = b.load(b.gep(src, [b.mul(b.add(b.mul(q, i64(2)), i64(1)), csa)]))
    return b.or_(b.zext(_widen(b, lo, I16), I32),
                 b.shl(b.zext(_widen(b, hi, I16), I32), ir.Constant(I32, 16)))


def _word(b, g, src, q, csa, K):
    """The word of group q of a row (elements beyond K are 0)."""
    word = ir.Constant(I32, 0)
    width = 32 // g
    for e in range(g):
        k = b.add(b.mul(q, i64(g)), i64(e))
        ok = b.icmp_signed("<", k, K)
        v = b.load(b.gep(src, [b.mul(b.select(ok, k, i64(0)), csa)]))
        if g == 4:
            v = b.xor(v, ir.Constant(I8, 0x80))
            part = b.zext(v, I32)
        else:
            part = b.zext(_widen(b, v, I16), I32)
        part = b.select(ok, part, ir.Constant(I32, 0))
        word = b.or_(word, b.shl(part, ir.Constant(I32, width * e)) if e else part)
    return word


def a_scratch_bytes(k: int, nv: int, g: int, rows: int) -> int:
    """Bytes of one worker's packed A block for up to `rows` rows."""
    mr, _ = TILES[nv]
    kg = -(-k // g)
    tile = kg * 4 * mr
    mc = max(1, A_BLOCK_BYTES // tile) * mr
    mc = min(mc, -(-max(rows, 1) // mr) * mr)
    return max(mc * kg * 4, 4)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _constant_array(value: Value) -> np.ndarray | None:
    root = alias_root(value)
    owner = getattr(root, "op", None)
    if isinstance(owner, Operation) and owner.name == "core.constant":
        return np.asarray(owner.attributes["value"]).reshape(value.type.shape)
    return None


def _weight_pointer(k, array: np.ndarray) -> ir.Value:
    """An i8* to `array` (bytes) appended to the weights blob."""
    plan = k.compiler.plan
    offset = plan.weights_bytes
    plan.weights.append((offset, np.ascontiguousarray(array).view(np.uint8).reshape(-1)))
    plan.weights_bytes = _align(offset + array.nbytes)
    weights = k.compiler.entry.args[3]
    return k.builder.gep(weights, [i64(offset)])


def _packed_b(k, value: Value, K: int, N: int, rsb: int, csb: int, nv: int, g: int, transposed: bool):
    """A pointer to B packed (at compile time when B is a constant)."""
    const = _constant_array(value)
    if const is not None:
        mat = const.T if transposed else const.reshape(K, N)
        return _weight_pointer(k, pack_b_numpy(mat, nv, g))
    dst = k.scratch(packed_b_bytes(K, N, nv, g))
    src = I16 if value.type.dtype == dt.int16 else I8
    k.builder.call(declare_pack_b(k.module, nv, g, src),
                   [i64(K), i64(N), k.builder.bitcast(k.ptr(value), src.as_pointer()), i64(rsb), i64(csb), dst])
    return dst


def _check_dtypes(op: Operation) -> dt.DType:
    dtypes = {v.type.dtype for v in op.operands}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (dt.int8, dt.int16):
        raise CodegenError(f"{op.name}: operands must both be i8 or both i16, got "
                           f"{', '.join(v.type.dtype.name for v in op.operands)}")
    return next(iter(dtypes))


class _Gemm:
    """The integer GEMM for a dtype: int8 -> int32 (G = group_size()) or int16 -> int64 (G = 2);
    both functions take (M, N, K, A, rsa, csa, Bp, C, ldc, scratch, m0, m1, p0, p1)."""

    def __init__(self, module: ir.Module, dtype: dt.DType, n: int):
        self.wide = dtype == dt.int16
        self.elem = I16 if self.wide else I8
        self.g = 2 if self.wide else group_size()
        self.nv = choose_nv(n)
        self.mr = (TILES16 if self.wide else TILES)[self.nv][0]
        self.npan = panel_count(n, self.nv)
        self.fn = declare_qgemm16(module, self.nv) if self.wide else declare_qgemm(module, self.nv, self.g)

    def scratch_bytes(self, k: int, rows: int) -> int:
        if self.wide:
            return a16_scratch_bytes(k, self.nv, rows)
        return a_scratch_bytes(k, self.nv, self.g, rows)


def _zero_output(k, out: Value) -> None:
    """K = 0: every sum is empty."""
    nbytes = out.type.num_elements * out.type.dtype.numpy.itemsize
    _memset(k.builder, k.builder.bitcast(k.ptr(out), I8.as_pointer()), nbytes)


# ---------------------------------------------------------------------------------------------
# quant.matmul
# ---------------------------------------------------------------------------------------------
# A constant right operand (a weight) is read only through its packed copy (`_packed_b`,
# `_conv_rows`): the weights blob does not keep the original.
PACKS_CONSTANT["quant.matmul"] = PACKS_CONSTANT["quant.conv2d"] = lambda op, index: index == 1


@kernel("quant.matmul")
def emit_qmatmul(k, op: Operation) -> None:
    dtype = _check_dtypes(op)
    a, bv = op.operands
    out = op.results[0]
    ta, tb = op.attributes.get("transpose_a", False), op.attributes.get("transpose_b", False)
    M, N = out.type.shape
    K = a.type.shape[0] if ta else a.type.shape[1]
    if M * N == 0:
        return
    if K == 0:
        _zero_output(k, out)
        return
    rsa, csa = (1, M) if ta else (K, 1)
    rsb, csb = (1, K) if tb else (N, 1)
    b = k.builder
    gm = _Gemm(k.module, dtype, N)
    bp = _packed_b(k, bv, K, N, rsb, csb, gm.nv, gm.g, tb)
    threads = THREADS if M * N * K >= MIN_PARALLEL_MACS else 1
    by_rows = M >= 2 * gm.mr * threads or gm.npan < 2 * gm.nv
    workers = min(threads, M if by_rows else gm.npan // gm.nv)
    per = gm.scratch_bytes(K, -(-M // workers) if by_rows else M)
    work = k.scratch(per * workers)
    pa = b.bitcast(k.ptr(a), gm.elem.as_pointer())

    def worker(bb, tid, values):
        pa_, bp_, pc_, work_ = values
        own = bb.gep(work_, [bb.mul(tid, i64(per))])
        if by_rows:
            m0, m1 = split_range(bb, tid, M, workers)
            p0, p1 = i64(0), i64(gm.npan)
        else:
            t0, t1 = split_range(bb, tid, gm.npan // gm.nv, workers)
            m0, m1 = i64(0), i64(M)
            p0, p1 = bb.mul(t0, i64(gm.nv)), bb.mul(t1, i64(gm.nv))
        bb.call(gm.fn, [i64(M), i64(N), i64(K), pa_, i64(rsa), i64(csa), bp_, pc_, i64(N), own,
                        m0, m1, p0, p1])

    run_workers(b, workers, [pa, bp, k.ptr(out), work], worker, "qmatmul")


# ---------------------------------------------------------------------------------------------
# quant.conv2d
# ---------------------------------------------------------------------------------------------
@kernel("quant.conv2d")
def emit_qconv2d(k, op: Operation) -> None:
    dtype = _check_dtypes(op)
    x, f = op.operands
    out = op.results[0]
    if out.type.num_elements == 0:
        return
    if op.attributes.get("data_format", "NHWC") != "NHWC":
        raise CodegenError(f"{op.name}: only NHWC")
    win = _conv_window(op)
    b = k.builder
    C, O = f.type.shape[2], f.type.shape[3]
    N, P = win.n, win.oh * win.ow
    K = win.kh * win.kw * C
    if K == 0:
        _zero_output(k, out)
        return
    gm = _Gemm(k.module, dtype, O)
    fconst = _constant_array(f)
    if (fconst is not None and not gm.wide and win.dw == 1 and not (win.kh == win.kw == 1)
            and win.kw * C <= ROWS_MAX_BYTES):
        _conv_rows(k, op, win, gm.g, gm.nv, fconst)
        return
    px, po = b.bitcast(k.ptr(x), gm.elem.as_pointer()), k.ptr(out)
    bp = _packed_b(k, f, K, O, O, 1, gm.nv, gm.g, False)
    macs = N * P * K * O
    parallel = macs >= MIN_PARALLEL_MACS and THREADS > 1
    pointwise = (win.kh == win.kw == 1 and win.sh == win.sw == 1 and win.pt == win.pl == 0
                 and win.oh == win.h and win.ow == win.w)
    if pointwise:
        M = N * P
        workers = min(THREADS, M) if parallel else 1
        per = gm.scratch_bytes(K, -(-M // workers))
        work = k.scratch(per * workers)

        def rows(bb, tid, values):
            px_, bp_, po_, work_ = values
            m0, m1 = split_range(bb, tid, M, workers)
            bb.call(gm.fn, [i64(M), i64(O), i64(K), px_, i64(K), i64(1), bp_, po_, i64(O),
                            bb.gep(work_, [bb.mul(tid, i64(per))]), m0, m1, i64(0), i64(gm.npan)])

        run_workers(b, workers, [px, bp, po, work], rows, "qconv_1x1")
        return
    # Work items: (image, chunk of R of its pixels); each worker's scratch holds its im2col
    # chunk and its packed A block.
    size = gm.elem.width // 8
    R, per_image, items, workers = pixel_chunks(N, P, (IM2COL_BUDGET * 4 // size) // K, parallel)
    col_bytes = _align(R * K * size)
    per = col_bytes + _align(gm.scratch_bytes(K, R))
    work = k.scratch(per * workers)

    def worker(bb, tid, values):
        px_, po_, bp_, work_ = values
        base = bb.gep(work_, [bb.mul(tid, i64(per))])
        col = bb.bitcast(base, gm.elem.as_pointer())
        gs = bb.gep(base, [i64(col_bytes)])
        lo, hi = split_range(bb, tid, items, workers)
        with loops.for_range(bb, lo, hi, name="item") as item:
            n, p0, p1, count = chunk_of(bb, item, per_image, R, P)
            _im2col(bb, win, px_, dtype, col, n, p0, p1, C, K)
            dst = bb.gep(po_, [bb.mul(bb.add(bb.mul(n, i64(P)), p0), i64(O))])
            bb.call(gm.fn, [count, i64(O), i64(K), col, i64(K), i64(1), bp_, dst, i64(O), gs,
                            i64(0), count, i64(0), i64(gm.npan)])

    run_workers(b, workers, [px, po, bp, work], worker, "qconv2d")


def _conv_rows(k, op: Operation, win: Window, g: int, nv: int, filt: np.ndarray) -> None:
    """int8 conv with a constant filter, without im2col: the input (each image zero padded
    into the worker's scratch when the windows reach outside it) is packed straight into the
    GEMM's A layout. Each window
    row is kw * C contiguous bytes; K is laid out row by row, each row padded to `seg` (a
    multiple of G) with zero filter rows, so every word of A is one unaligned load from the
    input (the bytes past a row's end meet zero weights)."""
    x = op.operands[0]
    out = op.results[0]
    b = k.builder
    C, O = filt.shape[2], filt.shape[3]
    kh, kw = win.kh, win.kw
    row = kw * C
    seg = -(-row // g) * g
    wpr = seg // g
    kg = kh * wpr
    fk = np.zeros((kh, seg, O), np.int64)
    fk[:, :row, :] = filt.reshape(kh, row, O)
    bp = _weight_pointer(k, pack_b_numpy(fk.reshape(kh * seg, O), nv, g))
    mr, _ = TILES[nv]
    N, P = win.n, win.oh * win.ow
    # The input as the windows read it: (hp, wp) pixels per image, padding zeros included.
    hp = (win.oh - 1) * win.sh + (kh - 1) * win.dh + 1
    wp = (win.ow - 1) * win.sw + kw
    inside = (win.pt == 0 and win.pl == 0 and hp <= win.h and wp <= win.w and seg == row)
    px = b.bitcast(k.ptr(x), I8.as_pointer())
    in_bytes = win.h * win.w * C
    if inside:
        img_bytes, row_bytes, pad_bytes = in_bytes, win.w * C, 0
    else:
        img_bytes, row_bytes = hp * wp * C, wp * C
        pad_bytes = _align(img_bytes + g)               # + g: a last word may read past the end
    y_hi = min(win.h, hp - win.pt)                      # input rows/columns inside [0, hp) x [0, wp)
    ncopy = max(0, min(win.w, wp - win.pl)) * C

    def pad_image(bb, pad, px_, n):
        """Image n into the worker's padded copy (its zero border was set once)."""
        if y_hi <= 0 or not ncopy:
            return
        with loops.for_range(bb, 0, y_hi, name="py") as y:
            s_at = bb.add(bb.mul(n, i64(in_bytes)), bb.mul(y, i64(win.w * C)))
            d_at = bb.add(bb.mul(bb.add(y, i64(win.pt)), i64(row_bytes)), i64(win.pl * C))
            _memcpy(bb, bb.gep(pad, [d_at]), bb.gep(px_, [s_at]), ncopy)
    # Work items: (image, chunk of R pixels), R rows of packed A within A_BLOCK_BYTES.
    macs = N * P * kg * g * O
    parallel = macs >= MIN_PARALLEL_MACS and THREADS > 1
    R, per_image, items, workers = pixel_chunks(N, P, max(mr, A_BLOCK_BYTES // (kg * 4) // mr * mr),
                                                parallel, mr)
    a_bytes = _align(R * kg * 4)
    per = a_bytes + pad_bytes
    work = k.scratch(per * workers)
    gemm = declare_qgemm_packed(k.module, nv, g)
    npan = panel_count(O, nv)
    flip = ir.Constant(I32, 0x80808080)

    def worker(bb, tid, values):
        px_, po_, bp_, work_ = values
        own = bb.gep(work_, [bb.mul(tid, i64(per))])
        ap = bb.bitcast(own, I32.as_pointer())
        pad = bb.gep(own, [i64(a_bytes)])
        if not inside:
            _memset(bb, pad, pad_bytes)
        lo, hi = split_range(bb, tid, items, workers)
        with loops.for_range(bb, lo, hi, name="item") as item:
            n, p0, _, count = chunk_of(bb, item, per_image, R, P)
            if inside:
                image = bb.gep(px_, [bb.mul(n, i64(in_bytes))])
            else:
                first = bb.or_(bb.icmp_signed("==", item, lo), bb.icmp_signed("==", p0, i64(0)))
                with bb.if_then(first):
                    pad_image(bb, pad, px_, n)
                image = pad
            ntiles = bb.sdiv(bb.add(count, i64(mr - 1)), i64(mr))
            with loops.for_range(bb, 0, ntiles, name="tile") as t:
                tile = bb.gep(ap, [bb.mul(t, i64(kg * mr))])
                bases = []
                for r in range(mr):
                    p = bb.add(p0, imin(bb, bb.add(bb.mul(t, i64(mr)), i64(r)), bb.sub(count, i64(1))))
                    oy, ox = bb.udiv(p, i64(win.ow)), bb.urem(p, i64(win.ow))
                    at = bb.add(bb.mul(oy, i64(win.sh * row_bytes)), bb.mul(ox, i64(win.sw * C)))
                    bases.append(bb.gep(image, [at]))
                with loops.for_range(bb, 0, kh, name="ky") as ky:
                    off = bb.mul(ky, i64(win.dh * row_bytes))
                    srcs = [bb.gep(base, [off]) for base in bases]
                    with loops.for_range(bb, 0, wpr, name="w") as w:
                        q = bb.add(bb.mul(ky, i64(wpr)), w)
                        if g == 4:
                            words = [bb.load(bb.bitcast(bb.gep(s_, [bb.mul(w, i64(4))]), I32.as_pointer()),
                                             align=1) for s_ in srcs]
                            _store_words(bb, tile, q, mr, words, flip)
                        else:
                            _store_words(bb, tile, q, mr, [_pair(bb, s_, w, i64(1)) for s_ in srcs])
            dst = bb.gep(po_, [bb.mul(bb.add(bb.mul(n, i64(P)), p0), i64(O))])
            bb.call(gemm, [count, i64(O), i64(kg), ap, bp_, dst, i64(O), i64(0), i64(npan)])

    run_workers(b, workers, [px, k.ptr(out), bp, work], worker, "qconv2d_rows")


def _memset(b, dst, nbytes: int) -> None:
    i8p = I8.as_pointer()
    name = "llvm.memset.p0i8.i64"
    fn = b.module.globals.get(name)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ir.VoidType(), [i8p, I8, I64, I1]), name)
    b.call(fn, [dst, ir.Constant(I8, 0), i64(nbytes), ir.Constant(I1, 0)])


# ---------------------------------------------------------------------------------------------
# int16 x int16 -> int64
# ---------------------------------------------------------------------------------------------
#: (micro-tile rows, vectors) of the int16 GEMM: two <8 x i64> accumulators per vector.
TILES16 = {1: (8, 1), 2: (4, 2), 3: (3, 3), 4: (2, 4)}
V8 = ir.VectorType(I64, 8)


def a16_scratch_bytes(k: int, nv: int, rows: int) -> int:
    mr, _ = TILES16[nv]
    kg = -(-k // 2)
    mc = max(1, A_BLOCK_BYTES // (kg * 4 * mr)) * mr
    mc = min(mc, -(-max(rows, 1) // mr) * mr)
    return max(mc * kg * 4, 4)


def declare_qgemm16(module: ir.Module, nv: int) -> ir.Function:
    """`void tfc_qgemm16(M, N, K, i16* A, rsa, csa, i8* Bp, i64* C, ldc, i8* scratch, m0, m1, p0, p1)`:
    as `declare_qgemm` for int16 operands and exact int64 sums. B and A are packed as i16
    pairs (G = 2). A pair sum p = a0*b0 + a1*b1 lies in [-(2^31 - 2^16), 2^31], so
    u = p + 2^31 - 1 fits in 32 unsigned bits: `vpdpwssd` into 0x7fffffff gives u (modulo 2^32,
    exactly u). Viewed as 8 x i64, the even columns' u is the low half of each lane (and) and
    the odd ones' the high half (shift): two in-lane ops widen 16 sums, accumulated in int64;
    the tile store subtracts groups * (2^31 - 1) and interleaves even and odd columns.
    `scratch` holds `a16_scratch_bytes(K, nv, rows)`."""
    name = f"tfc_qgemm16_nv{nv}"
    if name in module.globals:
        return module.globals[name]
    mr, _ = TILES16[nv]
    i8p, i16p, i32p = I8.as_pointer(), I16.as_pointer(), I32.as_pointer()
    fn = _fn(module, name, [I64, I64, I64, i16p, I64, I64, i8p, I64.as_pointer(), I64, i8p, I64,
                            I64, I64, I64], "M N K A rsa csa Bp C ldc scratch m0 m1 p0 p1")
    M, N, K, A, rsa, csa, Bp, C, ldc, scratch, m0, m1, p0, p1 = fn.args
    for arg in (A, Bp, C, scratch):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    kg = b.sdiv(b.add(K, i64(1)), i64(2))
    bvecs = b.bitcast(Bp, V16.as_pointer())
    ap = b.bitcast(scratch, i32p)
    mc = b.mul(loops.imax(b, i64(1), b.sdiv(i64(A_BLOCK_BYTES), b.mul(kg, i64(4 * mr)))), i64(mr))
    lanes = ir.Constant(V8, list(range(8)))
    none = ir.Constant(ir.VectorType(I1, 8), [0] * 8)
    with loops.for_range(b, m0, m1, mc, name="i0") as i0:
        rows = imin(b, mc, b.sub(m1, i0))
        _pack_a(b, 2, mr, A, rsa, csa, K, kg, ap, i0, rows)
        ntiles = b.sdiv(b.add(rows, i64(mr - 1)), i64(mr))
        with loops.for_range(b, p0, p1, nv, name="pc") as pc:
            with loops.for_range(b, 0, ntiles, name="t") as t:
                tile_rows = imin(b, i64(mr), b.sub(rows, b.mul(t, i64(mr))))
                atile = b.gep(ap, [b.mul(t, b.mul(kg, i64(mr)))])
                acc = _micro_kernel16(b, mr, nv, atile, bvecs, pc, kg)
                row0 = b.add(i0, b.mul(t, i64(mr)))
                bias = _splat(b, b.mul(kg, i64(2 ** 31 - 1)), V8)
                cols, masks = [], []
                for v in range(nv):
                    for half in range(2):
                        col = b.add(b.mul(b.add(pc, i64(v)), i64(VW)), i64(8 * half))
                        left = imin(b, loops.imax(b, b.sub(N, col), i64(0)), i64(8))
                        cols.append(col)
                        masks.append(b.icmp_signed("<", lanes, _splat(b, left, V8)))
                i32x8 = ir.VectorType(I32, 8)
                first = ir.Constant(i32x8, [0, 8, 1, 9, 2, 10, 3, 11])
                second = ir.Constant(i32x8, [4, 12, 5, 13, 6, 14, 7, 15])
                for r in range(mr):
                    crow = b.gep(C, [b.mul(b.add(row0, i64(r)), ldc)])
                    row_ok = b.icmp_signed("<", i64(r), tile_rows)
                    for v in range(nv):
                        even, odd = b.sub(acc[r][2 * v], bias), b.sub(acc[r][2 * v + 1], bias)
                        for h, order in enumerate((first, second)):
                            value = b.shuffle_vector(even, odd, order)
                            dst = b.bitcast(b.gep(crow, [cols[2 * v + h]]), V8.as_pointer())
                            _masked_store(b, module, value, dst, b.select(row_ok, masks[2 * v + h], none))
    b.ret_void()
    return fn


def _micro_kernel16(b, mr, nv, atile, bvecs, pc, kg):
    """mr x (2 nv) <8 x i64> accumulators (even, odd columns) of the biased pair sums u."""
    bias = ir.Constant(V16, [2 ** 31 - 1] * VW)
    low = ir.Constant(V8, [0xFFFFFFFF] * 8)
    shift = ir.Constant(V8, [32] * 8)
    h = 2 * nv

    def step(q, accs):
        bv, words = _group_operands(b, mr, nv, atile, bvecs, pc, kg, q, mr)
        new = []
        for r in range(mr):
            for v in range(nv):
                u = b.bitcast(_dot(b, b.module, 2, bias, words[r], bv[v]), V8)    # p + 2^31 - 1, mod 2^32
                new.append(b.add(accs[r * h + 2 * v], b.and_(u, low)))
                new.append(b.add(accs[r * h + 2 * v + 1], b.lshr(u, shift)))
        return new

    accs = carried_loop(b, kg, [ir.Constant(V8, [0] * 8)] * (mr * h), step, "mk16")
    return [accs[r * h:(r + 1) * h] for r in range(mr)]
