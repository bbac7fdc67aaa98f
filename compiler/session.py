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
from tfc.runtime.interpreter import InterpreterError, run_function

from . import errors
from .framework import Graph, Operation, Tensor, get_default_graph
from .lowering import Lowered, lower


class FeedError(errors.InvalidArgumentError, ValueError):
    """A feed of the wrong shape or an unconvertible value (TF raises ValueError here)."""


class FeedTypeError(errors.InvalidArgumentError, TypeError):
    """A Python int that does not fit the fed tensor's dtype, or a Tensor given as a feed."""


class FetchError(errors.InvalidArgumentError, ValueError):
    """A fetch that is not an element of the session's graph."""


class ClosedSessionError(errors.FailedPreconditionError, RuntimeError):
    """Using a session after close() (TF raises RuntimeError)."""


class ConfigProto:
    """Session configuration. TF's fields are accepted and ignored (tfc chooses threads and
    placement itself); `tfc_engine` picks how compiled runs execute: "interpreter" (the
    reference interpreter; the only engine until the native backend lands)."""

    def __init__(self, tfc_engine: str = "interpreter", **fields):
        self.tfc_engine = tfc_engine
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
    if session is None:
        session = get_default_session()
        if session is None:
            raise ValueError(f"Cannot evaluate tensor using `eval()`: No default session is "
                             "registered. Use `with sess.as_default()` or pass an explicit session "
                             f"to `eval(session=sess)`" if what == "Tensor.eval" else
                             "Cannot execute operation using `run()`: No default session is "
                             "registered. Use `with sess.as_default():` or pass an explicit "
                             "session to `run(session=sess)`")
    if session.graph is not graph:
        kind = "tensor" if what == "Tensor.eval" else "operation"
        raise ValueError(f"Cannot use the given session to {'evaluate' if kind == 'tensor' else 'execute'} "
                         f"{kind}: the {kind}'s graph is different from the session's graph.")
    return session


# Fetch structures ----------------------------------------------------------------------------
def _flatten_fetches(fetches, graph: Graph, out: list):
    """Collect the leaves of `fetches` into `out`; return a function that rebuilds the same
    structure from their values."""
    if fetches is None:
        raise TypeError(f"Fetch argument None has invalid type {type(None)}")
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
        if hasattr(fetch, "_as_graph_element"):
            fetch = fetch._as_graph_element()
        if isinstance(fetch, str):
            return graph.as_graph_element(fetch)
        if isinstance(fetch, (Tensor, Operation)):
            if fetch.graph is not graph:
                raise ValueError(f"{fetch!r} is not an element of this graph.")
            return fetch
    except (KeyError, ValueError) as e:
        raise FetchError(None, None, f"Fetch argument {fetch!r} cannot be interpreted as a "
                                     f"Tensor. ({e.args[0]})") from None
    raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}, must be a string "
                    "or Tensor. (Can not convert a {0} into a Tensor or Operation.)"
                    .format(type(fetch).__name__))


# Feeds -----------------------------------------------------------------------------------------
def _convert_feed(tensor: Tensor, value) -> np.ndarray:
    if isinstance(value, Tensor):
        raise FeedTypeError(None, tensor.op, "The value of a feed cannot be a tf.Tensor object. "
                            "Acceptable feed values include Python scalars, strings, lists, numpy "
                            "ndarrays, or TensorHandles.")
    dtype = tensor.dtype
    if isinstance(value, int) and not isinstance(value, bool) and dtype.is_integer and \
            not dtype.min <= value <= dtype.max:
        raise FeedTypeError(None, tensor.op, f"Type of feed value {value} with type {type(value)} "
                            f"is not compatible with Tensor type {dtype.name}. Try explicitly "
                            "setting the type of the feed tensor to a larger type (e.g. int64).")
    try:
        if dtype == dt.string:
            array = np.asarray(value, dtype=object)
            array = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                                 otypes=[object])(array) if array.size else array
        else:
            array = np.asarray(value, dtype=dtype.numpy)
    except (ValueError, TypeError, OverflowError) as e:
        raise FeedError(None, tensor.op, f"Cannot feed value {value!r} for Tensor '{tensor.name}' "
                        f"of dtype {dtype.name}: {e}") from None
    if not tensor.shape.is_compatible_with(array.shape):
        raise FeedError(None, tensor.op, f"Cannot feed value of shape {array.shape} for Tensor "
                        f"'{tensor.name}', which has shape '{tensor.shape}'")
    return array


def _fetch_value(value: np.ndarray):
    """What TF returns for a fetched tensor: arrays, and numpy scalars for 0-d tensors."""
    return value[()] if value.ndim == 0 else value


# The session -----------------------------------------------------------------------------------
class BaseSession:
    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None):
        if graph is not None and not isinstance(graph, Graph):
            raise TypeError(f"graph must be a tf.Graph, but got {type(graph)}")
        self._graph = graph if graph is not None else get_default_graph()
        self._target = target
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
        _default_sessions.stack.append(self)
        try:
            yield self
        finally:
            _default_sessions.stack.remove(self)

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
        feeds: dict[Tensor, np.ndarray] = {}
        for key, value in (feed_dict or {}).items():
            if hasattr(key, "_as_tensor") and not isinstance(key, Tensor):
                key = key._as_tensor()
            try:
                tensor = self._graph.as_graph_element(key) if isinstance(key, (str, Tensor)) else None
            except (KeyError, ValueError) as e:
                raise FeedError(None, None, f"Cannot interpret feed_dict key as Tensor: {e.args[0]}") from None
            if not isinstance(tensor, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: Can not convert a "
                                f"{type(key).__name__} into a Tensor.")
            feeds[tensor] = _convert_feed(tensor, value)
        return feeds

    def _run_leaves(self, leaves: list, feeds: dict[Tensor, np.ndarray]) -> list:
        targets = list(dict.fromkeys(leaves))  # unique, in order
        lowered = self._compiled(targets, feeds)
        values = self._execute(lowered, feeds)
        by_fetch = dict(zip([id(t) for t in lowered.fetches], values))
        return [_fetch_value(by_fetch[id(x)]) if isinstance(x, Tensor) else None for x in leaves]

    def _compiled(self, targets, feeds) -> Lowered:
        signature = tuple((id(t), a.shape, a.dtype.str) for t, a in feeds.items())
        key = (tuple(id(t) for t in targets), signature, self._graph.version)
        cache = self._graph.__dict__.setdefault("_tfc_compiled", {})
        if key not in cache:
            types = {t: TensorType(a.shape, t.dtype) for t, a in feeds.items()}
            cache[key] = lower(targets, types)
        return cache[key]

    def _execute(self, lowered: Lowered, feeds) -> list[np.ndarray]:
        args = [feeds[t] for t in lowered.feeds]
        for var, reader in lowered.variable_reads:
            if var not in self._variables:
                raise errors.FailedPreconditionError(
                    None, reader, f"Attempting to use uninitialized value {var.name}\n\t "
                                  f"[[{reader.describe()}]]")
            args.append(self._variables[var])
        args += [np.int64(self._counters.get(op, 0)) for op, _ in lowered.random_ops]
        try:
            results = run_function(lowered.function, args)
        except InterpreterError as e:
            op = lowered.ir_to_graph.get(id(e.op))
            where = f"\n\t [[{op.describe()}]]" if op is not None else ""
            raise errors.InvalidArgumentError(None, op, f"{e}{where}") from None
        fetched = results[:len(lowered.fetches)]
        for var, value in zip(lowered.variable_writes, results[len(lowered.fetches):]):
            self._variables[var] = value
        for op, blocks in lowered.random_ops:
            self._counters[op] = self._counters.get(op, 0) + blocks
        return fetched

    def make_callable(self, fetches, feed_list=None):
        feed_list = list(feed_list or [])

        def call(*values):
            return self.run(fetches, dict(zip(feed_list, values)))

        return call


class Session(BaseSession):
    """`tf.Session(target='', graph=None, config=None)`."""


class InteractiveSession(BaseSession):
    """A session that installs itself as the default session when created."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None):
        super().__init__(target, graph, config)
        self._context = self.as_default()
        self._context.__enter__()

    def close(self) -> None:
        if not self._closed and self in _default_sessions.stack:
            _default_sessions.stack.remove(self)
        super().close()
