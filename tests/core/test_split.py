import random

import hypothesis as hs
import hypothesis.strategies as hst
import pandas as pd
import pytest

from core import records, similarity, split
from core.errors import DatasetError

_VOCAB = [f"w{n:04d}{chr(97 + n % 26)}" for n in range(3000)]
CATEGORIES = ("billing", "shipping", "returns", "account")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_VOCAB) for _ in range(words))


def make_row(prompt: str, response: str, **meta) -> dict:
    row = records.make_record(
        "sft", [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    )
    row.update(meta)
    return row


def make_frame(
    n: int, *, seed: int = 0, near_every: int = 0, sources: dict[int, str] | None = None
) -> pd.DataFrame:
    """n distinct examples (random 10-word prompts), plus a near-duplicate of every k-th one."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt, response = _text(rng, 10), _text(rng, 15)
        category = CATEGORIES[i % len(CATEGORIES)]
        source = (sources or {}).get(i, "real")
        rows.append(
            make_row(
                prompt, response, category=category, source=source, created_at=f"2026-01-{i % 28 + 1:02d}"
            )
        )
        if near_every and i % near_every == 0:
            rows.append(make_row(prompt + " please", response, category=category, source="real"))
    return records.make_frame(rows)


def labels_by_id(frame: pd.DataFrame, result: split.SplitResult) -> dict[str, str]:
    return dict(zip(frame["id"], result.labels, strict=True))


# -- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("val", "test", "needs"),
    [
        (0.1, 0.1, False),
        (0.05, 0.05, False),
        (0.1, 0.05, False),
        (0.05, 0.0, True),
        (0.15, 0.15, True),
        (0.0, 0.2, False),
    ],
)
def test_holdout_confirmation(val, test, needs):
    assert split.holdout_needs_confirmation(val, test) is needs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"val": -0.1}, r"val fraction must be in \[0, 1\), got -0.1"),
        ({"test": 1.0}, r"test fraction must be in \[0, 1\), got 1.0"),
        ({"val": 0.5, "test": 0.5, "confirm_holdout": True}, "must leave room for train"),
        ({"stratify": ("colour",)}, r"stratify fields .* got \['colour'\]"),
        ({"cluster_threshold": 0.0}, "cluster_threshold must be in"),
        ({"val": 0.2, "test": 0.2}, "hold-out of 40%"),  # 40% hold-out without confirmation
    ],
)
def test_config_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        split.SplitConfig(**kwargs)


def test_config_accepts_confirmed_holdout():
    assert split.SplitConfig(val=0.2, test=0.2, confirm_holdout=True).train == pytest.approx(0.6)


# -- properties ------------------------------------------------------------------------------------


@hs.settings(max_examples=25, deadline=None)
@hs.given(n=hst.integers(0, 80), seed=hst.integers(0, 10_000), near=hst.sampled_from([0, 3, 7]))
def test_split_partitions_the_input(n, seed, near):
    frame = make_frame(n, seed=seed, near_every=near)
    result = split.split_frame(frame, seed=seed)
    parts = result.split(frame)
    assert sum(len(p) for p in parts.values()) == len(frame)
    assert sorted(pd.concat(parts.values())["id"]) == sorted(frame["id"])
    assert result.counts["excluded"] == 0


@hs.settings(max_examples=25, deadline=None)
@hs.given(n=hst.integers(4, 80), seed=hst.integers(0, 10_000))
def test_per_category_counts_within_one_of_target(n, seed):
    frame = make_frame(n, seed=seed)
    result = split.split_frame(frame, seed=seed)
    for category, row in result.per_stratum.items():
        total = sum(1 for c in frame["category"] if c == category)
        assert abs(row["val"] - total * 0.1) <= 1
        assert abs(row["test"] - total * 0.1) <= 1


@hs.settings(max_examples=20, deadline=None)
@hs.given(n=hst.integers(5, 60), seed=hst.integers(0, 10_000), near=hst.sampled_from([1, 2, 5]))
def test_no_near_duplicate_cluster_straddles_splits(n, seed, near):
    frame = make_frame(n, seed=seed, near_every=near)
    result = split.split_frame(frame, seed=seed)
    params = similarity.engine_params(shingle_size=3)
    sets = [similarity.shingles(t, params) for t in frame["prompt_text"]]
    for a in range(len(frame)):
        for b in range(a + 1, len(frame)):
            if similarity.jaccard(sets[a], sets[b]) >= 0.8:
                assert result.labels[a] == result.labels[b]
    assert result.leakage.total == 0
    assert result.clusters_kept_together == len(range(0, n, near))


@hs.settings(max_examples=20, deadline=None)
@hs.given(n=hst.integers(5, 60), seed=hst.integers(0, 10_000), data=hst.data())
def test_synthetic_and_eval_rows_only_in_train(n, seed, data):
    marked = data.draw(hst.dictionaries(hst.integers(0, n - 1), hst.sampled_from(["synthetic", "eval"])))
    frame = make_frame(n, seed=seed, sources=marked)
    result = split.split_frame(frame, seed=seed)
    for source, label in zip(frame["source"], result.labels, strict=True):
        if source in ("synthetic", "eval"):
            assert label == "train"
    assert len(result.forced_train) == len(marked)


@hs.settings(max_examples=15, deadline=None)
@hs.given(n=hst.integers(10, 60), extra=hst.integers(1, 40), seed=hst.integers(0, 10_000))
def test_locked_test_set_is_identical_after_adding_data(n, extra, seed):
    frame = make_frame(n, seed=seed)
    first = split.split_frame(frame, seed=seed)
    lock = split.make_lock(first.split(frame)["test"], seed=seed, fractions={"val": 0.1, "test": 0.1})
    bigger = pd.concat([frame, make_frame(extra, seed=seed + 1)], ignore_index=True)
    second = split.split_frame(bigger, seed=seed + 7, lock=lock)
    assert sorted(second.split(bigger)["test"]["id"]) == sorted(lock["ids"])
    assert second.locked and second.leakage.total == 0


def test_near_duplicates_of_locked_items_are_excluded_and_listed():
    frame = make_frame(40, seed=3)
    first = split.split_frame(frame, seed=3)
    test = first.split(frame)["test"]
    lock = split.make_lock(test, seed=3, fractions={})
    echo = make_row(test["prompt_text"][0] + " again", test["response_text"][0], category="billing")
    bigger = pd.concat([frame, records.make_frame([echo])], ignore_index=True)
    second = split.split_frame(bigger, seed=3, lock=lock)
    assert second.excluded == {echo["id"]: f"near-duplicate of locked test example {test['id'][0]}"}
    assert second.counts["excluded"] == 1
    assert echo["id"] not in set(second.split(bigger)["train"]["id"])


def test_lock_reports_missing_ids():
    frame = make_frame(20, seed=1)
    lock = {"ids": ["gone", frame["id"][0]], "hashes": {}}
    result = split.split_frame(frame, seed=1, lock=lock)
    assert result.locked_missing == ("gone",)
    assert result.counts["test"] == 1


def test_same_seed_same_split_and_seed_matters():
    frame = make_frame(60, seed=2)
    one, two = split.split_frame(frame, seed=5), split.split_frame(frame, seed=5)
    assert one.labels == two.labels
    assert any(split.split_frame(frame, seed=s).labels != one.labels for s in range(6, 10))


def test_stratify_by_two_fields():
    frame = make_frame(80, seed=4)
    frame["difficulty"] = ["easy" if i % 2 else "hard" for i in range(len(frame))]
    config = split.SplitConfig(stratify=("category", "difficulty"))
    result = split.split_frame(frame, config, seed=4)
    assert "billing / hard" in result.per_stratum
    assert all(abs(r["test"] - r["target_test"]) <= 1 for r in result.per_stratum.values())


def test_time_based_test_is_the_newest_window():
    frame = make_frame(50, seed=6)
    frame["created_at"] = [f"2026-01-01T00:{i:02d}:00" for i in range(len(frame))]
    config = split.SplitConfig(time_based=True)
    result = split.split_frame(frame, config, seed=6)
    test_times = set(result.split(frame)["test"]["created_at"])
    assert test_times == {f"2026-01-01T00:{i:02d}:00" for i in range(45, 50)}


def test_time_based_needs_dates():
    frame = make_frame(10)
    frame["created_at"] = None
    with pytest.raises(DatasetError, match="created_at"):
        split.split_frame(frame, split.SplitConfig(time_based=True), seed=0)


# -- leakage ---------------------------------------------------------------------------------------


def test_leakage_finds_planted_exact_and_near_leaks():
    frame = make_frame(30, seed=8)
    train, test = frame.iloc[:25].reset_index(drop=True), frame.iloc[25:].reset_index(drop=True)
    exact = make_row(train["prompt_text"][0], "a different answer entirely here", category="billing")
    near = make_row(train["prompt_text"][1] + " now", train["response_text"][1], category="billing")
    test = pd.concat([test, records.make_frame([exact, near])], ignore_index=True)
    report = split.leakage_report({"train": train, "val": frame.iloc[:0], "test": test}, threshold=0.8)
    counts = report.counts["train~test"]
    assert counts["exact_prompt"] == 1
    assert counts["near_prompt"] == 1 and counts["near_prompt+response"] == 1
    assert report.total == 3
    assert {(p.left_id, p.right_id) for p in report.pairs} == {
        (train["id"][0], exact["id"]),
        (train["id"][1], near["id"]),
    }


def test_leakage_against_external_eval_set():
    frame = make_frame(20, seed=9)
    result = split.split_frame(frame, seed=9)
    parts = result.split(frame)
    external = records.make_frame([make_row(parts["train"]["prompt_text"][0], "x y z", category="billing")])
    report = split.leakage_report({k: parts[k] for k in split.SPLITS}, threshold=0.8, external=external)
    assert report.counts["train~external"]["exact_prompt"] == 1
    assert report.total == 1


def test_leakage_zero_after_split_even_with_shared_prompts():
    frame = make_frame(30, seed=10)
    twins = [
        make_row(p, "another reply " + str(i), category="returns")
        for i, p in enumerate(frame["prompt_text"][:10])
    ]
    frame = pd.concat([frame, records.make_frame(twins)], ignore_index=True)
    result = split.split_frame(frame, seed=10)
    parts = result.split(frame)
    again = split.leakage_report({k: parts[k] for k in split.SPLITS}, threshold=0.8)
    assert result.leakage.total == 0 and again.total == 0


def test_near_pairs_match_brute_force():
    rng = random.Random(11)
    base = [_text(rng, 12) for _ in range(30)]
    texts = (
        base
        + [t + " " + rng.choice(_VOCAB) for t in base[:15]]
        + [" ".join(t.split()[2:]) for t in base[15:25]]
    )
    frame = pd.DataFrame({"prompt_text": texts, "response_text": [""] * len(texts)})
    view = split.pair_graph(frame, 0.7, scope=None).views["prompt"]
    assert len(set(view.exact_group.tolist())) == len(texts)  # no copies: every pair is a near pair
    left, right, jaccard = view.near(0.7)
    found = {(int(a), int(b)): float(j) for a, b, j in zip(left, right, jaccard, strict=True)}
    params = similarity.engine_params(shingle_size=3)
    sets = [similarity.shingles(t, params) for t in texts]
    truth = {
        (a, b): similarity.jaccard(sets[a], sets[b])
        for a in range(len(texts))
        for b in range(a + 1, len(texts))
        if similarity.jaccard(sets[a], sets[b]) >= 0.7
    }
    assert found.keys() == truth.keys()
    assert found == pytest.approx(truth)


# -- the lock in the workspace and in a file ---------------------------------------------------------


def test_lock_unlock_in_workspace(workspace):
    frame = make_frame(20)
    lock = split.make_lock(frame.iloc[:3], seed=1, fractions={"test": 0.1}, dataset_version=1)
    assert split.get_lock(workspace) is None
    split.save_lock(workspace, lock)
    assert split.get_lock(workspace)["ids"] == list(frame["id"][:3])
    with pytest.raises(DatasetError, match="UNLOCK"):
        split.unlock(workspace, "unlock please")
    split.unlock(workspace, "UNLOCK", note="new eval design")
    assert split.get_lock(workspace) is None
    assert [e["event"] for e in split.lock_history(workspace)] == ["lock", "unlock"]
    assert split.lock_history(workspace)[1]["note"] == "new eval design"


def test_lock_file_round_trip_and_errors(tmp_path):
    lock = split.make_lock(make_frame(5), seed=2, fractions={"test": 0.1})
    path = tmp_path / "lock.json"
    split.write_lock_file(path, lock)
    assert split.read_lock_file(path) == lock
    assert all(len(h) == 64 for h in lock["hashes"].values())
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="bad.json"):
        split.read_lock_file(tmp_path / "bad.json")


def test_a_seed_and_the_synthetic_row_made_from_it_share_train():
    from core import records as _records
    from core import split as _split

    real = [
        _records.make_record(
            "sft",
            [
                {"role": "user", "content": f"Question number {i} about topic {i * 7} in detail"},
                {"role": "assistant", "content": f"Answer {i}: a specific reply about topic {i * 7}."},
            ],
            extra={"category": "billing", "source": "real"},
        )
        for i in range(40)
    ]
    seed_id = real[5]["id"]
    paraphrase = _records.make_record(
        "sft",
        [
            {"role": "user", "content": "Totally reworded ask with other words entirely"},
            {"role": "assistant", "content": "A differently phrased reply."},
        ],
        extra={"category": "billing", "source": "synthetic"},
    )
    paraphrase["seed_ids"] = [seed_id]
    frame = _records.make_frame([*real, paraphrase])
    for seed in range(10):
        result = _split.split_frame(frame, _split.SplitConfig(val=0.1, test=0.1), seed=seed)
        labels = dict(zip(frame["id"], result.labels, strict=True))
        assert labels[seed_id] == "train" and labels[paraphrase["id"]] == "train"


# -- the pair graph --------------------------------------------------------------------------------


def test_a_graph_at_a_lower_floor_gives_the_same_split():
    frame = make_frame(80, seed=12, near_every=3)
    graph = split.pair_graph(frame, 0.5, "all")
    for threshold in (0.6, 0.8, 0.95, 1.0):
        config = split.SplitConfig(cluster_threshold=threshold)
        assert (
            split.split_frame(frame, config, seed=1, graph=graph).labels
            == split.split_frame(frame, config, seed=1).labels
        )


@pytest.mark.parametrize(
    ("floor", "rows", "scope", "threshold"),
    [(0.9, 20, "all", 0.8), (0.7, 21, "all", 0.8), (0.7, 20, "prompt", 0.8), (None, 20, "all", 0.8)],
)
def test_a_graph_that_does_not_fit_is_refused(floor, rows, scope, threshold):
    graph = split.pair_graph(make_frame(20), floor, scope)
    with pytest.raises(ValueError, match="pair graph"):
        split.split_frame(
            make_frame(rows), split.SplitConfig(cluster_threshold=threshold), seed=0, graph=graph
        )


def test_leakage_pairs_the_rows_that_take_part_when_a_groups_first_row_is_excluded():
    base = make_frame(3, seed=5)
    copy = base.iloc[[0, 0, 0]].reset_index(drop=True)
    copy["id"] = ["a", "b", "c"]
    near = base.iloc[[1]].copy()
    near["prompt_text"] = copy["prompt_text"].iloc[0] + " thanks"
    near["response_text"] = copy["response_text"].iloc[0]
    near["id"] = "d"
    frame = pd.concat([copy, near], ignore_index=True)
    graph = split.pair_graph(frame, 0.5, scope=None)
    ids = list(frame["id"])
    report = split._leakage(graph, ids, [split.EXCLUDED, "train", "test", "val"], 0.5)
    exact = {(p.left_id, p.right_id) for p in report.pairs if p.kind == "exact"}
    near_pairs = {(p.left_id, p.right_id) for p in report.pairs if p.kind == "near"}
    assert exact == {("b", "c")}  # "a" is excluded: "b" anchors the group
    assert ("b", "d") in near_pairs
    assert not any("a" in (p.left_id, p.right_id) for p in report.pairs)


def test_time_based_test_window_takes_the_newest_even_outside_the_nanosecond_range():
    frame = make_frame(10)
    frame["created_at"] = [f"2024-01-0{i + 1}" for i in range(9)] + ["9999-12-31"]
    result = split.split_frame(frame, split.SplitConfig(time_based=True, val=0.0, test=0.2), seed=0)
    labels = dict(zip(frame["created_at"], result.labels, strict=True))
    assert labels["9999-12-31"] == "test" and labels["2024-01-09"] == "test"
    assert [labels[f"2024-01-0{i + 1}"] for i in range(8)].count("test") == 0


def test_exact_only_splits_join_ids_prompts_and_whole_texts_not_the_dedup_scope():
    frame = make_frame(6, seed=2)
    frame.loc[1, "response_text"] = frame.loc[0, "response_text"]  # same answer, different prompt
    config = split.SplitConfig(cluster_threshold=None, cluster_scope="response")
    assert split.split_frame(frame, config, seed=0).clusters_kept_together == 0


@hs.settings(max_examples=25, deadline=None)
@hs.given(
    n=hst.integers(5, 80),
    seed=hst.integers(0, 10_000),
    near=hst.sampled_from([0, 2, 5]),
    fractions=hst.sampled_from([(0.1, 0.1), (0.05, 0.1), (0.05, 0.15), (0.15, 0.05)]),
)
def test_a_lock_made_from_a_split_gives_that_split_back(n, seed, near, fractions):
    """Building a bundle locks the test set; the next visit must show the same train and val."""
    frame = make_frame(n, seed=seed, near_every=near)
    config = split.SplitConfig(val=fractions[0], test=fractions[1])
    first = split.split_frame(frame, config, seed=seed)
    lock = split.make_lock(first.split(frame)["test"], seed=seed, fractions=config.fractions())
    again = split.split_frame(frame, config, seed=seed, lock=lock)
    assert again.labels == first.labels


def test_nothing_new_enters_a_locked_test_set_when_train_and_val_are_full():
    frame = make_frame(40, seed=3, near_every=4)  # clusters of several rows overshoot their targets
    config = split.SplitConfig()
    lock = split.make_lock(frame.iloc[:0], seed=0, fractions=config.fractions())
    result = split.split_frame(frame, config, seed=0, lock=lock)
    assert result.counts["test"] == 0 and result.counts["train"] + result.counts["val"] == len(frame)
