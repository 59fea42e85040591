"""``python -m core generate SEEDS --n N --budget USD --model M --out OUT``: synthetic examples from seeds.

The run lives in a workspace (``--workspace``, default a fresh temporary folder); rerunning the
same command with the same ``--workspace`` and ``--run-id`` resumes it without resending what
already finished. The API key is read from ``OPENAI_API_KEY`` (or ``--api-key-env NAME``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from core.commands._common import fail, print_json
from core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("seeds", help="dataset file to take seed examples from")
    parser.add_argument("--n", type=int, required=True, help="examples to generate")
    parser.add_argument("--budget", type=float, required=True, help="hard budget in USD")
    parser.add_argument("--model", required=True, help="teacher model id ('local' for the offline teacher)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    parser.add_argument(
        "--price-in", type=float, help="USD per 1M input tokens (for models not in the table)"
    )
    parser.add_argument("--price-out", type=float, help="USD per 1M output tokens")
    parser.add_argument("--price-cached", type=float, help="USD per 1M cached input tokens")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--mode", default="variations", choices=("variations", "preference", "paraphrase"))
    parser.add_argument("--seeds-per-request", type=int, default=3)
    parser.add_argument("--language", help="ISO code the examples must be written in (checked)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds")
    parser.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key"
    )
    parser.add_argument("--workspace", help="workspace folder (keeps the run; reuse it to resume)")
    parser.add_argument("--run-id", help="run id (reuse with --workspace to resume)")
    parser.add_argument("--out", required=True, help="where to write the valid examples")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Generate, print the summary and write the valid examples."""
    from core.synth import runner, store

    try:
        ws, frame, source_format = _workspace_with_seeds(args)
        run_id = _existing_or_new_run(ws, frame, args)
    except (DatasetError, ValueError, RuntimeError) as exc:
        return fail(str(exc))
    stopped_by = runner.execute_run(ws, run_id)
    meter = runner.progress(ws, run_id)
    valid = store.batch_examples(ws, run_id, valid_only=True)
    target = (store.get_run(ws, run_id) or {}).get("config", {}).get("rules", {}).get("target_format")
    _write_examples(valid, Path(args.out), target or source_format)
    summary = {
        "requested": meter.requested,
        "generated": meter.generated,
        "valid": meter.valid,
        "invalid": meter.invalid,
        "spent_usd": round(meter.spent_usd, 8),
        "budget_usd": meter.budget_usd,
        "tokens_in": meter.tokens_in,
        "tokens_out": meter.tokens_out,
        "stopped_by": stopped_by,
    }
    if args.json:
        print_json({**summary, "run_id": run_id, "workspace": str(ws.root), "out": args.out})
    else:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0 if stopped_by in ("done", "budget", "cancel") else 1


def _workspace_with_seeds(args: argparse.Namespace) -> tuple[Any, pd.DataFrame, str | None]:
    from core.workspace import Workspace

    ws = Workspace.open(args.workspace or tempfile.mkdtemp(prefix="trainset-generate-"))
    frame = ws.current_dataset()
    info = ws.dataset_info()
    if frame is not None and info is not None:
        return ws, frame, info.source_format
    frame, source_format = load_seeds(Path(args.seeds))
    ws.save_dataset(
        frame, note=f"seeds {Path(args.seeds).name}", name=Path(args.seeds).name, source_format=source_format
    )
    return ws, frame, source_format


def _existing_or_new_run(ws: Any, frame: pd.DataFrame, args: argparse.Namespace) -> str:
    from core.synth import prompts, runner, store, validators

    if args.run_id and store.get_run(ws, args.run_id) is not None:
        return str(args.run_id)
    teacher = _teacher(args)
    price = _price(args, teacher)
    settings = runner.RunSettings(
        teacher=teacher,
        price=price,
        budget_usd=args.budget,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
    )
    plan = prompts.PlanConfig(
        mode=args.mode, n=args.n, seeds_per_request=args.seeds_per_request, language=args.language
    )
    locked = set((ws.get_state("split.lock") or {}).get("ids", []))
    seeds = prompts.eligible_seeds(frame, locked_ids=locked)
    info = ws.dataset_info()
    target = validators.target_format_for(info.source_format if info else None, args.mode)
    rules = validators.rules_from_data(frame, args.mode, target_format=target, language=args.language)
    return runner.create_run(ws, seeds, plan, settings, rules, run_id=args.run_id)


def _teacher(args: argparse.Namespace) -> Any:
    from core.synth import teachers

    if args.model == "local" and not args.base_url:
        return teachers.local_config(teachers.local_teacher().start())
    return teachers.TeacherConfig(
        base_url=args.base_url or "https://api.openai.com/v1",
        model=args.model,
        provider="openai" if not args.base_url else "custom",
        key_env=args.api_key_env,
        timeout_s=args.timeout,
    )


def _price(args: argparse.Namespace, teacher: Any) -> Any:
    from core.synth.budget import FREE, Price, lookup_price

    if args.price_in is not None or args.price_out is not None:
        if args.price_in is None or args.price_out is None:
            raise ValueError("give both --price-in and --price-out")
        return Price(args.price_in, args.price_out, args.price_cached)
    if teacher.provider == "local":
        return FREE
    price = lookup_price(teacher.model)
    if price is None:
        raise ValueError(
            f"no price known for model {teacher.model!r}: pass --price-in and --price-out "
            "(0 and 0 for a free local server)"
        )
    return price


def load_seeds(path: Path) -> tuple[pd.DataFrame, str | None]:
    """Read a seeds file into the canonical table (with ``core.formats`` when it is available).

    Raises:
        DatasetError: If the file cannot be read or holds no usable example.
    """
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    try:
        from core.formats import load_dataset
    except ImportError:
        return _load_chat_jsonl(path), "openai-sft"
    result = load_dataset(path.read_bytes(), path.name)
    return result.records, result.detection.format


def _load_chat_jsonl(path: Path) -> pd.DataFrame:
    from core import records

    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name}, line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise DatasetError(f"{path.name}, line {number}: field 'messages' must be a list")
        extra = {k: v for k, v in data.items() if k != "messages"}
        rows.append(records.make_record("sft", data["messages"], extra=extra, raw=data, source_line=number))
    if not rows:
        raise DatasetError(f"{path.name}: no examples")
    return records.make_frame(rows)


def _write_examples(frame: pd.DataFrame, out: Path, source_format: str | None) -> None:
    """Write examples in the seeds' format (``core.formats`` writer if present, else chat JSONL)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = _formats_writer()
    if writer is not None and source_format:
        data, _problems = writer(frame, source_format)
        out.write_bytes(data)
        return
    lines = [json.dumps(_chat_row(row), ensure_ascii=False) for _, row in frame.iterrows()]
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _formats_writer() -> Any:
    try:
        from core import formats
    except ImportError:
        return None
    return getattr(formats, "write_dataset", None)


def _chat_row(row: pd.Series) -> dict[str, Any]:
    if row.get("kind") == "preference":
        return {
            "input": {"messages": row["messages"]},
            "preferred_output": row["chosen"],
            "non_preferred_output": row["rejected"],
        }
    out: dict[str, Any] = {"messages": row["messages"]}
    if isinstance(row.get("category"), str):
        out["category"] = row["category"]
    return out
