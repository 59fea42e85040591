"""The generation runner: plan a run, execute it under a hard budget, resume it after a crash.

A run is stored before anything is sent (every request with a deterministic key). One runner at a
time executes it: it holds the run's lease (:mod:`core.lease`), which a second runner, in this
process or another, sees and is refused by. Execution dispatches pending requests to a thread pool;
each one first reserves its worst-case cost in a :class:`~core.synth.budget.Budget`, and a request
whose reservation does not fit is never sent. Before each attempt goes out, it is committed to the
workspace as sent, its worst case at risk (write-ahead, fenced by the lease); the answer, its real
cost and the validated examples then replace that in one transaction. So whatever point a process
is killed at, every attempt the provider may have billed is counted at its worst case, and
``billed <= spent + at risk <= budget`` holds across crashes, resumes and runners. A resumed run
sends only the unanswered requests, with the same ``Idempotency-Key``. The page runs it in a
background thread and polls :func:`progress`.

The modules: ``preflight`` (settings, limits, the estimate, the stored plan), ``dispatch`` (the
runner: requests under the budget, retries, write-ahead), ``attempts`` (one attempt and its answer)
and ``meter`` (the live meter and who runs a run); the entry points are here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from typing import Any

from core import lease as leases
from core.errors import DatasetError
from core.synth import store, teachers
from core.synth.runner.attempts import _CAPABILITIES as _CAPABILITIES  # read by tests: the same dict
from core.synth.runner.dispatch import _Runner
from core.synth.runner.meter import _ACTIVE, Progress, holder, is_active, progress
from core.synth.runner.preflight import (
    MAX_BUDGET_USD,
    MAX_CONCURRENCY,
    MAX_EXAMPLES,
    MAX_EXAMPLES_WHY,
    MAX_TOKENS,
    Estimate,
    RunSettings,
    check_affordable,
    create_run,
    estimate,
)
from core.workspace import Workspace, WorkspaceError

__all__ = [
    "MAX_BUDGET_USD",
    "MAX_CONCURRENCY",
    "MAX_EXAMPLES",
    "MAX_EXAMPLES_WHY",
    "MAX_TOKENS",
    "STOPPED_BY",
    "Estimate",
    "Progress",
    "RunSettings",
    "check_affordable",
    "create_run",
    "estimate",
    "execute_run",
    "holder",
    "is_active",
    "main",
    "progress",
    "start_background",
    "stop_run",
]

STOPPED_BY = ("done", "budget", "cancel", "failed")
"""How a run ends: every request answered; the budget could not pay for the next attempt; a person
stopped it; or it could not go on (the teacher refused the key, could not be reached, the workspace
could not be written) or some requests gave up after their retries. ``lost`` is returned, never
stored, by a runner whose lease another runner took over."""


def execute_run(
    ws: Workspace,
    run_id: str,
    *,
    client: Any = None,
    api_key: str | None = None,
    stop_event: threading.Event | None = None,
    lease: leases.Lease | None = None,
    label: str = "a generation runner",
) -> str:
    """Run (or resume) ``run_id`` in the calling thread until done, out of budget, stopped or failed.

    Args:
        ws: The workspace holding the run.
        run_id: The run to execute; only its unanswered requests are sent.
        client: An ``openai.OpenAI``-like client (default: one built from the stored teacher config).
        api_key: The key, in memory only (default: from the teacher's environment variable).
        stop_event: Set it to stop dispatching; in-flight requests finish and are kept.
        lease: The run's lease, already held (default: acquired here, released at the end).
        label: Who runs it, shown to a second runner that is refused ("python -m core generate").

    Returns:
        How the run ended (:data:`STOPPED_BY`; why is in the run's ``reason``), or ``lost`` when
        another runner took the lease over (this one stopped sending; the other one carries on).

    Raises:
        leases.LeaseHeld: If another live runner holds the run.
        WorkspaceError: If the outcome could not be written to the workspace.
    """
    held = lease or leases.acquire(ws, store.lease_name(run_id), label=label)
    held.keep_alive()
    try:
        return _execute_held(ws, run_id, held, client, api_key, stop_event or threading.Event())
    finally:
        held.release()


def _execute_held(
    ws: Workspace,
    run_id: str,
    held: leases.Lease,
    client: Any,
    api_key: str | None,
    stop_event: threading.Event,
) -> str:
    started = time.time()
    try:
        store.mark_unanswered(ws, run_id)
        store.update_run(
            ws,
            run_id,
            status="running",
            stop_requested=0,
            started_at=started,
            heartbeat=started,
            stopped_by=None,
            reason=None,
            token=held.token,
        )
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot write to the workspace database {ws.db_path}: {exc}") from None
    stopped_by, reason = "failed", None
    try:
        stopped_by, reason = _run_to_end(ws, run_id, held, client, api_key, stop_event)
    except (DatasetError, ValueError, RuntimeError, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DatasetError) else str(exc)
    finally:
        if stopped_by != "lost":
            _store_outcome(ws, run_id, held, stopped_by, reason, started)
    return stopped_by


def _run_to_end(
    ws: Workspace,
    run_id: str,
    held: leases.Lease,
    client: Any,
    api_key: str | None,
    stop_event: threading.Event,
) -> tuple[str, str | None]:
    runner = _Runner(ws, run_id, client, stop_event, held)
    if runner.client is None:
        teacher = runner.settings.teacher
        runner.client = teachers.make_client(teacher, teachers.resolve_api_key(teacher, api_key))
    runner.load_references()
    try:
        stopped_by = runner.run()
    finally:
        runner.writer.close()
    if stopped_by == "lost":
        return stopped_by, None
    try:
        reason = runner.reason(stopped_by)
        if stopped_by == "done" and reason is None and not store.request_counts(ws, run_id).get("done"):
            reason = "no request was answered, so no example was generated"
    except sqlite3.Error as exc:
        return "failed", f"cannot read the workspace database {ws.db_path}: {exc}"
    # "done" means every request answered: one that gave up makes the run failed, and says so
    return ("failed" if stopped_by == "done" and reason else stopped_by), reason


def _store_outcome(
    ws: Workspace, run_id: str, held: leases.Lease, stopped_by: str, reason: str | None, started: float
) -> None:
    try:
        run = store.get_run(ws, run_id) or {}
        store.update_run(
            ws,
            run_id,
            status=stopped_by,
            stopped_by=stopped_by,
            reason=reason,
            finished_at=time.time(),
            elapsed_before=float(run.get("elapsed_before") or 0) + time.time() - started,
            token=held.token,
        )
    except sqlite3.Error as exc:
        raise WorkspaceError(
            f"run {run_id} ended ({stopped_by}: {reason or 'no error'}) but that could not be written to "
            f"{ws.db_path}: {exc}. What was paid for is counted; resume the run once the disk has room."
        ) from None


def start_background(
    ws: Workspace, run_id: str, *, client: Any = None, api_key: str | None = None, label: str = "the app"
) -> threading.Thread:
    """Run ``run_id`` in a daemon thread of this process (the page polls :func:`progress`).

    Raises:
        leases.LeaseHeld: If another runner (here or in another process) holds the run.
    """
    key = (str(ws.root), run_id)
    if is_active(ws, run_id):
        return _ACTIVE[key][0]
    held = leases.acquire(ws, store.lease_name(run_id), label=label)
    event = threading.Event()
    # "running" before this returns: a page rendered right after must see a live run and poll its
    # meter, not a frozen 'created' one (execute_run sets the times when the thread gets going)
    store.update_run(ws, run_id, status="running", stop_requested=0, stopped_by=None, heartbeat=time.time())
    thread = threading.Thread(
        target=_run_in_thread,
        args=(ws, run_id),
        kwargs={"client": client, "api_key": api_key, "stop_event": event, "lease": held},
        name=f"synth-{run_id}",
        daemon=True,
    )
    _ACTIVE[key] = (thread, event)
    thread.start()
    return thread


def _run_in_thread(ws: Workspace, run_id: str, **kwargs: Any) -> None:
    # an outcome that cannot be written leaves the run "running" with no live lease: shown as interrupted
    with contextlib.suppress(WorkspaceError):
        execute_run(ws, run_id, **kwargs)


def stop_run(ws: Workspace, run_id: str) -> None:
    """Stop dispatching new requests of ``run_id`` (here or in another process); keep what finished."""
    store.request_stop(ws, run_id)
    entry = _ACTIVE.get((str(ws.root), run_id))
    if entry is not None:
        entry[1].set()


def main(argv: list[str] | None = None) -> int:
    """``python -m core.synth.runner WORKSPACE RUN_ID``: execute or resume a run in the foreground."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m core.synth.runner WORKSPACE RUN_ID\n")
        return 2
    try:
        ws = Workspace.open(args[0], create=False)
        if not store.run_exists(ws, args[1]):
            raise DatasetError(f"no generation run {args[1]!r} in {ws.root}")
        stopped_by = execute_run(ws, args[1], label="python -m core.synth.runner")
    except DatasetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 3 if isinstance(exc, leases.LeaseHeld) else 2
    sys.stdout.write(json.dumps({"run_id": args[1], "stopped_by": stopped_by}) + "\n")
    return 0 if stopped_by == "done" else 1
