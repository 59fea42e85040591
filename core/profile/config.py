"""The thresholds of the readiness checklist, one rule's result, and other steps' summaries."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.profile.negatives import DEFAULT_NEGATIVE_PATTERNS

STATUSES = ("pass", "warn", "fail", "not_labelled", "not_run")
DIFFICULTY_LEVELS = ("easy", "moderate", "hard")
DIFFICULTY_TARGET = {"easy": 0.60, "moderate": 0.25, "hard": 0.15}

# Task type -> (minimum, recommended maximum) examples. Source: issue #3 ("the seeds' table").
TASK_SIZES: dict[str, tuple[int, int]] = {
    "narrow classification": (100, 500),
    "complex style": (500, 2_000),
    "multi-step": (2_000, 10_000),
}


@dataclass(frozen=True)
class ProfileConfig:
    """Thresholds of the readiness checklist (defaults from issue #3).

    Attributes:
        model: Target model (token counts and its per-example token limit).
        min_class: A category with fewer examples warns.
        fail_class: A category with fewer examples fails ("the model is guessing").
        difficulty_target: Target share per difficulty level.
        min_negative_share: Fewer negative examples than this share warns.
        min_language: A language with fewer examples than this warns.
        stray_language: A language on fewer rows than this is taken for stray rows (or what the
            detector could not tell), not for a language of the data: it neither warns nor
            becomes a target.
        min_span_days: Data spanning fewer days warns (one short window).
        task_type: Key of :data:`TASK_SIZES` for the dataset-size rule.
        synthetic_warn: Synthetic share above this warns.
        synthetic_fail: Synthetic share above this fails.
        outlier_z: Robust z-score (median / MAD) above which a length is an outlier.
        negative_patterns: Regular expressions marking a response as a negative example.
        max_duplicate_share: Duplicate share above this warns (after the Dedup step).
        min_agreement: Agreement (kappa / alpha) under this warns; under ``fail_agreement`` fails.
        fail_agreement: See ``min_agreement``.
        max_uncovered_share: Share of production inputs not covered above this warns.
    """

    model: str = "gpt-4.1-mini"
    min_class: int = 30
    fail_class: int = 20
    difficulty_target: Mapping[str, float] = field(default_factory=lambda: dict(DIFFICULTY_TARGET))
    min_negative_share: float = 0.05
    min_language: int = 30
    stray_language: int = 3
    min_span_days: float = 7.0
    task_type: str = "complex style"
    synthetic_warn: float = 0.60
    synthetic_fail: float = 0.70
    outlier_z: float = 3.5
    negative_patterns: tuple[str, ...] = DEFAULT_NEGATIVE_PATTERNS
    max_duplicate_share: float = 0.05
    min_agreement: float = 0.80
    fail_agreement: float = 0.667
    max_uncovered_share: float = 0.10

    def __post_init__(self) -> None:
        if not 0 < self.fail_class <= self.min_class:
            raise ValueError(f"need 0 < fail_class <= min_class, got {self.fail_class} / {self.min_class}")
        if not 1 <= self.stray_language <= self.min_language:
            raise ValueError(
                f"need 1 <= stray_language <= min_language, got {self.stray_language} / {self.min_language}"
            )
        if set(self.difficulty_target) != set(DIFFICULTY_LEVELS):
            raise ValueError(
                f"difficulty_target must name {DIFFICULTY_LEVELS}, got {sorted(self.difficulty_target)}"
            )
        if not math.isclose(sum(self.difficulty_target.values()), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"difficulty_target must sum to 1, got {sum(self.difficulty_target.values()):.3f}"
            )
        if self.task_type not in TASK_SIZES:
            raise ValueError(f"task_type must be one of {list(TASK_SIZES)}, got {self.task_type!r}")
        if not 0 <= self.synthetic_warn <= self.synthetic_fail <= 1:
            raise ValueError(f"need 0 <= synthetic_warn <= synthetic_fail <= 1, got {self.synthetic_warn}")
        for pattern in self.negative_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"negative pattern {pattern!r} is not a valid regular expression: {exc}"
                ) from exc


@dataclass(frozen=True)
class Check:
    """One rule of the readiness checklist.

    Attributes:
        id: Stable identifier (``category_coverage``, ``difficulty_mix``, ...).
        title: Short human title.
        status: One of :data:`STATUSES`.
        value: The measured value (JSON-serialisable).
        threshold: The rule, in words.
        message: What it means and what to do.
        row_ids: Row positions (0-based) of the examples behind the check.
        chart: Which chart of the Distribution page explains it.
    """

    id: str
    title: str
    status: str
    value: Any
    threshold: str
    message: str
    row_ids: tuple[int, ...] = ()
    chart: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape of the command line (without the row ids)."""
        return {
            "id": self.id,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


@dataclass(frozen=True)
class StepSummaries:
    """Plain values from later journey steps that the checklist reports on.

    Attributes:
        duplicate_share: Share of duplicate rows the Dedup step found (``None``: not run).
        agreement: Inter-annotator agreement (kappa / alpha) of the Labels step (``None``: not run).
        uncovered_share: Share of production inputs the training set does not cover (``None``:
            no production sample).
    """

    duplicate_share: float | None = None
    agreement: float | None = None
    uncovered_share: float | None = None
