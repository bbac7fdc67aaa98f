"""tfc.passes: transformations over the IR (they import tfc.ir only).

`PassManager.parse("fold,simplify,cse,dce").run(module)` runs a pipeline; `register_pass`
makes a user's pass usable by name; `default_pipeline("cpu")` is the target's default
pipeline. Each pass lives in its own file: fold.py, simplify.py, cse.py, dce.py, and the
optional fuse.py, layout.py and plan_memory.py, which are imported here when present.
"""

import importlib
import importlib.util

from .manager import (PASSES, Pass, PassManager, PassVerifyError, PipelineEntry, PipelineError,
                      count_ops, format_timing, get_pass, load_pass_file, register_pass,
                      run_pipeline)
from . import fold, simplify, cse, dce  # noqa: F401  (register the built-in passes)
from .pipelines import (PIPELINES, TARGET_PIPELINES, Step, default_pipeline, expand_pipeline,
                        register_pipeline)

# Passes that are written separately; a default pipeline includes them once they exist.
for _module in ("layout", "fuse", "plan_memory", "precision", "quant_fold"):
    if importlib.util.find_spec(f"{__name__}.{_module}") is not None:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "PASSES", "Pass", "PassManager", "PassVerifyError", "PipelineEntry", "PipelineError",
    "count_ops", "format_timing", "get_pass", "load_pass_file", "register_pass", "run_pipeline",
    "PIPELINES", "TARGET_PIPELINES", "Step", "default_pipeline", "expand_pipeline",
    "register_pipeline",
]
