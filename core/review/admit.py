"""Admitting a reviewed batch into the dataset: rejected rows out, edited rows as edited."""

from __future__ import annotations

import json

import pandas as pd

from core.review.rate import gate
from core.review.store import ReviewStore
from core.workspace import Workspace


def admitted_rows(batch: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Return the batch rows that may enter the dataset: rejected ones out, edited ones as edited.

    Args:
        batch: The batch's validator-passing examples (canonical columns).
        decisions: Current decisions (:meth:`ReviewStore.decisions`) for the batch.
    """
    from core.records import refresh_derived

    rejected = set(decisions.loc[decisions["verdict"] == "reject", "example_id"])
    out = batch[~batch["id"].isin(rejected)].copy()
    edits = decisions[decisions["verdict"] == "edit"].set_index("example_id")["edited"]
    if not edits.empty:
        out["messages"] = [
            json.loads(edits[i]) if i in edits.index else m
            for i, m in zip(out["id"], out["messages"], strict=True)
        ]
        out = refresh_derived(out)
    out["source"] = "synthetic"
    return out.reset_index(drop=True)


def admit_batch(
    ws: Workspace,
    batch_id: str,
    batch: pd.DataFrame,
    *,
    reviewer: str,
    override_reason: str | None = None,
    rule: str = "point",
) -> int:
    """Add a reviewed batch to the current dataset as a new version, if the gate (under ``rule``) allows it.

    Returns:
        The new dataset version.

    Raises:
        DatasetError: If the gate blocks the batch (below the 90% bar, or not fully reviewed).
    """
    from core.errors import DatasetError

    store = ReviewStore(ws)
    rate = store.pass_rate(batch_id)
    decision = gate(rate, rule=rule, override_reason=override_reason)
    if not decision.allowed:
        raise DatasetError(f"batch {batch_id} cannot enter the dataset: {decision.reason}")
    current = ws.current_dataset()
    rows = admitted_rows(batch, store.decisions(batch_id))
    base = current if current is not None else rows.iloc[0:0]
    # Only the batch's own rows that are already in the dataset are skipped: the dataset's duplicates
    # (kept on purpose, or not deduplicated yet) are not this step's to drop.
    new = rows[~rows["id"].isin(set(base["id"]))].drop_duplicates("id")
    # seed_ids travel with the rows so the split keeps a paraphrase with its seed.
    keep = [c for c in new.columns if c in base.columns or c == "seed_ids"]
    combined = pd.concat([base, new[keep]], ignore_index=True)
    skipped = f", {len(rows) - len(new)} already in the dataset" if len(new) < len(rows) else ""
    version = ws.save_dataset(
        combined, note=f"add synthetic batch {batch_id} ({len(new)} rows{skipped}; {decision.reason})"
    )
    store.record_gate(
        batch_id,
        admitted=True,
        rate=rate,
        override_reason=override_reason,
        dataset_version=version,
        decided_by=reviewer,
        rule=rule,
    )
    return version
