"""Passes, their registry and the pass manager.

A pass is a small frozen dataclass whose fields are its options; `run(module)` rewrites the
module in place and says whether it changed anything:

    @register_pass
    @dataclass(frozen=True)
    class DropIdentities(Pass):
        name = "drop-identities"

        def run(self, module: Module) -> bool:
            ...

A pipeline is a string of registered names, each with optional options in braces and a `*`
to repeat it until it stops changing the module:

    fold,simplify*,cse,dce,fuse{target=cpu}

or a list of such names and Pass instances. A named pipeline (`cpu-default`, see
`pipelines.py`) may stand for its passes. The manager verifies the module before and after
every pass (an error names the pass), can print the IR after each pass, times each pass, skips
passes by name and returns statistics (ops before and after each pass).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable

from tfc.ir import Module, VerifyError, print_module, verify


class Pass:
    """Base class of every pass. Subclass as `@dataclass(frozen=True)`; the fields are the
    pass's options (pipeline text `name{field=value}` sets them)."""

    name: ClassVar[str] = ""
    fixed_point: ClassVar[bool] = False   # a default for `name*` in pipelines

    def run(self, module: Module) -> bool:
        """Rewrite `module` in place; return True if anything changed."""
        raise NotImplementedError(f"pass {self.name!r} does not implement run()")

    def options(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        out = {}
        for f in dataclasses.fields(self) if dataclasses.is_dataclass(self) else ():
            value = getattr(self, f.name)
            default = (f.default if f.default is not dataclasses.MISSING else
                       f.default_factory() if f.default_factory is not dataclasses.MISSING else
                       dataclasses.MISSING)
            if value != default:
                out[f.name] = value
        return out

    def pipeline_text(self) -> str:
        """This pass as a pipeline item: `name{option=value,...}`."""
        opts = self.options()
        if not opts:
            return self.name
        return self.name + "{" + ",".join(f"{k}={_format_option(v)}" for k, v in opts.items()) + "}"


class PipelineError(ValueError):
    """A pipeline string or list that names an unknown pass or gives a bad option."""


class PassVerifyError(VerifyError):
    """The module failed verification before or after a pass. `pass_name` names it and
    `when` is "before" or "after"."""

    def __init__(self, pass_name: str, when: str, error: VerifyError):
        self.pass_name = pass_name
        self.when = when
        super().__init__([f"{'after' if when == 'after' else 'before'} pass '{pass_name}': {e}"
                          for e in error.errors])


PASSES: dict[str, type[Pass]] = {}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: make `cls.name` usable in pipelines. A class that is not yet a
    dataclass becomes a frozen one. Registering another class under a taken name is an error
    (re-registering the same class, e.g. a plugin loaded twice, replaces it)."""
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        raise TypeError(f"register_pass expects a subclass of Pass, got {cls!r}")
    name = cls.__dict__.get("name", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{cls.__qualname__}: a pass needs a class attribute `name` made of letters, "
                         f"digits, '-', '_' or '.', got {name!r}")
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclass(frozen=True)(cls)
    old = PASSES.get(name)
    if old is not None and old is not cls and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"pass name {name!r} is already registered by "
                         f"{old.__module__}.{old.__qualname__}")
    PASSES[name] = cls
    return cls


def get_pass(name: str) -> type[Pass]:
    try:
        return PASSES[name]
    except KeyError:
        known = ", ".join(sorted(PASSES)) or "none"
        raise PipelineError(f"unknown pass '{name}' (known passes: {known})") from None


# Pipeline text -----------------------------------------------------------------------------
def split_items(text: str, separators: str = ",") -> list[str]:
    """Split at separators outside braces, brackets and quotes."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced '{ch}' in {text!r}")
        elif ch in separators and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth or quote:
        raise PipelineError(f"unclosed bracket or quote in {text!r}")
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


_ITEM = re.compile(r"\s*(?P<name>[A-Za-z][A-Za-z0-9_.-]*)\s*(?P<star1>\*)?\s*"
                   r"(?:\{(?P<options>.*)\})?\s*(?P<star2>\*)?\s*", re.S)


def parse_item(text: str) -> tuple[str, dict[str, str], bool]:
    """`name`, `name*`, `name{a=1,b=x}` or `name{...}*` -> (name, raw options, fixed point)."""
    m = _ITEM.fullmatch(text)
    if not m:
        raise PipelineError(f"bad pipeline item {text!r}: expected NAME, NAME* or NAME{{option=value,...}}")
    options: dict[str, str] = {}
    for part in split_items(m.group("options") or "", ", \t\n"):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PipelineError(f"bad option {part!r} for pass '{m.group('name')}': expected option=value")
        options[key] = value.strip()
    return m.group("name"), options, bool(m.group("star1") or m.group("star2"))


def make_pass(name: str, options: dict[str, Any]) -> Pass:
    """An instance of pass `name` with `options` (strings are converted by the fields' types)."""
    cls = get_pass(name)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in options.items():
        if key not in fields:
            known = ", ".join(fields) or "none"
            raise PipelineError(f"pass '{name}' has no option '{key}' (options: {known})")
        if isinstance(value, str):
            try:
                value = convert_option(value, hints.get(key, str))
            except (TypeError, ValueError) as e:
                raise PipelineError(f"pass '{name}', option '{key}': {e}") from None
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise PipelineError(f"pass '{name}': {e}") from None


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def convert_option(text: str, annotation: Any) -> Any:
    """Pipeline text for one option, converted to the field's annotated type."""
    text = text.strip()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any or annotation is object:
        return _unquote(text)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.lower() in ("none", "null", ""):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return convert_option(text, arg)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors) or f"cannot convert {text!r}")
    if origin is typing.Literal:
        for choice in args:
            try:
                if convert_option(text, type(choice)) == choice:
                    return choice
            except (TypeError, ValueError):
                pass
        raise ValueError(f"expected one of {', '.join(map(repr, args))}, got {text!r}")
    if origin in (tuple, list, set, frozenset):
        inner = text[1:-1] if text[:1] == "[" and text[-1:] == "]" else text
        parts = split_items(inner, ", ")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(parts) != len(args):
                raise ValueError(f"expected {len(args)} values, got {len(parts)}")
            return tuple(convert_option(p, a) for p, a in zip(parts, args))
        element = args[0] if args else str
        return origin(convert_option(p, element) for p in parts)
    if annotation is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if annotation is int:
        try:
            return int(text, 0)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if annotation is str:
        return _unquote(text)
    if isinstance(annotation, type):
        return annotation(_unquote(text))
    return _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _format_option(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list, set, frozenset)):
        return "[" + ",".join(_format_option(v) for v in value) + "]"
    return str(value)


# The manager -------------------------------------------------------------------------------
@dataclass
class PipelineEntry:
    """One pass of a pipeline, run once or repeated until it reports no change."""

    pass_: Pass
    fixed_point: bool = False

    @property
    def name(self) -> str:
        return self.pass_.name

    def __str__(self) -> str:
        return self.pass_.pipeline_text() + ("*" if self.fixed_point else "")


def count_ops(module: Module) -> int:
    """The ops of the functions' bodies (an op with regions, such as a fused group, counts
    once: the count is what a backend launches)."""
    return sum(len(function.body.ops) for function in module)


class PassManager:
    """Runs a pipeline of passes over a module.

    verify_each: verify the module before the first pass and after every pass (and every
        repetition of a fixed-point pass); a failure raises PassVerifyError naming the pass.
    print_after_each: print the IR after each pass to `output` (True), or call it as
        `print_after_each(pass_name, module)`.
    timing: print a table of per-pass times to `output` at the end (times are always in the
        statistics).
    skip: names of passes not to run.
    max_iterations: the bound on repetitions of a fixed-point pass.
    output: where printing goes (default sys.stderr).
    """

    def __init__(self, passes: Iterable[Pass | PipelineEntry] = (), *, verify_each: bool = True,
                 print_after_each: bool | Callable[[str, Module], None] = False, timing: bool = False,
                 skip: Iterable[str] = (), max_iterations: int = 32, output=None):
        self.entries: list[PipelineEntry] = []
        for p in passes:
            self.add(p)
        self.verify_each = verify_each
        self.print_after_each = print_after_each
        self.timing = timing
        self.skip = set(skip)
        self.max_iterations = max_iterations
        self.output = output

    @classmethod
    def parse(cls, pipeline: str | Iterable[str | Pass | PipelineEntry] | None, **options) -> PassManager:
        """A manager for `pipeline`: a string such as "fold,cse*,fuse{target=cpu}", a named
        pipeline ("cpu-default"), "none" or "" for no passes, or a list of names (with the same
        syntax) and Pass instances. `options` are the constructor's keyword options."""
        manager = cls(**options)
        if pipeline is None:
            return manager
        items = split_items(pipeline) if isinstance(pipeline, str) else list(pipeline)
        if isinstance(pipeline, str) and pipeline.strip().lower() == "none":
            items = []
        for item in items:
            if isinstance(item, (Pass, PipelineEntry)):
                manager.add(item)
            elif isinstance(item, str):
                manager._add_text(item)
            elif isinstance(item, type) and issubclass(item, Pass):
                manager.add(item())
            else:
                raise PipelineError(f"a pipeline item must be a pass name or a Pass, got {item!r}")
        return manager

    def _add_text(self, text: str) -> None:
        items = split_items(text)
        if len(items) != 1:
            for item in items:
                self._add_text(item)
            return
        name, options, star = parse_item(text)
        if name not in PASSES:
            from .pipelines import expand_pipeline, PIPELINES

            if name in PIPELINES:
                if options or star:
                    raise PipelineError(f"the named pipeline '{name}' takes no options and no '*'")
                for item in expand_pipeline(name):
                    self._add_text(item)
                return
        self.add(make_pass(name, options), fixed_point=star or None)

    def add(self, p: Pass | PipelineEntry, fixed_point: bool | None = None) -> PassManager:
        """Append a pass (fixed_point=None: the pass class's default)."""
        if isinstance(p, PipelineEntry):
            entry = p if fixed_point is None else PipelineEntry(p.pass_, fixed_point)
        elif isinstance(p, Pass):
            entry = PipelineEntry(p, type(p).fixed_point if fixed_point is None else fixed_point)
        else:
            raise PipelineError(f"expected a Pass instance, got {p!r}")
        if not entry.pass_.name:
            raise PipelineError(f"{type(entry.pass_).__qualname__} has no name")
        self.entries.append(entry)
        return self

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def __str__(self) -> str:
        return ",".join(str(e) for e in self.entries)

    def __repr__(self) -> str:
        return f"PassManager({str(self)!r})"

    def __len__(self) -> int:
        return len(self.entries)

    # running -----------------------------------------------------------------------------
    def run(self, module: Module, **overrides) -> dict:
        """Run the pipeline on `module` in place. Keyword overrides: verify_each,
        print_after_each, timing, skip, max_iterations, output.

        Returns statistics: {"pipeline", "changed", "ops_before", "ops_after", "seconds",
        "verify_seconds", "passes": [{"name", "pass", "skipped", "changed", "iterations",
        "converged", "ops_before", "ops_after", "seconds"}, ...]}."""
        unknown = set(overrides) - {"verify_each", "print_after_each", "timing", "skip",
                                    "max_iterations", "output"}
        if unknown:
            raise TypeError(f"unknown PassManager.run options: {', '.join(sorted(unknown))}")
        verify_each = overrides.get("verify_each", self.verify_each)
        print_after = overrides.get("print_after_each", self.print_after_each)
        timing = overrides.get("timing", self.timing)
        skip = set(overrides.get("skip", self.skip))
        max_iterations = overrides.get("max_iterations", self.max_iterations)
        output = overrides.get("output", self.output)

        stats: dict[str, Any] = {"pipeline": str(self), "changed": False,
                                 "ops_before": count_ops(module), "passes": [],
                                 "seconds": 0.0, "verify_seconds": 0.0}
        verify_time = 0.0

        def check(name: str, when: str) -> None:
            nonlocal verify_time
            if not verify_each:
                return
            start = time.perf_counter()
            try:
                verify(module)
            except VerifyError as e:
                raise PassVerifyError(name, when, e) from None
            finally:
                verify_time += time.perf_counter() - start

        active = [e for e in self.entries if e.name not in skip]
        if active:
            check(active[0].name, "before")
        for entry in self.entries:
            record = {"name": entry.name, "pass": str(entry), "skipped": entry.name in skip,
                      "changed": False, "iterations": 0, "converged": True,
                      "ops_before": count_ops(module), "seconds": 0.0}
            stats["passes"].append(record)
            if record["skipped"]:
                record["ops_after"] = record["ops_before"]
                continue
            while True:
                start = time.perf_counter()
                try:
                    changed = bool(entry.pass_.run(module))
                except Exception as e:
                    e.add_note(f"(while running pass '{entry.name}')")
                    raise
                record["seconds"] += time.perf_counter() - start
                record["iterations"] += 1
                record["changed"] |= changed
                check(entry.name, "after")
                if not (entry.fixed_point and changed):
                    break
                if record["iterations"] >= max_iterations:
                    record["converged"] = False
                    break
            record["ops_after"] = count_ops(module)
            stats["changed"] |= record["changed"]
            if print_after:
                if callable(print_after):
                    print_after(entry.name, module)
                else:
                    status = "" if record["changed"] else " (no change)"
                    print(f"// ----- IR after {entry}{status} ----- //", file=output or sys.stderr)
                    print(print_module(module), end="", file=output or sys.stderr)
        stats["ops_after"] = count_ops(module)
        stats["seconds"] = sum(r["seconds"] for r in stats["passes"])
        stats["verify_seconds"] = verify_time
        if timing:
            print(format_timing(stats), end="", file=output or sys.stderr)
        return stats


def format_timing(stats: dict) -> str:
    """A per-pass table of times and op counts from `PassManager.run`'s statistics."""
    total = stats["seconds"] + stats["verify_seconds"]
    lines = ["// ----- pass timing ----- //",
             f"{'seconds':>10} {'share':>6} {'ops before':>10} {'ops after':>9}  pass"]
    for r in stats["passes"]:
        if r["skipped"]:
            lines.append(f"{'-':>10} {'-':>6} {r['ops_before']:>10} {r['ops_after']:>9}  {r['pass']} (skipped)")
            continue
        share = 100 * r["seconds"] / total if total else 0.0
        reps = f" x{r['iterations']}" if r["iterations"] > 1 else ""
        lines.append(f"{r['seconds']:>10.4f} {share:>5.1f}% {r['ops_before']:>10} {r['ops_after']:>9}  {r['pass']}{reps}")
    share = 100 * stats["verify_seconds"] / total if total else 0.0
    lines.append(f"{stats['verify_seconds']:>10.4f} {share:>5.1f}% {'':>10} {'':>9}  (verifier)")
    lines.append(f"{total:>10.4f} {100.0 if total else 0.0:>5.1f}% {stats['ops_before']:>10} "
                 f"{stats['ops_after']:>9}  total")
    return "\n".join(lines) + "\n"


def run_pipeline(module: Module, pipeline, **options) -> dict:
    """Parse `pipeline` and run it on `module`; returns the statistics."""
    return PassManager.parse(pipeline, **options).run(module)


def load_pass_file(path: str) -> list[str]:
    """Import the Python file `path` (a plugin that registers passes with `register_pass`) and
    return the names of the passes it registered or re-registered."""
    import hashlib
    import importlib.util
    from pathlib import Path

    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"cannot read pass file {path}")
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    module_name = f"tfc_pass_plugin_{re.sub(r'[^A-Za-z0-9_]', '_', resolved.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    plugin = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = plugin
    try:
        spec.loader.exec_module(plugin)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return sorted(name for name, cls in PASSES.items() if cls.__module__ == module_name)
