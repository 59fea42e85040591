"""``python -m core open-pipeline DIR [--workspace W] [--json]``: open a pipeline run in the app.

Imports the run's kept rows as a new dataset version, its removed rows (with their clusters,
reasons and Jaccard) into the Dedup page's audit, and its test split as the test lock, so the
pages show the run without running it again (see :mod:`core.pipeline.opening`). Exit 0 on
success, 2 when DIR is not a finished pipeline run or the workspace cannot be used.
"""

from __future__ import annotations

import argparse
import dataclasses

from core.commands._common import fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("folder", help="the --out folder of a finished `python -m core pipeline` run")
    parser.add_argument("--workspace", help="workspace folder (default: $TRAINSET_WORKSPACE or ./workspace)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Open the run; return the exit code."""
    from core.pipeline.opening import open_run
    from core.workspace import Workspace

    try:
        opened = open_run(Workspace.open(args.workspace), args.folder)
    except DatasetError as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc))
    if args.json:
        print_json(dataclasses.asdict(opened))
        return 0
    splits = ", ".join(f"{name} {count:,}" for name, count in opened.splits.items())
    print(
        f"opened {args.folder} as v{opened.version}: {opened.kept:,} kept, {opened.removed:,} removed "
        f"(in the Dedup page's removed rows), {opened.quarantined:,} quarantined; splits: {splits}"
    )
    if opened.test_locked:
        print("the run's test split is now the workspace's test lock")
    elif opened.lock_kept:
        print("the workspace already had a test lock: it stays, the run's test split is not locked")
    return 0
