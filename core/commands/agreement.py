"""``python -m core agreement PATH``: inter-annotator agreement of a label file or dataset.

PATH is a CSV or JSONL of labels, wide (one column per annotator, an ``id`` / ``item_id``
column) or long (``item_id, annotator, label``), or a dataset file with annotator columns.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    from core import agreement


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("path", type=Path, help="CSV / JSONL of labels (wide or long), or a dataset file")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--annotators", help="comma-separated annotator columns (wide layout)")
    layout.add_argument("--long", action="store_true", help="the file is long: item_id,annotator,label")
    parser.add_argument("--ordinal", help="comma-separated label order: labels are ordinal (weighted kappa)")
    parser.add_argument(
        "--weights",
        type=OneOf("core.agreement", "WEIGHTS"),
        metavar="WEIGHTS",
        default="linear",
        help="kappa weights when --ordinal (default linear)",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=0, help="bootstrap resamples for 95%% intervals (0 = none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    """Compute the agreement report and print it (JSON or a short text summary)."""
    from core import agreement

    try:
        data = args.path.read_bytes()
    except OSError as exc:
        return fail(f"cannot read {args.path}: {exc.strerror or exc}")
    order = _split(args.ordinal)
    try:
        config = agreement.AgreementConfig(
            order=tuple(order) if order else None,
            weights=args.weights if order else None,
            level="ordinal" if order else "nominal",
            n_resamples=args.bootstrap,
        )
        table = agreement.read_label_file(data, args.path.name)
        annotators = _split(args.annotators)
        if args.long:
            matrix = agreement.to_label_matrix(table, layout="long")
        else:
            matrix = agreement.to_label_matrix(table, layout="auto", annotators=annotators)
        report = agreement.compute_report(matrix, config, seed=args.seed)
    except (DatasetError, ValueError) as exc:
        return fail(f"{args.path}: {exc}")
    if args.json:
        print_json(report.to_json())
    else:
        _print_text(report)
    return 0


def _print_text(report: agreement.AgreementReport) -> None:
    gate = report.gate
    print(f"{report.items} items, annotators: {', '.join(report.annotators)}")
    print(f"{report.overall_method}: {report.overall_kappa:.3f}{_ci(report.kappa_ci)}")
    print(f"gate (kappa >= {gate.threshold}): {gate.status}")
    print(f"Krippendorff's alpha: {report.krippendorff_alpha:.3f}{_ci(report.alpha_ci)}")
    print(f"percent agreement: {report.percent_agreement:.1%}")
    for pair in report.pairwise:
        print(f"  {pair.a} vs {pair.b}: kappa {pair.kappa:.3f} on {pair.n} items")
    if gate.flagged_labels:
        print(f"labels under the bar: {', '.join(gate.flagged_labels)}")
    if gate.advice:
        print(gate.advice)


def _ci(interval: tuple[float, float] | None) -> str:
    return f" (95% CI {interval[0]:.3f} to {interval[1]:.3f})" if interval else ""
