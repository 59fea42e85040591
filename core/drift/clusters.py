"""Uncovered production inputs grouped with k-means on word TF-IDF and named by their top terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.drift.config import (
    _K_SAMPLE,
    Cluster,
    DriftConfig,
)


def cluster_uncovered(
    texts: list[str], *, max_clusters: int = 8, seed: int, vectors: sp.csr_matrix | None = None
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Cluster texts on their word TF-IDF (or on ``vectors``) and name each cluster by its top terms.

    Args:
        texts: The uncovered inputs.
        max_clusters: Upper bound of k (chosen by silhouette among 2..max_clusters).
        seed: Seed of k-means.
        vectors: One row per text to cluster on instead (their embeddings); the names still come
            from the word TF-IDF.

    Returns:
        ``(labels, terms)``: a cluster label per text and the top terms of each cluster.
    """
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return np.zeros(0, dtype=int), []
    vectorizer = TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
        min_df=2 if len(texts) >= 20 else 1,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words or digits
        return np.zeros(len(texts), dtype=int), [("misc",)]
    space = matrix if vectors is None else vectors
    k = _choose_k(space, max_clusters, seed=seed)
    labels = (
        np.zeros(len(texts), dtype=int)
        if k == 1
        else KMeans(k, n_init=4, random_state=seed).fit_predict(space)
    )
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    terms = []
    for label in range(k):
        centroid = np.asarray(matrix[labels == label].mean(axis=0)).ravel()
        terms.append(tuple(str(t) for t in vocabulary[np.argsort(-centroid)[:4]] if centroid.size))
    return labels, terms


def _choose_k(matrix: sp.csr_matrix, max_clusters: int, *, seed: int) -> int:
    """Pick k: the smallest k whose silhouette reaches 60% of the best one (broad clusters act better)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if matrix.shape[0] > _K_SAMPLE:  # choosing k on a sample is enough; the final fit uses all
        rows = np.random.default_rng(seed).choice(matrix.shape[0], _K_SAMPLE, replace=False)
        matrix = matrix[np.sort(rows)]
    n = matrix.shape[0]
    distinct = len({(tuple(row.indices), tuple(np.round(row.data, 6))) for row in matrix})
    scores: dict[int, float] = {}
    for k in range(2, min(max_clusters, n - 1, distinct) + 1):
        labels = KMeans(k, n_init=2, random_state=seed).fit_predict(matrix)
        if len(set(labels)) > 1:
            scores[k] = float(silhouette_score(matrix, labels, sample_size=min(n, 1000), random_state=seed))
    best = max(scores.values(), default=0.0)
    if best < 0.03:  # no structure: one cluster is as good as several
        return 1
    return min(k for k, score in scores.items() if score >= 0.6 * best)


def _clusters(
    inputs: pd.DataFrame, config: DriftConfig, seed: int, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[Cluster, ...]]:
    """Cluster the uncovered inputs (on ``vectors``' rows of them, their embeddings, when given)."""
    uncovered = np.flatnonzero(~inputs["covered"].to_numpy())
    labels = np.full(len(inputs), -1)
    if uncovered.size == 0:
        return labels, ()
    texts = inputs["text"].iloc[uncovered].tolist()
    import sklearn.cluster  # noqa: F401 - loads OpenMP first: threadpoolctl limits loaded libraries only
    from threadpoolctl import threadpool_limits

    # k-means on a few thousand short texts: a second OpenMP thread only spins (5x the CPU time)
    with threadpool_limits(1):
        found, terms = cluster_uncovered(
            texts,
            max_clusters=config.max_clusters,
            seed=seed,
            vectors=None if vectors is None else sp.csr_matrix(vectors[uncovered].astype(np.float64)),
        )
    labels[uncovered] = found
    clusters = []
    for label, words in enumerate(terms):
        rows = uncovered[found == label]
        examples = tuple(inputs["text"].iloc[rows].head(5).str.slice(0, 300))
        clusters.append(
            Cluster(
                label, ", ".join(words[:3]) or "misc", words, len(rows), tuple(int(r) for r in rows), examples
            )
        )
    return labels, tuple(sorted(clusters, key=lambda c: -c.size))
