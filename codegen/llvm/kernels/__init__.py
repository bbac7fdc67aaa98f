"""Kernel families; importing this package registers them in `emitter.KERNELS`."""

from ..elementwise import SCALAR, emit_elementwise
from ..emitter import KERNELS

for _name in SCALAR:
    KERNELS.setdefault(_name, emit_elementwise)

from . import linalg  # noqa: E402,F401  (math.matmul, linalg.*)
from . import nn  # noqa: E402,F401  (nn.*, and random.* from ..philox)
from . import array  # noqa: E402,F401  (array.*: copies, pads, gathers, creation)
from . import reduce  # noqa: E402,F401  (math.reduce_*, argmax/argmin)
from . import fusion  # noqa: E402,F401  (core.fusion: fused groups from the fuse pass)
from . import quant  # noqa: E402,F401  (quant.matmul, quant.conv2d; quantize & co. are elementwise)
