"""Workspace tables of synthetic generation: runs (= batches), requests, calls and examples.

Everything is written the moment it exists, and money before it is spent (write-ahead): before an
attempt goes out, its call row is committed as ``sent`` with its worst-case cost at risk, in a
transaction that also checks the runner still holds the run's lease. The answer, its real cost and
the examples parsed from it then land in one transaction that turns that row into the real cost.
So a process killed at any point leaves every attempt that may have been billed counted at its
worst case, and a finished request is never sent again (its row says ``done``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import lease, records
from core.workspace import Workspace, now_iso

SENT = "sent"
"""Status of a call row committed before its attempt goes out (its outcome is not known yet)."""
UNANSWERED = "unanswered"
"""A ``sent`` call whose runner stopped before an answer was stored: it may have been billed."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS synth_runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    config TEXT NOT NULL,
    budget_usd REAL NOT NULL,
    requested INTEGER NOT NULL,
    n_requests INTEGER NOT NULL,
    status TEXT NOT NULL,
    stopped_by TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    heartbeat REAL,
    elapsed_before REAL NOT NULL DEFAULT 0,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS synth_requests (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    messages TEXT NOT NULL,
    seed_ids TEXT NOT NULL,
    category TEXT,
    context TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    prompt_tokens_est INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER,
    cached_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    latency REAL,
    response TEXT,
    error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS synth_requests_run ON synth_requests (run_id, status);
CREATE TABLE IF NOT EXISTS synth_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    request_key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    model TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    prompt_tokens INTEGER,
    cached_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    at_risk REAL NOT NULL DEFAULT 0,
    latency REAL,
    error TEXT,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS synth_examples (
    run_id TEXT NOT NULL,
    request_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    example_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    seed_ids TEXT NOT NULL,
    prompt TEXT NOT NULL,
    category TEXT,
    record TEXT NOT NULL,
    valid INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, request_key, position)
);
"""


def ensure(ws: Workspace) -> None:
    """Create the synthetic-generation tables if they are missing (and add columns added since)."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(synth_calls)")}
        if "at_risk" not in columns:  # workspaces from before unknown outcomes were booked
            connection.execute("ALTER TABLE synth_calls ADD COLUMN at_risk REAL NOT NULL DEFAULT 0")
        run_columns = {row[1] for row in connection.execute("PRAGMA table_info(synth_runs)")}
        if "reason" not in run_columns:  # workspaces from before runs said why they stopped
            connection.execute("ALTER TABLE synth_runs ADD COLUMN reason TEXT")


@dataclass(frozen=True)
class RequestRow:
    """One planned request of a run, as stored."""

    key: str
    run_id: str
    idx: int
    messages: list[dict[str, Any]]
    seed_ids: list[str]
    category: str | None
    context: dict[str, Any]
    prompt_hash: str
    prompt_tokens_est: int


@dataclass(frozen=True)
class CallResult:
    """The outcome of one HTTP attempt, logged in ``synth_calls``."""

    status: str  # "ok", "http_429", "http_500", "timeout", "malformed", "error", ...
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency: float = 0.0
    error: str | None = None
    content: str | None = None
    at_risk: float = 0.0  # worst case booked when the outcome is unknown (timeout, lost connection)


@dataclass(frozen=True)
class StoredExample:
    """One generated example with its validation outcome, ready to store."""

    record: dict[str, Any]
    valid: bool
    reasons: list[str]


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


def list_batches(ws: Workspace) -> pd.DataFrame:
    """Return one row per generation run (batch): id, mode, status, counts, spend (judging runs are not).

    Columns: ``batch_id``, ``created_at``, ``mode``, ``model``, ``status``, ``stopped_by``, ``requested``,
    ``generated``, ``valid``, ``invalid``, ``spent_usd``, ``budget_usd``.
    """
    ensure(ws)
    query = """
    SELECT r.run_id AS batch_id, r.created_at, r.mode, json_extract(r.config, '$.model') AS model, r.status,
           r.stopped_by, r.requested,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id) AS generated,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id AND e.valid = 1) AS valid,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id AND e.valid = 0) AS invalid,
           (SELECT COALESCE(SUM(cost), 0) FROM synth_calls c WHERE c.run_id = r.run_id) AS spent_usd,
           r.budget_usd
    FROM synth_runs r WHERE r.mode != 'judge' ORDER BY r.created_at DESC, r.run_id DESC
    """
    with ws.connect() as connection:
        return pd.read_sql_query(query, connection)


def batch_examples(ws: Workspace, batch_id: str, *, valid_only: bool = True) -> pd.DataFrame:
    """Return the generated examples of one batch as a canonical table (``source="synthetic"``).

    Extra columns: ``batch_id``, ``mode``, ``seed_ids`` (list), ``prompt`` (the teacher prompt),
    ``valid`` (bool) and ``reasons`` (list of validator failures).
    """
    ensure(ws)
    where = " AND valid = 1" if valid_only else ""
    with ws.connect() as connection:
        rows = connection.execute(
            f"SELECT * FROM synth_examples WHERE run_id = ?{where}"  # noqa: S608
            " ORDER BY created_at, request_key, position",
            (batch_id,),
        ).fetchall()
    if not rows:
        frame = records.empty_frame()
        for column in ("batch_id", "mode", "seed_ids", "prompt", "valid", "reasons"):
            frame[column] = pd.Series(dtype=object)
        return frame
    frame = records.make_frame([json.loads(r["record"]) for r in rows])
    frame["source"] = "synthetic"
    frame["batch_id"] = batch_id
    frame["mode"] = [r["mode"] for r in rows]
    frame["seed_ids"] = [json.loads(r["seed_ids"]) for r in rows]
    frame["prompt"] = [r["prompt"] for r in rows]
    frame["valid"] = [bool(r["valid"]) for r in rows]
    frame["reasons"] = [json.loads(r["reasons"]) for r in rows]
    return frame


def synthetic_texts(ws: Workspace, *, exclude_run: str | None = None) -> list[tuple[str, str]]:
    """Return ``(example_id, text)`` of every valid synthetic example (for cross-run dedup)."""
    ensure(ws)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT example_id, record FROM synth_examples"
            " WHERE valid = 1 AND run_id != ? AND mode != 'judge'",
            (exclude_run or "",),
        ).fetchall()
    out = []
    for r in rows:
        rec = json.loads(r["record"])
        out.append((r["example_id"], f"{rec.get('prompt_text', '')}\n{rec.get('response_text', '')}"))
    return out


class Writer:
    """One writer thread that commits many workers' writes together (group commit).

    :meth:`write` returns only once the statements are committed, so "written the moment it
    exists" holds; batching the commits is what lets 16+ concurrent requests stay cheap. The
    connection uses ``synchronous=NORMAL`` (WAL): durable across a killed process, which is the
    crash this protects against.
    """

    def __init__(self, ws: Workspace, *, max_batch: int = 256) -> None:
        self._path = ws.db_path
        self._queue: queue.Queue[Any] = queue.Queue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._loop, name="synth-writer", daemon=True)
        self._thread.start()

    def write(self, statements: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``statements(connection)`` in a committed transaction; return its result or re-raise."""
        done = threading.Event()
        box: dict[str, Any] = {}
        self._queue.put((statements, done, box))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def close(self) -> None:
        """Finish pending writes and stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        try:
            connection = sqlite3.connect(
                self._path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:  # every write fails with the reason, none waits forever
            self._refuse_all(exc)
            return
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                self._commit(connection, [item for item in batch if item is not None])
                if None in batch:
                    return
        finally:
            connection.close()

    def _refuse_all(self, exc: BaseException) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            _statements, done, box = item
            box["error"] = exc
            done.set()

    def _next_batch(self) -> list[Any] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    @staticmethod
    def _commit(connection: sqlite3.Connection, batch: list[Any]) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
            for index, (statements, _done, box) in enumerate(batch):
                connection.execute(f"SAVEPOINT s{index}")
                try:
                    box["result"] = statements(connection)
                    connection.execute(f"RELEASE s{index}")
                except Exception as exc:  # noqa: BLE001 - handed back to the waiting worker
                    connection.execute(f"ROLLBACK TO s{index}")
                    connection.execute(f"RELEASE s{index}")
                    box["error"] = exc
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            for _statements, _done, box in batch:
                box.pop("result", None)  # nothing of the batch was committed
                box.setdefault("error", exc)
        finally:
            for _statements, done, _box in batch:
                done.set()
