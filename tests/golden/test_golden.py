"""Golden-output regression tests: every model in models/ is frozen, run on a seeded input, and
its outputs compared with stored outputs, per target and precision:

- `data/NAME.npz`: the reference interpreter on the fp32 model; native code (with and without
  the default pipeline) must match it;
- `data/NAME-cpu-int8.npz`, `NAME-cpu-fp16.npz`: the interpreter on the model lowered by
  `tfc.precision.quantize_module` (calibrated on seeded samples); native code must match it
  (int8 kernels are bit-exact, so only the float parts round differently);
- `data/NAME-mlu270.npz`, `NAME-mlu370.npz`: the MLU program (int16 fixed point on mlu270, fp32
  on mlu370) run on the simulator, which is deterministic.

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


def _check_or_store(request, path: Path, inputs, outputs, rtol: float, atol: float) -> None:
    if request.config.getoption("--regenerate-golden"):
        DATA.mkdir(exist_ok=True)
        np.savez_compressed(path, inputs_sha256=digest(inputs), **{f"out{i}": o for i, o in enumerate(outputs)})
    golden = np.load(path)
    assert str(golden["inputs_sha256"]) == digest(inputs), "the seeded inputs changed"
    for i, value in enumerate(outputs):
        np.testing.assert_allclose(value, golden[f"out{i}"], rtol=rtol, atol=atol)


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
    _check_or_store(request, DATA / f"{name}.npz", inputs, outputs, rtol=1e-6, atol=1e-7)


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


@pytest.mark.parametrize("precision", ["int8", "fp16"])
@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_lowered_precision_matches_golden(name, precision, request):
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.model import calibration_samples
    from tfc.passes import PassManager
    from tfc.precision import quantize_module

    batch, _ = MODELS[name]
    loaded = load_model(ROOT / "models" / f"{name}.py")
    module = freeze(loaded, batch=batch)
    samples = calibration_samples(loaded, 8, batch, seed=0)
    lowered = quantize_module(module, precision, samples=samples, progress=False)
    inputs = model_inputs(lowered["main"])
    outputs = run_function(lowered["main"], inputs)
    _check_or_store(request, DATA / f"{name}-cpu-{precision}.npz", inputs, outputs, rtol=1e-6, atol=1e-7)
    # The lowered model stays close to fp32 (top-1 on these 4 rows, probabilities within 0.05).
    fp32 = np.load(DATA / f"{name}.npz")["out0"]
    assert (np.argmax(outputs[0], -1) == np.argmax(fp32, -1)).all()
    np.testing.assert_allclose(outputs[0], fp32, atol=5e-2)
    PassManager.parse("cpu-default").run(lowered)
    native = NativeFunction.jit(lowered["main"])(inputs)
    for value, want in zip(native, outputs):
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_mlu_matches_golden(name, profile, request):
    # mlu270: conv/matmul in int16 fixed point calibrated on the inputs themselves; mlu370: fp32,
    # with the softmax through the exp table (~1%). Against the fp32 golden: 2e-2 absolute on the
    # probabilities and the same top-1 class; against the stored MLU outputs: exact up to 1e-6.
    from tfc.mlu import compile_for_mlu
    from tfc.runtime.mlu.program import run_program

    batch, _ = MODELS[name]
    module = freeze(load_model(ROOT / "models" / f"{name}.py"), batch=batch)
    inputs = model_inputs(module["main"])
    program = compile_for_mlu(module, None, profile, samples=[inputs])
    outputs, _ = run_program(program, inputs)
    _check_or_store(request, DATA / f"{name}-{profile}.npz", inputs, outputs, rtol=1e-6, atol=1e-7)
    fp32 = np.load(DATA / f"{name}.npz")["out0"]
    np.testing.assert_allclose(outputs[0], fp32, atol=2e-2)
    assert (np.argmax(outputs[0], -1) == np.argmax(fp32, -1)).all()
