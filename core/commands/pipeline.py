"""``python -m core pipeline INPUT... --out DIR [--steps S] [--engine local|ray] [--workers N] [--json]``.

Runs the batch pipeline (validate, measure, dedup, split, export) over shards on the local engine
or on Ray; a re-run on unchanged input does nothing, a killed run resumes at the first
unfinished shard. Progress per stage goes to stderr. ``--json`` prints one object::

    {"engine", "workers", "rows_in", "valid", "invalid", "exact_removed", "near_removed",
     "kept", "clusters", "splits": {"train", "val", "test"},
     "stages": {name: {"seconds", "rows"}}, "out"}

Exit 0 on success, 2 when an option or an input is invalid.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.commands._common import fail, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("inputs", nargs="+", help="input shards: files, directories or globs")
    parser.add_argument("--out", required=True, help="output directory (stage outputs and markers)")
    parser.add_argument(
        "--steps", default="validate,measure,dedup,split,export", help="comma-separated steps"
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (Ray: tasks in flight)")
    parser.add_argument("--ray-address", default=None, help="address of a running Ray cluster")
    parser.add_argument("--format", default=None, help="input format (detected per shard by default)")
    parser.add_argument("--export-format", default="openai-sft", help="format of the exported splits")
    parser.add_argument("--keep", choices=("smallest", "longest"), default="smallest", help="who stays")
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold of near duplicates")
    parser.add_argument("--val", type=float, default=0.1)
    parser.add_argument("--test", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="gpt-4.1-mini", help="model whose tokens the measure stage counts")
    parser.add_argument("--partitions", type=int, default=8, help="bucket partitions of the shuffle")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline; return the exit code."""
    from core import pipeline
    from core.dedup import DedupConfig

    try:
        config = pipeline.PipelineConfig(
            inputs=tuple(args.inputs),
            out=args.out,
            steps=tuple(s.strip() for s in args.steps.split(",") if s.strip()),
            format=args.format,
            export_format=args.export_format,
            keep=args.keep,
            val=args.val,
            test=args.test,
            seed=args.seed,
            model=args.model,
            partitions=args.partitions,
            dedup=DedupConfig(threshold=args.threshold, seed=args.seed),
        )
        engine = _engine(args)
    except ValueError as exc:
        return _error(args, str(exc))
    try:
        summary = pipeline.run_pipeline(config, engine, stream=sys.stderr)
    except ValueError as exc:
        return _error(args, str(exc))
    finally:
        engine.close()
    if args.json:
        print_json(json_summary(summary))
    else:
        _print_human(summary)
    return 0


SUMMARY_KEYS = (
    "engine",
    "workers",
    "rows_in",
    "valid",
    "invalid",
    "exact_removed",
    "near_removed",
    "kept",
    "clusters",
    "splits",
    "stages",
    "out",
)


def json_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` object: the run's summary in exactly the documented keys."""
    payload = {key: summary[key] for key in SUMMARY_KEYS}
    payload["splits"] = {split: int(summary["splits"][split]) for split in ("train", "val", "test")}
    payload["stages"] = {
        name: {"seconds": stage["seconds"], "rows": stage["rows"]}
        for name, stage in summary["stages"].items()
    }
    return payload


def _engine(args: argparse.Namespace) -> Any:
    if args.engine == "ray":
        from core.pipeline.ray_engine import RayEngine

        return RayEngine(args.workers, args.ray_address)
    from core.pipeline.local import LocalEngine

    return LocalEngine(args.workers)


def _error(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print_json({"error": message})
    return fail(message)


def _print_human(summary: dict[str, Any]) -> None:
    print(
        f"{summary['rows_in']:,} rows in, {summary['valid']:,} valid, {summary['invalid']:,} quarantined; "
        f"removed {summary['exact_removed']:,} exact and {summary['near_removed']:,} near duplicates "
        f"({summary['clusters']:,} clusters); kept {summary['kept']:,}"
    )
    print("splits: " + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items()))
    for problem in summary["problems"]:
        print(f"  {problem['file']} line {problem['line']}: {problem['reason']}")
    print(f"out: {summary['out']}")
