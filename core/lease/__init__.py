"""Leases: one live owner of a piece of work (a generation run) across threads, processes and hosts.

A lease is a row in the workspace database: who holds it (a random token, the pid, the host, a
label a person can read) and when it last showed signs of life. A second runner that finds a live
lease is refused with a message naming the owner. A lease whose owner is dead (same host, the pid
is gone or belongs to another process now) or that has not been renewed for ``ttl_s`` is taken over.

Writes that must only come from the holder (a request about to be sent) check the token in the same
transaction (:func:`holds`): a runner that lost its lease, say because it was frozen past the TTL,
cannot send anything more, whatever it believes.

The table and its statements are in :mod:`core.lease.store`.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass

from core.errors import DatasetError
from core.lease import store
from core.lease.store import ensure, holds
from core.workspace import Workspace, WorkspaceError

DEFAULT_TTL_S = 30.0
_RENEW_EVERY_S = 2.0


class LeaseHeld(DatasetError):
    """Someone else holds the lease; the message names them."""

    def __init__(self, holder: LeaseInfo) -> None:
        super().__init__(f"{holder.name} is being run by {holder.describe()}")
        self.holder = holder


class LeaseLost(DatasetError):
    """This runner's lease was taken over: it must not send anything more."""


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease, as stored."""

    name: str
    token: str
    pid: int
    host: str
    started: float | None
    label: str
    acquired_at: float
    heartbeat: float

    def describe(self, now: float | None = None) -> str:
        """A line for a person: who, where, and how fresh."""
        age = max(0.0, (now or time.time()) - self.heartbeat)
        return f"{self.label} (pid {self.pid} on {self.host}, last heartbeat {age:.0f} s ago)"

    def alive(self, *, ttl_s: float = DEFAULT_TTL_S, now: float | None = None) -> bool:
        """Whether the holder may still be working (renewed within the TTL and not known dead)."""
        if (now or time.time()) - self.heartbeat > ttl_s:
            return False
        if self.host == _HOST:
            return _process_alive(self.pid, self.started)
        return True


def current(ws: Workspace, name: str) -> LeaseInfo | None:
    """Return the stored holder of ``name`` (live or not), or ``None``."""
    ensure(ws)
    with ws.connect() as connection:
        return _read(connection, name)


@dataclass
class Lease:
    """A lease this process holds; :meth:`keep_alive` renews it until :meth:`release`."""

    ws: Workspace
    name: str
    token: str
    ttl_s: float = DEFAULT_TTL_S
    taken_over: LeaseInfo | None = None  # the dead holder this lease replaced, if any

    def __post_init__(self) -> None:
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew(self) -> bool:
        """Refresh the heartbeat; False (and :attr:`lost` set) when someone else holds it now."""
        try:
            with self.ws.connect() as connection:
                changed = store.beat(connection, self.name, self.token, time.time())
        except sqlite3.Error:
            return not self.lost.is_set()  # a busy or full disk is not a lost lease; fencing still holds
        if not changed:
            self.lost.set()
        return bool(changed)

    def keep_alive(self, every_s: float = _RENEW_EVERY_S) -> None:
        """Renew in a daemon thread until released or lost."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, args=(every_s,), name=f"lease-{self.name}", daemon=True
        )
        self._thread.start()

    def _loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            if not self.renew():
                return

    def release(self) -> None:
        """Stop renewing and give the lease up (if it is still ours)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        try:
            with self.ws.connect() as connection:
                store.delete(connection, self.name, self.token)
        except sqlite3.Error:
            pass  # the owner is gone when this process ends: the next runner sees a dead pid


def acquire(ws: Workspace, name: str, *, label: str, ttl_s: float = DEFAULT_TTL_S) -> Lease:
    """Take the lease ``name``, or raise :class:`LeaseHeld` naming its live holder.

    Args:
        ws: The workspace that keeps the lease.
        name: What is leased (e.g. ``synth-run:RUN_ID``).
        label: Who is asking, for a person ("python -m core generate", "the app").
        ttl_s: A holder not renewed for this long counts as gone.

    Raises:
        LeaseHeld: If a live holder has it.
        WorkspaceError: If the workspace database cannot be written (full disk, read-only).
    """
    token = secrets.token_hex(8)
    now = time.time()
    try:
        ensure(ws)
        with ws.connect() as connection:
            previous = _read(connection, name)
            if previous is not None and previous.alive(ttl_s=ttl_s, now=now):
                raise LeaseHeld(previous)
            store.write(
                connection, (name, token, os.getpid(), _HOST, _process_start(os.getpid()), label, now, now)
            )
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot take {name} in the workspace database {ws.db_path}: {exc}") from None
    return Lease(ws, name, token, ttl_s, taken_over=previous)


def _read(connection: sqlite3.Connection, name: str) -> LeaseInfo | None:
    row = store.read(connection, name)
    return LeaseInfo(*row) if row is not None else None


_HOST = socket.gethostname()


def _process_start(pid: int) -> float | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return float(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _process_alive(pid: int, started: float | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    if started is None:
        return True
    now_started = _process_start(pid)
    if now_started is not None and now_started != started:
        return False  # the pid was reused by another process
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


__all__ = [
    "DEFAULT_TTL_S",
    "Lease",
    "LeaseHeld",
    "LeaseInfo",
    "LeaseLost",
    "acquire",
    "current",
    "ensure",
    "holds",
]
