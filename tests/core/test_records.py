import json

import hypothesis.strategies as hs
import pytest
from hypothesis import given

from core import records

USER = {"role": "user", "content": "Where is my parcel?"}
REPLY = {"role": "assistant", "content": "It arrives tomorrow."}
PINNED_ID = "091b197bee440447"

json_values = hs.recursive(
    hs.none()
    | hs.booleans()
    | hs.integers(-(2**63), 2**63 - 1)
    | hs.text()
    | hs.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    lambda inner: hs.lists(inner, max_size=4) | hs.dictionaries(hs.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_the_same_json_and_independent_of_key_order(value):
    text = records._canonical_json(value)
    assert json.loads(text) == value
    if isinstance(value, dict):
        assert records._canonical_json(dict(reversed(list(value.items())))) == text


def test_ids_are_pinned():
    # Ids key review samples, annotations and test locks across releases: changing how they are
    # computed orphans all of those, so this value must only change on purpose.
    assert records.content_id("sft", [USER, REPLY]) == PINNED_ID


def test_canonical_json_handles_big_integers():
    assert records._canonical_json({"n": 2**70}) == '{"n":1180591620717411303424}'


def test_id_depends_on_content_not_metadata():
    a = records.make_record("sft", [USER, REPLY], extra={"category": "shipping"}, source_line=3)
    b = records.make_record("sft", [USER, REPLY], extra={"category": "billing", "source": "synthetic"})
    c = records.make_record("sft", [USER, {**REPLY, "content": "Next week."}])
    assert a["id"] == b["id"] != c["id"]
    assert len(a["id"]) == 16


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"role": "user", "content": "plain"}, "plain"),
        (
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}],
            },
            "a\n[image]",
        ),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "track", "arguments": '{"id": 7}'}}],
            },
            'track({"id": 7})',
        ),
        ({"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}, "No."),
    ],
)
def test_message_text(message, text):
    assert records.message_text(message) == text


def test_derived_texts_per_kind():
    sft = records.make_record("sft", [{"role": "system", "content": "Be brief."}, USER, REPLY])
    assert (sft["system_text"], sft["prompt_text"], sft["response_text"], sft["n_turns"]) == (
        "Be brief.",
        USER["content"],
        REPLY["content"],
        2,
    )
    pref = records.make_record(
        "preference", [USER], chosen=[REPLY], rejected=[{**REPLY, "content": "Dunno."}]
    )
    assert (pref["response_text"], pref["rejected_text"], pref["n_turns"]) == (REPLY["content"], "Dunno.", 2)


def test_metadata_becomes_columns_without_clobbering_core_columns():
    rec = records.make_record(
        "sft", [USER, REPLY], extra={"category": "x", "annotator_a": "y", "id": "src-1", "nested": {"a": 1}}
    )
    frame = records.make_frame([rec])
    assert frame.loc[0, "category"] == "x" and frame.loc[0, "annotator_a"] == "y"
    assert frame.loc[0, "meta_id"] == "src-1" and frame.loc[0, "id"] == rec["id"]
    assert "nested" not in frame.columns and frame.loc[0, "extra"]["nested"] == {"a": 1}


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        records.make_record("chat", [USER])


def test_refresh_derived_recomputes_ids_without_mutating_input():
    frame = records.make_frame([records.make_record("sft", [USER, REPLY])])
    before = frame.copy(deep=True)
    edited = frame.copy()
    edited.at[0, "messages"] = [USER, {**REPLY, "content": "Edited."}]
    out = records.refresh_derived(edited)
    assert out.loc[0, "response_text"] == "Edited." and out.loc[0, "id"] != frame.loc[0, "id"]
    assert frame.equals(before)


def test_timestamp_metadata_becomes_a_column():
    import datetime as dt

    import pandas as pd

    when = pd.Timestamp("2026-01-01 10:00")
    rec = records.make_record(
        "sft", [USER, REPLY], extra={"created_at": when, "day": dt.date(2026, 1, 2), "gone": pd.NaT}
    )
    assert rec["created_at"] == "2026-01-01T10:00:00" and rec["day"] == "2026-01-02"
    assert rec["gone"] is None
    assert rec["extra"]["created_at"] == when  # the original value stays for lossless export
