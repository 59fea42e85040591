import itertools
import json

import pytest

from core.quality import judge
from core.synth import runner, store, teachers
from core.synth.budget import Price
from tests.core.conftest import support_frame
from tests.fake_openai_server import FakeOpenAIServer, Reply


def _settings(server, *, budget=1.0, price=None, concurrency=2):
    teacher = teachers.TeacherConfig(base_url=server.base_url, model="gpt-4o-mini", timeout_s=5.0)
    return runner.RunSettings(
        teacher=teacher,
        price=price or Price(0.15, 0.6),
        budget_usd=budget,
        max_tokens=120,
        concurrency=concurrency,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )


def _verdict(score, rationale="The answer is correct and complete."):
    return json.dumps({"examples": [{"score": score, "rationale": rationale}]})


@pytest.fixture
def judge_server():
    server = FakeOpenAIServer()
    scores = itertools.cycle([5, 4, 1, 3])
    server.responder = lambda body: Reply(
        content=_verdict(next(scores)), prompt_tokens=300, completion_tokens=40
    )
    server.start()
    yield server
    server.stop()


def test_every_example_gets_a_score_and_a_rationale(synth_ws, judge_server):
    frame = synth_ws.current_dataset()
    run_id = judge.plan_judging(synth_ws, frame, _settings(judge_server))
    assert runner.execute_run(synth_ws, run_id) == "done"
    table = judge.judgements(synth_ws, run_id)
    assert sorted(table["example_id"]) == sorted(frame["id"])
    assert set(table["score"]) == {1, 3, 4, 5} and table["rationale"].str.len().min() > 0
    prompt = judge_server.requests[0]["messages"][-1]["content"]
    assert "Score the answer from 1 to 5" in prompt and frame["response_text"].iloc[0][:40] in "".join(
        body["messages"][-1]["content"] for body in judge_server.requests
    )
    assert store.list_batches(synth_ws).empty  # a judging run is not a batch to review


def test_low_scores_are_flagged_with_the_rationale(synth_ws, judge_server):
    frame = synth_ws.current_dataset()
    run_id = judge.plan_judging(synth_ws, frame, _settings(judge_server))
    runner.execute_run(synth_ws, run_id)
    scores = judge.scores_frame(frame, judge.judgements(synth_ws, run_id))
    flags = judge.flags_of(scores)
    assert {f.row for f in flags} == set(scores.index[scores["score"] <= 2])
    assert (
        flags and flags[0].code == "low_judge_score" and flags[0].reason.startswith("judged 1/5: The answer")
    )


def test_the_budget_is_never_exceeded_by_what_the_provider_billed(synth_ws, judge_server):
    price = Price(1.0, 4.0)
    budget = 0.004  # about six of the 36 examples at their worst case
    frame = synth_ws.current_dataset()
    run_id = judge.plan_judging(synth_ws, frame, _settings(judge_server, budget=budget, price=price))
    assert runner.execute_run(synth_ws, run_id) == "budget"
    meter = runner.progress(synth_ws, run_id)
    billed = judge_server.billed_usd(1.0, 4.0)
    assert 0 < meter.requests_done < len(frame)
    assert billed <= meter.spent_usd + meter.at_risk_usd + 1e-12  # float sums in another order
    assert meter.spent_usd + meter.at_risk_usd <= budget
    assert len(judge.judgements(synth_ws, run_id)) == meter.requests_done


def test_a_stopped_run_resumes_with_the_examples_not_judged_yet(synth_ws, judge_server):
    frame = synth_ws.current_dataset()
    run_id = judge.plan_judging(synth_ws, frame, _settings(judge_server, budget=0.004, price=Price(1.0, 4.0)))
    runner.execute_run(synth_ws, run_id)
    first = len(judge.judgements(synth_ws, run_id))
    sent = len(judge_server.requests)
    store.update_run(synth_ws, run_id, budget_usd=1.0)
    assert runner.execute_run(synth_ws, run_id) == "done"
    assert len(judge.judgements(synth_ws, run_id)) == len(frame)
    assert len(judge_server.requests) - sent == len(frame) - first  # none judged twice


def test_a_score_outside_one_to_five_is_stored_as_invalid(synth_ws):
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(content=_verdict(7), prompt_tokens=300, completion_tokens=40)
    with server:
        run_id = judge.plan_judging(synth_ws, support_frame(2), _settings(server))
        runner.execute_run(synth_ws, run_id)
    assert judge.judgements(synth_ws, run_id).empty
    invalid = store.batch_examples(synth_ws, run_id, valid_only=False)
    assert all("score must be an integer from 1 to 5, got 7" in r[0] for r in invalid["reasons"])


def test_judging_nothing_is_refused(synth_ws, judge_server):
    with pytest.raises(ValueError, match="no examples to judge"):
        judge.plan_judging(synth_ws, support_frame(0), _settings(judge_server))


def test_cli_judges_under_the_budget_and_the_same_command_resumes(tmp_path, judge_server, capsys):
    from core.__main__ import main

    frame = support_frame(12)
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in frame["messages"]))
    args = ["quality", str(path), "--signals", "judge", "--base-url", judge_server.base_url]
    args += [
        "--model",
        "gpt-4o-mini",
        "--price-in",
        "1",
        "--price-out",
        "4",
        "--workspace",
        str(tmp_path / "ws"),
    ]
    assert main([*args, "--budget", "0.002", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["judge"]
    assert first["stopped_by"] == "budget" and 0 < first["judged"] < 12
    assert (
        judge_server.billed_usd(1.0, 4.0) <= first["spent_usd"] + first["at_risk_usd"] + 1e-9 <= 0.002 + 1e-9
    )
    assert main([*args, "--budget", "1", "--json"]) == 0
    out = capsys.readouterr()
    second = json.loads(out.out)
    assert second["judge"]["run_id"] == first["run_id"] and second["judge"]["stopped_by"] == "done"
    assert second["judge"]["judged"] == 12 and len(judge_server.requests) == 12  # none judged twice
    assert "budget $0.002 -> $1" in out.err
    assert second["counts"]["low_judge_score"] == sum(
        1 for f in second["flags"] if f["code"] == "low_judge_score"
    )


def test_a_judging_run_follows_a_local_server_to_its_new_port(synth_ws, judge_server):
    run_id = judge.plan_judging(synth_ws, support_frame(3), _settings(judge_server))
    changes = judge.resume_with(synth_ws, run_id, base_url="http://127.0.0.1:1/v1", budget_usd=1.0)
    assert changes == ["the teacher now listens at http://127.0.0.1:1/v1"]
    assert store.get_run(synth_ws, run_id)["config"]["teacher"]["base_url"] == "http://127.0.0.1:1/v1"
    assert judge.resume_with(synth_ws, run_id, base_url="http://127.0.0.1:1/v1", budget_usd=1.0) == []
