"""What a bundle can hold: the split names, the export formats, each format's file extension."""

from __future__ import annotations

from core import formats

SPLIT_NAMES = ("train", "val", "test")
CARD_NAME = "README.md"
QUARANTINE_NAME = "quarantine.jsonl"
# Split names as Hugging Face calls them (the Hub viewer and trainers look for "validation").
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
PARQUET = "parquet"
EXPORT_FORMATS = (*formats.FORMAT_NAMES, PARQUET)
OPENAI_FORMATS = ("openai-sft", "openai-dpo", "openai-rft")
_JSON_ARRAY_FORMATS = ("alpaca", "sharegpt")
_PARQUET_ROWS_FORMAT = {"sft": "trl-messages", "preference": "trl-preference", "rft": "openai-rft"}


def file_extension(fmt: str) -> str:
    """Return the file extension a format is written with (``jsonl``, ``json``, ``csv``, ``parquet``)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    if fmt in _JSON_ARRAY_FORMATS:
        return "json"
    return fmt if fmt in ("csv", PARQUET) else "jsonl"


def formats_for(kind: str) -> tuple[str, ...]:
    """Return the export formats that can hold examples of ``kind`` (Parquet holds any)."""
    return (*formats.formats_for_kind(kind), PARQUET)
