import json

import pytest
from streamlit.testing.v1 import AppTest

from core import evalloop
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.pages.conftest import small_frame

PAGE = str(ROOT / "pages" / "8_Eval_loop.py")


def _app(root):
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["workspace_root"] = str(root)
    return at


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory):
    """The page on the bundled sample, without any training dataset (eval can come first)."""
    root = tmp_path_factory.mktemp("eval_ws")
    at = _app(root)
    at.run()
    return at, Workspace.open(root)


def _success(at):
    return " ".join(s.value for s in at.success)


def test_page_works_without_a_dataset_on_the_sample(sample_app):
    at, ws = sample_app
    assert not at.exception
    assert any("benchmark a well-prompted base model" in i.value for i in at.info)
    assert [m.value for m in at.metric][:2] == ["200", "88.5%"]
    assert any("premature" in w.value for w in at.warning)
    assert "eval" not in ws.steps()  # looking is not doing: the step turns green on an action


def test_save_targets_for_the_synthetic_page(sample_app):
    at, ws = sample_app
    assert at.multiselect(key="eval_pick_slices").value == ["category=gift_cards", "category=warranty"]
    at.button(key="eval_save_targets").click().run()
    assert not at.exception
    assert "Synthetic page" in _success(at)
    assert ws.steps()["eval"]["summary"]["targets"] == 2
    targets = ws.get_state(evalloop.TARGETS_KEY)
    assert [t["value"] for t in targets] == ["category=gift_cards", "category=warranty"]
    assert all(t["kind"] == "eval_slice" and t["missing"] > 0 for t in targets)


def test_send_to_annotation_queue_and_download(sample_app):
    at, ws = sample_app
    at.button(key="eval_send_queue").click().run()
    assert not at.exception
    assert len(evalloop.load_queue(ws)) == 16
    assert at.get("download_button")


def test_save_round_and_chart(sample_app):
    at, ws = sample_app
    at.button(key="eval_save_round").click().run()
    assert not at.exception
    assert evalloop.list_rounds(ws)["round"].tolist() == [1]
    at.selectbox(key="eval_history_dim").set_value("category").run()
    assert not at.exception
    assert at.selectbox(key="eval_round_rows").value == 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download round 1's 200 eval rows (JSON Lines)" in labels


def test_add_eval_rows_to_the_dataset(sample_app):
    at, ws = sample_app
    at.button(key="eval_add_dataset").click().run()
    assert not at.exception
    frame = ws.current_dataset()
    assert len(frame) == 16 and set(frame["source"]) == {"eval"}


def test_upload_with_unusual_columns_needs_a_mapping(tmp_path):
    ws = Workspace.open(tmp_path)
    ws.save_dataset(small_frame(), note="upload")
    rows = [
        {"key": f"k{i}", "utterance": f"message {i} here", "truth": "a" if i % 3 else "b", "guess": "a"}
        for i in range(12)
    ]
    at = _app(tmp_path)
    at.run()
    at.radio(key="eval_source").set_value("Upload my results").run()
    assert not at.exception and any("Upload a file" in i.value for i in at.info)
    at.file_uploader(key="eval_upload").set_value(
        ("odd.jsonl", "\n".join(json.dumps(r) for r in rows).encode(), "application/json")
    )
    at.run()
    assert not at.exception
    assert any("could not find the columns" in e.value for e in at.error)
    at.selectbox(key="eval_col_id").set_value("key")
    at.selectbox(key="eval_col_expected").set_value("truth")
    at.selectbox(key="eval_col_predicted").set_value("guess").run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["12", "66.7%"]


def test_saved_eval_targets_appear_on_the_synthetic_page(tmp_path):
    ws = Workspace.open(tmp_path)
    ws.save_dataset(small_frame(), note="upload")
    at = _app(tmp_path)
    at.run()
    at.multiselect(key="eval_pick_slices").set_value(["category=warranty"])
    at.button(key="eval_save_targets").click().run()
    assert not at.exception
    synth = AppTest.from_file(str(ROOT / "pages" / "5_Synthetic.py"), default_timeout=90)
    synth.session_state["workspace_root"] = str(tmp_path)
    synth.run()
    synth.radio(key="synth_mode").set_value("gaps").run()
    assert not synth.exception
    assert synth.multiselect(key="synth_targets").value == ["eval_slice = category=warranty (missing 30)"]


def test_slice_names_from_the_data_cannot_inject_markdown(tmp_path):
    from unittest.mock import patch

    original = evalloop.read_table

    def linked(data, filename):
        table = original(data, filename=filename)
        table["category"] = "[click](https://evil.example/" + table["category"].astype(str) + ")"
        return table

    import streamlit as st

    st.cache_data.clear()  # the page caches the parsed sample across tests
    with patch("core.evalloop.read_table", side_effect=linked):
        at = _app(tmp_path / "ws")
        at.run()
    st.cache_data.clear()
    assert not at.exception, at.exception
    premature = [w.value for w in at.warning if "premature" in w.value]
    assert premature and "evil" in premature[0], premature
    assert "[click](" not in premature[0]
