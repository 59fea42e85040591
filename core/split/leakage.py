"""The leakage report: exact and near-duplicate pairs of rows across splits (and an external eval set)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.split.config import EXCLUDED, SPLITS, LeakageReport, LeakPair
from core.split.units import PairGraph, _column, pair_graph


def leakage_report(
    splits: Mapping[str, pd.DataFrame],
    *,
    threshold: float | None = 0.8,
    external: pd.DataFrame | None = None,
) -> LeakageReport:
    """Find exact and near-duplicate overlap between splits and against an external eval set.

    Args:
        splits: ``{"train": frame, "val": frame, "test": frame}`` (canonical tables).
        threshold: Jaccard threshold for near-duplicates (``None``: exact overlap only).
        external: An eval set from elsewhere; only its overlap with the splits is reported.

    Returns:
        Counts per split pair, check and text scope, and every overlapping pair.
    """
    parts = dict(splits)
    if external is not None:
        parts["external"] = external
    frames = [f for f in parts.values() if len(f)]
    if not frames:
        return LeakageReport(threshold, _empty_counts(list(parts)))
    cols = ["id", "prompt_text", "response_text"]
    union = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
    labels = [name for name, f in parts.items() for _ in range(len(f))]
    graph = pair_graph(union, threshold, scope=None)
    return _leakage(graph, [str(v) for v in _column(union, "id")], labels, threshold)


def _empty_counts(names: Sequence[str]) -> dict[str, dict[str, int]]:
    keys = [f"{a}~{b}" for k, a in enumerate(names) for b in names[k + 1 :]]
    return {
        key: {"exact_prompt": 0, "exact_prompt+response": 0, "near_prompt": 0, "near_prompt+response": 0}
        for key in keys
    }


def _leakage(
    graph: PairGraph, ids: Sequence[str], labels: Sequence[str], threshold: float | None
) -> LeakageReport:
    """Every exact or near pair of rows (prompt, prompt + response) whose labels are two splits.

    Rows labelled ``excluded`` take no part. Within an exact group the first row taking part is
    the anchor the others are paired with; a near pair of two groups pairs their anchors (rows of
    one exact group have the same shingles, hence the same Jaccard).
    """
    names = [name for name in dict.fromkeys(labels) if name != EXCLUDED]
    counts = _empty_counts(sorted(names, key=_split_order))
    codes = np.array([names.index(label) if label != EXCLUDED else -1 for label in labels], dtype=np.int64)
    pairs: list[LeakPair] = []
    for on in ("prompt", "prompt+response"):
        found: dict[tuple[int, int], tuple[str, float]] = {}
        group = np.asarray(graph.views[on].exact_group, dtype=np.int64)
        taking_part = np.flatnonzero((codes >= 0) & (group >= 0))
        anchor = np.full(int(group.max()) + 1 if len(group) else 0, -1, dtype=np.int64)
        groups, first = np.unique(group[taking_part], return_index=True)
        anchor[groups] = taking_part[first]
        own = anchor[group[taking_part]]
        crossing = (own != taking_part) & (codes[own] != codes[taking_part])
        for a, b in zip(own[crossing].tolist(), taking_part[crossing].tolist(), strict=True):
            found[(a, b)] = ("exact", 1.0)
        left, right, jaccard = graph.near(on, threshold)
        left, right = anchor[group[left]], anchor[group[right]]
        crossing = (left >= 0) & (right >= 0)
        crossing[crossing] = codes[left[crossing]] != codes[right[crossing]]
        for a, b, jac in zip(
            left[crossing].tolist(), right[crossing].tolist(), jaccard[crossing].tolist(), strict=True
        ):
            found.setdefault((min(a, b), max(a, b)), ("near", jac))
        for (a, b), (kind, jac) in sorted(found.items()):
            first_row, second_row = sorted((a, b), key=lambda i: _split_order(labels[i]))
            pairs.append(
                LeakPair(
                    labels[first_row],
                    ids[first_row],
                    labels[second_row],
                    ids[second_row],
                    kind,
                    on,
                    round(jac, 4),
                )
            )
            counts[f"{labels[first_row]}~{labels[second_row]}"][f"{kind}_{on}"] += 1
    return LeakageReport(threshold, counts, tuple(pairs))


def _split_order(name: str) -> int:
    order = (*SPLITS, "external")
    return order.index(name) if name in order else len(order)
