"""Each minority language's function words, taken out of its rows before the common direction.

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
the effect (README, "Semantic duplicates"); :mod:`core.semantic.embedding` applies both.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from core import lang
from core.semantic.model import StaticModel

MIN_ROWS = 3
"""Rows a language needs before its shared tokens count as function words (fewer: left as they are)."""
SHARE = 0.4
"""Share of a language's rows a token must appear in to count as one of its function words."""


def function_words(
    model: StaticModel, texts: list[str], vectors: np.ndarray, languages: Sequence[str]
) -> dict[str, np.ndarray]:
    """Return, per minority language of ``texts`` (raw embeddings ``vectors``), its function words' mask.

    The mask is over the model's vocabulary: the tokens found in at least :data:`SHARE` of the
    language's rows (and at least :data:`MIN_ROWS`). The most common language gets none. ``languages``:
    :func:`core.lang.detect_languages` of ``texts``.
    """
    present = np.any(vectors != 0, axis=1)
    counts = Counter(code for code, here in zip(languages, present, strict=True) if here)
    counts.pop(lang.UNDETERMINED, None)
    if len(counts) < 2:
        return {}
    main = min(counts, key=lambda code: (-counts[code], code))
    codes = np.asarray(languages, dtype=object)
    masks: dict[str, np.ndarray] = {}
    for code in sorted(counts):
        if code == main or counts[code] < MIN_ROWS:
            continue
        rows = np.flatnonzero((codes == code) & present)
        _, tokens = model.token_sums([texts[r] for r in rows])
        shared = np.asarray((tokens > 0).sum(axis=0)).ravel() >= max(MIN_ROWS, math.ceil(SHARE * len(rows)))
        if shared.any():
            masks[code] = shared
    return masks


def drop_function_words(
    model: StaticModel,
    texts: list[str],
    vectors: np.ndarray,
    words: dict[str, np.ndarray],
    languages: Sequence[str] | None = None,
) -> np.ndarray:
    """Return ``vectors`` with each row of a language in ``words`` re-embedded without that language's mask.

    A row made of function words only keeps its embedding (so its copies are still linked).
    ``languages``: the texts' languages when already detected.
    """
    if not words:
        return vectors
    codes = np.asarray(lang.detect_languages(texts) if languages is None else languages, dtype=object)
    present = np.any(vectors != 0, axis=1)
    out = vectors.copy()
    for code, shared in words.items():
        rows = np.flatnonzero((codes == code) & present)
        if not len(rows):
            continue
        sums, tokens = model.token_sums([texts[r] for r in rows])
        kept = sums - np.asarray(tokens[:, shared] @ model.table[shared], dtype=np.float32)
        norms = np.linalg.norm(kept, axis=1)
        ok = norms > 1e-6 * np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        out[rows[ok]] = kept[ok] / norms[ok, None]
    return out
