"""Reading a production sample: a dataset file in any format, or plain text lines."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from core.drift.config import (
    _TEXT_SUFFIXES,
    MIN_PRODUCTION,
)
from core.errors import DatasetError, FormatError

if TYPE_CHECKING:
    from core.workspace import Workspace

_STATE = "distribution.production"


def load_production(
    source: bytes | Path, filename: str | None = None, *, min_inputs: int = MIN_PRODUCTION
) -> pd.DataFrame:
    """Read a production sample: any supported dataset format, or plain text (one input per line).

    Args:
        source: The file's bytes or its path.
        filename: Name used in messages and to recognise ``.txt`` files.
        min_inputs: Fewest inputs accepted.

    Returns:
        A frame with ``text`` (the user input) and ``category`` (``None`` when unlabelled).

    Raises:
        DatasetError: If the file cannot be read or holds fewer than ``min_inputs`` inputs.
    """
    name = filename or (source.name if isinstance(source, Path) else "production sample")
    data = source.read_bytes() if isinstance(source, Path) else source
    if Path(name).suffix.lower() in _TEXT_SUFFIXES:
        frame = _text_lines(data, name)
    else:
        try:
            frame = _dataset_inputs(data, name)
        except FormatError:
            frame = _text_lines(data, name)
    frame = frame[frame["text"].str.strip().str.len() > 0].reset_index(drop=True)
    if len(frame) < min_inputs:
        raise DatasetError(
            f"{name}: the production sample has {len(frame)} inputs; at least {min_inputs} are needed "
            "for a meaningful comparison (one input per line for plain text)."
        )
    return frame


def _text_lines(data: bytes, name: str) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not a dataset and not UTF-8 text (byte {exc.start}).") from exc
    lines = [line.strip() for line in text.splitlines()]
    return pd.DataFrame(
        {"text": pd.Series(lines, dtype=object), "category": pd.Series([None] * len(lines), dtype=object)}
    )


def _dataset_inputs(data: bytes, name: str) -> pd.DataFrame:
    from core.formats import load_dataset

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        records = load_dataset(path, name).records
    category = records["category"] if "category" in records.columns else pd.Series([None] * len(records))
    return pd.DataFrame(
        {
            "text": records["prompt_text"].fillna("").astype(str).tolist(),
            "category": category.astype(object).tolist(),
        }
    )


# -- lengths, languages, categories ----------------------------------------------------------


def saved_production(ws: Workspace) -> tuple[str, bytes] | None:
    """The production sample kept in the workspace (its name and bytes), or ``None`` without one."""
    saved = ws.get_state(_STATE)
    if not saved:
        return None
    path = ws.root / "distribution" / saved["file"]
    return (saved["name"], path.read_bytes()) if path.exists() else None


def store_production(ws: Workspace, name: str, data: bytes) -> None:
    """Keep a production sample in the workspace, so that a refresh keeps it."""
    folder = ws.root / "distribution"
    folder.mkdir(parents=True, exist_ok=True)
    stored = "production" + "".join(Path(name).suffixes[-2:])
    (folder / stored).write_bytes(data)
    ws.set_state(_STATE, {"name": name, "file": stored})


def forget_production(ws: Workspace) -> None:
    """Drop the production sample from the workspace."""
    ws.set_state(_STATE, None)
