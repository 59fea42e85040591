"""Running batches, in worker processes when it pays (forked workers read their rows themselves)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from core._minhash.batch import concat_outputs, process_batch, process_parts
from core._minhash.shingles import BatchOutput, EngineParams

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters

# -- running batches, in worker processes when it pays ---------------------------------------------------


class Cancelled(Exception):
    """The caller asked to stop (its ``cancel`` callback returned True)."""


def run_batches(
    chunk: Callable[[int, int], list[list[Any]]],
    rows: int,
    params: EngineParams,
    *,
    processes: int,
    batch_size: int,
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> BatchOutput:
    """Process rows in batches (in ``processes`` worker processes if > 1) and join the outputs.

    Args:
        chunk: ``chunk(start, stop)`` returns the text-part columns of those rows (joined per row
            by :func:`join_parts`); called lazily, so only a few batches are in memory at once.
        rows: Number of rows.
        params: Shingling and banding parameters.
        processes: Worker processes; 1 runs in this process.
        batch_size: Rows per batch.
        progress: Called with the finished fraction after each batch.
        cancel: Polled after each batch.

    Raises:
        Cancelled: If ``cancel()`` returned True between two batches.
    """
    bounds = [(i, min(i + batch_size, rows)) for i in range(0, rows, batch_size)] or [(0, 0)]
    if processes <= 1 or len(bounds) == 1:
        outputs: list[BatchOutput | None] = []
        for k, (start, stop) in enumerate(bounds):
            _check(cancel)
            outputs.append(process_parts(chunk(start, stop), params))
            _report(progress, (k + 1) / len(bounds))
        return join_outputs(outputs)
    return _run_in_pool(chunk, bounds, params, processes, progress, cancel)


def _run_in_pool(
    chunk: Callable[[int, int], list[list[Any]]],
    bounds: list[tuple[int, int]],
    params: EngineParams,
    processes: int,
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> BatchOutput:
    outputs: list[BatchOutput | None] = [None] * len(bounds)
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else None)
    # forked workers inherit `chunk` and read their rows themselves: nothing is pickled to them
    source = chunk if forked else None
    pending: dict[Future[BatchOutput], int] = {}
    with ProcessPoolExecutor(processes, context, initializer=_worker_setup, initargs=(source,)) as pool:
        try:
            for k, (start, stop) in enumerate(bounds):
                work = (
                    (_process_rows, start, stop, params)
                    if forked
                    else (process_parts, chunk(start, stop), params)
                )
                _submit(pool, pending, k, work)
                while len(pending) >= 2 * processes or (k == len(bounds) - 1 and pending):
                    _collect(pending, outputs, progress, cancel)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return join_outputs(outputs)


def run_stream(
    parts: Iterable[list[list[Any]]], params: EngineParams, *, processes: int, ahead: int = 2
) -> BatchOutput:
    """Process batches of text-part columns as they come (in ``processes`` workers if > 1); join them.

    The caller's iterator reads the next batch while workers shingle the ones before; at most
    ``ahead`` batches per worker wait, so the texts in memory are a few batches'.
    """
    if processes <= 1:
        outputs: list[BatchOutput | None] = [process_parts(p, params) for p in parts]
    else:
        outputs = []
        forked = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forked else None)
        waiting: deque[Future[BatchOutput]] = deque()
        with ProcessPoolExecutor(processes, context, initializer=_worker_setup, initargs=(None,)) as pool:
            for batch in parts:
                _submit_parts(pool, waiting, batch, params)
                while len(waiting) > ahead * processes:
                    outputs.append(waiting.popleft().result())
            outputs += [future.result() for future in waiting]
    return join_outputs(outputs) if outputs else process_batch([], params)


def _submit_parts(
    pool: ProcessPoolExecutor,
    waiting: deque[Future[BatchOutput]],
    batch: list[list[Any]],
    params: EngineParams,
) -> None:
    gc.freeze()  # see _submit: forked workers must not collect the parent's objects
    try:
        waiting.append(pool.submit(process_parts, batch, params))
    finally:
        gc.unfreeze()


_worker_source: Callable[[int, int], list[list[Any]]] | None = None  # set in worker processes only


def _process_rows(start: int, stop: int, params: EngineParams) -> BatchOutput:
    """Worker side: read rows ``start:stop`` through the inherited source and process them."""
    assert _worker_source is not None
    return process_parts(_worker_source(start, stop), params)


def _submit(pool: ProcessPoolExecutor, pending: dict[Future[BatchOutput], int], k: int, work: tuple) -> None:
    # forked workers must not run the collector over the parent's objects: that would write to
    # every page they share with the parent (copy-on-write) and cost time and memory
    gc.freeze()
    try:
        pending[pool.submit(*work)] = k
    finally:
        gc.unfreeze()


def _collect(
    pending: dict[Future[BatchOutput], int],
    outputs: list[BatchOutput | None],
    progress: Callable[[float], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        outputs[pending.pop(future)] = future.result()
    _report(progress, sum(o is not None for o in outputs) / len(outputs))
    _check(cancel)


def _worker_setup(source: Callable[[int, int], list[list[Any]]] | None) -> None:
    """Remember the row source; keep big temporary arrays in the heap (fresh mmaps fault per page)."""
    global _worker_source
    _worker_source = source
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def give_back_freed_arrays() -> None:
    """Map every big array on its own, so that freeing it returns its memory at once (glibc).

    Otherwise glibc's adaptive threshold soon serves big arrays from the heap, where freed memory
    stays with the process, and a long run over a big file keeps the peak of each phase.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def _report(progress: Callable[[float], None] | None, fraction: float) -> None:
    if progress is not None:
        progress(fraction)


def join_outputs(outputs: Sequence[BatchOutput | None]) -> BatchOutput:
    """Join outputs in order, freeing each batch's shingles as they are copied (bounded peak memory)."""
    ready = [o for o in outputs if o is not None]
    total = sum(len(o.shingles) for o in ready)
    shingles = np.empty(total, dtype=np.uint32)
    at = 0
    for output in ready:
        shingles[at : at + len(output.shingles)] = output.shingles
        at += len(output.shingles)
        output.shingles = shingles[:0]
    joined = concat_outputs(ready)
    joined.shingles = shingles
    return joined
