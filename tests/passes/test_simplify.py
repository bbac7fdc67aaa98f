"""Algebraic simplification: exact identities (bit for bit, signed zeros and NaN included),
and per-channel scale/shift folding into conv2d/matmul weights (within fp32 rounding)."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes, parse_module, print_module, verify
from tfc.passes import PassManager
from tfc.passes.simplify import Simplify
from tfc.runtime.interpreter import run_function

from .filecheck import check, opt

SPECIAL = np.array([[-0.0, 0.0, np.nan, np.inf], [-np.inf, 1.5, -2.25, 1e-40]], np.float32)


def module_with(body: str, args: str = "%x: tensor<2x4xf32>", results: str = "tensor<2x4xf32>") -> str:
    return f"module {{\n  func @main({args}) -> ({results}) {{\n{body}  }}\n}}\n"


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def assert_exact(text: str, pipeline: str, inputs: list) -> str:
    """Run the pipeline; the results must be bit for bit the original ones. Returns the IR."""
    module = parse_module(text)
    before = run_function(module["main"], inputs)
    PassManager.parse(pipeline).run(module)
    after = run_function(module["main"], inputs)
    for b, a in zip(before, after):
        assert b.shape == a.shape and b.dtype == a.dtype
        np.testing.assert_array_equal(bits(a), bits(b))
    return print_module(module)


F = "tensor<2x4xf32>"


@pytest.mark.parametrize("op, const, swap", [
    ("math.add", "-0.0", False), ("math.add", "-0.0", True), ("math.sub", "0.0", False),
    ("math.mul", "1.0", False), ("math.mul", "1.0", True), ("math.real_div", "1.0", False)])
def test_exact_identities_fold_away(op, const, swap):
    operands = "%c, %x" if swap else "%x, %c"
    text = module_with(f"""\
    %c = core.constant() {{value = dense<{const}> : tensor<4xf32>}} : () -> tensor<4xf32>
    %y = {op}({operands}) : ({'tensor<4xf32>, ' + F if swap else F + ', tensor<4xf32>'}) -> {F}
    core.return(%y) : ({F}) -> ()
""")
    out = assert_exact(text, "simplify,dce", [SPECIAL])
    check(out, f"CHECK-NOT: {op}\nCHECK: core.return(%x)")


@pytest.mark.parametrize("op, const", [
    ("math.add", "0.0"),        # -0.0 + 0.0 is +0.0
    ("math.sub", "-0.0"),       # -0.0 - -0.0 is +0.0
    ("math.mul", "-1.0"), ("math.add", "1.0"), ("math.real_div", "2.0")])
def test_inexact_lookalikes_stay(op, const):
    text = module_with(f"""\
    %c = core.constant() {{value = dense<{const}> : tensor<4xf32>}} : () -> tensor<4xf32>
    %y = {op}(%x, %c) : ({F}, tensor<4xf32>) -> {F}
    core.return(%y) : ({F}) -> ()
""")
    check(assert_exact(text, "simplify,dce", [SPECIAL]), f"CHECK: %y = {op}(%x, %c)")


def test_integer_zero_and_one_identities():
    t = "tensor<3xi32>"
    text = module_with(f"""\
    %z = core.constant() {{value = dense<0> : {t}}} : () -> {t}
    %o = core.constant() {{value = dense<1> : {t}}} : () -> {t}
    %a = math.add(%z, %x) : ({t}, {t}) -> {t}
    %b = math.sub(%a, %z) : ({t}, {t}) -> {t}
    %c = math.mul(%b, %o) : ({t}, {t}) -> {t}
    core.return(%c) : ({t}) -> ()
""", args=f"%x: {t}", results=t)
    out = assert_exact(text, "simplify,dce", [np.array([-2**31, 0, 7], np.int32)])
    check(out, "CHECK-NOT: math.\nCHECK: core.return(%x)")


def test_identity_that_broadcasts_to_a_larger_shape_stays():
    # x has shape [4]; adding -0.0 of shape [2, 4] broadcasts: not an identity.
    text = module_with("""\
    %c = core.constant() {value = dense<-0.0> : tensor<2x4xf32>} : () -> tensor<2x4xf32>
    %y = math.add(%x, %c) : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %u = math.mul(%d, %c) : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    core.return(%y, %u) : (tensor<2x4xf32>, tensor<2x4xf32>) -> ()
""", args="%x: tensor<4xf32>, %d: tensor<?x4xf32>", results="tensor<2x4xf32>, tensor<2x4xf32>")
    out = opt(text, "simplify")
    check(out, "CHECK: %y = math.add(%x, %c)\nCHECK: %u = math.mul(%d, %c)")
    # A constant of shape [1, 4] keeps x's shape [?, 4]: the identity holds for any batch.
    one = module_with("""\
    %c = core.constant() {value = dense<1.0> : tensor<1x4xf32>} : () -> tensor<1x4xf32>
    %u = math.mul(%d, %c) : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x4xf32>
    core.return(%u) : (tensor<?x4xf32>) -> ()
""", args="%d: tensor<?x4xf32>", results="tensor<?x4xf32>")
    check(opt(one, "simplify"), "CHECK-NOT: math.mul\nCHECK: core.return(%d)")


def test_involutions_identity_and_same_dtype_cast():
    b = "tensor<3xi1>"
    text = module_with(f"""\
    %n1 = math.neg(%x) : ({F}) -> {F}
    %n2 = math.neg(%n1) : ({F}) -> {F}
    %i = core.identity(%n2) : ({F}) -> {F}
    %c = math.cast(%i) {{to = f32, truncate = false}} : ({F}) -> {F}
    %l1 = math.logical_not(%p) : ({b}) -> {b}
    %l2 = math.logical_not(%l1) : ({b}) -> {b}
    %h = math.cast(%c) {{to = f16, truncate = false}} : ({F}) -> tensor<2x4xf16>
    core.return(%c, %l2, %h) : ({F}, {b}, tensor<2x4xf16>) -> ()
""", args=f"%x: {F}, %p: {b}", results=f"{F}, {b}, tensor<2x4xf16>")
    out = assert_exact(text, "simplify,dce", [SPECIAL, np.array([True, False, True])])
    check(out, """
        CHECK-NOT: math.neg
        CHECK-NOT: core.identity
        CHECK-NOT: math.logical_not
        CHECK: %h = math.cast(%x) {to = f16
        CHECK-NEXT: core.return(%x, %p, %h)
    """)


def test_transpose_chains_compose_and_identity_perms_vanish():
    text = module_with("""\
    %a = array.transpose(%x) {perm = [1, 2, 0]} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
    %b = array.transpose(%a) {perm = [0, 2, 1]} : (tensor<3x4x2xf32>) -> tensor<3x2x4xf32>
    %c = array.transpose(%x) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
    %d = array.transpose(%c) {perm = [1, 2, 0]} : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
    %e = array.transpose(%d) {perm = [0, 1, -1]} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    core.return(%b, %e) : (tensor<3x2x4xf32>, tensor<2x3x4xf32>) -> ()
""", args="%x: tensor<2x3x4xf32>", results="tensor<3x2x4xf32>, tensor<2x3x4xf32>")
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = assert_exact(text, "simplify,dce", [x])
    check(out, """
        CHECK: %b = array.transpose(%x) {perm = [1, 0, 2]}
        CHECK-NOT: array.transpose
        CHECK: core.return(%b, %x)
    """)


def test_reshape_chains_and_reshapes_to_the_same_shape():
    text = module_with("""\
    %a = array.reshape(%x) {shape = [6, 4]} : (tensor<?x3x4xf32>) -> tensor<?x4xf32>
    %b = array.reshape(%a) {shape = [-1, 12]} : (tensor<?x4xf32>) -> tensor<?x12xf32>
    %c = array.reshape(%s) {shape = [2, 3]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %d = array.reshape(%x) {shape = [-1, 3, 4]} : (tensor<?x3x4xf32>) -> tensor<?x3x4xf32>
    core.return(%b, %c, %d) : (tensor<?x12xf32>, tensor<2x3xf32>, tensor<?x3x4xf32>) -> ()
""", args="%x: tensor<?x3x4xf32>, %s: tensor<2x3xf32>",
        results="tensor<?x12xf32>, tensor<2x3xf32>, tensor<?x3x4xf32>")
    text = text.replace("{shape = [6, 4]} : (tensor<?x3x4xf32>) -> tensor<?x4xf32>",
                        "{shape = [-1, 4]} : (tensor<?x3x4xf32>) -> tensor<?x4xf32>")
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = assert_exact(text, "simplify,dce", [x, np.ones((2, 3), np.float32)])
    check(out, """
        CHECK: %b = array.reshape(%x) {shape = [-1, 12]}
        CHECK-NOT: array.reshape
        CHECK: core.return(%b, %s, %x)
    """)


def test_scalar_broadcasts_that_do_not_change_the_result_shape():
    text = module_with(f"""\
    %c = core.constant() {{value = dense<2.0> : tensor<f32>}} : () -> tensor<f32>
    %b = array.broadcast_to(%c) {{shape = [2, 4]}} : (tensor<f32>) -> {F}
    %y = math.mul(%x, %b) : ({F}, {F}) -> {F}
    %f = array.fill(%c) {{shape = [3, 2, 4]}} : (tensor<f32>) -> tensor<3x2x4xf32>
    %z = math.add(%x, %f) : ({F}, tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
    %same = array.broadcast_to(%x) {{shape = [2, 4]}} : ({F}) -> {F}
    core.return(%y, %z, %same) : ({F}, tensor<3x2x4xf32>, {F}) -> ()
""", results=f"{F}, tensor<3x2x4xf32>, {F}")
    out = assert_exact(text, "simplify,dce", [SPECIAL])
    check(out, """
        CHECK: %y = math.mul(%x, %c)
        CHECK-NEXT: %f = array.fill(%c) {shape = [3, 2, 4]}
        CHECK-NEXT: %z = math.add(%x, %f)
        CHECK-NEXT: core.return(%y, %z, %x)
    """)


def test_broadcast_of_one_then_identity():
    text = module_with(f"""\
    %c = core.constant() {{value = dense<1.0> : tensor<f32>}} : () -> tensor<f32>
    %b = array.broadcast_to(%c) {{shape = [2, 4]}} : (tensor<f32>) -> {F}
    %y = math.mul(%b, %x) : ({F}, {F}) -> {F}
    core.return(%y) : ({F}) -> ()
""")
    check(assert_exact(text, "simplify,dce", [SPECIAL]), "CHECK-NOT: math.mul\nCHECK: core.return(%x)")


# Scale and shift folding --------------------------------------------------------------------
# Tolerance: the folded model computes conv(x, F * s) + (b * s + t) instead of
# (conv(x, F) + b) * s + t, which differs by a few fp32 roundings of the output's magnitude:
# |after - before| <= 1e-5 * max|before| + 1e-5 * |before|.
def assert_close_fp32(after, before):
    scale = float(np.max(np.abs(before)))
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5 * scale)


def conv_chain(data_format="NHWC", per_channel_shape=(8,), two_uses=False, batch_norm=False,
               depthwise=False):
    rng = np.random.default_rng(7)
    in_shape = (2, 9, 9, 3) if data_format == "NHWC" else (2, 3, 9, 9)
    fb = FunctionBuilder("main", [TensorType(in_shape, dtypes.float32)], ["x"])
    mult = 2 if depthwise else 8
    filt = fb.constant(rng.standard_normal((3, 3, 3, mult)).astype(np.float32))
    channels = 6 if depthwise else 8
    op = "nn.depthwise_conv2d" if depthwise else "nn.conv2d"
    conv = y = fb.op(op, fb.args[0], filt, strides=[1, 1], padding="SAME", data_format=data_format)
    y = fb.op("nn.bias_add", y, fb.constant(rng.standard_normal(channels).astype(np.float32)),
              data_format=data_format)
    if batch_norm:
        params = [fb.constant(v.astype(np.float32)) for v in (
            rng.uniform(0.5, 2, channels), rng.standard_normal(channels),
            rng.standard_normal(channels), rng.uniform(0.1, 3, channels))]
        y = fb.op("nn.fused_batch_norm", y, *params, epsilon=1e-3, data_format=data_format)
    else:
        shape = per_channel_shape if per_channel_shape != (8,) else (channels,)
        y = fb.op("math.mul", y, fb.constant(rng.uniform(0.5, 2, shape).astype(np.float32)))
        y = fb.op("math.add", y, fb.constant(rng.standard_normal(shape).astype(np.float32)))
    outs = [fb.op("nn.relu", y)]
    if two_uses:
        outs.append(fb.op("math.exp", conv))
    module = Module([fb.ret(outs)])
    verify(module)
    return module, rng.standard_normal(in_shape).astype(np.float32)


@pytest.mark.parametrize("kwargs", [
    {}, {"data_format": "NCHW", "per_channel_shape": (8, 1, 1)}, {"per_channel_shape": (1, 1, 1, 8)},
    {"batch_norm": True}, {"batch_norm": True, "data_format": "NCHW"}, {"depthwise": True},
    {"depthwise": True, "batch_norm": True}])
def test_scale_and_shift_fold_into_the_conv_filter(kwargs):
    module, x = conv_chain(**kwargs)
    before = run_function(module["main"], [x])[0]
    PassManager.parse("simplify,dce").run(module)
    out = print_module(module)
    conv = "nn.depthwise_conv2d" if kwargs.get("depthwise") else "nn.conv2d"
    check(out, f"""
        CHECK: %[[W:[0-9]+]] = core.constant
        CHECK: %[[C:[0-9]+]] = {conv}(%x, %[[W]])
        CHECK-NEXT: %[[BIAS:[0-9]+]] = core.constant
        CHECK-NEXT: %[[B:[0-9]+]] = nn.bias_add(%[[C]], %[[BIAS]])
        CHECK-NEXT: nn.relu(%[[B]])
        CHECK-NOT: math.mul
        CHECK-NOT: math.add
        CHECK-NOT: fused_batch_norm
    """)
    assert out.count("core.constant") == 2
    assert_close_fp32(run_function(module["main"], [x])[0], before)


def test_scale_that_varies_along_another_axis_is_not_folded():
    module, _ = conv_chain(per_channel_shape=(9, 1, 8))   # varies along H as well
    assert not Simplify().run(module)


def test_conv_result_with_two_users_is_not_folded():
    module, _ = conv_chain(two_uses=True)
    assert not Simplify().run(module)


def test_matmul_bias_scale_shift_folds_with_and_without_transpose_b():
    rng = np.random.default_rng(11)
    for transpose_b in (False, True):
        fb = FunctionBuilder("main", [TensorType((None, 5), dtypes.float32)], ["x"])
        w = rng.standard_normal((3, 5) if transpose_b else (5, 3)).astype(np.float32)
        y = fb.op("math.matmul", fb.args[0], fb.constant(w), transpose_b=transpose_b)
        y = fb.op("nn.bias_add", y, fb.constant(rng.standard_normal(3).astype(np.float32)))
        y = fb.op("math.real_div", y, fb.constant(np.float32([2.0, 4.0, 0.5])))
        y = fb.op("math.sub", y, fb.constant(np.float32([[1.0, 2.0, 3.0]])))
        module = Module([fb.ret([y])])
        verify(module)
        x = rng.standard_normal((4, 5)).astype(np.float32)
        before = run_function(module["main"], [x])[0]
        PassManager.parse("simplify,dce").run(module)
        check(print_module(module), """
            CHECK: math.matmul(%x, %{{[0-9]+}})
            CHECK-NEXT: core.constant
            CHECK-NEXT: nn.bias_add
            CHECK-NEXT: core.return
        """)
        assert_close_fp32(run_function(module["main"], [x])[0], before)


def test_bias_chain_without_scale_merges_into_one_bias():
    rng = np.random.default_rng(5)
    fb = FunctionBuilder("main", [TensorType((2, 5), dtypes.float32)], ["x"])
    w = fb.constant(rng.standard_normal((5, 3)).astype(np.float32))
    y = fb.op("nn.bias_add", fb.op("math.matmul", fb.args[0], w), fb.constant(np.float32([1, 2, 3])))
    y = fb.op("math.add", y, fb.constant(np.float32([0.5, 0.25, 0.125])))
    module = Module([fb.ret([y])])
    x = rng.standard_normal((2, 5)).astype(np.float32)
    before = run_function(module["main"], [x])[0]
    Simplify().run(module)
    check(print_module(module), "CHECK: math.matmul\nCHECK: dense<[1.5, 2.25, 3.125]>\nCHECK-NEXT: nn.bias_add\nCHECK-NOT: math.add")
    assert_close_fp32(run_function(module["main"], [x])[0], before)


def test_scale_shift_folding_can_be_turned_off():
    module, _ = conv_chain()
    text = print_module(module)
    assert not Simplify(fold_scale_shift=False).run(module)
    assert print_module(module) == text
    assert str(PassManager.parse("simplify{fold_scale_shift=false}")) == "simplify{fold_scale_shift=false}"


def test_non_constant_filter_is_not_folded():
    text = module_with("""\
    %s = core.constant() {value = dense<2.0> : tensor<3xf32>} : () -> tensor<3xf32>
    %y = math.matmul(%x, %w) {transpose_a = false, transpose_b = false} : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
    %z = math.mul(%y, %s) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    core.return(%z) : (tensor<2x3xf32>) -> ()
""", args="%x: tensor<2x4xf32>, %w: tensor<4x3xf32>", results="tensor<2x3xf32>")
    check(opt(text, "simplify"), "CHECK: %z = math.mul(%y, %s)")
