"""The op table's declarations, one module per family. Importing this package registers
every op in `tfc.ir.opdef.OPS`."""

from . import core, math, nn, array, random, quant  # noqa: F401
