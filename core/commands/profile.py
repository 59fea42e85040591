"""``python -m core profile PATH [--production PROD] [--tokenizer DIR [--max-length N]] [--json]``.

Profiles a dataset (lengths, categories, difficulty, languages, negatives), runs the readiness
checklist, compares with a production sample when one is given, and lists the targets for the
next round. With ``--tokenizer`` (a local Hugging Face tokenizer directory, nothing downloaded)
every example is counted with that tokenizer's chat template, the way TRL tokenizes it, and
``--max-length`` names the examples a trainer would truncate (the checklist's ``token_limit``
holds those counts against it, instead of the target model's limit). Exit codes: 0 done, 2 the file
or the tokenizer cannot be read (or a bad argument).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MODEL = "gpt-4.1-mini"
_ICONS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not_labelled": "----", "not_run": "----"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "path", type=Path, help="dataset file (.jsonl, .json, .csv, .parquet, optionally .gz)"
    )
    parser.add_argument(
        "--production", type=Path, help="production sample: a dataset file or plain text, one per line"
    )
    parser.add_argument("--category-field", help="field holding the category (default: 'category')")
    parser.add_argument("--difficulty-field", help="field holding the difficulty (default: 'difficulty')")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"target model (default {DEFAULT_MODEL})")
    parser.add_argument(
        "--task-type",
        default="complex style",
        type=OneOf("core.profile", "TASK_SIZES"),
        metavar="TASK",
        help="task type for the dataset-size rule (default: complex style; a wrong one lists them)",
    )
    parser.add_argument(
        "--tokenizer",
        type=Path,
        help="local Hugging Face tokenizer (a directory with tokenizer.json and tokenizer_config.json): "
        "count tokens with its chat template",
    )
    parser.add_argument(
        "--max-length", type=int, help="with --tokenizer: flag examples longer than this many tokens"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling and clustering (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")


def map_field(records: pd.DataFrame, field: str, column: str) -> pd.DataFrame:
    """Copy ``field`` (a column, or a key of the rows' ``extra``) into ``column``.

    Raises:
        DatasetError: If no row has the field.
    """
    import pandas as pd

    out = records.copy()
    if field in out.columns:
        out[column] = out[field]
        return out
    extras = out["extra"] if "extra" in out.columns else pd.Series([None] * len(out))
    values = [e.get(field) if isinstance(e, dict) else None for e in extras]
    if all(v is None for v in values):
        raise DatasetError(f"no row has a field {field!r}; fields: {', '.join(map(str, out.columns))}")
    out[column] = values
    return out


def build_report(args: argparse.Namespace) -> dict[str, Any]:
    """Load, profile and compare; return the JSON payload (raises DatasetError on bad data)."""
    from core import drift, profile
    from core.formats import load_dataset

    tokenizer = _local_tokenizer(args)  # before the profile: a wrong path fails at once
    records = load_dataset(args.path, args.path.name).records
    if args.category_field:
        records = map_field(records, args.category_field, "category")
    if args.difficulty_field:
        records = map_field(records, args.difficulty_field, "difficulty")
    config = profile.ProfileConfig(model=args.model, task_type=args.task_type)
    features = profile.compute_features(records, config)
    report = None
    if args.production is not None:
        production = drift.load_production(args.production, args.production.name)
        from core.semantic.model import printed_progress

        report = drift.compare(
            features,
            production,
            model=args.model,
            seed=args.seed,
            progress=printed_progress("embedding train and production"),
        )
    steps = profile.StepSummaries(uncovered_share=report.uncovered_share if report else None)
    local = None
    if tokenizer is not None and args.max_length is not None:  # the check holds what the trainer truncates
        from core import hf_tokens

        counts, _ = hf_tokens.count_each(records, tokenizer)
        local = profile.LocalLimit(args.max_length, counts, f"{_named(tokenizer.path)}'s chat template")
    result = profile.build_profile(
        features, config, steps=steps, clusters=report.targets() if report else (), local_limit=local
    )
    payload = result.summary()
    payload["drift"] = report.summary() if report else None
    out = {
        key: payload[key]
        for key in (
            "rows",
            "tokens",
            "categories",
            "difficulty",
            "languages",
            "negatives",
            "checks",
            "drift",
            "targets",
        )
    }
    if tokenizer is not None:  # only with --tokenizer: the payload keeps its shape otherwise
        from core import hf_tokens

        out["model_tokens"] = hf_tokens.length_report(records, tokenizer, args.max_length)
    return out


def _named(path: Path) -> str:
    return path.parent.name if path.is_file() else path.name


def _local_tokenizer(args: argparse.Namespace) -> Any:
    """The ``--tokenizer`` directory read (``None`` without it); checks ``--max-length`` too."""
    if args.max_length is not None and args.tokenizer is None:
        raise DatasetError("--max-length needs --tokenizer DIR (the model's local tokenizer)")
    if args.max_length is not None and args.max_length < 1:
        raise DatasetError(f"--max-length must be a positive number of tokens, got {args.max_length}")
    if args.tokenizer is None:
        return None
    from core import hf_tokens

    return hf_tokens.load_tokenizer(args.tokenizer)


def _render_model_tokens(tokens: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Tokens with {tokens['tokenizer']}'s chat template: max {tokens['max']}, mean {tokens['mean']}, "
        f"p95 {tokens['p95']}, total {tokens['total']}",
    ]
    if tokens["rejected"]:
        lines.append(
            f"  {tokens['rejected']} examples the chat template rejects (lines "
            + ", ".join(str(n) for n in tokens["rejected_lines"])
            + f"): {tokens['rejected_reason']}"
        )
    if tokens.get("max_length") is not None:
        shown = ", ".join(
            f"line {line} ({n})" for line, n in zip(tokens["over_lines"], tokens["over_tokens"], strict=True)
        )
        more = ", ..." if tokens["over"] > len(tokens["over_lines"]) else ""
        lines.append(
            f"  {tokens['over']} of {tokens['rows']} examples are longer than {tokens['max_length']} tokens"
            + (f" (a trainer truncates them): {shown}{more}" if tokens["over"] else "")
        )
    return lines


def render(payload: dict[str, Any]) -> str:
    """Return the report for a person (the checklist, then the targets)."""
    lines = [f"{payload['rows']} examples", "", "Readiness checklist:"]
    lines += [f"  [{_ICONS[c['status']]}] {c['id']}: {c['message']}" for c in payload["checks"]]
    if payload.get("model_tokens"):
        lines += _render_model_tokens(payload["model_tokens"])
    if payload["targets"]:
        lines += ["", "Targets for the next round:"]
        lines += [f"  {t['kind']:<10} {t['value']:<30} +{t['missing']}" for t in payload["targets"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Profile the file and print the report; return the exit code."""
    try:
        payload = build_report(args)
    except DatasetError as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc), 2)
    if args.json:
        print_json(payload)
    else:
        print(render(payload))
    return 0
