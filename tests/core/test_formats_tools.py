"""Tool use across formats (#16 items 11, 12, 15): arguments as TRL reads them, keys OpenAI rejects, ids."""

import json

import pytest

from core import formats
from tests.hf_tokenizer import write_tokenizer

CALL = {
    "id": "call_9",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "SF"}'},
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CONVERSATION = [
    {"role": "user", "content": "Weather in SF?"},
    {"role": "assistant", "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_9", "content": "18C"},
    {"role": "assistant", "content": "18C and sunny."},
]
ROW = {"messages": CONVERSATION, "tools": TOOLS, "parallel_tool_calls": False}
TRL_SFT = ["trl-messages", "trl-prompt-completion"]
# A chat template that writes tool calls the way Hugging Face templates do (Qwen, Llama 3.1, ...).
TOOL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message.get('content') %}{{ message['content'] }}{% endif %}"
    "{% for call in message.get('tool_calls') or [] %}"
    '<tool_call>{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}'
    "</tool_call>{% endfor %}<|im_end|>\n{% endfor %}"
)


def loaded(row, format=None):
    return formats.load_dataset(json.dumps(row).encode(), "rows.jsonl", format=format)


def written_calls(data):
    row = json.loads(data.splitlines()[0])
    messages = row.get("messages") or [*row["prompt"], *row["completion"]]
    return [call for m in messages for call in m.get("tool_calls") or []]


@pytest.mark.parametrize("target", TRL_SFT)
def test_trl_exports_give_tool_call_arguments_as_objects(target):
    data, losses = formats.write_dataset(loaded(ROW).records, target)
    assert [c["function"]["arguments"] for c in written_calls(data)] == [{"city": "SF"}]
    assert not losses


@pytest.mark.parametrize("target", TRL_SFT)
def test_trl_exports_keep_the_call_ids_and_parallel_tool_calls(target):
    data, _ = formats.write_dataset(loaded(ROW).records, target)
    row = json.loads(data)
    assert [c["id"] for c in written_calls(data)] == ["call_9"]
    assert row["parallel_tool_calls"] is False


@pytest.mark.parametrize("target", TRL_SFT)
def test_arguments_go_back_to_a_json_string_for_openai(target):
    data, _ = formats.write_dataset(loaded(ROW).records, target)
    back, losses = formats.write_dataset(loaded(json.loads(data)).records, "openai-sft")
    call = written_calls(back)[0]
    assert (call["id"], json.loads(call["function"]["arguments"])) == ("call_9", {"city": "SF"})
    assert json.loads(back)["parallel_tool_calls"] is False and not losses


def test_a_trl_messages_file_with_one_tool_call_among_plain_rows_reads_back_every_row():
    plain = {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]}
    data, _ = formats.write_dataset(loaded(ROW).records, "trl-messages")
    file = data + b"".join(json.dumps(plain).encode() + b"\n" for _ in range(3))
    back = formats.load_dataset(file, "train.jsonl")  # detected: one row's arguments are objects
    assert (back.detection.format, back.valid, back.invalid) == ("trl-messages", 4, 0)
    out, losses = formats.write_dataset(back.records, "openai-sft")
    assert json.loads(written_calls(out)[0]["function"]["arguments"]) == {"city": "SF"} and not losses


def test_arguments_that_are_no_json_object_stay_a_string_with_the_loss():
    odd = {**CALL, "function": {"name": "get_weather", "arguments": '"SF"'}}
    row = {"messages": [CONVERSATION[0], {"role": "assistant", "tool_calls": [odd]}, *CONVERSATION[2:]]}
    data, losses = formats.write_dataset(loaded(row).records, "trl-messages")
    assert written_calls(data)[0]["function"]["arguments"] == '"SF"'
    assert "not a JSON object kept as a string" in losses[0].message


def test_a_chat_template_renders_the_exported_arguments_as_an_object(tmp_path):
    transformers = pytest.importorskip("transformers")
    trl_data_utils = pytest.importorskip("trl.data_utils")
    datasets = pytest.importorskip("datasets")
    folder = write_tokenizer(tmp_path / "tokenizer", template=TOOL_TEMPLATE)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    data, _ = formats.write_dataset(loaded(ROW).records, "trl-messages")
    (tmp_path / "train.jsonl").write_bytes(data)
    row = datasets.load_dataset("json", data_files=str(tmp_path / "train.jsonl"))["train"][0]
    text = trl_data_utils.maybe_apply_chat_template(row, tokenizer)["text"]
    assert '"arguments": {"city": "SF"}' in text


@pytest.mark.parametrize("target", ["openai-sft", "openai-rft"])
def test_unknown_message_keys_are_left_out_of_openai_output_and_reported(target):
    row = {
        "messages": [{"role": "user", "content": "hi", "foo": 1}, {"role": "assistant", "content": "Hello."}]
    }
    source = loaded(row).records
    if target == "openai-rft":
        source = source.assign(kind="rft", messages=[[m for m in source["messages"][0][:1]]])
    data, losses = formats.write_dataset(source, target)
    assert "foo" not in json.loads(data)["messages"][0]
    assert [p.message for p in losses] == ["message keys left out (OpenAI rejects unknown keys): foo"]


def test_unknown_message_keys_in_dpo_are_left_out_and_reported():
    row = {
        "input": {"messages": [{"role": "user", "content": "hi", "foo": 1}]},
        "preferred_output": [{"role": "assistant", "content": "Hello.", "score": 9}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
    }
    data, losses = formats.write_dataset(loaded(row).records, "openai-dpo")
    out = json.loads(data)
    assert "foo" not in out["input"]["messages"][0] and "score" not in out["preferred_output"][0]
    assert "foo" in losses[0].message and "score" in losses[0].message


def test_sharegpt_says_it_drops_parallel_tool_calls_and_call_ids():
    data, losses = formats.write_dataset(loaded(ROW).records, "sharegpt")
    assert len(losses) == 1
    assert "parallel_tool_calls dropped" in losses[0].message and "tool-call ids dropped" in losses[0].message


def test_sharegpt_keeps_ids_it_gives_back_without_a_word():
    call = {**CALL, "id": "call_1"}
    messages = [CONVERSATION[0], {"role": "assistant", "tool_calls": [call]}]
    row = {"messages": [*messages, {**CONVERSATION[2], "tool_call_id": "call_1"}, CONVERSATION[3]]}
    data, losses = formats.write_dataset(loaded(row).records, "sharegpt")
    back = formats.load_dataset(data, "back.jsonl", format="sharegpt").records
    assert not losses
    assert back["messages"][0][1]["tool_calls"][0]["id"] == "call_1"
    assert back["messages"][0][2]["tool_call_id"] == "call_1"


def tool_rows(arguments):
    """One SFT row per arguments object: the same tool called with arguments of different shapes."""
    rows = []
    for args in arguments:
        call = {**CALL, "function": {"name": "get_weather", "arguments": json.dumps(args)}}
        messages = [CONVERSATION[0], {"role": "assistant", "tool_calls": [call]}, *CONVERSATION[2:]]
        rows.append({"messages": messages, "tools": TOOLS})
    return formats.load_dataset(b"\n".join(json.dumps(r).encode() for r in rows), "t.jsonl").records


MIXED = [{"city": "SF"}, {"city": 94103}, {"zip": "94103", "days": 3}]  # a key's type and the keys differ


def test_a_bundle_of_tool_calls_whose_arguments_differ_in_shape_is_built_and_loads(tmp_path):
    import io
    import zipfile

    from core import export

    datasets = pytest.importorskip("datasets")
    frame = tool_rows(MIXED)
    request = export.BundleRequest(formats=("trl-messages", "parquet"), seed=0)
    bundle = export.build_bundle({"train": frame, "val": frame.iloc[:1], "test": frame.iloc[:1]}, request)
    zipfile.ZipFile(io.BytesIO(bundle.data)).extractall(tmp_path)
    assert any("tool-call arguments differ in type" in p for p in bundle.problems)
    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "trl-messages" / "train.jsonl"))["train"]
    assert [row["messages"][1]["tool_calls"][0]["function"]["arguments"] for row in loaded] == MIXED
    assert any("written as JSON strings" in p for p in bundle.problems)
    parquet = datasets.load_dataset("parquet", data_files=str(tmp_path / "parquet" / "train.parquet"))[
        "train"
    ]
    written = [row["messages"][1]["tool_calls"][0]["function"]["arguments"] for row in parquet]
    assert [json.loads(a) for a in written] == MIXED
