"""Bytes to text: opening a source, gzip (whole or damaged), binary sniffing, BOMs, UTF-16, Latin-1."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from core.errors import FormatError
from core.io.rows import ReadIssue

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 65_536


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
        ended = " (the gzip data ends before any text: a truncated file?)" if compressed else ""
        raise FormatError(f"{name}: the file is empty{ended}")
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


def _salvage_gzip(opener: Callable[[], IO[bytes]]) -> bytes:
    out = bytearray()
    with gzip.open(opener()) as handle:
        try:
            while chunk := handle.read(1 << 20):
                out += chunk
        except (EOFError, OSError):
            pass
    return bytes(out)


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
