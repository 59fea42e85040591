"""``python -m core split PATH --out DIR``: stratified, cluster-aware split with a test lock.

Writes ``train.*``, ``val.*``, ``test.*`` (the input's format unless ``--format``) and
``manifest.json`` into DIR, and ``quarantine.jsonl`` (the invalid rows and why) when there are
any. A row's ``source`` and stratify fields come from its own
metadata (top-level keys beside the format's keys). With ``--lock FILE``: an existing lock
keeps its test set; a missing one is written from this split's test set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import formats, split

QUARANTINE_FILE = "quarantine.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("path", type=Path, help="dataset file (any supported format)")
    add_split_arguments(parser)
    parser.add_argument(
        "--format",
        type=OneOf("core.export", "EXPORT_FORMATS"),
        metavar="FORMAT",
        help="output format (default: the input's)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for train.*, val.*, test.*, manifest.json"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by ``split`` and ``export``."""
    parser.add_argument("--val", type=float, default=0.1, help="validation fraction (default 0.1)")
    parser.add_argument("--test", type=float, default=0.1, help="test fraction (default 0.1)")
    parser.add_argument(
        "--stratify",
        action="append",
        type=OneOf("core.split", "STRATIFY_FIELDS"),
        metavar="FIELD",
        help="field to stratify by (repeatable; default category)",
    )
    parser.add_argument(
        "--cluster-threshold",
        type=float,
        default=0.8,
        help="near-duplicate Jaccard kept together (default 0.8)",
    )
    parser.add_argument(
        "--semantic-cosine",
        type=float,
        metavar="T",
        help="also keep together rows whose embeddings reach cosine T (paraphrases; default: off)",
    )
    parser.add_argument("--time-based", action="store_true", help="test = the newest rows by created_at")
    parser.add_argument("--yes", action="store_true", help="accept a hold-out (val + test) outside 10-20%%")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument("--lock", type=Path, help="test lock file: kept if it exists, written if not")


def config_from(args: argparse.Namespace) -> split.SplitConfig:
    """Return the split configuration the options describe (ValueError on bad values)."""
    from core import split

    return split.SplitConfig(
        val=args.val,
        test=args.test,
        stratify=tuple(args.stratify or ("category",)),
        cluster_threshold=args.cluster_threshold,
        semantic_cosine=args.semantic_cosine,
        time_based=args.time_based,
        confirm_holdout=args.yes,
    )


def load(path: Path) -> formats.LoadResult:
    """Read and parse a dataset file (DatasetError for a person-fixable problem)."""
    from core import formats

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return formats.load_dataset(data, path.name)


def read_lock(path: Path | None) -> dict[str, Any] | None:
    """Return the lock in ``path`` if the file exists."""
    from core import split

    return split.read_lock_file(path) if path is not None and path.exists() else None


def run(args: argparse.Namespace) -> int:
    """Split the file, write the parts and the manifest, and print the summary."""
    from core import split

    try:
        config = config_from(args)
    except ValueError as exc:
        return fail(f"{exc} (pass --yes to accept it)" if "hold-out" in str(exc) else str(exc))
    try:
        loaded = load(args.path)
        lock = read_lock(args.lock)
        result = split.split_frame(loaded.records, config, seed=args.seed, lock=lock)
        parts = result.split(loaded.records)
        fmt = args.format or loaded.detection.format
        files = write_parts(parts, fmt, args.out)
    except DatasetError as exc:
        return fail(str(exc))
    lock_written = None
    if args.lock is not None and lock is None:
        lock = split.make_lock(parts["test"], seed=args.seed, fractions=config.fractions())
        split.write_lock_file(args.lock, lock)
        lock_written = str(args.lock)
    summary = {**result.summary(), "format": fmt, "files": files, "lock_written": lock_written}
    summary["quarantined"] = write_quarantine(loaded, args.out)
    (args.out / "manifest.json").write_text(
        json.dumps(_manifest(args, summary), indent=1) + "\n", encoding="utf-8"
    )
    if args.json:
        print_json(summary)
    else:
        _print_text(summary, args.out)
    return 0


def write_parts(parts: dict[str, Any], fmt: str, out: Path) -> dict[str, dict[str, Any]]:
    """Write train / val / test in ``fmt`` into ``out``; return ``{file: {rows, sha256}}``.

    Raises:
        DatasetError: If ``fmt`` cannot hold these examples or the writer had to leave rows out.
    """
    from core import export, split

    export.check_formats(parts, [fmt])
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in split.SPLITS:
        data, problems = export.write_split(parts[name], fmt)
        errors = [p for p in problems if p.startswith("error")]
        if errors:
            raise DatasetError(f"{name}.{export.file_extension(fmt)}: " + "; ".join(errors[:5]))
        filename = f"{name}.{export.file_extension(fmt)}"
        (out / filename).write_bytes(data)
        files[filename] = {"rows": len(parts[name]), "sha256": hashlib.sha256(data).hexdigest()}
    return files


def write_quarantine(loaded: formats.LoadResult, out: Path) -> dict[str, Any]:
    """Write the invalid rows, with their reasons, to ``out/quarantine.jsonl``; return the summary."""
    from core import export

    if not loaded.invalid:
        return loaded.quarantine_summary()
    (out / QUARANTINE_FILE).write_bytes(export.quarantine_jsonl(loaded.quarantine))
    return loaded.quarantine_summary(QUARANTINE_FILE)


def _manifest(args: argparse.Namespace, summary: dict[str, Any]) -> dict[str, Any]:
    from core import __version__

    return {
        "app_version": __version__,
        "source": str(args.path),
        "seed": args.seed,
        "fractions": summary["fractions"],
        "format": summary["format"],
        "counts": summary["counts"],
        "files": summary["files"],
        "locked": summary["locked"],
        "lock_file": str(args.lock) if args.lock else None,
        "quarantined": summary["quarantined"],
    }


def _print_text(summary: dict[str, Any], out: Path) -> None:
    counts = summary["counts"]
    print(f"train {counts['train']}, val {counts['val']}, test {counts['test']} -> {out}")
    print(f"near-duplicate clusters kept together: {summary['clusters_kept_together']}")
    if counts["excluded"]:
        print(f"excluded (near-duplicates of locked test examples): {counts['excluded']}")
    if summary["quarantined"]["rows"]:
        from core.formats import describe_quarantine

        print(describe_quarantine(summary["quarantined"]))
    print(f"leakage pairs: {summary['leakage']['total']}")
    print("test set: " + ("kept from the lock" if summary["locked"] else "drawn now"))
    if summary["lock_written"]:
        print(f"lock written: {summary['lock_written']}")
