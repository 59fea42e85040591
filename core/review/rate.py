"""The 90% bar: the pass rate of a reviewed sample, its interval, and the gate that reads it."""

from __future__ import annotations

import math
from dataclasses import dataclass

PASS_BAR = 0.9
GATE_RULES = {
    "point": "the pass rate itself is at least 90%",
    "lower_bound": "the lower end of its 95% interval (Wilson) is at least 90%",
}
"""How the gate reads the pass rate. ``point``: 18 of 20 passes. ``lower_bound``: the bar must hold
with 95% confidence, so a small sample needs a rate well above 90% (at 20 reviewed, 20 of 20)."""


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
