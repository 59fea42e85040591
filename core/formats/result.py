"""What reading a file gives (valid rows, quarantine, every problem), and how to say what was not carried."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.formats._base import (
    ColumnMap,
    Detection,
    Problem,
)

_QUARANTINE_COLUMNS = ["line", "raw", "codes", "reason"]


_PROBLEM_COLUMNS = ["line", "field", "code", "severity", "message", "fix"]


@dataclass
class LoadResult:
    """What reading one file produced: valid rows, rejected rows, every problem."""

    records: pd.DataFrame
    quarantine: pd.DataFrame
    problems: list[Problem]
    detection: Detection
    source_name: str
    container: str = "jsonl"
    column_map: ColumnMap | None = None
    rows_read: int = 0
    token_stats: dict[str, float] | None = None

    def problems_frame(self) -> pd.DataFrame:
        """Return the problems as a table (columns line, field, code, severity, message, fix).

        In a JSON array ``line`` is the record number: then a ``text_line`` column gives the line of the
        file each record starts on.
        """
        frame = pd.DataFrame(
            [(p.line, p.field, p.code, p.severity, p.message, p.fix) for p in self.problems],
            columns=_PROBLEM_COLUMNS,
        )
        frame["line"] = frame["line"].astype("Int64")
        if any(p.text_line is not None and p.text_line != p.line for p in self.problems):
            frame["text_line"] = pd.array([p.text_line for p in self.problems], dtype="Int64")
        return frame

    def quarantine_summary(self, where: str | None = None) -> dict[str, Any]:
        """How many rows were not carried, why and where they went (see :func:`quarantine_summary`)."""
        return quarantine_summary(self.quarantine, where)

    @property
    def valid(self) -> int:
        """Number of rows kept in the canonical table."""
        return len(self.records)

    @property
    def invalid(self) -> int:
        """Number of rows in quarantine."""
        return len(self.quarantine)

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]


_SHOWN_LINES = 50


def quarantine_summary(quarantine: pd.DataFrame, where: str | None = None) -> dict[str, Any]:
    """Say how many rows a command did not carry, why and where they went.

    Args:
        quarantine: Rejected rows (columns ``line`` and ``codes``, as :attr:`LoadResult.quarantine`).
        where: The file they were written to, if any.

    Returns:
        ``{"rows": n, "codes": {code: rows}, "lines": [first 50 lines], "file": where}``.
    """
    cells = quarantine["codes"] if "codes" in quarantine.columns else []
    codes = Counter(code for cell in cells for code in str(cell).split(",") if code)
    lines = [int(x) for x in quarantine["line"].dropna()] if "line" in quarantine.columns else []
    summary: dict[str, Any] = {"rows": len(quarantine), "codes": dict(codes.most_common())}
    summary["lines"] = lines[:_SHOWN_LINES]
    if where is not None:
        summary["file"] = where
    return summary


def describe_quarantine(summary: Mapping[str, Any]) -> str:
    """One line for a person: ``2 invalid rows not carried (lines 4, 9: not_an_object ...)``."""
    if not summary["rows"]:
        return "every row was valid"
    lines = ", ".join(map(str, summary["lines"][:10])) + (", …" if len(summary["lines"]) > 10 else "")
    codes = ", ".join(f"{code} {n}" for code, n in summary["codes"].items())
    where = f"; in {summary['file']}" if summary.get("file") else "; python -m core validate says why"
    return f"{summary['rows']} invalid row(s) not carried (lines {lines}: {codes}){where}"


@dataclass
class RecordBatches:
    """A dataset file read in batches of valid records (see :func:`iter_record_batches`).

    ``rejected`` fills while ``batches`` runs: per rejected row its line, its codes and why
    (the raw row is not kept, so memory stays one batch's); read it once the batches are done.
    """

    detection: Detection
    container: str
    batches: Iterator[pd.DataFrame]
    rejected: list[tuple[int | None, str, str, str]] = dataclasses.field(default_factory=list)

    def quarantine(self) -> pd.DataFrame:
        """The rejected rows so far as a quarantine table (``raw`` left empty)."""
        frame = pd.DataFrame(self.rejected, columns=_QUARANTINE_COLUMNS)
        frame["line"] = frame["line"].astype("Int64")
        return frame


# Warnings that say the same thing about most rows (metadata keys beside an OpenAI format's own)
# become one file-level warning per field, so they do not bury the errors a person must fix.
_COLLAPSIBLE = frozenset({"unknown_top_level_key"})


def collapse_repeated(problems: list[Problem], *, codes: frozenset[str] = _COLLAPSIBLE) -> list[Problem]:
    """Replace per-row warnings of ``codes`` by one warning per (code, field) naming how many rows."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    kept: list[Problem] = []
    for problem in problems:
        if problem.code in codes and problem.severity == "warning":
            groups.setdefault((problem.code, problem.field), []).append(problem)
        else:
            kept.append(problem)
    for (code, field), members in groups.items():
        if len(members) == 1:
            kept.extend(members)
            continue
        lines = [p.line for p in members if p.line is not None]
        shown = ", ".join(str(n) for n in lines[:5]) + (", …" if len(lines) > 5 else "")
        message = f"{members[0].message} ({len(members)} rows" + (f": lines {shown})" if lines else ")")
        kept.append(Problem(None, field, code, message, "warning", members[0].fix))
    return kept
