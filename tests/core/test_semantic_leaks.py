"""Semantic leaks of a split (a test row restated in train) and their fix, with the real model."""

from __future__ import annotations

import pandas as pd
import pytest

from core.semantic import leaks
from core.semantic.pairs import PairSettings
from tests.paraphrase_corpus import PARAPHRASES

_SETTINGS = PairSettings(scope="prompt", cosine=0.8)


def _frame(texts: list[str], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"prompt_text": texts, "id": [f"{prefix}{i}" for i in range(len(texts))]})


def _parts() -> dict[str, pd.DataFrame]:
    """Train holds thirteen requests; test restates train's last (no shared 5-gram); val is unrelated."""
    train = _frame(
        [a for i, (_, a, _) in enumerate(PARAPHRASES[:13]) if i != 1] + [PARAPHRASES[1][1]], "train"
    )
    return {
        "train": train,
        "val": _frame(["Explain how a steam engine works."], "val"),
        "test": _frame([PARAPHRASES[1][2]], "test"),
    }


def test_a_restated_test_question_is_found_with_its_train_row_and_nothing_else() -> None:
    found = leaks.find_leaks(_parts(), _SETTINGS)
    assert [(f.split, f.train_id, f.other_id) for f in found] == [("test", "train12", "test0")]
    assert found[0].cosine >= 0.8 and found[0].jaccard < 0.5
    table = leaks.leaks_frame(found, _parts())
    assert table.loc[0, "train prompt"] == PARAPHRASES[1][1]
    assert table.loc[0, "held-out prompt"] == PARAPHRASES[1][2]


def test_move_puts_the_train_row_beside_its_paraphrase_and_the_leak_is_gone() -> None:
    parts = _parts()
    fixed = leaks.fix_leaks(parts, leaks.find_leaks(parts, _SETTINGS), "move")
    assert fixed.moved == {"train12": "test"} and fixed.dropped == {}
    assert list(fixed.parts["test"]["id"]) == ["test0", "train12"]
    assert len(fixed.parts["train"]) == 12
    assert leaks.find_leaks(fixed.parts, _SETTINGS) == []


def test_drop_leaves_the_train_row_out_with_the_reason() -> None:
    parts = _parts()
    fixed = leaks.fix_leaks(parts, leaks.find_leaks(parts, _SETTINGS), "drop")
    assert list(fixed.dropped) == ["train12"] and "test0" in fixed.dropped["train12"]
    assert "train12" not in set(fixed.parts["train"]["id"]) and len(fixed.parts["test"]) == 1


def test_a_locked_test_set_takes_no_moved_rows() -> None:
    parts = _parts()
    fixed = leaks.fix_leaks(parts, leaks.find_leaks(parts, _SETTINGS), "move", locked=("test",))
    assert fixed.moved == {} and "locked" in fixed.dropped["train12"]
    assert list(fixed.parts["test"]["id"]) == ["test0"]


def test_an_unknown_fix_is_refused() -> None:
    with pytest.raises(ValueError, match="teleport"):
        leaks.fix_leaks(_parts(), [], "teleport")
