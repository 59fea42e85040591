"""load_dataset reports the rows read as it goes (the Upload page's progress bar)."""

import json

from core import formats
from core.formats.load import PROGRESS_ROWS


def _jsonl(n: int) -> bytes:
    row = {
        "messages": [
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "Here."},
        ]
    }
    return b"".join(json.dumps({**row, "n": i}).encode() + b"\n" for i in range(n))


def test_progress_is_called_every_batch_of_rows_and_once_at_the_end():
    seen: list[int] = []
    result = formats.load_dataset(_jsonl(2 * PROGRESS_ROWS + 7), "big.jsonl", progress=seen.append)
    assert seen == [PROGRESS_ROWS, 2 * PROGRESS_ROWS, 2 * PROGRESS_ROWS + 7]
    assert len(result.records) == 2 * PROGRESS_ROWS + 7


def test_the_same_rows_come_out_with_or_without_progress():
    data = _jsonl(30) + b'{"messages": []}\n'
    plain = formats.load_dataset(data, "f.jsonl")
    counted = formats.load_dataset(data, "f.jsonl", progress=lambda done: None)
    assert plain.records["id"].tolist() == counted.records["id"].tolist()
    assert len(plain.quarantine) == len(counted.quarantine) == 1
