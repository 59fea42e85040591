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

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import _minhash, formats
from core import io as core_io
from core.dedup import find_duplicates
from core.dedup.config import DedupConfig, DedupResult, _scope_columns
from core.dedup.engine import graph_of, result_at
from core.dedup.explain import result_summary
from core.dedup.policy import apply_dedup, choose_keepers, keep_table, keepers_of

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
        lines: Every valid row's line in the file, in file order (exact duplicates share an id).
        quarantine: The rows that were not valid, so not deduplicated nor written (line, codes, reason).
    """

    result: DedupResult
    ids: list[str]
    keepers: dict[int, int]
    format: str
    kept_rows: int | None = None
    losses: list[str] = field(default_factory=list)
    lines: list[int] | None = None
    quarantine: pd.DataFrame | None = None

    def summary(self, out: Path | None = None) -> dict[str, Any]:
        """Return the command line's JSON summary (with ``out`` when the rows were written there)."""
        summary = result_summary(self.ids, self.result, self.keepers, self.lines)
        if self.quarantine is not None:
            summary["quarantined"] = formats.quarantine_summary(self.quarantine)
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
        processes: Worker processes (default: 2 on a multi-core machine for a file of more than
            one batch). A plain JSONL file of more than 8 MB is cut into ranges of lines that the
            workers read, parse and shingle; any other file is read here, batch after batch, and
            the workers shingle.
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
    job = _Job(config, policy, fmt, out is not None, config.engine_params(), batch_rows)
    cores = 2 if (os.cpu_count() or 1) >= 2 else 1
    ranges = _line_ranges(path) if source.container == "jsonl" and (processes or cores) >= 2 else None
    if ranges is not None:
        workers = processes or cores
        parts = _read_ranges(path, ranges, job, workers)
        _minhash.give_back_freed_arrays()  # from here on: the workers, done, kept glibc's default
        engines = [part.engine for part in parts if part.engine is not None]
        for part in parts:
            part.engine = None  # the join frees each part's arrays as it copies them
        engine_out = _minhash.join_outputs(engines) if engines else _minhash.process_batch([], job.params)
        del engines
    else:
        parts, engine_out, workers = _read_batches(source.batches, job, processes, cores)
        _minhash.give_back_freed_arrays()
    ids = [i for part in parts for i in part.ids]
    lines, quarantine = _lines_of(parts, source) if ranges is not None else _read_lines(parts, source)
    graph = graph_of(engine_out, ids, config.threshold, threads=workers)
    del engine_out
    result = result_at(graph, config)
    tables = [part.table for part in parts]
    table = pd.concat(tables, ignore_index=True) if tables else keep_table(_EMPTY, config, policy)
    keepers = keepers_of(table, ids, result, policy)
    done = FileDedup(result, ids, keepers, fmt, lines=lines, quarantine=quarantine)
    if out is not None:
        removed = np.zeros(len(ids), dtype=bool)
        for cluster in result.clusters:
            members = [m for m in cluster.members if m != keepers[cluster.cluster_id]]
            removed[members] = True
        done.kept_rows, done.losses = _write(out, path, [part.lines for part in parts if part.lines], removed)
    return done


_EMPTY = pd.DataFrame(index=pd.RangeIndex(0))
_RANGE_BYTES = 4 << 20  # a worker reads the file this many bytes at a time
_MIN_RANGE_ROWS = 1024  # fewer rows per range (very long lines): read in one process


@dataclass(frozen=True)
class _Job:
    config: DedupConfig
    policy: str
    format: str
    write: bool
    params: _minhash.EngineParams
    batch_rows: int


@dataclass
class _Part:
    """What a run of consecutive rows leaves: ids, keep facts, output lines, the engine's arrays.

    ``numbers`` are the rows' lines; in a range read by a worker they count from the range's
    start, ``rejected`` are its invalid rows and ``line_count`` its lines (to shift them by).
    """

    ids: list[str]
    table: pd.DataFrame
    lines: _Lines | None
    engine: _minhash.BatchOutput | None = None
    numbers: list[int] = field(default_factory=list)
    rejected: list[tuple[int | None, str, str, str]] = field(default_factory=list)
    line_count: int = 0


def _read_lines(parts: list[_Part], source: formats.RecordBatches) -> tuple[list[int], pd.DataFrame]:
    """The rows' lines and the quarantine of a file read here (its lines are the file's)."""
    return [n for part in parts for n in part.numbers], source.quarantine()


def _lines_of(parts: list[_Part], source: formats.RecordBatches) -> tuple[list[int], pd.DataFrame]:
    """The rows' lines and the quarantine of ranges read by workers: each range's lines shifted."""
    lines: list[int] = []
    rejected: list[tuple[int | None, str, str, str]] = []
    offset = 0
    for part in parts:
        lines.extend(n + offset for n in part.numbers)
        rejected.extend((None if q[0] is None else q[0] + offset, *q[1:]) for q in part.rejected)
        offset += part.line_count
    return lines, formats.RecordBatches(source.detection, source.container, iter(()), rejected).quarantine()


@dataclass
class _Lines:
    """The output lines of consecutive rows.

    A line that is its input line byte for byte (a same-format file written compactly) is not
    held: ``spans`` says where it is in the input file, read again when the kept rows are written.
    """

    data: bytes  # the lines held, concatenated (empty for a row that cannot be written)
    offsets: np.ndarray  # per row, where its held line starts in data (n + 1 values)
    losses: list[str | None]
    spans: np.ndarray | None = None  # per row (start, stop) of its input line in the file, or (-1, -1)

    @classmethod
    def join(cls, parts: list[_Lines]) -> _Lines:
        shift = np.cumsum([0, *(len(p.data) for p in parts)])
        offsets = np.concatenate([[0], *(p.offsets[1:] + s for p, s in zip(parts, shift, strict=False))])
        spans = None
        if parts and all(p.spans is not None for p in parts):
            spans = np.concatenate([p.spans for p in parts if p.spans is not None])
        losses = [loss for p in parts for loss in p.losses]
        return cls(b"".join(p.data for p in parts), offsets.astype(np.int64), losses, spans)


def _part_of(frame: pd.DataFrame, job: _Job, source: tuple[int, bytes] | None = None) -> _Part:
    lines = _output_lines(frame, job.format, source) if job.write else None
    part = _Part([str(i) for i in frame["id"]], keep_table(frame, job.config, job.policy), lines)
    part.numbers = [int(n) for n in frame["source_line"]]
    return part


def _output_lines(frame: pd.DataFrame, fmt: str, source: tuple[int, bytes] | None) -> _Lines:
    """Return each row's output line and loss.

    With ``source`` (the file offset and the bytes the rows were read from), a line equal to its
    input line is left in the file.
    """
    pieces: list[bytes] = []
    losses: list[str | None] = []
    for rows, problem in formats.rows_out(frame, fmt, "conversational"):
        pieces.append(core_io.dumps_jsonl(rows) if rows else b"")
        losses.append(problem.message if problem is not None else None)
    spans = None
    if source is not None:
        at, data = source
        starts = np.concatenate(
            [[0], np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1, [len(data)]]
        )
        numbers = frame["source_line"].to_numpy(dtype=np.int64)  # physical line numbers within ``data``
        spans = np.full((len(pieces), 2), -1, dtype=np.int64)
        for k, (piece, number) in enumerate(zip(pieces, numbers.tolist(), strict=True)):
            begin, end = int(starts[number - 1]), int(starts[number])
            if piece and data[begin:end] == piece:
                spans[k] = (at + begin, at + end)
                pieces[k] = b""
    offsets = np.cumsum([0, *map(len, pieces)]).astype(np.int64)
    return _Lines(b"".join(pieces), offsets, losses, spans)


# -- one process reads, workers shingle ---------------------------------------------------------------


def _read_batches(
    batches: Iterator[pd.DataFrame], job: _Job, processes: int | None, cores: int
) -> tuple[list[_Part], _minhash.BatchOutput, int]:
    """Read batch after batch here; shingle them in workers (2 when there is more than one batch)."""
    parts: list[_Part] = []

    def texts() -> Iterator[list[list[Any]]]:
        for frame in batches:
            parts.append(_part_of(frame, job))
            yield _scope_columns(frame, job.config)

    stream = texts()
    first, more = next(stream, None), next(stream, None)
    workers = processes if processes is not None else (cores if more is not None else 1)
    heads = [p for p in (first, more) if p is not None]
    return parts, _minhash.run_stream(chain(heads, stream), job.params, processes=workers), workers


# -- workers read ranges of lines -----------------------------------------------------------------------


def _line_ranges(path: Path) -> list[tuple[int, int]] | None:
    """Byte ranges of whole lines, about :data:`_RANGE_BYTES` each; None if the file cannot be cut.

    A compressed or UTF-16 file is read as one stream; so is a small one, or one with lines so
    long that a range would hold few rows.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        if head[:2] in (b"\x1f\x8b", b"\xff\xfe", b"\xfe\xff") or size < 2 * _RANGE_BYTES:
            return None
        if head.count(b"\n") * _RANGE_BYTES < _MIN_RANGE_ROWS * len(head):
            return None
        cuts = [0]
        while cuts[-1] + _RANGE_BYTES < size:
            handle.seek(cuts[-1] + _RANGE_BYTES)
            handle.readline()  # to the end of the line the cut falls in
            cuts.append(handle.tell())
    if cuts[-1] < size:
        cuts.append(size)
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _read_ranges(path: Path, ranges: list[tuple[int, int]], job: _Job, processes: int) -> list[_Part]:
    """Each worker reads, parses and shingles ranges of lines; the parts come back in file order."""
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else None)
    parts: list[_Part] = []
    waiting: deque[Future[_Part]] = deque()
    with ProcessPoolExecutor(processes, context) as pool:
        for start, stop in ranges:
            waiting.append(pool.submit(_range_part, path, start, stop, job))
            while len(waiting) > 2 * processes:
                parts.append(waiting.popleft().result())
        parts += [future.result() for future in waiting]
    return parts


def _range_part(path: Path, start: int, stop: int, job: _Job) -> _Part:
    """Worker side: the part of the lines in bytes ``start:stop`` (read as the whole file reads them)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(stop - start)
    source = formats.iter_record_batches(data, path.name, format=job.format, rows=job.batch_rows)
    pieces = []
    for frame in source.batches:
        part = _part_of(frame, job, (start, data))
        part.engine = _minhash.process_parts(_scope_columns(frame, job.config), job.params)
        pieces.append(part)
    rejected, line_count = source.rejected, data.count(b"\n")
    if not pieces:
        empty = keep_table(_EMPTY, job.config, job.policy)
        return _Part([], empty, None, rejected=rejected, line_count=line_count)
    lines = _Lines.join([p.lines for p in pieces if p.lines is not None]) if job.write else None
    return _Part(
        [i for p in pieces for i in p.ids],
        pd.concat([p.table for p in pieces], ignore_index=True),
        lines,
        _minhash.join_outputs([p.engine for p in pieces if p.engine is not None]),
        [n for p in pieces for n in p.numbers],
        rejected,
        line_count,
    )


def _write(out: Path, path: Path, parts: list[_Lines], removed: np.ndarray) -> tuple[int, list[str]]:
    """Write the lines of the rows not ``removed``; return how many rows stay and their losses."""
    losses: list[str] = []
    at = 0
    with open(out, "wb") as handle, open(path, "rb") as source:
        for lines in parts:
            view = memoryview(lines.data)
            spans = lines.spans.tolist() if lines.spans is not None else None
            region: tuple[int, bytes] | None = None
            for k, loss in enumerate(lines.losses):
                if removed[at + k]:
                    continue
                if spans is not None and spans[k][0] >= 0:
                    begin, end = spans[k]
                    if region is None:  # the part's input lines, read once
                        first = min(s[0] for s in spans if s[0] >= 0)
                        source.seek(first)
                        region = (first, source.read(max(s[1] for s in spans) - first))
                    handle.write(region[1][begin - region[0] : end - region[0]])
                else:
                    handle.write(view[lines.offsets[k] : lines.offsets[k + 1]])  # empty: cannot be written
                if loss is not None:
                    losses.append(loss)
            at += len(lines.losses)
    return int((~removed).sum()), losses


def _whole_table(path: Path, config: DedupConfig, policy: str, out: Path | None, fmt: str) -> FileDedup:
    """The table in memory: for formats whose file is more than its rows' lines one after another."""
    loaded = formats.load_dataset(path, path.name)
    frame = loaded.records
    result = find_duplicates(frame, config)
    keepers = choose_keepers(frame, result, policy)
    lines = [int(n) for n in frame["source_line"]]
    done = FileDedup(result, frame["id"].tolist(), keepers, fmt, lines=lines, quarantine=loaded.quarantine)
    if out is not None:
        kept, _ = apply_dedup(frame, result, policy=policy)
        data, losses = formats.write_dataset(kept, fmt)
        out.write_bytes(data)
        done.kept_rows, done.losses = len(kept), [p.message for p in losses]
    return done
