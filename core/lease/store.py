"""The leases table in the workspace: one row per leased name, and every statement on it."""

from __future__ import annotations

import sqlite3
from typing import cast

from core.workspace import Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started REAL,
    label TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    heartbeat REAL NOT NULL
);
"""
Holder = tuple[str, str, int, str, float | None, str, float, float]  # a row, in column order


def ensure(ws: Workspace) -> None:
    """Create the lease table if it is missing."""
    ws.ensure_schema(_SCHEMA)


def read(connection: sqlite3.Connection, name: str) -> Holder | None:
    """Return the stored row of ``name`` (name, token, pid, host, started, label, acquired_at, heartbeat)."""
    row = connection.execute(
        "SELECT name, token, pid, host, started, label, acquired_at, heartbeat FROM leases WHERE name = ?",
        (name,),
    ).fetchone()
    return cast(Holder, tuple(row)) if row is not None else None


def holds(connection: sqlite3.Connection, name: str, token: str) -> bool:
    """Whether ``token`` still holds ``name``: call it inside the transaction it must fence."""
    row = connection.execute("SELECT token FROM leases WHERE name = ?", (name,)).fetchone()
    return row is not None and row[0] == token


def write(connection: sqlite3.Connection, holder: Holder) -> None:
    """Store ``holder`` as the lease of its name (replacing any row there)."""
    connection.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?, ?)", holder)


def beat(connection: sqlite3.Connection, name: str, token: str, at: float) -> bool:
    """Set the heartbeat of ``name`` if ``token`` still holds it; whether it did."""
    changed = connection.execute(
        "UPDATE leases SET heartbeat = ? WHERE name = ? AND token = ?", (at, name, token)
    ).rowcount
    return bool(changed)


def delete(connection: sqlite3.Connection, name: str, token: str) -> None:
    """Remove the lease of ``name`` if ``token`` still holds it."""
    connection.execute("DELETE FROM leases WHERE name = ? AND token = ?", (name, token))
