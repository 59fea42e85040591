"""What is measured on the texts themselves: words, sentences, paragraphs, language, negatives.

Languages come from :mod:`core.lang` (each distinct prompt once; a forked child detects most of
them for big tables while this process measures the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from core import _fork, lang, measures
from core.profile.columns import _texts
from core.profile.negatives import DEFAULT_NEGATIVE_PATTERNS, compile_patterns, is_negative

_FORK_FROM_TEXTS = 20_000  # below this a forked child costs more than it saves
_CHILD_SHARE = 0.7  # of the texts to detect; this process also measures words, sentences, negatives


TEXT_MEASURES = (
    "prompt_words",
    "response_words",
    "prompt_sentences",
    "prompt_paragraphs",
    "language_detected",
    "is_negative",
)


def measure_texts(
    frame: pd.DataFrame, negative_patterns: Sequence[str] = DEFAULT_NEGATIVE_PATTERNS
) -> pd.DataFrame:
    """Measure what does not depend on the tokenizer: words, sentences, language, negative flag.

    This and the token counts are the slow part of :func:`compute_features` (seconds on 100,000
    rows), so :mod:`core.derived` keeps both with the dataset version.

    Returns:
        One row per example (positions 0..n-1), columns :data:`TEXT_MEASURES`.
    """
    prompts, responses = _texts(frame, "prompt_text").tolist(), _texts(frame, "response_text").tolist()
    patterns = compile_patterns(negative_patterns)
    distinct = list(dict.fromkeys(prompts))
    languages = _languages_of(distinct)  # in a forked child for big tables, while the rest runs here
    prompt = measures.measure(prompts)
    measured = pd.DataFrame(
        {
            "prompt_words": prompt["words"],
            "response_words": measures.measure(responses, words_only=True)["words"],
            "prompt_sentences": prompt["sentences"],
            "prompt_paragraphs": prompt["paragraphs"],
            "is_negative": np.fromiter(
                (is_negative(r, patterns) for r in responses), dtype=bool, count=len(responses)
            ),
        }
    )
    by_text = dict(zip(distinct, languages(), strict=True))
    measured.insert(4, "language_detected", [by_text[p] for p in prompts])
    return measured


def _languages_of(texts: list[str]) -> Callable[[], list[str]]:
    """Start :func:`core.lang.detect_languages` of ``texts``; the returned call gives the codes.

    For many texts a forked child detects the first :data:`_CHILD_SHARE` of them while this
    process measures the rest of the table, and then detects the remaining texts itself.
    """
    if len(texts) < _FORK_FROM_TEXTS or not _fork.can_fork():
        return lambda: lang.detect_languages(texts)
    lang.warm_up()  # loaded before the fork: the child shares it
    head, tail = texts[: int(len(texts) * _CHILD_SHARE)], texts[int(len(texts) * _CHILD_SHARE) :]

    def decode(data: bytes) -> list[str]:
        codes = data.decode("utf-8").split("\n") if data else []
        if len(codes) != len(head):
            raise ValueError(f"{len(codes)} language codes for {len(head)} texts")
        return codes

    child = _fork.ForkedCall(
        lambda: lang.detect_languages(head),
        encode=lambda codes: "\n".join(codes).encode("utf-8"),
        decode=decode,
    )

    def result() -> list[str]:
        own = lang.detect_languages(tail)
        return child.result() + own

    return result
