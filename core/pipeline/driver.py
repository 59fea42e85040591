"""The driver: plans each stage's tasks, skips the finished ones, runs the rest on an engine.

The driver holds ids and small per-row state only (row labels, exact keys, lengths,
cluster roots); every shard's text is read by the worker that processes it. Stage
directories under ``out``: ``validate``, ``measure``, ``signatures``, ``buckets``, ``components``,
``kept`` (the filter stage), ``split``, ``export`` (the rounds of components in
``buckets/_candidates`` and ``components/_unite``, the candidate pairs routed to their
verification blocks in ``components/_pairs``: ``_`` folders, which Parquet readers skip);
plus ``quarantine.parquet``, ``removed.parquet``, ``export/manifest.json``, ``progress.json``
(each stage's figures as it runs) and ``run.json`` (summary, settings, inputs).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import _minhash
from core.pipeline import components, measure, stages, store, verify
from core.pipeline.engine import Engine, PipelineRun, expand_inputs
from core.pipeline.plan import (
    SPLITS,
    PipelineConfig,
    assign_splits,
    choose_kept,
    removed_table,
    split_of,
    write_manifest,
)
from core.pipeline.progress import RECORD_FILE, ProgressRecord, StageProgress

RUN_FILE = "run.json"  # the last run's summary, settings and input shards


def run_pipeline(config: PipelineConfig, engine: Engine, *, stream: TextIO | None = None) -> dict[str, Any]:
    """Run the pipeline over ``config.inputs`` into ``config.out``; return the summary.

    Args:
        config: What to read, which steps, and their settings.
        engine: Where the tasks run.
        stream: Where progress lines go (``None``: nowhere).

    Returns:
        The summary printed by ``python -m core pipeline --json``.
    """
    run = PipelineRun(config, engine, stream, Path(config.out), store.code_version())
    run.record = ProgressRecord(run.out / RECORD_FILE)
    shards = expand_inputs(config.inputs)
    v_fps = [store.fingerprint(store.file_facts(p), config.format, run.code) for p in shards]
    _validate(run, shards, v_fps)
    index = _index(run, len(shards))
    summary: dict[str, Any] = _quarantine(run, len(shards))
    summary["valid"] = int(len(index["g"]))
    upstream = store.fingerprint(v_fps)
    if "measure" in config.steps:
        _measure(run, index, upstream)
    removed = np.zeros(0, np.int64)
    decisions = None
    if "dedup" in config.steps:
        upstream, decisions = _dedup(run, index, upstream)
        removed = decisions["g"][decisions["removed"]]
    upstream = _filter(run, index, removed, upstream)
    assign = _split(run, upstream, len(shards)) if "split" in config.steps else None
    upstream = store.fingerprint(upstream, "split" in config.steps, config.val, config.test, config.seed)
    if decisions is not None:
        store.write_table(run.out / "removed.parquet", removed_table(decisions, index, assign))
    splits = _split_counts(assign, run, len(shards))
    if "export" in config.steps:
        _export(run, assign, len(shards), upstream)
    summary.update(_dedup_counts(decisions, summary["valid"]))
    summary.update(
        engine=engine.name, workers=engine.workers, splits=splits, stages=run.stats, out=str(run.out)
    )
    summary["rows_in"] = summary["valid"] + summary["invalid"]
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "out"}
    record = {"summary": summary, "settings": settings, "shards": shards}
    store.write_bytes(run.out / RUN_FILE, json.dumps(record, indent=1, default=str).encode())
    return summary


# -- validate and the row index ------------------------------------------------------------------


def _validate(run: PipelineRun, shards: list[str], fps: list[str]) -> None:
    out = str(run.dir("validate"))
    tasks = [
        {
            "shard": i,
            "name": f"part-{i:05d}",
            "path": p,
            "format": run.config.format,
            "out": out,
            "fp": fps[i],
        }
        for i, p in enumerate(shards)
    ]
    run.stage("validate", stages.validate_shard, tasks)


def _index(run: PipelineRun, shards: int) -> dict[str, Any]:
    """Give every valid row its label ``g``: its rank by (content id, source-row hash)."""
    parts = [run.dir("validate") / f"part-{i:05d}.parquet" for i in range(shards)]
    table = store.read_tables(parts, ["id", "rowhash"])
    sizes = [pq.read_metadata(p).num_rows for p in parts]
    order = pc.sort_indices(table, sort_keys=[("id", "ascending"), ("rowhash", "ascending")]).to_numpy()
    g = np.empty(len(order), dtype=np.int64)
    g[order] = np.arange(len(order), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    shard_of = np.repeat(np.arange(shards), sizes)
    pos = np.arange(len(g)) - offsets[shard_of]
    by_g = np.empty_like(g)
    by_g[g] = np.arange(len(g))
    return {
        "g": g,
        "offsets": offsets,
        "shard_of_g": shard_of[by_g],
        "pos_of_g": pos[by_g],
        "ids": table.column("id").take(pa.array(order)),  # ids in g order
    }


def _measure(run: PipelineRun, index: dict[str, Any], upstream: str) -> None:
    fp = store.fingerprint(upstream, "measure", run.config.model, run.code)
    extra = {"model": run.config.model}
    shards = len(index["offsets"]) - 1
    tasks = [
        _shard_task(run, index, i, run.dir("measure"), store.fingerprint(fp, i), extra) for i in range(shards)
    ]
    run.stage("measure", measure.measure_shard, tasks)


def _shard_g(index: dict[str, Any], i: int) -> np.ndarray:
    return np.asarray(index["g"][index["offsets"][i] : index["offsets"][i + 1]])


def _shard_task(
    run: PipelineRun, index: dict[str, Any], i: int, out: Path, fp: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """A task over validated shard ``i``: its part, its row labels, where to write, plus ``extra``."""
    return {
        "shard": i,
        "name": f"part-{i:05d}",
        "source": str(run.dir("validate") / f"part-{i:05d}.parquet"),
        "g": _shard_g(index, i),
        "out": str(out),
        "fp": fp,
        **extra,
    }


def _quarantine(run: PipelineRun, shards: int) -> dict[str, Any]:
    parts = [run.dir("validate") / f"quarantine-{i:05d}.parquet" for i in range(shards)]
    table = store.read_tables(parts)
    pq.write_table(table, run.out / "quarantine.parquet")
    first = table.select(["file", "line", "codes", "reason"]).slice(0, 20).to_pylist()
    return {"invalid": table.num_rows, "problems": first}


# -- dedup: signatures, buckets, components -----------------------------------------------------


def _dedup(run: PipelineRun, index: dict[str, Any], upstream: str) -> tuple[str, dict[str, np.ndarray]]:
    config = run.config
    shards = len(index["offsets"]) - 1
    params = config.dedup.engine_params()
    sig_fp = store.fingerprint(upstream, dataclasses.asdict(params), config.partitions, run.code)
    sig_dir = run.dir("signatures")
    extra = {"params": params, "partitions": config.partitions}
    tasks = [_shard_task(run, index, i, sig_dir, store.fingerprint(sig_fp, i), extra) for i in range(shards)]
    run.stage("signatures", stages.signatures_shard, tasks)
    buckets = [
        {
            "partition": p,
            "name": f"part-{p:05d}",
            "keys": [str(sig_dir / stages.keys_name(i, p)) for i in range(shards)],
            "out": str(run.dir("buckets")),
            "fp": store.fingerprint(sig_fp, p),
        }
        for p in range(config.partitions)
    ]
    run.stage("buckets", stages.bucket_partition, buckets, unit="keys")
    parts = range(config.partitions)
    comp = run.dir("components")
    comp_fp = store.fingerprint(sig_fp, config.dedup.threshold)
    near = [(str(run.dir("buckets") / f"part-{p:05d}.parquet"), ("a", "b")) for p in parts]
    cand_dir = run.dir("buckets") / "_candidates"
    cand_fp = store.fingerprint(sig_fp, "candidates")
    candidates = components.connect(run, "buckets", near, cand_dir, cand_fp, config.partitions)
    blocks = _verify(run, candidates, index, sig_dir, comp_fp)
    signatures = store.read_tables(
        [sig_dir / f"part-{i:05d}.parquet" for i in range(shards)], ["g", "exact_key", "length"]
    )
    partial = [
        *(str(run.dir("buckets") / f"exact-{p:05d}.parquet") for p in parts),
        *(str(comp / f"roots-{t['name']}.parquet") for t in blocks),
    ]
    sources = [(path, ("node", "root")) for path in partial]
    roots = components.connect(run, "components", sources, comp / "_unite", comp_fp, config.partitions)
    best = store.read_tables([comp / f"roots-{t['name']}.parquet" for t in blocks], ["node", "jaccard"])
    decisions = choose_kept(roots, best, signatures, config.keep)
    return store.fingerprint(comp_fp, config.keep), decisions


def _verify(
    run: PipelineRun, candidates: pa.Table, index: dict[str, Any], sig_dir: Path, fp: str
) -> list[dict[str, Any]]:
    """Route the candidate pairs to their blocks, gather their rows' shingles, verify each block.

    The driver hands out paths and counts only: the pairs go from the bucket partitions' files to
    the blocks' files in the routing tasks (see :mod:`core.pipeline.verify`).
    """
    partitions, comp = run.config.partitions, run.dir("components")
    held = run.dir("buckets") / "_candidates" / verify.CANDIDATES_FILE
    store.write_table(held, candidates)
    gather, holders = verify.gather_tasks(candidates, index, sig_dir, comp, fp, partitions)
    run.stage("gather", verify.gather_shard, gather)
    routed = comp / "_pairs"
    routes = verify.route_tasks(run.dir("buckets"), held, routed, fp, partitions) if holders else []
    run.stage("gather", verify.route_pairs, routes, unit="pairs", label="gather pairs")
    blocks = verify.verify_tasks(holders, routed, comp, fp, run.config.dedup.threshold, partitions)
    run.stage("components", verify.verify_partition, blocks, unit="pairs")
    return blocks


def _dedup_counts(decisions: dict[str, np.ndarray] | None, valid: int) -> dict[str, int]:
    if decisions is None:
        return {"exact_removed": 0, "near_removed": 0, "kept": valid, "clusters": 0}
    removed = decisions["removed"]
    exact = int((removed & decisions["exact"]).sum())
    near = int(removed.sum()) - exact
    return {
        "exact_removed": exact,
        "near_removed": near,
        "kept": valid - int(removed.sum()),
        "clusters": len(_minhash.sorted_unique(decisions["root"])),
    }


# -- filter, split, export ------------------------------------------------------------------------


def _filter(run: PipelineRun, index: dict[str, Any], removed: np.ndarray, upstream: str) -> str:
    shards = len(index["offsets"]) - 1
    removed = np.sort(removed)
    fp = store.fingerprint(upstream, "filter")
    extra = {"removed": removed}
    tasks = [
        _shard_task(run, index, i, run.dir("kept"), store.fingerprint(fp, i), extra) for i in range(shards)
    ]
    run.stage("filter", stages.filter_shard, tasks)
    return fp


def _split(run: PipelineRun, upstream: str, shards: int) -> pa.Table:
    config = run.config
    start = time.monotonic()
    fp = store.fingerprint(upstream, config.val, config.test, config.seed)
    out = run.dir("split")
    cpu = time.process_time()
    ran = 0 if store.is_done(out, "assign", fp) else 1
    parts = [run.dir("kept") / f"part-{i:05d}.parquet" for i in range(shards)]
    rows = sum(pq.read_metadata(p).num_rows for p in parts) if ran else 0
    bar = StageProgress(
        "split", [rows] * ran, run.stream, rows_total=rows, skipped=1 - ran, record=run.record
    )
    if ran:
        kept = store.read_tables(parts, ["g", "id", "rowhash", "category"])
        store.write_table(
            out / "assign.parquet", assign_splits(kept, config.val, config.test, seed=config.seed)
        )
        store.mark_done(out, "assign", fp, rows=kept.num_rows)
        bar.update(0, kept.num_rows)
    assign = pq.read_table(out / "assign.parquet")
    run.stats["split"] = {
        "seconds": round(time.monotonic() - start, 3),
        "rows": assign.num_rows,
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "tasks_run": ran,
        "tasks_skipped": 1 - ran,
    }
    return assign


def _split_counts(assign: pa.Table | None, run: PipelineRun, shards: int) -> dict[str, int]:
    counts = {"train": 0, "val": 0, "test": 0}
    if assign is None:
        parts = [run.dir("kept") / f"part-{i:05d}.parquet" for i in range(shards)]
        counts["train"] = sum(pq.read_metadata(p).num_rows for p in parts)
        return counts
    for item in pc.value_counts(assign.column("split")).to_pylist():
        counts[item["values"]] = int(item["counts"])
    return counts


def _export(run: PipelineRun, assign: pa.Table | None, shards: int, upstream: str) -> None:
    from core.export import file_extension

    fmt = run.config.export_format
    tasks = []
    for i in range(shards):
        source = run.dir("kept") / f"part-{i:05d}.parquet"
        labels = pq.read_table(source, columns=["g"]).column("g").to_numpy()
        codes = split_of(assign, labels)
        per_split = {name: labels[codes == k] for k, name in enumerate(SPLITS)}
        tasks.append(
            {
                "shard": i,
                "name": f"part-{i:05d}",
                "source": str(source),
                "splits": per_split,
                "format": fmt,
                "extension": file_extension(fmt),
                "out": str(run.dir("export")),
                "fp": store.fingerprint(upstream, fmt, i),
            }
        )
    run.stage("export", stages.export_shard, tasks)
    write_manifest(run.dir("export"), run.config, fmt)
