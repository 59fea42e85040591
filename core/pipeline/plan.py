"""The driver's small computations: settings, keep decisions, splits, manifest.

Everything here works on row labels and per-row scalars (never text), so it fits on the
driver at millions of rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from core import _minhash
from core.dedup import DedupConfig
from core.pipeline import store

STEPS = ("validate", "measure", "dedup", "split", "export")
KEEP_POLICIES = ("smallest", "longest")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PipelineConfig:
    """What one pipeline run reads, does and writes.

    Attributes:
        inputs: Files, directories or globs of input shards.
        out: The output directory.
        steps: Which of :data:`STEPS` to run (validate always runs).
        format: Input format name (see :data:`core.formats.FORMAT_NAMES`); detected per shard when None.
        export_format: Format of the exported splits.
        keep: Which member of a cluster stays: ``smallest`` (id) or ``longest`` (compared text).
        val: Fraction of clusters for validation.
        test: Fraction of clusters for test.
        seed: Seed of the split's hashes.
        model: The model whose encoding the measure stage counts tokens in.
        partitions: Bucket partitions of the band-key shuffle (results do not depend on it).
        dedup: Shingling, MinHash and threshold settings (dedup's scope ``all``).
    """

    inputs: tuple[str, ...]
    out: str
    steps: tuple[str, ...] = STEPS
    format: str | None = None
    export_format: str = "openai-sft"
    keep: str = "smallest"
    val: float = 0.1
    test: float = 0.1
    seed: int = 0
    model: str = "gpt-4.1-mini"
    partitions: int = 8
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)

    def __post_init__(self) -> None:
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown:
            raise ValueError(f"steps must be among {STEPS}, got {unknown}")
        if self.keep not in KEEP_POLICIES:
            raise ValueError(f"keep must be one of {KEEP_POLICIES}, got {self.keep!r}")
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 1):
            raise ValueError(
                f"val and test must be fractions summing below 1, got {self.val!r}, {self.test!r}"
            )
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {self.partitions!r}")


def choose_kept(roots: pa.Table, best: pa.Table, signatures: pa.Table, keep: str) -> dict[str, np.ndarray]:
    """Pick each cluster's keeper (deterministic, order-free).

    Args:
        roots: ``(node, root)`` of every clustered row, sorted by node, ``root`` its cluster's smallest
            label (:func:`core.pipeline.components.connect` of the partial components).
        best: ``(node, jaccard)``: each near-duplicate row's best verified Jaccard.
        signatures: Per row: ``g``, ``exact_key``, ``length``.
        keep: ``smallest`` (the smallest label, i.e. the smallest id) or ``longest`` (ties: smallest).

    Returns:
        Arrays over the clustered rows (sorted by label): ``g``, ``root`` (a cluster's smallest
        label), ``kept`` (its keeper), ``removed``, ``exact`` (same exact key as the keeper),
        ``jaccard`` (1.0 for exact, else the row's best verified Jaccard).
    """
    g = roots.column("node").to_numpy().astype(np.int64) if roots.num_rows else np.zeros(0, np.int64)
    final = roots.column("root").to_numpy().astype(np.int64) if roots.num_rows else np.zeros(0, np.int64)
    label = signatures.column("g").to_numpy()
    by_g = np.empty(len(label), np.int64)
    by_g[label] = np.arange(len(label))
    exact_key = signatures.column("exact_key").to_numpy()[by_g]
    length = signatures.column("length").to_numpy()[by_g]
    preference = -length[g] if keep == "longest" else np.zeros(len(g))
    order = np.lexsort((g, preference, final))
    first = np.concatenate([[True], final[order][1:] != final[order][:-1]]) if len(g) else np.zeros(0, bool)
    roots_sorted, keepers = final[order][first], g[order][first]  # roots ascending, one keeper each
    kept = keepers[np.searchsorted(roots_sorted, final)] if len(g) else np.zeros(0, np.int64)
    best_of = np.zeros(len(label))
    if best.num_rows:
        np.maximum.at(best_of, best.column("node").to_numpy(), best.column("jaccard").to_numpy())
    exact = exact_key[g] == exact_key[kept]
    return {
        "g": g,
        "root": final,
        "kept": kept,
        "removed": g != kept,
        "exact": exact,
        "jaccard": np.where(exact, 1.0, best_of[g]),
    }


def assign_splits(kept: pa.Table, val: float, test: float, *, seed: int) -> pa.Table:
    """Assign each kept row (one per cluster) a split, stratified by category, from seeded hashes.

    Within each category the rows are ordered by a seeded hash of (id, source-row hash) and cut
    at the rounded fractions, so the result depends on the content only, never on shard order.
    """
    g = kept.column("g").to_numpy().astype(np.int64)
    rowhash = kept.column("rowhash").to_numpy().astype(np.uint64)
    seed_key = np.uint64(xxhash.xxh64_intdigest(b"split", seed=seed & 0xFFFFFFFFFFFFFFFF))
    u = _minhash.mix64(id_keys(kept.column("id")) ^ _minhash.mix64(rowhash) ^ seed_key)
    strata = pc.dictionary_encode(pc.fill_null(kept.column("category").combine_chunks(), ""))
    code = strata.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.lexsort((g, u, code))  # groups in any order: each is cut on its own
    split = np.zeros(len(g), dtype=np.int8)  # index into SPLITS
    start = 0
    for count in np.bincount(code, minlength=len(strata.dictionary)).tolist():
        rows = order[start : start + count]
        n_test, n_val = math.floor(test * count + 0.5), math.floor(val * count + 0.5)
        split[rows[:n_test]] = SPLITS.index("test")
        split[rows[n_test : n_test + n_val]] = SPLITS.index("val")
        start += count
    ordered = np.argsort(g)
    return pa.table({"g": g[ordered], "split": pa.array(SPLITS).take(pa.array(split[ordered]))})


def split_of(assign: pa.Table | None, labels: np.ndarray) -> np.ndarray:
    """The split (index into :data:`SPLITS`) of each of ``labels``; ``train`` where ``assign`` has none."""
    codes = np.zeros(len(labels), dtype=np.int8)
    if assign is None or assign.num_rows == 0:
        return codes
    g = assign.column("g").to_numpy()
    names = assign.column("split").to_numpy(zero_copy_only=False)
    where = np.minimum(np.searchsorted(g, labels), len(g) - 1)
    found = g[where] == labels
    for k, name in enumerate(SPLITS):
        codes[found & (names[where] == name)] = k
    return codes


def id_keys(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each id as a 64-bit number: its value when it is 16 lowercase hex digits (content ids), else a hash."""
    array = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    array = array.cast(pa.string())
    n = len(array)
    keys = np.zeros(n, dtype=np.uint64)
    hexed = np.zeros(n, dtype=bool)
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False) if n else np.zeros(0)
    if n and array.null_count == 0 and bool((lengths == 16).all()):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + n + 1]
        data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        digits = _HEX[data.reshape(n, 16)]
        hexed = np.asarray((digits >= 0).all(axis=1))
        weights = np.uint64(16) ** np.arange(15, -1, -1, dtype=np.uint64)
        keys = (np.maximum(digits, 0).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    for k in np.flatnonzero(~hexed).tolist():
        keys[k] = xxhash.xxh3_64_intdigest(str(array[k].as_py()).encode())
    return keys


_HEX = np.full(256, -1, dtype=np.int64)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)


def removed_table(
    decisions: dict[str, np.ndarray], index: dict[str, Any], assign: pa.Table | None
) -> pa.Table:
    """The removed rows: id, cluster (rank of the cluster's keeper), kept_id, reason, jaccard, split.

    Also where each row is: ``shard`` and ``position``, its row in ``validate/part-<shard>.parquet``.
    """
    removed = decisions["removed"]
    g, kept = decisions["g"][removed], decisions["kept"][removed]
    keepers = _minhash.sorted_unique(decisions["kept"])
    ids = index["ids"]
    return pa.table(
        {
            "id": ids.take(pa.array(g)),
            "cluster": pa.array(np.searchsorted(keepers, kept), pa.int64()),
            "kept_id": ids.take(pa.array(kept)),
            "reason": pa.array(np.where(decisions["exact"][removed], "exact", "near").tolist(), pa.string()),
            "jaccard": pa.array(decisions["jaccard"][removed], pa.float64()),
            "split": pa.array(SPLITS).take(pa.array(split_of(assign, kept))),
            "shard": pa.array(index["shard_of_g"][g], pa.int32()),
            "position": pa.array(index["pos_of_g"][g], pa.int64()),
        }
    )


def write_manifest(export_dir: Path, config: PipelineConfig, fmt: str) -> None:
    """Write ``manifest.json``: every exported file with its rows and SHA-256, and the settings."""
    files = []
    for split in SPLITS:
        for path in sorted((export_dir / split).glob("part-*")):
            data = path.read_bytes()
            files.append(
                {
                    "split": split,
                    "path": str(path.relative_to(export_dir)),
                    "rows": data.count(b"\n"),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("inputs", "out")}
    manifest = {"format": fmt, "files": files, "settings": settings}
    store.write_bytes(export_dir / "manifest.json", json.dumps(manifest, indent=2, default=str).encode())
