"""Opening a data file: guessing its container (JSONL, JSON, CSV, Parquet) and choosing its reader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO

from core.io.csv_table import _read_csv
from core.io.decoding import _PARQUET_MAGIC, _SNIFF_BYTES, _decode_head, _opener, _peek
from core.io.json_array import _read_json, unwrap_document
from core.io.jsonl import _read_jsonl
from core.io.parquet import _read_parquet
from core.io.rows import CONTAINERS, RowSource

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


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


_READERS: dict[str, Callable[[Callable[[], IO[bytes]], str, bool, bytes], RowSource]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "csv": _read_csv,
    "parquet": _read_parquet,
}
