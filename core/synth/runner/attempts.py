"""One attempt: the request sent to the teacher, what its answer or error means, the examples in it."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.synth import prompts, teachers
from core.synth.runner.preflight import RunSettings
from core.synth.store import CallResult, RequestRow, StoredExample
from core.synth.validators import Validator
from core.workspace import Workspace

_RETRYABLE = {408, 409, 425, 429}
_FATAL = {401, 403, 404}
# What each endpoint (base URL, model) turned out to support, here and in the workspace.
_CAPABILITIES: dict[tuple[str, str], str] = {}
_CAPABILITY_STATE = "synth.capabilities"


@dataclass
class _Attempt:
    result: CallResult
    http_status: int | None = None
    retry_after: float | None = None
    capability_rejected: bool = False


class _TeacherCalls:
    """The methods of the runner (:class:`~core.synth.runner.dispatch._Runner`) that make one attempt."""

    ws: Workspace
    client: Any
    settings: RunSettings
    plan: prompts.PlanConfig
    validator: Validator
    structured: str
    _cap_key: tuple[str, str]
    _validate_lock: threading.Lock

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
