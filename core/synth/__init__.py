"""Synthetic generation: teachers, prompts, a hard-budget runner, validators and the mix guard.

The review step reads what was generated through :func:`list_batches` and :func:`batch_examples`;
adding a batch to the dataset is the review gate's job, never this package's.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.synth.store import batch_examples, list_batches

__all__ = ["MixStatus", "batch_examples", "list_batches", "mix_status", "terms_notice"]

WARN_SHARE = 0.60
BLOCK_SHARE = 0.70
_TERMS = (
    "Some providers' terms restrict using their outputs to train models that compete with them. "
    "The teacher ({teacher}) differs from the provider this data is meant for ({target}): check the "
    "teacher's terms before training on what it generates."
)


@dataclass(frozen=True)
class MixStatus:
    """The real / synthetic share of a dataset and what the export should do about it."""

    real: int
    synthetic: int
    share: float
    level: str  # "ok", "warn" (> 60% synthetic) or "block" (> 70%: export needs an override reason)
    message: str

    @property
    def blocks_export(self) -> bool:
        """Whether export must be refused unless a person gives an override reason."""
        return self.level == "block"


def mix_status(real: int, synthetic: int) -> MixStatus:
    """Return the synthetic share and the guard's verdict (warn over 60%, block over 70%).

    Raises:
        ValueError: If a count is negative.
    """
    if real < 0 or synthetic < 0:
        raise ValueError(f"counts must be >= 0, got real={real}, synthetic={synthetic}")
    total = real + synthetic
    share = synthetic / total if total else 0.0
    if share > BLOCK_SHARE:
        level = "block"
        message = (
            f"{share:.0%} of the set is synthetic (over {BLOCK_SHARE:.0%}): export is blocked unless "
            "you give a reason, which goes into the data card. Keep real examples at 30% or more."
        )
    elif share > WARN_SHARE:
        level = "warn"
        message = f"{share:.0%} of the set is synthetic (over {WARN_SHARE:.0%}): consider more real data."
    else:
        level = "ok"
        message = f"{share:.0%} of the set is synthetic."
    return MixStatus(real, synthetic, share, level, message)


def terms_notice(teacher_provider: str, target_provider: str | None) -> str | None:
    """Return the terms reminder when the teacher's provider differs from the target's, else ``None``."""
    if teacher_provider in ("local", "custom") or not target_provider or teacher_provider == target_provider:
        return None
    return _TERMS.format(teacher=teacher_provider, target=target_provider)
