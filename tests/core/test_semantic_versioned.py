"""A version's semantic pairs and novelty, found once down to the floors and stored with the version."""

from __future__ import annotations

from pathlib import Path

import pytest

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


class _Stop(Exception):
    pass


def _record_embeddings(monkeypatch) -> list[list[str]]:
    """The texts of every call of the real model's embed from now on (the model still embeds them)."""
    from core.semantic.model import StaticModel

    embedded: list[list[str]] = []
    real_embed = StaticModel.embed

    def recording(self, texts, *, progress=None):
        embedded.append(list(texts))
        return real_embed(self, texts, progress=progress)

    monkeypatch.setattr(StaticModel, "embed", recording)
    return embedded


def test_a_pass_killed_after_its_first_chunk_resumes_at_the_first_missing_chunk(
    tmp_path: Path, monkeypatch
) -> None:
    from core.semantic import chunks

    monkeypatch.setattr(chunks, "CHUNK_ROWS", 4)  # 13 distinct prompts: 4 chunks
    embedded = _record_embeddings(monkeypatch)
    ws = _workspace(tmp_path / "ws")
    version = ws.dataset_version()

    def killing(progress: PassProgress) -> None:
        if progress.done > 4:  # the second chunk is embedded but not yet stored
            raise _Stop

    with pytest.raises(_Stop):
        versioned.version_pairs(ws, version, pairs.PairSettings(), progress=killing)
    folders = list(ws.derived_dir(version).glob("semantic-raw-*"))
    assert len(folders) == 1 and [p.name for p in chunks.stored_chunks(folders[0])] == ["chunk-00000.npy"]
    first = embedded[0]
    embedded.clear()
    seen: list[PassProgress] = []
    resumed = versioned.version_pairs(ws, version, pairs.PairSettings(), progress=seen.append)
    assert [len(t) for t in embedded] == [4, 4, 1]  # chunks 1-3 only
    assert not set(first) & {t for texts in embedded for t in texts}  # no row of chunk 0 again
    assert seen[0].done == 4 and seen[-1].done == seen[-1].total == 13
    assert len(chunks.stored_chunks(folders[0])) == 4
    embedded.clear()
    versioned.version_novelty(ws, version, pairs.PairSettings())  # the same scope: its chunks are read
    assert embedded == []
    fresh = versioned.version_pairs(_workspace(tmp_path / "fresh"), version, pairs.PairSettings())
    assert [(p.a, p.b, p.method) for p in resumed] == [(p.a, p.b, p.method) for p in fresh]
    assert [p.cosine for p in resumed] == pytest.approx([p.cosine for p in fresh], abs=1e-5)


def test_the_rate_counts_the_rows_done_after_the_first_report_not_the_stored_ones(monkeypatch) -> None:
    from core.semantic import model

    clock = iter([0.0, 0.001, 1.0, 2.0])  # made, the stored rows reported, then two batches a second apart
    monkeypatch.setattr(model.time, "perf_counter", lambda: next(clock))
    seen: list[PassProgress] = []
    update = model.timed_progress(seen.append)
    update(32_768, 40_000)  # resumed: two chunks read back at once
    update(36_768, 40_000)
    update(40_000, 40_000)
    assert seen[1].rows_per_second == pytest.approx(4_000 / 0.999)
    assert seen[2].rows_per_second == pytest.approx(7_232 / 1.999) and seen[2].eta_seconds == 0.0


def test_typicality_reads_the_version_chunks_and_equals_embedding_the_rows(
    tmp_path: Path, monkeypatch
) -> None:
    import numpy as np

    from core.semantic import representative
    from core.semantic.model import StaticModel

    ws = _workspace(tmp_path)
    version = ws.dataset_version()
    frame = ws.load_version(version)
    expected = representative.row_typicality(frame)
    versioned.version_pairs(ws, version, pairs.PairSettings())
    real_embed = StaticModel.embed
    calls: list[int] = []

    def recording(self, texts, *, progress=None):
        calls.append(len(texts))
        return real_embed(self, texts, progress=progress)

    monkeypatch.setattr(StaticModel, "embed", recording)
    found = versioned.version_typicality(ws, version, frame)
    assert calls == []  # the background pass's chunks, not a new pass
    assert np.allclose(found.scores, expected.scores, atol=1e-5)
    assert list(found.outliers(3)) == list(expected.outliers(3))


def test_two_sets_of_texts_in_one_folder_keep_their_own_chunks(tmp_path: Path, monkeypatch) -> None:
    # the page (say, the outlier ranking) and the background pass can embed different texts of one
    # version at the same time: neither may remove the other's chunks (it did: a FileNotFoundError)
    from core.semantic import chunks

    embedded = _record_embeddings(monkeypatch)
    folder = tmp_path / "semantic-raw"
    first = chunks.embed_stored(folder, ["reset my password", "where is my order"])
    second = chunks.embed_stored(folder, ["cancel the subscription"])
    assert len(embedded) == 2 and len(chunks.stored_chunks(folder)) == 2
    embedded.clear()
    again = chunks.embed_stored(folder, ["reset my password", "where is my order"])
    assert embedded == [] and (again == first).all() and second.shape == (1, first.shape[1])
