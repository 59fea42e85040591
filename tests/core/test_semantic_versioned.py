"""A version's semantic pairs and novelty, found once down to the floors and stored with the version."""

from __future__ import annotations

from pathlib import Path

from core import records
from core.semantic import pairs, versioned
from core.semantic.model import PassProgress
from core.workspace import Workspace
from tests.paraphrase_corpus import PARAPHRASES


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path)
    rows = [
        records.make_record(
            "sft", [{"role": "user", "content": a}, {"role": "assistant", "content": "Sure."}]
        )
        for _, a, _ in PARAPHRASES[:12]
    ]
    rows.append(
        records.make_record(
            "sft", [{"role": "user", "content": PARAPHRASES[1][2]}, {"role": "assistant", "content": "Sure."}]
        )
    )
    ws.save_dataset(records.make_frame(rows), note="paraphrases")
    return ws


def test_pairs_are_stored_once_per_version_and_scope_and_thresholds_only_filter(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    version = ws.dataset_version()
    seen: list[PassProgress] = []
    stored = versioned.version_pairs(ws, version, pairs.PairSettings(), progress=seen.append)
    assert seen and seen[-1].done == seen[-1].total and seen[-1].rows_per_second > 0
    assert len(list(ws.derived_dir(version).glob("semantic-pairs-*.parquet"))) == 1
    again: list[PassProgress] = []
    assert (
        versioned.version_pairs(ws, version, pairs.PairSettings(cosine=0.99), progress=again.append) == stored
    )
    assert again == []  # read back, not embedded again
    assert min(p.cosine for p in stored if p.method != "lexical") >= versioned.COSINE_FLOOR - 1e-6
    strict = versioned.pairs_at(stored, pairs.PairSettings(method="semantic", cosine=0.99))
    loose = versioned.pairs_at(stored, pairs.PairSettings(method="semantic", cosine=0.8))
    assert len(strict) < len(loose) and (1, 12) in {(p.a, p.b) for p in loose}
    assert versioned.pairs_at(stored, pairs.PairSettings(method="lexical")) == []  # no shared 5-grams


def test_novelty_is_stored_with_the_version(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    version = ws.dataset_version()
    found = versioned.version_novelty(ws, version, pairs.PairSettings())
    assert found.nearest[12] == 1 and found.scores[12] < 0.15
    assert list(ws.derived_dir(version).glob("semantic-novelty-*.parquet"))
    assert (versioned.version_novelty(ws, version, pairs.PairSettings()).scores == found.scores).all()
