import importlib.util

import pandas as pd
import pytest

from core import agreement, records
from core.workspace import Workspace
from tests.conftest import ROOT, SAMPLE_DATA
from tests.pages.conftest import app_test

PAGE = ROOT / "pages" / "3_Labels.py"
CATEGORIES = ("billing", "shipping", "returns", "warranty")


def _labelled_frame(n: int = 48) -> pd.DataFrame:
    """Three annotators: a and b agree except on returns / warranty ties; c drifts."""
    rows = []
    for i in range(n):
        truth = CATEGORIES[i % 4]
        a = b = truth
        c = truth if i % 3 else CATEGORIES[(i + 1) % 4]
        if truth == "returns" and i % 8 == 2:
            a, b, c = "returns", "warranty", None  # a two-way tie
        extra = {"category": truth, "annotator_a": a, "annotator_b": b, "annotator_c": c, "source": "real"}
        messages = [
            {"role": "user", "content": f"Question {i} about {truth}: my order {1000 + i} has a problem."},
            {"role": "assistant", "content": f"Answer {i}: here is what we do for {truth}."},
        ]
        rows.append(
            records.make_record("sft", messages, extra=extra, source_format="openai-sft", source_line=i + 1)
        )
    return records.make_frame(rows)


@pytest.fixture
def labelled_workspace(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(_labelled_frame(), note="labelled", name="support.jsonl", source_format="openai-sft")
    return ws


def _run(ws):
    at = app_test(PAGE, ws.root)
    at.run()
    assert not at.exception, at.exception
    return at


def test_no_annotator_columns_says_how_to_add_them(seeded_workspace):
    at = _run(seeded_workspace)
    assert any("a column per annotator" in i.value for i in at.info)
    assert "labels" not in seeded_workspace.steps()


def test_gate_fails_and_step_is_marked(labelled_workspace):
    at = _run(labelled_workspace)
    assert at.multiselect(key="labels_columns").value == ["annotator_a", "annotator_b", "annotator_c"]
    assert any("Gate failed" in e.value and "Retrain" in e.value for e in at.error)
    warnings = " ".join(w.value for w in at.warning)
    assert "annotator_c drifts" in warnings
    steps = labelled_workspace.steps()
    assert steps["labels"]["summary"]["gate"] == "fail"
    assert at.get("download_button")


def test_adjudicate_then_save_consolidated(labelled_workspace):
    at = _run(labelled_workspace)
    assert at.radio(key="labels_tie_policy").value == "adjudicate"
    tied = [b for b in at.button if b.key and b.key.startswith("labels_adj_")]
    assert tied, "the tied items should be in the adjudication queue"
    item_id = tied[0].key.removeprefix("labels_adj_").rsplit("_", 1)[0]
    tied[0].click().run()
    assert not at.exception
    decisions = agreement.load_adjudications(labelled_workspace)
    assert item_id in decisions
    at.button(key="labels_save").click().run()
    assert not at.exception
    assert labelled_workspace.dataset_version() == 2
    saved = labelled_workspace.current_dataset()
    row = saved.loc[saved["id"] == item_id].iloc[0]
    assert row["category"] == decisions[item_id]
    assert row["label_status"] == "adjudicated"
    assert labelled_workspace.steps()["labels"]["summary"]["consolidated"] > 0


def test_guideline_is_saved_to_the_workspace(labelled_workspace):
    at = _run(labelled_workspace)
    category = at.selectbox(key="labels_guideline_category").value
    at.text_area(key=f"labels_gl_definition_{category}").input("A request to send a product back for money.")
    at.text_input(key=f"labels_gl_pos0_{category}").input("I want my money back for these headphones.")
    at.button(key="labels_guideline_save").click().run()
    assert not at.exception
    stored = labelled_workspace.get_state(agreement.GUIDELINES_KEY)
    assert stored[category]["definition"].startswith("A request")
    assert stored[category]["positives"] == ["I want my money back for these headphones."]


def test_flag_policy_has_no_queue_and_drop_removes_ties(labelled_workspace):
    at = _run(labelled_workspace)
    at.radio(key="labels_tie_policy").set_value("drop").run()
    assert not at.exception
    assert not [b for b in at.button if b.key and b.key.startswith("labels_adj_")]
    at.button(key="labels_save").click().run()
    saved = labelled_workspace.current_dataset()
    assert len(saved) < 48
    assert "dropped" not in set(saved["label_status"])


def test_bundled_sample_annotations_can_be_loaded(seeded_workspace):
    at = _run(seeded_workspace)
    assert at.radio(key="labels_source").value == "An uploaded labels file"
    at.button(key="labels_load_sample").click().run()
    assert not at.exception
    # the seeded dataset is not the support sample, so no id matches: a clear error, no traceback
    assert at.error


def _support_frame() -> pd.DataFrame:
    """The bundled support set as canonical records (well-formed lines only)."""
    import json

    rows = []
    for number, line in enumerate((SAMPLE_DATA / "support_sft.jsonl").read_text().splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
            continue
        extra = {k: v for k, v in row.items() if k not in ("messages", "tools")}
        tools = row.get("tools") if isinstance(row.get("tools"), list) else None
        rows.append(records.make_record("sft", row["messages"], tools=tools, extra=extra, source_line=number))
    return records.make_frame(rows)


def test_done_when_on_the_sample(tmp_path):
    """Gate fails on one pair and one annotator; guideline, adjudication and save all work."""
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(_support_frame(), note="sample", name="support_sft.jsonl", source_format="openai-sft")
    at = _run(ws)
    at.button(key="labels_load_sample").click().run()
    assert not at.exception
    assert any("Gate failed" in e.value for e in at.error)
    warnings = " ".join(w.value for w in at.warning)
    assert "Most confused: returns vs warranty" in warnings
    assert "annotator_c drifts" in warnings
    assert "annotator_a drifts" not in warnings and "annotator_b drifts" not in warnings
    assert "High disagreement and no guideline yet: " in warnings
    category = at.selectbox(key="labels_guideline_category").value
    assert category in ("returns", "warranty")
    at.text_area(key=f"labels_gl_definition_{category}").input("Decided by the age of the product.")
    at.button(key="labels_guideline_save").click().run()
    assert category in agreement.load_guidelines(ws)
    queue = [b for b in at.button if b.key and b.key.startswith("labels_adj_")]
    queue[0].click().run()
    assert len(agreement.load_adjudications(ws)) == 1
    at.button(key="labels_save").click().run()
    assert not at.exception
    assert ws.dataset_version() == 2
    assert ws.steps()["labels"]["summary"]["gate"] == "fail"


def test_labels_from_the_data_cannot_inject_markdown(tmp_path):
    frame = _labelled_frame()
    link = "[click](https://evil.example)"
    for column in ("annotator_a", "annotator_b", "annotator_c"):
        frame[column] = [link if v == "warranty" else v for v in frame[column]]
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(frame, note="labelled", name="support.jsonl", source_format="openai-sft")
    at = _run(ws)
    shown = [w.value for w in at.warning] + [b.label for b in at.button] + [e.label for e in at.expander]
    assert any("evil" in text for text in shown)
    assert not any("[click](" in text for text in shown)


def test_labels_of_deduplicated_items_are_explained(tmp_path):
    from core import dedup

    ws = Workspace.open(tmp_path / "ws")
    frame = _support_frame()
    first = ws.save_dataset(frame, note="sample", name="support_sft.jsonl", source_format="openai-sft")
    kept, audit = dedup.apply_dedup(frame, dedup.find_duplicates(frame, dedup.DedupConfig()))
    assert len(audit)  # the sample has planted duplicates
    second = ws.save_dataset(kept, note="dedup")
    dedup.save_audit(ws, audit, from_version=first, to_version=second)
    labelled = set(pd.read_csv(SAMPLE_DATA / "support_annotations.csv")["id"].astype(str))
    gone = len(labelled & set(audit["id"].astype(str)) - set(kept["id"]))  # exact copies share the id
    assert gone
    at = _run(ws)
    at.button(key="labels_load_sample").click().run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert f"{gone} were removed as duplicates on the Dedup page" in warnings


@pytest.mark.skipif(importlib.util.find_spec("cleanlab") is None, reason="cleanlab is not installed")
def test_cleanlab_ranks_the_drifting_annotator_last(labelled_workspace):
    at = _run(labelled_workspace)
    tables = [d.value for d in at.dataframe]
    annotators = next(t for t in tables if "worst_label" in t.columns)
    assert list(annotators.index)[-1] == "annotator_c"
    assert annotators["quality"].between(0, 1).all()
    items = next(t for t in tables if "text" in t.columns and "quality" in t.columns)
    assert {"label", "agreement"} <= set(items.columns)
    assert any("classifier from the texts" in m.value for m in at.markdown)
