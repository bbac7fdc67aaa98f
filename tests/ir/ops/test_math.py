"""Tests of the math op family (tfc/ir/ops/math.py): reference semantics against numpy, hand
computed values and values obtained once from TensorFlow 2.21 CPU (tf.compat.v1 / raw_ops,
hard-coded here, marked "TF:"), type inference with unknown dims/rank, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tfc.ir.ops  # noqa: F401  (registers the op table)
from tfc.ir import dtypes as dt
from tfc.ir.builder import BuildError, FunctionBuilder
from tfc.ir.opdef import BROADCAST, COMMUTATIVE, CONTRACTION, ELEMENTWISE, REDUCTION, get_op
from tfc.ir.types import TensorType
from tfc.runtime.interpreter import InterpreterError, evaluate_op, run_function

f16, f32, f64 = np.float16, np.float32, np.float64
i8, i16, i32, i64 = np.int8, np.int16, np.int32, np.int64
u8, u16, u32, u64 = np.uint8, np.uint16, np.uint32, np.uint64
c64, c128 = np.complex64, np.complex128
nan, inf = np.nan, np.inf
INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
INT64_MIN = -2**63


def ev(name, *inputs, **attrs):
    return evaluate_op(name, *inputs, **attrs)


def check(got, expected, dtype=None, rtol=0, atol=0):
    """Exact (or toleranced) equality that treats NaN as equal to NaN and checks dtype."""
    expected = np.asarray(expected, dtype=dtype if dtype is not None else got.dtype)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def infer(name, types, attrs=None):
    """Result types of `name` on arguments of `types`."""
    fb = FunctionBuilder("f", [TensorType(s, d) for s, d in types])
    return [r.type for r in fb.create(name, list(fb.args), attrs or {}).results]


def infer1(name, types, attrs=None) -> TensorType:
    return infer(name, types, attrs)[0]


UNARY = ["abs", "neg", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "sin",
         "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "floor", "ceil",
         "round", "reciprocal", "is_finite", "is_nan", "is_inf", "logical_not"]
BINARY = ["add", "sub", "mul", "real_div", "floor_div", "floor_mod", "truncate_div",
          "truncate_mod", "pow", "maximum", "minimum", "squared_difference", "atan2",
          "logical_and", "logical_or", "logical_xor", "equal", "not_equal", "greater",
          "greater_equal", "less", "less_equal"]
COMPARE = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal"]
REDUCE = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
          "reduce_all"]

EXAMPLES = (
    [(f"math.{n}", [np.array([0.5, 2.0], f32)], {}) for n in UNARY if n != "logical_not"]
    + [("math.logical_not", [np.array([True, False])], {})]
    + [(f"math.{n}", [np.array([[1.0, 2.0]], f32), np.array([[3.0], [4.0]], f32)], {})
       for n in BINARY if not n.startswith("logical")]
    + [(f"math.{n}", [np.array([True, False]), np.array(True)], {})
       for n in ("logical_and", "logical_or", "logical_xor")]
    + [("math.add_n", [np.array([1, 2], i32), np.array([3, 4], i32), np.array([5, 6], i32)], {}),
       ("math.select", [np.array([True, False]), np.ones((2, 2), f32), np.zeros((2, 2), f32)], {}),
       ("math.select_v2", [np.array([True, False]), np.ones((3, 2), f32), np.array(0, f32)], {}),
       ("math.cast", [np.array([1.5, -2.5], f32)], {"to": dt.int32}),
       ("math.cast", [np.array([1.5, -2.5], f64)], {"to": dt.float16, "truncate": True})]
    + [(f"math.{n}", [np.arange(6, dtype=f32).reshape(2, 3)], {"axes": [1], "keep_dims": True})
       for n in REDUCE[:5]]
    + [("math.reduce_sum", [np.arange(6, dtype=i32).reshape(2, 3)], {}),
       ("math.reduce_any", [np.array([[True, False]])], {"axes": [-1]}),
       ("math.reduce_all", [np.array([[True, False]])], {}),
       ("math.argmax", [np.array([[1, 3], [4, 2]], f32)], {"axis": 1}),
       ("math.argmin", [np.array([[1, 3], [4, 2]], i32)], {"axis": 0, "output_type": dt.int32}),
       ("math.matmul", [np.ones((2, 3), f32), np.ones((2, 3), f32)], {"transpose_b": True}),
       ("math.matmul", [np.ones((2, 3, 4), f64), np.ones((4, 5), f64)], {}),
       ("linalg.matrix_inverse", [np.array([[2, 1], [1, 1]], f32)], {}),
       ("linalg.matrix_inverse", [np.array([[2, 1], [1, 1]], f64)], {"adjoint": True}),
       ("linalg.matrix_determinant", [np.array([[[1, 2], [3, 4]]], f32)], {}),
       ("linalg.qr", [np.array([[1, 2], [3, 4], [5, 6]], f32)], {}),
       ("linalg.qr", [np.array([[1, 2], [3, 4], [5, 6]], f64)], {"full_matrices": True})]
)


@pytest.mark.parametrize("name, inputs, attrs", EXAMPLES, ids=lambda v: v if isinstance(v, str) else "")
def test_examples_run(name, inputs, attrs):
    evaluate_op(name, *inputs, **attrs)


# Traits ----------------------------------------------------------------------------------
def test_traits():
    for n in UNARY:
        assert get_op(f"math.{n}").has(ELEMENTWISE), n
        assert not get_op(f"math.{n}").has(BROADCAST), n
    for n in BINARY:
        assert get_op(f"math.{n}").has(ELEMENTWISE) and get_op(f"math.{n}").has(BROADCAST), n
    for n in ["add", "mul", "maximum", "minimum", "equal", "not_equal", "logical_and",
              "logical_or", "logical_xor", "squared_difference"]:
        assert get_op(f"math.{n}").has(COMMUTATIVE), n
    for n in ["sub", "real_div", "floor_div", "pow", "greater", "atan2"]:
        assert not get_op(f"math.{n}").has(COMMUTATIVE), n
    for n in REDUCE + ["argmax", "argmin"]:
        assert get_op(f"math.{n}").has(REDUCTION), n
    assert get_op("math.matmul").has(CONTRACTION)
    assert get_op("math.select_v2").has(BROADCAST)
    assert get_op("math.cast").has(ELEMENTWISE)
    for n in [f"math.{n}" for n in UNARY + BINARY + REDUCE] + ["linalg.matrix_inverse", "linalg.qr"]:
        assert get_op(n).is_pure and get_op(n).doc


# Dtype coverage: every accepted numpy-representable dtype runs and keeps its promises ----
def _sample(dtype: dt.DType, n=3):
    if dtype == dt.string:
        return np.array(["a", "bc", ""][:n])
    if dtype == dt.bool_:
        return np.array([True, False, True][:n])
    return np.array([1, 2, 3][:n]).astype(dtype.numpy)


def _cases(names):
    for name in names:
        opdef = get_op(f"math.{name}")
        for d in opdef.operands[0].dtypes:
            if d.numpy is not None:
                yield name, d


@pytest.mark.parametrize("name, dtype", list(_cases(UNARY)), ids=str)
def test_unary_all_dtypes(name, dtype):
    x = _sample(dtype)
    out = ev(f"math.{name}", x)
    assert out.shape == (3,)
    assert out.dtype == (np.bool_ if name.startswith("is_") else dtype.numpy)
    out0 = ev(f"math.{name}", x[0])                               # 0-d stays 0-d
    assert out0.shape == () and out0.dtype == out.dtype


@pytest.mark.parametrize("name, dtype", list(_cases(BINARY)), ids=str)
def test_binary_all_dtypes(name, dtype):
    x = _sample(dtype)
    out = ev(f"math.{name}", x.reshape(3, 1), x[:2])              # broadcasts to [3, 2]
    assert out.shape == (3, 2)
    assert out.dtype == (np.bool_ if name in COMPARE else dtype.numpy)     # strings: object
    assert ev(f"math.{name}", x[0], x[1]).shape == ()


@pytest.mark.parametrize("name, dtype", list(_cases(REDUCE + ["argmax", "argmin"])), ids=str)
def test_reduction_all_dtypes(name, dtype):
    x = np.concatenate([_sample(dtype)] * 2).reshape(2, 3)
    attrs = {"axis": 1} if name.startswith("arg") else {"axes": [0]}
    out = ev(f"math.{name}", x, **attrs)
    assert out.shape == ((2,) if name.startswith("arg") else (3,))


@pytest.mark.parametrize("dtype", [d for d in get_op("math.matmul").operands[0].dtypes if d.numpy is not None], ids=str)
def test_matmul_all_dtypes(dtype):
    a = np.arange(6).reshape(2, 3).astype(dtype.numpy)
    check(ev("math.matmul", a, a, transpose_b=True), [[5, 14], [14, 50]], dtype.numpy)


@pytest.mark.parametrize("name", ["sqrt", "exp", "log", "sin", "tanh", "sigmoid", "square", "neg",
                                  "sign", "reciprocal", "rsqrt", "expm1", "log1p", "atan", "cosh"])
def test_unary_complex_matches_numpy(name):
    x = np.array([0.5 + 1j, -2 - 0.25j], c128)
    ref = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "rsqrt": lambda v: 1 / np.sqrt(v),
           "neg": np.negative, "atan": np.arctan}.get(name, getattr(np, name, None))
    check(ev(f"math.{name}", x), ref(x), rtol=1e-12)
    check(ev(f"math.{name}", x.astype(c64)), ref(x).astype(c64), rtol=1e-5)


# Unary values ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, ref", [
    ("sqrt", np.sqrt), ("exp", np.exp), ("expm1", np.expm1), ("log", np.log), ("log1p", np.log1p),
    ("sin", np.sin), ("cos", np.cos), ("tan", np.tan), ("asin", np.arcsin), ("acos", np.arccos),
    ("atan", np.arctan), ("sinh", np.sinh), ("cosh", np.cosh), ("tanh", np.tanh),
    ("floor", np.floor), ("ceil", np.ceil), ("reciprocal", lambda v: 1 / v),
    ("rsqrt", lambda v: 1 / np.sqrt(v)), ("sigmoid", lambda v: 1 / (1 + np.exp(-v))),
])
def test_unary_float_values(name, ref):
    x = np.array([-1.5, -0.5, 0.0, 0.25, 0.9, 2.0, 30.0, inf, -inf, nan], f64)
    with np.errstate(all="ignore"):
        expected = ref(x)
        expected32, expected16 = expected.astype(f32), expected.astype(f16)
    check(ev(f"math.{name}", x), expected, rtol=1e-14)
    check(ev(f"math.{name}", x.astype(f32)), expected32, rtol=2e-6)
    check(ev(f"math.{name}", x.astype(f16)), expected16, rtol=2e-3)
    check(ev(f"math.{name}", np.zeros((0, 2), f32)), np.zeros((0, 2), f32))


def test_unary_special_values_from_tf():
    # TF: Round is half to even and keeps the sign of zero.
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, nan, inf, 0.49999997, 2**23 + 1], f32)
    out = ev("math.round", x)
    check(out, [0, 2, 2, -0.0, -2, -2, 2, nan, inf, 0, 2**23 + 1])
    assert np.signbit(out[3])
    check(ev("math.round", np.array([-7, 3], i32)), [-7, 3])
    # TF: Sign of NaN is NaN; complex sign is x/|x| and 0 at 0.
    check(ev("math.sign", np.array([nan, -0.0, 0.0, -3, inf], f32)), [nan, 0, 0, -1, 1])
    check(ev("math.sign", np.array([3 + 4j, 0j], c64)), [0.6 + 0.8j, 0], rtol=1e-6)
    check(ev("math.sign", np.array([-5, 0, 7], i8)), [-1, 0, 1])
    # TF: Reciprocal keeps the sign of zero; Rsqrt(0) = inf, Rsqrt(-1) = NaN, Rsqrt(inf) = 0.
    check(ev("math.reciprocal", np.array([0, -0.0, 2], f32)), [inf, -inf, 0.5])
    check(ev("math.rsqrt", np.array([0, -1, 4, inf], f32)), [inf, nan, 0.5, 0])
    # TF: Sigmoid saturates to exactly 0 and 1 without NaN.
    check(ev("math.sigmoid", np.array([-1000, 0, 1000, nan], f64)), [0, 0.5, 1, nan])
    check(ev("math.sigmoid", np.array([-100, 100], f32)), [0, 1], atol=1e-38)
    # float16 sigmoid is computed in float32: exp(12) would overflow float16. TF: 6.139e-06.
    check(ev("math.sigmoid", np.array([-12, 12], f16)), [6.139e-06, 1], rtol=1e-3)
    check(ev("math.log", np.array([0, -1], f32)), [-inf, nan])


def test_is_finite_nan_inf():
    x = np.array([inf, -inf, nan, 1, -0.0], f32)
    check(ev("math.is_inf", x), [True, True, False, False, False])         # TF
    check(ev("math.is_nan", x), [False, False, True, False, False])
    check(ev("math.is_finite", x), [False, False, False, True, True])
    check(ev("math.is_nan", np.zeros((0,), f16)), np.zeros((0,), bool))
    check(ev("math.logical_not", np.array([[True, False]])), [[False, True]])


def test_integer_unary_wraps():
    # TF: Abs and Neg of INT_MIN give INT_MIN; Square wraps.
    check(ev("math.abs", np.array([INT32_MIN, -3, 4], i32)), [INT32_MIN, 3, 4])
    check(ev("math.abs", np.array([-128, -1], i8)), [-128, 1])
    check(ev("math.neg", np.array([INT32_MIN, 5], i32)), [INT32_MIN, -5])
    check(ev("math.neg", np.array([INT64_MIN], i64)), [INT64_MIN])
    check(ev("math.square", np.array([200, -50000], i32)), [40000, -1794967296])
    check(ev("math.square", np.array([20, 255], u8)), [144, 1])
    check(ev("math.square", np.array([2**32], u64)), [0])
    check(ev("math.abs", np.array([-0.0, -inf, nan], f32)), [0.0, inf, nan])


# Binary values ---------------------------------------------------------------------------
def test_arithmetic_broadcasting():
    x = np.arange(6, dtype=f32).reshape(2, 3)
    y = np.array([1, 2, 4], f32)
    check(ev("math.add", x, y), x + y)
    check(ev("math.sub", y, x), y - x)
    check(ev("math.mul", x, y.reshape(1, 3)), x * y)
    check(ev("math.real_div", x, y), x / y)
    check(ev("math.add", np.array(2, f32), np.zeros((0, 3), f32)), np.zeros((0, 3), f32))
    check(ev("math.mul", np.ones((2, 1, 3), i64), np.full((4, 1), 3, i64)), np.full((2, 4, 3), 3, i64))


def test_integer_arithmetic_wraps():
    check(ev("math.add", np.array([INT32_MAX], i32), np.array([1], i32)), [INT32_MIN])
    check(ev("math.sub", np.array([0], u8), np.array([1], u8)), [255])
    check(ev("math.mul", np.array([2**16], i32), np.array([2**16], i32)), [0])
    check(ev("math.add", np.array([2**64 - 1], u64), np.array([2], u64)), [1])


def test_add_strings():
    out = ev("math.add", np.array(["a", "b"]), np.array(["c"]))           # TF: [b'ac', b'bc']
    assert out.tolist() == ["ac", "bc"]
    out = ev("math.add", np.array([b"x"], dtype=object), np.array([b"y", b""], dtype=object))
    assert out.tolist() == [b"xy", b"x"]


def test_real_div_special():
    # TF: RealDiv by zero gives +-inf / NaN, no error.
    x = np.array([1, -1, 0, inf, -inf, nan, 5, -5, 5, 1], f32)
    y = np.array([0, 0, 0, 2, 2, 1, inf, inf, -inf, nan], f32)
    out = ev("math.real_div", x, y)
    check(out, [inf, -inf, nan, inf, -inf, nan, 0, -0.0, -0.0, nan])
    assert list(np.signbit(out[6:9])) == [False, True, True]
    check(ev("math.real_div", np.array([1 + 1j], c64), np.array([2j], c64)), [0.5 - 0.5j])


# Integer division/modulo sign tables. TF (int32): x = [7, -7, 7, -7, 0, 0], y = [2, 2, -2, -2, 3, -3]
DIV_X = [7, -7, 7, -7, 0, 0]
DIV_Y = [2, 2, -2, -2, 3, -3]
DIV_TABLE = {
    "floor_div": [3, -4, -4, 3, 0, 0],
    "floor_mod": [1, 1, -1, -1, 0, 0],
    "truncate_div": [3, -3, -3, 3, 0, 0],
    "truncate_mod": [1, -1, 1, -1, 0, 0],
}


@pytest.mark.parametrize("name", list(DIV_TABLE))
@pytest.mark.parametrize("dtype", [i32, i64, f32, f64])
def test_division_sign_table(name, dtype):
    out = ev(f"math.{name}", np.array(DIV_X, dtype), np.array(DIV_Y, dtype))
    check(out, DIV_TABLE[name])
    if dtype in (f32, f64) and name.endswith("div"):
        assert np.signbit(out[5])                                          # TF: 0 / -3 = -0.0


@pytest.mark.parametrize("name", ["floor_div", "floor_mod", "truncate_div"])
@pytest.mark.parametrize("dtype", [i8, i16])
def test_division_small_ints(name, dtype):
    check(ev(f"math.{name}", np.array(DIV_X, dtype), np.array(DIV_Y, dtype)), DIV_TABLE[name])


def test_division_unsigned():
    x, y = np.array([7, 200], u8), np.array([2, 3], u8)
    check(ev("math.floor_div", x, y), [3, 66])                             # TF
    check(ev("math.floor_mod", x, y), [1, 2])
    check(ev("math.truncate_div", x, y), [3, 66])
    big = np.array([2**64 - 1], u64)
    check(ev("math.floor_div", big, np.array([2], u64)), [2**63 - 1])
    check(ev("math.floor_mod", big, np.array([10], u64)), [5])


@pytest.mark.parametrize("name, expected", [("floor_div", INT32_MIN), ("floor_mod", 0),
                                            ("truncate_div", INT32_MIN), ("truncate_mod", 0)])
def test_int_min_divided_by_minus_one(name, expected):
    # TF: INT_MIN / -1 wraps to INT_MIN; the remainder is 0.
    check(ev(f"math.{name}", np.array([INT32_MIN], i32), np.array([-1], i32)), [expected])


@pytest.mark.parametrize("name", list(DIV_TABLE))
def test_integer_division_by_zero(name):
    with pytest.raises(InterpreterError, match="Integer division by zero"):
        ev(f"math.{name}", np.array([1, 2], i32), np.array([1, 0], i32))
    with pytest.raises(InterpreterError, match="Integer division by zero"):
        ev(f"math.{name}", np.array([[1], [2]], i64), np.array(0, i64))
    # Nothing is divided when the result is empty.
    assert ev(f"math.{name}", np.zeros((0,), i32), np.array([0], i32)).shape == (0,)


def test_unsigned_division_by_zero():
    with pytest.raises(InterpreterError, match="Integer division by zero"):
        ev("math.floor_div", np.array([1], u16), np.array([0], u16))


def test_float_division_special_values():
    # TF, float32: x = [1, -1, 0, inf, -inf, nan, 5, -5, 5, 1], y = [0, 0, 0, 2, 2, 1, inf, inf, -inf, nan]
    x = np.array([1, -1, 0, inf, -inf, nan, 5, -5, 5, 1], f32)
    y = np.array([0, 0, 0, 2, 2, 1, inf, inf, -inf, nan], f32)
    check(ev("math.floor_div", x, y), [inf, -inf, nan, inf, -inf, nan, 0, -0.0, -0.0, nan])
    check(ev("math.floor_mod", x, y), [nan, nan, nan, nan, nan, nan, 5, inf, -inf, nan])
    check(ev("math.truncate_div", x, y), [inf, -inf, nan, inf, -inf, nan, 0, -0.0, -0.0, nan])
    check(ev("math.truncate_mod", x, y), [nan] * 6 + [5, -5, 5, nan])
    # floor_div(-5, inf) is floor(-0.0) = -0.0 (numpy's floor_divide would say -1).
    assert np.signbit(ev("math.floor_div", np.array(-5.0, f32), np.array(inf, f32)))


def test_float_floor_mod_matches_python():
    xs = np.array([5.5, -5.5, 5.5, -5.5, 0.75, -4.0], f64)
    ys = np.array([2.0, 2.0, -2.0, -2.0, 0.25, 2.0], f64)
    expected = [x % y for x, y in zip(xs.tolist(), ys.tolist())]                 # Python's %
    check(ev("math.floor_mod", xs, ys), expected)
    # TF keeps fmod's zero: -4 mod 2 is -0.0 (numpy's mod gives +0.0).
    assert np.signbit(ev("math.floor_mod", np.array(-4.0, f32), np.array(2.0, f32)))
    # A tiny negative remainder plus the divisor rounds to the divisor itself.
    check(ev("math.floor_mod", np.array([-2**-24], f16), np.array([1], f16)), [1.0])


def test_pow():
    check(ev("math.pow", np.array([2, -2, 0, 3], i32), np.array([3, 3, 0, 0], i32)), [8, -8, 1, 1])
    check(ev("math.pow", np.array([2, -2], i32), np.array([40, 31], i32)), [0, INT32_MIN])  # TF: wraps
    check(ev("math.pow", np.array([3], i8), np.array([5], i8)), [-13])                      # 243 wraps
    # TF, float32: (-8)^(1/3) = nan, 0^0 = 1, 0^-1 = inf, nan^0 = 1, 1^nan = 1, (-1)^inf = 1
    check(ev("math.pow", np.array([-8, 0, 0, nan, 1, -1], f32),
             np.array([1 / 3, 0, -1, 0, nan, inf], f32)), [nan, 1, inf, 1, 1, 1])
    check(ev("math.pow", np.array([1j], c128), np.array([2], c128)), [-1], atol=1e-15)
    check(ev("math.pow", np.array([2.0], f64), np.array([0.5, 10], f64)), [2**0.5, 1024], rtol=1e-15)


@pytest.mark.parametrize("base", [2, 1, 0])
def test_pow_negative_integer_exponent(base):
    # TF: "Integers to negative integer powers are not allowed", even for 1 and 0.
    with pytest.raises(InterpreterError, match="Integers to negative integer powers are not allowed"):
        ev("math.pow", np.array([base], i32), np.array([-1], i32))


def test_maximum_minimum():
    # TF: NaN propagates from either side; on ties TF's vector kernel returns y (only visible
    # in the sign of a zero; its scalar code for tiny tensors returns x).
    a = np.array([nan, 1, nan, 0.0, -0.0, 2], f32)
    b = np.array([1, nan, nan, -0.0, 0.0, 3], f32)
    for name, last in [("maximum", 3), ("minimum", 2)]:
        out = ev(f"math.{name}", a, b)
        check(out, [nan, nan, nan, 0, 0, last])
        assert list(np.signbit(out[3:5])) == [True, False]
    check(ev("math.maximum", np.array([[1], [5]], i32), np.array([2, 3, 6], i32)), [[2, 3, 6], [5, 5, 6]])
    check(ev("math.minimum", np.array([0, 255], u8), np.array([1, 254], u8)), [0, 254])
    check(ev("math.maximum", np.array([-inf], f64), np.array([inf], f64)), [inf])


def test_squared_difference():
    check(ev("math.squared_difference", np.array([1, 5], f32), np.array([4, 5], f32)), [9, 0])
    check(ev("math.squared_difference", np.array([1 + 2j], c64), np.array([0j], c64)), [5 + 0j])  # TF
    check(ev("math.squared_difference", np.array([INT32_MIN + 1], i32), np.array([1], i32)), [0])  # TF: wraps


def test_atan2():
    # TF: atan2(y=[0, -0, 1, nan], x=[-1, -1, 0, 1])
    out = ev("math.atan2", np.array([0.0, -0.0, 1, nan], f32), np.array([-1, -1, 0, 1], f32))
    check(out, [np.pi, -np.pi, np.pi / 2, nan], rtol=1e-7)
    y, x = np.array([1.0, -2.0], f64), np.array([-3.0, 0.5], f64)
    check(ev("math.atan2", y, x), np.arctan2(y, x))


def test_logical():
    a = np.array([[True], [False]])
    b = np.array([True, False])
    check(ev("math.logical_and", a, b), [[True, False], [False, False]])
    check(ev("math.logical_or", a, b), [[True, True], [True, False]])
    check(ev("math.logical_xor", a, b), [[False, True], [True, False]])


def test_comparisons():
    x = np.array([1, 2, 3, nan], f32)
    y = np.array([2, 2, 2, nan], f32)
    check(ev("math.equal", x, y), [False, True, False, False])            # TF: NaN != NaN
    check(ev("math.not_equal", x, y), [True, False, True, True])
    check(ev("math.greater", x, y), [False, False, True, False])
    check(ev("math.greater_equal", x, y), [False, True, True, False])
    check(ev("math.less", x, y), [True, False, False, False])
    check(ev("math.less_equal", x, y), [True, True, False, False])
    check(ev("math.greater", np.array([255], u8), np.array([0], u8)), [True])
    check(ev("math.equal", np.array(["a", "b"]), np.array("a")), [True, False])
    check(ev("math.not_equal", np.array([True, False]), np.array([True, True])), [False, True])
    check(ev("math.equal", np.array([1 + 1j], c64), np.array([1 + 1j, 1], c64)), [True, False])
    check(ev("math.less", np.zeros((0, 2), i32), np.zeros((2,), i32)), np.zeros((0, 2), bool))


# add_n -------------------------------------------------------------------------------------
def test_add_n():
    xs = [np.arange(6, dtype=f32).reshape(2, 3) * k for k in (1, 2, 3)]
    check(ev("math.add_n", *xs), xs[0] * 6)
    check(ev("math.add_n", np.array([1, 2], i64)), [1, 2])
    check(ev("math.add_n", *[np.array([100], i8)] * 3), [44])                # TF: wraps
    # TF: float16 AddN adds in order, so 60000 + 60000 overflows to inf.
    check(ev("math.add_n", *[np.array([60000], f16)] * 2, *[np.array([-60000], f16)] * 2), [inf])
    check(ev("math.add_n", np.zeros((0, 2), f32), np.zeros((0, 2), f32)), np.zeros((0, 2), f32))


def test_add_n_inference():
    assert infer1("math.add_n", [((None, 3), f32), ((2, None), f32)]) == TensorType((2, 3), f32)
    assert infer1("math.add_n", [(None, f32), ((2, None), f32)]) == TensorType((2, None), f32)
    assert infer1("math.add_n", [(None, i32)]) == TensorType(None, i32)
    with pytest.raises(BuildError, match="Dimension 0 in both shapes must be equal, but are 2 and 3"):
        infer("math.add_n", [((2, 3), f32), ((3, 2), f32)])
    with pytest.raises(BuildError, match="Shapes must be equal rank, but are 2 and 1"):
        infer("math.add_n", [((2, 3), f32), ((3,), f32)])                   # no broadcasting
    with pytest.raises(BuildError, match="same dtype"):
        infer("math.add_n", [((2,), f32), ((2,), f64)])
    with pytest.raises(BuildError, match="at least one"):
        infer("math.add_n", [])


# select / select_v2 ------------------------------------------------------------------------
def test_select():
    x = np.arange(6, dtype=f32).reshape(2, 3)
    y = -x
    cond = np.array([[True, False, True], [False, True, False]])
    check(ev("math.select", cond, x, y), [[0, -1, 2], [-3, 4, -5]])                 # TF
    check(ev("math.select", np.array([True, False]), x, y), [[0, 1, 2], [-3, -4, -5]])  # TF: rows
    check(ev("math.select", np.array(True), x, y), x)                              # TF: scalar cond
    check(ev("math.select", np.array(False), np.array(1, i32), np.array(2, i32)), 2)
    check(ev("math.select", np.array([True, False]), np.array([1, 2], i32), np.array([3, 4], i32)), [1, 4])
    out = ev("math.select", np.array([True, False]), np.array(["a", "b"]), np.array(["c", "d"]))
    assert out.tolist() == ["a", "d"]                                              # TF
    assert ev("math.select", np.zeros((0,), bool), np.zeros((0, 2), f32), np.zeros((0, 2), f32)).shape == (0, 2)


def test_select_inference():
    B, F = np.bool_, f32
    assert infer1("math.select", [((None,), B), ((None, 3), F), ((4, None), F)]) == TensorType((4, 3), F)
    assert infer1("math.select", [((5,), B), ((None, 3), F), ((None, 3), F)]) == TensorType((5, 3), F)
    assert infer1("math.select", [((), B), ((2, 3), F), ((2, None), F)]) == TensorType((2, 3), F)
    assert infer1("math.select", [(None, B), ((2, None), F), (None, F)]) == TensorType((2, None), F)
    assert infer1("math.select", [((2, None), B), ((None, 3), F), ((None, 3), F)]) == TensorType((2, 3), F)
    assert infer1("math.select", [((2,), B), (None, F), (None, F)]) == TensorType(None, F)
    assert infer1("math.select", [((2, 3), B), (None, F), (None, F)]) == TensorType((2, 3), F)
    with pytest.raises(BuildError, match="Dimension 0 in both shapes must be equal, but are 3 and 2"):
        infer("math.select", [((3,), B), ((2, 3), F), ((2, 3), F)])           # TF's words
    with pytest.raises(BuildError, match="Dimension 1 in both shapes must be equal, but are 2 and 3"):
        infer("math.select", [((2, 2), B), ((2, 3), F), ((2, 3), F)])
    with pytest.raises(BuildError, match="Shapes must be equal rank"):
        infer("math.select", [((2, 1), B), ((2, 3, 1), F), ((2, 3, 1), F)])
    with pytest.raises(BuildError, match="Dimension 1"):
        infer("math.select", [((2,), B), ((2, 3), F), ((2, 2), F)])           # x and y differ
    with pytest.raises(BuildError, match="same dtype"):
        infer("math.select", [((2,), B), ((2,), F), ((2,), f64)])
    with pytest.raises(BuildError, match="operand 'cond' has dtype int32"):
        infer("math.select", [((2,), i32), ((2,), F), ((2,), F)])


def test_select_runtime_shape_errors():
    fb = FunctionBuilder("f", [TensorType((None,), bool), TensorType((None, 2), f32), TensorType((None, 2), f32)])
    fn = fb.ret([fb.op("math.select", *fb.args)])
    x = np.zeros((2, 2), f32)
    check(run_function(fn, [np.array([False, True]), x, x + 1])[0], [[1, 1], [0, 0]])
    with pytest.raises(InterpreterError, match="Number of batches of 'then' must match size of 'cond'"):
        run_function(fn, [np.array([True, False, True]), x, x])
    with pytest.raises(InterpreterError, match="'then' and 'else' must have the same size"):
        run_function(fn, [np.array([True, False]), x, np.zeros((3, 2), f32)])


def test_select_v2():
    x = np.arange(6, dtype=f32).reshape(2, 3)
    check(ev("math.select_v2", np.array([True, False, True]), x, np.array(9, f32)), [[0, 9, 2], [3, 9, 5]])
    check(ev("math.select_v2", np.array([[True], [False]]), np.array([1, 2], i32), np.array([[7]], i32)),
          [[1, 2], [7, 7]])
    assert infer1("math.select_v2", [((None, 1), np.bool_), ((3,), f32), (None, f32)]) == TensorType(None, f32)
    assert infer1("math.select_v2", [((None, 1), np.bool_), ((3,), f32), ((), f32)]) == TensorType((None, 3), f32)
    with pytest.raises(BuildError, match="cannot be broadcast"):
        infer("math.select_v2", [((2,), np.bool_), ((2, 3), f32), ((), f32)])


# cast --------------------------------------------------------------------------------------
CAST_IN = np.array([1.7, -1.7, -200.5, 200.5, 300, -300, nan, inf, -inf, 3e9, -3e9, 5e9, 2e19, 1e20,
                    -1e20, 70000, -70000, 40000])
# TF, float32 source, on a tensor large enough for its vectorized kernel: NaN and out-of-range
# values go through int32 (int64 for 64-bit targets) as INT_MIN; 8/16-bit targets saturate,
# 32/64-bit ones wrap. (Its scalar code, used for tiny tensors, wraps 8/16-bit targets too.)
_N9 = 9  # NaN, inf, -inf, 3e9, -3e9, 5e9, 2e19, 1e20, -1e20
CAST_OUT = {
    i8: [1, -1, -128, 127, 127, -128] + [-128] * _N9 + [127, -128, 127],
    i16: [1, -1, -200, 200, 300, -300] + [-32768] * _N9 + [32767, -32768, 32767],
    i32: [1, -1, -200, 200, 300, -300] + [INT32_MIN] * _N9 + [70000, -70000, 40000],
    i64: [1, -1, -200, 200, 300, -300, INT64_MIN, INT64_MIN, INT64_MIN, 3000000000, -3000000000,
          5000000000, INT64_MIN, INT64_MIN, INT64_MIN, 70000, -70000, 40000],
    u8: [1, 0, 0, 200, 255, 0] + [0] * _N9 + [255, 0, 255],
    u16: [1, 0, 0, 200, 300, 0] + [0] * _N9 + [65535, 0, 40000],
    u32: [1, 2**32 - 1, 2**32 - 200, 200, 300, 2**32 - 300, 2**31, 2**31, 2**31, 3000000000,
          2**31, 2**31, 2**31, 2**31, 2**31, 70000, 2**32 - 70000, 40000],
    u64: [1, 2**64 - 1, 2**64 - 200, 200, 300, 2**64 - 300, 2**63, 2**63, 2**63, 3000000000,
          2**64 - 3000000000, 5000000000, 2**63, 2**63, 2**63, 70000, 2**64 - 70000, 40000],
}


@pytest.mark.parametrize("src", [f32, f64])
@pytest.mark.parametrize("target", list(CAST_OUT), ids=lambda t: np.dtype(t).name)
def test_cast_float_to_int(src, target):
    out = ev("math.cast", np.tile(CAST_IN.astype(src), 2), to=np.dtype(target))
    expected = CAST_OUT[target] * 2
    if src is f64 and target is u8:
        # TF's float64 -> uint8 vector code gives 0 for 70000 and 40000; we saturate as for float32.
        expected = [e if v not in (70000, 40000) else 255 for e, v in zip(expected, np.tile(CAST_IN, 2))]
    assert out.dtype == target and out.tolist() == expected


def test_cast_float16_source():
    x = np.array([2.9, -2.9, 65504, nan], f16)
    check(ev("math.cast", x, to="int32"), [2, -2, 65504, INT32_MIN])
    check(ev("math.cast", np.array([70000], f32), to="float16"), [inf])


def test_cast_misc():
    check(ev("math.cast", np.array([1.7, -1.7, nan, inf, -inf, 3e9, -3e9, 0.5, -0.0], f32), to="bool"),
          [True] * 8 + [False])                                                       # TF: NaN is true
    check(ev("math.cast", np.array([300, -1], i32), to="uint8"), [44, 255])          # TF: wraps
    check(ev("math.cast", np.array([2**63 - 1], i64), to="float32"), [9.223372e18], rtol=1e-7)
    check(ev("math.cast", np.array([1 + 2j], c64), to="float32"), [1.0])             # TF: real part
    check(ev("math.cast", np.array([1.7 + 2j], c64), to="int32"), [1])
    check(ev("math.cast", np.array([2j, 0j], c64), to="bool"), [False, False])       # TF: real part only
    # TF's complex casts are not vectorized: out-of-range values wrap even for 8-bit targets.
    check(ev("math.cast", np.array([-11.5 + 1j, 300 - 2j] * 20, c64), to="uint8"), [245, 44] * 20)
    check(ev("math.cast", np.array([True, False]), to="float32"), [1.0, 0.0])
    check(ev("math.cast", np.array([True, False]), to="complex64"), [1, 0])
    check(ev("math.cast", np.array([3, 0, -2], i8), to="bool"), [True, False, True])
    check(ev("math.cast", np.array([1.5], f32), to="complex128"), [1.5 + 0j])
    check(ev("math.cast", np.array([2**64 - 1], u64), to="int64"), [-1])
    check(ev("math.cast", np.zeros((0, 3), f32), to="int8"), np.zeros((0, 3), i8))
    check(ev("math.cast", np.array(2.5, f64), to="float32"), 2.5)


def test_cast_truncate():
    # TF: Truncate rounds toward zero between floats, otherwise to nearest.
    x = np.array([70000, 1 + 2**-10 + 2**-12, 1 + 2**-11 + 2**-13, -(1 + 2**-11 + 2**-13)], f32)
    check(ev("math.cast", x, to="float16"), [inf, 1 + 2**-10, 1 + 2**-10, -(1 + 2**-10)])
    check(ev("math.cast", x, to="float16", truncate=True), [inf, 1 + 2**-10, 1, -1])
    y = np.array([1 + 2**-24 + 2**-30], f64)
    check(ev("math.cast", y, to="float32", truncate=True), [1.0])                    # TF
    check(ev("math.cast", y, to="float32"), [1 + 2**-23])
    check(ev("math.cast", np.array([nan, -inf], f64), to="float32", truncate=True), [nan, -inf])
    check(ev("math.cast", np.array([7], i32), to="float16", truncate=True), [7])


def test_cast_inference():
    assert infer1("math.cast", [((None, 2), f32)], {"to": "int64"}) == TensorType((None, 2), i64)
    assert infer1("math.cast", [(None, np.bool_)], {"to": dt.float64}) == TensorType(None, f64)
    with pytest.raises(BuildError, match="Cast float32 to string is not supported"):
        infer("math.cast", [((2,), f32)], {"to": "string"})
    with pytest.raises(BuildError, match="operand 'x' has dtype string"):
        infer("math.cast", [((2,), object)], {"to": "int32"})
    with pytest.raises(BuildError, match="missing required attribute 'to'"):
        infer("math.cast", [((2,), f32)])


# Reductions ----------------------------------------------------------------------------------
X23 = np.array([[1, -2, 3], [4, 5, -6]], f64)


@pytest.mark.parametrize("name, ref", [("reduce_sum", np.sum), ("reduce_mean", np.mean),
                                       ("reduce_max", np.max), ("reduce_min", np.min),
                                       ("reduce_prod", np.prod)])
@pytest.mark.parametrize("axes", [None, [0], [1], [-1], [0, 1], [1, 0], []])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_reductions_against_numpy(name, ref, axes, keep_dims):
    attrs = {"keep_dims": keep_dims} if axes is None else {"axes": axes, "keep_dims": keep_dims}
    axis = None if axes is None else tuple(axes)
    check(ev(f"math.{name}", X23, **attrs), ref(X23, axis=axis, keepdims=keep_dims), rtol=1e-15)
    check(ev(f"math.{name}", X23.astype(f32), **attrs),
          ref(X23, axis=axis, keepdims=keep_dims).astype(f32), rtol=1e-6)


def test_reduce_any_all():
    b = np.array([[True, False], [False, False]])
    check(ev("math.reduce_any", b, axes=[1]), [True, False])
    check(ev("math.reduce_all", b, axes=[0], keep_dims=True), [[False, False]])
    check(ev("math.reduce_any", b), True)
    check(ev("math.reduce_any", np.zeros((0,), bool), axes=[0]), False)              # TF
    check(ev("math.reduce_all", np.zeros((0,), bool), axes=[0]), True)               # TF


def test_reduction_of_empty_tensors():
    # TF, reducing axis 0 of [0, 3] float32 / int32 and of [0] uint8:
    e, ei, eu = np.zeros((0, 3), f32), np.zeros((0, 3), i32), np.zeros((0,), u8)
    for name, fl, it, ui in [("reduce_sum", 0, 0, 0), ("reduce_mean", nan, 0, 0),
                             ("reduce_max", -inf, INT32_MIN, 0), ("reduce_min", inf, INT32_MAX, 255),
                             ("reduce_prod", 1, 1, 1)]:
        check(ev(f"math.{name}", e, axes=[0]), [fl] * 3)
        check(ev(f"math.{name}", ei, axes=[0]), [it] * 3)
        check(ev(f"math.{name}", eu, axes=[0]), ui)
        assert ev(f"math.{name}", e, axes=[1]).shape == (0,)
    check(ev("math.reduce_mean", np.zeros((2, 0), i32), axes=[1], keep_dims=True), [[0], [0]])  # TF


def test_reduction_nan():
    x = np.array([[1, nan, 3], [nan, 2, 0], [1, 2, 3]], f32)
    check(ev("math.reduce_max", x, axes=[1]), [nan, nan, 3])                          # TF
    check(ev("math.reduce_min", x, axes=[1]), [nan, nan, 1])
    check(ev("math.reduce_sum", x, axes=[0]), [nan, nan, 6])
    check(ev("math.reduce_max", np.array([-inf, -inf], f32)), -inf)


def test_reduce_integer_overflow_and_mean():
    check(ev("math.reduce_sum", np.array([100, 100, 100], i8)), 44)                 # TF: wraps
    check(ev("math.reduce_prod", np.array([2**16, 2**16], i32)), 0)
    check(ev("math.reduce_sum", np.array([255, 1], u8)), 0)
    check(ev("math.reduce_max", np.array([[1, 200], [7, 3]], u8), axes=[0]), [7, 200])
    # TF: integer means round toward zero and are summed in 64 bits.
    for values, dtype, mean in [([1, 2, 2, -7], i32, 0), ([-1, -2], i32, -1), ([-7, 0, 0], i32, -2),
                                ([200] * 3, u8, 200), ([100] * 3, i8, 100),
                                ([100, 100, 100, -100, 27], i8, 45), ([INT32_MAX] * 3, i32, INT32_MAX),
                                ([2**62] * 3, i64, -1537228672809129301), ([2**64 - 1] * 2, u64, 2**63 - 1),
                                ([2**63 - 1] * 2, i64, -1), ([30000] * 1000, i16, 30000)]:
        check(ev("math.reduce_mean", np.array(values, dtype)), mean)
    check(ev("math.reduce_mean", np.array([1 + 1j, 2], c64)), 1.5 + 0.5j)          # TF


def test_reduce_float16():
    # float16 sums accumulate in float32. TF: the sum of [2048, 1 x 8] is 2056 and its mean
    # 228.5; the mean of 1000 x 60000 is inf (the float16 sum overflows before dividing).
    x = np.array([2048] + [1] * 8, f16)
    check(ev("math.reduce_sum", x), 2056)
    check(ev("math.reduce_mean", x), 228.5)
    check(ev("math.reduce_mean", np.full((1000,), 60000, f16)), inf)
    check(ev("math.reduce_prod", np.array([1000, 1000, 0.001, 0.001], f16)), 1.0, rtol=2e-3)


def test_reduction_scalar_input():
    check(ev("math.reduce_sum", np.array(3.0, f32)), 3.0)
    check(ev("math.reduce_max", np.array(3, i32), keep_dims=True), 3)
    with pytest.raises(BuildError, match="Invalid reduction dimension 0 for input with 0 dimensions"):
        infer("math.reduce_sum", [((), f32)], {"axes": [0]})


def test_reduction_inference():
    t = [((None, 4, 5), f32)]
    assert infer1("math.reduce_sum", t) == TensorType((), f32)
    assert infer1("math.reduce_sum", t, {"keep_dims": True}) == TensorType((1, 1, 1), f32)
    assert infer1("math.reduce_mean", t, {"axes": [1]}) == TensorType((None, 5), f32)
    assert infer1("math.reduce_max", t, {"axes": [-1, 0], "keep_dims": True}) == TensorType((1, 4, 1), f32)
    assert infer1("math.reduce_min", t, {"axes": []}) == TensorType((None, 4, 5), f32)
    assert infer1("math.reduce_any", [((2, None), np.bool_)], {"axes": [0]}) == TensorType((None,), np.bool_)
    # Unknown rank: unknown result, except a full reduction without keep_dims (a scalar).
    assert infer1("math.reduce_sum", [(None, f32)]) == TensorType((), f32)
    assert infer1("math.reduce_sum", [(None, f32)], {"keep_dims": True}) == TensorType(None, f32)
    assert infer1("math.reduce_prod", [(None, i32)], {"axes": [0]}) == TensorType(None, i32)
    with pytest.raises(BuildError, match="Invalid reduction dimension 3 for input with 3 dimensions"):
        infer("math.reduce_sum", t, {"axes": [3]})
    with pytest.raises(BuildError, match="Invalid reduction dimension -4 for input with 3 dimensions"):
        infer("math.reduce_sum", t, {"axes": [-4]})
    with pytest.raises(BuildError, match="Axes contains duplicate dimension: 1"):
        infer("math.reduce_sum", t, {"axes": [1, -2]})
    with pytest.raises(BuildError, match="duplicate"):
        infer("math.reduce_sum", [(None, f32)], {"axes": [1, 1]})
    with pytest.raises(BuildError, match="must be a list of integers"):
        infer("math.reduce_sum", t, {"axes": 1})
    with pytest.raises(BuildError, match="operand 'x' has dtype bool"):
        infer("math.reduce_sum", [((2,), np.bool_)])
    with pytest.raises(BuildError, match="operand 'x' has dtype complex64"):
        infer("math.reduce_max", [((2,), c64)])
    with pytest.raises(BuildError, match="operand 'x' has dtype float32"):
        infer("math.reduce_all", [((2,), f32)])


# argmax / argmin -----------------------------------------------------------------------------
def test_argmax_argmin_values():
    x = np.array([[3, 5, 5, 1], [0, -1, 7, 7]], f32)
    check(ev("math.argmax", x, axis=1), [1, 2], i64)                                  # first on ties
    check(ev("math.argmin", x, axis=-1), [3, 1], i64)
    check(ev("math.argmax", x, axis=0, output_type="int32"), [0, 0, 1, 1], i32)
    check(ev("math.argmin", np.array([3, 1, 5, 1], f32), axis=0), 1)                 # TF
    check(ev("math.argmax", np.array([False, True, True]), axis=0), 1)               # TF
    check(ev("math.argmax", np.array([INT32_MIN, INT32_MIN], i32), axis=0), 0)
    check(ev("math.argmin", np.array([[9, 2**64 - 1]], u64), axis=1), [0])


def test_argmax_nan():
    # TF: NaN never wins (an all-NaN slice gives 0), nor does -inf against a leading NaN.
    check(ev("math.argmax", np.array([1, nan, 3, nan], f32), axis=0), 2)
    check(ev("math.argmin", np.array([1, nan, 0, nan], f32), axis=0), 2)
    check(ev("math.argmax", np.array([nan, 5, 3], f32), axis=0), 1)
    check(ev("math.argmax", np.array([nan, nan], f32), axis=0), 0)
    check(ev("math.argmin", np.array([nan, nan], f64), axis=0), 0)
    check(ev("math.argmax", np.array([nan, -inf, -inf], f32), axis=0), 0)
    check(ev("math.argmin", np.array([nan, inf, inf], f32), axis=0), 0)
    m = np.array([[nan, 1, 3], [2, nan, nan], [nan, -inf, nan]], f32)
    check(ev("math.argmax", m, axis=1), [2, 0, 0])
    check(ev("math.argmax", m, axis=0), [1, 0, 0])


def test_argmax_empty():
    with pytest.raises(InterpreterError, match=r"Reduction axis 0 is empty in shape \[0\]"):   # TF
        ev("math.argmax", np.zeros((0,), f32), axis=0)
    check(ev("math.argmax", np.zeros((0, 3), f32), axis=1), np.zeros((0,), i64))    # TF: fine
    check(ev("math.argmin", np.zeros((3, 0), f32), axis=0), np.zeros((0,), i64))


def test_argmax_inference():
    assert infer1("math.argmax", [((None, 4, 5), f32)], {"axis": 1}) == TensorType((None, 5), i64)
    assert infer1("math.argmin", [((None, 4), i8)], {"axis": -2, "output_type": "int32"}) == TensorType((4,), i32)
    assert infer1("math.argmax", [(None, f32)], {"axis": 3}) == TensorType(None, i64)
    with pytest.raises(BuildError, match=r"Expected dimension in the range \[-2, 2\), but got 2"):
        infer("math.argmax", [((2, 3), f32)], {"axis": 2})
    with pytest.raises(BuildError, match=r"Expected dimension in the range \[0, 0\), but got 0"):
        infer("math.argmin", [((), f32)], {"axis": 0})                              # TF: runtime error
    with pytest.raises(BuildError, match="output_type"):
        infer("math.argmax", [((2,), f32)], {"axis": 0, "output_type": "float32"})
    with pytest.raises(BuildError, match="missing required attribute 'axis'"):
        infer("math.argmax", [((2,), f32)])
    with pytest.raises(BuildError, match="operand 'x' has dtype complex64"):
        infer("math.argmax", [((2,), c64)], {"axis": 0})


# matmul ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_against_numpy(ta, tb):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 1, 3, 4))
    b = rng.standard_normal((5, 4, 6))
    a_in = np.swapaxes(a, -1, -2) if ta else a
    b_in = np.swapaxes(b, -1, -2) if tb else b
    check(ev("math.matmul", a_in, b_in, transpose_a=ta, transpose_b=tb), a @ b, rtol=1e-12)
    check(ev("math.matmul", a_in.astype(f32), b_in.astype(f32), transpose_a=ta, transpose_b=tb),
          (a @ b).astype(f32), rtol=1e-5, atol=1e-5)


def test_matmul_special():
    check(ev("math.matmul", np.array([[2**30, 2**30]], i32), np.array([[2], [2]], i32)), [[0]])  # TF: wraps
    check(ev("math.matmul", np.zeros((2, 0), f32), np.zeros((0, 3), f32)), np.zeros((2, 3), f32))  # TF
    check(ev("math.matmul", np.array([[nan, 1]], f32), np.array([[0], [1]], f32)), [[nan]])         # TF
    # TF: float16 products accumulate in float32, so 80000 - 80000 does not overflow.
    check(ev("math.matmul", np.full((1, 4), 40000, f16), np.array([[1], [1], [-1], [-1]], f16)), [[0]])
    # TF: transpose_a transposes without conjugating: [[1j]]^T [[1j]] = -1.
    check(ev("math.matmul", np.array([[1j]], c64), np.array([[1j]], c64), transpose_a=True), [[-1]])
    assert ev("math.matmul", np.zeros((0, 2, 3), f64), np.zeros((3, 4), f64)).shape == (0, 2, 4)


def test_matmul_inference():
    F = f32
    assert infer1("math.matmul", [((None, 3), F), ((3, 7), F)]) == TensorType((None, 7), F)
    assert infer1("math.matmul", [((2, 1, 3, 4), F), ((3, 4, 5), F)]) == TensorType((2, 3, 3, 5), F)
    assert infer1("math.matmul", [((None, 4, 3), F), ((5, None), F)],
                  {"transpose_a": True, "transpose_b": True}) == TensorType((None, 3, 5), F)
    assert infer1("math.matmul", [((2, None, 3), F), ((None, 3, 1), F)]) == TensorType((2, None, 1), F)
    assert infer1("math.matmul", [(None, F), ((3, 4), F)]) == TensorType(None, F)
    with pytest.raises(BuildError, match="Dimensions must be equal, but are 3 and 4"):
        infer("math.matmul", [((None, 3), F), ((4, 5), F)])                          # TF's words
    with pytest.raises(BuildError, match="Dimensions must be equal, but are 4 and 3"):
        infer("math.matmul", [((4, 2), F), ((3, 5), F)], {"transpose_a": True})
    with pytest.raises(BuildError, match="Shape must be at least rank 2 but is rank 1"):
        infer("math.matmul", [((4,), F), ((4, 5), F)])
    with pytest.raises(BuildError, match="cannot be broadcast"):
        infer("math.matmul", [((2, 3, 4), F), ((3, 4, 5), F)])
    with pytest.raises(BuildError, match="same dtype"):
        infer("math.matmul", [((2, 2), F), ((2, 2), f64)])
    with pytest.raises(BuildError, match="operand 'a' has dtype int8"):
        infer("math.matmul", [((2, 2), i8), ((2, 2), i8)])


def test_matmul_runtime_mismatch():
    fb = FunctionBuilder("f", [TensorType((2, None), f32), TensorType((None, 2), f32)])
    fn = fb.ret([fb.op("math.matmul", *fb.args)])
    with pytest.raises(InterpreterError, match="Matrix size-incompatible"):
        run_function(fn, [np.zeros((2, 3), f32), np.zeros((4, 2), f32)])


# linalg -----------------------------------------------------------------------------------------
def test_matrix_inverse():
    a = np.array([[[4, 7], [2, 6]], [[1, 2], [3, 5]]], f64)
    check(ev("linalg.matrix_inverse", a), np.linalg.inv(a), rtol=1e-14)
    check(ev("linalg.matrix_inverse", a.astype(f32)), np.linalg.inv(a).astype(f32), rtol=1e-6)
    check(ev("linalg.matrix_inverse", np.array([[2, 1], [1, 1]], f16)), [[1, -1], [-1, 2]])   # TF
    # TF: adjoint inverts the conjugate transpose.
    c = np.array([[1 + 1j, 2], [0, 1j]], c64)
    check(ev("linalg.matrix_inverse", c, adjoint=True), [[0.5 + 0.5j, 0], [1 - 1j, 1j]], rtol=1e-6)
    check(ev("linalg.matrix_inverse", np.zeros((0, 0), f32)), np.zeros((0, 0), f32))          # TF
    check(ev("linalg.matrix_inverse", np.zeros((0, 2, 2), f32)), np.zeros((0, 2, 2), f32))


@pytest.mark.parametrize("m", [[[1, 2], [2, 4]], [[nan, 2], [2, 4]], [[0, 0], [0, 0]]])
def test_matrix_inverse_not_invertible(m):
    with pytest.raises(InterpreterError, match=r"Input is not invertible\."):            # TF
        ev("linalg.matrix_inverse", np.array(m, f32))
    with pytest.raises(InterpreterError, match="not invertible"):                       # any in a batch
        ev("linalg.matrix_inverse", np.array([[[1, 0], [0, 1]], m], f64))


def test_matrix_determinant():
    a = np.array([[[4, 7], [2, 6]], [[1, 2], [3, 5]]], f64)
    check(ev("linalg.matrix_determinant", a), [10, -1], rtol=1e-14)
    check(ev("linalg.matrix_determinant", a.astype(f32)), [10, -1], rtol=1e-6)
    check(ev("linalg.matrix_determinant", np.array([[1j, 0], [0, 2]], c128)), 2j)
    check(ev("linalg.matrix_determinant", np.array([[1, 2], [2, 4]], f32)), 0, atol=1e-6)  # TF: 0
    check(ev("linalg.matrix_determinant", np.zeros((2, 0, 0), f32)), [1, 1])             # TF


def test_linalg_inference():
    assert infer1("linalg.matrix_inverse", [((None, 3, None), f32)]) == TensorType((None, 3, None), f32)
    assert infer1("linalg.matrix_inverse", [(None, c64)], {"adjoint": True}) == TensorType(None, c64)
    assert infer1("linalg.matrix_determinant", [((5, None, 3), f64)]) == TensorType((5,), f64)
    assert infer1("linalg.matrix_determinant", [(None, f32)]) == TensorType(None, f32)
    for name in ("linalg.matrix_inverse", "linalg.matrix_determinant"):
        with pytest.raises(BuildError, match="Dimensions must be equal, but are 2 and 3"):
            infer(name, [((2, 3), f32)])
        with pytest.raises(BuildError, match="Shape must be at least rank 2 but is rank 1"):
            infer(name, [((3,), f32)])
        with pytest.raises(BuildError, match="operand 'x' has dtype int32"):
            infer(name, [((3, 3), i32)])



# TF: tf.linalg.qr of [[1, 2], [3, 4], [5, 6]] (float64), reduced and full.
QR_Q = [[-0.16903085094570325, 0.89708522714506, 0.40824829046386474],
        [-0.5070925528371099, 0.27602622373694297, -0.8164965809277257],
        [-0.8451542547285166, -0.34503277967117774, 0.4082482904638624]]
QR_R = [[-5.916079783099616, -7.437357441610944], [0, 0.8280786712108239], [0, 0]]


def test_qr_matches_tf():
    a = np.array([[1, 2], [3, 4], [5, 6]], f64)
    q, r = ev("linalg.qr", a)
    check(q, np.array(QR_Q)[:, :2], rtol=1e-13, atol=1e-15)
    check(r, QR_R[:2], rtol=1e-13, atol=1e-15)
    q, r = ev("linalg.qr", a, full_matrices=True)
    check(q, QR_Q, rtol=1e-13, atol=1e-15)
    check(r, QR_R, rtol=1e-13, atol=1e-15)
    q, r = ev("linalg.qr", a.astype(f32))
    check(q, np.array(QR_Q)[:, :2], dtype=f32, rtol=1e-5, atol=1e-6)
    # TF computes half QR in half precision; tfc in float32 rounded once (closer to exact).
    q, r = ev("linalg.qr", np.array([[1, 2], [3, 4]], f16))
    check(q, [[-0.3164, -0.948], [-0.948, 0.317]], dtype=f16, atol=2e-3)      # TF
    check(r, [[-3.162, -4.43], [0, -0.629]], dtype=f16, atol=1e-2)            # TF


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (4, 4), (2, 3, 2), (2, 1, 2, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_qr_reconstructs(shape, full):
    a = np.random.default_rng(1).standard_normal(shape)
    q, r = ev("linalg.qr", a, full_matrices=full)
    m, n = shape[-2:]
    k = m if full else min(m, n)
    assert q.shape == shape[:-2] + (m, k) and r.shape == shape[:-2] + (k, n)
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)),
                               atol=1e-12)
    np.testing.assert_array_equal(np.tril(r, -1), 0)


def test_qr_complex_and_special():
    a = np.array([[1 + 1j, 2], [3, 4j]], c64)
    q, r = ev("linalg.qr", a)
    # TF: r = [[-3.3166249, -0.6030226-3.0151136j], [0, 3.2473764]]
    check(r, [[-3.3166249, -0.6030226 - 3.0151136j], [0, 3.2473764]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q @ r, a, atol=1e-5)
    # TF: an all-zero column is left alone (H = I), a zero matrix gives Q = I.
    q, r = ev("linalg.qr", np.array([[0, 1], [0, 2], [0, 3]], f64))
    check(q, [[1, 0], [0, -0.5547001962252291], [0, -0.8320502943378437]], rtol=1e-14)
    check(r, [[0, 1], [0, -3.605551275463989]], rtol=1e-14)
    # TF: NaN spreads to all of Q and the upper triangle of R.
    q, r = ev("linalg.qr", np.array([[nan, 1], [2, 3]], f32))
    assert np.isnan(q).all() and np.isnan(r[np.triu_indices(2)]).all() and r[1, 0] == 0
    # TF: empty matrices.
    for shape, full, q_shape, r_shape in [((0, 3), False, (0, 0), (0, 3)), ((3, 0), False, (3, 0), (0, 0)),
                                          ((3, 0), True, (3, 3), (3, 0)), ((2, 0, 0), True, (2, 0, 0), (2, 0, 0))]:
        q, r = ev("linalg.qr", np.zeros(shape, f32), full_matrices=full)
        assert q.shape == q_shape and r.shape == r_shape and q.dtype == r.dtype == f32
    check(ev("linalg.qr", np.zeros((3, 0), f32), full_matrices=True)[0], np.eye(3))


def test_qr_inference():
    def qr_types(shape, dtype=f32, **attrs):
        return infer("linalg.qr", [(shape, dtype)], attrs)

    assert qr_types((5, 3, 2)) == [TensorType((5, 3, 2), f32), TensorType((5, 2, 2), f32)]
    assert qr_types((3, 2), full_matrices=True) == [TensorType((3, 3), f32), TensorType((3, 2), f32)]
    assert qr_types((None, 4, None)) == [TensorType((None, 4, None), f32), TensorType((None, None, None), f32)]
    assert qr_types((None, 4, None), full_matrices=True) == [TensorType((None, 4, 4), f32),
                                                               TensorType((None, 4, None), f32)]
    assert qr_types(None, c128) == [TensorType(None, c128), TensorType(None, c128)]
    with pytest.raises(BuildError, match="Shape must be at least rank 2 but is rank 1"):
        qr_types((3,))
    with pytest.raises(BuildError, match="operand 'x' has dtype int32"):
        qr_types((3, 3), i32)
    with pytest.raises(BuildError, match="attribute 'full_matrices' must be true or false"):
        qr_types((3, 3), full_matrices=1)

# Elementwise inference and errors -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["add", "floor_mod", "maximum", "pow", "atan2"])
def test_binary_inference(name):
    F = f32
    assert infer1(f"math.{name}", [((None, 4), F), ((3, 1), F)]) == TensorType((3, 4), F)
    assert infer1(f"math.{name}", [((None,), F), ((None,), F)]) == TensorType((None,), F)
    assert infer1(f"math.{name}", [((None, 1), F), ((5,), F)]) == TensorType((None, 5), F)
    assert infer1(f"math.{name}", [((2, 1, 3), F), ((4, 1), F)]) == TensorType((2, 4, 3), F)
    assert infer1(f"math.{name}", [(None, F), ((3,), F)]) == TensorType(None, F)
    with pytest.raises(BuildError, match="cannot be broadcast"):
        infer(f"math.{name}", [((2, 3), F), ((4,), F)])
    with pytest.raises(BuildError, match="same dtype"):
        infer(f"math.{name}", [((2,), F), ((2,), f64)])


def test_compare_inference():
    assert infer1("math.less", [((None, 2), i32), ((2,), i32)]) == TensorType((None, 2), np.bool_)
    assert infer1("math.equal", [(None, object), ((), object)]) == TensorType(None, np.bool_)
    assert infer1("math.is_nan", [((None, 2), f16)]) == TensorType((None, 2), np.bool_)
    assert infer1("math.exp", [(None, f32)]) == TensorType(None, f32)


@pytest.mark.parametrize("name, dtype", [
    ("floor", i32), ("ceil", i64), ("sqrt", i32), ("abs", u8), ("abs", c64), ("neg", u32),
    ("is_nan", i32), ("logical_not", i32), ("round", i8), ("reciprocal", i32), ("exp", np.bool_),
    ("real_div", i32), ("truncate_mod", u8), ("pow", u8), ("maximum", c64), ("atan2", c128),
    ("greater", np.bool_), ("less", object), ("logical_and", f32), ("sub", object), ("mul", np.bool_),
    ("squared_difference", i8), ("floor_div", c64), ("add", np.bool_),
])
def test_rejected_dtypes(name, dtype):
    with pytest.raises(BuildError, match="has dtype"):
        infer(f"math.{name}", [((2,), dtype)] * len(get_op(f"math.{name}").operands))


def test_wrong_operand_count_and_attrs():
    with pytest.raises(BuildError, match="expected 2 operands, got 1"):
        infer("math.add", [((2,), f32)])
    with pytest.raises(BuildError, match="unknown attribute 'axis'"):
        infer("math.exp", [((2,), f32)], {"axis": 1})
    with pytest.raises(BuildError, match="attribute 'keep_dims' must be true or false"):
        infer("math.reduce_sum", [((2,), f32)], {"keep_dims": 1})


def test_binary_runtime_broadcast_error():
    fb = FunctionBuilder("f", [TensorType((None,), f32), TensorType((None,), f32)])
    fn = fb.ret([fb.op("math.add", *fb.args)])
    check(run_function(fn, [np.ones(3, f32), np.ones(1, f32)])[0], [2, 2, 2])
    with pytest.raises(InterpreterError, match=r"Incompatible shapes: \[3\] vs. \[2\]"):   # TF's words
        run_function(fn, [np.ones(3, f32), np.ones(2, f32)])
