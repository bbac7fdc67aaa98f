"""The fusion pass: IR-text tests (the groups it forms and the reasons it gives for the pairs it
does not fuse), numeric equality before and after on the interpreter and natively, every model
of models/, and `tfc compile --explain-fusion`."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tfc.ir import parse_module, print_module, verify
from tfc.ir.verifier import VerifyError
from tfc.passes import PassManager
from tfc.passes.fuse import RUNTIME_CHECKS, Fuse, count_kernels, explain, last_report
from tfc.runtime.interpreter import InterpreterError, run_function

from .filecheck import check, opt

ROOT = Path(__file__).resolve().parents[2]


def fused(text: str, **options):
    """(module before, module after `fuse` with options, the pass's report)."""
    before, after = parse_module(text), parse_module(text)
    verify(after)
    Fuse(**options).run(after)
    verify(after)
    return before, after, last_report(after)


def inputs_for(function, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for a in function.args:
        t = a.type
        if t.dtype.is_floating:
            out.append(rng.uniform(-2, 2, t.shape).astype(t.dtype.numpy))
        elif t.dtype.is_bool:
            out.append(rng.uniform(size=t.shape) < 0.5)
        else:
            out.append(rng.integers(1, 9, t.shape).astype(t.dtype.numpy))
    return out


def assert_same_results(before, after, inputs=None, native=True):
    """The interpreter gives the same results before and after; so does native code (fp32
    1e-5 relative), and the fused native code agrees with the interpreter."""
    inputs = inputs if inputs is not None else inputs_for(before["main"])
    expected = run_function(before["main"], inputs)
    got = run_function(after["main"], inputs)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    if native:
        from tfc.codegen.llvm.native import NativeFunction

        unfused = NativeFunction.jit(before["main"])(*inputs)
        fused_native = NativeFunction.jit(after["main"])(*inputs)
        for e, u, f in zip(expected, unfused, fused_native):
            np.testing.assert_allclose(f, u, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(f, e, rtol=1e-5, atol=1e-6)


def reasons(report) -> str:
    return "\n".join(report.reasons())


# Elementwise groups ----------------------------------------------------------------------------
CHAIN = """\
module {
  func @main(%x: tensor<64xf32>) -> (tensor<64xf32>) {
    %two = core.constant() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
    %one = core.constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
    %half = core.constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
    %a = math.mul(%x, %two) : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
    %b = math.add(%a, %one) : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
    %t = math.tanh(%b) : (tensor<64xf32>) -> tensor<64xf32>
    %h = math.mul(%t, %half) : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
    %y = math.sub(%h, %x) : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    core.return(%y) : (tensor<64xf32>) -> ()
  }
}
"""


def test_an_elementwise_chain_becomes_one_group():
    out = opt(CHAIN, "fuse")
    check(out, """
        CHECK: %y = core.fusion(%x, %two, %one, %half) {kind = "elementwise"} ({
        CHECK-NEXT: ^bb(%x_1: tensor<64xf32>, %two_1: tensor<f32>, %one_1: tensor<f32>, %half_1: tensor<f32>):
        CHECK-NEXT: %a = math.mul(%x_1, %two_1)
        CHECK-NEXT: %b = math.add(%a, %one_1)
        CHECK-NEXT: %t = math.tanh(%b)
        CHECK-NEXT: %h = math.mul(%t, %half_1)
        CHECK-NEXT: %y_1 = math.sub(%h, %x_1)
        CHECK-NEXT: core.yield(%y_1)
        CHECK-NEXT: }) : (tensor<64xf32>, tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<64xf32>
        CHECK-NEXT: core.return(%y)
        CHECK-NOT: math.
    """)


def test_the_fused_text_round_trips_and_the_group_computes_the_same():
    before, after, report = fused(CHAIN)
    text = print_module(after)
    again = parse_module(text)
    verify(again)
    assert print_module(again) == text
    assert [g.kind for g in report.groups] == ["elementwise"]
    assert len(report.groups[0].ops) == 5
    assert count_kernels(before["main"]) == 5 and count_kernels(after["main"]) == 1
    assert_same_results(before, after)


def test_fuse_reports_no_change_the_second_time():
    module = parse_module(CHAIN)
    assert Fuse().run(module) is True
    assert Fuse().run(module) is False


DIAMOND = """\
module {
  func @main(%x: tensor<3x4xf32>, %r: tensor<4xf32>) -> (tensor<3x4xf32>) {
    %e = math.exp(%x) : (tensor<3x4xf32>) -> tensor<3x4xf32>
    %b = math.mul(%e, %r) : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
    %c = math.add(%e, %b) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
    %g = math.greater(%c, %x) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xi1>
    %s = math.select_v2(%g, %c, %e) : (tensor<3x4xi1>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
    core.return(%s) : (tensor<3x4xf32>) -> ()
  }
}
"""


def test_a_dag_with_shared_values_inside_the_group_fuses_whole():
    before, after, report = fused(DIAMOND)
    check(print_module(after), """
        CHECK: %s = core.fusion(%x, %r) {kind = "elementwise"}
        CHECK: math.exp
        CHECK: math.mul
        CHECK: math.add
        CHECK: math.greater
        CHECK: math.select_v2
        CHECK: core.yield
    """)
    assert report.not_fused == []
    assert_same_results(before, after)


MULTI = """\
module {
  func @main(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
    %e = math.exp(%x) : (tensor<8xf32>) -> tensor<8xf32>
    %l = math.log1p(%e) : (tensor<8xf32>) -> tensor<8xf32>
    %n = math.neg(%l) : (tensor<8xf32>) -> tensor<8xf32>
    %s = math.sqrt(%e) : (tensor<8xf32>) -> tensor<8xf32>
    %q = math.square(%s) : (tensor<8xf32>) -> tensor<8xf32>
    core.return(%n, %q) : (tensor<8xf32>, tensor<8xf32>) -> ()
  }
}
"""


def test_a_value_with_consumers_in_two_groups_is_not_fused_and_says_why():
    before, after, report = fused(MULTI)
    check(print_module(after), """
        CHECK: %e = math.exp(%x)
        CHECK: %n = core.fusion(%e) {kind = "elementwise"}
        CHECK: math.log1p
        CHECK: math.neg
        CHECK: %q = core.fusion(%e) {kind = "elementwise"}
        CHECK: math.sqrt
        CHECK: math.square
    """)
    text = str(report)
    check(text, """
        CHECK: fused 2 groups, 2 pairs not fused
        CHECK: not fused: math.exp (#0) -> math.log1p (#1): multiple consumers: its result is also used by math.sqrt (#3)
        CHECK-SAME: fusing it into each consumer would duplicate its work
        CHECK: not fused: math.exp (#0) -> math.sqrt (#3): multiple consumers
    """)
    assert_same_results(before, after)


def test_different_shapes_are_not_fused():
    text = """\
module {
  func @main(%v: tensor<4xf32>, %m: tensor<8x4xf32>) -> (tensor<8x4xf32>) {
    %e = math.exp(%v) : (tensor<4xf32>) -> tensor<4xf32>
    %y = math.add(%m, %e) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
    %z = math.abs(%y) : (tensor<8x4xf32>) -> tensor<8x4xf32>
    core.return(%z) : (tensor<8x4xf32>) -> ()
  }
}
"""
    before, after, report = fused(text)
    check(print_module(after), """
        CHECK: %e = math.exp(%v)
        CHECK: %z = core.fusion(%m, %e) {kind = "elementwise"}
    """)
    assert "different shapes: math.exp gives [4] but the fused loop runs over [8, 4]" in reasons(report)
    assert_same_results(before, after)


def test_ops_that_are_not_elementwise_are_not_fused():
    text = """\
module {
  func @main(%x: tensor<2x5xf32>) -> (tensor<2x5xf32>) {
    %a = math.abs(%x) : (tensor<2x5xf32>) -> tensor<2x5xf32>
    %s = nn.softmax(%a) {axis = -1} : (tensor<2x5xf32>) -> tensor<2x5xf32>
    %t = array.transpose(%s) {perm = [1, 0]} : (tensor<2x5xf32>) -> tensor<5x2xf32>
    %r = array.transpose(%t) {perm = [1, 0]} : (tensor<5x2xf32>) -> tensor<2x5xf32>
    %n = math.neg(%r) : (tensor<2x5xf32>) -> tensor<2x5xf32>
    core.return(%n) : (tensor<2x5xf32>) -> ()
  }
}
"""
    before, after, report = fused(text)
    assert "core.fusion" not in print_module(after)
    text = str(report)
    check(text, """
        CHECK: @main: fused 0 groups, 2 pairs not fused
        CHECK: not fused: math.abs (#0) -> nn.softmax (#1): nn.softmax is not elementwise
        CHECK: not fused: array.transpose (#3) -> math.neg (#4): array.transpose moves data (injective ops are not fused into loop nests)
    """)
    assert_same_results(before, after)


def test_an_op_with_a_run_time_check_takes_the_checked_operand_from_outside():
    text = """\
module {
  func @main(%x: tensor<6xi32>, %y: tensor<6xi32>) -> (tensor<6xi32>) {
    %one = core.constant() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
    %a = math.abs(%y) : (tensor<6xi32>) -> tensor<6xi32>
    %d = math.add(%a, %one) : (tensor<6xi32>, tensor<i32>) -> tensor<6xi32>
    %n = math.mul(%x, %x) : (tensor<6xi32>, tensor<6xi32>) -> tensor<6xi32>
    %q = math.floor_div(%n, %d) : (tensor<6xi32>, tensor<6xi32>) -> tensor<6xi32>
    core.return(%q) : (tensor<6xi32>) -> ()
  }
}
"""
    before, after, report = fused(text)
    # The numerator joins the division's group; the divisor is its own group, computed first.
    check(print_module(after), """
        CHECK: %d = core.fusion(%y, %one) {kind = "elementwise"}
        CHECK: %q = core.fusion(%x, %d) {kind = "elementwise"}
        CHECK: math.mul
        CHECK: math.floor_div
    """)
    assert ("math.floor_div checks its divisor for zero before its loop (a run-time check), so "
            "that operand must be computed outside the group") in reasons(report)
    assert_same_results(before, after)


def test_a_checked_operand_with_another_use_in_the_group_stays_outside():
    text = """\
module {
  func @main(%x: tensor<6xi32>, %y: tensor<6xi32>) -> (tensor<6xi32>) {
    %one = core.constant() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
    %a = math.abs(%y) : (tensor<6xi32>) -> tensor<6xi32>
    %d = math.add(%a, %one) : (tensor<6xi32>, tensor<i32>) -> tensor<6xi32>
    %n = math.mul(%x, %d) : (tensor<6xi32>, tensor<6xi32>) -> tensor<6xi32>
    %q = math.floor_div(%n, %d) : (tensor<6xi32>, tensor<6xi32>) -> tensor<6xi32>
    core.return(%q) : (tensor<6xi32>) -> ()
  }
}
"""
    before, after, report = fused(text)
    check(print_module(after), """
        CHECK: %d = core.fusion(%y, %one) {kind = "elementwise"}
        CHECK: %q = core.fusion(%x, %d) {kind = "elementwise"}
    """)
    assert "math.floor_div checks its divisor for zero before its loop" in reasons(report)
    assert_same_results(before, after)


def test_the_pass_knows_every_run_time_check_of_the_cpu_backend():
    from tfc.codegen.llvm.elementwise import PRECHECKS

    assert {name: index for name, (index, _) in PRECHECKS.items()} == \
        {name: index for name, (index, _) in RUNTIME_CHECKS.items()}


def test_an_error_inside_a_group_names_the_op_that_failed():
    text = """\
module {
  func @main(%x: tensor<3xi32>, %y: tensor<3xi32>) -> (tensor<3xi32>) {
    %n = math.mul(%x, %x) : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
    %q = math.floor_div(%n, %y) : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32> loc("m.py":7)
    core.return(%q) : (tensor<3xi32>) -> ()
  }
}
"""
    _, after, _ = fused(text)
    assert "core.fusion" in print_module(after)
    with pytest.raises(InterpreterError, match=r"m.py:7: math.floor_div: Integer division by zero") as e:
        run_function(after["main"], [np.int32([1, 2, 3]), np.int32([1, 0, 1])])
    assert e.value.op.name == "math.floor_div"


def test_random_ops_are_never_fused():
    text = """\
module {
  func @main(%c: tensor<i64>) -> (tensor<4xf32>) {
    %u = random.uniform(%c) {shape = [4], dtype = f32, seed = 1, seed2 = 2} : (tensor<i64>) -> tensor<4xf32>
    %e = math.exp(%u) : (tensor<4xf32>) -> tensor<4xf32>
    %n = math.neg(%e) : (tensor<4xf32>) -> tensor<4xf32>
    core.return(%n) : (tensor<4xf32>) -> ()
  }
}
"""
    _, after, report = fused(text)
    check(print_module(after), """
        CHECK: %u = random.uniform(%c)
        CHECK: %n = core.fusion(%u) {kind = "elementwise"}
    """)
    assert "random.uniform draws random numbers (random ops are never fused)" in reasons(report)


def test_float16_intermediates_are_not_fused():
    text = """\
module {
  func @main(%x: tensor<4xf16>) -> (tensor<4xf16>) {
    %e = math.exp(%x) : (tensor<4xf16>) -> tensor<4xf16>
    %n = math.neg(%e) : (tensor<4xf16>) -> tensor<4xf16>
    core.return(%n) : (tensor<4xf16>) -> ()
  }
}
"""
    _, after, report = fused(text)
    assert "core.fusion" not in print_module(after)
    assert "a float16 intermediate value" in reasons(report)


def test_max_ops_bounds_a_group():
    _, after, report = fused(CHAIN, max_ops=3)
    check(print_module(after), """
        CHECK: %b = core.fusion(%x, %two, %one) {kind = "elementwise"}
        CHECK: %y = core.fusion(%b, %half, %x) {kind = "elementwise"}
    """)
    assert "the group already has 3 ops (max_ops)" in reasons(report)


# Reductions ------------------------------------------------------------------------------------
REDUCE = """\
module {
  func @main(%x: tensor<6x32xf32>, %m: tensor<32xf32>) -> (tensor<6xf32>, tensor<32xf32>, tensor<6xi64>) {
    %d = math.sub(%x, %m) : (tensor<6x32xf32>, tensor<32xf32>) -> tensor<6x32xf32>
    %s = math.square(%d) : (tensor<6x32xf32>) -> tensor<6x32xf32>
    %v = math.reduce_mean(%s) {axes = [1]} : (tensor<6x32xf32>) -> tensor<6xf32>
    %e = math.exp(%x) : (tensor<6x32xf32>) -> tensor<6x32xf32>
    %k = math.reduce_max(%e) {axes = [0]} : (tensor<6x32xf32>) -> tensor<32xf32>
    %a = math.abs(%x) : (tensor<6x32xf32>) -> tensor<6x32xf32>
    %i = math.argmax(%a) {axis = 1, output_type = i64} : (tensor<6x32xf32>) -> tensor<6xi64>
    core.return(%v, %k, %i) : (tensor<6xf32>, tensor<32xf32>, tensor<6xi64>) -> ()
  }
}
"""


def test_elementwise_producers_fuse_into_a_reduction():
    before, after, report = fused(REDUCE)
    check(print_module(after), """
        CHECK: %v = core.fusion(%x, %m) {kind = "reduction"}
        CHECK: math.sub
        CHECK: math.square
        CHECK: math.reduce_mean
        CHECK: core.yield
        CHECK: %k = core.fusion(%x) {kind = "reduction"}
        CHECK: math.exp
        CHECK: math.reduce_max
        CHECK: %a = math.abs(%x)
        CHECK: %i = math.argmax(%a)
    """)
    assert ("math.argmax does not take a fused input (only reduce_sum/mean/max/min/prod do)"
            in reasons(report))
    assert_same_results(before, after)


def test_reduction_fusion_can_be_turned_off():
    _, after, _ = fused(REDUCE, reductions=False)
    check(print_module(after), """
        CHECK: %s = core.fusion(%x, %m) {kind = "elementwise"}
        CHECK: %v = math.reduce_mean(%s)
        CHECK-NOT: "reduction"
    """)


# Contraction epilogues ---------------------------------------------------------------------------
DENSE = """\
module {
  func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>) {
    %m = math.matmul(%x, %w) {transpose_a = false, transpose_b = false} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %y = nn.bias_add(%m, %b) {data_format = "NHWC"} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %r = nn.relu(%y) : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %t = math.tanh(%r) : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %n = math.neg(%t) : (tensor<4x16xf32>) -> tensor<4x16xf32>
    core.return(%n) : (tensor<4x16xf32>) -> ()
  }
}
"""


def test_matmul_bias_add_relu_is_one_epilogue_group():
    before, after, report = fused(DENSE)
    check(print_module(after), """
        CHECK: %r = core.fusion(%x, %w, %b) {kind = "contraction_epilogue"}
        CHECK-NEXT: ^bb(
        CHECK-NEXT: math.matmul
        CHECK-NEXT: nn.bias_add
        CHECK-NEXT: nn.relu
        CHECK-NEXT: core.yield
        CHECK: %n = core.fusion(%r) {kind = "elementwise"}
        CHECK-NEXT: ^bb(
        CHECK-NEXT: math.tanh
        CHECK-NEXT: math.neg
    """)
    assert ("nn.relu ends a math.matmul epilogue group (the GEMM epilogue applies bias_add and "
            "relu only)") in reasons(report)
    assert_same_results(before, after)


def test_epilogues_can_be_turned_off():
    _, after, _ = fused(DENSE, epilogues=False)
    check(print_module(after), """
        CHECK: %m = math.matmul
        CHECK: %y = nn.bias_add(%m, %b)
        CHECK: %n = core.fusion(%y) {kind = "elementwise"}
        CHECK: nn.relu
        CHECK: math.tanh
        CHECK: math.neg
    """)


CONV = """\
module {
  func @main(%x: tensor<2x9x9x3xf32>, %f: tensor<3x3x3x8xf32>, %b: tensor<8xf32>, %g: tensor<1x1x8x4xf32>, %c: tensor<4xf32>) -> (tensor<2x5x5x4xf32>) {
    %y = nn.conv2d(%x, %f) {strides = [2, 2], padding = "SAME", data_format = "NHWC"} : (tensor<2x9x9x3xf32>, tensor<3x3x3x8xf32>) -> tensor<2x5x5x8xf32>
    %z = nn.bias_add(%y, %b) {data_format = "NHWC"} : (tensor<2x5x5x8xf32>, tensor<8xf32>) -> tensor<2x5x5x8xf32>
    %r = nn.relu(%z) : (tensor<2x5x5x8xf32>) -> tensor<2x5x5x8xf32>
    %p = nn.conv2d(%r, %g) {strides = [1, 1], padding = "VALID", data_format = "NHWC"} : (tensor<2x5x5x8xf32>, tensor<1x1x8x4xf32>) -> tensor<2x5x5x4xf32>
    %q = math.add(%p, %c) : (tensor<2x5x5x4xf32>, tensor<4xf32>) -> tensor<2x5x5x4xf32>
    core.return(%q) : (tensor<2x5x5x4xf32>) -> ()
  }
}
"""


def test_conv2d_epilogues_with_bias_add_relu_and_an_added_bias_vector():
    before, after, report = fused(CONV)
    check(print_module(after), """
        CHECK: %r = core.fusion(%x, %f, %b) {kind = "contraction_epilogue"}
        CHECK: nn.conv2d
        CHECK: nn.bias_add
        CHECK: nn.relu
        CHECK: %q = core.fusion(%r, %g, %c) {kind = "contraction_epilogue"}
        CHECK: nn.conv2d
        CHECK: math.add
    """)
    assert [g.kind for g in report.groups] == ["contraction_epilogue"] * 2
    assert_same_results(before, after)


def test_epilogues_that_the_gemm_cannot_apply_say_why():
    text = """\
module {
  func @main(%x: tensor<4x8xf64>, %w: tensor<8x16xf64>, %b: tensor<16xf64>, %u: tensor<4x8xf32>, %v: tensor<8x16xf32>, %c: tensor<16xf32>, %i: tensor<1x3x6x6xf32>, %f: tensor<3x3x3x2xf32>, %d: tensor<2xf32>) -> (tensor<4x16xf64>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<1x2x4x4xf32>) {
    %m = math.matmul(%x, %w) {transpose_a = false, transpose_b = false} : (tensor<4x8xf64>, tensor<8x16xf64>) -> tensor<4x16xf64>
    %y = nn.bias_add(%m, %b) {data_format = "NHWC"} : (tensor<4x16xf64>, tensor<16xf64>) -> tensor<4x16xf64>
    %n = math.matmul(%u, %v) {transpose_a = false, transpose_b = false} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %z = nn.bias_add(%n, %c) {data_format = "NHWC"} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %k = nn.conv2d(%i, %f) {strides = [1, 1], padding = "VALID", data_format = "NCHW"} : (tensor<1x3x6x6xf32>, tensor<3x3x3x2xf32>) -> tensor<1x2x4x4xf32>
    %o = nn.bias_add(%k, %d) {data_format = "NCHW"} : (tensor<1x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
    core.return(%y, %z, %n, %o) : (tensor<4x16xf64>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<1x2x4x4xf32>) -> ()
  }
}
"""
    before, after, report = fused(text)
    assert "core.fusion" not in print_module(after)
    check(str(report), """
        CHECK: not fused: math.matmul (#0) -> nn.bias_add (#1): the GEMM epilogue is float32 only (math.matmul computes float64)
        CHECK: not fused: math.matmul (#2) -> nn.bias_add (#3): its result is also a result of the function
    """)
    assert_same_results(before, after)


def test_a_contraction_result_with_two_consumers_keeps_its_own_kernel():
    text = DENSE.replace("%n = math.neg(%t)", "%n = math.sub(%t, %m)").replace(
        "(tensor<4x16xf32>) -> tensor<4x16xf32>\n    core.return",
        "(tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>\n    core.return")
    before, after, report = fused(text)
    check(print_module(after), """
        CHECK: %m = math.matmul
        CHECK: %y = nn.bias_add(%m, %b)
        CHECK: %n = core.fusion(%y, %m) {kind = "elementwise"}
        CHECK: nn.relu
        CHECK: math.tanh
        CHECK: math.sub
    """)
    assert "multiple consumers: its result is also used by math.sub (#4)" in reasons(report)
    assert_same_results(before, after)


# Explaining, the verifier, pipelines -------------------------------------------------------------
def test_explain_does_not_rewrite():
    module = parse_module(DENSE)
    report = explain(module)
    assert "core.fusion" not in print_module(module)
    assert report.ran is False and len(report.groups) == 2
    assert str(report).startswith("@main: would fuse 2 groups")


def test_the_verifier_checks_a_fusion_against_its_region():
    from tfc.ir import TensorType, dtypes

    module = parse_module(CHAIN)
    Fuse().run(module)
    fusion = next(op for op in module["main"].body.ops if op.name == "core.fusion")
    fusion.regions[0].args[1].type = TensorType((), dtypes.float64)
    with pytest.raises(VerifyError, match=r"the region's arguments \(tensor<64xf32>, tensor<f64>"):
        verify(module)
    fusion.regions[0].args[1].type = TensorType((), dtypes.float32)
    verify(module)
    fusion.results[0].type = TensorType((64,), dtypes.int32)
    with pytest.raises(VerifyError, match="result 0 is declared tensor<64xi32> but its operands "
                                          "and attributes give tensor<64xf32>"):
        verify(module)
    fusion.results[0].type = TensorType((64,), dtypes.float32)
    verify(module)
    region = fusion.regions.pop()
    with pytest.raises(VerifyError, match="core.fusion: needs one region, has 0"):
        verify(module)
    fusion.regions.append(region)


def test_pipeline_strings_set_the_options():
    check(opt(DENSE, "fuse{epilogues=false,max_ops=2}"), """
        CHECK: %y = nn.bias_add
        CHECK: %r = nn.relu(%y)
        CHECK: %n = core.fusion(%r) {kind = "elementwise"}
    """)
    check(opt(CHAIN, "fuse{elementwise=false}"), "CHECK-NOT: core.fusion")
    stats = PassManager.parse("fold,cse,dce,fuse").run(parse_module(CHAIN))
    assert stats["passes"][-1]["name"] == "fuse" and stats["passes"][-1]["changed"]


def test_the_default_pipeline_fuses():
    from tfc.passes import default_pipeline

    assert "fuse{target=cpu}" in default_pipeline("cpu")
    check(opt(DENSE, default_pipeline("cpu")), 'CHECK: kind = "contraction_epilogue"')


# Every model before and after ------------------------------------------------------------------
def _model(name, batch):
    from tfc.model import freeze, load_model

    return freeze(load_model(ROOT / "models" / f"{name}.py"), batch=batch)


@pytest.mark.parametrize("name, batch, kernels", [
    ("mlp", 3, (9, 4)), ("lenet", 2, (17, 8)),
    pytest.param("vgg19", 1, (62, 25), marks=pytest.mark.slow)])
def test_every_model_gives_the_same_results_fused(name, batch, kernels):
    before, after = _model(name, batch), _model(name, batch)
    Fuse().run(after)
    verify(after)
    assert (count_kernels(before["main"]), count_kernels(after["main"])) == kernels
    rng = np.random.default_rng(1)
    inputs = [rng.uniform(0, 1, a.type.shape).astype(a.type.dtype.numpy) for a in before["main"].args]
    assert_same_results(before, after, inputs)


def test_the_sample_ir_model_gives_the_same_results_fused():
    text = (ROOT / "models" / "tiny_mlp.tfc").read_text().replace("?x", "5x")   # static batch
    before, after, _ = fused(text)
    inputs = inputs_for(before["main"])
    assert_same_results(before, after, inputs)


# The command line ------------------------------------------------------------------------------
def test_tfc_compile_explain_fusion(tmp_path):
    from tfc.cli import main

    result = CliRunner().invoke(main, [
        "compile", str(ROOT / "models" / "mlp.py"), "--emit", "ir", "--explain-fusion",
        "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    check(result.stdout, """
        CHECK: @main: fused 3 groups, 2 pairs not fused
        CHECK: group 0 (contraction_epilogue, 3 ops): math.matmul (mlp.py:13), nn.bias_add (mlp.py:13), nn.relu (mlp.py:14)
        CHECK: not fused: nn.relu (mlp.py:14) -> math.matmul (mlp.py:13): math.matmul is a contraction
    """)


def test_explain_fusion_when_the_pipeline_does_not_fuse(tmp_path):
    from tfc.cli import main

    result = CliRunner().invoke(main, [
        "compile", str(ROOT / "models" / "mlp.py"), "--emit", "ir", "--passes", "none",
        "--explain-fusion", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    check(result.stdout, """
        CHECK: fusion: the pipeline does not run `fuse`; it would do this:
        CHECK-NEXT: @main: would fuse 3 groups, 2 pairs not fused
    """)
    assert "core.fusion" not in (tmp_path / "out" / "model.tfc").read_text()


def test_tfc_graph_draws_fused_groups_as_clusters(tmp_path, monkeypatch):
    from tfc import graphviz
    from tfc.cli import main

    out = tmp_path / "lenet.dot"
    monkeypatch.setattr(graphviz, "dot_program", lambda: None)
    result = CliRunner().invoke(main, ["graph", str(ROOT / "models" / "lenet.py"), "-o", str(out),
                                       "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "`dot` is not installed, so no SVG was made" in result.stderr
    assert not out.with_suffix(".svg").exists()
    dot = out.read_text()
    check(dot, """
        CHECK: digraph "main" {
        CHECK: %images\\n1x28x28x1xf32
        CHECK: subgraph cluster_0 {
        CHECK-NEXT: label="fused: contraction_epilogue";
        CHECK: label="nn.conv2d\\n1x28x28x6xf32"
        CHECK: label="nn.bias_add
        CHECK: label="nn.relu
        CHECK-NEXT: }
        CHECK: label="nn.max_pool
        CHECK: label="return"
        CHECK: -> {{n[0-9]+}} [label="1x28x28x6xf32"];
    """)
    assert dot.count("subgraph cluster_") == 5


def test_tfc_graph_of_an_ir_file_as_it_is(tmp_path):
    from tfc.cli import main
    from tfc.graphviz import dot_program

    ir = tmp_path / "chain.tfc"
    module = parse_module(CHAIN)
    Fuse().run(module)
    ir.write_text(print_module(module))
    out = tmp_path / "chain.dot"
    args = ["graph", str(ir), "-o", str(out), "--passes", "none"]
    if dot_program() is not None:
        args += ["--format", "png"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    dot = out.read_text()
    assert 'label="fused: elementwise"' in dot and dot.count('label="math.') == 5
    if dot_program() is not None:
        assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
