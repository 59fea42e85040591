"""Review sets: rows of the dataset chosen for review, reviewed in full, applied as a new version."""

import pytest

from core import review
from core.errors import DatasetError
from core.workspace import Workspace
from tests.pages.conftest import small_frame


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(small_frame(10), note="upload", name="orders.jsonl", source_format="openai-sft")
    return ws


def _ids(ws, *positions):
    return [ws.current_dataset()["id"].iloc[p] for p in positions]


def test_a_set_is_saved_with_every_row_as_its_sample(ws):
    ids = _ids(ws, 4, 1, 7)
    made = review.sets.create_set(ws, [*ids, ids[0]], description='"refund" in prompt')
    assert made.set_id == "rows-1" and made.ids == tuple(ids) and made.dataset_version == 1
    assert review.ReviewStore(ws).sample_ids("rows-1") == ids
    assert [s.set_id for s in review.sets.list_sets(ws)] == ["rows-1"]
    assert review.sets.create_set(ws, ids[:1], description="x").set_id == "rows-2"
    assert review.sets.set_rows(ws.current_dataset(), made)["id"].tolist() == ids
    assert review.sets.is_set("rows-1") and not review.sets.is_set("run-20261207")


def test_a_set_needs_rows_of_the_current_dataset(ws):
    with pytest.raises(DatasetError, match="at least one row"):
        review.sets.create_set(ws, [], description="x")
    with pytest.raises(DatasetError, match="not in the current dataset"):
        review.sets.create_set(ws, ["no-such-id"], description="x")


def test_applying_removes_the_rejected_and_puts_the_edited_in_place(ws):
    ids = _ids(ws, 0, 1, 2)
    made = review.sets.create_set(ws, ids, description="three")
    store = review.ReviewStore(ws)
    edited = [{"role": "user", "content": "Where is my order?"}, {"role": "assistant", "content": "Fixed."}]
    store.record_many(
        [
            review.Decision(made.set_id, ids[0], "approve", "ana"),
            review.Decision(made.set_id, ids[1], "reject", "ana", reason="incorrect"),
            review.Decision(made.set_id, ids[2], "edit", "ana", edited_messages=edited),
        ]
    )
    version, removed, changed = review.sets.apply_set(ws, made)
    data = ws.current_dataset()
    assert (version, removed, changed, len(data)) == (2, 1, 1, 9)
    assert ids[1] not in set(data["id"]) and ids[0] in set(data["id"])
    assert "Fixed." in set(data["response_text"])
    assert ws.dataset_info().note.startswith("review: rows-1 applied")


def test_applying_needs_a_decision_that_changes_something(ws):
    made = review.sets.create_set(ws, _ids(ws, 0), description="one")
    with pytest.raises(DatasetError, match="nothing of rows-1 is reviewed"):
        review.sets.apply_set(ws, made)
    review.ReviewStore(ws).record(review.Decision(made.set_id, made.ids[0], "approve", "ana"))
    with pytest.raises(DatasetError, match="every reviewed row of rows-1 was approved"):
        review.sets.apply_set(ws, made)
    assert ws.dataset_version() == 1


def test_rows_removed_since_are_left_out_of_the_set(ws):
    made = review.sets.create_set(ws, _ids(ws, 0, 1), description="two")
    data = ws.current_dataset()
    ws.save_dataset(data[data["id"] != made.ids[0]].reset_index(drop=True), note="drop one")
    assert review.sets.set_rows(ws.current_dataset(), made)["id"].tolist() == [made.ids[1]]
