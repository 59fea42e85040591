"""Progress of a stage: rows done, rows per second, ETA (one line on stderr, and the run's record).

The record, ``DIR/progress.json`` (:class:`ProgressRecord`), holds the same figures per stage for
whoever watches the run from elsewhere (the app runs a pipeline in a subprocess and reads it).
Both engines call :meth:`StageProgress.update` with the index of each task as it ends (in
whatever order tasks end). The ETA weighs each task by its size (input bytes or rows), so a
stage of uneven shards does not promise too early.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

_EVERY_S = 0.5
RECORD_FILE = "progress.json"


class ProgressRecord:
    """The progress of every stage of one run, kept in ``DIR/progress.json`` (rewritten atomically).

    Stages appear in the order they start: ``{"stages": {label: figures}, "updated": unix time}``,
    the figures as :meth:`StageProgress.figures`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stages: dict[str, dict[str, Any]] = {}

    def put(self, stage: str, figures: dict[str, Any]) -> None:
        """Store a stage's latest figures and rewrite the file."""
        self.stages[stage] = figures
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps({"stages": self.stages, "updated": time.time()}))
        tmp.replace(self.path)


def read_record(folder: Path) -> dict[str, dict[str, Any]]:
    """The stages of a run's progress record (empty before its first stage starts)."""
    try:
        return dict(json.loads((Path(folder) / RECORD_FILE).read_text())["stages"])
    except (OSError, ValueError, KeyError):
        return {}


class StageProgress:
    """Prints ``[stage] rows done(/total), rows/s, tasks done/total, ETA`` at most twice a second.

    Args:
        stage: The stage's name.
        weights: One size per task to run (rows, bytes; any unit): the ETA is by the share of
            the total weight finished, the elapsed time scaled to what is left.
        stream: Where to print (stderr by default); ``None`` prints nothing.
        rows_total: Rows the stage will process, when known before it starts (shown as ``done/total``).
        skipped: Tasks already done in an earlier run (shown once; they count no rows here).
        unit: What the stage counts: ``rows``, or ``keys`` (the shuffle), ``pairs`` (verification).
        record: The run's progress record, updated as often as the line.
    """

    def __init__(
        self,
        stage: str,
        weights: Sequence[float],
        stream: TextIO | None = sys.stderr,
        *,
        rows_total: int | None = None,
        skipped: int = 0,
        unit: str = "rows",
        record: ProgressRecord | None = None,
    ) -> None:
        self.stage, self.stream, self.rows_total, self.unit = stage, stream, rows_total, unit
        self.record = record
        self.weights = [max(float(w), 1.0) for w in weights]
        self.tasks, self.skipped = len(self.weights), skipped
        self.done = 0
        self.rows = 0
        self.weight_done = 0.0
        self.start = time.monotonic()
        self._last = 0.0
        if stream is not None and self.tasks == 0:
            earlier = f": {skipped} task(s) finished in an earlier run" if skipped else " (no tasks)"
            stream.write(f"[{stage}] nothing to do{earlier}\n")
            stream.flush()
        if record is not None:
            record.put(stage, self.figures(self.start))

    def update(self, task: int, rows: int) -> None:
        """Count the finished task number ``task`` (index into ``weights``) of ``rows`` rows."""
        self.done += 1
        self.rows += rows
        self.weight_done += self.weights[task]
        now = time.monotonic()
        last = self.done == self.tasks
        if now - self._last >= _EVERY_S or last:
            self._last = now
            if self.stream is not None:
                self.stream.write(self.line(now) + ("\n" if last else "\r"))
                self.stream.flush()
            if self.record is not None:
                self.record.put(self.stage, self.figures(now))

    def figures(self, now: float) -> dict[str, Any]:
        """The stage's figures at ``now``: rows, rows_total, rows_per_s, eta_s (None: unknown), tasks."""
        elapsed = max(now - self.start, 1e-9)
        eta = self.eta(now) if self.tasks else 0.0
        return {
            "rows": self.rows,
            "rows_total": self.rows_total,
            "unit": self.unit,
            "rows_per_s": round(self.rows / elapsed, 1),
            "eta_s": None if math.isnan(eta) else round(eta, 1),
            "tasks_done": self.done,
            "tasks": self.tasks,
            "skipped": self.skipped,
            "elapsed_s": round(elapsed, 2),
            "finished": self.done == self.tasks,
        }

    def eta(self, now: float) -> float:
        """Seconds left by the finished share of the weight (NaN before the first task ends)."""
        if self.weight_done <= 0:
            return math.nan
        left = sum(self.weights) - self.weight_done
        return max(left, 0.0) * (now - self.start) / self.weight_done

    def line(self, now: float) -> str:
        """The progress line at time ``now`` (monotonic seconds)."""
        elapsed = max(now - self.start, 1e-9)
        rows = f"{self.rows:,}" + (f"/{self.rows_total:,}" if self.rows_total is not None else "")
        eta = self.eta(now)
        when = "ETA ?" if math.isnan(eta) else f"ETA {eta:.0f}s"
        skipped = f" ({self.skipped} skipped)" if self.skipped else ""
        return (
            f"[{self.stage}] {rows} {self.unit}, {self.rows / elapsed:,.0f} {self.unit}/s, "
            f"{self.done}/{self.tasks} tasks{skipped}, {elapsed:.1f}s, {when}   "
        )
