"""`tfc compile models/lenet.py --emit ir` writes IR that `tfc opt` re-reads and `tfc run`
executes to the same numbers as `Session.run` on the model's own graph."""

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from tfc.cli import main
from tfc.model import load_model
from tfc.session import ConfigProto, Session

ROOT = Path(__file__).resolve().parent.parent


def test_lenet_ir_runs_like_the_session(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lenet"
    result = runner.invoke(main, ["compile", str(ROOT / "models" / "lenet.py"), "--emit", "ir",
                                  "--batch", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    reread = runner.invoke(main, ["opt", str(out / "model.tfc")])
    assert reread.exit_code == 0, reread.output

    images = np.random.default_rng(5).uniform(0, 1, (2, 28, 28, 1)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    run = runner.invoke(main, ["run", str(out / "model.tfc"), "-i", f"images={tmp_path / 'images.npy'}",
                               "-o", str(tmp_path / "results")])
    assert run.exit_code == 0, run.output
    probs = np.load(tmp_path / "results" / "probs.npy")

    model = load_model(ROOT / "models" / "lenet.py")
    with model.graph.as_default():
        from tfc.api.variables import global_variables_initializer

        with Session(graph=model.graph, config=ConfigProto(tfc_engine="interpreter")) as sess:
            sess.run(global_variables_initializer())
            expected = sess.run(model.outputs["probs"], {model.inputs["images"]: images})
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
