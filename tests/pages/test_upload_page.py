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
