"""The named default pipelines, one per target.

    cpu-default  fold, simplify, cse, dce, then layout{target=cpu}, fuse{target=cpu}, plan-memory
    mlu-default  fold, simplify, cse, dce, then layout{target=mlu}, fuse{target=mlu}, plan-memory
    none         no passes

A step marked optional is part of the pipeline only if a pass of that name is registered when
the pipeline is expanded (so the pipelines work before and after those passes exist), and
an option is passed only if the pass has a field of that name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .manager import PASSES, PipelineError


@dataclass(frozen=True)
class Step:
    name: str
    options: tuple[tuple[str, str], ...] = ()
    optional: bool = False


def _steps(target: str) -> tuple[Step, ...]:
    return (
        Step("fold"),
        Step("simplify"),
        Step("cse"),
        Step("dce"),
        # Layout before fusion: fusion then sees the transposes the layout pass inserts.
        Step("layout", (("target", target),), optional=True),
        Step("fuse", (("target", target),), optional=True),
        Step("plan-memory", (("target", target),), optional=True),
    )


PIPELINES: dict[str, tuple[Step, ...]] = {
    "cpu-default": _steps("cpu"),
    "mlu-default": _steps("mlu"),
    "none": (),
}

TARGET_PIPELINES = {"cpu": "cpu-default", "mlu": "mlu-default"}


def register_pipeline(name: str, steps: list[Step | str]) -> None:
    """Name a pipeline (steps are Step objects or pass names)."""
    PIPELINES[name] = tuple(s if isinstance(s, Step) else Step(s) for s in steps)


def expand_pipeline(name: str) -> list[str]:
    """The pipeline items of the named pipeline `name`, as of now (see the module docstring)."""
    try:
        steps = PIPELINES[name]
    except KeyError:
        raise PipelineError(f"unknown pipeline '{name}' (known: {', '.join(sorted(PIPELINES))})") from None
    items = []
    for step in steps:
        cls = PASSES.get(step.name)
        if cls is None:
            if step.optional:
                continue
            raise PipelineError(f"pipeline '{name}' needs pass '{step.name}', which is not registered")
        fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
        options = [(k, v) for k, v in step.options if k in fields]
        items.append(step.name + ("{" + ",".join(f"{k}={v}" for k, v in options) + "}" if options else ""))
    return items


def default_pipeline(target: str = "cpu") -> str:
    """The default pipeline of `target` as a pipeline string, with the passes registered now."""
    try:
        name = TARGET_PIPELINES[target]
    except KeyError:
        raise PipelineError(f"no default pipeline for target '{target}' "
                            f"(targets: {', '.join(sorted(TARGET_PIPELINES))})") from None
    return ",".join(expand_pipeline(name))
