"""Components over edge files in rounds: the same roots as one union-find over all the edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.pipeline import LocalEngine, PipelineConfig
from core.pipeline.components import connect
from core.pipeline.engine import PipelineRun
from core.pipeline.stages import local_components

pytestmark = pytest.mark.timeout(300)


def _edge_files(folder: Path, seed: int, files: int = 5) -> tuple[list, np.ndarray, np.ndarray]:
    """Random edges among a few thousand labels: sparse pairs, stars, self-loops and long chains.

    The chains run over shuffled labels and their links are dealt to every file, so no file (and
    no first local union-find) sees more than pieces of them.
    """
    rng = np.random.default_rng(seed)
    n = 4000
    labels = rng.permutation(n * 4)[:n]
    pairs = [rng.integers(0, n, size=(rng.integers(50, 600), 2))]
    for length in (rng.integers(200, 1200), 64, 2):
        chain = rng.permutation(n)[:length]
        pairs.append(np.stack([chain[:-1], chain[1:]], axis=1))
    hub = rng.integers(0, n)
    pairs.append(np.stack([np.full(40, hub), rng.integers(0, n, 40)], axis=1))
    loops = rng.integers(0, n, 5)
    pairs.append(np.stack([loops, loops], axis=1))
    edges = labels[np.concatenate(pairs)]
    edges = edges[rng.permutation(len(edges))]
    which = rng.integers(0, files, len(edges))
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for k in range(files):
        path = folder / f"edges-{k}.parquet"
        mine = edges[which == k]
        flip = rng.random(len(mine)) < 0.5  # either direction, as the stages write them
        a, b = np.where(flip, mine[:, 1], mine[:, 0]), np.where(flip, mine[:, 0], mine[:, 1])
        pq.write_table(pa.table({"x": a.astype(np.int64), "y": b.astype(np.int64)}), path)
        sources.append((str(path), ("x", "y")))
    return sources, edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)


def _connect(engine, out: Path, sources: list, partitions: int) -> tuple[pa.Table, dict]:
    config = PipelineConfig(inputs=("unused",), out=str(out))
    run = PipelineRun(config, engine, None, out, "test")
    roots = connect(run, "components", sources, out / "unite", "fp", partitions)
    return roots, run.stats["components"]


@pytest.mark.parametrize("seed", range(6))
def test_rounds_give_the_driver_side_union_find(tmp_path, seed):
    sources, a, b = _edge_files(tmp_path / "in", seed)
    nodes, roots = local_components(a, b)
    got, stats = _connect(LocalEngine(1), tmp_path / "out", sources, partitions=1 + seed % 4)
    assert got.column("node").to_numpy().tolist() == nodes.tolist()
    assert got.column("root").to_numpy().tolist() == roots.tolist()
    assert stats["tasks_run"] > len(sources)  # it did take rounds: the chains span files


def test_a_rerun_runs_no_round_and_gives_the_same_roots(tmp_path):
    sources, _, _ = _edge_files(tmp_path / "in", 11)
    first, _ = _connect(LocalEngine(1), tmp_path / "out", sources, 3)
    again, stats = _connect(LocalEngine(1), tmp_path / "out", sources, 3)
    assert stats["tasks_run"] == 0
    assert again.equals(first)


def test_no_edges_give_no_nodes(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"x": np.zeros(0, np.int64), "y": np.zeros(0, np.int64)}), path)
    got, _ = _connect(LocalEngine(1), tmp_path / "out", [(str(path), ("x", "y"))], 2)
    assert got.num_rows == 0


def test_worker_processes_and_ray_give_the_same_roots(tmp_path, ray_session):
    from core.pipeline.ray_engine import RayEngine

    sources, a, b = _edge_files(tmp_path / "in", 23, files=3)
    nodes, roots = local_components(a, b)
    local = LocalEngine(2)
    try:
        by_processes, _ = _connect(local, tmp_path / "local", sources, 2)
    finally:
        local.close()
    by_ray, _ = _connect(RayEngine(2), tmp_path / "ray", sources, 2)
    for got in (by_processes, by_ray):
        assert got.column("node").to_numpy().tolist() == nodes.tolist()
        assert got.column("root").to_numpy().tolist() == roots.tolist()
