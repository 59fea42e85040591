"""``core dedup`` reads a file in batches: same clusters, ids, summary and output bytes as in memory."""

import numpy as np
import orjson
import pytest

from core import _minhash, dedup, formats
from core.dedup.files import _whole_table, dedup_file
from tests.conftest import SAMPLE_DATA
from tests.core.test_dedup import _planted_corpus

SAMPLES = sorted(
    p
    for p in SAMPLE_DATA.rglob("*")
    if p.is_file() and p.name.endswith((".jsonl", ".json", ".csv", ".parquet", ".jsonl.gz"))
)


def _both(path, config, policy, tmp_path, **options):
    streamed = dedup_file(path, config, policy=policy, out=tmp_path / "streamed", **options)
    whole = _whole_table(path, config, policy, tmp_path / "whole", streamed.format)
    return streamed, whole


def _assert_same(streamed, whole, tmp_path):
    assert streamed.result == whole.result
    assert streamed.summary(tmp_path / "out") == whole.summary(tmp_path / "out")
    assert (tmp_path / "streamed").read_bytes() == (tmp_path / "whole").read_bytes()


def test_every_sample_file_gives_what_the_whole_table_gives(tmp_path):
    compared = 0
    for path in SAMPLES:
        try:
            formats.load_dataset(path)
        except formats.FormatError:
            continue  # broken on purpose
        streamed, whole = _both(path, dedup.DedupConfig(threshold=0.7), "longest", tmp_path, batch_rows=7)
        _assert_same(streamed, whole, tmp_path)
        compared += 1
    assert compared >= 30


@pytest.mark.parametrize("policy", dedup.KEEP_POLICIES)
def test_every_keep_policy_on_the_bundled_sample(policy, tmp_path):
    path = SAMPLE_DATA / "support_sft.jsonl"
    streamed, whole = _both(path, dedup.DedupConfig(), policy, tmp_path, batch_rows=50, processes=2)
    _assert_same(streamed, whole, tmp_path)
    assert streamed.result.removed >= 30  # 15 exact and 15 near duplicates are planted


@pytest.mark.parametrize("processes", [1, 2])
def test_planted_duplicates_across_batches_and_workers(processes, tmp_path):
    texts = _planted_corpus(5)
    lines = [
        orjson.dumps({"messages": [{"role": "user", "content": t}, {"role": "assistant", "content": "ok"}]})
        for t in texts
    ]
    lines.insert(17, b'{"messages": "not a list"}')  # a rejected row does not shift anything
    path = tmp_path / "planted.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    config = dedup.DedupConfig(threshold=0.8)
    streamed, whole = _both(path, config, "longest", tmp_path, batch_rows=16, processes=processes)
    _assert_same(streamed, whole, tmp_path)
    assert streamed.result.exact_duplicates >= 15 and streamed.result.near_duplicates >= 5
    assert streamed.kept_rows == len(texts) - streamed.result.removed


def test_a_file_without_a_valid_row_and_an_unknown_policy(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"messages": "not a list"}\n' * 3)
    streamed, whole = _both(path, dedup.DedupConfig(), "first", tmp_path)
    _assert_same(streamed, whole, tmp_path)
    assert streamed.result.rows == 0 and streamed.kept_rows == 0
    with pytest.raises(ValueError, match="keep policy must be one of"):
        dedup_file(path, dedup.DedupConfig(), policy="oldest")


def test_the_engine_keeps_a_few_hundred_bytes_per_row():
    params = dedup.DedupConfig().engine_params()
    rng = np.random.default_rng(0)
    texts = [" ".join(f"w{k}" for k in rng.integers(0, 5000, 160)) for _ in range(2000)]
    out = _minhash.run_stream(iter([[texts[:1000]], [texts[1000:]]]), params, processes=1)
    held = sum(getattr(out, name).nbytes for name in out.__dataclass_fields__)
    assert held / len(texts) < 1024  # the shingle hashes (4 bytes each) and the band keys


@pytest.mark.parametrize("name", ["planted", "support_sft.jsonl"])
def test_workers_reading_ranges_of_lines_find_the_same(name, tmp_path, monkeypatch):
    from core.dedup import files

    if name == "planted":
        path = tmp_path / "planted.jsonl"
        rows = [
            {"messages": [{"role": "user", "content": t}, {"role": "assistant", "content": "ok"}]}
            for t in _planted_corpus(6)
        ]
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + b"\n\n" + b'{"messages": 3}\n')
    else:
        path = SAMPLE_DATA / name
    monkeypatch.setattr(files, "_RANGE_BYTES", 3000)
    monkeypatch.setattr(files, "_MIN_RANGE_ROWS", 2)
    ranges = files._line_ranges(path)
    assert ranges is not None and len(ranges) >= 10
    assert ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    streamed, whole = _both(path, dedup.DedupConfig(threshold=0.7), "shortest", tmp_path, processes=2)
    _assert_same(streamed, whole, tmp_path)
    assert streamed.result.removed > 0
