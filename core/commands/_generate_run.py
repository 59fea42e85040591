"""``generate``'s run in the workspace: resume a stored run (its flags checked) or plan and store a new one.

On a resume, flags that would change what the run asks for are refused; budget, concurrency, timeout and
the key's variable may change, and each change is said. A new run is planned from the seeds (the
workspace's dataset, else the seeds file), checked to afford a request, then stored.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def resume_or_create(ws: Any, args: argparse.Namespace) -> str:
    """Return the id of the run to execute: the stored one (flags checked and applied) or a new one."""
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


def _note(message: str) -> None:
    sys.stderr.write(f"note: {message}\n")
