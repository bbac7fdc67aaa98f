"""`tf.initializers`: the initializer classes under their TF1 names."""

from .api.variables import (Constant as constant, GlorotNormal as glorot_normal,  # noqa: F401
                            GlorotUniform as glorot_uniform, Ones as ones, Orthogonal as orthogonal,
                            RandomNormal as random_normal, RandomUniform as random_uniform,
                            TruncatedNormal as truncated_normal, VarianceScaling as variance_scaling,
                            Zeros as zeros, global_variables_initializer as global_variables,
                            variables_initializer as variables)
