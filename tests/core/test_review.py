import math

import hypothesis.strategies as hs
import pandas as pd
import pytest
from hypothesis import given, settings

from core import records, review
from core.errors import DatasetError
from core.workspace import Workspace


def _batch(
    n: int, categories=("billing", "shipping", "returns"), modes=("variations", "paraphrase"), prefix=""
) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rec = records.make_record(
            "sft",
            [
                {"role": "user", "content": f"{prefix}question {i}"},
                {"role": "assistant", "content": f"answer {i}"},
            ],
            extra={"category": categories[i % len(categories)]},
        )
        rec["mode"] = modes[(i // len(categories)) % len(modes)]
        rec["source"] = "synthetic"
        rows.append(rec)
    return records.make_frame(rows)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, 0),
        (5, 5),
        (20, 20),
        (21, 20),
        (199, 20),
        (200, 20),
        (201, 21),
        (300, 30),
        (1000, 100),
        (1001, 101),
    ],
)
def test_sample_size_is_ceil_ten_percent_at_least_twenty(n, expected):
    assert review.sample_size(n) == expected


@given(hs.integers(min_value=0, max_value=5000))
def test_sample_size_property(n):
    size = review.sample_size(n)
    assert size == min(n, max(20, math.ceil(n / 10 - 1e-9)))


@settings(max_examples=30, deadline=None)
@given(n=hs.integers(min_value=1, max_value=400), seed=hs.integers(min_value=0, max_value=2**31))
def test_draw_sample_size_unique_and_reproducible(n, seed):
    batch = _batch(n)
    first = review.draw_sample(batch, seed=seed)
    assert first.size == review.sample_size(n)
    assert len(set(first.ids)) == first.size
    assert set(first.ids) <= set(batch["id"])
    assert review.draw_sample(batch, seed=seed) == first


def test_draw_sample_is_stratified_proportionally():
    batch = _batch(600)  # 3 categories x 2 modes, 100 each
    sample = review.draw_sample(batch, seed=7)
    assert sample.size == 60
    assert sample.by_stratum == {
        f"{c}|{m}": 10 for c in ("billing", "returns", "shipping") for m in ("paraphrase", "variations")
    }


def test_different_seeds_give_different_samples():
    batch = _batch(500)
    assert review.draw_sample(batch, seed=1).ids != review.draw_sample(batch, seed=2).ids


@pytest.mark.parametrize(
    ("passed", "n", "low", "high"),
    [(8, 10, 0.4902, 0.9433), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (90, 100, 0.8256, 0.9448)],
)
def test_wilson_interval_known_values(passed, n, low, high):
    lo, hi = review.wilson_interval(passed, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize(
    ("approved", "rejected", "allowed"),
    [(899, 101, False), (900, 100, True), (9, 1, True), (17, 3, False), (20, 0, True)],
)
def test_gate_at_the_ninety_percent_bar(approved, rejected, allowed):
    rate = review.PassRate(approved, rejected, approved + rejected)
    assert review.gate(rate).allowed is allowed


def test_gate_blocks_until_fully_reviewed_and_override_is_explicit():
    partial = review.PassRate(10, 0, 20)
    assert not review.gate(partial).allowed
    assert "still to review" in review.gate(partial).reason
    forced = review.gate(review.PassRate(5, 5, 10), override_reason="prompt fixed, re-reviewed offline")
    assert forced.allowed and forced.reason.startswith("override")


def test_decisions_persist_across_a_reload_and_undo_works(tmp_path):
    batch = _batch(30)
    store = review.ReviewStore(Workspace.open(tmp_path))
    ids = store.ensure_sample("b1", batch, seed=3)
    assert len(ids) == 20
    store.record(review.Decision("b1", ids[0], "approve", "ana"))
    store.record(review.Decision("b1", ids[1], "reject", "ana", reason="incorrect", note="wrong total"))

    reloaded = review.ReviewStore(Workspace.open(tmp_path))
    assert reloaded.sample_ids("b1") == ids  # the sample is fixed, not redrawn
    assert reloaded.pass_rate("b1") == review.PassRate(1, 1, 20)
    assert reloaded.undo_last("b1") == ids[1]
    assert reloaded.pass_rate("b1") == review.PassRate(1, 0, 20)
    audit = reloaded.audit("b1")
    assert list(audit["undone"]) == [0, 1] and set(audit["reviewer"]) == {"ana"}


def test_decision_requires_reason_and_reviewer():
    with pytest.raises(ValueError, match="reason"):
        review.Decision("b", "x", "reject", "ana")
    with pytest.raises(ValueError, match="reviewer"):
        review.Decision("b", "x", "approve", " ")


def test_extend_sample_adds_new_ids_only(tmp_path):
    batch = _batch(300)
    store = review.ReviewStore(Workspace.open(tmp_path))
    first = store.ensure_sample("b", batch, seed=1)
    extended = store.extend_sample("b", batch, 10, seed=2)
    assert extended[: len(first)] == first
    assert len(extended) == len(first) + 10 and len(set(extended)) == len(extended)


def _review_all(store, batch_id, ids, rejects=0, edit_first=False):
    for i, example_id in enumerate(ids):
        if i < rejects:
            store.record(review.Decision(batch_id, example_id, "reject", "ana", reason="incorrect"))
        elif edit_first and i == rejects:
            store.record(
                review.Decision(
                    batch_id,
                    example_id,
                    "edit",
                    "ana",
                    edited_messages=[
                        {"role": "user", "content": "edited question"},
                        {"role": "assistant", "content": "edited"},
                    ],
                )
            )
        else:
            store.record(review.Decision(batch_id, example_id, "approve", "ana"))


def test_admit_batch_keeps_rejects_out_and_edits_as_edited(workspace):
    workspace.save_dataset(_batch(5, modes=("real",), prefix="real ").assign(source="real"), note="real data")
    batch = _batch(25)
    store = review.ReviewStore(workspace)
    ids = store.ensure_sample("b", batch, seed=0)
    _review_all(store, "b", ids, rejects=2, edit_first=True)  # 18/20 = 90%
    version = review.admit_batch(workspace, "b", batch, reviewer="ana")
    data = workspace.load_version(version)
    assert not set(ids[:2]) & set(data["id"])
    assert "edited question" in set(data["prompt_text"])
    assert len(data) == 5 + 25 - 2
    gates = store.gates()
    assert gates.iloc[0]["admitted"] == 1 and gates.iloc[0]["pass_rate"] == pytest.approx(0.9)


def test_admit_batch_below_bar_blocks_unless_overridden(workspace):
    batch = _batch(20)
    store = review.ReviewStore(workspace)
    ids = store.ensure_sample("b", batch, seed=0)
    _review_all(store, "b", ids, rejects=3)  # 85%
    with pytest.raises(DatasetError, match="below the 90% bar"):
        review.admit_batch(workspace, "b", batch, reviewer="ana")
    review.admit_batch(workspace, "b", batch, reviewer="ana", override_reason="checked by domain expert")
    assert store.gates().iloc[0]["override_reason"] == "checked by domain expert"


def test_gate_outcomes_reach_the_data_card(workspace):
    from core import report

    batch = _batch(20)
    store = review.ReviewStore(workspace)
    ids = store.ensure_sample("b", batch, seed=0)
    _review_all(store, "b", ids, rejects=3)
    review.admit_batch(workspace, "b", batch, reviewer="ana", override_reason="expert checked")
    section = report.review_summary({"reviewed": 20}, store.gates())
    assert section["pass rate per batch"] == {"b": 0.85}
    assert section["overrides"] == ["expert checked"]


def test_admit_batch_keeps_the_datasets_own_duplicates(workspace):
    real = _batch(5, modes=("real",), prefix="real ").assign(source="real")
    workspace.save_dataset(pd.concat([real, real.iloc[:2]], ignore_index=True), note="real data with dups")
    batch = _batch(20)
    store = review.ReviewStore(workspace)
    _review_all(store, "b", store.ensure_sample("b", batch, seed=0))
    version = review.admit_batch(workspace, "b", batch, reviewer="ana")
    assert len(workspace.load_version(version)) == 7 + 20


def test_admit_batch_notes_batch_rows_already_in_the_dataset(workspace):
    batch = _batch(20)
    workspace.save_dataset(batch.iloc[:3].assign(source="real"), note="real data")
    store = review.ReviewStore(workspace)
    _review_all(store, "b", store.ensure_sample("b", batch, seed=0))
    version = review.admit_batch(workspace, "b", batch, reviewer="ana")
    assert len(workspace.load_version(version)) == 20
    assert "17 rows, 3 already in the dataset" in workspace.dataset_info(version).note


@pytest.mark.parametrize(
    "approved, reviewed, rule, allowed",
    [
        (18, 20, "point", True),  # 90.0%: the point estimate meets the bar
        (18, 20, "lower_bound", False),  # but its interval reaches down to about 70%
        (20, 20, "lower_bound", False),  # 20 of 20: the lower bound is about 84%
        (40, 40, "lower_bound", True),  # 40 of 40: about 91%
    ],
)
def test_the_gate_rule_decides_and_says_which_rule_did(approved, reviewed, rule, allowed):
    rate = review.PassRate(approved, reviewed - approved, reviewed)
    decision = review.gate(rate, rule=rule)
    assert decision.allowed is allowed
    assert f"(rule: {rule.replace('_', ' ')})" in decision.reason


def test_an_unknown_gate_rule_is_refused():
    with pytest.raises(ValueError, match="gate rule must be one of"):
        review.gate(review.PassRate(1, 0, 1), rule="vibes")


def test_the_gate_rule_that_decided_is_stated_in_the_data_card(tmp_path):
    from core import report

    store = review.ReviewStore(Workspace.open(tmp_path))
    decision = review.gate(review.PassRate(18, 2, 20), rule="lower_bound")  # 90% but the interval reaches 70%
    store.record_gate(
        "b1",
        admitted=decision.allowed,
        rate=review.PassRate(18, 2, 20),
        override_reason=None,
        dataset_version=1,
        decided_by="ana",
        rule="lower_bound",
    )
    summary = report.review_summary(None, store.gates())
    assert summary["gate rule"] == "lower bound" and summary["batches admitted"] == 0
    card = report.render_data_card(report.DataCardInputs(title="d", review=summary))
    assert "\n- gate rule: lower bound\n" in card
