"""The `tfc` command line. Every failure caused by the user's files or inputs exits with status 2
and one line saying what is wrong; tracebacks are for tfc's own bugs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import click
import numpy as np

from tfc.ir import dtypes


class UserError(click.ClickException):
    """A bad file or input: printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


def _one_line(error: Exception) -> str:
    from tfc.ir.verifier import VerifyError

    if isinstance(error, VerifyError) and len(error.errors) > 1:
        return f"{error.errors[0]} (and {len(error.errors) - 1} more errors)"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def load_ir(path: str):
    """Parse and verify an IR file, turning every problem into a UserError."""
    from tfc.ir import ParseError, VerifyError, parse_module, verify

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file") from None
    try:
        module = parse_module(text, path)
        verify(module)
    except (ParseError, VerifyError) as e:
        raise UserError(_one_line(e)) from None
    return module


def parse_input(spec: str, dtypes_by_name: dict, what: str) -> tuple[str, np.ndarray]:
    """`NAME=FILE.npy`, `NAME=FILE.npz` (its only array), or `NAME=LITERAL` (a number or nested
    list, converted to the argument's dtype)."""
    name, sep, source = spec.partition("=")
    if not sep or not name:
        raise UserError(f"--input {spec!r}: expected NAME=FILE.npy or NAME=VALUE")
    if name not in dtypes_by_name:
        raise UserError(f"--input {name}: {what} has no argument '{name}' "
                        f"(it takes {', '.join(dtypes_by_name) or 'none'})")
    if source.endswith((".npy", ".npz")):
        try:
            value = np.load(source, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"--input {name}: cannot load {source}: {e}") from None
        if isinstance(value, np.lib.npyio.NpzFile):
            if len(value.files) != 1:
                raise UserError(f"--input {name}: {source} holds {len(value.files)} arrays, expected one")
            value = value[value.files[0]]
        return name, value
    try:
        literal = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        raise UserError(f"--input {name}: {source!r} is neither a .npy/.npz file nor a number or list") from None
    dtype = dtypes_by_name[name]
    try:
        return name, np.asarray(literal, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        raise UserError(f"--input {name}: cannot make a {dtype} tensor of {source!r}: {e}") from None


def output_names(function) -> list[str]:
    names = function.attributes.get("outputs")
    if isinstance(names, tuple) and len(names) == len(function.result_types):
        return list(names)
    return [f"out{i}" for i in range(len(function.result_types))]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfc")
def main():
    """tfc: an ahead-of-time graph compiler for TensorFlow 1.x-style models.

    IR files (.tfc) hold tfc's typed SSA IR in text form.
    """


def load_pass_files(paths) -> None:
    """Import user pass files (`--load-pass`), turning failures into UserErrors."""
    from tfc.passes import load_pass_file

    for path in paths:
        try:
            load_pass_file(path)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        except Exception as e:  # the user's code: any failure is a bad input
            raise UserError(f"cannot load pass file {path}: {type(e).__name__}: {_one_line(e)}") from None


def run_passes(module, pipeline: str, **options) -> dict:
    """Run `pipeline` on `module`; a bad pipeline or IR a pass breaks is a UserError."""
    from tfc.ir import VerifyError
    from tfc.passes import PassManager, PipelineError

    try:
        manager = PassManager.parse(pipeline, **options)
    except PipelineError as e:
        raise UserError(f"--passes {pipeline!r}: {e}") from None
    try:
        return manager.run(module)
    except (VerifyError, PipelineError) as e:      # PipelineError: e.g. a precision plan naming no layer
        raise UserError(_one_line(e)) from None


def _skip_names(skip) -> set[str]:
    return {name.strip() for item in skip for name in item.split(",") if name.strip()}


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the IR here instead of stdout.")
@click.option("-p", "--passes", "pipeline", default=None, metavar="PIPELINE",
              help="Run this pipeline, e.g. fold,cse,dce or cpu-default (see the README's Passes).")
@click.option("--print-after-each", is_flag=True, help="Print the IR after every pass (to stderr).")
@click.option("--timing", is_flag=True, help="Print each pass's time and op counts (to stderr).")
@click.option("--skip", multiple=True, metavar="NAME", help="Do not run pass NAME (repeatable).")
@click.option("--load-pass", "pass_files", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE.py", help="Import a Python file that registers passes (repeatable).")
def opt(file, output, pipeline, print_after_each, timing, skip, pass_files):
    """Parse and verify an IR FILE, run a pass pipeline on it (-p), print it in canonical form."""
    from tfc.ir import print_module

    load_pass_files(pass_files)
    module = load_ir(file)
    if pipeline is not None:
        run_passes(module, pipeline, print_after_each=print_after_each, timing=timing,
                   skip=_skip_names(skip), output=sys.stderr)
    text = print_module(module)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("path", type=click.Path(exists=False))
@click.option("-i", "--input", "inputs", multiple=True, metavar="NAME=FILE.npy|VALUE",
              help="An argument's value: a .npy/.npz file or a literal such as [[1, 2]]. Repeatable.")
@click.option("-f", "--function", "function_name", default=None,
              help="The function to run in an IR file (default: main, or the module's only function).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False),
              help="Save each result as NAME.npy in this folder instead of printing it.")
def run(path, inputs, function_name, output_dir):
    """Run PATH: an IR file on the reference interpreter, or a folder from `tfc compile` natively."""
    if Path(path).is_dir() and (Path(path) / "plan.json").is_file():
        names, results = _run_mlu(path, inputs)
    elif Path(path).is_dir():
        names, results = _run_compiled(path, inputs)
    else:
        names, results = _run_ir(path, inputs, function_name)
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        for name, value in zip(names, results):
            target = Path(output_dir) / f"{name}.npy"
            np.save(target, value)
            click.echo(f"wrote {target}")
        return
    for name, value in zip(names, results):
        value = np.asarray(value)
        body = np.array2string(value, separator=", ", threshold=200)
        dtype = dtypes.from_numpy(value.dtype).ir_name
        click.echo(f"{name}: tensor<{''.join(f'{d}x' for d in value.shape)}{dtype}> = {body}")


def _run_ir(path, inputs, function_name):
    from tfc.runtime.interpreter import InterpreterError, run_function

    module = load_ir(path)
    function = pick_function(module, function_name)
    specs = {a.name_hint or f"arg{i}": a.type.dtype.numpy for i, a in enumerate(function.args)}
    values = dict(parse_input(spec, specs, f"@{function.name}") for spec in inputs)
    try:
        return output_names(function), run_function(function, values)
    except InterpreterError as e:
        raise UserError(_one_line(e)) from None


def _run_mlu(folder, inputs):
    """An MLU folder: run it on the simulator, print the cycle report (to stderr)."""
    from tfc.runtime.mlu import MLUError, format_reports
    from tfc.runtime.mlu.program import ProgramError, load_program, run_program

    try:
        program = load_program(folder)
    except ProgramError as e:
        raise UserError(str(e)) from None
    specs = {s["name"]: np.dtype(s["dtype"]) for s in program.plan["inputs"]}
    values = dict(parse_input(spec, specs, folder) for spec in inputs)
    try:
        results, reports = run_program(program, values)
    except (ProgramError, MLUError) as e:
        raise UserError(_one_line(e)) from None
    click.echo(f"MLU simulator ({program.plan['profile']}):")
    click.echo(format_reports(reports))
    return [o["name"] for o in program.plan["outputs"]], results


def _run_compiled(folder, inputs):
    from tfc.codegen.llvm.native import NativeError
    from tfc.runtime.cpu import LoadError, load

    try:
        model = load(folder)
    except LoadError as e:
        raise UserError(str(e)) from None
    specs = {s.name: s.dtype for s in model.inputs}
    values = dict(parse_input(spec, specs, folder) for spec in inputs)
    try:
        return [s.name for s in model.outputs], model(values)
    except (ValueError, NativeError) as e:
        raise UserError(_one_line(e)) from None


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", type=click.Path(file_okay=False),
              help="Where to write the results (default: ./MODEL_tfc).")
@click.option("--target", type=click.Choice(["cpu", "mlu"]), default="cpu", show_default=True,
              help="The processor to compile for (mlu: BANG C kernels + launch plan for the simulator).")
@click.option("--profile", type=click.Choice(["mlu270", "mlu370"]), default="mlu270", show_default=True,
              help="With --target mlu: the MLU generation (mlu270 quantizes conv/matmul to int16).")
@click.option("--emit", "emit", multiple=True, type=click.Choice(["ir", "llvm", "asm", "obj", "so", "bang"]),
              help="Write only these forms (repeatable): ir = the frozen IR, llvm = optimized LLVM IR, "
                   "asm = assembly, obj/so = the object file / shared library with header and weights; "
                   "bang (--target mlu, its only form) = .mlu kernels, launch plan and weights. "
                   "Default: obj, so, header, weights, IR and manifest (cpu); bang (mlu).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="The size given to the inputs' unknown leading dimension.")
@click.option("--outputs", "output_names", default=None, metavar="NAME,...",
              help="Compute these tensors (keys of the file's `outputs` or graph tensor names) instead.")
@click.option("--passes", "pipeline", default=None, metavar="PIPELINE",
              help="The pass pipeline run on the frozen IR (default: the target's default pipeline, "
                   "e.g. cpu-default; `none` runs no passes).")
@click.option("--explain-fusion", is_flag=True,
              help="Print the fusion pass's groups and, for each pair of ops it did not fuse, why.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8", "int16", "auto"]), default=None,
              help="Lower the conv/matmul layers to this width before the pipeline (default fp32: unchanged); "
                   "auto searches the lowest width per layer within --tolerance or --max-rel-error and "
                   "prints a table.")
@click.option("--tolerance", type=click.FloatRange(0, 1, min_open=True), default=None, metavar="FRACTION",
              help="With --precision auto: the least top-1 agreement with fp32 on held-out samples "
                   "(default 0.99 unless --max-rel-error is given).")
@click.option("--max-rel-error", "max_rel_error", type=click.FloatRange(min=0), default=None,
              help="With --precision auto: the largest max|y - y_fp32| / max|y_fp32| on held-out samples.")
@click.option("--calib", "calib", type=click.Path(dir_okay=False), default=None, metavar="FILE.npz",
              help="Calibration data: an .npz with one array per input (rows along the leading axis). "
                   "Default: the model file's calibration_data(), else seeded synthetic data.")
@click.option("--calib-method", "calib_method", type=click.Choice(["minmax", "percentile", "entropy"]),
              default="percentile", show_default=True,
              help="How activation ranges are chosen from the samples (percentile: 99.99% of |x|, int8 only).")
def compile(model, output_dir, target, emit, batch, output_names, pipeline, explain_fusion, profile="mlu270",
            **options):
    """Compile a model file (it defines `inputs` and `outputs`; see the README)."""
    import json

    if target == "mlu" and set(emit) - {"bang"}:
        raise UserError(f"--target mlu writes BANG C (--emit bang); --emit {', '.join(sorted(set(emit) - {'bang'}))} "
                        "is a CPU form")
    if target == "cpu" and "bang" in emit:
        raise UserError("--emit bang is the MLU's form: add --target mlu")
    if target == "mlu":
        return _compile_mlu(model, output_dir, profile, batch, output_names, pipeline, explain_fusion,
                            options)

    from tfc.aot import write_cpu_artifacts
    from tfc.ir import print_module
    from tfc.model import ModelError, freeze, load_model, select_outputs

    try:
        loaded = load_model(model)
        if output_names:
            select_outputs(loaded, [n.strip() for n in output_names.split(",") if n.strip()])
        module = freeze(loaded, batch=batch)
    except ModelError as e:
        raise UserError(str(e)) from None
    if options.get("precision") not in (None, "fp32"):
        module = apply_precision(loaded, module, batch, scheme="float", **options)
    if pipeline is None:
        from tfc.passes import TARGET_PIPELINES

        pipeline = TARGET_PIPELINES[target]
    pass_stats = run_passes(module, pipeline)
    if explain_fusion:
        print_fusion_report(module)
    out = Path(output_dir or f"{Path(model).stem}_tfc")
    out.mkdir(parents=True, exist_ok=True)
    if set(emit) == {"ir"}:
        (out / "model.tfc").write_text(print_module(module), encoding="utf-8")
        manifest = {"source": str(model), "target": "ir", "passes": pass_stats["pipeline"],
                    "files": {"ir": "model.tfc"}}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    else:
        from tfc.codegen.llvm.emitter import CodegenError

        try:
            manifest = write_cpu_artifacts(module, out, Path(model).stem, emit=emit, source=str(model))
        except CodegenError as e:
            raise UserError(str(e)) from None
        for note in manifest["notes"]:
            click.echo(f"note: {note}", err=True)
        click.echo(f"peak temporary memory: {manifest['temp_bytes']} bytes "
                   f"({manifest['temp_bytes_unplanned']} without buffer reuse)")
    click.echo(f"wrote {out}/: {', '.join(sorted(manifest['files'].values()))}, manifest.json")


CALIB_BATCH = 64


def _calibration_data(loaded, calib, count):
    """Calibration samples (dicts of input -> [CALIB_BATCH, ...] arrays): from --calib FILE.npz,
    else the model file's calibration_data() or seeded synthetic data (tfc.model)."""
    from tfc.model import ModelError, calibration_samples, input_types

    if calib is None:
        try:
            return calibration_samples(loaded, count, CALIB_BATCH, seed=0)
        except ModelError as e:
            raise UserError(str(e)) from None
    try:
        data = np.load(calib)
    except (OSError, ValueError) as e:
        raise UserError(f"--calib {calib}: cannot load: {e}") from None
    types = input_types(loaded, CALIB_BATCH)
    names = list(getattr(data, "files", []))
    missing = [n for n in types if n not in names]
    if missing:
        raise UserError(f"--calib {calib}: no array for input(s) {', '.join(missing)} (it has {', '.join(names) or 'none'}; "
                        "save one array per model input, rows along the leading axis)")
    arrays = {n: np.asarray(data[n]) for n in types}
    for n, t in types.items():
        if arrays[n].shape[1:] != t.shape[1:]:
            raise UserError(f"--calib {calib}: array '{n}' has shape {list(arrays[n].shape)}, the input is "
                            f"[N, {', '.join(map(str, t.shape[1:]))}]")
    rows = min(len(a) for a in arrays.values())
    size = min(CALIB_BATCH, rows)
    if size == 0:
        raise UserError(f"--calib {calib}: no rows")
    return [{n: a[i:i + size].astype(types[n].dtype.numpy) for n, a in arrays.items()}
            for i in range(0, rows - size + 1, size)]


def apply_precision(loaded, module, batch, *, scheme="float", precision=None, tolerance=None,
                    max_rel_error=None, calib=None, calib_method="percentile", widths=None, **_):
    """--precision: the model's layers lowered per the width or the searched plan. Calibration
    and the search run on the model frozen at batch CALIB_BATCH (same weights, same layer
    names); the plan is then applied to `module`."""
    from tfc import precision as P
    from tfc.calibrate import CalibrationError
    from tfc.model import ModelError, freeze

    if precision != "auto" and (tolerance is not None or max_rel_error is not None):
        click.echo("warning: --tolerance / --max-rel-error only apply to --precision auto", err=True)
    if precision in (None, "fp32"):
        return module
    try:
        if precision == "fp16":
            return P.quantize_module(module, "fp16", scheme=scheme)
        samples = _calibration_data(loaded, calib, 32 if precision == "auto" else 8)
        work = module
        if batch != CALIB_BATCH:
            try:
                wide = freeze(loaded, batch=CALIB_BATCH)
            except ModelError:
                wide = None
            same = wide is not None and [(a.name, a.weight.tobytes()) for a in P.layers(wide)] == \
                [(a.name, a.weight.tobytes()) for a in P.layers(module)]
            work = wide if same else module      # weights not reproducible: calibrate the module itself
        if precision == "auto":
            if tolerance is None and max_rel_error is None:
                tolerance = 0.99
            result = P.search(work, samples, tolerance=tolerance, max_rel_error=max_rel_error,
                              scheme=scheme, method=calib_method, widths=widths or P.WIDTHS)
            click.echo(result.table(), nl=False)
            if not result.met:
                click.echo("warning: the plan does not meet the budget on every sample set", err=True)
            return P.apply_plan(module, result.plan, result.calibration, scheme)
        calibration = P.calibrate(work, samples, method=calib_method)
        lowered = P.quantize_module(module, precision, scheme=scheme, calibration=calibration)
        click.echo(f"precision {precision}: {len(P.layers(module))} layers, calibration {calib_method} "
                   f"on {sum(len(next(iter(s.values()))) for s in samples)} samples")
        return lowered
    except (P.PrecisionError, CalibrationError, ValueError) as e:
        raise UserError(_one_line(e)) from None


def _compile_mlu(model, output_dir, profile, batch, output_names, pipeline, explain_fusion, options):
    """`tfc compile --target mlu`: BANG C kernels, plan.json and weights (compiler/mlu.py). The
    layers are lowered with the fixed-point scheme (powers of two, the MLU's fix_position);
    without --precision, mlu270 lowers conv/matmul to int16 (its units take integers only)."""
    from tfc.mlu import MLUCompileError, compile_for_mlu, default_precision
    from tfc.model import ModelError, freeze, load_model, select_outputs

    try:
        loaded = load_model(model)
        if output_names:
            select_outputs(loaded, [n.strip() for n in output_names.split(",") if n.strip()])
        module = freeze(loaded, batch=batch)
    except ModelError as e:
        raise UserError(str(e)) from None
    precision = options.get("precision") or default_precision(module, profile)
    module = apply_precision(loaded, module, batch, **dict(options, precision=precision, scheme="fixed"))
    out = Path(output_dir or f"{Path(model).stem}_tfc")
    try:
        program = compile_for_mlu(module, out, profile, "fp32", pipeline=pipeline, source=str(model),
                                  precision_label=precision)
    except MLUCompileError as e:
        raise UserError(str(e)) from None
    if explain_fusion:
        print_fusion_report(program.module)
    manifest = program.manifest
    click.echo(f"{manifest['kernels']} kernels for {profile} ({manifest['precision']})")
    click.echo(f"wrote {out}/: {len(program.sources)} .mlu files, plan.json, weights.bin, model.tfc, manifest.json")


def print_fusion_report(module) -> None:
    """The report of the `fuse` run of the pipeline (or, if it did not run, what it would do)."""
    from tfc.passes.fuse import explain, last_report

    report = last_report(module)
    if report is None:
        click.echo("fusion: the pipeline does not run `fuse`; it would do this:")
        report = explain(module)
    click.echo(report.format(), nl=False)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The dot file to write (default: ./NAME.dot).")
@click.option("--format", "fmt", type=click.Choice(["svg", "png"]), default=None,
              help="Also render the graph to NAME.svg/.png with Graphviz's `dot`, if it is installed.")
@click.option("-p", "--passes", "pipeline", default=None, metavar="PIPELINE",
              help="The pipeline run before drawing (default: cpu-default, so fused groups show as "
                   "clusters; `none` draws the IR as it is).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="For a model file: the size given to the inputs' unknown leading dimension.")
def graph(path, output, fmt, pipeline, batch):
    """Draw a model file (.py) or an IR file as a Graphviz graph: ops, values, fused groups."""
    from tfc.graphviz import dot_program, module_to_dot, render

    if path.endswith(".py"):
        from tfc.model import ModelError, freeze, load_model

        try:
            module = freeze(load_model(path), batch=batch)
        except ModelError as e:
            raise UserError(str(e)) from None
    else:
        module = load_ir(path)
    if pipeline is None:
        from tfc.passes import TARGET_PIPELINES

        pipeline = TARGET_PIPELINES["cpu"]
    run_passes(module, pipeline)
    out = Path(output or f"{Path(path).stem}.dot")
    out.write_text(module_to_dot(module), encoding="utf-8")
    click.echo(f"wrote {out}")
    if fmt:
        if dot_program() is None:
            click.echo(f"note: Graphviz's `dot` is not installed, so no {fmt.upper()} was made "
                       f"(apt-get install graphviz)", err=True)
            return
        try:
            click.echo(f"wrote {render(out, fmt)}")
        except RuntimeError as e:
            raise UserError(str(e)) from None


@main.command()
@click.argument("pattern", required=False, default="")
def ops(pattern):
    """List the op table (ops whose name contains PATTERN): operands, attributes, traits."""
    from tfc.ir.opdef import OPS, REQUIRED

    for name in sorted(n for n in OPS if pattern in n):
        opdef = OPS[name]
        operands = ", ".join(o.name + ("..." if o.variadic else "") for o in opdef.operands)
        attrs = ", ".join(
            f"{a.name}: {a.kind}" + ("" if a.default is REQUIRED else f" = {a.default!r}")
            for a in opdef.attrs)
        traits = ", ".join(sorted(opdef.traits))
        click.echo(f"{name}({operands})" + (f" {{{attrs}}}" if attrs else "") + f"  [{traits}]")
        if opdef.doc:
            click.echo(f"    {opdef.doc.strip().splitlines()[0]}")


def pick_function(module, name: str | None):
    functions = list(module)
    if name is not None:
        if name not in module.functions:
            raise UserError(f"no function @{name} (the module has "
                            f"{', '.join('@' + f.name for f in functions) or 'none'})")
        return module[name]
    if "main" in module.functions:
        return module["main"]
    if len(functions) == 1:
        return functions[0]
    raise UserError("the module has several functions and no @main: choose one with --function")


from tfc.runtime.mlu.cli import mlu_run as _mlu_run  # noqa: E402  (`tfc mlu-run`)

main.add_command(_mlu_run)


if __name__ == "__main__":
    sys.exit(main())
