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

Uncovered inputs (similarity under ``coverage_threshold``) are clustered with k-means on their
word TF-IDF (k chosen by silhouette, seeded) and each cluster is named by its top terms.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from core.errors import DatasetError, FormatError

MIN_PRODUCTION = 100
_TEXT_SUFFIXES = (".txt", ".text", ".log")
_HASH_BITS = 22
_MIN_CLUSTER_TARGET = 3
_K_SAMPLE = 1_000
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_BASE = np.uint64(1_000_003)
_DIGITS = str.maketrans("123456789", "000000000")  # order numbers, prices: same n-grams


@dataclass(frozen=True)
class DriftConfig:
    """Settings of the production comparison.

    Attributes:
        coverage_threshold: A production input whose best similarity is below this is uncovered.
        max_chars: Characters of each text used for coverage (the start of the input).
        ngram: Character n-gram length.
        sketch_dims: Dimensions of the dense sketch used to find candidates.
        candidates: Training candidates per production input scored exactly.
        chunk_rows: Production inputs per dense product (memory: chunk_rows x training rows).
        max_clusters: At most this many clusters of uncovered inputs.
        psi_bins: Quantile bins of the population stability index.
        length_sample: Training prompts whose tokens are counted for the length comparison.
        min_inputs: A production sample needs at least this many inputs.
    """

    coverage_threshold: float = 0.4
    max_chars: int = 200
    ngram: int = 4
    sketch_dims: int = 128
    candidates: int = 6
    chunk_rows: int = 512
    max_clusters: int = 8
    psi_bins: int = 10
    length_sample: int = 20_000
    min_inputs: int = MIN_PRODUCTION

    def __post_init__(self) -> None:
        if not 0 < self.coverage_threshold < 1:
            raise ValueError(f"coverage_threshold must be in (0, 1), got {self.coverage_threshold}")
        for name in (
            "max_chars",
            "ngram",
            "sketch_dims",
            "candidates",
            "chunk_rows",
            "max_clusters",
            "psi_bins",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_inputs < 1 or self.length_sample < 1:
            raise ValueError(
                f"min_inputs and length_sample must be >= 1, got {self.min_inputs} / {self.length_sample}"
            )


@dataclass(frozen=True)
class Cluster:
    """A group of uncovered production inputs, named by its top terms."""

    id: int
    name: str
    terms: tuple[str, ...]
    size: int
    row_ids: tuple[int, ...]
    examples: tuple[str, ...]

    def as_target(self, n_production: int, n_train: int, *, minimum: int = 30) -> dict[str, Any]:
        """Return the cluster as a ``targets.distribution`` entry.

        ``missing`` gives the topic the share of the training set it has in production
        (at least ``minimum`` examples).
        """
        missing = max(minimum, math.ceil(self.size / max(n_production, 1) * n_train))
        description = (
            f"{self.size} of {n_production} production inputs ({self.size / max(n_production, 1):.0%}) about "
            f"'{self.name}' have no similar training example."
        )
        return {
            "kind": "cluster",
            "value": self.name,
            "missing": missing,
            "description": description,
            "examples": list(self.examples[:3]),
        }


@dataclass(frozen=True)
class DriftReport:
    """The comparison of training data with a production sample.

    Attributes:
        inputs: One row per production input: ``text``, ``tokens``, ``language``, ``category``,
            ``similarity``, ``nearest`` (training row position), ``covered``, ``cluster`` (-1: none).
        train_tokens: Token counts of the training prompts compared (a seeded sample).
        lengths: KS statistic and p-value, PSI, and both length summaries.
        languages: ``{code: {"train": share, "production": share}}``.
        categories: The same for categories, or ``None`` when production has no labels.
        clusters: Clusters of uncovered inputs, largest first.
        n_train: Training rows.
        threshold: The coverage threshold used.
    """

    inputs: pd.DataFrame
    train_tokens: np.ndarray
    lengths: dict[str, Any]
    languages: dict[str, dict[str, float]]
    categories: dict[str, dict[str, float]] | None
    clusters: tuple[Cluster, ...]
    n_train: int
    threshold: float

    @property
    def uncovered_share(self) -> float:
        """Share of production inputs with no similar training example."""
        return float((~self.inputs["covered"]).mean()) if len(self.inputs) else 0.0

    def targets(self, *, minimum: int = 30) -> list[dict[str, Any]]:
        """Return one ``targets.distribution`` entry per uncovered cluster."""
        return [
            c.as_target(len(self.inputs), self.n_train, minimum=minimum)
            for c in self.clusters
            if c.size >= _MIN_CLUSTER_TARGET
        ]

    def summary(self) -> dict[str, Any]:
        """Return the JSON summary of the ``profile`` command's ``drift`` key."""
        return {
            "production_rows": len(self.inputs),
            "lengths": self.lengths,
            "languages": self.languages,
            "categories": self.categories,
            "coverage": {
                "threshold": self.threshold,
                "mean_similarity": round(float(self.inputs["similarity"].mean()), 4),
                "uncovered_share": round(self.uncovered_share, 4),
            },
            "clusters": [
                {"name": c.name, "terms": list(c.terms), "size": c.size, "examples": list(c.examples[:3])}
                for c in self.clusters
            ],
        }


# -- loading a production sample -------------------------------------------------------------


def load_production(
    source: bytes | Path, filename: str | None = None, *, min_inputs: int = MIN_PRODUCTION
) -> pd.DataFrame:
    """Read a production sample: any supported dataset format, or plain text (one input per line).

    Args:
        source: The file's bytes or its path.
        filename: Name used in messages and to recognise ``.txt`` files.
        min_inputs: Fewest inputs accepted.

    Returns:
        A frame with ``text`` (the user input) and ``category`` (``None`` when unlabelled).

    Raises:
        DatasetError: If the file cannot be read or holds fewer than ``min_inputs`` inputs.
    """
    name = filename or (source.name if isinstance(source, Path) else "production sample")
    data = source.read_bytes() if isinstance(source, Path) else source
    if Path(name).suffix.lower() in _TEXT_SUFFIXES:
        frame = _text_lines(data, name)
    else:
        try:
            frame = _dataset_inputs(data, name)
        except FormatError:
            frame = _text_lines(data, name)
    frame = frame[frame["text"].str.strip().str.len() > 0].reset_index(drop=True)
    if len(frame) < min_inputs:
        raise DatasetError(
            f"{name}: the production sample has {len(frame)} inputs; at least {min_inputs} are needed "
            "for a meaningful comparison (one input per line for plain text)."
        )
    return frame


def _text_lines(data: bytes, name: str) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not a dataset and not UTF-8 text (byte {exc.start}).") from exc
    lines = [line.strip() for line in text.splitlines()]
    return pd.DataFrame(
        {"text": pd.Series(lines, dtype=object), "category": pd.Series([None] * len(lines), dtype=object)}
    )


def _dataset_inputs(data: bytes, name: str) -> pd.DataFrame:
    from core.formats import load_dataset

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        records = load_dataset(path, name).records
    category = records["category"] if "category" in records.columns else pd.Series([None] * len(records))
    return pd.DataFrame(
        {
            "text": records["prompt_text"].fillna("").astype(str).tolist(),
            "category": category.astype(object).tolist(),
        }
    )


# -- lengths, languages, categories ----------------------------------------------------------


def population_stability_index(expected: np.ndarray, actual: np.ndarray, *, bins: int = 10) -> float:
    """Return the PSI of ``actual`` against ``expected`` over quantile bins of ``expected``.

    Rule of thumb: under 0.1 stable, 0.1 to 0.25 a moderate shift, over 0.25 a major shift.
    """
    expected, actual = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    if expected.size == 0 or actual.size == 0:
        raise ValueError(f"both samples must be non-empty, got {expected.size} and {actual.size} values")
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=edges.size + 1) / expected.size
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=edges.size + 1) / actual.size
    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _count_tokens(texts: list[str], model: str) -> np.ndarray:
    from core import tokens

    encoding = tokens.encoding_name_for_model(model)
    return np.array([tokens.count_text(t, encoding) for t in texts], dtype=np.int64)


def compare_lengths(train: np.ndarray, production: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """Two-sample Kolmogorov-Smirnov test and PSI of two token-length samples."""
    from core.profile import describe_lengths

    result = stats.ks_2samp(train, production)
    return {
        "ks_statistic": round(float(result.statistic), 4),
        "ks_p_value": float(result.pvalue),
        "psi": round(population_stability_index(train, production, bins=bins), 4),
        "train": describe_lengths(train),
        "production": describe_lengths(production),
    }


def compare_shares(train: pd.Series, production: pd.Series) -> dict[str, dict[str, float]]:
    """Return ``{value: {"train": share, "production": share}}`` over both samples' values."""
    t = train.dropna().value_counts(normalize=True)
    p = production.dropna().value_counts(normalize=True)
    keys = sorted(set(t.index) | set(p.index), key=lambda k: (-p.get(k, 0.0), str(k)))
    return {
        str(k): {"train": round(float(t.get(k, 0.0)), 4), "production": round(float(p.get(k, 0.0)), 4)}
        for k in keys
    }


# -- coverage --------------------------------------------------------------------------------


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


def cluster_uncovered(
    texts: list[str], *, max_clusters: int = 8, seed: int
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Cluster texts on their word TF-IDF and name each cluster by its top terms.

    Args:
        texts: The uncovered inputs.
        max_clusters: Upper bound of k (chosen by silhouette among 2..max_clusters).
        seed: Seed of k-means.

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
    k = _choose_k(matrix, max_clusters, seed=seed)
    labels = (
        np.zeros(len(texts), dtype=int)
        if k == 1
        else KMeans(k, n_init=4, random_state=seed).fit_predict(matrix)
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


def _clusters(inputs: pd.DataFrame, config: DriftConfig, seed: int) -> tuple[np.ndarray, tuple[Cluster, ...]]:
    uncovered = np.flatnonzero(~inputs["covered"].to_numpy())
    labels = np.full(len(inputs), -1)
    if uncovered.size == 0:
        return labels, ()
    texts = inputs["text"].iloc[uncovered].tolist()
    import sklearn.cluster  # noqa: F401 - loads OpenMP first: threadpoolctl limits loaded libraries only
    from threadpoolctl import threadpool_limits

    # k-means on a few thousand short texts: a second OpenMP thread only spins (5x the CPU time)
    with threadpool_limits(1):
        found, terms = cluster_uncovered(texts, max_clusters=config.max_clusters, seed=seed)
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


def compare(
    features: pd.DataFrame,
    production: pd.DataFrame,
    config: DriftConfig | None = None,
    *,
    model: str = "gpt-4.1-mini",
    seed: int,
) -> DriftReport:
    """Compare training features with a production sample.

    Args:
        features: Training features (:func:`core.profile.compute_features`).
        production: Production inputs (:func:`load_production`): ``text`` and ``category``.
        config: Coverage and clustering settings.
        model: Model whose tokenizer counts the lengths.
        seed: Seed of the training sample for lengths and of the clustering.

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
    similarity, nearest = nearest_similarity(features["prompt_text"].tolist(), texts, config)
    inputs = pd.DataFrame(
        {
            "text": texts,
            "tokens": _count_tokens(texts, model),
            "language": lang.detect_languages(texts),
            "category": production["category"].astype(object).tolist() if "category" in production else None,
            "similarity": similarity,
            "nearest": nearest,
            "covered": similarity >= config.coverage_threshold,
        }
    )
    labels, clusters = _clusters(inputs, config, seed)
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
        threshold=config.coverage_threshold,
    )
