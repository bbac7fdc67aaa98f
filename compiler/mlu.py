"""Compiling for the MLU: model file or IR module -> a folder of BANG C kernels, a launch plan
and weights that the simulator runs (`tfc compile model.py --target mlu`, `tfc run FOLDER`).

    <out>/k01_quantize.mlu ...   one `__mlu_entry__` kernel per file
    <out>/plan.json              the launch plan (buffers, inputs, outputs, weights, launches)
    <out>/weights.bin            the weights (offsets in plan.json)
    <out>/model.tfc              the final IR the kernels were generated from
    <out>/manifest.json          target, profile, precision, files (like the CPU artifacts)

On mlu270 the conv/matmul units take int8/int16 only, so unless `precision` says otherwise a
model with conv2d/matmul layers is quantized to int16 with the fixed-point scheme (one power
of two per tensor) using calibration samples of the model, and each quant.conv2d/matmul +
dequantize becomes one `__bang_conv` with a fix_position. On mlu370 the default is fp32.
"""

from __future__ import annotations

import json
from pathlib import Path

from tfc.ir.core import Module

PROFILES = ("mlu270", "mlu370")
CALIBRATION_SAMPLES = 4


class MLUCompileError(ValueError):
    """A model that cannot be compiled for the MLU; the message says which op and why."""


def _has_layers(module: Module) -> bool:
    return any(op.name in ("nn.conv2d", "math.matmul") for op in module.walk())


def default_precision(module: Module, profile: str) -> str:
    return "int16" if profile == "mlu270" and _has_layers(module) else "fp32"


def prepare_module(model, profile: str = "mlu270", precision: str | None = None, *, batch: int = 1,
                   pipeline: str | None = None, outputs=None, samples=None, loaded=None):
    """The frozen (and, per `precision`, quantized) module after the MLU pass pipeline, and the
    precision used. `model`: a model file path or a Module (quantizing a Module needs
    `samples`, else synthetic ones are drawn from its argument types)."""
    from tfc.model import ModelError, calibration_samples, freeze, load_model, select_outputs
    from tfc.passes import PassManager, PipelineError, TARGET_PIPELINES

    if profile not in PROFILES:
        raise MLUCompileError(f"unknown MLU profile {profile!r} (known: {', '.join(PROFILES)})")
    if isinstance(model, Module):
        module = model
    else:
        try:
            loaded = loaded or load_model(str(model))
            if outputs:
                select_outputs(loaded, list(outputs))
            module = freeze(loaded, batch=batch)
        except ModelError as e:
            raise MLUCompileError(str(e)) from None
    precision = precision or default_precision(module, profile)
    if precision in ("int8", "int16", "fp16"):
        import tfc.precision as P

        if samples is None and precision != "fp16":
            if loaded is not None:
                samples = calibration_samples(loaded, CALIBRATION_SAMPLES, batch)
            else:
                samples = _synthetic_samples(module)
        try:
            module = P.quantize_module(module, precision, scheme="fixed" if precision != "fp16" else "float",
                                       samples=samples)
        except P.PrecisionError as e:
            raise MLUCompileError(f"--precision {precision}: {e}") from None
    elif precision != "fp32":
        raise MLUCompileError(f"precision {precision!r} is not supported for the MLU "
                              "(fp32, fp16, int16 or int8)")
    try:
        PassManager.parse(pipeline or TARGET_PIPELINES["mlu"]).run(module)
    except PipelineError as e:
        raise MLUCompileError(f"--passes {pipeline!r}: {e}") from None
    return module, precision


def _synthetic_samples(module: Module, count: int = CALIBRATION_SAMPLES, seed: int = 0):
    from tfc.model import synthetic_samples

    function = module["main"] if "main" in module.functions else list(module)[0]
    types = {arg.name_hint or f"arg{i}": arg.type for i, arg in enumerate(function.args)}
    return synthetic_samples(types, count, seed)


def compile_for_mlu(model, output_dir=None, profile: str = "mlu270", precision: str | None = None, *,
                    batch: int = 1, pipeline: str | None = None, outputs=None, samples=None,
                    source: str = "", precision_label: str | None = None):
    """Compile `model` (a model file path or an IR Module) for `profile`; write the program
    into `output_dir` when given. Returns the BangProgram (its plan has the manifest too)."""
    from tfc.codegen.bang import CodegenError, compile_module
    from tfc.ir import print_module

    module, precision = prepare_module(model, profile, precision, batch=batch, pipeline=pipeline,
                                       outputs=outputs, samples=samples)
    src = source or (str(model) if not isinstance(model, Module) else "")
    try:
        program = compile_module(module, profile, source=src)
    except CodegenError as e:
        raise MLUCompileError(str(e)) from None
    precision = precision_label or precision
    program.plan["precision"] = precision
    program.module = module
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = program.save(out)
        (out / "model.tfc").write_text(print_module(module), encoding="utf-8")
        files["ir"] = "model.tfc"
        manifest = {"source": src, "target": "mlu", "profile": profile, "precision": precision,
                    "kernels": len(program.plan["launches"]),
                    "inputs": program.plan["inputs"], "outputs": program.plan["outputs"],
                    "weights_bytes": sum(int(w.nbytes) for w in program.weights.values()),
                    "files": files}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        program.manifest = manifest
    return program


def is_mlu_folder(path) -> bool:
    return (Path(path) / "plan.json").is_file()


# Session runs placed on the MLU ------------------------------------------------------------------
_LAST_REPORTS: list = []


def last_reports() -> list:
    """The simulator's KernelReports of the last Session run on the MLU."""
    return list(_LAST_REPORTS)


def _placed_on_mlu(lowered) -> bool:
    for op in lowered.ir_to_graph.values():
        device = getattr(op, "device", "") or ""
        if "MLU" in str(device).upper():
            return True
    return False


def session_program(lowered, args, config):
    """For a Session run with ops placed on '/mlu:0': a function args -> results running the
    run's function compiled by the BANG backend on the simulator (compiled once per compiled
    run, cached on `lowered`), or None (nothing on the MLU, or the backend cannot compile it:
    then a warning says why and the run stays on the CPU, as TF's soft placement)."""
    profile = getattr(config, "tfc_mlu_profile", None) or "mlu270"
    cache = lowered.__dict__.setdefault("_tfc_mlu", {})
    if profile in cache:
        return cache[profile] or None
    if not _placed_on_mlu(lowered):
        cache[profile] = False
        return None
    import warnings

    import numpy as np

    from tfc.runtime.mlu.program import Runner

    module = lowered.module.clone()
    function = module["main"]
    names = [a.name_hint or f"arg{i}" for i, a in enumerate(function.args)]
    for i, arg in enumerate(function.args):
        arg.name_hint = names[i]
    samples = [{n: np.asarray(a) for n, a in zip(names, args)}]
    try:
        program = compile_for_mlu(module, None, profile, samples=samples)
        runner = Runner(program, profile=profile)
    except MLUCompileError as e:
        warnings.warn(f"ops placed on /mlu:0 run on the CPU: {e}", stacklevel=4)
        cache[profile] = False
        return None

    def run(values):
        outputs, reports = runner(list(values))
        _LAST_REPORTS[:] = reports
        return outputs

    cache[profile] = run
    return run
