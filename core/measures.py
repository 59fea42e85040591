r"""Words, sentences and paragraphs of many texts at once (the last two in Arrow's RE2 kernels).

Each measure has a one-text reference written the obvious way (``len(text.split())`` for words,
:func:`sentence_count`, :func:`paragraph_count`) and a column version that gives the same
numbers for a whole column in a few kernel calls: ``tests/core/test_measures.py`` checks the two
against each other on random texts (Hypothesis). RE2's ``\s`` is ASCII only, so whitespace is
spelled out as the characters Python's ``str.isspace`` accepts (:data:`WHITESPACE`); texts Arrow
cannot hold (lone surrogates) are measured by the reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
"""Every character ``str.isspace`` accepts (what ``str.split`` and ``str.strip`` cut at)."""

SENTENCE_MARKS = ".!?。！？"
_SENTENCE_RE = re.compile(f"[{SENTENCE_MARKS}]+(?=\\s|$)")
_PARAGRAPH_RE = re.compile(r"\n\s*\n")

_WS = "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE)
_SENTENCE_END = f"[{SENTENCE_MARKS}]+(?:[{_WS}]|$)"  # the whitespace is taken, never a mark: same count
_ENDS_WITH_MARK = f"[{SENTENCE_MARKS}][{_WS}]*$"
_PARAGRAPH_BREAK = f"\\n[{_WS}]*\\n"


def sentence_count(text: str) -> int:
    """Return the sentences of ``text``: runs of end marks before whitespace, plus an unended one."""
    stripped = text.strip()
    if not stripped:
        return 0
    ends = len(_SENTENCE_RE.findall(stripped))
    return ends + (0 if stripped[-1] in SENTENCE_MARKS else 1)


def paragraph_count(text: str) -> int:
    """Return the paragraphs of ``text``: blocks between blank lines (0 for a blank text)."""
    stripped = text.strip()
    if not stripped:
        return 0
    return 1 if "\n" not in stripped else len(_PARAGRAPH_RE.findall(stripped)) + 1


def _reference_words(texts: Sequence[str]) -> np.ndarray:
    """Words are counted by ``str.split`` in both: a kernel call costs per match, and words are many."""
    return np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))


def _reference(texts: Sequence[str]) -> dict[str, np.ndarray]:
    n = len(texts)
    return {
        "words": _reference_words(texts),
        "sentences": np.fromiter((sentence_count(t) for t in texts), dtype=np.int64, count=n),
        "paragraphs": np.fromiter((paragraph_count(t) for t in texts), dtype=np.int64, count=n),
    }


def _numbers(values: object) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)  # type: ignore[attr-defined]


def measure(texts: Sequence[str], *, words_only: bool = False) -> dict[str, np.ndarray]:
    """Return ``{"words", "sentences", "paragraphs"}`` of each text as int64 arrays.

    Args:
        texts: The texts (``str`` each).
        words_only: Count words only (the other two keys are left out).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if words_only:
        return {"words": _reference_words(texts)}
    try:
        column = pa.array(texts, type=pa.large_string())
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: not UTF-8, so not Arrow
        return _reference(texts)
    out = {"words": _reference_words(texts)}
    ends = _numbers(pc.count_substring_regex(column, _SENTENCE_END))
    unended = (out["words"] > 0) & ~pc.match_substring_regex(column, _ENDS_WITH_MARK).to_numpy(
        zero_copy_only=False
    )
    out["sentences"] = ends + unended
    stripped = pc.utf8_trim(column, characters=WHITESPACE)
    breaks = _numbers(pc.count_substring_regex(stripped, _PARAGRAPH_BREAK))
    out["paragraphs"] = np.where(out["words"] > 0, breaks + 1, 0)
    return out
