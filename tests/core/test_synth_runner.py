import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from core.synth import prompts, runner, store, teachers, validators
from core.synth.budget import Price
from tests.conftest import ROOT
from tests.core.conftest import unique_reply
from tests.fake_openai_server import FakeOpenAIServer, Reply


def _settings(
    server,
    *,
    budget=1.0,
    concurrency=4,
    max_tokens=256,
    timeout=5.0,
    structured="json_schema",
    price=None,
    max_attempts=4,
):
    teacher = teachers.TeacherConfig(
        base_url=server.base_url, model="gpt-4o-mini", timeout_s=timeout, structured=structured
    )
    return runner.RunSettings(
        teacher=teacher,
        price=price or Price(0.15, 0.6, 0.075),
        budget_usd=budget,
        max_tokens=max_tokens,
        concurrency=concurrency,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        max_attempts=max_attempts,
    )


def _create(ws, settings, n=6, mode="variations", **plan_kwargs):
    frame = ws.current_dataset()
    rules = validators.rules_from_data(frame, mode, min_chars=None, max_chars=None)
    plan = prompts.PlanConfig(mode=mode, n=n, **plan_kwargs)
    return runner.create_run(ws, frame, plan, settings, rules)


def _calls(ws, run_id):
    with ws.connect() as c:
        return [
            dict(r) for r in c.execute("SELECT * FROM synth_calls WHERE run_id = ? ORDER BY id", (run_id,))
        ]


def test_happy_path_stores_everything(synth_ws, fake_server):
    run_id = _create(synth_ws, _settings(fake_server), n=6)
    assert runner.execute_run(synth_ws, run_id) == "done"
    meter = runner.progress(synth_ws, run_id)
    assert (meter.generated, meter.valid, meter.requests_done) == (6, 6, 6)
    assert meter.tokens_in == 6 * 400 and meter.tokens_out == 6 * 120
    assert meter.spent_usd == pytest.approx(6 * (400 * 0.15 + 120 * 0.6) / 1e6)
    examples = store.batch_examples(synth_ws, run_id)
    assert set(examples["source"]) == {"synthetic"}
    assert all(len(s) == 3 for s in examples["seed_ids"])
    assert examples["prompt"].str.contains("Here are real examples").all()
    assert {"batch_id", "mode", "seed_ids", "prompt"} <= set(examples.columns)
    batches = store.list_batches(synth_ws)
    assert batches.loc[0, "batch_id"] == run_id and batches.loc[0, "valid"] == 6
    body = fake_server.requests[0]
    assert body["response_format"]["type"] == "json_schema" and body["max_tokens"] == 256
    assert all(k for k in fake_server.keys)  # every request carries its idempotency key


def test_cached_input_priced_as_cached(synth_ws, fake_server):
    fake_server.responder = lambda body: Reply(
        content=unique_reply(1), prompt_tokens=400, completion_tokens=100, cached_tokens=300
    )
    run_id = _create(synth_ws, _settings(fake_server), n=1)
    runner.execute_run(synth_ws, run_id)
    meter = runner.progress(synth_ws, run_id)
    assert meter.spent_usd == pytest.approx((100 * 0.15 + 300 * 0.075 + 100 * 0.6) / 1e6)
    assert meter.cached_tokens == 300


@pytest.mark.parametrize(
    "failure, status",
    [
        (Reply(status=429, retry_after=0.05), "http_429"),
        (Reply(status=500), "http_500"),
        (Reply(status=503), "http_503"),
        (Reply(malformed=True), "malformed"),
        (Reply(latency=1.5), "timeout"),
    ],
)
def test_transient_failures_are_retried(synth_ws, fake_server, failure, status):
    fake_server.script = [failure, failure]
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1, timeout=0.5), n=2)
    assert runner.execute_run(synth_ws, run_id) == "done"
    calls = _calls(synth_ws, run_id)
    assert [c["status"] for c in calls[:2]] == [status, status]
    assert sum(c["status"] == "ok" for c in calls) == 2
    assert runner.progress(synth_ws, run_id).valid == 2


def test_retry_after_is_honoured(synth_ws, fake_server):
    fake_server.script = [Reply(status=429, retry_after=0.4)]
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=1)
    runner.execute_run(synth_ws, run_id)
    calls = _calls(synth_ws, run_id)
    assert calls[1]["at"] - calls[0]["at"] >= 0.35  # the server's wait was respected


def test_gives_up_after_max_attempts_and_keeps_going(synth_ws, fake_server):
    fake_server.script = [Reply(status=500)] * 3
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1, max_attempts=3), n=2)
    # the run goes on past the request that gave up, and ends saying so: never "done"
    assert runner.execute_run(synth_ws, run_id) == "failed"
    meter = runner.progress(synth_ws, run_id)
    assert (meter.requests_failed, meter.requests_done, meter.valid) == (1, 1, 1)
    assert meter.reason.startswith("1 of 2 requests gave up after their retries (last: gave up after 3")
    assert "http_500" in meter.reason and "--retry-failed" in meter.reason


def test_auth_error_stops_the_run(synth_ws, fake_server):
    message = "Incorrect API key provided: sk-test-secret-123456. Find your key at ..."
    fake_server.script = [Reply(status=401, error_message=message)] * 10
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=3)
    assert runner.execute_run(synth_ws, run_id, api_key="sk-test-secret-123456") == "failed"
    meter = runner.progress(synth_ws, run_id)
    assert meter.requests_pending == 3
    assert (
        meter.reason == "the teacher answered HTTP 401: Incorrect API key provided: ***. Find your key at ..."
    )
    assert not any(
        b"secret" in f.read_bytes() for f in synth_ws.root.rglob("*") if f.is_file()
    )  # db, WAL, files
    assert "Incorrect API key provided: ***" in _calls(synth_ws, run_id)[0]["error"]


def test_capability_is_detected_and_adapted(synth_ws, fake_server):
    fake_server.reject_json_schema = True
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=3)
    assert runner.execute_run(synth_ws, run_id) == "done"
    formats = [b.get("response_format", {}).get("type") for b in fake_server.requests]
    assert formats[0] == "json_schema" and formats[1:] == ["json_object"] * 3
    assert fake_server.requests[1]["response_format"]["schema"]["required"] == ["examples"]
    assert runner.progress(synth_ws, run_id).valid == 3
    assert runner._CAPABILITIES[(fake_server.base_url, "gpt-4o-mini")] == "json_object_schema"
    saved = synth_ws.get_state("synth.capabilities")
    assert saved == {f"{fake_server.base_url} gpt-4o-mini": "json_object_schema"}


@pytest.mark.parametrize(
    "content, valid",
    [
        ("```json\n" + unique_reply(5) + "\n```", True),
        ("Sure! Here it is: " + unique_reply(6) + " Hope this helps.", True),
        ("I cannot do that.", False),
        ('{"examples": [{"user": "only a question"}]}', False),
    ],
)
def test_replies_are_parsed_defensively(synth_ws, fake_server, content, valid):
    fake_server.responder = lambda body: Reply(content=content)
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=1)
    runner.execute_run(synth_ws, run_id)
    frame = store.batch_examples(synth_ws, run_id, valid_only=False)
    assert len(frame) == 1 and bool(frame.loc[0, "valid"]) is valid
    if not valid:
        assert frame.loc[0, "reasons"]


def test_budget_stops_before_overspending(synth_ws, fake_server):
    settings = _settings(fake_server, budget=0.002, price=Price(1.0, 4.0), max_tokens=200, concurrency=2)
    run_id = _create(synth_ws, settings, n=20)
    assert runner.execute_run(synth_ws, run_id) == "budget"
    meter = runner.progress(synth_ws, run_id)
    assert 0 < meter.requests_done < 20
    assert meter.spent_usd <= 0.002


@pytest.mark.parametrize("provider, seeded", [("local", True), ("openai", True), ("anthropic", False)])
def test_sampling_takes_a_seed_where_the_endpoint_accepts_one(synth_ws, fake_server, provider, seeded):
    import dataclasses

    settings = _settings(fake_server, concurrency=1)
    settings = dataclasses.replace(settings, teacher=dataclasses.replace(settings.teacher, provider=provider))
    fake_server.script = [Reply(malformed=True)]  # the first request is retried once
    runner.execute_run(synth_ws, _create(synth_ws, settings, n=3))
    seeds = [body.get("seed") for body in fake_server.requests]
    if not seeded:
        assert seeds == [None] * len(seeds)
        return
    # one seed per request; a retry sends the very body its Idempotency-Key was first sent with
    assert len(seeds) == 4 and seeds[0] == seeds[1] and len(set(seeds)) == 3
    fake_server.requests.clear()
    runner.execute_run(synth_ws, _create(synth_ws, settings, n=3))
    assert [body.get("seed") for body in fake_server.requests] == seeds[1:]  # same run seed, same draws


def test_stop_while_a_retry_waits_for_money_is_a_cancel_not_out_of_budget(synth_ws, fake_server):
    counter = itertools.count()

    def respond(body):
        k = next(counter)
        if k == 0:
            return Reply(malformed=True)  # unknown outcome: booked at risk, the retry must reserve again
        return Reply(content=unique_reply(k), latency=3.0 if k == 1 else 0.0)  # holds its money 3 s

    fake_server.responder = respond
    price = Price(1.0, 4.0)
    probe = _create(synth_ws, _settings(fake_server, price=price, max_tokens=200), n=2)
    worst = price.worst_case(store.pending_requests(synth_ws, probe)[0].prompt_tokens_est, 200)
    settings = _settings(fake_server, budget=2.5 * worst, price=price, max_tokens=200, concurrency=2)
    run_id = _create(synth_ws, settings, n=2)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()  # the person presses Stop while the retry waits
    assert runner.execute_run(synth_ws, run_id, stop_event=stop) == "cancel"
    assert store.get_run(synth_ws, run_id)["status"] == "cancel"


def test_timed_out_attempts_count_against_the_budget_at_their_worst_case(synth_ws, fake_server):
    # A provider may bill a request whose answer never arrived: every timed-out attempt is booked at
    # its reservation, and a retry is only sent if the budget can pay for it again.
    fake_server.responder = lambda body: Reply(latency=1.5)  # always too slow: every attempt times out
    price = Price(1.0, 4.0)
    settings = _settings(fake_server, budget=0.0025, price=price, max_tokens=200, timeout=0.4, concurrency=2)
    run_id = _create(synth_ws, settings, n=6)
    assert runner.execute_run(synth_ws, run_id) == "budget"
    calls = _calls(synth_ws, run_id)
    worst = max(c["at_risk"] for c in calls)
    assert calls and all(c["status"] == "timeout" and c["at_risk"] > 0 for c in calls)
    assert len(fake_server.keys) == len(calls) == int(0.0025 // worst)  # no attempt the budget can't cover
    meter = runner.progress(synth_ws, run_id)
    assert meter.spent_usd == 0 and meter.spent_usd + meter.at_risk_usd <= 0.0025
    assert meter.requests_pending > 0 and meter.budget_fraction > 0.5
    # a resumed run remembers what is at risk and sends nothing more
    sent = len(fake_server.keys)
    assert runner.execute_run(synth_ws, run_id) == "budget"
    assert len(fake_server.keys) == sent


def test_stop_keeps_what_finished_and_resume_sends_only_the_rest(synth_ws, fake_server):
    counter = itertools.count()
    fake_server.responder = lambda body: Reply(content=unique_reply(next(counter)), latency=0.05)
    run_id = _create(synth_ws, _settings(fake_server, concurrency=2), n=30)
    runner.start_background(synth_ws, run_id)
    deadline = time.monotonic() + 10
    while runner.progress(synth_ws, run_id).requests_done < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop_run(synth_ws, run_id)
    while runner.is_active(synth_ws, run_id):
        time.sleep(0.02)
    meter = runner.progress(synth_ws, run_id)
    assert meter.status == "cancel" and 4 <= meter.requests_done < 30
    assert meter.generated == meter.requests_done  # everything that finished is kept
    sent_before = list(fake_server.keys)
    assert runner.execute_run(synth_ws, run_id) == "done"
    resent = fake_server.keys[len(sent_before) :]
    assert not set(resent) & set(sent_before)
    assert runner.progress(synth_ws, run_id).generated == 30


def test_a_run_is_running_as_soon_as_it_is_started(synth_ws, fake_server, monkeypatch):
    # the page reruns right after starting a run: if the thread has not got going yet, the run must
    # still read as running, or the page draws a meter that never polls
    release = threading.Event()
    original = runner.execute_run

    def slow_start(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "execute_run", slow_start)
    run_id = _create(synth_ws, _settings(fake_server), n=2)
    thread = runner.start_background(synth_ws, run_id)
    try:
        assert store.get_run(synth_ws, run_id)["status"] == "running"
        assert runner.progress(synth_ws, run_id).alive
    finally:
        release.set()
        thread.join(timeout=30)
    assert store.get_run(synth_ws, run_id)["status"] == "done"


def test_progress_meter_fields(synth_ws, fake_server):
    run_id = _create(synth_ws, _settings(fake_server), n=4)
    runner.execute_run(synth_ws, run_id)
    meter = runner.progress(synth_ws, run_id)
    assert meter.usd_per_valid == pytest.approx(meter.spent_usd / 4)
    assert meter.projected_usd == pytest.approx(meter.spent_usd)
    assert 0 < meter.budget_fraction < 1 and meter.rate_per_s > 0 and not meter.alive


def test_kill_and_resume_loses_nothing_and_bills_nothing_twice(synth_ws):
    counter = itertools.count()
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(
        content=unique_reply(next(counter)), latency=0.15, prompt_tokens=300, completion_tokens=80
    )
    with server:
        run_id = _create(synth_ws, _settings(server, concurrency=3), n=24)
        env = {**os.environ, "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "core.synth.runner", str(synth_ws.root), run_id]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while runner.progress(synth_ws, run_id).requests_done < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        before = store.batch_examples(synth_ws, run_id)
        done_before = set(before["id"])
        with synth_ws.connect() as c:
            keys_done = {
                r[0]
                for r in c.execute(
                    "SELECT key FROM synth_requests WHERE run_id = ? AND status = 'done'", (run_id,)
                )
            }
        assert 6 <= len(done_before) < 24
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    after = store.batch_examples(synth_ws, run_id)
    assert done_before <= set(after["id"])  # no example lost
    assert len(after) == 24
    assert all(server.keys.count(k) == 1 for k in keys_done)  # finished requests were never sent again
    assert all(count == 1 for count in server.billed.values())  # no request billed twice
    assert sum(server.billed.values()) == 24


def test_stop_during_a_retry_wait_keeps_the_request_pending(synth_ws, fake_server):
    fake_server.script = [Reply(status=429, retry_after=30)]
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=1)
    runner.start_background(synth_ws, run_id)
    deadline = time.monotonic() + 10
    while not _calls(synth_ws, run_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop_run(synth_ws, run_id)
    while runner.is_active(synth_ws, run_id):
        time.sleep(0.02)
    meter = runner.progress(synth_ws, run_id)
    assert (meter.status, meter.requests_pending, meter.spent_usd) == ("cancel", 1, 0.0)


def test_gap_language_target_is_checked(synth_ws, fake_server):
    targets = ({"kind": "language", "value": "de", "missing": 2, "description": "German", "examples": []},)
    run_id = _create(synth_ws, _settings(fake_server), n=2, mode="gaps", targets=targets)
    runner.execute_run(synth_ws, run_id)
    frame = store.batch_examples(synth_ws, run_id, valid_only=False)
    assert set(frame["language"]) == {"de"}
    assert all(
        any("expected 'de'" in r for r in reasons) for reasons in frame["reasons"]
    )  # replies are English


def test_a_reply_that_gives_a_real_rows_answer_to_a_new_question_is_rejected(synth_ws, fake_server):
    import json

    frame = synth_ws.current_dataset()
    long = frame[frame["response_text"].str.split().str.len() >= validators.COPIED_ANSWER_WORDS]
    real = long.iloc[0]
    question = "A question no row of the real data asks, about zebras and the moon?"
    fake_server.responder = lambda body: Reply(
        content=json.dumps({"user": question, "assistant": real["response_text"]})
    )
    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=1)
    runner.execute_run(synth_ws, run_id)
    examples = store.batch_examples(synth_ws, run_id, valid_only=False)
    assert not bool(examples.loc[0, "valid"])
    assert any(r.startswith("copied_answer:") for r in examples.loc[0, "reasons"])
