"""The op table as a whole: every op is declared with docs and reference semantics, covers the
ops the foundation issue and the lecture name, and every op round-trips through the text form
and runs on the interpreter (examples come from each family's test module)."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, parse_module, print_module, verify
from tfc.ir.opdef import OPS, TERMINATOR
from tfc.runtime.interpreter import run_function
from tests.ir.ops import test_array, test_math, test_nn, test_random
from tests.precision import test_quant_ops

EXAMPLES = test_math.EXAMPLES + test_nn.EXAMPLES + test_array.EXAMPLES + test_random.EXAMPLES
EXAMPLES += test_quant_ops.EXAMPLES
EXAMPLES += [
    ("core.constant", [], {"value": np.arange(6, dtype=np.float32).reshape(2, 3)}),
    ("core.identity", [np.array([1, 2], np.int32), np.array(True)], {}),
]

# Every op the lecture's tables and the foundation issue name, by IR name.
REQUIRED = """
math.add math.sub math.mul math.real_div math.floor_div math.greater math.less math.equal
math.abs math.sign math.square math.pow math.log math.sin math.cos math.matmul
linalg.matrix_inverse linalg.matrix_determinant array.transpose math.logical_and
math.is_finite nn.conv2d nn.depthwise_conv2d nn.bias_add nn.relu nn.elu math.sigmoid
math.tanh nn.softmax nn.dropout nn.avg_pool nn.max_pool nn.max_pool_with_argmax nn.l2_loss
random.normal random.truncated_normal random.uniform random.gamma random.multinomial
random.shuffle math.cast array.reshape array.slice array.split array.concat array.shape
array.fill math.select math.reduce_sum math.reduce_mean math.reduce_max math.reduce_min
math.reduce_prod math.exp math.sqrt math.rsqrt math.floor math.maximum math.minimum
math.not_equal math.greater_equal math.less_equal math.logical_or math.logical_not math.neg
math.floor_mod array.pad array.gather array.one_hot math.argmax math.argmin array.tile
array.stack array.unstack array.expand_dims array.squeeze array.strided_slice nn.relu6
nn.log_softmax nn.softmax_cross_entropy_with_logits nn.sparse_softmax_cross_entropy_with_logits
nn.sigmoid_cross_entropy_with_logits nn.weighted_cross_entropy_with_logits array.broadcast_to
math.select_v2 array.range
""".split()


def test_required_ops_are_declared():
    missing = [name for name in REQUIRED if name not in OPS]
    assert not missing


def test_every_op_has_an_example():
    covered = {name for name, _, _ in EXAMPLES}
    # core.fusion holds a region: tests/passes/test_fuse.py and tests/codegen/test_fusion_kernels.py.
    missing = sorted(set(OPS) - covered - {"core.return", "core.yield", "core.fusion"})
    assert not missing


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_is_documented_and_executable(name):
    opdef = OPS[name]
    assert opdef.doc.strip(), f"{name} has no doc"
    if not opdef.has(TERMINATOR):
        assert opdef.compute is not None


def _function_of(name, inputs, attrs):
    arrays = [np.asarray(x) for x in inputs]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
    fb = FunctionBuilder("main", types, [f"in{i}" for i in range(len(arrays))])
    op = fb.create(name, list(fb.args), attrs)
    return Module([fb.ret(list(op.results))]), arrays


@pytest.mark.parametrize("name, inputs, attrs", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_op_round_trips_and_runs(name, inputs, attrs):
    module, arrays = _function_of(name, inputs, attrs)
    verify(module)
    text = print_module(module)
    reparsed = parse_module(text)
    verify(reparsed)
    assert print_module(reparsed) == text
    expected = run_function(module["main"], arrays)
    got = run_function(reparsed["main"], arrays)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)
