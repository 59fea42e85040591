"""``python -m core convert PATH --to F -o OUT [--format F] [--json]``: write a dataset in another format.

Only rows without errors are converted (rows in quarantine are listed, never silently lost).
Prints, per row, what could not be carried over. Exit 0 when written, 2 when the input cannot
be read or the target format does not hold the input's kind of example.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import formats

_FORMATS = OneOf("core.formats", "FORMAT_NAMES")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("path", type=Path, help="dataset file")
    parser.add_argument("--to", required=True, type=_FORMATS, metavar="FORMAT", help="target format")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output file")
    parser.add_argument(
        "--format", type=_FORMATS, metavar="FORMAT", help="format of the input (default: detected)"
    )
    parser.add_argument(
        "--trl-style",
        type=OneOf("core.formats", "TRL_STYLES"),
        metavar="STYLE",
        help="trl-prompt-completion / trl-preference / trl-kto / trl-prompt-only: every row as message "
        "lists (conversational) or plain strings (standard); default: the input's own style when it has "
        "one, else conversational",
    )
    parser.add_argument(
        "--tokenizer",
        type=Path,
        help="trl-text: render conversations with this local Hugging Face tokenizer's chat template "
        "(a directory with tokenizer.json and tokenizer_config.json; default ChatML markup)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Convert the file; return the exit code."""
    from core import formats

    try:
        render = _renderer(args.tokenizer)
        result = formats.load_dataset(args.path, args.path.name, format=args.format)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc), 2)
    kind = result.detection.kind
    if kind not in formats.format_kinds(args.to):
        targets = ", ".join(formats.formats_for_kind(kind))
        message = (
            f"{args.path.name} holds {kind} examples; {args.to} cannot hold them (choose one of: {targets})"
        )
        if args.json:
            print_json({"error": message})
        return fail(message, 2)
    data, losses = formats.write_dataset(
        result.records,
        args.to,
        column_map=result.column_map,
        trl_style=args.trl_style,
        render=render,
        container=_container_of(args.out, args.to),
    )
    args.out.write_bytes(data)
    summary = _summary(result, args, losses)
    if args.to == "trl-kto":  # a pair becomes two unpaired rows: count what the file holds
        summary["written_rows"] = formats.rows_in(data, args.to)
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _container_of(out: Path, target: str) -> str | None:
    """What the output's name promises: a JSON array for ``.json``, JSON Lines for ``.jsonl``."""
    if target == "csv":
        return None
    return {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(out.suffix.lower())


def _renderer(tokenizer: Path | None) -> Any:
    """The chat template of a local tokenizer as a trl-text renderer, or ``None``."""
    if tokenizer is None:
        return None
    from core import hf_tokens

    local = hf_tokens.load_tokenizer(tokenizer)
    if not local.has_template:
        raise DatasetError(f"{tokenizer}: the tokenizer has no chat template to render conversations with")
    return local.render


def _summary(
    result: formats.LoadResult, args: argparse.Namespace, losses: list[formats.Problem]
) -> dict[str, Any]:
    written = result.valid - sum(1 for p in losses if p.severity == "error")
    return {
        "from": result.detection.format,
        "to": args.to,
        "out": str(args.out),
        "rows": result.valid + result.invalid,
        "written": written,
        "skipped_invalid": result.invalid,
        "skipped_invalid_lines": [int(x) for x in result.quarantine["line"].dropna()],
        "quarantined": result.quarantine_summary(),
        "losses": [{"line": p.line, "severity": p.severity, "message": p.message} for p in losses],
    }


def _render(summary: dict[str, Any]) -> str:
    lines = [
        f"wrote {summary['written']} of {summary['rows']} rows as {summary['to']} to {summary['out']}"
        + (f" ({summary['written_rows']} unpaired rows)" if "written_rows" in summary else ""),
    ]
    if summary["skipped_invalid"]:
        shown = ", ".join(map(str, summary["skipped_invalid_lines"][:20]))
        lines.append(
            f"{summary['skipped_invalid']} invalid row(s) not converted (lines {shown}); run validate"
        )
    if summary["losses"]:
        lines.append(f"{len(summary['losses'])} row(s) lost something:")
        lines.extend(f"  line {loss['line']}: {loss['message']}" for loss in summary["losses"][:50])
    else:
        lines.append("nothing was lost")
    return "\n".join(lines)
