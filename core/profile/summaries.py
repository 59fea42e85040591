"""Counts and shares of the features that the checklist, the targets and the summary share."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from core import lang
from core.profile.config import DIFFICULTY_LEVELS, ProfileConfig


def describe_lengths(values: pd.Series | np.ndarray) -> dict[str, float]:
    """Return min / mean / percentiles / max of a length column (zeros when empty)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {k: 0.0 for k in ("min", "mean", "p50", "p90", "p99", "max")}
    p50, p90, p99 = np.percentile(array, [50, 90, 99])
    return {
        "min": float(array.min()),
        "mean": round(float(array.mean()), 2),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(array.max()),
    }


def category_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{category: rows}``, largest first (unlabelled rows left out)."""
    counts = features["category"].dropna().value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def difficulty_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{level: rows}`` for the three levels (unmapped labels left out)."""
    counts = features["difficulty"].value_counts()
    return {level: int(counts.get(level, 0)) for level in DIFFICULTY_LEVELS}


def language_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{language code: rows}``, largest first."""
    return {str(k): int(v) for k, v in features["language"].value_counts().items()}


def robust_z(values: np.ndarray) -> np.ndarray:
    """Return the robust z-score 0.6745 * (x - median) / MAD (zeros when the MAD is 0)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    if mad == 0:
        return np.zeros_like(values)
    return 0.6745 * (values - median) / mad


def _rows(mask: np.ndarray | pd.Series) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool)))


def difficulty_shortfall(counts: Mapping[str, int], target: Mapping[str, float]) -> dict[str, int]:
    """Return how many examples each level needs (adding only) to reach the target mix."""
    if sum(counts.values()) == 0:
        return {level: 0 for level in target}
    needed_total = max(counts.get(level, 0) / share for level, share in target.items() if share > 0)
    return {
        level: max(0, math.ceil(share * needed_total - 1e-9) - counts.get(level, 0))
        for level, share in target.items()
    }


def negatives_missing(count: int, n: int, config: ProfileConfig) -> int:
    """Return how many negatives to add so that their share reaches ``min_negative_share``."""
    share = config.min_negative_share
    return max(0, math.ceil((share * n - count) / (1 - share) - 1e-9)) if share < 1 else 0


def thin_languages(counts: Mapping[str, int], config: ProfileConfig) -> list[str]:
    """Languages with ``stray_language`` to ``min_language - 1`` examples, sorted (``und`` never)."""
    return sorted(
        code
        for code, n in counts.items()
        if code != lang.UNDETERMINED and config.stray_language <= n < config.min_language
    )


def busiest_window_share(times: pd.Series, days: float) -> float:
    """Return the largest share of timestamps that fall in any window of ``days`` days."""
    times = times.dropna()
    if times.empty:
        return 0.0
    values = np.sort((times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy())
    ends = np.searchsorted(values, values + days * 86_400, side="right")
    return float((ends - np.arange(values.size)).max() / values.size)
