"""Rows of a minority language are not alike for sharing its function words (issue 19), real model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from core import split
from core.ingest import SAMPLES, load_sample
from core.semantic import DEFAULT_COSINE, leaks, pairs
from core.semantic.embedding import embed_set
from core.semantic.model import load_model, remove_common_direction
from tests.paraphrase_corpus import PARAPHRASES, UNRELATED

_ENGLISH = Path(__file__).resolve().parents[2] / "sample_data" / "production_inputs.txt"


def _english() -> list[str]:
    return list(dict.fromkeys(line for line in _ENGLISH.read_text().splitlines() if line.strip()))[:300]


def _same_language_cosines(vectors: np.ndarray, start: int) -> list[float]:
    rows = [(code, start + i) for i, code in enumerate(c for c, texts in UNRELATED.items() for _ in texts)]
    return [
        float(vectors[a] @ vectors[b])
        for (code_a, a), (code_b, b) in itertools.combinations(rows, 2)
        if code_a == code_b
    ]


def test_unrelated_rows_of_one_minority_language_stay_under_the_threshold_among_english_rows() -> None:
    english = _english()
    texts = english + [t for rows in UNRELATED.values() for t in rows]
    before = _same_language_cosines(remove_common_direction(load_model().embed(texts)), len(english))
    after = _same_language_cosines(embed_set(texts), len(english))
    assert sum(c >= DEFAULT_COSINE for c in before) >= 3  # the cause: the English mean leaves them alike
    assert max(after) < DEFAULT_COSINE
    assert float(np.median(after)) < float(np.median(before)) - 0.05


def test_planted_paraphrases_in_several_languages_are_still_found_beside_the_unrelated_rows() -> None:
    english = _english()
    unrelated = [t for rows in UNRELATED.values() for t in rows]
    texts = english + unrelated + [a for _, a, _ in PARAPHRASES] + [b for _, _, b in PARAPHRASES]
    frame = pd.DataFrame({"prompt_text": texts, "id": [f"r{i}" for i in range(len(texts))]})
    found = pairs.duplicate_pairs(frame, pairs.PairSettings(method="semantic", scope="prompt"))
    linked = {(p.a, p.b) for p in found}
    start, k = len(english) + len(unrelated), len(PARAPHRASES)
    hits = {PARAPHRASES[i][0] for i in range(k) if (start + i, start + k + i) in linked}
    assert {"en", "es", "de", "zh"} <= hits
    first_unrelated = len(english)
    assert not [p for p in linked if first_unrelated <= p[0] < start and first_unrelated <= p[1] < start]


def test_the_sample_split_has_no_german_false_leak_and_keeps_its_restated_rows() -> None:
    loaded = load_sample(SAMPLES[0])
    frame = loaded.records if isinstance(loaded.records, pd.DataFrame) else pd.DataFrame(loaded.records)
    result = split.split_frame(frame, split.SplitConfig(), seed=0)
    parts = {
        name: frame[[label == name for label in result.labels]].reset_index(drop=True)
        for name in ("train", "val", "test")
    }
    found = leaks.find_leaks(parts, pairs.PairSettings(cosine=0.85, scope="all"))
    held_out = [str(parts[leak.split]["prompt_text"].iloc[leak.other_row]) for leak in found]
    trained = [str(parts["train"]["prompt_text"].iloc[leak.train_row]) for leak in found]
    assert not [t for t in held_out if t.startswith("Ich kann mich nicht mehr in mein Konto einloggen")]
    assert ("Can I use two gift cards on one order?", "How many gift cards can I combine?") in set(
        zip(trained, held_out, strict=True)
    )
    assert len(found) >= 10  # the English restatements are still reported
