"""The layout pass: NCHW layout-sensitive ops become NHWC ops between transposes, the
transposes move through elementwise ops and reductions, and those that meet cancel."""

import numpy as np
import pytest

from tfc.ir import parse_module, verify
from tfc.passes import PassManager
from tfc.passes.layout import Layout
from tfc.runtime.interpreter import run_function

from .filecheck import check, opt

X = "tensor<2x3x8x8xf32>"      # NCHW
F = "tensor<3x3x3x4xf32>"      # HWIO
Y = "tensor<2x4x8x8xf32>"


def func(body: str, args: str, results: str) -> str:
    return f"module {{\n  func @main({args}) -> ({results}) {{\n{body}  }}\n}}\n"


NCHW_BLOCK = func(f"""\
    %y = nn.conv2d(%x, %f) {{strides = [1, 1], padding = "SAME", data_format = "NCHW"}} : ({X}, {F}) -> {Y}
    %b = nn.bias_add(%y, %bias) {{data_format = "NCHW"}} : ({Y}, tensor<4xf32>) -> {Y}
    %r = nn.relu(%b) : ({Y}) -> {Y}
    %s = math.mul(%r, %two) : ({Y}, tensor<f32>) -> {Y}
    %p = nn.max_pool(%s) {{ksize = [2, 2], strides = [2, 2], padding = "VALID", data_format = "NCHW"}} : ({Y}) -> tensor<2x4x4x4xf32>
    %m = math.reduce_mean(%p) {{axes = [2, 3], keep_dims = false}} : (tensor<2x4x4x4xf32>) -> tensor<2x4xf32>
    core.return(%m) : (tensor<2x4xf32>) -> ()
""", f"%x: {X}, %f: {F}, %bias: tensor<4xf32>, %two: tensor<f32>", "tensor<2x4xf32>")


def _inputs(rng):
    return [rng.standard_normal((2, 3, 8, 8)).astype(np.float32),
            rng.standard_normal((3, 3, 3, 4)).astype(np.float32),
            rng.standard_normal(4).astype(np.float32), np.float32(2.0)]


def test_an_nchw_block_keeps_one_transpose_at_its_input():
    out = opt(NCHW_BLOCK, "layout")
    check(out, """
        CHECK: array.transpose(%x) {perm = [0, 2, 3, 1]}
        CHECK: nn.conv2d
        CHECK-SAME: data_format = "NHWC"
        CHECK: nn.bias_add
        CHECK-SAME: data_format = "NHWC"
        CHECK: nn.relu
        CHECK: math.mul
        CHECK: nn.max_pool
        CHECK-SAME: data_format = "NHWC"
        CHECK: math.reduce_mean
        CHECK-SAME: axes = [1, 2]
        CHECK-NOT: array.transpose
        CHECK-NOT: NCHW
    """)
    assert out.count("array.transpose") == 1


def test_layout_is_exact_on_the_interpreter():
    before = parse_module(NCHW_BLOCK)
    after = before.clone()
    assert Layout(target="cpu").run(after)
    verify(after)
    args = _inputs(np.random.default_rng(0))
    [want] = run_function(before["main"], args)
    [got] = run_function(after["main"], args)
    np.testing.assert_array_equal(got, want)


def test_nhwc_ops_and_lone_transposes_are_left_alone():
    text = func(f"""\
    %y = nn.conv2d(%x, %f) {{strides = [1, 1], padding = "SAME"}} : (tensor<2x8x8x3xf32>, {F}) -> tensor<2x8x8x4xf32>
    %t = array.transpose(%y) {{perm = [0, 3, 1, 2]}} : (tensor<2x8x8x4xf32>) -> {Y}
    core.return(%t) : ({Y}) -> ()
""", f"%x: tensor<2x8x8x3xf32>, %f: {F}", Y)
    assert opt(text, "layout") == opt(text, "")


def test_transposes_with_other_users_are_not_duplicated():
    # %t feeds relu and is also returned: moving it below relu would add a transpose.
    text = func(f"""\
    %t = array.transpose(%x) {{perm = [0, 2, 3, 1]}} : ({X}) -> tensor<2x8x8x3xf32>
    %r = nn.relu(%t) : (tensor<2x8x8x3xf32>) -> tensor<2x8x8x3xf32>
    core.return(%t, %r) : (tensor<2x8x8x3xf32>, tensor<2x8x8x3xf32>) -> ()
""", f"%x: {X}", "tensor<2x8x8x3xf32>, tensor<2x8x8x3xf32>")
    assert opt(text, "layout") == opt(text, "")


def test_constant_operands_move_with_the_transpose_and_fold():
    text = func(f"""\
    %t = array.transpose(%x) {{perm = [0, 2, 3, 1]}} : ({X}) -> tensor<2x8x8x3xf32>
    %c = core.constant() {{value = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>}} : () -> tensor<3xf32>
    %a = math.add(%t, %c) : (tensor<2x8x8x3xf32>, tensor<3xf32>) -> tensor<2x8x8x3xf32>
    %back = array.transpose(%a) {{perm = [0, 3, 1, 2]}} : (tensor<2x8x8x3xf32>) -> {X}
    core.return(%back) : ({X}) -> ()
""", f"%x: {X}", X)
    out = opt(text, "layout,fold,dce")
    check(out, """
        CHECK: core.constant() {value = dense<[[[[1.0]], [[2.0]], [[3.0]]]]> : tensor<1x3x1x1xf32>}
        CHECK: math.add(%x,
        CHECK-NOT: array.transpose
    """)
    module, optimized = parse_module(text), parse_module(out)
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(run_function(optimized["main"], [x])[0],
                                  run_function(module["main"], [x])[0])


def test_reduction_whose_kept_axes_change_order_keeps_its_transpose():
    text = func(f"""\
    %t = array.transpose(%x) {{perm = [0, 3, 1, 2]}} : (tensor<2x8x8x3xf32>) -> tensor<2x3x8x8xf32>
    %m = math.reduce_sum(%t) {{axes = [0], keep_dims = false}} : (tensor<2x3x8x8xf32>) -> tensor<3x8x8xf32>
    core.return(%m) : (tensor<3x8x8xf32>) -> ()
""", "%x: tensor<2x8x8x3xf32>", "tensor<3x8x8xf32>")
    assert opt(text, "layout") == opt(text, "")


def test_unknown_target_is_an_error():
    with pytest.raises(Exception, match="unknown target 'gpu'"):
        PassManager.parse("layout{target=gpu}").run(parse_module(NCHW_BLOCK))


@pytest.mark.parametrize("target", ["cpu", "mlu"])
def test_default_pipelines_include_layout(target):
    from tfc.passes import default_pipeline
    assert f"layout{{target={target}}}" in default_pipeline(target)
