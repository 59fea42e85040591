"""The fast paths of the quality signals give the flags the plain per-row code gives."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from core.quality import heuristics, language

_ALPHABET = st.sampled_from(
    list("ab Zé語.!?,;:()[]{}`\"'»*>-\n\t\x0b\x1c\u00a0\u2028") + ["```", " and", "the"]
)
_REPLIES = st.lists(st.lists(_ALPHABET, max_size=60).map("".join), min_size=1, max_size=20)
_PROOF = settings(max_examples=300, deadline=None, derandomize=True)  # derandomized: the same cases each run


@_PROOF
@given(_REPLIES)
def test_the_truncation_prefilter_drops_only_replies_the_per_row_check_passes(replies):
    text = pa.array(replies, type=pa.large_string())
    fast = [hit[0] for hit in heuristics._truncated(None, None, np.arange(len(replies)), text)]
    assert fast == [i for i, value in enumerate(replies) if heuristics._truncation(value)]


@_PROOF
@given(_REPLIES)
def test_letters_counted_by_runs_are_the_letters_counted_one_by_one(texts):
    text = pa.array(texts, type=pa.large_string())
    by_character = pc.utf8_length(text).to_numpy() - pc.count_substring_regex(text, r"[^\pL]").to_numpy()
    assert language._readable(text).tolist() == (by_character >= language.MIN_LETTERS).tolist()
