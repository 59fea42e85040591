"""The dated price table and the cost arithmetic: generation cost and fine-tuning cost.

Prices live in ``core/data/prices.json`` (FORMATS.md §5, USD per 1M tokens, each entry with
the date and place it was seen). A person can change them in the app: their changes are
saved to ``<workspace>/prices.json`` and merged over the bundled table field by field.

Fine-tuning follows the cookbook's estimate (``Chat_finetuning_data_prep.ipynb``): the
default number of epochs depends on the number of examples, billable tokens are each
example's tokens capped at the per-example limit, charged tokens are epochs x billable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import DatasetError
from core.tokens import COOKBOOK_MAX_TOKENS_PER_EXAMPLE, base_model, token_limit

BUNDLED_PRICES = Path(__file__).resolve().parent / "data" / "prices.json"
USER_PRICES_FILENAME = "prices.json"
PER_TOKENS = 1_000_000

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

_DATE_SEEN = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
_DATED_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_RATE_FIELDS = (
    "input",
    "cached_input",
    "output",
    "training",
    "training_per_hour",
    "ft_input",
    "ft_cached_input",
    "ft_output",
    "long_input",
    "long_cached_input",
    "long_output",
)


def _check_rate(name: str, value: float | None, model: str) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{model}: {name} must be a non-negative number or None, got {value!r}")


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in USD per 1M tokens (``training_per_hour`` in USD per hour).

    ``None`` means "not offered / not known". ``long_*`` prices apply to a whole request whose
    prompt has more than ``long_context_above`` tokens. ``ft_*`` are the inference prices of a
    model fine-tuned from this one.
    """

    model: str
    provider: str
    input: float
    output: float
    cached_input: float | None = None
    training: float | None = None
    training_per_hour: float | None = None
    ft_input: float | None = None
    ft_cached_input: float | None = None
    ft_output: float | None = None
    long_context_above: int | None = None
    long_input: float | None = None
    long_cached_input: float | None = None
    long_output: float | None = None
    local: bool = False
    seen: str = ""
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model must be a non-empty string, got {self.model!r}")
        if not isinstance(self.provider, str) or not self.provider.strip():
            raise ValueError(f"{self.model}: provider must be a non-empty string, got {self.provider!r}")
        for name in _RATE_FIELDS:
            _check_rate(name, getattr(self, name), self.model)
        if self.input is None or self.output is None:
            raise ValueError(f"{self.model}: input and output prices are required")
        if self.training is not None and self.training_per_hour is not None:
            raise ValueError(f"{self.model}: give training per 1M tokens or per hour, not both")
        self._check_long_context()
        if self.seen and not _DATE_SEEN.match(self.seen):
            raise ValueError(f"{self.model}: seen must be YYYY-MM-DD or YYYY-MM, got {self.seen!r}")
        if self.local and (self.input or self.output or self.cached_input):
            raise ValueError(f"{self.model}: a local model must have price 0, got input {self.input}")

    def _check_long_context(self) -> None:
        above = self.long_context_above
        if above is None:
            return
        if isinstance(above, bool) or not isinstance(above, int) or above <= 0:
            raise ValueError(f"{self.model}: long_context_above must be a positive int, got {above!r}")
        if self.long_input is None or self.long_output is None:
            raise ValueError(f"{self.model}: long_context_above needs long_input and long_output")

    @property
    def fine_tunable(self) -> bool:
        """Whether the table has a training price for this model."""
        return self.training is not None or self.training_per_hour is not None


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


# --- the table -----------------------------------------------------------------------------------


def _entry_to_price(model: str, entry: Mapping[str, Any]) -> ModelPrice:
    values = {key: value for key, value in entry.items() if key != "long_context"}
    long_context = entry.get("long_context")
    if isinstance(long_context, Mapping):
        values["long_context_above"] = long_context.get("above")
        values["long_input"] = long_context.get("input")
        values["long_cached_input"] = long_context.get("cached_input")
        values["long_output"] = long_context.get("output")
    known = {f.name for f in fields(ModelPrice)} - {"model"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{model}: unknown price fields {unknown}")
    return ModelPrice(model=model, **values)


def _price_to_entry(price: ModelPrice) -> dict[str, Any]:
    entry = asdict(price)
    del entry["model"]
    above = entry.pop("long_context_above")
    long_values = {key: entry.pop(f"long_{key}") for key in ("input", "cached_input", "output")}
    # null (not absent) when there is none, so an override can remove the bundled one
    entry["long_context"] = None if above is None else {"above": above, **long_values}
    return entry


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the price table: {exc}") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise DatasetError(f"{path}: a price table is a JSON object with a 'models' object")
    return models


@lru_cache(maxsize=1)
def _bundled_entries() -> dict[str, dict[str, Any]]:
    return _read_json(BUNDLED_PRICES)


def user_prices_path(ws_root: str | Path) -> Path:
    """Return where a workspace keeps the person's price overrides."""
    return Path(ws_root) / USER_PRICES_FILENAME


def load_prices(path: Path | None = None) -> dict[str, ModelPrice]:
    """Return the price table: the bundled one with the person's overrides merged over it.

    Args:
        path: The user's price file, or a workspace folder holding one (``prices.json``), or
            None for the bundled table alone. A missing file means no overrides.

    Returns:
        Model id -> :class:`ModelPrice`, bundled models first.

    Raises:
        DatasetError: If the user's file cannot be read or an entry in it is invalid (the
            message names the file and the model).
    """
    entries = {model: dict(entry) for model, entry in _bundled_entries().items()}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            path = user_prices_path(path)
        if path.is_file():
            _merge_user_entries(entries, _read_json(path), path)
    table: dict[str, ModelPrice] = {}
    for model, entry in entries.items():
        try:
            table[model] = _entry_to_price(model, entry)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path or BUNDLED_PRICES}: invalid price for {model!r}: {exc}") from exc
    return table


def _merge_user_entries(entries: dict[str, dict[str, Any]], user: dict[str, Any], path: Path) -> None:
    for model, entry in user.items():
        if not isinstance(entry, dict):
            raise DatasetError(f"{path}: the entry for {model!r} must be a JSON object")
        merged = entries.setdefault(model, {})
        merged.update(entry)


def save_user_prices(ws_root: str | Path, table: Mapping[str, ModelPrice]) -> Path:
    """Save the entries of ``table`` that differ from the bundled table into the workspace.

    Only differences are written, so later corrections of the bundled table still reach
    models the person did not touch. Returns the path written.
    """
    bundled = load_prices()
    changed = {
        model: _price_to_entry(price)
        for model, price in table.items()
        if model not in bundled or bundled[model] != replace(price, model=model)
    }
    path = user_prices_path(ws_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"currency": "USD", "models": changed}, indent=2, ensure_ascii=False)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".prices.", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(payload + "\n")
    os.replace(temporary, path)
    return path


def prices_frame(table: Mapping[str, ModelPrice]) -> pd.DataFrame:
    """Return the table as one row per model (for showing and editing in the app)."""
    return pd.DataFrame(
        [asdict(price) for price in table.values()], columns=[f.name for f in fields(ModelPrice)]
    )


def table_from_frame(frame: pd.DataFrame) -> dict[str, ModelPrice]:
    """Turn an edited :func:`prices_frame` back into a table.

    Raises:
        DatasetError: If a row has an invalid price (the message names the model).
    """
    table: dict[str, ModelPrice] = {}
    for record in frame.to_dict(orient="records"):
        values = {key: _clean_cell(value) for key, value in record.items()}
        values["local"] = bool(values.get("local") or False)
        for text_field in ("seen", "source", "notes"):
            values[text_field] = values.get(text_field) or ""
        if values.get("long_context_above") is not None:
            values["long_context_above"] = int(values["long_context_above"])
        try:
            price = ModelPrice(**values)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"invalid price row {values.get('model')!r}: {exc}") from exc
        table[price.model] = price
    return table


def _clean_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def list_models(
    table: Mapping[str, ModelPrice] | None = None, *, provider: str | None = None, fine_tunable: bool = False
) -> list[str]:
    """Return the model ids of the table, optionally of one provider or only fine-tunable ones."""
    table = load_prices() if table is None else table
    return [
        model
        for model, price in table.items()
        if (provider is None or price.provider == provider) and (not fine_tunable or price.fine_tunable)
    ]


def get_price(model: str, table: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """Return the prices of ``model``.

    Dated ids (``gpt-4.1-mini-2025-04-14``) use their undated entry. Fine-tuned ids
    (``ft:gpt-4.1-mini-2025-04-14:org::abc``) get the base model's fine-tuned inference prices.

    Raises:
        ValueError: If no entry matches (the message names the model).
    """
    table = load_prices() if table is None else table
    name = base_model(model)
    price = table.get(name) or table.get(_DATED_SUFFIX.sub("", name))
    if price is None:
        raise ValueError(f"no price known for model {model!r}; known: {', '.join(table)}")
    if model.strip().startswith("ft:"):
        return _fine_tuned(price, model.strip())
    return price


def _fine_tuned(price: ModelPrice, model: str) -> ModelPrice:
    if price.ft_input is None or price.ft_output is None:
        raise ValueError(f"no fine-tuned inference price known for {model!r}")
    return replace(
        price,
        model=model,
        input=price.ft_input,
        cached_input=price.ft_cached_input,
        output=price.ft_output,
        long_context_above=None,
        long_input=None,
        long_cached_input=None,
        long_output=None,
    )


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


def worst_case_cost(prompt_tokens: int, max_tokens: int, price: ModelPrice) -> float:
    """Return the most one request can cost: no cache hits and ``max_tokens`` of output."""
    return generation_cost(Usage(prompt_tokens=prompt_tokens, completion_tokens=max_tokens), price)


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
