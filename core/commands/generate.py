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
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

_DEFAULTS = {
    "concurrency": 8,
    "max_tokens": 512,
    "mode": "variations",
    "seeds_per_request": 3,
    "timeout": 60.0,
}
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
        run_id = _resume_or_create(ws, args)
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


# -- resume or create ----------------------------------------------------------------------------


def _resume_or_create(ws: Any, args: argparse.Namespace) -> str:
    from core.synth import store

    if args.run_id is not None and store.run_exists(ws, args.run_id):
        _apply_resume_flags(ws, args)
        return str(args.run_id)
    if args.run_id is not None and not args.create:
        known = store.run_ids(ws)
        listed = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "") if known else "none"
        raise ValueError(
            f"no run {args.run_id!r} in {ws.root} (runs there: {listed}). To start a new run under this id, "
            "add --create; to start one with a fresh id, drop --run-id."
        )
    if args.retry_failed:
        raise ValueError("--retry-failed retries the requests of a stored run: give its --run-id")
    return _create_run(ws, args)


def _stored_values(run: dict[str, Any]) -> dict[str, Any]:
    config = run["config"]
    teacher, price, plan = config["teacher"], config["price"], config["plan"]
    return {
        "model": "local"
        if teacher.get("provider") == "local" and not teacher.get("key_env")
        else teacher["model"],
        "base_url": teacher["base_url"],
        "n": plan["n"],
        "mode": plan["mode"],
        "seeds_per_request": plan["seeds_per_request"],
        "language": plan.get("language"),
        "max_tokens": config["max_tokens"],
        "price_in": price["input"],
        "price_out": price["output"],
        "price_cached": price.get("cached_input"),
    }


def _apply_resume_flags(ws: Any, args: argparse.Namespace) -> None:
    """Refuse flags that would change what the stored run asks for; apply budget, concurrency, timeout."""
    from core.synth import store

    run = store.get_run(ws, args.run_id)
    assert run is not None
    stored = _stored_values(run)
    given = {name: getattr(args, name) for name in stored if getattr(args, name, None) is not None}
    if args.model == "local":
        given.pop("model")  # the offline teacher's id and port are the stored run's own
    different = {k: v for k, v in given.items() if not _same(v, stored[k])}
    if different:
        listed = "; ".join(
            f"--{k.replace('_', '-')} {v!r} (the run has {stored[k]!r})" for k, v in different.items()
        )
        raise ValueError(
            f"run {args.run_id} was created with other settings: {listed}. Resume it with its own settings, "
            "or start a new run (another --run-id, or none)."
        )
    _apply_runtime_changes(ws, args, run)
    if args.retry_failed:
        retried = store.reset_failed(ws, args.run_id)
        _note(f"run {args.run_id}: {retried} request(s) that gave up will be sent again")


def _same(given: Any, stored: Any) -> bool:
    if isinstance(given, float) or isinstance(stored, float):
        return stored is not None and math.isclose(float(given), float(stored), rel_tol=1e-12, abs_tol=1e-15)
    return bool(given == stored)


def _apply_runtime_changes(ws: Any, args: argparse.Namespace, run: dict[str, Any]) -> None:
    """Budget, concurrency, timeout and the key's variable may change on a resume; each change is said."""
    from core.synth import store, teachers

    config = json.loads(json.dumps(run["config"]))
    changes: list[str] = []
    if not _same(args.budget, run["budget_usd"]):
        changes.append(f"budget ${run['budget_usd']:g} -> ${args.budget:g}")
        config["budget_usd"] = args.budget
    if args.concurrency is not None and args.concurrency != config["concurrency"]:
        changes.append(f"concurrency {config['concurrency']} -> {args.concurrency}")
        config["concurrency"] = args.concurrency
    teacher = config["teacher"]
    if args.timeout is not None and not _same(args.timeout, teacher["timeout_s"]):
        changes.append(f"timeout {teacher['timeout_s']:g} s -> {args.timeout:g} s")
        teacher["timeout_s"] = args.timeout
    if teacher.get("key_env") and args.api_key_env != teacher["key_env"]:
        changes.append(f"API key from ${args.api_key_env} instead of ${teacher['key_env']}")
        teacher["key_env"] = args.api_key_env
    if args.model == "local" and teacher.get("provider") == "local" and not teacher.get("key_env"):
        url = teachers.local_teacher().start()
        if url.rstrip("/") != teacher["base_url"].rstrip("/"):
            changes.append(f"the offline teacher now listens at {url}")
            teacher["base_url"] = teachers.local_config(url).base_url
    if changes:
        store.update_run(ws, args.run_id, budget_usd=config["budget_usd"], config=json.dumps(config))
        _note(f"resuming run {args.run_id} with " + "; ".join(changes))


def _create_run(ws: Any, args: argparse.Namespace) -> str:
    """Plan the run from the seeds, check the budget can pay for a request, then store both."""
    from core.synth import prompts, runner, validators

    frame, source_format, unsaved = _seeds_frame(ws, args)
    teacher = _teacher(args)
    settings = runner.RunSettings(
        teacher=teacher,
        price=_price(args, teacher),
        budget_usd=args.budget,
        max_tokens=_value(args, "max_tokens"),
        concurrency=_value(args, "concurrency"),
    )
    mode = _value(args, "mode")
    plan = prompts.PlanConfig(
        mode=mode, n=args.n, seeds_per_request=_value(args, "seeds_per_request"), language=args.language
    )
    locked = set((ws.get_state("split.lock") or {}).get("ids", []))
    seeds = prompts.eligible_seeds(frame, locked_ids=locked)
    runner.check_affordable(seeds, plan, settings)
    if unsaved:
        name = Path(args.seeds).name
        ws.save_dataset(frame, note=f"seeds {name}", name=name, source_format=source_format)
    target = validators.target_format_for(source_format, mode)
    rules = validators.rules_from_data(
        frame, mode, target_format=target, language=args.language, paraphrase_cosine=args.paraphrase_cosine
    )
    return runner.create_run(ws, seeds, plan, settings, rules, run_id=args.run_id)


def _value(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name)
    return _DEFAULTS[name] if value is None else value


def _seeds_frame(ws: Any, args: argparse.Namespace) -> tuple[pd.DataFrame, str | None, bool]:
    """The workspace's dataset, else the seeds file's (``True``: not saved in the workspace yet)."""
    frame = ws.current_dataset()
    info = ws.dataset_info()
    if frame is not None and info is not None:
        return frame, info.source_format, False
    frame, source_format = load_seeds(Path(args.seeds))
    return frame, source_format, True


def _teacher(args: argparse.Namespace) -> Any:
    from core.synth import teachers

    timeout = _value(args, "timeout")
    if args.model == "local" and not args.base_url:
        config = teachers.local_config(teachers.local_teacher().start())  # its own, longer, default timeout
        return (
            config
            if args.timeout is None
            else teachers.TeacherConfig(**{**config.to_dict(), "timeout_s": timeout})
        )
    return teachers.TeacherConfig(
        base_url=args.base_url or "https://api.openai.com/v1",
        model=args.model,
        provider="openai" if not args.base_url else "custom",
        key_env=args.api_key_env,
        timeout_s=timeout,
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
    """Read a seeds file into the canonical table.

    Raises:
        DatasetError: If the file cannot be read or holds no usable example.
    """
    from core.formats import load_dataset

    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    result = load_dataset(path.read_bytes(), path.name)
    if result.records.empty:
        raise DatasetError(f"{path}: no valid example to use as a seed ({result.invalid} invalid)")
    return result.records, result.detection.format


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


def _note(message: str) -> None:
    sys.stderr.write(f"note: {message}\n")


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
