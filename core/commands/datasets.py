"""``python -m core datasets [--workspace W] [--create NAME] [--json]``: the datasets of a project.

Lists every dataset of the project folder (default ``$TRAINSET_WORKSPACE``) with its folder,
rows and current version, the one the app opens marked; ``--create NAME`` makes an empty one. A
dataset's folder is what the other commands take as ``--workspace``. Exit 0, or 2 when the folder
cannot be read or written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.commands._common import fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--workspace", type=Path, help="the project folder (default $TRAINSET_WORKSPACE)")
    parser.add_argument("--create", metavar="NAME", help="make a new, empty dataset called NAME")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """List (and make) datasets; return the exit code."""
    from core.project import Project
    from core.workspace import Workspace, default_root

    try:
        project = Project(args.workspace or default_root())
        Workspace.open(project.root)  # the first dataset is the folder itself
        created = project.create(args.create) if args.create else None
        entries = project.datasets()
        current = project.current()
    except (DatasetError, ValueError) as exc:
        return fail(str(exc))
    rows = [
        {
            "slug": e.slug,
            "name": e.name,
            "folder": str(e.root),
            "rows": e.rows,
            "version": e.version,
            "current": e.slug == current,
        }
        for e in entries
    ]
    if args.json:
        print_json(
            {
                "project": str(project.root),
                "datasets": rows,
                "created": str(created.root) if created else None,
            }
        )
        return 0
    for row in rows:
        mark = "*" if row["current"] else " "
        version = f"v{row['version']}" if row["version"] is not None else "empty"
        print(f"{mark} {row['slug']:20s} {row['name']}  ({row['rows']:,} rows, {version})  {row['folder']}")
    return 0
