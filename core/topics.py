"""Topics: the rows grouped by what their prompts are about, to browse a dataset by cluster.

Prompts are embedded with the packaged static model (:mod:`core.semantic.model`, no download), the
direction every prompt shares is taken out, and k-means (seeded) groups them. Each topic is named by
the three words most particular to it (class-based TF-IDF: frequent in the topic, rare in the others),
so a person reads "refund · card · charged" instead of "cluster 7". On the Explore page a topic is a
facet like category: a bar per topic, a click filters the rows. A version's topics are found once, in
its background measurements (:func:`version_topics`, :mod:`core.derived`), and kept with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from core.workspace import Workspace

FORMAT = 1
MAX_TOPICS = 30
MIN_ROWS = 20
"""Fewer prompts than this are one topic: k-means on a handful of rows finds noise, not subjects."""
_WORDS = 3


@dataclass(frozen=True)
class Topics:
    """One topic per row (``-1``: a row without prompt text) and each topic's name."""

    labels: np.ndarray
    names: tuple[str, ...]

    def of_rows(self) -> list[str | None]:
        """Return each row's topic name (``None`` for a row without prompt text)."""
        return [self.names[k] if k >= 0 else None for k in self.labels.tolist()]

    def sizes(self) -> dict[str, int]:
        """Return the rows per topic, largest first."""
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.names))
        order = np.argsort(-counts, kind="stable")
        return {self.names[k]: int(counts[k]) for k in order if counts[k]}


def topic_count(rows: int) -> int:
    """Return how many topics to find among ``rows`` prompts: about sqrt(rows / 2), 2 to 30."""
    if rows < MIN_ROWS:
        return 1 if rows else 0
    return max(2, min(MAX_TOPICS, round(math.sqrt(rows / 2))))


def find_topics(
    texts: Sequence[str | None],
    *,
    k: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Topics:
    """Group ``texts`` (one prompt per row) into topics.

    Args:
        texts: The rows' prompt texts; empty or missing ones get no topic.
        k: Number of topics (default :func:`topic_count` of the rows with text).
        seed: Seed of k-means; the same texts and seed give the same topics.
        progress: Called with (rows embedded, rows) while embedding.
    """
    from core.semantic.embedding import embed_set

    chosen = [t for t in texts if isinstance(t, str) and t.strip()]
    present = np.array([isinstance(t, str) and bool(t.strip()) for t in texts], dtype=bool)
    labels = np.full(len(texts), -1, dtype=np.int64)
    k = min(topic_count(len(chosen)) if k is None else k, len(set(chosen)))  # no more topics than texts
    if k <= 0:
        return Topics(labels, ())
    if k == 1:
        labels[present] = 0
        return Topics(labels, _names(chosen, np.zeros(len(chosen), dtype=np.int64), 1))
    vectors = embed_set(chosen, progress=progress)
    assigned = _kmeans(vectors, k, seed)
    labels[present] = assigned
    return Topics(labels, _names(chosen, assigned, k))


_FIT_ROWS = 10_000
"""K-means is fitted on at most this many rows (drawn with the seed), then every row joins its nearest
centre: topics of a 100k-row version cost one fit of 10k rows and one matrix product."""


def _kmeans(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    sample = (
        vectors if len(vectors) <= _FIT_ROWS else vectors[rng.choice(len(vectors), _FIT_ROWS, replace=False)]
    )
    # one thread: on a busy 2-core machine OpenMP's spinning threads cost 5x the CPU for the same fit
    with threadpool_limits(1):
        model = KMeans(n_clusters=k, n_init=10 if len(sample) <= 2_000 else 3, random_state=seed).fit(sample)
        return np.asarray(model.predict(vectors), dtype=np.int64)


def _names(texts: Sequence[str], labels: np.ndarray, k: int) -> tuple[str, ...]:
    """Name each topic by its most particular words (class-based TF-IDF), each name once."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(
        stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", max_features=50_000, lowercase=True
    )
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no word of three letters or more in any prompt
        return tuple(f"topic {i + 1}" for i in range(k))
    words = vectorizer.get_feature_names_out()
    membership = csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    per_topic = np.asarray((membership @ counts).todense(), dtype=np.float64)
    frequency = per_topic.sum(axis=0)
    average = per_topic.sum() / k
    score = (
        per_topic
        / np.maximum(per_topic.sum(axis=1, keepdims=True), 1)
        * np.log1p(average / np.maximum(frequency, 1))
    )
    names: list[str] = []
    for topic in range(k):
        top = [words[i] for i in np.argsort(-score[topic], kind="stable")[:_WORDS] if per_topic[topic, i] > 0]
        name = " · ".join(top) or f"topic {topic + 1}"
        if name in names:
            name = f"{name} ({topic + 1})"
        names.append(name)
    return tuple(names)


def version_topics(
    ws: Workspace,
    version: int,
    frame: pd.DataFrame | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[str | None]:
    """Return each row's topic of a version (:func:`find_topics` of its prompts, stored with it).

    ``progress`` is called during the embedding pass when the topics are not stored yet.
    """
    from core import derived

    def compute() -> pd.DataFrame:
        data = frame if frame is not None else ws.load_version(version)
        texts = data["prompt_text"].tolist() if "prompt_text" in data.columns else [None] * len(data)
        return pd.DataFrame(
            {"topic": pd.Series(find_topics(texts, progress=progress).of_rows(), dtype=object)}
        )

    table = derived.stored(
        ws.derived_dir(version) / f"topics-seed0-f{FORMAT}.parquet",
        compute,
        read=pd.read_parquet,
        write=lambda value, path: value.to_parquet(path, index=False),
    )
    return [None if v is None else str(v) for v in table["topic"].tolist()]
