"""Running a compiled MLU program (the folder `tfc compile --target mlu` writes, or a
BangProgram object) on the simulator.

The program is described by its launch plan alone (plan.json; see codegen/bang/plan.py for the
format): this module does not import the code generator. `run_program` allocates the GDRAM
buffers on a `Device`, writes the inputs and the weights, runs the launches in order (freeing
each temporary buffer after its last use) and reads the outputs back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = "tfc-bang/1"


class ProgramError(ValueError):
    """A folder that is not an MLU program, or inputs that do not fit it."""


class LoadedProgram:
    """plan (dict), sources {file: text}, weights {name: array}: what run_program needs."""

    def __init__(self, plan: dict, sources: dict, weights: dict):
        self.plan = plan
        self.sources = sources
        self.weights = weights


def load_program(folder) -> LoadedProgram:
    folder = Path(folder)
    path = folder / "plan.json"
    if not path.is_file():
        raise ProgramError(f"{folder} is not an MLU program folder (no plan.json)")
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ProgramError(f"cannot read {path}: {e}") from None
    if plan.get("format") != FORMAT:
        raise ProgramError(f"{path} is not a tfc MLU launch plan (format {plan.get('format')!r})")
    sources = {}
    for launch in plan["launches"]:
        name = launch["file"]
        if name not in sources:
            try:
                sources[name] = (folder / name).read_text(encoding="utf-8")
            except OSError as e:
                raise ProgramError(f"cannot read kernel source {folder / name}: {e.strerror}") from None
    weights = {}
    if plan.get("weights"):
        blob = folder / plan.get("weights_file", "weights.bin")
        try:
            data = np.memmap(blob, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as e:
            raise ProgramError(f"cannot read {blob}: {e}") from None
        for w in plan["weights"]:
            raw = np.asarray(data[w["offset"]:w["offset"] + w["bytes"]])
            weights[w["name"]] = raw.view(np.dtype(w["dtype"])).reshape(w["shape"])
    return LoadedProgram(plan, sources, weights)


def _as_program(program):
    if isinstance(program, (str, Path)):
        return load_program(program)
    if not hasattr(program, "plan") or not hasattr(program, "sources"):
        raise ProgramError(f"not an MLU program: {program!r}")
    return program


def _inputs(plan, inputs) -> list[np.ndarray]:
    specs = plan["inputs"]
    if isinstance(inputs, dict):
        names = [s["name"] for s in specs]
        missing = [n for n in names if n not in inputs]
        extra = [k for k in inputs if k not in names]
        if missing or extra:
            raise ProgramError(f"the program takes inputs {names}; missing {missing}, unexpected {extra}")
        values = [inputs[n] for n in names]
    else:
        values = list(inputs)
        if len(values) != len(specs):
            raise ProgramError(f"the program takes {len(specs)} inputs, got {len(values)}")
    out = []
    for spec, value in zip(specs, values):
        array = np.asarray(value)
        if list(array.shape) != list(spec["shape"]):
            raise ProgramError(f"input '{spec['name']}' has shape {list(array.shape)}, expected {spec['shape']}")
        dtype = np.dtype(spec["dtype"])
        if array.dtype != dtype:
            if array.dtype.kind != dtype.kind and not (array.dtype.kind in "iu" and dtype.kind == "f"):
                raise ProgramError(f"input '{spec['name']}' has dtype {array.dtype}, expected {dtype}")
            array = array.astype(dtype)
        out.append(np.ascontiguousarray(array))
    return out


class Runner:
    """A program bound to a device: kernels parsed once, reusable across runs."""

    def __init__(self, program, device=None, profile=None):
        from . import Device

        self.program = _as_program(program)
        plan = self.program.plan
        self.device = device or Device(profile or plan.get("profile", "mlu270"))
        self.kernels = {name: self.device.load(text, filename=name)
                        for name, text in self.program.sources.items()}

    def __call__(self, inputs):
        plan = self.program.plan
        dev = self.device
        buffers = plan["buffers"]
        allocated: dict[str, object] = {}

        def get(name):
            if name not in allocated:
                allocated[name] = dev.malloc(max(int(buffers[name]["bytes"]), 1))
            return allocated[name]

        try:
            for spec, array in zip(plan["inputs"], _inputs(plan, inputs)):
                if array.size:
                    dev.write(get(spec["buffer"]), array)
            for w in plan.get("weights", []):
                dev.write(get(w["buffer"]), np.ascontiguousarray(self.program.weights[w["name"]]))
            reports = []
            for launch in plan["launches"]:
                args = []
                for a in launch["args"]:
                    if "buffer" in a:
                        args.append(get(a["buffer"]))
                    else:
                        args.append(a["value"])
                report = dev.launch(self.kernels[launch["file"]], launch["kernel"], args=args,
                                    dim=tuple(launch["dim"]), ktype=launch["ktype"])
                reports.append(report)
                for name in launch.get("free", []):
                    if name in allocated:
                        dev.free(allocated.pop(name))
            outputs = []
            for spec in plan["outputs"]:
                shape = tuple(spec["shape"])
                if spec["dtype"] == "bool":
                    value = dev.read(get(spec["buffer"]), shape, np.int8).astype(bool)
                else:
                    value = dev.read(get(spec["buffer"]), shape, np.dtype(spec["dtype"]))
                outputs.append(np.array(value))
            return outputs, reports
        finally:
            for buf in allocated.values():
                try:
                    dev.free(buf)
                except Exception:      # noqa: BLE001 - freeing must not hide the real error
                    pass


def run_program(program, inputs, device=None, profile=None):
    """Run `program` (a folder path, or an object with .plan/.sources/.weights such as a
    BangProgram) on `inputs` (dict by name, or a list in order). Returns (outputs, reports):
    the output arrays in the plan's order and one KernelReport per launch."""
    return Runner(program, device, profile)(inputs)


def output_names(program) -> list[str]:
    return [o["name"] for o in _as_program(program).plan["outputs"]]
