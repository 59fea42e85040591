"""Deduplicate a dataset file in one pass, holding per row only what dedup needs: ``core dedup``.

The file is read in batches of valid rows (:func:`core.formats.iter_record_batches`). Of each
batch only these stay: the rows' ids, what the keep policy compares, the engine's arrays
(exact key, 32-bit shingle hashes, LSH band keys: shingled in worker processes while the next
batch is read) and, when an output is asked for, each row's output line. Then the clusters are
found as :func:`core.dedup.find_duplicates` finds them, and the kept rows' lines are written.
The result, the summary and the output file are those of loading the whole table and calling
:func:`~core.dedup.find_duplicates`, :func:`~core.dedup.choose_keepers`,
:func:`~core.dedup.apply_dedup` and :func:`core.formats.write_dataset`, which is what happens
for formats that are not one line per row (Alpaca's JSON array, CSV, TRL's styled formats).

Example::

    done = dedup_file(Path("train.jsonl"), DedupConfig(), policy="longest", out=Path("kept.jsonl"))
    done.summary(Path("kept.jsonl"))["near_duplicates"]
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import _minhash, formats
from core import io as core_io
from core.dedup import (
    DedupConfig,
    DedupResult,
    _scope_columns,
    apply_dedup,
    choose_keepers,
    find_duplicates,
    graph_of,
    keep_table,
    keepers_of,
    result_at,
    result_summary,
)

BATCH_ROWS = 8192


@dataclass
class FileDedup:
    """What :func:`dedup_file` found and wrote.

    Attributes:
        result: The clusters and counts.
        ids: Every valid row's id, in file order.
        keepers: Per cluster id, the row position that stays.
        format: The file's format (the output is written in it).
        kept_rows: Rows written (``None`` when no output was asked for).
        losses: What the writer could not carry over, one message per kept row that lost something.
    """

    result: DedupResult
    ids: list[str]
    keepers: dict[int, int]
    format: str
    kept_rows: int | None = None
    losses: list[str] = field(default_factory=list)

    def summary(self, out: Path | None = None) -> dict[str, Any]:
        """Return the command line's JSON summary (with ``out`` when the rows were written there)."""
        summary = result_summary(self.ids, self.result, self.keepers)
        if out is not None:
            summary["out"] = {"path": str(out), "rows": self.kept_rows, "format": self.format}
            summary["out"]["losses"] = self.losses
        return summary


def dedup_file(
    path: Path,
    config: DedupConfig,
    *,
    policy: str = "first",
    out: Path | None = None,
    processes: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> FileDedup:
    """Find the duplicates of the file at ``path`` and, with ``out``, write the rows that stay there.

    Args:
        path: A dataset file in any supported format.
        config: What counts as a duplicate.
        policy: Which member of a cluster stays (:data:`core.dedup.KEEP_POLICIES`).
        out: Where to write the kept rows, in the file's format.
        processes: Worker processes that shingle (default: 2 on a multi-core machine for a file
            of more than one batch).
        batch_rows: Valid rows read at a time.

    Raises:
        core.errors.DatasetError: If the file cannot be read.
        ValueError: If ``policy`` is unknown.
    """
    keep_table(pd.DataFrame(index=pd.RangeIndex(0)), config, policy)  # an unknown policy fails first
    source = formats.iter_record_batches(path, path.name, rows=batch_rows)
    fmt = source.detection.format
    if not formats.writes_row_by_row(fmt):
        return _whole_table(path, config, policy, out, fmt)
    batches = _Batches(source.batches, config, policy, fmt, write=out is not None)
    first = next(batches.parts, None)
    more = next(batches.parts, None)
    workers = (
        processes if processes is not None else (2 if more is not None and (os.cpu_count() or 1) >= 2 else 1)
    )
    params = config.engine_params()
    engine_out = _minhash.run_stream(_chain(first, more, batches.parts), params, processes=workers)
    graph = graph_of(engine_out, batches.ids, config.threshold, threads=workers)
    del engine_out
    result = result_at(graph, config)
    table = (
        pd.concat(batches.tables, ignore_index=True)
        if batches.tables
        else keep_table(pd.DataFrame(index=pd.RangeIndex(0)), config, policy)
    )
    keepers = keepers_of(table, batches.ids, result, policy)
    done = FileDedup(result, batches.ids, keepers, fmt)
    if out is not None:
        removed = np.zeros(len(batches.ids), dtype=bool)
        for cluster in result.clusters:
            members = [m for m in cluster.members if m != keepers[cluster.cluster_id]]
            removed[members] = True
        done.kept_rows, done.losses = batches.write(out, removed)
    return done


def _chain(*heads_and_rest: Any) -> Iterator[list[list[Any]]]:
    *heads, rest = heads_and_rest
    for head in heads:
        if head is not None:
            yield head
    yield from rest


class _Batches:
    """Walks the file's batches, keeping per row only ids, keep facts and output lines."""

    def __init__(
        self, batches: Iterator[pd.DataFrame], config: DedupConfig, policy: str, fmt: str, *, write: bool
    ) -> None:
        self.ids: list[str] = []
        self.tables: list[pd.DataFrame] = []
        self.lines: list[tuple[bytes, np.ndarray, list[str | None]]] = []  # per batch: data, offsets, losses
        self._config, self._policy, self._format, self._write = config, policy, fmt, write
        self.parts = self._walk(batches)

    def _walk(self, batches: Iterator[pd.DataFrame]) -> Iterator[list[list[Any]]]:
        for frame in batches:
            self.ids += [str(i) for i in frame["id"]]
            self.tables.append(keep_table(frame, self._config, self._policy))
            if self._write:
                self.lines.append(self._output_lines(frame))
            yield _scope_columns(frame, self._config)

    def _output_lines(self, frame: pd.DataFrame) -> tuple[bytes, np.ndarray, list[str | None]]:
        pieces, losses = [], []
        for row, problem in formats.rows_out(frame, self._format, "conversational"):
            pieces.append(core_io.dumps_jsonl([row]) if row is not None else b"")
            losses.append(problem.message if problem is not None else None)
        offsets = np.cumsum([0, *map(len, pieces)])
        return b"".join(pieces), offsets, losses

    def write(self, out: Path, removed: np.ndarray) -> tuple[int, list[str]]:
        """Write the lines of the rows not ``removed``; return how many rows and their losses."""
        losses: list[str] = []
        at = 0
        with open(out, "wb") as handle:
            for data, offsets, batch_losses in self.lines:
                view = memoryview(data)
                for k, loss in enumerate(batch_losses):
                    if removed[at + k]:
                        continue
                    handle.write(view[offsets[k] : offsets[k + 1]])  # empty for a row that cannot be written
                    if loss is not None:
                        losses.append(loss)
                at += len(batch_losses)
        return int((~removed).sum()), losses


def _whole_table(path: Path, config: DedupConfig, policy: str, out: Path | None, fmt: str) -> FileDedup:
    """The table in memory: for formats whose file is more than its rows' lines one after another."""
    loaded = formats.load_dataset(path, path.name)
    frame = loaded.records
    result = find_duplicates(frame, config)
    keepers = choose_keepers(frame, result, policy)
    done = FileDedup(result, frame["id"].tolist(), keepers, fmt)
    if out is not None:
        kept, _ = apply_dedup(frame, result, policy=policy)
        data, losses = formats.write_dataset(kept, fmt)
        out.write_bytes(data)
        done.kept_rows, done.losses = len(kept), [p.message for p in losses]
    return done
