"""The quality scan and the curation of a dataset version, measured once and kept beside it.

:func:`version_report` is :func:`core.quality.scan_quality` of a version, its flags stored as one
Parquet table in the version's folder (:mod:`core.derived`); :func:`version_curation` is
:func:`core.quality.curate.curate` of a version for one setting of the Quality page, stored the same
way. The background measurements of a version (:func:`core.derived.warm`) compute both with the page's
defaults, so the first open of the Quality and Explore pages reads them instead of scanning and
embedding 100,000 examples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, fields

import numpy as np
import pandas as pd

from core import derived
from core.quality import QualityReport, scan_quality
from core.quality.base import Flag
from core.quality.curate import Curation, curate
from core.workspace import Workspace

FORMAT = 1
CURATE_N = 1000
"""The Quality page's default "Keep" (or every example of a smaller version)."""
CURATE_COSINE = 0.85
"""The Quality page's default "Closest cosine"."""
_FLAG_COLUMNS = [f.name for f in fields(Flag)]


def version_report(ws: Workspace, version: int, frame: pd.DataFrame | None = None) -> QualityReport:
    """Return :func:`core.quality.scan_quality` of a version (stored with it)."""

    def compute() -> pd.DataFrame:
        data = frame if frame is not None else ws.load_version(version)
        report = scan_quality(data)
        table = pd.DataFrame([asdict(f) for f in report.flags], columns=_FLAG_COLUMNS)
        return table.astype({"row": "int64", "start": "int64", "end": "int64"}).assign(rows=report.rows)

    table = derived.stored(
        ws.derived_dir(version) / f"quality-flags-f{FORMAT}.parquet",
        compute,
        read=pd.read_parquet,
        write=lambda value, path: value.to_parquet(path, index=False),
    )
    rows = int(table["rows"].iloc[0]) if len(table) else _rows(ws, version, frame)
    columns = [table[c].tolist() for c in _FLAG_COLUMNS]
    return QualityReport(rows, [Flag(*values) for values in zip(*columns, strict=True)])


def version_curation(
    ws: Workspace,
    version: int,
    n: int,
    method: str,
    closest: float,
    frame: pd.DataFrame | None = None,
    report: QualityReport | None = None,
    model_flags: Sequence[Flag] = (),
) -> Curation:
    """Return the Quality page's curation of a version (stored per setting).

    Args:
        ws: The workspace.
        version: The dataset version.
        n: How many to keep at most.
        method: ``semantic`` (``auto`` in :func:`curate`: by meaning when the model loads) or ``lexical``.
        closest: The closest cosine (semantic) or word 3-gram Jaccard (lexical) allowed.
        frame: The version's table when already loaded.
        report: Its quality report with ``model_flags`` merged (scanned and merged here when not given).
        model_flags: The flags of model-based signals merged into ``report`` (part of the key).
    """
    key = json.dumps([n, method, closest, [asdict(f) for f in model_flags]], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]

    def compute() -> pd.DataFrame:
        data = frame if frame is not None else ws.load_version(version)
        scanned = report or _merged(version_report(ws, version, data), model_flags)
        if method == "semantic":
            result = curate(data, n, max_cosine=closest, report=scanned, method="auto")
        else:
            result = curate(data, n, max_similarity=closest, report=scanned, method="lexical")
        rank = np.full(len(result.scores), -1, dtype=np.int64)
        rank[np.asarray(result.chosen, dtype=np.int64)] = np.arange(len(result.chosen))
        reason = pd.Series([None] * len(rank), dtype=object)
        reason.iloc[result.left_out["position"].to_numpy(dtype=np.int64)] = result.left_out[
            "reason"
        ].to_numpy()
        return pd.DataFrame({"score": result.scores, "rank": rank, "reason": reason}).assign(
            method=result.method
        )

    table = derived.stored(
        ws.derived_dir(version) / f"quality-curation-{digest}-f{FORMAT}.parquet",
        compute,
        read=pd.read_parquet,
        write=lambda value, path: value.to_parquet(path, index=False),
    )
    rank = table["rank"].to_numpy()
    taken = np.flatnonzero(rank >= 0)
    chosen = [int(p) for p in taken[np.argsort(rank[taken])]]
    reasons = table["reason"]
    left = np.flatnonzero(reasons.notna().to_numpy())
    left_out = pd.DataFrame({"position": left.astype(np.int64), "reason": reasons.iloc[left].tolist()})
    method_used = str(table["method"].iloc[0]) if len(table) else "lexical"
    return Curation(chosen, table["score"].to_numpy(), left_out, method_used)


def warm(ws: Workspace, version: int, frame: pd.DataFrame) -> None:
    """Measure what the Quality page shows first: the scan, and the curation with the page's defaults."""
    report = version_report(ws, version, frame)
    version_curation(ws, version, min(len(frame), CURATE_N), "semantic", CURATE_COSINE, frame, report)


def _merged(report: QualityReport, flags: Sequence[Flag]) -> QualityReport:
    from core.quality import with_flags

    return with_flags(report, list(flags)) if flags else report


def _rows(ws: Workspace, version: int, frame: pd.DataFrame | None) -> int:
    if frame is not None:
        return len(frame)
    info = ws.dataset_info(version)
    return info.rows if info is not None else len(ws.load_version(version))
