"""JSON documents: an array of rows (or a {"data": [...]} wrapper), salvaged element by element."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from core.errors import FormatError
from core.io.decoding import _binary_stream, _decode_whole, _opener, _peek, _salvage_gzip
from core.io.json_text import _BROKEN, _WARNINGS, JSON_FIXES, _doubtless, parse_strict
from core.io.rows import _BOM, RAW_LIMIT, ReadIssue, Row, RowSource, truncate_raw

_WRAPPER_KEYS = frozenset({"data", "rows", "examples", "records", "items", "instances", "samples", "train"})
# A dict holding one of these is a row (a self-instruct task keeps its examples under "instances").
_ROW_KEYS = frozenset({"instruction", "messages", "conversations", "prompt"})


def _read_json(opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes) -> RowSource:
    issues: list[ReadIssue] = []
    source = RowSource(name, "json", compressed, iter(()), issues)
    with _binary_stream(opener, compressed) as handle:
        try:
            data = handle.read()
        except (EOFError, OSError):
            data = _salvage_gzip(opener)
            issues.append(ReadIssue(None, "truncated_file", f"{name}: the compressed file ends early"))
    source.rows = _json_rows(data, name, issues)
    return source


def record_lines(
    source: bytes | str | Path, records: Iterable[int], filename: str | None = None
) -> dict[int, int]:
    """Return the physical line where each of ``records`` (1-based) of a JSON array file starts.

    Problems of a JSON array name the record; a person editing the file needs its line too. Read
    again only when there are problems to place, so a clean file is parsed once. A file that is
    not one array of records (``{"data": [...]}``) gives ``{}``.
    """
    wanted = sorted(set(records))
    if not wanted:
        return {}
    name = filename or (str(source) if isinstance(source, (str, Path)) else "uploaded file")
    opener = _opener(source, name)
    _, compressed = _peek(opener, name)
    with _binary_stream(opener, compressed) as handle:
        try:
            data = handle.read()
        except (EOFError, OSError):
            data = _salvage_gzip(opener)
    text = _decode_whole(data, name, [])
    return _element_lines(text, wanted)


def _element_lines(text: str, wanted: list[int]) -> dict[int, int]:
    start = text.find("[")
    if start < 0 or text[:start].strip(" \t\r\n" + _BOM):
        return {}
    lines: dict[int, int] = {}
    position, index, line, counted = start + 1, 0, 1, 0
    last = wanted[-1]
    targets = set(wanted)
    while index < last:
        position = _skip(text, position, " \t\r\n,")
        if position >= len(text) or text[position] == "]":
            break
        index += 1
        line += text.count("\n", counted, position)
        counted = position
        if index in targets:
            lines[index] = line
        position = _next_element(text, position)[0]
        if position < 0:
            break
    return lines


def _json_rows(data: bytes, name: str, issues: list[ReadIssue]) -> Iterator[Row]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    value = _doubtless(data)  # the same cheap doubts as for a JSONL line: duplicate keys, deep nesting
    if value is _BROKEN:
        yield from _json_rows_salvaged(_decode_whole(data, name, issues), name, issues)
        return
    del data  # the parsed rows are all that is kept of a large array
    yield from _rows_of_document(value, name)


def _rows_of_document(value: Any, name: str) -> Iterator[Row]:
    if isinstance(value, dict):
        rows = unwrap_document(value)
        if rows is None:
            yield Row(1, value, None)
            return
        value = rows
    if not isinstance(value, list):
        raise FormatError(f"{name}: the JSON holds a {type(value).__name__}, not a list of rows")
    for index, item in enumerate(value, start=1):
        yield Row(index, item, None)


def unwrap_document(value: dict) -> list | None:
    """Return the rows of ``{"data": [...]}``-style files (a wrapper key holding a list of objects)."""
    if value.keys() & _ROW_KEYS:
        return None  # a row itself, e.g. a self-instruct task with its "instances"
    lists = [
        v
        for k, v in value.items()
        if k.lower() in _WRAPPER_KEYS and isinstance(v, list) and v and isinstance(v[0], dict)
    ]
    return lists[0] if len(lists) == 1 else None


def _json_rows_salvaged(text: str, name: str, issues: list[ReadIssue]) -> Iterator[Row]:
    """Read a damaged or doubtful JSON array element by element, report each problem, keep what parses."""
    stripped = text.lstrip(" \t\r\n" + _BOM)
    if not stripped.startswith("["):
        value, problems = parse_strict(text)
        if value is _BROKEN:
            raise FormatError(f"{name}: not valid JSON ({problems[0][1]})")
        issues.extend(_element_issue(name, None, 1, code, detail) for code, detail in problems)
        yield from _rows_of_document(value, name)
        return
    position, index = text.index("[") + 1, 0
    while True:
        position = _skip(text, position, " \t\r\n,")
        if position >= len(text) or text[position] == "]":
            return
        index += 1
        start = position
        position, value, problems, at = _next_element(text, position)
        text_line = text.count("\n", 0, at) + 1
        issues.extend(
            _element_issue(name, index, text_line, code, detail, text[start : start + RAW_LIMIT])
            for code, detail in problems
        )
        if value is not _BROKEN:
            yield Row(index, value, None)
        elif position < 0:
            return


def _next_element(text: str, start: int) -> tuple[int, Any, list[tuple[str, str]], int]:
    """Parse the array element at ``start``.

    Returns:
        Where the next element may start (-1: nowhere), its value (or ``_BROKEN``), its problems,
        and the position they are at (a JSON error's own position, else ``start``).
    """
    try:
        _, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return _resync(text, exc.pos), _BROKEN, [_element_error(text, exc)], exc.pos
    except (RecursionError, ValueError):  # too deep, or a too long number: the exact reader says which
        following = _resync(text, start + 1)
        _, problems = parse_strict(text[start : following if following > 0 else len(text)])
        return following, _BROKEN, problems, start
    value, problems = _doubtless(text[start:end].encode("utf-8", "surrogatepass")), []
    if value is _BROKEN:
        value, problems = parse_strict(text[start:end])
    return end, value, problems, start


_DECODER = json.JSONDecoder()


def _element_error(text: str, exc: json.JSONDecodeError) -> tuple[str, str]:
    if text[exc.pos :].strip() == "":
        return "truncated_file", "the file ends before this record is complete"
    return "invalid_json", f"not valid JSON ({exc.msg} at column {exc.colno})"


def _element_issue(
    name: str, index: int | None, text_line: int, code: str, detail: str, raw: str | None = None
) -> ReadIssue:
    """A problem of one JSON array element: its record number, and its physical line as well."""
    severity = "warning" if code in _WARNINGS else "error"
    where = f"{name} record {index} (line {text_line})" if index is not None else f"{name} line {text_line}"
    return ReadIssue(
        index,
        code,
        f"{where}: {detail}",
        severity,
        raw=truncate_raw(raw) if severity == "error" and raw is not None else None,
        fix=JSON_FIXES.get(code, "fix or remove this record"),
        text_line=text_line,
    )


def _skip(text: str, position: int, characters: str) -> int:
    while position < len(text) and text[position] in characters:
        position += 1
    return position


def _resync(text: str, position: int) -> int:
    """Return where the next array element seems to start after a broken one (-1: none)."""
    following = text.find("\n", position)
    while following >= 0:
        start = _skip(text, following, " \t\r\n,")
        if start < len(text) and text[start] == "{" and text[start - 1] in "\n\t ":
            line_start = text.rfind("\n", 0, start) + 1
            if text[line_start:start].strip(" \t,") == "":
                return start
        following = text.find("\n", following + 1)
    return -1
