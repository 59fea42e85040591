"""``python -m core dedup PATH [--threshold 0.8] [--scope all] [--keep first] [-o OUT] [--json]``.

Finds exact and near duplicates in a dataset file and prints, per cluster, the row kept and
the rows removed; ``-o`` writes the deduplicated rows in the input's format. Exit 0 on
success, 2 when the file cannot be read or an option is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("path", type=Path, help="dataset file")
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold for near duplicates")
    parser.add_argument(
        "--scope",
        default="all",
        help="text compared: all, or prompt, response, chosen, rejected joined by + (default all)",
    )
    parser.add_argument(
        "--keep",
        default="first",
        type=OneOf("core.dedup", "KEEP_POLICIES"),
        metavar="POLICY",
        help="which member stays (default first; a wrong name lists the policies)",
    )
    parser.add_argument("--include-system", action="store_true", help="also compare the system prompt")
    parser.add_argument("--shingle-size", type=int, default=5, help="words per shingle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, help="write the deduplicated file here (input's format)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Deduplicate the file; return the exit code."""
    from core import dedup
    from core.dedup.files import dedup_file

    try:
        config = dedup.DedupConfig(
            threshold=args.threshold,
            scope=args.scope,
            include_system=args.include_system,
            shingle_size=args.shingle_size,
            seed=args.seed,
        )
        done = dedup_file(args.path, config, policy=args.keep, out=args.out)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc))
    summary = done.summary(args.out)
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _render(summary: dict[str, Any]) -> str:
    removed = summary["exact_duplicates"] + summary["near_duplicates"]
    lines = [
        f"{summary['rows']} rows: {summary['exact_duplicates']} exact and {summary['near_duplicates']} near"
        f" duplicates ({summary['removed_fraction']:.1%}, {removed} rows)"
        f" in {len(summary['clusters'])} clusters",
        *summary["notes"],
    ]
    for cluster in summary["clusters"][:20]:
        lines.append(
            f"  keep {cluster['kept']}  remove {', '.join(cluster['removed'])}  "
            f"({cluster['kind']}, min Jaccard {cluster['min_jaccard']:.2f})"
        )
    if len(summary["clusters"]) > 20:
        lines.append(f"  ... {len(summary['clusters']) - 20} more clusters (use --json)")
    if "out" in summary:
        lines.append(f"wrote {summary['out']['rows']} rows to {summary['out']['path']}")
    return "\n".join(lines)
