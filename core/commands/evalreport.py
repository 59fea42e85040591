"""``python -m core evalreport RESULTS [--baseline RESULTS] --json``: metrics, worst slices, comparison.

Columns are found by their usual names (``id``, ``input``, ``expected`` / ``label`` / ``gold``,
``predicted`` / ``prediction`` / ``output``, ``category``, ``score``) or given with the ``--*-col``
flags. Exit 0 on success, 2 when a file cannot be read or its columns cannot be found.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import evalloop

_ROLE_FLAGS = ("id", "input", "expected", "predicted", "category", "score")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("results", type=Path, help="eval results (CSV, JSONL or a JSON array)")
    parser.add_argument(
        "--baseline", type=Path, help="results to compare with (base model or the last round)"
    )
    for role in _ROLE_FLAGS:
        parser.add_argument(f"--{role}-col", dest=f"{role}_col", metavar="COLUMN", help=f"the {role} column")
    parser.add_argument(
        "--task",
        type=OneOf("core.evalloop", "TASKS", "auto"),
        metavar="TASK",
        default="auto",
        help="labels or free text (default auto)",
    )
    parser.add_argument(
        "--min-n", type=int, default=5, help="smallest slice listed among the worst (default 5)"
    )
    parser.add_argument("--limit", type=int, default=10, help="how many worst slices to list (default 10)")
    parser.add_argument(
        "--tolerance", type=float, default=0.02, help="smallest change that counts (default 0.02)"
    )
    parser.add_argument(
        "--no-language", action="store_true", help="skip language detection (about 5 ms a row)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run the command; return the exit code."""
    from core import evalloop

    overrides = {role: getattr(args, f"{role}_col") for role in _ROLE_FLAGS}
    task = None if args.task == "auto" else args.task
    try:
        report = _report(args.results, overrides, task, args)
        payload: dict[str, Any] = report.to_json(min_n=args.min_n, limit=args.limit)
        payload["comparison"] = None
        if args.baseline is not None:
            baseline = _report(args.baseline, overrides, report.task, args)
            payload["comparison"] = evalloop.compare_results(
                report, baseline, tolerance=args.tolerance
            ).to_json()
    except (DatasetError, ValueError, OSError) as exc:
        return fail(str(exc))
    if args.json:
        print_json(payload)
    else:
        _print_text(payload)
    return 0


def _report(
    path: Path, overrides: dict[str, str | None], task: str | None, args: argparse.Namespace
) -> evalloop.EvalReport:
    from core import evalloop

    frame = evalloop.read_results(path, overrides=overrides)
    return evalloop.build_report(frame, task=task, languages=not args.no_language)


def _print_text(payload: dict[str, Any]) -> None:
    overall = payload["overall"]
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in overall.items() if isinstance(v, float))
    print(f"{payload['rows']} rows ({payload['task']}): {metrics}")
    for name, item in payload["per_category"].items():
        print(
            f"  {name:<24} P {item['precision']:.2f}  R {item['recall']:.2f}  "
            f"F1 {item['f1']:.2f}  n {item['support']}"
        )
    print("Worst slices:")
    for item in payload["worst_slices"]:
        print(f"  {item['slice']:<36} {item['metric']} {item['value']:.2f}  (n={item['n']})")
    comparison = payload.get("comparison")
    if comparison:
        print(f"Against the baseline ({comparison['matched']} shared rows):")
        for item in [comparison["overall"], *comparison["slices"]]:
            print(f"  {item['slice']:<36} {item['delta']:+.2f}  {item['verdict']}  {item['note']}")
