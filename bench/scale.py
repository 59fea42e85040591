"""Scale benchmark of the batch pipeline: validate -> dedup -> split over generated shards.

Usage:
    python bench/scale.py --rows 200000                  # local engine, 2 workers
    python bench/scale.py --rows 200000 --engine ray     # the same on a local Ray (num_cpus=workers)

Generates ``--rows`` chat rows with planted duplicate families into ``--shards`` JSONL shards
(not timed), runs the pipeline once, and prints only what it measured: rows/s end to end,
wall seconds, CPU seconds (this process plus waited-for children from getrusage, and the
whole process tree sampled from /proc, which also sees Ray's workers), peak RSS summed over
the process tree (sampled every 0.2 s), bytes written per stage, and recall / precision of
the removed duplicates against the true Jaccard within the planted families.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow.parquet as pq  # noqa: E402

from core.pipeline import LocalEngine, PipelineConfig, run_pipeline  # noqa: E402
from core.pipeline.planted import cluster_pairs, generate_rows, true_clusters, write_shards  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeSampler(threading.Thread):
    """Samples the RSS sum and CPU times of this process and all its descendants."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        self._stop_event = threading.Event()

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


def _quality(out: Path, planted: Any, rows: int, threshold: float) -> tuple[float, float]:
    removed = pq.read_table(out / "removed.parquet", columns=["id", "kept_id"]).to_pylist()
    found = {r["id"]: r["kept_id"] for r in removed}
    for kept in set(found.values()):
        found.setdefault(kept, kept)
    truth = cluster_pairs(true_clusters(planted.rows[:rows], planted.family[:rows], threshold))
    predicted = cluster_pairs(found)
    hits = len(truth & predicted)
    return hits / max(len(truth), 1), hits / max(len(predicted), 1)


def main() -> int:
    """Run the benchmark once and print what was measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="scale-"))
    planted = generate_rows(args.rows, seed=args.seed)
    write_shards(planted.rows, work / "in", args.shards, formats=("jsonl",))
    out = work / f"out-{args.engine}"
    config = PipelineConfig(inputs=(str(work / "in"),), out=str(out), steps=("validate", "dedup", "split"))
    sampler = TreeSampler()
    sampler.start()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    engine = _engine(args.engine, args.workers)
    summary = run_pipeline(config, engine, stream=sys.stderr)
    engine.close()
    wall = time.perf_counter() - start
    sampler.stop()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    rusage_cpu = (
        me.ru_utime
        + me.ru_stime
        - self_before.ru_utime
        - self_before.ru_stime
        + kids.ru_utime
        + kids.ru_stime
    )
    recall, precision = _quality(out, planted, args.rows, args.threshold)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {_cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load {load}")
    print(f"engine {args.engine}, workers {args.workers}, rows {args.rows:,} in {args.shards} JSONL shards")
    print(f"wall {wall:.1f} s (engine start included), {args.rows / wall:,.0f} rows/s end to end")
    print(
        f"CPU: getrusage self+children {rusage_cpu:.1f} s; "
        f"process tree (sampled) {sum(sampler.cpu.values()):.1f} s"
    )
    print(f"peak RSS over the process tree (sampled): {sampler.peak_rss / 2**20:,.0f} MiB")
    for name, stage in summary["stages"].items():
        print(f"  {name:<11} {stage['seconds']:7.2f} s  {stage['rows']:>10,} rows")
    print(
        "bytes written per stage: "
        + ", ".join(f"{k} {v / 2**20:,.1f} MiB" for k, v in _bytes_per_stage(out).items())
    )
    print(
        f"removed {summary['exact_removed']:,} exact + {summary['near_removed']:,} near "
        f"({summary['clusters']:,} clusters); recall {recall:.4f}, precision {precision:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
