"""Building the bundle: the checked files, the side files, the manifest and the card, in one zip."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

import core
from core import formats
from core.errors import DatasetError
from core.export.card import _card_text, dataset_card_parts
from core.export.check import _written
from core.export.request import Bundle, BundleRequest, _rows
from core.export.targets import CARD_NAME, QUARANTINE_NAME, SPLIT_NAMES, formats_for
from core.export.write import WrittenFile
from core.workspace import now_iso

_ZIP_DATE = (2026, 1, 1, 0, 0, 0)
_MAX_LISTED_PROBLEMS = 5


def build_bundle(splits: Mapping[str, pd.DataFrame], request: BundleRequest) -> Bundle:
    """Write every split in every format, check each file, and zip them with the manifest and card.

    Args:
        splits: ``{"train", "val", "test"}`` canonical tables.
        request: Formats, seed, fractions and the extra inputs.

    Returns:
        The zip bytes, the manifest (also inside the zip) and the problems reported.

    Raises:
        DatasetError: If a file cannot be written, or (``strict``) fails its check.
    """
    check_formats(splits, request.formats)
    written = [_written(splits[s], s, fmt) for fmt in request.formats for s in SPLIT_NAMES if s in splits]
    blocking = [p for f in written for p in f.blocking]
    if blocking and request.strict:
        shown = "; ".join(blocking[:_MAX_LISTED_PROBLEMS])
        raise DatasetError(f"the export did not pass its checks ({len(blocking)} problems): {shown}")
    written.extend(_side_files(request))
    created_at = now_iso()
    front, loading = dataset_card_parts(written, request)
    card = front + _card_text(splits, request, created_at) + "\n" + loading
    written.append(WrittenFile(CARD_NAME, card.encode("utf-8"), 0))
    manifest = build_manifest(splits, request, written, created_at)
    manifest_file = WrittenFile("manifest.json", _json_bytes(manifest), 0)
    problems = tuple(p for f in written for p in (*f.problems, *f.blocking))
    return Bundle(_zip([*written, manifest_file]), manifest, problems)


def check_formats(splits: Mapping[str, pd.DataFrame], wanted: Sequence[str]) -> None:
    """Raise DatasetError if a wanted format cannot hold the kinds of example in the splits."""
    kinds = sorted({str(k) for frame in splits.values() if "kind" in frame.columns for k in frame["kind"]})
    for kind in kinds:
        bad = [f for f in wanted if f not in formats_for(kind)]
        if bad:
            allowed = ", ".join(formats_for(kind))
            raise DatasetError(f"{', '.join(bad)} cannot hold {kind} examples; formats for {kind}: {allowed}")


def _side_files(request: BundleRequest) -> list[WrittenFile]:
    files = [WrittenFile(QUARANTINE_NAME, quarantine_jsonl(request.quarantine), _rows(request.quarantine))]
    if request.review_audit is not None:
        audit = request.review_audit.to_csv(index=False).encode("utf-8")
        files.append(WrittenFile("review_audit.csv", audit, len(request.review_audit)))
    if request.excluded:
        lines = b"".join(_json_line({"id": i, "reason": r}) for i, r in request.excluded.items())
        files.append(WrittenFile("excluded.jsonl", lines, len(request.excluded)))
    if request.lock:
        files.append(
            WrittenFile("test_lock.json", _json_bytes(dict(request.lock)), len(request.lock.get("ids", [])))
        )
    return files


def quarantine_jsonl(frame: pd.DataFrame | None) -> bytes:
    """Return the quarantined rows (with their reasons) as JSONL; empty bytes when there are none."""
    if frame is None or frame.empty:
        return b""
    records = frame.to_dict("records")
    return b"".join(_json_line(r) for r in records)


def _json_line(record: Mapping[str, Any]) -> bytes:
    clean = {str(k): _plain(v) for k, v in record.items()}
    return json.dumps(clean, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return None if value is pd.NA or value is pd.NaT else value


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _zip(files: Sequence[WrittenFile]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            info = zipfile.ZipInfo(f.name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, f.data)
    return buffer.getvalue()


def build_manifest(
    splits: Mapping[str, pd.DataFrame], request: BundleRequest, files: Sequence[WrittenFile], created_at: str
) -> dict[str, Any]:
    """Return manifest.json: counts, sha256 of every file, seed, fractions, versions, the lock."""
    lock = dict(request.lock) if request.lock else None
    return {
        "app": "Trainset Studio",
        "app_version": core.__version__,
        "created_at": created_at,
        "dataset_version": request.dataset_version,
        "seed": request.seed,
        "fractions": dict(request.fractions),
        "formats": list(request.formats),
        "counts": {name: len(frame) for name, frame in splits.items() if name in SPLIT_NAMES},
        "excluded": len(request.excluded or {}),
        "quarantined": _quarantined(request.quarantine),
        "files": {
            f.name: {
                "sha256": f.sha256,
                "bytes": len(f.data),
                "rows": f.rows,
                "split": f.split,
                "format": f.format,
            }
            for f in files
        },
        "test_lock": lock,
        "problems": [p for f in files for p in (*f.problems, *f.blocking)],
    }


def _quarantined(frame: pd.DataFrame | None) -> dict[str, Any]:
    """How many input rows no file holds, why, and where they are (quarantine.jsonl)."""
    if frame is None or frame.empty:
        return {"rows": 0, "codes": {}, "lines": []}
    return formats.quarantine_summary(frame, QUARANTINE_NAME)
