"""Novelty: how far each row is from its nearest neighbour, in meaning.

A row's novelty is ``1 - cosine`` to the nearest other row (of the same set, or of a reference set:
the dataset a candidate file or a synthetic batch would join), on embeddings with minority languages'
function words and the common direction removed (:func:`core.semantic.embedding.embed_set`).
0 is a copy, ~0.15 a paraphrase at the app's cosine of 0.85, and larger values say the row adds
something the others do not say. The share of rows under ``1 - cosine`` is the "mostly paraphrases of
what we have?" number.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from core.semantic import index
from core.semantic.embedding import embed_set
from core.semantic.pairs import PairSettings, RawEmbedder, compared, row_texts


@dataclasses.dataclass(frozen=True)
class Novelty:
    """Per row: novelty (1 - nearest cosine) and the nearest row's position (-1: none).

    Attributes:
        scores: ``1 - cosine`` to the nearest neighbour, per row (1.0 for a row with no text or no peer).
        nearest: Position of the nearest neighbour (in the same set, or in the reference set).
        cosine: The threshold at which a row counts as a paraphrase of its neighbour.
    """

    scores: np.ndarray
    nearest: np.ndarray
    cosine: float

    @property
    def paraphrase_share(self) -> float:
        """Share of rows whose nearest neighbour is at or above the cosine (they restate a row)."""
        if len(self.scores) == 0:
            return 0.0
        return float((self.scores <= 1.0 - self.cosine + 1e-6).mean())

    def summary(self) -> dict[str, float | int]:
        """Median, 10th percentile and the paraphrase share, as the command line prints them."""
        if len(self.scores) == 0:
            return {"rows": 0, "median": 1.0, "p10": 1.0, "paraphrase_share": 0.0}
        return {
            "rows": len(self.scores),
            "median": round(float(np.median(self.scores)), 4),
            "p10": round(float(np.percentile(self.scores, 10)), 4),
            "paraphrase_share": round(self.paraphrase_share, 4),
        }


def row_novelty(
    frame: pd.DataFrame,
    settings: PairSettings,
    *,
    against: pd.DataFrame | None = None,
    embed_raw: RawEmbedder | None = None,
) -> Novelty:
    """Return each row's novelty within ``frame``, or against ``against`` when given.

    Args:
        frame: The rows scored.
        settings: Scope of the text compared and the paraphrase cosine.
        against: Reference rows (e.g. the dataset a candidate file would join); ``None``: ``frame``'s
            other rows.
        embed_raw: Gives the raw vectors of ``frame``'s texts (its stored chunks) when ``against`` is None.
    """
    texts = row_texts(frame, settings)
    if against is None:
        vectors = compared(texts, embed_raw=embed_raw)
        nearest, cos = index.nearest_other(vectors)
    else:
        both = embed_set(texts + row_texts(against, settings))
        queries, base = both[: len(texts)], both[len(texts) :]
        nearest, cos = index.nearest(queries, base)
        nearest = np.where(np.any(queries != 0, axis=1), nearest, -1)
    scores = np.where(nearest >= 0, 1.0 - np.clip(cos, -1.0, 1.0), 1.0).astype(np.float32)
    return Novelty(scores=scores, nearest=nearest, cosine=settings.cosine)
