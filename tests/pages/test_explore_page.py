import pytest

from core import records
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.pages.conftest import app_test, small_frame
from tests.quality_corpus import planted

PAGE = ROOT / "pages" / "9_Explore.py"


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(
        small_frame(40), note="upload orders.jsonl", name="orders.jsonl", source_format="openai-sft"
    )
    return ws


def _subheaders(at):
    return [h.value for h in at.subheader]


def test_a_search_narrows_the_rows_and_the_shown_example_is_a_match(ws):
    at = app_test(PAGE, ws.root).run()
    assert not at.exception, at.exception
    assert "40 rows of 40" in _subheaders(at)
    at.text_input(key="explore_text").input("order number 1007").run()
    assert not at.exception, at.exception
    assert "1 row of 40" in _subheaders(at)
    assert at.query_params["q"] == "order number 1007"
    shown = [m.value for m in at.markdown]
    assert "**Line 8**" in shown
    assert any("order number 1007" in t.value for t in at.text)


def test_a_facet_filter_shows_as_a_chip_that_removes_it(ws):
    at = app_test(PAGE, ws.root).run()
    at.multiselect(key="explore_facet_category").select("billing").run()
    assert not at.exception, at.exception
    assert "14 rows of 40" in _subheaders(at)
    chip = at.button(key="explore_chip_category")
    assert chip.label == "✕ category = billing"
    chip.click().run()
    assert not at.exception, at.exception
    assert "40 rows of 40" in _subheaders(at)


def test_a_bad_regular_expression_is_one_clear_error(ws):
    at = app_test(PAGE, ws.root).run()
    at.toggle(key="explore_regex").set_value(True).run()
    at.text_input(key="explore_text").input("order (").run()
    assert not at.exception, at.exception
    assert at.error and "not a valid regular expression" in at.error[0].value


def test_removing_the_matches_makes_a_new_version_and_undo_brings_them_back(ws):
    at = app_test(PAGE, ws.root).run()
    at.text_input(key="explore_text").input("arrives in 5 days").run()
    assert "8 rows of 40" in _subheaders(at)
    at.button(key="explore_remove").click().run()
    assert not at.exception, at.exception
    assert len(ws.current_dataset()) == 32 and ws.dataset_info().note.startswith("explore: removed 8 rows")
    assert "arrives in 5 days" not in " ".join(ws.current_dataset()["response_text"])
    at.button(key="explore_undo").click().run()
    assert not at.exception, at.exception
    assert len(ws.current_dataset()) == 40


def test_quality_flags_are_a_filter(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    frame = records.make_frame([record for record, _codes in planted(seed=0)])
    ws.save_dataset(frame, note="upload planted.jsonl", name="planted.jsonl", source_format="openai-sft")
    at = app_test(PAGE, ws.root).run()
    at.multiselect(key="explore_facet_flag").select("refusal").run()
    assert not at.exception, at.exception
    assert "2 rows of" in _subheaders(at)[0]


def test_novelty_column_shows_a_copy_at_zero_and_other_rows_above(tmp_path):
    frame = small_frame(12)
    frame = records.make_frame([*frame.to_dict("records"), frame.iloc[3].to_dict()])  # row 13 copies row 4
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(frame, note="with a copy")
    at = app_test(PAGE, ws.root).run()
    at.toggle(key="explore_novelty").set_value(True).run()
    assert not at.exception, at.exception
    listed = next(t.value for t in at.dataframe if "novelty" in t.value.columns)
    assert listed["novelty"].iloc[3] == pytest.approx(0.0, abs=1e-3)
    assert listed["novelty"].iloc[12] == pytest.approx(0.0, abs=1e-3)
    assert (listed["novelty"].drop([3, 12]) > 0).all()


def test_the_prompts_are_grouped_into_topics_a_person_can_filter_by(ws):
    at = app_test(PAGE, ws.root).run()
    assert not at.exception, at.exception
    assert any("Topics" in e.label for e in at.expander)
    topic = at.multiselect(key="explore_facet_topic")
    assert len(topic.options) >= 2  # 40 prompts: a few topics, each named by its words
    first = topic.options[0]
    topic.select(first).run()
    assert not at.exception, at.exception
    (heading,) = [h for h in _subheaders(at) if h.endswith("of 40")]
    assert heading != "40 rows of 40"
    assert at.button(key="explore_chip_topic").label == f"✕ topic = {first}"


def test_matches_sent_to_review_become_a_set_the_review_page_decides_and_applies(ws):
    from core import review

    at = app_test(PAGE, ws.root).run()
    at.text_input(key="explore_text").input("order number 1007").run()
    at.button(key="explore_review").click().run()
    assert not at.exception, at.exception
    assert any("Sent 1 row to review as rows-1" in s.value for s in at.success)
    (made,) = review.sets.list_sets(ws)
    assert made.description == 'all contains "order number 1007"'

    page = app_test(ROOT / "pages" / "6_Review.py", ws.root).run()
    assert not page.exception, page.exception
    assert page.selectbox(key="review_batch").value == "rows-1"
    page.text_input(key="review_reviewer").input("ana").run()
    page.selectbox(key="review_reason").select("incorrect").run()
    page.button(key="review_reject").click().run()
    page.button(key="review_apply").click().run()
    assert not page.exception, page.exception
    assert any("1 rejected rows removed" in s.value for s in page.success)
    assert len(ws.current_dataset()) == 39
    page.button(key="review_apply_undo").click().run()
    assert len(ws.current_dataset()) == 40


def test_outliers_come_first_with_their_reason_and_removing_them_can_be_undone(tmp_path):
    from tests.core.test_semantic_representative import _OFF_TOPIC
    from tests.core.test_semantic_representative import _frame as planted_outliers

    frame, prompts = planted_outliers()
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(frame, note="upload paraphrases.jsonl", name="p.jsonl", source_format="openai-sft")
    at = app_test(PAGE, ws.root).run()
    at.radio(key="explore_order").set_value("outliers").run()
    assert not at.exception, at.exception
    listed = next(t.value for t in at.dataframe if "typicality" in t.value.columns)
    assert set(listed["prompt"].iloc[:3]) == set(_OFF_TOPIC)
    assert listed["why"].iloc[0].startswith("mean cosine ") and "nearest: " in listed["why"].iloc[0]
    assert listed["typicality"].is_monotonic_increasing
    at.number_input(key="explore_outlier_n").set_value(3).run()
    at.button(key="explore_remove_outliers").click().run()
    assert not at.exception, at.exception
    assert ws.dataset_info().note.startswith("explore: removed 3 outliers")
    assert set(ws.current_dataset()["prompt_text"]).isdisjoint(_OFF_TOPIC)
    at.button(key="explore_undo").click().run()
    assert len(ws.current_dataset()) == len(prompts)
