"""Distribution statistics and the readiness checklist of a canonical table.

:func:`compute_features` measures every example (tokens, words, sentences, paragraphs, turns,
system prompt, language, negative flag, normalised metadata); :func:`run_checks` turns the
features into the readiness checklist (every rule of issue #3, each with its status, value,
threshold, message and the rows behind it); :func:`compute_targets` says how many examples of
what to collect or generate next, in the shared ``targets.distribution`` format.

Languages come from :mod:`core.lang` (each distinct prompt once); a ``language`` value already
in the data wins over the detector.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from core import _fork, lang, measures

STATUSES = ("pass", "warn", "fail", "not_labelled", "not_run")
DIFFICULTY_LEVELS = ("easy", "moderate", "hard")
DIFFICULTY_TARGET = {"easy": 0.60, "moderate": 0.25, "hard": 0.15}

# Task type -> (minimum, recommended maximum) examples. Source: issue #3 ("the seeds' table").
TASK_SIZES: dict[str, tuple[int, int]] = {
    "narrow classification": (100, 500),
    "complex style": (500, 2_000),
    "multi-step": (2_000, 10_000),
}

_DIFFICULTY_SYNONYMS = {
    "easy": "easy",
    "simple": "easy",
    "basic": "easy",
    "low": "easy",
    "beginner": "easy",
    "1": "easy",
    "moderate": "moderate",
    "medium": "moderate",
    "intermediate": "moderate",
    "mid": "moderate",
    "normal": "moderate",
    "2": "moderate",
    "hard": "hard",
    "difficult": "hard",
    "complex": "hard",
    "advanced": "hard",
    "high": "hard",
    "expert": "hard",
    "3": "hard",
}

# Searched (case-insensitive) in the first 120 characters of the response, so that a long
# answer which merely mentions "not found" somewhere is not taken for a negative example.
DEFAULT_NEGATIVE_PATTERNS: tuple[str, ...] = (
    r"^\W*(none|n/?a|nil|null|empty|unknown|nothing|no)\W*$",
    r"^\s*(\[\s*\]|\{\s*\}|null|\"\")\s*$",
    r"\bnot (found|applicable|available)\b",
    r"\bno (results?|matches|matching \w+|records?|data)\b",
    r"^there (is|are) no\b",
    r"\bi(?:'m| am) (?:unable|not able) to\b",
    r"\bi (?:couldn't|could not|can't|cannot) find\b",
    r"\bi (?:can't|can’t|cannot|can not|won't) (?:help|assist|do that|provide|answer|share)",
    r"\b(?:sorry|unfortunately),? (?:but )?i (?:can't|can’t|cannot|am unable|'m unable|don't have)",
)
_NEGATIVE_WINDOW = 120
_FORK_FROM_TEXTS = 20_000  # below this a forked child costs more than it saves
_CHILD_SHARE = 0.7  # of the texts to detect; this process also measures words, sentences, negatives


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


# -- per-example features ------------------------------------------------------------------


def normalize_difficulty(value: Any) -> str | None:
    """Map a difficulty label to ``easy`` / ``moderate`` / ``hard`` (``None`` when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _DIFFICULTY_SYNONYMS.get(str(value).strip().lower())


def is_negative(response: str, patterns: NegativePatterns) -> bool:
    """Return whether a response is a negative example (nothing found, not applicable, refusal).

    Args:
        response: The response text.
        patterns: The compiled patterns (:func:`compile_patterns`).
    """
    text = response.strip()
    if _is_empty_json(text):
        return True
    return patterns.search(text[:_NEGATIVE_WINDOW].lower())


def _is_empty_json(text: str) -> bool:
    if not text or text[0] not in '[{n"':
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    if isinstance(value, dict) and value:
        return all(v in (None, "", [], {}) for v in value.values())
    return value in (None, "", [], {})


@dataclass(frozen=True)
class NegativePatterns:
    """Negative-example patterns, compiled case-insensitive into two alternations.

    Patterns anchored at the start (``^...`` as a whole) can only match at position 0, so they
    are tried there alone (``match``); the rest are searched. One search of nine alternatives at
    every position cost 14 microseconds per response; this costs a third of that.
    """

    anchored: re.Pattern[str] | None
    anywhere: re.Pattern[str] | None

    def search(self, text: str) -> bool:
        """Return whether any pattern matches ``text`` (as ``re.search`` of the alternation would)."""
        if self.anchored is not None and self.anchored.match(text):
            return True
        return self.anywhere is not None and self.anywhere.search(text) is not None


def compile_patterns(patterns: Iterable[str]) -> NegativePatterns:
    """Compile negative-example patterns (case-insensitive) for :func:`is_negative`.

    Raises:
        re.error: If a pattern is not a valid regular expression.
    """
    anchored: list[str] = []
    anywhere: list[str] = []
    for pattern in patterns:
        (anchored if _anchored_at_start(pattern) else anywhere).append(pattern)

    def join(group: list[str]) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{p})" for p in group), re.IGNORECASE) if group else None

    return NegativePatterns(join(anchored), join(anywhere))


def _anchored_at_start(pattern: str) -> bool:
    """Return whether every match of ``pattern`` must start at position 0 (it opens with ``^``)."""
    try:
        import importlib

        _parser = importlib.import_module("re._parser")  # the standard library's own parser
        _constants = importlib.import_module("re._constants")
        parsed = _parser.parse(pattern, re.IGNORECASE)
        if parsed.state.flags & re.MULTILINE:  # (?m): ^ also matches after every line break
            return False
        return len(parsed) > 0 and parsed[0] == (_constants.AT, _constants.AT_BEGINNING)
    except (ImportError, AttributeError, re.error, TypeError):
        return False  # searched everywhere: slower, never wrong


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].reset_index(drop=True)
    return pd.Series([None] * len(frame), dtype=object)


def _texts(frame: pd.DataFrame, name: str) -> pd.Series:
    return _column(frame, name).fillna("").astype(str)


def _token_counts(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    from core import tokens

    return tokens.count_frame(frame, model=model).reset_index(drop=True)


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    raw = _column(frame, "created_at")
    return pd.to_datetime(raw.astype(object), errors="coerce", utc=True, format="mixed")


def _sources(frame: pd.DataFrame) -> pd.Series:
    return _column(frame, "source").map(
        lambda v: str(v).strip().lower() if isinstance(v, str) and v else "real"
    )


def _categories(frame: pd.DataFrame) -> pd.Series:
    def clean(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value).strip()
        return text or None

    return _column(frame, "category").map(clean).astype(object)


TEXT_MEASURES = (
    "prompt_words",
    "response_words",
    "prompt_sentences",
    "prompt_paragraphs",
    "language_detected",
    "is_negative",
)


def measure_texts(
    frame: pd.DataFrame, negative_patterns: Sequence[str] = DEFAULT_NEGATIVE_PATTERNS
) -> pd.DataFrame:
    """Measure what does not depend on the tokenizer: words, sentences, language, negative flag.

    This and the token counts are the slow part of :func:`compute_features` (seconds on 100,000
    rows), so :mod:`core.derived` keeps both with the dataset version.

    Returns:
        One row per example (positions 0..n-1), columns :data:`TEXT_MEASURES`.
    """
    prompts, responses = _texts(frame, "prompt_text").tolist(), _texts(frame, "response_text").tolist()
    patterns = compile_patterns(negative_patterns)
    distinct = list(dict.fromkeys(prompts))
    languages = _languages_of(distinct)  # in a forked child for big tables, while the rest runs here
    prompt = measures.measure(prompts)
    measured = pd.DataFrame(
        {
            "prompt_words": prompt["words"],
            "response_words": measures.measure(responses, words_only=True)["words"],
            "prompt_sentences": prompt["sentences"],
            "prompt_paragraphs": prompt["paragraphs"],
            "is_negative": np.fromiter(
                (is_negative(r, patterns) for r in responses), dtype=bool, count=len(responses)
            ),
        }
    )
    by_text = dict(zip(distinct, languages(), strict=True))
    measured.insert(4, "language_detected", [by_text[p] for p in prompts])
    return measured


def _languages_of(texts: list[str]) -> Callable[[], list[str]]:
    """Start :func:`core.lang.detect_languages` of ``texts``; the returned call gives the codes.

    For many texts a forked child detects the first :data:`_CHILD_SHARE` of them while this
    process measures the rest of the table, and then detects the remaining texts itself.
    """
    if len(texts) < _FORK_FROM_TEXTS or not _fork.can_fork():
        return lambda: lang.detect_languages(texts)
    lang.warm_up()  # loaded before the fork: the child shares it
    head, tail = texts[: int(len(texts) * _CHILD_SHARE)], texts[int(len(texts) * _CHILD_SHARE) :]

    def decode(data: bytes) -> list[str]:
        codes = data.decode("utf-8").split("\n") if data else []
        if len(codes) != len(head):
            raise ValueError(f"{len(codes)} language codes for {len(head)} texts")
        return codes

    child = _fork.ForkedCall(
        lambda: lang.detect_languages(head),
        encode=lambda codes: "\n".join(codes).encode("utf-8"),
        decode=decode,
    )

    def result() -> list[str]:
        own = lang.detect_languages(tail)
        return child.result() + own

    return result


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


# -- summaries -------------------------------------------------------------------------------


def describe_lengths(values: pd.Series | np.ndarray) -> dict[str, float]:
    """Return min / mean / percentiles / max of a length column (zeros when empty)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {k: 0.0 for k in ("min", "mean", "p50", "p90", "p99", "max")}
    p50, p90, p99 = np.percentile(array, [50, 90, 99])
    return {
        "min": float(array.min()),
        "mean": round(float(array.mean()), 2),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(array.max()),
    }


def category_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{category: rows}``, largest first (unlabelled rows left out)."""
    counts = features["category"].dropna().value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def difficulty_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{level: rows}`` for the three levels (unmapped labels left out)."""
    counts = features["difficulty"].value_counts()
    return {level: int(counts.get(level, 0)) for level in DIFFICULTY_LEVELS}


def language_counts(features: pd.DataFrame) -> dict[str, int]:
    """Return ``{language code: rows}``, largest first."""
    return {str(k): int(v) for k, v in features["language"].value_counts().items()}


def robust_z(values: np.ndarray) -> np.ndarray:
    """Return the robust z-score 0.6745 * (x - median) / MAD (zeros when the MAD is 0)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    if mad == 0:
        return np.zeros_like(values)
    return 0.6745 * (values - median) / mad


def _rows(mask: np.ndarray | pd.Series) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool)))


# -- the checklist ---------------------------------------------------------------------------

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


def difficulty_shortfall(counts: Mapping[str, int], target: Mapping[str, float]) -> dict[str, int]:
    """Return how many examples each level needs (adding only) to reach the target mix."""
    if sum(counts.values()) == 0:
        return {level: 0 for level in target}
    needed_total = max(counts.get(level, 0) / share for level, share in target.items() if share > 0)
    return {
        level: max(0, math.ceil(share * needed_total - 1e-9) - counts.get(level, 0))
        for level, share in target.items()
    }


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


def negatives_missing(count: int, n: int, config: ProfileConfig) -> int:
    """Return how many negatives to add so that their share reaches ``min_negative_share``."""
    share = config.min_negative_share
    return max(0, math.ceil((share * n - count) / (1 - share) - 1e-9)) if share < 1 else 0


def check_length_diversity(features: pd.DataFrame, config: ProfileConfig) -> Check:
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


def check_token_limit(features: pd.DataFrame, config: ProfileConfig, limit: int | None) -> Check:
    """Examples over the target model's per-example token limit are truncated in training."""
    if limit is None:
        return Check(
            "token_limit",
            "Over the token limit",
            "warn",
            None,
            "unknown limit",
            f"No known token limit for {config.model}; pick another target model.",
            chart="tokens",
        )
    over = (features["total_tokens"] > limit).to_numpy()
    count = int(over.sum())
    threshold = f"<= {limit:,} tokens per example ({config.model})"
    if count:
        message = f"{count} examples exceed {limit:,} tokens and would be truncated: shorten or split them."
        return Check(
            "token_limit", "Over the token limit", "fail", count, threshold, message, _rows(over), "tokens"
        )
    return Check(
        "token_limit", "Over the token limit", "pass", 0, threshold, "Every example fits.", chart="tokens"
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


def thin_languages(counts: Mapping[str, int], config: ProfileConfig) -> list[str]:
    """Languages with ``stray_language`` to ``min_language - 1`` examples, sorted (``und`` never)."""
    return sorted(
        code
        for code, n in counts.items()
        if code != lang.UNDETERMINED and config.stray_language <= n < config.min_language
    )


def busiest_window_share(times: pd.Series, days: float) -> float:
    """Return the largest share of timestamps that fall in any window of ``days`` days."""
    times = times.dropna()
    if times.empty:
        return 0.0
    values = np.sort((times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy())
    ends = np.searchsorted(values, values + days * 86_400, side="right")
    return float((ends - np.arange(values.size)).max() / values.size)


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
    steps: StepSummaries | None = None,
) -> list[Check]:
    """Run every rule of the readiness checklist.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds (defaults: :class:`ProfileConfig`).
        token_limit: The target model's per-example token limit (``None``: unknown).
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
        check_length_diversity(features, config),
        check_length_outliers(features, config),
        check_token_limit(features, config, token_limit),
        check_languages(features, config),
        check_temporal(features, config),
        check_size(features, config),
        check_synthetic(features, config),
        check_duplicates(steps, config),
        check_agreement(steps, config),
        check_coverage(steps, config),
    ]


# -- targets for the next round --------------------------------------------------------------


def _examples(features: pd.DataFrame, mask: pd.Series | np.ndarray, limit: int = 3) -> list[str]:
    texts = features.loc[np.asarray(mask, dtype=bool), "prompt_text"].head(limit)
    return [t[:300] for t in texts]


def _target(kind: str, value: str, missing: int, description: str, examples: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "value": value,
        "missing": int(missing),
        "description": description,
        "examples": examples,
    }


def _category_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    out = []
    for name, count in sorted(category_counts(features).items(), key=lambda kv: kv[1]):
        if count < config.min_class:
            out.append(
                _target(
                    "category",
                    name,
                    config.min_class - count,
                    f"Category '{name}' has {count} examples; {config.min_class} are needed.",
                    _examples(features, features["category"] == name),
                )
            )
    return out


def _difficulty_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    counts = difficulty_counts(features)
    if sum(counts.values()) == 0:
        return []
    out = []
    for level, missing in difficulty_shortfall(counts, config.difficulty_target).items():
        if missing > 0:
            share = config.difficulty_target[level]
            description = f"{counts[level]} {level} examples; {missing} more reach the {share:.0%} target."
            out.append(
                _target(
                    "difficulty",
                    level,
                    missing,
                    description,
                    _examples(features, features["difficulty"] == level),
                )
            )
    return out


def _language_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    counts = language_counts(features)
    return [
        _target(
            "language",
            code,
            config.min_language - counts[code],
            f"Only {counts[code]} examples in '{code}'; {config.min_language} are needed.",
            _examples(features, features["language"] == code),
        )
        for code in sorted(thin_languages(counts, config), key=lambda c: (-counts[c], c))
    ]


def _negative_targets(features: pd.DataFrame, config: ProfileConfig) -> list[dict[str, Any]]:
    count, n = int(features["is_negative"].sum()), len(features)
    missing = negatives_missing(count, n, config)
    if missing <= 0:
        return []
    description = (
        f"{count} negative examples; add {missing} where the right answer is 'not found', 'not applicable' "
        "or a polite refusal."
    )
    return [
        _target("negative", "negative", missing, description, _examples(features, features["is_negative"]))
    ]


def compute_targets(
    features: pd.DataFrame,
    config: ProfileConfig | None = None,
    *,
    clusters: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Say how many examples of what the next round should add.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds (defaults: :class:`ProfileConfig`).
        clusters: Uncovered production clusters (``core.drift.Cluster.as_target()`` dicts).

    Returns:
        Targets in the shared ``targets.distribution`` format (kind, value, missing,
        description, examples).
    """
    config = config or ProfileConfig()
    return [
        *_category_targets(features, config),
        *_difficulty_targets(features, config),
        *_language_targets(features, config),
        *_negative_targets(features, config),
        *[dict(c) for c in clusters],
    ]


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
) -> Profile:
    """Run the checklist and the targets on features already computed.

    Args:
        features: Output of :func:`compute_features`.
        config: Thresholds and target model.
        steps: Summaries of other steps (dedup, labels, production coverage).
        clusters: Uncovered production clusters as targets (from :mod:`core.drift`).

    Returns:
        The :class:`Profile`.
    """
    from core import tokens

    config = config or ProfileConfig()
    limit = tokens.token_limit(config.model)
    checks = run_checks(features, config, token_limit=limit, steps=steps)
    targets = compute_targets(features, config, clusters=clusters)
    return Profile(features, tuple(checks), tuple(targets), limit)


def profile_frame(
    frame: pd.DataFrame, config: ProfileConfig | None = None, *, steps: StepSummaries | None = None
) -> Profile:
    """Profile a canonical table: features, readiness checklist and targets (no production sample)."""
    config = config or ProfileConfig()
    return build_profile(compute_features(frame, config), config, steps=steps)
