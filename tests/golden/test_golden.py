"""Golden-output regression tests: every model in models/ is frozen, run on a seeded input, and
its outputs compared with the stored outputs of the reference interpreter.

Regenerate on purpose only: `pytest tests/golden --regenerate-golden` (then review the diff).
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tfc.model import freeze, load_model
from tfc.runtime.interpreter import run_function

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

# model -> (batch, tolerance of native code against the interpreter's stored outputs)
MODELS = {
    "mlp": (4, 1e-5),
    "lenet": (4, 1e-5),
    "vgg19": (1, 1e-4),     # 19 layers of float32 sums in a different order than numpy's
}


def model_inputs(function, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {a.name_hint: rng.uniform(0, 1, a.type.shape).astype(a.type.dtype.numpy) for a in function.args}


def digest(inputs: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(inputs):
        h.update(name.encode())
        h.update(np.ascontiguousarray(inputs[name]).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module", params=[
    pytest.param(name, marks=[pytest.mark.slow] if name == "vgg19" else []) for name in MODELS])
def frozen(request):
    name = request.param
    batch, _ = MODELS[name]
    module = freeze(load_model(ROOT / "models" / f"{name}.py"), batch=batch)
    return name, module["main"]


def test_interpreter_matches_golden(frozen, request):
    name, function = frozen
    inputs = model_inputs(function)
    outputs = run_function(function, inputs)
    path = DATA / f"{name}.npz"
    if request.config.getoption("--regenerate-golden"):
        DATA.mkdir(exist_ok=True)
        np.savez_compressed(path, inputs_sha256=digest(inputs), **{f"out{i}": o for i, o in enumerate(outputs)})
    golden = np.load(path)
    assert str(golden["inputs_sha256"]) == digest(inputs), "the seeded inputs changed"
    for i, value in enumerate(outputs):
        np.testing.assert_allclose(value, golden[f"out{i}"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("pipeline", ["none", "cpu-default"])
def test_native_matches_golden(frozen, pipeline):
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.ir import Module
    from tfc.passes import PassManager

    name, function = frozen
    _, tolerance = MODELS[name]
    golden = np.load(DATA / f"{name}.npz")
    module = Module([function.clone()])
    PassManager.parse(pipeline).run(module)
    outputs = NativeFunction.jit(module["main"])(model_inputs(function))
    for i, value in enumerate(outputs):
        np.testing.assert_allclose(value, golden[f"out{i}"], rtol=tolerance, atol=tolerance * 1e-2)
