"""Sharing a review sample out among reviewers, with an overlap that all of them review.

Each reviewer gets a queue of their own; an overlap (a share of the sample, drawn with a seed) is
given to every reviewer so that their agreement on pass/fail is measured with the same Cohen's kappa
the Labels page computes (below 0.7 the reviewers do not read the rubric alike). Where reviewers
disagree on an example, the batch counts it by the strictest verdict (see
:meth:`core.review.store.ReviewStore.decisions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_OVERLAP = 0.2
"""Share of the sample every reviewer reviews (enough for a kappa on 20 examples of a 100 sample)."""


@dataclass(frozen=True)
class Assignment:
    """Who reviews what: each reviewer's examples in review order, and those everyone reviews."""

    queues: Mapping[str, tuple[str, ...]]
    shared: frozenset[str]


def clean_reviewers(names: Sequence[str]) -> list[str]:
    """Return the reviewer names stripped, empty ones dropped, each once, in the order given."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        if name and name not in out:
            out.append(name)
    return out


def plan(ids: Sequence[str], reviewers: Sequence[str], *, overlap: float, seed: int) -> Assignment:
    """Share ``ids`` (a sample, in review order) among ``reviewers``.

    ``ceil(overlap * len(ids))`` examples, drawn with ``seed``, go to every reviewer; the others are
    dealt out in turn, so queues differ in length by at most one. Each queue keeps the sample's order.

    Raises:
        ValueError: With no reviewer, or ``overlap`` outside [0, 1].
    """
    names = clean_reviewers(reviewers)
    if not names:
        raise ValueError("name at least one reviewer")
    if not 0 <= overlap <= 1:
        raise ValueError(f"overlap must be in [0, 1], got {overlap}")
    k = math.ceil(round(overlap * len(ids), 9)) if len(names) > 1 else 0
    rng = np.random.default_rng(seed)
    shared = {ids[i] for i in rng.choice(len(ids), size=k, replace=False)} if k else set()
    own: dict[str, list[str]] = {name: [] for name in names}
    dealt = 0
    for example_id in ids:
        if example_id in shared:
            for name in names:
                own[name].append(example_id)
        else:
            own[names[dealt % len(names)]].append(example_id)
            dealt += 1
    return Assignment({name: tuple(queue) for name, queue in own.items()}, frozenset(shared))


@dataclass(frozen=True)
class ReviewerProgress:
    """One reviewer's share of a batch's sample and how far they are."""

    reviewer: str
    assigned: int
    done: int

    @property
    def remaining(self) -> int:
        """Assigned examples this reviewer has not decided yet."""
        return self.assigned - self.done


def progress(assignments: pd.DataFrame, by_reviewer: pd.DataFrame) -> list[ReviewerProgress]:
    """Return each assigned reviewer's progress on their own queue.

    Args:
        assignments: Rows of ``example_id, reviewer`` (:meth:`ReviewStore.assignments`).
        by_reviewer: Each reviewer's current decision per example (:meth:`ReviewStore.reviewer_decisions`).
    """
    decided = set(zip(by_reviewer["example_id"], by_reviewer["reviewer"], strict=True))
    out = []
    for name, rows in assignments.groupby("reviewer", sort=False):
        done = sum((example_id, name) in decided for example_id in rows["example_id"])
        out.append(ReviewerProgress(str(name), len(rows), int(done)))
    return out


def pass_fail_matrix(by_reviewer: pd.DataFrame, example_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Return examples x reviewers: ``pass`` (approve or edit) or ``fail`` (reject), NaN where undecided."""
    rows = by_reviewer if example_ids is None else by_reviewer[by_reviewer["example_id"].isin(example_ids)]
    if rows.empty:
        return pd.DataFrame()
    verdicts = rows.assign(label=np.where(rows["verdict"] == "reject", "fail", "pass"))
    return verdicts.pivot(index="example_id", columns="reviewer", values="label")


@dataclass(frozen=True)
class ReviewerAgreement:
    """Cohen's kappa of two reviewers on the examples both decided, and how often they agreed."""

    a: str
    b: str
    kappa: float
    n: int
    agreed: int

    @property
    def noisy(self) -> bool:
        """True when kappa is under the 0.7 bar (or undefined) on examples both reviewed."""
        from core.agreement import GATE_THRESHOLD

        return self.n > 0 and not (math.isfinite(self.kappa) and self.kappa >= GATE_THRESHOLD)


def agreement(by_reviewer: pd.DataFrame, shared: Sequence[str] | None = None) -> list[ReviewerAgreement]:
    """Return the agreement of every pair of reviewers on pass/fail (on ``shared`` examples when given)."""
    from core.agreement import pairwise_kappas

    matrix = pass_fail_matrix(by_reviewer, shared)
    if matrix.shape[1] < 2:
        return []
    out = []
    for pair in pairwise_kappas(matrix):
        both = matrix[[pair.a, pair.b]].dropna()
        agreed = int((both[pair.a] == both[pair.b]).sum())
        out.append(ReviewerAgreement(pair.a, pair.b, pair.kappa, pair.n, agreed))
    return out


def queue(
    sample: Sequence[str],
    assignments: pd.DataFrame,
    by_reviewer: pd.DataFrame,
    reviewer: str,
) -> list[str]:
    """Return what ``reviewer`` has still to review, in sample order.

    Without assignments (or for a reviewer not among them) that is every sampled example nobody has
    decided; an assigned reviewer gets their own undecided examples, and also those added to the sample
    after the assignment (nobody's) that nobody has decided yet.
    """
    anyone = set(by_reviewer["example_id"])
    mine_done = set(by_reviewer.loc[by_reviewer["reviewer"] == reviewer, "example_id"])
    if assignments.empty or reviewer not in set(assignments["reviewer"]):
        return [i for i in sample if i not in anyone]
    mine = set(assignments.loc[assignments["reviewer"] == reviewer, "example_id"])
    assigned = set(assignments["example_id"])
    return [
        i for i in sample if (i in mine and i not in mine_done) or (i not in assigned and i not in anyone)
    ]
