"""Semantic and lexical pairs, clusters, leakage and their commands, with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core import dedup
from core.__main__ import main
from core.semantic import pairs
from tests.paraphrase_corpus import DISTINCT, PARAPHRASES

_SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "production_inputs.txt"


def _planted_frame() -> tuple[pd.DataFrame, int]:
    """150 support requests of the bundled sample, then each paraphrase pair's two sides."""
    sample = [line for line in _SAMPLE.read_text().splitlines() if line.strip()][:150]
    texts = sample + [a for _, a, _ in PARAPHRASES] + [b for _, _, b in PARAPHRASES]
    return pd.DataFrame({"prompt_text": texts, "id": [f"r{i}" for i in range(len(texts))]}), len(sample)


def test_planted_paraphrases_are_found_in_each_language_and_unrelated_rows_are_not() -> None:
    frame, start = _planted_frame()
    k = len(PARAPHRASES)
    found = pairs.duplicate_pairs(frame, pairs.PairSettings(method="semantic", scope="prompt"))
    linked = {(p.a, p.b) for p in found}
    planted = {(start + i, start + k + i): PARAPHRASES[i][0] for i in range(k)}
    hits = [planted[pair] for pair in linked & planted.keys()]
    # 11 of the 31 at 0.85 (13 before minority languages lost their function words, core/semantic/
    # function_words.py: two Spanish and German pairs fell from 0.86-0.87 to 0.84 without "cómo", "mi",
    # "wie", "ich"; the price of no unrelated German row at 0.9 from another, README has the figures)
    assert len(hits) >= 11
    assert {"en", "es", "de", "zh"} <= set(hits)
    # no planted request is linked to a support request of the sample, nor to another planted request
    assert all(pair in planted for pair in linked if pair[0] >= start or pair[1] >= start)
    assert all(p.method in ("semantic", "both") and p.cosine >= pairs.DEFAULT_COSINE - 1e-6 for p in found)


def test_distinct_requests_sharing_words_are_lexically_close_but_not_linked() -> None:
    texts = [a for _, a, _ in DISTINCT[:16]] + [b for _, _, b in DISTINCT[:16]]
    frame = pd.DataFrame({"prompt_text": texts, "id": [str(i) for i in range(len(texts))]})
    found = pairs.duplicate_pairs(frame, pairs.PairSettings(method="both", scope="prompt", cosine=0.95))
    assert found == []


def test_copies_are_linked_to_their_first_row_with_both_methods() -> None:
    texts = ["Who painted the Mona Lisa?", "Explain photosynthesis.", "who painted the  Mona Lisa?"] + [
        "Who painted the Mona Lisa?"
    ] * 3
    frame = pd.DataFrame({"prompt_text": texts, "id": [str(i) for i in range(len(texts))]})
    found = pairs.duplicate_pairs(frame, pairs.PairSettings(method="both", scope="prompt"))
    assert {(p.a, p.b) for p in found} >= {(0, 3), (0, 4), (0, 5), (0, 2)}
    assert all(p.method == "both" and p.jaccard == 1.0 for p in found)
    result = pairs.duplicate_result(frame, found, pairs.PairSettings(scope="prompt"))
    assert [c.members for c in result.clusters] == [(0, 2, 3, 4, 5)] and result.exact_duplicates == 4


def test_semantic_clusters_apply_and_restore_like_lexical_ones() -> None:
    frame, start = _planted_frame()
    settings = pairs.PairSettings(method="both", scope="prompt")
    found = pairs.duplicate_pairs(frame, settings)
    result = pairs.duplicate_result(frame, found, settings)
    semantic = [c for c in result.clusters if c.kind == "semantic"]
    assert semantic and all(0.0 < s <= 1.0 for c in semantic for s in c.similarity)
    kept, audit = dedup.apply_dedup(frame, result, policy="first")
    assert len(kept) == len(frame) - result.removed
    assert set(audit["dedup_match"]) <= {"exact", "near", "semantic"} and "semantic" in set(
        audit["dedup_match"]
    )
    restored, still = dedup.restore(kept, audit, audit["id"].tolist())
    assert len(restored) == len(frame) and still.empty


def test_leakage_finds_a_restated_test_question_and_its_copy() -> None:
    train = pd.DataFrame(
        {
            "prompt_text": [
                "What is the boiling point of water at sea level?",
                "Write a haiku about snow.",
                "Hi",
            ],
            "id": ["t1", "t2", "t3"],
        }
    )
    test = pd.DataFrame(
        {
            "prompt_text": [
                "At what temperature does water boil at sea level?",
                "Write a haiku about snow.",
                "?",
            ],
            "id": ["e1", "e2", "e3"],
        }
    )
    found = pairs.leakage_pairs(train, test, pairs.PairSettings(method="both", scope="prompt"))
    by_pair = {(p.a, p.b): p for p in found}
    assert set(by_pair) == {(0, 0), (1, 1)}
    assert by_pair[(0, 0)].method == "semantic" and by_pair[(0, 0)].jaccard < 0.3
    assert by_pair[(1, 1)].method == "both"
    lexical = pairs.leakage_pairs(train, test, pairs.PairSettings(method="lexical", scope="prompt"))
    assert [(p.a, p.b) for p in lexical] == [(1, 1)]


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="method"):
        pairs.PairSettings(method="fuzzy")
    with pytest.raises(ValueError, match="cosine"):
        pairs.PairSettings(cosine=0.0)
    with pytest.raises(ValueError, match="scope"):
        pairs.PairSettings(scope="answer")


def _write_chat(path: Path, prompts: list[str]) -> Path:
    lines = [
        json.dumps(
            {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": f"Reply {i}."}]}
        )
        for i, p in enumerate(prompts)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_leakage_command_prints_pairs_with_lines_ids_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train = _write_chat(
        tmp_path / "train.jsonl", ["How do I cancel my subscription?", "Write a poem about autumn."]
    )
    test = _write_chat(
        tmp_path / "test.jsonl",
        ["Explain how tides work.", "I want to stop my subscription, how do I do that?"],
    )
    assert main(["leakage", str(train), str(test), "--scope", "prompt", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(p["a"]["line"], p["b"]["line"], p["method"]) for p in report["pairs"]] == [(1, 2, "semantic")]
    assert set(report["pairs"][0]) == {"a", "b", "cosine", "jaccard", "method"}
    assert report["pairs"][0]["a"]["id"] and report["counts"]["other_rows_leaked"] == 1
    assert main(["leakage", str(train), str(test), "--cosine", "2"]) == 2


def test_dedup_command_lists_semantic_pairs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write_chat(
        tmp_path / "d.jsonl",
        ["What is the capital city of France?", "Explain how tides work.", "Which city is France's capital?"],
    )
    assert main(["dedup", str(path), "--method", "semantic", "--scope", "prompt", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(p["a"]["line"], p["b"]["line"], p["method"]) for p in summary["pairs"]] == [(1, 3, "semantic")]
    assert summary["clusters"][0]["kind"] == "semantic" and summary["near_duplicates"] == 1
    assert main(["dedup", str(path), "--scope", "prompt", "--json"]) == 0
    assert "pairs" not in json.loads(capsys.readouterr().out)  # without --method: as before


@pytest.mark.parametrize(
    "pair, said",
    [
        (pairs.SimilarPair(0, 1, 1.0, 1.0, "both"), "The same text"),
        (
            pairs.SimilarPair(0, 1, 0.93, 0.85, "both"),
            "Close in meaning (cosine 0.93 >= 0.85) and in wording",
        ),
        (pairs.SimilarPair(0, 1, 0.91, 0.1, "semantic"), "lexical method alone would miss"),
        (pairs.SimilarPair(0, 1, 0.6, 0.82, "lexical"), "further apart in meaning (cosine 0.60 < 0.85)"),
    ],
)
def test_each_pair_is_explained_by_what_links_it(pair: pairs.SimilarPair, said: str) -> None:
    assert said in pairs.explain_pair(pair, pairs.PairSettings())
