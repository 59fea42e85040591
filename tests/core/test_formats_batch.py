"""The read loop's clean-row fast path gives what the per-row validator gives, and batch token counts."""

import json

import hypothesis.strategies as hs
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings

from core import formats, tokens
from core.errors import FormatError

MODEL = "gpt-4.1-mini"
TEXTS = hs.sampled_from(["Where is my order?", "It shipped.", "", "  ", "Réponds en français 😊", "x\ny"])
ROLES = hs.sampled_from(["system", "user", "assistant", "user", "assistant", "developer", "tool", "boss"])


@hs.composite
def messages(draw):
    out = []
    for _ in range(draw(hs.integers(0, 5))):
        message = {"role": draw(ROLES), "content": draw(TEXTS)}
        change = draw(hs.sampled_from(["none"] * 6 + ["no_content", "null", "name", "weight", "number"]))
        if change == "no_content":
            del message["content"]
        elif change == "null":
            message["content"] = None
        elif change == "name":
            message["name"] = "ann"
        elif change == "weight":
            message["weight"] = draw(hs.sampled_from([0, 1, 2]))
        elif change == "number":
            message["content"] = 7
        out.append(message)
    return out


CLEAN = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
METADATA = hs.dictionaries(
    hs.sampled_from(["category", "id", "source", "difficulty", "note", "tools", "functions", "prompt"]),
    hs.one_of(hs.none(), hs.integers(-3, 3), TEXTS, hs.just({"a": 1}), hs.just([1, 2])),
    max_size=3,
)


@hs.composite
def rows(draw):
    kind = draw(hs.sampled_from(["clean"] * 5 + ["random", "broken", "not_object", "no_messages"]))
    if kind == "broken":
        return '{"messages": [{"role": "user"'
    if kind == "not_object":
        return json.dumps(draw(hs.sampled_from([[1], "text", 3])))
    extra = draw(METADATA)
    if kind == "no_messages":
        return json.dumps({"text": "hello", **extra})
    if kind == "clean":
        body = [*CLEAN, {"role": "assistant", "content": draw(TEXTS.filter(lambda t: t.strip()))}]
    else:
        body = draw(messages())
    return json.dumps({"messages": body, **extra}, ensure_ascii=draw(hs.booleans()))


def load(lines, fast, format):
    formats._Run.fast_path = fast
    try:
        return formats.load_dataset("\n".join(lines).encode(), "rows.jsonl", format=format, model=MODEL)
    except FormatError as exc:
        return str(exc)
    finally:
        formats._Run.fast_path = True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.lists(rows(), min_size=1, max_size=40), hs.sampled_from([None, "openai-sft"]))
def test_fast_path_gives_the_per_row_records_and_problems(lines, format):
    fast, reference = load(lines, True, format), load(lines, False, format)
    if isinstance(reference, str):
        assert fast == reference
        return
    event(f"records: {min(len(fast.records), 3)}, quarantined: {min(len(fast.quarantine), 3)}")
    pd.testing.assert_frame_equal(fast.records, reference.records)
    pd.testing.assert_frame_equal(fast.quarantine, reference.quarantine)
    assert fast.problems == reference.problems
    assert fast.token_stats == reference.token_stats
    assert fast.rows_read == reference.rows_read


def test_clean_rows_take_the_fast_path_and_keep_their_warnings(monkeypatch):
    seen = []
    real = formats.batch.plain_sft
    monkeypatch.setattr(formats.batch, "plain_sft", lambda *a: seen.append(real(*a)) or seen[-1])
    row = {"messages": [*CLEAN, {"role": "assistant", "content": "Hello"}], "category": "billing"}
    result = load([json.dumps(row)] * 12, True, None)
    assert all(s is not None for s in seen) and len(seen) == 12
    assert result.records["category"].tolist() == ["billing"] * 12
    codes = [p.code for p in result.problems]
    assert codes == ["unknown_top_level_key"]  # twelve collapsed into one, as on the per-row path
    assert "12 rows" in result.problems[0].message


@pytest.mark.parametrize("parallel", [False, True])
def test_text_counts_in_batches_equal_one_count_per_text(parallel):
    texts = [f"order {i} " * (i % 17) + "é😊" for i in range(3000)]
    counts = tokens.TextCounts("o200k_base", parallel=parallel)
    for start in range(0, len(texts), 500):
        counts.add(texts[start : start + 500])
    expected = [tokens.count_text(t) for t in texts]
    assert np.array_equal(counts.counts(), np.array(expected, dtype=np.int64))


def test_tokens_counted_during_the_read_equal_the_frame_counts(tmp_path):
    rows = [
        {"messages": [*CLEAN, {"role": "assistant", "content": f"Answer number {i} " * (i % 9 + 1)}]}
        for i in range(40_000)
    ]
    rows[7] = {
        "messages": [{"role": "user", "content": "Hi", "name": "ann"}, CLEAN[1] | {"role": "assistant"}]
    }
    path = tmp_path / "sft.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = formats.load_dataset(path, model=MODEL)  # 120k texts: batches go to the worker
    expected = tokens.count_training_tokens(result.records, model=MODEL, workers=1)
    assert result.records["n_tokens"].tolist() == expected.tolist()
