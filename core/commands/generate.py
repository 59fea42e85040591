"""``python -m core generate SEEDS --n N --budget USD --model M --out OUT``: synthetic examples from seeds.

The run lives in a workspace (``--workspace``, default a fresh temporary folder); rerunning the
command with the same ``--workspace`` and ``--run-id`` resumes it without resending what already
finished. Everything is checked before anything is sent or written: numbers, paths, the workspace
database, and on a resume that the flags match the stored run. One runner at a time: a second
command (or the app's Resume) on a run that is running is refused, naming the runner. The API key
is read from ``OPENAI_API_KEY`` (or ``--api-key-env NAME``) and never written anywhere.

Exit codes: 0 every request answered (or stopped by the budget or a person, with no request given
up and something generated); 1 the run failed, some requests gave up, or nothing was generated;
2 bad input (nothing sent, nothing written); 3 another runner holds the run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    pass
from core.commands._generate_run import load_seeds, resume_or_create

__all__ = ["add_arguments", "load_seeds", "run"]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MAX_PRICE = 10_000.0  # USD per 1M tokens: far above any real price, below a typo's
_BUSY = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("seeds", help="dataset file to take seed examples from")
    parser.add_argument(
        "--n",
        type=int,
        required=True,
        help="examples to generate (1 up to a run's limit, which a bigger value names)",
    )
    parser.add_argument(
        "--budget", type=float, required=True, help="hard budget in USD (a resume may change it)"
    )
    parser.add_argument("--model", required=True, help="teacher model id ('local' for the offline teacher)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    parser.add_argument(
        "--price-in", type=float, help="USD per 1M input tokens (for models not in the table)"
    )
    parser.add_argument("--price-out", type=float, help="USD per 1M output tokens")
    parser.add_argument("--price-cached", type=float, help="USD per 1M cached input tokens")
    parser.add_argument("--concurrency", type=int, help="requests in flight at once (default 8)")
    parser.add_argument("--max-tokens", type=int, help="max_tokens of each request (default 512)")
    parser.add_argument(
        "--mode", choices=("variations", "preference", "paraphrase"), help="default: variations"
    )
    parser.add_argument("--seeds-per-request", type=int, help="seed examples shown per request (default 3)")
    parser.add_argument("--language", help="ISO code the examples must be written in (checked)")
    parser.add_argument("--timeout", type=float, help="per-request timeout in seconds (default 60)")
    parser.add_argument(
        "--paraphrase-cosine",
        type=float,
        help="reject examples restating a real, test or accepted one at this cosine (off; 0.9 suggested)",
    )
    parser.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key"
    )
    parser.add_argument("--workspace", help="workspace folder (keeps the run; reuse it to resume)")
    parser.add_argument("--run-id", help="the run to resume (with --create: start it under this id if new)")
    parser.add_argument(
        "--create",
        action="store_true",
        help="with --run-id: start that run when the workspace has none of the id",
    )
    parser.add_argument("--retry-failed", action="store_true", help="send the requests that gave up again")
    parser.add_argument("--out", required=True, help="file to write the valid examples to")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Check everything, generate (or resume), print the summary and write the valid examples."""
    from core import lease
    from core.synth import runner
    from core.workspace import WorkspaceError

    try:
        _check_arguments(args)
        ws = _open_workspace(args)
        run_id = resume_or_create(ws, args)
    except (DatasetError, ValueError) as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:  # a disk that filled up, a database another program locked
        return fail(f"cannot use the workspace database in {args.workspace}: {exc}")
    try:
        stopped_by = runner.execute_run(ws, run_id, label="python -m core generate")
    except lease.LeaseHeld as exc:
        return fail(f"{exc}. Wait for it to end, or stop it (the Synthetic page's Stop), then resume.", _BUSY)
    except WorkspaceError as exc:
        return fail(f"{exc} (run {run_id} in {ws.root})", 1)
    if stopped_by == "lost":
        return fail(f"another runner took run {run_id} over; this one stopped sending", _BUSY)
    summary = _summary(ws, run_id, stopped_by, args)
    _print_summary(summary, args.json)
    try:
        _write_examples(ws, run_id, Path(args.out))
    except (OSError, DatasetError) as exc:
        why = getattr(exc, "strerror", None) or exc
        again = f"rerun with --workspace {ws.root} --run-id {run_id} --out FILE to write them"
        return fail(f"could not write {args.out}: {why}. The examples are kept in run {run_id}: {again}.", 1)
    return _exit_code(summary)


# -- checks before anything is sent or written ---------------------------------------------------


def _check_arguments(args: argparse.Namespace) -> None:
    """Every number finite and in range, every path usable; nothing written (``ValueError`` if not)."""
    from core.synth import runner, teachers

    _check_number("--budget", args.budget, 0, runner.MAX_BUDGET_USD)
    _check_int("--n", args.n, 1, runner.MAX_EXAMPLES, why=runner.MAX_EXAMPLES_WHY)
    _check_int("--concurrency", args.concurrency, 1, runner.MAX_CONCURRENCY)
    _check_int("--max-tokens", args.max_tokens, 1, runner.MAX_TOKENS)
    _check_int("--seeds-per-request", args.seeds_per_request, 1, 50)
    if args.timeout is not None:
        _check_number("--timeout", args.timeout, 0, teachers.MAX_TIMEOUT_S, open_low=True)
    if args.paraphrase_cosine is not None:
        _check_number("--paraphrase-cosine", args.paraphrase_cosine, 0, 1, open_low=True)
    for flag in ("price_in", "price_out", "price_cached"):
        value = getattr(args, flag)
        if value is not None:
            _check_number("--" + flag.replace("_", "-"), value, 0, _MAX_PRICE)
    if args.run_id is not None and not _RUN_ID.fullmatch(args.run_id):
        raise ValueError(f"--run-id {args.run_id!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    if args.create and args.run_id is None:
        raise ValueError("--create names a new run: give it with --run-id")
    _check_seeds_path(Path(args.seeds))
    _check_out_path(Path(args.out))


def _check_number(flag: str, value: float, low: float, high: float, *, open_low: bool = False) -> None:
    if not math.isfinite(value) or value < low or value > high or (open_low and value == low):
        bound = f"more than {low:g}" if open_low else f"at least {low:g}"
        raise ValueError(f"{flag} must be a finite number, {bound} and at most {high:,.10g}; got {value!r}")


def _check_int(flag: str, value: int | None, low: int, high: int, *, why: str = "") -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{flag} must be in {low}..{high:,}, got {value}" + (f" ({why})" if why else ""))


def _check_seeds_path(path: Path) -> None:
    if not path.exists():
        raise ValueError(f"seeds {path}: no such file")
    if not path.is_file():
        raise ValueError(
            f"seeds {path} is a {'folder' if path.is_dir() else 'special file'}: give a dataset file"
        )
    if not os.access(path, os.R_OK):
        raise ValueError(f"seeds {path} is not readable")


def _check_out_path(path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder: give the file to write the examples to")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"--out {path} is not writable")
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists():  # the nearest folder that exists must let us create the rest
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: cannot create files in {parent}")


def _open_workspace(args: argparse.Namespace) -> Any:
    from core.workspace import Workspace

    if args.workspace is None:
        if args.run_id is not None and not args.create:
            raise ValueError("--run-id resumes a run of a workspace: give --workspace too")
        return Workspace.open(tempfile.mkdtemp(prefix="trainset-generate-"))
    return Workspace.open(args.workspace, create=args.run_id is None or args.create)


# -- the outcome ---------------------------------------------------------------------------------


def _summary(ws: Any, run_id: str, stopped_by: str, args: argparse.Namespace) -> dict[str, Any]:
    from core.synth import runner

    meter = runner.progress(ws, run_id)
    return {
        "run_id": run_id,
        "status": stopped_by,
        "stopped_by": stopped_by,
        "reason": meter.reason,
        "requested": meter.requested,
        "requests": meter.n_requests,
        "answered": meter.requests_done,
        "failed": meter.requests_failed,
        "pending": meter.requests_pending,
        "retried": meter.requests_retried,
        "generated": meter.generated,
        "valid": meter.valid,
        "invalid": meter.invalid,
        "spent_usd": round(meter.spent_usd, 8),
        "at_risk_usd": round(meter.at_risk_usd, 8),
        "budget_usd": meter.budget_usd,
        "tokens_in": meter.tokens_in,
        "tokens_out": meter.tokens_out,
        "workspace": str(ws.root),
        "out": args.out,
    }


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    shown = {k: v for k, v in summary.items() if k not in ("reason", "workspace", "out")}
    print(" ".join(f"{k}={v}" for k, v in shown.items()))
    if summary["reason"]:
        print(f"why: {summary['reason']}")
    print(f"resume: --workspace {summary['workspace']} --run-id {summary['run_id']}")


def _exit_code(summary: dict[str, Any]) -> int:
    if summary["status"] == "failed" or summary["failed"] or not summary["generated"]:
        return 1
    return 0


def _write_examples(ws: Any, run_id: str, out: Path) -> None:
    """Write the run's valid examples in the seeds' format, atomically (never half a file)."""
    from core.formats import write_dataset
    from core.synth import store

    valid = store.batch_examples(ws, run_id, valid_only=True)
    run = store.get_run(ws, run_id) or {}
    info = ws.dataset_info()
    target = run.get("config", {}).get("rules", {}).get("target_format") or (
        info.source_format if info else None
    )
    data, _losses = write_dataset(valid, target or "openai-sft")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
