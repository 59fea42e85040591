"""Reading a dataset file: open, settle the format, run every row, check the file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

import pandas as pd

from core import io as core_io
from core.errors import FormatError
from core.formats._base import (
    ColumnMap,
    Detection,
)
from core.formats.catalog import _MODULES, FORMAT_NAMES, SAMPLE_ROWS
from core.formats.checks import _check_tokens, _file_checks
from core.formats.csv_table import suggest_column_map
from core.formats.detect import detect_format
from core.formats.read import _Run
from core.formats.result import LoadResult, RecordBatches
from core.records import make_frame


def load_dataset(
    source: bytes | str | Path,
    filename: str | None = None,
    *,
    format: str | None = None,
    model: str | None = None,
    column_map: ColumnMap | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Read, validate and canonicalise a dataset file.

    Args:
        source: The file's bytes or its path.
        filename: The name shown in messages (and used to guess JSONL / JSON / CSV / Parquet).
        format: One of :data:`FORMAT_NAMES`; detected from the first rows when ``None``.
        model: Target model; when given, every example's tokens are counted and checked against
            the model's limit (column ``n_tokens``).
        column_map: Which column is what, for flat tables (CSV); guessed from the names when ``None``.
        progress: Called with the rows read so far, every :data:`PROGRESS_ROWS` rows and at the end.

    Returns:
        A :class:`LoadResult`; rows with an error are in ``quarantine``, never dropped.

    Raises:
        FormatError: If the file cannot be read at all, holds no row, or its format is unknown.
    """
    source_rows, run, rows = _open_run(source, filename, format, column_map)
    if model is not None:
        run.count_tokens(model)
    try:
        run.consume(rows if progress is None else _reporting(rows, progress))
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


PROGRESS_ROWS = 5_000


def _reporting(rows: Iterable[core_io.Row], progress: Callable[[int], None]) -> Iterator[core_io.Row]:
    """Pass ``rows`` on, calling ``progress`` with the count every :data:`PROGRESS_ROWS` and at the end."""
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % PROGRESS_ROWS == 0:
            progress(done)
    progress(done)


def _place_records(result: LoadResult, source: bytes | str | Path, filename: str | None) -> None:
    """Give every problem of a JSON array record the physical line the record starts on."""
    unplaced = {p.line for p in result.problems if p.line is not None and p.text_line is None}
    lines = core_io.record_lines(source, unplaced, filename) if unplaced else {}
    if lines:
        result.problems = [
            replace(p, text_line=lines[p.line]) if p.text_line is None and p.line in lines else p
            for p in result.problems
        ]


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


def records_of(
    rows: Iterable[dict[str, Any]], format: str, *, column_map: ColumnMap | None = None
) -> LoadResult:
    """Parse rows already in memory (e.g. generated ones) as ``format``; same checks as a file."""
    payload = core_io.dumps_jsonl(rows)
    return load_dataset(payload, "rows.jsonl", format=format, column_map=column_map)
