"""A builder that folds as it builds: an op whose operands are all constants (or that only
reads a static shape) becomes a constant at once. The front end relies on it to turn shape
arithmetic such as `tf.reshape(x, [tf.shape(x)[0], -1])` into static attributes."""

from __future__ import annotations

import numpy as np

from tfc.ir.builder import Builder
from tfc.ir.core import Value
from tfc.ir.opdef import RANDOM, get_op
from tfc.runtime.interpreter import InterpreterError, run_op

FOLD_LIMIT = 1 << 16          # largest result (elements) folded while building
INPUT_LIMIT = 1 << 20         # largest total input (elements) folded while building


class FoldingBuilder(Builder):
    def static(self, value: Value) -> np.ndarray | None:
        """The constant behind `value`, or None if it is computed at run time."""
        owner = getattr(value, "op", None)
        if owner is not None and owner.name == "core.constant" and "dtype" not in owner.attributes:
            return owner.attributes["value"]
        return None

    def constant_of(self, array, dtype=None) -> Value:
        array = np.asarray(array)
        if dtype is not None and dtype.numpy is not None and array.dtype != dtype.numpy:
            array = array.astype(dtype.numpy)
        return self.create("core.constant", [], {"value": array}).result

    def op(self, name: str, *operands: Value, **attributes):
        op = self.create(name, list(operands), attributes)
        values = self._fold(op)
        if values is not None:
            results = [self.constant_of(v) for v in values]
            for old, new in zip(op.results, results):
                old.replace_all_uses_with(new)
            op.erase()
        else:
            results = op.results
        return results[0] if len(results) == 1 else tuple(results)

    def _fold(self, op):
        opdef = get_op(op.name)
        if not opdef.is_pure or opdef.has(RANDOM) or op.regions or opdef.compute is None:
            return None
        if any(not r.type.is_static or r.type.num_elements > FOLD_LIMIT for r in op.results):
            return None
        if op.name == "array.shape":
            return [np.array(op.operands[0].type.shape, op.results[0].type.dtype.numpy)] \
                if op.operands[0].type.is_static else None
        values = [self.static(v) for v in op.operands]
        if any(v is None for v in values) or sum(v.size for v in values) > INPUT_LIMIT:
            return None
        try:
            return run_op(op, values)
        except InterpreterError:
            return None          # the error belongs to run time, where the op will raise it
