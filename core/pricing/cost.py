"""The cost arithmetic: what requests cost (:class:`Usage`) and what fine-tuning costs.

Fine-tuning follows the cookbook's estimate (``Chat_finetuning_data_prep.ipynb``): the default number
of epochs depends on the number of examples, billable tokens are each example's tokens capped at the
per-example limit, charged tokens are epochs x billable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.pricing.table import PER_TOKENS, ModelPrice, get_price
from core.tokens import COOKBOOK_MAX_TOKENS_PER_EXAMPLE, base_model, token_limit

# Cookbook epochs heuristic (FORMATS.md §1).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
MAX_EPOCHS = 50  # job-side bound on n_epochs

# FORMATS.md §0: OpenAI is winding down self-serve fine-tuning.
FINE_TUNING_RESTRICTED = dt.date(2026, 7, 2)
FINE_TUNING_CLOSES = dt.date(2027, 1, 6)


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more requests; ``cached_tokens`` is the part of the prompt read from cache."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "cached_tokens", "completion_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.cached_tokens > self.prompt_tokens:
            raise ValueError(
                f"cached_tokens ({self.cached_tokens}) cannot exceed prompt_tokens ({self.prompt_tokens})"
            )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.cached_tokens + other.cached_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, usage: Any) -> Usage:
        """Build from an OpenAI ``usage`` object or dict (``prompt_tokens_details.cached_tokens``)."""
        details = _get(usage, "prompt_tokens_details")
        return cls(
            prompt_tokens=int(_get(usage, "prompt_tokens") or 0),
            cached_tokens=int(_get(details, "cached_tokens") or 0),
            completion_tokens=int(_get(usage, "completion_tokens") or 0),
        )


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


# --- generation cost -----------------------------------------------------------------------------


def _rates(price: ModelPrice, prompt_tokens: int) -> tuple[float, float, float]:
    """Return (input, cached input, output) rates for a request with ``prompt_tokens``."""
    input_rate, cached_rate, output_rate = price.input, price.cached_input, price.output
    above = price.long_context_above
    if above is not None and prompt_tokens > above and price.long_input is not None and price.long_output:
        input_rate, cached_rate, output_rate = price.long_input, price.long_cached_input, price.long_output
    return input_rate, input_rate if cached_rate is None else cached_rate, output_rate


def generation_cost(usage: Usage, price: ModelPrice) -> float:
    """Return the USD cost of ``usage`` at ``price`` (cached prompt tokens at the cached rate).

    When the model has no cached rate, cached tokens are priced as ordinary input. A prompt
    longer than ``long_context_above`` prices the whole request at the long-context rates.
    """
    if price.local:
        return 0.0
    input_rate, cached_rate, output_rate = _rates(price, usage.prompt_tokens)
    uncached = usage.prompt_tokens - usage.cached_tokens
    dollars_per_million = uncached * input_rate + usage.cached_tokens * cached_rate
    dollars_per_million += usage.completion_tokens * output_rate
    return dollars_per_million / PER_TOKENS


# --- fine-tuning cost ----------------------------------------------------------------------------


def default_epochs(n_examples: int) -> int:
    """Return the cookbook's default number of epochs for ``n_examples`` training examples."""
    if n_examples < 0:
        raise ValueError(f"n_examples must be >= 0, got {n_examples}")
    if n_examples == 0:
        return MAX_DEFAULT_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


@dataclass(frozen=True)
class FinetuneEstimate:
    """What a fine-tuning job on a dataset would be charged (the cookbook's estimate)."""

    model: str
    n_examples: int
    epochs: int
    token_limit: int
    billable_tokens: int
    charged_tokens: int
    truncated_examples: int
    usd: float | None
    price_per_1m: float | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.epochs > MAX_EPOCHS:
            raise ValueError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")
        if self.charged_tokens != self.epochs * self.billable_tokens:
            raise ValueError("charged_tokens must equal epochs x billable_tokens")

    @property
    def usd_text(self) -> str:
        """The cost for display: ``$12.34``, or why there is no token-based figure."""
        if self.usd is not None:
            return f"${self.usd:,.2f}"
        return "billed per hour" if any("per hour" in note for note in self.notes) else "no price known"


def _check_epochs(epochs: int | None) -> None:
    if epochs is None:
        return
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must be an int between 1 and {MAX_EPOCHS}, got {epochs!r}")


def _platform_note(price: ModelPrice, today: dt.date) -> str | None:
    if price.provider != "openai":
        return None
    if today >= FINE_TUNING_CLOSES:
        return f"OpenAI self-serve fine-tuning closed to new jobs on {FINE_TUNING_CLOSES.isoformat()}."
    return (
        f"OpenAI is closing self-serve fine-tuning: since {FINE_TUNING_RESTRICTED.isoformat()} only "
        "organisations that ran a fine-tuned model in the past 60 days can create jobs, and from "
        f"{FINE_TUNING_CLOSES.isoformat()} no organisation can create new jobs."
    )


def _usd_and_notes(price: ModelPrice, charged: int, today: dt.date) -> tuple[float | None, list[str]]:
    notes: list[str] = []
    usd: float | None = None
    if price.training is not None:
        usd = charged * price.training / PER_TOKENS
    elif price.training_per_hour is not None:
        notes.append(
            f"{price.model} RFT is billed per hour (${price.training_per_hour:,.2f}/hour of training) plus "
            "grader tokens at the grader model's rate, so no token-based cost is given."
        )
    else:
        notes.append(f"The price table has no fine-tuning price for {price.model}.")
    platform = _platform_note(price, today)
    if platform:
        notes.append(platform)
    if price.seen:
        notes.append(f"Prices as seen {price.seen} ({price.source}).")
    return usd, notes


def finetune_estimate(
    token_counts: Sequence[int],
    model: str,
    *,
    epochs: int | None = None,
    table: Mapping[str, ModelPrice] | None = None,
    today: dt.date | None = None,
) -> FinetuneEstimate:
    """Estimate a fine-tuning job's charged tokens and cost (the cookbook's method).

    Args:
        token_counts: Training tokens of each example (e.g. ``count_frame(...)["total_tokens"]``).
        model: The model to fine-tune (``ft:`` ids use their base model).
        epochs: Epochs to run; None uses the cookbook's default for the dataset size.
        table: The price table (default: :func:`load_prices`).
        today: The date the platform note is written for (default: today).

    Returns:
        The estimate; ``usd`` is None when the model has no per-token training price.

    Raises:
        ValueError: If the model has no price entry, ``epochs`` is out of 1..50, or a count
            is negative.
    """
    _check_epochs(epochs)
    counts = [int(count) for count in token_counts]
    if any(count < 0 for count in counts):
        raise ValueError(f"token counts must be >= 0, got {min(counts)}")
    price = get_price(base_model(model), table)
    limit = token_limit(model)
    notes: list[str] = []
    if limit is None:
        limit = COOKBOOK_MAX_TOKENS_PER_EXAMPLE
        notes.append(f"No per-example token limit is known for {model}; the cookbook's {limit:,} is used.")
    billable = sum(min(limit, count) for count in counts)
    truncated = sum(1 for count in counts if count > limit)
    if truncated:
        notes.append(f"{truncated:,} example(s) exceed {limit:,} tokens and would be truncated from the end.")
    n_epochs = epochs if epochs is not None else default_epochs(len(counts))
    usd, price_notes = _usd_and_notes(price, n_epochs * billable, today or dt.date.today())
    return FinetuneEstimate(
        model=model,
        n_examples=len(counts),
        epochs=n_epochs,
        token_limit=limit,
        billable_tokens=billable,
        charged_tokens=n_epochs * billable,
        truncated_examples=truncated,
        usd=usd,
        price_per_1m=price.training,
        notes=tuple(notes + price_notes),
    )
