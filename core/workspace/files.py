"""A version's tables as Parquet files: nested values stored as JSON text, mixed columns as text."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from core import records

_JSON_MARK = b"trainset_json_columns"


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame to Parquet; object columns holding lists / dicts are stored as JSON text."""
    out = frame.copy()
    json_columns = [c for c in out.columns if out[c].dtype == object and _holds_nested(out[c])]
    for column in json_columns:
        out[column] = [None if _is_missing(v) else _dumps(v) for v in out[column]]
    for column in out.columns:
        if out[column].dtype == object and column not in json_columns and _needs_text(out[column]):
            out[column] = [_scalar_for_parquet(v) for v in out[column]]
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(out, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_JSON_MARK] = json.dumps(json_columns).encode()
    tmp = path.with_suffix(".tmp")
    pq.write_table(table.replace_schema_metadata(metadata), tmp)
    tmp.replace(path)


def _read_frame(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    json_columns = json.loads((table.schema.metadata or {}).get(_JSON_MARK, b"[]"))
    frame = table.to_pandas()
    for column in json_columns:
        frame[column] = [_loads(v) if isinstance(v, str) else None for v in frame[column]]
    if "source_line" in frame.columns:
        frame["source_line"] = frame["source_line"].astype("Int64")
    if set(records.CORE_COLUMNS) <= set(frame.columns) and "n_turns" in frame.columns:
        frame["n_turns"] = frame["n_turns"].astype("Int64")
    return frame


def _write_or_inherit(frame: pd.DataFrame | None, path: Path, parent: Path | None) -> None:
    """Write ``frame``; without one, carry the parent version's file over (rejected rows stay kept)."""
    if frame is not None:
        _write_frame(frame, path)
    elif parent is not None and parent.exists():
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(parent, tmp)
        tmp.replace(path)


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or a number orjson does not read, written by the forgiving path
        return json.loads(text)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # numpy scalars, big ints, other odd values: the slow, forgiving path
        return json.dumps(value, ensure_ascii=False, default=str)


def _holds_nested(column: pd.Series) -> bool:
    return any(isinstance(v, (list, dict, tuple)) for v in column if v is not None)


def _is_missing(value: Any) -> bool:
    # pd.NA / NaT turn up in object columns (e.g. Int64 or datetime data cast to object); they are missing
    # values, not the text "<NA>".
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value is pd.NA or value is pd.NaT


def _needs_text(column: pd.Series) -> bool:
    """True when Parquet cannot store the column as it is: mixed types, or ints beyond 64 bits."""
    kinds = {type(v) for v in column if not _is_missing(v)}
    return len(kinds) > 1 or (
        int in kinds and any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in column)
    )


def _scalar_for_parquet(value: Any) -> Any:
    """Make mixed-type object columns storable: keep None and strings, stringify the rest."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    return str(value)
