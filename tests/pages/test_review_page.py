from unittest.mock import patch

import pandas as pd
import pytest

from core import records, review
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.pages.conftest import app_test

PAGE = ROOT / "pages" / "6_Review.py"


def _batch(n=25):
    rows = []
    for i in range(n):
        rec = records.make_record(
            "sft",
            [
                {"role": "user", "content": f"Can I return item {i}?"},
                {"role": "assistant", "content": f"Yes, item {i} can be returned within 30 days."},
            ],
            extra={"category": ("returns", "billing")[i % 2]},
        )
        rec.update(
            source="synthetic", batch_id="run-1", mode="variations", seed_ids=[], prompt="Write variations."
        )
        rows.append(rec)
    return records.make_frame(rows)


BATCHES = pd.DataFrame(
    [
        {
            "batch_id": "run-1",
            "created_at": "2026-11-22T10:00:00+00:00",
            "mode": "variations",
            "model": "smollm2",
            "valid": 25,
            "invalid": 0,
        }
    ]
)


@pytest.fixture
def patched():
    batch = _batch()
    with (
        patch("core.synth.list_batches", return_value=BATCHES),
        patch("core.synth.batch_examples", return_value=batch),
    ):
        yield batch


def _open(root):
    at = app_test(PAGE, root).run()
    assert not at.exception, at.exception
    return at


def test_no_batches_says_what_to_do(tmp_path):
    with patch("core.synth.list_batches", return_value=pd.DataFrame()):
        at = _open(tmp_path / "ws")
    assert any("Synthetic page" in i.value for i in at.info)


def test_approve_reject_undo_are_saved_and_survive_a_reload(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    assert at.button(key="review_approve").disabled  # no reviewer name yet
    at.text_input(key="review_reviewer").input("ana").run()
    at.button(key="review_approve").click().run()
    at.selectbox(key="review_reason").select("incorrect").run()
    at.button(key="review_reject").click().run()
    at.button(key="review_approve").click().run()
    at.button(key="review_undo").click().run()
    assert not at.exception, at.exception

    store = review.ReviewStore(Workspace.open(root))
    assert store.pass_rate("run-1") == review.PassRate(1, 1, 20)
    audit = store.audit("run-1")
    assert list(audit["verdict"]) == ["approve", "reject", "approve"] and list(audit["undone"]) == [0, 0, 1]

    again = _open(root)  # a refresh: a new session on the same workspace
    assert again.text_input(key="review_reviewer").value == "ana"
    assert "2 of 20 sampled examples reviewed" in again.get("progress")[0].proto.text


def test_skip_shows_the_next_example_and_brings_the_skipped_one_back_last(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    for key in ("review_skip", "review_approve", "review_approve"):  # N, then A twice
        at.button(key=key).click().run()
    assert not at.exception, at.exception
    store = review.ReviewStore(Workspace.open(root))
    sample = store.sample_ids("run-1")
    assert list(store.audit("run-1")["example_id"]) == [
        sample[1],
        sample[2],
    ]  # the first one waits, undecided
    assert sample[0] not in set(store.decisions("run-1")["example_id"])


def test_passing_batch_enters_the_dataset(tmp_path, patched):
    root = tmp_path / "ws"
    ws = Workspace.open(root)
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    for _ in range(20):
        at.button(key="review_approve").click().run()
    assert not at.exception, at.exception
    assert review.ReviewStore(ws).pass_rate("run-1").meets_bar
    at.button(key="review_admit").click().run()
    assert not at.exception, at.exception
    data = ws.current_dataset()
    assert len(data) == 25 and set(data["source"]) == {"synthetic"}
    assert "review" in ws.steps()


def test_the_last_decision_of_a_sample_can_be_undone(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    for _ in range(20):
        at.button(key="review_approve").click().run()
    assert any("Every sampled example" in s.value for s in at.success)
    at.button(key="review_undo").click().run()
    assert not at.exception, at.exception
    assert review.ReviewStore(Workspace.open(root)).pass_rate("run-1").reviewed == 19
    assert "19 of 20 sampled examples reviewed" in at.get("progress")[0].proto.text
    assert not at.button(key="review_approve").disabled  # the undone example is back for a decision


def test_below_the_bar_shows_reasons_and_blocks(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    at.selectbox(key="review_reason").select("paraphrase of a seed").run()
    for _ in range(5):
        at.button(key="review_reject").click().run()
    for _ in range(15):
        at.button(key="review_approve").click().run()
    assert not at.exception, at.exception
    assert any("Below the 90% bar" in e.value for e in at.error)
    assert at.button(key="review_admit").disabled


def test_category_is_shown_as_text_not_markdown(tmp_path):
    batch = _batch()
    batch["category"] = "[click](https://evil.example) **bold**"
    with (
        patch("core.synth.list_batches", return_value=BATCHES),
        patch("core.synth.batch_examples", return_value=batch),
    ):
        at = _open(tmp_path / "ws")
    assert not any("evil.example" in m.value for m in at.markdown)
    assert any("evil.example" in t.value for t in at.text)


def test_edit_and_approve_saves_the_text_typed_just_before_the_click(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    store = review.ReviewStore(Workspace.open(root))
    first = store.sample_ids("run-1")[0]
    at.text_area(key=f"review_edit_{first}").input("Edited: returns take 14 days.")
    at.button(key="review_edit").click().run()  # typed and clicked in one go, as in a browser
    assert not at.exception, at.exception
    decision = store.decisions("run-1").iloc[0]
    assert decision["verdict"] == "edit" and "Edited: returns take 14 days." in decision["edited"]


def test_reject_saves_the_note_typed_just_before_the_click(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_reviewer").input("ana").run()
    at.selectbox(key="review_reason").select("incorrect")
    at.text_input(key="review_note").input("wrong return window")
    at.button(key="review_reject").click().run()
    assert not at.exception, at.exception
    decision = review.ReviewStore(Workspace.open(root)).decisions("run-1").iloc[0]
    assert (decision["reason"], decision["note"]) == ("incorrect", "wrong return window")


@pytest.fixture
def stored_batch(tmp_path):
    """A real batch: generated against the loopback teacher and stored, as the page finds it."""
    import itertools

    from core.synth import runner
    from tests.core.conftest import support_frame, unique_reply
    from tests.core.test_synth_runner import _create, _settings
    from tests.fake_openai_server import FakeOpenAIServer, Reply

    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(support_frame(), note="seeds", name="support.jsonl", source_format="openai-sft")
    counter = itertools.count()
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(
        content=unique_reply(k := next(counter), ("billing", "returns")[k % 2]), completion_tokens=80
    )
    with server:
        run_id = _create(ws, _settings(server, concurrency=4), n=24)
        assert runner.execute_run(ws, run_id) == "done"
    return ws, run_id


def test_bulk_approve_of_a_filtered_category_needs_a_confirmation(stored_batch):
    ws, run_id = stored_batch
    at = _open(ws.root)
    at.text_input(key="review_reviewer").input("ana").run()
    at.selectbox(key="review_filter").select("returns").run()
    assert not at.exception, at.exception
    button = at.button(key="review_bulk_approve")
    assert button.disabled  # not before the person confirms
    at.checkbox(key="review_bulk_confirm").check().run()
    at.button(key="review_bulk_approve").click().run()
    assert not at.exception, at.exception
    decisions = review.ReviewStore(ws).decisions(run_id)
    sample = review.ReviewStore(ws).sample_ids(run_id)
    assert len(decisions) > 0 and set(decisions["verdict"]) == {"approve"}
    assert len(decisions) < len(sample)  # only the returns examples of the sample
    assert any("Every sampled example of returns is reviewed." in s.value for s in at.success)


def test_the_queue_filters_by_seed_and_a_seeds_group_is_approved_at_once(stored_batch):
    ws, run_id = stored_batch
    at = _open(ws.root)
    at.text_input(key="review_reviewer").input("ana").run()
    from core.synth import store

    examples = store.batch_examples(ws, run_id).set_index("id")
    sample = review.ReviewStore(ws).sample_ids(run_id)
    seed = examples.loc[sample[0], "seed_ids"][0]
    from_seed = [i for i in sample if seed in examples.loc[i, "seed_ids"]]
    at.selectbox(key="review_seed_filter").select(seed).run()
    assert not at.exception, at.exception
    assert any(f"{len(from_seed)} still to review" in m.value for m in at.markdown)
    at.checkbox(key="review_bulk_confirm").check().run()
    at.button(key="review_bulk_approve").click().run()
    assert set(review.ReviewStore(ws).decisions(run_id)["example_id"]) == set(from_seed)
    assert any(f"Every sampled example of seed {seed} is reviewed." in s.value for s in at.success)


def test_the_gate_rule_is_chosen_stated_and_kept(stored_batch):
    ws, run_id = stored_batch
    store = review.ReviewStore(ws)
    sample = store.ensure_sample(run_id, _stored_examples(ws, run_id), seed=0)
    decisions = [review.Decision(run_id, i, "approve", "ana") for i in sample]
    decisions[0] = review.Decision(run_id, sample[0], "reject", "ana", reason="incorrect")
    store.record_many(decisions)
    at = _open(ws.root)
    assert any("meets the 90% bar (rule: point)" in m.value for m in at.markdown)
    at.radio(key="review_gate_rule").set_value("lower_bound").run()
    assert not at.exception, at.exception
    assert any("is below the 90% bar (rule: lower bound)" in m.value for m in at.markdown)
    assert ws.get_state("review.gate_rule") == "lower_bound"
    assert _open(ws.root).radio(key="review_gate_rule").value == "lower_bound"  # kept across a reload


def _stored_examples(ws, run_id):
    from core.synth import store

    return store.batch_examples(ws, run_id, valid_only=True)


def test_two_reviewers_share_the_sample_and_see_their_agreement(tmp_path, patched):
    root = tmp_path / "ws"
    at = _open(root)
    at.text_input(key="review_team").input("ana, ben").run()
    at.slider(key="review_overlap").set_value(20).run()
    at.button(key="review_assign").click().run()
    assert not at.exception, at.exception
    store = review.ReviewStore(Workspace.open(root))
    table = store.assignments("run-1")
    assert (table["reviewer"].value_counts() == 12).all()  # 4 shared + 8 own each, of 20
    at.text_input(key="review_reviewer").input("ana").run()
    assert any("12 still to review by ana" in m.value for m in at.markdown)
    for _ in range(12):
        at.button(key="review_approve").click().run()
    assert any("Every sampled example of this batch is reviewed" in s.value for s in at.success)
    at.text_input(key="review_reviewer").input("ben").run()
    assert any("12 still to review by ben" in m.value for m in at.markdown)  # ana's decisions are not his
    for _ in range(12):
        at.button(key="review_approve").click().run()
    assert not at.exception, at.exception
    progress = at.dataframe[0].value
    assert progress.set_index("reviewer")["done"].to_dict() == {"ana": 12, "ben": 12}
    assert any("kappa 1.00 on 4 shared examples (4 agreed)" in m.value for m in at.markdown)
    assert store.pass_rate("run-1") == review.PassRate(20, 0, 20)
    again = _open(root)  # the team and the assignment survive a refresh
    assert again.text_input(key="review_team").value == "ana, ben"


def test_the_queue_filters_by_a_quality_flag_and_the_flagged_group_is_rejected_at_once(tmp_path):
    batch = _batch()
    refusals = batch["id"].iloc[::5].tolist()  # every fifth reply refuses
    batch["messages"] = [
        [m[0], {**m[1], "content": "I'm sorry, but I can't help with that."}] if i in refusals else m
        for i, m in zip(batch["id"], batch["messages"], strict=True)
    ]
    with (
        patch("core.synth.list_batches", return_value=BATCHES),
        patch("core.synth.batch_examples", return_value=batch),
    ):
        at = _open(tmp_path)
        assert "refusal" in at.selectbox(key="review_flag_filter").options[1]
        at.text_input(key="review_reviewer").input("ana").run()
        at.selectbox(key="review_flag_filter").select("refusal").run()
        assert not at.exception, at.exception
        ws = Workspace.open(tmp_path)
        sampled = [i for i in review.ReviewStore(ws).sample_ids("run-1") if i in refusals]
        assert sampled  # the seeded sample holds some of them
        assert any(f"{len(sampled)} still to review" in m.value for m in at.markdown)
        assert any(f"All {len(sampled)} examples of flag refusal" in m.value for m in at.markdown)
        at.checkbox(key="review_bulk_confirm").check().run()
        at.button(key="review_bulk_reject").click().run()
        decisions = review.ReviewStore(ws).decisions("run-1")
        assert set(decisions["example_id"]) == set(sampled) and set(decisions["verdict"]) == {"reject"}
        assert any("Every sampled example of flag refusal is reviewed." in s.value for s in at.success)
