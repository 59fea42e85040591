"""``python -m core review-sample BATCH_OR_FILE``: the reproducible review sample, and its reviewers.

With a batch id, ``--assign ana,ben`` shares the batch's sample among reviewers (an ``--overlap`` that
everyone reviews) as the Review page does, and ``--progress`` prints each reviewer's progress and
their agreement (Cohen's kappa on pass/fail) on the shared examples.
"""

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
    parser.add_argument(
        "--assign", metavar="NAMES", help="a batch's sample shared among these reviewers (comma separated)"
    )
    parser.add_argument(
        "--overlap",
        type=float,
        default=None,
        help="share every reviewer reviews, with --assign (default 0.2)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="a batch's reviewers: progress and agreement on the overlap"
    )


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


def _batch_sample(args: argparse.Namespace) -> list[str]:
    """Return the batch's saved sample, drawing and saving it (with ``--seed``) if it has none."""
    from core import review
    from core.workspace import Workspace

    store = review.ReviewStore(Workspace.open(args.workspace))
    return store.sample_ids(args.target) or store.ensure_sample(
        args.target, _examples(args.target, args.workspace), seed=args.seed
    )


def _assign(args: argparse.Namespace) -> int:
    from core import review
    from core.workspace import Workspace

    overlap = review.DEFAULT_OVERLAP if args.overlap is None else args.overlap
    ids = _batch_sample(args)
    plan = review.assign.plan(ids, args.assign.split(","), overlap=overlap, seed=args.seed)
    review.ReviewStore(Workspace.open(args.workspace)).assign(args.target, plan, seed=args.seed)
    payload = {
        "batch": args.target,
        "size": len(ids),
        "seed": args.seed,
        "overlap": overlap,
        "shared": [i for i in ids if i in plan.shared],
        "reviewers": {name: list(queue) for name, queue in plan.queues.items()},
    }
    if args.json:
        print_json(payload)
    else:
        print(f"{len(ids)} sampled examples of {args.target}, {len(plan.shared)} shared by every reviewer")
        for name, queue in plan.queues.items():
            print(f"  {name}: {len(queue)}")
    return 0


def _progress(args: argparse.Namespace) -> int:
    from core import review
    from core.workspace import Workspace

    store = review.ReviewStore(Workspace.open(args.workspace))
    if not store.sample_ids(args.target):
        raise DatasetError(f"{args.target}: no review sample drawn for this batch yet")
    assignments = store.assignments(args.target)
    by_reviewer = store.reviewer_decisions(args.target)
    rate = store.pass_rate(args.target)
    shared = assignments.loc[assignments["shared"] == 1, "example_id"].unique().tolist()
    payload = {
        "batch": args.target,
        "size": rate.sample_size,
        "reviewed": rate.reviewed,
        "pass_rate": rate.rate,
        "reviewers": [
            {"reviewer": p.reviewer, "assigned": p.assigned, "done": p.done, "remaining": p.remaining}
            for p in review.assign.progress(assignments, by_reviewer)
        ],
        "agreement": [
            {
                "a": p.a,
                "b": p.b,
                "kappa": None if p.kappa != p.kappa else p.kappa,
                "n": p.n,
                "agreed": p.agreed,
            }
            for p in review.assign.agreement(by_reviewer, shared or None)
        ],
    }
    if args.json:
        print_json(payload)
    else:
        print(f"{rate.reviewed} of {rate.sample_size} sampled examples of {args.target} reviewed")
        for row in payload["reviewers"]:
            print(f"  {row['reviewer']}: {row['done']} of {row['assigned']} done")
        for pair in payload["agreement"]:
            print(f"  kappa {pair['a']} / {pair['b']}: {pair['kappa']} on {pair['n']} shared examples")
    return 0


def run(args: argparse.Namespace) -> int:
    """Draw the sample and print it (or share a batch's sample among reviewers, or report on them)."""
    from core import review

    if args.assign is not None or args.progress:
        if Path(args.target).exists():
            return fail("--assign and --progress take a synthetic batch id (its sample lives in a workspace)")
        try:
            return _assign(args) if args.assign is not None else _progress(args)
        except (DatasetError, ValueError) as exc:
            return fail(str(exc))
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
