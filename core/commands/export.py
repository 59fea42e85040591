"""``python -m core export PATH --out bundle.zip``: split a dataset and write the export bundle.

The bundle holds train / val / test in each ``--format`` (default: the input's), manifest.json
(counts, sha256 of every file, seed, fractions, versions), README.md (the data card, also a
Hugging Face dataset card: ``datasets.load_dataset(BUNDLE_DIR, name=FORMAT)``), the
quarantined rows and, with ``--lock``, the test lock (an existing lock file keeps its test
set; a missing one is written: the first export locks the test set).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands import split as split_command
from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import export, pricing, split


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("path", type=Path, help="dataset file (any supported format)")
    parser.add_argument("--out", type=Path, required=True, help="the zip to write")
    parser.add_argument(
        "--format",
        action="append",
        type=OneOf("core.export", "EXPORT_FORMATS"),
        metavar="FORMAT",
        help="target format (repeatable; default: the input's)",
    )
    split_command.add_split_arguments(parser)
    parser.add_argument("--model", help="target model for the fine-tuning cost estimate")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Split, build the bundle, write the zip and print what it holds."""
    from core import export, formats, report, split

    try:
        config = split_command.config_from(args)
    except ValueError as exc:
        return fail(f"{exc} (pass --yes to accept it)" if "hold-out" in str(exc) else str(exc))
    try:
        loaded = split_command.load(args.path)
        lock = split_command.read_lock(args.lock)
        result = split.split_frame(loaded.records, config, seed=args.seed, lock=lock)
        parts = result.split(loaded.records)
        lock = lock or split.make_lock(parts["test"], seed=args.seed, fractions=config.fractions())
        cost = export.finetune_cost(parts["train"], args.model) if args.model else None
        card = report.DataCardInputs(
            title=args.path.name,
            leakage=result.leakage.to_dict(max_pairs=0),
            finetune_cost=export.finetune_cost_dict(cost) if cost else None,
        )
        request = export.BundleRequest(
            card=card,
            formats=tuple(args.format or (loaded.detection.format,)),
            seed=args.seed,
            fractions=config.fractions(),
            quarantine=loaded.quarantine,
            lock=lock,
            excluded=result.excluded,
        )
        bundle = export.build_bundle({k: parts[k] for k in split.SPLITS}, request)
    except (DatasetError, ValueError) as exc:
        return fail(str(exc))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(bundle.data)
    if args.lock is not None and not args.lock.exists():
        split.write_lock_file(args.lock, lock)
    summary = _summary(args, bundle, result, cost)
    if args.json:
        print_json(summary)
    else:
        print(f"{args.out}: {len(bundle.file_names)} files, sha256 {bundle.sha256}")
        print(", ".join(f"{k} {v}" for k, v in bundle.manifest["counts"].items()))
        if bundle.manifest["quarantined"]["rows"]:
            print(formats.describe_quarantine(bundle.manifest["quarantined"]))
        for problem in bundle.problems:
            print(f"  {problem}")
    return 0


def _summary(
    args: argparse.Namespace,
    bundle: export.Bundle,
    result: split.SplitResult,
    cost: pricing.FinetuneEstimate | None,
) -> dict[str, Any]:
    from core import export

    return {
        "out": str(args.out),
        "sha256": bundle.sha256,
        "bytes": len(bundle.data),
        "counts": bundle.manifest["counts"],
        "formats": bundle.manifest["formats"],
        "files": bundle.manifest["files"],
        "file_count": len(bundle.file_names),
        "quarantined": bundle.manifest["quarantined"],
        "problems": list(bundle.problems),
        "leakage": result.leakage.to_dict(),
        "locked": result.locked,
        "finetune_cost": export.finetune_cost_dict(cost) if cost else None,
    }
