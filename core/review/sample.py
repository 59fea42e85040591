"""The review sample: a fixed, stratified, seeded share of a batch, in the order a reviewer sees it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_FRACTION = 0.1
DEFAULT_MINIMUM = 20
_STRATA = ("category", "mode")


def sample_size(n: int, *, fraction: float = DEFAULT_FRACTION, minimum: int = DEFAULT_MINIMUM) -> int:
    """Return how many of ``n`` examples to review: ceil(fraction * n), at least ``minimum``, at most n.

    Raises:
        ValueError: If ``fraction`` is not in (0, 1] or ``minimum`` / ``n`` is negative.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if minimum < 0 or n < 0:
        raise ValueError(f"n and minimum must be >= 0, got n={n}, minimum={minimum}")
    # Round before ceil so that 0.1 * 30 = 3.0000000000000004 counts as 3, not 4.
    return min(n, max(minimum, math.ceil(round(fraction * n, 9))))


@dataclass(frozen=True)
class ReviewSample:
    """The examples of one batch to review, in the order a reviewer sees them."""

    ids: tuple[str, ...]
    strata: tuple[str, ...]
    seed: int
    by_stratum: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of examples in the sample."""
        return len(self.ids)

    def to_json(self) -> dict[str, Any]:
        """Return the command line's JSON shape."""
        return {"size": self.size, "seed": self.seed, "ids": list(self.ids), "by_stratum": self.by_stratum}


def stratum_labels(frame: pd.DataFrame, strata: Sequence[str] = _STRATA) -> pd.Series:
    """Return one label per row joining the stratum columns that exist (``"billing|variations"``)."""
    present = [c for c in strata if c in frame.columns]
    if not present:
        return pd.Series(["all"] * len(frame), index=frame.index, dtype=object)
    parts = [frame[c].astype(object).where(frame[c].notna(), "unlabelled").astype(str) for c in present]
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + "|" + part
    return labels


def _allocate(counts: pd.Series, size: int) -> dict[str, int]:
    """Split ``size`` over strata in proportion to ``counts`` (largest remainder, capped by counts)."""
    total = int(counts.sum())
    exact = counts / total * size
    alloc = np.floor(exact).astype(int).clip(upper=counts)
    remainder = (exact - alloc).sort_values(ascending=False, kind="stable")
    left = size - int(alloc.sum())
    while left > 0:
        for name in remainder.index:
            if left == 0:
                break
            if alloc[name] < counts[name]:
                alloc[name] += 1
                left -= 1
    return {str(k): int(v) for k, v in alloc.items() if v > 0}


def draw_sample(
    frame: pd.DataFrame,
    *,
    seed: int,
    fraction: float = DEFAULT_FRACTION,
    minimum: int = DEFAULT_MINIMUM,
    strata: Sequence[str] = _STRATA,
    exclude: Sequence[str] = (),
) -> ReviewSample:
    """Draw a stratified review sample of ``frame`` (rows with an ``id`` column).

    Args:
        frame: The batch's validator-passing examples.
        seed: Seed of the draw; the same seed and rows give the same sample.
        fraction: Share to review (default 10%).
        minimum: Smallest sample (all rows when the batch is smaller).
        strata: Columns to stratify by (those missing are ignored).
        exclude: Ids already sampled (for extending a sample).

    Returns:
        The sample, shuffled into review order.
    """
    pool = frame[~frame["id"].isin(list(exclude))].drop_duplicates("id")
    size = min(len(pool), sample_size(len(frame), fraction=fraction, minimum=minimum) - len(exclude))
    if size <= 0:
        return ReviewSample((), (), seed, {})
    rng = np.random.default_rng(seed)
    labels = stratum_labels(pool, strata)
    counts = labels.value_counts().sort_index()
    picked: list[tuple[str, str]] = []
    for name, k in _allocate(counts, size).items():
        members = pool.loc[labels == name, "id"].tolist()
        picked.extend((members[i], name) for i in rng.choice(len(members), size=k, replace=False))
    order = rng.permutation(len(picked))
    ids = tuple(picked[i][0] for i in order)
    names = tuple(picked[i][1] for i in order)
    return ReviewSample(ids, names, seed, dict(pd.Series(names).value_counts().sort_index().items()))
