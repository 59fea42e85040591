"""Coverage by embeddings: production rows restating training prompts are covered, a new topic is not."""

from __future__ import annotations

import pandas as pd
import pytest

from core import drift, profile, records
from core.drift import semantic
from tests.paraphrase_corpus import PARAPHRASES

_ENGLISH = [(a, b) for lang, a, b in PARAPHRASES if lang == "en"]
_SOLAR = [
    "The solar panel technician for my roof never came, when will the installer reschedule visit {n}?",
    "How many solar panels can the crew mount on a flat roof like mine, job {n}?",
    "Does the solar installer need access to the attic and the inverter for job {n}?",
]


_RESTATED = 6 * len(_ENGLISH)  # production rows before this one restate training prompts


def _training() -> pd.DataFrame:
    rows = [
        records.make_record(
            "sft", [{"role": "user", "content": a}, {"role": "assistant", "content": "Sure."}]
        )
        for a, _ in _ENGLISH
    ]
    return records.make_frame(rows * 4)


def _production() -> pd.DataFrame:
    """Six rounds of every training prompt restated in other words, and 30 rows of a topic train lacks."""
    texts = [b for _ in range(6) for _, b in _ENGLISH] + [_SOLAR[i % 3].format(n=700 + i) for i in range(30)]
    return pd.DataFrame({"text": texts, "category": [None] * len(texts)})


@pytest.fixture(scope="module")
def reports() -> dict[str, drift.DriftReport]:
    features = profile.compute_features(_training())
    return {
        method: drift.compare(features, _production(), drift.DriftConfig(method=method), seed=0)
        for method in ("auto", "tfidf")
    }


def test_auto_uses_the_packaged_embeddings_and_says_so(reports) -> None:
    assert semantic.available()
    assert reports["auto"].method == "semantic"
    assert reports["auto"].summary()["coverage"]["method"] == "semantic"
    assert reports["auto"].threshold == drift.DriftConfig().semantic_threshold
    assert (
        reports["tfidf"].method == "tfidf"
        and reports["tfidf"].threshold == drift.DriftConfig().coverage_threshold
    )


def test_restatements_are_covered_by_meaning_and_the_new_topic_is_a_named_target(reports) -> None:
    inputs = reports["auto"].inputs
    restated = inputs.index < _RESTATED
    assert inputs.loc[restated, "covered"].mean() >= 0.9
    assert not inputs.loc[~restated, "covered"].any()
    assert inputs.loc[restated, "covered"].mean() > reports["tfidf"].inputs.loc[restated, "covered"].mean()
    clusters = reports["auto"].clusters
    assert sum(c.size for c in clusters) == int((~inputs["covered"]).sum())
    assert sum(c.size for c in clusters) == 30 and all(min(c.row_ids) >= _RESTATED for c in clusters)
    for cluster in clusters:  # named by terms of its own rows
        words = " ".join(inputs["text"].iloc[list(cluster.row_ids)]).lower()
        assert cluster.terms and all(term in words for term in cluster.terms), cluster.terms
    assert len(reports["auto"].targets()) == len(clusters)  # each cluster is a generation target


def test_without_the_model_auto_falls_back_to_tfidf(monkeypatch) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    features = profile.compute_features(_training())
    report = drift.compare(features, _production(), seed=0)
    assert report.method == "tfidf" and report.summary()["coverage"]["method"] == "tfidf"
    assert not report.inputs.loc[_RESTATED:, "covered"].any()


def test_config_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="method"):
        drift.DriftConfig(method="bm25")


def test_the_embedding_pass_reports_its_progress_up_to_every_row_of_both_samples() -> None:
    features = profile.compute_features(_training())
    seen: list[tuple[int, int]] = []
    drift.compare(
        features,
        _production(),
        drift.DriftConfig(method="semantic"),
        seed=0,
        progress=lambda *p: seen.append(p),
    )
    total = len(features) + len(_production())
    assert seen and seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
