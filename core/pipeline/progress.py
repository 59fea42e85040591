"""Progress of a stage on the terminal: rows done, rows per second, ETA (one line on stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_EVERY_S = 0.5


class StageProgress:
    """Prints ``[stage] rows, rows/s, tasks done/total, ETA`` to ``stream`` at most twice a second.

    Args:
        stage: The stage's name.
        tasks: Tasks to run in this stage (the ETA is by finished tasks).
        stream: Where to print (stderr by default); ``None`` prints nothing.
    """

    def __init__(self, stage: str, tasks: int, stream: TextIO | None = sys.stderr) -> None:
        self.stage, self.tasks, self.stream = stage, tasks, stream
        self.done = 0
        self.rows = 0
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, rows: int) -> None:
        """Count one finished task of ``rows`` rows."""
        self.done += 1
        self.rows += rows
        now = time.monotonic()
        if self.stream is not None and (now - self._last >= _EVERY_S or self.done == self.tasks):
            self._last = now
            self.stream.write(self.line(now) + ("\n" if self.done == self.tasks else "\r"))
            self.stream.flush()

    def line(self, now: float) -> str:
        """The progress line at time ``now`` (monotonic seconds)."""
        elapsed = max(now - self.start, 1e-9)
        rate = self.rows / elapsed
        left = (self.tasks - self.done) * elapsed / self.done if self.done else float("nan")
        return (
            f"[{self.stage}] {self.rows:,} rows, {rate:,.0f} rows/s, "
            f"{self.done}/{self.tasks} tasks, ETA {left:.0f}s   "
        )
