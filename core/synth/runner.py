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
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import random
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import lease as leases
from core.errors import DatasetError
from core.synth import prompts, store, teachers
from core.synth.budget import Budget, Price
from core.synth.store import CallResult, RequestRow, StoredExample
from core.synth.validators import Rules, Validator, example_text
from core.workspace import Workspace, WorkspaceError

STOPPED_BY = ("done", "budget", "cancel", "failed")
"""How a run ends: every request answered; the budget could not pay for the next attempt; a person
stopped it; or it could not go on (the teacher refused the key, could not be reached, the workspace
could not be written) or some requests gave up after their retries. ``lost`` is returned, never
stored, by a runner whose lease another runner took over."""
MAX_BUDGET_USD = 100_000.0
MAX_EXAMPLES = 100_000
MAX_EXAMPLES_WHY = (
    "every request of a run is planned and stored before the first is sent; start more runs for more"
)
"""Why one run is kept to :data:`MAX_EXAMPLES` examples (a plan of about 100 MB at most)."""
MAX_TOKENS = 200_000
MAX_CONCURRENCY = 256
_RETRYABLE = {408, 409, 425, 429}
_FATAL = {401, 403, 404}
_STOP_POLL_S = 0.5
_MAX_RETRY_AFTER_S = 300.0
# What each endpoint (base URL, model) turned out to support, here and in the workspace.
_CAPABILITIES: dict[tuple[str, str], str] = {}
_CAPABILITY_STATE = "synth.capabilities"


@dataclass(frozen=True)
class RunSettings:
    """How to run: teacher, price, budget, limits and retry policy."""

    teacher: teachers.TeacherConfig
    price: Price
    budget_usd: float
    max_tokens: int = 512
    concurrency: int = 8
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    temperature: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.budget_usd, (int, float)) or not math.isfinite(self.budget_usd):
            raise ValueError(f"budget must be a finite number of USD, got {self.budget_usd!r}")
        if not 0 <= self.budget_usd <= MAX_BUDGET_USD:
            raise ValueError(
                f"budget must be between 0 and {MAX_BUDGET_USD:,.0f} USD, got {self.budget_usd!r}"
            )
        if not 1 <= self.max_tokens <= MAX_TOKENS:
            raise ValueError(f"max_tokens must be in 1..{MAX_TOKENS}, got {self.max_tokens!r}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be in 1..{MAX_CONCURRENCY}, got {self.concurrency!r}")
        if not 1 <= self.max_attempts <= 100:
            raise ValueError(f"max_attempts must be in 1..100, got {self.max_attempts!r}")
        for name in ("backoff_base_s", "backoff_max_s", "temperature"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON data stored with the run (no secret in it)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("teacher", "price")}
        return {**out, "teacher": self.teacher.to_dict(), "price": self.price.__dict__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """Inverse of :meth:`to_dict`."""
        rest = {k: v for k, v in data.items() if k not in ("teacher", "price")}
        return cls(teacher=teachers.TeacherConfig(**data["teacher"]), price=Price(**data["price"]), **rest)


@dataclass(frozen=True)
class Estimate:
    """The pre-flight cost estimate of a run."""

    requests: int
    examples: int
    prompt_tokens: int
    expected_output_tokens: int
    cost_per_example: float
    total: float
    worst_case_total: float
    affordable: int


def estimate(
    rows: list[RequestRow], plan: prompts.PlanConfig, settings: RunSettings, seeds: pd.DataFrame
) -> Estimate:
    """Return the expected cost from exact prompt tokens and the seeds' answer lengths."""
    out_tokens = min(prompts.expected_output_tokens(seeds, plan, settings.teacher.model), settings.max_tokens)
    price = settings.price
    per_request = [price.cost(r.prompt_tokens_est, 0, out_tokens) for r in rows]
    total = float(sum(per_request))
    examples = sum(int(r.context.get("n", 1)) for r in rows)
    per_example = total / examples if examples else 0.0
    affordable = examples if price.free else _affordable(rows, settings)
    return Estimate(
        requests=len(rows),
        examples=examples,
        prompt_tokens=sum(r.prompt_tokens_est for r in rows),
        expected_output_tokens=out_tokens * len(rows),
        cost_per_example=per_example,
        total=total,
        worst_case_total=sum(price.worst_case(r.prompt_tokens_est, settings.max_tokens) for r in rows),
        affordable=min(examples, int(settings.budget_usd / per_example)) if per_example else affordable,
    )


def check_affordable(seeds: pd.DataFrame, plan: prompts.PlanConfig, settings: RunSettings) -> None:
    """Refuse a budget that cannot pay for even the first request, before a run is stored.

    Raises:
        ValueError: If the first request's worst case is more than the budget.
    """
    if settings.price.free:
        return
    first = prompts.plan_requests(
        seeds,
        dataclasses.replace(plan, n=min(plan.n, plan.per_request)),
        run_id="check",
        model=settings.teacher.model,
    )
    worst = settings.price.worst_case(first[0].prompt_tokens_est, settings.max_tokens)
    if worst > settings.budget_usd:
        raise ValueError(
            f"the budget (${settings.budget_usd:g}) does not cover even one request: its worst case is "
            f"${worst:.6f} ({first[0].prompt_tokens_est} prompt tokens with a margin, {settings.max_tokens} "
            "max_tokens out); raise --budget or lower --max-tokens"
        )


def _affordable(rows: list[RequestRow], settings: RunSettings) -> int:
    left, count = settings.budget_usd, 0
    for row in rows:
        left -= settings.price.worst_case(row.prompt_tokens_est, settings.max_tokens)
        if left < 0:
            break
        count += int(row.context.get("n", 1))
    return count


def create_run(
    ws: Workspace,
    seeds: pd.DataFrame,
    plan: prompts.PlanConfig,
    settings: RunSettings,
    rules: Rules,
    *,
    run_id: str | None = None,
) -> str:
    """Plan a run and store it with all its requests (nothing is sent yet); return its id (= batch id).

    With a ``run_id`` that is stored already (another process created it a moment ago), the stored
    run stands and its id is returned: two creators never fail, nor make two runs of one id.

    Raises:
        ValueError: If the plan asks for more than :data:`MAX_EXAMPLES` examples.
    """
    if not 1 <= plan.n <= MAX_EXAMPLES:
        raise ValueError(f"a run generates 1 to {MAX_EXAMPLES:,} examples, got {plan.n!r}")
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    rows = prompts.plan_requests(seeds, plan, run_id=run_id, model=settings.teacher.model)
    plan_data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.__dict__.items()}
    config = {
        **settings.to_dict(),
        "plan": plan_data,
        "rules": rules.to_dict(),
        "model": settings.teacher.model,
    }
    store.insert_run(
        ws, run_id, mode=plan.mode, config=config, budget_usd=settings.budget_usd, requested=plan.n, rows=rows
    )
    return run_id


@dataclass
class _Attempt:
    result: CallResult
    http_status: int | None = None
    retry_after: float | None = None
    capability_rejected: bool = False


@dataclass
class _Runner:
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

    def _attempt(self, row: RequestRow) -> _Attempt:
        import openai

        kwargs = self._request_kwargs(row)
        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            return self._status_error(exc, time.monotonic() - started)
        except openai.APIConnectionError as exc:  # APITimeoutError too
            latency = time.monotonic() - started
            if _nothing_sent(exc):
                return _Attempt(CallResult(_UNREACHABLE, latency=latency, error=_connect_error(exc)))
            kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection"
            return _Attempt(CallResult(kind, latency=latency, error=str(exc)))
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            return _Attempt(CallResult("malformed", latency=time.monotonic() - started, error=str(exc)[:500]))
        return _Attempt(self._ok_result(response, time.monotonic() - started))

    def _request_kwargs(self, row: RequestRow) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.settings.teacher.model,
            "messages": row.messages,
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
            "extra_headers": {"Idempotency-Key": row.key},
        }
        if self.settings.teacher.provider in teachers.SEEDED_PROVIDERS:
            # sampling is a random choice too: the run's seed and the request fix it. Not the
            # attempt: a retry must send the very body its Idempotency-Key was first sent with.
            kwargs["seed"] = (self.settings.seed * 1_000_003 + row.idx) % 2**31
        fmt = teachers.response_format(self.structured, prompts.reply_schema(self.plan))
        if fmt is not None:
            kwargs["response_format"] = fmt
        return kwargs

    def _status_error(self, exc: Any, latency: float) -> _Attempt:
        status = int(getattr(exc, "status_code", 0) or 0)
        text = _ERROR_CODE_PREFIX.sub("", str(getattr(exc, "message", exc)))
        message = _scrub(text[:500], getattr(self.client, "api_key", None))
        attempt = _Attempt(
            CallResult(f"http_{status}", latency=latency, error=message),
            http_status=status,
            retry_after=_retry_after(getattr(exc, "response", None)),
        )
        if self.structured != "none" and teachers.rejects_response_format(status, message):
            self._downgrade()
            attempt.capability_rejected = True
        return attempt

    def _downgrade(self) -> None:
        with self._validate_lock:
            self.structured = teachers.downgrade(self.structured)
            _CAPABILITIES[self._cap_key] = self.structured
            known = dict(self.ws.get_state(_CAPABILITY_STATE) or {})
            known[" ".join(self._cap_key)] = self.structured
            self.ws.set_state(_CAPABILITY_STATE, known)

    def _ok_result(self, response: Any, latency: float) -> CallResult:
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        choices = getattr(response, "choices", None) or []
        content = (choices[0].message.content or "") if choices else ""
        cost = self.settings.price.cost(prompt_tokens, cached, completion_tokens)
        return CallResult("ok", prompt_tokens, cached, completion_tokens, cost, latency, None, content)

    def _examples(self, row: RequestRow, result: CallResult) -> list[StoredExample]:
        content = result.content or ""
        try:
            items = prompts.parse_items(content)
        except ValueError as exc:
            from core import records

            raw = records.make_record("sft", [{"role": "assistant", "content": content}])
            return [StoredExample({**raw, "source": "synthetic"}, False, [f"unparseable reply: {exc}"])]
        return [self._validated(item, row) for item in items]

    def _validated(self, item: dict[str, Any], row: RequestRow) -> StoredExample:
        from core import records

        try:
            record = prompts.build_record(item, row, self.plan.mode)
        except ValueError as exc:
            raw = records.make_record(
                "sft", [{"role": "assistant", "content": json.dumps(item, ensure_ascii=False)}]
            )
            return StoredExample({**raw, "source": "synthetic"}, False, [f"not in the target format: {exc}"])
        if self.plan.mode == "judge":
            return StoredExample(record, True, [])
        with self._validate_lock:
            reasons = self.validator.check(record)
        return StoredExample(record, not reasons, reasons)


_ERROR_CODE_PREFIX = re.compile(r"^Error code: \d+ - ")
_KEY_LIKE = re.compile(r"(sk|key|AIza)[-_A-Za-z0-9*]{8,}")


def _scrub(message: str, api_key: Any) -> str:
    """Remove anything key-like from an error message before it is stored (providers echo keys)."""
    if isinstance(api_key, str) and len(api_key) >= 4:
        message = message.replace(api_key, "***")
    return _KEY_LIKE.sub("***", message)


_UNKNOWN_OUTCOME = frozenset({"timeout", "connection", "malformed", "http_502", "http_504", "http_524"})
"""Attempt outcomes that may have been billed: sent, but no usage came back. A gateway's 502/504/524
says the provider behind it did not answer in time, not that it did not generate (and bill)."""
_UNREACHABLE = "unreachable"
"""No connection could be made (refused, no route, DNS): nothing was sent, nothing can be billed."""


def _retryable(status: int | None, kind: str) -> bool:
    if status is None:
        return kind in _UNKNOWN_OUTCOME or kind == _UNREACHABLE
    return status in _RETRYABLE or status >= 500


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _nothing_sent(exc: BaseException) -> bool:
    """Whether the connection itself failed, so the request never left this machine.

    By the class names of the HTTP layer's errors (``httpx`` or, in newer ``openai``, ``httpx2``),
    so either works, and by the operating system's own refusal.
    """
    for cause in _causes(exc):
        if isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return True
        kind = type(cause)
        if kind.__module__.split(".")[0].startswith("httpx") and kind.__name__ in _CONNECT_ERRORS:
            return True
    return False


_CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout"})


def _connect_error(exc: BaseException) -> str:
    inner = _causes(exc)[-1]
    return f"{type(inner).__name__}: {inner}"[:300]


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


# -- public entry points ----------------------------------------------------------------------


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


_ACTIVE: dict[tuple[str, str], tuple[threading.Thread, threading.Event]] = {}


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


def is_active(ws: Workspace, run_id: str) -> bool:
    """Whether ``run_id`` is executing in a thread of this process."""
    entry = _ACTIVE.get((str(ws.root), run_id))
    return entry is not None and entry[0].is_alive()


def holder(ws: Workspace, run_id: str) -> leases.LeaseInfo | None:
    """The live runner of ``run_id`` (in any process), or ``None``."""
    info = leases.current(ws, store.lease_name(run_id))
    return info if info is not None and info.alive() else None


def stop_run(ws: Workspace, run_id: str) -> None:
    """Stop dispatching new requests of ``run_id`` (here or in another process); keep what finished."""
    store.request_stop(ws, run_id)
    entry = _ACTIVE.get((str(ws.root), run_id))
    if entry is not None:
        entry[1].set()


@dataclass(frozen=True)
class Progress:
    """The live meter of one run, read from the workspace."""

    run_id: str
    status: str
    stopped_by: str | None
    alive: bool
    holder: str | None  # who runs it now, for a person (any process), or None
    reason: str | None  # why it ended as it did
    requested: int
    n_requests: int
    requests_done: int
    requests_failed: int
    requests_pending: int
    calls: int
    generated: int
    valid: int
    invalid: int
    spent_usd: float
    at_risk_usd: float
    in_flight_usd: float  # the part of at_risk_usd held by attempts sent and not answered yet
    budget_usd: float
    requests_retried: int
    tokens_in: int
    tokens_out: int
    cached_tokens: int
    elapsed_s: float

    @property
    def usd_per_valid(self) -> float | None:
        """Dollars per example that passed the validators."""
        return self.spent_usd / self.valid if self.valid else None

    @property
    def projected_usd(self) -> float:
        """Spent so far scaled to every planned request (capped at the budget)."""
        answered = self.requests_done + self.requests_failed
        if not answered:
            return 0.0
        return min(self.budget_usd, self.spent_usd * self.n_requests / answered)

    @property
    def rate_per_s(self) -> float:
        """Examples generated per second of run time."""
        return self.generated / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def budget_fraction(self) -> float:
        """(Spent + at risk) / budget in [0, 1]: what the budget has left to give."""
        used = self.spent_usd + self.at_risk_usd
        return min(1.0, used / self.budget_usd) if self.budget_usd > 0 else 0.0


_PROGRESS_SQL = """
SELECT
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'done') AS done,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'failed') AS failed,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND status = 'pending') AS pending,
  (SELECT COUNT(*) FROM synth_examples WHERE run_id = :r) AS generated,
  (SELECT COUNT(*) FROM synth_examples WHERE run_id = :r AND valid = 1) AS valid,
  (SELECT COUNT(*) FROM synth_calls WHERE run_id = :r) AS calls,
  (SELECT COALESCE(SUM(cost), 0) FROM synth_calls WHERE run_id = :r) AS spent,
  (SELECT COALESCE(SUM(at_risk), 0) FROM synth_calls WHERE run_id = :r) AS at_risk,
  (SELECT COALESCE(SUM(at_risk), 0) FROM synth_calls WHERE run_id = :r AND status = 'sent') AS in_flight,
  (SELECT COUNT(*) FROM synth_requests WHERE run_id = :r AND attempts > 1) AS retried,
  (SELECT COALESCE(SUM(prompt_tokens), 0) FROM synth_calls WHERE run_id = :r) AS tokens_in,
  (SELECT COALESCE(SUM(completion_tokens), 0) FROM synth_calls WHERE run_id = :r) AS tokens_out,
  (SELECT COALESCE(SUM(cached_tokens), 0) FROM synth_calls WHERE run_id = :r) AS cached
"""


def progress(ws: Workspace, run_id: str) -> Progress:
    """Return the live meter of ``run_id`` (cheap: a few indexed SQL aggregates)."""
    run = store.get_run(ws, run_id)
    if run is None:
        raise ValueError(f"no generation run {run_id!r}")
    with ws.connect() as connection:
        row = dict(connection.execute(_PROGRESS_SQL, {"r": run_id}).fetchone())
    running = run["status"] == "running"
    live = holder(ws, run_id)
    alive = is_active(ws, run_id) or live is not None
    # a run whose process died stays "running" until resumed: count its time up to the last heartbeat
    until = time.time() if alive else float(run["heartbeat"] or time.time())
    elapsed = float(run["elapsed_before"] or 0) + (
        until - float(run["started_at"] or until) if running else 0
    )
    return Progress(
        run_id=run_id,
        status=run["status"],
        stopped_by=run["stopped_by"],
        alive=alive,
        holder=live.describe() if live is not None else None,
        reason=run.get("reason"),
        requested=run["requested"],
        n_requests=run["n_requests"],
        requests_done=row["done"],
        requests_failed=row["failed"],
        requests_pending=row["pending"],
        calls=row["calls"],
        generated=row["generated"],
        valid=row["valid"],
        invalid=row["generated"] - row["valid"],
        spent_usd=float(row["spent"]),
        at_risk_usd=float(row["at_risk"]),
        in_flight_usd=float(row["in_flight"]) if alive else 0.0,
        budget_usd=float(run["budget_usd"]),
        requests_retried=int(row["retried"]),
        tokens_in=int(row["tokens_in"]),
        tokens_out=int(row["tokens_out"]),
        cached_tokens=int(row["cached"]),
        elapsed_s=elapsed,
    )


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


if __name__ == "__main__":
    raise SystemExit(main())
