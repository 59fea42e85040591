"""Half of a CPU-bound job in a forked child while this process does the other half (private).

The tokenizer and fastText hold the GIL, so threads would not help on a 2-core machine; a forked
child shares the parent's memory (the texts, a loaded model) without pickling anything, and sends
its result back as bytes through a pipe. Whenever the child cannot start (no ``fork``, inside a
daemonic worker, no process left), fails or takes too long, its part is computed here instead:
the result never depends on whether the fork worked.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")
_MIN_WAIT_S = 30.0
_WAIT_FACTOR = 5.0  # a child still busy 5x longer than the parent's own half is taken for stuck


def can_fork() -> bool:
    """Return whether a second core and the ``fork`` start method are there."""
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


def _child(writer: Any, work: Callable[[], bytes]) -> None:
    # A collection would write to every tracked object's header and so copy the parent's pages;
    # the child lives for one job, so it never collects.
    gc.disable()
    writer.send_bytes(work())
    writer.close()


class ForkedCall(Generic[_T]):
    """``compute()`` started in a forked child; :meth:`result` waits for it (or computes it here).

    Args:
        compute: The job (run in the child, or here as the fallback).
        encode: Turns its result into bytes (in the child).
        decode: Turns the bytes back into the result; raise ``ValueError`` if they do not fit.
    """

    def __init__(
        self, compute: Callable[[], _T], *, encode: Callable[[_T], bytes], decode: Callable[[bytes], _T]
    ) -> None:
        self._compute, self._decode = compute, decode
        self._started = time.monotonic()
        self._reader: Any = None
        self._process: Any = None
        context = multiprocessing.get_context("fork")
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(writer, lambda: encode(compute())), daemon=True)
        try:
            process.start()
        except (AssertionError, OSError):  # inside a daemonic worker, or no process left
            reader.close()
        else:
            self._reader, self._process = reader, process
        writer.close()

    def result(self) -> _T:
        """Return the child's result, or compute it here if the child did not deliver."""
        if self._reader is None:
            return self._compute()
        waited = time.monotonic() - self._started
        delivered = False
        try:
            if self._reader.poll(max(_MIN_WAIT_S, _WAIT_FACTOR * waited)):
                data = self._reader.recv_bytes()
                delivered = True
                return self._decode(data)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self._reader.close()
            self._process.join(timeout=5 if delivered else 0)  # a child that sent is about to exit
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5)
        return self._compute()
