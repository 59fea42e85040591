"""The vectorised kernel of :mod:`core.similarity`: shingle hashes, MinHash signatures, LSH bands.

The batch path never loops over words in Python. A batch of texts is encoded to one
UTF-8 byte array; words are the runs of bytes that are not ASCII whitespace; each word
is hashed by reading it as little-endian 8-byte chunks (an unaligned ``uint64`` view of
the byte array) and mixing them with a seeded 64-bit finaliser; word n-gram shingles are
position-weighted sums of word hashes, mixed again. Texts written mostly in a script
without spaces between words (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar,
Tibetan) are shingled by character n-grams instead (a Python path; such texts are rare).

Signatures are *one permutation hashing* with rotation densification (Shrivastava & Li,
ICML 2014): each shingle hash picks one of ``num_perm`` bins by its low bits and competes
for that bin's minimum with its high 32 bits; empty bins borrow the next non-empty bin's
value, offset by the distance. Each bin collides with probability equal to the Jaccard
similarity, like a classic MinHash permutation, but costs one hash per shingle instead
of ``num_perm``. Candidates from the bands are always verified by the true Jaccard of
the shingle sets, so the estimator only has to find them.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

_U64 = np.uint64
_MAX32 = np.uint32(0xFFFFFFFF)
_SPACE_LUT = np.zeros(256, dtype=bool)
_SPACE_LUT[list(b" \t\n\r\x0b\x0c\x00")] = True
_WHITESPACE = re.compile(r"[\x00-\x20]+")
_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
_MAX_WORD_CHUNKS = 16  # words longer than 128 bytes: the first 128 bytes plus the length
_GRAM_WEIGHTS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
# Scripts written without spaces between words: CJK, kana, Hangul, Thai, Lao, Tibetan, Myanmar, Khmer.
_NO_SPACE_SCRIPT = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f"
    "\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]"
)
_CHAR_SCRIPT_SHARE = 0.3
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


@dataclass(frozen=True)
class EngineParams:
    """Everything that decides a batch's shingles, signatures and band keys."""

    shingle_size: int
    char_shingle_size: int
    nfkc: bool
    casefold: bool
    collapse_whitespace: bool
    max_shingles: int
    num_perm: int
    bands: int
    rows: int
    seed: int


@dataclass
class BatchOutput:
    """What one batch of texts contributes to the whole run (arrays, one row per text)."""

    exact_keys: np.ndarray  # uint64: hash of the normalised text
    empty: np.ndarray  # bool: no token at all (left out of dedup)
    capped: np.ndarray  # bool: more shingles than max_shingles (the rest were ignored)
    char_mode: np.ndarray  # bool: shingled by character n-grams
    counts: np.ndarray  # int64: shingles (with repeats) per text, in `shingles`
    shingles: np.ndarray  # uint32: 32-bit shingle hashes, concatenated in text order
    band_keys: np.ndarray  # uint64 (n, bands)


def mix64(values: np.ndarray) -> np.ndarray:
    """Return the splitmix64 finaliser of ``uint64`` values (a bijective, well-mixing hash)."""
    x = values ^ (values >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _seed_key(seed: int, salt: int) -> np.uint64:
    return _U64(xxhash.xxh64_intdigest(salt.to_bytes(8, "little"), seed=seed & 0xFFFFFFFFFFFFFFFF))


def normalise(text: str, *, nfkc: bool, casefold: bool) -> str:
    """Return ``text`` after Unicode NFKC and case folding (each optional)."""
    if nfkc and not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.casefold() if casefold else text


def uses_char_ngrams(text: str) -> bool:
    """Return whether ``text`` is mostly in a script written without spaces (so char n-grams fit)."""
    if text.isascii():
        return False
    letters = len(text) - sum(map(str.isspace, text))
    return letters > 0 and len(_NO_SPACE_SCRIPT.findall(text)) >= _CHAR_SCRIPT_SHARE * letters


def reference_shingles(text: str, params: EngineParams) -> set[tuple[str, ...]] | set[str]:
    """Return the shingle set of one text the slow, obvious way (tests and the bench use it).

    Words are the runs of characters other than ASCII whitespace; texts with fewer words
    than the shingle size make one shingle of all their words.
    """
    text = normalise(text, nfkc=params.nfkc, casefold=params.casefold).replace("\x00", " ")
    if uses_char_ngrams(text):
        chars = "".join(text.split())
        q = params.char_shingle_size
        return {chars[i : i + q] for i in range(max(1, len(chars) - q + 1))} if chars else set()
    words = [w for w in _WHITESPACE.split(text) if w]
    n = params.shingle_size
    if not words:
        return set()
    if len(words) < n:
        return {tuple(words)}
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return set(grams[: params.max_shingles])


# -- word path ----------------------------------------------------------------------------


def _word_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, seed_key: np.uint64) -> np.ndarray:
    """Hash each word ``data[starts[i]:ends[i]]`` from its bytes, 8 at a time.

    ``data`` must end with at least ``8 * _MAX_WORD_CHUNKS`` padding bytes.
    """
    view = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    lengths = ends - starts
    hashes = _quick_mix((view[starts] & _BYTE_MASKS[np.minimum(lengths, 8)]) ^ seed_key)
    longer = np.flatnonzero(lengths > 8)
    if longer.size == 0:
        return hashes
    long_hashes = hashes[longer]
    long_starts, long_lengths = starts[longer], lengths[longer]
    for chunk in range(1, _MAX_WORD_CHUNKS):
        more = np.flatnonzero(long_lengths > 8 * chunk)
        if more.size == 0:
            break
        remaining = np.minimum(long_lengths[more] - 8 * chunk, 8)
        part = view[long_starts[more] + 8 * chunk] & _BYTE_MASKS[remaining]
        long_hashes[more] = _quick_mix(long_hashes[more] * _GRAM_WEIGHTS[chunk % 8] + part)
    hashes[longer] = _quick_mix(long_hashes ^ long_lengths.astype(np.uint64))
    return hashes


def _quick_mix(values: np.ndarray) -> np.ndarray:
    """A cheap multiply-xorshift mix (word hashes are mixed again, fully, as shingles)."""
    x = values * _U64(0x9E3779B97F4A7C15)
    return x ^ (x >> _U64(29))


def _tokenise(texts: list[str], seed_key: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """Return the word hashes (in text order) and the word count of each text."""
    padding = "\x00" * (8 * _MAX_WORD_CHUNKS + 8)
    data = np.frombuffer(("\x00" + "\x00".join(texts) + padding).encode("utf-8"), dtype=np.uint8)
    space = data <= 32  # ASCII whitespace, control characters and the separator
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    separators = np.flatnonzero(data[: len(data) - len(padding) + 1] == 0)
    words_before = np.searchsorted(starts, separators)
    counts = np.diff(words_before)
    return _word_hashes(data, starts, ends, seed_key), counts


def _word_shingles(
    words: np.ndarray, counts: np.ndarray, params: EngineParams, seed_key: np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """Return 64-bit shingle hashes (text order) and the number of shingles per text.

    Shingle ``k`` covers words ``k .. k+n-1`` of its text; a text with fewer than ``n``
    words makes one shingle of all of them.
    """
    n, m = params.shingle_size, len(words)
    first_word = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    last_start = np.minimum(first_word + counts - n, first_word + params.max_shingles - 1)
    keep = np.arange(m) <= np.repeat(last_start, counts)
    short = np.flatnonzero((counts > 0) & (counts < n))
    short_first = first_word[short]
    keep[short_first] = True
    padded = np.concatenate([words, np.zeros(n, dtype=np.uint64)])
    total = padded[:m] * _GRAM_WEIGHTS[0]
    scratch = np.empty(m, dtype=np.uint64)
    for offset in range(1, n):
        np.multiply(padded[offset : offset + m], _GRAM_WEIGHTS[offset % 8], out=scratch)
        total += scratch
    if short.size:  # windows of short texts stop at their last word
        short_total = padded[short_first] * _GRAM_WEIGHTS[0]
        for offset in range(1, n):
            inside = offset < counts[short]
            short_total += np.where(inside, padded[short_first + offset], _U64(0)) * _GRAM_WEIGHTS[offset % 8]
        total[short_first] = short_total
    shingles = mix64(total[keep] ^ seed_key)
    per_text = np.where(
        counts >= n, np.minimum(counts - n + 1, params.max_shingles), (counts > 0).astype(np.int64)
    )
    return shingles, per_text.astype(np.int64)


def _token_exact_keys(words: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return an order-sensitive hash of each text's word sequence (= its collapsed-whitespace form)."""
    keys = np.zeros(len(counts), dtype=np.uint64)
    if len(words) == 0:
        return keys
    first_word = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    position = (np.arange(len(words)) - np.repeat(first_word, counts)).astype(np.uint64)
    weighted = words * ((position * _U64(0xD6E8FEB86659FD93)) | _U64(1))
    nonempty = np.flatnonzero(counts > 0)
    keys[nonempty] = np.add.reduceat(weighted, first_word[nonempty])
    return mix64(keys ^ counts.astype(np.uint64))


# -- character path ----------------------------------------------------------------------------


def _char_shingles(text: str, params: EngineParams) -> np.ndarray:
    chars = "".join(text.split())
    if not chars:
        return np.zeros(0, dtype=np.uint64)
    q = params.char_shingle_size
    grams = [chars[i : i + q] for i in range(max(1, len(chars) - q + 1))][: params.max_shingles]
    seed = params.seed & 0xFFFFFFFFFFFFFFFF
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(g.encode("utf-8"), seed=seed) for g in grams), np.uint64, len(grams)
    )


def _text_key(text: str, params: EngineParams) -> int:
    if params.collapse_whitespace:
        text = " ".join(_WHITESPACE.split(text.strip(" \t\n\r\x0b\x0c")))
    return xxhash.xxh3_64_intdigest(text.encode("utf-8"), seed=params.seed & 0xFFFFFFFFFFFFFFFF)


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
        return _bucket_pairs(np.ascontiguousarray(band_keys[:, band]))

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


def _bucket_pairs(keys: np.ndarray) -> np.ndarray:
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


# -- running batches, in worker processes when it pays ---------------------------------------------------


class Cancelled(Exception):
    """The caller asked to stop (its ``cancel`` callback returned True)."""


def run_batches(
    chunk: Callable[[int, int], list[list[Any]]],
    rows: int,
    params: EngineParams,
    *,
    processes: int,
    batch_size: int,
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> BatchOutput:
    """Process rows in batches (in ``processes`` worker processes if > 1) and join the outputs.

    Args:
        chunk: ``chunk(start, stop)`` returns the text-part columns of those rows (joined per row
            by :func:`join_parts`); called lazily, so only a few batches are in memory at once.
        rows: Number of rows.
        params: Shingling and banding parameters.
        processes: Worker processes; 1 runs in this process.
        batch_size: Rows per batch.
        progress: Called with the finished fraction after each batch.
        cancel: Polled after each batch.

    Raises:
        Cancelled: If ``cancel()`` returned True between two batches.
    """
    bounds = [(i, min(i + batch_size, rows)) for i in range(0, rows, batch_size)] or [(0, 0)]
    if processes <= 1 or len(bounds) == 1:
        outputs: list[BatchOutput | None] = []
        for k, (start, stop) in enumerate(bounds):
            _check(cancel)
            outputs.append(process_parts(chunk(start, stop), params))
            _report(progress, (k + 1) / len(bounds))
        return join_outputs(outputs)
    return _run_in_pool(chunk, bounds, params, processes, progress, cancel)


def _run_in_pool(
    chunk: Callable[[int, int], list[list[Any]]],
    bounds: list[tuple[int, int]],
    params: EngineParams,
    processes: int,
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> BatchOutput:
    outputs: list[BatchOutput | None] = [None] * len(bounds)
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else None)
    # forked workers inherit `chunk` and read their rows themselves: nothing is pickled to them
    source = chunk if forked else None
    pending: dict[Future[BatchOutput], int] = {}
    with ProcessPoolExecutor(processes, context, initializer=_worker_setup, initargs=(source,)) as pool:
        try:
            for k, (start, stop) in enumerate(bounds):
                work = (
                    (_process_rows, start, stop, params)
                    if forked
                    else (process_parts, chunk(start, stop), params)
                )
                _submit(pool, pending, k, work)
                while len(pending) >= 2 * processes or (k == len(bounds) - 1 and pending):
                    _collect(pending, outputs, progress, cancel)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return join_outputs(outputs)


def run_stream(
    parts: Iterable[list[list[Any]]], params: EngineParams, *, processes: int, ahead: int = 2
) -> BatchOutput:
    """Process batches of text-part columns as they come (in ``processes`` workers if > 1); join them.

    The caller's iterator reads the next batch while workers shingle the ones before; at most
    ``ahead`` batches per worker wait, so the texts in memory are a few batches'.
    """
    if processes <= 1:
        outputs: list[BatchOutput | None] = [process_parts(p, params) for p in parts]
    else:
        outputs = []
        forked = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forked else None)
        waiting: deque[Future[BatchOutput]] = deque()
        with ProcessPoolExecutor(processes, context, initializer=_worker_setup, initargs=(None,)) as pool:
            for batch in parts:
                _submit_parts(pool, waiting, batch, params)
                while len(waiting) > ahead * processes:
                    outputs.append(waiting.popleft().result())
            outputs += [future.result() for future in waiting]
    return join_outputs(outputs) if outputs else process_batch([], params)


def _submit_parts(
    pool: ProcessPoolExecutor,
    waiting: deque[Future[BatchOutput]],
    batch: list[list[Any]],
    params: EngineParams,
) -> None:
    gc.freeze()  # see _submit: forked workers must not collect the parent's objects
    try:
        waiting.append(pool.submit(process_parts, batch, params))
    finally:
        gc.unfreeze()


_worker_source: Callable[[int, int], list[list[Any]]] | None = None  # set in worker processes only


def _process_rows(start: int, stop: int, params: EngineParams) -> BatchOutput:
    """Worker side: read rows ``start:stop`` through the inherited source and process them."""
    assert _worker_source is not None
    return process_parts(_worker_source(start, stop), params)


def _submit(pool: ProcessPoolExecutor, pending: dict[Future[BatchOutput], int], k: int, work: tuple) -> None:
    # forked workers must not run the collector over the parent's objects: that would write to
    # every page they share with the parent (copy-on-write) and cost time and memory
    gc.freeze()
    try:
        pending[pool.submit(*work)] = k
    finally:
        gc.unfreeze()


def _collect(
    pending: dict[Future[BatchOutput], int],
    outputs: list[BatchOutput | None],
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        outputs[pending.pop(future)] = future.result()
    _report(progress, sum(o is not None for o in outputs) / len(outputs))
    _check(cancel)


def _worker_setup(source: Callable[[int, int], list[list[Any]]] | None) -> None:
    """Remember the row source; keep big temporary arrays in the heap (fresh mmaps fault per page)."""
    global _worker_source
    _worker_source = source
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def give_back_freed_arrays() -> None:
    """Map every big array on its own, so that freeing it returns its memory at once (glibc).

    Otherwise glibc's adaptive threshold soon serves big arrays from the heap, where freed memory
    stays with the process, and a long run over a big file keeps the peak of each phase.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def _report(progress: Callable[[float], None] | None, fraction: float) -> None:
    if progress is not None:
        progress(fraction)


def join_outputs(outputs: Sequence[BatchOutput | None]) -> BatchOutput:
    """Join outputs in order, freeing each batch's shingles as they are copied (bounded peak memory)."""
    ready = [o for o in outputs if o is not None]
    total = sum(len(o.shingles) for o in ready)
    shingles = np.empty(total, dtype=np.uint32)
    at = 0
    for output in ready:
        shingles[at : at + len(output.shingles)] = output.shingles
        at += len(output.shingles)
        output.shingles = shingles[:0]
    joined = concat_outputs(ready)
    joined.shingles = shingles
    return joined
