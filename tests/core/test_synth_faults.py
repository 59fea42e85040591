"""The hard budget against faults, with real processes, real SQLite and a loopback provider with a ledger.

The provider here bills every generation it completes, whatever the ``Idempotency-Key`` (the worst
provider there is), and bills it when it is done, even if the client was killed or gave up waiting.
The invariant checked everywhere: billed by the provider <= spent + at risk (the meter) <= budget.
"""

import itertools
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from core import lease
from core.synth import runner, store, teachers
from core.synth.budget import Price
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.core.conftest import support_frame, unique_reply
from tests.fake_openai_server import FakeOpenAIServer, Reply

PRICE_IN, PRICE_OUT = 2.0, 8.0
_ENV = {**os.environ, "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(ROOT)}
_WAIT_S = 120  # the deadline of every wait on a process or an event below


def _write_seeds(path):
    frame = support_frame()
    path.write_text(
        "".join(
            json.dumps({"messages": m, "category": c}) + "\n"
            for m, c in zip(frame["messages"], frame["category"], strict=True)
        )
    )
    return path


def _ledger_server(latency=0.15, responder=None):
    server = FakeOpenAIServer(honour_idempotency=False, bill_malformed=True)
    counter = itertools.count()
    server.responder = responder or (
        lambda body: Reply(content=unique_reply(next(counter)), latency=latency, completion_tokens=80)
    )
    return server


def _command(tmp_path, server, *, budget=1.0, n=40, concurrency=8, run_id="r1", extra=()):
    return [
        sys.executable,
        "-m",
        "core",
        "generate",
        str(tmp_path / "seeds.jsonl"),
        "--n",
        str(n),
        "--budget",
        str(budget),
        "--model",
        "m",
        "--base-url",
        server.base_url,
        "--price-in",
        str(PRICE_IN),
        "--price-out",
        str(PRICE_OUT),
        "--concurrency",
        str(concurrency),
        "--max-tokens",
        "200",
        "--timeout",
        "5",
        "--workspace",
        str(tmp_path / "ws"),
        "--run-id",
        run_id,
        "--create",
        "--out",
        str(tmp_path / "out.jsonl"),
        "--json",
        *extra,
    ]


def _start(command, **kwargs):
    return subprocess.Popen(
        command, cwd=ROOT, env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


class _Trigger:
    """An event set when the server's count of received (or answered) requests reaches a mark."""

    def __init__(self, server):
        self.event = threading.Event()
        self.mark = None
        server.on_receive = self._received
        server.on_answered = self._answered
        self.kind = "receive"

    def arm(self, kind, mark):
        self.kind, self.mark = kind, mark
        self.event.clear()

    def _received(self, count):
        if self.kind == "receive" and self.mark is not None and count >= self.mark:
            self.event.set()

    def _answered(self, count):
        if self.kind == "answer" and self.mark is not None and count >= self.mark:
            self.event.set()


def _kill_when(process, trigger, kind, mark):
    trigger.arm(kind, mark)
    fired = trigger.event.wait(_WAIT_S)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=_WAIT_S)
    return fired


def _meter(tmp_path, run_id="r1"):
    return runner.progress(Workspace.open(tmp_path / "ws"), run_id)


def _assert_invariant(server, meter):
    billed = server.billed_usd(PRICE_IN, PRICE_OUT)
    assert billed <= meter.spent_usd + meter.at_risk_usd + 1e-12, (billed, meter)
    assert meter.spent_usd + meter.at_risk_usd <= meter.budget_usd + 1e-12


def _rebilled_within_at_risk(tmp_path, server, run_id="r1"):
    """Every generation billed beyond the answers stored is one the meter booked at risk."""
    ws = Workspace.open(tmp_path / "ws")
    with ws.connect() as c:
        ok = c.execute(
            "SELECT COUNT(*) FROM synth_calls WHERE run_id = ? AND status = 'ok'", (run_id,)
        ).fetchone()[0]
        risky = c.execute(
            "SELECT COUNT(*) FROM synth_calls WHERE run_id = ? AND at_risk > 0", (run_id,)
        ).fetchone()[0]
    assert len(server.ledger) <= ok + risky


def _examples_unique_and_complete(tmp_path, expected, run_id="r1"):
    ws = Workspace.open(tmp_path / "ws")
    examples = store.batch_examples(ws, run_id, valid_only=False)
    assert len(examples) == expected
    assert examples["id"].is_unique
    with ws.connect() as c:
        pending = c.execute(
            "SELECT COUNT(*) FROM synth_requests WHERE run_id = ? AND status != 'done'", (run_id,)
        ).fetchone()[0]
    assert pending == 0


@pytest.mark.parametrize(
    "scenario, seed",
    [("in_flight", 1), ("writing_answers", 2), ("retries", 3)],
)
def test_sigkill_at_random_points_never_bills_beyond_the_meter(tmp_path, scenario, seed):
    rng = random.Random(seed)
    _write_seeds(tmp_path / "seeds.jsonl")
    counter = itertools.count()
    first_seen: dict[str, int] = {}  # each distinct request (its messages and seed) in the order first seen
    lock = threading.Lock()

    def respond(body):
        key = json.dumps([body.get("messages"), body.get("seed")], sort_keys=True)
        with lock:
            k = next(counter)
            first = key not in first_seen
            order = first_seen.setdefault(key, len(first_seen))
        # every third request fails once, its first time: a 503 decided by the request, not by the order in
        # which a loaded machine interleaves the attempts (five 503s in a row would give the request up)
        if scenario == "retries" and first and order % 3 == 1:
            return Reply(status=503, latency=0.05)
        return Reply(content=unique_reply(k), latency=0.15, completion_tokens=80)

    server = _ledger_server(responder=respond)
    with server:
        trigger = _Trigger(server)
        command = _command(tmp_path, server)
        for _kill in range(3):
            seen = len(server.requests) if scenario != "writing_answers" else server.answered
            process = _start(command)
            kind = "answer" if scenario == "writing_answers" else "receive"
            assert _kill_when(process, trigger, kind, seen + rng.randint(2, 9)), process.stderr.read()
            _assert_invariant(server, _meter(tmp_path))
        finished = subprocess.run(
            command, cwd=ROOT, env=_ENV, capture_output=True, text=True, timeout=_WAIT_S
        )
    assert finished.returncode == 0, (finished.stdout[-2000:], finished.stderr[-2000:])
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["status"] == "done" and summary["generated"] == 40
    meter = _meter(tmp_path)
    _assert_invariant(server, meter)
    _rebilled_within_at_risk(tmp_path, server)
    _examples_unique_and_complete(tmp_path, 40)
    assert meter.at_risk_usd > 0  # the kills left billed-but-unanswered attempts, and they stay counted


def test_sigkill_with_a_binding_budget_never_passes_it(tmp_path):
    _write_seeds(tmp_path / "seeds.jsonl")
    server = _ledger_server()
    with server:
        trigger = _Trigger(server)
        command = _command(tmp_path, server, budget=0.05, n=60)
        for mark in (5, 14):
            process = _start(command)
            assert _kill_when(process, trigger, "receive", mark)
        finished = subprocess.run(
            command, cwd=ROOT, env=_ENV, capture_output=True, text=True, timeout=_WAIT_S
        )
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["status"] == "budget" and "the budget is used" in summary["reason"]
    assert finished.returncode == 0  # stopped by the budget with examples generated and none given up
    meter = _meter(tmp_path)
    _assert_invariant(server, meter)
    assert server.billed_usd(PRICE_IN, PRICE_OUT) <= 0.05
    _rebilled_within_at_risk(tmp_path, server)


def test_a_second_runner_on_a_running_run_is_refused_and_nothing_is_sent_twice(tmp_path):
    _write_seeds(tmp_path / "seeds.jsonl")
    server = _ledger_server(latency=0.1)
    with server:
        trigger = _Trigger(server)
        command = _command(tmp_path, server, concurrency=2, n=30)
        first = _start(command)
        trigger.arm("receive", 1)
        assert trigger.event.wait(_WAIT_S)  # the first runner is sending
        second = subprocess.run(command, cwd=ROOT, env=_ENV, capture_output=True, text=True, timeout=_WAIT_S)
        out, err = first.communicate(timeout=_WAIT_S)
    assert second.returncode == 3, second.stderr
    assert f"pid {first.pid}" in second.stderr and "python -m core generate" in second.stderr
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    assert first.returncode == 0, err[-2000:]
    keys = [key for key, _p, _c in server.ledger]
    assert len(keys) == len(set(keys)) == 30  # every request billed once
    _assert_invariant(server, _meter(tmp_path))


def test_two_runners_started_at_once_run_the_requests_once(tmp_path):
    _write_seeds(tmp_path / "seeds.jsonl")
    server = _ledger_server(latency=0.1)
    with server:
        command = _command(tmp_path, server, concurrency=2, n=24, budget=0.1)
        processes = [_start(command), _start(command)]
        results = [p.communicate(timeout=_WAIT_S) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes in ([0, 0], [0, 3]), results  # never a crash of the loser (IntegrityError before)
    assert not any("Traceback" in err for _out, err in results)
    keys = [key for key, _p, _c in server.ledger]
    assert len(keys) == len(set(keys)) == 24
    _assert_invariant(server, _meter(tmp_path))


def test_the_page_and_the_command_line_share_the_lease(tmp_path, support_seeds):
    from tests.core.test_synth_runner import _create, _settings

    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(support_seeds, note="seeds", name="s.jsonl", source_format="openai-sft")
    server = _ledger_server(latency=0.05)
    with server:
        run_id = _create(ws, _settings(server, concurrency=1), n=3)
        held = lease.acquire(ws, store.lease_name(run_id), label="python -m core generate")
        try:
            with pytest.raises(lease.LeaseHeld, match=r"python -m core generate \(pid \d+ on"):
                runner.start_background(ws, run_id)
            meter = runner.progress(ws, run_id)
            assert meter.alive and meter.holder.startswith("python -m core generate (pid")
        finally:
            held.release()
        thread = runner.start_background(ws, run_id)
        thread.join(timeout=_WAIT_S)
    assert runner.progress(ws, run_id).status == "done"


def test_a_dead_holder_is_taken_over_and_a_live_one_is_not(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        lease.ensure(ws)
        with ws.connect() as c:
            c.execute(
                "INSERT INTO leases VALUES ('x', 'tok', ?, ?, ?, 'another runner', 0, ?)",
                (child.pid, lease._HOST, lease._process_start(child.pid), time.time()),
            )
        with pytest.raises(lease.LeaseHeld, match=f"another runner \\(pid {child.pid}"):
            lease.acquire(ws, "x", label="me")
    finally:
        child.kill()
        child.wait(timeout=_WAIT_S)
    taken = lease.acquire(ws, "x", label="me")
    assert taken.taken_over is not None and taken.taken_over.pid == child.pid
    taken.release()


def test_a_runner_whose_lease_was_taken_over_sends_nothing_more(synth_ws, fake_server):
    from tests.core.test_synth_runner import _create, _settings

    run_id = _create(synth_ws, _settings(fake_server, concurrency=1), n=5)
    mine = lease.acquire(synth_ws, store.lease_name(run_id), label="frozen runner")
    with synth_ws.connect() as c:  # someone took it over (say, this runner was frozen past the TTL)
        c.execute("UPDATE leases SET token = 'theirs' WHERE name = ?", (store.lease_name(run_id),))
    assert runner.execute_run(synth_ws, run_id, lease=mine) == "lost"
    assert fake_server.requests == []
    assert store.get_run(synth_ws, run_id)["status"] == "created"  # the new holder's to write


def test_storms_never_pass_the_budget_and_the_meter_covers_the_ledger(synth_ws):
    from tests.core.test_synth_runner import _create, _settings

    counter = itertools.count()

    def respond(body):
        k = next(counter)
        if k % 3 == 2:
            return Reply(status=429, retry_after=0)
        if k % 11 in (4, 5):
            return Reply(status=502, billed_before_error=True)  # a gateway's error; the provider billed
        if k % 11 == 6:
            return Reply(status=500)  # the provider's own error: nothing billed
        if k % 7 == 3:
            return Reply(content=unique_reply(k), latency=1.0)  # hangs past the timeout, billed anyway
        if k % 13 == 8:
            return Reply(content=unique_reply(k), reset_after_billing=True)
        if k % 17 == 9:
            return Reply(malformed=True)
        return Reply(content=unique_reply(k), completion_tokens=90)

    server = _ledger_server(responder=respond)
    with server:
        settings = _settings(
            server, budget=0.03, concurrency=4, timeout=0.5, max_attempts=6, price=Price(PRICE_IN, PRICE_OUT)
        )
        run_id = _create(synth_ws, settings, n=40)
        outcome = runner.execute_run(synth_ws, run_id)
    meter = runner.progress(synth_ws, run_id)
    _assert_invariant(server, meter)
    assert meter.spent_usd <= server.billed_usd(PRICE_IN, PRICE_OUT) + 1e-12  # spent is what was answered
    assert outcome in ("budget", "done", "failed") and meter.requests_retried > 0
    calls = {c["status"] for c in _calls(synth_ws, run_id)}
    assert {"http_429", "http_502", "http_500", "timeout", "connection", "malformed", "ok"} <= calls


def test_a_gateway_error_stays_at_risk_and_a_provider_error_costs_nothing(synth_ws):
    from tests.core.test_synth_runner import _create, _settings

    statuses = iter([504, 500])

    def respond(body):
        status = next(statuses, 200)
        return Reply(content=unique_reply(status), status=status, billed_before_error=status == 504)

    server = _ledger_server(responder=respond)
    with server:
        settings = _settings(
            server, budget=1.0, concurrency=1, max_attempts=3, price=Price(PRICE_IN, PRICE_OUT)
        )
        run_id = _create(synth_ws, settings, n=1)
        assert runner.execute_run(synth_ws, run_id) == "done"
    risk = {c["status"]: c["at_risk"] for c in _calls(synth_ws, run_id)}
    assert risk["http_504"] > 0 and risk["http_500"] == 0
    _assert_invariant(server, runner.progress(synth_ws, run_id))


def _calls(ws, run_id):
    with ws.connect() as c:
        return [dict(r) for r in c.execute("SELECT * FROM synth_calls WHERE run_id = ?", (run_id,))]


def test_connection_refused_is_not_at_risk_and_fails_the_run_with_the_reason(synth_ws):
    from tests.core.test_synth_runner import _create

    server = FakeOpenAIServer().start()
    url = server.base_url
    server.stop()  # nothing listens there any more
    settings = runner.RunSettings(
        teacher=teachers.TeacherConfig(base_url=url, model="m", timeout_s=2),
        price=Price(PRICE_IN, PRICE_OUT),
        budget_usd=1.0,
        concurrency=2,
        max_attempts=2,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
    )
    run_id = _create(synth_ws, settings, n=3)
    assert runner.execute_run(synth_ws, run_id) == "failed"
    meter = runner.progress(synth_ws, run_id)
    assert meter.at_risk_usd == 0 and meter.generated == 0 and meter.requests_pending == 3
    assert meter.reason.startswith(f"the teacher at {url} could not be reached after 2 attempts")
    assert {c["status"] for c in _calls(synth_ws, run_id)} == {"unreachable"}


def test_retry_failed_sends_the_given_up_requests_again(tmp_path, capsys):
    from core.__main__ import main

    _write_seeds(tmp_path / "seeds.jsonl")
    server = _ledger_server(latency=0)
    server.script = [Reply(status=500)] * 5  # the first request gives up after its 5 attempts
    with server:
        command = _command(tmp_path, server, n=4, concurrency=1)[3:]
        assert main(command) == 1
        first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert first["status"] == "failed" and first["failed"] == 1 and first["generated"] == 3
        assert "gave up after 5 attempts (last: http_500" in first["reason"]
        assert main([*command, "--retry-failed"]) == 0
        captured = capsys.readouterr()
    second = json.loads(captured.out.strip().splitlines()[-1])
    assert second["status"] == "done" and second["generated"] == 4 and second["failed"] == 0
    assert "1 request(s) that gave up will be sent again" in captured.err


def _cli_settings(server, *, budget, concurrency):
    """The settings ``_command`` creates a run with, for a run made in the test and resumed by it."""
    teacher = teachers.TeacherConfig(base_url=server.base_url, model="m", timeout_s=5)
    return runner.RunSettings(
        teacher=teacher,
        price=Price(PRICE_IN, PRICE_OUT),
        budget_usd=budget,
        max_tokens=200,
        concurrency=concurrency,
    )


def _fsize_limit(limit):
    """For the child: files may not grow past ``limit`` bytes (a full disk, without root or a mount)."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_mid_run_stops_with_one_line_and_a_resume_finishes_within_budget(tmp_path):
    from tests.core.test_synth_runner import _create

    _write_seeds(tmp_path / "seeds.jsonl")
    server = _ledger_server(latency=0.05)
    with server:
        ws = Workspace.open(tmp_path / "ws")
        ws.save_dataset(support_frame(), note="seeds", name="seeds.jsonl", source_format="openai-sft")
        run_id = _create(ws, _cli_settings(server, budget=2.0, concurrency=4), n=60)
        with sqlite3.connect(ws.db_path) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        limit = ws.db_path.stat().st_size + 64 * 1024  # a few dozen commits, then the disk is "full"
        command = _command(tmp_path, server, n=60, concurrency=4, budget=2.0, run_id=run_id)
        full = subprocess.run(
            command,
            cwd=ROOT,
            env=_ENV,
            capture_output=True,
            text=True,
            timeout=_WAIT_S,
            preexec_fn=_fsize_limit(limit),
        )
        assert full.returncode == 1, full.stderr
        assert "Traceback" not in full.stderr
        if full.stderr:  # the run's outcome could not be written either: one line says so
            assert full.stderr.count("\n") == 1 and full.stderr.startswith("error: run ")
            assert str(ws.db_path) in full.stderr
        else:  # the outcome could still be written: the run says it failed, and why
            summary = json.loads(full.stdout.strip().splitlines()[-1])
            assert summary["status"] == "failed"
            assert summary["reason"].startswith(f"could not write to the workspace database {ws.db_path}")
        assert 0 < len(server.requests) < 60  # it stopped part-way, when the disk filled
        _assert_invariant(server, runner.progress(ws, run_id))
        resumed = subprocess.run(command, cwd=ROOT, env=_ENV, capture_output=True, text=True, timeout=_WAIT_S)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_invariant(server, runner.progress(ws, run_id))
    _rebilled_within_at_risk(tmp_path, server, run_id)
    _examples_unique_and_complete(tmp_path, 60, run_id)


def _base_args(tmp_path, server_url="http://127.0.0.1:9/v1"):
    return {
        "seeds": str(_write_seeds(tmp_path / "seeds.jsonl")),
        "--n": "5",
        "--budget": "1",
        "--model": "m",
        "--base-url": server_url,
        "--price-in": "2",
        "--price-out": "8",
        "--workspace": str(tmp_path / "ws"),
        "--out": str(tmp_path / "out.jsonl"),
    }


def _argv(args):
    out = ["generate", args.pop("seeds")]
    for key, value in args.items():
        out += [key] if value is None else [key, value]
    return out


def _zero_byte_db(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "workspace.sqlite").write_bytes(b"")


def _truncated_db(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(support_frame(), note="x", name="x.jsonl", source_format="openai-sft")
    with sqlite3.connect(ws.db_path) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = ws.db_path.read_bytes()
    ws.db_path.write_bytes(data[: len(data) // 2])
    (tmp_path / "ws" / "workspace.sqlite-wal").unlink(missing_ok=True)
    from core import workspace

    workspace._CHECKED.clear()


@pytest.mark.parametrize(
    "change, prepare, message",
    [
        ({"--budget": "nan"}, None, "--budget must be a finite number, at least 0"),
        ({"--budget": "inf"}, None, "--budget must be a finite number"),
        ({"--budget": "-1"}, None, "--budget must be a finite number, at least 0"),
        ({"--budget": "0.000001"}, None, "does not cover even one request: its worst case is $"),
        ({"--timeout": "nan"}, None, "--timeout must be a finite number, more than 0"),
        ({"--timeout": "0"}, None, "--timeout must be a finite number, more than 0"),
        (
            {"--paraphrase-cosine": "2"},
            None,
            "--paraphrase-cosine must be a finite number, more than 0 and at most 1",
        ),
        ({"--price-in": "nan"}, None, "--price-in must be a finite number"),
        ({"--n": "0"}, None, "--n must be in 1..100,000, got 0 (every request of a run is planned"),
        ({"--n": "100000000"}, None, "--n must be in 1..100,000, got 100000000"),
        ({"--concurrency": "0"}, None, "--concurrency must be in 1..256"),
        ({"--out": "{tmp}"}, None, "is a folder: give the file to write the examples to"),
        ({"seeds": "{tmp}"}, None, "is a folder: give a dataset file"),
        ({"seeds": "{tmp}/missing.jsonl"}, None, "missing.jsonl: no such file"),
        ({"--workspace": "{tmp}/seeds.jsonl"}, None, "is a file, not a folder"),
        ({}, _zero_byte_db, "is empty (0 bytes): it is not a workspace database"),
        ({}, _truncated_db, "is damaged"),
        ({"--run-id": "nope"}, lambda tmp: Workspace.open(tmp / "ws"), "no run 'nope' in"),
        ({"--run-id": "bad id!"}, None, "--run-id 'bad id!': use letters, digits"),
        ({"--create": None}, None, "--create names a new run: give it with --run-id"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_sent(tmp_path, capsys, change, prepare, message):
    from core.__main__ import main

    server = FakeOpenAIServer().start()
    try:
        args = _base_args(tmp_path, server.base_url)
        if prepare is not None:
            prepare(tmp_path)
        args.update({k: (v.format(tmp=tmp_path) if isinstance(v, str) else v) for k, v in change.items()})
        if "seeds" in change:
            _write_seeds(tmp_path / "seeds.jsonl")
        before = sorted(p.name for p in tmp_path.iterdir())
        code = main(_argv(args))
        err = capsys.readouterr().err
    finally:
        server.stop()
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert server.requests == []
    if prepare is _zero_byte_db:
        assert (tmp_path / "ws" / "workspace.sqlite").stat().st_size == 0  # never silently re-created
    if prepare is None and "--workspace" not in change and "does not cover" not in message:
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    if "does not cover" in message:  # checked before the seeds or a run are stored
        ws = Workspace.open(tmp_path / "ws")
        assert ws.dataset_version() is None and store.run_ids(ws) == []


def test_a_read_only_workspace_is_refused_with_its_path(tmp_path, capsys):
    from core.__main__ import main

    ws = Workspace.open(tmp_path / "ws")
    with sqlite3.connect(ws.db_path) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in ("-wal", "-shm"):
        (tmp_path / "ws" / f"workspace.sqlite{extra}").unlink(missing_ok=True)
    from core import workspace

    workspace._CHECKED.clear()
    flagged = subprocess.run(["chattr", "+i", str(ws.db_path)], capture_output=True, text=True)
    if flagged.returncode != 0:  # root bypasses file modes: only the immutable flag makes a file read-only
        pytest.skip(f"chattr +i is not supported here: {flagged.stderr.strip()}")
    try:
        code = main(_argv(_base_args(tmp_path)))
        err = capsys.readouterr().err
    finally:
        subprocess.run(["chattr", "-i", str(ws.db_path)], check=True)
    assert code == 2 and "read-only" in err and str(ws.db_path) in err and err.count("\n") == 1


def test_a_resume_with_other_settings_is_refused_and_a_new_budget_applies(tmp_path, capsys):
    from core.__main__ import main

    server = _ledger_server(latency=0)
    with server:
        args = {**_base_args(tmp_path, server.base_url), "--run-id": "r1", "--create": None, "--n": "2"}
        assert main(_argv(dict(args))) == 0
        capsys.readouterr()
        other = {**args, "--base-url": "http://127.0.0.1:9/v1"}
        assert main(_argv(other)) == 2
        err = capsys.readouterr().err
        assert "run r1 was created with other settings: --base-url 'http://127.0.0.1:9/v1'" in err
        more = {**args, "--budget": "3", "--n": "2"}
        assert main(_argv(more)) == 0
        assert "note: resuming run r1 with budget $1 -> $3" in capsys.readouterr().err
    assert store.get_run(Workspace.open(tmp_path / "ws"), "r1")["budget_usd"] == 3.0
