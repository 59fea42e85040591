import json
import subprocess
import sys

from core.formats import load_dataset
from tests.conftest import ROOT, SAMPLE_DATA


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "core", "review-sample", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_review_sample_of_a_file_is_reproducible_and_uses_content_ids():
    path = str(SAMPLE_DATA / "support_sft.jsonl")
    first = _run(path, "--fraction", "0.1", "--min", "20", "--seed", "3", "--json")
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    frame = load_dataset(SAMPLE_DATA / "support_sft.jsonl").records
    assert set(payload) == {"size", "seed", "ids", "by_stratum"}
    assert payload["size"] == 41 == len(set(payload["ids"]))  # ceil(10% of 402)
    assert set(payload["ids"]) <= set(frame["id"])
    assert sum(payload["by_stratum"].values()) == 41
    assert json.loads(_run(path, "--seed", "3", "--json").stdout) == payload
    assert json.loads(_run(path, "--seed", "4", "--json").stdout)["ids"] != payload["ids"]


def test_unknown_batch_is_a_clear_error(tmp_path):
    result = _run("no-such-batch", "--workspace", str(tmp_path), "--json")
    assert result.returncode == 2
    assert "no-such-batch" in result.stderr and "Traceback" not in result.stderr


def _workspace_with_a_sample(tmp_path):
    from core import review
    from core.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    ids = tuple(f"ex{i:02d}" for i in range(20))
    review.ReviewStore(ws).save_sample("b1", review.ReviewSample(ids, ("all",) * 20, 0))
    return ws, ids


def test_assign_shares_a_batchs_sample_and_progress_reports_agreement(tmp_path):
    from core import review

    ws, ids = _workspace_with_a_sample(tmp_path)
    result = _run("b1", "--workspace", str(ws.root), "--assign", "ana, ben", "--overlap", "0.25", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["size"] == 20 and len(payload["shared"]) == 5
    assert set(payload["reviewers"]) == {"ana", "ben"}
    assert set(payload["reviewers"]["ana"]) | set(payload["reviewers"]["ben"]) == set(ids)
    store = review.ReviewStore(ws)
    for name in ("ana", "ben"):  # both approve every shared example: full agreement
        store.record_many([review.Decision("b1", i, "approve", name) for i in payload["shared"]])
    progress = json.loads(_run("b1", "--workspace", str(ws.root), "--progress", "--json").stdout)
    assert {r["reviewer"]: r["done"] for r in progress["reviewers"]} == {"ana": 5, "ben": 5}
    assert progress["agreement"] == [{"a": "ana", "b": "ben", "kappa": 1.0, "n": 5, "agreed": 5}]
    assert progress["reviewed"] == 5


def test_assign_refuses_a_file_and_progress_a_batch_without_sample(tmp_path):
    path = str(SAMPLE_DATA / "support_sft.jsonl")
    refused = _run(path, "--assign", "ana")
    assert refused.returncode == 2 and "batch id" in refused.stderr
    missing = _run("b9", "--workspace", str(tmp_path), "--progress")
    assert missing.returncode == 2 and "no review sample" in missing.stderr
