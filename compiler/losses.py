"""`tf.losses`: TF 2.21's `tf.compat.v1.losses` namespace."""

from .api.losses import *  # noqa: F401,F403
from .api.losses import __all__  # noqa: F401
