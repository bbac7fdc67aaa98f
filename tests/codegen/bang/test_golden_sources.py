"""The emitted BANG C of one kernel per op kind, kept as golden files
(tests/codegen/bang/golden/*.mlu) so that any change to the emitter shows up in review.
(The tensor-unit kernels' goldens are nn_*.mlu, from test_nn_kernels.py.)
Regenerate on purpose only: `pytest tests/codegen/bang --regenerate-golden`."""

from pathlib import Path

import numpy as np
import pytest

from tfc.codegen.bang import compile_module
from tfc.ir import dtypes as dt, parse_module
from tfc.passes import PassManager

from .harness import Const, one_op_module

GOLDEN = Path(__file__).parent / "golden"


def _x(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def _w(shape, dtype=np.float32, seed=0):
    return Const(np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype))


FUSED = """
module {
  func @main(%x: tensor<64x100xf32>, %b: tensor<100xf32>) -> (tensor<64x100xf32>) {
    %c = core.constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
    %0 = math.mul(%x, %c) : (tensor<64x100xf32>, tensor<f32>) -> tensor<64x100xf32>
    %1 = math.add(%0, %b) : (tensor<64x100xf32>, tensor<100xf32>) -> tensor<64x100xf32>
    %2 = math.sigmoid(%1) : (tensor<64x100xf32>) -> tensor<64x100xf32>
    %3 = math.mul(%2, %x) : (tensor<64x100xf32>, tensor<64x100xf32>) -> tensor<64x100xf32>
    core.return(%3) : (tensor<64x100xf32>) -> ()
  }
}
"""


def _module(kind):
    if kind == "fused_elementwise":
        return parse_module(FUSED)
    spec = CASES[kind]
    return one_op_module(*spec)[0]


CASES = {
    "add": ("math.add", [_x((1000,)), _x((1000,))]),
    "bias_add_cycle": ("nn.bias_add", [_x((8, 6)), _w((6,))]),
    "tanh": ("math.tanh", [_x((4096,))]),
    "quantize_int16": ("quant.quantize", [_x((512,))], {"dtype": dt.int16, "scale": [2.0 ** -10]}),
    "dequantize_int8": ("quant.dequantize", [_x((512,), np.int8)], {"scale": [2.0 ** -4]}),
    "reduce_sum_rows": ("math.reduce_sum", [_x((16, 300))], {"axes": [1]}),
    "reduce_max_columns": ("math.reduce_max", [_x((300, 16))], {"axes": [0]}),
    "softmax": ("nn.softmax", [_x((2, 1000))]),
    "transpose": ("array.transpose", [_x((4, 6))], {"perm": [1, 0]}),
    "concat": ("array.concat", [_x((2, 3)), _x((2, 5))], {"axis": 1}),
    "pad": ("array.pad", [_x((1, 5, 5, 2))], {"paddings": [0, 0, 1, 1, 1, 1, 0, 0]}),
    "log_softmax": ("nn.log_softmax", [_x((2, 100))]),
    "argmax": ("math.argmax", [_x((8, 100))], {"axis": 1}),
    "strided_slice": ("array.strided_slice", [_x((6, 8, 4))], {"begin": [0, 1, 0], "end": [6, 7, 4],
                                                               "strides": [2, 1, 1]}),
    "split": ("array.split", [_x((4, 9))], {"axis": 1, "num": 3}),
    "fused_batch_norm": ("nn.fused_batch_norm", [_x((1, 4, 4, 8)), _w((8,)), _w((8,), seed=1),
                                                 _w((8,), seed=2), Const(np.ones(8, np.float32))], {}),
}
# The tensor-unit kernels (conv, matmul, pooling) have their golden files in nn_*.mlu, kept by
# codegen/bang/nn.py's tests; the fixed-point conv pattern is checked in test_quant_nn.py.
KINDS = sorted(CASES) + ["fused_elementwise"]


@pytest.mark.parametrize("kind", KINDS)
def test_golden_source(kind, request):
    module = _module(kind)
    PassManager.parse("mlu-default").run(module)
    program = compile_module(module, "mlu270")
    launch = program.plan["launches"][-1]
    source = program.sources[launch["file"]]
    path = GOLDEN / f"{kind}.mlu"
    if request.config.getoption("--regenerate-golden"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run pytest with --regenerate-golden (on purpose)"
    assert source == path.read_text(encoding="utf-8"), f"the emitted source of {kind} changed"
