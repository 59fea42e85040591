"""LLM-as-judge: a 1-5 score with a rationale for each example, from any teacher, as a generation run.

Judging is a run of the generation runner (:mod:`core.synth.runner`) in mode ``judge``: one request
per example, so it spends under the same hard budget, with the same write-ahead accounting, run
lease, live meter (:func:`core.synth.runner.progress`), resume and retry as generating does, and a
killed or stopped judging run resumes with the examples it had not judged. It generates nothing:
what each answer stores is the judged example with ``judge_score``, ``judge_rationale`` and
``judged_id`` in its ``extra`` (:func:`core.synth.prompts.build_record`), and judging runs are not
batches to review (:func:`core.synth.store.list_batches` leaves them out).

An example scored at or under :data:`LOW_SCORE` is flagged ``low_judge_score`` with the rationale.
"""

from __future__ import annotations

import json

import pandas as pd

from core.quality.base import Flag
from core.synth import prompts, runner, store
from core.synth.validators import Rules
from core.workspace import Workspace

CODES = ("low_judge_score",)
LOW_SCORE = 2
_COLUMNS = ["example_id", "score", "rationale"]


def plan_judging(
    ws: Workspace, frame: pd.DataFrame, settings: runner.RunSettings, *, run_id: str | None = None
) -> str:
    """Store a judging run of every example of ``frame`` (nothing is sent yet); return its id.

    Raises:
        ValueError: If ``frame`` is empty, too big for one run, or the budget cannot pay one request.
    """
    if frame.empty:
        raise ValueError("no examples to judge")
    plan = prompts.PlanConfig(
        mode="judge", n=len(frame), per_request=1, seeds_per_request=1, seed=settings.seed
    )
    runner.check_affordable(frame, plan, settings)
    return runner.create_run(ws, frame, plan, settings, Rules(), run_id=run_id)


def resume_with(ws: Workspace, run_id: str, *, base_url: str, budget_usd: float) -> list[str]:
    """Point a stored judging run at ``base_url`` (a local server's port changes) with a new budget.

    Returns:
        What changed, for a person (empty when nothing did).
    """
    run = store.get_run(ws, run_id)
    if run is None:
        raise ValueError(f"no judging run {run_id!r} in {ws.root}")
    config, changes = run["config"], []
    if config["teacher"]["base_url"].rstrip("/") != base_url.rstrip("/"):
        config["teacher"]["base_url"] = base_url
        changes.append(f"the teacher now listens at {base_url}")
    if run["budget_usd"] != budget_usd:
        config["budget_usd"] = budget_usd
        changes.append(f"budget ${run['budget_usd']:g} -> ${budget_usd:g}")
    if changes:
        store.update_run(ws, run_id, budget_usd=budget_usd, config=json.dumps(config))
    return changes


def judgements(ws: Workspace, run_id: str) -> pd.DataFrame:
    """The scores a judging run has stored so far: ``example_id``, ``score``, ``rationale``."""
    stored = store.batch_examples(ws, run_id)
    rows = []
    for extra in stored.get("extra", pd.Series(dtype=object)):
        if isinstance(extra, dict) and extra.get("judged_id") is not None:
            rows.append((str(extra["judged_id"]), int(extra["judge_score"]), str(extra["judge_rationale"])))
    return pd.DataFrame(rows, columns=_COLUMNS).drop_duplicates("example_id", keep="last", ignore_index=True)


def scores_frame(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """One row per example of ``frame`` (same order): ``score`` (NaN: not judged) and ``rationale``."""
    by_id = table.set_index("example_id")
    ids = frame["id"].astype(str)
    return pd.DataFrame(
        {
            "score": ids.map(by_id["score"]).astype(float).to_numpy(),
            "rationale": ids.map(by_id["rationale"]).to_numpy(),
        },
        index=frame.index,
    )


def flags_of(scores: pd.DataFrame, low: int = LOW_SCORE) -> list[Flag]:
    """A ``low_judge_score`` flag on each example judged ``low`` or under, with the judge's rationale."""
    out = []
    for row, (score, rationale) in enumerate(zip(scores["score"], scores["rationale"], strict=True)):
        if not pd.isna(score) and score <= low:
            out.append(
                Flag(row, "judge", CODES[0], "response", 0, 0, "", f"judged {int(score)}/5: {rationale}")
            )
    return out
