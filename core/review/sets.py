"""Review sets: rows of the dataset a person chose (on Explore) for review, beside the synthetic batches.

A set is reviewed like a batch (the same queue, reviewers, decisions and audit), but in full rather
than a 10% sample, and it is already in the dataset: applying it removes the rejected rows and puts
the edited ones in their place, as a new version that can be undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from core.errors import DatasetError
from core.review.sample import ReviewSample
from core.review.store import ReviewStore
from core.workspace import Workspace, now_iso

PREFIX = "rows-"
"""Set ids start with this, so they never collide with a synthetic batch's run id."""


@dataclass(frozen=True)
class ReviewSet:
    """A chosen group of rows to review: its id, what chose it, and from which version."""

    set_id: str
    description: str
    dataset_version: int | None
    ids: tuple[str, ...]
    created_at: str


def is_set(batch_id: str) -> bool:
    """True when ``batch_id`` names a review set (not a synthetic batch)."""
    return batch_id.startswith(PREFIX)


def create_set(ws: Workspace, ids: list[str], *, description: str) -> ReviewSet:
    """Save the rows ``ids`` of the current dataset as a new review set, its sample every row of it.

    Raises:
        DatasetError: With no row, or ids that are not in the current dataset.
    """
    current = ws.current_dataset()
    known = set(current["id"]) if current is not None else set()
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise DatasetError("choose at least one row to send to review")
    missing = [i for i in unique if i not in known]
    if missing:
        raise DatasetError(
            f"{len(missing)} rows are not in the current dataset version (first: {missing[0]})"
        )
    store = ReviewStore(ws)
    version = ws.dataset_version()  # before the transaction below: it reads on a connection of its own
    with ws.connect() as db:
        number = db.execute("SELECT COUNT(*) + 1 FROM review_sets").fetchone()[0]
        made = ReviewSet(f"{PREFIX}{number}", description, version, tuple(unique), now_iso())
        db.execute(
            "INSERT INTO review_sets VALUES (?, ?, ?, ?, ?)",
            (made.set_id, made.description, made.dataset_version, json.dumps(unique), made.created_at),
        )
    store.save_sample(made.set_id, ReviewSample(made.ids, ("chosen",) * len(made.ids), 0))  # every row
    return made


def list_sets(ws: Workspace) -> list[ReviewSet]:
    """Return every review set, oldest first."""
    ReviewStore(ws)
    with ws.connect() as db:
        rows = db.execute("SELECT * FROM review_sets ORDER BY rowid").fetchall()
    return [
        ReviewSet(
            r["set_id"], r["description"], r["dataset_version"], tuple(json.loads(r["ids"])), r["created_at"]
        )
        for r in rows
    ]


def set_rows(data: pd.DataFrame | None, review_set: ReviewSet) -> pd.DataFrame:
    """Return the set's rows as they are in ``data`` (a version of the dataset; rows not in it left out).

    The Review page passes the version the set was chosen from, so decisions stay on the rows as they
    were chosen; :func:`apply_set` applies them to the current version.
    """
    if data is None:
        return pd.DataFrame()
    order = {example_id: k for k, example_id in enumerate(review_set.ids)}
    rows = data[data["id"].isin(order)]
    return rows.iloc[rows["id"].map(order).argsort()].reset_index(drop=True)


def apply_set(ws: Workspace, review_set: ReviewSet) -> tuple[int, int, int]:
    """Remove the set's rejected rows and apply its edits to the current dataset, as a new version.

    Returns:
        (new version, rows removed, rows edited).

    Raises:
        DatasetError: If nothing was decided, or no decision changes the dataset.
    """
    from core.records import refresh_derived

    decided = ReviewStore(ws).decisions(review_set.set_id)
    if decided.empty:
        raise DatasetError(f"nothing of {review_set.set_id} is reviewed yet")
    current = ws.current_dataset()
    if current is None:
        raise DatasetError("the workspace has no dataset")
    rejected = set(decided.loc[decided["verdict"] == "reject", "example_id"])
    edits = decided[decided["verdict"] == "edit"].set_index("example_id")["edited"]
    edited = [i for i in edits.index if i in set(current["id"]) and i not in rejected]
    removed = int(current["id"].isin(rejected).sum())
    if not removed and not edited:
        raise DatasetError(
            f"every reviewed row of {review_set.set_id} was approved: the dataset stays as it is"
        )
    out = current[~current["id"].isin(rejected)].copy()
    if edited:
        out["messages"] = [
            json.loads(edits[i]) if i in edits.index else m
            for i, m in zip(out["id"], out["messages"], strict=True)
        ]
        out = refresh_derived(out)
    version = ws.save_dataset(
        out.reset_index(drop=True),
        note=f"review: {review_set.set_id} applied ({removed} rejected rows removed, {len(edited)} edited)",
    )
    return version, removed, len(edited)
