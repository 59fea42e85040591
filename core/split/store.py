"""The Split step in the workspace: the test lock (a state key) and its history table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import DatasetError
from core.split.config import LOCK_STATE_KEY, UNLOCK_WORD
from core.split.lock import check_lock
from core.workspace import Workspace, now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS split_lock_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    n_ids INTEGER NOT NULL,
    note TEXT
);
"""


def get_lock(ws: Workspace) -> dict[str, Any] | None:
    """Return the workspace's test lock, or ``None`` when the test set is not locked."""
    lock = ws.get_state(LOCK_STATE_KEY)
    return check_lock(lock, "workspace test lock") if lock else None


def save_lock(ws: Workspace, lock: Mapping[str, Any], note: str = "") -> None:
    """Lock the test set in the workspace and record it in the history."""
    ws.set_state(LOCK_STATE_KEY, dict(check_lock(dict(lock))))
    _record(ws, "lock", len(lock["ids"]), note)


def unlock(ws: Workspace, confirmation: str, note: str = "") -> None:
    """Remove the test lock; the person must type ``UNLOCK``.

    Raises:
        DatasetError: If ``confirmation`` is not ``UNLOCK`` or there is no lock.
    """
    if confirmation.strip() != UNLOCK_WORD:
        raise DatasetError(f"type {UNLOCK_WORD} to unlock the test set")
    lock = get_lock(ws)
    if lock is None:
        raise DatasetError("the test set is not locked")
    ws.set_state(LOCK_STATE_KEY, None)
    _record(ws, "unlock", len(lock["ids"]), note)


def lock_history(ws: Workspace) -> list[dict[str, Any]]:
    """Return every lock / unlock event, oldest first."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT event, at, n_ids, note FROM split_lock_history ORDER BY id"
        ).fetchall()
    return [dict(r) for r in rows]


def _record(ws: Workspace, event: str, n_ids: int, note: str) -> None:
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        connection.execute(
            "INSERT INTO split_lock_history (event, at, n_ids, note) VALUES (?, ?, ?, ?)",
            (event, now_iso(), n_ids, note),
        )
