"""The dated price table and the cost arithmetic: generation cost and fine-tuning cost.

Prices live in ``core/data/prices.json`` (FORMATS.md §5, USD per 1M tokens, each entry with
the date and place it was seen). A workspace's ``prices.json`` (written by hand) is merged
over the bundled table field by field (:mod:`core.pricing.table`).

Fine-tuning follows the cookbook's estimate (``Chat_finetuning_data_prep.ipynb``): the
default number of epochs depends on the number of examples, billable tokens are each
example's tokens capped at the per-example limit, charged tokens are epochs x billable
(:mod:`core.pricing.cost`).
"""

from __future__ import annotations

from core.pricing.cost import (
    FINE_TUNING_CLOSES,
    FINE_TUNING_RESTRICTED,
    MAX_DEFAULT_EPOCHS,
    MAX_EPOCHS,
    MAX_TARGET_EXAMPLES,
    MIN_DEFAULT_EPOCHS,
    MIN_TARGET_EXAMPLES,
    TARGET_EPOCHS,
    FinetuneEstimate,
    Usage,
    default_epochs,
    finetune_estimate,
    generation_cost,
)
from core.pricing.table import (
    BUNDLED_PRICES,
    PER_TOKENS,
    USER_PRICES_FILENAME,
    ModelPrice,
    get_price,
    list_models,
    load_prices,
    user_prices_path,
)

__all__ = [
    "BUNDLED_PRICES",
    "FINE_TUNING_CLOSES",
    "FINE_TUNING_RESTRICTED",
    "MAX_DEFAULT_EPOCHS",
    "MAX_EPOCHS",
    "MAX_TARGET_EXAMPLES",
    "MIN_DEFAULT_EPOCHS",
    "MIN_TARGET_EXAMPLES",
    "PER_TOKENS",
    "TARGET_EPOCHS",
    "USER_PRICES_FILENAME",
    "FinetuneEstimate",
    "ModelPrice",
    "Usage",
    "default_epochs",
    "finetune_estimate",
    "generation_cost",
    "get_price",
    "list_models",
    "load_prices",
    "user_prices_path",
]
