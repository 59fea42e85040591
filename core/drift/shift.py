"""Distribution shift: token lengths (PSI) and the shares of languages and categories."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


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
