"""`tfc mlu-run`: run a hand-written BANG C kernel (.mlu) on the MLU simulator.

    tfc mlu-run FILE.mlu --kernel NAME [--profile mlu270] [--dim 4,1,1] [--ktype BLOCK]
        --arg x=in.npy --arg y=out:f32:1024 --arg n=1024 --arg alpha=0.5 [-o DIR]

Every parameter of the entry kernel is bound by name with `--arg NAME=VALUE`:
  NAME=FILE.npy            a pointer parameter: the array is copied to a new GDRAM buffer
  NAME=out:DTYPE:SHAPE     a pointer parameter: a zeroed GDRAM output buffer (DTYPE one of
                           f32 f16 f64 i8 i16 i32 i64 u8 u16 u32; SHAPE like 1024 or 2x64);
                           after the run it is written as DIR/NAME.npy
  NAME=NUMBER              a scalar parameter (int or float literal)
The cycle report (per kernel and total) is printed after the run.  Errors (bad arguments, a
rule the kernel breaks, an unsupported construct) exit with status 2 and one line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click
import numpy as np

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64, "i8": np.int8,
          "i16": np.int16, "i32": np.int32, "i64": np.int64, "u8": np.uint8,
          "u16": np.uint16, "u32": np.uint32}
KTYPES = ("BLOCK", "UNION1", "UNION2", "UNION4", "UNION8", "UNION16")


class MluRunError(click.ClickException):
    """One line on stderr, exit status 2 (the tfc CLI's convention for user errors)."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


def _one_line(e: BaseException) -> str:
    s = str(e)
    return s.splitlines()[0] if s else type(e).__name__


def _ktype(value: str) -> str:
    if value.upper() not in KTYPES:
        raise MluRunError(f"--ktype {value!r}: expected one of {', '.join(KTYPES)}")
    return value.upper()


def parse_dim(text: str) -> tuple[int, int, int]:
    try:
        parts = [int(p) for p in text.replace("x", ",").split(",") if p.strip()]
    except ValueError:
        raise MluRunError(f"--dim {text!r}: expected X[,Y[,Z]] with positive integers") from None
    if not 1 <= len(parts) <= 3 or any(p < 1 for p in parts):
        raise MluRunError(f"--dim {text!r}: expected X[,Y[,Z]] with positive integers")
    return tuple(parts + [1] * (3 - len(parts)))


class ArgSpec:
    """One parsed --arg: kind "input" (array), "output" (dtype, shape) or "scalar" (value)."""

    def __init__(self, name, kind, value=None, dtype=None, shape=None):
        self.name, self.kind, self.value, self.dtype, self.shape = name, kind, value, dtype, shape


def parse_arg(spec: str) -> ArgSpec:
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep or not name or not value:
        raise MluRunError(f"--arg {spec!r}: expected NAME=FILE.npy, NAME=out:DTYPE:SHAPE or NAME=NUMBER")
    if value.startswith("out:"):
        parts = value.split(":")
        if len(parts) != 3:
            raise MluRunError(f"--arg {name}: expected out:DTYPE:SHAPE (e.g. out:f32:1024 or out:f16:2x64), "
                              f"got {value!r}")
        _, dt, shape_text = parts
        if dt not in DTYPES:
            raise MluRunError(f"--arg {name}: unknown dtype {dt!r} (one of {', '.join(DTYPES)})")
        try:
            shape = tuple(int(s) for s in shape_text.lower().split("x"))
        except ValueError:
            shape = ()
        if not shape or any(s < 1 for s in shape):
            raise MluRunError(f"--arg {name}: bad shape {shape_text!r} (positive sizes joined by x, e.g. 2x64)")
        return ArgSpec(name, "output", dtype=np.dtype(DTYPES[dt]), shape=shape)
    if value.endswith(".npy"):
        try:
            array = np.load(value, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise MluRunError(f"--arg {name}: cannot load {value}: {_one_line(e)}") from None
        if array.dtype.kind not in "biuf" or array.size == 0:
            raise MluRunError(f"--arg {name}: {value} holds a {array.dtype} array of {array.size} "
                              f"elements; need a non-empty numeric array")
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return ArgSpec(name, "input", value=np.ascontiguousarray(array))
    try:
        number = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise MluRunError(f"--arg {name}: {value!r} is neither a .npy file, out:DTYPE:SHAPE nor a number")
    return ArgSpec(name, "scalar", value=number)


def kernel_params(prog, kernel: str) -> list[tuple[str, bool]]:
    """[(name, is_pointer)] of the entry kernel's parameters, in order."""
    from tfc.runtime.mlu import MLUError

    params = None
    getter = getattr(prog, "kernel_params", None)
    if callable(getter):
        params = getter(kernel)
    if params is None:
        raise MLUError(kernel, getattr(prog, "filename", ""), 0, "no such kernel",
                       f"the file has no __mlu_entry__ function {kernel!r}")
    return [(str(n), bool(p)) for n, p in params]


def _pointee_dtypes(prog, kernel: str) -> dict:
    """{param: numpy dtype of the pointee} for typed pointer parameters (best effort: void and
    char pointers, and programs that do not expose parameter types, give nothing)."""
    out = {}
    try:
        for name, ctype in prog.funcs[kernel].params:
            target = getattr(ctype, "target", None) if ctype.is_ptr else None
            dt = getattr(target, "np_dtype", None)
            if dt is not None:
                out[str(name)] = np.dtype(dt)
    except (AttributeError, KeyError, TypeError):
        return {}
    return out


def bind(dev, prog, kernel: str, specs: list[ArgSpec]):
    """GDRAM buffers and scalars in the kernel's parameter order; outputs as (name, buf, dtype, shape)."""
    params = kernel_params(prog, kernel)
    names = [n for n, _ in params]
    by_name = {}
    for s in specs:
        if s.name in by_name:
            raise MluRunError(f"--arg {s.name} given twice")
        if s.name not in names:
            raise MluRunError(f"--arg {s.name}: kernel {kernel} has no parameter {s.name!r} "
                              f"(its parameters: {', '.join(names) or 'none'})")
        by_name[s.name] = s
    missing = [n for n in names if n not in by_name]
    if missing:
        raise MluRunError(f"kernel {kernel} needs --arg for {', '.join(missing)} "
                          f"(parameters: {', '.join(names)})")
    pointees = _pointee_dtypes(prog, kernel)
    args, outputs = [], []
    for name, is_pointer in params:
        s = by_name[name]
        want = pointees.get(name)
        have = s.value.dtype if s.kind == "input" else s.dtype
        if want is not None and have is not None and want.itemsize > 1 and have != want:
            if s.kind == "input":
                hint = f"save it as {want}, e.g. np.save(path, a.astype('{want}'))"
            else:
                code = next((k for k, v in DTYPES.items() if np.dtype(v) == want), str(want))
                hint = f"use out:{code}:..."
            raise MluRunError(f"--arg {name}: the kernel's parameter points to {want}, but the "
                              f"{'array' if s.kind == 'input' else 'buffer'} is {have}; {hint}")
        if is_pointer and s.kind == "scalar":
            raise MluRunError(f"--arg {name}: parameter {name} is a pointer; give FILE.npy or out:DTYPE:SHAPE")
        if not is_pointer and s.kind != "scalar":
            raise MluRunError(f"--arg {name}: parameter {name} is a scalar; give a number")
        if s.kind == "scalar":
            args.append(s.value)
        elif s.kind == "input":
            buf = dev.malloc(s.value.nbytes)
            dev.write(buf, s.value)
            args.append(buf)
        else:
            nbytes = int(np.prod(s.shape)) * s.dtype.itemsize
            buf = dev.malloc(nbytes)
            dev.write(buf, np.zeros(s.shape, s.dtype))
            args.append(buf)
            outputs.append((name, buf, s.dtype, s.shape))
    return args, outputs


def run_file(path: str, kernel: str, profile: str = "mlu270", dim=(1, 1, 1), ktype: str = "BLOCK",
             arg_specs=(), output_dir: str = "."):
    """Run `kernel` of the .mlu file; returns (report, {name: ndarray}, written paths).  Raises
    MluRunError (argument problems) or MLUError (the simulator's errors)."""
    from tfc.runtime.mlu import Device

    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise MluRunError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise MluRunError(f"{path} is not a UTF-8 text file") from None
    specs = [parse_arg(a) if isinstance(a, str) else a for a in arg_specs]
    dev = Device(profile)
    prog = dev.load(source, filename=Path(path).name)
    args, outputs = bind(dev, prog, kernel, specs)
    report = dev.launch(prog, kernel, args=args, dim=tuple(dim), ktype=ktype)
    results, written = {}, []
    out_dir = Path(output_dir)
    if outputs:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise MluRunError(f"cannot create {out_dir}: {e.strerror}") from None
    for name, buf, dtype, shape in outputs:
        value = dev.read(buf, shape, dtype)
        results[name] = value
        target = out_dir / f"{name}.npy"
        try:
            np.save(target, value)
        except OSError as e:
            raise MluRunError(f"cannot write {target}: {e.strerror}") from None
        written.append(target)
    return report, results, written


@click.command("mlu-run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kernel", "-k", required=True, metavar="NAME", help="The __mlu_entry__ function to launch.")
@click.option("--profile", type=click.Choice(["mlu270", "mlu370"]), default="mlu270", show_default=True,
              help="Chip profile: memory sizes, alignment rules, saturation, unit rates.")
@click.option("--dim", "dim_text", default="1,1,1", show_default=True, metavar="X,Y,Z",
              help="Launch grid (taskDimX,Y,Z).")
@click.option("--ktype", default="BLOCK", show_default=True, metavar="|".join(KTYPES),
              callback=lambda ctx, param, v: _ktype(v), help="Task type.")
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE",
              help="Bind a kernel parameter: NAME=FILE.npy, NAME=out:DTYPE:SHAPE or NAME=NUMBER (repeatable).")
@click.option("-o", "--output-dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where the out: buffers are written as NAME.npy.")
def mlu_run(file, kernel, profile, dim_text, ktype, args, output_dir):
    """Run a hand-written BANG C kernel FILE.mlu on the MLU simulator and print its cycle report."""
    from tfc.runtime.mlu import MLUError, format_reports

    dim = parse_dim(dim_text)
    try:
        report, results, written = run_file(file, kernel, profile, dim, ktype, args, output_dir)
    except MLUError as e:
        raise MluRunError(_one_line(e)) from None
    for (name, value), path in zip(results.items(), written):
        click.echo(f"wrote {path} ({value.dtype}, shape {'x'.join(map(str, value.shape))})")
    click.echo(format_reports([report]))
