"""Elementwise kernels (one op each, and fused groups) on the simulator against the interpreter.

Tolerances: fp32 vector arithmetic 1e-5 relative; table-based activations (exp, log, sigmoid,
tanh, sqrt, rsqrt, reciprocal) 2% relative + 2e-3 absolute (BANG.md: the tables are within
~1%); fp16 outputs 2e-3; fixed-point outputs within one unit."""

import numpy as np
import pytest

from tfc.ir import dtypes as dt, parse_module

from .harness import EXACT, FP16, TABLE, Const, check_module, check_op, rand

PROFILES = ["mlu270", "mlu370"]

BINARY = ["math.add", "math.sub", "math.mul", "math.maximum", "math.minimum",
          "math.squared_difference"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", BINARY)
def test_binary_same_shape(name, profile):
    check_op(name, [rand((3, 50)), rand((3, 50), seed=1)], profile=profile)


@pytest.mark.parametrize("name", ["math.add", "math.sub", "math.mul", "math.maximum", "math.real_div"])
def test_binary_scalar_constant(name):
    # constant scalar on either side: __bang_*_scalar (or a filled slot)
    check_op(name, [rand((70,)), Const(np.float32(1.5))])
    check_op(name, [Const(np.float32(-0.5)), rand((70,), lo=0.5, hi=2.0)],
             tol=TABLE if name == "math.real_div" else EXACT)


def test_binary_runtime_scalar():
    check_op("math.mul", [rand((5, 40)), np.asarray(3.0, np.float32)])
    check_op("math.sub", [np.asarray(3.0, np.float32), rand((5, 40))])


@pytest.mark.parametrize("profile", PROFILES)
def test_bias_broadcast_cycle(profile):
    # a [C] vector broadcast over the rows: __bang_cycle_add with a period of lcm(C, 32)
    check_op("math.add", [rand((7, 10)), rand((10,), seed=3)], profile=profile)
    check_op("math.mul", [rand((7, 10)), Const(rand((10,), seed=4))], profile=profile)
    check_op("math.sub", [rand((10,), seed=3), rand((7, 10))], profile=profile)
    check_op("nn.bias_add", [rand((2, 3, 3, 6)), Const(rand((6,), seed=5))], profile=profile)


def test_general_broadcast_gather():
    # [N, 1] against [N, C]: an index loop fills each tile
    check_op("math.sub", [rand((6, 10)), rand((6, 1), seed=2)])


def test_real_div_by_constant_vector_and_tensor():
    check_op("math.real_div", [rand((4, 12)), Const(rand((12,), lo=1, hi=3, seed=2))])
    check_op("math.real_div", [rand((4, 12)), rand((4, 12), lo=1, hi=3, seed=2)], tol=TABLE)


COMPARES = ["math.greater", "math.greater_equal", "math.less", "math.less_equal", "math.equal",
            "math.not_equal"]


@pytest.mark.parametrize("name", COMPARES)
def test_compare(name):
    a = rand((90,))
    b = a.copy()
    b[::3] = rand((30,), seed=9)
    check_op(name, [a, b])


def test_select_and_logical():
    c = rand((64,)) > 0
    check_op("math.select", [c, rand((64,), seed=1), rand((64,), seed=2)])
    check_op("math.logical_and", [c, rand((64,), seed=3) > 0])
    check_op("math.logical_not", [c])


TABLES = {"math.exp": (-3, 3), "math.log": (0.1, 5), "math.sigmoid": (-5, 5), "math.tanh": (-3, 3),
          "math.sqrt": (0.1, 9), "math.rsqrt": (0.1, 9), "math.reciprocal": (0.2, 5)}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_activation(name, profile):
    lo, hi = TABLES[name]
    check_op(name, [rand((3, 100), lo=lo, hi=hi)], profile=profile, tol=TABLE)


@pytest.mark.parametrize("name", ["nn.relu", "math.abs", "math.neg", "math.square", "nn.relu6",
                                  "nn.leaky_relu"])
def test_exact_unary(name):
    check_op(name, [rand((3, 100), lo=-8, hi=8)])


def test_large_streaming_many_tiles_and_tasks():
    # several tasks, several tiles per task, a tail that is not a multiple of 128 bytes
    check_op("math.add", [rand((200003,)), rand((200003,), seed=1)], profile="mlu270")


@pytest.mark.parametrize("profile", PROFILES)
def test_fp16(profile):
    a, b = rand((3, 64), np.float16), rand((3, 64), np.float16, seed=1)
    check_op("math.add", [a, b], profile=profile, tol=FP16)
    check_op("math.cast", [rand((3, 64))], {"to": dt.float16}, profile=profile, tol=FP16)
    check_op("math.cast", [a], {"to": dt.float32}, profile=profile)


FUSED = """
module {
  func @main(%x: tensor<8x40xf32>, %b: tensor<40xf32>) -> (tensor<8x40xf32>) {
    %c2 = core.constant() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
    %c1 = core.constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
    %0 = math.mul(%x, %c2) : (tensor<8x40xf32>, tensor<f32>) -> tensor<8x40xf32>
    %1 = math.add(%0, %c1) : (tensor<8x40xf32>, tensor<f32>) -> tensor<8x40xf32>
    %2 = math.add(%1, %b) : (tensor<8x40xf32>, tensor<40xf32>) -> tensor<8x40xf32>
    %3 = math.tanh(%2) : (tensor<8x40xf32>) -> tensor<8x40xf32>
    %4 = math.sub(%c1, %3) : (tensor<f32>, tensor<8x40xf32>) -> tensor<8x40xf32>
    %5 = math.maximum(%4, %x) : (tensor<8x40xf32>, tensor<8x40xf32>) -> tensor<8x40xf32>
    core.return(%5) : (tensor<8x40xf32>) -> ()
  }
}
"""


@pytest.mark.parametrize("profile", PROFILES)
def test_fused_group_is_one_kernel(profile):
    module = parse_module(FUSED)
    program, _, _ = check_module(module, [rand((8, 40)), rand((40,), seed=1)], profile,
                                 rtol=TABLE[0], atol=TABLE[1], pipeline="mlu-default")
    assert len(program.plan["launches"]) == 1
    source = next(iter(program.sources.values()))
    for intrinsic in ("__bang_mul_scalar", "__bang_cycle_add", "__bang_active_tanh", "__bang_maxequal",
                      "__memcpy_async", "__sync()"):
        assert intrinsic in source


def test_unsupported_op_names_op_and_location():
    from tfc.codegen.bang import CodegenError
    from .harness import one_op_module
    from tfc.codegen.bang import compile_module

    module, _ = one_op_module("math.floor_mod", [rand((4,)), rand((4,), seed=1)])
    with pytest.raises(CodegenError, match="math.floor_mod"):
        compile_module(module, "mlu270")


def test_more_ops():
    check_op("math.add_n", [rand((50,)), rand((50,), seed=1), Const(rand((50,), seed=2))])
    check_op("nn.softplus", [rand((3, 40), lo=-3, hi=3)], tol=TABLE)
    c1, c2 = rand((64,)) > 0, rand((64,), seed=5) > 0
    check_op("math.logical_or", [c1, c2])
    check_op("math.logical_xor", [c1, c2])
    check_op("math.select_v2", [c1, rand((64,), seed=1), Const(np.float32(0.25))])
    check_op("math.cast", [rand((64,))], {"to": dt.bool_})
    check_op("math.cast", [c1], {"to": dt.float32})


@pytest.mark.parametrize("profile", PROFILES)
def test_period_input_across_tasks_and_tiles(profile):
    # 16 tasks, tiles of lcm(100, 32) multiples, a period loaded from GDRAM once per task
    check_op("math.add", [rand((3001, 100)), rand((100,), seed=1)], profile=profile)
    check_op("math.mul", [rand((999, 6), np.float16), Const(rand((6,), np.float16, seed=1))],
             profile=profile, tol=FP16)


def test_gather_broadcast_across_tiles():
    check_op("math.mul", [rand((300, 64)), rand((300, 1), seed=2)])
    check_op("math.add", [rand((4, 1, 30)), rand((4, 5, 1), seed=2)])


@pytest.mark.parametrize("name,lo,hi", [("nn.elu", -3, 3), ("nn.selu", -3, 3), ("nn.softsign", -4, 4),
                                        ("math.log1p", -0.5, 3), ("math.expm1", -2, 2)])
def test_composed_table_ops(name, lo, hi):
    check_op(name, [rand((2, 64), lo=lo, hi=hi)], tol=TABLE)


def test_sign_fill_requantize():
    x = rand((70,))
    x[:5] = 0.0
    check_op("math.sign", [x])
    check_op("array.fill", [np.asarray(2.5, np.float32)], {"shape": [3, 50]})
    check_op("array.fill", [Const(np.float32(-1.0))], {"shape": [40]})
    q = np.random.default_rng(0).integers(-3000, 3000, (4, 33)).astype(np.int16)
    check_op("quant.requantize", [q], {"in_scale": [0.001], "out_scale": [0.05], "dtype": dt.int8},
             int_atol=1)


def test_broadcast_runs():
    # a broadcast whose trailing dims match the output's: loaded as runs (one copy per run)
    check_op("math.add", [rand((3, 4, 160)), rand((3, 1, 160), seed=1)])
    check_op("math.mul", [rand((2, 30000)), rand((30000,), seed=1)], profile="mlu270")   # period too big
    check_op("math.sub", [rand((2, 2, 5, 200)), rand((2, 1, 5, 200), seed=1)], profile="mlu370")
