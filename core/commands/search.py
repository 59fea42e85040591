"""``python -m core search PATH [TEXT] [--field all] [--where FACET=V1,V2] [--min M=N] [--max M=N] [-o OUT]``.

Finds the rows of a dataset file that contain TEXT (a substring, case-folded; ``--regex`` for a
regular expression) and meet every filter: ``--where category=billing,returns`` picks facet values
(category, topic, language, kind, source, difficulty, negative, flag; ``--topics`` or a topic filter
groups the prompts into topics first, :mod:`core.topics`), ``--min total_tokens=50`` and
``--max`` bound a measure. Prints the matches (line, id, facets, a snippet around the text) and the
counts per category and language among them; ``-o`` writes the matching rows in the input's format.
The same search as the app's Explore page (:mod:`core.explore`). Exit 0 on success (matches or
not), 2 when the file cannot be read or an option is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.commands._common import fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("path", type=Path, help="dataset file")
    parser.add_argument("text", nargs="?", default="", help="text to find (default: every row)")
    parser.add_argument("--field", default="all", help="where to look: prompt, response or all (default)")
    parser.add_argument("--regex", action="store_true", help="TEXT is a regular expression (RE2)")
    parser.add_argument("--case-sensitive", action="store_true", help="case matters")
    parser.add_argument(
        "--where", action="append", default=[], metavar="FACET=V1,V2", help="keep rows with one of the values"
    )
    parser.add_argument("--min", action="append", default=[], metavar="MEASURE=N", help="lower bound")
    parser.add_argument("--max", action="append", default=[], metavar="MEASURE=N", help="upper bound")
    parser.add_argument("--model", default="gpt-4o-mini", help="tokenizer of the token measures")
    parser.add_argument("--limit", type=int, default=20, help="matches printed (default 20; all go to -o)")
    parser.add_argument("-o", "--out", type=Path, help="write the matching rows here (the input's format)")
    parser.add_argument("--topics", action="store_true", help="group the prompts into topics; count them")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Search the file; return the exit code."""
    from core import explore, formats, profile, quality, topics

    if args.out is not None and args.out.is_dir():
        return fail(f"-o {args.out} is a folder: give the file to write")
    try:
        row_filter = explore.RowFilter(
            text=args.text,
            field=args.field,
            regex=args.regex,
            case_sensitive=args.case_sensitive,
            facets=dict(_where(item) for item in args.where),
            ranges=_ranges(args.min, args.max),
        )
        loaded = formats.load_dataset(args.path, args.path.name)
        frame = loaded.records
        features = profile.compute_features(frame, profile.ProfileConfig(model=args.model))
        flags = (
            explore.flags_by_row(quality.scan_quality(frame).flags) if "flag" in row_filter.facets else None
        )
        grouped = None
        if args.topics or "topic" in row_filter.facets:
            texts = frame["prompt_text"].tolist() if "prompt_text" in frame.columns else [None] * len(frame)
            grouped = topics.find_topics(texts).of_rows()
        table = explore.explore_table(frame, features, flags, grouped)
        rows = explore.matching(table, row_filter)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc))
    summary: dict[str, Any] = {
        "rows": len(frame),
        "matches": len(rows),
        "filters": row_filter.chips(),
        "counts": {
            facet: dict(explore.facet_counts(table, rows, facet).itertuples(index=False))
            for facet in ("category", "language", *(("topic",) if grouped is not None else ()))
        },
        "shown": [explore.row_summary(table, int(r), args.text) for r in rows[: max(args.limit, 0)]],
    }
    if args.out is not None:
        data, losses = formats.write_dataset(frame.iloc[rows], loaded.detection.format)
        args.out.write_bytes(data)
        summary["out"] = {"path": str(args.out), "rows": len(rows), "losses": [p.message for p in losses]}
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _where(item: str) -> tuple[str, tuple[str, ...]]:
    name, sep, values = item.partition("=")
    if not sep or not values:
        raise ValueError(f"--where {item!r}: write FACET=VALUE or FACET=V1,V2")
    return name.strip(), tuple(v.strip() for v in values.split(",") if v.strip())


def _ranges(lows: list[str], highs: list[str]) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for side, items in ((0, lows), (1, highs)):
        for item in items:
            name, sep, value = item.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = None
            if not sep or number is None:
                raise ValueError(f"--{'min' if side == 0 else 'max'} {item!r}: write MEASURE=NUMBER")
            low, high = out.get(name.strip(), (None, None))
            out[name.strip()] = (number, high) if side == 0 else (low, number)
    return out


def _render(summary: dict[str, Any]) -> str:
    conditions = "; ".join(summary["filters"]) or "no filter"
    lines = [f"{summary['matches']:,} of {summary['rows']:,} rows match ({conditions})"]
    for row in summary["shown"]:
        where = f"line {row['line']}" if row["line"] is not None else row["id"]
        lines.append(f"  {where}  [{row['category']}, {row['language']}]  {row['prompt']}")
    if summary["matches"] > len(summary["shown"]):
        lines.append(f"  ... {summary['matches'] - len(summary['shown']):,} more (use --limit or -o)")
    if "out" in summary:
        lines.append(f"wrote {summary['out']['rows']:,} rows to {summary['out']['path']}")
    return "\n".join(lines)
