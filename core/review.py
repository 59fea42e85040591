"""The manual review of synthetic data: a fixed 10% sample, decisions, pass rate, and the gate.

"Never train on raw synthetic output. Sample 10% of synthetic examples for manual
review ... A 90% pass rate on manual review is the bar for including synthetic data."
A batch's sample is drawn once with a seed, stratified by category and generation
mode, and saved; every decision is written the moment it is made, and the history
(who, when, what, why) is an append-only audit table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.workspace import Workspace, now_iso

PASS_BAR = 0.9
GATE_RULES = {
    "point": "the pass rate itself is at least 90%",
    "lower_bound": "the lower end of its 95% interval (Wilson) is at least 90%",
}
"""How the gate reads the pass rate. ``point``: 18 of 20 passes. ``lower_bound``: the bar must hold
with 95% confidence, so a small sample needs a rate well above 90% (at 20 reviewed, 20 of 20)."""
DEFAULT_FRACTION = 0.1
DEFAULT_MINIMUM = 20
VERDICTS = ("approve", "reject", "edit")
REJECT_REASONS = (
    "wrong format",
    "incorrect",
    "paraphrase of a seed",
    "off-distribution",
    "unsafe",
    "other",
)
_STRATA = ("category", "mode")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_samples (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    example_id TEXT NOT NULL,
    stratum TEXT NOT NULL,
    seed INTEGER NOT NULL,
    drawn_at TEXT NOT NULL,
    PRIMARY KEY (batch_id, example_id)
);
CREATE TABLE IF NOT EXISTS review_decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL,
    example_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    note TEXT,
    edited TEXT,
    reviewer TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS review_gates (
    batch_id TEXT PRIMARY KEY,
    admitted INTEGER NOT NULL,
    pass_rate REAL,
    reviewed INTEGER NOT NULL,
    override_reason TEXT,
    dataset_version INTEGER,
    decided_by TEXT,
    decided_at TEXT NOT NULL
);
"""


def sample_size(n: int, *, fraction: float = DEFAULT_FRACTION, minimum: int = DEFAULT_MINIMUM) -> int:
    """Return how many of ``n`` examples to review: ceil(fraction * n), at least ``minimum``, at most n.

    Raises:
        ValueError: If ``fraction`` is not in (0, 1] or ``minimum`` / ``n`` is negative.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if minimum < 0 or n < 0:
        raise ValueError(f"n and minimum must be >= 0, got n={n}, minimum={minimum}")
    # Round before ceil so that 0.1 * 30 = 3.0000000000000004 counts as 3, not 4.
    return min(n, max(minimum, math.ceil(round(fraction * n, 9))))


@dataclass(frozen=True)
class ReviewSample:
    """The examples of one batch to review, in the order a reviewer sees them."""

    ids: tuple[str, ...]
    strata: tuple[str, ...]
    seed: int
    by_stratum: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of examples in the sample."""
        return len(self.ids)

    def to_json(self) -> dict[str, Any]:
        """Return the command line's JSON shape."""
        return {"size": self.size, "seed": self.seed, "ids": list(self.ids), "by_stratum": self.by_stratum}


def stratum_labels(frame: pd.DataFrame, strata: Sequence[str] = _STRATA) -> pd.Series:
    """Return one label per row joining the stratum columns that exist (``"billing|variations"``)."""
    present = [c for c in strata if c in frame.columns]
    if not present:
        return pd.Series(["all"] * len(frame), index=frame.index, dtype=object)
    parts = [frame[c].astype(object).where(frame[c].notna(), "unlabelled").astype(str) for c in present]
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + "|" + part
    return labels


def _allocate(counts: pd.Series, size: int) -> dict[str, int]:
    """Split ``size`` over strata in proportion to ``counts`` (largest remainder, capped by counts)."""
    total = int(counts.sum())
    exact = counts / total * size
    alloc = np.floor(exact).astype(int).clip(upper=counts)
    remainder = (exact - alloc).sort_values(ascending=False, kind="stable")
    left = size - int(alloc.sum())
    while left > 0:
        for name in remainder.index:
            if left == 0:
                break
            if alloc[name] < counts[name]:
                alloc[name] += 1
                left -= 1
    return {str(k): int(v) for k, v in alloc.items() if v > 0}


def draw_sample(
    frame: pd.DataFrame,
    *,
    seed: int,
    fraction: float = DEFAULT_FRACTION,
    minimum: int = DEFAULT_MINIMUM,
    strata: Sequence[str] = _STRATA,
    exclude: Sequence[str] = (),
) -> ReviewSample:
    """Draw a stratified review sample of ``frame`` (rows with an ``id`` column).

    Args:
        frame: The batch's validator-passing examples.
        seed: Seed of the draw; the same seed and rows give the same sample.
        fraction: Share to review (default 10%).
        minimum: Smallest sample (all rows when the batch is smaller).
        strata: Columns to stratify by (those missing are ignored).
        exclude: Ids already sampled (for extending a sample).

    Returns:
        The sample, shuffled into review order.
    """
    pool = frame[~frame["id"].isin(list(exclude))].drop_duplicates("id")
    size = min(len(pool), sample_size(len(frame), fraction=fraction, minimum=minimum) - len(exclude))
    if size <= 0:
        return ReviewSample((), (), seed, {})
    rng = np.random.default_rng(seed)
    labels = stratum_labels(pool, strata)
    counts = labels.value_counts().sort_index()
    picked: list[tuple[str, str]] = []
    for name, k in _allocate(counts, size).items():
        members = pool.loc[labels == name, "id"].tolist()
        picked.extend((members[i], name) for i in rng.choice(len(members), size=k, replace=False))
    order = rng.permutation(len(picked))
    ids = tuple(picked[i][0] for i in order)
    names = tuple(picked[i][1] for i in order)
    return ReviewSample(ids, names, seed, dict(pd.Series(names).value_counts().sort_index().items()))


def wilson_interval(passed: int, n: int, *, z: float = 1.959963984540054) -> tuple[float, float]:
    """Return the Wilson score interval (95% by default) for ``passed`` successes out of ``n``."""
    if n == 0:
        return (0.0, 1.0)
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class PassRate:
    """Review outcome of one batch (or of all batches)."""

    approved: int
    rejected: int
    sample_size: int

    @property
    def reviewed(self) -> int:
        """Decisions made so far."""
        return self.approved + self.rejected

    @property
    def remaining(self) -> int:
        """Sampled examples still to review."""
        return max(0, self.sample_size - self.reviewed)

    @property
    def rate(self) -> float | None:
        """Approved share of the reviewed examples (``None`` before the first decision)."""
        return self.approved / self.reviewed if self.reviewed else None

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95% confidence interval of the rate."""
        return wilson_interval(self.approved, self.reviewed)

    @property
    def meets_bar(self) -> bool:
        """True when the reviewed pass rate is at least 90% (exact arithmetic, 89.9% fails)."""
        return self.reviewed > 0 and self.approved * 10 >= self.reviewed * 9

    def meets(self, rule: str) -> bool:
        """Whether the rate meets the bar under ``rule`` (a key of :data:`GATE_RULES`)."""
        if rule == "lower_bound":
            return self.reviewed > 0 and self.interval[0] >= PASS_BAR - 1e-12
        return self.meets_bar


@dataclass(frozen=True)
class GateDecision:
    """Whether a batch may enter the dataset, and why."""

    allowed: bool
    reason: str


def gate(rate: PassRate, *, rule: str = "point", override_reason: str | None = None) -> GateDecision:
    """Apply the 90% bar under ``rule``: a fully reviewed batch that meets it passes, or an override does.

    Raises:
        ValueError: If ``rule`` is not a key of :data:`GATE_RULES`.
    """
    if rule not in GATE_RULES:
        raise ValueError(f"gate rule must be one of {list(GATE_RULES)}, got {rule!r}")
    if override_reason and override_reason.strip():
        return GateDecision(True, f"override: {override_reason.strip()}")
    if rate.reviewed == 0:
        return GateDecision(False, "nothing reviewed yet")
    if rate.remaining:
        return GateDecision(False, f"{rate.remaining} sampled examples still to review")
    low, _high = rate.interval
    measured = (
        f"the lower bound of the 95% interval, {low:.1%} (pass rate {rate.rate:.1%})"
        if rule == "lower_bound"
        else f"pass rate {rate.rate:.1%}"
    )
    if rate.meets(rule):
        return GateDecision(True, f"{measured} meets the 90% bar (rule: {rule.replace('_', ' ')})")
    return GateDecision(
        False,
        f"{measured} is below the 90% bar (rule: {rule.replace('_', ' ')}): fix the generation prompt "
        "first, or review more examples",
    )


@dataclass(frozen=True)
class Decision:
    """One reviewer's verdict on one example."""

    batch_id: str
    example_id: str
    verdict: str
    reviewer: str
    reason: str | None = None
    note: str | None = None
    edited_messages: list[dict] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict == "reject" and self.reason not in REJECT_REASONS:
            raise ValueError(f"a rejection needs a reason from {REJECT_REASONS}, got {self.reason!r}")
        if self.verdict == "edit" and not self.edited_messages:
            raise ValueError("an edit needs the edited messages")
        if not self.reviewer.strip():
            raise ValueError("a decision needs the reviewer's name")


@dataclass(frozen=True)
class ReviewStore:
    """Review samples, decisions and gate outcomes kept in the workspace database."""

    ws: Workspace

    def __post_init__(self) -> None:
        self.ws.ensure_schema(_SCHEMA)
        with self.ws.connect() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(review_gates)")}
            if "rule" not in columns:  # workspaces from before the gate rule could be chosen
                db.execute("ALTER TABLE review_gates ADD COLUMN rule TEXT NOT NULL DEFAULT 'point'")

    def save_sample(self, batch_id: str, sample: ReviewSample) -> None:
        """Append ``sample``'s ids to the batch's fixed sample (ids already there are kept)."""
        with self.ws.connect() as db:
            start = db.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM review_samples WHERE batch_id = ?", (batch_id,)
            ).fetchone()[0]
            db.executemany(
                "INSERT OR IGNORE INTO review_samples VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (batch_id, start + i, example_id, stratum, sample.seed, now_iso())
                    for i, (example_id, stratum) in enumerate(zip(sample.ids, sample.strata, strict=True))
                ],
            )

    def sample_ids(self, batch_id: str) -> list[str]:
        """Return the batch's sample in review order (empty before it is drawn)."""
        with self.ws.connect() as db:
            rows = db.execute(
                "SELECT example_id FROM review_samples WHERE batch_id = ? ORDER BY position", (batch_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def ensure_sample(self, batch_id: str, frame: pd.DataFrame, *, seed: int) -> list[str]:
        """Return the batch's saved sample, drawing and saving it first if there is none."""
        ids = self.sample_ids(batch_id)
        if not ids and not frame.empty:
            self.save_sample(batch_id, draw_sample(frame, seed=seed))
            ids = self.sample_ids(batch_id)
        return ids

    def extend_sample(self, batch_id: str, frame: pd.DataFrame, extra: int, *, seed: int) -> list[str]:
        """Add ``extra`` more examples of the batch to its sample (stratified, seeded)."""
        have = self.sample_ids(batch_id)
        fraction = min(1.0, (len(have) + extra) / max(1, len(frame)))
        self.save_sample(batch_id, draw_sample(frame, seed=seed, fraction=fraction, minimum=0, exclude=have))
        return self.sample_ids(batch_id)

    def record(self, decision: Decision) -> None:
        """Save a decision the moment it is made (the latest one per example counts)."""
        self.record_many([decision])

    def record_many(self, decisions: Sequence[Decision]) -> None:
        """Save several decisions in one transaction (a bulk approve of a filtered group): all or none."""
        with self.ws.connect() as db:
            db.executemany(
                "INSERT INTO review_decisions (batch_id, example_id, verdict, reason, note, edited, reviewer,"
                " decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.batch_id,
                        d.example_id,
                        d.verdict,
                        d.reason,
                        d.note,
                        json.dumps(d.edited_messages, ensure_ascii=False) if d.edited_messages else None,
                        d.reviewer,
                        now_iso(),
                    )
                    for d in decisions
                ],
            )

    def undo_last(self, batch_id: str) -> str | None:
        """Undo the batch's most recent decision; return its example id (``None`` if nothing to undo)."""
        with self.ws.connect() as db:
            row = db.execute(
                "SELECT seq, example_id FROM review_decisions WHERE batch_id = ? AND undone = 0 "
                "ORDER BY seq DESC LIMIT 1",
                (batch_id,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE review_decisions SET undone = 1 WHERE seq = ?", (row["seq"],))
        return str(row["example_id"])

    def decisions(self, batch_id: str | None = None) -> pd.DataFrame:
        """Return the current decision per example (undone ones excluded)."""
        audit = self.audit(batch_id)
        live = audit[audit["undone"] == 0]
        return live.drop_duplicates(["batch_id", "example_id"], keep="last").reset_index(drop=True)

    def audit(self, batch_id: str | None = None) -> pd.DataFrame:
        """Return every decision ever made (who, when, what, why), undone ones flagged."""
        query = (
            "SELECT * FROM review_decisions" + (" WHERE batch_id = ?" if batch_id else "") + " ORDER BY seq"
        )
        with self.ws.connect() as db:
            rows = db.execute(query, (batch_id,) if batch_id else ()).fetchall()
        columns = [
            "seq",
            "batch_id",
            "example_id",
            "verdict",
            "reason",
            "note",
            "edited",
            "reviewer",
            "decided_at",
            "undone",
        ]
        return pd.DataFrame([dict(r) for r in rows], columns=columns)

    def pass_rate(self, batch_id: str | None = None) -> PassRate:
        """Return the pass rate of one batch's sample (or of every batch)."""
        decided = self.decisions(batch_id)
        if batch_id is None:
            with self.ws.connect() as db:
                size = db.execute("SELECT COUNT(*) FROM review_samples").fetchone()[0]
        else:
            size = len(self.sample_ids(batch_id))
        approved = int(decided["verdict"].isin(["approve", "edit"]).sum())
        return PassRate(approved, int((decided["verdict"] == "reject").sum()), int(size))

    def rejection_reasons(self, batch_id: str | None = None) -> pd.Series:
        """Return rejection reasons by frequency."""
        decided = self.decisions(batch_id)
        return decided.loc[decided["verdict"] == "reject", "reason"].value_counts()

    def record_gate(
        self,
        batch_id: str,
        *,
        admitted: bool,
        rate: PassRate,
        override_reason: str | None,
        dataset_version: int | None,
        decided_by: str,
        rule: str = "point",
    ) -> None:
        """Record a batch's gate outcome and the rule that decided it (for the data card)."""
        with self.ws.connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO review_gates (batch_id, admitted, pass_rate, reviewed,"
                " override_reason, dataset_version, decided_by, decided_at, rule)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id,
                    int(admitted),
                    rate.rate,
                    rate.reviewed,
                    override_reason,
                    dataset_version,
                    decided_by,
                    now_iso(),
                    rule,
                ),
            )

    def gates(self) -> pd.DataFrame:
        """Return every batch's gate outcome."""
        with self.ws.connect() as db:
            rows = db.execute("SELECT * FROM review_gates ORDER BY decided_at").fetchall()
        return pd.DataFrame([dict(r) for r in rows])


def admitted_rows(batch: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Return the batch rows that may enter the dataset: rejected ones out, edited ones as edited.

    Args:
        batch: The batch's validator-passing examples (canonical columns).
        decisions: Current decisions (:meth:`ReviewStore.decisions`) for the batch.
    """
    from core.records import refresh_derived

    rejected = set(decisions.loc[decisions["verdict"] == "reject", "example_id"])
    out = batch[~batch["id"].isin(rejected)].copy()
    edits = decisions[decisions["verdict"] == "edit"].set_index("example_id")["edited"]
    if not edits.empty:
        out["messages"] = [
            json.loads(edits[i]) if i in edits.index else m
            for i, m in zip(out["id"], out["messages"], strict=True)
        ]
        out = refresh_derived(out)
    out["source"] = "synthetic"
    return out.reset_index(drop=True)


def admit_batch(
    ws: Workspace,
    batch_id: str,
    batch: pd.DataFrame,
    *,
    reviewer: str,
    override_reason: str | None = None,
    rule: str = "point",
) -> int:
    """Add a reviewed batch to the current dataset as a new version, if the gate (under ``rule``) allows it.

    Returns:
        The new dataset version.

    Raises:
        DatasetError: If the gate blocks the batch (below the 90% bar, or not fully reviewed).
    """
    from core.errors import DatasetError

    store = ReviewStore(ws)
    rate = store.pass_rate(batch_id)
    decision = gate(rate, rule=rule, override_reason=override_reason)
    if not decision.allowed:
        raise DatasetError(f"batch {batch_id} cannot enter the dataset: {decision.reason}")
    current = ws.current_dataset()
    rows = admitted_rows(batch, store.decisions(batch_id))
    base = current if current is not None else rows.iloc[0:0]
    # Only the batch's own rows that are already in the dataset are skipped: the dataset's duplicates
    # (kept on purpose, or not deduplicated yet) are not this step's to drop.
    new = rows[~rows["id"].isin(set(base["id"]))].drop_duplicates("id")
    # seed_ids travel with the rows so the split keeps a paraphrase with its seed.
    keep = [c for c in new.columns if c in base.columns or c == "seed_ids"]
    combined = pd.concat([base, new[keep]], ignore_index=True)
    skipped = f", {len(rows) - len(new)} already in the dataset" if len(new) < len(rows) else ""
    version = ws.save_dataset(
        combined, note=f"add synthetic batch {batch_id} ({len(new)} rows{skipped}; {decision.reason})"
    )
    store.record_gate(
        batch_id,
        admitted=True,
        rate=rate,
        override_reason=override_reason,
        dataset_version=version,
        decided_by=reviewer,
        rule=rule,
    )
    return version
