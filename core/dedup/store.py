"""The Dedup step's table in the workspace: removed rows (``dedup_audit``), so they can be restored."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from core.dedup.config import DedupConfig
from core.dedup.policy import _AUDIT_COLUMNS
from core.workspace import Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_audit (
    audit_key INTEGER PRIMARY KEY AUTOINCREMENT,
    from_version INTEGER,
    to_version INTEGER,
    removed_id TEXT,
    cluster_id INTEGER,
    kept_id TEXT,
    similarity REAL,
    match TEXT,
    row_json TEXT NOT NULL,
    restored_version INTEGER
);
"""


def save_audit(ws: Workspace, audit: pd.DataFrame, *, from_version: int | None, to_version: int) -> None:
    """Store removed rows (the audit of :func:`apply_dedup`) in the workspace's ``dedup_audit`` table."""
    ws.ensure_schema(_SCHEMA)
    rows = []
    for record in audit.to_dict(orient="records"):
        row = {k: v for k, v in record.items() if k not in _AUDIT_COLUMNS}
        rows.append(
            (
                from_version,
                to_version,
                str(record.get("id")),
                int(record["dedup_cluster"]),
                str(record["dedup_kept_id"]),
                float(record["dedup_similarity"]),
                str(record["dedup_match"]),
                json.dumps(row, ensure_ascii=False, default=_json_default),
            )
        )
    with ws.connect() as connection:
        connection.executemany(
            "INSERT INTO dedup_audit (from_version, to_version, removed_id, cluster_id, kept_id, similarity,"
            " match, row_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def load_audit(ws: Workspace) -> pd.DataFrame:
    """Return every removed row not yet restored, with ``audit_key`` and the ``dedup_*`` columns."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM dedup_audit WHERE restored_version IS NULL ORDER BY audit_key"
        ).fetchall()
    records = []
    for row in rows:
        record = json.loads(row["row_json"])
        record.update(
            audit_key=row["audit_key"],
            dedup_cluster=row["cluster_id"],
            dedup_kept_id=row["kept_id"],
            dedup_similarity=row["similarity"],
            dedup_match=row["match"],
            dedup_version=row["to_version"],
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("source_line", "n_turns"):
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


def mark_restored(ws: Workspace, audit_keys: Iterable[int], *, version: int) -> None:
    """Record that audit rows were put back in dataset ``version``."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        connection.executemany(
            "UPDATE dedup_audit SET restored_version = ? WHERE audit_key = ?",
            [(version, int(k)) for k in audit_keys],
        )


def save_settings(
    ws: Workspace, config: DedupConfig, policy: str, *, method: str | None = None, cosine: float | None = None
) -> None:
    """Keep the settings of an applied dedup: the Dedup page starts from them from then on."""
    settings: dict[str, Any] = {"threshold": config.threshold, "scope": config.scope, "keep": policy}
    settings.update(
        nfkc=config.nfkc,
        casefold=config.casefold,
        collapse_whitespace=config.collapse_whitespace,
        include_system=config.include_system,
    )
    if method is not None:
        settings.update(method=method, cosine=cosine)
    ws.set_state("dedup.settings", settings)


def _json_default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
