"""A project: the named datasets of one folder, each with its own versions, lock, decisions and journey.

The folder the app opens (``$TRAINSET_WORKSPACE``) is a :class:`~core.workspace.Workspace`: the
project's first dataset. Each further dataset is a workspace of its own under
``datasets/<slug>/``, so everything a step keeps (versions, the test lock, review decisions,
generations, the journey's state) belongs to one dataset and no other; a second upload never
touches the first dataset's split. A folder from before datasets existed is that first dataset
as it is: nothing is moved or rewritten.

``project.json`` keeps the names given to datasets and which one was open last (written whole,
atomically), so a restart opens the dataset the person was working on.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.workspace import Workspace, WorkspaceError

DATASETS_DIR = "datasets"
PROJECT_FILE = "project.json"
FIRST = "first"
"""The slug of the project's first dataset: the project folder itself."""


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of a project.

    Attributes:
        slug: Its short name in paths and addresses (:data:`FIRST` for the project folder itself).
        name: The name people see (given at creation, else its first upload's file name).
        root: Its workspace folder.
        rows: Examples in its current version (0 before an upload).
        version: Its current version (``None`` before an upload).
    """

    slug: str
    name: str
    root: Path
    rows: int
    version: int | None


@dataclass(frozen=True)
class Project:
    """The datasets kept under one folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def of(cls, workspace_root: str | Path) -> Project:
        """Return the project a dataset's workspace folder belongs to."""
        path = Path(workspace_root)
        if path.parent.name == DATASETS_DIR and (path.parent.parent / PROJECT_FILE).exists():
            return cls(path.parent.parent)
        return cls(path)

    def datasets(self) -> list[DatasetEntry]:
        """Every dataset, the first one first, then in the order they were made."""
        names = self._read().get("names", {})
        entries = [self._entry(FIRST, self.root, names.get(FIRST))]
        folder = self.root / DATASETS_DIR
        made = self._read().get("order", [])
        found = (
            {p.name for p in folder.iterdir() if (p / "workspace.sqlite").exists()}
            if folder.is_dir()
            else set()
        )
        for slug in [s for s in made if s in found] + sorted(found - set(made)):
            entries.append(self._entry(slug, folder / slug, names.get(slug)))
        return entries

    def workspace_root(self, slug: str) -> Path:
        """The workspace folder of the dataset ``slug``."""
        return self.root if slug == FIRST else self.root / DATASETS_DIR / slug

    def slug_of(self, workspace_root: str | Path) -> str:
        """The slug of the dataset whose workspace folder is ``workspace_root``."""
        path = Path(workspace_root)
        return FIRST if path == self.root else path.name

    def create(self, name: str) -> Workspace:
        """Make a new, empty dataset called ``name``; return its workspace.

        Raises:
            ValueError: If ``name`` is empty.
            WorkspaceError: If the folder cannot be written.
        """
        name = name.strip()
        if not name:
            raise ValueError("a dataset needs a name")
        entries = self.datasets()
        taken, names = {e.slug for e in entries}, {e.name for e in entries}
        base = _slug(name)
        slug = next(s for s in (base, *(f"{base}-{k}" for k in range(2, 10_000))) if s not in taken)
        if name in names:  # two datasets of one file name must still be told apart in the switcher
            name = next(f"{name} ({k})" for k in range(2, 10_000) if f"{name} ({k})" not in names)
        workspace = Workspace.open(self.root / DATASETS_DIR / slug)
        data = self._read()
        data.setdefault("names", {})[slug] = name
        data.setdefault("order", []).append(slug)
        self._write(data)
        return workspace

    def current(self) -> str:
        """The slug of the dataset opened last (:data:`FIRST` when none was chosen or it is gone)."""
        slug = self._read().get("current", FIRST)
        return slug if slug == FIRST or (self.workspace_root(slug) / "workspace.sqlite").exists() else FIRST

    def set_current(self, slug: str) -> None:
        """Remember ``slug`` as the dataset to open next time.

        Raises:
            ValueError: If the project has no dataset ``slug``.
        """
        if slug not in {entry.slug for entry in self.datasets()}:
            raise ValueError(f"no dataset {slug!r} in {self.root}")
        data = self._read()
        data["current"] = slug
        self._write(data)

    def _entry(self, slug: str, root: Path, name: str | None) -> DatasetEntry:
        version, rows, first_name = _summary(root)
        return DatasetEntry(
            slug, name or first_name or ("(empty)" if slug == FIRST else slug), root, rows, version
        )

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / PROJECT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.NamedTemporaryFile(
                "w", dir=self.root, delete=False, suffix=".tmp", encoding="utf-8"
            ) as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(out.name, self.root / PROJECT_FILE)
        except OSError as exc:
            raise WorkspaceError(f"cannot write {self.root / PROJECT_FILE}: {exc.strerror or exc}") from None


def _summary(root: Path) -> tuple[int | None, int, str | None]:
    """(current version, its rows, the first upload's name) read without creating anything."""
    db = root / "workspace.sqlite"
    if not db.exists():
        return None, 0, None
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            state = connection.execute("SELECT value FROM state WHERE key = 'current_version'").fetchone()
            version = int(json.loads(state[0])) if state else None
            row = connection.execute("SELECT rows FROM versions WHERE version = ?", (version,)).fetchone()
            first = connection.execute("SELECT name FROM versions ORDER BY version LIMIT 1").fetchone()
        finally:
            connection.close()
    except (sqlite3.Error, ValueError, TypeError):
        return None, 0, None
    return version, int(row[0]) if row else 0, first[0] if first else None


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"(\.(jsonl|json|csv|parquet|txt))?(\.gz)?$", "", ascii_name.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:40]
    return slug if slug and slug != FIRST else "dataset"
