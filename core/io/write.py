"""Writing rows: JSONL, an indented JSON array, CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import orjson


def dumps_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    """Return rows as JSONL bytes (UTF-8, one compact object per line, trailing newline)."""
    out = bytearray()
    for row in rows:
        out += orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=_json_default)
        out += b"\n"
    return bytes(out)


def dumps_json_array(rows: list[dict[str, Any]]) -> bytes:
    """Return rows as one indented JSON array (the Alpaca convention)."""
    return (
        orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=_json_default)
        + b"\n"
    )


def dumps_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """Return rows as CSV bytes (UTF-8, header first; nested values as JSON text)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
