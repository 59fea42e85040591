import pytest

from core import records
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.pages.conftest import app_test
from tests.quality_corpus import planted

PAGE = ROOT / "pages" / "2_Quality.py"


@pytest.fixture
def planted_ws(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    frame = records.make_frame([record for record, _codes in planted(seed=0)])
    ws.save_dataset(frame, note="upload planted.jsonl", name="planted.jsonl", source_format="openai-sft")
    return ws


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_the_page_counts_flags_and_shows_the_chosen_signal_with_its_span(planted_ws):
    at = app_test(PAGE, planted_ws.root).run()
    assert not at.exception, at.exception
    assert _metric(at, "With PII or a secret") == "13" and _metric(at, "Refusals") == "2"
    at.selectbox(key="quality_code").select("pii_email").run()
    assert not at.exception, at.exception
    assert "E-mail address: 1 example" in [h.value for h in at.subheader]
    assert any("maria.lopez@correo.es" in m.value for m in at.markdown)
    assert planted_ws.steps()["quality"]["summary"]["with PII"] == 13


def test_redact_makes_a_new_version_without_pii_and_undo_brings_it_back(planted_ws):
    at = app_test(PAGE, planted_ws.root).run()
    at.button(key="quality_redact").click().run()
    assert not at.exception, at.exception
    assert planted_ws.dataset_version() == 2 and planted_ws.dataset_info().note.startswith(
        "quality: redacted 13"
    )
    text = " ".join(planted_ws.current_dataset()["response_text"])
    assert "maria.lopez@correo.es" not in text and "[EMAIL]" in text
    assert _metric(at, "With PII or a secret") == "0"
    at.button(key="quality_undo").click().run()
    assert not at.exception, at.exception
    assert "maria.lopez@correo.es" in " ".join(planted_ws.current_dataset()["response_text"])


def test_remove_drops_the_examples_of_the_chosen_signal(planted_ws):
    at = app_test(PAGE, planted_ws.root).run()
    at.selectbox(key="quality_code").select("refusal").run()
    before = len(planted_ws.current_dataset())
    at.button(key="quality_remove").click().run()
    assert not at.exception, at.exception
    assert len(planted_ws.current_dataset()) == before - 2
    assert _metric(at, "Refusals") == "0"


def test_curate_keeps_the_best_n_as_a_new_version(planted_ws):
    at = app_test(PAGE, planted_ws.root).run()
    at.number_input(key="quality_curate_n").set_value(5).run()
    assert not at.exception, at.exception
    assert _metric(at, "Would keep") == f"5 of {len(planted_ws.current_dataset())}"
    at.button(key="quality_curate").click().run()
    assert not at.exception, at.exception
    kept = planted_ws.current_dataset()
    assert len(kept) == 5 and planted_ws.dataset_info().note == "quality: curated 5 best"
    assert not set(kept["response_text"]) & {"", "TODO", "Lo siento, pero no puedo ayudarte con eso."}


def test_kept_perplexity_scores_show_and_flag_a_misaligned_reply(planted_ws):
    from core.quality.store import PerplexityScore, save_perplexity
    from core.synth import teachers

    frame = planted_ws.current_dataset()
    for position, example_id in enumerate(frame["id"]):
        after = 30.0 if position == 0 else 5.0  # the first reply: the prompt makes it less likely
        save_perplexity(planted_ws, teachers.LOCAL_MODEL, PerplexityScore(example_id, after, 10.0, 12))
    at = app_test(PAGE, planted_ws.root).run()
    assert not at.exception, at.exception
    assert _metric(at, "Scored") == f"{len(frame)} of {len(frame)}" and _metric(at, "Median IFD") == "0.50"
    at.selectbox(key="quality_code").select("misaligned_reply").run()
    assert not at.exception, at.exception
    assert "Prompt does not help the reply (IFD >= 1): 1 example" in [h.value for h in at.subheader]


def test_a_judging_run_shows_its_meter_and_its_low_scores(planted_ws):
    import json

    from core.quality import judge
    from core.synth import runner, teachers
    from core.synth.budget import Price
    from tests.fake_openai_server import FakeOpenAIServer, Reply

    server = FakeOpenAIServer()
    verdict = json.dumps({"examples": [{"score": 1, "rationale": "Off topic."}]})
    server.responder = lambda body: Reply(content=verdict, prompt_tokens=300, completion_tokens=40)
    frame = planted_ws.current_dataset()
    with server:
        teacher = teachers.TeacherConfig(base_url=server.base_url, model="gpt-4o-mini", timeout_s=5.0)
        settings = runner.RunSettings(teacher=teacher, price=Price(1.0, 4.0), budget_usd=0.01, max_tokens=100)
        run_id = judge.plan_judging(planted_ws, frame, settings)
        runner.execute_run(planted_ws, run_id)
    planted_ws.set_state("quality.judge_runs", {str(planted_ws.dataset_version()): run_id})
    meter = runner.progress(planted_ws, run_id)
    at = app_test(PAGE, planted_ws.root).run()
    assert not at.exception, at.exception
    assert _metric(at, "Judged") == f"{meter.valid} of {len(frame)}" and 0 < meter.valid < len(frame)
    assert _metric(at, "Spent") == f"${meter.spent_usd:.4f}"
    at.selectbox(key="quality_code").select("low_judge_score").run()
    assert f"Judged 2/5 or lower: {meter.valid} examples" in [h.value for h in at.subheader]


def test_the_readiness_checklist_reports_what_the_quality_page_found(planted_ws):
    from streamlit.testing.v1 import AppTest

    def distribution():
        at = AppTest.from_file(str(ROOT / "pages" / "2_Distribution.py"), default_timeout=120)
        at.session_state["workspace_root"] = str(planted_ws.root)
        return at.run()

    before = [e.label for e in distribution().expander]
    assert any("PII and secrets" in t and "Open the Quality step" in t for t in before)
    assert not app_test(PAGE, planted_ws.root).run().exception
    after = [e.label for e in distribution().expander]
    assert any("PII and secrets" in t and "❌" in t and "13 examples hold PII" in t for t in after)
    assert any("Refusals" in t and "4.3% of the replies refuse" in t for t in after)


def test_a_paid_teacher_judges_from_the_page_within_its_budget(planted_ws):
    import json
    import threading

    from core.synth import runner
    from tests.fake_openai_server import FakeOpenAIServer, Reply

    server = FakeOpenAIServer()
    verdict = json.dumps({"examples": [{"score": 4, "rationale": "Fine."}]})
    server.responder = lambda body: Reply(content=verdict, prompt_tokens=300, completion_tokens=40)
    with server:
        at = app_test(PAGE, planted_ws.root).run()
        at.text_input(key="quality_judge_base_url").set_value(server.base_url)
        at.text_input(key="quality_judge_model").set_value("gpt-4o-mini")
        at.number_input(key="quality_judge_in").set_value(1.0)
        at.number_input(key="quality_judge_out").set_value(4.0)
        at.number_input(key="quality_judge_budget").set_value(0.004)
        at.button(key="quality_judge_paid").click().run()
        assert not at.exception, at.exception
        run_id = planted_ws.get_state("quality.judge_runs")[str(planted_ws.dataset_version())]
        for thread in threading.enumerate():
            if thread.name == f"synth-{run_id}":
                thread.join(timeout=60)
    meter = runner.progress(planted_ws, run_id)
    assert meter.stopped_by == "budget" and meter.spent_usd + meter.at_risk_usd <= 0.004
    assert server.billed_usd(1.0, 4.0) <= meter.spent_usd + meter.at_risk_usd + 1e-12
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="quality_judge_resume") is not None


def test_redacting_the_shown_signal_away_shows_another_one(planted_ws):
    at = app_test(PAGE, planted_ws.root).run()
    at.selectbox(key="quality_code").select("pii_email").run()
    at.button(key="quality_redact").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="quality_code").value == "empty_response"  # the first code still found
