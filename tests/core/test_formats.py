"""Validation rules, detection, canonical records and writing, one table per concern."""

import json

import pytest

from core import formats
from core.errors import FormatError
from core.formats import ColumnMap, Problem

U = {"role": "user", "content": "Where is my order?"}
A = {"role": "assistant", "content": "It shipped yesterday."}
S = {"role": "system", "content": "Be brief."}
TOOL = {
    "type": "function",
    "function": {"name": "get_order", "parameters": {"type": "object", "properties": {}}},
}
CALL = {"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": '{"id": "1"}'}}


def dpo(messages=(U,), chosen=(A,), rejected=({"role": "assistant", "content": "No."},), **extra):
    return {
        "input": {"messages": list(messages)},
        "preferred_output": list(chosen),
        "non_preferred_output": list(rejected),
        **extra,
    }


def load_rows(rows, format=None, filename="data.jsonl", **kwargs):
    data = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()
    return formats.load_dataset(data, filename, format=format, **kwargs)


def row_codes(result, line=1):
    return {p.code for p in result.problems if p.line == line}


VALID = [
    ("openai-sft", {"messages": [S, U, A]}),
    ("openai-sft", {"messages": [U, {**A, "weight": 0}, U, {**A, "weight": 1}]}),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
                A,
            ],
            "tools": [TOOL],
            "parallel_tool_calls": False,
        },
    ),
    (
        "openai-sft",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What?"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.jpg", "detail": "low"}},
                    ],
                },
                A,
            ]
        },
    ),
    (
        "openai-sft",
        {"messages": [U, {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}]},
    ),
    ("openai-dpo", dpo()),
    ("openai-dpo", dpo(messages=(S, U), tools=None)),
    ("openai-rft", {"messages": [{"role": "developer", "content": "Answer yes/no"}, U], "label": "yes"}),
    ("alpaca", {"instruction": "Add", "input": "2 and 2", "output": "4"}),
    ("alpaca", {"instruction": "Say hi", "output": "Hi", "system": "Be nice", "history": [["a", "b"]]}),
    ("alpaca", {"instruction": "Summarise", "context": "Long text", "response": "Short", "category": "qa"}),
    (
        "sharegpt",
        {
            "id": "1",
            "conversations": [
                {"from": "system", "value": "S"},
                {"from": "human", "value": "hi"},
                {"from": "gpt", "value": "hello"},
            ],
        },
    ),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "human", "value": "w?"},
                {"from": "function_call", "value": '{"name": "f", "arguments": {"a": 1}}'},
                {"from": "observation", "value": "ok"},
                {"from": "gpt", "value": "done"},
            ]
        },
    ),
    ("trl-messages", {"messages": [U, A]}),
    (
        "trl-messages",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
                },
                {"role": "tool", "content": "1"},
                A,
            ]
        },
    ),
    ("trl-prompt-completion", {"prompt": "The sky is", "completion": " blue."}),
    ("trl-prompt-completion", {"prompt": [U], "completion": [A]}),
    ("trl-preference", {"prompt": "Sky?", "chosen": "blue", "rejected": "green"}),
    ("trl-preference", {"prompt": [U], "chosen": [A], "rejected": [{"role": "assistant", "content": "x"}]}),
    ("trl-preference", {"chosen": [U, A], "rejected": [U, {"role": "assistant", "content": "x"}]}),
    (
        "hh-rlhf",
        {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"},
    ),
]


@pytest.mark.parametrize(("format", "row"), VALID)
def test_valid_rows_have_no_error(format, row):
    result = load_rows([row] * 10, format=format)
    assert result.valid == 10
    assert result.invalid == 0
    assert not result.errors, result.errors


@pytest.mark.parametrize(("format", "row"), VALID)
def test_valid_rows_are_detected(format, row):
    result = load_rows([row] * 10)
    expected = "openai-sft" if format == "trl-messages" and "tool_calls" not in json.dumps(row) else format
    assert result.detection.format == expected


INVALID = [
    # OpenAI SFT
    ("openai-sft", {"messages": [{"role": "developer", "content": "x"}, U, A]}, "developer_role_not_allowed"),
    ("openai-sft", {"messages": [U, {**A, "weight": 2}]}, "weight_not_binary"),
    ("openai-sft", {"messages": [U, {**A, "weight": True}]}, "weight_not_binary"),
    ("openai-sft", {"messages": [{**U, "weight": 1}, A]}, "weight_on_non_assistant"),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{**CALL, "function": {"name": "get_order", "arguments": {"id": "1"}}}],
                },
                A,
            ]
        },
        "arguments_not_string",
    ),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{**CALL, "function": {"name": "get_order", "arguments": "{oops"}}],
                },
                A,
            ]
        },
        "arguments_invalid_json",
    ),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{**CALL, "function": {"name": "bad name", "arguments": "{}"}}],
                },
                A,
            ]
        },
        "invalid_tool_name",
    ),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{**CALL, "function": {"name": "x" * 65, "arguments": "{}"}}],
                },
                A,
            ]
        },
        "invalid_tool_name",
    ),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                A,
            ]
        },
        "tool_call_missing_id",
    ),
    (
        "openai-sft",
        {"messages": [U, A], "tools": [{"type": "function", "function": {"name": "a b"}}]},
        "invalid_tool_name",
    ),
    ("openai-sft", {"messages": [U, A], "tools": {"name": "f"}}, "invalid_tools"),
    ("openai-sft", {"messages": [U, A], "parallel_tool_calls": "yes"}, "invalid_parallel_tool_calls"),
    ("openai-sft", {"messages": [U, {"role": "tool", "content": "x"}, A]}, "missing_tool_call_id"),
    ("openai-sft", {"messages": [S, U]}, "missing_assistant"),
    ("openai-sft", {"messages": [U, {"role": "bot", "content": "x"}]}, "invalid_role"),
    ("openai-sft", {"messages": [{"content": "x"}, A]}, "missing_role"),
    ("openai-sft", {"messages": [{"role": "user"}, A]}, "missing_content"),
    ("openai-sft", {"messages": [U, {"role": "assistant", "content": None}]}, "missing_content"),
    ("openai-sft", {"messages": [{"role": "user", "content": 3}, A]}, "invalid_content_type"),
    ("openai-sft", {"messages": [{"role": "user", "content": []}, A]}, "empty_content_parts"),
    (
        "openai-sft",
        {"messages": [{"role": "user", "content": [{"type": "video"}]}, A]},
        "invalid_content_part",
    ),
    (
        "openai-sft",
        {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}, A]},
        "unsupported_content_part",
    ),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                },
            ]
        },
        "image_not_in_user",
    ),
    (
        "openai-sft",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
                A,
            ]
        },
        "invalid_image_url",
    ),
    (
        "openai-sft",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x", "detail": "max"}}],
                },
                A,
            ]
        },
        "invalid_image_detail",
    ),
    (
        "openai-sft",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}] * 11},
                A,
            ]
        },
        "too_many_images",
    ),
    ("openai-sft", {"messages": []}, "empty_messages"),
    ("openai-sft", {"messages": "hi"}, "messages_not_list"),
    ("openai-sft", {"messages": [U, "text"]}, "message_not_object"),
    ("openai-sft", {"prompt": "x", "completion": "y"}, "format_mismatch"),
    # OpenAI DPO
    ("openai-dpo", {"prompt": "p", "chosen": "c", "rejected": "r"}, "dpo_wrong_shape"),
    ("openai-dpo", dpo(rejected=(A,)), "dpo_outputs_identical"),
    ("openai-dpo", dpo(chosen=(A, A)), "output_not_single_assistant"),
    ("openai-dpo", dpo(chosen=(U,)), "output_not_single_assistant"),
    ("openai-dpo", {**dpo(), "preferred_output": A}, "output_not_single_assistant"),
    ("openai-dpo", dpo(chosen=({**A, "weight": 1},)), "weight_not_allowed"),
    (
        "openai-dpo",
        dpo(
            messages=(
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]},
            )
        ),
        "image_not_allowed",
    ),
    ("openai-dpo", dpo(messages=(U, A)), "input_not_ending_with_user"),
    ("openai-dpo", {"preferred_output": [A], "non_preferred_output": [A], "input": "hi"}, "input_not_object"),
    (
        "openai-dpo",
        {k: v for k, v in dpo().items() if k != "non_preferred_output"},
        "missing_non_preferred_output",
    ),
    ("openai-dpo", {k: v for k, v in dpo().items() if k != "input"} | {"x": 1}, "missing_input"),
    (
        "openai-dpo",
        {
            "input": {"messages": [U]},
            "preferred_completion": [A],
            "non_preferred_output": [{"role": "assistant", "content": "x"}],
        },
        "stale_dpo_key",
    ),
    ("openai-dpo", dpo(chosen=({"role": "assistant", "tool_calls": [CALL]},)), "dpo_output_not_text"),
    ("openai-dpo", dpo(messages=({"role": "developer", "content": "x"}, U)), "developer_role_not_allowed"),
    # OpenAI RFT
    ("openai-rft", {"messages": [S, U], "ref": "x"}, "system_role_not_allowed"),
    ("openai-rft", {"messages": [U, A], "ref": "x"}, "rft_last_not_user"),
    ("openai-rft", {"messages": [{"role": "function", "content": "x", "name": "f"}, U]}, "invalid_role"),
    # Alpaca
    ("alpaca", {"instruction": "x"}, "missing_output"),
    ("alpaca", {"output": "x", "input": ""}, "missing_instruction"),
    ("alpaca", {"instruction": "x", "input": 3, "output": "y"}, "invalid_field_type"),
    ("alpaca", {"instruction": " ", "output": "y"}, "empty_instruction"),
    ("alpaca", {"instruction": "x", "output": ""}, "empty_output"),
    ("alpaca", {"instruction": "x", "output": "y", "history": "no"}, "invalid_history"),
    # ShareGPT
    ("sharegpt", {"conversations": []}, "invalid_conversations"),
    ("sharegpt", {"id": 1}, "missing_conversations"),
    (
        "sharegpt",
        {"conversations": [{"from": "human", "value": "x"}, {"from": "robot", "value": "y"}]},
        "unknown_from",
    ),
    (
        "sharegpt",
        {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": 1}]},
        "invalid_field_type",
    ),
    ("sharegpt", {"conversations": [{"from": "human", "value": "x"}]}, "missing_assistant"),
    ("sharegpt", {"conversations": ["x"]}, "message_not_object"),
    # TRL
    ("trl-messages", {"messages": [U]}, "missing_assistant"),
    ("trl-messages", {"messages": [U, {"role": "narrator", "content": "x"}, A]}, "invalid_role"),
    ("trl-prompt-completion", {"prompt": "x"}, "missing_completion"),
    ("trl-prompt-completion", {"prompt": [U], "completion": "y"}, "mixed_standard_conversational"),
    ("trl-prompt-completion", {"prompt": "x", "completion": " "}, "empty_completion"),
    ("trl-prompt-completion", {"prompt": "x", "completion": 5}, "invalid_field_type"),
    ("trl-preference", {"prompt": "x", "chosen": "y"}, "missing_rejected"),
    ("trl-preference", {"prompt": "x", "chosen": [A], "rejected": "n"}, "mixed_standard_conversational"),
    ("trl-preference", {"prompt": [U], "chosen": [U], "rejected": [U]}, "missing_assistant"),
    # HH-RLHF
    ("hh-rlhf", {"chosen": "plain text", "rejected": "other"}, "hh_not_transcript"),
    (
        "hh-rlhf",
        {"chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c", "rejected": "\n\nHuman: a"},
        "hh_last_not_assistant",
    ),
    ("hh-rlhf", {"chosen": 3, "rejected": "\n\nHuman: a\n\nAssistant: b"}, "invalid_field_type"),
]


@pytest.mark.parametrize(("format", "row", "code"), INVALID)
def test_invalid_rows_are_quarantined_with_their_code(format, row, code):
    result = load_rows([row], format=format)
    assert code in row_codes(result), result.problems
    assert result.invalid == 1 and result.valid == 0
    problem = next(p for p in result.problems if p.code == code)
    assert problem.severity == "error" and problem.message
    assert result.quarantine.loc[0, "line"] == 1
    assert code in result.quarantine.loc[0, "codes"]


WARNINGS = [
    ("openai-sft", {"messages": [U, A], "category": "billing"}, "unknown_top_level_key"),
    ("openai-sft", {"messages": [U, A, U]}, "last_message_not_assistant"),
    ("openai-sft", {"messages": [S, A]}, "missing_user_message"),
    ("openai-sft", {"messages": [U, {**A, "content": ""}]}, "empty_content"),
    ("openai-sft", {"messages": [{**U, "foo": 1}, A]}, "unknown_message_key"),
    (
        "openai-sft",
        {"messages": [U, {"role": "function", "name": "f", "content": "x"}, A]},
        "deprecated_function_role",
    ),
    ("openai-sft", {"messages": [U, A], "functions": [{"name": "f"}]}, "deprecated_functions"),
    (
        "openai-sft",
        {
            "messages": [
                U,
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "zzz", "content": "x"},
                A,
            ]
        },
        "unknown_tool_call_id",
    ),
    ("openai-dpo", dpo(category="x"), "unknown_top_level_key"),
    ("openai-rft", {"messages": [U]}, "rft_no_reference_fields"),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "gpt", "value": "hey"},
                {"from": "human", "value": "x"},
                {"from": "gpt", "value": "y"},
            ]
        },
        "first_turn_not_human",
    ),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "human", "value": "x"},
                {"from": "human", "value": "x"},
                {"from": "gpt", "value": "y"},
            ]
        },
        "not_alternating",
    ),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "human", "value": "x"},
                {"from": "function_call", "value": "nope"},
                {"from": "gpt", "value": "y"},
            ]
        },
        "invalid_function_call",
    ),
    ("trl-preference", {"prompt": "x", "chosen": "y", "rejected": "y"}, "chosen_equals_rejected"),
    (
        "hh-rlhf",
        {"chosen": "intro\n\nHuman: a\n\nAssistant: b", "rejected": "intro\n\nHuman: a\n\nAssistant: c"},
        "hh_text_before_first_turn",
    ),
]


@pytest.mark.parametrize(("format", "row", "code"), WARNINGS)
def test_warnings_keep_the_row(format, row, code):
    result = load_rows([row] * 10, format=format)
    # Repeated metadata-key warnings are collapsed into one file-level warning per key.
    assert code in (row_codes(result) | {p.code for p in result.problems if p.line is None})
    assert result.valid == 10
    assert all(p.severity == "warning" for p in result.problems if p.code == code)


def test_fix_is_given_where_obvious():
    result = load_rows([{"messages": [{"role": "developer", "content": "x"}, U, A]}], format="openai-sft")
    assert "system" in next(p.fix for p in result.problems if p.code == "developer_role_not_allowed")
    row = {
        "messages": [
            U,
            {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {"a": 1}}}]},
            A,
        ]
    }
    fix = next(
        p.fix for p in load_rows([row], format="openai-sft").problems if p.code == "arguments_not_string"
    )
    assert "json.dumps" in fix and '{"a": 1}' in fix
    fix = next(
        p.fix
        for p in load_rows([{"prompt": "p", "chosen": "c", "rejected": "r"}], format="openai-dpo").problems
    )
    assert "preferred_output" in fix and "convert" in fix


@pytest.mark.parametrize(
    ("format", "severity"),
    [("openai-sft", "warning"), ("openai-dpo", "warning"), ("openai-rft", "warning"), ("alpaca", "warning")],
)
def test_too_few_examples_is_a_file_level_problem(format, severity):
    rows = {
        "openai-sft": {"messages": [U, A]},
        "openai-dpo": dpo(),
        "openai-rft": {"messages": [U], "ref": "x"},
        "alpaca": {"instruction": "a", "output": "b"},
    }
    result = load_rows([rows[format]] * 9, format=format)
    problem = next(p for p in result.problems if p.code == "too_few_examples")
    assert problem.line is None and problem.severity == severity
    assert not any(
        p.code == "too_few_examples" for p in load_rows([rows[format]] * 10, format=format).problems
    )


def test_mixed_formats_flag_each_odd_row_and_keep_the_rest():
    rows = [{"messages": [U, A]}] * 8 + [{"instruction": "a", "output": "b"}, {"conversations": []}]
    result = load_rows(rows)
    assert result.detection.format == "openai-sft"
    mixed = [p for p in result.problems if p.code == "mixed_formats"]
    assert [p.line for p in mixed] == [9, 10]
    assert result.valid == 8 and result.invalid == 2


def test_dpo_shape_hint_in_the_file_name():
    result = load_rows([{"prompt": "p", "chosen": "c", "rejected": "r"}] * 10, filename="my_dpo.jsonl")
    assert result.detection.format == "trl-preference"
    assert any(p.code == "dpo_wrong_shape" and p.severity == "warning" for p in result.problems)


DETECT = [
    ([{"messages": [U, A]}], "openai-sft", "sft"),
    ([{"messages": [U], "answer": "x"}], "openai-rft", "rft"),
    ([dpo()], "openai-dpo", "preference"),
    ([{"instruction": "a", "input": "", "output": "b"}], "alpaca", "sft"),
    ([{"conversations": [{"from": "human", "value": "a"}]}], "sharegpt", "sft"),
    ([{"prompt": "a", "completion": "b"}], "trl-prompt-completion", "sft"),
    ([{"prompt": "a", "chosen": "b", "rejected": "c"}], "trl-preference", "preference"),
    ([{"chosen": [U, A], "rejected": [U, A]}], "trl-preference", "preference"),
    (
        [{"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c"}],
        "hh-rlhf",
        "preference",
    ),
    ([{"question": "a", "answer": "b", "category": "x"}], "csv", "sft"),
]


@pytest.mark.parametrize(("rows", "format", "kind"), DETECT)
def test_detect_format(rows, format, kind):
    detection = formats.detect_format(rows * 3)
    assert (detection.format, detection.kind) == (format, kind)
    assert 0 < detection.confidence <= 1 and detection.reason


def test_detect_majority_and_confidence():
    detection = formats.detect_format([{"messages": [U, A]}] * 9 + [{"instruction": "a", "output": "b"}])
    assert detection.format == "openai-sft"
    assert detection.confidence < formats.detect_format([{"messages": [U, A]}] * 10).confidence


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([{"foo": 1, "bar": [1]}], r"the keys \['foo', 'bar'\] match no supported format"),
        ([], "no row is a JSON object"),
        ([[1, 2]], "no row is a JSON object"),
    ],
)
def test_detect_unknown_raises(rows, match):
    with pytest.raises(FormatError, match=match):
        formats.detect_format(rows)


def test_unknown_format_file_raises_format_error():
    with pytest.raises(FormatError, match="match no supported format"):
        load_rows([{"foo": {"a": 1}}])
    with pytest.raises(FormatError, match="unknown format"):
        load_rows([{"messages": [U, A]}], format="nope")


COLUMNS = [
    (["prompt", "response"], ColumnMap(prompt="prompt", response="response")),
    (
        ["Question", "Answer", "Category", "created_at"],
        ColumnMap(prompt="Question", response="Answer", category="Category", created_at="created_at"),
    ),
    (
        ["instruction", "output", "system"],
        ColumnMap(prompt="instruction", response="output", system="system"),
    ),
    (["prompt", "chosen", "rejected"], ColumnMap(prompt="prompt", chosen="chosen", rejected="rejected")),
    (["query"], ColumnMap(prompt="query")),
    (["foo", "bar"], None),
]


@pytest.mark.parametrize(("columns", "expected"), COLUMNS)
def test_suggest_column_map(columns, expected):
    assert formats.suggest_column_map(columns) == expected


def test_column_map_validation():
    with pytest.raises(ValueError, match="ColumnMap.prompt must name a column"):
        ColumnMap(prompt="")
    with pytest.raises(ValueError, match="ColumnMap needs both chosen and rejected, got 'c' / None"):
        ColumnMap(prompt="p", chosen="c")
    assert ColumnMap(prompt="p", chosen="c", rejected="r").kind == "preference"
    assert ColumnMap(prompt="p").kind == "rft"


def test_csv_with_column_map_and_metadata():
    data = b"q,a,topic,level\nHow?,Like this,billing,easy\n"
    result = formats.load_dataset(
        data, "t.csv", column_map=ColumnMap(prompt="q", response="a", category="topic", difficulty="level")
    )
    record = result.records.iloc[0]
    assert record["category"] == "billing" and record["difficulty"] == "easy"
    assert [m["role"] for m in record["messages"]] == ["user", "assistant"]
    assert result.detection.format == "csv"


def test_csv_without_a_prompt_column_asks_for_a_map():
    with pytest.raises(FormatError, match="which column is the prompt"):
        formats.load_dataset(b"foo,bar\n1,2\n", "t.csv")


def test_metadata_becomes_columns_not_errors():
    rows = [
        {
            "instruction": "a",
            "output": "b",
            "category": "billing",
            "difficulty": "hard",
            "annotator_1": "pos",
            "created_at": "2026-01-01",
        }
    ] * 10
    result = load_rows(rows)
    assert not result.problems
    record = result.records.iloc[0]
    assert record["category"] == "billing" and record["annotator_1"] == "pos"
    assert record["extra"]["difficulty"] == "hard"


def test_canonical_records():
    result = load_rows([dpo(messages=(S, U))] * 10)
    record = result.records.iloc[0]
    assert record["kind"] == "preference" and record["messages"] == [S, U]
    assert record["chosen"] == [A] and record["source_format"] == "openai-dpo"
    assert record["raw"] == dpo(messages=(S, U)) and record["source_line"] == 1
    hh = {
        "chosen": "\n\nHuman: hi\n\nAssistant: yo\n\nHuman: joke?\n\nAssistant: knock",
        "rejected": "\n\nHuman: hi\n\nAssistant: yo\n\nHuman: joke?\n\nAssistant: no",
    }
    record = load_rows([hh] * 10).records.iloc[0]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "user"]
    assert record["chosen"] == [{"role": "assistant", "content": "knock"}]
    pref = load_rows(
        [{"chosen": [U, A], "rejected": [U, {"role": "assistant", "content": "x"}]}] * 10
    ).records
    assert pref.iloc[0]["messages"] == [U] and pref.iloc[0]["chosen"] == [A]


def test_trl_arguments_become_json_strings_in_the_canonical_table():
    row = {
        "messages": [
            U,
            {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
            },
            {"role": "tool", "content": "1"},
            A,
        ]
    }
    record = load_rows([row] * 10, format="trl-messages").records.iloc[0]
    call = record["messages"][1]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"a": 1}
    assert record["messages"][2]["tool_call_id"] == call["id"]


def test_quarantine_and_problems_frame_shapes():
    result = load_rows([{"messages": [U, A]}] * 10 + ["{broken", {"messages": [U]}])
    assert list(result.quarantine.columns) == ["line", "raw", "codes", "reason"]
    assert list(result.quarantine["line"]) == [11, 12]
    assert result.quarantine.loc[0, "raw"] == "{broken"
    frame = result.problems_frame()
    assert list(frame.columns) == ["line", "field", "code", "severity", "message", "fix"]
    assert set(frame["code"]) >= {"invalid_json", "missing_assistant"}
    assert (result.valid, result.invalid) == (10, 2)


def test_quarantine_raw_is_truncated():
    huge = json.dumps({"messages": [{"role": "bot", "content": "x" * 50_000}]})
    result = load_rows([{"messages": [U, A]}] * 10 + [huge])
    assert len(result.quarantine.loc[0, "raw"]) < 11_000


def test_token_check_with_a_model():
    long_text = "word " * 70_000
    rows = [{"messages": [U, A]}] * 10 + [{"messages": [U, {"role": "assistant", "content": long_text}]}]
    result = load_rows(rows, model="gpt-4.1-mini")
    assert "n_tokens" in result.records.columns
    over = [p for p in result.problems if p.code == "too_many_tokens"]
    assert [p.line for p in over] == [11] and over[0].severity == "warning"
    assert result.token_stats["max"] > 65_536


def test_problem_and_detection_validate_their_fields():
    with pytest.raises(ValueError, match="severity must be one of .* got 'fatal'"):
        Problem(1, "", "x", "m", "fatal")
    with pytest.raises(ValueError, match=r"confidence must be within \[0, 1\], got 1.5"):
        formats.Detection("openai-sft", "sft", 1.5, "r")


def test_formats_for_kind():
    assert formats.formats_for_kind("sft") == [
        "openai-sft",
        "alpaca",
        "sharegpt",
        "trl-messages",
        "trl-text",
        "trl-prompt-completion",
        "csv",
        "self-instruct",
    ]
    assert formats.formats_for_kind("preference") == [
        "openai-dpo",
        "trl-preference",
        "trl-kto",
        "hh-rlhf",
        "csv",
    ]
    assert formats.formats_for_kind("rft") == ["openai-rft", "trl-prompt-only", "csv"]
    with pytest.raises(ValueError, match="kind must be sft, preference or rft, got 'chat'"):
        formats.formats_for_kind("chat")
    assert set(formats.FORMAT_NAMES) == {
        n for k in ("sft", "preference", "rft") for n in formats.formats_for_kind(k)
    }


def test_ultrafeedback_style_string_prompt_with_conversational_pairs():
    row = {
        "prompt": "Sky?",
        "prompt_id": "p1",
        "chosen": [{"role": "user", "content": "Sky?"}, A],
        "rejected": [{"role": "user", "content": "Sky?"}, {"role": "assistant", "content": "x"}],
        "messages": [{"role": "user", "content": "Sky?"}, A],
        "score_chosen": 8.0,
    }
    result = load_rows([row] * 10)
    assert result.detection.format == "trl-preference" and result.valid == 10
    record = result.records.iloc[0]
    assert record["messages"] == [{"role": "user", "content": "Sky?"}] and record["chosen"] == [A]
    assert record["score_chosen"] == 8.0


def test_parquet_null_keys_are_not_errors():
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    rows = [
        {"messages": [U, {"role": "assistant", "content": "x", "tool_calls": None}]},
        {
            "messages": [
                U,
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c", "content": "1"},
                A,
            ]
        },
    ] * 5
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    result = formats.load_dataset(buffer.getvalue(), "x.parquet")
    assert result.valid == 10 and not result.problems
    assert result.records.iloc[0]["messages"] == [U, {"role": "assistant", "content": "x"}]


@pytest.mark.parametrize("speaker", ["gpt", "assistant", "chatgpt", "bing", "bard", "model"])
def test_sharegpt_assistant_speakers(speaker):
    row = {"conversations": [{"from": "user", "value": "hi"}, {"from": speaker, "value": "hello"}]}
    record = load_rows([row] * 10).records.iloc[0]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant"]


def test_hh_rlhf_multi_turn_transcript():
    head = "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant:"
    row = {"chosen": head + " 6.", "rejected": head + " 7."}
    result = load_rows([row] * 10)
    record = result.records.iloc[0]
    assert [m["content"] for m in record["messages"]] == ["What is 2+2?", "4.", "And 3+3?"]
    assert record["chosen"][0]["content"] == "6." and record["rejected"][0]["content"] == "7."
    data, losses = formats.write_dataset(result.records, "openai-dpo")
    assert not losses
    dpo_row = json.loads(data.splitlines()[0])
    assert dpo_row["input"]["messages"][-1] == {"role": "user", "content": "And 3+3?"}


def test_alpaca_extra_text_column_is_metadata():
    row = {"instruction": "Add", "input": "1 and 1", "output": "2", "text": "### Instruction: Add ..."}
    record = load_rows([row] * 10, filename="alpaca.json").records.iloc[0]
    assert record["messages"][0]["content"] == "Add\n\n1 and 1" and record["text"].startswith("###")


def test_every_reported_code_is_documented():
    import re

    from tests.conftest import ROOT

    source = "\n".join(
        p.read_text()
        for p in [*sorted((ROOT / "core/io").glob("*.py")), *sorted((ROOT / "core/formats").glob("*.py"))]
    )
    called = set(re.findall(r'\.(?:error|warn)\(\s*[^,()]+(?:\([^()]*\))?,\s*"([a-z_]+)"', source))
    called |= set(re.findall(r'(?:ReadIssue|Problem)\(\s*[^,]+,\s*(?:"",\s*)?"([a-z_]+)"', source))
    assert len(called) > 60
    assert called <= set(formats.PROBLEM_CODES), called - set(formats.PROBLEM_CODES)
    templated = {
        "missing_instruction",
        "missing_output",
        "missing_completion",
        "missing_prompt",
        "missing_chosen",
        "missing_rejected",
        "missing_response",
        "missing_preferred_output",
        "missing_non_preferred_output",
    }
    for code in set(formats.PROBLEM_CODES) - templated:
        assert f'"{code}"' in source, code
    codes_in_tests = {code for _, _, code in INVALID + WARNINGS}
    assert codes_in_tests <= set(formats.PROBLEM_CODES)


def test_records_of_rows_in_memory():
    result = formats.records_of([{"prompt": "a", "completion": "b"}] * 10, "trl-prompt-completion")
    assert result.valid == 10 and result.detection.format == "trl-prompt-completion"


def test_metadata_key_warnings_are_collapsed_per_key():
    rows = [
        {
            "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
            "category": "billing",
            "difficulty": "easy",
        }
        for i in range(12)
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode()
    result = formats.load_dataset(data, "meta.jsonl")
    metadata = [p for p in result.problems if p.code == "unknown_top_level_key"]
    assert sorted(p.field for p in metadata) == ["category", "difficulty"]
    assert all(p.line is None and "12 rows" in p.message for p in metadata)
    assert result.valid == 12 and set(result.records["category"]) == {"billing"}


def test_every_code_has_a_fix():
    assert set(formats.PROBLEM_FIXES) == set(formats.PROBLEM_CODES)
    assert all(fix.strip() for fix in formats.PROBLEM_FIXES.values())
    problem = formats.Problem(3, "messages", "missing_assistant", "no assistant", "error")
    assert problem.fix == formats.PROBLEM_FIXES["missing_assistant"]
