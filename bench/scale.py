"""Scale benchmark of the batch pipeline: validate -> dedup -> split over generated shards.

Usage:
    python bench/scale.py --rows 1000000                       # local engine, 2 workers
    python bench/scale.py --rows 200000 --engines local,ray    # both engines, side by side, outputs compared

Generates ``--rows`` chat rows with planted duplicate families into ``--shards`` JSONL shards
(in a child process, not timed, its memory not counted; reused when ``--dir`` already holds
them), runs the pipeline once per engine, and prints only what it measured: rows/s end to end
(engine start included), wall seconds, CPU seconds (the whole process tree sampled from /proc,
which also sees Ray's workers and raylet), peak RSS summed over the process tree (sampled every
0.2 s), the load average before and after, seconds per stage, bytes written per stage, and
recall / precision of the removed duplicates against the true Jaccard within the planted
families. With several engines it says whether their kept ids, clusters and splits are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from core.dedup import DedupConfig  # noqa: E402
from core.pipeline import LocalEngine, PipelineConfig, run_pipeline  # noqa: E402
from core.pipeline.planted import cluster_pairs, generate_rows, true_clusters  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeSampler(threading.Thread):
    """Samples the RSS sum and CPU times of this process and all its descendants."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        self._stop_event = threading.Event()
        self.sample()
        self.cpu_before = sum(self.cpu.values())  # this process's CPU before the run
        self.peak_rss = 0

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop_event.wait(0.2):
            self.sample()

    def sample(self) -> None:
        """Take one sample."""
        stats = _all_stats()
        tree = _descendants(os.getpid(), stats)
        rss = 0
        for pid in tree:
            fields = stats[pid]
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
            rss += int(fields[21]) * _PAGE
        self.peak_rss = max(self.peak_rss, rss)

    def stop(self) -> None:
        """Stop sampling (after one last sample)."""
        self.sample()
        self._stop_event.set()
        self.join(5)


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            stats[int(entry)] = text[text.rindex(")") + 2 :].split()  # fields from state on
    return stats


def _descendants(root: int, stats: dict[int, list[str]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _engine(name: str, workers: int) -> Any:
    if name == "ray":
        from core.pipeline.ray_engine import RayEngine

        return RayEngine(workers)
    return LocalEngine(workers)


def _bytes_per_stage(out: Path) -> dict[str, int]:
    return {
        stage.name: sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())
        for stage in sorted(out.iterdir())
        if stage.is_dir()
    }


_BLOCK = 200_000  # rows generated at once (families never cross blocks), so 5M rows fit in memory


def prepare(work: Path, rows: int, shards: int, seed: int, threshold: float) -> None:
    """Write the shards (JSONL, round-robin) and ``truth.parquet`` (id, true cluster) into ``work``."""
    folder = work / "in"
    folder.mkdir(parents=True, exist_ok=True)
    handles = [(folder / f"shard-{s:03d}.jsonl").open("w", encoding="utf-8") for s in range(shards)]
    truth: dict[str, list[str]] = {"id": [], "cluster": []}
    written = 0
    for block, start in enumerate(range(0, rows, _BLOCK)):
        planted = generate_rows(min(_BLOCK, rows - start), seed=seed * 1_000_003 + block)
        for k, row in enumerate(planted.rows):
            handles[(written + k) % shards].write(json.dumps(row, ensure_ascii=False) + "\n")
        written += len(planted.rows)
        for node, root in true_clusters(planted.rows, planted.family, threshold).items():
            truth["id"].append(node)
            truth["cluster"].append(root)
    for handle in handles:
        handle.close()
    pq.write_table(pa.table(truth), work / "truth.parquet")
    (work / "prepared.json").write_text(json.dumps(_recipe(rows, shards, seed, threshold)))


def _recipe(rows: int, shards: int, seed: int, threshold: float) -> dict[str, Any]:
    return {"rows": rows, "shards": shards, "seed": seed, "threshold": threshold, "block": _BLOCK}


def _prepared(work: Path, recipe: dict[str, Any]) -> bool:
    marker = work / "prepared.json"
    return marker.exists() and json.loads(marker.read_text()) == recipe


def _quality(out: Path, work: Path) -> tuple[float, float]:
    removed = pq.read_table(out / "removed.parquet", columns=["id", "kept_id"])
    found = dict(zip(removed.column("id").to_pylist(), removed.column("kept_id").to_pylist(), strict=True))
    for kept in set(found.values()):
        found.setdefault(kept, kept)
    table = pq.read_table(work / "truth.parquet")
    truth = cluster_pairs(
        dict(zip(table.column("id").to_pylist(), table.column("cluster").to_pylist(), strict=True))
    )
    predicted = cluster_pairs(found)
    hits = len(truth & predicted)
    return hits / max(len(truth), 1), hits / max(len(predicted), 1)


def _outputs(out: Path) -> tuple[Any, ...]:
    kept = pq.read_table(out / "kept", columns=["id"]).column("id").to_pylist()
    return (
        sorted(kept),
        pq.read_table(out / "removed.parquet").to_pydict(),
        pq.read_table(out / "split" / "assign.parquet").to_pydict(),
    )


def _measure(engine_name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run the pipeline once on a fresh output folder; return what was measured."""
    out = work / f"out-{engine_name}"
    shutil.rmtree(out, ignore_errors=True)
    config = PipelineConfig(
        inputs=(str(work / "in"),),
        out=str(out),
        steps=("validate", "dedup", "split"),
        dedup=DedupConfig(threshold=args.threshold),
    )
    load_before = os.getloadavg()
    sampler = TreeSampler()
    sampler.start()
    start = time.perf_counter()
    engine = _engine(engine_name, args.workers)
    summary = run_pipeline(config, engine, stream=sys.stderr)
    engine.close()
    wall = time.perf_counter() - start
    sampler.stop()
    return {
        "engine": engine_name,
        "out": out,
        "wall": wall,
        "cpu": sum(sampler.cpu.values()) - sampler.cpu_before,
        "peak_rss": sampler.peak_rss,
        "load": (load_before[0], os.getloadavg()[0]),
        "summary": summary,
    }


def main() -> int:
    """Run the benchmark and print what was measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=32)
    parser.add_argument("--engines", default="local", help="comma-separated: local, ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="scale-"))
    recipe = _recipe(args.rows, args.shards, args.seed, args.threshold)
    if args.prepare_only:
        prepare(work, args.rows, args.shards, args.seed, args.threshold)
        return 0
    if not _prepared(work, recipe):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--dir", str(work), "--prepare-only"], check=True
        )
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.0f} s (not timed below)")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    runs = [_measure(name, args, work) for name in engines]
    print(f"machine: {_cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"rows {args.rows:,} in {args.shards} JSONL shards, workers {args.workers}")
    for run in runs:
        summary = run["summary"]
        recall, precision = _quality(run["out"], work)
        print(
            f"engine {run['engine']}: wall {run['wall']:.1f} s (engine start included), "
            f"{args.rows / run['wall']:,.0f} rows/s end to end; "
            f"CPU {run['cpu']:.1f} s over the process tree; "
            f"peak RSS summed over the process tree {run['peak_rss'] / 2**20:,.0f} MiB; "
            f"load average {run['load'][0]:.1f} before, {run['load'][1]:.1f} after"
        )
        staged = sum(stage["cpu_seconds"] for stage in summary["stages"].values())
        for name, stage in summary["stages"].items():
            print(
                f"  {name:<11} {stage['seconds']:7.2f} s wall {stage['cpu_seconds']:7.2f} s CPU "
                f"{stage['rows']:>12,} {_UNITS.get(name, 'rows')}"
            )
        print(f"  (driver between stages, engine start and stop: {run['cpu'] - staged:.1f} s CPU)")
        print(
            "  bytes written per stage: "
            + ", ".join(f"{k} {v / 2**20:,.1f} MiB" for k, v in _bytes_per_stage(run["out"]).items())
        )
        print(
            f"  removed {summary['exact_removed']:,} exact + {summary['near_removed']:,} near "
            f"({summary['clusters']:,} clusters); recall {recall:.4f}, precision {precision:.4f}"
        )
    if len(runs) > 1:
        first = _outputs(runs[0]["out"])
        same = all(_outputs(run["out"]) == first for run in runs[1:])
        ratio = runs[1]["wall"] / runs[0]["wall"]
        print(f"identical kept ids, clusters and splits across engines: {'yes' if same else 'NO'}")
        print(f"{runs[1]['engine']} / {runs[0]['engine']} wall time: {ratio:.2f}x")
    return 0


_UNITS = {"buckets": "keys", "components": "pairs", "filter": "rows kept"}


if __name__ == "__main__":
    sys.exit(main())
