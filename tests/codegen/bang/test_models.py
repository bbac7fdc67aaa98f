"""Models end to end on the MLU simulator against the interpreter.

mlu370 runs them in fp32 (tolerance 1e-4 on the softmax outputs: the exp table is ~1% but the
outputs here are compared through softmax, so 2% relative / 2e-3 absolute); mlu270 quantizes
conv/matmul to int16 fixed point (calibrated on the model's samples): compared against the
fp32 interpreter with a 2e-2 absolute tolerance on probabilities and the same top-1."""

from pathlib import Path

import numpy as np
import pytest

from tfc.mlu import compile_for_mlu
from tfc.model import calibration_samples, freeze, load_model
from tfc.runtime.interpreter import run_function
from tfc.runtime.mlu.program import run_program

MODELS = Path(__file__).resolve().parents[3] / "models"


def _reference(path, inputs):
    module = freeze(load_model(str(path)))
    return run_function(module["main"], inputs)


@pytest.mark.parametrize("profile", ["mlu370", "mlu270"])
@pytest.mark.parametrize("model", ["mlp", "lenet"])
def test_model_end_to_end(model, profile, tmp_path):
    path = MODELS / f"{model}.py"
    loaded = load_model(str(path))
    inputs = calibration_samples(loaded, 1, 1, seed=123)[0]
    expected = _reference(path, inputs)
    program = compile_for_mlu(str(path), tmp_path / "out", profile)
    assert (tmp_path / "out" / "plan.json").is_file()
    got, reports = run_program(tmp_path / "out", inputs)
    assert len(reports) == len(program.plan["launches"])
    assert all(r.cycles > 0 for r in reports)
    e, g = expected[0], got[0]
    assert g.shape == e.shape
    if profile == "mlu370":
        np.testing.assert_allclose(g, e, rtol=2e-2, atol=2e-3)
    else:
        assert program.plan["precision"] == "int16"
        np.testing.assert_allclose(g, e, atol=2e-2)
    assert np.argmax(g, -1).tolist() == np.argmax(e, -1).tolist()


def test_vgg19_compiles_for_mlu270(tmp_path):
    """VGG19 (143.7 M parameters) compiles for mlu270 with every conv/matmul in fixed point."""
    program = compile_for_mlu(str(MODELS / "vgg19.py"), None, "mlu270",
                              samples=[calibration_samples(load_model(str(MODELS / "vgg19.py")), 1, 1)[0]])
    kernels = [l["kernel"] for l in program.plan["launches"]]
    assert sum("conv2d" in k for k in kernels) == 16
    assert sum("matmul" in k for k in kernels) == 3
    assert not any("nn.conv2d" in s for s in program.sources)


def test_vgg19_first_block_runs_on_the_simulator():
    """The first conv block (conv1_1, conv1_2, pool1) of VGG19 on mlu270 in int16 fixed point,
    against the fp32 interpreter (relative error of the block output < 2%)."""
    path = str(MODELS / "vgg19.py")
    loaded = load_model(path)
    from tfc.model import select_outputs

    select_outputs(loaded, ["pool1"])
    sample = calibration_samples(loaded, 1, 1, seed=7)[0]
    module = freeze(loaded)
    expected = run_function(module["main"], sample)[0]
    program = compile_for_mlu(module, None, "mlu270", samples=[sample])
    got, reports = run_program(program, sample)
    err = np.max(np.abs(got[0] - expected)) / np.max(np.abs(expected))
    assert err < 2e-2, err


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["mlu370", "mlu270"])
def test_vgg19_whole_model_runs(profile):
    """All of VGG19 (batch 1) on the simulator (15-45 s of simulation): same top-1 class as the
    fp32 interpreter and probabilities within 2e-2."""
    path = str(MODELS / "vgg19.py")
    sample = calibration_samples(load_model(path), 1, 1, seed=3)[0]
    module = freeze(load_model(path))
    expected = run_function(module["main"], sample)[0]
    program = compile_for_mlu(module, None, profile, samples=[sample])
    got, _ = run_program(program, sample)
    np.testing.assert_allclose(got[0], expected, atol=2e-2)
    assert np.argmax(got[0]) == np.argmax(expected)
