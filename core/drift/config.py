"""Drift settings and results: what is compared, and the report a page or the CLI reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
        coverage_threshold: A production input whose best TF-IDF similarity is below this is uncovered.
        method: Coverage by ``semantic`` embeddings, by ``tfidf`` of character n-grams, or ``auto``
            (embeddings when the packaged model loads, else TF-IDF).
        semantic_threshold: A production input whose best embedding cosine is below this is uncovered.
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
    method: str = "auto"
    semantic_threshold: float = 0.5
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
        for name in ("coverage_threshold", "semantic_threshold"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.method not in ("auto", "semantic", "tfidf"):
            raise ValueError(f"method must be auto, semantic or tfidf, got {self.method!r}")
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
        method: How coverage was measured: ``semantic`` (embedding cosine) or ``tfidf``.
    """

    inputs: pd.DataFrame
    train_tokens: np.ndarray
    lengths: dict[str, Any]
    languages: dict[str, dict[str, float]]
    categories: dict[str, dict[str, float]] | None
    clusters: tuple[Cluster, ...]
    n_train: int
    threshold: float
    method: str = "tfidf"

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
                "method": self.method,
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
