"""The sample IR model that the README runs: `tfc run models/tiny_mlp.tfc` prints the same
probabilities as a plain numpy forward pass over the file's weights."""

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from tfc.cli import main
from tfc.ir import parse_file, print_module, parse_module

MODEL = Path(__file__).resolve().parent.parent / "models" / "tiny_mlp.tfc"
X = np.array([[0.5, -1.0, 2.0, 0.25], [1.0, 0.0, -0.5, 3.0]], np.float32)


def numpy_forward(x, w1, b1, w2, b2):
    h = np.maximum(x @ w1 + b1, 0)
    logits = h @ w2 + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def weights():
    consts = {op.results[0].name_hint: op.attributes["value"]
              for op in parse_file(MODEL)["main"].walk() if op.name == "core.constant"}
    return consts["w1"], consts["b1"], consts["w2"], consts["b2"]


def test_tfc_run_prints_the_numpy_forward_pass(tmp_path):
    result = CliRunner().invoke(main, ["run", str(MODEL), "--input", f"x={X.tolist()}",
                                       "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    probs = np.load(tmp_path / "probs.npy")
    np.testing.assert_allclose(probs, numpy_forward(X, *weights()), rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_sample_round_trips_through_opt():
    text = print_module(parse_file(MODEL))
    assert print_module(parse_module(text)) == text
