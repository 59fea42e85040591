"""Verification planned from paths and counts: the candidate pairs never reach the driver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.pipeline import LocalEngine, PipelineConfig, run_pipeline, verify
from core.pipeline.components import partition_of
from core.pipeline.planted import generate_rows, write_shards

pytestmark = pytest.mark.timeout(300)

CHAIN = 60  # rows, each the previous one's words shifted by one
WINDOW = 120  # words per chain row: neighbours share 114 of 116 shingles, the ends none


class RecordingEngine:
    """A local engine that keeps every task the driver hands it, by stage function."""

    def __init__(self, workers: int = 1) -> None:
        self._engine = LocalEngine(workers)
        self.name, self.workers = self._engine.name, self._engine.workers
        self.tasks: dict[str, list[dict[str, Any]]] = {}

    def map(self, fn, tasks, on_result):
        self.tasks.setdefault(fn.fn.__name__, []).extend(tasks)
        return self._engine.map(fn, tasks, on_result)

    def close(self) -> None:
        self._engine.close()


def _only_paths_and_scalars(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def test_routing_and_verify_tasks_carry_paths_and_counts_only(tmp_path):
    rows = generate_rows(3000, seed=3, family_share=0.5).rows
    inputs = tmp_path / "in"
    write_shards(rows, inputs, 4, formats=("jsonl",))
    engine = RecordingEngine()
    config = PipelineConfig(inputs=(str(inputs),), out=str(tmp_path / "out"), steps=("validate", "dedup"))
    try:
        summary = run_pipeline(config, engine)
    finally:
        engine.close()
    assert summary["near_removed"] > 0
    routes, blocks = engine.tasks["route_pairs"], engine.tasks["verify_partition"]
    assert len(routes) == config.partitions and blocks
    for task in routes + blocks:
        assert all(_only_paths_and_scalars(v) for v in task.values()), task
    # the only per-row state handed out: the candidate rows' labels, positions and blocks, once each
    out = tmp_path / "out"
    candidates = pq.read_table(out / "buckets" / "_candidates" / verify.CANDIDATES_FILE)
    gathered = np.concatenate([t["g"] for t in engine.tasks["gather_shard"]])
    assert sorted(gathered.tolist()) == candidates.column("node").to_pylist()
    # every candidate pair reached its block through the files, and was verified there
    parts = sorted((out / "buckets").glob("part-*.parquet"))
    pairs = pa.concat_tables(pq.read_table(p, columns=["a", "b"]) for p in parts)
    distinct = {tuple(p) for p in np.stack([pairs["a"].to_numpy(), pairs["b"].to_numpy()], axis=1).tolist()}
    checked = sum(
        json.loads((out / "components" / "_markers" / f"{t['name']}.json").read_text())["rows"]
        for t in blocks
    )
    assert checked == len(distinct)
    assert sum(t["weight"] for t in blocks) == pairs.num_rows


def _chain_rows(seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    words = [f"w{k}x{int(v)}" for k, v in enumerate(rng.integers(0, 10**6, CHAIN + WINDOW))]
    rows = []
    for i in range(CHAIN):
        prompt = " ".join(words[i : i + WINDOW])
        rows.append(
            {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": "ok"}]}
        )
    return rows


def _run(rows: list[dict[str, Any]], folder: Path, partitions: int, shards: int = 5) -> tuple[dict, Path]:
    write_shards(rows, folder / "in", shards, formats=("jsonl",))
    out = folder / "out"
    config = PipelineConfig(
        inputs=(str(folder / "in"),), out=str(out), steps=("validate", "dedup"), partitions=partitions
    )
    engine = LocalEngine(2)
    try:
        return run_pipeline(config, engine), out
    finally:
        engine.close()


def test_a_long_chain_spread_over_partitions_and_shards_is_one_cluster(tmp_path):
    chain = _chain_rows(seed=11)
    filler = generate_rows(400, seed=12, family_share=0.0).rows
    summary, out = _run(chain + filler, tmp_path / "eight", partitions=8)
    assert summary["near_removed"] == CHAIN - 1 and summary["exact_removed"] == 0
    removed = pq.read_table(out / "removed.parquet")
    assert len(set(removed.column("cluster").to_pylist())) == 1
    # the chain's rows hash to several partitions and its pairs come from several bucket partitions,
    # yet all its pairs were routed to the one block of its component
    roots = pq.read_table(out / "buckets" / "_candidates" / verify.CANDIDATES_FILE)
    chain_nodes = roots.column("node").to_numpy()
    assert len(set(partition_of(chain_nodes, 8).tolist())) > 1
    assert len(set(roots.column("root").to_pylist())) == 1
    routed = [
        json.loads(p.read_text())["blocks"]
        for p in sorted((out / "components" / "_pairs" / "_markers").glob("route-*.json"))
    ]
    block = int(partition_of(roots.column("root").to_numpy()[:1], 8)[0])
    assert sum(counts[block] > 0 for counts in routed) > 1
    assert all(counts[q] == 0 for counts in routed for q in range(8) if q != block)
    # the same cluster with one partition, and the chain's two ends alone are no duplicates
    one, out_one = _run(chain + filler, tmp_path / "one", partitions=1)
    assert {k: one[k] for k in ("near_removed", "kept", "clusters")} == {
        k: summary[k] for k in ("near_removed", "kept", "clusters")
    }
    assert pq.read_table(out_one / "removed.parquet").select(["id", "kept_id"]) == removed.select(
        ["id", "kept_id"]
    )
    ends, _ = _run([chain[0], chain[-1]], tmp_path / "ends", partitions=8, shards=2)
    assert ends["near_removed"] == 0
