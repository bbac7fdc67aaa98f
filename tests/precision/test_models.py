"""Precision lowering on the real models (models/lenet.py, models/mlp.py) with seeded
synthetic data: int8 everywhere keeps top-1 agreement with fp32 >= 98%, fp16 stays within 1e-2
relative, the per-layer search meets its budget on held-out samples and reports which layers
needed more bits; the CLI prints the table; the lowered model runs natively (the int8 kernels).

Agreement is measured on 2048 held-out rows that the calibration never saw. The random-weight
models have near-tied logits (LeNet: 2% of rows have a top-2 probability gap below 7e-4, with
white-noise images), so every bit counts: see test_offset_is_what_keeps_int8_lenet_above_98.
Measured int8 LeNet agreement over 3 held-out sets of 2048 rows x 2 calibration seeds (with
offset and bias correction): percentile 98.2-98.7%, entropy 97.8-98.3%, minmax 97.5-98.4%;
without offset and bias correction 96.6-97.6% for every method. MLP: 98.8-99.4%."""

import numpy as np
import pytest
from click.testing import CliRunner

import tfc.precision as P
from tfc import calibrate as cal
from tfc.model import calibration_samples, freeze, load_model

MODELS = ["models/lenet.py", "models/mlp.py"]
_cache = {}


def setup(path):
    """(frozen batch-64 module, calibration samples (512 rows), held-out evaluator (2048 rows))."""
    if path not in _cache:
        loaded = load_model(path)
        module = freeze(loaded, batch=64)
        calib = calibration_samples(loaded, 8, 64, seed=0)
        held = calibration_samples(loaded, 32, 64, seed=1)
        _cache[path] = (module, calib, P.Evaluator(module, cal.rebatch(module["main"], held)))
    return _cache[path]


@pytest.mark.parametrize("path", MODELS)
def test_int8_everywhere_keeps_98_percent_top1_agreement(path):
    module, calib, held = setup(path)
    q = P.quantize_module(module, "int8", samples=calib, progress=False)
    assert sum(op.name == "quant.quantize" for op in q["main"].body.ops) == len(P.layers(module))
    m = held.metrics(q)
    assert m.agreement >= 0.98, str(m)


@pytest.mark.parametrize("path", MODELS)
@pytest.mark.parametrize("method", ["minmax", "entropy"])
def test_int8_other_calibration_methods(path, method):
    """minmax and entropy reach 98% on average on LeNet but not on every held-out set (see the
    module docstring); the default (percentile) is the one the 98% test holds to."""
    module, calib, held = setup(path)
    q = P.quantize_module(module, "int8", samples=calib, method=method, progress=False)
    assert held.metrics(q).agreement >= (0.97 if path.endswith("lenet.py") else 0.98)


@pytest.mark.parametrize("path", MODELS)
def test_fp16_within_1e_2_relative_and_int16_closer_than_int8(path):
    module, calib, held = setup(path)
    m16 = held.metrics(P.quantize_module(module, "fp16"))
    assert m16.rel_error <= 1e-2 and m16.agreement >= 0.99, str(m16)
    c = P.calibrate(module, calib, progress=False)
    i16 = held.metrics(P.quantize_module(module, "int16", calibration=c))
    i8 = held.metrics(P.quantize_module(module, "int8", calibration=c))
    assert i16.rms_error < i8.rms_error / 10


def test_offset_is_what_keeps_int8_lenet_above_98():
    """The cause of the misses: 4 of LeNet's 5 layer inputs are ReLU / max-pool outputs, never
    negative, so symmetric int8 uses only 0..127 for them. Without the activation offset int8
    LeNet stays near 97.5%; with it the rounding error halves."""
    module, calib, held = setup("models/lenet.py")
    c = P.calibrate(module, calib, progress=False)
    assert [c.one_sided(layer.name) for layer in P.layers(module)] == [False, True, True, True, True]
    plain = held.metrics(P.quantize_module(module, "int8", calibration=c, offset=False))
    shifted = held.metrics(P.quantize_module(module, "int8", calibration=c))
    assert shifted.rms_error < 0.75 * plain.rms_error
    assert shifted.agreement >= 0.98 > plain.agreement - 0.005


def test_fixed_point_scheme_on_lenet():
    module, calib, held = setup("models/lenet.py")
    q = P.quantize_module(module, "int16", scheme="fixed", samples=calib, progress=False)
    for op in q["main"].body.ops:
        for key in ("scale",):
            if op.name.startswith("quant.") and key in op.attributes:
                assert all(np.frexp(s)[0] == 0.5 for s in op.attributes[key])
    assert not any(op.name == "math.sub" for op in q["main"].body.ops)
    assert held.metrics(q).agreement >= 0.99


def _budget_search(path, **budget):
    module, calib, _ = setup(path)
    loaded = load_model(path)
    search = calibration_samples(loaded, 6, 64, seed=2)
    verify = calibration_samples(loaded, 6, 64, seed=3)
    return module, P.search(module, None, calib_samples=calib, search_samples=search, verify_samples=verify,
                            progress=False, **budget), verify


@pytest.mark.parametrize("path, budget", [
    ("models/mlp.py", {"max_rel_error": 0.005}),
    pytest.param("models/lenet.py", {"tolerance": 0.995}, marks=pytest.mark.slow),
])
def test_auto_meets_its_budget_and_reports_the_layers_that_needed_more_bits(path, budget):
    module, result, verify = _budget_search(path, **budget)
    assert result.met
    # independently: the chosen plan, measured again on the held-out set, meets the budget
    ev = P.Evaluator(module, cal.rebatch(module["main"], verify))
    m = ev.metrics(result.module)
    assert P.Budget(**budget).met(m), str(m)
    # int8 everywhere does not: some layers needed more bits, and the table says which
    assert not P.Budget(**budget).met(ev.metrics(P.apply_plan(module, {n: "int8" for n in result.plan},
                                                              result.calibration)))
    raised = [name for name, w in result.plan.items() if w != "int8"]
    assert raised
    table = result.table()
    for layer in result.layers:
        line = next(row for row in table.splitlines() if row.startswith(layer.name + " "))
        assert layer.location in line and layer.width in line
        assert ("needed more bits" in line) == (layer.name in raised)
    assert "budget" in table and ": met" in table
    assert sum(r.bytes_saved() for r in result.layers) > 0


def test_quantize_module_errors():
    module, calib, _ = setup("models/mlp.py")
    with pytest.raises(P.PrecisionError, match="needs calibration samples"):
        P.quantize_module(module, "int8")
    with pytest.raises(P.PrecisionError, match="unknown layer"):
        P.quantize_module(module, {"conv2d_9": "int8"}, samples=calib)
    with pytest.raises(P.PrecisionError, match="one of"):
        P.quantize_module(module, "int4")
    with pytest.raises(P.PrecisionError, match="budget needs"):
        P.search(module, calib)


def test_lowered_model_runs_natively():
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.passes import PassManager, default_pipeline

    module, calib, held = setup("models/lenet.py")
    q = P.quantize_module(module, {"conv2d_0": "int8", "conv2d_1": "int16", "matmul_2": "int8",
                                   "matmul_3": "fp16"}, samples=calib, progress=False)
    interp = held.outputs(q)
    PassManager.parse(default_pipeline("cpu")).run(q)
    fn = NativeFunction.jit(q["main"])
    native = [fn(*args) for args in held.batches]
    m = P.compare(native, interp)
    assert m.agreement >= 0.995 and m.rel_error < 1e-2, str(m)


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.mark.slow
def test_cli_precision_auto_prints_the_table(runner):
    from tfc.cli import main

    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = runner.invoke(main, ["compile", os.path.join(root, "models/mlp.py"), "--precision", "auto",
                                  "--max-rel-error", "0.005", "--emit", "ir"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("matmul_0", "matmul_1", "matmul_2", "budget max rel. error <= 0.005: met"):
        assert name in result.output
    ir = open("mlp_tfc/model.tfc").read()
    assert "quant.matmul" in ir


def test_cli_precision_int8_with_a_calibration_file(runner, tmp_path):
    import os

    from tfc.cli import main

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    np.savez(tmp_path / "calib.npz", x=np.random.default_rng(0).standard_normal((200, 784)).astype(np.float32))
    result = runner.invoke(main, ["compile", os.path.join(root, "models/mlp.py"), "--precision", "int8",
                                  "--calib", str(tmp_path / "calib.npz"), "--calib-method", "entropy",
                                  "--emit", "ir"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "precision int8: 3 layers, calibration entropy on 192 samples" in result.output
    np.savez(tmp_path / "bad.npz", y=np.zeros((4, 784)))
    result = runner.invoke(main, ["compile", os.path.join(root, "models/mlp.py"), "--precision", "int8",
                                  "--calib", str(tmp_path / "bad.npz"), "--emit", "ir"])
    assert result.exit_code != 0 and "no array for input(s) x" in result.output


def test_cli_precision_fp16_and_warnings(runner):
    import os

    from tfc.cli import main

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = runner.invoke(main, ["compile", os.path.join(root, "models/mlp.py"), "--precision", "fp16",
                                  "--tolerance", "0.9", "--emit", "ir"])
    assert result.exit_code == 0, result.output
    assert "only apply to --precision auto" in result.output
    ir = open("mlp_tfc/model.tfc").read()
    # the weights stay f16 constants (fold leaves widening casts of large constants alone) and
    # are cast to f32 at run time; the activations' f32 -> f16 -> f32 casts stay too
    assert ir.count("math.cast") == 9 and "core.constant() {value = dense<" in ir
    assert "() -> tensor<784x512xf16>" in ir and "() -> tensor<784x512xf32>" not in ir
    result = runner.invoke(main, ["compile", os.path.join(root, "models/mlp.py"), "--precision", "fp16",
                                  "--passes", "none", "--emit", "ir"])
    assert result.exit_code == 0, result.output
    ir = open("mlp_tfc/model.tfc").read()
    assert ir.count("math.cast") == 9 and ir.count("core.constant") and "dense<" in ir


def test_percentile_ranges_apply_to_int8_only():
    s = cal.TensorStats(bins=100)
    x = np.linspace(-10, 10, 10001)
    s.add_range(x)
    s.start_histogram()
    s.add_histogram(x)
    c = P.Calibration({"layer": s}, "percentile", percentile=90)
    # |x| = 0, 0.002, ..., 10 (each twice but 0): 8999 values below 9.0 < 90% of 10001 = 9000.9,
    # so the histogram (bins of 0.1) needs the bin [9.0, 9.1) too
    assert c.amax("layer", "int8") == pytest.approx(9.1)
    assert c.amax("layer", "int16") == 10.0
    assert c.params("layer", "int8", "float") == (pytest.approx(9.1 / 127), 0.0)   # signed: no offset
    assert c.params("layer", "int8", "fixed")[0] == 2.0 ** -3                       # 9.1 / 2^-3 = 72.8 <= 127
