"""Distribution statistics and the readiness checklist of a canonical table.

:func:`compute_features` measures every example (tokens, words, sentences, paragraphs, turns,
system prompt, language, negative flag, normalised metadata); :func:`run_checks` turns the
features into the readiness checklist (every rule of issue #3, each with its status, value,
threshold, message and the rows behind it); :func:`compute_targets` says how many examples of
what to collect or generate next, in the shared ``targets.distribution`` format.

Languages come from :mod:`core.lang` (each distinct prompt once); a ``language`` value already
in the data wins over the detector.

The modules: ``negatives`` (negative-example patterns), ``config`` (thresholds, a check's
result, other steps' summaries), ``columns`` (the table's columns, labels normalised),
``texts`` (words, sentences, language, negatives of each text), ``summaries`` (counts and
shares), ``checks`` (the rules on the examples), ``checklist`` (every rule, in order),
``targets`` (what to add next); :func:`compute_features` and :func:`build_profile` run them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import lang
from core.profile.checklist import check_agreement, check_coverage, check_duplicates, run_checks
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
from core.profile.columns import (
    _categories,
    _column,
    _sources,
    _texts,
    _timestamps,
    _token_counts,
    normalize_difficulty,
)
from core.profile.config import (
    DIFFICULTY_LEVELS,
    DIFFICULTY_TARGET,
    STATUSES,
    TASK_SIZES,
    Check,
    ProfileConfig,
    StepSummaries,
)
from core.profile.negatives import DEFAULT_NEGATIVE_PATTERNS, NegativePatterns, compile_patterns, is_negative
from core.profile.summaries import (
    busiest_window_share,
    category_counts,
    describe_lengths,
    difficulty_counts,
    difficulty_shortfall,
    language_counts,
    negatives_missing,
    robust_z,
    thin_languages,
)
from core.profile.targets import compute_targets
from core.profile.texts import TEXT_MEASURES, measure_texts

__all__ = [
    "DEFAULT_NEGATIVE_PATTERNS",
    "DIFFICULTY_LEVELS",
    "DIFFICULTY_TARGET",
    "STATUSES",
    "TASK_SIZES",
    "TEXT_MEASURES",
    "Check",
    "NegativePatterns",
    "Profile",
    "ProfileConfig",
    "StepSummaries",
    "build_profile",
    "busiest_window_share",
    "category_counts",
    "check_agreement",
    "check_categories",
    "check_coverage",
    "check_difficulty",
    "check_duplicates",
    "check_languages",
    "check_length_diversity",
    "check_length_outliers",
    "check_negatives",
    "check_size",
    "check_synthetic",
    "check_temporal",
    "check_token_limit",
    "LocalLimit",
    "compile_patterns",
    "compute_features",
    "compute_targets",
    "describe_lengths",
    "difficulty_counts",
    "difficulty_shortfall",
    "is_negative",
    "language_counts",
    "measure_texts",
    "negatives_missing",
    "normalize_difficulty",
    "robust_z",
    "run_checks",
    "thin_languages",
]


def compute_features(
    frame: pd.DataFrame,
    config: ProfileConfig | None = None,
    *,
    token_counts: pd.DataFrame | None = None,
    text_measures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Measure every example of a canonical table.

    Args:
        frame: A canonical table (see :mod:`core.records`).
        config: Target model and negative patterns (defaults: :class:`ProfileConfig`).
        token_counts: :func:`core.tokens.count_frame` of ``frame`` for the config's model, when
            already at hand (counted here otherwise).
        text_measures: :func:`measure_texts` of ``frame`` with the config's negative patterns,
            when already at hand (measured here otherwise).

    Returns:
        One row per example (positions 0..n-1) with ``id``, ``prompt_tokens``,
        ``response_tokens``, ``total_tokens``, ``prompt_words``, ``response_words``,
        ``prompt_sentences``, ``prompt_paragraphs``, ``n_turns``, ``has_system``,
        ``language``, ``language_detected``, ``is_negative``, ``category``, ``difficulty``
        (normalised), ``difficulty_raw``, ``created_at`` (UTC timestamps), ``source`` and
        ``prompt_text`` (for drill-down and drift).

    Raises:
        ValueError: If ``token_counts`` or ``text_measures`` has another number of rows.
    """
    config = config or ProfileConfig()
    counts = _token_counts(frame, config.model) if token_counts is None else token_counts
    measures = measure_texts(frame, config.negative_patterns) if text_measures is None else text_measures
    for name, given in (("token_counts", counts), ("text_measures", measures)):
        if len(given) != len(frame):
            raise ValueError(f"{name} has {len(given)} rows, the table {len(frame)}")
    # a list, not Series.map: map turns the None of rows without a language into NaN, which
    # would hide their detected language
    declared = [lang.normalize_code(v) for v in _column(frame, "language")]
    detected = measures["language_detected"].tolist()
    difficulty_raw = _column(frame, "difficulty")
    return pd.DataFrame(
        {
            "id": _column(frame, "id"),
            "prompt_tokens": counts["prompt_tokens"].to_numpy(),
            "response_tokens": counts["response_tokens"].to_numpy(),
            "total_tokens": counts["total_tokens"].to_numpy(),
            **{name: measures[name].to_numpy() for name in TEXT_MEASURES[:4]},
            "n_turns": pd.to_numeric(_column(frame, "n_turns"), errors="coerce")
            .fillna(0)
            .astype(int)
            .to_numpy(),
            "has_system": (_texts(frame, "system_text").str.strip().str.len() > 0).to_numpy(),
            "language": [d if d is not None else x for d, x in zip(declared, detected, strict=True)],
            "language_detected": detected,
            "is_negative": measures["is_negative"].to_numpy(dtype=bool),
            "category": _categories(frame),
            "difficulty": difficulty_raw.map(normalize_difficulty).astype(object),
            "difficulty_raw": difficulty_raw.astype(object),
            "created_at": _timestamps(frame),
            "source": _sources(frame),
            "prompt_text": _texts(frame, "prompt_text"),
        }
    )


@dataclass(frozen=True)
class Profile:
    """Everything the Distribution step computes for one dataset."""

    features: pd.DataFrame
    checks: tuple[Check, ...]
    targets: tuple[dict[str, Any], ...]
    token_limit: int | None

    def summary(self) -> dict[str, Any]:
        """Return the JSON summary (the ``profile`` command's shape, without drift)."""
        f = self.features
        counts = difficulty_counts(f)
        labelled = sum(counts.values())
        return {
            "rows": len(f),
            "tokens": {
                "prompt": describe_lengths(f["prompt_tokens"]),
                "response": describe_lengths(f["response_tokens"]),
                "limit": self.token_limit,
            },
            "categories": category_counts(f),
            "difficulty": {lv: round(n / labelled, 4) for lv, n in counts.items()} if labelled else {},
            "languages": language_counts(f),
            "negatives": round(float(f["is_negative"].mean()), 4) if len(f) else 0.0,
            "checks": [c.as_dict() for c in self.checks],
            "targets": list(self.targets),
        }


def build_profile(
    features: pd.DataFrame,
    config: ProfileConfig | None = None,
    *,
    steps: StepSummaries | None = None,
    clusters: Sequence[Mapping[str, Any]] = (),
    local_limit: LocalLimit | None = None,
) -> Profile:
    """Run the checklist and the targets on features already computed.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds and target model.
        steps: Summaries of other steps (dedup, labels, production coverage).
        clusters: Uncovered production clusters as targets (from :mod:`core.drift`).
        local_limit: A local tokenizer's counts and a trainer's ``max_length``: the token limit
            check holds those (and ``Profile.token_limit`` is that ``max_length``).

    Returns:
        The :class:`Profile`.
    """
    from core import tokens

    config = config or ProfileConfig()
    limit = tokens.token_limit(config.model) if local_limit is None else local_limit.max_length
    checks = run_checks(features, config, token_limit=limit, local_limit=local_limit, steps=steps)
    targets = compute_targets(features, config, clusters=clusters)
    return Profile(features, tuple(checks), tuple(targets), limit)
