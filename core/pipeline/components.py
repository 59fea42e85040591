"""Connected components over edge files, spread over workers: no task ever holds all the edges.

The edges live in files; every round is one engine map over ``partitions`` tasks, each owning the
nodes whose hash falls in its partition (the idea of Data-Juicer's union-find actors, each owning a
range of ids, done here as rounds over files so both engines run the same functions):

1. ``scatter`` (one task per input file): a local union-find turns the file's edges into stars
   ``(node, root)`` (most components end here), written in both directions, each to the
   partition of its first node.
2. Rounds alternating *large-star* and *small-star* (Kiveris et al., "Connected Components in
   MapReduce and Beyond", 2014): a partition task reads every directed edge ``u -> v`` of its
   nodes ``u``, takes ``m(u)``, the smallest of ``u`` and its neighbours, and rewires edges to it
   (large-star: each larger neighbour ``v > u`` to ``m(u)``; small-star: each smaller neighbour
   and ``u`` itself to the smallest of them). Components never change; each ends as a star
   around its smallest node.
3. A large-star task also writes each of its nodes' ``m(u)`` and says whether its nodes are all
   star centres (every neighbour larger) or leaves (one neighbour, smaller): when every task
   says so, the graph is a forest of stars around each component's smallest node, and those
   ``m(u)`` are the roots.

The driver keeps paths and one flag per task; the result, one ``(node, root)`` file per
partition, is the same as :func:`core.pipeline.stages.local_components` over all the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import _minhash
from core.pipeline import store
from core.pipeline.engine import PipelineRun
from core.pipeline.stages import local_components

MAX_ROUNDS = 400
"""Rounds before giving up (large-star/small-star needs O(log^2 n); this is far beyond)."""

_MASK = np.uint64(0xFFFFFFFF)


def connect(
    run: PipelineRun,
    stage: str,
    sources: Sequence[tuple[str, tuple[str, str]]],
    folder: Path,
    fp: str,
    partitions: int,
) -> pa.Table:
    """Connected components of the edges in ``sources`` (each: a Parquet file and its two label columns).

    Runs on ``run``'s engine as stage ``stage`` (its rounds add to the stage's figures); writes under
    ``folder``; each round's tasks are skipped when their markers hold ``fp``'s round fingerprint.

    Returns:
        ``(node, root)`` of every node in an edge, sorted by node, ``root`` its component's smallest
        node: the same as :func:`core.pipeline.stages.local_components` over all the edges.
    """
    first = folder / "round-00000"
    scatter = [
        {
            "source": path,
            "columns": columns,
            "index": k,
            "partitions": partitions,
            "out": str(first),
            "name": f"scatter-{k:05d}",
            "fp": store.fingerprint(fp, "scatter", k, columns, partitions),  # no path: a moved run resumes
        }
        for k, (path, columns) in enumerate(sources)
    ]
    run.stage(stage, scatter_edges, scatter, unit="edges", label=f"{stage} scatter")
    senders = len(scatter)
    for r in range(MAX_ROUNDS):
        here, after = folder / f"round-{r:05d}", folder / f"round-{r + 1:05d}"
        large = r % 2 == 0
        tasks: list[dict[str, Any]] = [
            {
                "partition": p,
                "sources": [str(here / edges_name(s, p)) for s in range(senders)],
                "large": large,
                "roots": str(here / f"roots-{p:05d}.parquet"),
                "partitions": partitions,
                "out": str(after),
                "name": f"part-{p:05d}",
                "fp": store.fingerprint(fp, "round", r, p, senders, partitions),
            }
            for p in range(partitions)
        ]
        step = "large-star" if large else "small-star"
        run.stage(stage, star_round, tasks, unit="edges", label=f"{stage} round {r} {step}")
        senders = partitions
        if large and all(store.read_marker(after, t["name"])["stars"] for t in tasks):
            roots = store.read_tables([Path(t["roots"]) for t in tasks])
            alone = store.read_tables([first / f"alone-{k:05d}.parquet" for k in range(len(scatter))])
            return _with_alone(roots, alone)
    raise RuntimeError(f"components did not settle in {MAX_ROUNDS} rounds")


def _with_alone(roots: pa.Table, alone: pa.Table) -> pa.Table:
    """The roots plus the one-node components (a self-loop in a file, and no edge in any other)."""
    node = roots.column("node").to_numpy().astype(np.int64) if roots.num_rows else np.zeros(0, np.int64)
    root = roots.column("root").to_numpy().astype(np.int64) if roots.num_rows else np.zeros(0, np.int64)
    single = alone.column("node").to_numpy().astype(np.int64) if alone.num_rows else np.zeros(0, np.int64)
    single = np.setdiff1d(single, node)
    node, root = np.concatenate([node, single]), np.concatenate([root, single])
    order = np.argsort(node, kind="stable")
    return pa.table({"node": node[order], "root": root[order]})


def scatter_edges(task: dict[str, Any]) -> dict[str, Any]:
    """Reduce one edge file to stars and write them, both directions, by partition of the first node.

    Task keys: ``source`` (a Parquet file), ``columns`` (its two label columns), ``index``,
    ``partitions``, ``out`` (the round-0 folder), ``name``, ``fp``.
    """
    table = pq.read_table(task["source"], columns=list(task["columns"]))
    a, b = (table.column(c).to_numpy().astype(np.int64) for c in task["columns"])
    nodes, roots = local_components(a, b)
    moved = nodes != roots
    out = Path(task["out"])
    _write_directed(out, task["index"], nodes[moved], roots[moved], task["partitions"])
    alone = np.setdiff1d(nodes[~moved], roots[moved])  # components of one node (a self-loop only)
    store.write_table(out / f"alone-{task['index']:05d}.parquet", pa.table({"node": alone, "root": alone}))
    store.mark_done(Path(task["out"]), task["name"], task["fp"], rows=int(moved.sum()))
    return {"rows": int(moved.sum())}


def star_round(task: dict[str, Any]) -> dict[str, Any]:
    """One large-star or small-star step over the directed edges of one partition's nodes.

    Task keys: ``partition``, ``sources`` (files of the edges into this partition), ``large``
    (True: large-star; then ``roots``, where the ``(node, root)`` of its nodes are written, and
    ``stars`` in the result: whether its nodes are all star centres or leaves), ``partitions``,
    ``out`` (the next round's folder), ``name``, ``fp``.
    """
    u, v = _read_edges(task["sources"])
    heads = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]])) if len(u) else np.zeros(0, np.int64)
    nodes = u[heads]
    smallest = np.minimum(np.minimum.reduceat(v, heads), nodes) if len(u) else np.zeros(0, np.int64)
    m = np.repeat(smallest, np.diff(np.append(heads, len(u))))
    stars = True
    if task["large"]:
        pick = v > u
        x, y = v[pick], m[pick]
        degree = np.diff(np.append(heads, len(u)))
        centre = smallest == nodes  # every neighbour is larger
        leaf = (degree == 1) & (smallest < nodes)  # one neighbour, smaller
        stars = bool((centre | leaf).all())
        store.write_table(Path(task["roots"]), pa.table({"node": nodes, "root": smallest}))
    else:  # small-star: each smaller neighbour, and the node, to the smallest of them
        lower = v < u
        x, y = np.concatenate([v[lower], nodes]), np.concatenate([m[lower], smallest])
    keep = x != y
    _write_directed(Path(task["out"]), task["partition"], x[keep], y[keep], task["partitions"])
    store.mark_done(Path(task["out"]), task["name"], task["fp"], rows=len(u), stars=stars)
    return {"rows": len(u), "stars": stars}


def _read_edges(sources: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct directed edges of the files, sorted by (u, v)."""
    table = store.read_tables([Path(p) for p in sources], ["u", "v"])
    if table.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes = _codes(
        table.column("u").to_numpy().astype(np.int64), table.column("v").to_numpy().astype(np.int64)
    )
    codes = _minhash.sorted_unique(codes)
    return (codes >> np.uint64(32)).astype(np.int64), (codes & _MASK).astype(np.int64)


def _codes(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u.astype(np.uint64) << np.uint64(32)) | v.astype(np.uint64)


def partition_of(labels: np.ndarray, partitions: int) -> np.ndarray:
    """The partition that owns each label (a hash, so big components spread)."""
    return (_minhash.mix64(labels.astype(np.uint64)) % np.uint64(partitions)).astype(np.int64)


def edges_name(sender: int, partition: int) -> str:
    """The file of the edges task ``sender`` sends to ``partition``."""
    return f"to-{partition:05d}-from-{sender:05d}.parquet"


def _write_directed(out: Path, sender: int, x: np.ndarray, y: np.ndarray, partitions: int) -> None:
    """Write the undirected edges ``x - y`` as ``x -> y`` and ``y -> x``, each to its owner's file."""
    u, v = np.concatenate([x, y]), np.concatenate([y, x])
    owner = partition_of(u, partitions)
    order = np.argsort(owner, kind="stable")
    cuts = np.searchsorted(owner[order], np.arange(partitions + 1))
    for q in range(partitions):
        rows = order[cuts[q] : cuts[q + 1]]
        store.write_table(out / edges_name(sender, q), pa.table({"u": u[rows], "v": v[rows]}))
