"""The model-based signals of ``python -m core quality``: perplexity / IFD and LLM-as-judge.

Both need a model behind an OpenAI-compatible endpoint (the embedded SmolLM2, started on loopback,
unless ``--base-url`` and ``--model`` name another) and keep what they computed in a workspace
(``--workspace W``; a temporary one without it), so that a second run, or one after a stop or a
crash, sends only what is missing. Progress goes to stderr.

- ``perplexity``: each reply's perplexity after its prompt and alone, and their ratio (IFD);
  flags ``misaligned_reply`` (:mod:`core.quality.perplexity`).
- ``judge``: a 1-5 score with a rationale per example, as a generation run of mode ``judge`` under
  ``--budget`` with the runner's write-ahead accounting and lease (:mod:`core.quality.judge`); the
  run's id is derived from the examples and the model, so the same command resumes it; flags
  ``low_judge_score``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # --help loads none of these (tests/core/test_cli_startup.py)
    import pandas as pd

    from core.quality.base import Flag
    from core.workspace import Workspace

MODEL_SIGNALS = ("perplexity", "judge")


class RunnerBusy(RuntimeError):
    """Another runner holds the judging run (exit 3, as ``generate``)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of the model-based signals."""
    parser.add_argument(
        "--base-url", help="perplexity, judge: an OpenAI-compatible /v1 URL (default: SmolLM2)"
    )
    parser.add_argument("--model", help="perplexity, judge: the model at --base-url")
    parser.add_argument("--workspace", type=str, help="perplexity, judge: where scores are kept between runs")
    parser.add_argument(
        "--budget", type=float, default=0.0, help="judge: hard budget in USD (default 0: free)"
    )
    parser.add_argument("--price-in", type=float, help="judge: USD per 1M input tokens (not in the table)")
    parser.add_argument("--price-out", type=float, help="judge: USD per 1M output tokens")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="judge: variable holding the key")


def model_signals(
    frame: pd.DataFrame, signals: tuple[str, ...], args: argparse.Namespace
) -> tuple[list[Flag], dict[str, Any]]:
    """Run the model-based ``signals`` on ``frame``: their flags, and what goes into the summary.

    Raises:
        RuntimeError: If the model cannot be reached or scored (``RunnerBusy``: the run is held).
        ValueError: If an option is invalid (a price, a budget that cannot pay one request).
    """
    flags: list[Flag] = []
    summary: dict[str, Any] = {}
    if not any(s in MODEL_SIGNALS for s in signals):
        return flags, summary
    with _endpoint(args) as (base_url, model, local), _workspace(args) as ws:
        if "perplexity" in signals:
            scores = _perplexity(ws, frame, base_url, model)
            summary["perplexity"] = _rows(frame, scores)
            from core.quality import perplexity

            flags += perplexity.flags_of(scores)
        if "judge" in signals:
            scores, summary["judge"] = _judge(ws, frame, base_url, model, local, args)
            from core.quality import judge

            flags += judge.flags_of(scores)
    return flags, summary


@contextlib.contextmanager
def _endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str, bool]]:
    from core.synth import teachers

    if args.base_url is not None:
        yield args.base_url, args.model or teachers.LOCAL_MODEL, False
        return
    local = teachers.local_teacher()
    try:
        yield local.start(), teachers.LOCAL_MODEL, True
    finally:
        local.stop()


@contextlib.contextmanager
def _workspace(args: argparse.Namespace) -> Iterator[Workspace]:
    from core.workspace import Workspace

    with tempfile.TemporaryDirectory() as scratch:
        yield Workspace.open(args.workspace or scratch)


def _progress(name: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r{name}: {done}/{total}")
    sys.stderr.flush()


def _perplexity(ws: Workspace, frame: pd.DataFrame, base_url: str, model: str) -> pd.DataFrame:
    from core.quality import perplexity

    try:
        perplexity.score_missing(
            ws, frame, base_url, model, progress=lambda d, t: _progress("perplexity", d, t)
        )
    except perplexity.ScoringError as exc:
        raise RuntimeError(str(exc)) from exc
    finally:
        sys.stderr.write("\n")
    return perplexity.scores_frame(ws, frame, model)


def _judge(
    ws: Workspace, frame: pd.DataFrame, base_url: str, model: str, local: bool, args: argparse.Namespace
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from core import lease
    from core.quality import judge
    from core.synth import runner

    settings = _settings(base_url, model, local, args)
    where = "local" if local else base_url  # a local server's port changes from run to run
    digest = hashlib.sha256("\n".join([model, where, *frame["id"].astype(str)]).encode()).hexdigest()
    run_id = judge.plan_judging(ws, frame, settings, run_id=f"judge-{digest[:16]}")
    for change in judge.resume_with(ws, run_id, base_url=base_url, budget_usd=settings.budget_usd):
        sys.stderr.write(f"resuming judging run {run_id}: {change}\n")
    try:
        stopped_by = runner.execute_run(ws, run_id, label="python -m core quality --signals judge")
    except lease.LeaseHeld as exc:
        raise RunnerBusy(f"{exc}: wait for it to end, then run the same command again") from exc
    meter = runner.progress(ws, run_id)
    table = judge.judgements(ws, run_id)
    summary = {
        "run_id": run_id,
        "stopped_by": stopped_by,
        "reason": meter.reason,
        "judged": len(table),
        "spent_usd": round(meter.spent_usd, 6),
        "at_risk_usd": round(meter.at_risk_usd, 6),
        "budget_usd": meter.budget_usd,
    }
    return judge.scores_frame(frame, table), summary


def _settings(base_url: str, model: str, local: bool, args: argparse.Namespace) -> Any:
    from core.synth import runner, teachers
    from core.synth.budget import FREE, Price, lookup_price

    if local:
        return runner.RunSettings(
            teacher=teachers.local_config(base_url),
            price=FREE,
            budget_usd=0.0,
            max_tokens=160,
            concurrency=1,
            temperature=0.0,
        )
    if args.price_in is not None and args.price_out is not None:
        price = Price(args.price_in, args.price_out)
    else:
        found = lookup_price(model)
        if found is None:
            raise ValueError(f"no price known for model {model!r}: pass --price-in and --price-out")
        price = found
    teacher = teachers.TeacherConfig(base_url=base_url, model=model, key_env=args.api_key_env)
    return runner.RunSettings(
        teacher=teacher, price=price, budget_usd=args.budget, max_tokens=200, temperature=0.0
    )


def _rows(frame: pd.DataFrame, scores: pd.DataFrame) -> list[dict[str, Any]]:
    import pandas as pd

    lines = frame["source_line"].tolist() if "source_line" in frame.columns else [None] * len(frame)
    return [
        {
            "line": None if pd.isna(line) else int(line),
            "id": str(example_id),
            **{k: (None if pd.isna(v) else round(float(v), 4)) for k, v in row.items()},
        }
        for line, example_id, row in zip(lines, frame["id"], scores.to_dict(orient="records"), strict=True)
    ]
