"""Reference texts a new text must not restate: the synthetic validators' paraphrase check.

A generated example that says what a seed, a real row, a test row or an earlier accepted example
already says (embedding cosine >= the threshold) adds nothing but weight to that meaning.
:class:`ParaphraseIndex` holds the references' embeddings with their common direction removed
(:func:`core.semantic.model.remove_common_direction`, the direction taken from the references once
they are loaded) and answers, for a new text, the closest reference at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.semantic.model import common_direction, load_model, remove_common_direction


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
        self._mean = np.zeros(self._model.dims, dtype=np.float32)

    def __len__(self) -> int:
        """Number of references."""
        return len(self._keys)

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Add ``(key, text)`` references and take the common direction of all of them again."""
        pairs = list(items)
        if not pairs:
            return
        self._append(self._model.embed([text for _, text in pairs]), [key for key, _ in pairs])
        n = len(self._keys)
        self._mean = common_direction(self._raw[:n])
        self._unit[:n] = remove_common_direction(self._raw[:n], self._mean)

    def add(self, key: str, text: str) -> None:
        """Add one reference (an accepted example) under the common direction already taken."""
        vector = self._model.embed([text])
        self._append(vector, [key])
        self._unit[len(self._keys) - 1] = remove_common_direction(vector, self._mean)[0]

    def query(self, text: str) -> tuple[str, float] | None:
        """Return the closest reference's key and cosine when it is at or above the threshold."""
        if not self._keys:
            return None
        vector = remove_common_direction(self._model.embed([text]), self._mean)[0]
        if not vector.any():
            return None
        sims = self._unit[: len(self._keys)] @ vector
        best = int(sims.argmax())
        return (self._keys[best], float(sims[best])) if sims[best] >= self.cosine - 1e-6 else None

    def _append(self, vectors: np.ndarray, keys: list[str]) -> None:
        start, end = len(self._keys), len(self._keys) + len(keys)
        if end > len(self._raw):
            size = max(end, 2 * len(self._raw))
            self._raw = np.resize(self._raw, (size, self._raw.shape[1]))
            self._unit = np.resize(self._unit, (size, self._unit.shape[1]))
        self._raw[start:end] = vectors
        self._keys += keys
