"""The group-commit writer: one thread that commits many workers' writes together."""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from core.workspace import Workspace


class Writer:
    """One writer thread that commits many workers' writes together (group commit).

    :meth:`write` returns only once the statements are committed, so "written the moment it
    exists" holds; batching the commits is what lets 16+ concurrent requests stay cheap. The
    connection uses ``synchronous=NORMAL`` (WAL): durable across a killed process, which is the
    crash this protects against.
    """

    def __init__(self, ws: Workspace, *, max_batch: int = 256) -> None:
        self._path = ws.db_path
        self._queue: queue.Queue[Any] = queue.Queue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._loop, name="synth-writer", daemon=True)
        self._thread.start()

    def write(self, statements: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``statements(connection)`` in a committed transaction; return its result or re-raise."""
        done = threading.Event()
        box: dict[str, Any] = {}
        self._queue.put((statements, done, box))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def close(self) -> None:
        """Finish pending writes and stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        try:
            connection = sqlite3.connect(
                self._path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:  # every write fails with the reason, none waits forever
            self._refuse_all(exc)
            return
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                self._commit(connection, [item for item in batch if item is not None])
                if None in batch:
                    return
        finally:
            connection.close()

    def _refuse_all(self, exc: BaseException) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            _statements, done, box = item
            box["error"] = exc
            done.set()

    def _next_batch(self) -> list[Any] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    @staticmethod
    def _commit(connection: sqlite3.Connection, batch: list[Any]) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
            for index, (statements, _done, box) in enumerate(batch):
                connection.execute(f"SAVEPOINT s{index}")
                try:
                    box["result"] = statements(connection)
                    connection.execute(f"RELEASE s{index}")
                except Exception as exc:  # noqa: BLE001 - handed back to the waiting worker
                    connection.execute(f"ROLLBACK TO s{index}")
                    connection.execute(f"RELEASE s{index}")
                    box["error"] = exc
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            for _statements, _done, box in batch:
                box.pop("result", None)  # nothing of the batch was committed
                box.setdefault("error", exc)
        finally:
            for _statements, done, _box in batch:
                done.set()
