"""A float32 GEMM generator for the host CPU, in the Goto/BLIS shape.

Interface
---------
`declare_sgemm(module, relu=False)` emits (once per module and variant)

    void tfc_sgemm(i64 M, i64 N, i64 K, float* A, i64 rsa, i64 csa, float* B, i64 rsb, i64 csb,
                   float* C, i64 ldc, float* bias_or_null, float* scratch, i64 m0, i64 m1)

which computes rows [m0, m1) of C = A @ B, adds bias[j] to column j when `bias_or_null` is not
null, and then applies max(., 0) if the variant is `relu` (the function is then called
`tfc_sgemm_relu`; relu keeps NaN, like `tf.nn.relu`). A[i, k] is at A + i*rsa + k*csa and
B[k, j] at B + k*rsb + j*csb (strides in elements, so a transposed operand is just swapped
strides), and C[i, j] at C + i*ldc + j. C is only written (beta = 0). `scratch` must hold
`scratch_floats(M, N, K)` floats, any alignment, used by this call alone. K = 0 gives
C = bias (or 0), relu'd.

`declare_sgemm_parallel(module, relu=False)` emits `tfc_sgemm_parallel` (or
`tfc_sgemm_relu_parallel`) with the same arguments except that `m0, m1` are replaced by
`i64 threads`; `scratch` must hold `parallel_scratch_floats(M, N, K, threads)` floats. It splits
the work over up to `threads` threads with `tfc_parallel_for`, each calling `tfc_sgemm` with
its own slice of scratch, and uses fewer threads when there are fewer than
`MIN_FLOPS_PER_THREAD` flops per thread, which would not repay starting them. It splits rows
when N <= M and columns otherwise: every thread packs all of the operand it does not split,
so this duplicates the smaller packing work. A column slice is an offset B, C and bias with a
smaller N, so `tfc_sgemm` needs no column range.

Batched products (rank-3 `tf.matmul`) are a loop in the caller over the batch index, calling
`tfc_sgemm_parallel` with A, B and C offset by the batch strides: the threads then share each
product, which is right for the large products worth threads. A large batch of small products
is better parallelized over the batch: `parallel.emit_parallel_range` over the batch index
with one scratch slice of `scratch_floats(M, N, K)` per chunk, and `tfc_sgemm(..., 0, M)` per
product.

Algorithm
---------
The general path, for rows [m0, m1), is the Goto/BLIS loop nest:

    for jc in [0, N) step nc:                      B panel (kc x nc packed), in L3
      for pc in [0, K) step kc:
        pack B[pc:pc+kc, jc:jc+nc] -> Bp           slivers of kc x nr, zero-padded to nr
        for ic in [m0, m1) step mc:                A block (mc x kc packed), in L2
          pack A[ic:ic+mc, pc:pc+kc] -> Ap         slivers of mr x kc
          for jr in [0, nc) step nr:               one B sliver, reused across the ir loop
            for ir in [0, mc) step mr:
              micro-kernel: C[ir:ir+mr, jr:jr+nr] (+)= Ap sliver @ Bp sliver

The micro-kernel holds an mr x nr tile of C in mr * nv vector registers (nr = nv vectors of
`vector_width_f32()` floats); per k it loads nv vectors of packed B, broadcasts mr scalars of
packed A and issues mr * nv `llvm.fma.v16f32` (or v8f32...). There is one kernel for every row
count 1..mr and vector count 1..nv, called through a table, so edge tiles do not compute
padding rows or vectors; the column edge inside a vector uses masked loads and stores. A
kernel finishes its tile in the same pass: on the first K block the tile is stored with the
bias added, on later ones added to C, and after the last the relu is applied.

With at most `direct_rows` rows and a row-major B (csb = 1) packing would cost about as much
as the product, since each B sliver would feed a single kernel call. The direct path then
reads A and B in place, like a matrix-vector product, with tiles of up to `direct_rows` x
`direct_nv` vectors (wider than the packed ones, so that a tile reads direct_nv * 64
contiguous bytes of each row of B), the same epilogue, and a masked load for the last vector
of an edge tile. It takes K in one block, or in bands of `direct_kc` rows when B is too large
to stay in cache (see `_emit_direct_loops`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from llvmlite import ir

from . import target
from .loops import for_range, imax, imin
from .parallel import emit_parallel_range
from .types import I1, I32, I64, i64

F32 = ir.FloatType()
F32P = F32.as_pointer()
NULL = ir.Constant(F32P, None)

#: Below this many flops per thread, `tfc_sgemm_parallel` uses fewer threads: starting and
#: joining one costs about 20 us, a few MFLOP of single-thread GEMM.
MIN_FLOPS_PER_THREAD = 8_000_000

#: Alignment of the packed panels in scratch, in bytes (a cache line, a 512-bit vector).
ALIGN = 64
ALIGN_FLOATS = ALIGN // 4


@dataclasses.dataclass(frozen=True)
class GemmConfig:
    """Register tiles and cache blocking; see the module docstring for the roles."""

    vw: int  # floats per vector register
    mr: int  # micro-tile rows (broadcasts of A)
    nv: int  # micro-tile vectors per row: the micro-tile has nr = nv * vw columns
    mc: int  # rows of an A block, a multiple of mr
    kc: int  # depth of a block
    nc: int  # columns of a B panel, a multiple of nr
    direct_rows: int  # up to this many rows, a row-major B is not packed
    direct_nv: int  # vectors per row of a direct-path tile
    direct_kc: int  # rows per band of B on the direct path, when B has more than
    direct_band_floats: int  # this many floats (else K is one band)

    def __post_init__(self):
        if self.mc % self.mr or self.nc % self.nr:
            raise ValueError(f"mc must be a multiple of mr and nc of nr: {self}")

    @property
    def nr(self) -> int:
        return self.nv * self.vw

    @property
    def suffix(self) -> str:
        """Distinguishes the functions of a non-default configuration in one module."""
        if self == default_config():
            return ""
        return "_cfg_" + "_".join(str(value) for value in dataclasses.astuple(self))


@functools.cache
def default_config() -> GemmConfig:
    """The configuration for this CPU, measured on Zen 4 (32 KB L1d, 1 MB L2 per core).

    With 32 vector registers (AVX-512) the tile is 6 x 4 vectors: 24 accumulators, 4 B vectors
    and a broadcast. It needs fewer loads per FMA (10 per 24) than the squarer 12 x 2 vectors
    (14 per 24), measured 5-10% faster. Its B sliver (kc x 64 floats, 96 KB) does not fit L1
    but is read from L2 at under 16 bytes a cycle, which L2 sustains, as it does the A block
    (mc x kc, 216 KB); a B panel (kc x nc, 6 MB) stays in the shared L3. Neighbouring mc, kc and
    nc are within noise; kc below 256 loses to the extra passes over C. With 16 vector
    registers (AVX2, SSE) the tile is 6 x 2 vectors. Direct-path tiles are 4 x 6 vectors
    (2 x 6 with 16 registers). A B of over 8 MB (a quarter of L3) is read in bands of 16
    rows: 8 to 16 measured best, 32 much slower (the rows of a band compete for L1 sets when
    rsb is a power of two); a B of 4 MB is faster in one band.
    """
    vw = target.vector_width_f32()
    if vw == 16:
        return GemmConfig(vw=16, mr=6, nv=4, mc=144, kc=384, nc=4096,
                          direct_rows=4, direct_nv=6, direct_kc=16, direct_band_floats=1 << 21)
    return GemmConfig(vw=vw, mr=6, nv=2, mc=144, kc=384, nc=4096,
                      direct_rows=2, direct_nv=6, direct_kc=16, direct_band_floats=1 << 21)


def _round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


def scratch_floats(M: int, N: int, K: int, config: GemmConfig | None = None) -> int:
    """Floats of scratch one `tfc_sgemm` call on an M x N x K product needs: a packed B panel,
    a packed A block and slack for aligning them. Mirrored in IR by `_emit_scratch_floats`."""
    cfg = config or default_config()
    kc = min(K, cfg.kc)
    return (ALIGN_FLOATS + kc * min(_round_up(N, cfg.nr), cfg.nc)
            + kc * min(_round_up(M, cfg.mr), cfg.mc))


def parallel_scratch_floats(M: int, N: int, K: int, threads: int,
                            config: GemmConfig | None = None) -> int:
    """Floats of scratch `tfc_sgemm_parallel` needs with `threads` threads."""
    return max(threads, 1) * scratch_floats(M, N, K, config)


def _emit_round_up(b: ir.IRBuilder, x: ir.Value, multiple: int) -> ir.Value:
    return b.mul(b.sdiv(b.add(x, i64(multiple - 1)), i64(multiple)), i64(multiple))


def _emit_packed_b_floats(b: ir.IRBuilder, N: ir.Value, K: ir.Value, cfg: GemmConfig):
    return b.mul(imin(b, K, i64(cfg.kc)), imin(b, _emit_round_up(b, N, cfg.nr), i64(cfg.nc)))


def _emit_scratch_floats(b: ir.IRBuilder, M, N, K, cfg: GemmConfig) -> ir.Value:
    packed_a = b.mul(imin(b, K, i64(cfg.kc)), imin(b, _emit_round_up(b, M, cfg.mr), i64(cfg.mc)))
    return b.add(i64(ALIGN_FLOATS), b.add(_emit_packed_b_floats(b, N, K, cfg), packed_a))


def i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


def _at(b: ir.IRBuilder, ptr: ir.Value, *offsets: ir.Value) -> ir.Value:
    """ptr + sum(offsets), in elements."""
    for offset in offsets:
        ptr = b.gep(ptr, [offset])
    return ptr


def _ceil_div(b: ir.IRBuilder, x: ir.Value, d: int) -> ir.Value:
    return b.sdiv(b.add(x, i64(d - 1)), i64(d))


def _internal_function(module: ir.Module, fnty: ir.FunctionType, name: str,
                       arg_names: list[str]) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, fnty, name=name)
    fn.linkage = "internal"
    for arg, arg_name in zip(fn.args, arg_names):
        arg.name = arg_name
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


class _Vectors:
    """The vector type and intrinsics of the kernels, for vectors of `vw` floats."""

    def __init__(self, module: ir.Module, vw: int):
        self.vw = vw
        self.type = ir.VectorType(F32, vw)
        self.zero = ir.Constant(self.type, [0.0] * vw)
        self.lanes = ir.Constant(ir.VectorType(I32, vw), list(range(vw)))
        vty, mty, vp = self.type, ir.VectorType(I1, vw), self.type.as_pointer()
        self.fma = self._intrinsic(module, f"llvm.fma.v{vw}f32", ir.FunctionType(vty, [vty] * 3))
        # The LLVM 22 forms, without an alignment operand: x86 masked moves need none.
        self.masked_load = self._intrinsic(module, f"llvm.masked.load.v{vw}f32.p0",
                                           ir.FunctionType(vty, [vp, mty, vty]))
        self.masked_store = self._intrinsic(module, f"llvm.masked.store.v{vw}f32.p0",
                                            ir.FunctionType(ir.VoidType(), [vty, vp, mty]))

    @staticmethod
    def _intrinsic(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
        existing = module.globals.get(name)
        return existing if existing is not None else ir.Function(module, fnty, name=name)

    def splat(self, b: ir.IRBuilder, scalar: ir.Value) -> ir.Value:
        vty = ir.VectorType(scalar.type, self.vw)
        one = b.insert_element(ir.Constant(vty, ir.Undefined), scalar, i32(0))
        return b.shuffle_vector(one, ir.Constant(vty, ir.Undefined),
                                ir.Constant(ir.VectorType(I32, self.vw), [0] * self.vw))

    def ptr(self, b: ir.IRBuilder, float_ptr: ir.Value) -> ir.Value:
        return b.bitcast(float_ptr, self.type.as_pointer())

    def column_mask(self, b: ir.IRBuilder, v: int, nr: ir.Value) -> ir.Value:
        """Lanes of the v-th vector of a tile row that lie in its first nr columns (nr is at
        most a tile's width, so i32 lanes hold it)."""
        return b.icmp_signed("<", b.add(self.lanes, self.splat(b, i32(v * self.vw))),
                             self.splat(b, b.trunc(nr, I32)))

    def load(self, b: ir.IRBuilder, float_ptr: ir.Value, mask: ir.Value | None = None,
             align: int = 4) -> ir.Value:
        if mask is None:
            return b.load(self.ptr(b, float_ptr), align=align)
        return b.call(self.masked_load, [self.ptr(b, float_ptr), mask, self.zero])


def _emit_tile_product(b: ir.IRBuilder, vec: _Vectors, rows: int, vectors: int, kc: ir.Value,
                       load_a: Callable[[ir.Value, int], ir.Value],
                       load_b: Callable[[ir.Value, int], ir.Value]) -> list[ir.Value]:
    """Emit, at the start of a kernel, the sum over k < kc of the outer products of
    load_a(k, r) (a float, r < rows) and load_b(k, v) (a vector, v < vectors); returns the
    accumulator slots, row-major. They are memory in the IR, promoted to registers by SROA."""
    acc = b.alloca(ir.ArrayType(vec.type, rows * vectors), name="acc")
    slots = [b.gep(acc, [i32(0), i32(i)]) for i in range(rows * vectors)]
    for slot in slots:
        b.store(vec.zero, slot)
    with for_range(b, 0, kc, name="k") as k:
        b_vecs = [load_b(k, v) for v in range(vectors)]
        for r in range(rows):
            a_splat = vec.splat(b, load_a(k, r))
            for v in range(vectors):
                slot = slots[r * vectors + v]
                b.store(b.call(vec.fma, [a_splat, b_vecs[v], b.load(slot)]), slot)
    return slots


def _emit_tile_store(b: ir.IRBuilder, vec: _Vectors, slots: list[ir.Value], rows: int,
                     vectors: int, c: ir.Value, ldc: ir.Value, nr: ir.Value, bias: ir.Value,
                     first: ir.Value, last: ir.Value, relu: bool) -> None:
    """C tile = accumulators + (first ? bias or 0 : C tile), relu'd if `relu` and `last`.

    Branch-free: on the first K block the load of C is masked off entirely and yields its
    pass-through value, the bias, itself a load masked off when bias is null. The column masks
    keep every access within the tile's nr columns."""
    has_bias = b.and_(first, b.icmp_unsigned("!=", bias, NULL))
    # A masked-off load from an unmapped page (such as null) is correct but costs a microcode
    # assist, about a thousand cycles, so the bias load without a bias reads the tile.
    bias = b.select(has_bias, bias, c)
    for v in range(vectors):
        mask = vec.column_mask(b, v, nr)
        bias_v = b.call(vec.masked_load, [vec.ptr(b, _at(b, bias, i64(v * vec.vw))),
                                          b.and_(mask, vec.splat(b, has_bias)), vec.zero])
        c_mask = b.and_(mask, vec.splat(b, b.not_(first)))
        for r in range(rows):
            c_ptr = vec.ptr(b, _at(b, c, b.mul(i64(r), ldc), i64(v * vec.vw)))
            x = b.fadd(b.load(slots[r * vectors + v]),
                       b.call(vec.masked_load, [c_ptr, c_mask, bias_v]))
            if relu:
                # x < 0 ? 0 : x keeps NaN.
                negative = b.and_(b.fcmp_ordered("<", x, vec.zero), vec.splat(b, last))
                x = b.select(negative, vec.zero, x)
            b.call(vec.masked_store, [x, c_ptr, mask])


# void kernel(i64 kc, float* a, float* b, float* c, i64 ldc, i64 nr, float* bias, i1 first,
#             i1 last)
_PACKED_KERNEL = ir.FunctionType(ir.VoidType(), [I64, F32P, F32P, F32P, I64, I64, F32P, I1, I1])
# void kernel(i64 kc, float* a, i64 rsa, i64 csa, float* b, i64 rsb, float* c, i64 ldc, i64 nr,
#             float* bias, i1 first, i1 last)
_DIRECT_KERNEL = ir.FunctionType(ir.VoidType(),
                                 [I64, F32P, I64, I64, F32P, I64, F32P, I64, I64, F32P, I1, I1])


def _emit_packed_kernel(module: ir.Module, cfg: GemmConfig, vec: _Vectors, rows: int,
                        vectors: int, relu: bool, name: str) -> ir.Function:
    """The micro-kernel for a `rows` x `vectors`-vector tile of C whose first nr columns are
    real, on packed slivers: A (stride mr per k) and B (stride nr per k, 64-byte aligned).
    c is the tile's corner in C and bias the bias of its first column, or null."""
    fn, b = _internal_function(module, _PACKED_KERNEL, name,
                               ["kc", "a", "b", "c", "ldc", "nr", "bias", "first", "last"])
    kc, a, bp, c, ldc, nr, bias, first, last = fn.args
    slots = _emit_tile_product(
        b, vec, rows, vectors, kc,
        load_a=lambda k, r: b.load(_at(b, a, b.mul(k, i64(cfg.mr)), i64(r))),
        load_b=lambda k, v: vec.load(b, _at(b, bp, b.mul(k, i64(cfg.nr)), i64(v * cfg.vw)),
                                     align=ALIGN))
    _emit_tile_store(b, vec, slots, rows, vectors, c, ldc, nr, bias, first, last, relu)
    b.ret_void()
    return fn


def _emit_direct_kernel(module: ir.Module, cfg: GemmConfig, vec: _Vectors, rows: int,
                        vectors: int, relu: bool, name: str) -> ir.Function:
    """The direct-path kernel: like the packed one, on A and B in place; the last vector of B
    is loaded under the column mask, so the tile may end anywhere inside it."""
    fn, b = _internal_function(module, _DIRECT_KERNEL, name, ["kc", "a", "rsa", "csa", "b", "rsb",
                                                              "c", "ldc", "nr", "bias", "first",
                                                              "last"])
    kc, a, rsa, csa, bp, rsb, c, ldc, nr, bias, first, last = fn.args
    rows_a = [_at(b, a, b.mul(i64(r), rsa)) for r in range(rows)]
    # Masked-off lanes are not read, but when they fall in an unmapped page the load costs a
    # microcode assist; only the last row of B can end a mapping, so that is rare and cheap.
    last_mask = vec.column_mask(b, vectors - 1, nr)
    slots = _emit_tile_product(
        b, vec, rows, vectors, kc,
        load_a=lambda k, r: b.load(_at(b, rows_a[r], b.mul(k, csa))),
        load_b=lambda k, v: vec.load(b, _at(b, bp, b.mul(k, rsb), i64(v * cfg.vw)),
                                     last_mask if v == vectors - 1 else None))
    _emit_tile_store(b, vec, slots, rows, vectors, c, ldc, nr, bias, first, last, relu)
    b.ret_void()
    return fn


def _kernel_table(module: ir.Module, name: str, fnty: ir.FunctionType,
                  kernels: list[ir.Function]) -> ir.GlobalVariable:
    table_type = ir.ArrayType(fnty.as_pointer(), len(kernels))
    table = ir.GlobalVariable(module, table_type, name=name)
    table.linkage, table.global_constant = "internal", True
    table.initializer = ir.Constant(table_type, kernels)
    return table


def _emit_kernel_from(b: ir.IRBuilder, table: ir.GlobalVariable, rows: ir.Value,
                      vectors: ir.Value, max_vectors: int) -> ir.Value:
    """The kernel for `rows` x `vectors` from a table ordered by rows, then vectors."""
    index = b.add(b.mul(b.sub(rows, i64(1)), i64(max_vectors)), b.sub(vectors, i64(1)))
    return b.load(b.gep(table, [i64(0), index]))


_PACK_ARGS = ["kc", "n", "src", "row_stride", "col_stride", "dst"]
_PACK = ir.FunctionType(ir.VoidType(), [I64, I64, F32P, I64, I64, F32P])


def _emit_pack_a(module: ir.Module, cfg: GemmConfig, name: str) -> ir.Function:
    """void pack_a(i64 kc, i64 mc, float* a, i64 rsa, i64 csa, float* dst): the mc x kc block
    at a into slivers of mr rows, sliver s at dst + s*mr*kc with row r of column k at
    k*mr + r. Rows past mc in the last sliver are left unset: the kernel for that sliver's row
    count does not read them."""
    fn, b = _internal_function(module, _PACK, name, _PACK_ARGS)
    kc, mc, a, rsa, csa, dst = fn.args
    with for_range(b, 0, mc, cfg.mr, name="i") as i:
        src, out = _at(b, a, b.mul(i, rsa)), _at(b, dst, b.mul(i, kc))
        with for_range(b, 0, imin(b, i64(cfg.mr), b.sub(mc, i)), name="r") as r:
            row = _at(b, src, b.mul(r, rsa))
            # Along a row of A, so that the reads stream when A is row-major.
            with for_range(b, 0, kc, name="k") as k:
                value = b.load(_at(b, row, b.mul(k, csa)))
                b.store(value, _at(b, out, b.mul(k, i64(cfg.mr)), r))
    b.ret_void()
    return fn


def _emit_pack_b(module: ir.Module, cfg: GemmConfig, vec: _Vectors, name: str) -> ir.Function:
    """void pack_b(i64 kc, i64 nc, float* b, i64 rsb, i64 csb, float* dst): the kc x nc panel
    at b into slivers of nr columns, sliver s at dst + s*nr*kc with column c of row k at
    k*nr + c, and columns past nc zero: the kernel multiplies whole vectors, and garbage there
    could be denormals that slow the FMAs down."""
    fn, b = _internal_function(module, _PACK, name, _PACK_ARGS)
    kc, nc, src_b, rsb, csb, dst = fn.args
    with for_range(b, 0, nc, cfg.nr, name="j") as j:
        src, out = _at(b, src_b, b.mul(j, csb)), _at(b, dst, b.mul(j, kc))
        cols = imin(b, i64(cfg.nr), b.sub(nc, j))
        contiguous = b.and_(b.icmp_signed("==", csb, i64(1)),
                            b.icmp_signed("==", cols, i64(cfg.nr)))
        with b.if_else(contiguous) as (whole_rows, general):
            with whole_rows:
                # The common row-major case: each row of the sliver is nv vector copies.
                with for_range(b, 0, kc, name="k") as k:
                    row, out_row = _at(b, src, b.mul(k, rsb)), _at(b, out, b.mul(k, i64(cfg.nr)))
                    for v in range(cfg.nv):
                        value = vec.load(b, _at(b, row, i64(v * cfg.vw)))
                        b.store(value, vec.ptr(b, _at(b, out_row, i64(v * cfg.vw))), align=ALIGN)
            with general:
                with for_range(b, 0, kc, name="k") as k:
                    row, out_row = _at(b, src, b.mul(k, rsb)), _at(b, out, b.mul(k, i64(cfg.nr)))
                    with for_range(b, 0, cols, name="c") as col:
                        b.store(b.load(_at(b, row, b.mul(col, csb))), _at(b, out_row, col))
                    with for_range(b, cols, cfg.nr, name="pad") as col:
                        b.store(ir.Constant(F32, 0.0), _at(b, out_row, col))
    b.ret_void()
    return fn


SGEMM_ARGS = ["M", "N", "K", "A", "rsa", "csa", "B", "rsb", "csb", "C", "ldc", "bias",
              "scratch"]
_SGEMM_TYPES = [I64, I64, I64, F32P, I64, I64, F32P, I64, I64, F32P, I64, F32P, F32P]


def _name(relu: bool, cfg: GemmConfig, parallel: bool = False) -> str:
    return f"tfc_sgemm{'_relu' if relu else ''}{'_parallel' if parallel else ''}{cfg.suffix}"


def declare_sgemm(module: ir.Module, relu: bool = False,
                  config: GemmConfig | None = None) -> ir.Function:
    """The module's `tfc_sgemm` (or `tfc_sgemm_relu`), emitted on first use; see the module
    docstring for its contract. `config` other than the default is for tests and tuning."""
    cfg = config or default_config()
    name = _name(relu, cfg)
    if name in module.globals:
        return module.globals[name]
    vec = _Vectors(module, cfg.vw)
    packed_kernels = _kernel_table(module, f"{name}.packed_kernels", _PACKED_KERNEL, [
        _emit_packed_kernel(module, cfg, vec, rows, vectors, relu,
                            f"{name}.packed_{rows}x{vectors * cfg.vw}")
        for rows in range(1, cfg.mr + 1) for vectors in range(1, cfg.nv + 1)])
    direct_kernels = _kernel_table(module, f"{name}.direct_kernels", _DIRECT_KERNEL, [
        _emit_direct_kernel(module, cfg, vec, rows, vectors, relu,
                            f"{name}.direct_{rows}x{vectors * cfg.vw}")
        for rows in range(1, cfg.direct_rows + 1) for vectors in range(1, cfg.direct_nv + 1)])
    pack_a = _emit_pack_a(module, cfg, f"{name}.pack_a")
    pack_b = _emit_pack_b(module, cfg, vec, f"{name}.pack_b")

    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), _SGEMM_TYPES + [I64, I64]),
                     name=name)
    for arg, arg_name in zip(fn.args, SGEMM_ARGS + ["m0", "m1"]):
        arg.name = arg_name
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, bias, scratch, m0, m1 = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    work, done = fn.append_basic_block("work"), fn.append_basic_block("done")
    b.cbranch(b.and_(b.icmp_signed("<", m0, m1), b.icmp_signed(">", N, i64(0))), work, done)
    b.position_at_end(done)
    b.ret_void()

    b.position_at_end(work)
    A, C, rows = _at(b, A, b.mul(m0, rsa)), _at(b, C, b.mul(m0, ldc)), b.sub(m1, m0)
    direct = b.and_(b.icmp_signed("==", csb, i64(1)),
                    b.icmp_signed("<=", rows, i64(cfg.direct_rows)))
    with b.if_else(direct) as (direct_path, packed_path):
        with direct_path:
            _emit_direct_loops(b, cfg, direct_kernels, rows, N, K, A, rsa, csa, B, rsb, C, ldc,
                               bias)
        with packed_path:
            address = b.ptrtoint(scratch, I64)
            aligned = b.and_(b.add(address, i64(ALIGN - 1)), i64(-ALIGN))
            packed_b = b.inttoptr(aligned, F32P)
            packed_a = _at(b, packed_b, _emit_packed_b_floats(b, N, K, cfg))
            _emit_packed_loops(b, cfg, packed_kernels, pack_a, pack_b, rows, N, K, A, rsa, csa,
                               B, rsb, csb, C, ldc, bias, packed_a, packed_b)
    b.ret_void()
    return fn


def _emit_direct_loops(b: ir.IRBuilder, cfg: GemmConfig, kernels, M, N, K, A, rsa, csa, B,
                       rsb, C, ldc, bias) -> None:
    """The direct path (module docstring) over all M <= direct_rows rows of A and C.

    A large B comes from memory rather than cache, and a tile walking down all K rows of it
    (a few cache lines per row, rows rsb apart) defeats the hardware prefetchers, which follow
    sequential lines: measured 4x slower for a 16 MB B. So B is then taken in bands of
    direct_kc rows, across which the tiles read every row sequentially; a B that can stay in
    cache is one band, which passes over C once."""
    has_bias = b.icmp_unsigned("!=", bias, NULL)
    streamed = b.icmp_signed(">", b.mul(K, N), i64(cfg.direct_band_floats))
    band = b.select(streamed, i64(cfg.direct_kc), imax(b, K, i64(1)))
    width = cfg.direct_nv * cfg.vw
    # At least one band, so that K = 0 still stores bias (or 0) and relu.
    with for_range(b, 0, imax(b, K, i64(1)), band, name="pc") as pc:
        kc = imin(b, band, b.sub(K, pc))
        first = b.icmp_signed("==", pc, i64(0))
        last = b.icmp_signed(">=", b.add(pc, kc), K)
        with for_range(b, 0, N, width, name="j") as j:
            nr = imin(b, i64(width), b.sub(N, j))
            kernel = _emit_kernel_from(b, kernels, M, _ceil_div(b, nr, cfg.vw), cfg.direct_nv)
            b.call(kernel, [kc, _at(b, A, b.mul(pc, csa)), rsa, csa, _at(b, B, b.mul(pc, rsb), j),
                            rsb, _at(b, C, j), ldc, nr, b.select(has_bias, _at(b, bias, j), NULL),
                            first, last])


def _emit_packed_loops(b: ir.IRBuilder, cfg: GemmConfig, kernels, pack_a, pack_b, M, N, K,
                       A, rsa, csa, B, rsb, csb, C, ldc, bias, packed_a, packed_b) -> None:
    """The general path's loop nest (module docstring) over all M rows of A and C."""
    has_bias = b.icmp_unsigned("!=", bias, NULL)
    with for_range(b, 0, N, cfg.nc, name="jc") as jc:
        nc = imin(b, i64(cfg.nc), b.sub(N, jc))
        # At least one K block, so that K = 0 still stores bias (or 0) and relu.
        with for_range(b, 0, imax(b, K, i64(1)), cfg.kc, name="pc") as pc:
            kc = imin(b, i64(cfg.kc), b.sub(K, pc))
            first = b.icmp_signed("==", pc, i64(0))
            last = b.icmp_signed(">=", b.add(pc, kc), K)
            b.call(pack_b, [kc, nc, _at(b, B, b.mul(pc, rsb), b.mul(jc, csb)), rsb, csb,
                            packed_b])
            with for_range(b, 0, M, cfg.mc, name="ic") as ic:
                mc = imin(b, i64(cfg.mc), b.sub(M, ic))
                b.call(pack_a, [kc, mc, _at(b, A, b.mul(ic, rsa), b.mul(pc, csa)), rsa, csa,
                                packed_a])
                with for_range(b, 0, nc, cfg.nr, name="jr") as jr:
                    nr = imin(b, i64(cfg.nr), b.sub(nc, jr))
                    vectors = _ceil_div(b, nr, cfg.vw)
                    column = b.add(jc, jr)
                    tile_bias = b.select(has_bias, _at(b, bias, column), NULL)
                    b_sliver = _at(b, packed_b, b.mul(jr, kc))
                    with for_range(b, 0, mc, cfg.mr, name="ir") as ir_:
                        mr = imin(b, i64(cfg.mr), b.sub(mc, ir_))
                        kernel = _emit_kernel_from(b, kernels, mr, vectors, cfg.nv)
                        c_tile = _at(b, C, b.mul(b.add(ic, ir_), ldc), column)
                        b.call(kernel, [kc, _at(b, packed_a, b.mul(ir_, kc)), b_sliver, c_tile,
                                        ldc, nr, tile_bias, first, last])


def declare_sgemm_parallel(module: ir.Module, relu: bool = False,
                           config: GemmConfig | None = None) -> ir.Function:
    """The module's `tfc_sgemm_parallel` (or `tfc_sgemm_relu_parallel`), emitted on first
    use; see the module docstring for its contract."""
    cfg = config or default_config()
    name = _name(relu, cfg, parallel=True)
    if name in module.globals:
        return module.globals[name]
    sgemm = declare_sgemm(module, relu, cfg)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), _SGEMM_TYPES + [I64]), name=name)
    for arg, arg_name in zip(fn.args, SGEMM_ARGS + ["threads"]):
        arg.name = arg_name
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, bias, scratch, threads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    # Work is split in whole tiles, rows of mr or columns of nr, so only the last tile of the
    # product can be partial.
    split_rows = b.icmp_signed("<=", N, M)
    tiles = b.select(split_rows, _ceil_div(b, M, cfg.mr), _ceil_div(b, N, cfg.nr))
    flops = b.mul(b.mul(b.mul(M, N), imax(b, K, i64(1))), i64(2))
    workers = imin(b, imin(b, threads, tiles), b.sdiv(flops, i64(MIN_FLOPS_PER_THREAD)))
    workers = imax(b, workers, i64(1))
    per_worker = _emit_scratch_floats(b, M, N, K, cfg)

    def emit_worker(b, start, end, values):
        (M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, bias, scratch,
         split_rows, tiles, workers, per_worker) = values
        # One iteration per worker, so `start` is the worker's index.
        first_tile = b.sdiv(b.mul(start, tiles), workers)
        end_tile = b.sdiv(b.mul(end, tiles), workers)
        own_scratch = _at(b, scratch, b.mul(start, per_worker))
        with b.if_else(split_rows) as (by_rows, by_columns):
            with by_rows:
                m0 = b.mul(first_tile, i64(cfg.mr))
                m1 = imin(b, b.mul(end_tile, i64(cfg.mr)), M)
                b.call(sgemm, [M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, bias, own_scratch,
                               m0, m1])
            with by_columns:
                n0 = b.mul(first_tile, i64(cfg.nr))
                n1 = imin(b, b.mul(end_tile, i64(cfg.nr)), N)
                own_bias = b.select(b.icmp_unsigned("!=", bias, NULL), _at(b, bias, n0), NULL)
                b.call(sgemm, [M, b.sub(n1, n0), K, A, rsa, csa, _at(b, B, b.mul(n0, csb)),
                               rsb, csb, _at(b, C, n0), ldc, own_bias, own_scratch, i64(0), M])

    emit_parallel_range(b, workers, workers,
                        [M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, bias, scratch,
                         split_rows, tiles, workers, per_worker],
                        emit_worker, name=f"{name}.worker")
    b.ret_void()
    return fn
