"""Reference texts a new text must not restate: the synthetic validators' paraphrase check.

A generated example that says what a seed, a real row, a test row or an earlier accepted example
already says (embedding cosine >= the threshold) adds nothing but weight to that meaning.
:class:`ParaphraseIndex` holds the references' embeddings with their common direction removed
(:class:`core.semantic.embedding.SetEmbedding`: the references' minority languages' function words and
common direction, measured once they are loaded, then applied to each text added or
asked about) and answers, for a new text, the closest reference at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.semantic import embedding
from core.semantic.model import load_model


class ParaphraseIndex:
    """Embeddings of reference texts, each under a key such as ``real:<id>`` or ``synthetic:<id>``."""

    def __init__(self, cosine: float) -> None:
        """Make an empty index that matches at or above ``cosine``.

        Raises:
            ValueError: If ``cosine`` is not in (0, 1].
        """
        if not 0.0 < cosine <= 1.0:
            raise ValueError(f"paraphrase cosine must be in (0, 1], got {cosine!r}")
        self.cosine = cosine
        self._model = load_model()
        self._keys: list[str] = []
        # raw and centred rows in buffers that double when full: adding one row is not a copy of all
        self._raw = np.zeros((64, self._model.dims), dtype=np.float32)
        self._unit = np.zeros_like(self._raw)
        self._texts: list[str] = []
        self._reference: embedding.SetEmbedding | None = None

    def __len__(self) -> int:
        """Number of references."""
        return len(self._keys)

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Add ``(key, text)`` references and measure what all of them share again."""
        pairs = list(items)
        if not pairs:
            return
        texts = [text for _, text in pairs]
        self._append(self._model.embed(texts), [key for key, _ in pairs], texts)
        n = len(self._keys)
        self._reference, self._unit[:n] = embedding.fit(self._texts, raw=self._raw[:n])

    def add(self, key: str, text: str) -> None:
        """Add one reference (an accepted example) under what the references were measured to share."""
        vector = self._model.embed([text])
        self._append(vector, [key], [text])
        self._unit[len(self._keys) - 1] = self._centre([text], vector)[0]

    def query(self, text: str) -> tuple[str, float] | None:
        """Return the closest reference's key and cosine when it is at or above the threshold."""
        if not self._keys:
            return None
        vector = self._centre([text], self._model.embed([text]))[0]
        if not vector.any():
            return None
        sims = self._unit[: len(self._keys)] @ vector
        best = int(sims.argmax())
        return (self._keys[best], float(sims[best])) if sims[best] >= self.cosine - 1e-6 else None

    def _centre(self, texts: list[str], raw: np.ndarray) -> np.ndarray:
        if self._reference is None:  # only accepted examples so far: nothing measured to take out
            return raw
        return self._reference.centre(texts, raw)

    def _append(self, vectors: np.ndarray, keys: list[str], texts: list[str]) -> None:
        start, end = len(self._keys), len(self._keys) + len(keys)
        if end > len(self._raw):
            size = max(end, 2 * len(self._raw))
            self._raw = np.resize(self._raw, (size, self._raw.shape[1]))
            self._unit = np.resize(self._unit, (size, self._unit.shape[1]))
        self._raw[start:end] = vectors
        self._keys += keys
        self._texts += texts
