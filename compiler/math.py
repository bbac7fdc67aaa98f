"""`tf.math`: the math namespace (TF 2.21's `tf.compat.v1.math`), re-exporting the math family
(compiler/api/math_ops.py) under TF's names there."""

from .api.math_ops import (  # noqa: F401
    abs, acos, add, add_n, argmax, argmin, asin, atan, atan2, ceil, cos, cosh, count_nonzero,
    divide, equal, exp, expm1, floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf,
    is_nan, less, less_equal, log, log1p, logical_and, logical_not, logical_or, logical_xor,
    maximum, minimum, mod, multiply, negative, not_equal, pow, reciprocal, reduce_all, reduce_any,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, rint, round,
    rsqrt, scalar_mul, sigmoid, sign, sin, sinh, sqrt, square, squared_difference, subtract, tan,
    tanh, truediv)
from .api import math_ops as _math_ops

# Variables get the Python operators now that every family, tfc.api.variables included, has
# loaded (see math_ops.install_operators).
_math_ops.install_operators()

__all__ = [
    "abs", "acos", "add", "add_n", "argmax", "argmin", "asin", "atan", "atan2", "ceil", "cos",
    "cosh", "count_nonzero", "divide", "equal", "exp", "expm1", "floor", "floordiv", "floormod",
    "greater", "greater_equal", "is_finite", "is_inf", "is_nan", "less", "less_equal", "log",
    "log1p", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod",
    "multiply", "negative", "not_equal", "pow", "reciprocal", "reduce_all", "reduce_any",
    "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum",
    "rint", "round", "rsqrt", "scalar_mul", "sigmoid", "sign", "sin", "sinh", "sqrt", "square",
    "squared_difference", "subtract", "tan", "tanh", "truediv",
]
