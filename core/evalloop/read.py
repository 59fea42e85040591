"""Reading eval results: columns by their usual names, the standard eval table."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import io as core_io
from core import records
from core.errors import DatasetError, FormatError

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


def read_table(data: bytes | str | Path, *, filename: str | None = None) -> pd.DataFrame:
    """Read an eval results file (a path or an upload's bytes) into a frame of strings, via :mod:`core.io`.

    Any container :func:`core.io.open_rows` reads, as on Upload: CSV / TSV (delimiter sniffed), JSON
    Lines, a JSON array, Parquet, any of them gzipped; the name's extension tells CSV and Parquet.

    Args:
        data: A path, or the raw bytes of an upload.
        filename: Name used to guess the container and in messages (default: the path's name).

    Returns:
        The table as read; every cell a string or ``None`` (numbers kept as text, empty CSV cells
        ``None``).

    Raises:
        FormatError: If the file cannot be read: empty, damaged, a broken row or a row that is not an
            object (naming the file and line), or a CSV with a single column.
    """
    if isinstance(data, (str, Path)):
        filename = filename or Path(data).name
        data = Path(data).read_bytes()
    name = filename or "results"
    source = core_io.open_rows(data, name)
    rows = list(source.rows)
    errors = [issue for issue in source.issues if issue.severity == "error"]
    if errors:
        raise FormatError(errors[0].message)
    for row in rows:
        if not isinstance(row.value, dict):
            raise FormatError(
                f"{name}, line {row.line}: expected a JSON object, got {type(row.value).__name__}"
            )
    if source.container != "csv":
        if not rows:
            raise FormatError(f"{name}: no rows")
        return pd.DataFrame.from_records([row.value for row in rows]).astype(object).map(_cell_text)
    columns = source.columns or []
    if len(columns) < 2:
        raise FormatError(f"{name}: found only one column {columns}; expected CSV, JSONL or JSON")
    frame = pd.DataFrame.from_records([row.value for row in rows], columns=columns)
    return frame.astype(object).map(lambda v: None if v is None or v == "" else v)


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


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
