"""Candidate pairs from shared band keys and their verification by the true Jaccard of the shingle sets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

# -- candidates, verification, components ---------------------------------------------------------

_ALL_PAIRS_UP_TO = 16  # buckets up to this size pair everyone; bigger ones pair first + neighbours


def candidate_pairs(band_keys: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Return unique candidate pairs ``(i, j)``, ``i < j``, of rows sharing a band key, shape (m, 2).

    ``threads`` > 1 sorts bands in parallel threads (numpy releases the GIL while sorting).
    """
    n = len(band_keys)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)

    def band_pairs(band: int) -> np.ndarray:
        return bucket_pairs(np.ascontiguousarray(band_keys[:, band]))

    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(band_pairs, range(band_keys.shape[1])))
    else:
        found = [band_pairs(band) for band in range(band_keys.shape[1])]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    if len(pairs) == 0:
        return pairs
    codes = sorted_unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values (``np.unique`` hashes, which is slower for big integer arrays)."""
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def bucket_pairs(keys: np.ndarray) -> np.ndarray:
    """Return pairs ``(i, j)``, ``i < j``, of positions sharing a key (big buckets: first + neighbours)."""
    if len(keys) < 2:  # no pair (and the masks below assume two keys or more)
        return np.zeros((0, 2), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    in_run = np.concatenate([[False], same]) | np.concatenate([same, [False]])
    members = order[in_run]
    if members.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    run_keys = ordered[in_run]
    new_run = np.concatenate([[True], run_keys[1:] != run_keys[:-1]])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(members)), 0))
    position = np.arange(len(members))
    run_id = np.cumsum(new_run) - 1
    run_size = np.bincount(run_id)[run_id]
    pieces = [np.stack([members[run_start], members], axis=1)[position > run_start]]
    for offset in range(1, _ALL_PAIRS_UP_TO):
        later = position[offset:]
        partner = later - offset
        ok = (partner > run_start[later]) & ((offset == 1) | (run_size[later] <= _ALL_PAIRS_UP_TO))
        pieces.append(np.stack([members[partner[ok]], members[later[ok]]], axis=1))
    pairs = np.concatenate(pieces)
    return np.sort(pairs, axis=1)


def unique_sets(
    shingles: np.ndarray, counts: np.ndarray, rows: np.ndarray, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sorted distinct shingles of ``rows``: values, start and size per row (in ``rows`` order).

    ``offsets``: where each row's shingles start (``[0, *cumsum(counts)]``), when already at hand.
    """
    offsets = np.concatenate([[0], np.cumsum(counts)]) if offsets is None else offsets
    sizes = counts[rows]
    gather = _ragged_index(offsets[rows], sizes)
    owner = np.repeat(np.arange(len(rows), dtype=np.uint64), sizes)
    keys = sorted_unique((owner << np.uint64(32)) | shingles[gather].astype(np.uint64))
    owner_of_key = (keys >> np.uint64(32)).astype(np.int64)
    distinct = np.bincount(owner_of_key, minlength=len(rows))
    starts = np.concatenate([[0], np.cumsum(distinct)[:-1]])
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), starts, distinct


def _ragged_index(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Return ``concatenate([arange(s, s + k) for s, k in zip(starts, sizes)])`` without a loop."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return np.arange(total, dtype=np.int64) + shift


def pair_jaccard(
    values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Return the true Jaccard of each pair of sets (``left[k]``, ``right[k]`` index the set arrays)."""
    result = np.zeros(len(left), dtype=np.float64)
    step = 50_000
    for begin in range(0, len(left), step):
        a, b = left[begin : begin + step], right[begin : begin + step]
        tag = np.arange(len(a), dtype=np.uint64) << np.uint64(32)
        keys_a = np.repeat(tag, sizes[a]) | values[_ragged_index(starts[a], sizes[a])].astype(np.uint64)
        keys_b = np.repeat(tag, sizes[b]) | values[_ragged_index(starts[b], sizes[b])].astype(np.uint64)
        where = np.minimum(np.searchsorted(keys_b, keys_a), max(len(keys_b) - 1, 0))
        hit = keys_b[where] == keys_a if len(keys_b) else np.zeros(len(keys_a), bool)
        shared = np.bincount(np.repeat(np.arange(len(a)), sizes[a])[hit], minlength=len(a))
        union = sizes[a] + sizes[b] - shared
        result[begin : begin + step] = np.where(union > 0, shared / np.maximum(union, 1), 0.0)
    return result


def verify_pairs(
    shingles: np.ndarray, counts: np.ndarray, left: np.ndarray, right: np.ndarray, *, threads: int = 1
) -> np.ndarray:
    """Return the true Jaccard of the shingle sets of rows ``left[k]`` and ``right[k]``.

    ``threads`` > 1 splits the pairs between threads (numpy releases the GIL in the heavy parts).
    """
    if len(left) == 0:
        return np.zeros(0)
    # chunks of pairs bound the memory of the gathered sets; threads take chunks in turn
    chunks = [slice(k, k + _PAIRS_PER_CHUNK) for k in range(0, len(left), _PAIRS_PER_CHUNK)]

    offsets = np.concatenate([[0], np.cumsum(counts)])

    def verify(part: slice) -> np.ndarray:
        return _verify_chunk(shingles, counts, offsets, left[part], right[part])

    if threads <= 1 or len(chunks) == 1:
        return np.concatenate([verify(part) for part in chunks])
    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(verify, chunks)))


_PAIRS_PER_CHUNK = 2048  # a chunk gathers the shingles of its rows: ~25 MB for 4,000 rows


def _verify_chunk(
    shingles: np.ndarray, counts: np.ndarray, offsets: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    if len(left) == 0:
        return np.zeros(0)
    involved, local = np.unique(np.concatenate([left, right]), return_inverse=True)
    values, starts, sizes = unique_sets(shingles, counts, involved, offsets)
    return pair_jaccard(values, starts, sizes, local[: len(left)], local[len(left) :])
