"""Eval loop: eval results -> metrics and failing slices -> the next round of data.

An eval results file (CSV, JSONL or a JSON array) has one row per eval example: an id or
the input, the expected output or label, the model's output or label, optionally a category
and a grader score. Columns are found by their usual names (see :data:`COLUMN_SYNONYMS`) or
given with a :class:`ColumnMap`.

- :func:`read_results` reads a file into the standard eval table (:data:`STANDARD_COLUMNS`).
- :func:`build_report` computes the metrics: for labels accuracy, macro F1, per-category
  precision / recall / F1 / support (scikit-learn) and the confusion matrix; for free text
  the normalised exact match and the grader score; and the worst slices by category, input
  length bucket and language.
- :func:`compare_results` compares two result files (fine-tuned against a well-prompted base
  model, or round N against N-1) per slice: helped / hurt / no change.
- Failures become actions: :func:`annotation_queue` (CSV for labelling; the corrected labels
  come back through the labels page as an annotator column), :func:`make_targets` /
  :func:`save_targets` (``targets.eval`` for gap-targeted generation) and
  :func:`eval_rows_to_records` (canonical rows with ``source = "eval"``, train only).
- Rounds: :func:`save_round` stores each eval in the workspace; :func:`round_history` and
  :func:`history_figure` show the metrics per round and per slice over time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import lang, records
from core.errors import DatasetError, FormatError
from core.workspace import Workspace, now_iso

ROLES = ("id", "input", "expected", "predicted", "category", "score")
STANDARD_COLUMNS = ROLES
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "example_id", "item_id", "sample_id", "row_id", "uid", "qid", "idx", "index"),
    "input": (
        "input",
        "prompt",
        "question",
        "query",
        "text",
        "message",
        "utterance",
        "user_input",
        "inputs",
        "source",
    ),
    "expected": (
        "expected",
        "label",
        "gold",
        "target",
        "reference",
        "expected_output",
        "expected_label",
        "gold_label",
        "true_label",
        "ground_truth",
        "answer",
        "ideal",
        "y_true",
        "labels",
    ),
    "predicted": (
        "predicted",
        "prediction",
        "output",
        "model_output",
        "predicted_label",
        "pred",
        "pred_label",
        "response",
        "completion",
        "generated",
        "y_pred",
        "model_answer",
        "outputs",
    ),
    "category": ("category", "slice", "group", "topic", "segment", "subset", "class_name", "domain"),
    "score": ("score", "grade", "grader_score", "rating", "reward", "judge_score", "points"),
}
TASKS = ("labels", "text")
SLICE_DIMENSIONS = ("category", "length", "language")
LENGTH_BUCKETS = ((0, 8, "short (<8 words)"), (8, 25, "medium (8-24 words)"), (25, 80, "long (25-79 words)"))
LONG_BUCKET = "very long (80+ words)"
TARGETS_KEY = "targets.eval"
QUEUE_LABEL_COLUMN = "annotator_eval_review"
GOLD_COLUMN = "label_eval_gold"
PREMATURE_NOTE = "the base model already does as well: fine-tuning was premature"
_LABEL_MAX_WORDS = 4
_LABEL_MAX_CLASSES = 50
_SCHEMA = """
CREATE TABLE IF NOT EXISTS evalloop_rounds (
    round INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    rows INTEGER NOT NULL,
    overall TEXT NOT NULL,
    baseline_name TEXT,
    comparison TEXT,
    dataset_version INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evalloop_slices (
    round INTEGER NOT NULL,
    dimension TEXT NOT NULL,
    slice TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    n INTEGER NOT NULL,
    PRIMARY KEY (round, dimension, slice, metric)
);
CREATE TABLE IF NOT EXISTS evalloop_queue (
    round INTEGER,
    id TEXT NOT NULL,
    input TEXT,
    expected TEXT,
    predicted TEXT,
    category TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (round, id)
);
"""


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the file plays which role (``None``: the file has no such column)."""

    id: str | None = None
    input: str | None = None
    expected: str | None = None
    predicted: str | None = None
    category: str | None = None
    score: str | None = None

    def __post_init__(self) -> None:
        if self.predicted is None and self.score is None:
            raise ValueError("a ColumnMap needs a predicted column or a score column, got neither")
        if self.id is None and self.input is None:
            raise ValueError(
                "a ColumnMap needs an id column or an input column to identify rows, got neither"
            )
        used = [c for c in self.as_dict().values() if c is not None]
        if len(used) != len(set(used)):
            raise ValueError(f"a column can play only one role, got {self.as_dict()}")

    def as_dict(self) -> dict[str, str | None]:
        """Return ``{role: column}``."""
        return {role: getattr(self, role) for role in ROLES}


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def guess_columns(
    columns: Sequence[str], overrides: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """Find each role's column by its usual names (case and punctuation ignored).

    Args:
        columns: The column names of the file.
        overrides: ``{role: column}`` given explicitly; they win over guesses.

    Returns:
        ``{role: column or None}`` for every role in :data:`ROLES` (not validated: see :class:`ColumnMap`).

    Raises:
        ValueError: If an override names an unknown role or a column the file does not have.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    for role, column in overrides.items():
        if role not in ROLES:
            raise ValueError(f"unknown column role {role!r}; expected one of {ROLES}")
        if column not in columns:
            raise ValueError(
                f"column {column!r} (given for {role}) is not in the file; columns: {list(columns)}"
            )
    taken = set(overrides.values())
    by_norm = {_norm_name(c): c for c in columns}
    found: dict[str, str | None] = {}
    for role in ROLES:
        found[role] = overrides.get(role) or _first_free(COLUMN_SYNONYMS[role], by_norm, taken)
        if found[role]:
            taken.add(found[role])
    return found


def _first_free(names: Iterable[str], by_norm: Mapping[str, str], taken: set[str | None]) -> str | None:
    for name in names:
        column = by_norm.get(name)
        if column is not None and column not in taken:
            return column
    return None


# ----------------------------------------------------------------------------- reading


def read_table(data: bytes | str | Path, *, filename: str | None = None) -> pd.DataFrame:
    """Read a CSV, JSONL or JSON-array file (optionally given as bytes) into a frame of strings.

    Args:
        data: A path, or the raw bytes of an upload.
        filename: Name used to guess the format and in messages (default: the path's name).

    Returns:
        The table as read; every cell a string or ``None`` (numbers kept as text).

    Raises:
        FormatError: If the file is empty, not UTF-8, or not CSV / JSON Lines / a JSON array (any of
            them may be gzipped).
    """
    if isinstance(data, (str, Path)):
        filename = filename or Path(data).name
        data = Path(data).read_bytes()
    name = filename or "results"
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    if not text.strip():
        raise FormatError(f"{name}: the file is empty")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and not name.lower().endswith(".csv")):
        return _read_json(text, name)
    return _read_csv(text, name)


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise FormatError(f"{name}: a damaged gzip file ({exc})") from exc


def _read_json(text: str, name: str) -> pd.DataFrame:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{name}: invalid JSON array at line {exc.lineno}: {exc.msg}") from exc
        return _frame_of(rows, name, lines=None)
    rows, numbers = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise FormatError(f"{name}, line {number}: invalid JSON ({exc.msg})") from exc
        numbers.append(number)
    return _frame_of(rows, name, lines=numbers)


def _frame_of(rows: list[Any], name: str, *, lines: list[int] | None) -> pd.DataFrame:
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            where = f"line {lines[i]}" if lines else f"item {i + 1}"
            raise FormatError(f"{name}, {where}: expected a JSON object, got {type(row).__name__}")
    frame = pd.DataFrame.from_records(rows)
    return frame.astype(object).map(_cell_text)


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_csv(text: str, name: str) -> pd.DataFrame:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"{name}: not a readable CSV file ({exc})") from exc
    if frame.shape[1] < 2:
        raise FormatError(f"{name}: found only one column {list(frame.columns)}; expected CSV, JSONL or JSON")
    return frame.astype(object).map(lambda v: None if v == "" else v)


def standardize(table: pd.DataFrame, columns: ColumnMap, *, name: str = "results") -> pd.DataFrame:
    """Rename the mapped columns to :data:`STANDARD_COLUMNS` (missing roles become empty columns).

    Args:
        table: The table as read by :func:`read_table`.
        columns: Which column plays which role.
        name: File name for messages.

    Returns:
        A new frame with exactly the standard columns; ``id`` is filled from the input when missing,
        ``score`` is numeric.

    Raises:
        DatasetError: If a mapped column is missing, ids repeat, or a score is not a number.
    """
    missing = [c for c in columns.as_dict().values() if c is not None and c not in table.columns]
    if missing:
        raise DatasetError(f"{name}: column(s) {missing} not found; the file has {list(table.columns)}")
    out = pd.DataFrame(index=range(len(table)))
    for role, column in columns.as_dict().items():
        out[role] = table[column].to_numpy(dtype=object) if column else None
    out["id"] = _ids(out, name)
    out["score"] = _scores(out["score"], name)
    return out


def _ids(frame: pd.DataFrame, name: str) -> list[str]:
    if frame["id"].isna().all():
        ids = [records.content_id("sft", [{"role": "user", "content": str(t)}]) for t in frame["input"]]
    else:
        ids = [str(v) if v is not None else f"row-{i + 1}" for i, v in enumerate(frame["id"])]
    counts = pd.Series(ids).value_counts()
    repeated = counts[counts > 1]
    if len(repeated):
        raise DatasetError(f"{name}: ids must be unique; repeated: {list(repeated.index[:5])}")
    return ids


def _scores(column: pd.Series, name: str) -> pd.Series:
    if column.isna().all():
        return pd.Series(np.nan, index=column.index, dtype=float)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & numbers.isna()
    if bad.any():
        row = int(bad.idxmax()) + 1
        raise DatasetError(f"{name}, row {row}: score {column[bad.idxmax()]!r} is not a number")
    return numbers.astype(float)


def read_results(
    data: bytes | str | Path,
    *,
    filename: str | None = None,
    columns: ColumnMap | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Read an eval results file into the standard eval table.

    Args:
        data: A path or the raw bytes of an upload.
        filename: Name for format guessing and messages.
        columns: The full column mapping; when ``None`` it is guessed (see :func:`guess_columns`).
        overrides: Roles given explicitly when guessing (``{"expected": "gold_answer"}``).

    Returns:
        A frame with :data:`STANDARD_COLUMNS`.

    Raises:
        DatasetError: If the file cannot be read or the needed columns cannot be found.
    """
    name = filename or (Path(data).name if isinstance(data, (str, Path)) else "results")
    table = read_table(data, filename=name)
    if columns is None:
        columns = mapping_from_guess(guess_columns(list(table.columns), overrides), list(table.columns), name)
    return standardize(table, columns, name=name)


def mapping_from_guess(guess: Mapping[str, str | None], available: Sequence[str], name: str) -> ColumnMap:
    """Turn a guess into a :class:`ColumnMap`, or explain which roles could not be found.

    Raises:
        DatasetError: If the predicted (or score) column or the id (or input) column is missing.
    """
    try:
        return ColumnMap(**guess)
    except ValueError as exc:
        raise DatasetError(
            f"{name}: could not find the columns ({exc}); the file has {list(available)}. "
            "Map them explicitly (e.g. --predicted-col / --expected-col)."
        ) from exc


# ----------------------------------------------------------------------------- metrics


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
    seed: int = 0,
    pass_score: float | None = None,
    languages: bool = True,
) -> EvalReport:
    """Compute the metrics of a standard eval table.

    Args:
        frame: The table from :func:`read_results`.
        task: ``"labels"`` or ``"text"``; ``None`` detects it (:func:`detect_task`).
        seed: Unused: language detection needs no seed any more (kept so that callers need not
            change).
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


# ----------------------------------------------------------------------------- comparison


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


# ----------------------------------------------------------------------------- failures -> actions


def select_failures(
    frame: pd.DataFrame, *, slices: Sequence[str] = (), ids: Sequence[str] = ()
) -> pd.DataFrame:
    """Failing rows, limited to the given slices (``"category=warranty"``) and/or ids when given.

    Raises:
        ValueError: If a slice name is not ``dimension=value`` with a known dimension.
    """
    failing = frame[~frame["correct"].astype(bool)]
    if not slices and not ids:
        return failing.copy()
    mask = failing["id"].isin(list(ids))
    for name in slices:
        dimension, value = _parse_slice(name)
        mask |= failing[_SLICE_COLUMN[dimension]].astype(str) == value
    return failing[mask].copy()


_SLICE_COLUMN = {"category": "slice_category", "length": "length_bucket", "language": "language"}


def _parse_slice(name: str) -> tuple[str, str]:
    dimension, sep, value = name.partition("=")
    if not sep or dimension not in SLICE_DIMENSIONS:
        raise ValueError(
            f"slice must be 'dimension=value' with dimension in {SLICE_DIMENSIONS}, got {name!r}"
        )
    return dimension, value


def annotation_queue(rows: pd.DataFrame, *, label_column: str = QUEUE_LABEL_COLUMN) -> pd.DataFrame:
    """The annotation queue for failing rows, with an empty column for the corrected label.

    ``id`` is the id the row gets as a canonical example (:func:`eval_rows_to_records`), so once the
    rows are added to the dataset the labels page joins the filled-in file by ``id``: it reads
    ``label_eval_gold`` (the eval's expected answer) and ``label_column`` as two annotators.

    Raises:
        ValueError: If ``label_column`` is empty or clashes with another column of the queue.
    """
    if not label_column or label_column in (*STANDARD_COLUMNS, *_QUEUE_COLUMNS):
        raise ValueError(f"label_column must be a new, non-empty column name, got {label_column!r}")
    queue = pd.DataFrame(
        {
            "id": [record_id(r) for r in rows.to_dict("records")],
            "eval_id": rows["id"].astype(str).to_numpy(),
            "input": rows["input"].to_numpy(),
            GOLD_COLUMN: rows["expected"].to_numpy(),
            "model_predicted": rows["predicted"].to_numpy(),
            "category": rows["category"].to_numpy(),
            "reason": [_reason(e, p) for e, p in zip(rows["expected"], rows["predicted"], strict=True)],
        }
    )
    queue[label_column] = ""
    return queue


_QUEUE_COLUMNS = ("eval_id", "model_predicted", "reason")


def _reason(expected: Any, predicted: Any) -> str:
    return f"expected {expected!s} but the model said {predicted!s}"


def record_id(row: Mapping[str, Any]) -> str:
    """The canonical id an eval row gets as a training example (user input -> expected answer)."""
    return records.content_id("sft", _eval_messages(row.get("input"), row.get("expected")))


def _eval_messages(text: Any, answer: Any) -> list[dict[str, str]]:
    return [{"role": "user", "content": str(text)}, {"role": "assistant", "content": str(answer)}]


def queue_csv(queue: pd.DataFrame) -> bytes:
    """CSV bytes of the annotation queue (UTF-8 with a BOM so spreadsheets open it correctly)."""
    return queue.to_csv(index=False).encode("utf-8-sig")


def save_queue(ws: Workspace, queue: pd.DataFrame, *, round_number: int | None) -> int:
    """Store the queued rows in ``evalloop_queue`` (re-queuing a row replaces it); return how many."""
    ws.ensure_schema(_SCHEMA)
    stamp = now_iso()
    rows = [
        (
            round_number if round_number is not None else 0,
            str(r["eval_id"]),
            *_texts(r),
            r.get("reason"),
            stamp,
        )
        for r in queue.to_dict("records")
    ]
    with ws.connect() as connection:
        connection.executemany("INSERT OR REPLACE INTO evalloop_queue VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _texts(row: Mapping[str, Any]) -> tuple[str | None, ...]:
    keys = ("input", GOLD_COLUMN, "model_predicted", "category")
    return tuple(None if row.get(k) is None else str(row.get(k)) for k in keys)


def load_queue(ws: Workspace) -> pd.DataFrame:
    """Every row sent to the annotation queue, newest first."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM evalloop_queue ORDER BY created_at DESC, round, id"
        ).fetchall()
    columns = ["round", "id", "input", "expected", "predicted", "category", "reason", "created_at"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def make_targets(
    report: EvalReport,
    slices: Sequence[str],
    *,
    per_failure: int = 3,
    max_examples: int = 5,
    round_number: int | None = None,
) -> list[dict[str, Any]]:
    """Generation targets (the shared ``targets.*`` format, kind ``eval_slice``) for failing slices.

    Args:
        report: The eval report the slices come from.
        slices: Slice names (``"category=warranty"``).
        per_failure: Examples to generate per failing eval row (``missing = failures * per_failure``).
        max_examples: How many failing inputs to give as examples.
        round_number: The eval round, for the description.

    Raises:
        ValueError: If ``per_failure`` < 1, ``max_examples`` < 0, or a slice is unknown.
    """
    if per_failure < 1 or max_examples < 0:
        raise ValueError(f"per_failure must be >= 1 and max_examples >= 0, got {per_failure}, {max_examples}")
    known = {s.label: s for s in report.slices}
    targets = []
    for name in slices:
        if name not in known:
            raise ValueError(f"unknown slice {name!r}; known: {sorted(known)[:10]}...")
        item = known[name]
        failing = select_failures(report.frame, slices=[name])
        targets.append(
            {
                "kind": "eval_slice",
                "value": name,
                "missing": max(1, item.failures) * per_failure,
                "description": _target_description(item, failing, round_number),
                "examples": [str(t) for t in failing["input"].dropna().head(max_examples)],
            }
        )
    return targets


def _target_description(item: Slice, failing: pd.DataFrame, round_number: int | None) -> str:
    where = f"Eval round {round_number}" if round_number is not None else "Eval"
    text = (
        f"{where}: {item.dimension} '{item.value}' scores {item.metric} {item.score:.0%} "
        f"({item.failures} of {item.n} failing)."
    )
    confused = failing["predicted"].dropna().astype(str).value_counts()
    if len(confused) and failing["expected"].notna().any():
        text += f" Most often answered '{confused.index[0]}' instead ({int(confused.iloc[0])}x)."
    return text + " Add examples like these, with the right answer."


def save_targets(
    ws: Workspace, targets: Sequence[Mapping[str, Any]], *, replace: bool = False
) -> list[dict[str, Any]]:
    """Write ``targets.eval`` (merged by kind and value with what is there unless ``replace``).

    Returns:
        The list now stored.
    """
    current = [] if replace else list(ws.get_state(TARGETS_KEY, []) or [])
    merged = {(t["kind"], t["value"]): dict(t) for t in current}
    for target in targets:
        merged[(target["kind"], target["value"])] = dict(target)
    stored = list(merged.values())
    ws.set_state(TARGETS_KEY, stored)
    return stored


def eval_rows_to_records(rows: pd.DataFrame, *, label_column: str | None = None) -> pd.DataFrame:
    """Turn eval rows into canonical examples (user input -> expected answer) with ``source = "eval"``.

    Args:
        rows: Eval rows (standard columns); rows without an input or an answer are skipped.
        label_column: A column with corrected answers (from the annotation queue) that wins over
            ``expected`` where filled.

    Returns:
        A canonical table (:func:`core.records.make_frame`).
    """
    out = []
    for row in rows.to_dict("records"):
        answer = row.get(label_column) if label_column else None
        answer = answer if isinstance(answer, str) and answer.strip() else row.get("expected")
        if row.get("input") is None or answer is None:
            continue
        category = row.get("category") or (answer if len(str(answer).split()) <= _LABEL_MAX_WORDS else None)
        extra = {"source": "eval", "category": category, "eval_id": str(row["id"])}
        messages = _eval_messages(row["input"], answer)
        out.append(records.make_record("sft", messages, extra=extra, source_format="eval"))
    return records.make_frame(out)


def add_to_dataset(ws: Workspace, examples: pd.DataFrame, *, note: str = "eval-derived examples") -> int:
    """Append eval-derived canonical rows to the current dataset as a new version; return it.

    Rows already in the dataset (same content id) are not added again, so a second click adds nothing.
    """
    current = ws.current_dataset()
    new = examples.drop_duplicates("id")
    if current is not None:
        new = new[~new["id"].isin(set(current["id"]))]
    frame = new if current is None else pd.concat([current, new], ignore_index=True)
    skipped = len(examples) - len(new)
    already = f", {skipped} already there" if skipped else ""
    return ws.save_dataset(frame, note=f"{note} (+{len(new)}{already}, source=eval)")


# ----------------------------------------------------------------------------- rounds


def save_round(
    ws: Workspace,
    report: EvalReport,
    *,
    name: str,
    comparison: Comparison | None = None,
    baseline_name: str | None = None,
) -> int:
    """Store an eval as the next round (metrics, slices, and the rows as Parquet); return its number."""
    ws.ensure_schema(_SCHEMA)
    dataset_version = ws.dataset_version()  # read before the write transaction: connections don't nest
    with ws.connect() as connection:
        number = int(
            connection.execute("SELECT COALESCE(MAX(round), 0) + 1 FROM evalloop_rounds").fetchone()[0]
        )
        connection.execute(
            "INSERT INTO evalloop_rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                name,
                report.task,
                report.rows,
                json.dumps(report.overall),
                baseline_name,
                json.dumps(comparison.to_json()) if comparison else None,
                dataset_version,
                now_iso(),
            ),
        )
        connection.executemany(
            "INSERT INTO evalloop_slices VALUES (?, ?, ?, ?, ?, ?)",
            [(number, s.dimension, s.value, s.metric, s.score, s.n) for s in report.slices]
            + [(number, "overall", "overall", k, float(v), report.rows) for k, v in _numeric(report.overall)],
        )
    folder = ws.root / "evalloop"
    folder.mkdir(exist_ok=True)
    report.frame.to_parquet(folder / f"round_{number:04d}.parquet", index=False)
    return number


def _numeric(overall: Mapping[str, Any]) -> list[tuple[str, float]]:
    return [(k, float(v)) for k, v in overall.items() if isinstance(v, float) and k not in ("n", "failures")]


def list_rounds(ws: Workspace) -> pd.DataFrame:
    """Every stored round: number, name, task, rows, the overall metrics as columns, when."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT * FROM evalloop_rounds ORDER BY round").fetchall()
    out = []
    for row in rows:
        item = {
            k: row[k]
            for k in ("round", "name", "task", "rows", "baseline_name", "dataset_version", "created_at")
        }
        item.update(json.loads(row["overall"]))
        out.append(item)
    return pd.DataFrame(out)


def load_round(ws: Workspace, number: int) -> pd.DataFrame:
    """The eval rows (with derived columns) stored for round ``number``.

    Raises:
        ValueError: If there is no such round.
    """
    path = ws.root / "evalloop" / f"round_{number:04d}.parquet"
    if not path.exists():
        raise ValueError(f"no eval round {number}")
    return pd.read_parquet(path)


def round_history(ws: Workspace) -> pd.DataFrame:
    """Long table of ``round, name, dimension, slice, metric, value, n`` over all rounds."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT s.round, r.name, s.dimension, s.slice, s.metric, s.value, s.n "
            "FROM evalloop_slices s JOIN evalloop_rounds r USING (round) "
            "ORDER BY s.round, s.dimension, s.slice"
        ).fetchall()
    columns = ["round", "name", "dimension", "slice", "metric", "value", "n"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def history_figure(history: pd.DataFrame, *, dimension: str = "overall", metrics: Sequence[str] = ()) -> Any:
    """Plotly line chart of a metric per round: overall metrics, or one line per slice of a dimension.

    Args:
        history: The table from :func:`round_history`.
        dimension: ``overall`` or one of :data:`SLICE_DIMENSIONS`.
        metrics: For ``overall``, which metrics to draw (default: every one stored).

    Raises:
        ValueError: If ``dimension`` is unknown.
    """
    import plotly.express as px

    if dimension != "overall" and dimension not in SLICE_DIMENSIONS:
        raise ValueError(f"dimension must be 'overall' or one of {SLICE_DIMENSIONS}, got {dimension!r}")
    data = history[history["dimension"] == dimension]
    if dimension == "overall":
        data = data[data["metric"].isin(metrics)] if metrics else data
        color, title = "metric", "Overall metrics per eval round"
    else:
        color, title = "slice", f"{dimension.capitalize()} slices per eval round"
    figure = px.line(
        data, x="round", y="value", color=color, markers=True, hover_data=["name", "n"], title=title
    )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.05] if data["value"].max() <= 1 else None)
    return figure


def confusion_figure(report: EvalReport) -> Any:
    """Plotly heatmap of the confusion matrix (rows: expected, columns: predicted)."""
    import plotly.express as px

    figure = px.imshow(
        np.array(report.confusion),
        x=report.labels,
        y=report.labels,
        text_auto=True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "expected", "color": "rows"},
        title="Confusion matrix",
    )
    figure.update_xaxes(side="bottom")
    figure.update_layout(height=max(360, 40 * len(report.labels) + 160))
    return figure


def comparison_figure(comparison: Comparison, *, dimension: str = "category") -> Any:
    """Plotly grouped bars: current against baseline per slice of one dimension."""
    import plotly.graph_objects as go

    items = [s for s in comparison.slices if s.slice.startswith(f"{dimension}=")]
    names = [s.slice.split("=", 1)[1] for s in items]
    figure = go.Figure(
        [
            go.Bar(name="baseline", x=names, y=[s.baseline for s in items]),
            go.Bar(name="current", x=names, y=[s.current for s in items]),
        ]
    )
    figure.update_layout(barmode="group", title=f"Current vs baseline per {dimension}", yaxis_range=[0, 1.05])
    return figure
