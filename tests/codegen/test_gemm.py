"""tfc_sgemm and tfc_sgemm_parallel (tfc.codegen.llvm.gemm), JIT-compiled and called through
ctypes on numpy arrays, against a float64 numpy reference.

Tolerance: |C - ref| <= 1e-5 * sqrt(max(K, 1)) * (|A| @ |B| + |bias|), elementwise. That is a
relative tolerance of 1e-5 scaled by sqrt(K), relative to the magnitudes summed rather than to
the result, which cancellation can make arbitrarily small.

Every call also checks that nothing outside C's rows [m0, m1) (C is a view into a larger
buffer) and nothing past the scratch the caller was told to provide is written. Besides the
default configuration, a tiny one (3 x 2-vector tiles, mc = 6, kc = 5, nc = 32, direct-path
bands of 3 rows, and another vector width) makes small matrices cross every block boundary.
"""

import ctypes
import functools

import numpy as np
import pytest

from tfc.codegen.llvm import gemm
from tfc.codegen.llvm.target import JitModule, new_module, vector_width_f32

L, P = ctypes.c_int64, ctypes.c_void_p
SGEMM = ctypes.CFUNCTYPE(None, L, L, L, P, L, L, P, L, L, P, L, P, P, L, L)
SGEMM_PARALLEL = ctypes.CFUNCTYPE(None, L, L, L, P, L, L, P, L, L, P, L, P, P, L)

# Vectors of 8 floats where the default has 16 (or of 4 where it has 8), to cover another width.
TINY = gemm.GemmConfig(vw=4 if vector_width_f32() == 8 else 8, mr=3, nv=2, mc=6, kc=5, nc=32,
                       direct_rows=2, direct_nv=2, direct_kc=3, direct_band_floats=100)
SENTINEL = np.float32(-777.0)
GUARD = 64


@functools.cache
def _compiled() -> tuple[JitModule, dict]:
    """The JIT and the function names by (relu, parallel, config), from one module for the
    whole run: a JitModule must outlive any later compilation, since its engine owns the
    target machine that target.py hands out for every JIT."""
    module = new_module("test_gemm")
    names = {}
    for relu, config in [(False, None), (True, None), (True, TINY)]:
        names[relu, False, config] = gemm.declare_sgemm(module, relu, config).name
        names[relu, True, config] = gemm.declare_sgemm_parallel(module, relu, config).name
    assert gemm.declare_sgemm(module) is module.globals[names[False, False, None]]
    return JitModule(module), names


def _function(relu, parallel, config):
    jit, names = _compiled()
    return (SGEMM_PARALLEL if parallel else SGEMM)(jit.address(names[relu, parallel, config]))


def _matrix(rng, rows, cols, layout):
    """A rows x cols float32 view: row-major, column-major (a transpose) or with strides of
    (3 * cols, 2) elements (a slice of a larger array)."""
    if layout == "row":
        return rng.standard_normal((rows, cols), dtype=np.float32)
    if layout == "col":
        return rng.standard_normal((cols, rows), dtype=np.float32).T
    return rng.standard_normal((3 * rows, 2 * cols), dtype=np.float32)[::3, ::2]


def _strides(x):
    return [s // x.itemsize for s in x.strides]


def _reference(a, b, bias, relu):
    ref = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    if bias is not None:
        ref, scale = ref + bias, scale + np.abs(bias)
    return (np.where(ref < 0, 0.0, ref) if relu else ref), scale


def run(a, b, bias=None, relu=False, rows=None, threads=None, config=None):
    """Call tfc_sgemm (rows = (m0, m1), all by default) or, with `threads`,
    tfc_sgemm_parallel; check what must stay untouched and return C."""
    (M, K), N = a.shape, b.shape[1]
    m0, m1 = rows or (0, M)
    if threads is None:
        floats = gemm.scratch_floats(M, N, K, config)
    else:
        floats = gemm.parallel_scratch_floats(M, N, K, threads, config)
    # Scratch starts 4 bytes past an aligned address, so the kernel must align it itself.
    scratch_buffer = np.full(1 + floats + GUARD, SENTINEL, dtype=np.float32)
    scratch = scratch_buffer[1:]
    c_buffer = np.full((M + 2, N + 5), SENTINEL, dtype=np.float32)
    c = c_buffer[1:M + 1, 2:N + 2]
    args = [M, N, K, a.ctypes.data, *_strides(a), b.ctypes.data, *_strides(b), c.ctypes.data,
            c_buffer.shape[1], None if bias is None else bias.ctypes.data, scratch.ctypes.data]
    function = _function(relu, threads is not None, config)
    function(*args, *((m0, m1) if threads is None else (threads,)))
    assert np.all(scratch[floats:] == SENTINEL), "wrote past the scratch"
    outside = np.ones(c_buffer.shape, dtype=bool)
    outside[1 + m0:1 + m1, 2:N + 2] = False
    assert np.all(c_buffer[outside] == SENTINEL), "wrote outside C[m0:m1]"
    return c


def check(a, b, bias=None, relu=False, rows=None, threads=None, config=None):
    c = run(a, b, bias, relu, rows, threads, config)
    m0, m1 = rows or (0, a.shape[0])
    ref, scale = _reference(a[m0:m1], b, bias, relu)
    tolerance = 1e-5 * np.sqrt(max(a.shape[1], 1)) * scale
    error = np.abs(c[m0:m1] - ref)
    assert np.all(error <= tolerance), f"max error {error.max()} (tolerance {tolerance.max()})"


def operands(M, N, K, a_layout="row", b_layout="row", bias=False, seed=0):
    rng = np.random.default_rng(seed)
    a, b = _matrix(rng, M, K, a_layout), _matrix(rng, K, N, b_layout)
    return a, b, (rng.standard_normal(N, dtype=np.float32) if bias else None)


# (M, N, K): single elements, K = 1, sizes around the register tile and the direct-path tile,
# several K blocks, row blocks and B panels, tall and skinny, short and wide, the MNIST first
# layer at batch 1, and a B large enough for the direct path to read it in bands.
CFG = gemm.default_config()
MR, NR, DR, DNR = CFG.mr, CFG.nr, CFG.direct_rows, CFG.direct_nv * CFG.vw
SHAPES = [(1, 1, 1), (1, 1, 7), (3, 5, 1), (7, 3, 5), (2, 17, 9), (DR, DNR, 33),
          (DR, DNR + 1, 33), (DR + 1, NR + 1, 17), (MR, NR, 64), (MR + 1, NR - 1, 65),
          (2 * MR - 1, 2 * NR + 1, 300), (37, 300, 2 * CFG.kc + 1), (CFG.mc + 7, 70, 20),
          (1023, 65, 17), (1000, 3, 50), (3, 1000, 50), (2, CFG.nc + 4, 3), (13, CFG.nc + 4, 5),
          (1, 512, 784), (DR, 2100, CFG.direct_band_floats // 2100 + 1)]
LAYOUTS = [("row", "row"), ("col", "row"), ("row", "col"), ("col", "col"),
           ("strided", "strided")]


@pytest.mark.parametrize("layout", LAYOUTS, ids="-".join)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shapes_and_layouts(shape, layout):
    check(*operands(*shape, *layout))


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 100, 20), (13, 33, 65), (40, 70, 300)], ids=str)
def test_bias_and_relu(shape, relu):
    check(*operands(*shape, bias=True), relu=relu)
    check(*operands(*shape), relu=relu)


@pytest.mark.parametrize("rows", [(0, 0), (5, 5), (0, 1), (3, 4), (10, 14), (7, 30),
                                  (0, 37), (36, 37)])
@pytest.mark.parametrize("b_layout", ["row", "col"])
def test_row_ranges(rows, b_layout):
    check(*operands(37, 45, 29, b_layout=b_layout, bias=True), rows=rows)


@pytest.mark.parametrize("relu", [False, True])
def test_k_zero_gives_bias(relu):
    a, b, bias = operands(5, 40, 0, bias=True)
    c = run(a, b, bias, relu)
    np.testing.assert_array_equal(c, np.broadcast_to(np.maximum(bias, 0) if relu else bias, c.shape))
    np.testing.assert_array_equal(run(a, b), np.zeros((5, 40), np.float32))


@pytest.mark.parametrize("shape", [(0, 5, 5), (5, 0, 5), (0, 0, 0)], ids=str)
def test_empty_products_write_nothing(shape):
    check(*operands(*shape, bias=True))


@pytest.mark.parametrize("M", [2, 30])
def test_relu_keeps_nan(M):
    a, b, _ = operands(M, 50, 10)
    a[1, 3] = np.nan
    c = run(a, b, relu=True)
    assert np.all(np.isnan(c[1])) and not np.any(np.isnan(np.delete(c, 1, axis=0)))


@pytest.mark.parametrize("layout", LAYOUTS, ids="-".join)
@pytest.mark.parametrize("shape", [(1, 70, 11), (2, 65, 23), (7, 70, 11), (8, 129, 10),
                                   (13, 200, 16), (6, 64, 5), (19, 3, 4)], ids=str)
def test_tiny_blocking_crosses_every_block_boundary(shape, layout):
    check(*operands(*shape, *layout, bias=True), relu=True, config=TINY)
    check(*operands(*shape, *layout), rows=(1, shape[0]), relu=True, config=TINY)


# Rows are split when N <= M, columns otherwise; the larger shapes have enough flops for two
# threads (gemm.MIN_FLOPS_PER_THREAD), the small ones run on one.
PARALLEL_SHAPES = [(1, 1, 1), (5, 40, 3), (301, 200, 150), (150, 301, 200), (4, 6000, 700),
                   (1000, 17, 600), (97, 1000, 90)]


@pytest.mark.parametrize("threads", [0, 1, 2, 3])
@pytest.mark.parametrize("shape", PARALLEL_SHAPES, ids=str)
def test_parallel(shape, threads):
    check(*operands(*shape, bias=True), relu=True, threads=threads)
    check(*operands(*shape, "col", "col"), threads=threads)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(301, 200, 150), (150, 301, 200)], ids=str)
def test_parallel_tiny_blocking(shape, threads):
    check(*operands(*shape, bias=True), relu=True, threads=threads, config=TINY)
