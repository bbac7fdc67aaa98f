"""Model files: the convention by which `tfc compile model.py` finds a model's inputs and
outputs, and the freezing of its graph into one IR function.

A model file is a Python script that builds its graph with `import tfc as tf` and defines, at
module level:

    inputs = {"x": x}            # name -> placeholder (a list of placeholders also works)
    outputs = {"probs": probs}   # name -> tensor to compute (a list works too)

Optionally `def initialize(sess)` sets the variables' values (restoring a checkpoint, say);
without it `tfc compile` runs `tf.global_variables_initializer()`, so seeded initializers give
the weights. The variables' values are then frozen into the IR as constants, and unknown batch
dimensions of the inputs become `--batch` (default 1).
"""

from __future__ import annotations

import runpy
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfc.ir.builder import Builder
from tfc.ir.core import Module
from tfc.ir.types import TensorType

from .framework import Graph, Tensor
from .lowering import lower
from .session import Session


class ModelError(ValueError):
    """The model file failed to run or breaks the convention; the message names its line."""


@dataclass
class Model:
    path: str
    graph: Graph
    inputs: dict[str, Tensor]
    outputs: dict[str, Tensor]
    namespace: dict


def _named(value, what: str, path: str) -> dict[str, Tensor]:
    if isinstance(value, Tensor):
        value = [value]
    if isinstance(value, (list, tuple)):
        value = {t.op.name if isinstance(t, Tensor) else str(i): t for i, t in enumerate(value)}
    if not isinstance(value, dict) or not all(isinstance(t, Tensor) for t in value.values()):
        raise ModelError(f"{path}: `{what}` must be a dict of name -> tensor (or a list of tensors)")
    return dict(value)


def load_model(path: str) -> Model:
    """Run the model file in a fresh graph and collect its `inputs` and `outputs`."""
    path = str(path)
    if not Path(path).is_file():
        raise ModelError(f"cannot read {path}: no such file")
    graph = Graph()
    try:
        with graph.as_default():
            namespace = runpy.run_path(path, run_name="__tfc_model__")
    except Exception as e:  # the user's code: report where it failed, in one line
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(Path(path))
                  or Path(f.filename).resolve() == Path(path).resolve()]
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else path
        raise ModelError(f"{where}: {type(e).__name__}: {e}".splitlines()[0]) from None
    for name in ("inputs", "outputs"):
        if name not in namespace:
            raise ModelError(f"{path}: the model file must define `{name}` (a dict of name -> tensor)")
    inputs = _named(namespace["inputs"], "inputs", path)
    outputs = _named(namespace["outputs"], "outputs", path)
    for name, t in inputs.items():
        if t.op.type not in ("Placeholder", "PlaceholderWithDefault"):
            raise ModelError(f"{path}: input '{name}' is {t.name}, a {t.op.type}, not a placeholder")
    return Model(path, graph, inputs, outputs, namespace)


def input_types(model: Model, batch: int = 1) -> dict[str, TensorType]:
    """Static input types: an unknown leading dimension becomes `batch`; any other unknown
    dimension is an error."""
    types = {}
    for name, t in model.inputs.items():
        shape = t.ir_type.shape
        if shape is None:
            raise ModelError(f"input '{name}' has an unknown rank: give its placeholder a shape")
        dims = list(shape)
        if dims and dims[0] is None:
            dims[0] = batch
        if None in dims:
            raise ModelError(f"input '{name}' has shape {t.shape}: only the leading (batch) "
                             "dimension may be unknown")
        types[name] = TensorType(tuple(dims), t.dtype)
    return types


def select_outputs(model: Model, names: list[str]) -> None:
    """Compute `names` instead of the file's `outputs`: keys of `outputs` or any tensor name
    of the graph ('fc1/Relu:0')."""
    chosen = {}
    for name in names:
        if name in model.outputs:
            chosen[name] = model.outputs[name]
            continue
        try:
            tensor = model.graph.get_tensor_by_name(name if ":" in name else f"{name}:0")
        except (KeyError, ValueError) as e:
            raise ModelError(f"--outputs {name}: {e.args[0]}") from None
        chosen[name.split(":")[0].replace("/", "_")] = tensor
    model.outputs = chosen


def freeze(model: Model, batch: int = 1, session: Session | None = None) -> Module:
    """The model as one IR function `main(inputs...) -> outputs...` with the variables' current
    values (from `session`, else freshly initialized) embedded as constants."""
    types = input_types(model, batch)
    own_session = session is None
    if own_session:
        session = Session(graph=model.graph)
        with model.graph.as_default():
            init = model.namespace.get("initialize")
            if init is not None:
                init(session)
            elif model.graph.get_collection("variables"):
                from .api.variables import global_variables_initializer

                session.run(global_variables_initializer())
    try:
        lowered = lower(list(model.outputs.values()),
                        {model.inputs[n]: types[n] for n in model.inputs})
    finally:
        if own_session:
            session.close()
    if lowered.variable_writes:
        names = ", ".join(v.name for v in lowered.variable_writes)
        raise ModelError(f"the outputs assign variables ({names}): a compiled model must not")
    function = lowered.function
    block = function.body
    # Variable reads and random counters become constants; feeds keep the model's names.
    n_feeds = len(lowered.feeds)
    frozen = [session._variables.get(var) for var, _ in lowered.variable_reads]
    for (var, reader), value in zip(lowered.variable_reads, frozen):
        if value is None:
            raise ModelError(f"variable {var.name} has no value: initialize() did not set it")
    counters = [np.int64(0)] * len(lowered.random_ops)
    for arg, value in zip(list(block.args[n_feeds:]), frozen + counters):
        constant = Builder(block, before=block.ops[0] if block.ops else None).constant(
            np.asarray(value, dtype=arg.type.dtype.numpy))
        arg.replace_all_uses_with(constant)
    while len(block.args) > n_feeds:
        block.erase_arg(len(block.args) - 1)
    for arg, name in zip(block.args, model.inputs):
        arg.name_hint = name
    function.attributes["outputs"] = tuple(model.outputs)
    function.attributes["source"] = str(model.path)
    return lowered.module


def calibration_samples(model: Model, count: int, batch: int = 1, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """`count` input dicts (name -> array with leading dimension `batch`) for calibration.

    The model file's `calibration_data()` gives them if it is defined: it may take
    (count, batch, seed) or nothing, and return a list of such dicts or one dict of arrays
    (rows along the leading dimension, cut into batches here). Otherwise seeded synthetic data
    matching the inputs: floats standard normal, integers in [0, 10), bools fair coins."""
    import inspect

    types = input_types(model, batch)
    fn = model.namespace.get("calibration_data")
    if fn is not None:
        try:
            takes_args = len(inspect.signature(fn).parameters) > 0
        except (TypeError, ValueError):
            takes_args = False
        try:
            data = fn(count, batch, seed) if takes_args else fn()
        except Exception as e:
            raise ModelError(f"{model.path}: calibration_data() failed: {type(e).__name__}: {e}") from None
        if isinstance(data, dict):
            missing = [n for n in types if n not in data]
            if missing:
                raise ModelError(f"{model.path}: calibration_data() has no {', '.join(missing)}")
            rows = min(len(np.asarray(data[n])) for n in types)
            data = [{n: np.asarray(data[n][i:i + batch], types[n].dtype.numpy) for n in types}
                    for i in range(0, rows - batch + 1, batch)]
        data = list(data)
        if not data:
            raise ModelError(f"{model.path}: calibration_data() returned no samples")
        return data[:count]
    return synthetic_samples(types, count, seed)


def synthetic_samples(types: dict, count: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """`count` seeded input dicts for `types` (name -> TensorType with a static shape): floats
    standard normal, integers in [0, 10), bools fair coins."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = {}
        for name, t in types.items():
            if t.dtype.is_floating:
                value = rng.standard_normal(t.shape)
            elif t.dtype.is_integer:
                value = rng.integers(0, 10, size=t.shape)
            elif t.dtype.is_bool:
                value = rng.random(t.shape) < 0.5
            else:
                raise ModelError(f"input '{name}' has dtype {t.dtype.name}: give the model file a "
                                 "calibration_data() function")
            sample[name] = np.asarray(value, t.dtype.numpy)
        samples.append(sample)
    return samples
