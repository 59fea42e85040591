"""The column measures (Arrow's RE2 kernels) equal the one-text references on random texts."""

import sys

import hypothesis.strategies as hs
import numpy as np
import pandas as pd
from hypothesis import given, settings

from core import measures, profile

# whitespace of every kind, sentence marks and line breaks are where the two could part
_PIECES = hs.sampled_from(
    ["a", "Hi", "é", "你好", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u3000", "\xa0", "\x85", "\u2028"]
    + list(measures.SENTENCE_MARKS)
    + ["...", "?!", "\x00", "😊"]
)
TEXTS = hs.lists(_PIECES, max_size=12).map("".join) | hs.text(max_size=30)


def test_whitespace_is_every_character_str_isspace_accepts():
    every = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert every == measures.WHITESPACE


@given(hs.lists(TEXTS, max_size=20))
@settings(max_examples=300, deadline=None)
def test_column_measures_equal_the_one_text_references(texts):
    out = measures.measure(texts)
    assert out["words"].tolist() == [len(t.split()) for t in texts]
    assert out["sentences"].tolist() == [measures.sentence_count(t) for t in texts]
    assert out["paragraphs"].tolist() == [measures.paragraph_count(t) for t in texts]


def test_a_text_arrow_cannot_hold_is_measured_by_the_reference():
    texts = ["One. Two\n\nThree", "lone \ud800 surrogate."]
    out = measures.measure(texts)
    assert out["words"].tolist() == [3, 3]
    assert out["sentences"].tolist() == [2, 1]
    assert out["paragraphs"].tolist() == [2, 1]


def test_known_counts():
    out = measures.measure(["", "   ", "Hi. How are you?", "No end mark", "v1.2 is out.", "a\n\n\nb\n \nc"])
    assert out["words"].tolist() == [0, 0, 4, 3, 3, 3]
    assert out["sentences"].tolist() == [0, 0, 2, 1, 1, 1]
    assert out["paragraphs"].tolist() == [0, 0, 1, 1, 1, 3]


@given(hs.lists(hs.tuples(TEXTS, TEXTS), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_measure_texts_of_a_random_table_equals_the_row_wise_measures(rows):
    frame = pd.DataFrame({"prompt_text": [p for p, _ in rows], "response_text": [r for _, r in rows]})
    got = profile.measure_texts(frame)
    patterns = profile.compile_patterns(profile.DEFAULT_NEGATIVE_PATTERNS)
    expected = pd.DataFrame(
        {
            "prompt_words": np.array([len(p.split()) for p, _ in rows], dtype=np.int64),
            "response_words": np.array([len(r.split()) for _, r in rows], dtype=np.int64),
            "prompt_sentences": np.array([measures.sentence_count(p) for p, _ in rows], dtype=np.int64),
            "prompt_paragraphs": np.array([measures.paragraph_count(p) for p, _ in rows], dtype=np.int64),
            "language_detected": got["language_detected"].tolist(),  # core.lang's own tests
            "is_negative": np.array([profile.is_negative(r, patterns) for _, r in rows], dtype=bool),
        }
    )
    pd.testing.assert_frame_equal(got, expected)
