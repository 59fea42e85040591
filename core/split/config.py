"""How to split (:class:`SplitConfig`) and what a split and a leakage check found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import dedup

SPLITS = ("train", "val", "test")
STRATIFY_FIELDS = ("category", "difficulty", "language")
FORCED_TRAIN_SOURCES = frozenset({"synthetic", "eval"})
HOLDOUT_RANGE = (0.10, 0.20)
LOCK_STATE_KEY = "split.lock"
UNLOCK_WORD = "UNLOCK"
EXCLUDED = "excluded"


def holdout_needs_confirmation(val: float, test: float) -> bool:
    """Return True when the hold-out (val + test) lies outside the usual 10-20%."""
    holdout = val + test
    low, high = HOLDOUT_RANGE
    return holdout < low - 1e-9 or holdout > high + 1e-9


@dataclass(frozen=True)
class SplitConfig:
    """How to split.

    Attributes:
        val: Fraction of the data for validation.
        test: Fraction of the data for test.
        stratify: Metadata columns to stratify by (``category``, ``difficulty``, ``language``).
        cluster_threshold: Jaccard threshold at which near-duplicates are kept together
            (``None`` keeps only exact duplicates together).
        cluster_scope: Text the dedup clusters compare (:data:`core.dedup.SCOPES`, as on the dedup
            page); prompts and prompt + response are always compared as well.
        semantic_cosine: Embedding cosine at which rows that say the same thing in other words are
            kept together as well (:mod:`core.semantic`, on the ``cluster_scope`` text); ``None``
            (the default) keeps only lexical relations together.
        time_based: Test is the newest window by ``created_at`` instead of a stratified draw.
        confirm_holdout: Set when the person accepted a hold-out outside 10-20%.
    """

    val: float = 0.1
    test: float = 0.1
    stratify: tuple[str, ...] = ("category",)
    cluster_threshold: float | None = 0.8
    cluster_scope: str = "all"
    semantic_cosine: float | None = None
    time_based: bool = False
    confirm_holdout: bool = False

    def __post_init__(self) -> None:
        for name, value in (("val", self.val), ("test", self.test)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} fraction must be in [0, 1), got {value!r}")
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must leave room for train, got {self.val + self.test:.3f}")
        unknown = [f for f in self.stratify if f not in STRATIFY_FIELDS]
        if unknown:
            raise ValueError(f"stratify fields must be among {STRATIFY_FIELDS}, got {unknown!r}")
        if self.cluster_threshold is not None and not 0.0 < self.cluster_threshold <= 1.0:
            raise ValueError(f"cluster_threshold must be in (0, 1], got {self.cluster_threshold!r}")
        if self.semantic_cosine is not None and not 0.0 < self.semantic_cosine <= 1.0:
            raise ValueError(f"semantic_cosine must be in (0, 1], got {self.semantic_cosine!r}")
        dedup.scope_parts(self.cluster_scope)
        if holdout_needs_confirmation(self.val, self.test) and not self.confirm_holdout:
            raise ValueError(
                f"a hold-out of {self.val + self.test:.0%} is outside 10-20%; "
                "set confirm_holdout=True to accept it"
            )

    @property
    def train(self) -> float:
        """Fraction of the data for training."""
        return 1.0 - self.val - self.test

    def fractions(self) -> dict[str, float]:
        """Return ``{"train", "val", "test"}`` fractions."""
        return {"train": round(self.train, 6), "val": self.val, "test": self.test}


@dataclass(frozen=True)
class LeakPair:
    """One example found on both sides of two splits."""

    left_split: str
    left_id: str
    right_split: str
    right_id: str
    kind: str  # "exact" | "near"
    on: str  # "prompt" | "prompt+response"
    jaccard: float


@dataclass(frozen=True)
class LeakageReport:
    """Exact and near-duplicate overlap between splits (and an external eval set)."""

    threshold: float | None
    counts: dict[str, dict[str, int]]
    pairs: tuple[LeakPair, ...] = ()

    @property
    def total(self) -> int:
        """Number of overlapping pairs found, over every check."""
        return len(self.pairs)

    def to_dict(self, max_pairs: int = 50) -> dict[str, Any]:
        """Return a JSON-ready summary (the first ``max_pairs`` pairs listed)."""
        return {
            "threshold": self.threshold,
            "total": self.total,
            "counts": self.counts,
            "pairs": [p.__dict__ for p in self.pairs[:max_pairs]],
        }

    def pairs_frame(self) -> pd.DataFrame:
        """Return the pairs as a table (empty with the right columns when there are none)."""
        columns = list(LeakPair.__dataclass_fields__)
        return pd.DataFrame([p.__dict__ for p in self.pairs], columns=columns)


@dataclass(frozen=True)
class SplitResult:
    """The outcome of :func:`split_frame`: one label per input row, and what was decided."""

    labels: tuple[str, ...]
    config: SplitConfig
    seed: int
    per_stratum: dict[str, dict[str, int]]
    clusters_kept_together: int
    rows_in_clusters: int
    forced_train: tuple[str, ...]
    excluded: dict[str, str]
    locked: bool
    locked_missing: tuple[str, ...]
    leakage: LeakageReport
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per split (and excluded)."""
        out = {name: 0 for name in (*SPLITS, EXCLUDED)}
        for label in self.labels:
            out[label] += 1
        return out

    def split(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Return ``{"train", "val", "test", "excluded"}`` sub-frames of ``frame`` (the split input)."""
        if len(frame) != len(self.labels):
            raise ValueError(f"frame has {len(frame)} rows but the split labelled {len(self.labels)}")
        labels = np.asarray(self.labels, dtype=object)
        return {name: frame[labels == name].reset_index(drop=True) for name in (*SPLITS, EXCLUDED)}

    def summary(self) -> dict[str, Any]:
        """Return the JSON summary the command line prints."""
        return {
            "counts": self.counts,
            "per_stratum": self.per_stratum,
            "clusters_kept_together": self.clusters_kept_together,
            "rows_in_clusters": self.rows_in_clusters,
            "semantic_cosine": self.config.semantic_cosine,
            "forced_train": len(self.forced_train),
            "excluded": self.excluded,
            "leakage": self.leakage.to_dict(),
            "locked": self.locked,
            "locked_missing": list(self.locked_missing),
            "fractions": self.config.fractions(),
            "seed": self.seed,
            "warnings": list(self.warnings),
        }
