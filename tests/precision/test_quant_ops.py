"""The quant op family (ir/ops/quant.py): hand-computed values, round-trip error bounds of each
scheme (float scales per tensor / per channel, power-of-two fixed-point scales), saturation,
exact integer conv/matmul against plain loops, and clear errors for bad attributes."""

import numpy as np
import pytest

from tfc.ir import BuildError, FunctionBuilder, Module, TensorType, dtypes as dt, parse_module, print_module
from tfc.runtime.interpreter import InterpreterError, evaluate_op, run_function

F32 = np.float32
RNG = np.random.default_rng(7)

EXAMPLES = [
    ("quant.quantize", [np.array([0.3, -1.2, 5.0], F32)], {"dtype": "i8", "scale": [0.01]}),
    ("quant.quantize", [np.ones((2, 3), F32)], {"dtype": "i16", "scale": [0.5, 0.25, 0.125], "axis": 1}),
    ("quant.dequantize", [np.array([3, -7], np.int8)], {"scale": [0.25]}),
    ("quant.dequantize", [np.array([[3, -7]], np.int32)], {"scale": [0.25, 2.0], "axis": 1, "dtype": "f16"}),
    ("quant.requantize", [np.array([1000, -5000], np.int32)], {"in_scale": [0.001], "out_scale": [0.05],
                                                               "dtype": "i8"}),
    ("quant.conv2d", [np.arange(16, dtype=np.int8).reshape(1, 4, 4, 1), np.ones((2, 2, 1, 2), np.int8)],
     {"strides": [1, 1], "padding": "VALID"}),
    ("quant.matmul", [np.array([[1, 2]], np.int16), np.array([[3], [4]], np.int16)], {}),
]


def q(x, **attrs):
    return evaluate_op("quant.quantize", np.asarray(x), **attrs)


def dq(x, **attrs):
    return evaluate_op("quant.dequantize", np.asarray(x), **attrs)


# Hand-computed values ------------------------------------------------------------------------
def test_quantize_hand_values():
    x = np.array([0.0, 0.24, 0.26, 0.75, -0.75, 1.25, -1.0, 100.0, -100.0, np.nan, np.inf, -np.inf], F32)
    # scale 0.5: x * 2 -> 0, 0.48, 0.52, 1.5, -1.5, 2.5, -2, 200, -200 -> rint half to even
    got = q(x, dtype="i8", scale=[0.5])
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, [0, 0, 1, 2, -2, 2, -2, 127, -128, 0, 127, -128])
    got16 = q(x, dtype="i16", scale=[0.5])
    assert got16.dtype == np.int16
    np.testing.assert_array_equal(got16, [0, 0, 1, 2, -2, 2, -2, 200, -200, 0, 32767, -32768])


def test_quantize_per_channel_hand_values():
    x = np.array([[1.0, 1.0, 1.0], [-3.0, 0.3, 10.0]], F32)
    got = q(x, dtype="i8", scale=[1.0, 0.1, 0.05], axis=1)
    np.testing.assert_array_equal(got, [[1, 10, 20], [-3, 3, 127]])
    # axis may be negative
    np.testing.assert_array_equal(q(x, dtype="i8", scale=[1.0, 0.1, 0.05], axis=-1), got)


def test_quantize_uses_f32_reciprocal_of_f64_scale():
    # inv = f32(1 / f64(0.1)) = 10.0 exactly in f32; x * inv in f32.
    x = np.array([0.05, 0.15, 0.25], F32)
    expected = np.rint(x * np.float32(1 / 0.1)).astype(np.int8)
    np.testing.assert_array_equal(q(x, dtype="i8", scale=[0.1]), expected)


def test_dequantize_hand_values():
    np.testing.assert_array_equal(dq(np.array([3, -7, 127], np.int8), scale=[0.25]), F32([0.75, -1.75, 31.75]))
    got = dq(np.array([[2, 2], [-4, 8]], np.int32), scale=[0.5, 3.0], axis=1)
    np.testing.assert_array_equal(got, F32([[1.0, 6.0], [-2.0, 24.0]]))
    half = dq(np.array([1, 3], np.int16), scale=[0.5], dtype="f16")
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, np.float16([0.5, 1.5]))


def test_requantize_hand_values():
    # m = 0.001 / 0.05 = 0.02: 1000 -> 20, -5000 -> -100, 7000 -> 140 -> 127, 25 -> 0.5 -> 0 (even)
    got = evaluate_op("quant.requantize", np.array([1000, -5000, 7000, 25, 75], np.int32),
                      in_scale=[0.001], out_scale=[0.05], dtype="i8")
    np.testing.assert_array_equal(got, [20, -100, 127, 0, 2])
    per = evaluate_op("quant.requantize", np.array([[100, 100]], np.int64), in_scale=[1.0, 2.0],
                      out_scale=[4.0], axis=1, dtype="i16")
    np.testing.assert_array_equal(per, [[25, 50]])


def test_requantize_equals_dequantize_then_quantize_on_exact_scales():
    acc = RNG.integers(-2 ** 20, 2 ** 20, size=200).astype(np.int32)
    direct = evaluate_op("quant.requantize", acc, in_scale=[2.0 ** -10], out_scale=[2.0 ** -3], dtype="i16")
    via = q(dq(acc, scale=[2.0 ** -10]), dtype="i16", scale=[2.0 ** -3])
    np.testing.assert_array_equal(direct, via)


# Round-trip error bounds ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype, qmax", [("i8", 127), ("i16", 32767)])
def test_round_trip_float_scheme_per_tensor(dtype, qmax):
    x = RNG.uniform(-3, 3, size=5000).astype(F32)
    amax = float(np.abs(x).max())
    scale = amax / qmax
    back = dq(q(x, dtype=dtype, scale=[scale]), scale=[scale])
    # the f32 arithmetic adds a few ulps on top of scale/2
    assert np.max(np.abs(back - x)) <= scale / 2 * (1 + 1e-5) + 4 * np.finfo(F32).eps * amax


@pytest.mark.parametrize("dtype, qmax", [("i8", 127), ("i16", 32767)])
def test_round_trip_float_scheme_per_channel(dtype, qmax):
    w = (RNG.standard_normal((3, 3, 4, 6)) * np.array([0.01, 0.1, 1, 10, 100, 0.5])).astype(F32)
    scales = np.abs(w).max(axis=(0, 1, 2)) / qmax
    back = dq(q(w, dtype=dtype, scale=list(scales), axis=3), scale=list(scales), axis=3)
    err = np.abs(back - w).max(axis=(0, 1, 2))
    assert np.all(err <= scales / 2 * (1 + 1e-5) + 4 * np.finfo(F32).eps * np.abs(w).max(axis=(0, 1, 2)))


@pytest.mark.parametrize("dtype, bits", [("i8", 8), ("i16", 16)])
def test_round_trip_fixed_point_scheme(dtype, bits):
    # MLU: scale = 2^pos with the smallest pos such that amax / 2^pos fits; dst = round(src / 2^pos)
    x = RNG.uniform(-5, 5, size=3000).astype(F32)
    amax = float(np.abs(x).max())
    pos = int(np.ceil(np.log2(amax / (2 ** (bits - 1) - 1))))
    scale = 2.0 ** pos
    qx = q(x, dtype=dtype, scale=[scale])
    # power-of-two scales: the f32 product is exact, so this is exactly round(x / 2^pos)
    np.testing.assert_array_equal(qx, np.rint(x.astype(np.float64) / scale).astype(qx.dtype))
    back = dq(qx, scale=[scale])
    np.testing.assert_array_equal(back, qx.astype(np.float64) * scale)   # exact, too
    assert np.max(np.abs(back - x)) <= scale / 2


def test_saturation_outside_the_range():
    x = np.array([-1e9, -129.0, -128.6, 127.4, 127.6, 1e9], F32)
    np.testing.assert_array_equal(q(x, dtype="i8", scale=[1.0]), [-128, -128, -128, 127, 127, 127])
    x16 = np.array([-1e9, 32767.6, 1e9], F32)
    np.testing.assert_array_equal(q(x16, dtype="i16", scale=[1.0]), [-32768, 32767, 32767])
    r = evaluate_op("quant.requantize", np.array([2 ** 30, -2 ** 30], np.int32), in_scale=[1.0],
                    out_scale=[1.0], dtype="i16")
    np.testing.assert_array_equal(r, [32767, -32768])


# Integer conv / matmul -----------------------------------------------------------------------
def _loop_conv(x, w, stride, pad):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), pad[0], pad[1], (0, 0)))
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((n, oh, ow, o), np.int64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w.astype(np.int64))
    return out


@pytest.mark.parametrize("npdt, acc", [(np.int8, np.int32), (np.int16, np.int64)])
def test_conv2d_exact_sums(npdt, acc):
    info = np.iinfo(npdt)
    x = RNG.integers(info.min, info.max + 1, size=(2, 7, 6, 5)).astype(npdt)
    w = RNG.integers(info.min, info.max + 1, size=(3, 3, 5, 4)).astype(npdt)
    got = evaluate_op("quant.conv2d", x, w, strides=[2, 2], padding="SAME")
    assert got.dtype == acc
    # SAME, stride 2: h 7 -> 4, total pad (3*2+3-7)=2 -> (1, 1); w 6 -> 3, total (2*2+3-6)=1 -> (0, 1)
    np.testing.assert_array_equal(got, _loop_conv(x, w, 2, ((1, 1), (0, 1))))
    valid = evaluate_op("quant.conv2d", x, w, strides=[1, 1], padding="VALID")
    np.testing.assert_array_equal(valid, _loop_conv(x, w, 1, ((0, 0), (0, 0))))


def test_conv2d_extreme_i8_values_do_not_wrap():
    x = np.full((1, 3, 3, 64), -128, np.int8)
    w = np.full((3, 3, 64, 1), -128, np.int8)
    got = evaluate_op("quant.conv2d", x, w, strides=[1, 1], padding="VALID")
    assert got.item() == 128 * 128 * 9 * 64


@pytest.mark.parametrize("npdt, acc", [(np.int8, np.int32), (np.int16, np.int64)])
def test_matmul_exact_sums(npdt, acc):
    info = np.iinfo(npdt)
    a = RNG.integers(info.min, info.max + 1, size=(5, 300)).astype(npdt)
    b = RNG.integers(info.min, info.max + 1, size=(300, 3)).astype(npdt)
    got = evaluate_op("quant.matmul", a, b)
    assert got.dtype == acc
    expected = [[sum(int(a[i, k]) * int(b[k, j]) for k in range(300)) for j in range(3)] for i in range(5)]
    np.testing.assert_array_equal(got, np.array(expected, np.int64))
    np.testing.assert_array_equal(evaluate_op("quant.matmul", a.T.copy(), b.T.copy(), transpose_a=True,
                                              transpose_b=True), got)


# Errors --------------------------------------------------------------------------------------
def _build(name, types, attrs):
    fb = FunctionBuilder("main", types, [f"a{i}" for i in range(len(types))])
    return fb.create(name, list(fb.args), attrs)


@pytest.mark.parametrize("name, types, attrs, message", [
    ("quant.quantize", [TensorType((4,), dt.float32)], {"dtype": "i32", "scale": [1.0]}, "i8 or i16"),
    ("quant.quantize", [TensorType((4,), dt.float32)], {"dtype": "i8", "scale": [1.0, 2.0]}, "no 'axis'"),
    ("quant.quantize", [TensorType((2, 3), dt.float32)], {"dtype": "i8", "scale": [1.0, 2.0], "axis": 1},
     "expected 1 or 3"),
    ("quant.quantize", [TensorType((4,), dt.float32)], {"dtype": "i8", "scale": [0.0]}, "positive"),
    ("quant.quantize", [TensorType((4,), dt.int32)], {"dtype": "i8", "scale": [1.0]}, "operand 'x'"),
    ("quant.dequantize", [TensorType((4,), dt.float32)], {"scale": [1.0]}, "operand 'q'"),
    ("quant.dequantize", [TensorType((4,), dt.int8)], {"scale": [1.0], "dtype": "i32"}, "f32 or f16"),
    ("quant.conv2d", [TensorType((1, 4, 4, 1), dt.int8), TensorType((2, 2, 1, 1), dt.int16)],
     {"strides": [1, 1], "padding": "VALID"}, "same dtype"),
    ("quant.matmul", [TensorType((2, 2), dt.int32), TensorType((2, 2), dt.int32)], {}, "operand 'a'"),
    ("quant.matmul", [TensorType((1, 2, 2), dt.int8), TensorType((2, 2), dt.int8)], {}, "2-D"),
])
def test_bad_input_errors(name, types, attrs, message):
    with pytest.raises(BuildError, match=message) as info:
        _build(name, types, attrs)
    assert name in str(info.value)


def test_text_round_trip_keeps_attributes():
    fb = FunctionBuilder("main", [TensorType((2, 3), dt.float32)], ["x"])
    qx = fb.create("quant.quantize", [fb.args[0]], {"dtype": "i8", "scale": [0.5, 0.25, 0.1], "axis": 1})
    back = fb.create("quant.dequantize", list(qx.results), {"scale": [0.5, 0.25, 0.1], "axis": 1})
    module = Module([fb.ret(list(back.results))])
    text = print_module(module)
    assert print_module(parse_module(text)) == text
    x = np.array([[1.0, 1.0, 1.0], [0.3, -0.3, 0.04]], F32)
    (got,) = run_function(parse_module(text)["main"], [x])
    np.testing.assert_array_equal(got, dq(q(x, dtype="i8", scale=[0.5, 0.25, 0.1], axis=1),
                                          scale=[0.5, 0.25, 0.1], axis=1))


def test_i8_sums_beyond_int32_wrap_like_the_kernels():
    k = 140_000                                           # 16384 * k > 2^31
    got = evaluate_op("quant.matmul", np.full((1, k), -128, np.int8), np.full((k, 1), -128, np.int8))
    expected = (16384 * k + 2 ** 31) % 2 ** 32 - 2 ** 31
    assert got.dtype == np.int32 and got.item() == expected
