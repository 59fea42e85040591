"""Fine-tuning dataset formats: detect, validate, parse into the canonical table, write back.

Public API (used by the Upload page and the command line):

- :func:`load_dataset` reads a file (see :mod:`core.io`), detects or takes its format, checks
  every row against the rules of FORMATS.md and returns a :class:`LoadResult`: the canonical
  table of valid rows, the quarantine of rejected rows (never dropped) and every problem.
- :func:`detect_format` guesses the format from the keys of the first rows.
- :func:`write_dataset` writes a canonical table in any format of the same kind and says,
  per row, what could not be carried over.

Line numbers in :class:`Problem` are 1-based physical lines for JSONL files and 1-based data
rows for JSON arrays, CSV (the header is not counted) and Parquet; ``None`` means the whole file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import orjson
import pandas as pd

from core import io as core_io
from core.errors import FormatError
from core.formats import (
    alpaca,
    batch,
    csv_table,
    hh_rlhf,
    openai_dpo,
    openai_rft,
    openai_sft,
    self_instruct,
    sharegpt,
    trl_kto,
    trl_messages,
    trl_preference,
    trl_prompt_completion,
    trl_prompt_only,
    trl_text,
)
from core.formats._base import (
    ColumnMap,
    Detection,
    Problem,
    RowContext,
    clean,
    is_missing,
    metadata_of,
    type_name,
)
from core.formats._messages import is_empty_reply, openai_messages
from core.formats._trl import TRL_STYLES, check_style, row_style
from core.formats.codes import PROBLEM_CODES, PROBLEM_FIXES
from core.formats.csv_table import suggest_column_map
from core.records import content_id, make_frame

__all__ = [
    "FORMAT_NAMES",
    "OPENAI_FORMATS",
    "PROBLEM_CODES",
    "PROBLEM_FIXES",
    "TRL_STYLES",
    "ColumnMap",
    "Detection",
    "LoadResult",
    "Problem",
    "RecordBatches",
    "classify_row",
    "records_of",
    "rows_in",
    "describe_quarantine",
    "detect_format",
    "format_kinds",
    "formats_for_kind",
    "iter_record_batches",
    "load_dataset",
    "quarantine_summary",
    "rows_out",
    "writes_row_by_row",
    "suggest_column_map",
    "write_dataset",
]

FORMAT_NAMES = (
    "openai-sft",
    "openai-dpo",
    "openai-rft",
    "alpaca",
    "sharegpt",
    "trl-messages",
    "trl-text",
    "trl-prompt-completion",
    "trl-preference",
    "trl-kto",
    "trl-prompt-only",
    "hh-rlhf",
    "csv",
    "self-instruct",
)
OPENAI_FORMATS = ("openai-sft", "openai-dpo", "openai-rft")
MIN_EXAMPLES = 10
MAX_RFT_EXAMPLES = 50_000
SAMPLE_ROWS = 50
_MODULES: dict[str, ModuleType] = {
    "openai-sft": openai_sft,
    "openai-dpo": openai_dpo,
    "openai-rft": openai_rft,
    "alpaca": alpaca,
    "sharegpt": sharegpt,
    "trl-messages": trl_messages,
    "trl-prompt-completion": trl_prompt_completion,
    "trl-preference": trl_preference,
    "trl-text": trl_text,
    "trl-kto": trl_kto,
    "trl-prompt-only": trl_prompt_only,
    "hh-rlhf": hh_rlhf,
    "csv": csv_table,
    "self-instruct": self_instruct,
}
_FAMILY = {
    "openai-sft": "messages",
    "trl-messages": "messages",
    "openai-rft": "messages",
    "openai-dpo": "dpo",
    "trl-preference": "chosen/rejected",
    "hh-rlhf": "chosen/rejected",
    "trl-prompt-completion": "prompt/completion",
    "trl-kto": "unpaired",
    "trl-prompt-only": "prompt",
    "trl-text": "text",
    "alpaca": "instruction/output",
    "sharegpt": "conversations",
    "csv": "flat",
    "self-instruct": "instruction/instances",
}
# A row holding its family's main key fits without a closer look (the hot path).
_MAIN_KEY = {
    "messages": "messages",
    "dpo": "input",
    "chosen/rejected": "chosen",
    "prompt/completion": "completion",
    "instruction/output": "instruction",
    "conversations": "conversations",
    "unpaired": "label",
    "prompt": "prompt",
    "text": "text",
    "instruction/instances": "instances",
}
_OTHER_MAIN_KEYS = {
    family: (frozenset(k for f, k in _MAIN_KEY.items() if f != family) | {"prompt", "preferred_output"})
    - {_MAIN_KEY.get(family)}
    for family in (*_MAIN_KEY, "flat")
}
# standard (strings) or conversational (message lists)
_STYLED_FORMATS = ("trl-prompt-completion", "trl-preference", "trl-kto", "trl-prompt-only")
_CERTAINTY = {"openai-sft": 0.9, "trl-messages": 0.85, "openai-rft": 0.85, "trl-text": 0.9, "csv": 0.8}
# A KTO label as people write it; other values of a ``label`` key are metadata (a class, a grade).
_KTO_LABELS = (True, False, 0, 1, "true", "false", "True", "False")
_QUARANTINE_COLUMNS = ["line", "raw", "codes", "reason"]
_PROBLEM_COLUMNS = ["line", "field", "code", "severity", "message", "fix"]


def format_kinds(format: str) -> tuple[str, ...]:
    """Return the kinds of example a format can hold (``csv`` holds all three)."""
    _check_format_name(format)
    return ("sft", "preference", "rft") if format == "csv" else (_MODULES[format].KIND,)


def formats_for_kind(kind: str) -> list[str]:
    """Return the formats a canonical table of ``kind`` can be written in.

    Raises:
        ValueError: If ``kind`` is not ``sft``, ``preference`` or ``rft``.
    """
    if kind not in ("sft", "preference", "rft"):
        raise ValueError(f"kind must be sft, preference or rft, got {kind!r}")
    return [name for name in FORMAT_NAMES if kind in format_kinds(name)]


def _check_format_name(format: str) -> None:
    if format not in FORMAT_NAMES:
        raise ValueError(f"unknown format {format!r}; known formats: {', '.join(FORMAT_NAMES)}")


# ----------------------------------------------------------------------------- detection


def classify_row(row: Mapping[str, Any]) -> str | None:  # noqa: C901 - one test per format, in order
    """Return the format one row's keys point to, or ``None`` when they match none."""
    if "input" in row and any(
        k in row for k in ("preferred_output", "non_preferred_output", "preferred_completion")
    ):
        return "openai-dpo"
    if "conversations" in row:
        return "sharegpt"
    if self_instruct.looks_like_task(row):
        return "self-instruct"
    if "instruction" in row and any(k in row for k in ("output", "input", "response", "context")):
        return "alpaca"
    if "chosen" in row and "rejected" in row:
        if "prompt" not in row and hh_rlhf.looks_like_transcript(row["chosen"]):
            return "hh-rlhf"
        return "trl-preference"
    if "prompt" in row and "completion" in row:
        label = row.get("label")
        kto = "label" in row and type(label) in (bool, int, str) and label in _KTO_LABELS
        return "trl-kto" if kto else "trl-prompt-completion"
    if "messages" in row:
        return _classify_messages(row)
    if "prompt" in row and _prompt_only(row):
        return "trl-prompt-only"
    if isinstance(row.get("text"), str) and not row.keys() & _FLAT_TEXT_KEYS:
        return "trl-text"
    return None


# Keys that make a row with ``text`` a flat table rather than a language-modeling row.
_FLAT_TEXT_KEYS = frozenset({"prompt", "response", "output", "answer", "question", "label"})


def _prompt_only(row: Mapping[str, Any]) -> bool:
    """A conversational prompt, or a string prompt beside no column a flat table takes as the response."""
    prompt = row["prompt"]
    if isinstance(prompt, list):
        return True
    if not isinstance(prompt, str):
        return False
    mapping = suggest_column_map([str(k) for k in row])
    return mapping is not None and mapping.response is None and mapping.chosen is None


def _classify_messages(row: Mapping[str, Any]) -> str:
    messages = row["messages"]
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], Mapping):
        return "openai-sft"
    if any(_dict_arguments(m) for m in messages):
        return "trl-messages"
    roles = [m.get("role") for m in messages if isinstance(m, Mapping)]
    others = [k for k in row if k not in ("messages", "tools")]
    if roles[-1] == "user" and "assistant" not in roles[:-1] and (others or "developer" in roles):
        return "openai-rft"
    if roles[-1] == "user" and "developer" in roles:
        return "openai-rft"
    return "openai-sft"


def _dict_arguments(message: Any) -> bool:
    calls = message.get("tool_calls") if isinstance(message, Mapping) else None
    if not isinstance(calls, list):
        return False
    return any(
        isinstance(c, Mapping) and isinstance(c.get("function", {}).get("arguments"), dict) for c in calls
    )


def detect_format(rows: list[dict], filename: str | None = None) -> Detection:
    """Guess the format of a file from the keys of its first rows.

    Args:
        rows: The first rows of the file (only the first 50 are looked at).
        filename: Used only as a hint in the reason (e.g. ``dpo`` in the name).

    Returns:
        The format, its kind, a confidence in [0, 1] and the reason in plain English.

    Raises:
        FormatError: If no row is an object, or the keys match no supported format.
    """
    sample: list[Any] = [r for r in rows[:SAMPLE_ROWS] if isinstance(r, Mapping)]
    if not sample:
        raise FormatError(
            f"{filename or 'the file'}: no row is a JSON object, so no format can be recognised"
        )
    votes = Counter(classify_row(r) for r in sample)
    known = {name: count for name, count in votes.items() if name is not None}
    if not known:
        return _detect_flat(sample, filename)
    families: Counter[str] = Counter()
    for name, count in known.items():
        families[_FAMILY[name]] += count
    family, family_count = families.most_common(1)[0]
    name = max((n for n in known if _FAMILY[n] == family), key=lambda n: known[n])
    share = family_count / len(sample)
    confidence = round(share * _CERTAINTY.get(name, 0.97), 3)
    return Detection(name, _MODULES[name].KIND, confidence, _reason(name, sample, family_count, filename))


def _reason(name: str, sample: list[Mapping[str, Any]], count: int, filename: str | None) -> str:
    keys = Counter(k for row in sample for k in row)
    common = ", ".join(k for k, _ in keys.most_common(5))
    reason = f"{count} of {len(sample)} sampled rows have the keys of {name} (most common keys: {common})"
    notes = {
        "openai-sft": "; the same shape is TRL's conversational language-modeling format (trl-messages)",
        "trl-messages": "; tool-call arguments are objects, as in TRL (OpenAI needs JSON strings)",
        "openai-rft": "; rows end with a user message and carry reference fields",
        "hh-rlhf": "; chosen/rejected are Human/Assistant transcripts",
        "trl-kto": "; unpaired preference (KTO): one completion per row, judged by label",
        "trl-prompt-only": "; prompts without a reply (GRPO / RLOO), other keys are reference fields",
        "trl-text": "; plain text for language modeling (every token is trained on)",
    }
    reason += notes.get(name, "")
    if name == "trl-preference" and filename and "dpo" in filename.lower():
        reason += "; NOTE: the file name says DPO, but these are TRL keys, not OpenAI DPO keys"
    return reason


def _detect_flat(sample: list[Mapping[str, Any]], filename: str | None) -> Detection:
    columns = list(dict.fromkeys(k for row in sample for k in row))
    mapping = suggest_column_map(columns)
    flat = all(not isinstance(v, (dict, list)) for row in sample for v in row.values())
    if mapping is None or not flat:
        raise FormatError(
            f"{filename or 'the file'}: the keys {columns[:12]} match no supported format "
            f"({', '.join(FORMAT_NAMES)}); choose the format, or map the columns for a flat table"
        )
    reason = f"flat rows of plain values; prompt column guessed as {mapping.prompt!r}" + (
        f", response {mapping.response!r}" if mapping.response else ""
    )
    return Detection("csv", mapping.kind, _CERTAINTY["csv"], reason)


# ----------------------------------------------------------------------------- loading


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
        """Return the problems as a table (columns line, field, code, severity, message, fix)."""
        frame = pd.DataFrame(
            [(p.line, p.field, p.code, p.severity, p.message, p.fix) for p in self.problems],
            columns=_PROBLEM_COLUMNS,
        )
        frame["line"] = frame["line"].astype("Int64")
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


def load_dataset(
    source: bytes | str | Path,
    filename: str | None = None,
    *,
    format: str | None = None,
    model: str | None = None,
    column_map: ColumnMap | None = None,
) -> LoadResult:
    """Read, validate and canonicalise a dataset file.

    Args:
        source: The file's bytes or its path.
        filename: The name shown in messages (and used to guess JSONL / JSON / CSV / Parquet).
        format: One of :data:`FORMAT_NAMES`; detected from the first rows when ``None``.
        model: Target model; when given, every example's tokens are counted and checked against
            the model's limit (column ``n_tokens``).
        column_map: Which column is what, for flat tables (CSV); guessed from the names when ``None``.

    Returns:
        A :class:`LoadResult`; rows with an error are in ``quarantine``, never dropped.

    Raises:
        FormatError: If the file cannot be read at all, holds no row, or its format is unknown.
    """
    source_rows, run, rows = _open_run(source, filename, format, column_map)
    if model is not None:
        run.count_tokens(model)
    try:
        run.consume(rows)
        run.add_read_issues(source_rows.issues)
        result = run.result(source_rows)
        known = run.token_totals()
    finally:
        run.close()
    _file_checks(result, filename or source_rows.name)
    if result.container == "json":
        _place_records(result, source, filename)
    if model is not None:
        _check_tokens(result, model, known)
    return result


def _place_records(result: LoadResult, source: bytes | str | Path, filename: str | None) -> None:
    """Give every problem of a JSON array record the physical line the record starts on."""
    unplaced = {p.line for p in result.problems if p.line is not None and p.text_line is None}
    lines = core_io.record_lines(source, unplaced, filename) if unplaced else {}
    if lines:
        result.problems = [
            replace(p, text_line=lines[p.line]) if p.text_line is None and p.line in lines else p
            for p in result.problems
        ]


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


def iter_record_batches(
    source: bytes | str | Path, filename: str | None = None, *, format: str | None = None, rows: int = 8192
) -> RecordBatches:
    """Read a dataset file like :func:`load_dataset`, as canonical tables of up to ``rows`` valid rows.

    The same rows come out, with the same ids and source lines; rejected rows and problems are
    not kept, so the memory held is one batch's. For a pass over a file too big to hold as one
    table (``python -m core dedup``).

    Raises:
        FormatError: If the file cannot be read at all, holds no row, or its format is unknown.
    """
    source_rows, run, stream = _open_run(source, filename, format, None)
    rejected: list[tuple[int | None, str, str, str]] = []

    def batches() -> Iterator[pd.DataFrame]:
        while chunk := list(islice(stream, rows)):
            run.records, run.quarantine = [], []
            del run.problems[:]  # the row context writes into this list
            run.consume(chunk)
            rejected.extend((line, "", codes, reason) for line, _, codes, reason in run.quarantine)
            if run.records:
                yield make_frame(run.records)
        run.records, run.quarantine = [], []
        run.add_read_issues(source_rows.issues)
        rejected.extend((line, "", codes, reason) for line, _, codes, reason in run.quarantine)
        rejected.sort(key=lambda q: (q[0] is None, q[0] or 0))

    return RecordBatches(run.detection, source_rows.container, batches(), rejected)


def _open_run(
    source: bytes | str | Path, filename: str | None, format: str | None, column_map: ColumnMap | None
) -> tuple[core_io.RowSource, _Run, Iterator[core_io.Row]]:
    """Open the rows, settle the format on the first ones; return the source, the run and every row."""
    if format is not None and format not in FORMAT_NAMES:
        raise FormatError(f"unknown format {format!r}; known formats: {', '.join(FORMAT_NAMES)}")
    source_rows = core_io.open_rows(source, filename)
    head = list(islice(source_rows.rows, SAMPLE_ROWS))
    if not head:
        raise FormatError(_no_rows_message(source_rows))
    if len(head) == 1 and isinstance(head[0].value, dict):
        inner = core_io.unwrap_document(head[0].value)  # one long line holding {"data": [rows]}
        if inner is not None:
            head = [core_io.Row(i, v) for i, v in enumerate(inner, start=1)]
    detection, column_map = _settle_format(format, source_rows, head, column_map)
    run = _Run(detection, column_map, explicit=format is not None)
    return source_rows, run, chain(head, source_rows.rows)


def _no_rows_message(source_rows: core_io.RowSource) -> str:
    errors = [i for i in source_rows.issues if i.severity == "error"]
    if errors:
        return f"{source_rows.name}: no row could be read ({len(errors)} broken); first: {errors[0].message}"
    return f"{source_rows.name}: the file holds no rows"


def _settle_format(
    format: str | None, source_rows: core_io.RowSource, head: list[core_io.Row], column_map: ColumnMap | None
) -> tuple[Detection, ColumnMap | None]:
    values = [row.value for row in head]
    if format is None and (source_rows.container == "csv" or column_map is not None):
        reason = "a CSV table" if source_rows.container == "csv" else "rows read through the column map given"
        return _settle_csv(Detection("csv", "sft", 1.0, reason), source_rows, values, column_map)
    if format is None:
        detection = detect_format(values, source_rows.name)
    else:
        detection = Detection(format, _MODULES[format].KIND, 1.0, "format chosen by the person")
    if detection.format != "csv":
        return detection, None
    return _settle_csv(detection, source_rows, values, column_map)


def _settle_csv(
    detection: Detection, source_rows: core_io.RowSource, values: list[Any], column_map: ColumnMap | None
) -> tuple[Detection, ColumnMap]:
    columns = source_rows.columns or list(
        dict.fromkeys(k for v in values if isinstance(v, Mapping) for k in v)
    )
    column_map = column_map or suggest_column_map(columns)
    if column_map is None:
        raise FormatError(
            f"{source_rows.name}: cannot tell which column is the prompt "
            f"(columns: {', '.join(columns[:20])}); "
            "map the columns (prompt, response, ...) first"
        )
    missing = [c for c in column_map.used().values() if c not in columns]
    if missing:
        raise FormatError(f"{source_rows.name}: the column map names columns that are not there: {missing}")
    reason = f"{detection.reason}; columns: " + ", ".join(
        f"{role}={col}" for role, col in column_map.used().items()
    )
    return Detection("csv", column_map.kind, detection.confidence, reason), column_map


# (file format, format a row looks like): a row one key short of the file's format, or (DPO) in
# the wrong shape, which the file format's own parser explains better than "looks like X".
_PARSER_EXPLAINS = frozenset(
    {
        ("openai-dpo", "trl-preference"),
        ("openai-dpo", "hh-rlhf"),
        ("trl-prompt-completion", "trl-prompt-only"),
        ("trl-preference", "trl-prompt-only"),
        ("trl-kto", "trl-prompt-completion"),
        ("trl-kto", "trl-prompt-only"),
    }
)


class _Run:
    """One pass over the rows: parse, validate, sort into records and quarantine."""

    fast_path = True  # off: every row through its format's validator (the reference the tests compare to)

    def __init__(self, detection: Detection, column_map: ColumnMap | None, *, explicit: bool) -> None:
        self.detection = detection
        self.column_map = column_map
        self.explicit = explicit
        self.family = _FAMILY[detection.format]
        module = _MODULES[detection.format]
        self.parse: Callable[[dict, RowContext], dict | list[dict] | None] = (
            csv_table.make_parser(column_map) if column_map is not None else module.parse
        )
        self.problems: list[Problem] = []
        self.ctx = RowContext(self.problems)
        self.records: list[dict[str, Any]] = []
        self.quarantine: list[tuple[int | None, str, str, str]] = []
        self.rows_read = 0
        # The clean-row fast path (core.formats.batch) where the format has one.
        self.fast = self.fast_path and detection.format == "openai-sft" and column_map is None
        self.counts: Any = None  # core.tokens.TextCounts while tokens are counted during the read
        self.texts: list[str] = []  # texts of clean rows not yet handed to the counter
        self.counted_rows = array("q")  # per clean row counted during the read: its record index
        self.counted_texts = array("q")  # ... and how many texts it has

    def count_tokens(self, model: str) -> None:
        """Count the tokens of clean rows in batches during the read (see :meth:`token_totals`)."""
        try:
            from core import tokens

            self.counts = tokens.TextCounts(tokens.encoding_name_for_model(model))
        except (ImportError, AttributeError, ValueError):  # _check_tokens reports it, as before
            self.counts = None

    def token_totals(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Record indices and training tokens of the rows counted during the read, or None."""
        if self.counts is None:
            return None
        from core.tokens import PLAIN_MESSAGE_OVERHEAD, REPLY_PRIMING

        self._flush_texts()
        counts = self.counts.counts()
        sizes = np.frombuffer(self.counted_texts, dtype=np.int64)
        rows = np.frombuffer(self.counted_rows, dtype=np.int64)
        if not len(rows):
            return rows, np.empty(0, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        totals = np.add.reduceat(counts, starts) + PLAIN_MESSAGE_OVERHEAD * sizes + REPLY_PRIMING
        return rows, totals

    def _flush_texts(self) -> None:
        if self.texts:
            self.counts.add(self.texts)
            self.texts = []

    def close(self) -> None:
        """Stop the token counter's worker, if one runs."""
        if self.counts is not None:
            self.counts.close()

    def consume(self, rows: Iterable[core_io.Row]) -> None:  # noqa: C901 - the read loop, kept flat for speed
        ctx, records, parse, family = self.ctx, self.records, self.parse, self.family
        fast, others, name, counting = self.fast, _OTHER_MAIN_KEYS[self.family], self.detection.format, None
        if self.counts is not None:
            counting = self.texts
        for row in rows:
            self.rows_read += 1
            ctx.start(row.line)
            value = row.value
            if fast and type(value) is dict:
                clean_row = batch.plain_sft(value, ctx, others, name)
                if clean_row is not None:
                    built, texts = clean_row
                    built["source_line"] = row.line
                    if counting is not None:
                        self.counted_rows.append(len(records))
                        self.counted_texts.append(len(texts))
                        counting.extend(texts)
                        if len(counting) >= _TEXTS_PER_BATCH:
                            self._flush_texts()
                            counting = self.texts
                    records.append(built)
                    continue
            before = len(self.problems)
            record = None
            if type(value) is not dict:
                ctx.error("", "not_an_object", f"the row is a JSON {type_name(value)}, not an object")
            elif family != "flat" and not self._fits(value):
                pass
            else:
                record = parse(value, ctx)
            if ctx.errors or record is None:
                self._reject(row, before)
                continue
            if isinstance(record, list):  # a format with several examples per row (self-instruct)
                for one in record:
                    one["source_line"] = row.line
                records.extend(record)
                continue
            record["source_line"] = row.line
            records.append(record)

    def _fits(self, value: dict) -> bool:
        main = _MAIN_KEY.get(self.family)
        if main in value and len(value) <= 4 and not (value.keys() & _OTHER_MAIN_KEYS[self.family]):
            return True
        other = classify_row(value)
        if other is None or _FAMILY[other] == self.family:
            return True
        if (self.detection.format, other) in _PARSER_EXPLAINS:
            return True  # the format's parser names what is missing or wrong, with its fix
        keys = ", ".join(list(value)[:6])
        if self.explicit:
            self.ctx.error(
                "",
                "format_mismatch",
                f"this row looks like {other} (keys: {keys}), not {self.detection.format}",
                f"choose the format {other}, or fix the row",
            )
        else:
            self.ctx.error(
                "",
                "mixed_formats",
                f"this row looks like {other} (keys: {keys}) but the file is {self.detection.format}",
                "keep one format per file: convert or move this row",
            )
        return False

    def _reject(self, row: core_io.Row, before: int) -> None:
        errors = [p for p in self.problems[before:] if p.severity == "error"]
        if not errors:
            self.ctx.error("", "unreadable_row", "the row could not be read as this format")
            errors = self.problems[-1:]
        raw = row.text if row.text is not None else _dump(row.value)
        codes = ",".join(dict.fromkeys(p.code for p in errors))
        reason = "; ".join(f"{p.field + ': ' if p.field else ''}{p.message}" for p in errors)
        self.quarantine.append((row.line, core_io.truncate_raw(raw), codes, reason))

    def add_read_issues(self, issues: list[core_io.ReadIssue]) -> None:
        for issue in issues:
            self.problems.append(
                Problem(issue.line, "", issue.code, issue.message, issue.severity, issue.fix, issue.text_line)
            )
            if issue.severity == "error":
                self.quarantine.append((issue.line, issue.raw or "", issue.code, issue.message))

    def result(self, source_rows: core_io.RowSource) -> LoadResult:
        quarantine = pd.DataFrame(
            sorted(self.quarantine, key=lambda q: (q[0] is None, q[0] or 0)), columns=_QUARANTINE_COLUMNS
        )
        quarantine["line"] = quarantine["line"].astype("Int64")
        self.problems.sort(key=lambda p: (p.line is None, p.line or 0))
        return LoadResult(
            records=make_frame(self.records),
            quarantine=quarantine,
            problems=collapse_repeated(self.problems),
            detection=self.detection,
            source_name=source_rows.name,
            container=source_rows.container,
            column_map=self.column_map,
            rows_read=self.rows_read + sum(1 for i in source_rows.issues if i.severity == "error" and i.line),
        )


_TEXTS_PER_BATCH = 16_384  # texts handed to the token counter at once


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


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode("utf-8")
    except TypeError:
        return repr(value)


def _file_checks(result: LoadResult, name: str) -> None:
    fmt = result.detection.format
    total = result.valid + result.invalid
    if total < MIN_EXAMPLES:
        # One severity for every format: the rows are fine, the file is small (a val / test split
        # often is); OpenAI rejects a training file this small, which the message says.
        result.problems.append(
            Problem(
                None,
                "",
                "too_few_examples",
                f"{name} holds {total} examples; OpenAI needs at least {MIN_EXAMPLES} (50+ recommended)",
                "warning",
                "add examples",
            )
        )
    if fmt == "openai-rft" and total > MAX_RFT_EXAMPLES:
        result.problems.append(
            Problem(
                None,
                "",
                "too_many_examples",
                f"{total} examples; an RFT training file holds at most 50,000",
                "warning",
            )
        )
    if result.container == "json" and name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson")):
        result.problems.append(
            Problem(
                None,
                "",
                "json_array_not_jsonl",
                f"{name} is a JSON array, not JSON Lines; it was read as an array",
                "warning",
                "export as JSONL (one object per line)",
            )
        )
    elif result.container == "json" and fmt in OPENAI_FORMATS:
        result.problems.append(
            Problem(
                None,
                "",
                "not_jsonl",
                "OpenAI needs a .jsonl file (one object per line), this is a JSON array",
                "warning",
                "export as JSONL",
            )
        )
    if fmt in _STYLED_FORMATS:
        _check_one_style(result)
    if fmt == "trl-preference" and "dpo" in name.lower():
        result.problems.append(
            Problem(
                None,
                "",
                "dpo_wrong_shape",
                "the file name says DPO but the rows use TRL's prompt/chosen/rejected: "
                "OpenAI's DPO would reject it",
                "warning",
                openai_dpo.WRONG_SHAPE_FIX,
            )
        )


def _check_one_style(result: LoadResult) -> None:
    """Flag a file whose rows mix standard (string) and conversational (list) rows.

    ``datasets`` gives each column one type and TRL's trainers pick the chat template from the
    first row, so in a mixed file the rows of the other style train wrongly.
    """
    first: dict[str, int | None] = {}
    count: Counter[str] = Counter()
    for raw, line in zip(result.records["raw"], result.records["source_line"], strict=True):
        style = row_style(raw) if isinstance(raw, Mapping) else None
        if style is not None:
            count[style] += 1
            first.setdefault(style, None if is_missing(line) else int(line))
    if len(count) < 2:
        return
    detail = ", ".join(f"{count[s]} {s} (first on line {first[s]})" for s in TRL_STYLES)
    result.problems.append(
        Problem(
            None,
            "",
            "mixed_standard_conversational",
            f"the file mixes standard (string) and conversational (message list) rows: {detail}; "
            "a trainer reads every row the way it reads the first",
            "error",
            "write one style: python -m core convert FILE --to "
            f"{result.detection.format} --trl-style conversational -o OUT.jsonl",
        )
    )


def _check_tokens(result: LoadResult, model: str, known: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Count every valid example's training tokens (column ``n_tokens``) and flag those over the limit.

    ``known``: record indices and tokens of the rows counted during the read; the rest are counted here.
    """
    try:
        from core import tokens

        limit = tokens.token_limit(model)
        counted = _count_rest(tokens, result.records, model, known)
    except (ImportError, AttributeError) as exc:
        result.problems.append(
            Problem(None, "", "token_check_skipped", f"token counts are not available ({exc})", "warning")
        )
        return
    frame = result.records
    frame["n_tokens"] = pd.array(counted, dtype="Int64")
    if counted:
        total = int(sum(counted))
        result.token_stats = {"total": total, "max": int(max(counted)), "mean": total / len(counted)}
    if limit is None:
        return
    for line, n in zip(frame["source_line"], counted, strict=True):
        if n > limit:
            result.problems.append(
                Problem(
                    None if is_missing(line) else int(line),
                    "",
                    "too_many_tokens",
                    f"{n} tokens, over the {limit} a {model} training example may hold: it will be truncated",
                    "warning",
                    "shorten or split the example",
                )
            )


def _count_rest(
    tokens: ModuleType, frame: pd.DataFrame, model: str, known: tuple[np.ndarray, np.ndarray] | None
) -> list[int]:
    """Training tokens per row: those ``known`` from the read, the others counted now."""
    if known is None or not len(known[0]):
        return _count_tokens(tokens, frame, model)
    rows, totals = known
    counted = np.full(len(frame), -1, dtype=np.int64)
    counted[rows] = totals
    rest = np.flatnonzero(counted < 0)
    if len(rest):
        counted[rest] = _count_tokens(tokens, frame.iloc[rest], model)
    return counted.tolist()


def _count_tokens(tokens: ModuleType, frame: pd.DataFrame, model: str) -> list[int]:
    """Training tokens per row: the batch counter when there is one, else one call per row."""
    if len(frame) and hasattr(tokens, "count_training_tokens"):
        return [int(n) for n in tokens.count_training_tokens(frame, model=model)]
    count = tokens.count_messages_tokens
    return [_example_tokens(count, m, c, r, t, model) for m, c, r, t in _nested(frame)]


def _nested(frame: pd.DataFrame) -> Iterator[tuple[Any, Any, Any, Any]]:
    return zip(frame["messages"], frame["chosen"], frame["rejected"], frame["tools"], strict=True)


def _example_tokens(
    count: Callable[..., int], messages: Any, chosen: Any, rejected: Any, tools: Any, model: str
) -> int:
    tools = tools if isinstance(tools, list) and tools else None
    base = list(messages or [])
    if isinstance(chosen, list):
        return max(
            count(base + chosen, tools, model=model), count(base + list(rejected or []), tools, model=model)
        )
    return count(base, tools, model=model)


# ----------------------------------------------------------------------------- writing


def write_dataset(
    frame: pd.DataFrame,
    format: str,
    *,
    column_map: ColumnMap | None = None,
    trl_style: str | None = None,
    render: trl_text.Render | None = None,
    container: str | None = None,
) -> tuple[bytes, list[Problem]]:
    """Write a canonical table in ``format`` and say, per row, what could not be carried over.

    A row read from ``format`` and not changed since is written from its original row
    (lossless); every other row is built from its canonical columns.

    Args:
        frame: A canonical table (see :mod:`core.records`).
        format: One of :data:`FORMAT_NAMES`.
        column_map: For ``csv``: the column names to write (e.g. the map the table was read with,
            so CSV -> CSV keeps its header); default ``prompt``, ``response``, ``category``, ...
        trl_style: For ``trl-prompt-completion`` and ``trl-preference``: every row as message
            lists (``conversational``) or as plain strings (``standard``; a row that cannot be
            one is left out, with its loss). One style per file: TRL reads the first row's.
            ``None``: the style of the table's rows when they were all read as standard rows
            of this format (a lossless same-format export), else conversational.
        render: For ``trl-text``: renders a conversation (messages, tools) as text, e.g. a local
            tokenizer's chat template (:func:`core.hf_tokens.load_tokenizer`); default ChatML.
        container: ``json`` (one array) or ``jsonl`` (one object per line) instead of the format's
            own, for a file whose name promises the other (FastChat's ShareGPT files are arrays);
            ``None``: the format's own (CSV is always CSV).

    Returns:
        The file's bytes and one ``conversion_loss`` problem per row that lost something
        (severity ``error`` when the row could not be written at all). A paired preference
        row written as ``trl-kto`` becomes two rows (chosen ``true``, rejected ``false``).

    Raises:
        ValueError: If ``format``, ``trl_style`` or ``container`` is unknown, or ``container`` is
            given for ``csv``.
    """
    _check_format_name(format)
    container = _container(format, container)
    trl_style = trl_style or _source_style(frame, format)
    check_style(trl_style)
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for outs, problem in rows_out(frame, format, trl_style, render):
        rows.extend(outs)
        if problem is not None:
            problems.append(problem)
    if format == "csv" and column_map is not None:
        names = column_map.used()
        rows = [{names.get(key, key): value for key, value in row.items()} for row in rows]
    return _serialise(rows, container), problems


def _container(format: str, container: str | None) -> str:
    own = str(_MODULES[format].CONTAINER)
    if container is None or container == own:
        return own
    if own == "csv" or container not in ("json", "jsonl"):
        raise ValueError(f"{format} is written as {own}, not {container!r} (json and jsonl swap, CSV stays)")
    return container


def rows_out(
    frame: pd.DataFrame, format: str, trl_style: str, render: trl_text.Render | None = None
) -> list[tuple[list[dict[str, Any]], Problem | None]]:
    """Per row of ``frame``: the rows to write in ``format`` (none if it cannot be) and its loss, if any.

    A paired preference row written as ``trl-kto`` is two rows; every other row is one or none.

    An OpenAI row read from ``format`` whose content is unchanged is written from its original
    row without building the whole record (most rows of a same-format export); every other row
    goes through :func:`_row_out`.
    """
    module = _MODULES[format]
    n = len(frame)

    def column(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    kinds, raws, sources, lines = (
        column("kind"),
        column("raw"),
        column("source_format"),
        column("source_line"),
    )
    contents = [column(name) for name in ("messages", "chosen", "rejected", "tools")]
    done: list[tuple[Any, list[str]] | None] = [None] * n
    if format in _DIRECT_FORMATS:
        done = [
            _direct_out(format, kinds[i], raws[i], sources[i], [c[i] for c in contents]) for i in range(n)
        ]
    pending = [i for i in range(n) if done[i] is None]
    if pending:
        records = frame.iloc[pending].to_dict("records") if len(pending) < n else frame.to_dict("records")
        built = [(r, *_row_out(r, format, module, trl_style, render)) for r in records]
        if format == "trl-preference":
            built = _one_prompt_shape(built, trl_style)
        for i, (_, out, losses) in zip(pending, built, strict=True):
            done[i] = (out, losses)
    results: list[tuple[list[dict[str, Any]], Problem | None]] = []
    for i, outcome in enumerate(done):
        assert outcome is not None
        out, losses = outcome
        outs = out if isinstance(out, list) else [] if out is None else [out]
        if format.startswith("trl-"):
            outs = [_without_trl_collisions(row, module, losses) for row in outs]
        results.append((outs, _loss_problem(losses, lines[i], written=out is not None)))
    return results


def _direct_out(
    format: str, kind: Any, raw: Any, source: Any, content: list[Any]
) -> tuple[dict[str, Any], list[str]] | None:
    """The row written from its original row when it was read from ``format`` and is unchanged, else None."""
    if kind not in format_kinds(format) or source != format or not isinstance(raw, Mapping):
        return None
    raw = clean(raw)
    if not _unchanged_content(content, raw, _MODULES[format], kind):
        return None
    return _from_raw({}, raw, format)


def _loss_problem(losses: list[str], line: Any, *, written: bool) -> Problem | None:
    """One ``conversion_loss`` per row that lost something: an error when it was not written at all."""
    if not losses:
        return None
    number = None if is_missing(line) else int(line)
    message = "; ".join(dict.fromkeys(losses))
    return Problem(number, "", "conversion_loss", message, "warning" if written else "error")


def writes_row_by_row(format: str) -> bool:
    """Whether a file in ``format`` is its rows' lines one after another, each written on its own.

    For those formats, the file of a table is the concatenation of the files of its parts
    (``write_dataset`` of consecutive batches), so a big file can be written batch by batch.
    """
    _check_format_name(format)
    return _MODULES[format].CONTAINER == "jsonl" and format not in _STYLED_FORMATS


_DIRECT_FORMATS = ("openai-sft", "openai-dpo")  # an unchanged row is its original row's reserved keys


_Built = tuple[dict[str, Any], dict[str, Any] | list[dict[str, Any]] | None, list[str]]


def _one_prompt_shape(built: list[_Built], trl_style: str) -> list[_Built]:
    """Give every preference row an explicit ``prompt`` when some rows have one and others not.

    ``datasets`` gives a row without the key ``prompt=None`` and TRL then fails on it; a row
    whose canonical prompt is empty cannot have one and is left out, with its loss.
    """
    shapes = {"prompt" in out for _, out, _ in built if isinstance(out, dict)}
    if len(shapes) < 2:
        return built
    fixed: list[_Built] = []
    for record, out, losses in built:
        if isinstance(out, dict) and "prompt" not in out:
            if clean(record.get("messages")):
                out, losses = trl_preference.build(record, style=trl_style)
            else:
                out, losses = (
                    None,
                    [
                        "row left out: it has no prompt while other rows have one (datasets would give it "
                        "prompt=None, which TRL cannot read)"
                    ],
                )
        fixed.append((record, out, losses))
    return fixed


# Keys TRL's data utilities give a meaning (trl.data_utils: the example's type is the set of
# these keys present), plus SFTTrainer's ``text``: as metadata they would change how a row trains.
_TRL_DATA_KEYS = frozenset({"prompt", "completion", "chosen", "rejected", "messages", "label", "text"})


def _without_trl_collisions(row: dict[str, Any], module: ModuleType, losses: list[str]) -> dict[str, Any]:
    """Rename metadata keys TRL would read as data (``label`` beside prompt/completion means KTO)."""
    clashes = (row.keys() & _TRL_DATA_KEYS) - set(module.RESERVED)
    if not clashes:
        return row
    for key in sorted(clashes):
        losses.append(f"metadata `{key}` written as `meta_{key}` (TRL would read `{key}` as data)")
    return {(f"meta_{k}" if k in clashes else k): v for k, v in row.items()}


def _source_style(frame: pd.DataFrame, format: str) -> str:
    """``standard`` when every row was read from a standard row of ``format``, else ``conversational``."""
    if format not in _STYLED_FORMATS or not len(frame) or "raw" not in frame.columns:
        return "conversational"
    same = (frame["source_format"] == format).all()
    standard = same and all(isinstance(r, Mapping) and row_style(r) == "standard" for r in frame["raw"])
    return "standard" if standard else "conversational"


def _row_out(
    record: dict[str, Any], format: str, module: ModuleType, trl_style: str, render: trl_text.Render | None
) -> tuple[dict[str, Any] | list[dict[str, Any]] | None, list[str]]:
    kind = record.get("kind")
    if kind not in format_kinds(format):
        return None, [f"row left out: a {kind} example cannot be written as {format}"]
    if kind == "preference" and format != "trl-kto" and not _paired(record):
        side = "a desirable" if _present(record.get("chosen")) else "an undesirable"
        return None, [
            f"row left out: an unpaired (KTO) example holds only {side} completion; "
            f"{format} needs a chosen and a rejected reply to the same prompt"
        ]
    if kind == "sft" and _rejects_empty_reply(format, trl_style) and _empty_last_reply(record):
        return None, [f"row left out: the reply is empty, and {format} takes no empty reply"]
    styled = format in _STYLED_FORMATS
    raw = record.get("raw")
    if record.get("source_format") == format and isinstance(raw, Mapping) and format != "csv":
        raw = clean(raw)
        if (not styled or row_style(raw) == trl_style) and _unchanged(record, raw, module):
            return _from_raw(record, raw, format)
    if styled:
        return module.build(record, style=trl_style)
    return module.build(record, render=render) if format == "trl-text" else module.build(record)


# Formats whose reader rejects an SFT row with an empty reply (a string field that must hold text).
_NO_EMPTY_REPLY = frozenset({"alpaca", "self-instruct", "csv"})


def _rejects_empty_reply(format: str, trl_style: str) -> bool:
    return format in _NO_EMPTY_REPLY or (format == "trl-prompt-completion" and trl_style == "standard")


def _empty_last_reply(record: Mapping[str, Any]) -> bool:
    replies = [m for m in clean(record.get("messages")) or [] if m.get("role") == "assistant"]
    return bool(replies) and is_empty_reply(replies[-1])


def _present(side: Any) -> bool:
    return not is_missing(side) and len(side) > 0


def _paired(record: Mapping[str, Any]) -> bool:
    return _present(record.get("chosen")) and _present(record.get("rejected"))


def _unchanged(record: dict[str, Any], raw: dict[str, Any], module: ModuleType) -> bool:
    return _unchanged_content(
        [record.get(k) for k in ("messages", "chosen", "rejected", "tools")], raw, module, record["kind"]
    )


def _unchanged_content(values: list[Any], raw: dict[str, Any], module: ModuleType, kind: Any) -> bool:
    """Whether the canonical ``values`` (messages, chosen, rejected, tools) are still those of ``raw``."""
    direct = _direct_content(raw, module.NAME)
    if direct is not None:
        expected = [v or None for v in direct]
        try:  # plain equal values stay equal once cleaned: skip cleaning them (the common case)
            if [v or None for v in values] == expected:
                return True
        except (TypeError, ValueError):  # NumPy arrays do not compare as one truth value
            pass
        return [v or None for v in map(clean, values)] == expected
    parsed = module.parse(raw, RowContext([]))
    if isinstance(parsed, list):  # self-instruct: the raw of one example is a one-instance task
        parsed = parsed[0] if len(parsed) == 1 else None
    if parsed is None:
        return False
    return content_id(kind, *map(clean, values)) == parsed["id"]


def _direct_content(raw: dict[str, Any], format: str) -> list[Any] | None:
    """The canonical content of an OpenAI row without parsing it again (their canonical form is the row)."""
    if format in ("openai-sft", "openai-rft"):
        return [raw.get("messages"), None, None, raw.get("tools")]
    inner = raw.get("input")
    if format == "openai-dpo" and isinstance(inner, dict):
        return [
            inner.get("messages"),
            raw.get("preferred_output"),
            raw.get("non_preferred_output"),
            inner.get("tools"),
        ]
    return None


def _from_raw(record: dict[str, Any], raw: dict[str, Any], format: str) -> tuple[dict[str, Any], list[str]]:
    module = _MODULES[format]
    losses: list[str] = []
    if format in ("openai-sft", "openai-dpo"):
        out = {k: v for k, v in raw.items() if k in module.RESERVED}
        dropped = [k for k in raw if k not in module.RESERVED]
        if dropped:
            losses.append(f"metadata left out (OpenAI rejects unknown keys): {', '.join(dropped)}")
        return _known_message_keys(out, format, losses), losses
    out = dict(raw)
    reserved = set(getattr(module, "RESERVED", ()))
    for key, value in metadata_of(record).items():
        if key not in reserved:
            out[key] = value
    if format == "openai-rft":
        out = _known_message_keys(out, format, losses)
    return out, losses


def _known_message_keys(out: dict[str, Any], format: str, losses: list[str]) -> dict[str, Any]:
    """An OpenAI row's messages without keys OpenAI rejects (read with a warning, written without)."""
    inner = out.get("input")
    if format == "openai-dpo" and isinstance(inner, dict) and isinstance(inner.get("messages"), list):
        out["input"] = {**inner, "messages": openai_messages(inner["messages"], losses)}
    for key in ("preferred_output", "non_preferred_output", "messages"):
        if isinstance(out.get(key), list):
            out[key] = openai_messages(out[key], losses)
    return out


def rows_in(data: bytes, format: str) -> int:
    """Return how many rows a file written in ``format`` holds (a KTO pair is two)."""
    if not data.strip():
        return 0
    container = _MODULES[format].CONTAINER
    if container != "csv" and data.lstrip().startswith(b"["):
        return len(orjson.loads(data))
    if container == "csv":
        return max(0, sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig")))) - 1)
    return sum(1 for line in data.splitlines() if line.strip())


def _serialise(rows: list[dict[str, Any]], container: str) -> bytes:
    if container == "json":
        return core_io.dumps_json_array(rows)
    if container == "csv":
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return core_io.dumps_csv(rows, columns)
    return core_io.dumps_jsonl(rows)


def records_of(
    rows: Iterable[dict[str, Any]], format: str, *, column_map: ColumnMap | None = None
) -> LoadResult:
    """Parse rows already in memory (e.g. generated ones) as ``format``; same checks as a file."""
    payload = core_io.dumps_jsonl(rows)
    return load_dataset(payload, "rows.jsonl", format=format, column_map=column_map)
