"""Read data files row by row: JSONL, JSON arrays, CSV, Parquet, any of them gzipped.

Rows are streamed with their numbers so a 1 GB file never sits in memory twice:

- JSONL: the 1-based physical line of the file (blank lines count, so editors agree).
- JSON array, CSV, Parquet: the 1-based data row (the CSV header is not counted).

Problems met while reading (a broken line, a bad encoding, a row with the wrong number of
CSV fields) are collected as :class:`ReadIssue` and the rest of the file is still read.
Only a file that cannot be read at all (empty, binary, unknown container) raises
:class:`~core.errors.FormatError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from core.errors import FormatError

CONTAINERS = ("jsonl", "json", "csv", "parquet")
RAW_LIMIT = 10_000
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SNIFF_BYTES = 65_536
_WRAPPER_KEYS = frozenset({"data", "rows", "examples", "records", "items", "instances", "samples", "train"})
# A dict holding one of these is a row (a self-instruct task keeps its examples under "instances").
_ROW_KEYS = frozenset({"instruction", "messages", "conversations", "prompt"})
# Deeper JSON is refused as a row: later steps (orjson.dumps stops at 255 levels, recursive walks)
# could not handle it, and no fine-tuning row needs it.
MAX_DEPTH = 128
_BOM = "\ufeff"


@dataclass(frozen=True)
class ReadIssue:
    """Something wrong met while reading (before any format rule is applied)."""

    line: int | None
    code: str
    message: str
    severity: str = "error"
    raw: str | None = None
    fix: str | None = None
    text_line: int | None = None  # the physical line, where ``line`` is a record number (JSON arrays)


class Row(NamedTuple):
    """One parsed row: its number, its value (usually a dict) and its original text if known."""

    line: int
    value: Any
    text: str | None = None


@dataclass
class RowSource:
    """An opened data file: ``rows`` streams :class:`Row` items; ``issues`` fills while it runs."""

    name: str
    container: str
    compressed: bool
    rows: Iterator[Row]
    issues: list[ReadIssue] = field(default_factory=list)
    columns: list[str] | None = None
    encoding: str = "utf-8"


def truncate_raw(text: str | bytes | None, limit: int = RAW_LIMIT) -> str:
    """Return ``text`` as str cut to ``limit`` characters (marking the cut)."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def open_rows(
    source: bytes | str | Path, filename: str | None = None, *, container: str | None = None
) -> RowSource:
    """Open a data file and return its rows as a stream.

    Args:
        source: The file's bytes, or a path to it.
        filename: Name used in messages and to guess the container from its extension.
        container: Force ``jsonl``, ``json``, ``csv`` or ``parquet`` instead of guessing.

    Returns:
        A :class:`RowSource`; iterate ``rows`` once.

    Raises:
        FormatError: If the file is missing, empty, binary or not a supported container.
        ValueError: If ``container`` is not one of :data:`CONTAINERS`.
    """
    if container is not None and container not in CONTAINERS:
        raise ValueError(f"container must be one of {CONTAINERS}, got {container!r}")
    name = filename or (str(source) if isinstance(source, (str, Path)) else "uploaded file")
    opener = _opener(source, name)
    head, compressed = _peek(opener, name)
    chosen = container or _guess_container(name, head)
    reader = _READERS[chosen]
    return reader(opener, name, compressed, head)


def _opener(source: bytes | str | Path, name: str) -> Callable[[], IO[bytes]]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return lambda: io.BytesIO(data)
    path = Path(source)
    if path.is_dir():
        raise FormatError(f"{name}: this is a folder, not a data file; choose one file in it")
    if not path.is_file():
        raise FormatError(f"{name}: no such file")
    return lambda: path.open("rb")


def _peek(opener: Callable[[], IO[bytes]], name: str) -> tuple[bytes, bool]:
    with opener() as handle:
        head = handle.read(_SNIFF_BYTES)
    compressed = head[:2] == _GZIP_MAGIC
    if compressed:
        try:
            with gzip.open(opener()) as handle:
                head = handle.read(_SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            if not _partial_gzip_ok(exc):
                raise FormatError(f"{name}: the gzip data is damaged ({exc})") from exc
            head = _gzip_salvage_head(opener)
    if not head.strip():
        raise FormatError(f"{name}: the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise FormatError(f"{name}: this is a ZIP archive (an Excel .xlsx?), not a data file; save it as CSV")
    if _looks_binary(head):
        raise FormatError(
            f"{name}: this is a binary file, not JSONL, JSON, CSV or Parquet "
            "(line 1 holds bytes that are not text)"
        )
    return head, compressed


def _partial_gzip_ok(exc: Exception) -> bool:
    return isinstance(exc, EOFError)


def _gzip_salvage_head(opener: Callable[[], IO[bytes]]) -> bytes:
    out = bytearray()
    with gzip.open(opener()) as handle:
        try:
            while len(out) < _SNIFF_BYTES:
                chunk = handle.read(4096)
                if not chunk:
                    break
                out += chunk
        except EOFError:
            pass
    return bytes(out)


def _looks_binary(head: bytes) -> bool:
    if head.startswith(_PARQUET_MAGIC):
        return False
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return False  # UTF-16 with a BOM: text, decoded later
    # One stray NUL in a text line is that line's problem (reported by the line's reader); a real
    # binary file is full of control bytes.
    sample = head[:8192]
    controls = sum(sample.count(bytes([c])) for c in (*range(0, 9), *range(14, 32)))
    return controls > len(sample) // 20


def _guess_container(name: str, head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    lowered = name.lower().removesuffix(".gz")
    for extension, container in _EXTENSIONS.items():
        if lowered.endswith(extension) and container in ("csv", "parquet"):
            return container
    first = _first_char(head)
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl" if _first_line_is_json(head, name) else "json"
    if any(lowered.endswith(e) for e in (".jsonl", ".ndjson", ".json")):
        return "jsonl"  # broken JSON: the JSONL reader reports each line
    return "csv"


def _first_line_is_json(head: bytes, name: str) -> bool:
    """True for JSONL; False for one JSON document (pretty-printed, or a small ``.json`` with a row list)."""
    text = _decode_head(head).lstrip("\ufeff \t\r\n")
    first = text.partition("\n")[0].strip()
    if first == "{":
        return False
    if name.lower().removesuffix(".gz").endswith(".json") and len(head) < _SNIFF_BYTES:
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, ValueError, RecursionError):
            return True
        return not (isinstance(document, dict) and unwrap_document(document) is not None)
    return True


def _first_char(head: bytes) -> str:
    text = _decode_head(head).lstrip("\ufeff \t\r\n")
    return text[:1]


def _decode_head(head: bytes) -> str:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def _binary_stream(opener: Callable[[], IO[bytes]], compressed: bool) -> IO[bytes]:
    handle = opener()
    return gzip.open(handle) if compressed else handle  # type: ignore[return-value]


def _utf16_stream(opener: Callable[[], IO[bytes]], compressed: bool) -> IO[bytes]:
    """Re-encode a UTF-16 file as UTF-8 lines (rare; such files are small)."""
    with _binary_stream(opener, compressed) as handle:
        text = handle.read().decode("utf-16")
    return io.BytesIO(text.encode("utf-8"))


class _Lines:
    """Decode byte lines one at a time: UTF-8 first, Latin-1 for a line that is not UTF-8."""

    def __init__(self, name: str, issues: list[ReadIssue]) -> None:
        self.name = name
        self.issues = issues
        self.fallback_lines: list[int] = []

    def decode(self, data: bytes, number: int) -> str:
        if data.startswith(b"\xef\xbb\xbf"):  # any line: files joined with cat keep their BOMs
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.fallback_lines.append(number)
            return decode_legacy(data)

    def report(self, unit: str = "line") -> None:
        if not self.fallback_lines:
            return
        first = self.fallback_lines[0]
        self.issues.append(
            ReadIssue(
                first,
                "encoding_fallback",
                f"{self.name}: {len(self.fallback_lines)} {unit}(s) are not valid UTF-8 "
                f"(first: {unit} {first}); "
                "they were read as Latin-1 (Windows-1252), check accented characters",
                severity="warning",
                fix="save the file as UTF-8",
            )
        )


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


def _early_end(name: str, number: int, exc: Exception) -> ReadIssue:
    return ReadIssue(
        number + 1,
        "truncated_file",
        f"{name}: the compressed file ends early after line {number} ({exc}); the rows before were read",
    )


def _numbered(handle: IO[bytes], name: str, issues: list[ReadIssue]) -> Iterator[tuple[int, bytes]]:
    number = 0
    try:
        for number, data in enumerate(handle, start=1):  # noqa: B007 - number used after the loop
            yield number, data
    except (EOFError, OSError) as exc:
        issues.append(_early_end(name, number, exc))


def _maybe_deep(data: bytes) -> bool:
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH and _depth(orjson.loads(data)) > MAX_DEPTH


def _depth(value: Any) -> int:
    """Return how deep lists and dicts nest in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


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


class _Broken:
    """Marks a JSON text that gave no value."""


_BROKEN: Any = _Broken()
_WARNINGS = frozenset({"duplicate_key", "non_finite_number", "lone_surrogate"})
JSON_FIXES = {
    "invalid_json": "fix or remove this line",
    "truncated_line": "complete or remove the last line",
    "json_too_deep": f"flatten the value: at most {MAX_DEPTH} nested arrays / objects",
    "number_too_long": "write the number as a string",
    "duplicate_key": "keep one of the keys: trainers' parsers may keep another one",
    "non_finite_number": "use null or a number: NaN and Infinity are not JSON",
    "lone_surrogate": "fix the text's escapes (\\ud800-\\udfff must come in pairs)",
}


def parse_strict(text: str) -> tuple[Any, list[tuple[str, str]]]:
    """Parse one JSON text the slow, exact way and say what is wrong or doubtful in it.

    The rule for every JSON text the fast parser refused or doubted (JSONL lines, array elements):
    errors (``invalid_json``, ``truncated_line``, ``json_too_deep``, ``number_too_long``) give no
    value; doubts (``duplicate_key``, ``non_finite_number``, ``lone_surrogate``) keep it, lone
    surrogates replaced by U+FFFD so ids, hashes, Parquet and exports never meet one.

    Args:
        text: The JSON text (a BOM at its start is ignored).

    Returns:
        The value (or the ``_BROKEN`` marker) and the ``(code, detail)`` problems found.
    """
    problems: list[tuple[str, str]] = []
    text = text.removeprefix(_BOM)
    try:
        value = json.loads(
            text, object_pairs_hook=_PairsHook(problems), parse_constant=_constant_hook(problems)
        )
    except json.JSONDecodeError as exc:
        return _BROKEN, [_json_error(text, exc)]
    except RecursionError:
        return _BROKEN, [("json_too_deep", f"nested deeper than Python can read (over {MAX_DEPTH} levels)")]
    except ValueError as exc:  # an integer literal over sys.get_int_max_str_digits() digits
        return _BROKEN, [("number_too_long", f"a number too long to read ({str(exc).split(';')[0]})")]
    if _depth(value) > MAX_DEPTH:
        depth = _depth(value)
        return _BROKEN, [("json_too_deep", f"nested {depth} levels deep; at most {MAX_DEPTH} are read")]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "surrogates" not in str(exc):
            raise
        value = _without_surrogates(value)
        problems.append(
            ("lone_surrogate", "a lone UTF-16 surrogate escape (\\ud800-\\udfff) was replaced by U+FFFD")
        )
    return value, problems


def _json_error(text: str, exc: json.JSONDecodeError) -> tuple[str, str]:
    if not text.endswith("\n"):
        return "truncated_line", "the file ends before this line's JSON is complete (truncated file?)"
    nul = text.find("\x00")
    if nul >= 0:
        return "invalid_json", f"not valid JSON: a NUL byte at column {nul + 1}"
    return (
        "invalid_json",
        f"not valid JSON ({exc.msg.removesuffix(' at').removesuffix(':')} at column {exc.colno})",
    )


class _PairsHook:
    """``object_pairs_hook`` that notes duplicate keys (the last one wins, as in ``json``)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) < len(pairs):
            keys = [k for k, n in Counter(k for k, _ in pairs).items() if n > 1]
            shown = ", ".join(map(repr, keys))
            self.problems.append(("duplicate_key", f"duplicate key {shown}: the last one is kept"))
        return value


def _constant_hook(problems: list[tuple[str, str]]) -> Callable[[str], float]:
    def hook(name: str) -> float:
        problems.append(("non_finite_number", f"{name} is not JSON; read as a float {name}"))
        return float(name)

    return hook


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


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


def _salvage_gzip(opener: Callable[[], IO[bytes]]) -> bytes:
    out = bytearray()
    with gzip.open(opener()) as handle:
        try:
            while chunk := handle.read(1 << 20):
                out += chunk
        except (EOFError, OSError):
            pass
    return bytes(out)


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


def _decode_whole(data: bytes, name: str, issues: list[ReadIssue]) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        issues.append(
            ReadIssue(
                line,
                "encoding_fallback",
                f"{name}: not valid UTF-8 (first at text line {line}); "
                "read as Latin-1 (Windows-1252), check accented characters",
                severity="warning",
                fix="save the file as UTF-8",
            )
        )
        return decode_legacy(data)


def decode_legacy(data: bytes) -> str:
    """Decode bytes that are not UTF-8: Windows-1252 (Latin-1 with curly quotes), else Latin-1."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


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


def _doubtless(data: bytes) -> Any:
    """Return orjson's value, or ``_BROKEN`` when orjson refuses it or may have misread it."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _BROKEN
    if _maybe_deep(data) or data.count(b'":') > orjson.dumps(value).count(b'":'):
        return _BROKEN
    return value


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


def _read_parquet(opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes) -> RowSource:
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = io.BytesIO(_binary_stream(opener, compressed).read()) if compressed else opener()
    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"{name}: not a readable Parquet file ({exc})") from exc
    columns = list(parquet.schema_arrow.names)
    return RowSource(name, "parquet", compressed, _parquet_rows(parquet, handle), [], columns=columns)


def _parquet_rows(parquet: Any, handle: IO[bytes]) -> Iterator[Row]:
    number = 0
    with handle:
        for batch in parquet.iter_batches(batch_size=8192):
            for value in batch.to_pylist():
                number += 1
                yield Row(number, value, None)


_READERS: dict[str, Callable[[Callable[[], IO[bytes]], str, bool, bytes], RowSource]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "csv": _read_csv,
    "parquet": _read_parquet,
}


def dumps_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    """Return rows as JSONL bytes (UTF-8, one compact object per line, trailing newline)."""
    out = bytearray()
    for row in rows:
        out += orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=_json_default)
        out += b"\n"
    return bytes(out)


def dumps_json_array(rows: list[dict[str, Any]]) -> bytes:
    """Return rows as one indented JSON array (the Alpaca convention)."""
    return (
        orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=_json_default)
        + b"\n"
    )


def dumps_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """Return rows as CSV bytes (UTF-8, header first; nested values as JSON text)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
