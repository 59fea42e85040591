"""An empty preference reply: one rule (warning ``empty_response``, row kept) in every format (#16 item 7)."""

import json

import pytest

from core import formats

HH_EMPTY = {
    "chosen": "\n\nHuman: Hi there\n\nAssistant: ",
    "rejected": "\n\nHuman: Hi there\n\nAssistant: Go away.",
}
ROWS = [
    ("hh-rlhf", HH_EMPTY, "chosen"),
    ("trl-preference", {"prompt": "Hi there", "chosen": "", "rejected": "Go away."}, "chosen"),
    (
        "trl-preference",
        {
            "prompt": [{"role": "user", "content": "Hi there"}],
            "chosen": [{"role": "assistant", "content": ""}],
            "rejected": [{"role": "assistant", "content": "Go away."}],
        },
        "chosen",
    ),
    (
        "openai-dpo",
        {
            "input": {"messages": [{"role": "user", "content": "Hi there"}]},
            "preferred_output": [{"role": "assistant", "content": "Hello!"}],
            "non_preferred_output": [{"role": "assistant", "content": "  "}],
        },
        "non_preferred_output",
    ),
]


def load_rows(rows, format):
    return formats.load_dataset(b"\n".join(json.dumps(r).encode() for r in rows), "x.jsonl", format=format)


@pytest.mark.parametrize(("format", "row", "field"), ROWS)
def test_an_empty_reply_is_one_warning_and_the_row_is_kept(format, row, field):
    result = load_rows([row], format)
    found = [(p.code, p.severity, p.field) for p in result.problems if p.code != "too_few_examples"]
    assert found == [("empty_response", "warning", field)]
    assert result.valid == 1


def test_an_empty_csv_reply_cell_is_the_same_warning():
    data = b"prompt,chosen,rejected\nHi there,,Go away.\n"
    result = formats.load_dataset(data, "pairs.csv")
    found = [(p.code, p.field) for p in result.problems if p.code != "too_few_examples"]
    assert (found, result.valid) == ([("empty_response", "chosen")], 1)


@pytest.mark.parametrize("target", ["csv", "trl-preference", "openai-dpo", "hh-rlhf"])
def test_an_empty_reply_survives_a_round_trip(target):
    source = load_rows([HH_EMPTY], "hh-rlhf").records
    data, losses = formats.write_dataset(source, target)
    suffix = "csv" if target == "csv" else "jsonl"
    back = formats.load_dataset(data, f"out.{suffix}", format=target)
    assert back.valid == 1 and not back.invalid
    assert back.records["chosen"].iloc[0][-1]["content"] == ""
    assert "empty_response" in {p.code for p in back.problems}
