"""models/mlp.py and models/lenet.py (batch 4, the seeded inputs of tests/golden) compiled for
both MLU profiles and run on the simulator, against the stored golden outputs of the reference
interpreter (tests/golden/data/*.npz, regenerated only by tests/golden with --regenerate-golden).

Tolerances: mlu370 (fp32; the softmax goes through the exp table, ~1%): 2% relative + 2e-3
absolute; mlu270 (conv/matmul int16 fixed point, calibrated on the same inputs): 2e-2 absolute
on the probabilities and the same top-1 class for every row."""

from pathlib import Path

import numpy as np
import pytest

from tfc.mlu import compile_for_mlu
from tfc.model import freeze, load_model
from tfc.runtime.mlu.program import run_program

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "golden" / "data"
BATCH = 4


def _inputs(function, seed: int = 0):
    # the same seeded inputs as tests/golden/test_golden.py (model_inputs)
    rng = np.random.default_rng(seed)
    return {a.name_hint: rng.uniform(0, 1, a.type.shape).astype(a.type.dtype.numpy) for a in function.args}


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_mlu_matches_golden(name, profile):
    path = ROOT / "models" / f"{name}.py"
    golden = np.load(DATA / f"{name}.npz")
    module = freeze(load_model(path), batch=BATCH)
    inputs = _inputs(module["main"])
    program = compile_for_mlu(module, None, profile, samples=[inputs])
    outputs, _ = run_program(program, inputs)
    for i, value in enumerate(outputs):
        expected = golden[f"out{i}"]
        if profile == "mlu370":
            np.testing.assert_allclose(value, expected, rtol=2e-2, atol=2e-3)
        else:
            np.testing.assert_allclose(value, expected, atol=2e-2)
            assert (np.argmax(value, -1) == np.argmax(expected, -1)).all()
