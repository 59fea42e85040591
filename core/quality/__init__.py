"""Quality signals on every example, offline: what is wrong with a reply, and what should not be trained on.

``scan_quality(frame)`` runs the chosen signals over every text field of a canonical table at once
and returns one :class:`QualityReport`: a flag per finding (example, stable code, field, span,
reason) and counts per code. ``redact(frame, report)`` puts placeholders where PII and secrets were
found and returns a new table (ids and derived texts recomputed), for a new dataset version.

Signals: ``heuristics`` (:mod:`core.quality.heuristics`, :mod:`core.quality.language`) and ``pii``
(:mod:`core.quality.pii`). Model-based scores need a server and are kept in the workspace:
:mod:`core.quality.perplexity` (perplexity, IFD) and :mod:`core.quality.judge` (LLM-as-judge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.quality import heuristics, language, pii
from core.quality.base import Flag, fields_of, set_content

SIGNALS = ("heuristics", "pii")
CODES = heuristics.CODES + language.CODES + pii.CODES


@dataclass(frozen=True)
class QualityReport:
    """What the signals found in one table."""

    rows: int
    flags: list[Flag] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Flags per code, every code listed (0 where none)."""
        out = dict.fromkeys(CODES, 0)
        for flag in self.flags:
            out[flag.code] = out.get(flag.code, 0) + 1
        return out

    def flagged_rows(self, code: str | None = None) -> list[int]:
        """Positions of the examples with a flag (of ``code``), in order, once each."""
        return sorted({f.row for f in self.flags if code is None or f.code == code})

    def codes_by_id(self, table: pd.DataFrame) -> dict[str, list[str]]:
        """Each flagged example's ``id`` (from ``table``, the one scanned) and its codes, sorted."""
        ids = table["id"].tolist()
        out: dict[str, set[str]] = {}
        for flag in self.flags:
            out.setdefault(str(ids[flag.row]), set()).add(flag.code)
        return {i: sorted(codes) for i, codes in out.items()}

    def frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """The flags as a table with each example's ``id`` and ``line`` (its line in the source file)."""
        ids = table["id"].tolist() if "id" in table.columns else [None] * len(table)
        lines = table["source_line"].tolist() if "source_line" in table.columns else [None] * len(table)
        records = [
            {
                "line": _plain(lines[f.row]),
                "id": ids[f.row],
                "signal": f.signal,
                "code": f.code,
                "field": f.field,
                "span": {"start": f.start, "end": f.end, "text": f.text},
                "reason": f.reason,
            }
            for f in self.flags
        ]
        return pd.DataFrame(records, columns=["line", "id", "signal", "code", "field", "span", "reason"])


def scan_quality(frame: pd.DataFrame, signals: tuple[str, ...] = SIGNALS) -> QualityReport:
    """Run ``signals`` over every example of ``frame``.

    Raises:
        ValueError: If a signal is not one of :data:`SIGNALS`.
    """
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown quality signal(s) {unknown}; choose from {list(SIGNALS)}")
    fields = fields_of(frame)
    flags: list[Flag] = []
    mismatches = language.start_mismatch_check(frame, fields) if "heuristics" in signals else None
    if "heuristics" in signals:
        flags += heuristics.scan(frame, fields)
    if "pii" in signals:
        flags += pii.scan(fields)
    if mismatches is not None:  # read in a forked child meanwhile, for a big table
        flags += mismatches()
    flags.sort(key=lambda f: (f.row, f.field, f.start, f.code))
    return QualityReport(len(frame), flags)


def with_flags(report: QualityReport, flags: list[Flag]) -> QualityReport:
    """``report`` with ``flags`` (from a model-based signal, say) added, in the report's order."""
    merged = sorted([*report.flags, *flags], key=lambda f: (f.row, f.field, f.start, f.code))
    return QualityReport(report.rows, merged)


def redact(frame: pd.DataFrame, report: QualityReport) -> tuple[pd.DataFrame, int]:
    """Replace every PII / secret span of ``report`` by its placeholder (``[EMAIL]``, ``[SECRET]``...).

    Returns:
        The redacted table (a copy, ids and derived texts recomputed) and the number of spans replaced.
    """
    from core import records

    out = frame.copy()
    by_field: dict[tuple[int, str], list[Flag]] = {}
    for flag in report.flags:
        if flag.code in pii.PLACEHOLDERS:
            by_field.setdefault((flag.row, flag.field), []).append(flag)
    replaced = 0
    for (row, name), flags in by_field.items():
        text = _content(out, row, name)
        for flag in _outermost(flags)[::-1]:  # right to left: earlier offsets stay true
            text = text[: flag.start] + pii.PLACEHOLDERS[flag.code] + text[flag.end :]
            replaced += 1
        set_content(out, row, name, text)
    return (records.refresh_derived(out) if replaced else out), replaced


def _outermost(flags: list[Flag]) -> list[Flag]:
    """Non-overlapping spans, left to right; where two overlap, the longer one wins."""
    kept: list[Flag] = []
    for flag in sorted(flags, key=lambda f: (f.start, -(f.end - f.start))):
        if not kept or flag.start >= kept[-1].end:
            kept.append(flag)
    return kept


def _content(frame: pd.DataFrame, row: int, name: str) -> str:
    side, rest = name.split("[", 1)
    return str(frame[side].iloc[row][int(rest.split("]", 1)[0])]["content"])


def _plain(value: Any) -> Any:
    return (
        None
        if value is None or value is pd.NA or (isinstance(value, float) and value != value)
        else int(value)
    )
