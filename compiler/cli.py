"""The `tfc` command line. Every failure caused by the user's files or inputs exits with status 2
and one line saying what is wrong; tracebacks are for tfc's own bugs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import click
import numpy as np


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


def parse_input(spec: str, function) -> tuple[str, np.ndarray]:
    """`NAME=FILE.npy`, `NAME=FILE.npz` (its only array), or `NAME=LITERAL` (a number or nested
    list, converted to the argument's dtype)."""
    name, sep, source = spec.partition("=")
    if not sep or not name:
        raise UserError(f"--input {spec!r}: expected NAME=FILE.npy or NAME=VALUE")
    args = {a.name_hint or f"arg{i}": a for i, a in enumerate(function.args)}
    if name not in args:
        raise UserError(f"--input {name}: @{function.name} has no argument '{name}' "
                        f"(it takes {', '.join(args) or 'none'})")
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
    dtype = args[name].type.dtype.numpy
    try:
        return name, np.asarray(literal, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        raise UserError(f"--input {name}: cannot make a {args[name].type.dtype.name} tensor of "
                        f"{source!r}: {e}") from None


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


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the IR here instead of stdout.")
def opt(file, output):
    """Parse and verify an IR FILE and print it back in canonical form."""
    from tfc.ir import print_module

    text = print_module(load_ir(file))
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-i", "--input", "inputs", multiple=True, metavar="NAME=FILE.npy|VALUE",
              help="An argument's value: a .npy/.npz file or a literal such as [[1, 2]]. Repeatable.")
@click.option("-f", "--function", "function_name", default=None,
              help="The function to run (default: main, or the module's only function).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False),
              help="Save each result as NAME.npy in this folder instead of printing it.")
def run(file, inputs, function_name, output_dir):
    """Run an IR FILE on the reference interpreter and print (or save) its results."""
    from tfc.runtime.interpreter import InterpreterError, run_function

    module = load_ir(file)
    function = pick_function(module, function_name)
    values = dict(parse_input(spec, function) for spec in inputs)
    try:
        results = run_function(function, values)
    except InterpreterError as e:
        raise UserError(_one_line(e)) from None
    names = output_names(function)
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        for name, value in zip(names, results):
            path = Path(output_dir) / f"{name}.npy"
            np.save(path, value)
            click.echo(f"wrote {path}")
        return
    for name, value, type in zip(names, results, function.result_types):
        body = np.array2string(np.asarray(value), separator=", ", threshold=200)
        click.echo(f"{name}: tensor<{'x'.join(map(str, value.shape))}{'x' if value.ndim else ''}"
                   f"{type.dtype.ir_name}> = {body}")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", type=click.Path(file_okay=False),
              help="Where to write the results (default: MODEL_tfc next to the current directory).")
@click.option("--emit", "emit", multiple=True, type=click.Choice(["ir"]), default=("ir",),
              show_default=True, help="What to write: ir = the frozen IR (model.tfc). Repeatable.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="The size given to the inputs' unknown leading dimension.")
@click.option("--outputs", "output_names", default=None, metavar="NAME,...",
              help="Compute these tensors (keys of the file's `outputs` or graph tensor names) instead.")
def compile(model, output_dir, emit, batch, output_names):
    """Compile a model file (see README: it defines `inputs` and `outputs`)."""
    import json

    from tfc.ir import print_module
    from tfc.model import ModelError, freeze, load_model, select_outputs

    try:
        loaded = load_model(model)
        if output_names:
            select_outputs(loaded, [n.strip() for n in output_names.split(",") if n.strip()])
        module = freeze(loaded, batch=batch)
    except ModelError as e:
        raise UserError(str(e)) from None
    out = Path(output_dir or f"{Path(model).stem}_tfc")
    out.mkdir(parents=True, exist_ok=True)
    function = module["main"]
    if "ir" in emit:
        (out / "model.tfc").write_text(print_module(module), encoding="utf-8")
    manifest = {
        "source": str(model),
        "target": "cpu",
        "batch": batch,
        "inputs": [{"name": a.name_hint, "shape": list(a.type.shape), "dtype": a.type.dtype.name}
                   for a in function.args],
        "outputs": [{"name": n, "shape": list(t.shape), "dtype": t.dtype.name}
                    for n, t in zip(function.attributes["outputs"], function.result_types)],
        "files": {"ir": "model.tfc"} if "ir" in emit else {},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    click.echo(f"wrote {out}/ ({', '.join(sorted(manifest['files']))} and manifest.json)")


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


if __name__ == "__main__":
    sys.exit(main())
