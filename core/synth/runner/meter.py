"""The live meter of a run, read from the workspace, and who runs it (here or in another process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from core import lease as leases
from core.synth import store
from core.workspace import Workspace

_ACTIVE: dict[tuple[str, str], tuple[threading.Thread, threading.Event]] = {}


def is_active(ws: Workspace, run_id: str) -> bool:
    """Whether ``run_id`` is executing in a thread of this process."""
    entry = _ACTIVE.get((str(ws.root), run_id))
    return entry is not None and entry[0].is_alive()


def holder(ws: Workspace, run_id: str) -> leases.LeaseInfo | None:
    """The live runner of ``run_id`` (in any process), or ``None``."""
    info = leases.current(ws, store.lease_name(run_id))
    return info if info is not None and info.alive() else None


@dataclass(frozen=True)
class Progress:
    """The live meter of one run, read from the workspace."""

    run_id: str
    status: str
    stopped_by: str | None
    alive: bool
    holder: str | None  # who runs it now, for a person (any process), or None
    reason: str | None  # why it ended as it did
    requested: int
    n_requests: int
    requests_done: int
    requests_failed: int
    requests_pending: int
    calls: int
    generated: int
    valid: int
    invalid: int
    spent_usd: float
    at_risk_usd: float
    in_flight_usd: float  # the part of at_risk_usd held by attempts sent and not answered yet
    budget_usd: float
    requests_retried: int
    tokens_in: int
    tokens_out: int
    cached_tokens: int
    elapsed_s: float

    @property
    def usd_per_valid(self) -> float | None:
        """Dollars per example that passed the validators."""
        return self.spent_usd / self.valid if self.valid else None

    @property
    def projected_usd(self) -> float:
        """Spent so far scaled to every planned request (capped at the budget)."""
        answered = self.requests_done + self.requests_failed
        if not answered:
            return 0.0
        return min(self.budget_usd, self.spent_usd * self.n_requests / answered)

    @property
    def rate_per_s(self) -> float:
        """Examples generated per second of run time."""
        return self.generated / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def budget_fraction(self) -> float:
        """(Spent + at risk) / budget in [0, 1]: what the budget has left to give."""
        used = self.spent_usd + self.at_risk_usd
        return min(1.0, used / self.budget_usd) if self.budget_usd > 0 else 0.0


_PROGRESS_SQL = """
SELECT
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'done') AS done,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'failed') AS failed,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'pending') AS pending,
  (SELECT COUNT(*) FROM synth_examples WHERE run_id = :r) AS generated,
  (SELECT COUNT(*) FROM synth_examples WHERE run_id = :r AND valid = 1) AS valid,
  (SELECT COUNT(*) FROM synth_calls WHERE run_id = :r) AS calls,
  (SELECT COALESCE(SUM(cost), 0) FROM synth_calls WHERE run_id = :r) AS spent,
  (SELECT COALESCE(SUM(at_risk), 0) FROM synth_calls WHERE run_id = :r) AS at_risk,
  (SELECT COALESCE(SUM(at_risk), 0) FROM synth_calls WHERE run_id = :r AND status = 'sent') AS in_flight,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND attempts > 1) AS retried,
  (SELECT COALESCE(SUM(prompt_tokens), 0) FROM synth_calls WHERE run_id = :r) AS tokens_in,
  (SELECT COALESCE(SUM(completion_tokens), 0) FROM synth_calls WHERE run_id = :r) AS tokens_out,
  (SELECT COALESCE(SUM(cached_tokens), 0) FROM synth_calls WHERE run_id = :r) AS cached
"""


def progress(ws: Workspace, run_id: str) -> Progress:
    """Return the live meter of ``run_id`` (cheap: a few indexed SQL aggregates)."""
    run = store.get_run(ws, run_id)
    if run is None:
        raise ValueError(f"no generation run {run_id!r}")
    with ws.connect() as connection:
        row = dict(connection.execute(_PROGRESS_SQL, {"r": run_id}).fetchone())
    running = run["status"] == "running"
    live = holder(ws, run_id)
    alive = is_active(ws, run_id) or live is not None
    # a run whose process died stays "running" until resumed: count its time up to the last heartbeat
    until = time.time() if alive else float(run["heartbeat"] or time.time())
    elapsed = float(run["elapsed_before"] or 0) + (
        until - float(run["started_at"] or until) if running else 0
    )
    return Progress(
        run_id=run_id,
        status=run["status"],
        stopped_by=run["stopped_by"],
        alive=alive,
        holder=live.describe() if live is not None else None,
        reason=run.get("reason"),
        requested=run["requested"],
        n_requests=run["n_requests"],
        requests_done=row["done"],
        requests_failed=row["failed"],
        requests_pending=row["pending"],
        calls=row["calls"],
        generated=row["generated"],
        valid=row["valid"],
        invalid=row["generated"] - row["valid"],
        spent_usd=float(row["spent"]),
        at_risk_usd=float(row["at_risk"]),
        in_flight_usd=float(row["in_flight"]) if alive else 0.0,
        budget_usd=float(run["budget_usd"]),
        requests_retried=int(row["retried"]),
        tokens_in=int(row["tokens_in"]),
        tokens_out=int(row["tokens_out"]),
        cached_tokens=int(row["cached"]),
        elapsed_s=elapsed,
    )
