"""Coverage by meaning: each production input's nearest training prompt by embedding cosine.

When the packaged embedding model loads (:mod:`core.semantic.model`, nothing is downloaded), a
production input restating a training prompt in other words is covered even when the two share few
character n-grams, and the uncovered inputs are grouped by k-means on their embeddings (named, as on
the TF-IDF path, by their top word terms). When it does not, :mod:`core.drift.coverage` (TF-IDF of
character n-grams) is the fallback; :attr:`core.drift.DriftReport.method` says which was used.
"""

from __future__ import annotations

import functools

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


def embed_both(train_texts: list[str], production_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return both samples' embeddings, the common direction of the two together removed."""
    from core.semantic.model import common_direction, load_model, remove_common_direction

    raw = load_model().embed(train_texts + production_texts)
    mean = common_direction(raw)
    n = len(train_texts)
    return remove_common_direction(raw[:n], mean), remove_common_direction(raw[n:], mean)


def semantic_similarity(
    train_vectors: np.ndarray, production_vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each production input's cosine to its nearest training prompt (clipped to [0, 1]), and which."""
    nearest, cosine = index.nearest(production_vectors, train_vectors)
    empty = ~np.any(production_vectors != 0, axis=1)
    nearest = np.where(empty, -1, nearest)
    return np.where(empty, 0.0, np.clip(cosine, 0.0, 1.0)).astype(np.float64), nearest
