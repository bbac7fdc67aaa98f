"""tfc: an ahead-of-time graph compiler for TensorFlow 1.x-style models.

`import tfc as tf` gives the TF1 programming model (`tf.compat.v1` names and semantics):
graphs, tensors, operations, sessions, variables, placeholders, `tf.nn`... Each API family
lives in `tfc/api/` and lists its public names in `__all__`.
"""

__version__ = "0.1.0"

from tfc.ir.dtypes import (DType, as_dtype, bfloat16, bool_ as bool, complex64, complex128,  # noqa: F401
                           float16, float32, float64, int8, int16, int32, int64, qint8, qint16,
                           qint32, quint8, quint16, string, uint8, uint16, uint32, uint64)

from . import errors  # noqa: F401
from .framework import (Dimension, Graph, GraphKeys, Operation, Tensor, TensorShape,  # noqa: F401
                        convert_to_tensor, get_default_graph, reset_default_graph)
from .session import (ConfigProto, InteractiveSession, RunMetadata, RunOptions, Session,  # noqa: F401
                      get_default_session)
from .api.array_ops import *  # noqa: F401,F403
from .api.math_ops import *  # noqa: F401,F403
from .api.random_ops import *  # noqa: F401,F403
from .api.variables import *  # noqa: F401,F403

half = float16
double = float64


def name_scope(name, default_name=None, values=None):
    """`tf.name_scope`: prefix the names of ops created inside with `name/`."""
    graph = get_default_graph()
    return graph.name_scope(name if name is not None else default_name)


def control_dependencies(control_inputs):
    """`tf.control_dependencies`: ops created inside run after `control_inputs`."""
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name):
    """`tf.device`: record `device_name` ('/cpu:0', '/mlu:0') on ops created inside."""
    return get_default_graph().device(device_name)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def disable_v2_behavior():
    """Accepted for compatibility: tfc always behaves as TF1."""


def disable_eager_execution():
    """Accepted for compatibility: tfc always builds graphs."""


def executing_eagerly():
    return False


from . import compat, initializers  # noqa: E402,F401
from . import losses, nn, random  # noqa: E402,F401
from . import linalg, math  # noqa: E402,F401


def load(folder):
    """The model `tfc compile` wrote into `folder`, as a callable: `model(x=array)` or
    `model(array, ...)` returns the list of outputs; inputs are checked before native code
    runs."""
    from tfc.runtime.cpu import load as load_cpu

    return load_cpu(folder)
