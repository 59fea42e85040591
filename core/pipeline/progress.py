"""Progress of a stage on the terminal: rows done, rows per second, ETA (one line on stderr).

Both engines call :meth:`StageProgress.update` with the index of each task as it ends (in
whatever order tasks end). The ETA weighs each task by its size (input bytes or rows), so a
stage of uneven shards does not promise too early.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import TextIO

_EVERY_S = 0.5


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
    ) -> None:
        self.stage, self.stream, self.rows_total, self.unit = stage, stream, rows_total, unit
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

    def update(self, task: int, rows: int) -> None:
        """Count the finished task number ``task`` (index into ``weights``) of ``rows`` rows."""
        self.done += 1
        self.rows += rows
        self.weight_done += self.weights[task]
        now = time.monotonic()
        last = self.done == self.tasks
        if self.stream is not None and (now - self._last >= _EVERY_S or last):
            self._last = now
            self.stream.write(self.line(now) + ("\n" if last else "\r"))
            self.stream.flush()

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
