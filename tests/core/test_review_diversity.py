"""A synthetic batch's diversity and the rows its paraphrase check stopped, with the real model."""

from __future__ import annotations

import pandas as pd

from core import records
from core.review import diversity
from core.semantic.pairs import PairSettings
from core.synth.validators import Rules, Validator
from tests.paraphrase_corpus import PARAPHRASES

_SETTINGS = PairSettings(scope="prompt", cosine=0.85)
_ENGLISH = [(a, b) for lang, a, b in PARAPHRASES if lang == "en"]


def _frame(prompts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"s{i}" for i in range(len(prompts))], "prompt_text": prompts})


def test_a_batch_of_distinct_requests_is_diverse() -> None:
    found = diversity.batch_diversity(_frame([a for a, _ in _ENGLISH]), _SETTINGS)
    assert found.rows == len(_ENGLISH)
    assert found.paraphrase_share == 0.0 and found.median_cosine < 0.85


def test_a_batch_of_restatements_is_mostly_paraphrases_and_its_closest_pairs_are_the_planted_ones() -> None:
    planted = [PARAPHRASES[1], PARAPHRASES[15], PARAPHRASES[11]]  # capital of France, Mona Lisa, planets
    prompts = [text for _, a, b in planted for text in (a, b)] + ["Explain how a steam engine works."]
    found = diversity.batch_diversity(_frame(prompts), _SETTINGS, top=3)
    assert found.paraphrase_share == round(6 / 7, 4)
    assert {(a, b) for a, b, _ in found.closest} == {(0, 1), (2, 3), (4, 5)}
    assert all(cos >= 0.85 for _, _, cos in found.closest)
    table = found.closest_frame(_frame(prompts))
    assert set(table["id"]) == {"s0", "s2", "s4"} and table["cosine"].is_monotonic_decreasing


def test_a_rejected_paraphrase_is_shown_beside_the_real_row_it_restates() -> None:
    real = pd.DataFrame({"id": ["r7"], "prompt_text": [PARAPHRASES[1][1]]})
    validator = Validator(Rules(paraphrase_cosine=0.85), "variations")
    validator.seed_index([("real:r7", PARAPHRASES[1][1])])
    record = records.make_record(
        "sft", [{"role": "user", "content": PARAPHRASES[1][2]}, {"role": "assistant", "content": "Paris."}]
    )
    reasons = validator.check(record)
    assert diversity.restated_keys(reasons)[0][0] == "real:r7"
    batch = pd.DataFrame(
        {"id": [record["id"], "ok"], "prompt_text": [PARAPHRASES[1][2], "x"], "reasons": [reasons, []]}
    )
    table = diversity.restated_rows(batch, diversity.reference_texts(real, [("s9", "earlier text")]))
    assert table.to_dict("records")[0] | {"cosine": 0} == {
        "id": record["id"],
        "text": PARAPHRASES[1][2],
        "restates": "real:r7",
        "restated text": PARAPHRASES[1][1],
        "cosine": 0,
    }
    assert len(table) == 1 and table["cosine"].iloc[0] >= 0.85


def test_earlier_synthetic_references_are_found_by_either_key() -> None:
    texts = diversity.reference_texts(None, [("s9", "earlier text")])
    assert texts == {"s9": "earlier text", "synthetic:s9": "earlier text"}
