"""GFLOP/s of tfc's generated sgemm (tfc_sgemm_parallel with 1 and 2 threads) against numpy's
BLAS, with its default threads and with one thread, on a few float32 products.

    python benchmarks/bench_gemm.py [--repeats N]

Shapes are M x K x N: A is M x K, B is K x N, both row-major. Each number is 2*M*N*K over the
median time of the repeats, after one warm-up call; tfc's times include the ctypes call (about
2 us, which matters only for the smallest product). OpenBLAS reads OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE at start-up; if they are set, unset them for this command
(`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm.py`), or numpy's
number is not what it would be on this machine.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time

import numpy as np

SHAPES = [(1024, 1024, 1024), (512, 512, 512), (256, 4096, 1024), (128, 784, 512),
          (1, 784, 512)]

L, P = ctypes.c_int64, ctypes.c_void_p
SGEMM_PARALLEL = ctypes.CFUNCTYPE(None, L, L, L, P, L, L, P, L, L, P, L, P, P, L)


def operands(M: int, K: int, N: int):
    rng = np.random.default_rng(0)
    return rng.standard_normal((M, K), dtype=np.float32), rng.standard_normal((K, N), dtype=np.float32)


def gflops(M: int, K: int, N: int, call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 2 * M * N * K / np.median(times) / 1e9


def numpy_gflops(repeats: int) -> list[float]:
    results = []
    for M, K, N in SHAPES:
        a, b = operands(M, K, N)
        results.append(gflops(M, K, N, lambda: a @ b, repeats))
    return results


def numpy_one_thread_gflops(repeats: int) -> list[float]:
    """numpy with OPENBLAS_NUM_THREADS=1, which only takes effect at start-up: a child process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--numpy-only", "--repeats", str(repeats)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def tfc_gflops(repeats: int) -> list[tuple[float, float]]:
    from tfc.codegen.llvm import gemm
    from tfc.codegen.llvm.target import JitModule, new_module

    module = new_module("bench_gemm")
    name = gemm.declare_sgemm_parallel(module).name
    jit = JitModule(module)
    sgemm = SGEMM_PARALLEL(jit.address(name))
    results, products = [], []
    for M, K, N in SHAPES:
        a, b = operands(M, K, N)
        row = []
        for threads in (1, 2):
            c = np.empty((M, N), dtype=np.float32)
            scratch = np.empty(gemm.parallel_scratch_floats(M, N, K, threads), dtype=np.float32)
            args = (M, N, K, a.ctypes.data, K, 1, b.ctypes.data, N, 1, c.ctypes.data, N, None,
                    scratch.ctypes.data, threads)
            row.append(gflops(M, K, N, lambda: sgemm(*args), repeats))
            products.append((a, b, c))
        results.append(tuple(row))
    # Checked only now: after a product, OpenBLAS's threads keep spinning on the other core for
    # a while, which would halve the next two-thread timing.
    for a, b, c in products:
        np.testing.assert_allclose(c, a @ b, rtol=1e-3, atol=1e-3 * np.sqrt(a.shape[1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numpy_only:
        print(json.dumps(numpy_gflops(args.repeats)))
        return
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"warning: {var}={os.environ[var]} is set and changes numpy's number")
    tfc = tfc_gflops(args.repeats)
    numpy_default = numpy_gflops(args.repeats)
    numpy_one = numpy_one_thread_gflops(args.repeats)
    print(f"{'M x K x N':>16} | {'tfc 1T':>7} {'tfc 2T':>7} | {'numpy':>7} {'numpy 1T':>8}   GFLOP/s")
    for (M, K, N), (t1, t2), nd, n1 in zip(SHAPES, tfc, numpy_default, numpy_one):
        print(f"{f'{M}x{K}x{N}':>16} | {t1:7.1f} {t2:7.1f} | {nd:7.1f} {n1:8.1f}")


if __name__ == "__main__":
    main()
