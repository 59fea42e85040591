import importlib.util
import itertools
import time

import pytest

from core.synth import runner, store, validators
from tests.conftest import ROOT
from tests.core.conftest import support_frame, unique_reply
from tests.fake_openai_server import FakeOpenAIServer, Reply
from tests.pages.conftest import app_test

PAGE = ROOT / "pages" / "5_Synthetic.py"
CUSTOM = "Custom base URL"


@pytest.fixture
def support_ws(tmp_path):
    from core.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(support_frame(), note="test data", name="support.jsonl", source_format="openai-sft")
    return ws


@pytest.fixture
def slow_server():
    counter = itertools.count()
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(
        content=unique_reply(next(counter)), latency=0.1, prompt_tokens=400, completion_tokens=120
    )
    with server:
        yield server


def _configure(at, server):
    at.selectbox(key="synth_preset").select(CUSTOM).run()
    at.text_input(key=f"synth_model_{CUSTOM}").input("my-model").run()
    at.text_input(key=f"synth_base_url_{CUSTOM}").input(server.base_url).run()
    at.number_input(key="synth_price_in").set_value(1.0).run()
    at.number_input(key="synth_price_out").set_value(4.0).run()
    return at


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def test_page_shows_estimate_and_local_teacher_by_default(support_ws):
    at = app_test(PAGE, support_ws.root).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="synth_preset").value.startswith("Local teacher")
    assert any(m.label.startswith("Offline teacher") for m in at.metric)


def test_unknown_model_needs_a_price_before_it_can_run(support_ws, slow_server):
    at = app_test(PAGE, support_ws.root).run()
    at.selectbox(key="synth_preset").select(CUSTOM).run()
    at.text_input(key=f"synth_model_{CUSTOM}").input("my-model").run()
    at.text_input(key=f"synth_base_url_{CUSTOM}").input(slow_server.base_url).run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "synth_start"]
    at.checkbox(key="synth_price_free").check().run()
    assert [b for b in at.button if b.key == "synth_start"]


def test_run_meter_moves_and_stop_keeps_results(support_ws, slow_server):
    at = _configure(app_test(PAGE, support_ws.root).run(), slow_server)
    assert not at.exception, at.exception
    assert _metric(at, "Cost per example").startswith("$")
    at.number_input(key="synth_n").set_value(40).run()
    at.number_input(key="synth_concurrency").set_value(2).run()
    at.button(key="synth_start").click().run()
    assert not at.exception, at.exception
    run_id = support_ws.get_state("synth.current_run")
    assert run_id
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        at.run()
        seen.append(int(_metric(at, "Generated")))
        if seen[-1] >= 6:
            break
        time.sleep(0.3)
    assert seen[-1] > seen[0] or seen[-1] >= 6  # the meter moved
    at.button(key="synth_stop").click().run()
    _wait_until(lambda: not runner.is_active(support_ws, run_id), 30, "the run stops")
    meter = runner.progress(support_ws, run_id)
    assert meter.status == "cancel" and meter.generated < 40
    fresh = app_test(PAGE, support_ws.root).run()  # a refresh: a new session finds everything
    assert not fresh.exception, fresh.exception
    assert int(_metric(fresh, "Generated")) == meter.generated
    assert fresh.selectbox(key="synth_batch").value == run_id
    assert len(store.batch_examples(support_ws, run_id, valid_only=False)) == meter.generated
    assert "synthetic" in support_ws.steps()
    assert not any(
        b"sk-" in f.read_bytes() for f in support_ws.root.rglob("*") if f.is_file()
    )  # db, WAL, files


def test_gap_mode_without_targets_says_so(support_ws, slow_server):
    at = _configure(app_test(PAGE, support_ws.root).run(), slow_server)
    assert [b for b in at.button if b.key == "synth_start"]  # variations: ready to run
    at.radio(key="synth_mode").set_value("gaps").run()
    assert not at.exception, at.exception
    assert any(i.value.startswith("No gaps saved yet") for i in at.info)
    assert not [w for w in at.multiselect if w.key == "synth_targets"]
    assert not [b for b in at.button if b.key == "synth_start"]  # nothing to generate from


def test_gap_mode_with_targets(support_ws, slow_server):
    support_ws.set_state(
        "targets.distribution",
        [
            {
                "kind": "category",
                "value": "returns",
                "missing": 5,
                "description": "more returns",
                "examples": ["x"],
            }
        ],
    )
    at = _configure(app_test(PAGE, support_ws.root).run(), slow_server)
    at.radio(key="synth_mode").set_value("gaps").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="synth_targets").value
    assert (
        "more returns" not in at.text_area(key="synth_template_gaps_rejected").value
    )  # template, not filled


@pytest.mark.teacher
@pytest.mark.slow
@pytest.mark.timeout(600)  # its own waits: model load up to 180 s, generation up to 150 s
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama_cpp is not installed")
def test_offline_journey_start_watch_stop_refresh(support_ws):
    from core.synth import teachers

    at = app_test(PAGE, support_ws.root, timeout=180).run()
    try:
        at.button(key="synth_local_start").click().run()
        assert not at.exception, at.exception
        assert teachers.local_teacher().running
        assert _metric(at, "Cost per example") == "$0.00000"
        at.number_input(key="synth_n").set_value(6).run()
        at.button(key="synth_start").click().run()
        run_id = support_ws.get_state("synth.current_run")
        _wait_until(lambda: runner.progress(support_ws, run_id).generated >= 3, 150, "3 examples generated")
        at.run()
        assert int(_metric(at, "Generated")) >= 3
        at.button(key="synth_stop").click().run()
        _wait_until(lambda: not runner.is_active(support_ws, run_id), 60, "the run stops")
        kept = runner.progress(support_ws, run_id).generated
        fresh = app_test(PAGE, support_ws.root).run()
        assert not fresh.exception
        assert int(_metric(fresh, "Generated")) == kept >= 3
    finally:
        teachers.local_teacher().stop()


def test_mix_guard_does_not_count_admitted_batches_twice(support_ws):
    from unittest.mock import patch

    import pandas as pd

    from core import review

    real = len(support_ws.current_dataset())
    batches = pd.DataFrame(
        [
            {
                "batch_id": "run-in",
                "created_at": "2026-11-22T10:00:00+00:00",
                "mode": "variations",
                "valid": real,
            },
            {
                "batch_id": "run-out",
                "created_at": "2026-11-22T11:00:00+00:00",
                "mode": "variations",
                "valid": 0,
            },
        ]
    )
    rate = review.PassRate(20, 0, 20)
    review.ReviewStore(support_ws).record_gate(
        "run-in", admitted=True, rate=rate, override_reason=None, dataset_version=1, decided_by="ana"
    )
    with patch("core.synth.store.list_batches", return_value=batches):
        at = app_test(PAGE, support_ws.root).run()
    assert not at.exception, at.exception
    assert _metric(at, "Share if every passing example were added") == "0%"  # not 50%: run-in is in already


def test_a_teacher_that_fails_to_start_says_why_after_the_rerun(support_ws, monkeypatch):
    from core.synth import teachers

    def refuse(self, **kwargs):
        raise RuntimeError("llama.cpp server exited with code 1: port 8080 is busy")

    monkeypatch.setattr(teachers.LocalTeacher, "status", lambda self: "stopped")
    monkeypatch.setattr(teachers.LocalTeacher, "start", refuse)
    at = app_test(PAGE, support_ws.root).run()
    at.button(key="synth_local_start").click().run()
    assert not at.exception, at.exception
    assert any("did not start" in e.value and "port 8080 is busy" in e.value for e in at.error)


def _stored_run(ws, server, n=3, **settings_kwargs):
    from tests.core.test_synth_runner import _create, _settings

    run_id = _create(ws, _settings(server, concurrency=1, **settings_kwargs), n=n)
    ws.set_state("synth.current_run", run_id)
    return run_id


def test_a_run_held_by_the_command_line_names_its_runner_and_resume_is_refused(support_ws, slow_server):
    from core import lease

    run_id = _stored_run(support_ws, slow_server)
    held = lease.acquire(support_ws, store.lease_name(run_id), label="python -m core generate")
    try:
        at = app_test(PAGE, support_ws.root).run()
        assert not at.exception, at.exception
        info = " ".join(i.value for i in at.info)
        assert "Running elsewhere: python -m core generate (pid" in info
        assert [b for b in at.button if b.key == "synth_stop"]  # Stop still reaches the other runner
        assert not [b for b in at.button if b.key == "synth_resume"]
        at.button(key="synth_stop").click().run()
        assert store.stop_requested(support_ws, run_id)
    finally:
        held.release()
    assert slow_server.requests == []  # the page sent nothing while the other runner held the run


def test_a_failed_run_says_why_and_offers_to_retry_what_gave_up(support_ws):
    server = FakeOpenAIServer()
    counter = itertools.count()
    server.script = [Reply(status=500)] * 2  # the first request gives up after 2 attempts
    server.responder = lambda body: Reply(content=unique_reply(next(counter)))
    with server:
        run_id = _stored_run(support_ws, server, max_attempts=2)
        assert runner.execute_run(support_ws, run_id) == "failed"
        at = app_test(PAGE, support_ws.root).run()
        assert not at.exception, at.exception
        error = " ".join(e.value for e in at.error)
        assert "Failed. 1 of 3 requests gave up after their retries (last: gave up after 2 attempts" in error
        assert _metric(at, "Gave up") == "1"
        at.button(key="synth_retry_failed").click().run()
        thread = runner._ACTIVE[(str(support_ws.root), run_id)][0]
        thread.join(timeout=60)
    meter = runner.progress(support_ws, run_id)
    assert (meter.status, meter.requests_failed, meter.generated) == ("done", 0, 3)


def test_the_paraphrase_check_is_asked_for_on_the_page_and_kept_with_the_run(support_ws, slow_server):
    at = _configure(app_test(PAGE, support_ws.root).run(), slow_server)
    at.number_input(key="synth_n").set_value(2).run()
    assert not at.checkbox(key="synth_paraphrase_check").value  # off unless asked for
    at.checkbox(key="synth_paraphrase_check").check().run()
    at.button(key="synth_start").click().run()
    assert not at.exception, at.exception
    run_id = support_ws.get_state("synth.current_run")
    rules = store.get_run(support_ws, run_id)["config"]["rules"]
    assert rules["paraphrase_cosine"] == validators.PARAPHRASE_COSINE
    _wait_until(lambda: not runner.is_active(support_ws, run_id), 60, "the two examples are generated")


def test_the_batches_section_follows_a_live_run_without_a_reload(support_ws, slow_server, monkeypatch):
    import streamlit as st

    fragment = st.fragment
    timers = []  # (section, run_every) as the page asks for them: the browser reruns those on its own

    def watched(func=None, *, run_every=None):
        if func is None:  # st.fragment(run_every=...)(section)
            return lambda section: watched(section, run_every=run_every)
        timers.append((func.__name__, run_every))
        return fragment(func, run_every=run_every)

    monkeypatch.setattr(st, "fragment", watched)
    run_id = _stored_run(support_ws, slow_server, n=60)
    at = app_test(PAGE, support_ws.root).run()
    assert not at.exception, at.exception
    at.button(key="synth_resume").click().run()  # the stored run starts from the page
    assert not at.exception, at.exception

    def passing():
        label = next((t.label for t in at.tabs if t.label.startswith("Passing (")), "Passing (0)")
        return int(label.removeprefix("Passing (").rstrip(")"))

    seen = []
    deadline = time.monotonic() + 60
    while len(set(seen)) < 3:  # the same session's reruns: no new session, no reload
        assert time.monotonic() < deadline, f"the Batches count moved within 60 s: {seen}"
        timers.clear()
        at.run()
        assert not at.exception, at.exception
        if runner.is_active(support_ws, run_id):  # counted only while the run is live
            seen.append(passing())
            assert ("_batches", 2) in timers  # and while live the section refreshes itself every 2 s
    assert seen == sorted(seen) and seen[-1] > seen[0]
    at.button(key="synth_stop").click().run()
    _wait_until(lambda: not runner.is_active(support_ws, run_id), 30, "the run stops")
    timers.clear()
    at.run()
    assert ("_batches", None) in timers  # no timer once the run is over
    assert passing() == int(store.batch_examples(support_ws, run_id)["valid"].sum())
