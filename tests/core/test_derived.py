import threading
import time

import numpy as np
import pandas as pd
import pytest

from core import dedup, derived, profile, split, tokens
from core.workspace import Workspace
from tests.core.test_split import make_frame


@pytest.fixture
def saved(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    frame = make_frame(60, seed=4, near_every=5)
    version = ws.save_dataset(frame, note="test", name="t.jsonl", source_format="openai-sft")
    return ws, version, ws.load_version(version)


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_token_counts_are_measured_once_and_equal_a_fresh_count(saved, monkeypatch):
    ws, version, frame = saved
    calls = _count_calls(monkeypatch, tokens, "count_frame")
    first = derived.token_counts(ws, version, "gpt-4.1-mini")
    again = derived.token_counts(ws, version, "gpt-4o")  # same encoding: the same stored counts
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, again)
    fresh = tokens.count_frame(frame, model="gpt-4.1-mini").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, fresh)
    derived.token_counts(ws, version, "gpt-3.5-turbo-0125")  # cl100k_base: counted on its own
    assert len(calls) == 3  # the fresh count above, then cl100k
    assert sorted(p.name for p in ws.derived_dir(version).glob("tokens-*")) == [
        "tokens-cl100k_base-f1.parquet",
        "tokens-o200k_base-f1.parquet",
    ]


def test_features_from_stored_measures_equal_computed_features(saved):
    ws, version, frame = saved
    config = profile.ProfileConfig(model="gpt-4.1-mini")
    stored = derived.features(ws, version, config)
    pd.testing.assert_frame_equal(stored, profile.compute_features(frame, config))
    assert derived.features(ws, version, config).equals(stored)  # read back from the files


def test_other_negative_patterns_are_measured_separately(saved):
    ws, version, frame = saved
    default = derived.text_measures(ws, version)
    custom = derived.text_measures(ws, version, negative_patterns=(r"^w",))
    assert not default["is_negative"].any()
    assert custom["is_negative"].all()  # every response of the test frame starts with a "w…" word
    assert len(list(ws.derived_dir(version).glob("text-measures-*"))) == 2


def test_split_graph_is_stored_at_the_floor_and_serves_higher_thresholds(saved, monkeypatch):
    ws, version, frame = saved
    calls = _count_calls(monkeypatch, split, "pair_graph")
    graph = derived.split_graph(ws, version, 0.8, "all")
    assert graph.floor == derived.NEAR_FLOOR
    assert derived.split_graph(ws, version, 0.95, "all") is not graph  # read back from its file
    assert len(calls) == 1
    for threshold in (0.7, 0.8, 0.95):
        config = split.SplitConfig(cluster_threshold=threshold)
        with_graph = split.split_frame(
            frame, config, seed=2, graph=derived.split_graph(ws, version, threshold, "all")
        )
        assert with_graph.labels == split.split_frame(frame, config, seed=2).labels
    lower = derived.split_graph(ws, version, 0.5, "all")
    assert lower.floor == 0.5 and len(calls) == 1 + 3 + 1  # 3 from the fresh splits above
    derived.split_graph(ws, version, 0.8, "prompt")  # another dedup scope, another graph
    assert len(calls) == 6


def test_a_torn_file_is_measured_again(saved):
    ws, version, _ = saved
    first = derived.token_counts(ws, version, "gpt-4.1-mini")
    path = ws.derived_dir(version) / "tokens-o200k_base-f1.parquet"
    path.write_bytes(b"not parquet")
    again = derived.token_counts(ws, version, "gpt-4.1-mini")
    pd.testing.assert_frame_equal(first, again)
    assert pd.read_parquet(path).shape == first.shape
    assert not list(ws.derived_dir(version).glob(".*partial"))


def test_concurrent_callers_compute_once(tmp_path):
    calls = []
    release = threading.Event()

    def slow() -> pd.DataFrame:
        calls.append(1)
        release.wait(30)  # hold the lock until every caller has started
        return pd.DataFrame({"x": [1, 2, 3]})

    path = tmp_path / "x.parquet"
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                derived.stored(path, slow, read=pd.read_parquet, write=lambda v, p: v.to_parquet(p))
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert len(calls) == 1
    assert all(r["x"].tolist() == [1, 2, 3] for r in results)


def test_a_failing_compute_leaves_no_file(tmp_path):
    path = tmp_path / "x.parquet"

    def broken() -> pd.DataFrame:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        derived.stored(path, broken, read=pd.read_parquet, write=lambda v, p: v.to_parquet(p))
    assert [p.name for p in tmp_path.iterdir()] == [".x.parquet.lock"]  # no result, no partial file


def test_warm_in_background_measures_once_per_version(saved):
    ws, version, frame = saved
    thread = derived.warm_in_background(ws, version)
    assert derived.warm_in_background(ws, version) is thread
    thread.join(timeout=120)
    assert not derived.warming(ws, version) and not derived.warming(ws, None)
    names = sorted(p.name for p in ws.derived_dir(version).iterdir() if not p.name.startswith("."))
    assert [n.split("-")[0] for n in names] == [
        "dedup",
        "quality",
        "quality",
        "semantic",
        "semantic",
        "semantic",
        "semantic",
        "split",
        "text",
        "tokens",
        "topics",
    ]
    assert {n.split("-")[1] for n in names if n.startswith("semantic")} == {"novelty", "pairs", "pass", "raw"}
    assert {n.split("-")[1] for n in names if n.startswith("quality")} == {"flags", "curation"}
    graph = split.PairGraph.load(next(ws.derived_dir(version).glob("split-graph-*")))
    assert graph.rows == len(frame) and graph.scope == "all"
    assert derived.warm_in_background(ws, None) is None


def test_warm_failure_is_logged_not_raised(tmp_path, caplog):
    ws = Workspace.open(tmp_path / "empty")
    thread = derived.warm_in_background(ws, 7)  # no such version
    thread.join(timeout=30)
    assert "warming dataset version 7" in caplog.text


def test_pair_graph_round_trip(tmp_path):
    frame = make_frame(40, seed=1, near_every=4)
    graph = split.pair_graph(frame, 0.7, "prompt")
    graph.save(tmp_path / "g.npz")
    loaded = split.PairGraph.load(tmp_path / "g.npz")
    assert (loaded.rows, loaded.floor, loaded.scope) == (graph.rows, graph.floor, graph.scope)
    assert set(loaded.views) == {"prompt", "prompt+response", "scope"}
    for name, pairs in graph.views.items():
        for part in ("exact_group", "left", "right", "jaccard"):
            np.testing.assert_array_equal(getattr(loaded.views[name], part), getattr(pairs, part))


def _clusters(result: dedup.DedupResult) -> list[tuple]:
    return [(c.members, c.kind, round(c.min_jaccard, 6)) for c in result.clusters]


def test_dedup_graph_is_stored_once_and_gives_the_engines_clusters(saved, monkeypatch):
    ws, version, frame = saved
    calls = _count_calls(monkeypatch, dedup, "duplicate_graph")
    for threshold in (0.95, 0.8, 0.7):
        config = dedup.DedupConfig(threshold=threshold, scope="prompt", shingle_size=3)
        result = dedup.result_at(derived.dedup_graph(ws, version, config), config)
        fresh = dedup.find_duplicates(frame, config)
        assert _clusters(result) == _clusters(fresh) and result.removed == fresh.removed
    assert result.near_duplicates > 0  # at 0.7 the planted near-duplicates are found
    assert len(calls) == 1 + 3  # one stored graph; three fresh runs for the comparison
    lower = dedup.DedupConfig(threshold=0.55, scope="prompt", shingle_size=3)
    assert derived.dedup_graph(ws, version, lower).floor == 0.55
    # from now on the 0.55 graph serves every threshold above it, and other settings get their own
    derived.dedup_graph(ws, version, dedup.DedupConfig(threshold=0.6, scope="prompt", shingle_size=3))
    assert len(calls) == 1 + 3 + 1
    derived.dedup_graph(ws, version, dedup.DedupConfig(threshold=0.8, scope="prompt"))
    assert len(calls) == 1 + 3 + 2


def test_split_graph_shares_the_dedup_graph_of_its_scope(saved, monkeypatch):
    ws, version, frame = saved
    graph = derived.dedup_graph(ws, version, dedup.DedupConfig(scope="all"))
    calls = _count_calls(monkeypatch, dedup, "duplicate_graph")
    pairs = derived.split_graph(ws, version, 0.8, "all")
    assert len(calls) == 2  # prompt and prompt + response; the scope view is the stored dedup graph
    np.testing.assert_array_equal(pairs.views["scope"].left, graph.near_left)


def test_duplicate_graph_round_trip_and_floor(tmp_path):
    frame = make_frame(40, seed=3, near_every=3)
    config = dedup.DedupConfig(threshold=0.6, scope="all", shingle_size=3)
    graph = dedup.duplicate_graph(frame, config)
    graph.save(tmp_path / "g.npz")
    loaded = dedup.DuplicateGraph.load(tmp_path / "g.npz")
    assert (loaded.floor, loaded.rows, loaded.ids, loaded.candidate_pairs) == (
        graph.floor,
        graph.rows,
        graph.ids,
        graph.candidate_pairs,
    )
    np.testing.assert_array_equal(loaded.near_jaccard, graph.near_jaccard)
    assert _clusters(dedup.result_at(loaded, config)) == _clusters(dedup.find_duplicates(frame, config))
    with pytest.raises(ValueError, match="verified down to"):
        dedup.result_at(loaded, dedup.DedupConfig(threshold=0.5, scope="all", shingle_size=3))
    thresholds = (0.6, 0.8, 0.9)
    pd.testing.assert_frame_equal(
        dedup.sensitivity(frame, config, thresholds, graph=loaded),
        dedup.sensitivity(frame, config, thresholds),
    )


def test_old_versions_measurements_are_pruned(saved):
    ws, first, frame = saved
    derived.token_counts(ws, first, "gpt-4.1-mini")
    versions = [first] + [ws.save_dataset(frame.iloc[: 50 - k], note=f"v{k}") for k in range(4)]
    for version in versions:
        derived.token_counts(ws, version, "gpt-4.1-mini")
    assert derived.prune(ws, keep=3) == versions[:2]
    assert [v for v in versions if ws.derived_dir(v).exists()] == versions[2:]
    ws.revert_to(first)  # the current version is kept whatever its age
    derived.token_counts(ws, ws.dataset_version(), "gpt-4.1-mini")
    assert derived.prune(ws, keep=1) == versions[2:]


def test_ids_of_any_shape_survive_a_stored_graph(tmp_path):
    frame = make_frame(3, seed=8)
    frame["id"] = ["a\x00", "", "é" * 5000]
    graph = dedup.duplicate_graph(frame, dedup.DedupConfig())
    graph.save(tmp_path / "g.npz")
    assert dedup.DuplicateGraph.load(tmp_path / "g.npz").ids == ["a\x00", "", "é" * 5000]
    assert (tmp_path / "g.npz").stat().st_size < 100_000  # not rows x longest id x 4 bytes


def test_a_floor_between_slider_steps_is_kept_exactly(saved):
    ws, version, _ = saved
    config = dedup.DedupConfig(threshold=0.654, scope="prompt")
    derived.dedup_graph(ws, version, config)
    lower = dedup.DedupConfig(threshold=0.651, scope="prompt")
    assert dedup.result_at(derived.dedup_graph(ws, version, lower), lower).rows == 60 + 12


def test_split_graph_reports_progress_while_it_runs_the_engine(saved):
    ws, version, _ = saved
    seen: list[float] = []
    derived.split_graph(ws, version, 0.8, "all", progress=seen.append)
    assert seen and all(0 <= a <= b <= 1 for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == pytest.approx(1.0)
    again: list[float] = []
    derived.split_graph(ws, version, 0.8, "all", progress=again.append)
    assert again == []  # read back from the version's folder: no engine run, no bar


def test_big_versions_are_measured_in_a_child_process(saved, monkeypatch):
    ws, version, frame = saved
    monkeypatch.setattr(derived, "PROCESS_FROM_ROWS", 1)
    calls = _count_calls(monkeypatch, profile, "measure_texts")  # counts this process only
    derived.warm_in_background(ws, version).join(timeout=300)
    assert calls == []  # the work happened in the child
    assert sorted(p.name.split("-")[0] for p in ws.derived_dir(version).glob("[!.]*-f1.*")) == [
        "dedup",
        "quality",
        "quality",
        "split",
        "text",
        "tokens",
        "topics",
    ]
    pd.testing.assert_frame_equal(
        derived.features(ws, version, profile.ProfileConfig()), profile.compute_features(frame)
    )
    assert calls == [1]  # the fresh comparison above; the stored measures were read back


def test_a_failing_child_is_logged(saved, monkeypatch, caplog):
    ws, version, _ = saved
    monkeypatch.setattr(derived, "PROCESS_FROM_ROWS", 1)
    (ws.root / "versions" / f"v{version:04d}" / "records.parquet").write_bytes(b"broken")
    derived.warm_in_background(ws, version).join(timeout=120)
    assert "warming dataset version" in caplog.text and "exit code 1" in caplog.text


def test_one_process_computes_while_another_waits_for_its_file(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "x.parquet"
    computing = tmp_path / "computing"  # written by the other process once it holds the lock
    script = (
        "import time, pandas as pd; from pathlib import Path; from core import derived\n"
        f"derived.stored(Path({str(path)!r}), lambda: (Path({str(computing)!r}).touch(), time.sleep(1),"
        " pd.DataFrame({'x': [7]}))[2], read=pd.read_parquet, write=lambda v, p: v.to_parquet(p))\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script], cwd=str(derived._PROJECT))
    deadline = time.monotonic() + 60
    while not computing.exists() and other.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert computing.exists(), "the other process never started computing"
    calls = []
    value = derived.stored(
        path,
        lambda: calls.append(1) or pd.DataFrame({"x": [0]}),
        read=pd.read_parquet,
        write=lambda v, p: v.to_parquet(p),
    )
    assert other.wait(timeout=60) == 0
    assert calls == [] and value["x"].tolist() == [7]


def test_warming_says_whether_a_warm_up_is_under_way(saved, monkeypatch):
    ws, version, _ = saved
    release = threading.Event()
    monkeypatch.setattr(derived, "warm", lambda ws, version: release.wait(30))
    warmup = derived.warm_in_background(ws, version)
    assert derived.warming(ws, version)
    release.set()
    warmup.join(timeout=30)
    assert not derived.warming(ws, version)
