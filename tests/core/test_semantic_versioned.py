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


def test_the_background_warm_up_stores_the_semantic_pass_with_its_progress(tmp_path: Path) -> None:
    from core import derived

    ws = _workspace(tmp_path)
    version = ws.dataset_version()
    settings = pairs.PairSettings()
    assert not versioned.pairs_stored(ws, version, settings) and versioned.pass_progress(ws, version) is None
    warmup = derived.warm_in_background(ws, version)
    assert warmup is not None
    warmup.join(timeout=100)
    assert not warmup.is_alive() and not derived.warming(ws, version)
    assert versioned.pairs_stored(ws, version, settings)
    done = versioned.pass_progress(ws, version)
    assert done is not None and done.done == done.total == 13 and done.rows_per_second > 0
    again: list[PassProgress] = []
    found = versioned.version_pairs(ws, version, pairs.PairSettings(cosine=0.8), progress=again.append)
    assert again == []  # read back: the page embeds nothing
    assert (1, 12) in {(p.a, p.b) for p in versioned.pairs_at(found, pairs.PairSettings(cosine=0.8))}
    assert len(list(ws.derived_dir(version).glob("semantic-novelty-*.parquet"))) == 1
