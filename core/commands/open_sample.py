"""``python -m core open-sample``: put the bundled sample into a workspace that has no dataset yet."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--workspace", help="workspace folder (default: $TRAINSET_WORKSPACE or ./workspace)")
    parser.add_argument("--force", action="store_true", help="load the sample even if a dataset is open")


def run(args: argparse.Namespace) -> int:
    """Load the first bundled sample unless the workspace already has a dataset."""
    from core.ingest import SAMPLES, load_sample, store_upload
    from core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    info = ws.dataset_info()
    if info is not None and not args.force:
        print(f"workspace {ws.root} already has dataset {info.name!r} (v{info.version}); leaving it open")
        return 0
    sample = SAMPLES[0]
    result = load_sample(sample)
    version = store_upload(ws, result, note=f"sample {sample.filename}")
    print(
        f"opened sample {sample.filename} as v{version}: {result.valid} valid, {result.invalid} quarantined"
    )
    return 0
