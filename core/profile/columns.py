"""The canonical table's columns as the profile reads them: missing ones empty, labels normalised."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

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


def normalize_difficulty(value: Any) -> str | None:
    """Map a difficulty label to ``easy`` / ``moderate`` / ``hard`` (``None`` when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _DIFFICULTY_SYNONYMS.get(str(value).strip().lower())


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
