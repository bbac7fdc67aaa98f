"""Ahead-of-time compilation for the CPU: `tfc compile` writes the object, shared library,
header, weights, IR and manifest; `tfc.load` and `tfc run` execute the folder; a C program
links the library. Results agree with the reference interpreter."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tfc
from tfc.cli import main
from tfc.ir import parse_file
from tfc.runtime.interpreter import run_function

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mlp_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp")
    result = CliRunner().invoke(main, ["compile", str(ROOT / "models" / "mlp.py"), "-o", str(out),
                                       "--emit", "llvm", "--emit", "asm", "--emit", "so"])
    assert result.exit_code == 0, result.output
    return out


def test_folder_has_every_artifact(mlp_build):
    names = {p.name for p in mlp_build.iterdir()}
    assert {"model.o", "model.h", "weights.bin", "model.tfc", "manifest.json", "model.ll", "model.s"} <= names
    if shutil.which("cc"):
        assert "libmodel.so" in names
    header = (mlp_build / "model.h").read_text()
    assert "int32_t tfc_mlp(void *const *args, void *const *results, void *temp, const void *weights);" in header
    assert "#define TFC_MLP_ARG0_BYTES 3136" in header        # 1 x 784 floats
    assert "#define TFC_MLP_RESULT0_BYTES 40" in header       # 1 x 10 floats
    assert (mlp_build / "weights.bin").stat().st_size >= (784 * 512 + 512 * 512 + 512 * 10) * 4


def test_load_matches_the_interpreter(mlp_build):
    model = tfc.load(mlp_build)
    x = np.random.default_rng(1).uniform(0, 1, (1, 784)).astype(np.float32)
    (probs,) = model(x=x)
    function = parse_file(mlp_build / "model.tfc")["main"]
    np.testing.assert_allclose(probs, run_function(function, [x])[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("value, message", [
    (np.zeros((2, 784), np.float32), "input 'x' has shape [2, 784], expected [1, 784]"),
    (np.zeros((1, 784), np.float64), "input 'x' has dtype float64, expected float32"),
])
def test_load_rejects_wrong_inputs_before_native_code(mlp_build, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tfc.load(mlp_build)(value)


def test_tfc_run_folder(mlp_build, tmp_path):
    x = np.full((1, 784), 0.5, np.float32)
    np.save(tmp_path / "x.npy", x)
    result = CliRunner().invoke(main, ["run", str(mlp_build), "-i", f"x={tmp_path / 'x.npy'}",
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "out" / "probs.npy"), tfc.load(mlp_build)(x)[0])


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_c_example_links_and_runs(mlp_build, tmp_path):
    exe = tmp_path / "mlp_main"
    subprocess.run(["cc", "-O2", f"-I{mlp_build}", str(ROOT / "examples" / "c" / "mlp_main.c"),
                    f"-L{mlp_build}", "-lmodel", f"-Wl,-rpath,{mlp_build}", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe), str(mlp_build / "weights.bin")], capture_output=True, text=True, check=True)
    lines = out.stdout.split()
    probs = np.array([float(v) for v in lines[:10]], np.float32)
    x = (np.arange(784) % 255 / 255).astype(np.float32).reshape(1, 784)
    np.testing.assert_allclose(probs, tfc.load(mlp_build)(x)[0][0], atol=2e-6)
    assert lines[-1] == str(int(np.argmax(probs)))
