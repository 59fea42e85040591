"""JSON Lines: one row per physical line, a broken line reported and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import orjson

from core.io.decoding import _binary_stream, _early_end, _Lines, _utf16_stream
from core.io.json_text import _BROKEN, _WARNINGS, JSON_FIXES, _maybe_deep, parse_strict
from core.io.rows import ReadIssue, Row, RowSource, truncate_raw


def _read_jsonl(opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes) -> RowSource:
    issues: list[ReadIssue] = []
    source = RowSource(name, "jsonl", compressed, iter(()), issues)
    source.rows = _jsonl_rows(opener, name, compressed, head, issues)
    return source


def _jsonl_rows(
    opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes, issues: list[ReadIssue]
) -> Iterator[Row]:
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
    handle = _utf16_stream(opener, compressed) if utf16 else _binary_stream(opener, compressed)
    lines = _Lines(name, issues)
    loads, dumps, decode_error = orjson.loads, orjson.dumps, orjson.JSONDecodeError
    number = 0
    with handle:
        try:
            for number, data in enumerate(handle, start=1):  # noqa: B007 - number is used after the loop
                try:  # the hot path: one orjson call per line, and two cheap checks in C
                    value = loads(data)
                except decode_error:
                    if data.strip():
                        yield from _jsonl_row(data, number, lines, issues, name)
                    continue
                # orjson keeps the last of duplicate keys silently (fewer `":` once written back), and
                # nests 1024 deep; such rare lines take the slow path, which says what is wrong.
                if _maybe_deep(data) or data.count(b'":') > dumps(value).count(b'":'):
                    yield from _jsonl_row(data, number, lines, issues, name)
                else:
                    yield Row(number, value)
        except (EOFError, OSError) as exc:
            issues.append(_early_end(name, number, exc))
    lines.report()


def _jsonl_row(data: bytes, number: int, lines: _Lines, issues: list[ReadIssue], name: str) -> Iterator[Row]:
    """Read a line orjson refused or doubted: a BOM, not UTF-8, NaN, duplicate keys, or broken (reported)."""
    text = lines.decode(data, number)
    value, problems = parse_strict(text)
    where = f"{name} line {number}"
    for code, detail in problems:
        severity = "warning" if code in _WARNINGS else "error"
        raw = truncate_raw(text.rstrip("\r\n")) if severity == "error" else None
        issues.append(ReadIssue(number, code, f"{where}: {detail}", severity, raw, JSON_FIXES.get(code)))
    if value is not _BROKEN:
        yield Row(number, value, text)
