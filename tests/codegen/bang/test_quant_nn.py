"""Fixed-point quantize/dequantize kernels, and the tensor-unit ops (codegen/bang/nn.py's kernels)
reached through the emitter: float conv/matmul/pool on mlu370, quant.conv2d/matmul +
dequantize (power-of-two scales) as one fixed-point __bang_conv on mlu270.

Tolerances: quantize within one unit (ties), dequantize exact (x * 2^pos); fixed-point
conv/matmul against the interpreter's exact integer sums 1e-5; float conv on mlu370 1e-4
(fp32 accumulation order)."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify

from .harness import Const, check_module, check_op, rand


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
@pytest.mark.parametrize("qtype", [dt.int8, dt.int16])
def test_quantize_power_of_two(qtype, profile):
    x = rand((3, 70), lo=-3, hi=3)
    scale = 2.0 ** -5 if qtype == dt.int8 else 2.0 ** -12
    check_op("quant.quantize", [x], {"dtype": qtype, "scale": [scale]}, profile=profile, int_atol=1)


def test_quantize_general_scale_and_per_channel():
    x = rand((4, 8), lo=-3, hi=3)
    check_op("quant.quantize", [x], {"dtype": dt.int16, "scale": [0.001]}, int_atol=1)
    check_op("quant.quantize", [x], {"dtype": dt.int8, "scale": [0.01 * (i + 1) for i in range(8)],
                                     "axis": 1}, int_atol=1)


@pytest.mark.parametrize("qtype", [np.int8, np.int16])
def test_dequantize(qtype):
    q = np.random.default_rng(0).integers(-100, 100, (5, 40)).astype(qtype)
    check_op("quant.dequantize", [q], {"scale": [2.0 ** -7]})
    check_op("quant.dequantize", [q], {"scale": [0.003]})


def _conv_module(x_shape, w, bias, relu, padding, strides=(1, 1)):
    fb = FunctionBuilder("main", [TensorType(x_shape, dt.float32)], ["x"])
    y = fb.create("nn.conv2d", [fb.args[0], fb.constant(w)],
                  {"strides": list(strides), "padding": padding}).result
    if bias is not None:
        y = fb.create("nn.bias_add", [y, fb.constant(bias)], {}).result
    if relu:
        y = fb.create("nn.relu", [y], {}).result
    module = Module([fb.ret([y])])
    verify(module)
    return module


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_float_conv_epilogue_mlu370(padding):
    w = rand((3, 3, 4, 8), lo=-0.5, hi=0.5, seed=2)
    module = _conv_module((1, 9, 9, 4), w, rand((8,), seed=3), True, padding)
    program, _, _ = check_module(module, [rand((1, 9, 9, 4))], "mlu370", rtol=1e-4, atol=1e-4,
                                 pipeline="mlu-default")
    assert len(program.plan["launches"]) == 1          # conv + bias + relu: one kernel


def test_float_conv_on_mlu270_is_refused():
    from tfc.codegen.bang import CodegenError, compile_module

    module = _conv_module((1, 5, 5, 2), rand((3, 3, 2, 4)), None, False, "SAME")
    with pytest.raises(CodegenError, match="nn.conv2d.*quantize"):
        compile_module(module, "mlu270")


def test_float_matmul_and_pool_mlu370():
    check_op("math.matmul", [rand((3, 20)), Const(rand((20, 7), seed=1))], profile="mlu370",
             tol=(1e-4, 1e-4))
    attrs = {"ksize": [2, 2], "strides": [2, 2], "padding": "VALID"}
    check_op("nn.max_pool", [rand((1, 6, 6, 5))], attrs, profile="mlu370")
    check_op("nn.max_pool", [rand((1, 6, 6, 5))], attrs, profile="mlu270")
    check_op("nn.avg_pool", [rand((1, 6, 6, 5))], dict(attrs, padding="SAME"), profile="mlu270",
             tol=(1e-5, 1e-6))


def _quant_conv_module(qtype, px, pw, bias=True, relu=True):
    """quantize(x, 2^px) -> quant.conv2d(., w_q) -> dequantize(2^(px+pw)) -> bias_add -> relu."""
    rng = np.random.default_rng(5)
    info = np.iinfo(qtype.numpy)
    wq = rng.integers(info.min // 4, info.max // 4, (3, 3, 4, 64)).astype(qtype.numpy)
    fb = FunctionBuilder("main", [TensorType((1, 8, 8, 4), dt.float32)], ["x"])
    xq = fb.create("quant.quantize", [fb.args[0]], {"dtype": qtype, "scale": [2.0 ** px]}).result
    acc = fb.create("quant.conv2d", [xq, fb.constant(wq)], {"strides": [1, 1], "padding": "SAME"}).result
    y = fb.create("quant.dequantize", [acc], {"scale": [2.0 ** (px + pw)]}).result
    if bias:
        y = fb.create("nn.bias_add", [y, fb.constant(rand((64,), seed=7))], {}).result
    if relu:
        y = fb.create("nn.relu", [y], {}).result
    module = Module([fb.ret([y])])
    verify(module)
    return module


@pytest.mark.parametrize("qtype,px,pw", [(dt.int8, -5, -9), (dt.int16, -12, -17)])
def test_fixed_point_conv_one_kernel_mlu270(qtype, px, pw):
    module = _quant_conv_module(qtype, px, pw)
    program, _, _ = check_module(module, [rand((1, 8, 8, 4))], "mlu270", rtol=1e-5, atol=1e-5,
                                 pipeline="mlu-default")
    kernels = [l["kernel"] for l in program.plan["launches"]]
    assert len(kernels) == 2, kernels                 # quantize, conv(+dequantize+bias+relu)
    conv = program.sources[program.plan["launches"][1]["file"]]
    assert "__bang_conv" in conv


def test_fixed_point_matmul_mlu270():
    rng = np.random.default_rng(1)
    wq = rng.integers(-2000, 2000, (40, 12)).astype(np.int16)
    fb = FunctionBuilder("main", [TensorType((2, 40), dt.float32)], ["x"])
    xq = fb.create("quant.quantize", [fb.args[0]], {"dtype": dt.int16, "scale": [2.0 ** -12]}).result
    acc = fb.create("quant.matmul", [xq, fb.constant(wq)], {}).result
    y = fb.create("quant.dequantize", [acc], {"scale": [2.0 ** -24]}).result
    module = Module([fb.ret([y])])
    verify(module)
    check_module(module, [rand((2, 40))], "mlu270", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_depthwise_conv(profile):
    check_op("nn.depthwise_conv2d", [rand((1, 7, 7, 8)), Const(rand((3, 3, 8, 1), seed=1))],
             {"strides": [1, 1], "padding": "SAME"}, profile=profile, tol=(1e-5, 1e-5))


def test_dequantize_per_channel():
    q = np.random.default_rng(0).integers(-100, 100, (5, 12)).astype(np.int16)
    check_op("quant.dequantize", [q], {"scale": [0.01 * (i + 1) for i in range(12)], "axis": 1})
