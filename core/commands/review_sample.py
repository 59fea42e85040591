"""``python -m core review-sample BATCH_OR_FILE``: the reproducible review sample."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands._common import fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("target", metavar="BATCH_OR_FILE", help="a dataset file, or a synthetic batch id")
    parser.add_argument(
        "--fraction", type=float, help="share of the examples to review (default: the review policy's)"
    )
    parser.add_argument(
        "--min", dest="minimum", type=int, help="at least this many (default: the review policy's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", help="workspace folder holding the batch (default: the app's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _examples(target: str, workspace: str | None) -> pd.DataFrame:
    if Path(target).exists():
        from core.formats import load_dataset

        return load_dataset(Path(target)).records
    from core import synth
    from core.workspace import Workspace

    frame = synth.batch_examples(Workspace.open(workspace), target, valid_only=True)
    if frame.empty:
        raise DatasetError(f"{target}: no such file, and no synthetic batch with that id in the workspace")
    return frame


def run(args: argparse.Namespace) -> int:
    """Draw the sample and print it."""
    from core import review

    try:
        frame = _examples(args.target, args.workspace)
        sample = review.draw_sample(
            frame,
            seed=args.seed,
            fraction=review.DEFAULT_FRACTION if args.fraction is None else args.fraction,
            minimum=review.DEFAULT_MINIMUM if args.minimum is None else args.minimum,
        )
    except (DatasetError, ValueError) as exc:
        return fail(str(exc))
    if args.json:
        print_json(sample.to_json())
    else:
        print(f"{sample.size} of {len(frame)} examples to review (seed {sample.seed})")
        for stratum, count in sample.by_stratum.items():
            print(f"  {stratum}: {count}")
        print("\n".join(sample.ids))
    return 0
