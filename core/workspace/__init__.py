"""Persistence: one folder per project with a SQLite database and versioned dataset files.

A Streamlit session is lost on a browser refresh; what a person did must not be.
Every dataset transformation is a new *version* (a Parquet file plus a row in the
``versions`` table, with a note); the *current* version is a pointer that
:meth:`Workspace.revert_to` can move back by making a new version. Other modules
keep their own tables in the same database (see :meth:`Workspace.ensure_schema`) and
small JSON settings in the ``state`` table.

The package along its seams: ``connection`` (the folder, the database and its checks), ``state``
(settings and the journey steps), ``versions`` (the dataset versions), ``files`` (a version's tables
as Parquet). Every name other modules use is re-exported here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.workspace.connection import _CHECKED as _CHECKED
from core.workspace.connection import _DEFAULT_ROOT as _DEFAULT_ROOT
from core.workspace.connection import _ENV_ROOT as _ENV_ROOT
from core.workspace.connection import _SCHEMA as _SCHEMA
from core.workspace.connection import WorkspaceError as WorkspaceError
from core.workspace.connection import _check_database as _check_database
from core.workspace.connection import _check_folder as _check_folder
from core.workspace.connection import _explain as _explain
from core.workspace.connection import default_root as default_root
from core.workspace.connection import now_iso as now_iso
from core.workspace.files import _read_frame as _read_frame
from core.workspace.files import _write_frame as _write_frame
from core.workspace.state import JOURNEY as JOURNEY
from core.workspace.state import _put_state as _put_state
from core.workspace.versions import DatasetVersion as DatasetVersion
from core.workspace.versions import _Versions


@dataclass(frozen=True)
class Workspace(_Versions):
    """A folder with the SQLite database and the files of one project."""

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
