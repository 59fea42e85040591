"""Open a pipeline run's folder in a workspace, so the app shows a big run without re-running it.

:func:`open_run` reads ``DIR/kept/`` (the kept rows, in label order), ``DIR/removed.parquet``
(each removed row's cluster, kept id, reason and Jaccard, and where its row is in
``DIR/validate/``), ``DIR/split/assign.parquet`` and ``DIR/run.json``, and stores them the way the
pages keep their own work: the kept rows as a new dataset version (with the run's quarantine),
the removed rows in the Dedup page's audit (so it lists them with their clusters and reasons,
and can restore them), and the run's test split as the Split page's test lock (unless the
workspace already has one), with the run's fractions and seed as the page's settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core import _minhash, dedup, records, split
from core.errors import DatasetError
from core.pipeline.driver import RUN_FILE
from core.pipeline.plan import SPLITS, split_of
from core.pipeline.stages import canonical_frame
from core.workspace import Workspace

STATE_KEY = "pipeline.run"  # which version came from which run, and its split counts


@dataclass(frozen=True)
class OpenedRun:
    """What :func:`open_run` stored."""

    version: int
    kept: int
    removed: int
    quarantined: int
    splits: dict[str, int]
    test_locked: bool
    lock_kept: bool  # the workspace already had a test lock, which stays


def open_run(ws: Workspace, folder: str | Path) -> OpenedRun:
    """Import the pipeline run in ``folder`` into ``ws`` (see the module's description).

    Raises:
        DatasetError: If ``folder`` is not a finished pipeline run (no ``run.json`` or ``kept/``), or
            is the run the current version was opened from.
    """
    run = Path(folder)
    if not (run / RUN_FILE).is_file() or not (run / "kept").is_dir():
        raise DatasetError(
            f"{run} is not a pipeline run folder (no {RUN_FILE} or kept/): "
            "give the --out folder of a finished `python -m core pipeline` run"
        )
    opened = pipeline_splits(ws)
    if opened is not None and Path(opened["dir"]).resolve() == run.resolve():
        raise DatasetError(f"{run} is already open: it is the current version (v{opened['version']})")
    facts = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    settings = facts.get("settings", {})
    kept = canonical_rows(pq.read_table(run / "kept"))
    kept = kept.sort_values("g", kind="stable").reset_index(drop=True)
    labels = _split_labels(run, kept["g"].to_numpy())
    quarantine = _quarantine(run)
    version = ws.save_dataset(
        kept.drop(columns=["g"]),
        note=f"pipeline run {run}",
        name=run.name,
        source_format="pipeline",
        quarantine=quarantine,
    )
    removed = _removed_rows(run)
    if len(removed):
        dedup.save_audit(ws, removed, from_version=None, to_version=version)
    counts = {name: int((labels == name).sum()) for name in SPLITS}
    lock_kept = split.get_lock(ws) is not None
    test_locked = False
    if (run / "split" / "assign.parquet").exists() and not lock_kept and counts["test"]:
        test = kept[labels == "test"].drop(columns=["g"])
        fractions = {"val": settings.get("val", 0.1), "test": settings.get("test", 0.1)}
        lock = split.make_lock(
            test, seed=int(settings.get("seed", 0)), fractions=fractions, dataset_version=version
        )
        split.save_lock(ws, lock, note=f"test split of pipeline run {run}")
        test_locked = True
    _remember(ws, run, version, counts, settings, facts.get("summary", {}))
    return OpenedRun(version, len(kept), len(removed), len(quarantine), counts, test_locked, lock_kept)


def canonical_rows(table: pa.Table) -> pd.DataFrame:
    """A kept or validate part as canonical rows: JSON columns parsed, the derived text columns back."""
    frame = canonical_frame(
        table.drop_columns([c for c in ("text", "rowhash", "shard") if c in table.column_names])
    )
    derived = [
        records.derive_texts(kind, messages, chosen, rejected)
        for kind, messages, chosen, rejected in zip(
            frame["kind"], frame["messages"], frame["chosen"], frame["rejected"], strict=True
        )
    ]
    for column in ("system_text", "prompt_text", "response_text", "rejected_text", "n_turns"):
        frame[column] = [d[column] for d in derived]
    frame["source_format"] = None
    ordered = [c for c in records.CORE_COLUMNS if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in ordered]]
    frame["source_line"] = frame["source_line"].astype("Int64")
    frame["n_turns"] = frame["n_turns"].astype("Int64")
    return frame


def _split_labels(run: Path, g: np.ndarray) -> np.ndarray:
    path = run / "split" / "assign.parquet"
    assign = pq.read_table(path) if path.exists() else None
    return np.asarray(SPLITS, dtype=object)[split_of(assign, g)]


def _quarantine(run: Path) -> pd.DataFrame:
    path = run / "quarantine.parquet"
    if not path.exists():
        return pd.DataFrame(columns=["line", "raw", "codes", "reason", "file"])
    frame = pq.read_table(path).to_pandas()
    frame["line"] = frame["line"].astype("Int64")
    return frame[["line", "raw", "codes", "reason", "file"]]


def _removed_rows(run: Path) -> pd.DataFrame:
    """The removed rows themselves (from ``validate/``) with the Dedup audit's columns."""
    path = run / "removed.parquet"
    if not path.exists():
        return pd.DataFrame()
    removed = pq.read_table(path)
    if removed.num_rows == 0:
        return pd.DataFrame()
    pieces = []
    shard_col = removed.column("shard").to_numpy()
    for shard in _minhash.sorted_unique(shard_col).tolist():
        mine = removed.filter(pa.array(shard_col == shard))
        part = pq.read_table(run / "validate" / f"part-{shard:05d}.parquet")
        rows = canonical_rows(part.take(mine.column("position")))
        rows["dedup_cluster"] = mine.column("cluster").to_numpy()
        rows["dedup_kept_id"] = mine.column("kept_id").to_pylist()
        rows["dedup_similarity"] = mine.column("jaccard").to_numpy()
        rows["dedup_match"] = mine.column("reason").to_pylist()
        pieces.append(rows)
    return pd.concat(pieces, ignore_index=True).sort_values(["dedup_cluster", "id"], kind="stable")


def _remember(
    ws: Workspace, run: Path, version: int, counts: dict[str, int], settings: dict[str, Any], summary: dict
) -> None:
    dedup_settings = settings.get("dedup", {})
    ws.set_state(STATE_KEY, {"dir": str(run), "version": version, "splits": counts, "settings": settings})
    ws.set_state(
        "dedup.settings",
        {
            "threshold": dedup_settings.get("threshold", 0.8),
            "scope": "all",
            "keep": "longest" if settings.get("keep") == "longest" else "first",
        },
    )
    saved = ws.get_state("split.settings") or {}
    saved.update(
        split_val=round(100 * settings.get("val", 0.1)),
        split_test=round(100 * settings.get("test", 0.1)),
        split_seed=int(settings.get("seed", 0)),
    )
    ws.set_state("split.settings", saved)
    ws.mark_step(
        "upload",
        {
            "file": str(run),
            "format": "pipeline",
            "valid": summary.get("valid"),
            "invalid": summary.get("invalid"),
        },
    )
    ws.mark_step(
        "dedup",
        {
            "before": summary.get("valid"),
            "after": summary.get("kept"),
            "exact": summary.get("exact_removed"),
            "near": summary.get("near_removed"),
            "threshold": dedup_settings.get("threshold", 0.8),
            "scope": "all",
        },
    )


def pipeline_splits(ws: Workspace) -> dict[str, Any] | None:
    """The run the current version was opened from (``dir``, ``splits``), or None."""
    state = ws.get_state(STATE_KEY)
    if not state or state.get("version") != ws.dataset_version():
        return None
    return dict(state)
