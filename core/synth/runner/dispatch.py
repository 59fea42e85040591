"""The runner of one run: pending requests dispatched under the budget, each one sent until answered.

Each request first reserves its worst-case cost; before each attempt goes out, it is committed as
sent, its worst case at risk (write-ahead, fenced by the lease); the answer, its real cost and the
validated examples then replace that in one transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from core import lease as leases
from core.synth import prompts, store, teachers
from core.synth.budget import Budget
from core.synth.runner.attempts import (
    _CAPABILITIES,
    _CAPABILITY_STATE,
    _FATAL,
    _UNKNOWN_OUTCOME,
    _UNREACHABLE,
    _Attempt,
    _retryable,
    _TeacherCalls,
)
from core.synth.runner.preflight import RunSettings
from core.synth.store import CallResult, RequestRow
from core.synth.validators import Rules, Validator, example_text
from core.workspace import Workspace

_STOP_POLL_S = 0.5
_MAX_RETRY_AFTER_S = 300.0


@dataclass
class _Runner(_TeacherCalls):
    ws: Workspace
    run_id: str
    client: Any
    stop_event: threading.Event
    lease: leases.Lease
    settings: RunSettings = field(init=False)
    plan: prompts.PlanConfig = field(init=False)

    def __post_init__(self) -> None:
        run = store.get_run(self.ws, self.run_id)
        if run is None:
            raise ValueError(f"no generation run {self.run_id!r} in {self.ws.root}")
        config = dict(run["config"])
        plan = config.pop("plan")
        self.rules = Rules.from_dict(config.pop("rules"))
        config.pop("model", None)
        self.settings = RunSettings.from_dict(config)
        self.plan = prompts.PlanConfig(**{**plan, "targets": tuple(plan.get("targets") or ())})
        paid, at_risk = store.spent(self.ws, self.run_id)
        self.budget = Budget(run["budget_usd"], spent_usd=paid, at_risk_usd=at_risk)
        self.validator = Validator(self.rules, self.plan.mode)
        self.validator.index.threshold = self.rules.dedup_threshold
        self._validate_lock = threading.Lock()
        self._rng = random.Random(self.settings.seed)
        self._fatal: str | None = None
        self._lost = False  # another runner took the lease over: send nothing more
        self._blocked_need = 0.0  # the reservation that did not fit when the budget stopped the run
        self._overrun = False
        self._abandoned = False
        self._out_of_budget = False  # a retry's reservation did not fit
        self._last_poll = 0.0
        self.writer = store.Writer(self.ws)
        teacher = self.settings.teacher
        self._cap_key = (teacher.base_url, teacher.model)
        known = (self.ws.get_state(_CAPABILITY_STATE) or {}).get(" ".join(self._cap_key))
        self.structured = _CAPABILITIES.get(self._cap_key, known or teacher.structured)

    # -- set-up ------------------------------------------------------------------------

    def load_references(self) -> None:
        """Index the real data (incl. the test split), the seeds and earlier synthetic examples."""
        if self.plan.mode == "judge":  # judging generates nothing: there is no duplicate to look for
            return
        frame = self.ws.current_dataset()
        if frame is not None and not frame.empty:
            self.validator.seed_index(
                (
                    f"real:{r['id']}",
                    example_text(r, "variations")
                    if self.plan.mode != "paraphrase"
                    else str(r.get("prompt_text") or ""),
                )
                for _, r in frame.iterrows()
            )
            self.validator.answer_index(
                (f"real:{r['id']}", str(r.get("response_text") or "")) for _, r in frame.iterrows()
            )
            if self.plan.mode == "preference":
                self.validator.seed_index(
                    (f"real-answer:{r['id']}", str(r.get("response_text") or "")) for _, r in frame.iterrows()
                )
        self.validator.seed_index(store.synthetic_texts(self.ws))

    # -- dispatch ------------------------------------------------------------------------

    def run(self) -> str:
        """Send every pending request within the budget; return why the run stopped."""
        pending = deque(store.pending_requests(self.ws, self.run_id))
        inflight: dict[Future[None], float] = {}
        stopped_by = "done"
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="synth") as pool:
            while pending:
                reason = self._stop_reason()
                if reason:
                    stopped_by = reason
                    break
                if len(inflight) >= self.settings.concurrency:
                    self._drain(inflight)
                    continue
                row = pending[0]
                reservation = self.settings.price.worst_case(row.prompt_tokens_est, self.settings.max_tokens)
                if not self.budget.try_reserve(reservation):
                    if not inflight:
                        self._blocked_need = reservation
                        stopped_by = "budget"
                        break
                    self._drain(inflight)
                    continue
                pending.popleft()
                inflight[pool.submit(self._execute, row, reservation)] = reservation
            while inflight:
                self._stop_reason()  # keeps the heartbeat going and still honours Stop for retries
                self._drain(inflight)
        if self._lost:
            return "lost"
        if self._fatal:
            return "failed"
        if stopped_by == "done" and (self._overrun or self._out_of_budget or self._abandoned):
            stopped_by = "budget" if self._overrun or self._out_of_budget else "cancel"
        return stopped_by

    def reason(self, stopped_by: str) -> str | None:
        """Why the run ended as it did, for a person (``None`` when every request was answered)."""
        if self._fatal:
            return self._fatal
        counts = store.request_counts(self.ws, self.run_id)
        failed = counts.get("failed", 0)
        gave_up = (
            f"{failed} of {sum(counts.values())} requests gave up after their retries "
            f"(last: {store.last_failure(self.ws, self.run_id)}); retry them with --retry-failed or "
            "the page's Retry button"
            if failed
            else None
        )
        if stopped_by == "budget":
            return "; ".join(filter(None, [self._budget_reason(), gave_up]))
        if stopped_by == "cancel":
            return (
                f"stopped by the user; {counts.get('pending', 0)} requests not sent yet (resume to send them)"
            )
        return gave_up

    def _budget_reason(self) -> str:
        spent, at_risk = self.budget.spent, self.budget.at_risk
        if self._overrun:
            return (
                "an answer cost more than its reservation (the teacher counted more prompt tokens): stopped"
            )
        need = f"; the next request needs up to ${self._blocked_need:.6f}" if self._blocked_need else ""
        used = f"${spent:.6f} spent + ${at_risk:.6f} at risk of ${self.budget.limit:.6f}"
        return f"the budget is used: {used}{need}"

    def _stop_reason(self) -> str | None:
        if self._lost or self.lease.lost.is_set():
            self._lost = True
            return "lost"
        if self._fatal:
            return "failed"
        if self._overrun or self._out_of_budget:
            return "budget"
        now = time.monotonic()
        if now - self._last_poll >= _STOP_POLL_S:
            self._last_poll = now
            store.update_run(self.ws, self.run_id, heartbeat=time.time())
            if store.stop_requested(self.ws, self.run_id):
                self.stop_event.set()
        return "cancel" if self.stop_event.is_set() else None

    def _drain(self, inflight: dict[Future[None], float]) -> None:
        done, _ = wait(list(inflight), timeout=0.25, return_when=FIRST_COMPLETED)
        for future in done:
            inflight.pop(future)
            future.result()  # a bug in _execute surfaces here

    # -- one request -----------------------------------------------------------------------

    def _execute(self, row: RequestRow, reservation: float) -> None:
        held = [reservation]  # what this request holds now: 0 after an unknown outcome, until re-reserved
        actual = 0.0
        try:
            outcome = self._call_with_retries(row, reservation, held)
            if outcome is None:
                return  # stopped, fatal or out of budget while retrying: stays pending
            attempt_no, result, call_id = outcome
            examples = self._examples(row, result) if result.status == "ok" else []
            self._write_finish(
                row,
                call_id=call_id,
                attempt=attempt_no,
                model=self.settings.teacher.model,
                result=result,
                examples=examples,
                mode=self.plan.mode,
                prompt=str(row.messages[-1]["content"]),
            )
            actual = result.cost
            if actual > reservation + 1e-12:
                self._overrun = True
        except sqlite3.Error as exc:
            # the answer could not be stored: its write-ahead row keeps the worst case at risk
            self._fatal = f"could not write to the workspace database {self.ws.db_path}: {exc}"
            self.budget.book_at_risk(held[0])
            held[0] = 0.0
        finally:
            self.budget.settle(held[0], actual)

    def _write_finish(self, row: RequestRow, **fields: Any) -> None:
        self.writer.write(functools.partial(store.write_finish, row=row, **fields))

    def _call_with_retries(
        self, row: RequestRow, reservation: float, held: list[float]
    ) -> tuple[int, CallResult, int | None] | None:
        """Send ``row`` until answered, given up or stopped (``None``: it stays pending).

        Returns ``(attempt, result, call_id)``: ``call_id`` is the write-ahead row of the answered
        attempt, ``None`` when the request gave up (its attempts are recorded already).
        ``held[0]`` is the reservation the request holds. An attempt with an unknown outcome may
        have been billed: its reservation is booked at risk, and the next attempt reserves again.
        """
        attempt_no = 0
        capability_changes = 0
        last: CallResult | None = None
        while attempt_no < self.settings.max_attempts:
            if not self._hold(reservation, held):
                return None
            attempt_no += 1
            call_id = self._write_ahead(row, attempt_no, held[0])
            if call_id is None:
                return None  # the lease is gone: nothing was sent
            attempt = self._attempt(row)
            if attempt.result.status == "ok":
                return attempt_no, attempt.result, call_id
            if attempt.result.status in _UNKNOWN_OUTCOME and held[0]:
                attempt.result = dataclasses.replace(attempt.result, at_risk=held[0])
                self.budget.book_at_risk(held[0])
                held[0] = 0.0
            self.writer.write(functools.partial(store.record_attempt, call_id=call_id, result=attempt.result))
            last = attempt.result
            if attempt.capability_rejected and capability_changes < len(teachers.STRUCTURED_MODES):
                capability_changes += 1
                attempt_no -= 1
                continue
            verdict = self._after_failure(attempt, attempt_no)
            if verdict == "stop":
                return None
            if verdict == "final":
                return attempt_no, attempt.result, None
        error = f"gave up after {attempt_no} attempts" + (
            f" (last: {last.status}: {last.error})" if last else ""
        )
        return attempt_no, CallResult(status="failed", error=error[:500]), None

    def _after_failure(self, attempt: _Attempt, attempt_no: int) -> str:
        """``retry`` (after the backoff), ``final`` (the request fails with this answer) or ``stop``."""
        if attempt.http_status in _FATAL:
            self._fatal = f"the teacher answered HTTP {attempt.http_status}: {attempt.result.error}"
            return "stop"
        if not _retryable(attempt.http_status, attempt.result.status):
            return "final"
        if attempt.result.status == _UNREACHABLE and attempt_no >= self.settings.max_attempts:
            self._fatal = (
                f"the teacher at {self.settings.teacher.base_url} could not be reached after "
                f"{attempt_no} attempts ({attempt.result.error}); nothing was sent. Resume when it is up."
            )
            return "stop"
        if self.stop_event.wait(self._backoff(attempt_no, attempt.retry_after)):
            self._abandoned = True  # stays pending: resume sends it again
            return "stop"
        return "retry"

    def _write_ahead(self, row: RequestRow, attempt_no: int, at_risk: float) -> int | None:
        """Commit the attempt as sent, its worst case at risk, before it goes out (``None``: lease lost)."""
        try:
            return int(
                self.writer.write(
                    functools.partial(
                        store.insert_sent,
                        row=row,
                        attempt=attempt_no,
                        model=self.settings.teacher.model,
                        at_risk=at_risk,
                        token=self.lease.token,
                    )
                )
            )
        except leases.LeaseLost:
            self._lost = True
            return None

    def _hold(self, reservation: float, held: list[float]) -> bool:
        """Make sure the request holds its reservation before an attempt; False: it must not be sent."""
        if held[0] or not reservation:
            return True
        if self._reserve_again(reservation):
            held[0] = reservation
            return True
        if self.stop_event.is_set():
            self._abandoned = True  # stopped while waiting: stays pending, resume sends it
        elif not self._fatal and not self._lost:
            self._blocked_need = reservation
            self._out_of_budget = True  # no retry the budget cannot cover
        return False

    def _reserve_again(self, amount: float) -> bool:
        """Reserve for a retry, waiting while requests in flight still hold money that may come back."""
        while not self.budget.try_reserve(amount):
            if self.budget.reserved <= 1e-12 or self._fatal or self._lost or self.stop_event.wait(0.05):
                return False
        return True

    def _backoff(self, attempt_no: int, retry_after: float | None) -> float:
        base = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (attempt_no - 1))
        jittered = base * (0.5 + self._rng.random() / 2)
        return max(jittered, min(retry_after or 0.0, _MAX_RETRY_AFTER_S))
