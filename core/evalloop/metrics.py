"""Eval metrics: accuracy, F1, exact match, grader score and the worst slices."""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import lang
from core.errors import DatasetError

TASKS = ("labels", "text")


SLICE_DIMENSIONS = ("category", "length", "language")


LENGTH_BUCKETS = ((0, 8, "short (<8 words)"), (8, 25, "medium (8-24 words)"), (25, 80, "long (25-79 words)"))


LONG_BUCKET = "very long (80+ words)"


_LABEL_MAX_WORDS = 4


_LABEL_MAX_CLASSES = 50


def normalize_text(value: Any) -> str:
    """Normalise an answer for exact match: NFKC, case-fold, trim punctuation and collapse spaces."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .!?;:,'\"`")


def detect_task(frame: pd.DataFrame) -> str:
    """Return ``"labels"`` when expected values look like class labels, else ``"text"``.

    Labels: every expected value present, at most 4 words on average, at most 50 distinct values
    and fewer distinct values than half the rows (or under 10 rows).
    """
    expected = frame["expected"].dropna().astype(str)
    if expected.empty or len(expected) < len(frame):
        return "text"
    words = expected.str.split().str.len().mean()
    classes = expected.map(normalize_text).nunique()
    few = classes <= _LABEL_MAX_CLASSES and (classes <= len(frame) / 2 or len(frame) < 10)
    return "labels" if words <= _LABEL_MAX_WORDS and few else "text"


def add_derived(
    frame: pd.DataFrame, *, task: str, pass_score: float | None = None, languages: bool = True
) -> pd.DataFrame:
    """Add ``correct``, ``length_bucket``, ``language`` and ``slice_category`` columns (returns a copy).

    Args:
        frame: The standard eval table.
        task: ``"labels"`` or ``"text"``.
        pass_score: With a score column and no expected answers: a row passes at this score or above
            (default: the midpoint of the observed score range).
        languages: Detect each input's language (:func:`core.lang.detect_languages`, ``und`` when
            it cannot tell); ``False`` puts every row in one ``"not detected"`` language slice.

    Raises:
        ValueError: If ``task`` is unknown.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    out = frame.copy()
    out["correct"] = _correct(out, pass_score)
    out["length_bucket"] = [length_bucket(t) for t in out["input"]]
    out["language"] = lang.detect_languages(out["input"]) if languages else "not detected"
    fallback = out["expected"] if task == "labels" else pd.Series([None] * len(out), index=out.index)
    category = out["category"].where(out["category"].notna(), fallback)
    out["slice_category"] = category.fillna("(none)").astype(str)
    return out


def _correct(frame: pd.DataFrame, pass_score: float | None) -> pd.Series:
    if frame["expected"].notna().any() and frame["predicted"].notna().any():
        return pd.Series(
            [
                normalize_text(e) == normalize_text(p)
                for e, p in zip(frame["expected"], frame["predicted"], strict=True)
            ],
            index=frame.index,
        )
    scores = frame["score"]
    threshold = pass_score if pass_score is not None else (scores.min() + scores.max()) / 2
    return scores >= threshold


def length_bucket(text: Any) -> str:
    """Return the input-length bucket (in words) of one input."""
    words = len(str(text).split()) if text is not None else 0
    for low, high, label in LENGTH_BUCKETS:
        if low <= words < high:
            return label
    return LONG_BUCKET


@dataclass(frozen=True)
class Slice:
    """One slice of the eval: a dimension (category / length / language), its value, the metric."""

    dimension: str
    value: str
    metric: str
    score: float
    n: int
    failures: int

    def __post_init__(self) -> None:
        if self.dimension not in SLICE_DIMENSIONS:
            raise ValueError(f"slice dimension must be one of {SLICE_DIMENSIONS}, got {self.dimension!r}")

    @property
    def label(self) -> str:
        """``dimension=value``, the name used in reports and targets."""
        return f"{self.dimension}={self.value}"

    @property
    def title(self) -> str:
        """:attr:`label` as a person reads it (:func:`slice_title`)."""
        return slice_title(self.label)


def slice_title(label: str) -> str:
    """Return a slice name as a person reads it: ``language=und`` spelt out, the others as they are."""
    dimension, _, value = label.partition("=")
    return f"{dimension}={lang.language_label(value)}" if dimension == "language" else label


@dataclass(frozen=True)
class EvalReport:
    """Metrics of one eval results table."""

    task: str
    rows: int
    overall: dict[str, Any]
    per_category: dict[str, dict[str, float]]
    labels: list[str]
    confusion: list[list[int]]
    slices: list[Slice]
    frame: pd.DataFrame = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")

    def worst_slices(self, *, min_n: int = 5, limit: int = 10) -> list[Slice]:
        """Slices with at least ``min_n`` rows, worst first (ties: bigger slices first)."""
        eligible = [s for s in self.slices if s.n >= min_n]
        return sorted(eligible, key=lambda s: (s.score, -s.n, s.label))[:limit]

    def to_json(self, *, min_n: int = 5, limit: int = 10) -> dict[str, Any]:
        """The JSON of the command line (without the comparison)."""
        return {
            "task": self.task,
            "rows": self.rows,
            "overall": self.overall,
            "per_category": self.per_category,
            "confusion": {"labels": self.labels, "matrix": self.confusion},
            "worst_slices": [
                {"slice": s.label, "metric": s.metric, "value": s.score, "n": s.n, "failures": s.failures}
                for s in self.worst_slices(min_n=min_n, limit=limit)
            ],
        }


def build_report(
    frame: pd.DataFrame,
    *,
    task: str | None = None,
    pass_score: float | None = None,
    languages: bool = True,
) -> EvalReport:
    """Compute the metrics of a standard eval table.

    Args:
        frame: The table from :func:`read_results`.
        task: ``"labels"`` or ``"text"``; ``None`` detects it (:func:`detect_task`).
        pass_score: Pass mark for score-only evals (see :func:`add_derived`).
        languages: Detect languages for the language slices (see :func:`add_derived`).

    Returns:
        The report; ``report.frame`` is the table with the derived columns.

    Raises:
        DatasetError: If the table has no rows, or labels are asked for without expected values.
    """
    if frame.empty:
        raise DatasetError("the eval results have no rows")
    task = task or detect_task(frame)
    if task == "labels" and (frame["expected"].isna().any() or frame["predicted"].isna().any()):
        raise DatasetError("label metrics need an expected and a predicted value on every row")
    derived = add_derived(frame, task=task, pass_score=pass_score, languages=languages)
    overall = _overall(derived, task)
    per_category, labels, confusion = _label_metrics(derived) if task == "labels" else ({}, [], [])
    return EvalReport(
        task=task,
        rows=len(derived),
        overall=overall,
        per_category=per_category,
        labels=labels,
        confusion=confusion,
        slices=compute_slices(derived, metric=main_metric(task, derived)),
        frame=derived,
    )


def main_metric(task: str, frame: pd.DataFrame) -> str:
    """The metric slices are ranked by: accuracy for labels, else exact match or the grader score."""
    if task == "labels":
        return "accuracy"
    has_expected = frame["expected"].notna().any() and frame["predicted"].notna().any()
    return "exact_match" if has_expected or frame["score"].isna().all() else "score"


def _overall(frame: pd.DataFrame, task: str) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    out: dict[str, Any] = {"n": len(frame), "failures": int((~frame["correct"]).sum())}
    if task == "labels":
        y_true, y_pred = _label_arrays(frame)
        labels = sorted(set(y_true) | set(y_pred))
        out["accuracy"] = float(accuracy_score(y_true, y_pred))
        out["macro_f1"] = float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
        out["weighted_f1"] = float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        )
    else:
        out["exact_match"] = float(frame["correct"].mean())
        out["accuracy"] = out["exact_match"]
    if frame["score"].notna().any():
        out["score_mean"] = float(frame["score"].mean())
        out["score_n"] = int(frame["score"].notna().sum())
    return out


def _label_arrays(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Expected and predicted labels, compared as written (trimmed), like scikit-learn would."""
    return (
        [str(v).strip() for v in frame["expected"]],
        [str(v).strip() for v in frame["predicted"]],
    )


def _label_metrics(frame: pd.DataFrame) -> tuple[dict[str, dict[str, float]], list[str], list[list[int]]]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = _label_arrays(frame)
    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_category = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    with warnings.catch_warnings():  # one label only: the matrix is still right, since labels are given
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return per_category, labels, matrix.astype(int).tolist()


def compute_slices(frame: pd.DataFrame, *, metric: str) -> list[Slice]:
    """Metric per slice value for every dimension of :data:`SLICE_DIMENSIONS`.

    Args:
        frame: A table with the derived columns (:func:`add_derived`).
        metric: ``accuracy`` / ``exact_match`` (share correct) or ``score`` (mean grader score).
    """
    columns = {"category": "slice_category", "length": "length_bucket", "language": "language"}
    out: list[Slice] = []
    for dimension, column in columns.items():
        for value, group in frame.groupby(column, sort=True):
            score = float(group["score"].mean()) if metric == "score" else float(group["correct"].mean())
            failures = int((~group["correct"]).sum())
            out.append(Slice(dimension, str(value), metric, score, len(group), failures))
    return out
