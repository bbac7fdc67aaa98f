"""Calling compiled functions from Python: a callable that checks every input's dtype and
shape before native code sees it, allocates the results and the scratch arena, and turns a
non-zero status into an error naming the failing op."""

from __future__ import annotations

import ctypes
from typing import Mapping, Sequence

import numpy as np

from tfc.ir.core import Function
from tfc.ir.opdef import get_op

from .emitter import ALIGN, Plan, compile_function
from .target import JitModule

_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class NativeError(RuntimeError):
    """An op failed inside native code. `op` is the IR op."""

    def __init__(self, message: str, op=None):
        super().__init__(message)
        self.op = op


def aligned_empty(nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + nbytes]


class NativeFunction:
    """A compiled IR function. Call it with arrays (positionally or by argument name)."""

    def __init__(self, function: Function, entry, plan: Plan, keepalive=None):
        self.function = function
        self.plan = plan
        self._entry = entry
        self._keepalive = keepalive
        self._weights = plan.weights_blob()
        self._arg_types = function.arg_types
        self._arg_names = [a.name_hint or f"arg{i}" for i, a in enumerate(function.args)]
        self._ops = list(function.body.ops)

    @classmethod
    def jit(cls, function: Function, name: str = "tfc_main") -> "NativeFunction":
        module, plan = compile_function(function, name)
        jit = JitModule(module)
        return cls(function, _ENTRY(jit.address(name)), plan, keepalive=jit)

    def check_inputs(self, inputs) -> list[np.ndarray]:
        """Inputs as contiguous arrays of the exact dtypes and shapes, or ValueError."""
        if isinstance(inputs, Mapping):
            missing = [n for n in self._arg_names if n not in inputs]
            extra = [n for n in inputs if n not in self._arg_names]
            if missing or extra:
                raise ValueError(f"expected inputs {self._arg_names}; missing {missing}, unexpected {extra}")
            inputs = [inputs[n] for n in self._arg_names]
        if len(inputs) != len(self._arg_types):
            raise ValueError(f"expected {len(self._arg_types)} inputs, got {len(inputs)}")
        arrays = []
        for name, value, type in zip(self._arg_names, inputs, self._arg_types):
            array = np.asarray(value)
            if array.dtype != type.dtype.numpy:
                raise ValueError(f"input '{name}' has dtype {array.dtype}, expected {type.dtype.name}")
            if array.shape != type.shape:
                raise ValueError(f"input '{name}' has shape {list(array.shape)}, expected {list(type.shape)}")
            arrays.append(np.ascontiguousarray(array))
        return arrays

    def __call__(self, *args, **kwargs) -> list[np.ndarray]:
        inputs = kwargs if kwargs else (args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args)
        arrays = self.check_inputs(inputs)
        results = [np.empty(t.shape, t.dtype.numpy) for t in self.function.result_types]
        temp = aligned_empty(max(self.plan.temp_bytes, 1))
        arg_ptrs = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        res_ptrs = (ctypes.c_void_p * max(len(results), 1))(*[r.ctypes.data for r in results])
        status = self._entry(ctypes.addressof(arg_ptrs), ctypes.addressof(res_ptrs),
                             temp.ctypes.data, self._weights.ctypes.data)
        if status:
            op = self._ops[status - 1]
            where = f"{op.location}: " if op.location else ""
            message = get_op(op.name).doc.split(".")[0]
            raise NativeError(f"{where}{op.name} failed at run time ({message})", op)
        return results
