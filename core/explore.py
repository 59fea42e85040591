"""Explore: find the rows of a dataset by their text and by what was measured about them.

The Explore page and ``python -m core search`` ask the same question: which rows contain this text,
in this category, in this language, of this size? :func:`explore_table` puts what people filter on
into one Arrow table (the compared texts, the metadata, the measures of :mod:`core.profile`, and
the quality flags when given), and :func:`matching` answers a :class:`RowFilter` with vectorised
Arrow kernels: a substring search (case-folded, like a browser's find) over 100,000 rows takes tens
of milliseconds, so every keystroke and every chart click can re-filter the whole version
(``bench/explore.py`` measures it beside SQLite FTS5 and pandas).

Facets (:data:`FACETS`) are the columns a chart or a filter can pick values of; ranges
(:data:`RANGES`) the numeric measures a slider bounds. Missing values are the facet value
:data:`MISSING`, so "rows without a category" can be picked like any category.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT_FIELDS = {
    "prompt": ("prompt_text",),
    "response": ("response_text", "rejected_text"),
    "all": ("system_text", "prompt_text", "response_text", "rejected_text"),
}
"""What a search looks in: the prompt, the replies (a preference's chosen and rejected), or both and
the system prompt."""
FACETS = ("category", "topic", "language", "kind", "source", "difficulty", "negative", "flag")
RANGES = ("total_tokens", "prompt_tokens", "response_tokens", "n_turns")
MISSING = "(none)"
_TEXTS = ("system_text", "prompt_text", "response_text", "rejected_text")


@dataclasses.dataclass(frozen=True)
class RowFilter:
    """Which rows to show: a text search, picked facet values and numeric bounds (all must hold).

    Attributes:
        text: Searched for as a plain substring (``regex=False``) or a regular expression
            (RE2 syntax); empty matches every row.
        field: ``prompt``, ``response`` or ``all`` (:data:`TEXT_FIELDS`).
        regex: Whether ``text`` is a regular expression.
        case_sensitive: Whether case matters (default: it does not).
        facets: Per facet, the values a row may have (one of them); an empty tuple is no filter.
        ranges: Per measure, ``(low, high)`` inclusive; ``None`` leaves a side open.
    """

    text: str = ""
    field: str = "all"
    regex: bool = False
    case_sensitive: bool = False
    facets: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    ranges: Mapping[str, tuple[float | None, float | None]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.field not in TEXT_FIELDS:
            raise ValueError(f"unknown search field {self.field!r}: use one of {', '.join(TEXT_FIELDS)}")
        unknown = [name for name in self.facets if name not in FACETS]
        unknown += [name for name in self.ranges if name not in RANGES]
        if unknown:
            known = ", ".join((*FACETS, *RANGES))
            raise ValueError(f"cannot filter on {', '.join(unknown)}: use one of {known}")

    def chips(self) -> list[str]:
        """One short phrase per condition, as the page shows them (each removable)."""
        out = [f'{self.field} contains "{self.text}"'] if self.text else []
        out += [f"{name} = {' or '.join(values)}" for name, values in self.facets.items() if values]
        for name, (low, high) in self.ranges.items():
            if low is not None and high is not None:
                out.append(f"{low:g} <= {name} <= {high:g}")
            elif low is not None:
                out.append(f"{name} >= {low:g}")
            elif high is not None:
                out.append(f"{name} <= {high:g}")
        return out


def explore_table(
    frame: pd.DataFrame,
    features: pd.DataFrame | None = None,
    flags: Mapping[int, Sequence[str]] | None = None,
    topics: Sequence[str | None] | None = None,
) -> pa.Table:
    """Return one row per example of ``frame`` with what :func:`matching` filters on.

    Args:
        frame: A canonical table (:mod:`core.records`).
        features: :func:`core.profile.compute_features` of ``frame`` (tokens, detected language,
            negatives); without it the measures are missing and the language is the declared one.
        flags: Per row position, the quality signal codes raised on it (:mod:`core.quality`).
        topics: Per row, its topic's name (:meth:`core.topics.Topics.of_rows`); missing without it.

    Raises:
        ValueError: If ``features`` has another number of rows than ``frame``.
    """
    n = len(frame)
    if features is not None and len(features) != n:
        raise ValueError(f"features has {len(features)} rows, the table {n}")
    if topics is not None and len(topics) != n:
        raise ValueError(f"topics has {len(topics)} rows, the table {n}")

    def column(source: pd.DataFrame | None, name: str) -> list[Any]:
        if source is None or name not in source.columns:
            return [None] * n
        return source[name].tolist()

    data: dict[str, pa.Array] = {
        "row": pa.array(np.arange(n, dtype=np.int64)),
        "id": pa.array([str(v) for v in column(frame, "id")], pa.string()),
        "line": pa.array([None if pd.isna(v) else int(v) for v in column(frame, "source_line")], pa.int64()),
    }
    for name in _TEXTS:
        data[name] = pa.array([v if isinstance(v, str) else "" for v in column(frame, name)], pa.string())
    language = column(features, "language") if features is not None else column(frame, "language")
    facet_values = {
        "category": column(frame, "category"),
        "topic": list(topics) if topics is not None else [None] * n,
        "language": language,
        "kind": column(frame, "kind"),
        "source": column(frame, "source"),
        "difficulty": column(features, "difficulty") if features is not None else column(frame, "difficulty"),
        "negative": [_yes_no(v) for v in column(features, "is_negative")],
    }
    for name, values in facet_values.items():
        data[name] = pa.array([_facet_value(v) for v in values], pa.string())
    for name in RANGES:
        values = column(features if features is not None and name in features.columns else frame, name)
        data[name] = pa.array([None if v is None or pd.isna(v) else float(v) for v in values], pa.float64())
    codes = [list(flags.get(i, ())) if flags else [] for i in range(n)]
    data["flag"] = pa.array(codes, pa.list_(pa.string()))
    return pa.table(data)


def _yes_no(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else ("yes" if value else "no")


def _facet_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return MISSING
    return str(value)


def matching(table: pa.Table, row_filter: RowFilter) -> np.ndarray:
    """Return the positions (ascending) of the rows of ``table`` that meet every condition.

    Raises:
        ValueError: If ``row_filter.text`` is not a valid regular expression.
    """
    mask = pa.array(np.ones(table.num_rows, dtype=bool))
    if row_filter.text:
        mask = pc.and_(mask, _text_mask(table, row_filter))
    for name, values in row_filter.facets.items():
        if not values:
            continue
        wanted = pa.array(list(values), pa.string())
        if name == "flag":
            hits = pc.is_in(pc.list_flatten(table["flag"]), value_set=wanted)
            parents = pc.list_parent_indices(table["flag"]).to_numpy()
            picked = np.zeros(table.num_rows, dtype=bool)
            picked[parents[hits.to_numpy(zero_copy_only=False)]] = True
            mask = pc.and_(mask, pa.array(picked))
        else:
            mask = pc.and_(mask, pc.is_in(table[name], value_set=wanted))
    for name, (low, high) in row_filter.ranges.items():
        if low is not None:
            mask = pc.and_kleene(mask, pc.fill_null(pc.greater_equal(table[name], low), False))
        if high is not None:
            mask = pc.and_kleene(mask, pc.fill_null(pc.less_equal(table[name], high), False))
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def _text_mask(table: pa.Table, row_filter: RowFilter) -> pa.Array:
    ignore_case = not row_filter.case_sensitive
    found = None
    for name in TEXT_FIELDS[row_filter.field]:
        try:
            if row_filter.regex:
                hit = pc.match_substring_regex(table[name], row_filter.text, ignore_case=ignore_case)
            else:
                hit = pc.match_substring(table[name], row_filter.text, ignore_case=ignore_case)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"not a valid regular expression: {row_filter.text!r} ({exc})") from exc
        found = hit if found is None else pc.or_(found, hit)
    assert found is not None
    return found


def facet_counts(table: pa.Table, rows: np.ndarray, facet: str) -> pd.DataFrame:
    """Return ``value``, ``rows`` (how many of ``rows`` have it), most first, for a chart of ``facet``."""
    if facet not in FACETS:
        raise ValueError(f"unknown facet {facet!r}: use one of {', '.join(FACETS)}")
    picked = table.take(pa.array(rows, pa.int64()))[facet]
    if facet == "flag":
        picked = pc.list_flatten(picked)
    counts = pc.value_counts(picked).to_pylist()
    out = pd.DataFrame([(c["values"], int(c["counts"])) for c in counts], columns=["value", "rows"]).astype(
        {"value": object, "rows": np.int64}
    )
    return out.sort_values(["rows", "value"], ascending=[False, True], ignore_index=True)


def facet_values(table: pa.Table, facet: str) -> list[str]:
    """Every value ``facet`` takes in ``table``, most common first (the filter's options)."""
    return facet_counts(table, np.arange(table.num_rows), facet)["value"].tolist()


def snippet(text: str, query: str, *, width: int = 160, case_sensitive: bool = False) -> str:
    """Return up to ``width`` characters of ``text`` around the first occurrence of ``query``."""
    if not text:
        return ""
    at = -1
    if query:
        at = text.find(query) if case_sensitive else text.lower().find(query.lower())
    if at < 0 or len(text) <= width:
        return text[:width] + ("…" if len(text) > width else "")
    start = max(0, at - width // 3)
    end = min(len(text), start + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def flags_by_row(flags: Sequence[Any]) -> dict[int, list[str]]:
    """Per row position, the codes of the quality flags raised on it (``QualityReport.flags``)."""
    out: dict[int, list[str]] = {}
    for flag in flags:
        codes = out.setdefault(int(flag.row), [])
        if flag.code not in codes:
            codes.append(flag.code)
    return out


def row_summary(table: pa.Table, row: int, query: str = "") -> dict[str, Any]:
    """One matched row as the CLI prints it and the page lists it: where it is, its facets, its texts."""
    values = table.slice(row, 1).to_pylist()[0]
    return {
        "line": values["line"],
        "id": values["id"],
        **{name: values[name] for name in FACETS if name != "flag"},
        "flags": values["flag"],
        "total_tokens": None if values["total_tokens"] is None else int(values["total_tokens"]),
        "prompt": snippet(values["prompt_text"], query),
        "response": snippet(values["response_text"], query),
    }
