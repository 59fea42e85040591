"""Exact and near-duplicate detection, clusters, keep policies, removal with an audit trail.

Exact duplicates share the hash of their normalised text (NFKC, case-folded, whitespace
collapsed; each step optional). Near duplicates are found by MinHash + LSH over word
n-gram shingles (character n-grams for texts in scripts written without spaces), with
bands chosen so that a pair *at* the threshold is a candidate with probability >= 0.999;
every candidate pair is then verified by the true Jaccard of its shingle sets, and
clusters are the connected components of the verified pairs (union-find). Shingles and
Jaccard are those of :mod:`core.similarity`; the batch path is its vectorised kernel
(:mod:`core._minhash`: one-permutation MinHash with densification, seeded hashes) and runs in
two worker processes for big inputs.

Example::

    result = find_duplicates(frame, DedupConfig(threshold=0.8))
    kept, audit = apply_dedup(frame, result, policy="longest")
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import _minhash, similarity
from core.workspace import Workspace

Cancelled = _minhash.Cancelled
SCOPE_PARTS = ("prompt", "response", "chosen", "rejected")
SCOPES = (
    "all",
    "prompt",
    "response",
    "chosen",
    "rejected",
    "prompt+response",
    "prompt+chosen",
    "prompt+rejected",
)
KEEP_POLICIES = ("first", "longest", "shortest", "newest", "prefer_real", "prefer_valid")
_PART_COLUMNS = {
    "prompt": "prompt_text",
    "response": "response_text",
    "chosen": "response_text",
    "rejected": "rejected_text",
}
_BATCH_SIZE = 8192
_PARALLEL_FROM_ROWS = 40_000
_AUDIT_COLUMNS = ("dedup_cluster", "dedup_kept_id", "dedup_similarity", "dedup_match")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_audit (
    audit_key INTEGER PRIMARY KEY AUTOINCREMENT,
    from_version INTEGER,
    to_version INTEGER,
    removed_id TEXT,
    cluster_id INTEGER,
    kept_id TEXT,
    similarity REAL,
    match TEXT,
    row_json TEXT NOT NULL,
    restored_version INTEGER
);
"""


@dataclass(frozen=True)
class DedupConfig:
    """What counts as a duplicate.

    Attributes:
        threshold: Jaccard similarity of shingle sets at or above which two texts are near
            duplicates (the page's slider offers 0.5-0.95; the core accepts (0, 1]).
        scope: Which text is compared: ``all`` (prompt, response and a rejected side),
            ``prompt`` (user turns), ``response`` (assistant turns; for preference data the
            chosen side, also called ``chosen``), ``rejected``, or parts joined by ``+``.
        include_system: Also compare the system prompt (off: a shared system prompt makes
            everything look alike).
        shingle_size: Words per shingle for space-separated scripts.
        char_shingle_size: Characters per shingle for Chinese, Japanese, Thai and the like.
        nfkc: Apply Unicode NFKC normalisation.
        casefold: Ignore case.
        collapse_whitespace: Treat any run of whitespace as one space (exact duplicates).
        num_perm: MinHash bins (a power of two, 16-1024).
        max_shingles: Shingles kept per example; longer texts are capped (and reported).
        seed: Seed of every hash function.
    """

    threshold: float = 0.8
    scope: str = "all"
    include_system: bool = False
    shingle_size: int = 5
    char_shingle_size: int = 3
    nfkc: bool = True
    casefold: bool = True
    collapse_whitespace: bool = True
    num_perm: int = 128
    max_shingles: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        scope_parts(self.scope)
        if not 1 <= self.shingle_size <= 16:
            raise ValueError(f"shingle_size must be 1-16 words, got {self.shingle_size!r}")
        if not 1 <= self.char_shingle_size <= 16:
            raise ValueError(f"char_shingle_size must be 1-16 characters, got {self.char_shingle_size!r}")
        if self.num_perm not in {2**k for k in range(4, 11)}:
            raise ValueError(f"num_perm must be a power of two from 16 to 1024, got {self.num_perm!r}")
        if self.max_shingles < 1:
            raise ValueError(f"max_shingles must be positive, got {self.max_shingles!r}")

    def engine_params(self, threshold: float | None = None) -> _minhash.EngineParams:
        """Return the engine parameters (bands for ``threshold``, default this config's)."""
        return similarity.engine_params(
            threshold or self.threshold,
            shingle_size=self.shingle_size,
            char_shingle_size=self.char_shingle_size,
            nfkc=self.nfkc,
            casefold=self.casefold,
            collapse_whitespace=self.collapse_whitespace,
            max_shingles=self.max_shingles,
            num_perm=self.num_perm,
            seed=self.seed,
        )


@dataclass(frozen=True)
class Cluster:
    """One group of duplicates.

    Attributes:
        cluster_id: Stable within one result (0 = the largest cluster).
        members: Row positions in the input frame, ascending.
        ids: The members' ``id`` values (exact copies of one example share an id).
        kind: ``exact`` if every member has the same normalised text, else ``near``.
        min_jaccard: The weakest verified link that joined the cluster (1.0 for exact).
        similarity: Per member, its best verified Jaccard to another member.
    """

    cluster_id: int
    members: tuple[int, ...]
    ids: tuple[str, ...]
    kind: str
    min_jaccard: float
    similarity: tuple[float, ...]

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.members)


@dataclass(frozen=True)
class DedupResult:
    """What :func:`find_duplicates` found.

    Attributes:
        config: The configuration used.
        rows: Rows in the input.
        clusters: Duplicate clusters, largest first.
        exact_duplicates: Rows that would go because their normalised text repeats.
        near_duplicates: Further rows that would go as near duplicates.
        empty_rows: Rows with no text in scope (never duplicates of anything).
        capped_rows: Rows whose shingles were capped at ``config.max_shingles``.
        char_ngram_rows: Rows shingled by characters (CJK, Thai, ...).
        candidate_pairs: Pairs the LSH proposed.
        verified_pairs: Candidate pairs whose true Jaccard reached the threshold.
    """

    config: DedupConfig
    rows: int
    clusters: tuple[Cluster, ...]
    exact_duplicates: int
    near_duplicates: int
    empty_rows: int = 0
    capped_rows: int = 0
    char_ngram_rows: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def removed(self) -> int:
        """Rows that would be removed (one member of each cluster stays)."""
        return self.exact_duplicates + self.near_duplicates

    @property
    def removed_fraction(self) -> float:
        """Share of rows that would be removed."""
        return self.removed / self.rows if self.rows else 0.0


# -- scope -----------------------------------------------------------------------------------------


def scope_parts(scope: str) -> tuple[str, ...]:
    """Return the text parts a scope compares (``all`` = prompt, response and rejected side).

    Raises:
        ValueError: If ``scope`` names an unknown part.
    """
    if scope == "all":
        return ("prompt", "response", "rejected")
    parts = tuple(p.strip() for p in scope.split("+"))
    unknown = [p for p in parts if p not in SCOPE_PARTS]
    if unknown or not parts:
        raise ValueError(f"scope must be 'all' or parts of {SCOPE_PARTS} joined by '+', got {scope!r}")
    return parts


def scope_texts(frame: pd.DataFrame, config: DedupConfig) -> list[str]:
    """Return, per row, the text that is compared under ``config.scope``."""
    return _minhash.join_parts(_scope_columns(frame, config))


def _scope_columns(frame: pd.DataFrame, config: DedupConfig) -> list[list[Any]]:
    """Return the text columns in scope as lists (missing columns as empty strings)."""
    columns = list(dict.fromkeys(_PART_COLUMNS[p] for p in scope_parts(config.scope)))
    if config.include_system:
        columns.insert(0, "system_text")
    return [frame[c].tolist() if c in frame.columns else [""] * len(frame) for c in columns]


# -- finding duplicates ------------------------------------------------------------------------------


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


def find_duplicates(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    processes: int | None = None,
) -> DedupResult:
    """Find exact and near-duplicate clusters in a canonical table.

    Args:
        frame: A canonical table (see :mod:`core.records`).
        config: What counts as a duplicate (default :class:`DedupConfig`).
        progress: Called with the finished fraction (0-1) while texts are processed.
        cancel: Polled between batches; returning True stops the run.
        processes: Worker processes (default: 2 for big inputs on a multi-core machine, else 1).

    Returns:
        The clusters and counts.

    Raises:
        Cancelled: If ``cancel()`` returned True.
    """
    config = config or DedupConfig()
    graph = duplicate_graph(frame, config, progress=progress, cancel=cancel, processes=processes)
    return result_at(graph, config)


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


def duplicate_pairs(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    *,
    floor: float | None = None,
    processes: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> PairSet:
    """Return the exact groups and the near pairs down to ``floor`` (default: the config's threshold).

    One engine run serves every threshold from ``floor`` up: bands are chosen for the floor,
    so a pair at any higher threshold is a candidate with at least the same probability.
    """
    return duplicate_graph(frame, config, floor=floor, processes=processes, progress=progress).pairs()


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


# -- keep policies and removal -------------------------------------------------------------------------


def choose_keepers(
    frame: pd.DataFrame,
    result: DedupResult,
    policy: str = "first",
    manual: dict[int, str | int] | None = None,
) -> dict[int, int]:
    """Return, per cluster id, the row position that stays.

    Args:
        frame: The table the result was computed on.
        result: Output of :func:`find_duplicates` on ``frame``.
        policy: ``first`` (earliest row), ``longest`` / ``shortest`` (text in scope),
            ``newest`` (latest ``created_at``), ``prefer_real`` (``source`` real or unset over
            synthetic / eval), ``prefer_valid`` (rows with a prompt and a response, and not
            flagged invalid by a ``valid`` column, over the rest). Ties go to the earliest row.
        manual: Per cluster id, the member to keep (its id, or its row position), overriding the policy.

    Returns:
        ``{cluster_id: row position}``.

    Raises:
        ValueError: If ``policy`` is unknown or a manual pick is not a member of its cluster.
    """
    table = keep_table(frame, result.config, policy)
    return keepers_of(table, frame["id"].tolist(), result, policy, manual)


def keep_table(frame: pd.DataFrame, config: DedupConfig, policy: str) -> pd.DataFrame:
    """Return, per row, the facts ``policy`` compares (one column at most; none for ``first``).

    Tables of consecutive parts of a dataset concatenate into the table of the whole, so a
    dataset read in batches keeps only these facts.

    Raises:
        ValueError: If ``policy`` is unknown.
    """
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy must be one of {KEEP_POLICIES}, got {policy!r}")
    index = pd.RangeIndex(len(frame))
    if policy in ("longest", "shortest"):
        lengths = [len(t) for t in scope_texts(frame, config)]
        return pd.DataFrame({"length": lengths}, index=index, dtype=float)
    if policy == "newest":
        return pd.DataFrame({"created_at": _column(frame, "created_at").to_numpy(dtype=object)}, index=index)
    if policy == "prefer_real":
        return pd.DataFrame({"source": _column(frame, "source").to_numpy(dtype=object)}, index=index)
    if policy == "prefer_valid":
        return pd.DataFrame({"valid_row": _valid_rows(frame)}, index=index, dtype=bool)
    return pd.DataFrame(index=index)


def keepers_of(
    table: pd.DataFrame,
    ids: Sequence[str],
    result: DedupResult,
    policy: str,
    manual: dict[int, str | int] | None = None,
) -> dict[int, int]:
    """:func:`choose_keepers` from a :func:`keep_table` and the rows' ids."""
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy must be one of {KEEP_POLICIES}, got {policy!r}")
    preference = _preference(table, policy)
    keepers = {c.cluster_id: min(c.members, key=lambda r: (preference[r], r)) for c in result.clusters}
    for cluster_id, pick in (manual or {}).items():
        keepers[cluster_id] = _manual_pick(ids, result, cluster_id, pick)
    return keepers


def _preference(table: pd.DataFrame, policy: str) -> np.ndarray:
    """Per row, a sort key where smaller means 'keep this one'."""
    if policy in ("longest", "shortest"):
        lengths = table["length"].to_numpy(dtype=float)
        return -lengths if policy == "longest" else lengths
    if policy == "newest":
        created = pd.to_datetime(table["created_at"], errors="coerce", utc=True, format="mixed")
        stamps = created.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        return np.where(created.isna().to_numpy(), np.inf, -stamps)
    if policy == "prefer_real":
        return np.array([0.0 if _missing(s) or s == "real" else 1.0 for s in table["source"]])
    if policy == "prefer_valid":
        return np.where(table["valid_row"].to_numpy(dtype=bool), 0.0, 1.0)
    return np.zeros(len(table))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _valid_rows(frame: pd.DataFrame) -> list[bool]:
    """A row is valid if it has a prompt and a response and no ``valid`` column says otherwise."""
    prompts = _column(frame, "prompt_text").tolist()
    responses = _column(frame, "response_text").tolist()
    flags = _column(frame, "valid").tolist()
    return [
        bool(isinstance(p, str) and p.strip() and isinstance(r, str) and r.strip()) and flag is not False
        for p, r, flag in zip(prompts, responses, flags, strict=True)
    ]


def _manual_pick(ids: Sequence[str], result: DedupResult, cluster_id: int, pick: str | int) -> int:
    cluster = next((c for c in result.clusters if c.cluster_id == cluster_id), None)
    if cluster is None:
        raise ValueError(f"no cluster {cluster_id!r} in this result")
    if isinstance(pick, (int, np.integer)) and int(pick) in cluster.members:
        return int(pick)
    for member in cluster.members:
        if ids[member] == pick:
            return member
    raise ValueError(f"{pick!r} is not a member of cluster {cluster_id}")


def apply_dedup(
    frame: pd.DataFrame,
    result: DedupResult,
    *,
    policy: str = "first",
    manual: dict[int, str | int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove all but one member of each cluster.

    Returns:
        ``(kept, audit)``: the remaining rows (original order, fresh index), and the removed
        rows themselves with ``dedup_cluster``, ``dedup_kept_id``, ``dedup_similarity`` (best
        verified Jaccard to another member) and ``dedup_match`` (``exact`` / ``near``) added,
        so that :func:`restore` can put them back.
    """
    keepers = choose_keepers(frame, result, policy, manual)
    ids = frame["id"].tolist()
    removed, audit_rows = [], []
    for cluster in result.clusters:
        keeper = keepers[cluster.cluster_id]
        for member, best in zip(cluster.members, cluster.similarity, strict=True):
            if member != keeper:
                removed.append(member)
                audit_rows.append((cluster.cluster_id, ids[keeper], best, cluster.kind))
    order = np.argsort(removed, kind="stable")
    removed_sorted = [removed[i] for i in order]
    audit = frame.iloc[removed_sorted].copy()
    for k, column in enumerate(_AUDIT_COLUMNS):
        audit[column] = [audit_rows[i][k] for i in order]
    mask = np.ones(len(frame), dtype=bool)
    mask[removed_sorted] = False
    return frame.iloc[np.flatnonzero(mask)].reset_index(drop=True), audit.reset_index(drop=True)


def restore(
    frame: pd.DataFrame, audit: pd.DataFrame, ids: Iterable[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put removed rows back (appended at the end).

    Args:
        frame: The current (deduplicated) table.
        audit: The audit of :func:`apply_dedup` (or :func:`load_audit`).
        ids: Ids of the removed rows to restore.

    Returns:
        ``(restored frame, audit rows still removed)``.
    """
    back = audit["id"].isin(set(ids)).to_numpy()
    rows = audit.loc[back, [c for c in frame.columns if c in audit.columns]]
    restored = pd.concat([frame, rows], ignore_index=True) if len(rows) else frame.copy()
    return restored, audit.loc[~back].reset_index(drop=True)


# -- explaining a cluster -------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|[^\s]+")


def diff_words(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Return both texts as ``(token, differs)`` runs: words of one that the other lacks are marked.

    Texts in scripts without spaces are compared character by character. Joining the tokens
    of each side gives back its text exactly.
    """
    split = _chars if similarity.uses_char_ngrams(a + b) else _words
    left, right = split(a), split(b)
    # compare the words only, so that a change of spacing is not a difference
    left_words = [i for i, t in enumerate(left) if not t.isspace()]
    right_words = [i for i, t in enumerate(right) if not t.isspace()]
    matcher = difflib.SequenceMatcher(
        a=[left[i] for i in left_words], b=[right[i] for i in right_words], autojunk=False
    )
    marks_a, marks_b = [False] * len(left), [False] * len(right)
    for i in left_words:
        marks_a[i] = True
    for i in right_words:
        marks_b[i] = True
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            marks_a[left_words[block.a + k]] = False
            marks_b[right_words[block.b + k]] = False
    return _runs(left, marks_a), _runs(right, marks_b)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def from_first_difference(runs: list[tuple[str, bool]], *, context: int = 12) -> list[tuple[str, bool]]:
    """The runs from ``context`` words before the first differing one (an ellipsis says what was cut).

    Two near duplicates usually start alike: shown from the top, the difference is below the fold.
    """
    first = next((i for i, (text, differs) in enumerate(runs) if differs and text.strip()), None)
    if first is None:
        return runs
    before = "".join(text for text, _ in runs[:first])
    tokens = _TOKEN.findall(before)
    words = [k for k, token in enumerate(tokens) if not token.isspace()]
    if len(words) <= context:
        return runs
    kept = "".join(tokens[words[-context] :])
    skipped = len(before) - len(kept)
    return [(f"… ({skipped:,} identical characters) ", False), (kept, False), *runs[first:]]


def differing_parts(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Only the lines (turns, paragraphs) that hold a difference, ``…`` where others were left out."""
    lines: list[list[tuple[str, bool]]] = [[]]
    for text, differs in runs:
        pieces = text.split("\n")
        for k, piece in enumerate(pieces):
            if k:
                lines.append([])
            if piece:
                lines[-1].append((piece, differs))
    out: list[tuple[str, bool]] = []
    for line in lines:
        if any(differs and text.strip() for text, differs in line):
            out += [*line, ("\n", False)]
        elif not out or out[-1][0] != "…\n":
            out.append(("…\n", False))
    return out


def _chars(text: str) -> list[str]:
    return list(text)


def _runs(tokens: list[str], marks: list[bool]) -> list[tuple[str, bool]]:
    """Merge neighbouring tokens with the same mark (whitespace never counts as a difference)."""
    runs: list[tuple[str, bool]] = []
    for token, mark in zip(tokens, marks, strict=True):
        mark = mark and not token.isspace()
        if runs and runs[-1][1] == mark:
            runs[-1] = (runs[-1][0] + token, runs[-1][1])
        else:
            runs.append((token, mark))
    return runs


def pairwise_jaccard(frame: pd.DataFrame, positions: Sequence[int], config: DedupConfig) -> np.ndarray:
    """Return the true Jaccard matrix of a few rows (by position), computed the obvious way."""
    texts = scope_texts(frame.iloc[list(positions)], config)
    params = config.engine_params()
    sets = [similarity.shingles(t, params) for t in texts]
    matrix = np.ones((len(sets), len(sets)))
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            matrix[i, j] = matrix[j, i] = similarity.jaccard(sets[i], sets[j])
    return matrix


def result_summary(ids: Sequence[str], result: DedupResult, keepers: dict[int, int]) -> dict[str, Any]:
    """Return the command line's JSON summary of a result on rows with these ``ids``."""
    clusters = [
        {
            "kept": ids[keepers[c.cluster_id]],
            "removed": [ids[m] for m in c.members if m != keepers[c.cluster_id]],
            "min_jaccard": round(c.min_jaccard, 4),
            "kind": c.kind,
        }
        for c in result.clusters
    ]
    return {
        "rows": result.rows,
        "exact_duplicates": result.exact_duplicates,
        "near_duplicates": result.near_duplicates,
        "removed_fraction": round(result.removed_fraction, 6),
        "threshold": result.config.threshold,
        "scope": result.config.scope,
        "notes": list(result.notes),
        "clusters": clusters,
    }


# -- the audit in the workspace ---------------------------------------------------------------------


def save_audit(ws: Workspace, audit: pd.DataFrame, *, from_version: int | None, to_version: int) -> None:
    """Store removed rows (the audit of :func:`apply_dedup`) in the workspace's ``dedup_audit`` table."""
    ws.ensure_schema(_SCHEMA)
    rows = []
    for record in audit.to_dict(orient="records"):
        row = {k: v for k, v in record.items() if k not in _AUDIT_COLUMNS}
        rows.append(
            (
                from_version,
                to_version,
                str(record.get("id")),
                int(record["dedup_cluster"]),
                str(record["dedup_kept_id"]),
                float(record["dedup_similarity"]),
                str(record["dedup_match"]),
                json.dumps(row, ensure_ascii=False, default=_json_default),
            )
        )
    with ws.connect() as connection:
        connection.executemany(
            "INSERT INTO dedup_audit (from_version, to_version, removed_id, cluster_id, kept_id, similarity,"
            " match, row_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def load_audit(ws: Workspace) -> pd.DataFrame:
    """Return every removed row not yet restored, with ``audit_key`` and the ``dedup_*`` columns."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM dedup_audit WHERE restored_version IS NULL ORDER BY audit_key"
        ).fetchall()
    records = []
    for row in rows:
        record = json.loads(row["row_json"])
        record.update(
            audit_key=row["audit_key"],
            dedup_cluster=row["cluster_id"],
            dedup_kept_id=row["kept_id"],
            dedup_similarity=row["similarity"],
            dedup_match=row["match"],
            dedup_version=row["to_version"],
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("source_line", "n_turns"):
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


def mark_restored(ws: Workspace, audit_keys: Iterable[int], *, version: int) -> None:
    """Record that audit rows were put back in dataset ``version``."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        connection.executemany(
            "UPDATE dedup_audit SET restored_version = ? WHERE audit_key = ?",
            [(version, int(k)) for k in audit_keys],
        )


def _json_default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
