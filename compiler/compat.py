"""`tf.compat.v1`: tfc's API already is TF1's, so `tf.compat.v1.X` is `tf.X`."""

import tfc as v1  # noqa: F401
