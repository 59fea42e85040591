"""Nearest neighbours by cosine: every pair of unit vectors at or above a threshold.

Chosen by measurement (README, "Semantic duplicates"): on this project's 2-core machines an exact
blocked product in numpy beat faiss's flat range search and usearch's HNSW at 20,000 rows of 128-256
dimensions, and it is exact. Past :data:`EXACT_UP_TO` rows the quadratic product gets slow, so rows
are first grouped by a seeded k-means (an inverted file, as in faiss's IVF): each row is compared
with the rows of its :data:`PROBES` nearest groups only. Rows that close to each other (cosine >= 0.8)
share a nearest group almost always; bench/semantic.py measures the recall against the exact pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EXACT_UP_TO = 30_000
"""Up to this many rows every pair is compared (exact)."""
PROBES = 4
_BLOCK = 2048
_KMEANS_SAMPLE = 20_000
_KMEANS_ROUNDS = 8

Progress = Callable[[int, int], None]
Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def similar_pairs(
    vectors: np.ndarray, cosine: float, *, seed: int = 0, progress: Progress | None = None
) -> Pairs:
    """Return ``(left, right, cosine)`` for every pair of rows with ``left < right`` at or above ``cosine``.

    Rows of zeros (no text) pair with nothing. Above :data:`EXACT_UP_TO` rows the search is the
    inverted file described in the module docstring (seeded: the same input gives the same pairs).
    """
    _check(cosine)
    rows = np.flatnonzero(np.any(vectors != 0, axis=1))
    x = np.ascontiguousarray(vectors[rows], dtype=np.float32)
    if len(x) <= EXACT_UP_TO:
        left, right, cos = _exact_self(x, cosine, progress)
    else:
        left, right, cos = _inverted_self(x, cosine, seed, progress)
    return rows[left], rows[right], cos


def cross_pairs(
    queries: np.ndarray, base: np.ndarray, cosine: float, *, progress: Progress | None = None
) -> Pairs:
    """Return ``(query row, base row, cosine)`` for every pair at or above ``cosine`` (exact, blocked)."""
    _check(cosine)
    q_rows = np.flatnonzero(np.any(queries != 0, axis=1))
    b_rows = np.flatnonzero(np.any(base != 0, axis=1))
    q = np.ascontiguousarray(queries[q_rows], dtype=np.float32)
    b = np.ascontiguousarray(base[b_rows], dtype=np.float32)
    lefts, rights, sims = [], [], []
    for start in range(0, len(q), _BLOCK):
        block = q[start : start + _BLOCK] @ b.T
        i, j = np.nonzero(block >= cosine - 1e-6)
        lefts.append(i + start)
        rights.append(j)
        sims.append(block[i, j])
        if progress is not None:
            progress(min(start + _BLOCK, len(q)), len(q))
    left, right, cos = _concat(lefts, rights, sims)
    return q_rows[left], b_rows[right], cos


def nearest(queries: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per query row, the nearest base row and its cosine (-1 and 0.0 when base is empty)."""
    best = np.full(len(queries), -1, dtype=np.int64)
    best_cos = np.zeros(len(queries), dtype=np.float32)
    if len(base) == 0:
        return best, best_cos
    for start in range(0, len(queries), _BLOCK):
        block = queries[start : start + _BLOCK] @ base.T
        best[start : start + len(block)] = block.argmax(axis=1)
        best_cos[start : start + len(block)] = block.max(axis=1)
    return best, best_cos


def nearest_other(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per row, the nearest other row of the same set and its cosine (-1 and 0.0 when alone).

    Rows of zeros (no text) have no neighbour and are nobody's (-1, 0.0).
    """
    present = np.any(vectors != 0, axis=1)
    rows = np.flatnonzero(present)
    best = np.full(len(vectors), -1, dtype=np.int64)
    best_cos = np.zeros(len(vectors), dtype=np.float32)
    if len(rows) < 2:
        return best, best_cos
    x = np.ascontiguousarray(vectors[rows], dtype=np.float32)
    for start in range(0, len(x), _BLOCK):
        block = x[start : start + _BLOCK] @ x.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf  # not itself
        best[rows[start : start + len(block)]] = rows[block.argmax(axis=1)]
        best_cos[rows[start : start + len(block)]] = block.max(axis=1)
    return best, best_cos


def _check(cosine: float) -> None:
    if not -1.0 <= cosine <= 1.0:
        raise ValueError(f"cosine threshold must be in [-1, 1], got {cosine!r}")


def _exact_self(x: np.ndarray, cosine: float, progress: Progress | None) -> Pairs:
    lefts, rights, sims = [], [], []
    for start in range(0, len(x), _BLOCK):
        block = x[start : start + _BLOCK] @ x[start:].T
        i, j = np.nonzero(np.triu(block >= cosine - 1e-6, k=1))
        lefts.append(i + start)
        rights.append(j + start)
        sims.append(block[i, j])
        if progress is not None:
            progress(min(start + _BLOCK, len(x)), len(x))
    return _concat(lefts, rights, sims)


def _inverted_self(x: np.ndarray, cosine: float, seed: int, progress: Progress | None) -> Pairs:
    centroids = _kmeans(x, int(np.sqrt(len(x))), seed=seed)
    probes = _top_groups(x, centroids, PROBES)
    home = probes[:, 0]
    members = np.argsort(home, kind="stable")
    bounds = np.searchsorted(home[members], np.arange(len(centroids) + 1))
    query_group = probes.ravel()
    query_row = np.repeat(np.arange(len(x)), PROBES)
    order = np.argsort(query_group, kind="stable")
    query_bounds = np.searchsorted(query_group[order], np.arange(len(centroids) + 1))
    lefts, rights, sims = [], [], []
    for g in range(len(centroids)):
        group = members[bounds[g] : bounds[g + 1]]
        asking = query_row[order[query_bounds[g] : query_bounds[g + 1]]]
        if len(group) == 0 or len(asking) == 0:
            continue
        block = x[asking] @ x[group].T
        i, j = np.nonzero(block >= cosine - 1e-6)
        a, b = asking[i], group[j]
        keep = a != b  # a pair is found from either row's probes: normalised, then made unique
        lefts.append(np.minimum(a, b)[keep])
        rights.append(np.maximum(a, b)[keep])
        sims.append(block[i, j][keep])
        if progress is not None:
            progress(int(query_bounds[g + 1]), len(query_row))
    left, right, cos = _concat(lefts, rights, sims)
    return _unique_pairs(left, right, cos, len(x))


def _unique_pairs(left: np.ndarray, right: np.ndarray, cos: np.ndarray, n: int) -> Pairs:
    """Drop the pairs found twice (once from each row's probes), in (left, right) order."""
    key = left * n + right
    _, first = np.unique(key, return_index=True)
    return left[first], right[first], cos[first]


def _kmeans(x: np.ndarray, k: int, *, seed: int) -> np.ndarray:
    """Spherical k-means on a seeded sample: unit centroids that spread the rows over ``k`` groups."""
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(len(x), _KMEANS_SAMPLE), replace=False)]
    centroids = sample[rng.choice(len(sample), size=k, replace=False)].copy()
    for _ in range(_KMEANS_ROUNDS):
        assign = (sample @ centroids.T).argmax(axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = np.where(empty[:, None], centroids, sums / np.where(norms == 0, 1, norms))
    return centroids


def _top_groups(x: np.ndarray, centroids: np.ndarray, probes: int) -> np.ndarray:
    """Per row, its ``probes`` nearest centroids, nearest first."""
    out = np.empty((len(x), probes), dtype=np.int64)
    for start in range(0, len(x), _BLOCK):
        sims = x[start : start + _BLOCK] @ centroids.T
        top = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
        ranked = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + len(sims)] = np.take_along_axis(top, ranked, axis=1)
    return out


def _concat(lefts: list[np.ndarray], rights: list[np.ndarray], sims: list[np.ndarray]) -> Pairs:
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float32)
    return (
        np.concatenate(lefts).astype(np.int64),
        np.concatenate(rights).astype(np.int64),
        np.concatenate(sims).astype(np.float32),
    )
