"""`tfc compile --target mlu`, `tfc run FOLDER` on the simulator, and Session runs of ops placed
with `tf.device('/mlu:0')`."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tfc as tf
from tfc.cli import main

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_cli_compile_and_run_mlp(profile, tmp_path):
    out = tmp_path / "mlp_mlu"
    runner = CliRunner()
    result = runner.invoke(main, ["compile", str(MODELS / "mlp.py"), "--target", "mlu",
                                  "--profile", profile, "-o", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target"] == "mlu" and manifest["profile"] == profile
    assert manifest["precision"] == ("int16" if profile == "mlu270" else "fp32")
    assert list(out.glob("*.mlu")) and (out / "plan.json").is_file() and (out / "weights.bin").is_file()
    x = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = runner.invoke(main, ["run", str(out), "-i", f"x={tmp_path / 'x.npy'}"])
    assert result.exit_code == 0, result.output
    assert "probs: tensor<1x10xf32>" in result.output
    assert "cycles" in result.output.lower() and "total" in result.output.lower()


def test_cli_mlu_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import tfc as tf\nx = tf.placeholder(tf.float32, [4], name='x')\n"
                   "inputs = {'x': x}\noutputs = {'y': tf.floormod(x, 3.0)}\n")
    result = CliRunner().invoke(main, ["compile", str(bad), "--target", "mlu", "-o", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "floor_mod" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--emit", "bang"], "--emit bang is the MLU's form: add --target mlu"),
    (["--target", "mlu", "--emit", "llvm"], "--emit llvm is a CPU form"),
])
def test_cli_emit_bang_goes_with_target_mlu(args, message, tmp_path):
    result = CliRunner().invoke(main, ["compile", str(MODELS / "mlp.py"), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and message in result.output


def test_session_ops_on_mlu_run_on_the_simulator():
    from tfc.mlu import last_reports

    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [4, 40], name="x")
        with tf.device("/mlu:0"):
            y = tf.nn.relu(x * 2.0 + 1.0)
            z = tf.reduce_sum(y, axis=1)
        with tf.Session(config=tf.ConfigProto(tfc_mlu_profile="mlu370")) as sess:
            v = np.random.default_rng(0).standard_normal((4, 40)).astype(np.float32)
            got_y, got_z = sess.run([y, z], {x: v})
    ref = np.maximum(v * 2 + 1, 0)
    np.testing.assert_allclose(got_y, ref, rtol=1e-5)
    np.testing.assert_allclose(got_z, ref.sum(1), rtol=1e-5)
    assert last_reports() and all(r.cycles > 0 for r in last_reports())


def test_session_falls_back_to_cpu_with_a_warning():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [8], name="x")
        with tf.device("/mlu:0"):
            y = tf.floormod(x, 3.0)
        with tf.Session() as sess:
            v = np.arange(8, dtype=np.float32)
            with pytest.warns(UserWarning, match="floor_mod"):
                got = sess.run(y, {x: v})
    np.testing.assert_allclose(got, np.mod(v, 3.0))


def test_session_conv_on_mlu270_is_quantized():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [1, 8, 8, 3], name="x")
        w = tf.constant(np.random.default_rng(1).uniform(-0.5, 0.5, (3, 3, 3, 8)).astype(np.float32))
        with tf.device("/mlu:0"):
            y = tf.nn.relu(tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME"))
        v = np.random.default_rng(0).uniform(0, 1, (1, 8, 8, 3)).astype(np.float32)
        with tf.Session(config=tf.ConfigProto(tfc_engine="interpreter")) as sess:
            ref = sess.run(y, {x: v})
        with tf.Session() as sess:                      # default profile mlu270: int16 fixed point
            got = sess.run(y, {x: v})
    assert np.max(np.abs(got - ref)) <= 1e-3 * np.max(np.abs(ref)) + 1e-6
    from tfc.mlu import last_reports

    assert any("conv2d" in r.kernel for r in last_reports())
