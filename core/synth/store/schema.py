"""The tables of synthetic generation and the rows they hold: runs, requests, calls and examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.workspace import Workspace

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
