"""The test lock's manifest: ids and content hashes of a test set, read and written as a JSON file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DatasetError
from core.workspace import now_iso


def content_hash(row: Mapping[str, Any]) -> str:
    """Return the sha256 of an example's content (kind, messages, chosen, rejected, tools)."""
    payload = [row.get("kind"), row.get("messages"), row.get("chosen"), row.get("rejected"), row.get("tools")]
    text = json.dumps(_plain(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return None if _is_missing(value) else value


def make_lock(
    test: pd.DataFrame, *, seed: int, fractions: Mapping[str, float], dataset_version: int | None = None
) -> dict[str, Any]:
    """Return the lock manifest of a test set: ids, content hashes, date, seed, fractions."""
    rows = test.to_dict("records")
    ids = list(dict.fromkeys(str(r["id"]) for r in rows))
    hashes = {str(r["id"]): content_hash(r) for r in rows}
    return {
        "ids": ids,
        "hashes": hashes,
        "locked_at": now_iso(),
        "seed": seed,
        "fractions": dict(fractions),
        "dataset_version": dataset_version,
        "count": len(ids),
    }


def check_lock(lock: Any, origin: str = "lock") -> dict[str, Any]:
    """Return ``lock`` if it is a well-formed lock manifest.

    Raises:
        DatasetError: If it is not (naming ``origin``, e.g. the lock file's path).
    """
    if not isinstance(lock, dict) or not isinstance(lock.get("ids"), list):
        raise DatasetError(f"{origin}: not a test lock (expected a JSON object with an 'ids' list)")
    if not all(isinstance(i, str) for i in lock["ids"]):
        raise DatasetError(f"{origin}: field 'ids' must hold strings")
    if not isinstance(lock.get("hashes", {}), dict):
        raise DatasetError(f"{origin}: field 'hashes' must be an object")
    return lock


def read_lock_file(path: str | Path) -> dict[str, Any]:
    """Read a lock file written by :func:`write_lock_file`.

    Raises:
        DatasetError: If the file is not valid JSON or not a lock.
    """
    try:
        lock = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the lock file ({exc})") from exc
    return check_lock(lock, str(path))


def write_lock_file(path: str | Path, lock: Mapping[str, Any]) -> None:
    """Write a lock manifest as pretty JSON."""
    Path(path).write_text(json.dumps(lock, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
