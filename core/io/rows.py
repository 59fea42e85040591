"""What reading a data file gives: numbered rows, the problems met, and the limits that apply."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

CONTAINERS = ("jsonl", "json", "csv", "parquet")
RAW_LIMIT = 10_000
# Deeper JSON is refused as a row: later steps (orjson.dumps stops at 255 levels, recursive walks)
# could not handle it, and no fine-tuning row needs it.
MAX_DEPTH = 128
_BOM = "\ufeff"


@dataclass(frozen=True)
class ReadIssue:
    """Something wrong met while reading (before any format rule is applied)."""

    line: int | None
    code: str
    message: str
    severity: str = "error"
    raw: str | None = None
    fix: str | None = None
    text_line: int | None = None  # the physical line, where ``line`` is a record number (JSON arrays)


class Row(NamedTuple):
    """One parsed row: its number, its value (usually a dict) and its original text if known."""

    line: int
    value: Any
    text: str | None = None


@dataclass
class RowSource:
    """An opened data file: ``rows`` streams :class:`Row` items; ``issues`` fills while it runs."""

    name: str
    container: str
    compressed: bool
    rows: Iterator[Row]
    issues: list[ReadIssue] = field(default_factory=list)
    columns: list[str] | None = None
    encoding: str = "utf-8"


def truncate_raw(text: str | bytes | None, limit: int = RAW_LIMIT) -> str:
    """Return ``text`` as str cut to ``limit`` characters (marking the cut)."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"
