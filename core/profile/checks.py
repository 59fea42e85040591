"""The rules of the readiness checklist measured on the examples themselves (issue #3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core import lang
from core.profile.config import DIFFICULTY_LEVELS, TASK_SIZES, Check, ProfileConfig
from core.profile.summaries import (
    _rows,
    busiest_window_share,
    category_counts,
    difficulty_counts,
    difficulty_shortfall,
    language_counts,
    negatives_missing,
    robust_z,
    thin_languages,
)

_MAP_HINT = (
    "Map a column to `{field}` on the Upload page (CSV), or add a `{field}` key to each row of the file, "
    "then upload again."
)


def check_categories(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Every category needs ``min_class`` examples; under ``fail_class`` the model is guessing."""
    threshold = f">= {config.min_class} per category (fail < {config.fail_class})"
    counts = category_counts(features)
    if not counts:
        return Check(
            "category_coverage",
            "Category coverage",
            "not_labelled",
            None,
            threshold,
            "No category labels. " + _MAP_HINT.format(field="category"),
            chart="categories",
        )
    failing = sorted(c for c, n in counts.items() if n < config.fail_class)
    warning = sorted(c for c, n in counts.items() if config.fail_class <= n < config.min_class)
    small = features["category"].isin(failing + warning)
    value = min(counts.values())
    if failing:
        names = ", ".join(f"{c} ({counts[c]})" for c in failing)
        status, message = "fail", f"Under {config.fail_class} examples, the model is guessing: {names}."
        if warning:
            message += " Also under {}: {}.".format(
                config.min_class, ", ".join(f"{c} ({counts[c]})" for c in warning)
            )
    elif warning:
        names = ", ".join(f"{c} ({counts[c]})" for c in warning)
        status, message = "warn", f"Under {config.min_class} examples: {names}."
    else:
        status, message = "pass", f"All {len(counts)} categories have at least {config.min_class} examples."
    return Check(
        "category_coverage",
        "Category coverage",
        status,
        value,
        threshold,
        message,
        _rows(small),
        "categories",
    )


def check_difficulty(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Difficulty mix vs the target, with a chi-square goodness-of-fit test and shortfalls."""
    target = dict(config.difficulty_target)
    threshold = "target " + " / ".join(f"{round(target[lv] * 100)}% {lv}" for lv in DIFFICULTY_LEVELS)
    counts = difficulty_counts(features)
    labelled = sum(counts.values())
    if labelled == 0:
        raw = features["difficulty_raw"].dropna()
        hint = f" Values seen but not understood: {sorted(map(str, raw.unique()))[:5]}." if len(raw) else ""
        return Check(
            "difficulty_mix",
            "Difficulty mix",
            "not_labelled",
            None,
            threshold,
            "No difficulty labels (easy / moderate / hard)."
            + hint
            + " "
            + _MAP_HINT.format(field="difficulty"),
            chart="difficulty",
        )
    observed = np.array([counts[lv] for lv in DIFFICULTY_LEVELS], dtype=float)
    expected = np.array([target[lv] * labelled for lv in DIFFICULTY_LEVELS])
    p_value = float(stats.chisquare(observed, f_exp=expected).pvalue) if labelled >= 5 else 1.0
    shares = {lv: counts[lv] / labelled for lv in DIFFICULTY_LEVELS}
    shortfall = difficulty_shortfall(counts, target)
    value = {
        "shares": {lv: round(s, 4) for lv, s in shares.items()},
        "p_value": round(p_value, 6),
        "shortfall": shortfall,
    }
    short_levels = [lv for lv in DIFFICULTY_LEVELS if shares[lv] < target[lv] / 2]
    mix = ", ".join(f"{lv} {shares[lv]:.0%}" for lv in DIFFICULTY_LEVELS)
    needs = ", ".join(f"{n} {lv}" for lv, n in shortfall.items() if n > 0) or "nothing"
    if short_levels:
        status = "fail"
        message = f"Too few {' and '.join(short_levels)} examples ({mix}). To reach the target add {needs}."
    elif p_value < 0.05:
        status = "warn"
        message = f"The mix ({mix}) differs from the target (chi-square p = {p_value:.3g}). Add {needs}."
    else:
        status, message = "pass", f"The mix ({mix}) is consistent with the target (p = {p_value:.3g})."
    behind = features["difficulty"].isin(short_levels) if short_levels else features["difficulty"].isna()
    return Check(
        "difficulty_mix", "Difficulty mix", status, value, threshold, message, _rows(behind), "difficulty"
    )


def check_negatives(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Negative examples (not found, not applicable, refusals, empty results) must be present."""
    n = len(features)
    count = int(features["is_negative"].sum())
    share = count / n if n else 0.0
    threshold = f">= {config.min_negative_share:.0%} of examples"
    if count == 0:
        status, message = (
            "warn",
            "No negative examples: the model will never learn to say 'not found' or to refuse.",
        )
    elif share < config.min_negative_share:
        status, message = (
            "warn",
            f"Only {count} negative examples ({share:.1%}); add {negatives_missing(count, n, config)}.",
        )
    else:
        status, message = "pass", f"{count} negative examples ({share:.1%})."
    return Check(
        "negatives",
        "Negative examples",
        status,
        round(share, 4),
        threshold,
        message,
        _rows(features["is_negative"]),
        "negatives",
    )


def check_length_diversity(features: pd.DataFrame) -> Check:
    """Very short (one sentence) and long (3+ paragraphs) inputs must both be present."""
    short = (features["prompt_sentences"] == 1).to_numpy()
    long = (features["prompt_paragraphs"] >= 3).to_numpy()
    value = {"one_sentence": int(short.sum()), "three_paragraphs": int(long.sum())}
    missing = [name for name, mask in (("one-sentence", short), ("3+ paragraph", long)) if not mask.any()]
    if missing:
        status, message = "warn", f"No {' and no '.join(missing)} inputs: production will send them anyway."
    else:
        status, message = (
            "pass",
            f"{value['one_sentence']} one-sentence and {value['three_paragraphs']} long inputs.",
        )
    return Check(
        "length_diversity",
        "Length diversity",
        status,
        value,
        "one-sentence and 3+ paragraph inputs present",
        message,
        _rows(short | long),
        "tokens",
    )


def check_length_outliers(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Lengths (total tokens) whose robust z-score exceeds ``outlier_z`` are listed."""
    z = robust_z(features["total_tokens"].to_numpy())
    outliers = np.abs(z) > config.outlier_z
    count = int(outliers.sum())
    threshold = f"|robust z| <= {config.outlier_z} (median / MAD of total tokens)"
    if count:
        status, message = (
            "warn",
            f"{count} examples are unusually long or short; check that they are meant to be.",
        )
    else:
        status, message = "pass", "No length outliers."
    return Check(
        "length_outliers", "Length outliers", status, count, threshold, message, _rows(outliers), "tokens"
    )


@dataclass(frozen=True)
class LocalLimit:
    """A trainer's ``max_length`` and each example's count with the model's own (local) tokenizer."""

    max_length: int
    counts: list[int | None]  # aligned with the features; None: the chat template rejects the example
    counted_by: str  # what counted them, as the message names it: "tok's chat template"


def check_token_limit(
    features: pd.DataFrame, config: ProfileConfig, limit: int | None, local: LocalLimit | None = None
) -> Check:
    """Examples over the per-example token limit are truncated in training.

    With ``local`` the check holds the local tokenizer's counts against its ``max_length`` (what
    the trainer truncates at); without it, the estimated counts against the target model's limit.
    """
    if local is not None:
        over = np.array([n is not None and n > local.max_length for n in local.counts], dtype=bool)
        limit, counted_by = local.max_length, local.counted_by
    elif limit is None:
        return Check(
            "token_limit",
            "Over the token limit",
            "warn",
            None,
            "unknown limit",
            f"No known token limit for {config.model}; pick another target model.",
            chart="tokens",
        )
    else:
        over = (features["total_tokens"] > limit).to_numpy()
        counted_by = config.model
    count = int(over.sum())
    threshold = f"<= {limit:,} tokens per example ({counted_by})"
    if count:
        message = (
            f"{count} examples exceed {limit:,} tokens ({counted_by}) and would be truncated: "
            "shorten or split them."
        )
        return Check(
            "token_limit", "Over the token limit", "fail", count, threshold, message, _rows(over), "tokens"
        )
    return Check(
        "token_limit",
        "Over the token limit",
        "pass",
        0,
        threshold,
        f"Every example fits ({counted_by}).",
        chart="tokens",
    )


def check_languages(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Every language of the data needs ``min_language`` examples (stray rows aside)."""
    counts = {k: v for k, v in language_counts(features).items() if k != lang.UNDETERMINED}
    threshold = f">= {config.min_language} examples per language"
    if not counts:
        return Check(
            "language_mix",
            "Language mix",
            "warn",
            {},
            threshold,
            "No language could be detected.",
            chart="languages",
        )
    thin = thin_languages(counts, config)
    stray = sorted(code for code, n in counts.items() if n < config.stray_language)
    kept = len(counts) - len(stray)
    if thin:
        names = ", ".join(f"{code} ({counts[code]})" for code in thin)
        message = f"Too few examples in {names}: the model will answer these languages poorly."
        status = "warn"
    elif kept <= 1:
        main = max(counts, key=counts.__getitem__)
        status, message = "pass", f"All examples are in one language ({main})."
    else:
        status, message = "pass", f"{kept} languages, each with at least {config.min_language} examples."
    if stray:
        names = ", ".join(f"{code} ({counts[code]})" for code in stray)
        message += f" Stray rows in {names}: too few to be a language of the data, so no target."
    return Check(
        "language_mix",
        "Language mix",
        status,
        counts,
        threshold,
        message,
        _rows(features["language"].isin(thin)),
        "languages",
    )


def check_temporal(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """All data from one short window (timestamps spanning under ``min_span_days``) warns."""
    times = features["created_at"].dropna()
    threshold = f"spread over more than {config.min_span_days:g} days"
    if times.empty:
        return Check(
            "temporal_spread",
            "Temporal spread",
            "not_labelled",
            None,
            threshold,
            "No timestamps. " + _MAP_HINT.format(field="created_at"),
            chart="time",
        )
    span = (times.max() - times.min()).total_seconds() / 86_400
    busiest = busiest_window_share(times, config.min_span_days)
    value = {"span_days": round(span, 2), "busiest_window_share": round(busiest, 4)}
    if span < config.min_span_days or busiest >= 0.9:
        status = "warn"
        message = (
            f"{busiest:.0%} of the examples come from one {config.min_span_days:g}-day window: "
            "production drifts, collect data over a longer period."
        )
    else:
        status, message = "pass", f"Examples span {span:.0f} days."
    return Check("temporal_spread", "Temporal spread", status, value, threshold, message, chart="time")


def check_size(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Dataset size against the task type table (:data:`TASK_SIZES`)."""
    low, high = TASK_SIZES[config.task_type]
    n = len(features)
    threshold = f"{low:,}-{high:,} examples for {config.task_type}"
    if n < low / 2:
        status, message = (
            "fail",
            f"{n:,} examples is far too few for {config.task_type}: aim for {low:,}-{high:,}.",
        )
    elif n < low:
        status, message = "warn", f"{n:,} examples; {config.task_type} needs at least {low:,}."
    elif n > high:
        status, message = (
            "pass",
            f"{n:,} examples, more than the usual {high:,}: favour quality over quantity.",
        )
    else:
        status, message = "pass", f"{n:,} examples is in the usual range."
    return Check("dataset_size", "Dataset size", status, n, threshold, message, chart="")


def check_synthetic(features: pd.DataFrame, config: ProfileConfig) -> Check:
    """Synthetic share over ``synthetic_warn`` warns, over ``synthetic_fail`` fails."""
    synthetic = (features["source"] == "synthetic").to_numpy()
    share = float(synthetic.mean()) if len(features) else 0.0
    threshold = f"<= {config.synthetic_warn:.0%} synthetic (fail > {config.synthetic_fail:.0%})"
    if not synthetic.any():
        return Check("synthetic_share", "Synthetic share", "pass", 0.0, threshold, "No synthetic data yet.")
    if share > config.synthetic_fail:
        status, message = (
            "fail",
            f"{share:.0%} synthetic: the model will learn the teacher's style, not your users'.",
        )
    elif share > config.synthetic_warn:
        status, message = "warn", f"{share:.0%} synthetic: add real examples."
    else:
        status, message = "pass", f"{share:.0%} synthetic."
    return Check(
        "synthetic_share",
        "Synthetic share",
        status,
        round(share, 4),
        threshold,
        message,
        _rows(synthetic),
        "sources",
    )
