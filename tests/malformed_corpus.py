"""A corpus of malformed input files, written on demand (no binaries kept in the repository).

``write_corpus(folder)`` writes one file per case and returns the :class:`Case` list: what
``python -m core validate PATH --json`` must say of each (exit code, valid rows, the bad line).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

GOOD_ROWS = 12


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what validating it must give."""

    name: str
    path: Path
    exit_code: int  # 0 valid, 1 some invalid, 2 unreadable
    valid: int | None = None  # rows kept (None: at least one, e.g. a cut gzip)
    line: int | None = None  # the line (record) a problem must name
    code: str | None = None  # the code of that problem
    crashed_before: bool = False  # cases 1-4 of issue 16: profile and convert tracebacked


def _row(i: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Where is my order number {1000 + i}?"},
            {"role": "assistant", "content": f"Order {1000 + i} ships tomorrow; you get a mail."},
        ]
    }


def _lines(bad: bytes, at: int, total: int = GOOD_ROWS) -> bytes:
    """``total`` good JSONL lines with ``bad`` put in as line ``at``."""
    good = [json.dumps(_row(i)).encode() for i in range(total)]
    return b"\n".join(good[: at - 1] + [bad] + good[at - 1 :]) + b"\n"


def _good(total: int = GOOD_ROWS) -> str:
    return "".join(json.dumps(_row(i), ensure_ascii=False) + "\n" for i in range(total))


_SURROGATE = b'{"messages": [{"role": "user", "content": "bad \\ud800 escape"}, {"role": "assistant", "content": "ok"}]}'  # noqa: E501
_DUPLICATE = b'{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "ok"}]}'  # noqa: E501
_PAIR = b'[{"role": "user", "content": "a"}, {"role": "assistant", "content": "ok"}]'
_NAN = b'{"messages": ' + _PAIR + b', "score": NaN}'
_NUL = b'{"messages": [{"role": "user", "content": "a\x00b"}, {"role": "assistant", "content": "ok"}]}'
_HUGE_INT = b'{"messages": ' + _PAIR + b', "n": ' + b"7" * 5000 + b"}"
_ALPACA = b'{"instruction": "Say hi", "input": "", "output": "hi"}'


def _deep() -> bytes:
    return b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _ten_mb() -> bytes:
    row = {
        "messages": [{"role": "user", "content": "word " * 2_000_000}, {"role": "assistant", "content": "ok"}]
    }
    return json.dumps(row).encode()


def _cut_gzip() -> bytes:
    packed = gzip.compress(_good(2000).encode())
    return packed[: len(packed) // 2]


def _broken_array() -> bytes:
    rows = [
        json.dumps({"instruction": f"Say {i}", "input": "", "output": f"{i}"}, indent=2)
        for i in range(GOOD_ROWS)
    ]
    rows.insert(5, '{\n  "instruction": "broken",\n  "output": oops\n}')
    return ("[\n" + ",\n".join(rows) + "\n]\n").encode()


def _quoted_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["prompt", "response"])
    for i in range(GOOD_ROWS):
        writer.writerow([f"line one {i}\nline two, with a comma", f'answer {i}\n"quoted"'])
    return buffer.getvalue().encode()


def write_corpus(folder: Path) -> list[Case]:
    """Write every malformed file into ``folder`` and return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Case, bytes | None]] = [
        (
            Case("deep_nesting", folder / "deep.jsonl", 1, GOOD_ROWS, 5, "json_too_deep", True),
            _lines(_deep(), 5),
        ),
        (
            Case("lone_surrogate", folder / "surrogate.jsonl", 0, 13, 5, "lone_surrogate", True),
            _lines(_SURROGATE, 5),
        ),
        (
            Case("huge_integer", folder / "huge_int.jsonl", 1, GOOD_ROWS, 5, "number_too_long", True),
            _lines(_HUGE_INT, 5),
        ),
        (Case("nul_byte", folder / "nul.jsonl", 1, GOOD_ROWS, 2, "invalid_json", True), _lines(_NUL, 2)),
        (Case("duplicate_keys", folder / "dup_keys.jsonl", 0, 13, 3, "duplicate_key"), _lines(_DUPLICATE, 3)),
        (Case("nan", folder / "nan.jsonl", 0, 13, 4, "non_finite_number"), _lines(_NAN, 4)),
        (
            Case("truncated_last_line", folder / "truncated.jsonl", 1, GOOD_ROWS, 13, "truncated_line"),
            _good().encode() + json.dumps(_row(99)).encode()[:30],
        ),
        (Case("truncated_gzip", folder / "cut.jsonl.gz", 1, None, None, "truncated_file"), _cut_gzip()),
        (Case("bom", folder / "bom.jsonl", 0, GOOD_ROWS), b"\xef\xbb\xbf" + _good().encode()),
        (
            Case("bom_every_line", folder / "bom_joined.jsonl", 0, GOOD_ROWS),
            "".join("\ufeff" + line for line in _good().splitlines(True)).encode(),
        ),
        (Case("utf16", folder / "utf16.jsonl", 0, GOOD_ROWS), ("\ufeff" + _good()).encode("utf-16-le")),
        (
            Case("latin1", folder / "latin1.jsonl", 0, GOOD_ROWS, 1, "encoding_fallback"),
            _good().replace("Where", "Où est").encode("latin-1"),
        ),
        (Case("ten_mb_line", folder / "big.jsonl", 0, 13), _lines(_ten_mb(), 7)),
        (Case("mixed_formats", folder / "mixed.jsonl", 1, GOOD_ROWS, 6, "mixed_formats"), _lines(_ALPACA, 6)),
        (
            Case("json_array_in_jsonl", folder / "array.jsonl", 0, GOOD_ROWS, None, "json_array_not_jsonl"),
            json.dumps([_row(i) for i in range(GOOD_ROWS)], indent=2).encode(),
        ),
        (
            Case("broken_array_record", folder / "broken.json", 1, GOOD_ROWS, 6, "invalid_json"),
            _broken_array(),
        ),
        (Case("csv_quoted_newlines", folder / "quoted.csv", 0, GOOD_ROWS), _quoted_csv()),
        (Case("directory", folder / "a_folder", 2, 0), None),
        (Case("missing_path", folder / "nope.jsonl", 2, 0), b""),
    ]
    for case, data in files:
        if data is None:
            case.path.mkdir(exist_ok=True)
        elif case.name != "missing_path":
            case.path.write_bytes(data)
    return [case for case, _ in files]
