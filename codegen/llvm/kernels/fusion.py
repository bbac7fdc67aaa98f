"""The kernel of core.fusion: a fused group (see passes/fuse.py) emitted as one kernel.

The region's values need no buffers of their own: a `RegionContext` resolves the region's
block arguments to the fusion op's operands and the yielded values to its results, so the
group's ops read the group's inputs and write its output directly (the buffer plan never sees
the values inside a region).

  - "elementwise": `elementwise.emit_fused` evaluates the region's ops as one scalar
    expression per element, in one loop nest over the output; large loops are split across
    threads (chunks of the outermost loop dimension, each running the same loop nest).
  - "reduction": the elementwise ops compute the reduction's input element by element, which
    is accumulated at once (float64 totals for float32 sums), never stored.
  - "contraction_epilogue": matmul or conv2d (float32, NHWC) through `tfc_sgemm` with its bias
    argument and its relu variant, which add the bias and apply relu as each tile is stored.

Any group these cannot emit (a pattern another pass produced, an unusual dtype) falls back to
the ops' own kernels one after the other, with scratch buffers for the values inside the group:
correct, just not fused.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation, Value
from tfc.ir.types import TensorType

from .. import elementwise, gemm, loops
from ..elementwise import SCALAR, emit_fused, load_scalar, store_scalar
from ..emitter import KERNELS, CodegenError, KernelContext, kernel
from ..parallel import emit_parallel_range
from ..types import F32, F64, compute_type, i64, storage_type
from .linalg import MIN_PARALLEL_MACS, THREADS, run_workers, scratch_of, split_range
from .nn import _conv_gemm, _conv_window

#: Output elements per thread below which an elementwise group stays on one thread.
MIN_PARALLEL_ELEMENTS = 1 << 17


class RegionContext(KernelContext):
    """A kernel context in which the values of a fusion op's region have buffers: block
    arguments are the op's operands, yielded values its results, and other values (only on the
    unfused fallback) scratch."""

    def __init__(self, k: KernelContext, fusion: Operation, op: Operation | None = None,
                 buffers: dict[int, Value | ir.Value] | None = None):
        super().__init__(k.compiler, op or fusion, k.op_index)
        self.fusion = fusion
        if buffers is None:
            region = fusion.regions[0]
            buffers = {id(a): v for a, v in zip(region.args, fusion.operands)}
            for value, result in zip(region.terminator.operands, fusion.results):
                if id(value) in buffers:
                    raise CodegenError("a fused group that yields one of its inputs")
                buffers[id(value)] = result
        self.buffers = buffers

    def ptr(self, value: Value) -> ir.Value:
        target = self.buffers.get(id(value))
        if target is None:
            raise CodegenError(f"{self.fusion.name}: a value inside the group has no buffer")
        if isinstance(target, Value):
            return self.compiler.pointer(target)
        return self.builder.bitcast(target, storage_type(value.type.dtype).as_pointer())

    def for_op(self, op: Operation) -> "RegionContext":
        """The context in which the kernel of `op` (an op of the region) is emitted."""
        return RegionContext(self, self.fusion, op, self.buffers)


def region_ops(fusion: Operation) -> tuple[list[Operation], list[Value]]:
    """The region's ops (without the yield) and the yielded values."""
    block = fusion.regions[0]
    return list(block.ops[:-1]), list(block.terminator.operands)


@kernel("core.fusion")
def emit_fusion(k: KernelContext, op: Operation) -> None:
    rk = RegionContext(k, op)
    ops, outputs = region_ops(op)
    kind = op.attributes["kind"]
    if kind == "elementwise" and emit_elementwise_group(rk, ops, outputs):
        return
    if kind == "contraction_epilogue" and emit_epilogue_group(rk, ops, outputs):
        return
    if kind == "reduction" and emit_reduction_group(rk, ops, outputs):
        return
    emit_unfused(rk, ops)


def emit_unfused(rk: RegionContext, ops: list[Operation]) -> None:
    """The region's ops with their own kernels, each inner value in scratch."""
    for inner in ops:
        for result in inner.results:
            if id(result) not in rk.buffers:
                nbytes = result.type.num_elements * result.type.dtype.numpy.itemsize
                rk.buffers[id(result)] = rk.scratch(nbytes)
    for inner in ops:
        emit = KERNELS.get(inner.name)
        if emit is None:
            where = f" at {inner.location}" if inner.location else ""
            raise CodegenError(f"the LLVM backend has no kernel for {inner.name}{where}")
        emit(rk.for_op(inner), inner)


# Elementwise groups -----------------------------------------------------------------------------
def _fusable(ops: list[Operation], outputs: list[Value]) -> bool:
    if len(outputs) != 1 or any(op.name not in SCALAR or len(op.results) != 1 for op in ops):
        return False
    shape = outputs[0].type.shape
    inside = {id(r) for op in ops for r in op.results}
    for op in ops:
        entry = elementwise.PRECHECKS.get(op.name)
        if entry is not None and id(op.operands[entry[0]]) in inside:
            return False                       # the pre-pass reads that operand's buffer
        if op.result.type.shape != shape:
            return False                       # emit_fused's loop runs over the output
    return True


def _has_prechecks(ops: list[Operation]) -> bool:
    """Whether an op checks an operand before its loop (integer division, integer pow): the
    check returns from the entry function, so such a group stays on the calling thread."""
    for op in ops:
        entry = elementwise.PRECHECKS.get(op.name)
        if entry is not None and entry[1](op.operands[entry[0]].type.dtype) is not None:
            return True
    return False


def emit_elementwise_group(rk: RegionContext, ops: list[Operation], outputs: list[Value]) -> bool:
    if not _fusable(ops, outputs):
        return False
    out = outputs[0]
    shape = list(out.type.shape)
    inputs = _group_inputs(ops)
    strides = [loops.broadcast_strides(v.type.shape, shape) for v in inputs]
    dims, collapsed = loops.collapse_dims(shape, strides + [loops.row_major_strides(shape)])
    chunks = min(THREADS, out.type.num_elements // MIN_PARALLEL_ELEMENTS, dims[0] if dims else 1)
    if chunks <= 1 or _has_prechecks(ops):
        emit_fused(rk, ops, out)
        return True
    # Each thread runs emit_fused's loop nest over `rows` of the outermost (collapsed) dim, on
    # views of the inputs and output that start at its rows; the rows left over run after.
    rows = dims[0] // chunks
    view = _ChunkView(rk, ops, inputs, out, dims, collapsed)
    captures = [rk.ptr(v) for v in inputs] + [rk.ptr(out)]

    def body(b, start, end, values):
        with loops.for_range(b, start, end, name="chunk") as chunk:
            view.emit(b, values, b.mul(chunk, i64(rows)), rows, in_outlined=True)

    emit_parallel_range(rk.builder, i64(chunks), i64(chunks), captures, body, "fused_elementwise")
    if dims[0] > rows * chunks:
        view.emit(rk.builder, captures, i64(rows * chunks), dims[0] - rows * chunks,
                  in_outlined=False)
    return True


def _group_inputs(ops: list[Operation]) -> list[Value]:
    inside = {id(r) for op in ops for r in op.results}
    inputs: list[Value] = []
    for op in ops:
        for v in op.operands:
            if id(v) not in inside and all(v is not x for x in inputs):
                inputs.append(v)
    return inputs


class _Prologue:
    """Stands for the compiler in emit_fused's flag allocation inside an outlined function:
    its allocas go to that function's entry block."""

    def __init__(self, builder: ir.IRBuilder):
        self.prologue = builder


class _SinkView:
    """The group's last op as emit_fused sees it in a chunk: its result is the chunk."""

    def __init__(self, op: Operation, result: Value):
        self.name, self.attributes, self.operands = op.name, op.attributes, op.operands
        self.results = [result]


class _ChunkView:
    """emit_fused over rows [first, first + count) of the collapsed loop dims `dims`: the
    output is a Value of shape (count, *dims[1:]), the inputs are read through pointers
    advanced to the first row, with their collapsed strides."""

    def __init__(self, rk, ops, inputs, out, dims, collapsed):
        self.rk, self.ops, self.inputs, self.out = rk, ops, inputs, out
        self.dims, self.in_strides, self.out_strides = dims, collapsed[:-1], collapsed[-1]
        # The context emit_fused reads: builder, module, compiler.prologue, ptr().
        self.module = rk.module
        self.builder = None
        self.compiler = rk.compiler
        self._pointers: dict[int, ir.Value] = {}

    def emit(self, b, bases, first, count: int, in_outlined: bool) -> None:
        self.builder = b
        if in_outlined:
            entry = ir.IRBuilder(b.function.entry_basic_block)
            entry.position_at_start(b.function.entry_basic_block)
            self.compiler = _Prologue(entry)
        else:
            self.compiler = self.rk.compiler
        chunk_out = Value(TensorType((count, *self.dims[1:]), self.out.type.dtype))
        self._pointers = {}
        for v, base, s in zip(self.inputs, bases, self.in_strides):
            self._pointers[id(v)] = b.gep(base, [b.mul(first, i64(s[0]))]) if s[0] else base
        self._pointers[id(chunk_out)] = b.gep(bases[-1], [b.mul(first, i64(self.out_strides[0]))])
        ops = self.ops[:-1] + [_SinkView(self.ops[-1], chunk_out)]
        emit_fused(self, ops, chunk_out, {id(v): s for v, s in zip(self.inputs, self.in_strides)})

    def ptr(self, value: Value) -> ir.Value:
        return self._pointers[id(value)]

    def fail_if(self, condition):
        raise CodegenError("a parallel fused loop has no run-time checks")   # _has_prechecks


# Reductions of a fused input -------------------------------------------------------------------
def _evaluate(b: ir.IRBuilder, module: ir.Module, ops: list[Operation], inputs: list[Value],
              pointers: list[ir.Value], offsets: list[ir.Value]) -> dict[int, ir.Value]:
    """The scalar values of the group's ops at one element (inputs loaded at `offsets`)."""
    values = {id(v): load_scalar(b, b.gep(p, [o]), v.type.dtype)
              for v, p, o in zip(inputs, pointers, offsets)}
    for op in ops:
        source = op.operands[elementwise.DTYPE_OPERAND.get(op.name, 0)] if op.operands else op.result
        sb = elementwise.ScalarBuilder(b, module, source.type.dtype, op.result.type.dtype,
                                       op.attributes)
        values[id(op.result)] = SCALAR[op.name](sb, *[values[id(v)] for v in op.operands])
    return values


class _Reduction:
    """How math.reduce_* accumulates a float32/float64 input: sums and products in float64
    (rounded once at the end), max/min in the input's type with NaN propagating."""

    def __init__(self, name: str, dtype):
        self.name = name
        self.ty = compute_type(dtype)
        self.acc = F64 if name in ("math.reduce_sum", "math.reduce_mean", "math.reduce_prod") else self.ty
        self.identity = {"math.reduce_sum": 0.0, "math.reduce_mean": 0.0, "math.reduce_prod": 1.0,
                         "math.reduce_max": float("-inf"), "math.reduce_min": float("inf")}[name]

    def start(self) -> ir.Constant:
        return ir.Constant(self.acc, self.identity)

    def combine(self, b: ir.IRBuilder, acc: ir.Value, x: ir.Value, reassoc: bool) -> ir.Value:
        flags = ("reassoc", "nsz") if reassoc else ()
        if self.acc != self.ty:
            x = b.fpext(x, self.acc)
        if self.name in ("math.reduce_sum", "math.reduce_mean"):
            return b.fadd(acc, x, flags=flags)
        if self.name == "math.reduce_prod":
            return b.fmul(acc, x, flags=flags)
        better = b.fcmp_ordered(">" if self.name == "math.reduce_max" else "<", x, acc)
        chosen = b.select(better, x, acc)
        return b.select(b.fcmp_unordered("uno", x, x), x, chosen)     # NaN propagates

    def finish(self, b: ir.IRBuilder, acc: ir.Value, count: int) -> ir.Value:
        value = b.fptrunc(acc, self.ty) if self.acc != self.ty else acc
        if self.name == "math.reduce_mean":
            value = b.fdiv(value, ir.Constant(self.ty, float(count)))   # sum rounded, then / n
        return value


REDUCERS = ("math.reduce_sum", "math.reduce_mean", "math.reduce_max", "math.reduce_min",
            "math.reduce_prod")
#: Input elements below which a fused reduction stays on one thread.
MIN_PARALLEL_REDUCE = 1 << 20


def emit_reduction_group(rk: RegionContext, ops: list[Operation], outputs: list[Value]) -> bool:
    """elementwise ops -> math.reduce_*: each input element is computed and accumulated at
    once. With the innermost input dim reduced, each output is a scalar accumulation over its
    elements (outputs split over threads when large); otherwise the outputs accumulate in a
    scratch row while the input is walked in memory order."""
    from tfc.ir.ops.math import reduction_axes

    red, body = ops[-1], ops[:-1]
    if (len(outputs) != 1 or outputs[0] is not red.result or red.name not in REDUCERS or not body
            or any(op.name not in SCALAR or len(op.results) != 1 for op in body)
            or elementwise.has_channel_tables(body)):   # per-channel scales need the loop nest
        return False
    x = red.operands[0]
    dtype = x.type.dtype
    if x is not body[-1].result or dtype not in (dt.float32, dt.float64):
        return False
    if any(op.result.type.shape != x.type.shape for op in body):
        return False
    inside = {id(op.result) for op in body}
    if any(id(op.operands[e[0]]) in inside for op in body
           for e in [elementwise.PRECHECKS.get(op.name)] if e is not None):
        return False
    out = red.result
    if out.type.num_elements == 0:
        return True
    elementwise.emit_prechecks(rk, body, inside)
    shape = list(x.type.shape)
    reduced = set(reduction_axes(red.attributes.get("axes"), len(shape)))
    count = int(np.prod([shape[i] for i in reduced], dtype=np.int64))
    inputs = _group_inputs(body)
    dims, tags, in_strides, out_strides = _reduction_dims(shape, reduced, inputs)
    r = _Reduction(red.name, dtype)
    b = rk.builder
    pointers = [rk.ptr(v) for v in inputs]
    out_ptr = rk.ptr(out)
    kept = [i for i, t in enumerate(tags) if not t]
    summed = [i for i, t in enumerate(tags) if t]

    def offsets(bb, ivs, positions):
        return [loops.offset(bb, ivs, [s[i] for i in positions]) for s in in_strides]

    if tags[-1]:
        kept_dims = [dims[i] for i in kept]
        n_out = int(np.prod(kept_dims, dtype=np.int64))
        total = n_out * count
        workers = min(THREADS, n_out) if total >= MIN_PARALLEL_REDUCE else 1

        def worker(bb, tid, values):
            ptrs, optr = values[:-1], values[-1]
            lo, hi = split_range(bb, tid, n_out, workers)
            with loops.for_range(bb, lo, hi, name="out") as q:
                kivs = [iv for iv in _decompose(bb, q, kept_dims)]
                base = offsets(bb, kivs, kept)
                acc = _var(bb, r.start())
                with loops.for_nest(bb, [dims[i] for i in summed], name="r") as rivs:
                    offs = [bb.add(o, e) for o, e in zip(base, offsets(bb, rivs, summed))]
                    v = _evaluate(bb, rk.module, body, inputs, ptrs, offs)[id(x)]
                    bb.store(r.combine(bb, bb.load(acc), v, reassoc=True), acc)
                store_scalar(bb, r.finish(bb, bb.load(acc), count), bb.gep(optr, [q]), dtype)

        run_workers(b, workers, pointers + [out_ptr], worker, "fused_reduce")
        return True

    n_out = out.type.num_elements
    acc = scratch_of(rk, n_out, r.acc)
    with loops.for_range(b, 0, n_out, name="init") as j:
        b.store(r.start(), b.gep(acc, [j]))
    with loops.for_nest(b, dims, name="e") as ivs:
        offs = [loops.offset(b, ivs, s) for s in in_strides]
        v = _evaluate(b, rk.module, body, inputs, pointers, offs)[id(x)]
        slot = b.gep(acc, [loops.offset(b, ivs, out_strides)])
        b.store(r.combine(b, b.load(slot), v, reassoc=False), slot)
    with loops.for_range(b, 0, n_out, name="fin") as j:
        store_scalar(b, r.finish(b, b.load(b.gep(acc, [j])), count), b.gep(out_ptr, [j]), dtype)
    return True


def _var(b: ir.IRBuilder, init: ir.Value) -> ir.Value:
    """A local initialized here (its alloca in the function's entry block)."""
    with b.goto_entry_block():
        slot = b.alloca(init.type)
    b.store(init, slot)
    return slot


def _decompose(b: ir.IRBuilder, q: ir.Value, dims: list[int]) -> list[ir.Value]:
    out = []
    for d in reversed(dims):
        out.append(b.urem(q, i64(d)) if d != 1 else i64(0))
        q = b.udiv(q, i64(d)) if d != 1 else q
    return out[::-1]


def _reduction_dims(shape: list[int], reduced: set[int], inputs: list[Value]):
    """The input's dims without size-1 ones, adjacent dims of the same kind (reduced or kept)
    merged wherever every input and the output walk them contiguously; with per dim: whether
    it is reduced, each input's element stride and the output's (0 along reduced dims)."""
    kept = [d for i, d in enumerate(shape) if i not in reduced]
    kept_strides = iter(loops.row_major_strides(kept))
    out_full = [0 if i in reduced else next(kept_strides) for i in range(len(shape))]
    in_full = [loops.broadcast_strides(v.type.shape, shape) for v in inputs]
    keep = [i for i, d in enumerate(shape) if d != 1]
    dims = [shape[i] for i in keep]
    tags = [i in reduced for i in keep]
    strides = [[s[i] for i in keep] for s in in_full] + [[out_full[i] for i in keep]]
    i = len(dims) - 1
    while i > 0:
        if tags[i - 1] == tags[i] and all(
                (s[i - 1] == 0 and s[i] == 0) or (s[i] != 0 and s[i - 1] == s[i] * dims[i])
                for s in strides):
            dims[i - 1:i + 1] = [dims[i - 1] * dims[i]]
            tags[i - 1:i + 1] = [tags[i]]
            for s in strides:
                s[i - 1:i + 1] = [s[i]]
        i -= 1
    if not dims:
        dims, tags, strides = [1], [True], [[0] for _ in strides]
    return dims, tags, strides[:-1], strides[-1]


# Contraction epilogues --------------------------------------------------------------------------
def _epilogue(ops: list[Operation], outputs: list[Value]):
    """(contraction, bias value or None, relu) if `ops` is contraction -> [bias] -> [relu] in
    the form the GEMM applies (float32, 2-D matmul or NHWC conv2d); else None."""
    if len(outputs) != 1 or not ops or ops[0].name not in ("math.matmul", "nn.conv2d"):
        return None
    contraction, bias, relu = ops[0], None, False
    value = contraction.result
    if value.type.dtype != dt.float32 or any(v.type.dtype != dt.float32 for v in contraction.operands):
        return None
    if contraction.name == "math.matmul" and len(value.type.shape) != 2:
        return None
    if contraction.name == "nn.conv2d" and contraction.attributes.get("data_format", "NHWC") != "NHWC":
        return None
    channels = value.type.shape[-1]
    for op in ops[1:]:
        if op.name == "nn.bias_add" and bias is None and not relu and op.operands[0] is value:
            bias = op.operands[1]
        elif op.name == "math.add" and bias is None and not relu and value in op.operands:
            others = [v for v in op.operands if v is not value]
            if len(others) != 1 or others[0].type.shape != (channels,):
                return None
            bias = others[0]
        elif op.name == "nn.relu" and not relu and op.operands[0] is value:
            relu = True
        else:
            return None
        value = op.result
    if value is not outputs[0]:
        return None
    return contraction, bias, relu


def emit_epilogue_group(rk: RegionContext, ops: list[Operation], outputs: list[Value]) -> bool:
    matched = _epilogue(ops, outputs)
    if matched is None:
        return False
    contraction, bias, relu = matched
    out = outputs[0]
    if out.type.num_elements == 0:
        return True
    bias_ptr = rk.ptr(bias) if bias is not None else ir.Constant(F32.as_pointer(), None)
    if contraction.name == "math.matmul":
        _emit_matmul(rk, contraction, out, bias_ptr, relu)
    else:
        _emit_conv(rk, contraction, out, bias_ptr, relu)
    return True


def _emit_matmul(k, op: Operation, out: Value, bias, relu: bool) -> None:
    """C = A @ B (+ bias) (relu'd) by one call of the GEMM, split over threads when large."""
    a, bv = op.operands
    ta, tb = op.attributes["transpose_a"], op.attributes["transpose_b"]
    M, N = out.type.shape
    K = a.type.shape[0] if ta else a.type.shape[1]
    rsa, csa = (1, M) if ta else (K, 1)
    rsb, csb = (1, K) if tb else (N, 1)
    args = [i64(M), i64(N), i64(K), k.ptr(a), i64(rsa), i64(csa), k.ptr(bv), i64(rsb), i64(csb),
            k.ptr(out), i64(N), bias]
    if M * N * K >= MIN_PARALLEL_MACS and THREADS > 1:
        work = scratch_of(k, gemm.parallel_scratch_floats(M, N, K, THREADS), F32)
        k.builder.call(gemm.declare_sgemm_parallel(k.module, relu), args + [work, i64(THREADS)])
    else:
        work = scratch_of(k, max(gemm.scratch_floats(M, N, K), 1), F32)
        k.builder.call(gemm.declare_sgemm(k.module, relu), args + [work, i64(0), i64(M)])


def _emit_conv(k, op: Operation, out: Value, bias, relu: bool) -> None:
    """NHWC float32 conv2d by nn.py's im2col + GEMM driver, the GEMM applying bias and relu."""
    _conv_gemm(k, op, _conv_window(op), out, bias, relu)
