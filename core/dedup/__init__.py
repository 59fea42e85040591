"""Exact and near-duplicate detection, clusters, keep policies, removal with an audit trail.

Exact duplicates share the hash of their normalised text (NFKC, case-folded, whitespace
collapsed; each step optional). Near duplicates are found by MinHash + LSH over word
n-gram shingles (character n-grams for texts in scripts written without spaces), with
bands chosen so that a pair *at* the threshold is a candidate with probability >= 0.999;
every candidate pair is then verified by the true Jaccard of its shingle sets, and
clusters are the connected components of the verified pairs (union-find). Shingles and
Jaccard are those of :mod:`core.similarity`; the batch path is its vectorised kernel
(:mod:`core._minhash`: one-permutation MinHash with densification, seeded hashes) and runs in
two worker processes for big inputs.

Example::

    result = find_duplicates(frame, DedupConfig(threshold=0.8))
    kept, audit = apply_dedup(frame, result, policy="longest")
"""

from collections.abc import Callable

import pandas as pd

from core.dedup.config import (
    SCOPE_PARTS,
    SCOPES,
    Cluster,
    DedupConfig,
    DedupResult,
    scope_parts,
    scope_texts,
)
from core.dedup.engine import (
    Cancelled,
    DuplicateGraph,
    PairSet,
    duplicate_graph,
    graph_of,
    result_at,
    sensitivity,
)
from core.dedup.explain import (
    diff_words,
    differing_parts,
    differing_turns,
    from_first_difference,
    member_label,
    pairwise_jaccard,
    result_summary,
)
from core.dedup.policy import KEEP_POLICIES, apply_dedup, choose_keepers, keep_table, keepers_of, restore
from core.dedup.store import load_audit, mark_restored, save_audit, save_settings

__all__ = [
    "KEEP_POLICIES",
    "SCOPES",
    "SCOPE_PARTS",
    "Cancelled",
    "Cluster",
    "DedupConfig",
    "DedupResult",
    "DuplicateGraph",
    "PairSet",
    "apply_dedup",
    "choose_keepers",
    "diff_words",
    "differing_parts",
    "differing_turns",
    "duplicate_graph",
    "duplicate_pairs",
    "find_duplicates",
    "from_first_difference",
    "graph_of",
    "keep_table",
    "keepers_of",
    "load_audit",
    "mark_restored",
    "member_label",
    "pairwise_jaccard",
    "restore",
    "result_at",
    "result_summary",
    "save_audit",
    "save_settings",
    "scope_parts",
    "scope_texts",
    "sensitivity",
]


# find_duplicates and duplicate_pairs live here, not in engine.py: they run the engine through this
# package's `duplicate_graph`, the one name callers (and tests counting engine runs) see.


def find_duplicates(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    processes: int | None = None,
) -> DedupResult:
    """Find exact and near-duplicate clusters in a canonical table.

    Args:
        frame: A canonical table (see :mod:`core.records`).
        config: What counts as a duplicate (default :class:`DedupConfig`).
        progress: Called with the finished fraction (0-1) while texts are processed.
        cancel: Polled between batches; returning True stops the run.
        processes: Worker processes (default: 2 for big inputs on a multi-core machine, else 1).

    Returns:
        The clusters and counts.

    Raises:
        Cancelled: If ``cancel()`` returned True.
    """
    config = config or DedupConfig()
    graph = duplicate_graph(frame, config, progress=progress, cancel=cancel, processes=processes)
    return result_at(graph, config)


def duplicate_pairs(
    frame: pd.DataFrame,
    config: DedupConfig | None = None,
    *,
    floor: float | None = None,
    processes: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> PairSet:
    """Return the exact groups and the near pairs down to ``floor`` (default: the config's threshold).

    One engine run serves every threshold from ``floor`` up: bands are chosen for the floor,
    so a pair at any higher threshold is a candidate with at least the same probability.
    """
    return duplicate_graph(frame, config, floor=floor, processes=processes, progress=progress).pairs()
