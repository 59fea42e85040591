"""``python -m core validate PATH [--format F] [--model M] [--json]``: check a dataset line by line.

Exit codes: 0 every row valid and no file-level error, 1 some row invalid (or a file-level
error such as fewer than 10 examples), 2 the file cannot be read or its format is unknown.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import formats

DEFAULT_MODEL = "gpt-4.1-mini"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "path", type=Path, help="dataset file (.jsonl, .json, .csv, .parquet, optionally .gz)"
    )
    parser.add_argument(
        "--format",
        type=OneOf("core.formats", "FORMAT_NAMES"),
        metavar="FORMAT",
        help="format of the file (default: detected; a wrong name lists the known ones)",
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"target model for token limits (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")


def run(args: argparse.Namespace) -> int:
    """Validate the file and print the report; return the exit code."""
    from core import formats

    try:
        result = formats.load_dataset(args.path, args.path.name, format=args.format, model=args.model)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc), "format": args.format, "rows": 0})
        return fail(str(exc), 2)
    summary = summarise(result)
    if args.json:
        print_json(summary)
    else:
        print(render(summary, result))
    return exit_code(result)


def exit_code(result: formats.LoadResult) -> int:
    """0 when every row is valid and no file-level error, else 1."""
    return 1 if result.invalid or result.errors else 0


def summarise(result: formats.LoadResult) -> dict[str, Any]:
    """Return the JSON summary of a validation (the command-line contract)."""
    stats = result.token_stats or {"total": 0, "max": 0, "mean": 0.0}
    return {
        "format": result.detection.format,
        "kind": result.detection.kind,
        "rows": result.valid + result.invalid,
        "valid": result.valid,
        "invalid": result.invalid,
        "errors": [_problem(p) for p in result.errors],
        "warnings": [_problem(p) for p in result.warnings],
        "tokens": {
            "total": int(stats["total"]),
            "max": int(stats["max"]),
            "mean": round(float(stats["mean"]), 2),
        },
        "detection": {"confidence": result.detection.confidence, "reason": result.detection.reason},
    }


def _problem(problem: formats.Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"line": problem.line, "field": problem.field, "code": problem.code}
    if problem.text_line is not None and problem.text_line != problem.line:
        out["text_line"] = problem.text_line  # ``line`` is a record number (JSON array)
    out["message"] = problem.message
    if problem.fix:
        out["fix"] = problem.fix
    return out


def _where(item: dict[str, Any]) -> str:
    if item["line"] is None:
        return "file"
    if "text_line" in item:
        return f"record {item['line']} (line {item['text_line']})"
    return f"line {item['line']}"


def render(summary: dict[str, Any], result: formats.LoadResult, limit: int = 50) -> str:
    """Return a readable report: counts, then errors and warnings (the first ``limit`` of each)."""
    lines = [
        f"{result.source_name}: {summary['format']} ({summary['kind']}), "
        f"detected with confidence {result.detection.confidence:.2f}: {result.detection.reason}",
        f"rows {summary['rows']}, valid {summary['valid']}, invalid {summary['invalid']}",
        "tokens total {total}, max {max}, mean {mean}".format(**summary["tokens"]),
    ]
    for title, items in (("errors", summary["errors"]), ("warnings", summary["warnings"])):
        lines.append(f"{len(items)} {title}" + (":" if items else ""))
        for item in items[:limit]:
            where = _where(item)
            field = f" {item['field']}" if item["field"] else ""
            fix = f" (fix: {item['fix']})" if item.get("fix") else ""
            lines.append(f"  {where}{field} [{item['code']}] {item['message']}{fix}")
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more (use --json for all)")
    return "\n".join(lines)
