"""Reductions, softmax and data-movement kernels on the simulator against the interpreter.

Sums in fp32 are compared at 1e-5 relative (the order of additions differs: 128-byte partial
sums); softmax uses the exp table: 2% relative."""

import numpy as np
import pytest

from tfc.ir import dtypes as dt, parse_module

from .harness import TABLE, check_module, check_op, rand

PROFILES = ["mlu270", "mlu370"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", ["math.reduce_sum", "math.reduce_mean", "math.reduce_max",
                                  "math.reduce_min"])
def test_reduce_last_axis(name, profile):
    check_op(name, [rand((5, 77))], {"axes": [1]}, profile=profile, tol=(1e-5, 1e-5))


@pytest.mark.parametrize("name", ["math.reduce_sum", "math.reduce_mean", "math.reduce_max"])
def test_reduce_leading_axis_and_middle(name):
    check_op(name, [rand((9, 37))], {"axes": [0]}, tol=(1e-5, 1e-5))
    check_op(name, [rand((3, 4, 20))], {"axes": [1], "keep_dims": True}, tol=(1e-5, 1e-5))


def test_reduce_all_long_row_chunks():
    # one row longer than NRAM: chunked, partial sums combined
    check_op("math.reduce_sum", [rand((300000,), lo=0, hi=1)], {}, tol=(1e-4, 1e-3))


FUSED_REDUCE = """
module {
  func @main(%x: tensor<6x50xf32>) -> (tensor<6xf32>) {
    %0 = math.mul(%x, %x) : (tensor<6x50xf32>, tensor<6x50xf32>) -> tensor<6x50xf32>
    %1 = math.reduce_sum(%0) {axes = [1]} : (tensor<6x50xf32>) -> tensor<6xf32>
    core.return(%1) : (tensor<6xf32>) -> ()
  }
}
"""


def test_fused_reduction():
    module = parse_module(FUSED_REDUCE)
    program, _, _ = check_module(module, [rand((6, 50))], pipeline="mlu-default", rtol=1e-5, atol=1e-5)
    assert len(program.plan["launches"]) == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_softmax(profile):
    check_op("nn.softmax", [rand((4, 10), lo=-4, hi=4)], profile=profile, tol=TABLE)
    check_op("nn.softmax", [rand((2, 1000), lo=-4, hi=4)], profile=profile, tol=TABLE)


def test_transpose():
    check_op("array.transpose", [rand((2, 3, 5))], {"perm": [2, 0, 1]})
    check_op("array.transpose", [rand((16, 24))], {"perm": [1, 0]})


def test_concat():
    check_op("array.concat", [rand((2, 3, 4)), rand((2, 5, 4), seed=1)], {"axis": 1})
    check_op("array.concat", [rand((3, 4)), rand((2, 4), seed=1)], {"axis": 0})


def test_pad():
    check_op("array.pad", [rand((1, 4, 5, 3))], {"paddings": [0, 0, 1, 2, 2, 1, 0, 0]})
    check_op("array.pad", [rand((7,))], {"paddings": [2, 3], "constant_value": 1.5})


def test_reshape_aliases_and_output_copy():
    text = """
module {
  func @main(%x: tensor<4x6xf32>) -> (tensor<24xf32>, tensor<4x6xf32>) {
    %0 = array.reshape(%x) {shape = [24]} : (tensor<4x6xf32>) -> tensor<24xf32>
    %1 = nn.relu(%x) : (tensor<4x6xf32>) -> tensor<4x6xf32>
    core.return(%0, %1) : (tensor<24xf32>, tensor<4x6xf32>) -> ()
  }
}
"""
    program, _, _ = check_module(parse_module(text), [rand((4, 6))])
    kinds = [launch["kernel"] for launch in program.plan["launches"]]
    assert any("copy" in k for k in kinds)             # the reshaped input is copied out
    assert sum("copy" in k for k in kinds) == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_transpose_paths(profile):
    # blocked __bang_transpose (a batched 2-D swap), with edge blocks
    check_op("array.transpose", [rand((2, 70, 45))], {"perm": [0, 2, 1]}, profile=profile)
    check_op("array.transpose", [rand((1, 5, 6, 40))], {"perm": [0, 3, 1, 2]}, profile=profile)  # NHWC -> NCHW
    check_op("array.transpose", [rand((300, 200))], {"perm": [1, 0]}, profile=profile)
    check_op("array.transpose", [rand((2, 40), np.float16)], {"perm": [1, 0]}, profile=profile)
    # whole rows of >= 128 bytes: 2-D GDRAM2GDRAM copies
    check_op("array.transpose", [rand((3, 4, 64))], {"perm": [1, 0, 2]}, profile=profile)
    # anything else: index loop
    check_op("array.transpose", [rand((2, 3, 4))], {"perm": [2, 1, 0]}, profile=profile)


def test_log_softmax():
    # log(sum) goes through the log table (~1%): absolute tolerance 0.05 on values ~ -log(C)
    check_op("nn.log_softmax", [rand((3, 50), lo=-3, hi=3)], tol=(2e-2, 5e-2))


def test_slices_reverse_broadcast_tile():
    check_op("array.slice", [rand((4, 6, 8))], {"begin": [1, 2, 0], "size": [2, 3, 8]})
    check_op("array.slice", [rand((4, 6, 8))], {"begin": [0, 1, 3], "size": [4, -1, 2]})
    check_op("array.strided_slice", [rand((6, 8))], {"begin": [0, 1], "end": [6, 7], "strides": [2, 1]})
    check_op("array.strided_slice", [rand((6, 8))], {"begin": [5, 0], "end": [0, 8], "strides": [-2, 1]})
    check_op("array.strided_slice", [rand((6, 8))], {"begin": [0, 0], "end": [6, 8], "strides": [1, 3]})
    check_op("array.reverse", [rand((3, 5))], {"axes": [0]})
    check_op("array.broadcast_to", [rand((1, 5))], {"shape": [4, 5]})
    check_op("array.tile", [rand((2, 3))], {"multiples": [2, 3]})


@pytest.mark.parametrize("name", ["math.argmax", "math.argmin"])
def test_argmax(name):
    x = rand((7, 45))
    x[2, 5] = x[2, 9] = 5.0          # ties: the first index
    check_op(name, [x], {"axis": 1})
    check_op(name, [rand((3, 10))], {"axis": -1, "output_type": dt.int32})


def test_fused_batch_norm():
    from .harness import Const

    c = 6
    check_op("nn.fused_batch_norm", [rand((1, 4, 4, c)), Const(rand((c,), lo=0.5, hi=2, seed=1)),
                                     Const(rand((c,), seed=2)), Const(rand((c,), seed=3)),
                                     Const(rand((c,), lo=0.1, hi=2, seed=4))], {"epsilon": 0.001})


def test_stack_split_unstack():
    check_op("array.stack", [rand((3, 4)), rand((3, 4), seed=1)], {"axis": 1})
    check_op("array.split", [rand((4, 9))], {"axis": 1, "num": 3})
    check_op("array.split", [rand((6, 4))], {"axis": 0, "sizes": [1, 5]})
    check_op("array.unstack", [rand((3, 2, 5))], {"axis": 1})


def test_fp16_reductions_and_softmax():
    from .harness import FP16

    check_op("math.reduce_sum", [rand((4, 100), np.float16, lo=0, hi=1)], {"axes": [1]}, tol=(5e-3, 5e-2))
    check_op("math.reduce_max", [rand((40, 6), np.float16)], {"axes": [0]}, tol=FP16)
    check_op("nn.softmax", [rand((3, 20), np.float16)], tol=TABLE)
