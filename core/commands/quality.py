"""``python -m core quality PATH [--signals heuristics,pii,perplexity] [--json] [--redact -o OUT]``: flags.

Prints every flag (line, id, signal, code, field, span) and the counts per code. ``perplexity``
reads every reply with the embedded SmolLM2 (started on loopback, or ``--base-url`` and ``--model``
of another llama.cpp server), adds each example's perplexity and IFD under ``"perplexity"`` and
flags ``misaligned_reply``; the scores are kept in ``--workspace W`` (a temporary one without it),
so a second run, or one after a stop, reads only what is missing. Progress goes to stderr. ``--redact -o OUT``
writes the file in its own format with every PII / secret span replaced by a placeholder. Exit 0
when the scan ran (flags are findings, not failures), 2 when the file cannot be read or an option
is invalid.
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
    parser.add_argument(
        "--signals", default="heuristics,pii", help="comma-separated: heuristics, pii, perplexity"
    )
    parser.add_argument("--base-url", help="perplexity: a llama.cpp server's /v1 URL (default: start SmolLM2)")
    parser.add_argument("--model", help="perplexity: the model name at --base-url")
    parser.add_argument("--workspace", type=Path, help="perplexity: where scores are kept between runs")
    parser.add_argument(
        "--redact", action="store_true", help="write a copy with PII and secrets replaced (-o)"
    )
    parser.add_argument("--curate", type=int, metavar="N", help="write the N best, least alike examples (-o)")
    parser.add_argument(
        "--max-similarity", type=float, default=0.5, help="--curate: closest allowed (Jaccard)"
    )
    parser.add_argument("-o", "--out", type=Path, help="where --redact / --curate write (the input's format)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Scan the file; print the flags; redact on request."""
    from core import formats, quality
    from core.quality import perplexity

    if (args.redact or args.curate is not None) and args.out is None:
        return fail("--redact and --curate write a new file: give it with -o OUT")
    if args.redact and args.curate is not None:
        return fail("--redact and --curate each write a file: run them one after the other")
    if args.out is not None and args.out.is_dir():
        return fail(f"-o {args.out} is a folder: give the file to write")
    signals = tuple(s.strip() for s in args.signals.split(",") if s.strip())
    scanned = tuple(s for s in signals if s != "perplexity")
    try:
        loaded = formats.load_dataset(args.path, args.path.name)
        report = quality.scan_quality(loaded.records, scanned)
        scores = _perplexity(loaded.records, args) if "perplexity" in signals else None
    except (DatasetError, ValueError, RuntimeError) as exc:
        return fail(str(exc))
    if scores is not None:
        report = quality.with_flags(report, perplexity.flags_of(scores))
    table = report.frame(loaded.records)
    summary: dict[str, Any] = {
        "rows": report.rows,
        "invalid": loaded.invalid,
        "flags": table.to_dict(orient="records"),
        "counts": {code: n for code, n in report.counts.items() if n or code in quality.CODES},
    }
    if scores is not None:
        summary["perplexity"] = _score_rows(loaded.records, scores)
    if args.redact:
        redacted, replaced = quality.redact(loaded.records, report)
        data, losses = formats.write_dataset(redacted, loaded.detection.format)
        args.out.write_bytes(data)
        summary["out"] = {"path": str(args.out), "replaced": replaced, "losses": [p.message for p in losses]}
    if args.curate is not None:
        try:
            summary["curated"] = _curate(loaded, report, args)
        except ValueError as exc:
            return fail(str(exc))
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _perplexity(frame: Any, args: argparse.Namespace) -> Any:
    """Score every reply (what the workspace does not hold yet), progress on stderr."""
    import sys
    import tempfile

    from core.quality import perplexity
    from core.synth import teachers
    from core.workspace import Workspace

    local = None
    if args.base_url is None:
        local = teachers.local_teacher()
        base_url, model = local.start(), teachers.LOCAL_MODEL
    else:
        base_url, model = args.base_url, args.model or teachers.LOCAL_MODEL

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"\rperplexity: {done}/{total} replies")
        sys.stderr.flush()

    with tempfile.TemporaryDirectory() as scratch:
        ws = Workspace.open(args.workspace or scratch)
        try:
            perplexity.score_missing(ws, frame, base_url, model, progress=progress)
        except perplexity.ScoringError as exc:
            raise RuntimeError(str(exc)) from exc
        finally:
            sys.stderr.write("\n")
            if local is not None:
                local.stop()
        return perplexity.scores_frame(ws, frame, model)


def _score_rows(frame: Any, scores: Any) -> list[dict[str, Any]]:
    lines = frame["source_line"].tolist() if "source_line" in frame.columns else [None] * len(frame)
    return [
        {
            "line": None if line is None or line != line else int(line),
            "id": str(example_id),
            **{k: (None if v != v else round(float(v), 4)) for k, v in row.items()},
        }
        for line, example_id, row in zip(lines, frame["id"], scores.to_dict(orient="records"), strict=True)
    ]


def _curate(loaded: Any, report: Any, args: argparse.Namespace) -> dict[str, Any]:
    from core import formats
    from core.quality.curate import curate

    result = curate(loaded.records, args.curate, max_similarity=args.max_similarity, report=report)
    chosen = loaded.records.iloc[sorted(result.chosen)]
    data, _losses = formats.write_dataset(chosen, loaded.detection.format)
    args.out.write_bytes(data)
    return {"path": str(args.out), "chosen": len(result.chosen), "left_out": result.reasons()}


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
    return "\n".join(lines)
