"""The review tables: samples, decisions (append-only audit) and gate outcomes in the workspace database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.review.assign import Assignment
from core.review.rate import PassRate
from core.review.sample import ReviewSample, draw_sample
from core.workspace import Workspace, now_iso

VERDICTS = ("approve", "reject", "edit")
REJECT_REASONS = (
    "wrong format",
    "incorrect",
    "paraphrase of a seed",
    "off-distribution",
    "unsafe",
    "other",
)
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
CREATE TABLE IF NOT EXISTS review_assignments (
    batch_id TEXT NOT NULL,
    example_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    shared INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (batch_id, example_id, reviewer)
);
CREATE TABLE IF NOT EXISTS review_sets (
    set_id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    dataset_version INTEGER,
    ids TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
_STRICTNESS = {"approve": 0, "edit": 1, "reject": 2}
"""Where reviewers disagree on an example, the strictest verdict counts: a reject, then an edit."""


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

    def undo_last(self, batch_id: str, reviewer: str | None = None) -> str | None:
        """Undo the batch's most recent decision (``reviewer``'s own when given); return its example id."""
        where = "batch_id = ? AND undone = 0" + (" AND reviewer = ?" if reviewer else "")
        params = (batch_id, reviewer) if reviewer else (batch_id,)
        with self.ws.connect() as db:
            row = db.execute(
                f"SELECT seq, example_id FROM review_decisions WHERE {where} ORDER BY seq DESC LIMIT 1",
                params,
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE review_decisions SET undone = 1 WHERE seq = ?", (row["seq"],))
        return str(row["example_id"])

    def reviewer_decisions(self, batch_id: str | None = None) -> pd.DataFrame:
        """Return each reviewer's current decision per example (their latest one, undone ones excluded)."""
        audit = self.audit(batch_id)
        live = audit[audit["undone"] == 0]
        return live.drop_duplicates(["batch_id", "example_id", "reviewer"], keep="last").reset_index(
            drop=True
        )

    def decisions(self, batch_id: str | None = None) -> pd.DataFrame:
        """Return the current decision per example (undone ones excluded).

        One reviewer's latest decision replaces their earlier ones; where several reviewers decided the
        same example (an overlap), the strictest verdict counts (reject, then edit, then approve).
        """
        per = self.reviewer_decisions(batch_id)
        ranked = per.assign(_strict=per["verdict"].map(_STRICTNESS)).sort_values(
            ["_strict", "seq"], kind="stable"
        )
        chosen = ranked.drop_duplicates(["batch_id", "example_id"], keep="last")
        return chosen.sort_values("seq").drop(columns="_strict").reset_index(drop=True)

    def assign(self, batch_id: str, assignment: Assignment, *, seed: int) -> None:
        """Replace the batch's reviewer assignment (decisions already made are kept)."""
        rows = [
            (batch_id, example_id, reviewer, int(example_id in assignment.shared), seed, now_iso())
            for reviewer, ids in assignment.queues.items()
            for example_id in ids
        ]
        with self.ws.connect() as db:
            db.execute("DELETE FROM review_assignments WHERE batch_id = ?", (batch_id,))
            db.executemany("INSERT INTO review_assignments VALUES (?, ?, ?, ?, ?, ?)", rows)

    def assignments(self, batch_id: str) -> pd.DataFrame:
        """Return the batch's assignment: one row per (example, reviewer), ``shared`` for the overlap."""
        with self.ws.connect() as db:
            rows = db.execute(
                "SELECT example_id, reviewer, shared FROM review_assignments WHERE batch_id = ?"
                " ORDER BY rowid",
                (batch_id,),
            ).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=["example_id", "reviewer", "shared"])

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
