"""The eval loop's workspace tables: rounds and the annotation queue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from core.evalloop.compare import Comparison
from core.evalloop.metrics import EvalReport
from core.workspace import Workspace, now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evalloop_rounds (
    round INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    rows INTEGER NOT NULL,
    overall TEXT NOT NULL,
    baseline_name TEXT,
    comparison TEXT,
    dataset_version INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evalloop_slices (
    round INTEGER NOT NULL,
    dimension TEXT NOT NULL,
    slice TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    n INTEGER NOT NULL,
    PRIMARY KEY (round, dimension, slice, metric)
);
CREATE TABLE IF NOT EXISTS evalloop_queue (
    round INTEGER,
    id TEXT NOT NULL,
    input TEXT,
    expected TEXT,
    predicted TEXT,
    category TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (round, id)
);
"""


def save_round(
    ws: Workspace,
    report: EvalReport,
    *,
    name: str,
    comparison: Comparison | None = None,
    baseline_name: str | None = None,
) -> int:
    """Store an eval as the next round (metrics, slices, and the rows as Parquet); return its number."""
    ws.ensure_schema(_SCHEMA)
    dataset_version = ws.dataset_version()  # read before the write transaction: connections don't nest
    with ws.connect() as connection:
        number = int(
            connection.execute("SELECT COALESCE(MAX(round), 0) + 1 FROM evalloop_rounds").fetchone()[0]
        )
        connection.execute(
            "INSERT INTO evalloop_rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                name,
                report.task,
                report.rows,
                json.dumps(report.overall),
                baseline_name,
                json.dumps(comparison.to_json()) if comparison else None,
                dataset_version,
                now_iso(),
            ),
        )
        connection.executemany(
            "INSERT INTO evalloop_slices VALUES (?, ?, ?, ?, ?, ?)",
            [(number, s.dimension, s.value, s.metric, s.score, s.n) for s in report.slices]
            + [(number, "overall", "overall", k, float(v), report.rows) for k, v in _numeric(report.overall)],
        )
    folder = ws.root / "evalloop"
    folder.mkdir(exist_ok=True)
    report.frame.to_parquet(folder / f"round_{number:04d}.parquet", index=False)
    return number


def _numeric(overall: Mapping[str, Any]) -> list[tuple[str, float]]:
    return [(k, float(v)) for k, v in overall.items() if isinstance(v, float) and k not in ("n", "failures")]


def list_rounds(ws: Workspace) -> pd.DataFrame:
    """Every stored round: number, name, task, rows, the overall metrics as columns, when."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT * FROM evalloop_rounds ORDER BY round").fetchall()
    out = []
    for row in rows:
        item = {
            k: row[k]
            for k in ("round", "name", "task", "rows", "baseline_name", "dataset_version", "created_at")
        }
        item.update(json.loads(row["overall"]))
        out.append(item)
    return pd.DataFrame(out)


def load_round(ws: Workspace, number: int) -> pd.DataFrame:
    """The eval rows (with derived columns) stored for round ``number``.

    Raises:
        ValueError: If there is no such round.
    """
    path = ws.root / "evalloop" / f"round_{number:04d}.parquet"
    if not path.exists():
        raise ValueError(f"no eval round {number}")
    return pd.read_parquet(path)


def round_history(ws: Workspace) -> pd.DataFrame:
    """Long table of ``round, name, dimension, slice, metric, value, n`` over all rounds."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT s.round, r.name, s.dimension, s.slice, s.metric, s.value, s.n "
            "FROM evalloop_slices s JOIN evalloop_rounds r USING (round) "
            "ORDER BY s.round, s.dimension, s.slice"
        ).fetchall()
    columns = ["round", "name", "dimension", "slice", "metric", "value", "n"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
