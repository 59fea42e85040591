"""Persistence: one folder per project with a SQLite database and versioned dataset files.

A Streamlit session is lost on a browser refresh; what a person did must not be.
Every dataset transformation is a new *version* (a Parquet file plus a row in the
``versions`` table, with a note); the *current* version is a pointer that
:meth:`Workspace.revert_to` can move back by making a new version. Other modules
keep their own tables in the same database (see :meth:`Workspace.ensure_schema`) and
small JSON settings in the ``state`` table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from core import records
from core.errors import DatasetError

_ENV_ROOT = "TRAINSET_WORKSPACE"
_DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "workspace"
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


class WorkspaceError(DatasetError):
    """The workspace folder or its database cannot be used (not a folder, corrupt, read-only, full)."""


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds precision)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DatasetVersion:
    """One saved version of the dataset."""

    version: int
    parent: int | None
    note: str
    name: str | None
    source_format: str | None
    rows: int
    quarantined: int
    created_at: str


def default_root() -> Path:
    """Return the workspace folder: ``$TRAINSET_WORKSPACE`` or ``workspace/`` next to the app."""
    return Path(os.environ.get(_ENV_ROOT) or _DEFAULT_ROOT)


@dataclass(frozen=True)
class Workspace:
    """A folder with the SQLite database and the files of one project."""

    root: Path

    @classmethod
    def open(cls, root: str | Path | None = None, *, create: bool = True) -> Workspace:
        """Open the workspace at ``root`` (default: :func:`default_root`), creating it if ``create``.

        Raises:
            WorkspaceError: If ``root`` is not a folder, or its database is empty, corrupt,
                read-only or on a full disk (the message names the path; nothing is changed).
        """
        path = Path(root) if root is not None else default_root()
        _check_folder(path, create=create)
        workspace = cls(path)
        _check_database(workspace.db_path)
        try:
            (path / "versions").mkdir(parents=True, exist_ok=True)
            workspace.ensure_schema(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise WorkspaceError(_explain(workspace.db_path, exc)) from None
        return workspace

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

    # -- dataset versions ---------------------------------------------------------------

    def save_dataset(
        self,
        frame: pd.DataFrame,
        *,
        note: str,
        name: str | None = None,
        source_format: str | None = None,
        quarantine: pd.DataFrame | None = None,
        problems: pd.DataFrame | None = None,
    ) -> int:
        """Save ``frame`` as a new version and make it current.

        Args:
            frame: A canonical table (see :mod:`core.records`).
            note: What made this version ("upload support.jsonl", "dedup at 0.8", ...).
            name: Dataset name (defaults to the current version's name).
            source_format: Format the data came in (defaults to the current version's).
            quarantine: Rejected input rows with their reasons (kept, never dropped; default: the
                current version's, so a later step such as dedup keeps the upload's quarantine).
            problems: Every validation problem found (errors and warnings; default: the current
                version's).

        Returns:
            The new version number.
        """
        current = self.dataset_info()
        with self.connect() as connection:
            row = connection.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM versions").fetchone()
            version = int(row[0])
            folder = self._version_dir(version)
            folder.mkdir(parents=True, exist_ok=True)
            _write_frame(frame, folder / "records.parquet")
            parent = self._version_dir(current.version) if current else None
            for extra, filename in ((quarantine, "quarantine.parquet"), (problems, "problems.parquet")):
                _write_or_inherit(extra, folder / filename, parent / filename if parent else None)
            connection.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version,
                    current.version if current else None,
                    note,
                    name if name is not None else (current.name if current else None),
                    source_format
                    if source_format is not None
                    else (current.source_format if current else None),
                    len(frame),
                    len(quarantine) if quarantine is not None else (current.quarantined if current else 0),
                    now_iso(),
                ),
            )
            _put_state(connection, "current_version", version)
        return version

    def dataset_version(self) -> int | None:
        """Return the current version number, or ``None`` before the first upload."""
        value = self.get_state("current_version")
        return int(value) if value is not None else None

    def dataset_info(self, version: int | None = None) -> DatasetVersion | None:
        """Return the metadata of ``version`` (default: the current one)."""
        version = version if version is not None else self.dataset_version()
        if version is None:
            return None
        with self.connect() as connection:
            row = connection.execute("SELECT * FROM versions WHERE version = ?", (version,)).fetchone()
        return DatasetVersion(**dict(row)) if row else None

    def versions(self) -> list[DatasetVersion]:
        """Return every saved version, oldest first."""
        with self.connect() as connection:
            rows = connection.execute("SELECT * FROM versions ORDER BY version").fetchall()
        return [DatasetVersion(**dict(r)) for r in rows]

    def current_dataset(self) -> pd.DataFrame | None:
        """Return the current canonical table, or ``None`` before the first upload."""
        version = self.dataset_version()
        return None if version is None else self.load_version(version)

    def load_version(self, version: int) -> pd.DataFrame:
        """Return the canonical table saved as ``version``."""
        return _read_frame(self._version_dir(version) / "records.parquet")

    def quarantine(self, version: int | None = None) -> pd.DataFrame:
        """Return the rejected input rows of ``version`` (empty when none were rejected)."""
        return self._optional_frame(version, "quarantine.parquet")

    def problems(self, version: int | None = None) -> pd.DataFrame:
        """Return every validation problem recorded with ``version``."""
        return self._optional_frame(version, "problems.parquet")

    def revert_to(self, version: int) -> int:
        """Make ``version``'s data current again, as a new version (history is kept)."""
        info = self.dataset_info(version)
        if info is None:
            raise ValueError(f"no dataset version {version}")
        folder = self._version_dir(version)
        quarantine = (
            _read_frame(folder / "quarantine.parquet") if (folder / "quarantine.parquet").exists() else None
        )
        problems = (
            _read_frame(folder / "problems.parquet") if (folder / "problems.parquet").exists() else None
        )
        return self.save_dataset(
            self.load_version(version),
            note=f"revert to v{version}",
            name=info.name,
            source_format=info.source_format,
            quarantine=quarantine,
            problems=problems,
        )

    def derived_dir(self, version: int) -> Path:
        """Return the folder where measurements of ``version`` are kept (see :mod:`core.derived`)."""
        return self._version_dir(version) / "derived"

    def _version_dir(self, version: int) -> Path:
        return self.root / "versions" / f"v{version:04d}"

    def _optional_frame(self, version: int | None, filename: str) -> pd.DataFrame:
        version = version if version is not None else self.dataset_version()
        if version is None:
            return pd.DataFrame()
        path = self._version_dir(version) / filename
        return _read_frame(path) if path.exists() else pd.DataFrame()

    # -- small JSON state and the journey -----------------------------------------------

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


def _check_folder(path: Path, *, create: bool) -> None:
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"workspace {path} is a file, not a folder: give a folder (new or existing)")
    if not path.exists():
        if not create:
            raise WorkspaceError(f"no workspace at {path}")
        try:
            path.mkdir(parents=True)
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


def _put_state(connection: sqlite3.Connection, key: str, value: Any) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO state VALUES (?, ?, ?)", (key, json.dumps(value, default=str), now_iso())
    )


_JSON_MARK = b"trainset_json_columns"


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame to Parquet; object columns holding lists / dicts are stored as JSON text."""
    out = frame.copy()
    json_columns = [c for c in out.columns if out[c].dtype == object and _holds_nested(out[c])]
    for column in json_columns:
        out[column] = [None if _is_missing(v) else _dumps(v) for v in out[column]]
    for column in out.columns:
        if out[column].dtype == object and column not in json_columns and _needs_text(out[column]):
            out[column] = [_scalar_for_parquet(v) for v in out[column]]
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(out, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_JSON_MARK] = json.dumps(json_columns).encode()
    tmp = path.with_suffix(".tmp")
    pq.write_table(table.replace_schema_metadata(metadata), tmp)
    tmp.replace(path)


def _read_frame(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    json_columns = json.loads((table.schema.metadata or {}).get(_JSON_MARK, b"[]"))
    frame = table.to_pandas()
    for column in json_columns:
        frame[column] = [json.loads(v) if isinstance(v, str) else None for v in frame[column]]
    if "source_line" in frame.columns:
        frame["source_line"] = frame["source_line"].astype("Int64")
    if set(records.CORE_COLUMNS) <= set(frame.columns) and "n_turns" in frame.columns:
        frame["n_turns"] = frame["n_turns"].astype("Int64")
    return frame


def _write_or_inherit(frame: pd.DataFrame | None, path: Path, parent: Path | None) -> None:
    """Write ``frame``; without one, carry the parent version's file over (rejected rows stay kept)."""
    if frame is not None:
        _write_frame(frame, path)
    elif parent is not None and parent.exists():
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(parent, tmp)
        tmp.replace(path)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # numpy scalars, big ints, other odd values: the slow, forgiving path
        return json.dumps(value, ensure_ascii=False, default=str)


def _holds_nested(column: pd.Series) -> bool:
    return any(isinstance(v, (list, dict, tuple)) for v in column if v is not None)


def _is_missing(value: Any) -> bool:
    # pd.NA / NaT turn up in object columns (e.g. Int64 or datetime data cast to object); they are missing
    # values, not the text "<NA>".
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value is pd.NA or value is pd.NaT


def _needs_text(column: pd.Series) -> bool:
    """True when Parquet cannot store the column as it is: mixed types, or ints beyond 64 bits."""
    kinds = {type(v) for v in column if not _is_missing(v)}
    return len(kinds) > 1 or (
        int in kinds and any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in column)
    )


def _scalar_for_parquet(value: Any) -> Any:
    """Make mixed-type object columns storable: keep None and strings, stringify the rest."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    return str(value)
