import random

import pandas as pd
import pytest

from core.agreement import crowdlab, majority_labels

pytestmark = pytest.mark.skipif(not crowdlab.available(), reason="cleanlab is not installed")

_TOPICS = {
    "billing": "I was charged twice for my {thing} this month, please refund one of the charges",
    "shipping": "My {thing} parcel has not arrived and the tracking page shows no update",
    "returns": "How do I send back the {thing} I bought, it does not fit",
}
_THINGS = ["laptop", "lamp", "chair", "camera", "router", "kettle", "desk", "phone", "bag", "watch"]


def _planted(seed=0, n=120):
    """Items with a true label, two careful annotators (90% right) and a careless one (40% right)."""
    rng = random.Random(seed)
    labels = list(_TOPICS)
    truth, texts, rows = {}, {}, {}
    for i in range(n):
        label = labels[i % 3]
        item = f"item-{i}"
        truth[item] = label
        texts[item] = _TOPICS[label].format(thing=_THINGS[i % len(_THINGS)]) + f" (order {i})"
        rows[item] = {
            name: label if rng.random() < right else rng.choice([x for x in labels if x != label])
            for name, right in (("ana", 0.9), ("ben", 0.9), ("cy", 0.4))
        }
    matrix = pd.DataFrame.from_dict(rows, orient="index")
    matrix.index.name = "item_id"
    return matrix.astype(object), truth, texts


def test_the_careless_annotator_has_the_lowest_quality_and_consensus_finds_the_truth():
    matrix, truth, texts = _planted()
    result = crowdlab.crowdlab_consensus(matrix, texts, seed=0)
    assert result.method == "texts"
    assert result.annotators.index[-1] == "cy"
    assert result.annotators.loc["cy", "quality"] < min(result.annotators.loc[["ana", "ben"], "quality"])
    right = (result.consensus["label"] == pd.Series(truth)).mean()
    majority = (majority_labels(matrix)["label"] == pd.Series(truth)).mean()
    assert right >= 0.9 and right > majority  # the texts break the ties the careless one makes
    assert result.consensus["quality"].between(0, 1).all()


def test_without_texts_the_votes_weigh_the_annotators():
    matrix, truth, _texts = _planted(seed=1)
    result = crowdlab.crowdlab_consensus(matrix)
    assert result.method == "votes"
    assert result.annotators.index[-1] == "cy"
    right = (result.consensus["label"] == pd.Series(truth)).mean()
    assert right >= (majority_labels(matrix)["label"] == pd.Series(truth)).mean()


def test_missing_labels_are_allowed():
    matrix, _truth, texts = _planted(seed=2)
    matrix.iloc[::4, 0] = None
    result = crowdlab.crowdlab_consensus(matrix, texts)
    assert result.annotators.loc["ana", "labelled"] == len(matrix) - len(matrix.iloc[::4])


def test_one_annotator_is_refused():
    matrix, _truth, _texts = _planted()
    with pytest.raises(ValueError, match="two labels and two annotators"):
        crowdlab.crowdlab_consensus(matrix[["ana"]])
