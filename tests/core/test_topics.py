"""Topics: prompts grouped by subject with the packaged model, named by their particular words."""

import json
import random

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from core import explore, topics
from core.__main__ import main
from tests.conftest import write_prompts

SUBJECTS = {
    "refund": [
        "I want a refund for order {n}",
        "How do I get my money back for {n}?",
        "Refund my payment please, order {n}",
        "Can you refund the charge on my card for {n}?",
    ],
    "shipping": [
        "Where is my package {n}?",
        "My parcel {n} has not arrived yet",
        "When will order {n} be delivered?",
        "Track shipment {n} for me",
    ],
    "password": [
        "I forgot my password",
        "How can I reset my password for account {n}?",
        "My login does not work, reset it",
        "Change the password of user {n}",
    ],
}


def _planted(per_subject=60, seed=0):
    rng = random.Random(seed)
    texts, truth = [], []
    for name, templates in SUBJECTS.items():
        for _ in range(per_subject):
            texts.append(rng.choice(templates).format(n=rng.randint(100, 999)))
            truth.append(name)
    return texts, truth


def test_planted_subjects_come_back_as_topics_named_by_their_words():
    texts, truth = _planted()
    found = topics.find_topics(texts, k=3, seed=0)
    assert adjusted_rand_score(truth, found.labels) > 0.6
    words = " ".join(found.names)
    assert "password" in words and "refund" in words
    assert sum(found.sizes().values()) == len(texts)


def test_the_embedding_pass_reports_rows_done_of_rows_with_text():
    texts, _ = _planted(30)
    seen: list[tuple[int, int]] = []
    topics.find_topics(texts + [None, ""], k=3, progress=lambda *p: seen.append(p))
    assert seen and seen[-1] == (len(texts), len(texts))


def test_the_same_texts_and_seed_give_the_same_topics():
    texts, _ = _planted(30)
    first, again = topics.find_topics(texts, seed=4), topics.find_topics(texts, seed=4)
    assert first.names == again.names and np.array_equal(first.labels, again.labels)


def test_rows_without_prompt_text_have_no_topic_and_few_rows_are_one_topic():
    found = topics.find_topics(["Where is my parcel?", None, "  ", "Reset my password"])
    assert found.labels.tolist() == [0, -1, -1, 0]
    assert found.of_rows()[1] is None and len(found.names) == 1
    assert topics.find_topics([]).names == ()


@pytest.mark.parametrize(("rows", "k"), [(0, 0), (5, 1), (19, 1), (20, 3), (200, 10), (100_000, 30)])
def test_topic_count_grows_with_the_rows_and_is_capped(rows, k):
    assert topics.topic_count(rows) == k


def test_names_are_unique_even_when_the_words_are_the_same():
    found = topics.find_topics(["same words here", "same words here!"] * 25, k=2, seed=0)
    assert len(set(found.names)) == len(found.names)


def test_a_topic_is_a_facet_of_explore():
    from tests.pages.conftest import small_frame

    frame = small_frame(6)
    names = ["billing · card", "billing · card", None, "parcel", "parcel", "parcel"]
    table = explore.explore_table(frame, None, None, names)
    counts = explore.facet_counts(table, np.arange(6), "topic")
    assert dict(counts.itertuples(index=False)) == {"parcel": 3, "billing · card": 2, explore.MISSING: 1}
    picked = explore.matching(table, explore.RowFilter(facets={"topic": ("parcel",)}))
    assert picked.tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="topics has 2 rows"):
        explore.explore_table(frame, None, None, names[:2])


def test_search_counts_topics_and_filters_by_one(tmp_path, capsys):
    texts, _ = _planted(20)
    path = write_prompts(tmp_path / "planted.jsonl", texts)
    assert main(["search", str(path), "--topics", "--json"]) == 0
    counted = json.loads(capsys.readouterr().out)["counts"]["topic"]
    assert sum(counted.values()) == len(texts)
    name, size = next(iter(counted.items()))
    assert main(["search", str(path), "--where", f"topic={name}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] == size


def test_a_versions_stored_topics_are_what_finding_them_gives_and_are_read_back(tmp_path, monkeypatch):
    from core import records
    from core.workspace import Workspace

    texts, _ = _planted(30)
    rows = [
        records.make_record("sft", [{"role": "user", "content": t}, {"role": "assistant", "content": "ok."}])
        for t in texts
    ]
    ws = Workspace.open(tmp_path / "ws")
    version = ws.save_dataset(records.make_frame(rows), note="t", name="t.jsonl", source_format="openai-sft")
    frame = ws.load_version(version)
    fresh = topics.find_topics(frame["prompt_text"].tolist()).of_rows()
    assert topics.version_topics(ws, version, frame) == fresh
    monkeypatch.setattr(topics, "find_topics", lambda *_a, **_k: pytest.fail("found again"))
    assert topics.version_topics(ws, version) == fresh  # from the stored file alone
