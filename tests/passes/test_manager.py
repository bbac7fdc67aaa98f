"""The pass manager, pipelines, the default pipelines on every model, `tfc opt`/`tfc compile`
with passes, and the README's user-defined pass example."""

import io
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pytest
from click.testing import CliRunner

from tfc.cli import main
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes, parse_module, print_module, verify
from tfc.ir.core import Operation
from tfc.passes import (PASSES, Pass, PassManager, PassVerifyError, PipelineError, default_pipeline,
                        expand_pipeline, load_pass_file, register_pass)
from tfc.passes.dce import DeadCodeElimination
from tfc.passes.fold import FoldConstants
from tfc.runtime.interpreter import run_function

from .filecheck import check

ROOT = Path(__file__).resolve().parents[2]

TEXT = """\
module {
  func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) {
    %a = core.constant() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %b = core.constant() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %s = math.add(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %y = math.mul(%x, %s) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %dead = math.exp(%y) : (tensor<2xf32>) -> tensor<2xf32>
    core.return(%y) : (tensor<2xf32>) -> ()
  }
}
"""


@pytest.fixture
def registry():
    """Passes registered by a test are removed afterwards."""
    saved = dict(PASSES)
    yield PASSES
    PASSES.clear()
    PASSES.update(saved)


# Parsing pipelines --------------------------------------------------------------------------
def test_parse_string_list_and_instances_agree():
    a = PassManager.parse("fold,cse,dce")
    b = PassManager.parse(["fold", "cse", "dce"])
    c = PassManager.parse([FoldConstants(), "cse", DeadCodeElimination()])
    assert a.names == b.names == c.names == ["fold", "cse", "dce"]
    assert str(a) == str(b) == str(c) == "fold,cse,dce"
    assert PassManager.parse(" fold , simplify* ,dce ").names == ["fold", "simplify", "dce"]
    assert [e.fixed_point for e in PassManager.parse("fold,simplify*,dce").entries] == [False, True, False]
    assert len(PassManager.parse("none")) == len(PassManager.parse("")) == 0


def test_options_are_converted_by_the_field_types(registry):
    @register_pass
    @dataclass(frozen=True)
    class Options(Pass):
        name = "test-options"
        count: int = 1
        ratio: float = 0.5
        flag: bool = False
        target: str = "cpu"
        kind: Literal["a", "b"] = "a"
        sizes: tuple[int, ...] = ()
        limit: Optional[int] = None

        def run(self, module):
            return False

    p = PassManager.parse("test-options{count=3, ratio=2.5 flag=true,target=\"mlu\",kind=b,"
                          "sizes=[1,2,3],limit=none}*").entries[0]
    assert p.fixed_point
    assert p.pass_ == Options(count=3, ratio=2.5, flag=True, target="mlu", kind="b", sizes=(1, 2, 3))
    assert str(p) == 'test-options{count=3,ratio=2.5,flag=true,target=mlu,kind=b,sizes=[1,2,3]}*'
    assert PassManager.parse(str(p)).entries[0].pass_ == p.pass_
    for text, message in [("test-options{count=x}", "option 'count': expected an integer"),
                          ("test-options{flag=maybe}", "expected true or false"),
                          ("test-options{kind=c}", "expected one of 'a', 'b'"),
                          ("test-options{nope=1}", "has no option 'nope'"),
                          ("test-options{count}", "expected option=value"),
                          ("test-options{count=1", "unclosed"),
                          ("nosuchpass", "unknown pass 'nosuchpass' (known passes: "),
                          ("fold,,dce!", "bad pipeline item")]:
        with pytest.raises(PipelineError, match=re.escape(message)):
            PassManager.parse(text)


def test_register_pass_rules(registry):
    class NoName(Pass):
        pass

    with pytest.raises(ValueError, match="class attribute `name`"):
        register_pass(NoName)
    with pytest.raises(TypeError):
        register_pass(int)

    @register_pass
    class Plain(Pass):          # becomes a frozen dataclass
        name = "test-plain"
        level: int = 2

        def run(self, module):
            return False

    assert Plain(level=3).level == 3
    with pytest.raises(Exception):
        Plain().level = 4

    class Other(Pass):
        name = "fold"

    with pytest.raises(ValueError, match="already registered"):
        register_pass(Other)


# Running -------------------------------------------------------------------------------------
def test_statistics_count_ops_before_and_after_each_pass():
    module = parse_module(TEXT)
    stats = PassManager.parse("fold,cse,dce").run(module)
    assert stats["ops_before"] == 6 and stats["ops_after"] == 3 and stats["changed"]
    rows = [(p["name"], p["ops_before"], p["ops_after"], p["changed"], p["iterations"]) for p in stats["passes"]]
    assert rows == [("fold", 6, 6, True, 1), ("cse", 6, 5, True, 1), ("dce", 5, 3, True, 1)]
    assert all(p["seconds"] >= 0 for p in stats["passes"])
    again = PassManager.parse("fold,cse,dce").run(module)
    assert not again["changed"]


def test_skip_by_name():
    module = parse_module(TEXT)
    stats = PassManager.parse("fold,cse,dce", skip={"cse"}).run(module)
    assert [p["skipped"] for p in stats["passes"]] == [False, True, False]
    assert stats["ops_after"] == 3      # dce took both the constants and the dead exp
    module = parse_module(TEXT)
    assert PassManager.parse("fold,dce").run(module, skip={"fold", "dce"})["ops_after"] == 6


def test_print_after_each_and_timing():
    out = io.StringIO()
    module = parse_module(TEXT)
    PassManager.parse("fold,cse{},dce", print_after_each=True, timing=True, output=out).run(module)
    text = out.getvalue()
    check(text, """
        CHECK: // ----- IR after fold ----- //
        CHECK: %s = core.constant() {value = dense<[2.0, 4.0]>
        CHECK: %dead = math.exp
        CHECK: // ----- IR after cse ----- //
        CHECK-NOT: %b = core.constant
        CHECK: // ----- IR after dce ----- //
        CHECK-NOT: math.exp
        CHECK: // ----- pass timing ----- //
        CHECK: 6 6 fold
        CHECK: 6 5 cse
        CHECK: 5 3 dce
        CHECK: (verifier)
        CHECK: 6 3 total
    """)
    seen = []
    PassManager.parse("fold,dce", print_after_each=lambda name, m: seen.append((name, len(m["main"].body.ops)))).run(
        parse_module(TEXT))
    assert seen == [("fold", 6), ("dce", 3)]


def test_fixed_point_repeats_until_no_change(registry):
    calls = []

    @register_pass
    @dataclass(frozen=True)
    class Countdown(Pass):
        name = "test-countdown"
        times: int = 3

        def run(self, module):
            calls.append(1)
            return len(calls) <= self.times

    stats = PassManager.parse("test-countdown*").run(parse_module(TEXT))
    assert len(calls) == 4 and stats["passes"][0]["iterations"] == 4 and stats["passes"][0]["converged"]
    calls.clear()
    PassManager.parse("test-countdown").run(parse_module(TEXT))
    assert len(calls) == 1
    calls.clear()
    PassManager().add(Countdown(times=2), fixed_point=True).run(parse_module(TEXT))
    assert len(calls) == 3
    calls.clear()
    stats = PassManager.parse("test-countdown{times=100}*", max_iterations=5).run(parse_module(TEXT))
    assert len(calls) == 5 and not stats["passes"][0]["converged"]


def test_verify_before_and_after_every_pass_names_the_pass(registry):
    @register_pass
    @dataclass(frozen=True)
    class Breaker(Pass):
        name = "test-breaker"

        def run(self, module):
            op = module["main"].body.ops[-2]
            op.results[0].type = TensorType((3,), dtypes.float32)   # a lie the verifier sees
            return True

    with pytest.raises(PassVerifyError, match=r"after pass 'test-breaker': .*math.exp: result 0 is declared") as e:
        PassManager.parse("fold,test-breaker,dce").run(parse_module(TEXT))
    assert e.value.pass_name == "test-breaker" and e.value.when == "after"
    # Not verifying lets the broken module through.
    PassManager.parse("test-breaker", verify_each=False).run(parse_module(TEXT))

    broken = parse_module(TEXT)
    broken["main"].body.ops[2].results[0].type = TensorType((5,), dtypes.float32)
    with pytest.raises(PassVerifyError, match=r"before pass 'cse'") as e:
        PassManager.parse("cse,dce").run(broken)
    assert e.value.when == "before"


def test_errors_raised_by_a_pass_name_it(registry):
    @register_pass
    @dataclass(frozen=True)
    class Crash(Pass):
        name = "test-crash"

        def run(self, module):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom") as e:
        PassManager.parse("fold,test-crash").run(parse_module(TEXT))
    assert "while running pass 'test-crash'" in "".join(e.value.__notes__)


# Default pipelines ---------------------------------------------------------------------------
def test_default_pipelines_include_optional_passes_only_when_registered(registry, monkeypatch):
    for name in ("layout", "fuse", "plan-memory"):
        registry.pop(name, None)
    assert default_pipeline("cpu") == "fold,simplify,cse,dce"
    assert PassManager.parse("cpu-default").names == ["fold", "simplify", "cse", "dce"]

    @register_pass
    @dataclass(frozen=True)
    class FakeFuse(Pass):
        name = "fuse"
        target: str = "cpu"

        def run(self, module):
            return False

    @register_pass
    @dataclass(frozen=True)
    class FakePlan(Pass):
        name = "plan-memory"

        def run(self, module):
            return False

    assert default_pipeline("cpu") == "fold,simplify,cse,dce,fuse{target=cpu},plan-memory"
    assert expand_pipeline("mlu-default")[-2:] == ["fuse{target=mlu}", "plan-memory"]
    manager = PassManager.parse("cpu-default")
    assert manager.names == ["fold", "simplify", "cse", "dce", "fuse", "plan-memory"]
    assert manager.entries[4].pass_ == FakeFuse(target="cpu")
    assert PassManager.parse("mlu-default").entries[4].pass_ == FakeFuse(target="mlu")
    with pytest.raises(PipelineError, match="no default pipeline for target 'gpu'"):
        default_pipeline("gpu")


def test_the_registered_default_pipeline_runs():
    module = parse_module(TEXT)
    stats = PassManager.parse("cpu-default").run(module)
    assert stats["passes"][:4] == [p for p in stats["passes"] if p["name"] in ("fold", "simplify", "cse", "dce")]
    assert run_function(module["main"], [np.float32([1, -2])])[0].tolist() == [2.0, -8.0]


# Every model gives the same outputs before and after the default pipeline ----------------------
@pytest.mark.parametrize("name, batch", [
    ("mlp", 3), ("lenet", 2), pytest.param("vgg19", 1, marks=pytest.mark.slow)])
def test_models_unchanged_by_the_default_pipeline(name, batch):
    from tfc.model import freeze, load_model

    module = freeze(load_model(ROOT / "models" / f"{name}.py"), batch=batch)
    function = module["main"]
    rng = np.random.default_rng(0)
    inputs = {a.name_hint: rng.uniform(0, 1, a.type.shape).astype(a.type.dtype.numpy) for a in function.args}
    before = run_function(function, inputs)
    PassManager.parse(default_pipeline("cpu")).run(module)
    after = run_function(module["main"], inputs)
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# The command line ----------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def ir_file(tmp_path):
    path = tmp_path / "m.tfc"
    path.write_text(TEXT)
    return path


def test_opt_runs_a_pipeline(ir_file):
    result = invoke("opt", ir_file, "-p", "fold,cse,dce")
    assert result.exit_code == 0, result.output
    check(result.output, """
        CHECK: %s = core.constant() {value = dense<[2.0, 4.0]>
        CHECK-NEXT: %y = math.mul(%x, %s)
        CHECK-NEXT: core.return(%y)
    """)
    assert invoke("opt", ir_file).output == TEXT          # no -p: parse, verify, print


def test_opt_print_after_each_timing_and_skip(ir_file):
    result = subprocess.run([sys.executable, "-m", "tfc.cli", "opt", str(ir_file), "-p", "fold,cse,dce",
                             "--print-after-each", "--timing", "--skip", "cse"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    check(result.stderr, """
        CHECK: // ----- IR after fold ----- //
        CHECK-NOT: IR after cse
        CHECK: // ----- IR after dce ----- //
        CHECK: pass timing
        CHECK: cse (skipped)
    """)
    check(result.stdout, "CHECK-NOT: IR after\nCHECK: %s = core.constant\nCHECK-NEXT: %y = math.mul")


@pytest.mark.parametrize("args, message", [
    (["-p", "fold,nope"], "unknown pass 'nope'"),
    (["-p", "fold{max_elements=big}"], "option 'max_elements': expected an integer"),
    (["--load-pass", "missing_plugin.py", "-p", "fold"], "cannot read pass file missing_plugin.py"),
])
def test_opt_errors_exit_2_with_one_line(ir_file, args, message):
    result = invoke("opt", ir_file, *args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_opt_reports_a_pass_that_breaks_the_ir(ir_file, tmp_path, registry):
    plugin = tmp_path / "breaker.py"
    plugin.write_text("from tfc.passes import Pass, register_pass\n"
                      "from tfc.ir import TensorType, dtypes\n\n"
                      "@register_pass\nclass Breaker(Pass):\n    name = 'test-cli-breaker'\n\n"
                      "    def run(self, module):\n"
                      "        module['main'].body.ops[2].results[0].type = TensorType((7,), dtypes.float32)\n"
                      "        return True\n")
    result = invoke("opt", ir_file, "--load-pass", plugin, "-p", "test-cli-breaker")
    assert result.exit_code == 2
    assert "error: after pass 'test-cli-breaker':" in result.output
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    result = invoke("opt", ir_file, "--load-pass", bad, "-p", "fold")
    assert result.exit_code == 2 and "cannot load pass file" in result.output and "SyntaxError" in result.output


def test_load_pass_file_twice_is_fine(tmp_path, registry):
    plugin = tmp_path / "twice.py"
    plugin.write_text("from tfc.passes import Pass, register_pass\n\n"
                      "@register_pass\nclass Twice(Pass):\n    name = 'test-twice'\n\n"
                      "    def run(self, module):\n        return False\n")
    assert load_pass_file(plugin) == ["test-twice"]
    assert load_pass_file(plugin) == ["test-twice"]


def test_compile_emit_ir_runs_the_default_pipeline_or_the_given_one(tmp_path):
    import json

    model = ROOT / "models" / "lenet.py"
    texts = {}
    for passes in (None, "none", "fold,dce"):
        out = tmp_path / str(passes)
        args = ["compile", model, "--emit", "ir", "-o", out] + ([] if passes is None else ["--passes", passes])
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        texts[passes] = (out / "model.tfc").read_text()
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["passes"] == str(PassManager.parse(default_pipeline("cpu") if passes is None else passes))
    # The frozen lenet has an unused shape constant (the reshape's): the pipelines remove it.
    assert texts["none"].count("core.constant") == texts["fold,dce"].count("core.constant") + 1
    assert "dense<[-1, 400]>" in texts["none"] and "dense<[-1, 400]>" not in texts[None]
    result = invoke("compile", model, "--emit", "ir", "-o", tmp_path / "bad", "--passes", "fold,zzz")
    assert result.exit_code == 2 and "unknown pass 'zzz'" in result.output


def test_compile_cpu_with_the_default_pipeline_matches_the_unoptimized_model(tmp_path):
    import tfc
    from tfc.model import freeze, load_model

    model = ROOT / "models" / "lenet.py"
    result = invoke("compile", model, "-o", tmp_path / "lenet")
    assert result.exit_code == 0, result.output
    x = np.random.default_rng(2).uniform(0, 1, (1, 28, 28, 1)).astype(np.float32)
    (probs,) = tfc.load(tmp_path / "lenet")(images=x)
    reference = run_function(freeze(load_model(model))["main"], [x])[0]
    np.testing.assert_allclose(probs, reference, rtol=1e-5, atol=1e-7)


# The README ----------------------------------------------------------------------------------
def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Passes\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```[a-z]*\n(.*?)```", section, re.S)


def tfc_command() -> list[str]:
    script = Path(sys.executable).parent / "tfc"
    if script.exists():
        return [str(script)]
    found = shutil.which("tfc")
    return [found] if found else [sys.executable, "-m", "tfc.cli"]


def test_readme_user_pass_example_runs_through_tfc_opt(tmp_path, registry):
    blocks = readme_blocks()
    plugin = next(b for b in blocks if b.startswith("# my_passes.py"))
    ir = next(b for b in blocks if b.startswith("// square.tfc"))
    command = next(b for b in blocks if "--load-pass" in b).strip()
    expected = blocks[blocks.index(command + "\n") + 1]
    (tmp_path / "my_passes.py").write_text(plugin)
    (tmp_path / "square.tfc").write_text(ir)
    argv = shlex.split(command)
    assert argv[:2] == ["tfc", "opt"]
    result = subprocess.run(tfc_command() + argv[1:], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    # The example's numbers: x*x + x*x == 2 x**2.
    module = parse_module(result.stdout)
    x = np.float32([1, -2, 0.5, 3])
    np.testing.assert_array_equal(run_function(module["main"], [x])[0], 2 * x * x)


def test_readme_opt_commands_run(tmp_path):
    commands = next(b for b in readme_blocks() if "tfc opt model.tfc" in b)
    shutil.copy(ROOT / "models" / "tiny_mlp.tfc", tmp_path / "model.tfc")
    ran = 0
    for line in commands.splitlines():
        argv = shlex.split(line, comments=True)
        if argv[:2] == ["tfc", "opt"]:
            result = subprocess.run(tfc_command() + argv[1:], cwd=tmp_path, capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("module {")
            ran += 1
    assert ran == 2


# The FileCheck helper itself -----------------------------------------------------------------
def test_filecheck_helper_fails_when_it_should():
    out = "a = 1\nb = add(a)\nc = mul(b)\n"
    check(out, "CHECK: [[X:[a-z]]] = add\nCHECK-NEXT: = mul(\nCHECK-SAME: [[X]])")
    for patterns in ["CHECK: nothing", "CHECK: a = 1\nCHECK-NEXT: c =", "CHECK: a\nCHECK-NOT: add\nCHECK: mul",
                     "CHECK: mul\nCHECK-NOT: )", "CHECK: {{^b}} = add\nCHECK-SAME: mul",
                     "CHECK: [[V:[a-z]]] = 1\nCHECK: [[V]] = mul"]:
        with pytest.raises(AssertionError):
            check(out, patterns)
