"""Read data files row by row: JSONL, JSON arrays, CSV, Parquet, any of them gzipped.

Rows are streamed with their numbers so a 1 GB file never sits in memory twice:

- JSONL: the 1-based physical line of the file (blank lines count, so editors agree).
- JSON array, CSV, Parquet: the 1-based data row (the CSV header is not counted).

Problems met while reading (a broken line, a bad encoding, a row with the wrong number of
CSV fields) are collected as :class:`ReadIssue` and the rest of the file is still read.
Only a file that cannot be read at all (empty, binary, unknown container) raises
:class:`~core.errors.FormatError`.

The modules: ``rows`` (what reading gives: rows, issues, limits), ``decoding`` (bytes to text:
gzip, binary sniffing, BOMs, UTF-16, the Latin-1 fallback), ``containers`` (guessing the
container, :func:`open_rows`), one reader per container (``jsonl``, ``json_array``,
``csv_table``, ``parquet``), ``json_text`` (one JSON text, fast and exact) and ``write``.
"""

from __future__ import annotations

from core.io.containers import open_rows
from core.io.decoding import decode_legacy
from core.io.json_array import record_lines, unwrap_document
from core.io.json_text import JSON_FIXES, parse_strict
from core.io.rows import CONTAINERS, MAX_DEPTH, RAW_LIMIT, ReadIssue, Row, RowSource, truncate_raw
from core.io.write import dumps_csv, dumps_json_array, dumps_jsonl

__all__ = [
    "CONTAINERS",
    "JSON_FIXES",
    "MAX_DEPTH",
    "RAW_LIMIT",
    "ReadIssue",
    "Row",
    "RowSource",
    "decode_legacy",
    "dumps_csv",
    "dumps_json_array",
    "dumps_jsonl",
    "open_rows",
    "parse_strict",
    "record_lines",
    "truncate_raw",
    "unwrap_document",
]
