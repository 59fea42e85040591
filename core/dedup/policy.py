"""Keep policies (which member of a cluster stays), removal with an audit frame, and restore."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.dedup.config import DedupConfig, DedupResult, scope_texts

KEEP_POLICIES = ("first", "longest", "shortest", "newest", "prefer_real", "prefer_valid")
_AUDIT_COLUMNS = ("dedup_cluster", "dedup_kept_id", "dedup_similarity", "dedup_match")


def choose_keepers(
    frame: pd.DataFrame,
    result: DedupResult,
    policy: str = "first",
    manual: dict[int, str | int] | None = None,
) -> dict[int, int]:
    """Return, per cluster id, the row position that stays.

    Args:
        frame: The table the result was computed on.
        result: Output of :func:`find_duplicates` on ``frame``.
        policy: ``first`` (earliest row), ``longest`` / ``shortest`` (text in scope),
            ``newest`` (latest ``created_at``), ``prefer_real`` (``source`` real or unset over
            synthetic / eval), ``prefer_valid`` (rows with a prompt and a response, and not
            flagged invalid by a ``valid`` column, over the rest). Ties go to the earliest row.
        manual: Per cluster id, the member to keep (its id, or its row position), overriding the policy.

    Returns:
        ``{cluster_id: row position}``.

    Raises:
        ValueError: If ``policy`` is unknown or a manual pick is not a member of its cluster.
    """
    table = keep_table(frame, result.config, policy)
    return keepers_of(table, frame["id"].tolist(), result, policy, manual)


def keep_table(frame: pd.DataFrame, config: DedupConfig, policy: str) -> pd.DataFrame:
    """Return, per row, the facts ``policy`` compares (one column at most; none for ``first``).

    Tables of consecutive parts of a dataset concatenate into the table of the whole, so a
    dataset read in batches keeps only these facts.

    Raises:
        ValueError: If ``policy`` is unknown.
    """
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy must be one of {KEEP_POLICIES}, got {policy!r}")
    index = pd.RangeIndex(len(frame))
    if policy in ("longest", "shortest"):
        lengths = [len(t) for t in scope_texts(frame, config)]
        return pd.DataFrame({"length": lengths}, index=index, dtype=float)
    if policy == "newest":
        return pd.DataFrame({"created_at": _column(frame, "created_at").to_numpy(dtype=object)}, index=index)
    if policy == "prefer_real":
        return pd.DataFrame({"source": _column(frame, "source").to_numpy(dtype=object)}, index=index)
    if policy == "prefer_valid":
        return pd.DataFrame({"valid_row": _valid_rows(frame)}, index=index, dtype=bool)
    return pd.DataFrame(index=index)


def keepers_of(
    table: pd.DataFrame,
    ids: Sequence[str],
    result: DedupResult,
    policy: str,
    manual: dict[int, str | int] | None = None,
) -> dict[int, int]:
    """:func:`choose_keepers` from a :func:`keep_table` and the rows' ids."""
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy must be one of {KEEP_POLICIES}, got {policy!r}")
    preference = _preference(table, policy)
    keepers = {c.cluster_id: min(c.members, key=lambda r: (preference[r], r)) for c in result.clusters}
    for cluster_id, pick in (manual or {}).items():
        keepers[cluster_id] = _manual_pick(ids, result, cluster_id, pick)
    return keepers


def _preference(table: pd.DataFrame, policy: str) -> np.ndarray:
    """Per row, a sort key where smaller means 'keep this one'."""
    if policy in ("longest", "shortest"):
        lengths = table["length"].to_numpy(dtype=float)
        return -lengths if policy == "longest" else lengths
    if policy == "newest":
        created = pd.to_datetime(table["created_at"], errors="coerce", utc=True, format="mixed")
        stamps = created.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        return np.where(created.isna().to_numpy(), np.inf, -stamps)
    if policy == "prefer_real":
        return np.array([0.0 if _missing(s) or s == "real" else 1.0 for s in table["source"]])
    if policy == "prefer_valid":
        return np.where(table["valid_row"].to_numpy(dtype=bool), 0.0, 1.0)
    return np.zeros(len(table))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _valid_rows(frame: pd.DataFrame) -> list[bool]:
    """A row is valid if it has a prompt and a response and no ``valid`` column says otherwise."""
    prompts = _column(frame, "prompt_text").tolist()
    responses = _column(frame, "response_text").tolist()
    flags = _column(frame, "valid").tolist()
    return [
        bool(isinstance(p, str) and p.strip() and isinstance(r, str) and r.strip()) and flag is not False
        for p, r, flag in zip(prompts, responses, flags, strict=True)
    ]


def _manual_pick(ids: Sequence[str], result: DedupResult, cluster_id: int, pick: str | int) -> int:
    cluster = next((c for c in result.clusters if c.cluster_id == cluster_id), None)
    if cluster is None:
        raise ValueError(f"no cluster {cluster_id!r} in this result")
    if isinstance(pick, (int, np.integer)) and int(pick) in cluster.members:
        return int(pick)
    for member in cluster.members:
        if ids[member] == pick:
            return member
    raise ValueError(f"{pick!r} is not a member of cluster {cluster_id}")


def apply_dedup(
    frame: pd.DataFrame,
    result: DedupResult,
    *,
    policy: str = "first",
    manual: dict[int, str | int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove all but one member of each cluster.

    Returns:
        ``(kept, audit)``: the remaining rows (original order, fresh index), and the removed
        rows themselves with ``dedup_cluster``, ``dedup_kept_id``, ``dedup_similarity`` (best
        verified Jaccard to another member) and ``dedup_match`` (``exact`` / ``near``) added,
        so that :func:`restore` can put them back.
    """
    keepers = choose_keepers(frame, result, policy, manual)
    ids = frame["id"].tolist()
    removed, audit_rows = [], []
    for cluster in result.clusters:
        keeper = keepers[cluster.cluster_id]
        for member, best in zip(cluster.members, cluster.similarity, strict=True):
            if member != keeper:
                removed.append(member)
                audit_rows.append((cluster.cluster_id, ids[keeper], best, cluster.kind))
    order = np.argsort(removed, kind="stable")
    removed_sorted = [removed[i] for i in order]
    audit = frame.iloc[removed_sorted].copy()
    for k, column in enumerate(_AUDIT_COLUMNS):
        audit[column] = [audit_rows[i][k] for i in order]
    mask = np.ones(len(frame), dtype=bool)
    mask[removed_sorted] = False
    return frame.iloc[np.flatnonzero(mask)].reset_index(drop=True), audit.reset_index(drop=True)


def restore(
    frame: pd.DataFrame, audit: pd.DataFrame, ids: Iterable[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put removed rows back (appended at the end).

    Args:
        frame: The current (deduplicated) table.
        audit: The audit of :func:`apply_dedup` (or :func:`load_audit`).
        ids: Ids of the removed rows to restore.

    Returns:
        ``(restored frame, audit rows still removed)``.
    """
    back = audit["id"].isin(set(ids)).to_numpy()
    rows = audit.loc[back, [c for c in frame.columns if c in audit.columns]]
    restored = pd.concat([frame, rows], ignore_index=True) if len(rows) else frame.copy()
    return restored, audit.loc[~back].reset_index(drop=True)
