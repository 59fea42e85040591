"""Text similarity: one definition of shingles and Jaccard, and a near-duplicate index over it.

Every part of the app that asks "are these two texts alike" answers it here: the Dedup step
(:mod:`core.dedup`), cluster-aware splits and their leakage report (:mod:`core.split`), the
synthetic-data validator (:mod:`core.synth.validators`) and the batch pipeline.

- **Shingles.** The text is NFKC-normalised and case-folded; words are the runs of characters
  other than ASCII whitespace and control characters; a shingle is ``shingle_size`` consecutive
  words (a text with fewer words makes one shingle of them all). Texts mostly in a script
  written without spaces (Chinese, Japanese, Thai, ...) are shingled by character n-grams.
- **Jaccard** of two shingle sets, |A ∩ B| / |A ∪ B|; 0.0 when both are empty (a text without
  words is like nothing, so it is never anyone's duplicate).
- **Candidates** come from MinHash signatures cut into LSH bands chosen so that a pair *at* the
  threshold is found with probability >= 0.999 (:func:`choose_bands`); every candidate is then
  verified by its true Jaccard, so answers hold only real matches.

The vectorised kernel (shingle hashes, signatures, bands, verification of many pairs) is
:mod:`core._minhash`; :func:`shingles` is its reference definition, computed the obvious way.

Example::

    index = NearDupIndex(0.8)
    index.add_many([("a1", "How do I reset my password?"), ("a2", "Where is my parcel?")])
    index.query("how do I reset my password ?")  # -> [("a1", 0.67)] if at or above the threshold
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core import _minhash
from core._minhash import EngineParams, choose_bands, uses_char_ngrams

__all__ = [
    "EngineParams",
    "NearDupIndex",
    "Prepared",
    "choose_bands",
    "engine_params",
    "jaccard",
    "shingles",
    "uses_char_ngrams",
]

_BATCH = 8192


def engine_params(
    threshold: float = 0.8,
    *,
    shingle_size: int = 5,
    char_shingle_size: int = 3,
    nfkc: bool = True,
    casefold: bool = True,
    collapse_whitespace: bool = True,
    max_shingles: int = 10_000,
    num_perm: int = 128,
    seed: int = 0,
) -> EngineParams:
    """Return the kernel's parameters, with LSH bands chosen for ``threshold``."""
    bands, rows = choose_bands(threshold, num_perm)
    return EngineParams(
        shingle_size=shingle_size,
        char_shingle_size=char_shingle_size,
        nfkc=nfkc,
        casefold=casefold,
        collapse_whitespace=collapse_whitespace,
        max_shingles=max_shingles,
        num_perm=num_perm,
        bands=bands,
        rows=rows,
        seed=seed,
    )


def shingles(text: str, params: EngineParams) -> set[tuple[str, ...]] | set[str]:
    """Return the shingle set of ``text`` (word tuples, or character n-grams), the obvious way."""
    return _minhash.reference_shingles(text, params)


def jaccard(a: set | np.ndarray, b: set | np.ndarray) -> float:
    """Return |a ∩ b| / |a ∪ b| (0.0 when both are empty).

    ``a`` and ``b`` are shingle sets, or sorted arrays of distinct shingle hashes.
    """
    if isinstance(a, set) and isinstance(b, set):
        shared, union = len(a & b), len(a | b)
    else:
        shared = len(np.intersect1d(np.asarray(a), np.asarray(b), assume_unique=True))
        union = len(a) + len(b) - shared
    return shared / union if union else 0.0


@dataclass(frozen=True)
class Prepared:
    """What the index computes from one text: its distinct shingle hashes and its LSH band keys."""

    shingles: np.ndarray  # sorted distinct uint32 hashes; empty for a text without words
    band_keys: tuple[int, ...]


class NearDupIndex:
    """Is this text a near duplicate of anything indexed? (thread-safe; candidates verified).

    Texts are shingled as :func:`shingles` says, with ``shingle_size`` words. The threshold can
    be changed while the index is empty (the LSH bands are chosen for it).

    Example::

        index = NearDupIndex(0.8, shingle_size=3)
        index.add("real:1", "Why was my card charged twice?")
        index.query("why was my card charged twice ?")  # [("real:1", 1.0)]
    """

    def __init__(
        self, threshold: float = 0.8, *, shingle_size: int = 5, num_perm: int = 128, seed: int = 0
    ) -> None:
        self._shingle_size, self._num_perm, self._seed = shingle_size, num_perm, seed
        self._sets: dict[str, np.ndarray] = {}
        self._buckets: list[dict[int, list[str]]] = []
        self._lock = threading.Lock()
        self.threshold = threshold

    @property
    def threshold(self) -> float:
        """Jaccard at or above which an indexed text is a match."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        if not 0 < value <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {value!r}")
        if self._sets:
            raise ValueError("the threshold of an index is set before texts are added")
        self._threshold = value
        self._params = engine_params(
            value, shingle_size=self._shingle_size, num_perm=self._num_perm, seed=self._seed
        )
        self._buckets = [{} for _ in range(self._params.bands)]

    def __len__(self) -> int:
        return len(self._sets)

    def __contains__(self, key: object) -> bool:
        return key in self._sets

    def prepare(self, text: str) -> Prepared:
        """Return what :meth:`query` and :meth:`add` compute from ``text`` (to do it once for both)."""
        return self.prepare_many([text])[0]

    def prepare_many(self, texts: Sequence[str]) -> list[Prepared]:
        """Return :meth:`prepare` of each text, in batches through the vectorised kernel."""
        prepared: list[Prepared] = []
        for start in range(0, len(texts), _BATCH):
            out = _minhash.process_batch(list(texts[start : start + _BATCH]), self._params)
            values, starts, sizes = _minhash.unique_sets(out.shingles, out.counts, np.arange(len(out.counts)))
            keys = out.band_keys.tolist()
            for k in range(len(out.counts)):
                distinct = values[starts[k] : starts[k] + sizes[k]]
                prepared.append(Prepared(distinct, tuple(keys[k]) if len(distinct) else ()))
        return prepared

    def add(self, key: str, text: str, *, prepared: Prepared | None = None) -> None:
        """Index ``text`` under ``key`` (keys already present, and texts without words, are ignored)."""
        self._insert(key, prepared or self.prepare(text))

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Index ``(key, text)`` pairs (shingled in batches)."""
        pairs = list(items)
        for (key, _), prepared in zip(pairs, self.prepare_many([t for _, t in pairs]), strict=True):
            self._insert(key, prepared)

    def _insert(self, key: str, prepared: Prepared) -> None:
        if len(prepared.shingles) == 0:
            return
        with self._lock:
            if key in self._sets:
                return
            self._sets[key] = prepared.shingles
            for bucket, band_key in zip(self._buckets, prepared.band_keys, strict=True):
                bucket.setdefault(band_key, []).append(key)

    def query(self, text: str, *, prepared: Prepared | None = None) -> list[tuple[str, float]]:
        """Return ``(key, jaccard)`` of indexed texts at or above the threshold, best first."""
        prepared = prepared or self.prepare(text)
        if len(prepared.shingles) == 0:
            return []
        with self._lock:
            candidates = {
                key
                for bucket, band_key in zip(self._buckets, prepared.band_keys, strict=True)
                for key in bucket.get(band_key, ())
            }
            scored = [(key, jaccard(prepared.shingles, self._sets[key])) for key in candidates]
        matches = [(key, score) for key, score in scored if score >= self._threshold - 1e-12]
        return sorted(matches, key=lambda match: (-match[1], match[0]))

    def query_many(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Return :meth:`query` of each text (shingled in batches)."""
        return [self.query(text, prepared=p) for text, p in zip(texts, self.prepare_many(texts), strict=True)]
