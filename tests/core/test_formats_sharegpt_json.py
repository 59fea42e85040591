"""ShareGPT as FastChat ships it: one indented JSON array, problems placed by record and line."""

import json

import pytest

from core import formats
from core.__main__ import main

TURNS = [{"from": "human", "value": "Who are you?"}, {"from": "gpt", "value": "I am Vicuna."}]
CONVERSATIONS = [
    {"id": "identity_0", "conversations": TURNS},
    {"id": "identity_1", "conversations": [{"from": "robot", "value": "Who are you?"}]},
    {"id": "identity_2", "conversations": TURNS},
]


def fastchat_file(tmp_path):
    path = tmp_path / "dummy_conversation.json"
    path.write_text(json.dumps(CONVERSATIONS, indent=2))  # as FastChat's data/dummy_conversation.json
    return path


def line_of(path, needle):
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


def test_a_fastchat_json_array_is_read_record_by_record(tmp_path):
    result = formats.load_dataset(fastchat_file(tmp_path))
    assert (result.detection.format, result.container) == ("sharegpt", "json")
    assert result.records["source_line"].tolist() == [1, 3]
    assert result.records["id"].nunique() == 1  # the same conversation twice: one content id


def test_a_bad_record_is_named_with_the_line_it_starts_on(tmp_path):
    path = fastchat_file(tmp_path)
    result = formats.load_dataset(path)
    (problem,) = [p for p in result.errors]
    starts = line_of(path, '"identity_1"') - 1  # the record's "{" is the line above its id
    assert (problem.code, problem.line, problem.text_line) == ("unknown_from", 2, starts)


def test_validate_says_record_and_line(tmp_path, capsys):
    path = fastchat_file(tmp_path)
    assert main(["validate", str(path)]) == 1
    starts = line_of(path, '"identity_1"') - 1
    assert f"record 2 (line {starts}) conversations[0].from [unknown_from]" in capsys.readouterr().out


def test_a_jsonl_file_keeps_plain_line_numbers(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CONVERSATIONS) + "\n")
    (problem,) = formats.load_dataset(path).errors
    assert (problem.line, problem.text_line) == (2, None)


def test_convert_writes_what_the_output_name_promises(tmp_path):
    source = fastchat_file(tmp_path)
    assert main(["convert", str(source), "--to", "sharegpt", "-o", str(tmp_path / "out.json")]) == 0
    assert main(["convert", str(source), "--to", "sharegpt", "-o", str(tmp_path / "out.jsonl")]) == 0
    as_array = json.loads((tmp_path / "out.json").read_text())  # FastChat's train.py: json.load
    as_lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert as_array == as_lines == [CONVERSATIONS[0], CONVERSATIONS[2]]


def test_the_export_bundles_sharegpt_file_is_a_json_array(tmp_path):
    from core import export

    records = formats.load_dataset(fastchat_file(tmp_path)).records
    data, _ = export.write_split(records, "sharegpt")
    assert export.file_extension("sharegpt") == "json"
    assert [row["id"] for row in json.loads(data)] == ["identity_0", "identity_2"]


def test_a_container_csv_cannot_swap():
    records = formats.load_dataset(json.dumps(CONVERSATIONS).encode(), "x.json").records
    with pytest.raises(ValueError, match="csv is written as csv"):
        formats.write_dataset(records, "csv", container="json")


def test_the_problems_table_of_a_json_array_says_the_line_each_record_starts_on():
    from core import formats

    data = b'[\n  {"conversations": [{"from": "human", "value": "hi"}]},\n  {"conversations": []}\n]\n'
    frame = formats.load_dataset(data, "chats.json", format="sharegpt").problems_frame()
    placed = frame.dropna(subset=["line"])
    assert placed[["line", "text_line"]].astype(int).values.tolist() == [[1, 2], [2, 3]]
