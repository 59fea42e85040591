"""The whole readiness checklist: the rules on the examples, then those on other steps' results."""

from __future__ import annotations

import pandas as pd

from core.profile.checks import (
    LocalLimit,
    check_categories,
    check_difficulty,
    check_languages,
    check_length_diversity,
    check_length_outliers,
    check_negatives,
    check_size,
    check_synthetic,
    check_temporal,
    check_token_limit,
)
from core.profile.config import Check, ProfileConfig, StepSummaries


def check_duplicates(steps: StepSummaries, config: ProfileConfig) -> Check:
    """Duplicate share reported by the Dedup step."""
    threshold = f"<= {config.max_duplicate_share:.0%} duplicates"
    if steps.duplicate_share is None:
        return Check(
            "duplicates", "Duplicates", "not_run", None, threshold, "Run the Dedup step to find duplicates."
        )
    share = steps.duplicate_share
    if share > config.max_duplicate_share:
        return Check(
            "duplicates",
            "Duplicates",
            "warn",
            round(share, 4),
            threshold,
            f"{share:.1%} duplicates: apply the Dedup step.",
        )
    return Check("duplicates", "Duplicates", "pass", round(share, 4), threshold, f"{share:.1%} duplicates.")


def check_agreement(steps: StepSummaries, config: ProfileConfig) -> Check:
    """Label agreement (kappa / alpha) reported by the Labels step."""
    threshold = f">= {config.min_agreement:g} (fail < {config.fail_agreement:g})"
    if steps.agreement is None:
        return Check(
            "label_agreement",
            "Label agreement",
            "not_run",
            None,
            threshold,
            "Run the Labels step to measure inter-annotator agreement.",
        )
    value = round(steps.agreement, 4)
    if value < config.fail_agreement:
        status, message = (
            "fail",
            f"Agreement {value:g}: the labels are not reliable; fix the guidelines first.",
        )
    elif value < config.min_agreement:
        status, message = "warn", f"Agreement {value:g}: tentative; look at the disagreements."
    else:
        status, message = "pass", f"Agreement {value:g}."
    return Check("label_agreement", "Label agreement", status, value, threshold, message)


def check_coverage(steps: StepSummaries, config: ProfileConfig) -> Check:
    """Share of production inputs that no training example resembles (needs a production sample)."""
    threshold = f"<= {config.max_uncovered_share:.0%} of production inputs uncovered"
    if steps.uncovered_share is None:
        return Check(
            "production_coverage",
            "Production coverage",
            "not_run",
            None,
            threshold,
            "Upload a production sample to see which real inputs the data does not cover.",
            chart="drift",
        )
    share = round(steps.uncovered_share, 4)
    status = "warn" if share > config.max_uncovered_share else "pass"
    message = f"{share:.0%} of production inputs have no similar training example."
    return Check(
        "production_coverage", "Production coverage", status, share, threshold, message, chart="drift"
    )


def run_checks(
    features: pd.DataFrame,
    config: ProfileConfig | None = None,
    *,
    token_limit: int | None = None,
    local_limit: LocalLimit | None = None,
    steps: StepSummaries | None = None,
) -> list[Check]:
    """Run every rule of the readiness checklist.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds (defaults: :class:`ProfileConfig`).
        token_limit: The target model's per-example token limit (``None``: unknown).
        local_limit: A local tokenizer's counts and the trainer's ``max_length``: checked instead.
        steps: Summaries of later steps (dedup, labels) and of the production comparison.

    Returns:
        One :class:`Check` per rule, in the order of the issue.
    """
    config = config or ProfileConfig()
    steps = steps or StepSummaries()
    return [
        check_categories(features, config),
        check_difficulty(features, config),
        check_negatives(features, config),
        check_length_diversity(features),
        check_length_outliers(features, config),
        check_token_limit(features, config, token_limit, local_limit),
        check_languages(features, config),
        check_temporal(features, config),
        check_size(features, config),
        check_synthetic(features, config),
        check_duplicates(steps, config),
        check_agreement(steps, config),
        check_coverage(steps, config),
    ]
