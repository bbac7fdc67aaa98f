"""Every op of the op table has a BANG C kernel or a stated reason why not."""

from tfc.codegen.bang.elementwise import HANDLERS
from tfc.codegen.bang.emitter import ALIASES, OP_HANDLERS, UNSUPPORTED
from tfc.ir.opdef import OPS


def test_every_op_has_a_bang_kernel_or_a_reason():
    missing = [name for name in sorted(OPS)
               if name not in OP_HANDLERS and name not in HANDLERS and name not in ALIASES
               and name not in UNSUPPORTED]
    assert not missing, f"ops with neither a BANG kernel nor a reason in UNSUPPORTED: {missing}"


def test_reasons_are_only_for_ops_without_kernels():
    both = [n for n in UNSUPPORTED if n in OP_HANDLERS or n in HANDLERS]
    assert not both
