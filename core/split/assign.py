"""Strata, per-stratum targets and the placement of units into train / val / test.

Rules, in order: rows of a locked test set stay in test (their near-duplicates are excluded);
units holding a synthetic or eval-derived row go to train; the rest is shared out per stratum,
biggest units first, each to the split furthest below its target (or test is the newest window).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import DatasetError
from core.split.config import EXCLUDED, FORCED_TRAIN_SOURCES, SPLITS, SplitConfig
from core.split.units import _column

_NONE_LABEL = "(none)"


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
