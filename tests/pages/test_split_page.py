import pandas as pd
import pytest

from core import export, records, split
from tests.conftest import ROOT
from tests.pages.conftest import app_test, small_frame

PAGE = ROOT / "pages" / "7_Split_and_export.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def page(seeded_workspace):
    return app_test(PAGE, seeded_workspace.root).run()


def test_preview_shows_counts_and_zero_leakage(page):
    assert not page.exception, page.exception
    metrics = _metrics(page)
    assert (metrics["Train"], metrics["Val"], metrics["Test"]) == ("32", "4", "4")
    assert any("Leakage: 0" in s.value for s in page.success)
    assert page.slider(key="split_threshold").value == pytest.approx(0.8)
    assert "Fine-tuning cost estimate" in metrics


def test_threshold_defaults_to_the_dedup_page(seeded_workspace):
    seeded_workspace.set_state("dedup.settings", {"threshold": 0.9, "scope": "prompt"})
    at = app_test(PAGE, seeded_workspace.root).run()
    assert not at.exception
    assert at.slider(key="split_threshold").value == pytest.approx(0.9)


def test_unusual_holdout_needs_confirmation(page):
    page.number_input(key="split_val").set_value(20).run()
    page.number_input(key="split_test").set_value(20).run()
    assert not page.exception
    assert any("needs your confirmation" in w.value for w in page.warning)
    page.checkbox(key="split_confirm_holdout").check().run()
    assert not page.exception
    assert _metrics(page)["Test"] == "8"


def test_build_bundle_locks_the_test_set_and_marks_the_step(page, seeded_workspace):
    page.button(key="split_build").click().run()
    assert not page.exception, page.exception
    assert not page.error
    lock = split.get_lock(seeded_workspace)
    assert lock is not None and len(lock["ids"]) == 4
    assert seeded_workspace.steps()["split"]["summary"]["test"] == 4
    assert [b.proto.label for b in page.get("download_button")] == ["Download bundle (zip)"]
    assert [e["event"] for e in split.lock_history(seeded_workspace)] == ["lock"]

    # new data arrives: the locked test set stays exactly as it was, and nothing new enters test
    extra = [
        records.make_record(
            "sft",
            [
                {"role": "user", "content": f"A brand new question {i} about gadget {i * 17}?"},
                {"role": "assistant", "content": f"A brand new answer {i}."},
            ],
            extra={"category": "billing", "source": "real"},
        )
        for i in range(20)
    ]
    bigger = pd.concat([small_frame(), records.make_frame(extra)], ignore_index=True)
    seeded_workspace.save_dataset(bigger, note="more data")
    again = app_test(PAGE, seeded_workspace.root).run()
    assert not again.exception
    assert _metrics(again)["Test"] == "4"
    assert again.number_input(key="split_test").disabled
    assert any("Test set locked" in s.value for s in again.success)


def test_unlock_needs_the_typed_word(seeded_workspace):
    split.save_lock(seeded_workspace, split.make_lock(small_frame().iloc[:3], seed=0, fractions={}))
    at = app_test(PAGE, seeded_workspace.root).run()
    at.text_input(key="split_unlock_text").input("unlock").run()
    at.button(key="split_unlock").click().run()
    assert any("UNLOCK" in e.value for e in at.error)
    assert split.get_lock(seeded_workspace) is not None
    at.text_input(key="split_unlock_text").input("UNLOCK").run()
    at.text_input(key="split_unlock_note").input("redesigning the eval").run()
    at.button(key="split_unlock").click().run()
    assert not at.exception
    assert split.get_lock(seeded_workspace) is None
    history = split.lock_history(seeded_workspace)
    assert [e["event"] for e in history] == ["lock", "unlock"] and history[1][
        "note"
    ] == "redesigning the eval"


def test_synthetic_rows_are_shown_as_forced_to_train(seeded_workspace):
    frame = small_frame()
    frame.loc[:5, "source"] = "synthetic"
    seeded_workspace.save_dataset(frame, note="with synthetic")
    at = app_test(PAGE, seeded_workspace.root).run()
    assert not at.exception
    assert _metrics(at)["Forced to train"] == "6"


def test_external_eval_set_upload_reports_overlap(page):
    frame = small_frame()
    parts = split.split_frame(frame, seed=0).split(frame)
    leaked = parts["train"].iloc[:2].reset_index(drop=True)
    data, _ = export.write_split(leaked, "openai-sft")
    page.file_uploader(key="split_eval_upload").set_value(("eval.jsonl", data, "application/jsonl")).run()
    assert not page.exception, page.exception
    # two rows, each found on the prompt and on prompt + response
    assert any("Leakage: 4 overlapping pairs" in e.value for e in page.error)
    assert any("Checked against 2 examples of eval.jsonl" in c.value for c in page.caption)


def test_export_over_seventy_percent_synthetic_needs_a_reason_for_the_card(tmp_path):
    import io
    import zipfile

    from core.workspace import Workspace
    from tests.pages.conftest import small_frame

    ws = Workspace.open(tmp_path / "ws")
    frame = small_frame()
    frame["source"] = ["real" if i % 4 == 0 else "synthetic" for i in range(len(frame))]  # 75% synthetic
    ws.save_dataset(frame, note="mostly synthetic")
    at = app_test(PAGE, ws.root).run()
    assert not at.exception, at.exception
    assert at.button(key="split_build").disabled
    at.text_input(key="split_mix_override").input("pilot run, real data comes next week").run()
    at.button(key="split_build").click().run()
    assert not at.exception, at.exception
    bundle = at.session_state["split_bundle"]["data"]
    card = zipfile.ZipFile(io.BytesIO(bundle)).read("README.md").decode()
    assert "pilot run, real data comes next week" in card


def test_threshold_from_dedup_outside_the_slider_range_is_clamped(seeded_workspace):
    seeded_workspace.set_state("dedup.settings", {"threshold": 0.3, "scope": "all"})
    at = app_test(PAGE, seeded_workspace.root).run()
    assert not at.exception, at.exception
    assert at.slider(key="split_threshold").value == pytest.approx(0.5)


def test_split_settings_survive_a_new_session(tmp_path):
    from core.workspace import Workspace
    from tests.pages.conftest import app_test, small_frame

    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(small_frame(60), note="data")
    page = ROOT / "pages" / "7_Split_and_export.py"
    at = app_test(page, ws.root).run()
    at.number_input(key="split_seed").set_value(7).run()
    at.number_input(key="split_val").set_value(5).run()
    assert not at.exception, at.exception
    again = app_test(page, ws.root).run()  # a refresh: a new session
    assert not again.exception, again.exception
    assert again.number_input(key="split_seed").value == 7
    assert again.number_input(key="split_val").value == 5


def test_moving_the_threshold_reuses_the_stored_pairs(seeded_workspace, monkeypatch):
    calls = []
    original = split.pair_graph

    def counted(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(split, "pair_graph", counted)
    at = app_test(PAGE, seeded_workspace.root).run()
    assert not at.exception, at.exception
    assert calls == [0.7]  # one graph for the version, down to Jaccard 0.7 (here or in the background)
    for value in (0.95, 0.7, 1.0):
        at.slider(key="split_threshold").set_value(value).run()
        assert not at.exception, at.exception
        assert any("Leakage: 0" in s.value for s in at.success)
    assert calls == [0.7]
    at.slider(key="split_threshold").set_value(0.5).run()  # below the stored floor: found again
    assert calls == [0.7, 0.5]
    version = seeded_workspace.dataset_version()
    assert len(list(seeded_workspace.derived_dir(version).glob("split-graph-*"))) == 2


def _restated_test_workspace(tmp_path):
    """Diverse requests; the locked test set restates one of them in other words."""
    from core.workspace import Workspace
    from tests.paraphrase_corpus import PARAPHRASES

    def row(prompt):
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": "Sure."}]
        return records.make_record("sft", messages, extra={"category": "billing", "source": "real"})

    frame = records.make_frame([row(a) for _, a, _ in PARAPHRASES[:16]] + [row(PARAPHRASES[1][2])])
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(frame, note="paraphrases")
    split.save_lock(ws, split.make_lock(frame.iloc[[16]], seed=0, fractions={}))
    return ws, str(frame["id"].iloc[1])


def test_a_test_row_restated_in_train_is_shown_and_dropped_before_the_bundle(tmp_path):
    import io
    import json
    import zipfile

    ws, restated = _restated_test_workspace(tmp_path)
    at = app_test(PAGE, ws.root).run()
    assert not at.exception, at.exception
    assert any("Semantic leaks: 1 pairs" in w.value for w in at.warning)
    table = next(t.value for t in at.dataframe if "held-out prompt" in t.value.columns)
    assert list(table["train id"]) == [restated] and table["cosine"].iloc[0] >= 0.85
    at.radio(key="split_leak_fix").set_value("move").run()  # the test set is locked: a move is a drop
    at.button(key="split_build").click().run()
    assert not at.exception, at.exception
    bundle = zipfile.ZipFile(io.BytesIO(at.session_state["split_bundle"]["data"]))
    excluded = [json.loads(line) for line in bundle.read("excluded.jsonl").splitlines()]
    assert [e["id"] for e in excluded] == [restated] and "locked" in excluded[0]["reason"]
    manifest = json.loads(bundle.read("manifest.json"))
    assert sum(manifest["counts"][k] for k in ("train", "val", "test")) == 16


def test_the_semantic_leak_check_can_be_turned_off(tmp_path):
    ws, _ = _restated_test_workspace(tmp_path)
    at = app_test(PAGE, ws.root).run()
    at.toggle(key="split_semantic").set_value(False).run()
    assert not at.exception, at.exception
    assert not any("Semantic leaks:" in w.value for w in at.warning)
    assert any("not checked" in i.value for i in at.info)


def test_keeping_paraphrases_together_leaves_the_restatement_of_a_locked_test_row_out(tmp_path):
    ws, _ = _restated_test_workspace(tmp_path)
    at = app_test(PAGE, ws.root).run()
    assert any("Semantic leaks: 1 pairs" in w.value for w in at.warning)
    at.checkbox(key="split_keep_paraphrases").check().run()
    assert not at.exception, at.exception
    assert not any("Semantic leaks:" in w.value for w in at.warning)
    metrics = _metrics(at)  # the train row restating the locked test row is excluded, as a near copy is
    assert (
        sum(int(metrics[k]) for k in ("Train", "Val", "Test")) == 16
        and metrics["Clusters kept together"] == "1"
    )
    assert ws.get_state("split.settings")["split_keep_paraphrases"] is True
