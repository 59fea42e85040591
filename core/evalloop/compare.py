"""Comparing two evals per slice: helped, hurt, no change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.errors import DatasetError
from core.evalloop.metrics import EvalReport, main_metric

PREMATURE_NOTE = "the base model already does as well: fine-tuning was premature"


@dataclass(frozen=True)
class SliceComparison:
    """One slice in both result files."""

    slice: str
    metric: str
    current: float
    baseline: float
    n: int
    verdict: str
    note: str
    p_value: float | None

    @property
    def delta(self) -> float:
        """Current minus baseline."""
        return self.current - self.baseline


@dataclass(frozen=True)
class Comparison:
    """Fine-tuned (current) against base model (baseline), overall and per slice."""

    matched: int
    only_current: int
    only_baseline: int
    overall: SliceComparison
    slices: list[SliceComparison]
    tolerance: float

    def to_json(self) -> dict[str, Any]:
        """The ``comparison`` object of the command line."""
        return {
            "matched": self.matched,
            "only_current": self.only_current,
            "only_baseline": self.only_baseline,
            "tolerance": self.tolerance,
            "overall": _comparison_json(self.overall),
            "slices": [_comparison_json(s) for s in self.slices],
            "helped": [s.slice for s in self.slices if s.verdict == "helped"],
            "hurt": [s.slice for s in self.slices if s.verdict == "hurt"],
            "no_change": [s.slice for s in self.slices if s.verdict == "no change"],
        }


def _comparison_json(item: SliceComparison) -> dict[str, Any]:
    return {
        "slice": item.slice,
        "metric": item.metric,
        "current": item.current,
        "baseline": item.baseline,
        "delta": item.delta,
        "n": item.n,
        "verdict": item.verdict,
        "note": item.note,
        "p_value": item.p_value,
    }


def compare_results(current: EvalReport, baseline: EvalReport, *, tolerance: float = 0.02) -> Comparison:
    """Compare two eval reports on the rows they share (joined by id), overall and per slice.

    A slice "helped" when the current metric beats the baseline by more than ``tolerance``,
    "hurt" when it is worse by more than that, else "no change"; wherever the baseline already does
    as well, the note says fine-tuning was premature. Slices come from the current file's rows (so
    both sides are measured on the same inputs); the p-value is McNemar's exact test on the rows
    where exactly one side is correct.

    Args:
        current: The fine-tuned model's (or round N's) report.
        baseline: The base model's (or round N-1's) report.
        tolerance: Smallest difference that counts as a change (0 to 1).

    Raises:
        ValueError: If ``tolerance`` is outside [0, 1).
        DatasetError: If the two files share no ids.
    """
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    joined = current.frame.merge(baseline.frame[["id", "correct", "score"]], on="id", suffixes=("", "_base"))
    if joined.empty:
        raise DatasetError("the two result files share no ids (or inputs); nothing to compare")
    metric = main_metric(current.task, current.frame)
    overall = _compare_group("overall", joined, metric, tolerance)
    columns = {"category": "slice_category", "length": "length_bucket", "language": "language"}
    slices = [
        _compare_group(f"{dimension}={value}", group, metric, tolerance)
        for dimension, column in columns.items()
        for value, group in joined.groupby(column, sort=True)
    ]
    return Comparison(
        matched=len(joined),
        only_current=len(current.frame) - len(joined),
        only_baseline=len(baseline.frame) - len(joined),
        overall=overall,
        slices=slices,
        tolerance=tolerance,
    )


def _compare_group(name: str, group: pd.DataFrame, metric: str, tolerance: float) -> SliceComparison:
    if metric == "score":
        now, before = float(group["score"].mean()), float(group["score_base"].mean())
    else:
        now, before = float(group["correct"].mean()), float(group["correct_base"].mean())
    delta = now - before
    verdict = "helped" if delta > tolerance else "hurt" if delta < -tolerance else "no change"
    note = "" if verdict == "helped" else PREMATURE_NOTE
    if verdict == "hurt":
        note = "the base model does better here: " + PREMATURE_NOTE.split(": ")[1]
    return SliceComparison(name, metric, now, before, len(group), verdict, note, _mcnemar(group))


def _mcnemar(group: pd.DataFrame) -> float | None:
    from scipy.stats import binomtest

    now, before = group["correct"].astype(bool), group["correct_base"].astype(bool)
    only_now, only_before = int((now & ~before).sum()), int((~now & before).sum())
    if only_now + only_before == 0:
        return None
    return float(binomtest(only_now, only_now + only_before, 0.5).pvalue)
