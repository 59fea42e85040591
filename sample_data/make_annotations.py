"""Write support_annotations.csv: three annotators' category labels for support_sft.jsonl (seeded).

Planted problems, for the Labels page demo and tests:

- ``returns`` and ``warranty`` are systematically confused: on the ambiguous items of those two
  categories ("my device broke, do I return it or claim the warranty?") each annotator picks
  either label at random.
- ``annotator_c`` drifts: much lower accuracy than the others, so lower agreement with the rest.
- Some labels are missing (blank cells).

Overall Fleiss' kappa comes out under the 0.7 bar, only ``returns`` and ``warranty`` fall under it
one-vs-rest, and ``annotator_c`` is the one flagged as drifting: the script checks these facts
and, if a draw misses one, deterministically tries the next seed (so it stays true when
support_sft.jsonl is regenerated). Run from the repository root:
``python sample_data/make_annotations.py`` (reads support_sft.jsonl, writes support_annotations.csv).
Each row's ``id`` is the canonical content id of the example (``core.records.content_id``),
the same id the app's dataset table has; duplicate lines share an id and are labelled once.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from core.records import content_id  # noqa: E402

SEED = 20261122
ANNOTATORS = ("annotator_a", "annotator_b", "annotator_c")
ACCURACY = {"annotator_a": 0.99, "annotator_b": 0.98, "annotator_c": 0.70}  # annotator_c drifts
CONFUSED = ("returns", "warranty")
AMBIGUOUS_SHARE = 1.0  # share of returns / warranty items that read as either
MISSING_SHARE = 0.05
MAX_KAPPA = 0.69  # under the 0.7 bar
MIN_OTHER_KAPPA = 0.72  # every other label passes it


def read_examples(path: Path) -> list[tuple[str, str]]:
    """Return (id, category) of each distinct well-formed example, in file order."""
    seen: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
            continue
        category = row.get("category")
        if not isinstance(category, str) or not category:
            continue
        tools = row.get("tools") if isinstance(row.get("tools"), list) else None
        seen.setdefault(content_id("sft", row["messages"], None, None, tools), category)
    return list(seen.items())


def label_item(truth: str, shares: dict[str, float], ambiguous: bool, rng: np.random.Generator) -> list[str]:
    """Return the three annotators' labels for one item ('' = missing).

    A wrong label is drawn in proportion to how common each other category is (people
    mistake an item for a frequent category more often than for a rare one).
    """
    labels = []
    for name in ANNOTATORS:
        if rng.random() < MISSING_SHARE:
            labels.append("")
        elif ambiguous:
            labels.append(CONFUSED[int(rng.integers(2))])
        elif rng.random() < ACCURACY[name]:
            labels.append(truth)
        else:
            others = [c for c in shares if c != truth]
            weights = np.array([shares[c] for c in others])
            labels.append(str(rng.choice(others, p=weights / weights.sum())))
    return labels


def build_rows(examples: list[tuple[str, str]], *, seed: int) -> list[list[str]]:
    """Return the CSV rows (without header) for the examples."""
    rng = np.random.default_rng(seed)
    totals = Counter(category for _, category in examples)
    shares = {c: totals[c] / len(examples) for c in sorted(totals)}
    rows = []
    for item_id, truth in examples:
        ambiguous = truth in CONFUSED and rng.random() < AMBIGUOUS_SHARE
        labels = label_item(truth, shares, ambiguous, rng)
        if not any(labels):
            labels[0] = truth
        rows.append([item_id, *labels])
    return rows


def planted(rows: list[list[str]]) -> bool:
    """Return True when the rows show the planted problems (gate fails on one pair and one annotator)."""
    from core import agreement

    table = pd.DataFrame(rows, columns=["id", *ANNOTATORS])
    matrix = agreement.to_label_matrix(table, annotators=list(ANNOTATORS))
    report = agreement.compute_report(matrix)
    drifting = agreement.annotator_agreement(matrix, report.pairwise)
    return (
        report.overall_kappa < MAX_KAPPA
        and set(report.gate.flagged_labels) == set(CONFUSED)
        and all(v >= MIN_OTHER_KAPPA for k, v in report.per_label.items() if k not in CONFUSED)
        and agreement.confused_pairs(matrix)[0].labels == CONFUSED
        and drifting.loc[drifting["drifting"], "annotator"].tolist() == ["annotator_c"]
    )


def main() -> None:
    """Read support_sft.jsonl and write support_annotations.csv next to it."""
    examples = read_examples(HERE / "support_sft.jsonl")
    for attempt in range(200):
        rows = build_rows(examples, seed=SEED + attempt)
        if planted(rows):
            break
    else:
        raise SystemExit("no seed plants the expected problems; check support_sft.jsonl")
    with (HERE / "support_annotations.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", *ANNOTATORS])
        writer.writerows(rows)
    print(f"wrote {len(examples)} items to {HERE / 'support_annotations.csv'} (seed {SEED + attempt})")


if __name__ == "__main__":
    main()
