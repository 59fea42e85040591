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

import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())


def _relations(frame: pd.DataFrame, threshold: float | None, scope: str = "all") -> list[tuple[int, int]]:
    """Every pair of rows that must share a split (same id, same text, near-duplicates, seed of)."""
    pairs: list[tuple[int, int]] = _seed_pairs(frame)
    if threshold is not None and len(frame) > 1:
        found = dedup.find_duplicates(frame, dedup.DedupConfig(threshold=threshold, scope=scope), processes=1)
        pairs.extend((c.members[0], m) for c in found.clusters for m in c.members[1:])
    ids = [str(v) for v in _column(frame, "id")]
    pairs.extend(_same_key_pairs(ids))
    for texts in (prompt_texts(frame), full_texts(frame)):
        pairs.extend(_same_key_pairs([normalize_text(t) for t in texts]))
        if threshold is not None:
            pairs.extend((a, b) for a, b, _ in near_pairs(texts, threshold))
    return pairs


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


def _same_key_pairs(keys: Sequence[str]) -> list[tuple[int, int]]:
    first: dict[str, int] = {}
    pairs = []
    for i, key in enumerate(keys):
        if not key:
            continue
        if key in first:
            pairs.append((first[key], i))
        else:
            first[key] = i
    return pairs


def find_units(frame: pd.DataFrame, threshold: float | None, scope: str = "all") -> list[list[int]]:
    """Return groups of row positions that must land in one split."""
    finder = _UnionFind(len(frame))
    for a, b in _relations(frame, threshold, scope):
        finder.union(a, b)
    return finder.groups()


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


@dataclass
class _Plan:
    """Mutable working state of one split (private)."""

    labels: list[str]
    strata: list[str]
    free_units: list[list[int]]
    forced_train: list[str]
    excluded: dict[str, str]
    warnings: list[str]


def split_frame(
    frame: pd.DataFrame,
    config: SplitConfig | None = None,
    *,
    seed: int,
    lock: Mapping[str, Any] | None = None,
) -> SplitResult:
    """Split a canonical table into train / val / test.

    Args:
        frame: The canonical table (``id``, ``prompt_text``, ``response_text`` and metadata).
        config: Fractions, stratification, cluster threshold, time-based option.
        seed: Seed of the local random generator (same seed, same split).
        lock: A test lock (see :func:`make_lock`): its ids stay in test and nothing new enters it.

    Returns:
        One label per row (``train`` / ``val`` / ``test`` / ``excluded``) and the report.

    Raises:
        DatasetError: If a time-based split is asked for and no row has a ``created_at``.
    """
    config = config or SplitConfig()
    rng = np.random.default_rng(seed)
    units = find_units(frame, config.cluster_threshold, config.cluster_scope)
    plan = _Plan(["train"] * len(frame), strata_labels(frame, config.stratify), [], [], {}, [])
    locked_ids = set(lock.get("ids", [])) if lock is not None else set()
    _force_units(frame, units, locked_ids, plan)
    free_rows = [i for unit in plan.free_units for i in unit]
    if lock is not None:
        val_share = config.val / (config.train + config.val)
        targets = _targets(_count(plan.strata, free_rows), val_share, 0.0)
    elif config.time_based:
        targets = _time_window(frame, config, rng, plan)
    else:
        targets = _targets(_count(plan.strata, free_rows), config.val, config.test)
    _assign_greedy(plan, targets, rng)
    ids = [str(v) for v in _column(frame, "id")]
    present = set(ids)
    return SplitResult(
        labels=tuple(plan.labels),
        config=config,
        seed=seed,
        per_stratum=_per_stratum(plan, targets),
        clusters_kept_together=sum(1 for u in units if len(u) > 1),
        rows_in_clusters=sum(len(u) for u in units if len(u) > 1),
        forced_train=tuple(plan.forced_train),
        excluded=plan.excluded,
        locked=lock is not None,
        locked_missing=tuple(sorted(locked_ids - present)),
        leakage=_leakage_of_labels(frame, plan.labels, config.cluster_threshold),
        warnings=tuple(plan.warnings),
    )


def _count(strata: Sequence[str], rows: Sequence[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in rows:
        out[strata[i]] = out.get(strata[i], 0) + 1
    return out


def _force_units(frame: pd.DataFrame, units: list[list[int]], locked_ids: set[str], plan: _Plan) -> None:
    """Place locked units (test) and synthetic / eval units (train); keep the rest free."""
    ids = [str(v) for v in _column(frame, "id")]
    sources = [str(v).lower() if v is not None else "real" for v in _column(frame, "source")]
    for unit in units:
        if any(ids[i] in locked_ids for i in unit):
            _place_locked(unit, ids, locked_ids, plan)
        elif any(sources[i] in FORCED_TRAIN_SOURCES for i in unit):
            plan.forced_train.extend(ids[i] for i in unit if sources[i] in FORCED_TRAIN_SOURCES)
        else:
            plan.free_units.append(unit)


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
    n_free = sum(len(u) for u in plan.free_units)
    want = _round_half_up(n_free * config.test)
    order = rng.permutation(len(plan.free_units))
    dated = [(times.iloc[unit].max(), k) for k, unit in zip(order, plan.free_units, strict=True)]
    ranked = sorted(
        (t, k, unit) for (t, k), unit in zip(dated, plan.free_units, strict=True) if not pd.isna(t)
    )
    taken = 0
    in_test: set[int] = set()
    while ranked and taken < want:
        _, _, unit = ranked.pop()
        in_test.update(unit)
        taken += len(unit)
    for i in in_test:
        plan.labels[i] = "test"
    plan.free_units = [u for u in plan.free_units if u[0] not in in_test]
    if taken < want:
        plan.warnings.append(f"only {taken} dated rows for a test window of {want}")
    rest = [i for unit in plan.free_units for i in unit]
    return _targets(_count(plan.strata, rest), config.val / (config.train + config.val), 0.0)


def _assign_greedy(plan: _Plan, targets: dict[str, dict[str, int]], rng: np.random.Generator) -> None:
    """Give each free unit, biggest first, to the split furthest below its target."""
    deficit = {s: dict(t) for s, t in targets.items()}
    order = rng.permutation(len(plan.free_units))
    units = sorted((plan.free_units[k] for k in order), key=len, reverse=True)
    for unit in units:
        scores = {name: sum(deficit[plan.strata[i]][name] for i in unit) for name in SPLITS}
        best = max(SPLITS, key=lambda name: (scores[name], name == "train"))
        for i in unit:
            plan.labels[i] = best
            deficit[plan.strata[i]][best] -= 1


def _per_stratum(plan: _Plan, targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for stratum, label in zip(plan.strata, plan.labels, strict=True):
        row = out.setdefault(stratum, {name: 0 for name in (*SPLITS, EXCLUDED)})
        row[label] += 1
    for stratum, row in out.items():
        target = targets.get(stratum, {})
        row["target_val"] = target.get("val", 0)
        row["target_test"] = target.get("test", 0)
    return dict(sorted(out.items()))


# -- leakage ---------------------------------------------------------------------------------


def _leakage_of_labels(frame: pd.DataFrame, labels: Sequence[str], threshold: float | None) -> LeakageReport:
    kept = [i for i, label in enumerate(labels) if label in SPLITS]
    sub = frame.iloc[kept].reset_index(drop=True)
    return _leakage(sub, [labels[i] for i in kept], threshold)


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
    return _leakage(union, labels, threshold)


def _empty_counts(names: Sequence[str]) -> dict[str, dict[str, int]]:
    keys = [f"{a}~{b}" for k, a in enumerate(names) for b in names[k + 1 :]]
    return {
        key: {"exact_prompt": 0, "exact_prompt+response": 0, "near_prompt": 0, "near_prompt+response": 0}
        for key in keys
    }


def _leakage(frame: pd.DataFrame, labels: Sequence[str], threshold: float | None) -> LeakageReport:
    ids = [str(v) for v in _column(frame, "id")]
    names = list(dict.fromkeys(labels))
    counts = _empty_counts(sorted(names, key=_split_order))
    pairs: list[LeakPair] = []
    for on, texts in (("prompt", prompt_texts(frame)), ("prompt+response", full_texts(frame))):
        normal = [normalize_text(t) for t in texts]
        for a, b, jac in _candidate_pairs(normal, texts, threshold):
            if labels[a] == labels[b]:
                continue
            kind = "exact" if normal[a] == normal[b] else "near"
            left, right = sorted((a, b), key=lambda i: _split_order(labels[i]))
            pairs.append(
                LeakPair(labels[left], ids[left], labels[right], ids[right], kind, on, round(jac, 4))
            )
            counts[f"{labels[left]}~{labels[right]}"][f"{kind}_{on}"] += 1
    return LeakageReport(threshold, counts, tuple(pairs))


def _split_order(name: str) -> int:
    order = (*SPLITS, "external")
    return order.index(name) if name in order else len(order)


def _candidate_pairs(
    normal: Sequence[str], texts: Sequence[str], threshold: float | None
) -> list[tuple[int, int, float]]:
    """Exact pairs (same normalised text, linked to the group's first row) plus verified near pairs."""
    out: dict[tuple[int, int], float] = {}
    first: dict[str, int] = {}
    for i, key in enumerate(normal):
        if key and key in first:
            out[(first[key], i)] = 1.0
        elif key:
            first[key] = i
    if threshold is not None:
        for a, b, jac in near_pairs(texts, threshold):
            out.setdefault((min(a, b), max(a, b)), jac)
    return [(a, b, jac) for (a, b), jac in sorted(out.items())]


# -- near-duplicate pairs ----------------------------------------------------------------------
# MinHash signatures with LSH banding for candidates, then the true Jaccard of the shingle
# sets. A pair is a candidate iff the two signatures share a band, whatever else is in the
# set, so the pairs among a subset are found again when the subset is checked on its own:
# that is what makes "leakage is zero after a split made here" hold by construction.

_SHINGLE_WORDS = 3
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Return ``text`` in Unicode NFKC, case-folded, with whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def shingles(text: str) -> frozenset[str]:
    """Return the word 3-grams of the normalised text (the whole word run when shorter)."""
    words = _WORD_RE.findall(normalize_text(text))
    if len(words) < _SHINGLE_WORDS:
        return frozenset({" ".join(words)}) if words else frozenset()
    return frozenset(" ".join(words[i : i + _SHINGLE_WORDS]) for i in range(len(words) - _SHINGLE_WORDS + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Return the Jaccard similarity of two shingle sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def near_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """Return pairs ``(i, j, jaccard)`` of texts whose word-3-gram Jaccard is at least ``threshold``.

    Texts that are the same after normalisation are linked to the first of them (a star, not
    every pair); the result connects every near-duplicate group, which is what splits need. The
    vectorised engine of :mod:`core.dedup` finds and verifies them (about 20x faster than
    per-text MinHash in Python, which took minutes on 100,000 rows).
    """
    return list(_similar_pairs(tuple(texts), threshold))


@functools.lru_cache(maxsize=4)
def _similar_pairs(texts: tuple[str, ...], threshold: float) -> tuple[tuple[int, int, float], ...]:
    # Units and the leakage report ask for the same texts' pairs: compute them once.
    return tuple(dedup.similar_pairs(texts, threshold, shingle_size=_SHINGLE_WORDS))


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
