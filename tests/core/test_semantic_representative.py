"""Outliers and the most representative rows, with the real packaged model on planted rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import records
from core.__main__ import main
from core.semantic import representative
from tests.conftest import write_prompts

_CLUSTER = [
    "How do I reset my password?",
    "How can I reset my password?",
    "What are the steps to reset my password?",
    "I need to reset my password, how do I do it?",
    "How do I change my forgotten password?",
    "Can you help me reset the password of my account?",
    "Where do I reset my account password?",
    "How do I get a new password when I forgot mine?",
    "Reset my password please, how?",
    "What do I do to reset a lost password?",
    "How do I recover my password?",
    "Show me how to reset my password.",
]
_OFF_TOPIC = [
    "Write a haiku about autumn leaves falling on a quiet pond.",
    "What is the boiling point of sulfuric acid at sea level?",
    "Translate 'good morning' into Swahili.",
]


def _frame():
    prompts = _CLUSTER[:6] + _OFF_TOPIC[:1] + _CLUSTER[6:] + _OFF_TOPIC[1:]
    rows = [
        records.make_record(
            "sft", [{"role": "user", "content": p}, {"role": "assistant", "content": "Sure."}]
        )
        for p in prompts
    ]
    return records.make_frame(rows), prompts


def test_the_off_topic_rows_are_the_outliers_and_the_paraphrases_the_representative() -> None:
    frame, prompts = _frame()
    found = representative.row_typicality(frame, representative.PairSettings(scope="prompt"))
    outliers = {prompts[p] for p in found.outliers(3)}
    assert outliers == set(_OFF_TOPIC)
    assert all(prompts[p] in _CLUSTER for p in found.representative(5))
    top, bottom = found.representative(1)[0], found.outliers(1)[0]
    assert found.scores[top] > found.scores[bottom] + 0.3
    assert found.reason(int(bottom)).startswith("mean cosine ")
    assert "nearest: row " in found.reason(int(bottom))


def test_rows_without_text_have_no_score_and_are_neither() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]]
    vectors = np.vstack([vectors, np.zeros((1, 4), dtype=np.float32)])
    found = representative.typicality(vectors, k=1)
    assert np.isnan(found.scores[4]) and found.reason(4) == "no text to embed"
    assert 4 not in found.outliers(5) and 4 not in found.representative(5)
    assert list(found.representative(2)) == [0, 1] and found.nearest[0] == 1
    with pytest.raises(ValueError):
        representative.typicality(vectors, k=0)


def test_past_the_exact_size_each_row_is_compared_with_a_seeded_sample(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    dense = centre + 0.1 * rng.normal(size=(60, 16))
    far = rng.normal(size=(3, 16)) * 3
    vectors = np.vstack([dense, far]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(representative, "EXACT_UP_TO", 30)
    found = representative.typicality(vectors, k=3, seed=1)
    assert set(found.outliers(3)) == {60, 61, 62}
    again = representative.typicality(vectors, k=3, seed=1)
    assert np.array_equal(found.scores, again.scores, equal_nan=True)


def test_cli_lists_the_outliers_and_the_representative_rows_with_reasons(tmp_path, capsys) -> None:
    _, prompts = _frame()
    path = write_prompts(tmp_path / "data.jsonl", prompts)
    assert main(["quality", str(path), "--outliers", "3", "--representative", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["typicality"]
    assert {prompts[r["line"] - 1] for r in out["outliers"]} == set(_OFF_TOPIC)
    assert all(prompts[r["line"] - 1] in _CLUSTER for r in out["representative"])
    first = out["outliers"][0]
    assert set(first) == {"line", "id", "score", "reason"} and "nearest: line " in first["reason"]
