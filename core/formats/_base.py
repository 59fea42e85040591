"""Shared types and helpers of the format modules (problems, row context, metadata)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from core.formats.codes import PROBLEM_FIXES
from core.records import CORE_COLUMNS, METADATA_COLUMNS

SEVERITIES = ("error", "warning")
KINDS_OF_FORMAT = ("sft", "preference", "rft")
# Keys some formats keep in ``extra`` that are not metadata (never written as metadata columns).
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
FORMAT_EXTRA_KEYS = frozenset({"parallel_tool_calls", "functions"})


@dataclass(frozen=True)
class Problem:
    """One finding about a file or a row.

    ``line`` is the 1-based physical line for JSONL files and the 1-based data row for JSON
    arrays, CSV (header not counted) and Parquet; ``None`` for the whole file. ``text_line`` is
    the physical line too, where it is known and differs (a JSON array's record).
    """

    line: int | None
    field: str
    code: str
    message: str
    severity: str
    fix: str | None = None
    text_line: int | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.fix is None and self.code in PROBLEM_FIXES:
            object.__setattr__(self, "fix", PROBLEM_FIXES[self.code])  # every code has a fix


@dataclass(frozen=True)
class Detection:
    """Which format a file seems to be in, of which kind, how sure, and why."""

    format: str
    kind: str
    confidence: float
    reason: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within [0, 1], got {self.confidence!r}")


@dataclass(frozen=True)
class ColumnMap:
    """Which column of a flat table (CSV, or JSON rows of plain strings) holds what."""

    prompt: str
    response: str | None = None
    system: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    category: str | None = None
    difficulty: str | None = None
    created_at: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.prompt:
            raise ValueError("ColumnMap.prompt must name a column, got an empty name")
        if (self.chosen is None) != (self.rejected is None):
            raise ValueError(
                f"ColumnMap needs both chosen and rejected, got {self.chosen!r} / {self.rejected!r}"
            )

    @property
    def kind(self) -> str:
        """``preference`` with chosen/rejected, ``sft`` with a response, else ``rft`` (prompt only)."""
        if self.chosen:
            return "preference"
        return "sft" if self.response else "rft"

    def used(self) -> dict[str, str]:
        """Return ``{role: column}`` for every mapped column."""
        names = ("prompt", "response", "system", "chosen", "rejected", "category", "difficulty")
        pairs = {name: getattr(self, name) for name in (*names, "created_at", "source")}
        return {role: column for role, column in pairs.items() if column}


class RowContext:
    """Collects the problems of the row being read (one object reused for every row)."""

    __slots__ = ("line", "problems", "errors")

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.line: int | None = None
        self.errors = 0

    def start(self, line: int | None) -> None:
        """Begin a new row."""
        self.line = line
        self.errors = 0

    def error(self, field: str, code: str, message: str, fix: str | None = None) -> None:
        """Record an error: the row goes to quarantine."""
        self.errors += 1
        self.problems.append(Problem(self.line, field, code, message, "error", fix))

    def warn(self, field: str, code: str, message: str, fix: str | None = None) -> None:
        """Record a warning: the row is kept."""
        self.problems.append(Problem(self.line, field, code, message, "warning", fix))


def type_name(value: Any) -> str:
    """Return the JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def is_missing(value: Any) -> bool:
    """True for ``None`` and pandas/NumPy missing markers."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def clean(value: Any) -> Any:
    """Return ``value`` as plain JSON-like Python (NumPy arrays and scalars, NaN and NA become plain)."""
    if isinstance(value, (dict, list, tuple)) or hasattr(value, "tolist"):
        try:
            return orjson.loads(orjson.dumps(value, option=_ORJSON_OPTIONS, default=_plain))
        except (TypeError, orjson.JSONEncodeError):
            return _clean_slow(value)
    return None if is_missing(value) else value


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if is_missing(value):
        return None
    raise TypeError(f"not JSON: {type(value).__name__}")


def _clean_slow(value: Any) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, Mapping):
        return {k: _clean_slow(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_slow(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean_slow(value.tolist())
    return value


def column_of(key: str) -> str:
    """Return the canonical column a top-level key of ``extra`` was promoted to."""
    return key if key not in CORE_COLUMNS or key in METADATA_COLUMNS else f"meta_{key}"


def metadata_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return the metadata to write as top-level keys: ``extra`` updated from the current columns."""
    extra = clean(record.get("extra")) or {}
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key in FORMAT_EXTRA_KEYS:
            continue
        column = column_of(key)
        current = record.get(column, value) if column in record else value
        out[key] = value if isinstance(value, (dict, list)) else clean(current)
    for column in METADATA_COLUMNS:
        value = clean(record.get(column))
        if value is not None and column not in out:
            out[column] = value
    return out


def plain_string_content(messages: list[dict]) -> bool:
    """True when every message is a plain ``{role, content: str}`` pair."""
    return all(set(m) <= {"role", "content"} and isinstance(m.get("content"), str) for m in messages)
