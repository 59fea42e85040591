"""The manual review of synthetic data: a fixed 10% sample, decisions, pass rate, and the gate.

"Never train on raw synthetic output. Sample 10% of synthetic examples for manual
review ... A 90% pass rate on manual review is the bar for including synthetic data."
A batch's sample is drawn once with a seed, stratified by category and generation
mode, and saved; every decision is written the moment it is made, and the history
(who, when, what, why) is an append-only audit table. The sample can be shared out
among reviewers, with an overlap that every one of them reviews so that their
agreement is measured (:mod:`core.review.assign`).

The modules: ``sample`` (drawing), ``rate`` (pass rate, interval, gate), ``store``
(the tables), ``admit`` (a batch into the dataset), ``assign`` (reviewers), ``sets`` (rows of
the dataset chosen for review, on Explore), ``diversity`` (how diverse a batch is, and the rows
the paraphrase check stopped beside what they restate).
"""

from __future__ import annotations

from core.review import assign, sets
from core.review.admit import admit_batch, admitted_rows
from core.review.assign import DEFAULT_OVERLAP, Assignment, ReviewerAgreement, ReviewerProgress
from core.review.rate import GATE_RULES, PASS_BAR, GateDecision, PassRate, gate, wilson_interval
from core.review.sample import (
    DEFAULT_FRACTION,
    DEFAULT_MINIMUM,
    ReviewSample,
    draw_sample,
    sample_size,
    stratum_labels,
)
from core.review.store import REJECT_REASONS, VERDICTS, Decision, ReviewStore

__all__ = [
    "DEFAULT_OVERLAP",
    "Assignment",
    "ReviewerAgreement",
    "ReviewerProgress",
    "assign",
    "sets",
    "DEFAULT_FRACTION",
    "DEFAULT_MINIMUM",
    "GATE_RULES",
    "PASS_BAR",
    "REJECT_REASONS",
    "VERDICTS",
    "Decision",
    "GateDecision",
    "PassRate",
    "ReviewSample",
    "ReviewStore",
    "admit_batch",
    "admitted_rows",
    "draw_sample",
    "gate",
    "sample_size",
    "stratum_labels",
    "wilson_interval",
]
