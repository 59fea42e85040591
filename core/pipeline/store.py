"""Stage outputs on disk: Parquet shards with a JSON marker holding their input fingerprint.

A shard ``DIR/<stage>/<name>.parquet`` is done when ``DIR/<stage>/_markers/<name>.json``
exists and holds the fingerprint of what it was computed from (a folder whose name starts
with ``_``, which Parquet dataset readers skip, so ``DIR/<stage>/`` reads as one table).
The marker is written last (after an atomic rename of the data), so a killed run leaves
either no marker or a complete shard.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_MINHASH = ("__init__", "shingles", "batch", "pairs", "workers")
_CODE_FILES = (
    "stages.py",
    "measure.py",
    "components.py",
    "store.py",
    "driver.py",
    "engine.py",
    "../records.py",
    *(f"../_minhash/{m}.py" for m in _MINHASH),
)


def code_version() -> str:
    """Return a hash of the pipeline's own code (a change of code invalidates every marker)."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _CODE_FILES:
        path = here / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(*parts: Any) -> str:
    """Return a short stable hash of JSON-serialisable ``parts``."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def file_facts(path: str) -> dict[str, Any]:
    """Return what identifies an input file's version: path, size and mtime (ns)."""
    stat = os.stat(path)
    return {"path": os.path.abspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def is_done(out: Path, name: str, fp: str) -> bool:
    """Return whether shard ``name`` of ``out`` was finished with fingerprint ``fp``."""
    marker = marker_path(out, name)
    if not marker.exists():
        return False
    try:
        return bool(json.loads(marker.read_text())["fingerprint"] == fp)
    except (ValueError, KeyError, OSError):
        return False


def read_marker(out: Path, name: str) -> dict[str, Any]:
    """Return the marker of a finished shard."""
    return dict(json.loads(marker_path(out, name).read_text()))


def write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")  # hidden: readers of the folder skip a killed write
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")  # hidden: readers of the folder skip a killed write
    tmp.write_bytes(data)
    os.replace(tmp, path)


def mark_done(out: Path, name: str, fp: str, **facts: Any) -> None:
    """Write the marker of shard ``name`` (after its data)."""
    write_bytes(marker_path(out, name), json.dumps({"fingerprint": fp, **facts}, default=str).encode())


def marker_path(out: Path, name: str) -> Path:
    """Where the marker of shard ``name`` of stage folder ``out`` lives."""
    return out / "_markers" / f"{name}.json"


def read_tables(paths: Iterable[Path], columns: list[str] | None = None) -> pa.Table:
    """Read and concatenate Parquet files (only ``columns`` when given)."""
    tables = [pq.read_table(p, columns=columns) for p in paths]
    return pa.concat_tables(tables) if tables else pa.table({})
