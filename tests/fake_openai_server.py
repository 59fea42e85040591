"""A small OpenAI-compatible chat-completions server for tests and benchmarks (loopback only).

Behaviour is scripted: ``server.script`` is a list of :class:`Reply` consumed one per request
(then ``server.default`` is used), or ``server.responder`` is a function of the request body.
Every request is recorded. Requests carrying an ``Idempotency-Key`` header that already got a
200 answer are answered from the cache and not billed again (like payment APIs do), so the
kill test can tell a resent request from a double charge; ``honour_idempotency=False`` makes it
a provider that bills every request it completes, whatever its key.

``ledger`` is what the provider billed: one entry per completed generation, written when the
generation is done and before the answer is sent (so a client killed or timed out while it waits
is billed all the same, as with a real provider). ``on_receive`` / ``on_answered`` are called with
the running count of requests received / answers written, for tests that act at a chosen moment.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = '{"user": "How do I reset my password?", "assistant": "Open Settings, then Security."}'
    prompt_tokens: int | None = None  # None: a rough count of the request
    completion_tokens: int | None = None  # None: a rough count of the content
    cached_tokens: int = 0
    status: int = 200
    retry_after: float | None = None
    latency: float = 0.0
    malformed: bool = False  # send a body that is not JSON
    error_message: str = "scripted error"
    reset_after_billing: bool = False  # bill, then drop the connection without an answer
    billed_before_error: bool = False  # a gateway's error (502/504) for a generation the provider billed


@dataclass
class FakeOpenAIServer:
    default: Reply = field(default_factory=Reply)
    script: list[Reply] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], Reply] | None = None
    reject_json_schema: bool = False  # behave like llama.cpp: 500 on response_format json_schema
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # Idempotency-Key of each request, in order
    billed: dict[str, int] = field(default_factory=dict)
    honour_idempotency: bool = True
    bill_malformed: bool = False  # a provider that bills the generation it then fails to send whole
    ledger: list[tuple[str | None, int, int]] = field(default_factory=list)  # (key, prompt, completion)
    on_receive: Callable[[int], None] | None = None
    on_answered: Callable[[int], None] | None = None
    answered: int = 0
    _cache: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        handler = _make_handler(self)
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_reply(self, body: dict[str, Any], key: str | None = None) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.keys.append(key)
            if self.script:
                return self.script.pop(0)
        return self.responder(body) if self.responder else self.default

    def billed_usd(self, price_in: float, price_out: float) -> float:
        """Dollars the provider billed (prices in USD per 1M tokens, no cached discount)."""
        with self._lock:
            return sum(p * price_in + c * price_out for _key, p, c in self.ledger) / 1e6

    def _bill(self, key: str | None, usage: dict[str, Any]) -> None:
        with self._lock:
            bill_key = key or f"anon-{len(self.billed)}"
            self.billed[bill_key] = self.billed.get(bill_key, 0) + 1
            self.ledger.append((key, int(usage["prompt_tokens"]), int(usage["completion_tokens"])))

    def answer(self, body: dict[str, Any], key: str | None) -> tuple[int, bytes, dict[str, str]]:
        """Return (status, body, headers) for one chat-completions request (status 0: drop the connection)."""
        with self._lock:
            cached = self._cache.get(key) if key and self.honour_idempotency else None
            received = len(self.requests) + 1
        if self.on_receive is not None:
            self.on_receive(received)
        if cached is not None:
            self.next_reply(body, key)
            return 200, cached, {}
        reply = self.next_reply(body, key)
        if reply.latency:
            time.sleep(reply.latency)
        if self.reject_json_schema and (body.get("response_format") or {}).get("type") == "json_schema":
            message = "Input should be 'text' or 'json_object' (response_format.type json_schema)"
            return 500, json.dumps({"error": {"message": message}}).encode(), {}
        if reply.status != 200:
            return self._error(body, key, reply)
        completion = _completion_body(body, reply)
        if reply.malformed:
            if self.bill_malformed:
                self._bill(key, completion["usage"])
            return 200, b'{"id": "chatcmpl-broken", "choices": [', {}
        payload = json.dumps(completion).encode()
        self._bill(key, completion["usage"])
        if reply.reset_after_billing:
            return 0, b"", {}
        with self._lock:
            if key and self.honour_idempotency:
                self._cache[key] = payload
        return 200, payload, {}

    def _error(
        self, body: dict[str, Any], key: str | None, reply: Reply
    ) -> tuple[int, bytes, dict[str, str]]:
        if reply.billed_before_error:
            self._bill(key, _completion_body(body, reply)["usage"])
        headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        return reply.status, json.dumps({"error": {"message": reply.error_message}}).encode(), headers

    @property
    def completed(self) -> int:
        with self._lock:
            return sum(self.billed.values())


class _QuietServer(ThreadingHTTPServer):
    """Clients that are killed or time out drop their connections: that is the test, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _completion_body(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    prompt = json.dumps(body.get("messages", []))
    usage: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens if reply.prompt_tokens is not None else _rough_tokens(prompt),
        "completion_tokens": reply.completion_tokens
        if reply.completion_tokens is not None
        else _rough_tokens(reply.content),
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if reply.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(
                    200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode()
                )
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload, headers = server.answer(body, self.headers.get("Idempotency-Key"))
            if status == 0:  # the connection drops after the provider billed
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(status, payload, headers)
            with server._lock:
                server.answered += 1
                answered = server.answered
            if server.on_answered is not None:
                server.on_answered(answered)

    return Handler


def main() -> None:
    """``python tests/fake_openai_server.py LATENCY``: serve unique valid examples; print the base URL."""
    import itertools
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    from tests.core.conftest import unique_reply

    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    counter = itertools.count()
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(
        content=unique_reply(next(counter)), latency=latency, prompt_tokens=400, completion_tokens=120
    )
    server.start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
