"""Prices, token counts and the hard budget of a generation run.

The budget reserves each request's worst-case cost before it is sent (prompt tokens with a
safety margin x input price + ``max_tokens`` x output price) and settles to the real cost when
the answer arrives. An attempt whose outcome is unknown (it timed out, the connection dropped, the
answer was unreadable) may still have been billed, so its reservation is booked *at risk* and
stays counted; a retry must reserve again. ``spent + at_risk + reserved`` therefore never exceeds
the limit, whatever the provider bills: a request or retry whose reservation does not fit is
never sent.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

# Our tokenizer may differ from the teacher's (non-OpenAI models), so the reserved prompt
# tokens get a margin; a reply's prompt_tokens above the reservation is flagged as an overrun.
PROMPT_MARGIN = 1.25
PROMPT_SLACK = 32
_FALLBACK_TOKENIZER_MODEL = "gpt-4o"


@dataclass(frozen=True)
class Price:
    """USD per one million tokens for one teacher model (all zero for a local teacher)."""

    input: float
    output: float
    cached_input: float | None = None
    source: str = "custom"

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"price {name} must be a finite number >= 0, got {value!r}")

    @property
    def free(self) -> bool:
        """Whether generating costs nothing (a local teacher)."""
        return self.input == 0 and self.output == 0

    def cost(self, prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> float:
        """Return the dollars of one answer; cached input tokens at the cached price."""
        cached = min(max(cached_tokens, 0), max(prompt_tokens, 0))
        cached_price = self.input if self.cached_input is None else self.cached_input
        return (
            (prompt_tokens - cached) * self.input + cached * cached_price + completion_tokens * self.output
        ) / 1e6

    def worst_case(self, prompt_tokens: int, max_tokens: int) -> float:
        """Return the most one request can cost: every prompt token uncached, ``max_tokens`` out."""
        return (reserved_prompt_tokens(prompt_tokens) * self.input + max_tokens * self.output) / 1e6


FREE = Price(0.0, 0.0, 0.0, source="local")


def reserved_prompt_tokens(prompt_tokens: int) -> int:
    """Return the prompt tokens a reservation assumes (count x margin + slack)."""
    return math.ceil(prompt_tokens * PROMPT_MARGIN) + PROMPT_SLACK


def lookup_price(model: str) -> Price | None:
    """Return the price-table entry of ``model`` (from :mod:`core.pricing`), or ``None`` if unknown."""
    try:
        from core import pricing
    except ImportError:  # pricing not installed in this tree
        return None
    try:
        table: Any = pricing.load_prices()
        entry: Any = _find_price(table, model)
    except (KeyError, ValueError, LookupError):
        return None
    if entry is None:
        return None
    if getattr(entry, "local", False):
        return FREE
    return _price_from_entry(entry)


def _find_price(table: Any, model: str) -> Any:
    if isinstance(table, dict):
        return table.get(model)
    for entry in table:
        if getattr(entry, "model", None) == model:
            return entry
    return None


def _price_from_entry(entry: Any) -> Price:
    def first(*names: str) -> Any:
        for name in names:
            value = getattr(entry, name, None)
            if value is not None:
                return float(value)
        return None

    return Price(
        input=first("input", "input_per_mtok", "input_per_million", "prompt") or 0.0,
        output=first("output", "output_per_mtok", "output_per_million", "completion") or 0.0,
        cached_input=first("cached_input", "cached_input_per_mtok", "cached_input_per_million", "cached"),
        source="price table",
    )


def count_prompt_tokens(messages: list[dict[str, Any]], model: str) -> int:
    """Return the exact prompt tokens of ``messages`` for ``model`` (o200k for unknown models)."""
    from core import tokens

    try:
        return int(tokens.count_messages_tokens(messages, model=model))
    except ValueError:
        return int(tokens.count_messages_tokens(messages, model=_FALLBACK_TOKENIZER_MODEL))


def count_output_tokens(text: str, model: str) -> int:
    """Return the tokens of a reply text for ``model`` (o200k for unknown models)."""
    from core import tokens

    try:
        return int(tokens.count_text(text, tokens.encoding_name_for_model(model)))
    except ValueError:
        return int(tokens.count_text(text))


class Budget:
    """A thread-safe hard budget: reserve worst case before a request, settle to the real cost after."""

    def __init__(self, limit_usd: float, *, spent_usd: float = 0.0, at_risk_usd: float = 0.0) -> None:
        if not math.isfinite(limit_usd) or limit_usd < 0:
            raise ValueError(f"budget must be a finite number >= 0, got {limit_usd!r}")
        self.limit = float(limit_usd)
        self._spent = float(spent_usd)
        self._at_risk = float(at_risk_usd)
        self._reserved = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        """Dollars actually paid (real usage)."""
        with self._lock:
            return self._spent

    @property
    def at_risk(self) -> float:
        """Dollars attempts with an unknown outcome may have cost (counted as spent for the limit)."""
        with self._lock:
            return self._at_risk

    @property
    def reserved(self) -> float:
        """Dollars held for requests in flight."""
        with self._lock:
            return self._reserved

    @property
    def left(self) -> float:
        """Dollars neither spent nor reserved."""
        with self._lock:
            return self.limit - self._spent - self._at_risk - self._reserved

    def try_reserve(self, amount: float) -> bool:
        """Hold ``amount`` dollars if they fit in what is left; return whether they did."""
        if amount < 0:
            raise ValueError(f"reservation must be >= 0, got {amount!r}")
        with self._lock:
            if self._spent + self._at_risk + self._reserved + amount > self.limit + 1e-12:
                return False
            self._reserved += amount
            return True

    def settle(self, reserved: float, actual: float) -> None:
        """Release a reservation and book the real cost of the answer (0 for a failed attempt)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self._spent += actual

    def book_at_risk(self, reserved: float) -> None:
        """Turn a reservation into money at risk: its attempt may have been billed, nobody knows."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self._at_risk += reserved
