"""Coverage: each production input's nearest training prompt by TF-IDF cosine of character 4-grams."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.drift.config import (
    _BASE,
    _DIGITS,
    _HASH_BITS,
    _MIX,
    DriftConfig,
)


def char_ngram_counts(texts: list[str], *, ngram: int = 4, max_chars: int = 200) -> sp.csr_matrix:
    """Return hashed character n-gram counts (rows: texts; 2**22 columns), vectorised in numpy.

    Texts are lower-cased, their whitespace collapsed, cut to ``max_chars`` and padded with
    one space on each side so that word starts and ends make n-grams of their own; every digit
    becomes ``0`` so that order numbers and prices do not make two requests look different.
    """
    cleaned = [
        " " + " ".join(t[: 2 * max_chars].lower().translate(_DIGITS).split())[:max_chars] + " " for t in texts
    ]
    lengths = np.fromiter((len(t) for t in cleaned), dtype=np.int64, count=len(cleaned))
    codes = np.frombuffer("".join(cleaned).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = max(codes.size - ngram + 1, 0)
    hashed = codes[:m].copy()
    for k in range(1, ngram):
        hashed *= _BASE
        hashed += codes[k : k + m]
    hashed *= _MIX
    hashed >>= np.uint64(64 - _HASH_BITS)
    # an n-gram starting in the last ngram - 1 characters of a text runs into the next one
    inside = np.ones(m, dtype=bool)
    ends = np.cumsum(lengths)
    for k in range(1, ngram):
        crossing = ends - k
        inside[crossing[(crossing >= 0) & (crossing < m)]] = False
    per_text = np.maximum(lengths - ngram + 1, 0)
    indptr = np.concatenate(([0], np.cumsum(per_text)))
    columns = hashed[inside].astype(np.int32)
    matrix = sp.csr_matrix(
        (np.ones(columns.size, dtype=np.float32), columns, indptr), shape=(len(cleaned), 1 << _HASH_BITS)
    )
    matrix.sum_duplicates()  # sorts each row and adds repeated n-grams: counts
    return matrix


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf x idf, rows L2-normalised (returns a new matrix)."""
    out = counts.copy()
    out.data = (1 + np.log(out.data)) * idf[out.indices]
    rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
    norms = np.sqrt(np.bincount(rows, weights=out.data.astype(np.float64) ** 2, minlength=out.shape[0]))
    norms[norms == 0] = 1
    out.data = (out.data / norms[rows]).astype(np.float32)
    return out


def _sketch(matrix: sp.csr_matrix, dims: int) -> np.ndarray:
    """Signed feature-hashing projection to ``dims`` dense dimensions, rows L2-normalised."""
    columns = matrix.indices.astype(np.int64)
    sign = np.where((columns >> 11) & 1, 1.0, -1.0)
    # a CSR matrix with repeated columns: making it dense adds them up, in one pass in C
    folded = sp.csr_matrix((matrix.data * sign, columns % dims, matrix.indptr), shape=(matrix.shape[0], dims))
    dense = folded.toarray().astype(np.float32)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return dense / norms


_BLOCK = 64


def _top_candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the column indices of the ``k`` best scores per row (``scores`` is overwritten).

    The ``k`` best of a row lie in the ``k`` blocks of :data:`_BLOCK` columns with the highest
    maxima, so one pass takes every block's maximum and only those blocks are searched.
    """
    rows, n = scores.shape
    full = n // _BLOCK
    if full <= k:
        return _top_by_passes(scores, k)
    maxima = scores[:, : full * _BLOCK].reshape(rows, full, _BLOCK).max(axis=2)  # a view: no copy
    if n > full * _BLOCK:
        maxima = np.hstack([maxima, scores[:, full * _BLOCK :].max(axis=1, keepdims=True)])
    best_blocks = _top_by_passes(maxima, k)
    columns = (best_blocks[:, :, None] * _BLOCK + np.arange(_BLOCK)).reshape(rows, k * _BLOCK)
    inside = np.take_along_axis(scores, np.minimum(columns, n - 1), axis=1)
    inside[columns >= n] = -np.inf  # past the last column of a short last block
    return np.take_along_axis(columns, _top_by_passes(inside, k), axis=1)


def _top_by_passes(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best scores per row (k argmax passes, in place)."""
    picks = np.empty((scores.shape[0], k), dtype=np.int64)
    rows = np.arange(scores.shape[0])
    for i in range(k):
        picks[:, i] = scores.argmax(axis=1)
        scores[rows, picks[:, i]] = -np.inf
    return picks


def tfidf_vectors(
    train_texts: list[str], production_texts: list[str], config: DriftConfig
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Return the L2-normalised TF-IDF rows of both samples (idf over both), as coverage compares them."""
    train = char_ngram_counts(train_texts, ngram=config.ngram, max_chars=config.max_chars)
    prod = char_ngram_counts(production_texts, ngram=config.ngram, max_chars=config.max_chars)
    n_docs = train.shape[0] + prod.shape[0]
    df = np.bincount(train.indices, minlength=train.shape[1]) + np.bincount(
        prod.indices, minlength=prod.shape[1]
    )
    idf = (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)
    return _tfidf(train, idf), _tfidf(prod, idf)


def nearest_similarity(
    train_texts: list[str], production_texts: list[str], config: DriftConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return each production text's cosine similarity to its nearest training text, and which.

    Args:
        train_texts: Training prompts.
        production_texts: Production inputs.
        config: N-gram length, sketch size, candidates, chunk size.

    Returns:
        ``(similarity, nearest)``: float array in [0, 1] and training row positions (-1 if none).
    """
    config = config or DriftConfig()
    train_w, prod_w = tfidf_vectors(train_texts, production_texts, config)
    if train_w.shape[0] == 0:
        return np.zeros(prod_w.shape[0]), np.full(prod_w.shape[0], -1)
    train_sketch, prod_sketch = _sketch(train_w, config.sketch_dims), _sketch(prod_w, config.sketch_dims)
    k = min(config.candidates, train_w.shape[0])
    similarity = np.zeros(prod_w.shape[0])
    nearest = np.full(prod_w.shape[0], -1, dtype=np.int64)
    for start in range(0, prod_w.shape[0], config.chunk_rows):
        stop = min(start + config.chunk_rows, prod_w.shape[0])
        picks = _top_candidates(prod_sketch[start:stop] @ train_sketch.T, k)
        repeated = np.repeat(np.arange(start, stop), k)
        exact = np.asarray(prod_w[repeated].multiply(train_w[picks.ravel()]).sum(axis=1)).reshape(-1, k)
        best = exact.argmax(axis=1)
        similarity[start:stop] = np.clip(exact[np.arange(stop - start), best], 0, 1)
        nearest[start:stop] = picks[np.arange(stop - start), best]
    return similarity, nearest


# -- clusters of uncovered inputs ------------------------------------------------------------
