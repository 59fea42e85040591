"""The batch pipeline: same results on every engine, planted duplicates found, resumable runs."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.__main__ import main
from core.pipeline import LocalEngine, PipelineConfig, run_pipeline
from core.pipeline.planted import cluster_pairs, generate_rows, true_clusters, write_shards

ROWS = 20_000
SHARDS = 8
BROKEN_GOOD = 30  # valid rows in the broken shard
THRESHOLD = 0.8


@pytest.fixture(scope="module")
def planted():
    return generate_rows(ROWS + BROKEN_GOOD, seed=17)


@pytest.fixture(scope="module")
def inputs(planted, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    write_shards(planted.rows[:ROWS], folder, SHARDS)
    lines = [json.dumps(r) for r in planted.rows[ROWS:]]
    lines.insert(4, '{"messages": [broken')  # line 5
    lines.insert(9, json.dumps({"instruction": "an alpaca row", "output": "in a chat shard"}))  # line 10
    (folder / "broken.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "garbage.jsonl.gz").write_bytes(gzip.compress(bytes(range(256)) * 64))
    return folder


@pytest.fixture(scope="module")
def cli_run(inputs, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("local1")
    summary = _cli(["pipeline", str(inputs), "--out", str(out), "--workers", "1", "--json"])
    return summary, out


def _cli(argv: list[str]) -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    return json.loads(buffer.getvalue())


def _local(inputs: Path, out: Path, workers: int) -> dict:
    engine = LocalEngine(workers)
    try:
        return run_pipeline(PipelineConfig(inputs=(str(inputs),), out=str(out)), engine)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def local2_run(inputs, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("local2")
    return _local(inputs, out, 2), out


@pytest.fixture(scope="module")
def ray_run(inputs, ray_session, tmp_path_factory) -> tuple[dict, Path]:
    from core.pipeline.ray_engine import RayEngine

    out = tmp_path_factory.mktemp("ray")
    engine = RayEngine(2)
    progress = io.StringIO()
    summary = run_pipeline(PipelineConfig(inputs=(str(inputs),), out=str(out)), engine, stream=progress)
    engine.close()  # leaves the session's Ray up
    summary["progress"] = progress.getvalue()
    return summary, out


def _outputs(out: Path) -> dict:
    parts = sorted((out / "kept").glob("part-*.parquet"))
    ids = sorted(i for p in parts for i in pq.read_table(p, columns=["id"]).column("id").to_pylist())
    return {
        "kept": ids,
        "removed": pq.read_table(out / "removed.parquet").to_pylist(),
        "assign": pq.read_table(out / "split" / "assign.parquet").to_pylist(),
        "manifest": json.loads((out / "export" / "manifest.json").read_text())["files"],
        "measure": sorted(pq.read_table(out / "measure").to_pylist(), key=lambda r: r["g"]),
    }


def test_json_summary_has_exactly_the_documented_keys(cli_run):
    summary, out = cli_run
    assert list(summary) == [
        "engine",
        "workers",
        "rows_in",
        "valid",
        "invalid",
        "exact_removed",
        "near_removed",
        "kept",
        "clusters",
        "splits",
        "stages",
        "out",
    ]
    assert (summary["engine"], summary["workers"]) == ("local", 1)
    assert list(summary["splits"]) == ["train", "val", "test"]
    assert list(summary["stages"]) == [
        "validate",
        "measure",
        "signatures",
        "buckets",
        "gather",
        "components",
        "filter",
        "split",
        "export",
    ]
    assert all(set(stage) == {"seconds", "rows"} for stage in summary["stages"].values())
    assert summary["stages"]["validate"]["rows"] == summary["valid"]
    assert summary["stages"]["measure"]["rows"] == summary["valid"]
    assert summary["stages"]["filter"]["rows"] == summary["kept"]
    assert summary["kept"] == summary["valid"] - summary["exact_removed"] - summary["near_removed"]
    assert sum(summary["splits"].values()) == summary["kept"]
    assert summary["rows_in"] == summary["valid"] + summary["invalid"]
    assert summary["out"] == str(out)


def test_local_with_two_workers_gives_the_same_outputs(cli_run, local2_run):
    assert _outputs(cli_run[1]) == _outputs(local2_run[1])
    assert local2_run[0]["workers"] == 2


def test_ray_gives_the_same_outputs(cli_run, ray_run):
    summary, out = ray_run
    assert summary["engine"] == "ray"
    assert _outputs(cli_run[1]) == _outputs(out)
    for key in ("valid", "invalid", "exact_removed", "near_removed", "kept", "clusters", "splits"):
        assert summary[key] == cli_run[0][key]
    lines = summary["progress"].replace("\r", "\n").splitlines()
    for stage, tasks in (
        ("validate", SHARDS + 2),
        ("measure", SHARDS + 2),
        ("signatures", SHARDS + 2),
        ("export", SHARDS + 2),
    ):
        seen = [x for x in lines if x.startswith(f"[{stage}]")]
        assert f" {tasks}/{tasks} tasks" in seen[-1] and "ETA" in seen[-1], seen


def test_planted_duplicates_found_with_high_recall_and_precision(cli_run, planted):
    removed = pq.read_table(cli_run[1] / "removed.parquet").to_pylist()
    found = {r["id"]: r["kept_id"] for r in removed}
    for kept_id in set(found.values()):
        found.setdefault(kept_id, kept_id)
    truth = cluster_pairs(true_clusters(planted.rows[:ROWS], planted.family[:ROWS], THRESHOLD))
    predicted = cluster_pairs(found)
    assert len(truth) > 1000
    hits = len(truth & predicted)
    assert hits / len(truth) >= 0.99, "recall"
    assert hits / len(predicted) >= 0.99, "precision"
    assert {r["reason"] for r in removed} == {"exact", "near"}
    assert all(r["jaccard"] >= THRESHOLD for r in removed)


def test_clusters_never_straddle_splits_and_strata_are_balanced(cli_run):
    out = cli_run[1]
    frames = [
        pq.read_table(p, columns=["g", "id", "category"])
        for p in sorted((out / "kept").glob("part-*.parquet"))
    ]
    split_of_g = {r["g"]: r["split"] for r in pq.read_table(out / "split" / "assign.parquet").to_pylist()}
    split_of_id: dict[str, set[str]] = defaultdict(set)
    per_category: dict[str, list[str]] = defaultdict(list)
    for table in frames:
        for row in table.to_pylist():
            split_of_id[row["id"]].add(split_of_g[row["g"]])
            per_category[row["category"]].append(split_of_g[row["g"]])
    for row in pq.read_table(out / "removed.parquet").to_pylist():
        assert row["split"] in split_of_id[row["kept_id"]]
    for splits in per_category.values():
        assert abs(splits.count("test") / len(splits) - 0.1) < 0.01
        assert abs(splits.count("val") / len(splits) - 0.1) < 0.01


def test_broken_shard_reported_and_the_rest_kept(cli_run, inputs):
    summary, out = cli_run
    quarantine = pq.read_table(out / "quarantine.parquet").to_pylist()
    broken = str(inputs / "broken.jsonl")
    lines = {(q["file"], q["line"]) for q in quarantine}
    assert (broken, 5) in lines and (broken, 10) in lines
    assert any(q["file"] == str(inputs / "garbage.jsonl.gz") and q["line"] is None for q in quarantine)
    assert summary["valid"] == ROWS + BROKEN_GOOD
    assert summary["invalid"] == 3


def test_rerun_on_unchanged_input_does_nothing(inputs, cli_run):
    summary = _local(inputs, cli_run[1], 1)
    assert all(stage["tasks_run"] == 0 for stage in summary["stages"].values()), summary["stages"]


def test_a_killed_stage_resumes_only_its_lost_shard(inputs, cli_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(cli_run[1], out)
    before = _outputs(out)
    (out / "signatures" / "part-00003.parquet").unlink()
    (out / "signatures" / "_markers" / "part-00003.json").unlink()
    summary = _local(inputs, out, 1)
    ran = {name: stage["tasks_run"] for name, stage in summary["stages"].items()}
    assert ran == {
        "validate": 0,
        "measure": 0,
        "signatures": 1,
        "buckets": 0,
        "gather": 0,
        "components": 0,
        "filter": 0,
        "split": 0,
        "export": 0,
    }
    assert _outputs(out) == before


def test_kept_folder_reads_as_one_table_of_canonical_rows(cli_run):
    summary, out = cli_run
    kept = pq.read_table(out / "kept")
    assert kept.num_rows == summary["kept"]
    assert {"id", "kind", "messages", "category", "source_file", "source_line"} <= set(kept.column_names)
    first = json.loads(kept.column("messages")[0].as_py())
    assert [m["role"] for m in first] == ["user", "assistant"]


def test_exported_files_hold_every_kept_row_once(cli_run):
    out = cli_run[1]
    manifest = json.loads((out / "export" / "manifest.json").read_text())
    rows = sum(f["rows"] for f in manifest["files"])
    assert rows == cli_run[0]["kept"]
    first = next(f for f in manifest["files"] if f["rows"])
    line = (out / "export" / first["path"]).read_text().splitlines()[0]
    assert [m["role"] for m in json.loads(line)["messages"]] == ["user", "assistant"]


def test_inputs_matching_nothing_fail_clearly(tmp_path, capsys):
    assert main(["pipeline", str(tmp_path / "nothing*.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_progress_lines_go_to_stderr_not_into_json(cli_run, inputs, tmp_path, capsys):
    shards = str(inputs / "shard-00[01].*")  # neighbouring shards: duplicate pairs across them
    argv = ["pipeline", shards, "--out", str(tmp_path), "--workers", "1", "--steps", "validate,dedup"]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    rows = summary["valid"]
    lines = captured.err.replace("\r", "\n").splitlines()
    for stage in ("validate", "signatures", "buckets", "components", "filter"):
        last = [x for x in lines if x.startswith(f"[{stage}]")][-1]
        done = re.search(r" (\d+)/(\d+) tasks, [\d.]+s, ETA \d+s", last)
        assert done and done[1] == done[2] and "/s, " in last, last
    assert any(x.startswith(f"[signatures] {rows:,}/{rows:,} rows") for x in lines)
    assert any(x.startswith(f"[filter] {rows:,}/{rows:,} rows") for x in lines)
    assert any(x.startswith("[buckets] ") and " keys/s" in x for x in lines)
    assert any(x.startswith("[components] ") and " pairs/s" in x for x in lines)
    assert summary["splits"]["train"] == summary["kept"]  # split not among the steps
    assert main([*argv, "--format", "openai-sft"]) == 0  # another fingerprint: validate reruns
    assert f"[validate] {rows:,} rows" in capsys.readouterr().err
    assert main(argv + ["--format", "openai-sft"]) == 0
    assert "[validate] nothing to do: 2 task(s) finished in an earlier run" in capsys.readouterr().err


def test_eta_weighs_tasks_by_their_size():
    from core.pipeline.progress import StageProgress

    bar = StageProgress("signatures", [100, 300], None, rows_total=400)
    bar.update(0, 100)  # the first, small task: a quarter of the weight
    assert bar.eta(bar.start + 10.0) == pytest.approx(30.0)
    assert "100/400 rows" in bar.line(bar.start + 10.0)


def test_open_pipeline_imports_kept_rows_clusters_and_splits(cli_run, tmp_path):
    from core import dedup, split
    from core.workspace import Workspace

    summary, out = cli_run
    workspace = tmp_path / "ws"
    opened = _cli(["open-pipeline", str(out), "--workspace", str(workspace), "--json"])
    assert opened["kept"] == summary["kept"] and opened["splits"] == summary["splits"]
    assert opened["removed"] == summary["exact_removed"] + summary["near_removed"]
    ws = Workspace.open(workspace)
    frame = ws.current_dataset()
    kept_ids = pq.read_table(out / "kept", columns=["id"]).column("id").to_pylist()
    assert sorted(frame["id"]) == sorted(kept_ids)
    assert frame["prompt_text"].str.len().gt(0).all() and frame["response_text"].str.len().gt(0).all()
    assert len(ws.quarantine()) == summary["invalid"]
    audit = dedup.load_audit(ws)
    removed = pq.read_table(out / "removed.parquet").to_pandas()
    assert sorted(audit["id"]) == sorted(removed["id"])
    assert set(audit["dedup_match"]) == {"exact", "near"}
    columns = ["dedup_cluster", "dedup_kept_id", "dedup_match", "dedup_similarity"]
    shown = sorted(audit[["id", *columns]].itertuples(index=False, name=None))
    assert shown == sorted(
        removed[["id", "cluster", "kept_id", "reason", "jaccard"]].itertuples(index=False, name=None)
    )
    test_ids = {r["id"] for r in _outputs_by_split(out)["test"]}
    assert set(split.get_lock(ws)["ids"]) == test_ids
    assert ws.get_state("split.settings")["split_test"] == 10
    assert main(["open-pipeline", str(out), "--workspace", str(workspace)]) == 2  # already open
    assert main(["open-pipeline", str(tmp_path), "--workspace", str(workspace)]) == 2  # not a run


def _outputs_by_split(out: Path) -> dict[str, list[dict]]:
    kept = pq.read_table(out / "kept", columns=["g", "id"]).to_pylist()
    split_of_g = {r["g"]: r["split"] for r in pq.read_table(out / "split" / "assign.parquet").to_pylist()}
    by_split: dict[str, list[dict]] = defaultdict(list)
    for row in kept:
        by_split[split_of_g[row["g"]]].append(row)
    return by_split


def test_workers_start_under_a_page_script_as_main(tmp_path, monkeypatch):
    """Under Streamlit, __main__ is the page being run; a worker must not run it again."""
    import sys
    import types

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('the page script ran in a pipeline worker')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    shards = tmp_path / "shards"
    shards.mkdir()
    write_shards(generate_rows(400, seed=3).rows, shards, 2)
    summary = _local(shards, tmp_path / "out", 2)
    assert summary["valid"] == 400 and sys.modules["__main__"] is fake_main
