"""Command line: ``python -m core <command> ...`` (run with ``--help`` for the list).

Each command lives in ``core/commands/<name>.py`` and exposes ``add_arguments(parser)``
and ``run(args) -> int``; commands are imported only when used, so one command's
heavy dependencies never slow another down.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

_COMMANDS = {
    "validate": ("validate", "Validate a dataset file line by line."),
    "convert": ("convert", "Convert a dataset file to another format."),
    "profile": ("profile", "Profile a dataset: distributions, readiness checklist, drift."),
    "dedup": ("dedup", "Find and remove exact and near duplicates."),
    "search": ("search", "Find rows by text, facet (category, language, flag...) and size."),
    "leakage": ("leakage", "Find train rows that copy or restate rows of a val/test or eval file."),
    "quality": ("quality", "Quality signals and PII in every example; redact."),
    "agreement": ("agreement", "Inter-annotator agreement (kappa, alpha) and disagreements."),
    "generate": ("generate", "Generate synthetic examples from seeds with a teacher model."),
    "review-sample": ("review_sample", "Draw the reproducible review sample of synthetic data."),
    "split": ("split", "Stratified, cluster-aware train/val/test split with a test lock."),
    "export": ("export", "Write the export bundle (splits, manifest, data card) as a zip."),
    "evalreport": ("evalreport", "Report on eval results: metrics, worst slices, comparison."),
    "pipeline": ("pipeline", "Batch pipeline over shards (validate, dedup, split, export), local or Ray."),
    "open-pipeline": (
        "open_pipeline",
        "Open a pipeline run's folder in a workspace (versions, clusters, splits).",
    ),
    "datasets": ("datasets", "List a project's datasets (their folders are --workspace) or make one."),
    "open-sample": ("open_sample", "Open the bundled sample in a workspace that has no dataset yet."),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every command's sub-parser."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Trainset Studio command line.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    for name, (module_name, help_text) in _COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            _load(module_name).add_arguments(sub)
    return parser


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(f"core.commands.{module_name}")


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    sys.argv = [sys.argv[0], *argv]
    args = build_parser().parse_args(argv)
    return int(_load(_COMMANDS[args.command][0]).run(args))


if __name__ == "__main__":
    sys.exit(main())
