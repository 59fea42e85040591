"""Stratified, cluster-aware train / val / test splits, the test lock and the leakage report.

The split works on *units*, not rows: rows that share an id, a prompt or a whole text,
or that are near-duplicates of each other (Jaccard at the dedup threshold, on the prompt
and on prompt + response), are joined into one unit, and a unit always lands in one
split. The leakage report looks for exactly those relations across splits, so after a
split made here it is zero by construction.

Rules applied, in order: rows of a locked test set stay in test (their near-duplicates
are excluded and listed); units holding a synthetic or eval-derived row go to train; the
rest is shared out per stratum (category, optionally difficulty / language), biggest
units first, each to the split furthest below its target. With a lock, new data never
enters test. With ``time_based``, test is the newest window by ``created_at`` instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import dedup
from core.errors import DatasetError
from core.workspace import Workspace, now_iso

SPLITS = ("train", "val", "test")
STRATIFY_FIELDS = ("category", "difficulty", "language")
FORCED_TRAIN_SOURCES = frozenset({"synthetic", "eval"})
HOLDOUT_RANGE = (0.10, 0.20)
LOCK_STATE_KEY = "split.lock"
UNLOCK_WORD = "UNLOCK"
EXCLUDED = "excluded"
_NONE_LABEL = "(none)"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS split_lock_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    n_ids INTEGER NOT NULL,
    note TEXT
);
"""


def holdout_needs_confirmation(val: float, test: float) -> bool:
    """Return True when the hold-out (val + test) lies outside the usual 10-20%."""
    holdout = val + test
    low, high = HOLDOUT_RANGE
    return holdout < low - 1e-9 or holdout > high + 1e-9


@dataclass(frozen=True)
class SplitConfig:
    """How to split.

    Attributes:
        val: Fraction of the data for validation.
        test: Fraction of the data for test.
        stratify: Metadata columns to stratify by (``category``, ``difficulty``, ``language``).
        cluster_threshold: Jaccard threshold at which near-duplicates are kept together
            (``None`` keeps only exact duplicates together).
        cluster_scope: Text the dedup clusters compare (:data:`core.dedup.SCOPES`, as on the dedup
            page); prompts and prompt + response are always compared as well.
        time_based: Test is the newest window by ``created_at`` instead of a stratified draw.
        confirm_holdout: Set when the person accepted a hold-out outside 10-20%.
    """

    val: float = 0.1
    test: float = 0.1
    stratify: tuple[str, ...] = ("category",)
    cluster_threshold: float | None = 0.8
    cluster_scope: str = "all"
    time_based: bool = False
    confirm_holdout: bool = False

    def __post_init__(self) -> None:
        for name, value in (("val", self.val), ("test", self.test)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} fraction must be in [0, 1), got {value!r}")
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must leave room for train, got {self.val + self.test:.3f}")
        unknown = [f for f in self.stratify if f not in STRATIFY_FIELDS]
        if unknown:
            raise ValueError(f"stratify fields must be among {STRATIFY_FIELDS}, got {unknown!r}")
        if self.cluster_threshold is not None and not 0.0 < self.cluster_threshold <= 1.0:
            raise ValueError(f"cluster_threshold must be in (0, 1], got {self.cluster_threshold!r}")
        dedup.scope_parts(self.cluster_scope)
        if holdout_needs_confirmation(self.val, self.test) and not self.confirm_holdout:
            raise ValueError(
                f"a hold-out of {self.val + self.test:.0%} is outside 10-20%; "
                "set confirm_holdout=True to accept it"
            )

    @property
    def train(self) -> float:
        """Fraction of the data for training."""
        return 1.0 - self.val - self.test

    def fractions(self) -> dict[str, float]:
        """Return ``{"train", "val", "test"}`` fractions."""
        return {"train": round(self.train, 6), "val": self.val, "test": self.test}


@dataclass(frozen=True)
class LeakPair:
    """One example found on both sides of two splits."""

    left_split: str
    left_id: str
    right_split: str
    right_id: str
    kind: str  # "exact" | "near"
    on: str  # "prompt" | "prompt+response"
    jaccard: float


@dataclass(frozen=True)
class LeakageReport:
    """Exact and near-duplicate overlap between splits (and an external eval set)."""

    threshold: float | None
    counts: dict[str, dict[str, int]]
    pairs: tuple[LeakPair, ...] = ()

    @property
    def total(self) -> int:
        """Number of overlapping pairs found, over every check."""
        return len(self.pairs)

    def to_dict(self, max_pairs: int = 50) -> dict[str, Any]:
        """Return a JSON-ready summary (the first ``max_pairs`` pairs listed)."""
        return {
            "threshold": self.threshold,
            "total": self.total,
            "counts": self.counts,
            "pairs": [p.__dict__ for p in self.pairs[:max_pairs]],
        }

    def pairs_frame(self) -> pd.DataFrame:
        """Return the pairs as a table (empty with the right columns when there are none)."""
        columns = list(LeakPair.__dataclass_fields__)
        return pd.DataFrame([p.__dict__ for p in self.pairs], columns=columns)


@dataclass(frozen=True)
class SplitResult:
    """The outcome of :func:`split_frame`: one label per input row, and what was decided."""

    labels: tuple[str, ...]
    config: SplitConfig
    seed: int
    per_stratum: dict[str, dict[str, int]]
    clusters_kept_together: int
    rows_in_clusters: int
    forced_train: tuple[str, ...]
    excluded: dict[str, str]
    locked: bool
    locked_missing: tuple[str, ...]
    leakage: LeakageReport
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per split (and excluded)."""
        out = {name: 0 for name in (*SPLITS, EXCLUDED)}
        for label in self.labels:
            out[label] += 1
        return out

    def split(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Return ``{"train", "val", "test", "excluded"}`` sub-frames of ``frame`` (the split input)."""
        if len(frame) != len(self.labels):
            raise ValueError(f"frame has {len(frame)} rows but the split labelled {len(self.labels)}")
        labels = np.asarray(self.labels, dtype=object)
        return {name: frame[labels == name].reset_index(drop=True) for name in (*SPLITS, EXCLUDED)}

    def summary(self) -> dict[str, Any]:
        """Return the JSON summary the command line prints."""
        return {
            "counts": self.counts,
            "per_stratum": self.per_stratum,
            "clusters_kept_together": self.clusters_kept_together,
            "rows_in_clusters": self.rows_in_clusters,
            "forced_train": len(self.forced_train),
            "excluded": self.excluded,
            "leakage": self.leakage.to_dict(),
            "locked": self.locked,
            "locked_missing": list(self.locked_missing),
            "fractions": self.config.fractions(),
            "seed": self.seed,
            "warnings": list(self.warnings),
        }


# -- texts and units -------------------------------------------------------------------------


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    column = frame[name]
    missing = column.isna().to_numpy()  # one vectorised pass; lists and dicts count as present
    return [None if gone else value for value, gone in zip(column.tolist(), missing, strict=True)]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def prompt_texts(frame: pd.DataFrame) -> list[str]:
    """Return the prompt text of each row (the user turns)."""
    return [str(v or "") for v in _column(frame, "prompt_text")]


def full_texts(frame: pd.DataFrame) -> list[str]:
    """Return prompt + response text of each row."""
    return [
        f"{p}\n{r or ''}" for p, r in zip(prompt_texts(frame), _column(frame, "response_text"), strict=True)
    ]


@dataclass(frozen=True)
class PairGraph:
    """Which rows of one table are copies or near-duplicates of each other, per text view.

    Views: ``prompt`` (the user turns), ``prompt+response`` and, when a dedup scope is given,
    ``scope`` (the text the Dedup page compares). Near pairs are verified down to ``floor``, so
    one graph answers every threshold from the floor up: the Split page keeps it beside the
    dataset version (:mod:`core.derived`) and a threshold change is only a filter.
    """

    rows: int
    floor: float | None  # None: exact relations only
    scope: str | None
    views: Mapping[str, dedup.PairSet]

    def near(self, view: str, threshold: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the near pairs ``(left, right, jaccard)`` of ``view`` at ``threshold``."""
        if threshold is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        if self.floor is None or threshold < self.floor - 1e-12:
            raise ValueError(f"the pair graph holds near pairs down to {self.floor}, not {threshold}")
        return self.views[view].near(threshold)

    def covers(self, rows: int, threshold: float | None, scope: str | None) -> bool:
        """Return whether this graph can answer a split of ``rows`` rows at ``threshold`` and ``scope``."""
        floor_ok = threshold is None or (self.floor is not None and self.floor <= threshold + 1e-12)
        return self.rows == rows and floor_ok and (scope is None or scope == self.scope)

    def save(self, path: str | Path) -> None:
        """Write the graph as one ``.npz`` file."""
        arrays: dict[str, Any] = {
            "meta": np.array(json.dumps({"rows": self.rows, "floor": self.floor, "scope": self.scope}))
        }
        for name, pairs in self.views.items():
            for part in ("exact_group", "left", "right", "jaccard"):
                arrays[f"{name}/{part}"] = getattr(pairs, part)
            arrays[f"{name}/floor"] = np.array(pairs.floor)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> PairGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            names = sorted({key.split("/")[0] for key in data.files if "/" in key})
            views = {
                name: dedup.PairSet(
                    float(data[f"{name}/floor"]),
                    *(data[f"{name}/{part}"] for part in ("exact_group", "left", "right", "jaccard")),
                )
                for name in names
            }
        return cls(meta["rows"], meta["floor"], meta["scope"], views)


def pair_graph(
    frame: pd.DataFrame,
    floor: float | None,
    scope: str | None = "all",
    *,
    processes: int | None = None,
    scope_pairs: dedup.PairSet | None = None,
    progress: Callable[[float], None] | None = None,
) -> PairGraph:
    """Find the copies and near-duplicates (down to Jaccard ``floor``) of a canonical table.

    Args:
        frame: The canonical table.
        floor: Lowest threshold the graph must answer (``None``: exact copies only).
        scope: Dedup scope of the ``scope`` view (``None``: prompts and prompt + response only).
        processes: Worker processes of the MinHash engine (default: 2 for big tables).
        scope_pairs: The ``scope`` view when already found (the Dedup page's graph for ``scope``
            with default settings, at a floor at or below ``floor``).
        progress: Called with the finished fraction (0-1) while texts are processed.

    Raises:
        ValueError: If ``scope_pairs`` was verified above ``floor``.
    """
    level = 1.0 if floor is None else floor
    runs = 2 + (scope is not None and scope_pairs is None)

    def step(k: int) -> Callable[[float], None] | None:  # run k of `runs` reports its share of the bar
        return None if progress is None else (lambda done: progress((k + done) / runs))

    views: dict[str, dedup.PairSet] = {}
    for k, (name, texts) in enumerate(
        (("prompt", prompt_texts(frame)), ("prompt+response", full_texts(frame)))
    ):
        config = dedup.DedupConfig(threshold=level, scope="prompt", shingle_size=_SHINGLE_WORDS)
        table = pd.DataFrame({"prompt_text": texts})
        views[name] = dedup.duplicate_pairs(table, config, processes=processes, progress=step(k))
    if scope is not None and scope_pairs is not None:
        if scope_pairs.floor > level + 1e-12 or len(scope_pairs.exact_group) != len(frame):
            raise ValueError(f"scope pairs at {scope_pairs.floor} do not serve {len(frame)} rows at {level}")
        views["scope"] = scope_pairs
    elif scope is not None:
        config = dedup.DedupConfig(threshold=level, scope=scope)
        views["scope"] = dedup.duplicate_pairs(frame, config, processes=processes, progress=step(2))
    return PairGraph(len(frame), floor, scope, views)


def _seed_pairs(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """Tie each synthetic row to the seed examples it was generated from (``seed_ids``).

    A paraphrase is often below the near-duplicate threshold of its seed, yet a seed in test with
    its paraphrase in train is leakage: the unit goes to train, or the paraphrase is excluded when
    the seed is in a locked test set.
    """
    if "seed_ids" not in frame.columns:
        return []
    position = {str(v): i for i, v in enumerate(_column(frame, "id"))}
    pairs: list[tuple[int, int]] = []
    for i, seeds in enumerate(frame["seed_ids"]):
        if isinstance(seeds, (list, tuple, np.ndarray)):
            pairs.extend((position[str(s)], i) for s in seeds if str(s) in position)
    return pairs


def _id_groups(frame: pd.DataFrame) -> np.ndarray:
    """Each row's id as a group label (-1 when missing): rows sharing an id share a split."""
    ids = [None if v is None or v == "" else str(v) for v in _column(frame, "id")]
    codes, _ = pd.factorize(pd.Series(ids, dtype=object))
    return codes.astype(np.int64)


def _unit_labels(frame: pd.DataFrame, graph: PairGraph, threshold: float | None) -> np.ndarray:
    """Connected components over rows: same id, same text, near-duplicate, seed of."""
    n = len(frame)
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    nodes = n

    def join(group: np.ndarray) -> None:  # rows of one group meet at a node of their own
        nonlocal nodes
        present = np.flatnonzero(group >= 0)
        if present.size:
            sources.append(present)
            targets.append(nodes + group[present])
            nodes += int(group[present].max()) + 1

    join(_id_groups(frame))
    for name, pairs in graph.views.items():
        if name == "scope" and threshold is None:
            continue  # exact relations only: ids, prompts and whole texts, as the dedup scope may be partial
        join(np.asarray(pairs.exact_group, dtype=np.int64))
        left, right, _ = graph.near(name, threshold)
        sources.append(left.astype(np.int64))
        targets.append(right.astype(np.int64))
    seeds = np.asarray(_seed_pairs(frame), dtype=np.int64).reshape(-1, 2)
    sources.append(seeds[:, 0])
    targets.append(seeds[:, 1])
    source, target = np.concatenate(sources), np.concatenate(targets)
    adjacency = coo_matrix((np.ones(len(source), dtype=np.int8), (source, target)), shape=(nodes, nodes))
    _, labels = connected_components(adjacency, directed=False)
    return labels[:n]


# -- strata and targets ----------------------------------------------------------------------


def strata_labels(frame: pd.DataFrame, fields: Sequence[str]) -> list[str]:
    """Return each row's stratum label, e.g. ``"billing"`` or ``"billing / hard"``."""
    if not fields:
        return ["all"] * len(frame)
    columns = [_column(frame, f) for f in fields]
    return [
        " / ".join(_NONE_LABEL if v is None else str(v) for v in values)
        for values in zip(*columns, strict=True)
    ]


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def _targets(counts: Mapping[str, int], val: float, test: float) -> dict[str, dict[str, int]]:
    """Per-stratum targets: each within one of its exact share, totals as close as rounding allows."""
    n_test = _apportion(counts, test)
    n_val = {s: min(v, counts[s] - n_test[s]) for s, v in _apportion(counts, val).items()}
    return {
        s: {"train": n - n_val[s] - n_test[s], "val": n_val[s], "test": n_test[s]} for s, n in counts.items()
    }


def _apportion(counts: Mapping[str, int], fraction: float) -> dict[str, int]:
    """Largest-remainder rounding of ``n * fraction`` per stratum to a total of round(sum * fraction)."""
    exact = {s: n * fraction for s, n in counts.items()}
    out = {s: math.floor(x + 1e-9) for s, x in exact.items()}
    spare = _round_half_up(sum(counts.values()) * fraction) - sum(out.values())
    by_remainder = sorted(exact, key=lambda s: (-(exact[s] - out[s]), s))
    for s in by_remainder[: max(spare, 0)]:
        out[s] += 1
    return out


# -- the split ---------------------------------------------------------------------------------


_LABEL_CODES = {name: k for k, name in enumerate((*SPLITS, EXCLUDED))}


@dataclass
class _Units:
    """Rows grouped into units (numbered in order of their first row)."""

    of_row: np.ndarray  # unit of each row
    size: np.ndarray  # rows per unit
    order: np.ndarray  # rows sorted by unit (ascending rows within a unit)
    start: np.ndarray  # where each unit's rows begin in ``order``

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> _Units:
        if len(labels) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty)
        _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        of_row = rank[inverse.reshape(-1)]
        size = np.bincount(of_row)
        order = np.argsort(of_row, kind="stable")
        return cls(of_row, size, order, np.concatenate([[0], np.cumsum(size)[:-1]]))

    def rows(self, unit: int) -> np.ndarray:
        return self.order[self.start[unit] : self.start[unit] + self.size[unit]]


@dataclass
class _Plan:
    """Mutable working state of one split (private)."""

    labels: np.ndarray  # object array: one label per row
    strata: list[str]  # stratum label per row
    stratum_code: np.ndarray  # per row, index into ``stratum_names``
    stratum_names: list[str]
    units: _Units
    free: np.ndarray  # units still to place, in unit order
    forced_train: list[str]
    excluded: dict[str, str]
    warnings: list[str]

    def free_rows(self) -> np.ndarray:
        is_free = np.zeros(len(self.units.size), dtype=bool)
        is_free[self.free] = True
        return np.flatnonzero(is_free[self.units.of_row])

    def count(self, rows: np.ndarray) -> dict[str, int]:
        counts = np.bincount(self.stratum_code[rows], minlength=len(self.stratum_names))
        return {self.stratum_names[k]: int(n) for k, n in enumerate(counts) if n}


def split_frame(
    frame: pd.DataFrame,
    config: SplitConfig | None = None,
    *,
    seed: int,
    lock: Mapping[str, Any] | None = None,
    graph: PairGraph | None = None,
) -> SplitResult:
    """Split a canonical table into train / val / test.

    Args:
        frame: The canonical table (``id``, ``prompt_text``, ``response_text`` and metadata).
        config: Fractions, stratification, cluster threshold, time-based option.
        seed: Seed of the local random generator (same seed, same split).
        lock: A test lock (see :func:`make_lock`): its ids stay in test and nothing new enters it.
        graph: The table's :class:`PairGraph` (at a floor at or below the threshold, for the
            config's scope), when already at hand; found here otherwise.

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
    units = _Units.from_labels(_unit_labels(frame, graph, config.cluster_threshold))
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


def _force_units(frame: pd.DataFrame, ids: list[str], locked_ids: set[str], plan: _Plan) -> None:
    """Place locked units (test) and synthetic / eval units (train); keep the rest free."""
    units, n_units = plan.units, len(plan.units.size)
    sources = _column(frame, "source")
    forced_row = np.fromiter(
        (str(v).lower() in FORCED_TRAIN_SOURCES if v is not None else False for v in sources),
        dtype=bool,
        count=len(ids),
    )
    locked_row = np.fromiter((i in locked_ids for i in ids), dtype=bool, count=len(ids))
    locked_unit = np.bincount(units.of_row, weights=locked_row, minlength=n_units) > 0
    forced_unit = (np.bincount(units.of_row, weights=forced_row, minlength=n_units) > 0) & ~locked_unit
    for unit in np.flatnonzero(locked_unit).tolist():
        _place_locked(units.rows(unit).tolist(), ids, locked_ids, plan)
    forced = np.flatnonzero(forced_unit[units.of_row] & forced_row)
    forced = forced[np.lexsort((forced, units.of_row[forced]))]
    plan.forced_train = [ids[i] for i in forced.tolist()]
    plan.free = np.flatnonzero(~locked_unit & ~forced_unit)


def _place_locked(unit: list[int], ids: list[str], locked_ids: set[str], plan: _Plan) -> None:
    anchor = next(ids[i] for i in unit if ids[i] in locked_ids)
    for i in unit:
        if ids[i] in locked_ids:
            plan.labels[i] = "test"
        else:
            plan.labels[i] = EXCLUDED
            plan.excluded[ids[i]] = f"near-duplicate of locked test example {anchor}"


def _time_window(
    frame: pd.DataFrame, config: SplitConfig, rng: np.random.Generator, plan: _Plan
) -> dict[str, dict[str, int]]:
    """Put the newest units (by ``created_at``) in test; return train / val targets for the rest."""
    times = pd.to_datetime(pd.Series(_column(frame, "created_at"), dtype=object), errors="coerce", utc=True)
    if times.isna().all():
        raise DatasetError("a time-based split needs a created_at value on the rows; none has one")
    units = plan.units
    want = _round_half_up(int(units.size[plan.free].sum()) * config.test)
    draw = rng.permutation(len(plan.free))  # breaks ties between units of the same time
    newest = times.groupby(units.of_row).max().reindex(range(len(units.size)))
    unit_time = newest.iloc[plan.free]
    dated = np.flatnonzero(unit_time.notna().to_numpy())
    # dense ranks keep the order of any date pandas can hold (nanosecond integers wrap outside 1677-2262)
    stamps = unit_time.iloc[dated].rank(method="dense").to_numpy()
    ranked = dated[np.lexsort((draw[dated], stamps))]  # oldest first; the newest are taken from the end
    taken, in_test = 0, []
    for k in ranked[::-1].tolist():
        if taken >= want:
            break
        in_test.append(k)
        taken += int(units.size[plan.free[k]])
    for k in in_test:
        plan.labels[units.rows(plan.free[k])] = "test"
    plan.free = np.delete(plan.free, in_test)
    if taken < want:
        plan.warnings.append(f"only {taken} dated rows for a test window of {want}")
    return _targets(plan.count(plan.free_rows()), config.val / (config.train + config.val), 0.0)


def _locked_targets(plan: _Plan, config: SplitConfig) -> dict[str, dict[str, int]]:
    """Train / val targets of the rows a test lock leaves free.

    They are the targets of the split without the lock, counted over the free rows and the locked
    test rows (what that split had to share out); with the same unit order (see
    :func:`_assign_greedy`), a lock made from a split gives that split back, train and val included.
    Rows added since are over every target: they go to train or val, never to test.
    """
    free = plan.count(plan.free_rows())
    locked = plan.count(np.flatnonzero(plan.labels == "test"))
    before = _targets(
        {s: free.get(s, 0) + locked.get(s, 0) for s in {*free, *locked}}, config.val, config.test
    )
    return {s: {"train": before[s]["train"], "val": before[s]["val"], "test": 0} for s in free}


def _assign_greedy(
    plan: _Plan, targets: dict[str, dict[str, int]], rng: np.random.Generator, *, test_open: bool = True
) -> None:
    """Give each free unit, biggest first, to the split furthest below its target.

    Ties go to train, then val. Single rows come last; each one's choice depends only on its own
    stratum's deficits, so they are played out stratum by stratum (same result, a fraction of the
    time on 100,000 rows). Units are drawn in an order set over all units, free or not, so taking
    some out (a test lock) leaves the others' order, hence their splits, as they were. With
    ``test_open`` false nothing enters test, even when train and val are over their targets.
    """
    units = plan.units
    deficit = np.zeros((len(plan.stratum_names), len(SPLITS)), dtype=np.int64)
    for k, name in enumerate(plan.stratum_names):
        deficit[k] = [targets.get(name, {}).get(split_name, 0) for split_name in SPLITS]
    if not test_open:
        deficit[:, SPLITS.index("test")] = -(1 << 40)
    draw = rng.permutation(len(units.size))  # every unit's place in the draw
    permuted = plan.free[np.argsort(draw[plan.free], kind="stable")]
    ranked = permuted[np.argsort(-units.size[permuted], kind="stable")]
    multi = ranked[units.size[ranked] > 1]
    for unit in multi.tolist():
        rows = units.rows(unit)
        codes = plan.stratum_code[rows]
        scores = deficit[codes].sum(axis=0).tolist()
        best = max(range(len(SPLITS)), key=lambda k: (scores[k], k == 0, -k))
        plan.labels[rows] = SPLITS[best]
        np.subtract.at(deficit[:, best], codes, 1)
    singles = units.order[units.start[ranked[units.size[ranked] == 1]]]
    by_stratum = np.argsort(plan.stratum_code[singles], kind="stable")
    singles = singles[by_stratum]
    bounds = np.flatnonzero(np.diff(plan.stratum_code[singles])) + 1
    for rows in np.split(singles, bounds) if len(singles) else []:
        code = int(plan.stratum_code[rows[0]])
        train, val, test = deficit[code].tolist()
        chosen = []
        for _ in range(len(rows)):
            if train >= val and train >= test:
                chosen.append("train")
                train -= 1
            elif val >= test:
                chosen.append("val")
                val -= 1
            else:
                chosen.append("test")
                test -= 1
        plan.labels[rows] = chosen
        deficit[code] = (train, val, test)


def _per_stratum(plan: _Plan, targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    columns = (*SPLITS, EXCLUDED)
    label_code = np.fromiter(
        (_LABEL_CODES[label] for label in plan.labels), dtype=np.int64, count=len(plan.labels)
    )
    table = np.bincount(
        plan.stratum_code * len(columns) + label_code, minlength=len(plan.stratum_names) * len(columns)
    ).reshape(-1, len(columns))
    out: dict[str, dict[str, int]] = {}
    for k, stratum in enumerate(plan.stratum_names):
        target = targets.get(stratum, {})
        out[stratum] = {
            **{name: int(n) for name, n in zip(columns, table[k], strict=True)},
            "target_val": target.get("val", 0),
            "target_test": target.get("test", 0),
        }
    return dict(sorted(out.items()))


# -- leakage ---------------------------------------------------------------------------------


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


# Near-duplicate pairs come from the dedup engine (MinHash + LSH, verified by the true Jaccard
# of :mod:`core.similarity`'s shingles). A pair is a candidate iff the two signatures share a
# band, whatever else is in the set, so the pairs among a subset are found again when the subset
# is checked on its own: that is what makes "leakage is zero after a split made here" hold.

_SHINGLE_WORDS = 3


# -- the test lock -----------------------------------------------------------------------------


def content_hash(row: Mapping[str, Any]) -> str:
    """Return the sha256 of an example's content (kind, messages, chosen, rejected, tools)."""
    payload = [row.get("kind"), row.get("messages"), row.get("chosen"), row.get("rejected"), row.get("tools")]
    text = json.dumps(_plain(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return None if _is_missing(value) else value


def make_lock(
    test: pd.DataFrame, *, seed: int, fractions: Mapping[str, float], dataset_version: int | None = None
) -> dict[str, Any]:
    """Return the lock manifest of a test set: ids, content hashes, date, seed, fractions."""
    rows = test.to_dict("records")
    ids = list(dict.fromkeys(str(r["id"]) for r in rows))
    hashes = {str(r["id"]): content_hash(r) for r in rows}
    return {
        "ids": ids,
        "hashes": hashes,
        "locked_at": now_iso(),
        "seed": seed,
        "fractions": dict(fractions),
        "dataset_version": dataset_version,
        "count": len(ids),
    }


def check_lock(lock: Any, origin: str = "lock") -> dict[str, Any]:
    """Return ``lock`` if it is a well-formed lock manifest.

    Raises:
        DatasetError: If it is not (naming ``origin``, e.g. the lock file's path).
    """
    if not isinstance(lock, dict) or not isinstance(lock.get("ids"), list):
        raise DatasetError(f"{origin}: not a test lock (expected a JSON object with an 'ids' list)")
    if not all(isinstance(i, str) for i in lock["ids"]):
        raise DatasetError(f"{origin}: field 'ids' must hold strings")
    if not isinstance(lock.get("hashes", {}), dict):
        raise DatasetError(f"{origin}: field 'hashes' must be an object")
    return lock


def read_lock_file(path: str | Path) -> dict[str, Any]:
    """Read a lock file written by :func:`write_lock_file`.

    Raises:
        DatasetError: If the file is not valid JSON or not a lock.
    """
    try:
        lock = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the lock file ({exc})") from exc
    return check_lock(lock, str(path))


def write_lock_file(path: str | Path, lock: Mapping[str, Any]) -> None:
    """Write a lock manifest as pretty JSON."""
    Path(path).write_text(json.dumps(lock, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def get_lock(ws: Workspace) -> dict[str, Any] | None:
    """Return the workspace's test lock, or ``None`` when the test set is not locked."""
    lock = ws.get_state(LOCK_STATE_KEY)
    return check_lock(lock, "workspace test lock") if lock else None


def save_lock(ws: Workspace, lock: Mapping[str, Any], note: str = "") -> None:
    """Lock the test set in the workspace and record it in the history."""
    ws.set_state(LOCK_STATE_KEY, dict(check_lock(dict(lock))))
    _record(ws, "lock", len(lock["ids"]), note)


def unlock(ws: Workspace, confirmation: str, note: str = "") -> None:
    """Remove the test lock; the person must type ``UNLOCK``.

    Raises:
        DatasetError: If ``confirmation`` is not ``UNLOCK`` or there is no lock.
    """
    if confirmation.strip() != UNLOCK_WORD:
        raise DatasetError(f"type {UNLOCK_WORD} to unlock the test set")
    lock = get_lock(ws)
    if lock is None:
        raise DatasetError("the test set is not locked")
    ws.set_state(LOCK_STATE_KEY, None)
    _record(ws, "unlock", len(lock["ids"]), note)


def lock_history(ws: Workspace) -> list[dict[str, Any]]:
    """Return every lock / unlock event, oldest first."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT event, at, n_ids, note FROM split_lock_history ORDER BY id"
        ).fetchall()
    return [dict(r) for r in rows]


def _record(ws: Workspace, event: str, n_ids: int, note: str) -> None:
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        connection.execute(
            "INSERT INTO split_lock_history (event, at, n_ids, note) VALUES (?, ?, ?, ?)",
            (event, now_iso(), n_ids, note),
        )
