"""CSV and TSV: delimiter sniffing, header names, rows with the wrong field count reported."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

from core.io.decoding import _binary_stream, _decode_head, _Lines, _numbered, _utf16_stream
from core.io.rows import ReadIssue, Row, RowSource, truncate_raw


def _read_csv(opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes) -> RowSource:
    issues: list[ReadIssue] = []
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
    text_head = _decode_head(head).lstrip("\ufeff")
    delimiter = _sniff_delimiter(text_head, name)
    header = next(csv.reader(io.StringIO(text_head), delimiter=delimiter), [])
    columns = _column_names(header)
    source = RowSource(name, "csv", compressed, iter(()), issues, columns=columns)
    source.rows = _csv_rows(opener, name, compressed, utf16, delimiter, columns, issues)
    return source


def _sniff_delimiter(text_head: str, name: str) -> str:
    if name.lower().removesuffix(".gz").endswith(".tsv"):
        return "\t"
    first_line = text_head.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for index, raw_name in enumerate(header, start=1):
        base = raw_name.strip() or f"column_{index}"
        candidate, suffix = base, 2
        while candidate in names:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        names.append(candidate)
    return names


def _csv_rows(
    opener: Callable[[], IO[bytes]],
    name: str,
    compressed: bool,
    utf16: bool,
    delimiter: str,
    columns: list[str],
    issues: list[ReadIssue],
) -> Iterator[Row]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    handle = _utf16_stream(opener, compressed) if utf16 else _binary_stream(opener, compressed)
    lines = _Lines(name, issues)
    with handle:
        text_lines = (lines.decode(data, number) for number, data in _numbered(handle, name, issues))
        reader = csv.reader(text_lines, delimiter=delimiter)
        try:
            next(reader, None)
            yield from _csv_records(reader, name, columns, issues)
        except csv.Error as exc:
            issues.append(ReadIssue(None, "invalid_csv", f"{name} text line {reader.line_num}: {exc}"))
    lines.report()


def _csv_records(reader: Any, name: str, columns: list[str], issues: list[ReadIssue]) -> Iterator[Row]:
    width = len(columns)
    for index, cells in enumerate(reader, start=1):
        if not cells or (len(cells) == 1 and not cells[0].strip() and width > 1):
            continue
        if len(cells) != width:
            issues.append(
                ReadIssue(
                    index,
                    "csv_wrong_field_count",
                    f"{name} row {index} (text line {reader.line_num}): "
                    f"{len(cells)} fields, the header has {width}",
                    raw=truncate_raw(",".join(cells)),
                    fix="quote fields that contain the delimiter or a line break",
                )
            )
            continue
        yield Row(index, dict(zip(columns, cells, strict=True)), None)
