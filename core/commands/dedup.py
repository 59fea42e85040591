"""``python -m core dedup PATH [--threshold 0.8] [--method both] [--cosine 0.85] [-o OUT] [--json]``.

Finds exact and near duplicates in a dataset file and prints, per cluster, the row kept and
the rows removed; ``--method`` (``semantic``, ``lexical``, ``both``) also lists every linked pair
with its embedding cosine, its Jaccard and the method that linked it (:mod:`core.semantic.pairs`);
``-o`` writes the deduplicated rows in the input's format, and the invalid rows it did not carry
beside them (``kept.quarantine.jsonl``). Exit 0 on
success, 2 when the file cannot be read or an option is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import core.semantic as semantic
from core.commands._common import OneOf, fail, print_json
from core.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

    from core.semantic import pairs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("path", type=Path, help="dataset file")
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold for near duplicates")
    parser.add_argument(
        "--scope",
        default="all",
        help="text compared: all, or prompt, response, chosen, rejected joined by + (default all)",
    )
    parser.add_argument(
        "--keep",
        default="first",
        type=OneOf("core.dedup", "KEEP_POLICIES"),
        metavar="POLICY",
        help="which member stays (default first; a wrong name lists the policies)",
    )
    parser.add_argument("--include-system", action="store_true", help="also compare the system prompt")
    parser.add_argument("--shingle-size", type=int, default=5, help="words per shingle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--method", choices=semantic.METHODS, help="list pairs linked by embeddings, shingles or both"
    )
    parser.add_argument(
        "--cosine", type=float, default=semantic.DEFAULT_COSINE, help="cosine for semantic pairs"
    )
    parser.add_argument("-o", "--out", type=Path, help="write the deduplicated file here (input's format)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Deduplicate the file; return the exit code."""
    from core import dedup
    from core.dedup.files import dedup_file

    try:
        config = dedup.DedupConfig(
            threshold=args.threshold,
            scope=args.scope,
            include_system=args.include_system,
            shingle_size=args.shingle_size,
            seed=args.seed,
        )
        if args.method is None:
            done = dedup_file(args.path, config, policy=args.keep, out=args.out)
            summary = done.summary(args.out)
            _quarantine_beside(args.out, done.quarantine, summary)
        else:
            summary = _semantic_summary(args)
    except (DatasetError, ValueError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        return fail(str(exc))
    if args.json:
        print_json(summary)
    else:
        print(_render(summary))
    return 0


def _semantic_summary(args: argparse.Namespace) -> dict[str, Any]:
    """Clusters from the pairs ``--method`` links, every pair listed, and with ``-o`` the kept rows."""
    from core import dedup, formats
    from core.semantic import pairs

    loaded = formats.load_dataset(args.path, args.path.name)
    frame = loaded.records
    settings = _pair_settings(args)
    found = pairs.duplicate_pairs(frame, settings)
    result = pairs.duplicate_result(frame, found, settings)
    keepers = dedup.choose_keepers(frame, result, args.keep)
    summary = dedup.result_summary(
        [str(i) for i in frame["id"]], result, keepers, frame["source_line"].tolist()
    )
    summary["quarantined"] = loaded.quarantine_summary()
    summary.update(method=args.method, cosine=args.cosine, counts=pairs.pair_counts(found))
    summary["pairs"] = [pairs.pair_json(p, frame, frame) for p in found]
    if args.out is not None:
        kept, _ = dedup.apply_dedup(frame, result, policy=args.keep)
        data, losses = formats.write_dataset(kept, loaded.detection.format)
        args.out.write_bytes(data)
        summary["out"] = {"path": str(args.out), "rows": len(kept), "format": loaded.detection.format}
        summary["out"]["losses"] = [p.message for p in losses]
    _quarantine_beside(args.out, loaded.quarantine, summary)
    return summary


def _quarantine_beside(out: Path | None, quarantine: pd.DataFrame | None, summary: dict[str, Any]) -> None:
    """With ``-o kept.jsonl``, write the rows not carried (line, codes, why) to ``kept.quarantine.jsonl``."""
    from core import export

    if out is None or quarantine is None or quarantine.empty:
        return
    path = out.with_name(f"{out.name.split('.')[0]}.quarantine.jsonl")
    path.write_bytes(export.quarantine_jsonl(quarantine))
    summary["quarantined"]["file"] = str(path)


def _pair_settings(args: argparse.Namespace) -> pairs.PairSettings:
    from core.semantic import pairs

    return pairs.PairSettings(
        method=args.method,
        cosine=args.cosine,
        threshold=args.threshold,
        scope=args.scope,
        include_system=args.include_system,
        shingle_size=args.shingle_size,
        seed=args.seed,
    )


def _render(summary: dict[str, Any]) -> str:
    removed = summary["exact_duplicates"] + summary["near_duplicates"]
    lines = [
        f"{summary['rows']} rows: {summary['exact_duplicates']} exact and {summary['near_duplicates']} near"
        f" duplicates ({summary['removed_fraction']:.1%}, {removed} rows)"
        f" in {len(summary['clusters'])} clusters",
        *summary["notes"],
    ]
    for cluster in summary["clusters"][:20]:
        lines.append(f"  {_members(cluster)}  ({cluster['kind']}, min Jaccard {cluster['min_jaccard']:.2f})")
    if len(summary["clusters"]) > 20:
        lines.append(f"  ... {len(summary['clusters']) - 20} more clusters (use --json)")
    if "out" in summary:
        lines.append(f"wrote {summary['out']['rows']} rows to {summary['out']['path']}")
    if summary.get("quarantined", {}).get("rows"):
        from core.formats import describe_quarantine

        lines.append(describe_quarantine(summary["quarantined"]))
    return "\n".join(lines)


def _members(cluster: dict[str, Any]) -> str:
    """``keep line 3 (id)  remove line 6 (id)``: exact duplicates share an id, their lines differ."""
    if "kept_line" not in cluster:
        return f"keep {cluster['kept']}  remove {', '.join(cluster['removed'])}"
    removed = ", ".join(
        f"line {line} ({i})" for line, i in zip(cluster["removed_lines"], cluster["removed"], strict=True)
    )
    return f"keep line {cluster['kept_line']} ({cluster['kept']})  remove {removed}"
