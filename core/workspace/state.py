"""Small JSON settings (the ``state`` table) and the journey steps that ran (the ``steps`` table)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.workspace.connection import _Database, now_iso

JOURNEY = (
    ("upload", "Upload"),
    ("distribution", "Distribution"),
    ("quality", "Quality"),
    ("labels", "Labels"),
    ("dedup", "Dedup"),
    ("synthetic", "Synthetic"),
    ("review", "Review"),
    ("split", "Split & export"),
    ("eval", "Eval loop"),
)


class _State(_Database):
    """The workspace's state and steps tables."""

    def get_state(self, key: str, default: Any = None) -> Any:
        """Return the JSON value stored under ``key``, or ``default``."""
        with self.connect() as connection:
            row = connection.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key``."""
        with self.connect() as connection:
            _put_state(connection, key, value)

    def mark_step(self, step: str, summary: dict[str, Any]) -> None:
        """Record that a journey step ran, with a short summary for the home page.

        Raises:
            ValueError: If ``step`` is not one of :data:`JOURNEY`.
        """
        if step not in dict(JOURNEY):
            raise ValueError(f"unknown journey step {step!r}; expected one of {[s for s, _ in JOURNEY]}")
        with self.connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?)",
                (step, json.dumps(summary, default=str), self._current_version(connection), now_iso()),
            )

    def steps(self) -> dict[str, dict[str, Any]]:
        """Return ``{step: {"summary", "dataset_version", "updated_at"}}`` for the steps that ran."""
        with self.connect() as connection:
            rows = connection.execute("SELECT * FROM steps").fetchall()
        return {
            r["step"]: {
                "summary": json.loads(r["summary"]),
                "dataset_version": r["dataset_version"],
                "updated_at": r["updated_at"],
            }
            for r in rows
        }

    @staticmethod
    def _current_version(connection: sqlite3.Connection) -> int | None:
        row = connection.execute("SELECT value FROM state WHERE key = 'current_version'").fetchone()
        return int(json.loads(row[0])) if row else None


def _put_state(connection: sqlite3.Connection, key: str, value: Any) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO state VALUES (?, ?, ?)", (key, json.dumps(value, default=str), now_iso())
    )
