"""Sharing a review sample among reviewers: queues, overlap, progress, agreement, strictest verdict."""

import hypothesis.strategies as hs
import pytest
from hypothesis import given, settings

from core import review
from core.review import assign
from core.workspace import Workspace

IDS = [f"ex{i:02d}" for i in range(20)]


@settings(max_examples=60, deadline=None)
@given(
    n=hs.integers(min_value=0, max_value=60),
    people=hs.integers(min_value=1, max_value=5),
    overlap=hs.sampled_from([0.0, 0.1, 0.2, 0.5, 1.0]),
    seed=hs.integers(min_value=0, max_value=2**31),
)
def test_every_example_is_someones_and_the_overlap_is_everyones(n, people, overlap, seed):
    ids = [f"e{i}" for i in range(n)]
    names = [f"r{j}" for j in range(people)]
    plan = assign.plan(ids, names, overlap=overlap, seed=seed)
    covered = set().union(*map(set, plan.queues.values()))
    assert covered == set(ids)
    for queue in plan.queues.values():
        assert plan.shared <= set(queue)
        assert list(queue) == [i for i in ids if i in set(queue)]  # the sample's order is kept
    own = [len(set(q) - plan.shared) for q in plan.queues.values()]
    assert max(own) - min(own) <= 1
    assert plan == assign.plan(ids, names, overlap=overlap, seed=seed)


def test_the_overlap_is_the_ceiling_of_its_share_and_none_for_one_reviewer():
    assert len(assign.plan(IDS, ["ana", "ben"], overlap=0.2, seed=1).shared) == 4
    assert len(assign.plan(IDS, ["ana", "ben"], overlap=0.21, seed=1).shared) == 5
    assert assign.plan(IDS, ["ana"], overlap=0.5, seed=1).shared == frozenset()


def test_names_are_cleaned_and_a_plan_needs_one():
    assert assign.clean_reviewers([" ana", "", "ben ", "ana"]) == ["ana", "ben"]
    with pytest.raises(ValueError, match="at least one reviewer"):
        assign.plan(IDS, [" ", ""], overlap=0.2, seed=0)
    with pytest.raises(ValueError, match="overlap"):
        assign.plan(IDS, ["ana"], overlap=1.5, seed=0)


@pytest.fixture
def store(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    store = review.ReviewStore(ws)
    store.save_sample("b1", review.ReviewSample(tuple(IDS), ("all",) * len(IDS), 0))
    return store


def _decide(store, reviewer, ids, verdict="approve"):
    reason = "incorrect" if verdict == "reject" else None
    store.record_many([review.Decision("b1", i, verdict, reviewer, reason=reason) for i in ids])


def test_each_reviewer_gets_their_own_queue_and_the_shared_examples(store):
    plan = assign.plan(IDS, ["ana", "ben"], overlap=0.2, seed=3)
    store.assign("b1", plan, seed=3)
    table = store.assignments("b1")
    by = store.reviewer_decisions("b1")
    ana = assign.queue(IDS, table, by, "ana")
    ben = assign.queue(IDS, table, by, "ben")
    assert set(ana) & set(ben) == set(plan.shared)
    assert set(ana) | set(ben) == set(IDS)
    _decide(store, "ana", ana)
    by = store.reviewer_decisions("b1")
    assert assign.queue(IDS, table, by, "ana") == []
    assert assign.queue(IDS, table, by, "ben") == ben  # ana's decisions on shared ones are not ben's
    assert store.pass_rate("b1").reviewed == len(ana)


def test_progress_counts_each_reviewers_own_decisions(store):
    plan = assign.plan(IDS, ["ana", "ben"], overlap=0.2, seed=3)
    store.assign("b1", plan, seed=3)
    _decide(store, "ana", plan.queues["ana"][:5])
    rows = {r.reviewer: r for r in assign.progress(store.assignments("b1"), store.reviewer_decisions("b1"))}
    assert (rows["ana"].assigned, rows["ana"].done, rows["ana"].remaining) == (12, 5, 7)
    assert (rows["ben"].assigned, rows["ben"].done) == (12, 0)


def test_agreement_on_the_overlap_is_cohens_kappa_on_pass_fail(store):
    shared = IDS[:10]
    _decide(store, "ana", shared[:5])
    _decide(store, "ana", shared[5:], "reject")
    _decide(store, "ben", shared[:4])
    _decide(store, "ben", shared[4:], "reject")
    (pair,) = assign.agreement(store.reviewer_decisions("b1"), shared)
    assert (pair.a, pair.b, pair.n, pair.agreed) == ("ana", "ben", 10, 9)
    # p_o = 0.9, p_e = 0.5*0.4 + 0.5*0.6 = 0.5
    assert pair.kappa == pytest.approx(0.8)
    assert not pair.noisy


def test_agreement_below_the_bar_is_noisy(store):
    _decide(store, "ana", IDS[:4])
    _decide(store, "ben", IDS[:2])
    _decide(store, "ben", IDS[2:4], "reject")
    (pair,) = assign.agreement(store.reviewer_decisions("b1"), IDS[:4])
    assert pair.kappa == pytest.approx(0.0)
    assert pair.noisy


def test_where_reviewers_disagree_the_strictest_verdict_counts(store):
    _decide(store, "ana", IDS[:2])
    _decide(store, "ben", IDS[:1], "reject")
    decided = store.decisions("b1").set_index("example_id")["verdict"]
    assert decided.to_dict() == {IDS[0]: "reject", IDS[1]: "approve"}
    rate = store.pass_rate("b1")
    assert (rate.approved, rate.rejected) == (1, 1)


def test_one_reviewer_changing_their_mind_still_counts_their_latest(store):
    _decide(store, "ana", IDS[:1], "reject")
    _decide(store, "ana", IDS[:1])
    assert store.decisions("b1")["verdict"].tolist() == ["approve"]


def test_undo_takes_back_the_reviewers_own_last_decision(store):
    _decide(store, "ana", IDS[:1])
    _decide(store, "ben", IDS[1:2])
    assert store.undo_last("b1", "ana") == IDS[0]
    assert store.reviewer_decisions("b1")["reviewer"].tolist() == ["ben"]


def test_examples_added_after_the_assignment_go_to_whoever_is_free(store):
    plan = assign.plan(IDS[:10], ["ana", "ben"], overlap=0.0, seed=0)
    store.assign("b1", plan, seed=0)
    table = store.assignments("b1")
    ana = assign.queue(IDS, table, store.reviewer_decisions("b1"), "ana")
    assert set(ana) == set(plan.queues["ana"]) | set(IDS[10:])
    _decide(store, "ben", IDS[10:12])
    ana = assign.queue(IDS, table, store.reviewer_decisions("b1"), "ana")
    assert set(ana) == set(plan.queues["ana"]) | set(IDS[12:])


def test_a_reviewer_outside_the_assignment_sees_what_nobody_decided(store):
    store.assign("b1", assign.plan(IDS, ["ana", "ben"], overlap=0.0, seed=0), seed=0)
    _decide(store, "ana", IDS[:3])
    assert assign.queue(IDS, store.assignments("b1"), store.reviewer_decisions("b1"), "cy") == IDS[3:]


def test_a_new_assignment_replaces_the_old_and_keeps_decisions(store):
    store.assign("b1", assign.plan(IDS, ["ana", "ben"], overlap=0.2, seed=0), seed=0)
    _decide(store, "ana", IDS[:2])
    store.assign("b1", assign.plan(IDS, ["ana", "ben", "cy"], overlap=0.1, seed=1), seed=1)
    table = store.assignments("b1")
    assert set(table["reviewer"]) == {"ana", "ben", "cy"}
    assert len(table) == len(IDS) + 2 * 2  # two shared examples, each twice more
    assert len(store.reviewer_decisions("b1")) == 2
