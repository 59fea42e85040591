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
