"""Verification of the candidate pairs, planned from paths and counts: no pair reaches the driver.

The candidate graph's components (:func:`core.pipeline.components.connect` over the bucket
partitions' pairs) give every candidate row its block: a hash of its component's smallest label,
so a component, and every pair in it, falls in one block. Three kinds of task, one engine map each:

1. ``route_pairs`` (one per bucket partition): reads the partition's candidate pairs and the
   candidate rows' roots, writes each pair into its block's file.
2. ``gather_shard`` (one per shard holding candidate rows): copies their shingles to their blocks.
3. ``verify_partition`` (one per block): reads its pair files and gathered shingles, keeps the
   distinct pairs whose true Jaccard reaches the threshold, and writes the verified edges and the
   block's components, each node with its best Jaccard.

The driver holds the candidate rows' ``(node, root)`` (per-row state, also what places each
row's shingles) and hands the tasks only paths, settings and counts read from markers.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import _minhash
from core.pipeline import store
from core.pipeline.components import partition_of
from core.pipeline.stages import local_components, unique_pairs

CANDIDATES_FILE = "candidates.parquet"  # the candidate rows' (node, root), for the routing tasks


def pairs_name(block: int, partition: int) -> str:
    """The file of bucket partition ``partition``'s candidate pairs that block ``block`` verifies."""
    return f"pairs-{block:05d}-from-{partition:05d}.parquet"


def gather_name(shard: int, block: int) -> str:
    """The file of shard ``shard``'s candidate rows that block ``block`` reads."""
    return f"gather-{shard:05d}-{block:05d}.parquet"


# -- planning (on the driver: paths, settings, per-row labels, counts) ----------------------------


def route_tasks(buckets: Path, candidates: Path, out: Path, fp: str, partitions: int) -> list[dict[str, Any]]:
    """One routing task per bucket partition: its pair file (``buckets/part-P.parquet``) to blocks.

    ``weight`` (the pairs to route, for the ETA) comes from the bucket partition's marker.
    """
    return [
        {
            "partition": p,
            "name": f"route-{p:05d}",
            "source": str(buckets / f"part-{p:05d}.parquet"),
            "candidates": str(candidates),
            "partitions": partitions,
            "weight": int(store.read_marker(buckets, f"part-{p:05d}").get("pairs", 1)),
            "out": str(out),
            "fp": store.fingerprint(fp, "route", p, partitions),
        }
        for p in range(partitions)
    ]


def gather_tasks(
    candidates: pa.Table, index: dict[str, Any], sig_dir: Path, out: Path, fp: str, partitions: int
) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """The gather tasks of the candidate rows, and each block's gathered files.

    Every shard holding candidate rows is read once and each candidate row copied once, to its
    component's block.
    """
    nodes = candidates.column("node").to_numpy().astype(np.int64)
    block = partition_of(candidates.column("root").to_numpy().astype(np.int64), partitions)
    shard_of, pos_of = index["shard_of_g"][nodes], index["pos_of_g"][nodes]
    order = np.lexsort((pos_of, shard_of))
    cuts = np.flatnonzero(np.diff(shard_of[order]) != 0) + 1
    gather, holders = [], defaultdict(list)
    for rows in np.split(order, cuts) if len(order) else []:
        shard = int(shard_of[rows[0]])
        name = f"gather-{shard:05d}"
        facts = np.stack([nodes[rows], block[rows]])
        gather.append(
            {
                "shard": shard,
                "name": name,
                "source": str(sig_dir / f"part-{shard:05d}.parquet"),
                "pos": pos_of[rows],
                "g": nodes[rows],
                "q": block[rows],
                "out": str(out),
                "fp": store.fingerprint(fp, name, hashlib.sha256(facts.tobytes()).hexdigest()),
            }
        )
        for q in _minhash.sorted_unique(block[rows]).tolist():
            holders[q].append(str(out / gather_name(shard, q)))
    return gather, dict(holders)


def verify_tasks(
    holders: dict[int, list[str]], routed: Path, out: Path, fp: str, threshold: float, partitions: int
) -> list[dict[str, Any]]:
    """One verify task per block holding candidate rows: its gathered files and its pair files.

    ``weight`` (the pairs routed to the block, duplicates included) comes from the routing markers.
    """
    if not holders:
        return []
    routes = [store.read_marker(routed, f"route-{p:05d}").get("blocks", []) for p in range(partitions)]
    return [
        {
            "partition": q,
            "name": f"part-{q:05d}",
            "sources": holders[q],
            "pairs": [str(routed / pairs_name(q, p)) for p in range(partitions)],
            "threshold": threshold,
            "weight": sum(int(counts[q]) for counts in routes if len(counts) > q),
            "out": str(out),
            "fp": store.fingerprint(fp, f"part-{q:05d}", threshold, partitions),
        }
        for q in sorted(holders)
    ]


# -- the tasks (on the workers) --------------------------------------------------------------------


def route_pairs(task: dict[str, Any]) -> dict[str, Any]:
    """Write one bucket partition's candidate pairs into the file of each pair's block.

    Task keys: ``partition``, ``source`` (its pairs ``a``, ``b``), ``candidates`` (``(node, root)``
    of every candidate row, sorted by node), ``partitions``, ``out``, ``name``, ``fp``.
    """
    table = pq.read_table(task["source"], columns=["a", "b"])
    a, b = (table.column(c).to_numpy().astype(np.int64) for c in ("a", "b"))
    roots = pq.read_table(task["candidates"], columns=["node", "root"])
    node, root = (roots.column(c).to_numpy().astype(np.int64) for c in ("node", "root"))
    partitions, out = task["partitions"], Path(task["out"])
    block = partition_of(root[np.searchsorted(node, a)], partitions) if len(a) else np.zeros(0, np.int64)
    order = np.argsort(block, kind="stable")
    cuts = np.searchsorted(block[order], np.arange(partitions + 1))
    for q in range(partitions):
        rows = order[cuts[q] : cuts[q + 1]]
        store.write_table(out / pairs_name(q, task["partition"]), pa.table({"a": a[rows], "b": b[rows]}))
    counts = np.diff(cuts).tolist()
    store.mark_done(out, task["name"], task["fp"], rows=len(a), blocks=counts)
    return {"rows": len(a)}


def gather_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Copy the shingles of one shard's candidate rows into one file per block.

    Each shard's signatures are read once here, whatever the number of shards holding the
    other sides of its pairs. Task keys: ``shard``, ``source`` (signature part), ``pos``
    (sorted row positions of its candidate rows), ``g`` (their labels), ``q`` (their blocks),
    ``out``, ``fp``.
    """
    out, shard = Path(task["out"]), task["shard"]
    pos, q = np.asarray(task["pos"], np.int64), np.asarray(task["q"], np.int64)
    column = pq.read_table(task["source"], columns=["shingles"]).column("shingles").combine_chunks()
    picked = pa.table({"g": np.asarray(task["g"], np.int64), "shingles": column.take(pa.array(pos))})
    order = np.argsort(q, kind="stable")
    for part in _minhash.sorted_unique(q).tolist():
        rows = order[np.searchsorted(q[order], part) : np.searchsorted(q[order], part, side="right")]
        store.write_table(out / gather_name(shard, part), picked.take(pa.array(rows)))
    store.mark_done(out, f"gather-{shard:05d}", task["fp"], rows=len(pos))
    return {"rows": len(pos)}


def verify_partition(task: dict[str, Any]) -> dict[str, Any]:
    """Verify one block's distinct candidate pairs by the true Jaccard of their gathered shingles.

    A block holds whole components of the candidate graph, so it needs no other block's rows.
    Task keys: ``partition``, ``sources`` (its gathered files), ``pairs`` (its pair files),
    ``threshold``, ``out``, ``fp``. Writes the verified edges ``(a, b, jaccard)`` and the block's
    components ``(node, root, jaccard)``, ``jaccard`` each node's best verified Jaccard.
    """
    out, name = Path(task["out"]), f"part-{task['partition']:05d}"
    routed = store.read_tables([Path(p) for p in task["pairs"]], ["a", "b"])
    both = unique_pairs(
        np.stack([routed.column("a").to_numpy(), routed.column("b").to_numpy()], axis=1).astype(np.int64)
    )
    a, b = both[:, 0], both[:, 1]
    table = store.read_tables([Path(p) for p in task["sources"]])
    labels = table.column("g").to_numpy().astype(np.int64)
    column = table.column("shingles").combine_chunks()
    shingles = column.flatten().to_numpy(zero_copy_only=False).astype(np.uint32)
    counts = np.diff(column.offsets.to_numpy()).astype(np.int64)
    order = np.argsort(labels)
    ai, bi = order[np.searchsorted(labels, a, sorter=order)], order[np.searchsorted(labels, b, sorter=order)]
    jaccard = _minhash.verify_pairs(shingles, counts, ai, bi)
    ok = jaccard >= task["threshold"] - 1e-12
    nodes, roots = local_components(a[ok], b[ok])
    best = np.zeros(len(nodes))
    np.maximum.at(best, np.searchsorted(nodes, a[ok]), jaccard[ok])
    np.maximum.at(best, np.searchsorted(nodes, b[ok]), jaccard[ok])
    store.write_table(out / f"{name}.parquet", pa.table({"a": a[ok], "b": b[ok], "jaccard": jaccard[ok]}))
    store.write_table(
        out / f"roots-{name}.parquet", pa.table({"node": nodes, "root": roots, "jaccard": best})
    )
    store.mark_done(out, name, task["fp"], rows=len(a), verified=int(ok.sum()))
    return {"rows": len(a), "verified": int(ok.sum())}
