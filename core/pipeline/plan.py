"""The driver's small computations: settings, verification blocks, keep decisions, splits, manifest.

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
import xxhash

from core import _minhash
from core.dedup import DedupConfig
from core.pipeline import stages, store

STEPS = ("validate", "dedup", "split", "export")
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


def verify_tasks(
    pairs: pa.Table, index: dict[str, Any], sig_dir: Path, out: Path, fp: str, threshold: float
) -> list[dict[str, Any]]:
    """Group the distinct candidate pairs by the pair of shards holding their rows: one task per block."""
    both = (
        np.stack([pairs.column("a").to_numpy(), pairs.column("b").to_numpy()], axis=1)
        if pairs.num_rows
        else None
    )
    if both is None:
        return []
    both = np.unique(both.astype(np.int64), axis=0)
    sa, sb = index["shard_of_g"][both[:, 0]], index["shard_of_g"][both[:, 1]]
    swap = sa > sb
    both[swap] = both[swap][:, ::-1]
    sa, sb = np.minimum(sa, sb), np.maximum(sa, sb)
    order = np.lexsort((both[:, 1], both[:, 0], sb, sa))
    both, sa, sb = both[order], sa[order], sb[order]
    cuts = np.flatnonzero((np.diff(sa) != 0) | (np.diff(sb) != 0)) + 1
    tasks = []
    for rows in np.split(np.arange(len(both)), cuts):
        i, j = int(sa[rows[0]]), int(sb[rows[0]])
        a, b = both[rows, 0], both[rows, 1]
        name = f"block-{i:05d}-{j:05d}"
        tasks.append(
            {
                "block": name,
                "name": name,
                "sources": (str(sig_dir / f"part-{i:05d}.parquet"), str(sig_dir / f"part-{j:05d}.parquet")),
                "a": a,
                "b": b,
                "a_pos": index["pos_of_g"][a],
                "b_pos": index["pos_of_g"][b],
                "threshold": threshold,
                "out": str(out),
                "fp": store.fingerprint(fp, name, hashlib.sha256(both[rows].tobytes()).hexdigest()),
            }
        )
    return tasks


def choose_kept(roots: pa.Table, edges: pa.Table, signatures: pa.Table, keep: str) -> dict[str, np.ndarray]:
    """Merge the partial components and pick each cluster's keeper (deterministic, order-free).

    Args:
        roots: ``(node, root)`` maps of every bucket partition (exact pairs) and verification block.
        edges: Verified near pairs ``(a, b, jaccard)``.
        signatures: Per row: ``g``, ``exact_key``, ``length``.
        keep: ``smallest`` (the smallest label, i.e. the smallest id) or ``longest`` (ties: smallest).

    Returns:
        Arrays over the clustered rows (sorted by label): ``g``, ``root`` (a cluster's smallest
        label), ``kept`` (its keeper), ``removed``, ``exact`` (same exact key as the keeper),
        ``jaccard`` (1.0 for exact, else the row's best verified Jaccard).
    """
    node = roots.column("node").to_numpy() if roots.num_rows else np.zeros(0, np.int64)
    root = roots.column("root").to_numpy() if roots.num_rows else np.zeros(0, np.int64)
    g, final = stages.local_components(node.astype(np.int64), root.astype(np.int64))
    label = signatures.column("g").to_numpy()
    by_g = np.empty(len(label), np.int64)
    by_g[label] = np.arange(len(label))
    exact_key = signatures.column("exact_key").to_numpy()[by_g]
    length = signatures.column("length").to_numpy()[by_g]
    preference = -length[g] if keep == "longest" else np.zeros(len(g))
    order = np.lexsort((g, preference, final))
    first = np.concatenate([[True], final[order][1:] != final[order][:-1]]) if len(g) else np.zeros(0, bool)
    keeper_of_root = dict(zip(final[order][first].tolist(), g[order][first].tolist(), strict=True))
    kept = np.array([keeper_of_root[r] for r in final.tolist()], dtype=np.int64)
    best = np.zeros(len(label))
    if edges.num_rows:
        a, b, j = (edges.column(c).to_numpy() for c in ("a", "b", "jaccard"))
        np.maximum.at(best, a, j)
        np.maximum.at(best, b, j)
    exact = exact_key[g] == exact_key[kept]
    return {
        "g": g,
        "root": final,
        "kept": kept,
        "removed": g != kept,
        "exact": exact,
        "jaccard": np.where(exact, 1.0, best[g]),
    }


def assign_splits(kept: pa.Table, val: float, test: float, *, seed: int) -> pa.Table:
    """Assign each kept row (one per cluster) a split, stratified by category, from seeded hashes.

    Within each category the rows are ordered by a seeded hash of (id, source-row hash) and cut
    at the rounded fractions, so the result depends on the content only, never on shard order.
    """
    g = kept.column("g").to_numpy().astype(np.int64)
    ids = kept.column("id").to_pylist()
    rowhash = kept.column("rowhash").to_numpy().astype(np.uint64)
    content = np.array(
        [int(i, 16) if _is_hex(i) else xxhash.xxh3_64_intdigest(i) for i in ids], dtype=np.uint64
    )
    seed_key = np.uint64(xxhash.xxh64_intdigest(b"split", seed=seed & 0xFFFFFFFFFFFFFFFF))
    u = _minhash.mix64(content ^ _minhash.mix64(rowhash) ^ seed_key)
    strata = np.array([c or "" for c in kept.column("category").to_pylist()], dtype=object)
    names, code = (
        np.unique(strata, return_inverse=True) if len(strata) else (np.zeros(0), np.zeros(0, np.int64))
    )
    order = np.lexsort((g, u, code))
    split = np.empty(len(g), dtype=object)
    start = 0
    for count in np.bincount(code, minlength=len(names)):
        rows = order[start : start + count]
        n_test, n_val = math.floor(test * count + 0.5), math.floor(val * count + 0.5)
        split[rows[:n_test]] = "test"
        split[rows[n_test : n_test + n_val]] = "val"
        split[rows[n_test + n_val :]] = "train"
        start += count
    ordered = np.argsort(g)
    return pa.table({"g": g[ordered], "split": pa.array(split[ordered].tolist(), pa.string())})


def _is_hex(text: str) -> bool:
    return len(text) == 16 and all(c in "0123456789abcdef" for c in text)


def removed_table(decisions: dict[str, np.ndarray], ids: pa.Array, assign: pa.Table | None) -> pa.Table:
    """The removed rows: id, cluster (rank of the cluster's keeper), kept_id, reason, jaccard, split."""
    removed = decisions["removed"]
    g, kept = decisions["g"][removed], decisions["kept"][removed]
    keepers = np.unique(decisions["kept"])
    split_of: dict[int, str] = {}
    if assign is not None:
        split_of = dict(zip(assign.column("g").to_pylist(), assign.column("split").to_pylist(), strict=True))
    return pa.table(
        {
            "id": ids.take(pa.array(g)),
            "cluster": pa.array(np.searchsorted(keepers, kept), pa.int64()),
            "kept_id": ids.take(pa.array(kept)),
            "reason": pa.array(np.where(decisions["exact"][removed], "exact", "near").tolist(), pa.string()),
            "jaccard": pa.array(decisions["jaccard"][removed], pa.float64()),
            "split": pa.array([split_of.get(k, "train") for k in kept.tolist()], pa.string()),
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
