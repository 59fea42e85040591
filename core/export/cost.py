"""Fine-tuning cost of a train split: tokens x epochs x price."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from core import pricing, tokens


def finetune_cost(train: pd.DataFrame, model: str, *, epochs: int | None = None) -> pricing.FinetuneEstimate:
    """Estimate what training ``model`` on ``train`` costs: tokens x epochs (cookbook heuristic) x price.

    Args:
        train: The train split (canonical table).
        model: Target model id (``gpt-4.1-mini-2025-04-14``, ...).
        epochs: Epochs to assume (default: the cookbook's heuristic for the split's size).

    Returns:
        The estimate (``usd`` is ``None`` when the model has no per-token training price).

    Raises:
        ValueError: If the model is unknown to the tokenizer or the price table.
    """
    counts = tokens.count_frame(train, model=model)["total_tokens"].tolist() if len(train) else []
    return pricing.finetune_estimate(counts, model, epochs=epochs)


def finetune_cost_dict(estimate: pricing.FinetuneEstimate) -> dict[str, Any]:
    """Return an estimate as a JSON-ready dict."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(estimate).items()}
