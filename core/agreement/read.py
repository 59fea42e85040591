"""Reading labels: label files, wide and long tables, the label matrix."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

from core import io as core_io
from core import records
from core.errors import DatasetError, FormatError

LONG_COLUMNS = ("item_id", "annotator", "label")


_ANNOTATOR_NAME = re.compile(r"^(annotator|annot|rater|coder|labeler|labeller|judge|label)[\s_\-]?\w*$", re.I)


_NOT_ANNOTATORS = {"label_status", "labels", "label"}


_ID_COLUMNS = ("item_id", "id")
# What pandas reads as missing in a CSV cell (its default na_values): the labels read as before.
_NA_TEXT = frozenset(STR_NA_VALUES)


def label_text(value: Any) -> str | None:
    """Return a label as text, or ``None`` when it is missing (None, NaN, blank)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value).strip()
    return text or None


def read_label_file(data: bytes, filename: str) -> pd.DataFrame:
    """Read a labels file (or a dataset with annotator columns) into a table, through :mod:`core.io`.

    Any container :func:`core.io.open_rows` reads (CSV / TSV, JSON Lines, a JSON array, Parquet,
    gzipped or not). JSON rows get an ``id`` column when they have none: the canonical content id of
    their ``messages`` (the same id the dataset table uses), else their row number.

    Args:
        data: The file's bytes.
        filename: Its name, for messages and to tell the container.

    Returns:
        One row per record; CSV cells as text, empty and NA-like cells as ``None``.

    Raises:
        FormatError: If the file cannot be read (naming the file and line).
    """
    source = core_io.open_rows(data, filename)
    rows = list(source.rows)
    errors = [issue for issue in source.issues if issue.severity == "error"]
    if errors:
        raise FormatError(errors[0].message)
    if not rows:
        raise FormatError(f"{filename}: no rows")
    for row in rows:
        if not isinstance(row.value, dict):
            raise FormatError(
                f"{filename}, line {row.line}: expected a JSON object, got {type(row.value).__name__}"
            )
    if source.container != "csv":
        return pd.DataFrame.from_records([_with_id(row.value, row.line) for row in rows])
    table = pd.DataFrame.from_records([row.value for row in rows], columns=source.columns)
    table.columns = [str(c).strip() for c in table.columns]
    return table.astype(object).map(lambda v: None if v is None or v.strip() in _NA_TEXT else v)


def _with_id(row: dict[str, Any], number: int) -> dict[str, Any]:
    if any(key in row for key in _ID_COLUMNS):
        return row
    messages = row.get("messages")
    if isinstance(messages, list):
        return {"id": records.content_id("sft", messages, None, None, row.get("tools")), **row}
    return {"id": str(number), **row}


def guess_annotator_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns whose names look like annotators (``annotator_a``, ``rater2``, ``label_bob``)."""
    return [
        str(c)
        for c in frame.columns
        if _ANNOTATOR_NAME.match(str(c)) and str(c).lower() not in _NOT_ANNOTATORS
    ]


def candidate_label_columns(frame: pd.DataFrame, *, max_distinct: int = 50) -> list[str]:
    """Return the columns that could hold one annotator's labels: scalar, few distinct values."""
    skip = set(records.CORE_COLUMNS) - set(records.METADATA_COLUMNS) | {
        "created_at",
        "source",
        "label_status",
    }
    out = []
    for column in frame.columns:
        if column in skip or frame[column].dtype.kind in "fc":
            continue
        values = [label_text(v) for v in frame[column] if not isinstance(v, (list, dict))]
        distinct = {v for v in values if v is not None}
        if 2 <= len(distinct) <= max_distinct or (len(distinct) == 1 and _ANNOTATOR_NAME.match(str(column))):
            out.append(str(column))
    return out


def is_long(table: pd.DataFrame) -> bool:
    """Return True when ``table`` has the long-layout columns ``item_id, annotator, label``."""
    return set(LONG_COLUMNS) <= {str(c) for c in table.columns}


def to_label_matrix(
    table: pd.DataFrame,
    *,
    layout: Literal["auto", "wide", "long"] = "auto",
    annotators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Turn a wide or long table of labels into the label matrix (items x annotators).

    Args:
        table: A table from :func:`read_label_file` or the canonical dataset.
        layout: ``long`` (``item_id, annotator, label``), ``wide`` or ``auto`` (long if those columns exist).
        annotators: Wide layout only: the annotator columns (default: :func:`guess_annotator_columns`).

    Returns:
        The label matrix, indexed by item id.

    Raises:
        ValueError: If ``layout`` is unknown.
        DatasetError: If columns are missing, fewer than two annotators are found, or a long
            table gives one annotator two different labels for the same item.
    """
    if layout not in ("auto", "wide", "long"):
        raise ValueError(f"layout must be auto, wide or long, got {layout!r}")
    if layout == "long" or (layout == "auto" and annotators is None and is_long(table)):
        return _from_long(table)
    return _from_wide(table, annotators)


def _from_wide(table: pd.DataFrame, annotators: Sequence[str] | None) -> pd.DataFrame:
    columns = list(annotators) if annotators is not None else guess_annotator_columns(table)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DatasetError(f"annotator column(s) not found: {', '.join(missing)}")
    if len(columns) < 2:
        raise DatasetError(
            "need labels from at least two annotators: a column per annotator, e.g. annotator_a, annotator_b "
            f"(found {columns or 'none'})"
        )
    id_column = next((c for c in _ID_COLUMNS if c in table.columns), None)
    ids = [str(v) for v in table[id_column]] if id_column else [str(i) for i in range(1, len(table) + 1)]
    matrix = pd.DataFrame({c: [label_text(v) for v in table[c]] for c in columns}, dtype=object)
    matrix.index = pd.Index(ids, name="item_id", dtype=object)
    return _clean(matrix[~matrix.index.duplicated(keep="first")])


def _from_long(table: pd.DataFrame) -> pd.DataFrame:
    if not is_long(table):
        raise DatasetError(f"a long label table needs the columns {', '.join(LONG_COLUMNS)}")
    rows = pd.DataFrame(
        {
            "item_id": [label_text(v) for v in table["item_id"]],
            "annotator": [label_text(v) for v in table["annotator"]],
            "label": [label_text(v) for v in table["label"]],
        },
        dtype=object,
    ).dropna(subset=["item_id", "annotator"])
    rows = rows[rows["label"].notna()].drop_duplicates()
    clash = rows.duplicated(subset=["item_id", "annotator"], keep=False)
    if clash.any():
        first = rows[clash].iloc[0]
        raise DatasetError(
            f"annotator {first['annotator']!r} gave item {first['item_id']!r} more than one label"
        )
    matrix = rows.pivot(index="item_id", columns="annotator", values="label")
    matrix.columns = [str(c) for c in matrix.columns]
    if matrix.shape[1] < 2:
        raise DatasetError(f"need labels from at least two annotators, found {list(matrix.columns)}")
    return _clean(matrix.astype(object))


def _clean(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix.astype(object).where(matrix.notna(), None)
    out.index = pd.Index([str(i) for i in out.index], name="item_id", dtype=object)
    return out


def align_to_dataset(matrix: pd.DataFrame, dataset_ids: Iterable[str]) -> tuple[pd.DataFrame, int]:
    """Keep the labelled items that are in the dataset.

    Returns:
        The label matrix restricted to ``dataset_ids`` and the number of labelled items that
        matched no example.
    """
    wanted = {str(i) for i in dataset_ids}
    keep = [i in wanted for i in matrix.index]
    return matrix[keep], int(len(keep) - sum(keep))


def to_long(matrix: pd.DataFrame) -> pd.DataFrame:
    """Return the label matrix as a long table ``item_id, annotator, label`` (missing labels left out)."""
    long = matrix.reset_index().melt(id_vars="item_id", var_name="annotator", value_name="label")
    return long[long["label"].notna()].reset_index(drop=True)


def texts_by_id(dataset: pd.DataFrame, *, column: str = "prompt_text", limit: int = 300) -> dict[str, str]:
    """Return item id -> the first ``limit`` characters of ``column`` (for showing items as text)."""
    if column not in dataset.columns:
        return {}
    texts = (str(t or "")[:limit] for t in dataset[column])
    return dict(zip(dataset["id"].astype(str), texts, strict=True))
