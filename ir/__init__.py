"""tfc.ir: the typed SSA IR: dtypes, tensor types, the IR core, the op table, the text form
and the verifier. Imports nothing else of tfc."""

from . import dtypes
from .core import Block, BlockArgument, Function, Location, Module, Operation, OpResult, Use, Value
from .types import TensorType
from .opdef import OPS, OpDef, get_op
from . import ops as _ops  # noqa: F401  (registers every op)
from .builder import Builder, BuildError, FunctionBuilder
from .verifier import VerifyError, verify

__all__ = [
    "dtypes", "Block", "BlockArgument", "Function", "Location", "Module", "Operation", "OpResult",
    "Use", "Value", "TensorType", "OPS", "OpDef", "get_op", "Builder", "BuildError",
    "FunctionBuilder", "VerifyError", "verify",
]
from .printer import print_function, print_module
from .parser import ParseError, parse_file, parse_module

__all__ += ["print_function", "print_module", "ParseError", "parse_file", "parse_module"]
