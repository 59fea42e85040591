"""Finding duplicates: the engine's exact groups and verified near pairs, and clusters at a threshold.

Exact groups share the normalised text's hash; near pairs are LSH candidates verified by the true
Jaccard of their shingle sets (:mod:`core._minhash`); clusters are connected components of both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import _minhash
from core.dedup.config import Cluster, DedupConfig, DedupResult, _scope_columns

Cancelled = _minhash.Cancelled

_BATCH_SIZE = 8192
_PARALLEL_FROM_ROWS = 40_000


@dataclass(frozen=True)
class DuplicateGraph:
    """Exact groups and verified near pairs of one run, before a threshold is applied.

    Near pairs are verified down to ``floor``: :func:`result_at` turns the graph into the clusters
    at any threshold from there up without running the engine again (the Dedup page keeps one per
    dataset version and settings, see :mod:`core.derived`).
    """

    floor: float
    rows: int
    ids: list[str]
    exact_group: np.ndarray  # per row: exact group label, -1 for empty rows
    near_left: np.ndarray  # positions
    near_right: np.ndarray
    near_jaccard: np.ndarray
    empty_rows: int
    capped_rows: int
    char_ngram_rows: int
    candidate_pairs: int

    def save(self, path: str | Path) -> None:
        """Write the graph as one ``.npz`` file."""
        counts = [self.floor, self.rows, self.empty_rows, self.capped_rows, self.char_ngram_rows]
        with open(path, "wb") as handle:
            np.savez(
                handle,
                # as UTF-8 JSON: a fixed-width str array drops trailing NULs and grows with the longest id
                ids=np.frombuffer(json.dumps(self.ids).encode("utf-8"), dtype=np.uint8),
                exact_group=self.exact_group,
                near_left=self.near_left,
                near_right=self.near_right,
                near_jaccard=self.near_jaccard,
                counts=np.array([*counts, self.candidate_pairs], dtype=np.float64),
            )

    @classmethod
    def load(cls, path: str | Path) -> DuplicateGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            floor, rows, empty, capped, char_rows, candidates = data["counts"].tolist()
            return cls(
                floor=float(floor),
                rows=int(rows),
                ids=json.loads(data["ids"].tobytes().decode("utf-8")),
                exact_group=data["exact_group"],
                near_left=data["near_left"],
                near_right=data["near_right"],
                near_jaccard=data["near_jaccard"],
                empty_rows=int(empty),
                capped_rows=int(capped),
                char_ngram_rows=int(char_rows),
                candidate_pairs=int(candidates),
            )

    def pairs(self) -> PairSet:
        """Return the exact groups and near pairs alone."""
        return PairSet(self.floor, self.exact_group, self.near_left, self.near_right, self.near_jaccard)


def duplicate_graph(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    *,
    floor: float | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    processes: int | None = None,
) -> DuplicateGraph:
    """Run the engine once: exact groups and near pairs verified down to ``floor`` (default: the threshold).

    Bands are chosen for the floor, so a pair at any higher threshold is a candidate with at least
    the same probability; :func:`result_at` then gives the clusters at any such threshold.

    Raises:
        Cancelled: If ``cancel()`` returned True.
    """
    config = config or DedupConfig()
    floor = config.threshold if floor is None else floor
    return _build_graph(frame, config, floor, progress=progress, cancel=cancel, processes=processes)


def result_at(graph: DuplicateGraph, config: DedupConfig) -> DedupResult:
    """Return the clusters of ``graph`` at ``config.threshold`` (at or above the graph's floor).

    Raises:
        ValueError: If the threshold is below the floor the pairs were verified at.
    """
    if config.threshold < graph.floor - 1e-12:
        raise ValueError(f"near pairs were verified down to {graph.floor}, not {config.threshold}")
    return _result_at(graph, config, config.threshold)


@dataclass(frozen=True)
class PairSet:
    """Exact-duplicate groups and verified near pairs of one text per row, before any threshold.

    Rows with the same normalised text share an ``exact_group`` (``-1``: no text); near pairs
    link group representatives (the first row of each group) whose shingle Jaccard is at least
    the ``floor`` the set was computed at, so any threshold at or above it is a filter away.
    """

    floor: float
    exact_group: np.ndarray
    left: np.ndarray
    right: np.ndarray
    jaccard: np.ndarray

    def near(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the near pairs (left, right, jaccard) at ``threshold`` (>= the floor)."""
        if threshold < self.floor - 1e-12:
            raise ValueError(f"pairs were verified down to {self.floor}, not {threshold}")
        keep = self.jaccard >= threshold - 1e-12
        return self.left[keep], self.right[keep], self.jaccard[keep]


def sensitivity(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    thresholds: Sequence[float] = (0.7, 0.8, 0.9),
    *,
    processes: int | None = None,
    graph: DuplicateGraph | None = None,
) -> pd.DataFrame:
    """Return how many rows would go at each threshold (one run, bands for the lowest).

    ``graph``: the table's :class:`DuplicateGraph` for ``config`` when at hand (no engine run then).

    Returns:
        One row per threshold: ``threshold``, ``removed``, ``exact``, ``near``, ``clusters``,
        ``removed_fraction``.
    """
    config = config or DedupConfig()
    if not thresholds:
        raise ValueError("thresholds must not be empty")
    if graph is None:
        graph = _build_graph(frame, config, min(thresholds), progress=None, cancel=None, processes=processes)
    elif min(thresholds) < graph.floor - 1e-12:
        raise ValueError(f"near pairs were verified down to {graph.floor}, not {min(thresholds)}")
    rows = []
    for threshold in sorted(thresholds):
        result = _result_at(graph, config, threshold)
        rows.append(
            {
                "threshold": threshold,
                "removed": result.removed,
                "exact": result.exact_duplicates,
                "near": result.near_duplicates,
                "clusters": len(result.clusters),
                "removed_fraction": result.removed_fraction,
            }
        )
    return pd.DataFrame(rows)


def _default_processes(rows: int) -> int:
    return 2 if rows >= _PARALLEL_FROM_ROWS and (os.cpu_count() or 1) >= 2 else 1


def _build_graph(
    frame: pd.DataFrame,
    config: DedupConfig,
    threshold: float,
    *,
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
    processes: int | None,
) -> DuplicateGraph:
    params = config.engine_params(threshold)
    workers = processes if processes is not None else _default_processes(len(frame))
    out = _minhash.run_batches(
        lambda start, stop: _scope_columns(frame.iloc[start:stop], config),
        len(frame),
        params,
        processes=workers,
        batch_size=_BATCH_SIZE,
        progress=progress,
        cancel=cancel,
    )
    ids = [str(i) for i in frame["id"]] if "id" in frame.columns else [str(i) for i in range(len(frame))]
    return graph_of(out, ids, threshold, threads=workers)


def graph_of(out: _minhash.BatchOutput, ids: list[str], threshold: float, *, threads: int) -> DuplicateGraph:
    """Return the graph of the engine's output for rows ``ids`` (exact groups, verified near pairs)."""
    exact_group, representatives = _exact_groups(out.exact_keys, out.empty)
    left, right, jaccard, candidates = _near_pairs(out, representatives, threshold, threads)
    return DuplicateGraph(
        floor=threshold,
        rows=len(ids),
        ids=ids,
        exact_group=exact_group,
        near_left=left,
        near_right=right,
        near_jaccard=jaccard,
        empty_rows=int(out.empty.sum()),
        capped_rows=int(out.capped.sum()),
        char_ngram_rows=int(out.char_mode.sum()),
        candidate_pairs=candidates,
    )


def _exact_groups(keys: np.ndarray, empty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's exact group label (-1 if empty) and the first row of each group."""
    group = np.full(len(keys), -1, dtype=np.int64)
    present = np.flatnonzero(~empty)
    _, first, inverse = np.unique(keys[present], return_index=True, return_inverse=True)
    group[present] = inverse
    return group, np.sort(present[first])


def _near_pairs(
    out: _minhash.BatchOutput, representatives: np.ndarray, threshold: float, threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Return verified near pairs among exact-group representatives: left, right, jaccard, #candidates."""
    candidates = _minhash.candidate_pairs(out.band_keys[representatives], threads=threads)
    left, right = representatives[candidates[:, 0]], representatives[candidates[:, 1]]
    jaccard = _minhash.verify_pairs(out.shingles, out.counts, left, right, threads=threads)
    keep = jaccard >= threshold - 1e-12
    return left[keep], right[keep], jaccard[keep], len(candidates)


def _result_at(graph: DuplicateGraph, config: DedupConfig, threshold: float) -> DedupResult:
    keep = graph.near_jaccard >= threshold - 1e-12
    left, right, jaccard = graph.near_left[keep], graph.near_right[keep], graph.near_jaccard[keep]
    labels = _components(graph, left, right)
    clusters = _make_clusters(graph, labels, left, right, jaccard)
    exact = int(sum(np.bincount(graph.exact_group[graph.exact_group >= 0]).clip(min=1) - 1))
    removed = sum(c.size - 1 for c in clusters)
    return DedupResult(
        config=config,
        rows=graph.rows,
        clusters=clusters,
        exact_duplicates=exact,
        near_duplicates=removed - exact,
        empty_rows=graph.empty_rows,
        capped_rows=graph.capped_rows,
        char_ngram_rows=graph.char_ngram_rows,
        candidate_pairs=graph.candidate_pairs,
        verified_pairs=int(keep.sum()),
        notes=_notes(graph, config),
    )


def _notes(graph: DuplicateGraph, config: DedupConfig) -> tuple[str, ...]:
    notes = []
    if graph.capped_rows:
        notes.append(
            f"{graph.capped_rows} long example(s) were compared on their first {config.max_shingles} shingles"
        )
    if graph.empty_rows:
        notes.append(f"{graph.empty_rows} example(s) have no text in scope {config.scope!r} and were skipped")
    return tuple(notes)


def _components(graph: DuplicateGraph, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Union-find over exact groups and near pairs: a component label per row."""
    n = graph.rows
    present = np.flatnonzero(graph.exact_group >= 0)
    group_node = n + graph.exact_group[present]  # each exact group is a node joined to its rows
    sources = np.concatenate([present, left])
    targets = np.concatenate([group_node, right])
    size = n + (int(graph.exact_group.max()) + 1 if len(present) else 0)
    adjacency = coo_matrix((np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(size, size))
    _, labels = connected_components(adjacency, directed=False)
    return labels[:n]


def _make_clusters(
    graph: DuplicateGraph, labels: np.ndarray, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray
) -> tuple[Cluster, ...]:
    counts = np.bincount(labels)
    rows = np.flatnonzero(counts[labels] >= 2)
    best = _best_similarity(graph, left, right, jaccard)
    weakest = np.ones(len(counts))
    np.minimum.at(weakest, labels[left], jaccard)
    order = np.lexsort((rows, labels[rows]))
    rows = rows[order]
    if len(rows) == 0:
        return ()
    splits = np.flatnonzero(np.diff(labels[rows])) + 1
    groups = np.split(rows, splits)
    near_label = np.zeros(len(counts), dtype=bool)
    near_label[labels[left]] = True
    groups.sort(key=lambda g: (-len(g), int(g[0])))
    return tuple(
        Cluster(
            cluster_id=k,
            members=tuple(int(r) for r in g),
            ids=tuple(graph.ids[r] for r in g),
            kind="near" if near_label[labels[g[0]]] else "exact",
            min_jaccard=float(weakest[labels[g[0]]]),
            similarity=tuple(float(best[r]) for r in g),
        )
        for k, g in enumerate(groups)
    )


def _best_similarity(
    graph: DuplicateGraph, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray
) -> np.ndarray:
    """Per row: 1.0 if it has an exact twin, else its best verified near Jaccard (0 if none)."""
    best = np.zeros(graph.rows)
    groups = graph.exact_group
    sizes = np.bincount(groups[groups >= 0]) if (groups >= 0).any() else np.zeros(0, dtype=np.int64)
    twin = np.zeros(graph.rows, dtype=bool)
    twin[groups >= 0] = sizes[groups[groups >= 0]] >= 2
    best[twin] = 1.0
    near = np.zeros(graph.rows)
    np.maximum.at(near, left, jaccard)
    np.maximum.at(near, right, jaccard)
    # exact twins of a representative share its near links
    present = groups >= 0
    group_best = np.zeros(int(groups.max()) + 1 if present.any() else 0)
    np.maximum.at(group_best, groups[present], near[present])
    near[present] = group_best[groups[present]]
    return np.maximum(best, near)
