"""Training data vs a production sample: lengths, languages, categories and coverage.

Coverage is, for each production input, the cosine similarity of its TF-IDF vector of
character 4-grams (lower-cased, first ``max_chars`` characters, so it works for any language)
to the most similar training prompt. An exact all-pairs search over 5,000 x 100,000 sparse
vectors is too slow (common n-grams make the product nearly dense), so the search has two
stages: every TF-IDF vector is sketched into ``sketch_dims`` dense dimensions (a signed
feature-hashing projection, which preserves inner products on average), the ``candidates``
best training rows per input are found with one dense matrix product per chunk, and the exact
sparse cosine is computed for those candidates only. The similarity reported is always an
exact cosine; it can only be an underestimate when the true nearest neighbour was not among the
candidates, which happens when many training rows are about equally (dis)similar.

That is the TF-IDF path. When the packaged embedding model loads (``method="auto"``, the default),
coverage is the embedding cosine to the nearest training prompt instead (:mod:`core.drift.semantic`:
an input restating a training prompt in other words is covered), under ``semantic_threshold``; the
report's ``method`` says which was used, and TF-IDF stays the fallback.

Uncovered inputs (similarity under the threshold) are clustered with k-means on their embeddings or
word TF-IDF (k chosen by silhouette, seeded) and each cluster is named by its top word terms.

The modules: ``config`` (settings, report), ``production`` (reading the sample, keeping it), ``shift``
(lengths, shares), ``coverage`` (nearest training prompt by TF-IDF), ``semantic`` (by embeddings),
``clusters`` (uncovered inputs); :func:`compare` runs them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.drift import semantic
from core.drift.clusters import _clusters, cluster_uncovered
from core.drift.config import MIN_PRODUCTION, Cluster, DriftConfig, DriftReport
from core.drift.coverage import char_ngram_counts, nearest_similarity, tfidf_vectors
from core.drift.production import forget_production, load_production, saved_production, store_production
from core.drift.shift import _count_tokens, compare_lengths, compare_shares, population_stability_index
from core.errors import DatasetError

__all__ = [
    "MIN_PRODUCTION",
    "Cluster",
    "DriftConfig",
    "DriftReport",
    "char_ngram_counts",
    "cluster_uncovered",
    "compare",
    "compare_lengths",
    "compare_shares",
    "forget_production",
    "load_production",
    "nearest_similarity",
    "population_stability_index",
    "saved_production",
    "store_production",
    "tfidf_vectors",
]


def compare(
    features: pd.DataFrame,
    production: pd.DataFrame,
    config: DriftConfig | None = None,
    *,
    model: str = "gpt-4.1-mini",
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DriftReport:
    """Compare training features with a production sample.

    Args:
        features: Training features (:func:`core.profile.compute_features`).
        production: Production inputs (:func:`load_production`): ``text`` and ``category``.
        config: Coverage and clustering settings.
        model: Model whose tokenizer counts the lengths.
        seed: Seed of the training sample for lengths and of the clustering.
        progress: Semantic coverage: called with (rows embedded, rows) during the embedding pass.

    Returns:
        The :class:`DriftReport`.

    Raises:
        DatasetError: If the production sample has fewer than ``config.min_inputs`` inputs.
    """
    from core import lang

    config = config or DriftConfig()
    texts = production["text"].fillna("").astype(str).tolist()
    if len(texts) < config.min_inputs:
        raise DatasetError(
            f"the production sample has {len(texts)} inputs; at least {config.min_inputs} are needed"
        )
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(features), size=min(len(features), config.length_sample), replace=False))
    train_tokens = _count_tokens(features["prompt_text"].iloc[sample].tolist(), model)
    method = config.method
    if method == "auto":
        method = "semantic" if semantic.available() else "tfidf"
    vectors = None
    if method == "semantic":
        train_vectors, vectors = semantic.embed_both(
            features["prompt_text"].fillna("").astype(str).tolist(), texts, progress=progress
        )
        similarity, nearest = semantic.semantic_similarity(train_vectors, vectors)
        threshold = config.semantic_threshold
    else:
        similarity, nearest = nearest_similarity(features["prompt_text"].tolist(), texts, config)
        threshold = config.coverage_threshold
    inputs = pd.DataFrame(
        {
            "text": texts,
            "tokens": _count_tokens(texts, model),
            "language": lang.detect_languages(texts),
            "category": production["category"].astype(object).tolist() if "category" in production else None,
            "similarity": similarity,
            "nearest": nearest,
            "covered": similarity >= threshold,
        }
    )
    labels, clusters = _clusters(inputs, config, seed, vectors)
    inputs["cluster"] = labels
    has_labels = inputs["category"].notna().any()
    return DriftReport(
        inputs=inputs,
        train_tokens=train_tokens,
        lengths=compare_lengths(train_tokens, inputs["tokens"].to_numpy(), bins=config.psi_bins)
        if len(train_tokens)
        else {},
        languages=compare_shares(features["language"], inputs["language"]),
        categories=compare_shares(features["category"], inputs["category"]) if has_labels else None,
        clusters=clusters,
        n_train=len(features),
        threshold=threshold,
        method=method,
    )
