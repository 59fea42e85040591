"""Coverage by meaning: each production input's nearest training prompt by embedding cosine.

When the packaged embedding model loads (:mod:`core.semantic.model`, nothing is downloaded), a
production input restating a training prompt in other words is covered even when the two share few
character n-grams, and the uncovered inputs are grouped by k-means on their embeddings (named, as on
the TF-IDF path, by their top word terms). When it does not, :mod:`core.drift.coverage` (TF-IDF of
character n-grams) is the fallback; :attr:`core.drift.DriftReport.method` says which was used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from core.semantic import index

METHODS = ("auto", "semantic", "tfidf")
"""Coverage methods: embeddings when the model loads (``auto``), always embeddings, always TF-IDF."""


@functools.cache
def available() -> bool:
    """Return whether the packaged embedding model loads on this installation."""
    from core.semantic.model import load_model

    try:
        load_model()
    except (OSError, ValueError, KeyError, ImportError):
        return False
    return True


def embed_both(
    train_texts: list[str],
    production_texts: list[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return both samples' embeddings, compared as one set (:func:`core.semantic.embedding.embed_set`).

    ``progress`` is called with (rows embedded, rows of both samples) after each batch.
    """
    from core.semantic.embedding import embed_set

    vectors = embed_set(train_texts + production_texts, progress=progress)
    n = len(train_texts)
    return vectors[:n], vectors[n:]


def semantic_similarity(
    train_vectors: np.ndarray, production_vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each production input's cosine to its nearest training prompt (clipped to [0, 1]), and which."""
    nearest, cosine = index.nearest(production_vectors, train_vectors)
    empty = ~np.any(production_vectors != 0, axis=1)
    nearest = np.where(empty, -1, nearest)
    return np.where(empty, 0.0, np.clip(cosine, 0.0, 1.0)).astype(np.float64), nearest
