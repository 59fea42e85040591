"""Shingle hashes: the word path (bytes, no Python loop over words) and the character path."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
