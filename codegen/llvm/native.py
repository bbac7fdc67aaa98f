"""Calling compiled functions from Python: a callable that checks every input's dtype and
shape before native code sees it, allocates the results and the scratch arena, and turns a
non-zero status into an error naming the failing op. Used for JIT-compiled functions
(`NativeFunction.jit`) and for AOT folders (`tfc.runtime.cpu.load`)."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from tfc.ir.core import Function, Operation

from .emitter import ALIGN, compile_function
from .library import use_process_library
from .target import JitModule

ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_void_p)


class NativeError(RuntimeError):
    """An op failed inside native code; `op_index` is its position in the function."""

    def __init__(self, message: str, op_index: int):
        super().__init__(message)
        self.op_index = op_index


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


def aligned_empty(nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + nbytes]


def aligned_copy(array: np.ndarray) -> np.ndarray:
    out = aligned_empty(array.nbytes)
    out[:] = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    return out


def describe_op(op: Operation) -> str:
    return f"{op.location}: {op.name}" if op.location else op.name


class NativeCallable:
    """A native entry point with its argument/result specs, scratch size and weights. Call it
    with arrays (positionally, by name, or as one dict); returns the list of results."""

    def __init__(self, entry, inputs: list[TensorSpec], outputs: list[TensorSpec], temp_bytes: int,
                 weights: np.ndarray, ops: list[str], keepalive=None):
        self._entry = entry
        self.inputs = inputs
        self.outputs = outputs
        self.temp_bytes = temp_bytes
        self._weights = aligned_copy(weights) if weights.ctypes.data % ALIGN else weights
        self._ops = ops
        self._keepalive = keepalive
        self._arenas = threading.local()   # one scratch arena per calling thread, reused

    def _temp(self) -> np.ndarray:
        arena = getattr(self._arenas, "temp", None)
        if arena is None:
            arena = self._arenas.temp = aligned_empty(max(self.temp_bytes, 1))
        return arena

    def check_inputs(self, inputs) -> list[np.ndarray]:
        """Inputs as contiguous arrays of exactly the expected dtypes and shapes, or ValueError;
        native code never sees anything else."""
        names = [s.name for s in self.inputs]
        if isinstance(inputs, Mapping):
            missing = [n for n in names if n not in inputs]
            extra = [n for n in inputs if n not in names]
            if missing or extra:
                raise ValueError(f"expected inputs {names}; missing {missing}, unexpected {extra}")
            inputs = [inputs[n] for n in names]
        if len(inputs) != len(self.inputs):
            raise ValueError(f"expected {len(self.inputs)} inputs ({', '.join(names)}), got {len(inputs)}")
        arrays = []
        for spec, value in zip(self.inputs, inputs):
            array = np.asarray(value)
            if array.dtype != spec.dtype:
                raise ValueError(f"input '{spec.name}' has dtype {array.dtype}, expected {spec.dtype}")
            if array.shape != spec.shape:
                raise ValueError(f"input '{spec.name}' has shape {list(array.shape)}, "
                                 f"expected {list(spec.shape)}")
            arrays.append(np.ascontiguousarray(array))
        return arrays

    def __call__(self, *args, **kwargs) -> list[np.ndarray]:
        if kwargs:
            inputs = kwargs
        elif len(args) == 1 and isinstance(args[0], Mapping):
            inputs = args[0]
        else:
            inputs = args
        arrays = self.check_inputs(inputs)
        results = [aligned_empty(int(np.prod(s.shape, dtype=np.int64)) * s.dtype.itemsize)
                   .view(s.dtype).reshape(s.shape) for s in self.outputs]
        temp = self._temp()
        arg_ptrs = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        res_ptrs = (ctypes.c_void_p * max(len(results), 1))(*[r.ctypes.data for r in results])
        status = self._entry(ctypes.addressof(arg_ptrs), ctypes.addressof(res_ptrs),
                             temp.ctypes.data, self._weights.ctypes.data)
        if status:
            raise NativeError(f"{self._ops[status - 1]} failed at run time", status - 1)
        return results


class NativeFunction(NativeCallable):
    """An IR function compiled in this process."""

    @classmethod
    def jit(cls, function: Function, name: str = "tfc_main") -> "NativeFunction":
        module, plan = compile_function(function, name)
        use_process_library(module)
        jit = JitModule(module)
        inputs = [TensorSpec(a.name_hint or f"arg{i}", a.type.shape, a.type.dtype.numpy)
                  for i, a in enumerate(function.args)]
        # The returned values' types: passes may have made them more precise than the declared
        # result types (a folded `where` has a known row count).
        returned = [v.type for v in function.body.terminator.operands]
        outputs = [TensorSpec(f"out{i}", t.shape, t.dtype.numpy) for i, t in enumerate(returned)]
        self = cls(ENTRY_TYPE(jit.address(name)), inputs, outputs, plan.temp_bytes, plan.weights_blob(),
                   [describe_op(op) for op in function.body.ops], keepalive=jit)
        self.function = function
        self.plan = plan
        self.llvm_module = module
        return self
