import pytest
from streamlit.testing.v1 import AppTest

from core import records
from core.workspace import Workspace
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "2_Distribution.py")


def _frame(n: int = 60, *, labelled: bool = True):
    rows = []
    for i in range(n):
        messages = [
            {"role": "user", "content": f"Where is my parcel number {i}? It has not arrived yet."},
            {"role": "assistant", "content": "Not found." if i == 0 else "It arrives tomorrow."},
        ]
        extra = (
            {"category": "shipping" if i < 45 else "refunds", "difficulty": "easy" if i % 4 else "hard"}
            if labelled
            else {}
        )
        rows.append(records.make_record("sft", messages, extra=extra))
    return records.make_frame(rows)


def _app(root) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["workspace_root"] = str(root)
    return at


@pytest.fixture
def seeded(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(_frame(), note="seed")
    return ws


def test_checklist_charts_and_save(seeded):
    at = _app(seeded.root).run()
    assert not at.exception
    titles = [e.label for e in at.expander]
    assert any("Category coverage" in t and "❌" in t for t in titles)  # refunds has 15 < 20
    assert any("Difficulty mix" in t for t in titles)
    assert at.selectbox(key="distribution_model").value == "gpt-4.1-mini"
    assert len(at.get("plotly_chart")) >= 5
    at.button(key="distribution_save").click().run()
    assert not at.exception
    targets = seeded.get_state("targets.distribution")
    refunds = next(t for t in targets if t["kind"] == "category" and t["value"] == "refunds")
    assert refunds["missing"] == 15
    assert seeded.steps()["distribution"]["summary"]["targets"] == len(targets)


def test_drill_down_renders_examples(seeded):
    at = _app(seeded.root).run()
    at.selectbox(key="distribution_drill_category").select("refunds").run()
    assert not at.exception
    assert any("parcel number 45" in t.value for t in at.text)


def test_missing_labels_say_not_labelled(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(_frame(labelled=False), note="seed")
    at = _app(ws.root).run()
    assert not at.exception
    assert any("Category coverage" in e.label and "🏷️" in e.label for e in at.expander)
    assert any("Upload page" in i.value for i in at.info)


def test_bundled_production_sample_shows_drift(seeded):
    at = _app(seeded.root).run()
    at.button(key="distribution_use_sample").click().run()
    assert not at.exception
    assert seeded.get_state("distribution.production")["name"] == "production_inputs.txt"
    assert [m.label for m in at.metric][:3] == ["KS p-value (input tokens)", "PSI", "Not covered"]
    assert any("inputs" in e.label for e in at.expander)  # an uncovered cluster
    before = float(at.metric[2].value.rstrip("%"))
    at.slider(key="distribution_threshold_semantic").set_value(0.1).run()
    assert not at.exception
    assert float(at.metric[2].value.rstrip("%")) < before
    at.button(key="distribution_remove_production").click().run()
    assert not at.exception
    assert not seeded.get_state("distribution.production")


def test_too_small_production_sample_is_an_error_not_a_crash(seeded):
    folder = seeded.root / "distribution"
    folder.mkdir()
    (folder / "production.txt").write_text("just one line\n")
    seeded.set_state("distribution.production", {"name": "prod.txt", "file": "production.txt"})
    at = _app(seeded.root).run()
    assert not at.exception
    assert any("at least 100" in e.value for e in at.error)


def test_lengths_with_a_local_tokenizer(seeded, tmp_path):
    from tests.hf_tokenizer import write_tokenizer

    folder = write_tokenizer(tmp_path / "tok")
    at = _app(seeded.root).run()
    at.number_input(key="distribution_hf_max_length").set_value(20).run()
    at.text_input(key="distribution_hf_tokenizer").input(str(folder)).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Over 20"] == "60" and int(metrics["Longest"]) > 20
    at.text_input(key="distribution_hf_tokenizer").input(str(tmp_path / "missing")).run()
    assert not at.exception
    assert any("no tokenizer.json" in e.value for e in at.error)


def test_seeing_the_checklist_puts_it_in_the_data_card(seeded):
    from core import report

    at = _app(seeded.root).run()
    assert not at.exception, at.exception
    sections = report.workspace_sections(seeded)
    assert sections["checklist"]["Category coverage"].startswith("fail: ")
    card = report.render_data_card(report.DataCardInputs(**sections))
    checklist = card.split("## Readiness checklist", 1)[1].split("\n## ", 1)[0]
    assert checklist.strip() != report.NOT_RUN and "- Category coverage: fail: " in checklist


def test_coverage_by_meaning_or_by_words_says_which_was_used(seeded):
    at = _app(seeded.root).run()
    at.button(key="distribution_use_sample").click().run()
    assert not at.exception
    assert "by meaning (embeddings)" in at.metric[2].help
    at.selectbox(key="distribution_coverage_by").select("tfidf").run()
    assert not at.exception
    assert "by words" in at.metric[2].help and at.slider(key="distribution_threshold_tfidf").value == 0.4
