"""Loading an AOT-compiled CPU folder (`tfc compile model.py`) as a Python callable."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np

from tfc.codegen.llvm.native import ENTRY_TYPE, NativeCallable, TensorSpec, aligned_copy


class LoadError(ValueError):
    """The folder is not a complete tfc CPU build."""


def _specs(items) -> list[TensorSpec]:
    return [TensorSpec(i["name"], tuple(i["shape"]), np.dtype(i["dtype"] if i["dtype"] != "bool" else "bool"))
            for i in items]


def load(folder) -> NativeCallable:
    """The model compiled into `folder`: call it with arrays (positionally or by input name);
    inputs are checked against the manifest before native code runs. Uses libmodel.so, or
    JIT-compiles model.tfc when the folder has no shared library."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise LoadError(f"{folder} has no readable manifest.json ({e})") from None
    if manifest.get("target") != "cpu":
        raise LoadError(f"{folder} was compiled for {manifest.get('target')}, not the CPU")
    files = manifest["files"]
    weights = np.fromfile(folder / files["weights"], dtype=np.uint8)
    if weights.size < manifest["weights_bytes"]:
        raise LoadError(f"{folder / files['weights']} holds {weights.size} bytes, expected "
                        f"{manifest['weights_bytes']}")
    inputs, outputs = _specs(manifest["inputs"]), _specs(manifest["outputs"])
    ops = manifest["ops"]
    if "so" in files:
        library = ctypes.CDLL(str((folder / files["so"]).resolve()))
        entry = ENTRY_TYPE(ctypes.cast(getattr(library, manifest["entry"]), ctypes.c_void_p).value)
        return NativeCallable(entry, inputs, outputs, manifest["temp_bytes"], aligned_copy(weights),
                              ops, keepalive=library)
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.ir import parse_file, verify

    module = parse_file(folder / files["ir"])
    verify(module)
    native = NativeFunction.jit(module["main"], manifest["entry"])
    native.outputs = outputs
    return native
