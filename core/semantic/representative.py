"""The most representative rows and the outliers: how typical each row is of the rows around it.

A row's typicality is the mean cosine of its embedding (:func:`core.semantic.embedding.embed_set`) to
its :data:`K` nearest other rows. The most representative rows (highest) sit in the middle of a dense
group of rows that say nearly the same thing; the outliers (lowest) are far from every other row: an
off-topic row, a row in another language than the rest, a broken or placeholder text. This is what
SemHash's ``self_find_representative`` and ``self_filter_outliers`` offer, measured here on the
packaged model with every row's reason given (its score and its nearest row).

Up to :data:`EXACT_UP_TO` rows every row is compared with every other; past it, with a seeded sample of
:data:`EXACT_UP_TO` rows (the neighbourhood's density estimated on the sample), so a 100k-row version
costs 100k x 20k products, not 100k squared. Rows without text get no score and are neither.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.semantic.pairs import PairSettings, RawEmbedder, compared, row_texts

K = 5
"""Nearest other rows whose mean cosine is a row's typicality."""
EXACT_UP_TO = 20_000
"""Up to this many rows with text, each is compared with all; past it, with a seeded sample this size."""
_BLOCK = 512


@dataclasses.dataclass(frozen=True)
class Typicality:
    """Per row: mean cosine to its nearest other rows (NaN without text), and its nearest row (-1: none)."""

    scores: np.ndarray
    nearest: np.ndarray
    nearest_cosine: np.ndarray
    k: int

    def representative(self, n: int) -> np.ndarray:
        """Positions of the ``n`` rows with the highest typicality, highest first (ties by position)."""
        return self._ranked(-self.scores, n)

    def outliers(self, n: int) -> np.ndarray:
        """Positions of the ``n`` rows with the lowest typicality, lowest first (ties by position)."""
        return self._ranked(self.scores, n)

    def reason(self, position: int, where: Callable[[int], str] = lambda p: f"row {p + 1}") -> str:
        """Why the row ranks where it does: its score over its neighbours and the nearest one."""
        if np.isnan(self.scores[position]):
            return "no text to embed"
        nearest = int(self.nearest[position])
        return (
            f"mean cosine {self.scores[position]:.2f} to its {self.k} nearest rows"
            f" (nearest: {where(nearest)}, cosine {self.nearest_cosine[position]:.2f})"
        )

    def _ranked(self, keys: np.ndarray, n: int) -> np.ndarray:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        scored = np.flatnonzero(~np.isnan(self.scores))
        order = scored[np.lexsort((scored, keys[scored]))]
        return order[:n]


def typicality(vectors: np.ndarray, *, k: int = K, seed: int = 0) -> Typicality:
    """Return the :class:`Typicality` of unit ``vectors`` (rows of zeros have no text).

    Raises:
        ValueError: If ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = len(vectors)
    scores = np.full(n, np.nan, dtype=np.float32)
    nearest = np.full(n, -1, dtype=np.int64)
    nearest_cos = np.zeros(n, dtype=np.float32)
    rows = np.flatnonzero(np.any(vectors != 0, axis=1))
    if len(rows) < 2:
        return Typicality(scores, nearest, nearest_cos, k)
    base = rows
    if len(rows) > EXACT_UP_TO:
        base = np.sort(np.random.default_rng(seed).choice(rows, size=EXACT_UP_TO, replace=False))
    x = np.ascontiguousarray(vectors[base], dtype=np.float32)
    take = min(k, len(base) - 1)
    base_at = {int(r): i for i, r in enumerate(base)}
    for start in range(0, len(rows), _BLOCK):
        chunk = rows[start : start + _BLOCK]
        sims = vectors[chunk].astype(np.float32) @ x.T
        for i, row in enumerate(chunk):  # not itself
            j = base_at.get(int(row))
            if j is not None:
                sims[i, j] = -np.inf
        top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        top_cos = np.take_along_axis(sims, top, axis=1)
        scores[chunk] = top_cos.mean(axis=1)
        best = top_cos.argmax(axis=1)
        nearest[chunk] = base[top[np.arange(len(chunk)), best]]
        nearest_cos[chunk] = top_cos[np.arange(len(chunk)), best]
    return Typicality(scores, nearest, nearest_cos, take)


def place(frame: pd.DataFrame, position: int) -> str:
    """How a person finds a row: ``line 12`` of the source file, else ``example 12`` (1-based)."""
    line = frame["source_line"].iloc[position] if "source_line" in frame.columns else None
    return f"line {int(line)}" if line is not None and pd.notna(line) else f"example {position + 1}"


def ranked_rows(frame: pd.DataFrame, found: Typicality, positions: np.ndarray) -> list[dict[str, Any]]:
    """The rows at ``positions`` as the command line lists them: line, id, score and reason."""
    line = frame["source_line"] if "source_line" in frame.columns else pd.Series([None] * len(frame))
    return [
        {
            "line": int(line.iloc[p]) if pd.notna(line.iloc[p]) else None,
            "id": str(frame["id"].iloc[p]),
            "score": round(float(found.scores[p]), 4),
            "reason": found.reason(int(p), lambda q: place(frame, q)),
        }
        for p in positions
    ]


def row_typicality(
    frame: pd.DataFrame,
    settings: PairSettings | None = None,
    *,
    k: int = K,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    embed_raw: RawEmbedder | None = None,
) -> Typicality:
    """Return the :class:`Typicality` of ``frame``'s rows, the text compared under ``settings``' scope.

    ``embed_raw``: the raw vectors of the texts when stored (a version's chunks); ``progress`` is then unused.
    """
    texts = row_texts(frame, settings or PairSettings())
    return typicality(compared(texts, progress=progress, embed_raw=embed_raw), k=k, seed=seed)
