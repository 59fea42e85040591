"""The fast paths of the quality signals give the flags the plain per-row code gives."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from core import quality, records
from core.quality import heuristics, language
from tests.quality_corpus import planted

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


def test_pii_read_in_a_forked_child_gives_the_flags_read_here(monkeypatch):
    rows = [record for record, _codes in planted(seed=0)] * 3
    frame = records.make_frame([records.make_record("sft", r["messages"]) for r in rows])
    monkeypatch.setattr(quality, "_FORK_FROM_FIELDS", 10**9)
    here = quality.scan_quality(frame).flags
    monkeypatch.setattr(quality, "_FORK_FROM_FIELDS", 0)
    assert quality.scan_quality(frame).flags == here
    assert any(f.signal == "pii" for f in here) and any(f.signal == "heuristics" for f in here)
