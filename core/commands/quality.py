"""``python -m core quality PATH [--signals S] [--outliers N] [--representative N] [--json] [--redact -o O]``.

Prints every flag (line, id, signal, code, field, span) and the counts per code. ``perplexity``
and ``judge`` ask a model (:mod:`core.commands._model_signals`) and add ``"perplexity"`` (each
example's perplexity and IFD) and ``"judge"`` (the judging run's outcome and spend) to the
summary. ``--redact -o OUT`` writes the file in its own format with every PII / secret span
replaced by a placeholder. ``--outliers N`` / ``--representative N`` add ``"typicality"``: the N rows
least / most like their nearest rows by embedding, each with its reason.
Exit 0 when the scan ran (flags are findings, not failures), 2 when the
file cannot be read or an option is invalid, 3 when another runner holds the judging run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.commands import _model_signals
from core.commands._common import fail, print_json
from core.commands._model_signals import MODEL_SIGNALS
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("path", type=Path, help="dataset file")
    parser.add_argument(
        "--signals", default="heuristics,pii", help="comma-separated: heuristics, pii, perplexity, judge"
    )
    _model_signals.add_arguments(parser)
    parser.add_argument(
        "--redact", action="store_true", help="write a copy with PII and secrets replaced (-o)"
    )
    parser.add_argument("--curate", type=int, metavar="N", help="write the N best, least alike examples (-o)")
    parser.add_argument(
        "--max-similarity", type=float, default=0.5, help="--curate by words: closest allowed (Jaccard)"
    )
    parser.add_argument(
        "--closeness",
        choices=("auto", "semantic", "lexical"),
        default="auto",
        help="--curate: by meaning (embeddings, MMR) or by words; auto: meaning when the model loads",
    )
    parser.add_argument("--max-cosine", type=float, default=0.85, help="--curate by meaning: closest allowed")
    parser.add_argument(
        "--outliers", type=int, metavar="N", help="list the N rows least like their nearest rows (embeddings)"
    )
    parser.add_argument(
        "--representative", type=int, metavar="N", help="list the N rows most like their nearest rows"
    )
    parser.add_argument("-o", "--out", type=Path, help="where --redact / --curate write (the input's format)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Scan the file; print the flags; redact on request."""
    from core import formats, quality

    refused = _refused(args)
    if refused:
        return fail(refused)
    signals = tuple(s.strip() for s in args.signals.split(",") if s.strip())
    try:
        loaded = formats.load_dataset(args.path, args.path.name)
        report = quality.scan_quality(loaded.records, tuple(s for s in signals if s not in MODEL_SIGNALS))
        flags, scores = _model_signals.model_signals(loaded.records, signals, args)
    except _model_signals.RunnerBusy as exc:
        return fail(str(exc), 3)
    except (DatasetError, ValueError, RuntimeError) as exc:
        return fail(str(exc))
    report = quality.with_flags(report, flags)
    table = report.frame(loaded.records)
    summary: dict[str, Any] = {
        "rows": report.rows,
        "invalid": loaded.invalid,
        "flags": table.to_dict(orient="records"),
        "counts": {code: n for code, n in report.counts.items() if n or code in quality.CODES},
        **scores,
    }
    if args.redact:
        redacted, replaced = quality.redact(loaded.records, report)
        data, losses = formats.write_dataset(redacted, loaded.detection.format)
        args.out.write_bytes(data)
        summary["out"] = {"path": str(args.out), "replaced": replaced, "losses": [p.message for p in losses]}
    try:
        if args.curate is not None:
            summary["curated"] = _curate(loaded, report, args)
        if args.outliers is not None or args.representative is not None:
            summary["typicality"] = _typicality(loaded.records, args)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _refused(args: argparse.Namespace) -> str | None:
    """Why the options cannot run together, if they cannot."""
    if (args.redact or args.curate is not None) and args.out is None:
        return "--redact and --curate write a new file: give it with -o OUT"
    if args.redact and args.curate is not None:
        return "--redact and --curate each write a file: run them one after the other"
    if args.out is not None and args.out.is_dir():
        return f"-o {args.out} is a folder: give the file to write"
    return None


def _curate(loaded: Any, report: Any, args: argparse.Namespace) -> dict[str, Any]:
    from core import formats
    from core.quality.curate import curate
    from core.semantic.model import printed_progress

    result = curate(
        loaded.records,
        args.curate,
        max_similarity=args.max_similarity,
        report=report,
        method=args.closeness,
        max_cosine=args.max_cosine,
        progress=printed_progress("embedding for curate"),
    )
    chosen = loaded.records.iloc[sorted(result.chosen)]
    data, _losses = formats.write_dataset(chosen, loaded.detection.format)
    args.out.write_bytes(data)
    return {
        "path": str(args.out),
        "chosen": len(result.chosen),
        "closeness": result.method,
        "left_out": result.reasons(),
    }


def _typicality(frame: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The outliers and the most representative rows (:mod:`core.semantic.representative`)."""
    from core.semantic import representative
    from core.semantic.model import printed_progress

    found = representative.row_typicality(frame, progress=printed_progress("embedding for typicality"))
    return {
        "k": found.k,
        "outliers": representative.ranked_rows(frame, found, found.outliers(args.outliers or 0)),
        "representative": representative.ranked_rows(
            frame, found, found.representative(args.representative or 0)
        ),
    }


def _render(summary: dict[str, Any]) -> str:
    found = {code: n for code, n in summary["counts"].items() if n}
    lines = [f"{summary['rows']} examples, {len(summary['flags'])} flags" + (f": {found}" if found else "")]
    for flag in summary["flags"][:50]:
        where = f"line {flag['line']}" if flag["line"] is not None else f"id {flag['id']}"
        span = flag["span"]["text"][:60]
        lines.append(f"  {where}  {flag['code']:<22} {flag['field']}  {span!r}  ({flag['reason']})")
    if len(summary["flags"]) > 50:
        lines.append(f"  ... {len(summary['flags']) - 50} more (use --json)")
    if "out" in summary:
        lines.append(f"wrote {summary['out']['path']} with {summary['out']['replaced']} spans redacted")
    if "curated" in summary:
        curated = summary["curated"]
        lines.append(
            f"wrote the {curated['chosen']} best to {curated['path']}; left out: {curated['left_out']}"
        )
    for kind in ("outliers", "representative"):
        for row in summary.get("typicality", {}).get(kind, []):
            lines.append(f"  {kind[:-1] if kind == 'outliers' else kind}: {row['id']}  {row['reason']}")
    return "\n".join(lines)
