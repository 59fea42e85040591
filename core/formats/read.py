"""One pass over the rows of a file: parse, validate, sort into records and quarantine."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import orjson
import pandas as pd

from core import io as core_io
from core.formats import (
    batch,
    csv_table,
)
from core.formats._base import (
    ColumnMap,
    Detection,
    Problem,
    RowContext,
    type_name,
)
from core.formats.catalog import _FAMILY, _MAIN_KEY, _MODULES, _OTHER_MAIN_KEYS
from core.formats.detect import classify_row
from core.formats.result import _QUARANTINE_COLUMNS, LoadResult, collapse_repeated
from core.records import make_frame

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


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode("utf-8")
    except TypeError:
        return repr(value)
