"""The engine protocol, the input shards, and how one stage runs on an engine.

A stage's tasks each name their output directory and marker; :meth:`PipelineRun.stage` skips the tasks whose
marker says done (same fingerprint), runs the rest on the engine with a progress bar, and keeps the
stage's timing (wall, CPU in every process, tasks run and skipped) for the run's summary.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from core.pipeline import store
from core.pipeline.plan import (
    PipelineConfig,
)
from core.pipeline.progress import ProgressRecord, StageProgress

_INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")


class Engine(Protocol):
    """Runs a stage function over tasks (see :mod:`core.pipeline.local`, :mod:`core.pipeline.ray_engine`)."""

    name: str
    workers: int

    def map(
        self,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        tasks: list[dict[str, Any]],
        on_result: Callable[[int, dict[str, Any]], None],
    ) -> list[dict[str, Any]]:
        """Run ``fn`` over ``tasks``; results in task order; ``on_result(k, result)`` as task ``k`` ends."""
        ...


def expand_inputs(inputs: tuple[str, ...]) -> list[str]:
    """Return the input shards: files, the data files of directories, glob matches (sorted, distinct).

    Raises:
        ValueError: If an input matches nothing.
    """
    found: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            matches = [str(p) for p in sorted(Path(item).rglob("*")) if p.is_file() and _is_data(p.name)]
        elif os.path.exists(item):
            matches = [item]
        else:
            matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            raise ValueError(f"input {item!r} matches no file")
        found.extend(os.path.abspath(m) for m in matches)
    return sorted(dict.fromkeys(found))


def _is_data(name: str) -> bool:
    return name.lower().removesuffix(".gz").endswith(_INPUT_SUFFIXES)


@dataclass
class PipelineRun:
    """State of one run: where things are and what each stage reported."""

    config: PipelineConfig
    engine: Engine
    stream: TextIO | None
    out: Path
    code: str
    stats: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    record: ProgressRecord | None = None

    def stage(
        self,
        name: str,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        tasks: list[dict[str, Any]],
        unit: str = "rows",
        label: str | None = None,
    ) -> None:
        """Run the unfinished ``tasks`` of a stage (each names its marker by ``out`` and ``name``).

        A stage of several steps (the rounds of components) calls this once per step with a
        ``label`` for its progress line; the figures of its steps add up under ``name``.
        """
        start = time.monotonic()
        todo = [t for t in tasks if not store.is_done(Path(t["out"]), t["name"], t["fp"])]
        weights = [_task_weight(t) for t in todo]
        known = all(any(k in t for k in ("g", "weight", "splits")) for t in todo)
        bar = StageProgress(
            label or name,
            weights,
            self.stream,
            rows_total=int(sum(weights)) if known else None,
            skipped=len(tasks) - len(todo),
            unit=unit,
            record=self.record,
        )
        driver_cpu = time.process_time()
        results = self.engine.map(
            _Timed(fn), todo, lambda k, result: bar.update(k, int(result.get("rows", 0)))
        )
        driver_cpu = time.process_time() - driver_cpu  # includes the tasks run in this process
        elsewhere = sum(r["cpu_seconds"] for r in results if r["pid"] != os.getpid())
        rows = sum(int(store.read_marker(Path(t["out"]), t["name"]).get("rows", 0)) for t in tasks)
        step = {
            "seconds": round(time.monotonic() - start, 3),
            "rows": rows,
            "cpu_seconds": round(driver_cpu + elsewhere, 3),
            "tasks_run": len(todo),
            "tasks_skipped": len(tasks) - len(todo),
        }
        before = self.stats.get(name) if label else None
        if before is not None:  # a later step: its time and tasks add up; rows stay the stage's first
            step = {k: before["rows"] if k == "rows" else round(before[k] + v, 3) for k, v in step.items()}
        self.stats[name] = step

    def dir(self, stage: str) -> Path:
        """The output directory of ``stage``."""
        return self.out / stage


@dataclass(frozen=True)
class _Timed:
    """A stage function that also returns the CPU seconds its task took and the process it ran in."""

    fn: Callable[[dict[str, Any]], dict[str, Any]]

    def __call__(self, task: dict[str, Any]) -> dict[str, Any]:
        start = time.process_time()
        result = self.fn(task)
        return {**result, "cpu_seconds": time.process_time() - start, "pid": os.getpid()}


def _task_weight(task: dict[str, Any]) -> float:
    """A task's size for the ETA: its rows when the driver knows them, else its input bytes."""
    if "g" in task:
        return float(len(task["g"]))
    if "weight" in task:
        return float(task["weight"])
    if "splits" in task:
        return float(sum(len(labels) for labels in task["splits"].values()))
    if "path" in task:
        return float(os.path.getsize(task["path"]))
    return 1.0
