"""Workspace tables of synthetic generation: runs (= batches), requests, calls and examples.

Everything is written the moment it exists, and money before it is spent (write-ahead): before an
attempt goes out, its call row is committed as ``sent`` with its worst-case cost at risk, in a
transaction that also checks the runner still holds the run's lease. The answer, its real cost and
the examples parsed from it then land in one transaction that turns that row into the real cost.
So a process killed at any point leaves every attempt that may have been billed counted at its
worst case, and a finished request is never sent again (its row says ``done``).

The modules: ``schema`` (the tables and their rows), ``runs`` (a run and its planned requests),
``calls`` (an attempt written ahead, then its answer), ``batches`` (what was generated, read back)
and ``writer`` (the group-commit writer thread).
"""

from __future__ import annotations

from core.synth.store.batches import batch_examples, list_batches, synthetic_texts
from core.synth.store.calls import finish_request, insert_sent, mark_unanswered, record_attempt, write_finish
from core.synth.store.runs import (
    get_run,
    insert_run,
    last_failure,
    lease_name,
    pending_requests,
    request_counts,
    request_stop,
    reset_failed,
    run_exists,
    run_ids,
    spent,
    stop_requested,
    update_run,
)
from core.synth.store.schema import SENT, UNANSWERED, CallResult, RequestRow, StoredExample, ensure
from core.synth.store.writer import Writer

__all__ = [
    "SENT",
    "UNANSWERED",
    "CallResult",
    "RequestRow",
    "StoredExample",
    "Writer",
    "batch_examples",
    "ensure",
    "finish_request",
    "get_run",
    "insert_run",
    "insert_sent",
    "last_failure",
    "lease_name",
    "list_batches",
    "mark_unanswered",
    "pending_requests",
    "record_attempt",
    "request_counts",
    "request_stop",
    "reset_failed",
    "run_exists",
    "run_ids",
    "spent",
    "stop_requested",
    "synthetic_texts",
    "update_run",
    "write_finish",
]
