"""The hand-made samples of TRL's other types and self-instruct: each reads cleanly and round-trips."""

import json

import pytest

from core import formats
from tests.conftest import SAMPLE_DATA

FORMAT_DIR = SAMPLE_DATA / "formats"
SAMPLES = [
    ("trl_text_valid.jsonl", "trl-text", 12),
    ("trl_kto_valid.jsonl", "trl-kto", 12),
    ("trl_prompt_only_valid.jsonl", "trl-prompt-only", 12),
    ("self_instruct_seed_tasks.jsonl", "self-instruct", 16),  # 6 tasks, 16 instances
]


@pytest.mark.parametrize(("filename", "format", "examples"), SAMPLES)
def test_each_sample_is_detected_and_validates_cleanly(filename, format, examples):
    result = formats.load_dataset(FORMAT_DIR / filename)
    assert result.detection.format == format
    assert (result.valid, result.invalid, result.problems) == (examples, 0, [])


@pytest.mark.parametrize(("filename", "format", "examples"), SAMPLES)
def test_each_sample_round_trips_through_its_own_format(filename, format, examples):
    first = formats.load_dataset(FORMAT_DIR / filename).records
    data, losses = formats.write_dataset(first, format)
    again = formats.load_dataset(data, f"again.{filename}", format=format).records
    assert not losses
    assert again["id"].tolist() == first["id"].tolist()
    assert again["category"].tolist() == first["category"].tolist() or "category" not in first


def test_self_instruct_tasks_come_back_as_one_instance_tasks_with_their_keys():
    first = formats.load_dataset(FORMAT_DIR / "self_instruct_seed_tasks.jsonl").records
    data, _ = formats.write_dataset(first, "self-instruct")
    tasks = [json.loads(line) for line in data.splitlines()]
    assert len(tasks) == 16 and all(len(task["instances"]) == 1 for task in tasks)
    assert [t["id"] for t in tasks[:3]] == ["seed_task_0"] * 3
    assert tasks[-1]["is_classification"] is False and tasks[-1]["instances"][0]["input"] == ""


def test_the_kto_sample_holds_both_labels():
    rows = [json.loads(line) for line in (FORMAT_DIR / "trl_kto_valid.jsonl").read_text().splitlines()]
    assert sorted({r["label"] for r in rows}) == [False, True]
