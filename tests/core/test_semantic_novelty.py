"""Novelty (1 - cosine to the nearest neighbour) per row, within a set and against a reference set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.__main__ import main
from core.semantic import index, novelty
from core.semantic.pairs import PairSettings
from tests.paraphrase_corpus import PARAPHRASES

_SETTINGS = PairSettings(scope="prompt", cosine=0.85)


def _frame(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"prompt_text": texts, "id": [str(i) for i in range(len(texts))]})


def test_a_copy_has_novelty_zero_a_restatement_little_and_an_unrelated_request_much() -> None:
    texts = [a for _, a, _ in PARAPHRASES[:16]] + [PARAPHRASES[15][1], PARAPHRASES[1][2]]
    found = novelty.row_novelty(_frame(texts), _SETTINGS)
    assert found.nearest[16] == 15 and found.scores[16] == pytest.approx(0.0, abs=1e-5)  # a copy
    assert found.nearest[17] == 1 and found.scores[17] < 0.15  # restates row 1 in other words
    assert np.median(found.scores[2:15]) > 0.3  # the other requests say other things
    assert found.summary()["paraphrase_share"] == pytest.approx(found.paraphrase_share, abs=1e-4)


def test_novelty_against_a_reference_set_names_the_nearest_reference_row() -> None:
    train = _frame([a for _, a, _ in PARAPHRASES[:16]])
    candidates = _frame([PARAPHRASES[11][2], "How do I repot a cactus without hurting my hands?", ""])
    found = novelty.row_novelty(candidates, _SETTINGS, against=train)
    assert found.nearest[0] == 11 and found.scores[0] < 0.15
    assert found.scores[1] > 0.3
    assert found.nearest[2] == -1 and found.scores[2] == 1.0  # no text: nothing to compare
    assert found.paraphrase_share == pytest.approx(1 / 3)


def test_nearest_other_never_picks_the_row_itself_and_skips_empty_rows() -> None:
    x = np.eye(4, dtype=np.float32)
    x[1] = x[0]
    x[3] = 0.0
    best, cos = index.nearest_other(x)
    assert best.tolist() == [1, 0, 0, -1] and cos[0] == pytest.approx(1.0) and cos[3] == 0.0


def test_leakage_command_says_how_novel_the_other_file_is(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    def write(path: Path, prompts: list[str]) -> Path:
        rows = [
            {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": "Ok."}]}
            for p in prompts
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    train = write(tmp_path / "train.jsonl", [a for _, a, _ in PARAPHRASES[:16]])
    other = write(
        tmp_path / "new.jsonl", [PARAPHRASES[11][2], "How do I repot a cactus without hurting my hands?"]
    )
    args = ["leakage", str(train), str(other), "--scope", "prompt", "--novelty", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)["novelty"]
    assert report["rows"] == 2 and report["paraphrase_share"] == 0.5
    assert report["per_row"][0] < 0.15 < report["per_row"][1]
