"""The generation runner: plan a run, execute it under a hard budget, resume it after a crash.

A run is stored before anything is sent (every request with a deterministic key). Execution
dispatches pending requests to a thread pool; each one first reserves its worst-case cost in a
:class:`~core.synth.budget.Budget`, and a request whose reservation does not fit is never sent.
Answers, their real cost and the validated examples are written in one transaction the moment
they arrive, so a killed process resumes with only the unanswered requests (sent with the same
``Idempotency-Key``). The page runs it in a background thread and polls :func:`progress`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import re
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.synth import prompts, store, teachers
from core.synth.budget import Budget, Price
from core.synth.store import CallResult, RequestRow, StoredExample
from core.synth.validators import Rules, Validator, example_text
from core.workspace import Workspace

STOPPED_BY = ("done", "budget", "cancel", "error")
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
        if self.budget_usd < 0:
            raise ValueError(f"budget_usd must be >= 0, got {self.budget_usd!r}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens!r}")
        if not 1 <= self.concurrency <= 256:
            raise ValueError(f"concurrency must be in 1..256, got {self.concurrency!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts!r}")

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
    """Plan a run and store it with all its requests (nothing is sent yet); return its id (= batch id)."""
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
                        stopped_by = "budget"
                        break
                    self._drain(inflight)
                    continue
                pending.popleft()
                inflight[pool.submit(self._execute, row, reservation)] = reservation
            while inflight:
                self._stop_reason()  # keeps the heartbeat going and still honours Stop for retries
                self._drain(inflight)
        if stopped_by == "done" and (self._fatal or self._overrun or self._out_of_budget or self._abandoned):
            stopped_by = (
                "error" if self._fatal else "budget" if self._overrun or self._out_of_budget else "cancel"
            )
        return stopped_by

    def _stop_reason(self) -> str | None:
        if self._fatal:
            return "error"
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
            attempt_no, result = outcome
            actual = result.cost
            if actual > reservation + 1e-12:
                self._overrun = True
            examples = self._examples(row, result) if result.status == "ok" else []
            self._write_finish(
                row,
                attempt=attempt_no,
                model=self.settings.teacher.model,
                result=result,
                examples=examples,
                mode=self.plan.mode,
                prompt=str(row.messages[-1]["content"]),
            )
        finally:
            self.budget.settle(held[0], actual)

    def _write_finish(self, row: RequestRow, **fields: Any) -> None:
        self.writer.write(functools.partial(store.write_finish, row=row, **fields))

    def _call_with_retries(
        self, row: RequestRow, reservation: float, held: list[float]
    ) -> tuple[int, CallResult] | None:
        """Send ``row`` until answered, given up or stopped (``None``: it stays pending).

        ``held[0]`` is the reservation the request holds. An attempt with an unknown outcome may
        have been billed: its reservation is booked at risk, and the next attempt reserves again.
        """
        attempt_no = 0
        capability_changes = 0
        while attempt_no < self.settings.max_attempts:
            if not self._hold(reservation, held):
                return None
            attempt_no += 1
            attempt = self._attempt(row)
            if attempt.result.status == "ok":
                return attempt_no, attempt.result
            if attempt.result.status in _UNKNOWN_OUTCOME and held[0]:
                attempt.result = dataclasses.replace(attempt.result, at_risk=held[0])
                self.budget.book_at_risk(held[0])
                held[0] = 0.0
            model = self.settings.teacher.model
            self.writer.write(
                functools.partial(
                    store.insert_call, row=row, attempt=attempt_no, model=model, result=attempt.result
                )
            )
            if attempt.capability_rejected and capability_changes < len(teachers.STRUCTURED_MODES):
                capability_changes += 1
                attempt_no -= 1
                continue
            if attempt.http_status in _FATAL:
                self._fatal = attempt.result.error
                return None
            if not _retryable(attempt.http_status, attempt.result.status):
                return attempt_no, attempt.result
            if self.stop_event.wait(self._backoff(attempt_no, attempt.retry_after)):
                self._abandoned = True  # stays pending: resume sends it again
                return None
        return attempt_no, CallResult(status="failed", error=f"gave up after {attempt_no} attempts")

    def _hold(self, reservation: float, held: list[float]) -> bool:
        """Make sure the request holds its reservation before an attempt; False: it must not be sent."""
        if held[0] or not reservation:
            return True
        if self._reserve_again(reservation):
            held[0] = reservation
            return True
        if self.stop_event.is_set():
            self._abandoned = True  # stopped while waiting: stays pending, resume sends it
        elif not self._fatal:
            self._out_of_budget = True  # no retry the budget cannot cover
        return False

    def _reserve_again(self, amount: float) -> bool:
        """Reserve for a retry, waiting while requests in flight still hold money that may come back."""
        while not self.budget.try_reserve(amount):
            if self.budget.reserved <= 1e-12 or self._fatal or self.stop_event.wait(0.05):
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
        except openai.APITimeoutError as exc:
            return _Attempt(CallResult("timeout", latency=time.monotonic() - started, error=str(exc)))
        except openai.APIConnectionError as exc:
            return _Attempt(CallResult("connection", latency=time.monotonic() - started, error=str(exc)))
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
        message = _scrub(str(getattr(exc, "message", exc))[:500], getattr(self.client, "api_key", None))
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
        with self._validate_lock:
            reasons = self.validator.check(record)
        return StoredExample(record, not reasons, reasons)


_KEY_LIKE = re.compile(r"(sk|key|AIza)[-_A-Za-z0-9*]{8,}")


def _scrub(message: str, api_key: Any) -> str:
    """Remove anything key-like from an error message before it is stored (providers echo keys)."""
    if isinstance(api_key, str) and len(api_key) >= 4:
        message = message.replace(api_key, "***")
    return _KEY_LIKE.sub("***", message)


_UNKNOWN_OUTCOME = frozenset({"timeout", "connection", "malformed"})
"""Attempt outcomes that may have been billed: sent, but no usage came back."""


def _retryable(status: int | None, kind: str) -> bool:
    if status is None:
        return kind in ("timeout", "connection", "malformed")
    return status in _RETRYABLE or status >= 500


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
) -> str:
    """Run (or resume) ``run_id`` in the calling thread until done, out of budget, stopped or failed.

    Args:
        ws: The workspace holding the run.
        run_id: The run to execute; only its unanswered requests are sent.
        client: An ``openai.OpenAI``-like client (default: one built from the stored teacher config).
        api_key: The key, in memory only (default: from the teacher's environment variable).
        stop_event: Set it to stop dispatching; in-flight requests finish and are kept.

    Returns:
        Why the run stopped: ``done``, ``budget``, ``cancel`` or ``error``.
    """
    stop_event = stop_event or threading.Event()
    store.update_run(
        ws,
        run_id,
        status="running",
        stop_requested=0,
        started_at=time.time(),
        heartbeat=time.time(),
        stopped_by=None,
    )
    started = time.time()
    stopped_by = "error"
    try:
        runner = _Runner(ws, run_id, client, stop_event)
        if runner.client is None:
            teacher = runner.settings.teacher
            runner.client = teachers.make_client(teacher, teachers.resolve_api_key(teacher, api_key))
        runner.load_references()
        try:
            stopped_by = runner.run()
        finally:
            runner.writer.close()
    finally:
        run = store.get_run(ws, run_id) or {}
        store.update_run(
            ws,
            run_id,
            status=stopped_by,
            stopped_by=stopped_by,
            finished_at=time.time(),
            elapsed_before=float(run.get("elapsed_before") or 0) + time.time() - started,
        )
    return stopped_by


_ACTIVE: dict[tuple[str, str], tuple[threading.Thread, threading.Event]] = {}


def start_background(
    ws: Workspace, run_id: str, *, client: Any = None, api_key: str | None = None
) -> threading.Thread:
    """Run ``run_id`` in a daemon thread of this process (the page polls :func:`progress`)."""
    key = (str(ws.root), run_id)
    if is_active(ws, run_id):
        return _ACTIVE[key][0]
    event = threading.Event()
    # "running" before this returns: a page rendered right after must see a live run and poll its
    # meter, not a frozen 'created' one (execute_run sets the times when the thread gets going)
    store.update_run(ws, run_id, status="running", stop_requested=0, stopped_by=None, heartbeat=time.time())
    thread = threading.Thread(
        target=execute_run,
        args=(ws, run_id),
        kwargs={"client": client, "api_key": api_key, "stop_event": event},
        name=f"synth-{run_id}",
        daemon=True,
    )
    _ACTIVE[key] = (thread, event)
    thread.start()
    return thread


def is_active(ws: Workspace, run_id: str) -> bool:
    """Whether ``run_id`` is executing in a thread of this process."""
    entry = _ACTIVE.get((str(ws.root), run_id))
    return entry is not None and entry[0].is_alive()


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
    budget_usd: float
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
    alive = is_active(ws, run_id) or (running and time.time() - float(run["heartbeat"] or 0) < 3)
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
        budget_usd=float(run["budget_usd"]),
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
    ws = Workspace.open(args[0])
    stopped_by = execute_run(ws, args[1])
    sys.stdout.write(json.dumps({"run_id": args[1], "stopped_by": stopped_by}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
