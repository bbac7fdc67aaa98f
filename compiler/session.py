"""`tf.Session`: runs fetches by compiling what they need (compiler/lowering.py) and executing
the compiled function with the session's variable values and random-generator positions.

A run is a sequence of steps. Today every run is one compiled step; host-side steps (queues,
dataset iterators, checkpoint I/O) will slot in between compiled ones without changing how
fetches, feeds and state are handled here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.types import TensorType
from tfc.ir.opdef import ComputeError
from tfc.codegen.llvm.native import NativeError
from tfc.runtime.interpreter import InterpreterError, run_function

from . import errors
from .framework import Graph, Operation, Tensor, get_default_graph
from .lowering import Lowered, lower


# TF raises these as plain ValueError, TypeError or RuntimeError; tfc's are also tf.errors
# classes, so `except tf.errors.OpError` catches every failure of a run.
class FeedError(errors.InvalidArgumentError, ValueError):
    """A feed of the wrong shape or an unconvertible value."""


class FeedTypeError(errors.InvalidArgumentError, TypeError):
    """A Python int that does not fit the fed tensor's dtype, or a Tensor given as a feed."""


class FetchError(errors.InvalidArgumentError, ValueError):
    """A fetch that names nothing in the graph or belongs to another graph."""


class ClosedSessionError(errors.FailedPreconditionError, RuntimeError):
    """Using a session after close()."""


ENGINES = ("native", "interpreter")
DEFAULT_ENGINE = "native"


class ConfigProto:
    """Session configuration. TF's fields are accepted and ignored (tfc chooses threads and
    placement itself). `tfc_engine` picks how runs execute: "native" (the default: the LLVM
    backend JIT-compiles each run's function once and caches the machine code; a function
    with an op it cannot compile runs on the interpreter) or "interpreter" (the reference
    interpreter, for debugging)."""

    def __init__(self, tfc_engine: str | None = None, **fields):
        engine = tfc_engine or DEFAULT_ENGINE
        if engine not in ENGINES:
            raise ValueError(f"tfc_engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.tfc_engine = engine
        for k, v in fields.items():
            setattr(self, k, v)


class RunOptions:
    FULL_TRACE, SOFTWARE_TRACE, HARDWARE_TRACE, NO_TRACE = 3, 1, 2, 0

    def __init__(self, **fields):
        for k, v in fields.items():
            setattr(self, k, v)


class RunMetadata:
    def __init__(self):
        self.step_stats = None


class _DefaultSessions(threading.local):
    def __init__(self):
        self.stack: list[BaseSession] = []


_default_sessions = _DefaultSessions()


def get_default_session():
    return _default_sessions.stack[-1] if _default_sessions.stack else None


def _session_for(session, graph: Graph, what: str):
    """The session that `Tensor.eval` / `Operation.run` (`what`) uses, with TF's errors."""
    kind, verb, call = ("tensor", "evaluate", "eval") if what == "Tensor.eval" else \
        ("operation", "execute", "run")
    which = "given"
    if session is None:
        session, which = get_default_session(), "default"
        if session is None:
            raise ValueError(f"Cannot {verb} {kind} using `{call}()`: No default session is "
                             f"registered. Use `with sess.as_default()` or pass an explicit session "
                             f"to `{call}(session=sess)`")
    if session.graph is not graph:
        hint = f" Pass an explicit session to `{call}(session=sess)`." if which == "default" else ""
        raise ValueError(f"Cannot use the {which} session to {verb} {kind}: the {kind}'s graph is "
                         f"different from the session's graph.{hint}")
    return session


# Fetch structures ----------------------------------------------------------------------------
def _flatten_fetches(fetches, graph: Graph, out: list):
    """Collect the leaves of `fetches` into `out`; return a function that rebuilds the same
    structure from their values."""
    if fetches is None:
        raise TypeError('Argument `fetch` = None has invalid type "NoneType". Cannot be None')
    if isinstance(fetches, (list, tuple)) and not hasattr(fetches, "_as_graph_element"):
        builders = [_flatten_fetches(f, graph, out) for f in fetches]
        if hasattr(fetches, "_fields"):   # namedtuple
            return lambda values: type(fetches)(*[b(values) for b in builders])
        kind = type(fetches)
        return lambda values: kind(b(values) for b in builders)
    if isinstance(fetches, Mapping):
        keys = list(fetches)
        builders = [_flatten_fetches(fetches[k], graph, out) for k in keys]
        kind = type(fetches)
        return lambda values: kind(zip(keys, [b(values) for b in builders]))
    element = _as_fetch_element(fetches, graph)
    index = len(out)
    out.append(element)
    return lambda values: values[index]


def _as_fetch_element(fetch, graph: Graph):
    try:
        return graph.as_graph_element(fetch)
    except TypeError as e:
        raise TypeError(f"Argument `fetch` = {fetch} has invalid type \"{type(fetch).__name__}\" "
                        f"must be a string or Tensor. ({e})") from None
    except (KeyError, ValueError) as e:
        raise FetchError(None, None, f"Argument `fetch` = {fetch} cannot be interpreted as a "
                                     f"Tensor. ({e})") from None


# Feeds -----------------------------------------------------------------------------------------
def _convert_feed(tensor: Tensor, value) -> np.ndarray:
    """`value` as an array of the fed tensor's dtype, with TF's checks and messages."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        raise FeedTypeError(None, tensor.op, "The value of a feed cannot be a tf.Tensor object. "
                            "Acceptable feed values include Python scalars, strings, lists, numpy "
                            f"ndarrays, or TensorHandles. For reference, the tensor object was {value} "
                            f"which was passed to the argument `feed_dict` with key {tensor}.")
    dtype = tensor.dtype
    if isinstance(value, int) and not isinstance(value, bool) and dtype.is_integer and \
            not dtype.min <= value <= dtype.max:
        raise FeedTypeError(None, tensor.op, f"Type of feed value {value} with type {type(value)} "
                            f"is not compatible with Tensor type {dtype.numpy.type}. Try explicitly "
                            "setting the type of the feed tensor to a larger type (e.g. int64).")
    try:
        if dtype == dt.string:
            array = np.asarray(value, dtype=object)
            array = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                                 otypes=[object])(array) if array.size else array
        else:
            array = np.asarray(value)
            array = array.astype(dtype.numpy, copy=False)
    except (ValueError, TypeError, OverflowError) as e:
        raise FeedError(None, tensor.op, str(e)) from None
    if not tensor.shape.is_compatible_with(array.shape):
        raise FeedError(None, tensor.op, f"Cannot feed value of shape {array.shape} for Tensor "
                        f"{tensor.name}, which has shape {tensor.shape}")
    if not tensor.graph.is_feedable(tensor):
        raise FeedError(None, tensor.op, f"Tensor {tensor} may not be fed.")
    return array


def _fetch_value(value: np.ndarray):
    """What TF returns for a fetched tensor: arrays, numpy scalars for 0-d tensors (bytes for
    strings)."""
    return value[()] if value.ndim == 0 else value


# The session -----------------------------------------------------------------------------------
class BaseSession:
    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None):
        if graph is not None and not isinstance(graph, Graph):
            raise TypeError(f'Argument `graph` must be a tf.Graph, but got "{type(graph).__name__}"')
        self._graph = graph if graph is not None else get_default_graph()
        self._target = target.encode() if isinstance(target, str) else target
        self._config = config or ConfigProto()
        self._closed = False
        self._variables: dict[Operation, np.ndarray] = {}
        self._counters: dict[Operation, int] = {}
        self._default_context = None

    graph = property(lambda self: self._graph)
    sess_str = property(lambda self: self._target)

    def close(self) -> None:
        self._closed = True

    def list_devices(self):
        return ["/job:localhost/replica:0/task:0/device:CPU:0",
                "/job:localhost/replica:0/task:0/device:MLU:0"]

    @contextlib.contextmanager
    def as_default(self):
        """Inside the block, `Tensor.eval()` and `Operation.run()` use this session."""
        _default_sessions.stack.append(self)
        try:
            yield self
        finally:
            _remove_last(_default_sessions.stack, self)

    def __enter__(self):
        self._default_context = self.as_default()
        self._default_context.__enter__()
        self._graph_context = self._graph.as_default()
        self._graph_context.__enter__()
        return self

    def __exit__(self, *exc):
        self._graph_context.__exit__(*exc)
        self._default_context.__exit__(*exc)
        self.close()
        return False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Compute `fetches` (a tensor, an op, a name, or a nested list/tuple/dict of them),
        feeding `feed_dict`. Returns values in the structure of `fetches` (None for ops)."""
        if self._closed:
            raise ClosedSessionError(None, None, "Attempted to use a closed Session.")
        leaves: list = []
        rebuild = _flatten_fetches(fetches, self._graph, leaves)
        feeds = self._feeds(feed_dict)
        results = self._run_leaves(leaves, feeds)
        return rebuild(results)

    def _feeds(self, feed_dict) -> dict[Tensor, np.ndarray]:
        """The fed tensors (any tensor of the graph; a variable feeds its every read) and arrays."""
        feeds: dict[Tensor, np.ndarray] = {}
        for key, value in (feed_dict or {}).items():
            try:
                tensor = self._graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
            except (KeyError, ValueError, TypeError) as e:
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {e.args[0]}") from None
            feeds[tensor] = _convert_feed(tensor, value)
        return feeds

    def _run_leaves(self, leaves: list, feeds: dict[Tensor, np.ndarray]) -> list:
        targets = list(dict.fromkeys(leaves))  # unique, in order
        lowered = self._compiled(targets, feeds)
        values = self._execute(lowered, feeds)
        by_fetch = dict(zip([id(t) for t in lowered.fetches], values))
        # As TF: a fetched tensor that is fed comes back as the fed array (0-d included).
        return [None if not isinstance(x, Tensor) else feeds[x] if x in feeds
                else _fetch_value(by_fetch[id(x)]) for x in leaves]

    def _compiled(self, targets, feeds) -> Lowered:
        """The compiled run, cached by fetches, feed signatures, graph version and the shapes
        of variables whose static shape is not fully known."""
        var_types = {v: TensorType(a.shape, v.outputs[0].dtype) for v, a in self._variables.items()
                     if not v.outputs[0].shape.is_fully_defined()}
        signature = tuple((id(t), a.shape, a.dtype.str) for t, a in feeds.items())
        var_signature = tuple((id(v), t.shape) for v, t in var_types.items())
        key = (tuple(id(t) for t in targets), signature, var_signature, self._graph.version)
        cache = self._graph.__dict__.setdefault("_tfc_compiled", {})
        if key not in cache:
            types = {t: TensorType(a.shape, t.dtype) for t, a in feeds.items()}
            cache[key] = lower(targets, types, var_types)
        return cache[key]

    def _execute(self, lowered: Lowered, feeds) -> list[np.ndarray]:
        args = [feeds[t] for t in lowered.feeds]
        for var, reader in lowered.variable_reads:
            if var not in self._variables:
                raise errors.run_error(errors.FailedPreconditionError, reader,
                                       f"Attempting to use uninitialized value {var.name}")
            args.append(self._variables[var])
        args += [np.int64(self._counters.get(op, 0)) for op, _ in lowered.random_ops]
        try:
            results = self._run_compiled(lowered, args)
        except InterpreterError as e:
            op = lowered.ir_to_graph.get(id(e.op))
            cause = e.__context__       # the op's own failure, without the IR op's location
            message = str(cause) if isinstance(cause, ComputeError) else str(e)
            raise errors.run_error(errors.InvalidArgumentError, op, message) from None
        fetched = results[:len(lowered.fetches)]
        for var, value in zip(lowered.variable_writes, results[len(lowered.fetches):]):
            self._variables[var] = value
        for op, blocks in lowered.random_ops:
            self._counters[op] = self._counters.get(op, 0) + blocks
        return fetched

    def _run_compiled(self, lowered: Lowered, args: list) -> list[np.ndarray]:
        if self._config.tfc_engine == "native":
            from .mlu import session_program   # ops under tf.device('/mlu:0'): BANG on the simulator

            mlu = session_program(lowered, args, self._config)
            if mlu is not None:
                return mlu(args)
            native = _native(lowered)
            if native is not None:
                try:
                    return native(*args)
                except NativeError:
                    pass    # rerun on the interpreter, which raises the op's exact error
        return run_function(lowered.function, args)

    def make_callable(self, fetches, feed_list=None):
        feed_list = list(feed_list or [])

        def call(*values):
            return self.run(fetches, dict(zip(feed_list, values)))

        return call


def optimize(module):
    """A copy of `module` through the CPU's default pass pipeline (fold, simplify, cse, dce,
    layout, fuse, plan-memory). The session keeps the unoptimized module for the interpreter,
    which maps a run-time error back to the graph node that raised it."""
    from tfc.passes import PassManager, default_pipeline

    module = module.clone()
    PassManager.parse(default_pipeline("cpu")).run(module)
    return module


def _native(lowered: Lowered):
    """The function compiled by the LLVM backend (once), or None where it cannot be."""
    if lowered.native is None and lowered.native_error is None:
        from tfc.codegen.llvm.emitter import CodegenError
        from tfc.codegen.llvm.native import NativeFunction
        from tfc.codegen.llvm.types import UnsupportedType

        try:
            lowered.native = NativeFunction.jit(optimize(lowered.module)["main"])
        except (CodegenError, UnsupportedType) as e:
            lowered.native_error = str(e)
    return lowered.native


class Session(BaseSession):
    """`tf.Session(target='', graph=None, config=None)`."""


class InteractiveSession(BaseSession):
    """A session that makes itself the default session until it is closed."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None):
        super().__init__(target, graph, config)
        _default_sessions.stack.append(self)

    def close(self) -> None:
        if not self._closed:
            _remove_last(_default_sessions.stack, self)
        super().close()


def _remove_last(stack: list, item) -> None:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is item:
            del stack[i]
            return
