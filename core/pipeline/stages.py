"""The pipeline's units of work: pure functions, one shard (or one partition) in, one out.

Each function takes a small picklable task (paths, settings, a few id arrays), reads its
input shard from disk, writes its output shard plus marker (see :mod:`core.pipeline.store`)
and returns a small dict of counts. No function holds more than one shard's text, so any
engine (a local process pool, Ray Data) can run them; results never depend on which
worker runs what, or in which order.

Row labels: ``g`` is a row's rank in the order of (content id, hash of the source row),
computed once over all shards by the driver; it is the only per-row state that travels
between stages, and every tie is broken by it, so outputs do not depend on shard order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import _minhash, formats
from core.errors import DatasetError
from core.pipeline import store

_SCOPE_COLUMNS = ("prompt_text", "response_text", "rejected_text")  # dedup's scope "all"
_JSON_COLUMNS = ("messages", "chosen", "rejected", "tools", "extra")
_META_COLUMNS = ("category", "difficulty", "language", "source", "created_at")
_BATCH = 8192
_EXACT_SALT = np.uint64(0xA0761D6478BD642F)


# -- validate -----------------------------------------------------------------------------------


def validate_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Parse one input shard with the project's readers; write valid rows and the quarantine.

    Task keys: ``shard`` (index), ``path``, ``format`` (or None to detect), ``out``, ``fp``.
    """
    out, name, path = Path(task["out"]), f"part-{task['shard']:05d}", task["path"]
    try:
        loaded = formats.load_dataset(path, path, format=task["format"])
        records, quarantine = loaded.records, loaded.quarantine
    except (DatasetError, OSError, ValueError) as exc:  # unreadable as a whole: one quarantine line
        records = pd.DataFrame()
        quarantine = pd.DataFrame([{"line": None, "raw": "", "codes": "unreadable_file", "reason": str(exc)}])
    store.write_table(out / f"{name}.parquet", _valid_table(records, path, task["shard"]))
    store.write_table(out / f"quarantine-{task['shard']:05d}.parquet", _quarantine_table(quarantine, path))
    store.mark_done(out, name, task["fp"], rows=len(records), invalid=len(quarantine))
    return {"rows": len(records), "invalid": len(quarantine)}


def _json_bytes(value: Any) -> bytes | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _json_column(values: list[Any]) -> pa.Array:
    """Nested values as JSON text (arbitrary messages do not fit one Arrow type); all-missing: nulls."""
    if all(v is None for v in values):
        return pa.nulls(len(values), pa.string())
    return pa.array([_json_bytes(v) for v in values], pa.binary()).cast(pa.string())


def _scalar_text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _text_column(values: list[Any]) -> pa.Array:
    """Scalars as text: Arrow's own conversion when they are all strings or missing, else one by one."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is not None and (pa.types.is_string(array.type) or pa.types.is_null(array.type)):
        return array.cast(pa.string())
    return pa.array([_scalar_text(v) for v in values], pa.string())


def _line(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _valid_table(records: pd.DataFrame, path: str, shard: int) -> pa.Table:
    n = len(records)
    column = lambda c: records[c].tolist() if c in records.columns else [None] * n  # noqa: E731
    rowhashes = [xxhash.xxh3_64_intdigest(_json_bytes(v) or b"") for v in column("raw")]
    data: dict[str, Any] = {
        "id": pa.array([str(v) for v in column("id")], pa.string()),
        "rowhash": pa.array(rowhashes, pa.uint64()),
        "shard": pa.array(np.full(n, shard, np.int32)),
        "kind": pa.array(column("kind"), pa.string()),
    }
    for c in _JSON_COLUMNS:
        data[c] = _json_column(column(c))
    for c in _META_COLUMNS:
        data[c] = _text_column(column(c))
    data["source_file"] = pa.array([path] * n, pa.string())
    data["source_line"] = pa.array([_line(v) for v in column("source_line")], pa.int64())
    parts = [column(c) for c in _SCOPE_COLUMNS]
    data["text"] = pa.array(_minhash.join_parts(parts) if n else [], pa.string())
    return pa.table(data)


def _quarantine_table(quarantine: pd.DataFrame, path: str) -> pa.Table:
    n = len(quarantine)
    lines = [_line(v) for v in quarantine["line"].tolist()] if n else []
    return pa.table(
        {
            "file": pa.array([path] * n, pa.string()),
            "line": pa.array(lines, pa.int64()),
            "codes": pa.array([str(v) for v in quarantine["codes"]] if n else [], pa.string()),
            "reason": pa.array([str(v) for v in quarantine["reason"]] if n else [], pa.string()),
            "raw": pa.array([str(v) for v in quarantine["raw"]] if n else [], pa.string()),
        }
    )


# -- signatures -----------------------------------------------------------------------------------


def signatures_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Shingle, sign and band one shard; write its signatures and its band keys by partition.

    Task keys: ``shard``, ``source`` (validate part), ``g`` (row labels), ``params``
    (:class:`core._minhash.EngineParams`), ``partitions``, ``out``, ``fp``.
    """
    out, name = Path(task["out"]), f"part-{task['shard']:05d}"
    texts = pq.read_table(task["source"], columns=["text"]).column("text").to_pylist()
    params: _minhash.EngineParams = task["params"]
    batches = [_minhash.process_batch(texts[i : i + _BATCH], params) for i in range(0, len(texts), _BATCH)]
    result = _minhash.concat_outputs(batches) if batches else _minhash.process_batch([], params)
    g = np.asarray(task["g"], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(result.counts)]).astype(np.int64)
    signatures = pa.table(
        {
            "g": g,
            "exact_key": result.exact_keys,
            "empty": result.empty,
            "length": np.array([len(t) for t in texts], dtype=np.int64),
            "shingles": pa.ListArray.from_arrays(pa.array(offsets), pa.array(result.shingles, pa.uint32())),
        }
    )
    store.write_table(out / f"{name}.parquet", signatures)
    keys = _keys_table(result, g, task["partitions"])
    for p, part in enumerate(keys):
        store.write_table(out / keys_name(task["shard"], p), part)
    store.mark_done(out, name, task["fp"], rows=len(texts))
    return {"rows": len(texts)}


def keys_name(shard: int, partition: int) -> str:
    """The file of shard ``shard``'s band keys that fall in bucket partition ``partition``."""
    return f"keys-{shard:05d}-{partition:05d}.parquet"


def _keys_table(result: _minhash.BatchOutput, g: np.ndarray, partitions: int) -> list[pa.Table]:
    """Band keys (and exact keys, salted) of the non-empty rows, one table per bucket partition."""
    rows = np.flatnonzero(~result.empty)
    bands = result.band_keys.shape[1] if result.band_keys.ndim == 2 else 0
    near = result.band_keys[rows].ravel()
    exact = _minhash.mix64(result.exact_keys[rows] ^ _EXACT_SALT)
    keys = np.concatenate([near, exact])
    labels = np.concatenate([np.repeat(g[rows], bands), g[rows]])
    is_exact = np.concatenate([np.zeros(len(near), bool), np.ones(len(exact), bool)])
    part = (keys % np.uint64(partitions)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    cuts = np.searchsorted(part[order], np.arange(partitions + 1))
    return [
        pa.table({"key": keys[rows_p], "g": labels[rows_p], "exact": is_exact[rows_p]})
        for rows_p in (order[cuts[p] : cuts[p + 1]] for p in range(partitions))
    ]


# -- buckets -----------------------------------------------------------------------------------


def bucket_partition(task: dict[str, Any]) -> dict[str, Any]:
    """Group one partition's band keys across all shards; write candidate pairs, reduce exact ones.

    Only keys and row labels move here, never text. Task keys: ``partition``, ``keys``
    (paths of every shard's key file of this partition), ``out``, ``fp``.
    """
    out, name = Path(task["out"]), f"part-{task['partition']:05d}"
    tables = [pq.read_table(path) for path in task["keys"]]
    table = pa.concat_tables(tables) if tables else pa.table({"key": [], "g": [], "exact": []})
    key = table.column("key").to_numpy().astype(np.uint64)
    g = table.column("g").to_numpy().astype(np.int64)
    exact = table.column("exact").to_numpy(zero_copy_only=False).astype(bool)
    near_pairs = _pairs_of(key[~exact], g[~exact])
    exact_pairs = _pairs_of(key[exact], g[exact])
    nodes, roots = local_components(exact_pairs[:, 0], exact_pairs[:, 1])
    store.write_table(out / f"{name}.parquet", pa.table({"a": near_pairs[:, 0], "b": near_pairs[:, 1]}))
    store.write_table(
        out / f"exact-{task['partition']:05d}.parquet", pa.table({"node": nodes, "root": roots})
    )
    store.mark_done(out, name, task["fp"], rows=len(key), pairs=len(near_pairs))
    return {"rows": len(key), "pairs": len(near_pairs), "exact_pairs": len(exact_pairs)}


def _pairs_of(keys: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Candidate pairs (label_a < label_b) of the buckets in ``keys``, independent of input order.

    Only rows in a bucket of two or more are kept (one sort of all keys); those few are ordered by
    (key, label) before :func:`core._minhash.bucket_pairs` (reused so big buckets pair
    exactly as in :mod:`core.dedup`) pairs them.
    """
    if len(keys) < 2:  # a partition with at most one key of its kind: no pair
        return np.zeros((0, 2), dtype=np.int64)
    order = np.argsort(keys)
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    members = order[np.concatenate([[False], same]) | np.concatenate([same, [False]])]
    by_key_label = np.lexsort((labels[members], keys[members]))
    members = members[by_key_label]
    positions = _minhash.bucket_pairs(keys[members])
    if len(positions) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(labels[members][positions], axis=1)
    return unique_pairs(pairs[pairs[:, 0] != pairs[:, 1]])


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """The distinct rows of an ``(n, 2)`` array of labels below 2**32, sorted (one 64-bit sort)."""
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    codes = (pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64)
    codes = _minhash.sorted_unique(codes)
    return np.stack([(codes >> np.uint64(32)), codes & np.uint64(0xFFFFFFFF)], axis=1).astype(np.int64)


def local_components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union-find over the edges ``a[k] - b[k]``: each touched node and its root (the smallest node)."""
    nodes, inverse = np.unique(np.concatenate([a, b]).astype(np.int64), return_inverse=True)
    if len(nodes) == 0:
        return nodes, nodes.copy()
    m = len(a)
    graph = coo_matrix((np.ones(m, np.int8), (inverse[:m], inverse[m:])), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, labels, nodes)
    return nodes, smallest[labels]


# -- filter and export ----------------------------------------------------------------------------


def filter_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Write the kept rows of one shard (every column but the compared text).

    Task keys: ``shard``, ``source`` (validate part), ``g`` (labels of its rows), ``removed``
    (sorted labels of all removed rows), ``out``, ``fp``. Returns the rows read and kept.
    """
    out, name = Path(task["out"]), f"part-{task['shard']:05d}"
    table = pq.read_table(task["source"]).drop_columns(["text"])
    g = np.asarray(task["g"], np.int64)
    removed = np.asarray(task["removed"], np.int64)
    keep = ~np.isin(g, removed)
    kept = table.append_column("g", pa.array(g)).filter(pa.array(keep))
    store.write_table(out / f"{name}.parquet", kept)
    store.mark_done(out, name, task["fp"], rows=kept.num_rows)
    return {"rows": len(g), "kept": kept.num_rows}


def export_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Write one kept shard's rows per split in the target format (``out/<split>/part-N.<ext>``).

    Task keys: ``shard``, ``source`` (kept part), ``splits`` (dict split -> labels), ``format``,
    ``extension``, ``out``, ``fp``.
    """
    out, name = Path(task["out"]), f"part-{task['shard']:05d}"
    frame = canonical_frame(pq.read_table(task["source"]))
    counts: dict[str, int] = {}
    for split, labels in task["splits"].items():
        part = frame[frame["g"].isin(np.asarray(labels, np.int64))].sort_values("g")
        data, _ = formats.write_dataset(part, task["format"]) if len(part) else (b"", [])
        store.write_bytes(out / split / f"{name}.{task['extension']}", data)
        counts[split] = len(part)
    store.mark_done(out, name, task["fp"], rows=len(frame), splits=counts)
    return {"rows": len(frame), "splits": counts}


def canonical_frame(table: pa.Table) -> pd.DataFrame:
    """Return a kept or validate part as a canonical table (JSON text columns parsed back)."""
    frame = table.to_pandas()
    for c in _JSON_COLUMNS:
        if c in frame.columns:
            frame[c] = [json.loads(v) if isinstance(v, str) else None for v in frame[c]]
    frame["raw"] = None
    return frame
