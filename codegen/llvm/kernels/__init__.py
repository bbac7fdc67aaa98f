"""Kernel families; importing this package registers them in `emitter.KERNELS`."""

from ..elementwise import SCALAR, emit_elementwise
from ..emitter import KERNELS

for _name in SCALAR:
    KERNELS.setdefault(_name, emit_elementwise)
