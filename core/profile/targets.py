"""Targets for the next round: how many examples of what to collect or generate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.profile.config import ProfileConfig
from core.profile.summaries import (
    category_counts,
    difficulty_counts,
    difficulty_shortfall,
    language_counts,
    negatives_missing,
    thin_languages,
)


def _examples(features: pd.DataFrame, mask: pd.Series | np.ndarray, limit: int = 3) -> list[str]:
    texts = features.loc[np.asarray(mask, dtype=bool), "prompt_text"].head(limit)
    return [t[:300] for t in texts]


def _target(kind: str, value: str, missing: int, description: str, examples: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "value": value,
        "missing": int(missing),
        "description": description,
        "examples": examples,
    }


def _category_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    out = []
    for name, count in sorted(category_counts(features).items(), key=lambda kv: kv[1]):
        if count < config.min_class:
            out.append(
                _target(
                    "category",
                    name,
                    config.min_class - count,
                    f"Category '{name}' has {count} examples; {config.min_class} are needed.",
                    _examples(features, features["category"] == name),
                )
            )
    return out


def _difficulty_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    counts = difficulty_counts(features)
    if sum(counts.values()) == 0:
        return []
    out = []
    for level, missing in difficulty_shortfall(counts, config.difficulty_target).items():
        if missing > 0:
            share = config.difficulty_target[level]
            description = f"{counts[level]} {level} examples; {missing} more reach the {share:.0%} target."
            out.append(
                _target(
                    "difficulty",
                    level,
                    missing,
                    description,
                    _examples(features, features["difficulty"] == level),
                )
            )
    return out


def _language_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    counts = language_counts(features)
    return [
        _target(
            "language",
            code,
            config.min_language - counts[code],
            f"Only {counts[code]} examples in '{code}'; {config.min_language} are needed.",
            _examples(features, features["language"] == code),
        )
        for code in sorted(thin_languages(counts, config), key=lambda c: (-counts[c], c))
    ]


def _negative_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    count, n = int(features["is_negative"].sum()), len(features)
    missing = negatives_missing(count, n, config)
    if missing <= 0:
        return []
    description = (
        f"{count} negative examples; add {missing} where the right answer is 'not found', 'not applicable' "
        "or a polite refusal."
    )
    return [
        _target("negative", "negative", missing, description, _examples(features, features["is_negative"]))
    ]


def compute_targets(
    features: pd.DataFrame,
    config: ProfileConfig | None = None,
    *,
    clusters: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Say how many examples of what the next round should add.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds (defaults: :class:`ProfileConfig`).
        clusters: Uncovered production clusters (``core.drift.Cluster.as_target()`` dicts).

    Returns:
        Targets in the shared ``targets.distribution`` format (kind, value, missing,
        description, examples).
    """
    config = config or ProfileConfig()
    return [
        *_category_targets(features, config),
        *_difficulty_targets(features, config),
        *_language_targets(features, config),
        *_negative_targets(features, config),
        *[dict(c) for c in clusters],
    ]
