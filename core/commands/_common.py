"""Helpers shared by the command-line commands."""

from __future__ import annotations

import argparse
import importlib
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


class OneOf:
    """An option's type: a name from ``module.attribute``, read only when a value is checked.

    Used as ``type=OneOf(...)`` instead of ``choices=`` (argparse would list the choices, hence
    import the module, for ``--help``): every command's help stays quick.
    """

    def __init__(self, module: str, attribute: str, *extra: str) -> None:
        self._where = (module, attribute)
        self._extra = extra

    def names(self) -> tuple[str, ...]:
        """Return the accepted names."""
        module, attribute = self._where
        return (*self._extra, *getattr(importlib.import_module(module), attribute))

    def __call__(self, value: str) -> str:
        names = self.names()
        if value not in names:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {value!r} (choose from {', '.join(map(repr, names))})"
            )
        return value
