"""Helpers shared by the command-line commands."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout (UTF-8, NaN-free, stable key order as given)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=_default, allow_nan=False) + "\n")


def fail(message: str, code: int = 2) -> int:
    """Print an error for a person on stderr and return the exit code to use."""
    sys.stderr.write(f"error: {message}\n")
    return code


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float):
        return None
    return str(value)
