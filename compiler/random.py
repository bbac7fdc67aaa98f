"""`tf.random`: TF 2.21's `tf.compat.v1.random` namespace (seeded like TF, same numbers)."""

from .api.random_ops import get_seed, set_random_seed  # noqa: F401
from .api.random_ops import categorical, multinomial  # noqa: F401
from .api.random_ops import random_gamma as gamma  # noqa: F401
from .api.random_ops import random_normal as normal  # noqa: F401
from .api.random_ops import random_shuffle as shuffle  # noqa: F401
from .api.random_ops import random_uniform as uniform  # noqa: F401
from .api.random_ops import truncated_normal  # noqa: F401

__all__ = ["categorical", "gamma", "get_seed", "multinomial", "normal", "set_random_seed", "shuffle",
           "truncated_normal", "uniform"]
