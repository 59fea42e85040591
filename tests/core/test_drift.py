import json
import math
from collections import Counter

import hypothesis.strategies as hs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from core import drift, profile, records
from core.__main__ import main
from core.errors import DatasetError

_BILLING = [
    "I was charged twice for my order {n}, can you refund the second payment?",
    "Why is there an extra fee on my invoice {n}?",
    "My card was declined for order {n} but the bank says it is fine.",
    "Can I get a receipt with VAT for order {n}?",
]
_SHIPPING = [
    "Where is my parcel {n}? The tracking has not moved for three days.",
    "The courier left my package {n} at the wrong address.",
    "Can I change the delivery address of order {n}?",
    "My shipment {n} arrived damaged, what should I do?",
]
_SOLAR = [
    "The solar panel installation technician for my roof {n} never came, when will the installer reschedule?",
    "How many solar panels can the installation crew mount on a flat roof like mine ({n})?",
    "Does the solar installer need access to the attic and the inverter room for job {n}?",
]
_STORY = (
    "Hello, I hope someone can finally help me with order {n}. I have been a customer for years and this is "
    "the first time something like this has happened. I called your hotline twice, the first agent told me "
    "to wait three days and the second one told me to write to this chat instead. I would like to know "
    "exactly what you will do, when it will happen, and whether I need to send anything back."
)


def _training(n: int = 240) -> pd.DataFrame:
    rows = []
    for i in range(n):
        template = (_BILLING + _SHIPPING)[i % 8]
        category = "billing" if i % 8 < 4 else "shipping"
        messages = [
            {"role": "user", "content": template.format(n=1000 + i)},
            {"role": "assistant", "content": "Let me check."},
        ]
        rows.append(records.make_record("sft", messages, extra={"category": category}))
    return records.make_frame(rows)


def _production(similar: int = 150, solar: int = 40, long: int = 20) -> pd.DataFrame:
    texts = [(_BILLING + _SHIPPING)[i % 8].format(n=5000 + i) for i in range(similar)]
    texts += [_SOLAR[i % 3].format(n=7000 + i) for i in range(solar)]
    texts += [_STORY.format(n=9000 + i) for i in range(long)]
    return pd.DataFrame({"text": texts, "category": [None] * len(texts)})


@pytest.fixture(scope="module")
def planted_report():
    features = profile.compute_features(_training())
    return drift.compare(features, _production(), seed=0)


def test_planted_length_shift_is_significant(planted_report):
    assert planted_report.lengths["ks_p_value"] < 0.01
    assert planted_report.lengths["psi"] > 0.1
    assert planted_report.lengths["production"]["max"] > planted_report.lengths["train"]["max"]


def test_uncovered_topic_is_found_and_named(planted_report):
    inputs = planted_report.inputs
    solar = inputs["text"].str.contains("solar")
    assert (~inputs.loc[solar, "covered"]).all()
    assert inputs.loc[:149, "covered"].mean() >= 0.95
    texts = inputs["text"]
    solar_clusters = [c for c in planted_report.clusters if any("solar" in texts[r] for r in c.row_ids)]
    # the planted topic is clustered apart from the long stories, and named by its terms
    assert all(all("solar" in texts[r] for r in c.row_ids) for c in solar_clusters)
    assert sum(c.size for c in solar_clusters) == 40
    named = [c for c in solar_clusters if "solar" in c.terms]
    assert named, [c.terms for c in planted_report.clusters]
    targets = planted_report.targets()
    assert any(t["kind"] == "cluster" and t["value"] == named[0].name for t in targets)
    assert all(set(t) == {"kind", "value", "missing", "description", "examples"} for t in targets)


def test_similar_inputs_point_to_their_template(planted_report):
    inputs = planted_report.inputs
    # production input i uses template i % 8, and so does training row nearest[i] (same words, other number)
    for i in range(0, 40, 5):
        assert inputs.loc[i, "nearest"] % 8 == i % 8
        assert inputs.loc[i, "similarity"] > 0.7


def test_report_summary_is_json(planted_report):
    summary = planted_report.summary()
    assert set(summary) == {"production_rows", "lengths", "languages", "categories", "coverage", "clusters"}
    assert summary["production_rows"] == 210
    assert summary["categories"] is None
    assert summary["languages"]["en"]["production"] == pytest.approx(1.0)
    json.dumps(summary)


def test_category_mix_when_production_is_labelled():
    features = profile.compute_features(_training())
    production = _production(similar=120, solar=0, long=0)
    production["category"] = ["billing"] * 100 + ["shipping"] * 20
    report = drift.compare(features, production, seed=0)
    assert report.categories["billing"] == {"train": 0.5, "production": pytest.approx(100 / 120, abs=1e-4)}


def test_identical_text_is_fully_covered():
    similarity, nearest = drift.nearest_similarity(
        ["alpha beta gamma", "delta epsilon zeta"], ["delta epsilon zeta"]
    )
    assert similarity[0] == pytest.approx(1.0, abs=1e-5)
    assert nearest[0] == 1


def test_digits_do_not_make_texts_different():
    counts = drift.char_ngram_counts(["order 123 is late", "order 987 is late"])
    assert (counts[0] != counts[1]).nnz == 0


def test_psi_known_values():
    rng = np.random.default_rng(0)
    base = rng.normal(100, 10, 5000)
    assert drift.population_stability_index(base, rng.normal(100, 10, 5000)) < 0.02
    assert drift.population_stability_index(base, rng.normal(130, 10, 5000)) > 0.25
    with pytest.raises(ValueError, match="both samples must be non-empty, got 5000 and 0"):
        drift.population_stability_index(base, np.array([]))


def test_cluster_uncovered_separates_two_topics():
    texts = [f"solar panel roof installer visit {i}" for i in range(15)] + [
        f"trade in old phone credit value {i}" for i in range(15)
    ]
    labels, terms = drift.cluster_uncovered(texts, seed=0)
    assert len(set(labels[:15])) == 1 and len(set(labels[15:])) == 1 and labels[0] != labels[15]
    named = {terms[labels[0]][0], terms[labels[15]][0]}
    assert named <= {
        "solar",
        "panel",
        "roof",
        "installer",
        "visit",
        "trade",
        "old",
        "phone",
        "credit",
        "value",
    }


# -- loading a production sample -------------------------------------------------------------


def test_plain_text_needs_100_inputs():
    with pytest.raises(DatasetError, match="99 inputs; at least 100"):
        drift.load_production(("line\n" * 99).encode(), "prod.txt")
    frame = drift.load_production(("line\n\n" * 100).encode(), "prod.txt")
    assert len(frame) == 100 and frame["category"].isna().all()


def test_production_in_a_dataset_format(tmp_path):
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"where is parcel {i}"},
                    {"role": "assistant", "content": "x"},
                ],
                "category": "shipping",
            }
        )
        for i in range(100)
    ]
    path = tmp_path / "prod.jsonl"
    path.write_text("\n".join(lines) + "\n")
    frame = drift.load_production(path)
    assert frame["text"].iloc[3] == "where is parcel 3"
    assert (frame["category"] == "shipping").all()


def test_unreadable_production_is_a_dataset_error():
    with pytest.raises(DatasetError, match="prod.bin: not a dataset and not UTF-8 text"):
        drift.load_production(b"\xff\xfe\x00garbage" * 50, "prod.bin")


def test_compare_refuses_a_small_sample():
    features = profile.compute_features(_training(16))
    with pytest.raises(DatasetError, match="at least 100"):
        drift.compare(features, _production(similar=50, solar=0, long=0), seed=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coverage_threshold": 1.5}, "coverage_threshold must be in .* got 1.5"),
        ({"sketch_dims": 0}, "sketch_dims must be >= 1, got 0"),
        ({"candidates": 0}, "candidates must be >= 1, got 0"),
        ({"min_inputs": 0}, "min_inputs and length_sample must be >= 1, got 0"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        drift.DriftConfig(**kwargs)


def test_cli_with_production(tmp_path, capsys):
    train = tmp_path / "train.jsonl"
    rows = _training(120)
    train.write_text(
        "\n".join(
            json.dumps({"messages": m, "category": c})
            for m, c in zip(rows["messages"], rows["category"], strict=True)
        )
        + "\n"
    )
    prod = tmp_path / "prod.txt"
    prod.write_text("\n".join(_production()["text"]) + "\n")
    assert main(["profile", str(train), "--production", str(prod), "--json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert "embedding train and production: 330 / 330 rows," in captured.err  # the pass's rows/s and ETA
    assert "rows/s" in captured.err
    assert payload["drift"]["production_rows"] == 210
    assert payload["drift"]["lengths"]["ks_p_value"] < 0.01
    assert any(t["kind"] == "cluster" for t in payload["targets"])
    coverage = next(c for c in payload["checks"] if c["id"] == "production_coverage")
    assert coverage["status"] == "warn"


# -- coverage against the obvious row-wise computation ---------------------------------------

_MASK = (1 << 64) - 1
_WORD = hs.sampled_from(
    ["refund", "parcel", "order", "Order", "my", "is", "late", "42", "7", "Ünïcode", "你好"]
)
_TEXT = hs.lists(_WORD, max_size=9).map(" ".join)


def _reference_vector(text: str, config: drift.DriftConfig) -> Counter:
    """Hashed character n-gram counts of one text, the way the docstring of core.drift defines them."""
    limit = config.max_chars
    cleaned = " " + " ".join(text[: 2 * limit].lower().translate(drift.config._DIGITS).split())[:limit] + " "
    grams: Counter = Counter()
    for start in range(len(cleaned) - config.ngram + 1):
        value = 0
        for char in cleaned[start : start + config.ngram]:
            value = (value * int(drift.config._BASE) + ord(char)) & _MASK
        grams[((value * int(drift.config._MIX)) & _MASK) >> (64 - drift.config._HASH_BITS)] += 1
    return grams


def _reference_cosines(train: list[str], production: list[str], config: drift.DriftConfig) -> np.ndarray:
    """Cosine of every (production, training) pair of sublinear TF-IDF vectors, one pair at a time."""
    vectors = [_reference_vector(t, config) for t in train + production]
    df = Counter(gram for vector in vectors for gram in vector)
    idf = {gram: math.log((1 + len(vectors)) / (1 + n)) + 1 for gram, n in df.items()}
    weighted = []
    for vector in vectors:
        weights = {gram: (1 + math.log(c)) * idf[gram] for gram, c in vector.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        weighted.append({gram: w / norm for gram, w in weights.items()})
    train_w, prod_w = weighted[: len(train)], weighted[len(train) :]
    return np.array(
        [[sum(w * t.get(gram, 0.0) for gram, w in p.items()) for t in train_w] for p in prod_w]
    ).reshape(len(production), len(train))


@given(hs.lists(_TEXT, min_size=1, max_size=6), hs.lists(_TEXT, min_size=1, max_size=6))
@settings(max_examples=80, deadline=None)
def test_with_few_training_rows_the_nearest_is_the_exact_best(train, production):
    config = drift.DriftConfig()  # 6 candidates: every training row is scored exactly
    similarity, nearest = drift.nearest_similarity(train, production, config)
    cosines = _reference_cosines(train, production, config)
    assert similarity == pytest.approx(np.clip(cosines.max(axis=1), 0, 1), abs=1e-5)
    assert similarity == pytest.approx(np.clip(cosines[np.arange(len(production)), nearest], 0, 1), abs=1e-5)


@given(hs.lists(_TEXT, min_size=7, max_size=60), hs.lists(_TEXT, min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_the_similarity_reported_is_the_exact_cosine_of_the_nearest(train, production):
    config = drift.DriftConfig(candidates=3, sketch_dims=16, chunk_rows=3)
    similarity, nearest = drift.nearest_similarity(train, production, config)
    cosines = _reference_cosines(train, production, config)
    assert similarity == pytest.approx(np.clip(cosines[np.arange(len(production)), nearest], 0, 1), abs=1e-5)
    assert (similarity <= np.clip(cosines.max(axis=1), 0, 1) + 1e-5).all()


def test_the_best_candidates_are_those_of_a_full_search():
    scores = np.random.default_rng(3).standard_normal((40, 1_000)).astype(np.float32)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :6]
    assert (drift.coverage._top_candidates(scores.copy(), 6) == expected).all()


def test_the_production_sample_is_kept_in_the_workspace_until_forgotten(tmp_path):
    from core.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    assert drift.saved_production(ws) is None
    drift.store_production(ws, "inputs.jsonl.gz", b"\x1f\x8b data")
    assert drift.saved_production(ws) == ("inputs.jsonl.gz", b"\x1f\x8b data")
    assert (ws.root / "distribution" / "production.jsonl.gz").exists()  # the suffixes say how to read it
    drift.forget_production(ws)
    assert drift.saved_production(ws) is None
