from tests.conftest import ROOT
from tests.pages.conftest import app_test

PAGE = ROOT / "pages" / "1_Upload.py"


def _open_sample(root):
    at = app_test(PAGE, root).run()
    at.button(key="upload_open_sample").click().run()
    assert not at.exception, at.exception
    return at


def test_open_sample_lists_every_planted_error_by_line(tmp_path):
    at = _open_sample(tmp_path / "ws")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Quarantined rows"] == "6"
    assert metrics["Valid examples"] == "402"
    from core.workspace import Workspace

    problems = Workspace.open(tmp_path / "ws").problems()
    errors = problems[problems["severity"] == "error"]
    assert sorted(errors["line"].astype(int)) == [23, 88, 147, 219, 288, 351]
    assert {"invalid_json", "weight_not_binary", "missing_assistant"} <= set(errors["code"])


def test_the_detected_format_is_shown_with_its_reason(tmp_path):
    at = _open_sample(tmp_path / "ws")
    said = [c.value for c in at.caption if c.value.startswith("Read as openai-sft: ")]
    assert said and "sampled rows have the keys of openai-sft" in said[0]


def test_filter_by_code_and_refresh_keeps_everything(tmp_path):
    _open_sample(tmp_path / "ws")
    at = app_test(PAGE, tmp_path / "ws").run()  # a new session: what a browser refresh gives
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Quarantined rows"] == "6"
    at.multiselect(key="upload_codes").select("weight_not_binary").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["code"].unique()) == ["weight_not_binary"]


def test_convert_offers_same_kind_formats_and_reverting_makes_a_version(tmp_path):
    at = _open_sample(tmp_path / "ws")
    at.segmented_control(key="upload_view").set_value("Convert & download").run()
    options = at.selectbox(key="upload_convert_to").options
    assert "trl-messages" in options and "sharegpt" in options and "openai-dpo" not in options
    at.selectbox(key="upload_convert_to").select("alpaca").run()
    at.button(key="upload_convert").click().run()
    assert not at.exception
    assert any("lose something" in w.value for w in at.warning)  # multi-turn / system prompts dropped
    at.radio(key="upload_target").set_value("version").run()
    at.button(key="upload_open_sample").click().run()
    at.segmented_control(key="upload_view").set_value("Versions").run()
    at.selectbox(key="upload_revert_version").select(1).run()
    at.button(key="upload_revert").click().run()
    assert not at.exception
    from core.workspace import Workspace

    versions = Workspace.open(tmp_path / "ws").versions()
    assert [v.note for v in versions][-1] == "revert to v1"


def test_preview_metadata_is_text_not_markdown(tmp_path):
    from core import records
    from core.workspace import Workspace

    rec = records.make_record(
        "sft",
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        extra={"category": "[click](https://evil.example)"},
    )
    Workspace.open(tmp_path / "ws").save_dataset(records.make_frame([rec]), note="x", name="d.jsonl")
    at = app_test(PAGE, tmp_path / "ws").run()
    at.segmented_control(key="upload_view").set_value("Preview").run()
    assert not at.exception
    assert not any("evil.example" in c.value for c in at.caption)
    assert any("evil.example" in t.value for t in at.text)


def test_a_second_file_becomes_a_new_dataset_with_its_own_journey_and_lock(tmp_path, monkeypatch):
    from core import split
    from core.project import Project
    from core.workspace import Workspace

    first = Workspace.open(tmp_path / "ws")
    at = _open_sample(tmp_path / "ws")
    frame = first.current_dataset()
    split.save_lock(
        first, split.make_lock(frame.iloc[:32], seed=0, fractions={"train": 0.8, "val": 0.1, "test": 0.1})
    )
    first.mark_step("split", {"train": 338, "val": 32, "test": 32})
    at.run()
    assert at.radio(key="upload_target").value == "new"  # a second file is another dataset unless asked
    at.button(key="upload_open_sample").click().run()
    assert not at.exception, at.exception
    project = Project(tmp_path / "ws")
    entries = project.datasets()
    assert [e.slug for e in entries] == ["first", "support-sft"] and [e.rows for e in entries] == [402, 402]
    assert at.session_state["workspace_root"] == str(entries[1].root)
    assert any("It is a new dataset" in s.value for s in at.success)
    second = Workspace.open(entries[1].root)
    assert split.get_lock(second) is None and "split" not in second.steps()
    assert len(split.get_lock(first)["ids"]) == 32 and "split" in first.steps()  # the first keeps its lock
    assert project.current() == "support-sft"
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRAINSET_WORKSPACE", str(tmp_path / "ws"))
    fresh = AppTest.from_file(str(PAGE), default_timeout=60).run()  # a restart: the dataset last worked on
    assert not fresh.exception, fresh.exception
    switcher = fresh.sidebar.selectbox[0]
    assert switcher.value == "support-sft"
    assert switcher.options == ["support_sft.jsonl · 402 rows", "support_sft.jsonl (2) · 402 rows"]
    switcher.select("first").run()
    assert not fresh.exception, fresh.exception
    assert fresh.session_state["workspace_root"] == str(tmp_path / "ws") and project.current() == "first"


def test_problem_messages_are_shown_in_full_below_the_table(tmp_path):
    at = _open_sample(tmp_path / "ws")
    from core.workspace import Workspace

    problems = Workspace.open(tmp_path / "ws").problems()
    full = [m.value for m in at.markdown if m.value.startswith("- **line ")]
    assert len(full) == min(5, len(problems))
    first = problems.iloc[0]
    assert str(int(first["line"])) in full[0]
    words = [w for w in str(first["message"]).split() if w.isalpha()]
    assert words and all(w in full[0] for w in words)  # the whole message, not a cell's first words
    assert any(m.value.startswith("**The first 5 problems in full**") for m in at.markdown)
