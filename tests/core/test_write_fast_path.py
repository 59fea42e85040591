"""The writer's fast path (unchanged OpenAI rows from their original row) writes the same bytes."""

import copy

import numpy as np

from core import formats
from tests.conftest import SAMPLE_DATA

SAMPLES = sorted(
    p
    for p in SAMPLE_DATA.rglob("*")
    if p.is_file() and p.name.endswith((".jsonl", ".json", ".csv", ".parquet", ".jsonl.gz"))
)


def _write_both(frame, fmt, monkeypatch):
    fast = formats.write_dataset(frame, fmt)
    with monkeypatch.context() as patch:
        patch.setattr(formats.write, "_DIRECT_FORMATS", ())  # every row through the full record
        slow = formats.write_dataset(frame, fmt)
    return fast, slow


def test_every_sample_in_every_format_is_written_alike(monkeypatch):
    compared = 0
    for path in SAMPLES:
        try:
            loaded = formats.load_dataset(path)
        except formats.FormatError:
            continue  # broken on purpose (sample_data/formats/*_errors, empty, binary)
        for fmt in formats.formats_for_kind(loaded.detection.kind):
            fast, slow = _write_both(loaded.records, fmt, monkeypatch)
            assert fast == slow, (path.name, fmt)
            compared += 1
    assert compared >= 100


def test_edited_and_numpy_rows_are_rebuilt_as_before(monkeypatch):
    loaded = formats.load_dataset(SAMPLE_DATA / "formats" / "openai_sft_valid.jsonl")
    frame = loaded.records.copy()
    messages = copy.deepcopy(frame.at[0, "messages"])
    messages[-1]["content"] += " (edited)"
    frame.at[0, "messages"] = messages
    frame.at[1, "messages"] = np.array(frame.at[1, "messages"], dtype=object)  # as read from Parquet
    frame.at[2, "tools"] = float("nan")
    fast, slow = _write_both(frame, "openai-sft", monkeypatch)
    assert fast == slow
    assert b"(edited)" in fast[0]
