"""The Labels step's workspace tables: uploaded labels, adjudications, guidelines."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from core.agreement.disputes import Guideline
from core.agreement.read import LONG_COLUMNS, _from_long, to_long
from core.workspace import Workspace, now_iso

GUIDELINES_KEY = "labels.guidelines"


UPLOAD_KEY = "agreement.upload"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS agreement_adjudications (
    item_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agreement_labels (
    item_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (item_id, annotator)
);
"""


def load_guidelines(ws: Workspace) -> dict[str, Guideline]:
    """Return the guidelines saved in the workspace, by category."""
    stored = ws.get_state(GUIDELINES_KEY, {}) or {}
    return {str(k): Guideline.from_dict(v) for k, v in stored.items() if isinstance(v, Mapping)}


def save_guideline(ws: Workspace, category: str, guideline: Guideline) -> None:
    """Save (or, when empty, remove) the guideline of ``category`` in the workspace.

    Raises:
        ValueError: If ``category`` is blank.
    """
    if not category.strip():
        raise ValueError("category must not be blank")
    stored = dict(ws.get_state(GUIDELINES_KEY, {}) or {})
    if guideline.is_empty:
        stored.pop(category, None)
    else:
        stored[category] = guideline.to_dict()
    ws.set_state(GUIDELINES_KEY, stored)


def save_adjudication(ws: Workspace, item_id: str, label: str | None) -> None:
    """Save a person's final label for an item at once (``None`` clears the decision)."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        if label is None:
            connection.execute("DELETE FROM agreement_adjudications WHERE item_id = ?", (item_id,))
        else:
            connection.execute(
                "INSERT OR REPLACE INTO agreement_adjudications VALUES (?, ?, ?)", (item_id, label, now_iso())
            )


def load_adjudications(ws: Workspace) -> dict[str, str]:
    """Return every saved adjudication: item id -> final label."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT item_id, label FROM agreement_adjudications").fetchall()
    return {r["item_id"]: r["label"] for r in rows}


def save_uploaded_labels(ws: Workspace, matrix: pd.DataFrame, *, filename: str) -> None:
    """Keep an uploaded label matrix in the workspace (replacing the previous upload)."""
    ws.ensure_schema(_SCHEMA)
    long = to_long(matrix)
    with ws.connect() as connection:
        connection.execute("DELETE FROM agreement_labels")
        connection.executemany(
            "INSERT INTO agreement_labels VALUES (?, ?, ?)",
            [(str(i), str(a), str(lab)) for i, a, lab in long.itertuples(index=False)],
        )
    ws.set_state(UPLOAD_KEY, {"filename": filename, "items": len(matrix), "annotators": list(matrix.columns)})


def load_uploaded_labels(ws: Workspace) -> pd.DataFrame | None:
    """Return the uploaded label matrix kept in the workspace, or ``None``."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT item_id, annotator, label FROM agreement_labels").fetchall()
    if not rows:
        return None
    order = (ws.get_state(UPLOAD_KEY, {}) or {}).get("annotators")
    matrix = _from_long(pd.DataFrame([dict(r) for r in rows], columns=list(LONG_COLUMNS)))
    return matrix[[c for c in order if c in matrix.columns]] if order else matrix
