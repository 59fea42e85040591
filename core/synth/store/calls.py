"""Calls, write-ahead: an attempt committed as sent before it goes out, then turned into its answer.

Before an attempt goes out, its call row is committed as ``sent`` with its worst-case cost at risk,
in a transaction that also checks the runner still holds the run's lease. The answer, its real cost
and the examples parsed from it then land in one transaction that turns that row into the real cost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from core import lease
from core.synth.store.runs import lease_name
from core.synth.store.schema import SENT, UNANSWERED, CallResult, RequestRow, StoredExample
from core.workspace import Workspace, now_iso


def insert_sent(
    connection: sqlite3.Connection,
    row: RequestRow,
    *,
    attempt: int,
    model: str,
    at_risk: float,
    token: str,
) -> int:
    """Commit-ahead an attempt about to be sent, its worst case at risk; return the call row id.

    Raises:
        lease.LeaseLost: If ``token`` no longer holds the run's lease (nothing is written).
    """
    if not lease.holds(connection, lease_name(row.run_id), token):
        raise lease.LeaseLost(f"run {row.run_id} was taken over by another runner")
    cursor = connection.execute(
        "INSERT INTO synth_calls (run_id, request_key, attempt, model, prompt_hash, status, prompt_tokens,"
        " cached_tokens, completion_tokens, cost, at_risk, latency, error, at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, NULL, NULL, ?)",
        (row.run_id, row.key, attempt, model, row.prompt_hash, SENT, at_risk, time.time()),
    )
    return int(cursor.lastrowid or 0)


def record_attempt(connection: sqlite3.Connection, call_id: int, result: CallResult) -> None:
    """Turn a ``sent`` call row into what the attempt turned out to be (its usage, cost, risk)."""
    connection.execute(
        "UPDATE synth_calls SET status = ?, prompt_tokens = ?, cached_tokens = ?, completion_tokens = ?,"
        " cost = ?, at_risk = ?, latency = ?, error = ? WHERE id = ?",
        (
            result.status,
            result.prompt_tokens,
            result.cached_tokens,
            result.completion_tokens,
            result.cost,
            result.at_risk,
            result.latency,
            result.error,
            call_id,
        ),
    )


def mark_unanswered(ws: Workspace, run_id: str) -> int:
    """Call rows left ``sent`` by a runner that stopped: still at risk, now labelled as such."""
    with ws.connect() as connection:
        return connection.execute(
            "UPDATE synth_calls SET status = ?, error = ? WHERE run_id = ? AND status = ?",
            (UNANSWERED, "sent, but the runner stopped before an answer was stored", run_id, SENT),
        ).rowcount


def finish_request(
    ws: Workspace,
    row: RequestRow,
    *,
    call_id: int,
    attempt: int,
    model: str,
    result: CallResult,
    examples: list[StoredExample],
    mode: str,
    prompt: str,
) -> None:
    """Store an answered (or finally failed) request, its call and its examples in one transaction."""
    with ws.connect() as connection:
        write_finish(
            connection,
            row,
            call_id=call_id,
            attempt=attempt,
            model=model,
            result=result,
            examples=examples,
            mode=mode,
            prompt=prompt,
        )


def write_finish(
    connection: Any,
    row: RequestRow,
    *,
    call_id: int | None,
    attempt: int,
    model: str,
    result: CallResult,
    examples: list[StoredExample],
    mode: str,
    prompt: str,
) -> None:
    """The statements of :func:`finish_request`, on an open transaction (see :class:`Writer`).

    ``call_id`` is the attempt's write-ahead row (``None``: a request that gave up without a last
    attempt of its own). A request already finished (by a runner that lost its lease but still got
    its answer) keeps its first answer: the cost of this one is booked, its examples are not stored.
    """
    del model  # kept in the call row written ahead
    status = "done" if result.status == "ok" else "failed"
    if call_id is not None:
        record_attempt(connection, call_id, result)
    changed = connection.execute(
        "UPDATE synth_requests SET status = ?, attempts = ?, prompt_tokens = ?, cached_tokens = ?,"
        " completion_tokens = ?, cost = ?, latency = ?, response = ?, error = ?, finished_at = ?"
        " WHERE key = ? AND status = 'pending'",
        (
            status,
            attempt,
            result.prompt_tokens,
            result.cached_tokens,
            result.completion_tokens,
            result.cost,
            result.latency,
            result.content,
            result.error,
            time.time(),
            row.key,
        ),
    ).rowcount
    if not changed:
        return
    connection.executemany(
        "INSERT OR REPLACE INTO synth_examples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                row.run_id,
                row.key,
                position,
                ex.record["id"],
                mode,
                json.dumps(row.seed_ids),
                prompt,
                ex.record.get("category"),
                json.dumps(ex.record, default=str),
                int(ex.valid),
                json.dumps(ex.reasons),
                now_iso(),
            )
            for position, ex in enumerate(examples)
        ],
    )
