"""`tf.nn`: the neural-network namespace (TF 2.21's `tf.compat.v1.nn`)."""

from .api.nn_ops import *  # noqa: F401,F403
from .api.nn_ops import __all__  # noqa: F401
