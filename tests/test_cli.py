"""The `tfc` command line: opt and run on IR files, and one-line errors with exit status 2."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from tfc.cli import main

IDENTITY = """\
module {
  func @main(%x: tensor<2xf32>, %n: tensor<i32>) -> (tensor<2xf32>, tensor<i32>) attributes {outputs = ["y", "k"]} {
    %0, %1 = core.identity(%x, %n) : (tensor<2xf32>, tensor<i32>) -> (tensor<2xf32>, tensor<i32>)
    core.return(%0, %1) : (tensor<2xf32>, tensor<i32>) -> ()
  }
}
"""


@pytest.fixture
def ir_file(tmp_path):
    path = tmp_path / "id.tfc"
    path.write_text(IDENTITY)
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "opt" in result.output and "run" in result.output


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "tfc.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage" in out.stdout


def test_opt_prints_canonical_text(ir_file, tmp_path):
    result = invoke("opt", ir_file)
    assert result.exit_code == 0, result.output
    assert result.output == IDENTITY
    out = tmp_path / "out.tfc"
    assert invoke("opt", ir_file, "-o", out).exit_code == 0
    assert out.read_text() == IDENTITY


def test_run_with_literal_and_npy_inputs(ir_file, tmp_path):
    np.save(tmp_path / "x.npy", np.array([1.5, -2.0], np.float32))
    result = invoke("run", ir_file, "--input", f"x={tmp_path / 'x.npy'}", "--input", "n=7")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["y: tensor<2xf32> = [ 1.5, -2. ]", "k: tensor<i32> = 7"]


def test_run_saves_outputs(ir_file, tmp_path):
    result = invoke("run", ir_file, "-i", "x=[3, 4]", "-i", "n=1", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "y.npy"), np.array([3, 4], np.float32))
    assert np.load(tmp_path / "out" / "k.npy").dtype == np.int32


@pytest.mark.parametrize("args, message", [
    (["run", "{f}", "-i", "x=[1, 2, 3]", "-i", "n=1"], "input 'x' has shape [3], expected tensor<2xf32>"),
    (["run", "{f}", "-i", "x=[1, 2]"], "missing ['n']"),
    (["run", "{f}", "-i", "z=1"], "@main has no argument 'z'"),
    (["run", "{f}", "-i", "x=hello"], "neither a .npy/.npz file nor a number or list"),
    (["run", "{f}", "-i", "x=nofile.npy"], "cannot load nofile.npy"),
    (["run", "{f}", "-i", "xyz"], "expected NAME=FILE.npy or NAME=VALUE"),
    (["run", "{f}", "--function", "other"], "no function @other"),
    (["opt", "missing.tfc"], "cannot read missing.tfc"),
])
def test_bad_inputs_exit_2_with_one_line(ir_file, args, message):
    result = invoke(*[a.replace("{f}", str(ir_file)) for a in args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


@pytest.mark.parametrize("text, message", [
    (IDENTITY.replace("core.identity", "core.frobnicate"), "id.tfc:3:14: unknown op 'core.frobnicate'"),
    ("func @main() -> (tensor<3xf32>) {\n"
     "  %0 = core.constant() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32> loc(\"m.py\":9)\n"
     "  core.return(%0) : (tensor<3xf32>) -> ()\n}\n",
     "m.py:9: core.constant: result 0 is declared tensor<3xf32> but its operands and attributes give tensor<2xf32>"),
    ("module {", "expected 'func' or '}', got end of file"),
])
def test_bad_ir_files_exit_2_with_one_line(tmp_path, text, message):
    path = tmp_path / "id.tfc"
    path.write_text(text)
    result = invoke("opt", path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
