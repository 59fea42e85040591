"""The local engine: stage tasks in a pool of worker processes on this machine."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

Task = dict[str, Any]
StageFn = Callable[[Task], dict[str, Any]]
OnResult = Callable[[int, dict[str, Any]], None]


class LocalEngine:
    """Run each task in one of ``workers`` processes (in this process when ``workers`` is 1).

    Args:
        workers: Worker processes; at most ``2 * workers`` tasks are in flight, so the
            driver never holds more than a few tasks' inputs and outputs.
    """

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: StageFn, tasks: list[Task], on_result: OnResult) -> list[dict[str, Any]]:
        """Run ``fn`` over ``tasks``; return the results in task order.

        ``on_result(k, result)`` is called as task ``k`` ends (in the order tasks end).
        """
        if self.workers == 1 or len(tasks) <= 1:
            results = []
            for k, task in enumerate(tasks):
                results.append(fn(task))
                on_result(k, results[-1])
            return results
        return self._pool_map(fn, tasks, on_result)

    def _pool_map(self, fn: StageFn, tasks: list[Task], on_result: OnResult) -> list[dict[str, Any]]:
        pool = self._start()
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        pending: dict[Future[dict[str, Any]], int] = {}
        for k, task in enumerate(tasks):
            pending[pool.submit(fn, task)] = k
            while len(pending) >= 2 * self.workers or (k == len(tasks) - 1 and pending):
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    k_done = pending.pop(future)
                    results[k_done] = future.result()
                    on_result(k_done, future.result())
        return [r for r in results if r is not None]

    def _start(self) -> ProcessPoolExecutor:
        # one pool for the whole run; forkserver (not fork): the driver may hold threads (Ray, tests)
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                context.set_forkserver_preload(["core.pipeline.stages"])
            with _bare_main():
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
                list(self._pool.map(_ready, range(self.workers)))  # every worker starts now, under it
        return self._pool

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _ready(_: int) -> None:
    """A no-op task: submitting one per worker makes the pool start them all at once."""


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Start worker processes without the caller's ``__main__``.

    A forkserver or spawn child first runs the parent's main script again. Under Streamlit (and in
    its AppTest) ``__main__`` is the page script being run, so each worker would run the page, and
    die on it; an empty module gives the children nothing to run.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
