"""How a set of texts is embedded for comparison: the one way every semantic measure embeds its rows.

A static model's raw embeddings share what every row of a set shares (its main language's common
tokens, its boilerplate), which lifts every cosine. :class:`SetEmbedding` measures that once on a set
(its reference): the function words of each of its minority languages
(:func:`core.semantic.function_words.function_words`) and, after they are taken out, its common
direction (:func:`core.semantic.model.common_direction`). :meth:`SetEmbedding.embed` then embeds any
texts under what was measured, so a query embedded on its own (the synthetic validators' new example)
is compared with its references exactly as the references are with each other.

:func:`embed_set` is the usual case, the texts being their own reference: dedup pairs, leakage (both
tables together), novelty, drift's coverage (train and production together), topics and curate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core import lang
from core.semantic.function_words import drop_function_words, function_words
from core.semantic.model import StaticModel, common_direction, load_model, remove_common_direction

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SetEmbedding:
    """What a reference set's rows share: its minority languages' function words and its common direction."""

    model: StaticModel
    words: dict[str, np.ndarray]
    """Per minority language code, a vocabulary mask of the tokens taken out of that language's rows."""
    mean: np.ndarray
    """The common direction taken out of every embedding (the reference's, shrunk for a small set)."""

    def embed(self, texts: Sequence[str | None], *, progress: Progress | None = None) -> np.ndarray:
        """Return unit embeddings of ``texts`` under this reference (``None`` counts as empty)."""
        clean = _clean(texts)
        return self.centre(clean, self.model.embed(clean, progress=progress))

    def centre(self, texts: list[str], raw: np.ndarray) -> np.ndarray:
        """Return the raw embeddings ``raw`` of ``texts`` under this reference."""
        return remove_common_direction(drop_function_words(self.model, texts, raw, self.words), self.mean)


def fit(
    texts: Sequence[str | None], *, raw: np.ndarray | None = None, progress: Progress | None = None
) -> tuple[SetEmbedding, np.ndarray]:
    """Measure the reference ``texts`` and return it with their own embeddings under it.

    Args:
        texts: The reference texts.
        raw: Their raw embeddings (:meth:`StaticModel.embed`) when already made, e.g. kept by an index.
        progress: Called with (rows done, rows) after each batch of the embedding pass.
    """
    model = load_model()
    clean = _clean(texts)
    raw = model.embed(clean, progress=progress) if raw is None else raw
    languages = lang.detect_languages(clean)
    words = function_words(model, clean, raw, languages)
    kept = drop_function_words(model, clean, raw, words, languages)
    reference = SetEmbedding(model, words, common_direction(kept))
    return reference, remove_common_direction(kept, reference.mean)


def embed_set(
    texts: Sequence[str | None], *, reference: SetEmbedding | None = None, progress: Progress | None = None
) -> np.ndarray:
    """Return unit embeddings of ``texts`` for comparison (all-zero rows for texts with no known token).

    Args:
        texts: The texts compared (``None`` counts as empty).
        reference: What to take out, measured on another set (:func:`fit`); by default ``texts`` itself.
        progress: Called with (rows done, rows) after each batch of the embedding pass.
    """
    if reference is not None:
        return reference.embed(texts, progress=progress)
    return fit(texts, progress=progress)[1]


def _clean(texts: Sequence[str | None]) -> list[str]:
    return [t if isinstance(t, str) else "" for t in texts]
