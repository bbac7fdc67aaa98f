"""Fork-join parallel loops for generated kernels.

Design
------
The runtime primitive is one function per module,

    void tfc_parallel_for(void (*body)(i8* ctx, i64 start, i64 end), i8* ctx, i64 n, i64 threads)

which splits the iteration space [0, n) into `t = min(threads, n, MAX_THREADS)` contiguous
chunks whose sizes differ by at most one (chunk i is [i*n/t, (i+1)*n/t)), starts chunks
1..t-1 on new threads with `pthread_create`, runs chunk 0 on the calling thread and then joins
the others with `pthread_join`. With `t <= 1` it just calls `body(ctx, 0, n)`, so a caller that
decides a loop is too small to be worth a thread pays one indirect call. If `pthread_create`
fails (thread limit reached), that chunk runs on the calling thread instead, so the result never
depends on thread availability.

Threads are created per call rather than kept in a pool: that costs tens of microseconds per
call, which is noise for the large loops worth parallelizing and keeps the runtime free of any
global state, locks or shutdown logic. Callers choose `threads = 1` for small work (see
`sgemm`'s heuristic). `pthread_create`/`pthread_join` are external declarations: the JIT
resolves them from the process (glibc exports them from libc since 2.34) and a shared library
links them with `-lpthread`. `pthread_t` is taken to be 64 bits wide, as on every 64-bit
Linux and macOS ABI. The per-thread task records and thread ids live on the caller's stack.

Kernels do not call `tfc_parallel_for` by hand. `emit_parallel_range` outlines the body of a
loop into an internal function `void body(i8* ctx, i64 start, i64 end)`: the values the body
needs from the enclosing function ("captures") are stored into a context struct on the caller's
stack, and the outlined function loads them back and hands them to the code generator callback
together with its chunk bounds. `emit_parallel_loop` does the same per iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llvmlite import ir

from .loops import for_range, imin
from .types import I1, I8P, I32, I64, i64

#: Upper bound on threads per `tfc_parallel_for` call; bounds its stack use.
MAX_THREADS = 256

PARALLEL_FOR = "tfc_parallel_for"
BODY_TYPE = ir.FunctionType(ir.VoidType(), [I8P, I64, I64])

#: Receives (builder, start, end, captured values) inside the outlined function.
RangeBody = Callable[[ir.IRBuilder, ir.Value, ir.Value, list[ir.Value]], None]
#: Receives (builder, index, captured values) inside the outlined function.
IterationBody = Callable[[ir.IRBuilder, ir.Value, list[ir.Value]], None]


def _declare(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
    existing = module.globals.get(name)
    return existing if existing is not None else ir.Function(module, fnty, name=name)


def declare_parallel_for(module: ir.Module) -> ir.Function:
    """The module's `tfc_parallel_for` (see the module docstring), emitted on first use."""
    if PARALLEL_FOR in module.globals:
        return module.globals[PARALLEL_FOR]
    body_ptr = BODY_TYPE.as_pointer()
    # A task record is what one thread needs: {body, ctx, start, end}.
    task_type = ir.LiteralStructType([body_ptr, I8P, I64, I64])
    thread_main_type = ir.FunctionType(I8P, [I8P])
    pthread_create = _declare(module, "pthread_create", ir.FunctionType(
        I32, [I64.as_pointer(), I8P, thread_main_type.as_pointer(), I8P]))
    pthread_join = _declare(module, "pthread_join", ir.FunctionType(
        I32, [I64, I8P.as_pointer()]))

    thread_main = ir.Function(module, thread_main_type, name=f"{PARALLEL_FOR}.thread_main")
    thread_main.linkage = "internal"
    b = ir.IRBuilder(thread_main.append_basic_block("entry"))
    task = b.bitcast(thread_main.args[0], task_type.as_pointer())
    fields = [b.load(b.gep(task, [ir.Constant(I32, 0), ir.Constant(I32, f)])) for f in range(4)]
    b.call(fields[0], fields[1:])
    b.ret(ir.Constant(I8P, None))

    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [body_ptr, I8P, I64, I64]),
                     name=PARALLEL_FOR)
    body, ctx, n, threads = fn.args
    body.name, ctx.name, n.name, threads.name = "body", "ctx", "n", "threads"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    t = imin(b, imin(b, threads, n), i64(MAX_THREADS))
    inline, fork = fn.append_basic_block("inline"), fn.append_basic_block("fork")
    b.cbranch(b.icmp_signed("<=", t, i64(1)), inline, fork)

    b.position_at_end(inline)
    b.call(body, [ctx, i64(0), n])
    b.ret_void()

    b.position_at_end(fork)
    tasks = b.alloca(task_type, size=t, name="tasks")
    tids = b.alloca(I64, size=t, name="tids")
    started = b.alloca(I1, size=t, name="started")

    def chunk_start(i):
        return b.sdiv(b.mul(i, n), t)

    with for_range(b, 1, t, name="spawn") as i:
        task_i = b.gep(tasks, [i])
        for f, value in enumerate([body, ctx, chunk_start(i), chunk_start(b.add(i, i64(1)))]):
            b.store(value, b.gep(task_i, [ir.Constant(I32, 0), ir.Constant(I32, f)]))
        task_ctx = b.bitcast(task_i, I8P)
        rc = b.call(pthread_create, [b.gep(tids, [i]), ir.Constant(I8P, None), thread_main,
                                     task_ctx])
        ok = b.icmp_signed("==", rc, ir.Constant(I32, 0))
        b.store(ok, b.gep(started, [i]))
        with b.if_then(b.not_(ok)):
            b.call(thread_main, [task_ctx])
    b.call(body, [ctx, i64(0), chunk_start(i64(1))])
    with for_range(b, 1, t, name="join") as i:
        with b.if_then(b.load(b.gep(started, [i]))):
            b.call(pthread_join, [b.load(b.gep(tids, [i])), ir.Constant(I8P.as_pointer(), None)])
    b.ret_void()
    return fn


def emit_parallel_range(builder: ir.IRBuilder, n: ir.Value, threads: ir.Value,
                        captures: Sequence[ir.Value], emit_body: RangeBody,
                        name: str = "parallel_body") -> None:
    """Run `emit_body` over [0, n) split into chunks on up to `threads` threads.

    `emit_body(b, start, end, values)` generates the code of one chunk into a new internal
    function; `values` are that function's copies of `captures` (values of the enclosing
    function cannot be used there directly). Returns after all chunks finished.
    """
    module = builder.module
    ctx_type = ir.LiteralStructType([v.type for v in captures])
    fn = ir.Function(module, BODY_TYPE, name=module.get_unique_name(name))
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    raw_ctx, start, end = fn.args
    ctx = b.bitcast(raw_ctx, ctx_type.as_pointer())
    values = [b.load(b.gep(ctx, [ir.Constant(I32, 0), ir.Constant(I32, f)]))
              for f in range(len(captures))]
    emit_body(b, start, end, values)
    b.ret_void()

    # The context is allocated where the loop is, between stacksave and stackrestore, so that
    # a parallel loop inside a serial one does not grow the stack, and without touching the
    # entry block, where another builder may be positioned.
    stack = builder.call(_declare(module, "llvm.stacksave.p0", ir.FunctionType(I8P, [])), [])
    ctx_slot = builder.alloca(ctx_type, name=f"{name}.ctx")
    for f, value in enumerate(captures):
        builder.store(value, builder.gep(ctx_slot, [ir.Constant(I32, 0), ir.Constant(I32, f)]))
    builder.call(declare_parallel_for(module), [fn, builder.bitcast(ctx_slot, I8P), n, threads])
    builder.call(_declare(module, "llvm.stackrestore.p0",
                          ir.FunctionType(ir.VoidType(), [I8P])), [stack])


def emit_parallel_loop(builder: ir.IRBuilder, n: ir.Value, threads: ir.Value,
                       captures: Sequence[ir.Value], emit_iteration: IterationBody,
                       name: str = "parallel_body") -> None:
    """`for i in [0, n)` with iterations spread over up to `threads` threads:
    `emit_iteration(b, i, values)` generates one iteration (see `emit_parallel_range`)."""
    def emit_range(b, start, end, values):
        with for_range(b, start, end) as i:
            emit_iteration(b, i, values)
    emit_parallel_range(builder, n, threads, captures, emit_range, name)
