"""What was generated, read back: the batches for the review step and the texts for cross-run dedup."""

from __future__ import annotations

import json

import pandas as pd

from core import records
from core.synth.store.schema import ensure
from core.workspace import Workspace


def list_batches(ws: Workspace) -> pd.DataFrame:
    """Return one row per generation run (batch): id, mode, status, counts, spend (judging runs are not).

    Columns: ``batch_id``, ``created_at``, ``mode``, ``model``, ``status``, ``stopped_by``, ``requested``,
    ``generated``, ``valid``, ``invalid``, ``spent_usd``, ``budget_usd``.
    """
    ensure(ws)
    query = """
    SELECT r.run_id AS batch_id, r.created_at, r.mode, json_extract(r.config, '$.model') AS model, r.status,
           r.stopped_by, r.requested,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id) AS generated,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id AND e.valid = 1) AS valid,
           (SELECT COUNT(*) FROM synth_examples e WHERE e.run_id = r.run_id AND e.valid = 0) AS invalid,
           (SELECT COALESCE(SUM(cost), 0) FROM synth_calls c WHERE c.run_id = r.run_id) AS spent_usd,
           r.budget_usd
    FROM synth_runs r WHERE r.mode != 'judge' ORDER BY r.created_at DESC, r.run_id DESC
    """
    with ws.connect() as connection:
        return pd.read_sql_query(query, connection)


def batch_examples(ws: Workspace, batch_id: str, *, valid_only: bool = True) -> pd.DataFrame:
    """Return the generated examples of one batch as a canonical table (``source="synthetic"``).

    Extra columns: ``batch_id``, ``mode``, ``seed_ids`` (list), ``prompt`` (the teacher prompt),
    ``valid`` (bool) and ``reasons`` (list of validator failures).
    """
    ensure(ws)
    where = " AND valid = 1" if valid_only else ""
    with ws.connect() as connection:
        rows = connection.execute(
            f"SELECT * FROM synth_examples WHERE run_id = ?{where}"  # noqa: S608
            " ORDER BY created_at, request_key, position",
            (batch_id,),
        ).fetchall()
    if not rows:
        frame = records.empty_frame()
        for column in ("batch_id", "mode", "seed_ids", "prompt", "valid", "reasons"):
            frame[column] = pd.Series(dtype=object)
        return frame
    frame = records.make_frame([json.loads(r["record"]) for r in rows])
    frame["source"] = "synthetic"
    frame["batch_id"] = batch_id
    frame["mode"] = [r["mode"] for r in rows]
    frame["seed_ids"] = [json.loads(r["seed_ids"]) for r in rows]
    frame["prompt"] = [r["prompt"] for r in rows]
    frame["valid"] = [bool(r["valid"]) for r in rows]
    frame["reasons"] = [json.loads(r["reasons"]) for r in rows]
    return frame


def synthetic_texts(ws: Workspace, *, exclude_run: str | None = None) -> list[tuple[str, str]]:
    """Return ``(example_id, text)`` of every valid synthetic example (for cross-run dedup)."""
    ensure(ws)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT example_id, record FROM synth_examples"
            " WHERE valid = 1 AND run_id != ? AND mode != 'judge'",
            (exclude_run or "",),
        ).fetchall()
    out = []
    for r in rows:
        rec = json.loads(r["record"])
        out.append((r["example_id"], f"{rec.get('prompt_text', '')}\n{rec.get('response_text', '')}"))
    return out
