"""Self-instruct seed tasks: each instance an example on read, usable as seeds for ``generate``."""

import json

from core import formats
from core.__main__ import main
from core.commands.generate import load_seeds

TASKS = [
    {
        "id": "seed_task_0",
        "name": "breakfast",
        "instruction": "Suggest a breakfast without eggs.",
        "instances": [{"input": "", "output": "Oatmeal with peanut butter."}],
        "is_classification": False,
    },
    {
        "id": "seed_task_1",
        "name": "antonyms",
        "instruction": "What is the relation between the pairs?",
        "instances": [
            {"input": "Night : Day", "output": "Opposites."},
            {"input": "Up : Down", "output": "Also opposites."},
        ],
        "is_classification": False,
    },
    {"id": "seed_task_2", "instruction": "x", "instances": [{"input": "a"}], "is_classification": True},
]


def jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_each_instance_is_one_example_and_a_bad_task_is_one_invalid_line():
    result = formats.load_dataset(jsonl(TASKS), "seed_tasks.jsonl")
    assert result.detection.format == "self-instruct"
    assert list(result.records["prompt_text"]) == [
        "Suggest a breakfast without eggs.",
        "What is the relation between the pairs?\n\nNight : Day",
        "What is the relation between the pairs?\n\nUp : Down",
    ]
    assert list(result.records["source_line"]) == [1, 2, 2]
    assert [(p.line, p.code) for p in result.errors] == [(3, "missing_output")]


def test_a_json_array_of_tasks_and_a_single_task_object_are_read():
    assert len(formats.load_dataset(json.dumps(TASKS[:2]).encode(), "seeds.json").records) == 3
    single = formats.load_dataset(json.dumps(TASKS[1]).encode(), "task.json")
    assert single.detection.format == "self-instruct" and len(single.records) == 2


def test_tasks_are_seeds_for_generate(tmp_path):
    path = tmp_path / "seed_tasks.jsonl"
    path.write_bytes(jsonl(TASKS))
    frame, source_format = load_seeds(path)
    assert source_format == "self-instruct"
    assert list(frame["response_text"]) == ["Oatmeal with peanut butter.", "Opposites.", "Also opposites."]


def test_cli_validate_and_convert_both_ways(tmp_path, capsys):
    source = tmp_path / "seed_tasks.jsonl"
    source.write_bytes(jsonl(TASKS))
    assert main(["validate", str(source), "--json"]) == 1  # the task without an output
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "self-instruct"
    sft = tmp_path / "sft.jsonl"
    assert main(["convert", str(source), "--to", "openai-sft", "-o", str(sft)]) == 0
    rows = [json.loads(line) for line in sft.read_text().splitlines()]
    assert [r["messages"][1]["content"] for r in rows] == [
        "Oatmeal with peanut butter.",
        "Opposites.",
        "Also opposites.",
    ]
    back = tmp_path / "back.jsonl"
    assert main(["convert", str(sft), "--to", "self-instruct", "-o", str(back)]) == 0
    tasks = [json.loads(line) for line in back.read_text().splitlines()]
    assert tasks[2] == {
        "instruction": "What is the relation between the pairs?\n\nUp : Down",
        "instances": [{"input": "", "output": "Also opposites."}],
        "is_classification": False,
    }
    again = tmp_path / "again.jsonl"
    assert main(["convert", str(source), "--to", "self-instruct", "-o", str(again)]) == 0
    kept = [json.loads(line) for line in again.read_text().splitlines()]
    assert [t["id"] for t in kept] == ["seed_task_0", "seed_task_1", "seed_task_1"]
    assert kept[1]["instances"] == [TASKS[1]["instances"][0]]
