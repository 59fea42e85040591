"""Stratified, cluster-aware train / val / test splits, the test lock and the leakage report.

The split works on *units*, not rows: rows that share an id, a prompt or a whole text,
or that are near-duplicates of each other (Jaccard at the dedup threshold, on the prompt
and on prompt + response), are joined into one unit, and a unit always lands in one
split. When asked (``semantic_cosine``), rows that say the same thing in other words (embedding
cosine, :mod:`core.semantic`) are joined as well. The leakage report looks for exactly those
relations across splits, so after a split made here it is zero by construction.

Rules applied, in order: rows of a locked test set stay in test (their near-duplicates
are excluded and listed); units holding a synthetic or eval-derived row go to train; the
rest is shared out per stratum (category, optionally difficulty / language), biggest
units first, each to the split furthest below its target. With a lock, new data never
enters test. With ``time_based``, test is the newest window by ``created_at`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.split.assign import (
    _assign_greedy,
    _force_units,
    _locked_targets,
    _per_stratum,
    _Plan,
    _targets,
    _time_window,
    _Units,
    strata_labels,
)
from core.split.config import (
    EXCLUDED,
    FORCED_TRAIN_SOURCES,
    HOLDOUT_RANGE,
    LOCK_STATE_KEY,
    SPLITS,
    STRATIFY_FIELDS,
    UNLOCK_WORD,
    LeakageReport,
    LeakPair,
    SplitConfig,
    SplitResult,
    holdout_needs_confirmation,
)
from core.split.leakage import _leakage, leakage_report
from core.split.lock import check_lock, content_hash, make_lock, read_lock_file, write_lock_file
from core.split.store import get_lock, lock_history, save_lock, unlock
from core.split.units import (
    PairGraph,
    _column,
    _unit_labels,
    full_texts,
    pair_graph,
    prompt_texts,
    semantic_links,
)

__all__ = [
    "EXCLUDED",
    "FORCED_TRAIN_SOURCES",
    "HOLDOUT_RANGE",
    "LOCK_STATE_KEY",
    "SPLITS",
    "STRATIFY_FIELDS",
    "UNLOCK_WORD",
    "LeakPair",
    "LeakageReport",
    "PairGraph",
    "SplitConfig",
    "SplitResult",
    "check_lock",
    "content_hash",
    "full_texts",
    "get_lock",
    "holdout_needs_confirmation",
    "leakage_report",
    "lock_history",
    "make_lock",
    "pair_graph",
    "prompt_texts",
    "read_lock_file",
    "save_lock",
    "semantic_links",
    "split_frame",
    "strata_labels",
    "unlock",
    "write_lock_file",
]


# split_frame lives here, not in assign.py: it finds the pair graph through this package's
# `pair_graph`, the one name callers (and tests counting graph builds) see.
def split_frame(
    frame: pd.DataFrame,
    config: SplitConfig | None = None,
    *,
    seed: int,
    lock: Mapping[str, Any] | None = None,
    graph: PairGraph | None = None,
    semantic: np.ndarray | None = None,
) -> SplitResult:
    """Split a canonical table into train / val / test.

    Args:
        frame: The canonical table (``id``, ``prompt_text``, ``response_text`` and metadata).
        config: Fractions, stratification, cluster threshold, time-based option.
        seed: Seed of the local random generator (same seed, same split).
        lock: A test lock (see :func:`make_lock`): its ids stay in test and nothing new enters it.
        graph: The table's :class:`PairGraph` (at a floor at or below the threshold, for the
            config's scope), when already at hand; found here otherwise.
        semantic: The ``(n, 2)`` paraphrase pairs at ``config.semantic_cosine`` (:func:`semantic_links`),
            when already at hand; found here when the config asks for them. Ignored otherwise.

    Returns:
        One label per row (``train`` / ``val`` / ``test`` / ``excluded``) and the report.

    Raises:
        DatasetError: If a time-based split is asked for and no row has a ``created_at``.
        ValueError: If ``graph`` does not fit the table, the threshold or the scope.
    """
    config = config or SplitConfig()
    rng = np.random.default_rng(seed)
    if graph is None:
        graph = pair_graph(frame, config.cluster_threshold, config.cluster_scope)
    elif not graph.covers(len(frame), config.cluster_threshold, config.cluster_scope):
        raise ValueError(
            f"the pair graph ({graph.rows} rows, floor {graph.floor}, scope {graph.scope!r}) does not fit "
            f"{len(frame)} rows at {config.cluster_threshold} and scope {config.cluster_scope!r}"
        )
    if config.semantic_cosine is None:
        semantic = None
    elif semantic is None:
        semantic = semantic_links(frame, config.semantic_cosine, config.cluster_scope)
    units = _Units.from_labels(_unit_labels(frame, graph, config.cluster_threshold, semantic))
    strata = strata_labels(frame, config.stratify)
    codes, names = pd.factorize(pd.Series(strata, dtype=object))
    plan = _Plan(
        labels=np.full(len(frame), "train", dtype=object),
        strata=strata,
        stratum_code=codes.astype(np.int64),
        stratum_names=[str(n) for n in names],
        units=units,
        free=np.zeros(0, dtype=np.int64),
        forced_train=[],
        excluded={},
        warnings=[],
    )
    ids = [str(v) for v in _column(frame, "id")]
    locked_ids = set(lock.get("ids", [])) if lock is not None else set()
    _force_units(frame, ids, locked_ids, plan)
    if lock is not None:
        targets = _locked_targets(plan, config)
    elif config.time_based:
        targets = _time_window(frame, config, rng, plan)
    else:
        targets = _targets(plan.count(plan.free_rows()), config.val, config.test)
    _assign_greedy(plan, targets, rng, test_open=lock is None)
    labels = plan.labels.tolist()
    clustered = units.size > 1
    return SplitResult(
        labels=tuple(labels),
        config=config,
        seed=seed,
        per_stratum=_per_stratum(plan, targets),
        clusters_kept_together=int(clustered.sum()),
        rows_in_clusters=int(units.size[clustered].sum()),
        forced_train=tuple(plan.forced_train),
        excluded=plan.excluded,
        locked=lock is not None,
        locked_missing=tuple(sorted(locked_ids - set(ids))),
        leakage=_leakage(graph, ids, labels, config.cluster_threshold),
        warnings=tuple(plan.warnings),
    )
