"""Native math.matmul, linalg.matrix_inverse and linalg.matrix_determinant against the
interpreter. Cases are grouped into few compiled functions (one with the float32 GEMM,
whose compilation takes seconds).

Tolerances: float32 products 1e-5 relative plus an absolute 1e-5 * sqrt(K) for sums that
cancel (our GEMM blocks and fuses differently from OpenBLAS); integers exactly. Inverses of
well-conditioned matrices: 1e-4 (float32), 1e-10 (float64), 2e-3 (float16), as LU rounding
differs from LAPACK's in the last bits times the condition number. Determinants: 1e-5 / 1e-12
relative (the same sign * exp(sum log|u_ii|) as numpy), exactly 0 for singular matrices.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfc.codegen.llvm.kernels  # noqa: F401
from tfc.codegen.llvm.native import NativeError, NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.runtime.interpreter import InterpreterError, run_function

from .harness import one_op_function

RNG = np.random.default_rng(99)


def jit(function) -> NativeFunction:
    return NativeFunction.jit(function)


def group(cases):
    """Compile one function applying every (name, inputs, attrs, rtol, atol) case; compare."""
    args = [x for case in cases for x in case[1]]
    fb = FunctionBuilder("main", [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in args])
    results, i = [], 0
    for name, inputs, attrs, _, _ in cases:
        results.extend(fb.create(name, list(fb.args[i:i + len(inputs)]), attrs).results)
        i += len(inputs)
    function = fb.ret(results)
    verify(Module([function]))
    expected = run_function(function, args)
    got = jit(function)(*args)
    for (name, inputs, attrs, rtol, atol), e, g in zip(cases, expected, got):
        what = f"{name} {[x.shape for x in inputs]} {inputs[0].dtype} {attrs}"
        assert g.dtype == e.dtype and g.shape == e.shape, (what, g.shape, e.shape)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(g, e, err_msg=what)


def operand(shape, dtype, transposed=False):
    if transposed:
        shape = shape[:-2] + (shape[-1], shape[-2])
    if np.dtype(dtype).kind == "i":
        info = np.iinfo(dtype)
        return RNG.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return RNG.standard_normal(shape).astype(dtype)


# (a shape without transpose, b shape without transpose): a is [..., M, K], b [..., K, N]
SHAPES = [((3, 5), (5, 7)), ((1, 1), (1, 1)), ((7, 1023), (1023, 3)), ((2, 5, 3), (2, 3, 4)),
          ((4, 1, 3, 5), (2, 5, 6)), ((3, 2, 4), (4, 5)), ((0, 3), (3, 4)), ((3, 0), (0, 4)),
          ((2, 0, 3, 4), (4, 2))]


def matmul_cases(dtype, rtol, atol_per_k):
    cases = []
    for (sa, sb) in SHAPES:
        k = sa[-1]
        for ta, tb in [(False, False), (True, False), (False, True), (True, True)]:
            a, b = operand(sa, dtype, ta), operand(sb, dtype, tb)
            cases.append(("math.matmul", [a, b], {"transpose_a": ta, "transpose_b": tb}, rtol,
                          atol_per_k * np.sqrt(max(k, 1))))
    return cases


def test_matmul_float32_float16():
    cases = matmul_cases(np.float32, 1e-5, 1e-5) + matmul_cases(np.float16, 2e-3, 2e-3)
    # Large products: rows split over the cores (one matrix), batches split (many small).
    for sa, sb, ta, tb in [((130, 150), (150, 140), False, False), ((150, 130), (140, 150), True, True),
                           ((40, 33, 48), (40, 48, 31), False, False),
                           ((12, 70, 64), (66, 64), False, True)]:
        a = RNG.standard_normal(sa).astype(np.float32)
        b = RNG.standard_normal(sb).astype(np.float32)
        cases.append(("math.matmul", [a, b], {"transpose_a": ta, "transpose_b": tb}, 1e-5, 2e-4))
    a = RNG.standard_normal((4, 6)).astype(np.float32)
    a[1, 2] = np.nan
    a[2, 3] = np.inf
    cases.append(("math.matmul", [a, RNG.standard_normal((6, 5)).astype(np.float32)], {}, 1e-5, 1e-5))
    group(cases)


def test_matmul_float64_and_integers():
    cases = matmul_cases(np.float64, 1e-12, 1e-13)
    for dtype in (np.int32, np.int64):                # products wrap, as numpy's
        cases += matmul_cases(dtype, 0, 0)
    for sa, sb, dtype in [((130, 150), (150, 140), np.float64), ((40, 33, 48), (40, 48, 31), np.int64),
                          ((129, 200), (200, 131), np.int32)]:
        a, b = operand(sa, dtype), operand(sb, dtype)
        cases.append(("math.matmul", [a, b], {"transpose_a": False, "transpose_b": False}, 1e-12, 1e-11))
        a, b = operand(sa, dtype, True), operand(sb, dtype, True)
        cases.append(("math.matmul", [a, b], {"transpose_a": True, "transpose_b": True}, 1e-12, 1e-11))
    group(cases)


def _well_conditioned(shape, dtype):
    n = shape[-1]
    x = RNG.standard_normal(shape) + n * np.eye(n) * RNG.choice([-1, 1], shape[:-2] + (1, 1))
    return x.astype(dtype)


def test_matrix_inverse_and_determinant():
    cases = []
    for dtype, rtol, atol in [(np.float32, 1e-4, 1e-6), (np.float64, 1e-10, 1e-13),
                              (np.float16, 2e-3, 1e-3)]:
        for shape in [(1, 1), (3, 3), (2, 5, 5), (2, 1, 9, 9), (0, 4, 4), (0, 0), (2, 0, 0)]:
            for adjoint in (False, True):
                cases.append(("linalg.matrix_inverse", [_well_conditioned(shape, dtype)],
                              {"adjoint": adjoint}, rtol, atol))
        # pivoting: a zero leading entry
        cases.append(("linalg.matrix_inverse", [np.array([[0, 1, 2], [1, 0, 3], [4, -3, 8]], dtype)],
                      {}, rtol, atol))
    for dtype, rtol in [(np.float32, 2e-5), (np.float64, 1e-12)]:
        for shape in [(1, 1), (3, 3), (2, 5, 5), (4, 8, 8), (0, 0), (3, 0, 0), (0, 2, 2)]:
            cases.append(("linalg.matrix_determinant", [_well_conditioned(shape, dtype)], {}, rtol, 0))
        special = np.array([[[1, 2, 3], [2, 4, 6], [1, 0, 1]],            # singular: 0
                            [[0, 1, 2], [1, 0, 3], [4, -3, 8]],           # pivoting, sign
                            [[np.nan, 1, 2], [1, 0, 3], [4, -3, 8]],      # NaN
                            [[2, 0, 0], [0, 3, 0], [0, 0, -4]]], dtype)
        cases.append(("linalg.matrix_determinant", [special], {}, rtol, 0))
    group(cases)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrix_inverse_failures(dtype):
    good = _well_conditioned((3, 4, 4), dtype)
    function = one_op_function("linalg.matrix_inverse", [good], {})
    native = jit(function)
    np.testing.assert_allclose(native(good)[0], run_function(function, [good])[0], rtol=1e-4)
    singular = good.copy()
    singular[1] = [[1, 2, 3, 4], [2, 4, 6, 8], [0, 1, 0, 1], [1, 0, 1, 0]]
    with_nan = good.copy()
    with_nan[2, 3, 1] = np.nan
    zero = np.zeros_like(good)
    for bad in (singular, with_nan, zero):
        with pytest.raises(InterpreterError):
            run_function(function, [bad])
        with pytest.raises(NativeError, match="matrix_inverse"):
            native(bad)
