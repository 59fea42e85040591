"""What goes in a bundle (BundleRequest) and what comes out (Bundle)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.export.targets import EXPORT_FORMATS
from core.report import DataCardInputs


@dataclass(frozen=True)
class BundleRequest:
    """What goes in the bundle besides the splits.

    Attributes:
        formats: Target formats (each split is written in each).
        seed: Seed of the split.
        fractions: ``{"train", "val", "test"}`` fractions.
        dataset_version: Workspace version the splits came from.
        card: Data card inputs (counts are filled in from the splits).
        quarantine: Invalid input rows with their reasons.
        review_audit: Review decisions, written as review_audit.csv.
        lock: The test lock manifest (ids, hashes, date).
        excluded: Rows the split kept out of every file (id -> reason), written as excluded.jsonl.
        strict: Validation errors block the bundle (else they are only reported).
    """

    formats: tuple[str, ...]
    seed: int
    fractions: Mapping[str, float] = field(default_factory=dict)
    dataset_version: int | None = None
    card: DataCardInputs | None = None
    quarantine: pd.DataFrame | None = None
    review_audit: pd.DataFrame | None = None
    lock: Mapping[str, Any] | None = None
    excluded: Mapping[str, str] | None = None
    strict: bool = True

    def __post_init__(self) -> None:
        if not self.formats:
            raise ValueError("formats must name at least one export format, got none")
        unknown = [f for f in self.formats if f not in EXPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown export formats {unknown}; expected among {EXPORT_FORMATS}")


@dataclass(frozen=True)
class Bundle:
    """The zip and what it holds."""

    data: bytes
    manifest: dict[str, Any]
    problems: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """Hex sha256 of the zip."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_names(self) -> list[str]:
        """Every file in the zip, manifest.json included (the manifest cannot list itself)."""
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            return archive.namelist()


def _rows(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)
