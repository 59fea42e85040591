"""The dated price table: bundled in ``core/data/prices.json``, a workspace's overrides merged over it.

Each entry is USD per 1M tokens (FORMATS.md §5) with the date and place it was seen; a workspace's
``prices.json`` (written by hand) is merged over the bundled table field by field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import DatasetError
from core.tokens import base_model

BUNDLED_PRICES = Path(__file__).resolve().parents[1] / "data" / "prices.json"
USER_PRICES_FILENAME = "prices.json"
PER_TOKENS = 1_000_000

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
