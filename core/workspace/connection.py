"""The workspace folder and its SQLite database: where it is, whether it can be used, a connection.

The checks refuse, with the path in the message, a folder that is a file or not writable and a
database that is empty, damaged or read-only, before anything writes to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import DatasetError

_ENV_ROOT = "TRAINSET_WORKSPACE"
_DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "workspace"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    version INTEGER PRIMARY KEY,
    parent INTEGER,
    note TEXT NOT NULL,
    name TEXT,
    source_format TEXT,
    rows INTEGER NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    step TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    dataset_version INTEGER,
    updated_at TEXT NOT NULL
);
"""


class WorkspaceError(DatasetError):
    """The workspace folder or its database cannot be used (not a folder, corrupt, read-only, full)."""


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds precision)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_root() -> Path:
    """Return the workspace folder: ``$TRAINSET_WORKSPACE`` or ``workspace/`` next to the app."""
    return Path(os.environ.get(_ENV_ROOT) or _DEFAULT_ROOT)


@dataclass(frozen=True)
class _Database:
    """The folder of one project and a connection to its database."""

    root: Path

    @property
    def db_path(self) -> Path:
        """Path of the SQLite database."""
        return self.root / "workspace.sqlite"

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection in a transaction (committed on success); safe across threads."""
        connection = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            connection.row_factory = sqlite3.Row
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def ensure_schema(self, ddl: str) -> None:
        """Create tables a module needs (``CREATE TABLE IF NOT EXISTS ...`` statements)."""
        connection = sqlite3.connect(self.db_path, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(ddl)
        finally:
            connection.close()


def _check_folder(path: Path, *, create: bool) -> None:
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"workspace {path} is a file, not a folder: give a folder (new or existing)")
    if not path.exists():
        if not create:
            raise WorkspaceError(f"no workspace at {path}")
        try:
            path.mkdir(parents=True, exist_ok=True)  # another process may make it between the two calls
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create the workspace folder {path}: {exc.strerror or exc}"
            ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise WorkspaceError(f"workspace {path} is not writable: give a folder you can write to")


_CHECKED: set[Path] = set()  # databases found sound by this process (the check reads every page)


def _check_database(db: Path) -> None:
    """Refuse a database file that exists but is no database, before anything writes to it."""
    if not db.exists():
        return
    if db in _CHECKED and db.stat().st_size > 0:
        return
    if db.is_dir():
        raise WorkspaceError(f"{db} is a folder, not the workspace database")
    if db.stat().st_size == 0:
        raise WorkspaceError(
            f"{db} is empty (0 bytes): it is not a workspace database, and it is not re-created over "
            "what may have been lost. Move it away to start a new workspace there."
        )
    if not os.access(db, os.R_OK | os.W_OK):
        raise WorkspaceError(f"the workspace database {db} is read-only (this process cannot write it)")
    try:
        connection = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30, isolation_level=None)
        try:
            row = connection.execute("PRAGMA quick_check(1)").fetchone()
            # a write that is rolled back: refused at once when the file could only be opened read-only
            connection.execute("BEGIN IMMEDIATE")
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            connection.execute(f"PRAGMA user_version = {version}")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise WorkspaceError(_explain(db, exc)) from None
    if row is None or row[0] != "ok":
        raise WorkspaceError(f"the workspace database {db} is damaged ({row[0] if row else 'unreadable'})")
    _CHECKED.add(db)


def _explain(db: Path, exc: BaseException) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"the workspace database {db} is damaged or not a database ({text})"
    if "readonly" in text or "read-only" in text:
        return f"the workspace database {db} is read-only ({text})"
    if "full" in text or getattr(exc, "errno", None) == 28:
        return f"no space left to write the workspace database {db} ({text})"
    return f"cannot use the workspace database {db}: {text}"
