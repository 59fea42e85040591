"""Embeddings with each minority language's function words taken out, then the common direction.

Taking out the mean of a set's embeddings (:func:`core.semantic.model.remove_common_direction`) removes
what the set's rows share, and the mean is mostly the set's main language. The model's vocabulary is
English WordPiece, so a German, Spanish or Chinese row is embedded from that language's own
high-weight pieces ("ich", "der", "##en", "que", "的"), which every row of the language shares and the
English mean does not hold: on the bundled sample a German test row reached cosine 0.90-0.93 with
unrelated German train rows (no word in common but "ich", "der", "Sie").

So, before the mean is taken out, every language other than the set's most common one that has at
least :data:`MIN_ROWS` rows (:func:`core.lang.detect_languages`; undetermined rows are left as they
are) loses, in each of its rows, the tokens found in at least :data:`SHARE` of its rows: its function
words, measured on the rows compared. A restatement keeps the words it shares with its original (two
rows out of the language's rows), so paraphrases in that language are still found. The most common
language's function words are what the set's mean already removes. ``bench/semantic.py`` measures
the effect (README, "Semantic duplicates").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from core import lang
from core.semantic.model import StaticModel, load_model, remove_common_direction

MIN_ROWS = 3
"""Rows a language needs before its shared tokens count as function words (fewer: left as they are)."""
SHARE = 0.4
"""Share of a language's rows a token must appear in to count as one of its function words."""


def embed_centred(texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Return unit embeddings of ``texts``, minority languages' function words and common direction out.

    Args:
        texts: The texts compared together (``None`` counts as empty).
        progress: Called with (rows done, rows) after each batch of the embedding pass.
    """
    model = load_model()
    clean = [t if isinstance(t, str) else "" for t in texts]
    vectors = model.embed(clean, progress=progress)
    return remove_common_direction(drop_function_words(model, clean, vectors))


def drop_function_words(model: StaticModel, texts: list[str], vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` with the rows of each minority language re-embedded without its function words.

    A row made of function words only keeps its embedding (so its copies are still linked).
    """
    languages = lang.detect_languages(texts)
    present = np.any(vectors != 0, axis=1)
    counts = Counter(code for code, here in zip(languages, present, strict=True) if here)
    counts.pop(lang.UNDETERMINED, None)
    if len(counts) < 2:
        return vectors
    main = min(counts, key=lambda code: (-counts[code], code))
    out = vectors.copy()
    codes = np.asarray(languages, dtype=object)
    for code in sorted(counts):
        if code == main or counts[code] < MIN_ROWS:
            continue
        rows = np.flatnonzero((codes == code) & present)
        sums, tokens = model.token_sums([texts[r] for r in rows])
        shared = np.asarray((tokens > 0).sum(axis=0)).ravel() >= max(MIN_ROWS, math.ceil(SHARE * len(rows)))
        if not shared.any():
            continue
        kept = sums - np.asarray(tokens[:, shared] @ model.table[shared], dtype=np.float32)
        norms = np.linalg.norm(kept, axis=1)
        ok = norms > 1e-6 * np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        out[rows[ok]] = kept[ok] / norms[ok, None]
    return out
