"""Runs and their planned requests: store a run, read and update it, which requests are still pending."""

from __future__ import annotations

import json
from typing import Any

from core import lease
from core.synth.store.schema import RequestRow, ensure
from core.workspace import Workspace, now_iso


def insert_run(
    ws: Workspace,
    run_id: str,
    *,
    mode: str,
    config: dict[str, Any],
    budget_usd: float,
    requested: int,
    rows: list[RequestRow],
) -> bool:
    """Store a new run and its planned requests (all ``pending``).

    Returns:
        Whether this call created the run: ``False`` when a run with this id exists already (two
        processes creating the same run at once: one creates it, the other finds it).
    """
    ensure(ws)
    with ws.connect() as connection:
        created = connection.execute(
            "INSERT OR IGNORE INTO synth_runs (run_id, created_at, mode, config, budget_usd, requested,"
            " n_requests, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'created')",
            (run_id, now_iso(), mode, json.dumps(config), budget_usd, requested, len(rows)),
        ).rowcount
        if not created:
            return False
        connection.executemany(
            "INSERT INTO synth_requests (key, run_id, idx, messages, seed_ids, category, context,"
            " prompt_hash, prompt_tokens_est, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
            [
                (
                    r.key,
                    run_id,
                    r.idx,
                    json.dumps(r.messages),
                    json.dumps(r.seed_ids),
                    r.category,
                    json.dumps(r.context),
                    r.prompt_hash,
                    r.prompt_tokens_est,
                )
                for r in rows
            ],
        )
    return True


def run_exists(ws: Workspace, run_id: str) -> bool:
    """Whether ``run_id`` is stored (cheap: no config decoding)."""
    ensure(ws)
    with ws.connect() as connection:
        return (
            connection.execute("SELECT 1 FROM synth_runs WHERE run_id = ?", (run_id,)).fetchone() is not None
        )


def run_ids(ws: Workspace) -> list[str]:
    """Every stored run id, newest first."""
    ensure(ws)
    with ws.connect() as connection:
        rows = connection.execute("SELECT run_id FROM synth_runs ORDER BY created_at DESC, run_id DESC")
        return [r[0] for r in rows]


def get_run(ws: Workspace, run_id: str) -> dict[str, Any] | None:
    """Return the run row as a dict (``config`` decoded), or ``None``."""
    ensure(ws)
    with ws.connect() as connection:
        row = connection.execute("SELECT * FROM synth_runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["config"] = json.loads(out["config"])
    return out


def update_run(ws: Workspace, run_id: str, *, token: str | None = None, **fields: Any) -> bool:
    """Set columns of one run row; with ``token``, only while that token holds the run's lease.

    Returns:
        Whether the row was written (``False``: fenced out, another runner holds the run).
    """
    names = ", ".join(f"{name} = ?" for name in fields)
    fence, args = "", [*fields.values(), run_id]
    if token is not None:
        lease.ensure(ws)
        fence = " AND EXISTS (SELECT 1 FROM leases WHERE name = ? AND token = ?)"
        args += [lease_name(run_id), token]
    with ws.connect() as connection:
        return bool(
            connection.execute(f"UPDATE synth_runs SET {names} WHERE run_id = ?{fence}", args).rowcount  # noqa: S608
        )


def request_counts(ws: Workspace, run_id: str) -> dict[str, int]:
    """``{status: requests}`` of one run (``pending``, ``done``, ``failed``)."""
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT status, COUNT(*) FROM synth_requests WHERE run_id = ? GROUP BY status", (run_id,)
        ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def request_stop(ws: Workspace, run_id: str) -> None:
    """Ask a run (in this or another process) to stop dispatching new requests."""
    update_run(ws, run_id, stop_requested=1)


def stop_requested(ws: Workspace, run_id: str) -> bool:
    """Return whether someone asked ``run_id`` to stop."""
    with ws.connect() as connection:
        row = connection.execute(
            "SELECT stop_requested FROM synth_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    return bool(row and row[0])


def pending_requests(ws: Workspace, run_id: str) -> list[RequestRow]:
    """Return the requests of a run that have no answer yet, in plan order."""
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM synth_requests WHERE run_id = ? AND status = 'pending' ORDER BY idx", (run_id,)
        ).fetchall()
    return [
        RequestRow(
            r["key"],
            r["run_id"],
            r["idx"],
            json.loads(r["messages"]),
            json.loads(r["seed_ids"]),
            r["category"],
            json.loads(r["context"]),
            r["prompt_hash"],
            r["prompt_tokens_est"],
        )
        for r in rows
    ]


def spent(ws: Workspace, run_id: str) -> tuple[float, float]:
    """Return the dollars of a run: paid (every answered attempt's real usage) and at risk.

    At risk: the worst case of each attempt whose outcome is unknown (it may have been billed).
    """
    with ws.connect() as connection:
        row = connection.execute(
            "SELECT COALESCE(SUM(cost), 0), COALESCE(SUM(at_risk), 0) FROM synth_calls WHERE run_id = ?",
            (run_id,),
        ).fetchone()
    return float(row[0]), float(row[1])


def lease_name(run_id: str) -> str:
    """The lease that lets one runner at a time send the requests of ``run_id``."""
    return f"synth-run:{run_id}"


def reset_failed(ws: Workspace, run_id: str) -> int:
    """Make the requests of ``run_id`` that gave up pending again (for an explicit retry)."""
    with ws.connect() as connection:
        return connection.execute(
            "UPDATE synth_requests SET status = 'pending' WHERE run_id = ? AND status = 'failed'", (run_id,)
        ).rowcount


def last_failure(ws: Workspace, run_id: str) -> str | None:
    """The error of the last request of ``run_id`` that gave up, or ``None``."""
    with ws.connect() as connection:
        row = connection.execute(
            "SELECT error FROM synth_requests WHERE run_id = ? AND status = 'failed'"
            " ORDER BY finished_at DESC LIMIT 1",
            (run_id,),
        ).fetchone()
    return str(row[0]) if row and row[0] else None
