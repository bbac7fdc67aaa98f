"""The precision-lowering pass (passes/precision.py) and quant-fold (passes/quant_fold.py):
rewritten layers against numpy models of the same integer arithmetic, the fixed-point and
fp16 forms, the plan's errors, and the folding of dequantize -> quantize pairs."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, parse_module, print_module, verify
from tfc.passes import PassManager
from tfc.passes.precision import (LowerPrecision, PrecisionError, find_layers, layer_spec, pow2_scale,
                                  weight_scales)
from tfc.passes.quant_fold import QuantFold
from tfc.runtime.interpreter import run_function

RNG = np.random.default_rng(3)
F32 = np.float32


def dense_module(m=4, k=6, n=5, relu_input=False, transpose_b=False):
    fb = FunctionBuilder("main", [TensorType((m, k), dt.float32)], ["x"])
    x = fb.args[0]
    if relu_input:
        x = fb.op("nn.relu", x)
    w = RNG.standard_normal((n, k) if transpose_b else (k, n)).astype(F32)
    y = fb.op("math.matmul", x, fb.constant(w), transpose_b=transpose_b)
    y = fb.op("nn.relu", y)
    return Module([fb.ret([y])]), w


def conv_module(padding="SAME", relu_input=False):
    fb = FunctionBuilder("main", [TensorType((2, 6, 5, 3), dt.float32)], ["x"])
    x = fb.args[0]
    if relu_input:
        x = fb.op("nn.relu", x)
    w = RNG.standard_normal((3, 3, 3, 4)).astype(F32)
    y = fb.op("nn.conv2d", x, fb.constant(w), strides=[1, 1], padding=padding)
    return Module([fb.ret([y])]), w


def ops(module):
    return [op.name for op in module["main"].body.ops]


def run(module, x):
    return run_function(module["main"], [x])[0]


# Layers -------------------------------------------------------------------------------------
def test_layers_are_named_in_op_order_with_their_model_line():
    from tfc.model import freeze, load_model

    names = [(layer.name, layer.location) for layer in find_layers(freeze(load_model("models/lenet.py"))["main"])]
    assert names == [("conv2d_0", "models/lenet.py:13"), ("conv2d_1", "models/lenet.py:13"),
                     ("matmul_2", "models/lenet.py:27"), ("matmul_3", "models/lenet.py:27"),
                     ("matmul_4", "models/lenet.py:27")]


def test_matmul_with_a_non_constant_weight_is_not_a_layer():
    fb = FunctionBuilder("main", [TensorType((2, 3), dt.float32), TensorType((3, 4), dt.float32)])
    y = fb.op("math.matmul", *fb.args)
    assert find_layers(fb.ret([y])) == []


# int8 / int16, float scheme ---------------------------------------------------------------------
@pytest.mark.parametrize("width, npdt, qmax", [("int8", np.int8, 127), ("int16", np.int16, 32767)])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_int_matmul_matches_a_numpy_model_bit_for_bit(width, npdt, qmax, transpose_b):
    module, w = dense_module(transpose_b=transpose_b)
    x = RNG.standard_normal((4, 6)).astype(F32)
    sx = 0.03
    LowerPrecision(layers=(layer_spec("matmul_0", width, sx),)).run(module)
    verify(module)
    assert [n for n in ops(module) if n != "core.constant"] == [
        "quant.quantize", "quant.matmul", "quant.dequantize", "nn.relu", "core.return"]
    # numpy model: per-output-channel weight scales, exact integer sums, f32 dequantization
    wk = w.T if transpose_b else w                                    # [K, N]
    sw = np.abs(wk).max(axis=0).astype(np.float64) / qmax
    qw = np.clip(np.rint(wk * (1 / sw).astype(F32)), -qmax - 1, qmax).astype(np.int64)
    qx = np.clip(np.rint(x * F32(1 / sx)), -qmax - 1, qmax).astype(np.int64)
    acc = qx @ qw
    expected = np.maximum(acc.astype(F32) * (sx * sw).astype(F32), 0)
    np.testing.assert_array_equal(run(module, x), expected)


def test_int8_matmul_error_is_within_the_quantization_bound():
    module, w = dense_module(k=64)
    x = RNG.uniform(-1, 1, (4, 64)).astype(F32)
    reference = run(module, x)
    sx = 1 / 127
    LowerPrecision(layers=(layer_spec("matmul_0", "int8", sx),)).run(module)
    sw = np.abs(w).max(axis=0) / 127
    # |sum x w - sum xq wq| <= sum (|x| sw/2 + |w| sx/2 + sx sw / 4)
    bound = np.abs(x) @ (np.ones_like(w) * sw / 2) + (sx / 2) * (np.ones_like(x) @ np.abs(w)) + 64 * sx * sw / 4
    assert np.all(np.abs(run(module, x) - reference) <= bound * 1.001 + 1e-6)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_int8_conv_matches_a_numpy_model(padding):
    from tfc.ir.ops.nn import _conv2d
    from tfc.ir.ops.quant import _qconv2d

    module, w = conv_module(padding)
    x = RNG.standard_normal((2, 6, 5, 3)).astype(F32)
    sx = 0.025
    LowerPrecision(layers=(layer_spec("conv2d_0", "int8", sx),)).run(module)
    assert "quant.conv2d" in ops(module) and "nn.conv2d" not in ops(module)
    sw = np.abs(w).max(axis=(0, 1, 2)).astype(np.float64) / 127
    qw = np.clip(np.rint(w * (1 / sw).astype(F32)), -128, 127).astype(np.int8)
    qx = np.clip(np.rint(x * F32(1 / sx)), -128, 127).astype(np.int8)
    acc = _qconv2d(qx, qw, strides=(1, 1), padding=padding)
    np.testing.assert_array_equal(run(module, x), acc.astype(F32) * (sx * sw).astype(F32))
    # and close to the float conv
    ref = _conv2d(x, w, strides=(1, 1), padding=padding)
    assert np.max(np.abs(run(module, x) - ref)) < 0.05 * np.max(np.abs(ref))


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_activation_offset_equals_the_layer_on_the_restored_input(padding):
    """x >= 0 quantized as x - c: the result is the conv of (dequantized x - c) + c with the
    dequantized weights, including SAME padding's border (zeros of x, not of x - c)."""
    from tfc.ir.ops.nn import _conv2d

    module, w = conv_module(padding, relu_input=True)
    x = RNG.standard_normal((2, 6, 5, 3)).astype(F32)
    c, sx = 1.5, 1.5 / 127
    LowerPrecision(layers=(layer_spec("conv2d_0", "int8", sx, c),)).run(module)
    names = ops(module)
    assert names.index("math.sub") < names.index("quant.quantize") < names.index("quant.conv2d") \
        < names.index("quant.dequantize") < names.index("math.add")
    r = np.maximum(x, 0)
    qx = np.clip(np.rint((r - F32(c)) * F32(1 / sx)), -128, 127)
    x_restored = qx.astype(np.float64) * sx + c
    sw = np.abs(w).max(axis=(0, 1, 2)).astype(np.float64) / 127
    w_deq = np.clip(np.rint(w * (1 / sw).astype(F32)), -128, 127) * sw
    expected = _conv2d(x_restored, w_deq, strides=(1, 1), padding=padding)
    np.testing.assert_allclose(run(module, x), expected, rtol=1e-5, atol=1e-5)
    # the offset halves the step: the error against the float conv is small
    ref = _conv2d(r, w, strides=(1, 1), padding=padding)
    assert np.max(np.abs(run(module, x) - ref)) < 0.05 * np.max(np.abs(ref))


# fixed point ----------------------------------------------------------------------------------
def test_fixed_point_scheme_uses_powers_of_two_per_tensor():
    module, w = dense_module()
    x = RNG.standard_normal((4, 6)).astype(F32)
    LowerPrecision(scheme="fixed", layers=(layer_spec("matmul_0", "int8", 2.0 ** -5),)).run(module)
    main = module["main"]
    deq = next(op for op in main.body.ops if op.name == "quant.dequantize")
    quant = next(op for op in main.body.ops if op.name == "quant.quantize")
    assert "axis" not in deq.attributes and len(deq.attributes["scale"]) == 1
    sw = pow2_scale(float(np.abs(w).max()), 127)
    assert deq.attributes["scale"] == (2.0 ** -5 * sw,) and quant.attributes["scale"] == (2.0 ** -5,)
    assert np.frexp(sw)[0] == 0.5 and np.abs(w).max() / sw <= 127 < np.abs(w).max() / (sw / 2)
    # = round(x / 2^pos) exactly, integer sums, times 2^(px + pw)
    qx = np.clip(np.rint(x.astype(np.float64) / 2.0 ** -5), -128, 127).astype(np.int64)
    qw = np.clip(np.rint(w.astype(np.float64) / sw), -128, 127).astype(np.int64)
    np.testing.assert_array_equal(run(module, x), np.maximum((qx @ qw) * (2.0 ** -5 * sw), 0).astype(F32))


def test_fixed_point_rejects_non_power_of_two_scales_and_offsets():
    module, _ = dense_module()
    with pytest.raises(PrecisionError, match="power-of-two"):
        LowerPrecision(scheme="fixed", layers=("matmul_0:int8:0.03",)).run(module)
    with pytest.raises(PrecisionError, match="no activation offset"):
        LowerPrecision(scheme="fixed", layers=("matmul_0:int8:0.03125:1.0",)).run(module)


def test_pow2_scale_by_hand():
    assert pow2_scale(1.0, 127) == 2.0 ** -6       # 1 / 2^-6 = 64 <= 127 < 128
    assert pow2_scale(127.0, 127) == 1.0
    assert pow2_scale(127.5, 127) == 2.0
    assert pow2_scale(0.0, 127) == 1.0
    assert weight_scales(np.array([[0.5, -2.0], [1.0, 0.0]]), "int8", "float", 1) == [1 / 127, 2 / 127]
    assert weight_scales(np.array([[0.5, -2.0], [1.0, 0.0]]), "int8", "fixed", 1) == [2.0 ** -5]


# fp16 --------------------------------------------------------------------------------------------
def test_fp16_stores_weights_and_activations_in_half():
    module, w = dense_module()
    x = RNG.standard_normal((4, 6)).astype(F32)
    reference = run(module, x)
    LowerPrecision(default="fp16").run(module)
    main = module["main"]
    constants = [op.attributes["value"] for op in main.body.ops if op.name == "core.constant"]
    assert [c.dtype for c in constants] == [np.float16]
    casts = [op.attributes["to"] for op in main.body.ops if op.name == "math.cast"]
    assert casts == [dt.float32, dt.float16, dt.float32]
    expected = np.maximum((x @ w.astype(np.float16).astype(F32)).astype(np.float16).astype(F32), 0)
    np.testing.assert_array_equal(run(module, x), expected)
    assert np.max(np.abs(run(module, x) - reference)) <= 1e-2 * np.max(np.abs(reference))


def test_pipeline_text_and_fp32_default():
    module, _ = dense_module()
    before = print_module(module)
    assert PassManager.parse("precision").run(module) is not None
    assert print_module(module) == before                         # fp32: unchanged
    PassManager.parse("precision{default=fp16}").run(module)
    assert "math.cast" in ops(module)
    m2, _ = dense_module()
    PassManager.parse("precision{layers=[matmul_0:int8:0.0625]}").run(m2)
    assert "quant.matmul" in ops(m2)
    assert parse_module(print_module(m2)) is not None


def test_plan_errors():
    module, _ = dense_module()
    with pytest.raises(PrecisionError, match="no activation scale"):
        LowerPrecision(layers=("matmul_0:int8",)).run(module)
    with pytest.raises(PrecisionError, match="does not have: conv2d_7"):
        LowerPrecision(layers=("conv2d_7:fp16",)).run(module)
    with pytest.raises(PrecisionError, match="unknown width"):
        LowerPrecision(layers=("matmul_0:int4:0.1",))
    with pytest.raises(PrecisionError, match="default must be"):
        LowerPrecision(default="int7")


# quant-fold ----------------------------------------------------------------------------------------
def pair_module(s1, s2, dtype_in="i8", dtype_out="i8", axis1=None, deq_dtype="f32"):
    fb = FunctionBuilder("main", [TensorType((3, 4), dt.as_dtype(dtype_in))], ["q"])
    attrs = {"scale": s1, "dtype": deq_dtype}
    if axis1 is not None:
        attrs["axis"] = axis1
    d = fb.op("quant.dequantize", fb.args[0], **attrs)
    q = fb.op("quant.quantize", d, dtype=dtype_out, scale=s2)
    return Module([fb.ret([q])])


def test_quant_fold_makes_requantize():
    module = pair_module([0.1], [0.3])
    qin = RNG.integers(-128, 128, (3, 4)).astype(np.int8)
    before = run(module, qin)
    assert QuantFold().run(module)
    assert ops(module) == ["quant.requantize", "core.return"]
    after = run(module, qin)
    assert np.max(np.abs(after.astype(int) - before.astype(int))) <= 1
    np.testing.assert_array_equal(after, np.clip(np.rint(qin * F32(0.1 / 0.3)), -128, 127).astype(np.int8))


def test_quant_fold_per_channel_and_identity():
    module = pair_module([0.1, 0.2, 0.3, 0.4], [0.5], dtype_in="i32", axis1=1)
    assert QuantFold().run(module)
    (rq,) = [op for op in module["main"].body.ops if op.name == "quant.requantize"]
    assert rq.attributes["axis"] == 1 and rq.attributes["in_scale"] == (0.1, 0.2, 0.3, 0.4)
    same = pair_module([0.25], [0.25])
    assert QuantFold().run(same)
    assert ops(same) == ["core.return"]
    qin = RNG.integers(-128, 128, (3, 4)).astype(np.int8)
    np.testing.assert_array_equal(run(same, qin), qin)


def test_quant_fold_leaves_f16_dequantize_and_cast_pairs():
    module = pair_module([0.1], [0.3], deq_dtype="f16")
    assert not QuantFold().run(module)
    fp16, _ = dense_module()
    LowerPrecision(default="fp16").run(fp16)
    before = print_module(fp16)
    assert not QuantFold().run(fp16)
    assert print_module(fp16) == before


def test_quant_fold_keeps_a_dequantize_with_other_users():
    fb = FunctionBuilder("main", [TensorType((4,), dt.int8)], ["q"])
    d = fb.op("quant.dequantize", fb.args[0], scale=[0.5])
    q = fb.op("quant.quantize", d, dtype="i16", scale=[0.25])
    module = Module([fb.ret([q, d])])
    assert PassManager.parse("quant-fold").run(module) is not None
    assert ops(module) == ["quant.dequantize", "quant.requantize", "core.return"]


def biased_module():
    fb = FunctionBuilder("main", [TensorType((4, 6), dt.float32)], ["x"])
    w = RNG.standard_normal((6, 5)).astype(F32)
    bias = RNG.standard_normal(5).astype(F32)
    y = fb.op("math.matmul", fb.args[0], fb.constant(w))
    y = fb.op("nn.bias_add", y, fb.constant(bias))
    y = fb.op("nn.relu", y)
    return Module([fb.ret([y])]), w, bias


def test_float_scheme_folds_the_bias_into_one_add_and_fixed_keeps_bias_add():
    module, w, bias = biased_module()
    x = RNG.standard_normal((4, 6)).astype(F32)
    sx = 0.03
    LowerPrecision(layers=(layer_spec("matmul_0", "int8", sx),)).run(module)
    assert [n for n in ops(module) if n != "core.constant"] == [
        "quant.quantize", "quant.matmul", "quant.dequantize", "math.add", "nn.relu", "core.return"]
    sw = np.abs(w).max(axis=0).astype(np.float64) / 127
    qw = np.clip(np.rint(w * (1 / sw).astype(F32)), -128, 127).astype(np.int64)
    qx = np.clip(np.rint(x * F32(1 / sx)), -128, 127).astype(np.int64)
    expected = np.maximum((qx @ qw).astype(F32) * (sx * sw).astype(F32) + bias, 0)
    np.testing.assert_array_equal(run(module, x), expected)
    fixed, _, _ = biased_module()
    LowerPrecision(scheme="fixed", layers=(layer_spec("matmul_0", "int8", 2.0 ** -5),)).run(fixed)
    assert "nn.bias_add" in ops(fixed) and "math.add" not in ops(fixed)


def test_fp16_round_trip_goes_after_bias_and_relu():
    module, w, bias = biased_module()
    x = RNG.standard_normal((4, 6)).astype(F32)
    LowerPrecision(default="fp16").run(module)
    assert [n for n in ops(module) if n != "core.constant"] == [
        "math.cast", "math.matmul", "nn.bias_add", "nn.relu", "math.cast", "math.cast", "core.return"]
    expected = np.maximum(x @ w.astype(np.float16).astype(F32) + bias, 0).astype(np.float16).astype(F32)
    np.testing.assert_allclose(run(module, x), expected, rtol=1e-3, atol=1e-6)
