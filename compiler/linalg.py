"""`tf.linalg`: the linear-algebra namespace (TF 2.21's `tf.compat.v1.linalg`), re-exporting
from the math family (compiler/api/math_ops.py) under TF's names there."""

from .api.math_ops import (global_norm, matmul, matrix_determinant, matrix_inverse,  # noqa: F401
                           matrix_transpose, norm, qr, tensordot, trace)

from .api.array_ops import (diag as tensor_diag, diag_part as tensor_diag_part, eye,  # noqa: F401,E402
                            matrix_band_part as band_part, matrix_diag as diag,
                            matrix_diag_part as diag_part, matrix_set_diag as set_diag)

det = matrix_determinant
inv = matrix_inverse
transpose = matrix_transpose

__all__ = ["band_part", "det", "diag", "diag_part", "eye", "global_norm", "inv", "matmul",
           "matrix_transpose", "norm", "qr", "set_diag", "tensor_diag", "tensor_diag_part", "tensordot",
           "trace", "transpose"]
