"""One batch of texts: shingles -> one-permutation MinHash signatures -> LSH band keys; bands to use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core._minhash.shingles import (
    _GRAM_WEIGHTS,
    _MAX32,
    _U64,
    BatchOutput,
    EngineParams,
    _char_shingles,
    _seed_key,
    _text_key,
    _token_exact_keys,
    _tokenise,
    _word_shingles,
    mix64,
    normalise,
    uses_char_ngrams,
)

# -- signatures and bands ------------------------------------------------------------------------


def _signatures(shingles: np.ndarray, counts: np.ndarray, num_perm: int) -> np.ndarray:
    """One-permutation-hashing signatures with rotation densification, shape (texts, num_perm)."""
    n = len(counts)
    text_of = np.repeat(np.arange(n), counts)
    bins = (((shingles & _U64(0xFFFFFFFF)) * _U64(num_perm)) >> _U64(32)).astype(np.int64)
    values = (shingles >> _U64(32)).astype(np.uint32)
    flat = np.full(n * num_perm, _MAX32, dtype=np.uint32)
    np.minimum.at(flat, text_of * num_perm + bins, values)
    signature = flat.reshape(n, num_perm)
    return _densify(signature, num_perm)


def _densify(signature: np.ndarray, num_perm: int) -> np.ndarray:
    """Fill each empty bin from the next non-empty bin to its right (circular), plus the distance."""
    filled = signature != _MAX32
    if filled.all():
        return signature
    columns = np.arange(num_perm, dtype=np.int16)
    beyond = np.int16(2 * num_perm)
    index = np.where(filled, columns, beyond)
    nearest = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]
    first = index.min(axis=1, keepdims=True)
    wrap = np.where(first == beyond, np.int16(num_perm), first + np.int16(num_perm))  # texts without shingles
    nearest = np.where(nearest == beyond, wrap, nearest)
    distance = (nearest - columns).astype(np.uint32)
    column = np.where(nearest >= num_perm, nearest - np.int16(num_perm), nearest)
    row_start = np.arange(len(signature), dtype=np.int64)[:, None] * num_perm
    source = signature.ravel()[row_start + column]
    return np.where(filled, signature, source + distance * np.uint32(0x9E3779B1))


def _band_keys(signature: np.ndarray, bands: int, rows: int, seed_key: np.uint64) -> np.ndarray:
    used = signature[:, : bands * rows].reshape(len(signature), bands, rows).astype(np.uint64)
    weights = _GRAM_WEIGHTS[np.arange(rows) % 8] + np.arange(rows, dtype=np.uint64) * _U64(2)
    total = (used * weights).sum(axis=2, dtype=np.uint64)
    return mix64(total ^ (np.arange(bands, dtype=np.uint64) * _U64(0x9E3779B97F4A7C15)) ^ seed_key)


# -- one batch -----------------------------------------------------------------------------------


def join_parts(parts: list[list[Any]]) -> list[str]:
    """Join, per row, the non-empty string parts (other values count as empty) with blank lines."""
    if len(parts) == 1:
        return [v if isinstance(v, str) else "" for v in parts[0]]
    return ["\n\n".join(p for p in row if p and isinstance(p, str)) for row in zip(*parts, strict=True)]


def process_parts(parts: list[list[Any]], params: EngineParams) -> BatchOutput:
    """Join each row's text parts (see :func:`join_parts`) and process them as one batch."""
    return process_batch(join_parts(parts), params)


@dataclass
class _Shingled:
    """A batch after shingling: 64-bit shingle hashes in text order plus per-text facts."""

    shingles: np.ndarray
    counts: np.ndarray
    exact_keys: np.ndarray
    empty: np.ndarray
    capped: np.ndarray
    char_mode: np.ndarray


def process_batch(texts: list[str], params: EngineParams) -> BatchOutput:
    """Shingle, sign and band one batch of texts (the unit of work of a worker process)."""
    batch = _shingle_batch(texts, params)
    signature = _signatures(batch.shingles, batch.counts, params.bands * params.rows)
    return BatchOutput(
        exact_keys=batch.exact_keys,
        empty=batch.empty,
        capped=batch.capped,
        char_mode=batch.char_mode,
        counts=batch.counts,
        shingles=(batch.shingles >> _U64(32)).astype(np.uint32),
        band_keys=_band_keys(signature, params.bands, params.rows, _seed_key(params.seed, 3)),
    )


def signatures(texts: list[str], params: EngineParams) -> np.ndarray:
    """Return the one-permutation MinHash signatures of ``texts``, shape (texts, bands * rows)."""
    batch = _shingle_batch(texts, params)
    return _signatures(batch.shingles, batch.counts, params.bands * params.rows)


def _shingle_batch(texts: list[str], params: EngineParams) -> _Shingled:
    normalised = [normalise(t, nfkc=params.nfkc, casefold=params.casefold) for t in texts]
    normalised = [t.replace("\x00", " ") if "\x00" in t else t for t in normalised]
    char_mode = np.fromiter(map(uses_char_ngrams, normalised), dtype=bool, count=len(texts))
    word_index = np.flatnonzero(~char_mode)
    words, word_counts = _tokenise([normalised[i] for i in word_index], _seed_key(params.seed, 1))
    word_shingles, word_per_text = _word_shingles(words, word_counts, params, _seed_key(params.seed, 2))
    batch = _Shingled(
        shingles=word_shingles,
        counts=np.zeros(len(texts), dtype=np.int64),
        exact_keys=np.zeros(len(texts), dtype=np.uint64),
        empty=np.zeros(len(texts), dtype=bool),
        capped=np.zeros(len(texts), dtype=bool),
        char_mode=char_mode,
    )
    batch.counts[word_index] = word_per_text
    batch.empty[word_index] = word_counts == 0
    batch.capped[word_index] = word_counts - params.shingle_size + 1 > params.max_shingles
    if params.collapse_whitespace:
        batch.exact_keys[word_index] = _token_exact_keys(words, word_counts)
    else:
        batch.exact_keys[word_index] = [_text_key(normalised[i], params) for i in word_index]
    if char_mode.any():
        pieces = _char_batch(normalised, batch, params)
        batch.shingles = _merge_shingles(word_shingles, word_index, word_per_text, pieces, len(texts))
    return batch


def _char_batch(normalised: list[str], batch: _Shingled, params: EngineParams) -> dict[int, np.ndarray]:
    """Shingle the character-n-gram texts of a batch (filling their per-text facts)."""
    pieces: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(batch.char_mode):
        grams = _char_shingles(normalised[i], params)
        pieces[int(i)] = mix64(grams)
        batch.counts[i] = len(grams)
        batch.empty[i] = len(grams) == 0
        batch.exact_keys[i] = _text_key(normalised[i], params)
        batch.capped[i] = (
            len("".join(normalised[i].split())) - params.char_shingle_size + 1 > params.max_shingles
        )
    return pieces


def _merge_shingles(
    word_shingles: np.ndarray,
    word_index: np.ndarray,
    word_per_text: np.ndarray,
    pieces: dict[int, np.ndarray],
    n: int,
) -> np.ndarray:
    """Put word-path and char-path shingles back in text order."""
    if not pieces:
        return word_shingles
    parts: list[np.ndarray] = []
    word_offsets = np.concatenate([[0], np.cumsum(word_per_text)])
    word_pos = {int(t): k for k, t in enumerate(word_index)}
    for i in range(n):
        if i in pieces:
            parts.append(pieces[i])
        else:
            k = word_pos[i]
            parts.append(word_shingles[word_offsets[k] : word_offsets[k + 1]])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def concat_outputs(outputs: list[BatchOutput]) -> BatchOutput:
    """Join batch outputs (in order) into one."""
    fields = BatchOutput.__dataclass_fields__
    return BatchOutput(**{name: np.concatenate([getattr(o, name) for o in outputs]) for name in fields})


# -- bands for a threshold ---------------------------------------------------------------------


def choose_bands(threshold: float, num_perm: int, *, min_recall: float = 0.999) -> tuple[int, int]:
    """Return ``(bands, rows)`` for ``threshold``, biased to recall.

    Among the band shapes that fit in ``num_perm`` and catch a pair *at* the threshold with
    probability ``>= min_recall`` (pairs above it are caught even more surely), pick the one
    with the fewest false candidates (the area under the S-curve below the threshold; they
    cost only verification time, since every candidate is checked by its true Jaccard).
    """
    grid = np.linspace(0.0, threshold, 200)
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        # the fewest bands that reach min_recall at this row count wastes the least precision
        needed = np.log1p(-min_recall) / np.log1p(-(threshold**rows)) if threshold**rows < 1 else 1.0
        bands = min(bands, max(1, int(np.ceil(needed))))
        caught = 1 - (1 - threshold**rows) ** bands
        false_area = float(np.trapezoid(1 - (1 - grid**rows) ** bands, grid))
        score = false_area + (1e3 if caught < min_recall else 0.0)
        if best is None or score < best[0]:
            best = (score, bands, rows)
    assert best is not None
    return best[1], best[2]
