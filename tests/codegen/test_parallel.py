"""tfc_parallel_for and the loop-outlining helpers of tfc.codegen.llvm.parallel, JIT-compiled and
called through ctypes: chunking of [0, n), the calling thread running chunk 0, captured values
of several types reaching the outlined body, and results with 0..many threads."""

import ctypes
import functools
import threading

import numpy as np
import pytest
from llvmlite import ir

from tfc.codegen.llvm.loops import for_range
from tfc.codegen.llvm.parallel import (MAX_THREADS, declare_parallel_for,
                                       emit_parallel_loop, emit_parallel_range)
from tfc.codegen.llvm.types import I64
from tfc.codegen.llvm.target import JitModule, new_module

F32 = ir.FloatType()
F32P = F32.as_pointer()
I64P = I64.as_pointer()

BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
PARALLEL_FOR = ctypes.CFUNCTYPE(None, BODY, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
AXPB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_int64,
                        ctypes.c_int64)
CHUNKS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
TABLE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)


def _emit_axpb(module: ir.Module) -> None:
    """void axpb(float* x, i64* y, float a, i64 n, i64 threads): y[i] = i64(a * x[i]) + i in
    parallel; captures a float, an i64 and two pointers of different types."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [F32P, I64P, F32, I64, I64]), "axpb")
    x, y, a, n, threads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def iteration(b, i, values):
        x, y, a = values
        scaled = b.fptosi(b.fmul(a, b.load(b.gep(x, [i]))), I64)
        b.store(b.add(scaled, i), b.gep(y, [i]))

    emit_parallel_loop(b, n, threads, [x, y, a], iteration)
    b.ret_void()


def _emit_chunks(module: ir.Module) -> None:
    """void chunks(i64* out, i64 n, i64 threads): out[i] = start of the chunk holding i. The
    body calls pthread_self, so out[n + start] = the id of the thread that ran the chunk."""
    pthread_self = ir.Function(module, ir.FunctionType(I64, []), "pthread_self")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64P, I64, I64]), "chunks")
    out, n, threads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def chunk(b, start, end, values):
        out, n = values
        b.store(b.call(pthread_self, []), b.gep(out, [b.add(n, start)]))
        with for_range(b, start, end) as i:
            b.store(start, b.gep(out, [i]))

    emit_parallel_range(b, n, threads, [out, n], chunk, name="chunk_body")
    b.ret_void()


def _emit_table(module: ir.Module) -> None:
    """void table(i64* out, i64 rows, i64 cols, i64 threads): out[r, c] = 1000 r + c, with a
    parallel loop over c inside a serial loop over r."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64P, I64, I64, I64]), "table")
    out, rows, cols, threads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def iteration(b, c, values):
        out, r, cols = values
        b.store(b.add(b.mul(r, ir.Constant(I64, 1000)), c), b.gep(out, [b.add(b.mul(r, cols), c)]))

    with for_range(b, 0, rows, name="r") as r:
        emit_parallel_loop(b, cols, threads, [out, r, cols], iteration)
    b.ret_void()


@functools.cache
def _jit() -> JitModule:
    """One module for the whole run: a JitModule must outlive any later compilation, since
    its engine owns the target machine that target.py hands out for every JIT."""
    module = new_module("test_parallel")
    assert declare_parallel_for(module) is declare_parallel_for(module)
    _emit_axpb(module)
    _emit_chunks(module)
    _emit_table(module)
    return JitModule(module)


def _function(name, prototype):
    return prototype(_jit().address(name))


def _expected_starts(n, threads):
    t = max(1, min(threads, n, MAX_THREADS))
    return [i * n // t for i in range(t)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 1000])
@pytest.mark.parametrize("threads", [-1, 0, 1, 2, 3, 8, MAX_THREADS + 44])
def test_chunks_are_balanced_and_contiguous(n, threads):
    chunks = _function("chunks", CHUNKS)
    out = np.full(2 * n + 1, -1, dtype=np.int64)
    chunks(out.ctypes.data, n, threads)
    starts = _expected_starts(n, threads) if n else []
    expected = np.repeat(starts, np.diff(starts + [n]))
    np.testing.assert_array_equal(out[:n], expected)
    # Chunk 0 runs on the calling thread, the others each on a thread of its own.
    ids = [int(out[n + s]) for s in starts]
    if ids:
        assert ids[0] == threading.get_ident()
        assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("n,threads", [(0, 2), (1, 2), (5, 1), (5, 2), (1001, 2), (1001, 7)])
def test_parallel_loop_captures_values(n, threads):
    axpb = _function("axpb", AXPB)
    x = np.linspace(-3.0, 5.0, n, dtype=np.float32)
    y = np.full(n, -7, dtype=np.int64)
    axpb(x.ctypes.data, y.ctypes.data, 2.5, n, threads)
    np.testing.assert_array_equal(y, (np.float32(2.5) * x).astype(np.int64) + np.arange(n))


@pytest.mark.parametrize("n,threads", [(0, 2), (1, 4), (10, 1), (10, 2), (10, 3), (3, 10)])
def test_parallel_for_with_a_foreign_body(n, threads):
    """tfc_parallel_for itself, with a body from outside the module (a ctypes callback)."""
    calls, lock = [], threading.Lock()

    def body(ctx, start, end):
        with lock:
            calls.append((ctx, start, end))

    parallel_for = _function("tfc_parallel_for", PARALLEL_FOR)
    parallel_for(BODY(body), 1234, n, threads)
    starts = _expected_starts(n, threads) if n else [0]
    assert sorted(calls) == [(1234, s, e) for s, e in zip(starts, starts[1:] + [n])]


@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_loop_inside_a_serial_loop(threads):
    table = _function("table", TABLE)
    out = np.zeros((40, 7), dtype=np.int64)
    table(out.ctypes.data, 40, 7, threads)
    np.testing.assert_array_equal(out, 1000 * np.arange(40)[:, None] + np.arange(7))
