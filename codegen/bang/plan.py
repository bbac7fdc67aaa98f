"""A compiled MLU program: BANG C sources (one `.mlu` file per kernel), the host launch plan
and the weights.

On disk (`BangProgram.save(dir)`):

    <kernel>.mlu    one `__mlu_entry__` kernel each
    plan.json       the launch plan (format below)
    weights.bin     the weights, concatenated (offsets in plan.json), 64-byte aligned each
    model.tfc       the final IR (written by compile_for_mlu, not by save)

plan.json (format "tfc-bang/1"):

    profile         "mlu270" | "mlu370"
    buffers         {name: {bytes, dtype, shape, kind: input|output|weight|temp}}  GDRAM buffers
    inputs/outputs  [{name, buffer, shape, dtype}]   the program's arguments and results
    weights         [{name, buffer, offset, bytes, dtype, shape}]   slices of weights.bin
    launches        [{kernel, file, dim: [x, y, z], ktype, op, args: [{param, buffer} |
                      {param, value, ctype}], free: [buffers dead after this launch]}]

The runtime (`tfc.runtime.mlu.program.run_program`) reads only this plan: it allocates the
buffers on the simulated device, writes inputs and weights, runs the launches in order and
reads the outputs back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "tfc-bang/1"
WEIGHT_ALIGN = 64


@dataclass
class KernelSource:
    """One `__mlu_entry__` kernel: its source, its parameters in order (`common.Param`s, or
    (name, C type) pairs), and the grid and task type it is launched with (same fields as
    codegen/bang/nn.py's)."""

    name: str
    source: str
    params: list = field(default_factory=list)
    dim: tuple = (1, 1, 1)
    ktype: str = "BLOCK"


@dataclass
class BangProgram:
    """sources: {filename: BANG C text}; plan: the launch plan (a JSON-able dict, see the
    module docstring); weights: {name: array}."""

    sources: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)

    @property
    def profile(self) -> str:
        return self.plan.get("profile", "mlu270")

    @property
    def launches(self) -> list:
        return self.plan.get("launches", [])

    def save(self, directory) -> dict:
        """Write the sources, plan.json and weights.bin into `directory`; return the files."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for filename, text in self.sources.items():
            (out / filename).write_text(text, encoding="utf-8")
            files[filename] = filename
        plan = dict(self.plan)
        entries = []
        offset = 0
        with open(out / "weights.bin", "wb") as f:
            for entry in plan.get("weights", []):
                array = np.ascontiguousarray(self.weights[entry["name"]])
                pad = (-offset) % WEIGHT_ALIGN
                f.write(b"\0" * pad)
                offset += pad
                f.write(array.tobytes())
                entries.append(dict(entry, offset=offset, bytes=int(array.nbytes)))
                offset += array.nbytes
        plan["weights"] = entries
        plan["weights_file"] = "weights.bin"
        (out / "plan.json").write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
        files["plan"] = "plan.json"
        files["weights"] = "weights.bin"
        return files

    @classmethod
    def load(cls, directory) -> "BangProgram":
        folder = Path(directory)
        plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
        if plan.get("format") != FORMAT:
            raise ValueError(f"{folder}/plan.json is not a tfc BANG plan (format {plan.get('format')!r})")
        sources = {}
        for launch in plan["launches"]:
            name = launch["file"]
            if name not in sources:
                sources[name] = (folder / name).read_text(encoding="utf-8")
        weights = {}
        blob = folder / plan.get("weights_file", "weights.bin")
        if plan.get("weights"):
            data = np.memmap(blob, dtype=np.uint8, mode="r")
            for w in plan["weights"]:
                raw = data[w["offset"]:w["offset"] + w["bytes"]]
                weights[w["name"]] = np.frombuffer(raw.tobytes(), dtype=np.dtype(w["dtype"])).reshape(w["shape"])
        return cls(sources, plan, weights)
