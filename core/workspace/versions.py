"""Dataset versions: each transformation saved as a new Parquet file with a note; a current pointer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.workspace.connection import now_iso
from core.workspace.files import _read_frame, _write_frame, _write_or_inherit
from core.workspace.state import _put_state, _State


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


class _Versions(_State):
    """The workspace's ``versions`` table and the files of each version."""

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
