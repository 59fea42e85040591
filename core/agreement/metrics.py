"""Agreement statistics on a label matrix: kappas, Krippendorff's alpha, bootstrap intervals.

Cohen's kappa is scikit-learn's. Fleiss' kappa, Krippendorff's alpha and the bootstrap are written here
on purpose, each checked against a reference in ``tests/core/test_agreement.py``: label files leave
items with different numbers of labels, which Fleiss' kappa here allows (statsmodels' ``fleiss_kappa``
expects the same number of ratings on every item, and statsmodels is not a dependency); and a 95%
interval needs about 1,000 resamples, which one vectorised pass of ``_fleiss_batch`` / ``_alpha_batch``
scores at once, each value equal to what the ``krippendorff`` package (the tests' oracle) gives for that
resample in one call per resample (``scipy.stats.bootstrap`` would need the same vectorised statistic;
what it would add, a multinomial draw and two percentiles, is four lines here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.errors import DatasetError

LEVELS = ("nominal", "ordinal", "interval")


WEIGHTS = ("linear", "quadratic")


Level = Literal["nominal", "ordinal", "interval"]


Weights = Literal["linear", "quadratic"]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def _categories(matrix: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    present = sorted({v for v in matrix.to_numpy().ravel() if _present(v)})
    if order is None:
        return present
    order = [str(o).strip() for o in order]
    unknown = [v for v in present if v not in order]
    if unknown:
        raise DatasetError(f"label(s) {', '.join(map(repr, unknown))} are not in the given order {order}")
    return order


def _encode(matrix: pd.DataFrame, categories: Sequence[str]) -> np.ndarray:
    """Return an int array items x annotators: the category index, -1 where missing."""
    lookup = {c: i for i, c in enumerate(categories)}
    values = matrix.to_numpy()
    return np.vectorize(lambda v: lookup.get(v, -1) if v is not None else -1, otypes=[int])(values).reshape(
        values.shape
    )


def _counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Return items x categories: how many annotators gave each category to each item."""
    counts = np.zeros((codes.shape[0], k), dtype=float)
    for column in codes.T:
        present = column >= 0
        counts[np.flatnonzero(present), column[present]] += 1
    return counts


def _chance_corrected(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Return ``(po - pe) / (1 - pe)``; 1.0 when ``pe == 1`` and agreement is perfect, else NaN."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1 - expected)
    degenerate = np.isclose(expected, 1.0)
    return np.where(degenerate, np.where(np.isclose(observed, 1.0), 1.0, np.nan), kappa)


def _fleiss_batch(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fleiss' kappa of ``counts`` (items x categories) under item weights (resamples x items)."""
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    counts, n_i, weights = counts[keep], n_i[keep], weights[:, keep]
    if counts.shape[0] == 0:
        return np.full(weights.shape[0], np.nan)
    p_i = (counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))
    total = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = weights @ p_i / total
        p_j = (weights @ counts) / (weights @ n_i)[:, None]
    return _chance_corrected(p_bar, (p_j**2).sum(axis=1))


def fleiss_kappa_from_counts(counts: np.ndarray | Sequence[Sequence[float]]) -> float:
    """Return Fleiss' kappa of a subjects x categories table of rater counts.

    Rows may sum to different numbers of raters (see the module docstring); rows with fewer
    than two ratings are left out.

    Raises:
        ValueError: If ``counts`` is not a 2-D table of non-negative numbers.
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or (table < 0).any():
        raise ValueError(f"counts must be a 2-D table of non-negative counts, got shape {table.shape}")
    return float(_fleiss_batch(table, np.ones((1, table.shape[0])))[0])


def _weight_matrix(k: int, weights: Weights | None) -> np.ndarray:
    positions = np.arange(k)
    distance = np.abs(positions[:, None] - positions[None, :]).astype(float)
    if weights is None:
        return (distance > 0).astype(float)
    return distance if weights == "linear" else distance**2


def _kappa_batch(confusions: np.ndarray, weight_matrix: np.ndarray) -> np.ndarray:
    """Cohen's kappa of a stack of confusion matrices (resamples x k x k)."""
    total = confusions.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = confusions / total[:, None, None]
        expected = observed.sum(axis=2)[:, :, None] * observed.sum(axis=1)[:, None, :]
        disagree_o = (observed * weight_matrix).sum(axis=(1, 2))
        disagree_e = (expected * weight_matrix).sum(axis=(1, 2))
        kappa = 1 - disagree_o / disagree_e
    degenerate = np.isclose(disagree_e, 0.0)
    return np.where(degenerate, np.where(np.isclose(disagree_o, 0.0), 1.0, np.nan), kappa)


def _pair_codes(codes: np.ndarray, i: int, j: int) -> np.ndarray:
    both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
    return codes[both][:, [i, j]]


def cohen_kappa(
    matrix: pd.DataFrame,
    a: str,
    b: str,
    *,
    order: Sequence[str] | None = None,
    weights: Weights | None = None,
) -> tuple[float, int]:
    """Return Cohen's kappa of annotators ``a`` and ``b`` on the items both labelled, and that count.

    Uses :func:`sklearn.metrics.cohen_kappa_score`; with ``weights`` the labels must be ordinal
    and ``order`` gives their order. Perfect agreement on a single label counts as 1.0.

    Raises:
        ValueError: If an annotator is unknown or ``weights`` is set without ``order``.
    """
    from sklearn.metrics import cohen_kappa_score

    _check_weights(weights, order)
    for name in (a, b):
        if name not in matrix.columns:
            raise ValueError(f"unknown annotator {name!r}; expected one of {list(matrix.columns)}")
    pair = matrix[[a, b]].dropna()
    if len(pair) == 0:
        return math.nan, 0
    y1, y2 = pair[a].tolist(), pair[b].tolist()
    if y1 == y2:
        return 1.0, len(pair)
    labels = _categories(matrix[[a, b]], order)
    kappa = cohen_kappa_score(y1, y2, labels=labels, weights=weights, replace_undefined_by=np.nan)
    return float(kappa), len(pair)


def _check_weights(weights: str | None, order: Sequence[str] | None) -> None:
    if weights is not None and weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS} or None, got {weights!r}")
    if weights is not None and order is None:
        raise ValueError("weighted kappa needs the label order (ordinal labels)")


def _alpha_distances(level: Level, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Squared distances between categories (resamples x k x k) for Krippendorff's alpha."""
    k = len(values)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (n_c.shape[0], k, k))
    if level == "interval":
        return np.broadcast_to((values[:, None] - values[None, :]) ** 2, (n_c.shape[0], k, k))
    low = np.minimum(*np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
    high = np.maximum(*np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
    cumulative = np.cumsum(n_c, axis=1)
    between = cumulative[:, high] - cumulative[:, low] + n_c[:, low]
    return (between - (n_c[:, low] + n_c[:, high]) / 2) ** 2


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-item coincidence contributions (items x k*k); items with one label contribute nothing."""
    m = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(counts.shape[1])[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = outer / np.where(m >= 2, m - 1, np.inf)[:, None, None]
    return scaled.reshape(counts.shape[0], -1)


def _alpha_batch(counts: np.ndarray, weights: np.ndarray, level: Level, values: np.ndarray) -> np.ndarray:
    k = counts.shape[1]
    coincidences = (weights @ _unit_coincidences(counts)).reshape(-1, k, k)
    n_c = coincidences.sum(axis=2)
    n = n_c.sum(axis=1)
    delta = _alpha_distances(level, values, n_c)
    observed = (coincidences * delta).sum(axis=(1, 2))
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (n - 1) * observed / expected
    degenerate = np.isclose(expected, 0.0)
    return np.where(degenerate, np.where(np.isclose(observed, 0.0), 1.0, np.nan), alpha)


def _interval_values(categories: Sequence[str], order: Sequence[str] | None) -> np.ndarray:
    try:
        return np.array([float(c) for c in categories])
    except ValueError:
        if order is None:
            raise DatasetError(
                "interval alpha needs numeric labels or an order (labels are then spaced 0, 1, 2, ...)"
            ) from None
        return np.arange(len(categories), dtype=float)


def _alpha_categories(matrix: pd.DataFrame, level: Level, order: Sequence[str] | None) -> list[str]:
    categories = _categories(matrix, order)
    if level == "nominal" or order is not None:
        return categories
    try:
        return sorted(categories, key=float)
    except ValueError:
        raise DatasetError(f"{level} alpha needs numeric labels or the label order") from None


def krippendorff_alpha(
    matrix: pd.DataFrame, *, level: Level = "nominal", order: Sequence[str] | None = None
) -> float:
    """Return Krippendorff's alpha of the label matrix (missing labels allowed).

    Args:
        matrix: The label matrix (items x annotators).
        level: ``nominal``, ``ordinal`` or ``interval``.
        order: The label order (ordinal / interval); without it labels must be numbers.

    Raises:
        ValueError: If ``level`` is unknown.
        DatasetError: If an ordered level is asked for labels with no order.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    categories = _alpha_categories(matrix, level, order)
    counts = _counts(_encode(matrix, categories), len(categories))
    values = (
        _interval_values(categories, order)
        if level == "interval"
        else np.arange(len(categories), dtype=float)
    )
    return float(_alpha_batch(counts, np.ones((1, len(counts))), level, values)[0])


def percent_agreement(matrix: pd.DataFrame) -> float:
    """Return the mean share of agreeing annotator pairs over items with two or more labels."""
    categories = _categories(matrix, None)
    counts = _counts(_encode(matrix, categories), len(categories))
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    if not keep.any():
        return math.nan
    per_item = (counts[keep] * (counts[keep] - 1)).sum(axis=1) / (n_i[keep] * (n_i[keep] - 1))
    return float(per_item.mean())


def fleiss_kappa(matrix: pd.DataFrame) -> float:
    """Return Fleiss' kappa of the label matrix (varying numbers of labels per item allowed)."""
    categories = _categories(matrix, None)
    return fleiss_kappa_from_counts(_counts(_encode(matrix, categories), len(categories)))


def _resample_weights(n: int, n_resamples: int, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def _percentile_ci(samples: np.ndarray) -> tuple[float, float] | None:
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_ci(
    matrix: pd.DataFrame,
    statistic: Literal["fleiss", "alpha", "cohen"],
    *,
    n_resamples: int = 1000,
    seed: int,
    pair: tuple[str, str] | None = None,
    level: Level = "nominal",
    order: Sequence[str] | None = None,
    weights: Weights | None = None,
) -> tuple[float, float] | None:
    """Return a bootstrap 95% confidence interval (items resampled with replacement).

    Args:
        matrix: The label matrix.
        statistic: ``fleiss``, ``alpha`` or ``cohen`` (then ``pair`` names the two annotators).
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the resampling.
        pair: The annotator pair, for ``cohen``.
        level: Level of measurement, for ``alpha``.
        order: Label order (ordinal labels).
        weights: Kappa weights, for ``cohen``.

    Returns:
        ``(low, high)``, or ``None`` when no resample gives a defined value.

    Raises:
        ValueError: If ``statistic`` is unknown, ``n_resamples`` < 1, or ``pair`` is missing for ``cohen``.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if statistic not in ("fleiss", "alpha", "cohen"):
        raise ValueError(f"statistic must be fleiss, alpha or cohen, got {statistic!r}")
    if statistic == "cohen":
        if pair is None:
            raise ValueError("the cohen statistic needs pair=(a, b)")
        return _percentile_ci(_cohen_resamples(matrix, pair, n_resamples, seed, order, weights))
    categories = (
        _alpha_categories(matrix, level, order) if statistic == "alpha" else _categories(matrix, order)
    )
    counts = _counts(_encode(matrix, categories), len(categories))
    counts = counts[counts.sum(axis=1) >= 2]
    if len(counts) == 0:
        return None
    draws = _resample_weights(len(counts), n_resamples, seed=seed)
    if statistic == "fleiss":
        return _percentile_ci(_fleiss_batch(counts, draws))
    values = (
        _interval_values(categories, order)
        if level == "interval"
        else np.arange(len(categories), dtype=float)
    )
    return _percentile_ci(_alpha_batch(counts, draws, level, values))


def _cohen_resamples(
    matrix: pd.DataFrame,
    pair: tuple[str, str],
    n_resamples: int,
    seed: int,
    order: Sequence[str] | None,
    weights: Weights | None,
) -> np.ndarray:
    categories = _categories(matrix[list(pair)], order)
    k = len(categories)
    codes = _pair_codes(_encode(matrix[list(pair)], categories), 0, 1)
    if len(codes) == 0:
        return np.array([np.nan])
    one_hot = np.zeros((len(codes), k * k))
    one_hot[np.arange(len(codes)), codes[:, 0] * k + codes[:, 1]] = 1
    draws = _resample_weights(len(codes), n_resamples, seed=seed)
    return _kappa_batch((draws @ one_hot).reshape(-1, k, k), _weight_matrix(k, weights))
