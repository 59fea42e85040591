"""``python -m core leakage TRAIN OTHER [--method both] [--scope all] [--cosine T] [--threshold J] [--json]``.

Lists every pair of a TRAIN row and an OTHER row (the val or test split, or an external eval file) that
are copies, near copies (shingle Jaccard >= J) or restatements (embedding cosine >= T). ``a`` is the
row in TRAIN and ``b`` the row in OTHER, each as its 1-based line (or record) and id. ``novelty``
says how far OTHER's rows are from TRAIN (:mod:`core.semantic.novelty`: median, 10th percentile, the
share restating a TRAIN row; ``--novelty`` adds each row's score), which answers "is this candidate
file mostly paraphrases of what we have?". Exit 0 on
success (leaks or not), 2 when a file cannot be read or an option is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import core.semantic as semantic
from core.commands._common import fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("train", type=Path, help="the training file")
    parser.add_argument("other", type=Path, help="the val/test split or an eval file")
    add_pair_options(parser, default_method="both")
    parser.add_argument(
        "--novelty", action="store_true", help="also list each OTHER row's novelty (1 - nearest cosine)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_pair_options(parser: argparse.ArgumentParser, *, default_method: str) -> None:
    """Declare ``--method``, ``--cosine``, ``--threshold`` and ``--scope`` (shared with ``dedup``)."""
    parser.add_argument(
        "--method", choices=semantic.METHODS, default=default_method, help="what links two rows"
    )
    parser.add_argument(
        "--cosine", type=float, default=semantic.DEFAULT_COSINE, help="embedding cosine for semantic pairs"
    )
    parser.add_argument(
        "--threshold", type=float, default=semantic.DEFAULT_JACCARD, help="Jaccard threshold for near pairs"
    )
    parser.add_argument(
        "--scope",
        default="all",
        help="text compared: all, or prompt, response, chosen, rejected joined by + (default all)",
    )


def run(args: argparse.Namespace) -> int:
    """Compare the two files; return the exit code."""
    from core import formats
    from core.semantic import novelty, pairs

    try:
        settings = pairs.PairSettings(
            method=args.method, cosine=args.cosine, threshold=args.threshold, scope=args.scope
        )
        train = formats.load_dataset(args.train, args.train.name).records
        other = formats.load_dataset(args.other, args.other.name).records
        found = pairs.leakage_pairs(train, other, settings)
        fresh = novelty.row_novelty(other, settings, against=train)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc))
    report = {
        "pairs": [pairs.pair_json(p, train, other) for p in found],
        "counts": {
            **pairs.pair_counts(found),
            "train_rows": len(train),
            "other_rows": len(other),
            "train_rows_leaking": len({p.a for p in found}),
            "other_rows_leaked": len({p.b for p in found}),
        },
        "novelty": {
            **fresh.summary(),
            **({"per_row": [round(float(v), 4) for v in fresh.scores]} if args.novelty else {}),
        },
        "method": settings.method,
        "cosine": settings.cosine,
        "threshold": settings.threshold,
        "scope": settings.scope,
    }
    if args.json:
        print_json(report)
    else:
        print(_render(report))
    return 0


def _render(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        f"{counts['other_rows_leaked']} of {counts['other_rows']} rows of OTHER have a match in TRAIN"
        f" ({counts['pairs']} pairs: {counts['semantic']} semantic, {counts['lexical']} lexical)",
        f"novelty of OTHER against TRAIN: median {report['novelty']['median']:.2f},"
        f" {report['novelty']['paraphrase_share']:.0%} of its rows restate a TRAIN row",
    ]
    for pair in report["pairs"][:20]:
        lines.append(
            f"  train line {pair['a']['line']} ~ other line {pair['b']['line']}  "
            f"cosine {pair['cosine']:.2f}  Jaccard {pair['jaccard']:.2f}  ({pair['method']})"
        )
    if len(report["pairs"]) > 20:
        lines.append(f"  ... {len(report['pairs']) - 20} more pairs (use --json)")
    return "\n".join(lines)
