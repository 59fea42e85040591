"""The export bundle as a trainer reads it: a Hugging Face dataset card whose configs ``datasets`` loads."""

import io
import json
import re
import zipfile

import pytest

from core import export, formats, hf_tokens, records, split
from tests.conftest import SAMPLE_DATA
from tests.core.test_export import preference_frame, rft_frame, sft_frame
from tests.hf_tokenizer import write_tokenizer

datasets = pytest.importorskip("datasets")

# Every format of each kind: JSON Lines, JSON arrays, CSV and Parquet in one bundle.
KIND_FORMATS = {
    "sft": (
        "trl-messages",
        "openai-sft",
        "trl-text",
        "trl-prompt-completion",
        "alpaca",
        "sharegpt",
        "csv",
        "parquet",
    ),
    "preference": ("trl-preference", "openai-dpo", "trl-kto", "hh-rlhf", "csv", "parquet"),
    "rft": ("trl-prompt-only", "openai-rft", "parquet"),
}
FRAMES = {
    "sft": lambda: sft_frame(60),
    "preference": lambda: preference_frame(40),
    "rft": lambda: rft_frame(40),
}


def unzipped_bundle(kind, tmp_path, fmts=None):
    frame = FRAMES[kind]()
    result = split.split_frame(frame, seed=5)
    parts = {k: v for k, v in result.split(frame).items() if k in split.SPLITS}
    request = export.BundleRequest(
        formats=fmts or KIND_FORMATS[kind], seed=5, fractions=result.config.fractions()
    )
    bundle = export.build_bundle(parts, request)
    folder = tmp_path / f"bundle-{kind}"
    zipfile.ZipFile(io.BytesIO(bundle.data)).extractall(folder)
    return folder, bundle, parts


def front_matter(card: str) -> str:
    match = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert match, card[:200]
    return match.group(1)


@pytest.mark.parametrize("kind", list(KIND_FORMATS))
def test_every_config_of_the_card_loads_with_datasets_with_the_right_row_counts(kind, tmp_path):
    folder, bundle, parts = unzipped_bundle(kind, tmp_path)
    card = (folder / export.CARD_NAME).read_text()
    assert "DATA_CARD" not in card and card.startswith("---\n") and "# Data card" in card
    yaml = front_matter(card)
    configs = re.findall(r"^- config_name: (\S+)$", yaml, re.M)
    json_formats = [f for f in KIND_FORMATS[kind] if export.hf_builder(f) == "json"]
    assert configs == json_formats
    assert "  default: true" in yaml.split("- config_name:")[1]
    files = bundle.manifest["files"]
    for config in configs:
        loaded = datasets.load_dataset(str(folder), name=config)
        assert set(loaded) == {"train", "validation", "test"}
        for split_name, hf_split in export.HF_SPLITS.items():
            entry = files[f"{config}/{split_name}.{export.file_extension(config)}"]
            assert loaded[hf_split].num_rows == entry["rows"] > 0, (config, split_name)
            expected = len(parts[split_name]) * (2 if config == "trl-kto" else 1)  # KTO: a row per side
            assert entry["rows"] == expected, (config, split_name)
    # formats another builder reads are named with the call that loads them, and it works
    for fmt in KIND_FORMATS[kind]:
        if fmt in configs:
            continue
        builder = export.hf_builder(fmt)
        assert f'- {fmt}: `load_dataset("{builder}", data_files=' in card
        paths = {
            hf: str(folder / f"{fmt}/{s}.{export.file_extension(fmt)}") for s, hf in export.HF_SPLITS.items()
        }
        loaded = datasets.load_dataset(builder, data_files=paths)
        assert {k: v.num_rows for k, v in loaded.items()} == {
            hf: len(parts[s]) for s, hf in export.HF_SPLITS.items()
        }


def test_the_card_builder_is_the_one_most_formats_need(tmp_path):
    assert export.card_builder(["parquet", "trl-messages", "openai-sft"]) == "json"
    assert export.card_builder(["parquet"]) == "parquet"
    folder, _, parts = unzipped_bundle("sft", tmp_path, fmts=("parquet",))
    yaml = front_matter((folder / export.CARD_NAME).read_text())
    assert re.findall(r"^- config_name: (\S+)$", yaml, re.M) == ["parquet"]
    loaded = datasets.load_dataset(str(folder), name="parquet")
    assert loaded["validation"].num_rows == len(parts["val"])


def test_an_empty_split_is_left_out_of_the_card(tmp_path):
    frame = sft_frame(30)
    parts = {"train": frame.iloc[:25], "val": frame.iloc[0:0], "test": frame.iloc[25:]}
    bundle = export.build_bundle(parts, export.BundleRequest(formats=("trl-messages",), seed=1))
    folder = tmp_path / "b"
    zipfile.ZipFile(io.BytesIO(bundle.data)).extractall(folder)
    yaml = front_matter((folder / export.CARD_NAME).read_text())
    assert "validation" not in yaml
    loaded = datasets.load_dataset(str(folder), name="trl-messages")
    assert {k: v.num_rows for k, v in loaded.items()} == {"train": 25, "test": 5}
    assert (
        json.loads(zipfile.ZipFile(io.BytesIO(bundle.data)).read("manifest.json"))["files"][
            "trl-messages/val.jsonl"
        ]["rows"]
        == 0
    )


# --------------------------------------------------------------- TRL reads every row the same way

trl_data_utils = pytest.importorskip("trl.data_utils")
transformers = pytest.importorskip("transformers")

# The formats TRL's trainers take as they are, with the keys maybe_apply_chat_template returns.
TRL_OUTPUT_KEYS = {
    "trl-messages": {"text"},
    "openai-sft": {"text"},  # {"messages"}: TRL's conversational language modeling
    "trl-text": {"text"},
    "trl-prompt-completion": {"prompt", "completion"},
    "trl-preference": {"prompt", "chosen", "rejected"},
    "trl-kto": {"prompt", "completion", "label"},
    "trl-prompt-only": {"prompt"},
}
TRL_CASES = [
    (kind, fmt, style)
    for kind, fmts in KIND_FORMATS.items()
    for fmt in fmts
    if fmt in TRL_OUTPUT_KEYS
    for style in (("conversational", "standard") if fmt in formats._STYLED_FORMATS else ("conversational",))
]


@pytest.fixture(scope="module")
def chat_tokenizer(tmp_path_factory):
    folder = write_tokenizer(tmp_path_factory.mktemp("tokenizer"))
    return folder, transformers.AutoTokenizer.from_pretrained(str(folder))


def read_back(data, fmt, tmp_path):
    path = tmp_path / f"rows.{export.file_extension(fmt)}"
    path.write_bytes(data)
    builder = export.hf_builder(fmt)
    return datasets.load_dataset(builder, data_files={"train": str(path)})["train"]


def expected_texts(record, tokenizer, kind, fmt):
    """What a trainer should see of one canonical record, rendered with the same chat template."""
    messages = list(record["messages"])
    local = hf_tokens.load_tokenizer(tokenizer)
    if kind == "preference":
        sides = [s for s in (record["chosen"], record["rejected"]) if s is not None]
        return [local.render(messages + list(side)) for side in sides]
    if kind == "rft":
        return [local.render(messages, add_generation_prompt=True)]
    return [local.render(messages)]


@pytest.mark.parametrize(("kind", "fmt", "style"), TRL_CASES)
def test_trl_reads_every_exported_row_the_same_way_as_intended(kind, fmt, style, chat_tokenizer, tmp_path):
    folder, tokenizer = chat_tokenizer
    frame = FRAMES[kind]()
    if style == "standard":  # strings cannot hold a system prompt: standard rows are plain exchanges
        frame = frame.assign(messages=[[m for m in ms if m["role"] != "system"] for ms in frame["messages"]])
        frame = records.refresh_derived(frame)
    data, losses = formats.write_dataset(frame, fmt, trl_style=style)
    assert not [p for p in losses if p.severity == "error"], losses[:3]
    rows = read_back(data, fmt, tmp_path)
    assert rows.num_rows == len(frame) * (2 if fmt == "trl-kto" else 1)
    conversational = [trl_data_utils.is_conversational(row) for row in rows]
    assert set(conversational) == {style == "conversational" and fmt != "trl-text"}, fmt
    applied = [trl_data_utils.maybe_apply_chat_template(row, tokenizer) for row in rows]
    assert all(
        set(a) & {"text", "prompt", "completion", "chosen", "rejected", "label"} == TRL_OUTPUT_KEYS[fmt]
        for a in applied
    )
    if fmt == "trl-text":
        assert [a["text"] for a in applied] == [json.loads(line)["text"] for line in data.splitlines()]
        return
    if style == "standard":
        # TRL leaves standard rows as they are: the strings are the record's user turn and reply
        first = applied[0]
        assert first.get("prompt", "") in frame.iloc[0]["prompt_text"]
        return
    # the prompt plus each side, as TRL cuts them, is exactly the record's conversation rendered
    seen = []
    for a in applied:
        if "text" in a:
            seen.append(a["text"])
        elif "completion" in a:
            seen.append(a["prompt"] + a["completion"])
        elif "chosen" in a:
            seen += [a["prompt"] + a["chosen"], a["prompt"] + a["rejected"]]
        else:
            seen.append(a["prompt"])
    expected = [t for _, r in frame.iterrows() for t in expected_texts(r, folder, kind, fmt)]
    assert seen == expected
    if fmt == "trl-kto":
        assert [a["label"] for a in applied] == [True, False] * len(frame)


@pytest.mark.parametrize(
    "name", ["hh_rlhf_valid.jsonl", "trl_preference_valid.jsonl", "openai_dpo_valid.jsonl"]
)
@pytest.mark.parametrize("target", ["trl-preference", "trl-kto"])
def test_real_shaped_preference_files_become_one_style_trl_reads_in_every_row(
    name, target, chat_tokenizer, tmp_path
):
    _, tokenizer = chat_tokenizer
    loaded = formats.load_dataset(SAMPLE_DATA / "formats" / name)
    data, _ = formats.write_dataset(loaded.records, target)
    rows = read_back(data, target, tmp_path)
    assert {trl_data_utils.is_conversational(row) for row in rows} == {True}
    for row in rows:
        applied = trl_data_utils.maybe_apply_chat_template(row, tokenizer)
        assert applied["prompt"].endswith("<|im_start|>assistant\n")


def test_a_metadata_label_is_renamed_so_trl_does_not_read_prompt_completion_as_kto(chat_tokenizer, tmp_path):
    _, tokenizer = chat_tokenizer
    rows = [{"prompt": "Hi?", "completion": "Hello.", "label": "greeting"}] * 10
    loaded = formats.load_dataset("".join(json.dumps(r) + "\n" for r in rows).encode(), "pc.jsonl")
    assert loaded.detection.format == "trl-prompt-completion"
    data, losses = formats.write_dataset(loaded.records, "trl-prompt-completion")
    assert "`label` written as `meta_label`" in losses[0].message
    row = read_back(data, "trl-prompt-completion", tmp_path)[0]
    assert row["meta_label"] == "greeting" and "label" not in row
    keys = set(trl_data_utils.maybe_apply_chat_template(row, tokenizer))
    assert keys & set(TRL_OUTPUT_KEYS["trl-kto"]) == {"prompt", "completion"}


def test_the_local_renderer_matches_transformers_apply_chat_template(chat_tokenizer):
    folder, tokenizer = chat_tokenizer
    local = hf_tokens.load_tokenizer(folder)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi? the answer"},
        {"role": "assistant", "content": "Hello. the answer is"},
    ]
    for cut, generation in ((3, False), (2, True)):
        theirs = tokenizer.apply_chat_template(
            messages[:cut], tokenize=False, add_generation_prompt=generation
        )
        assert local.render(messages[:cut], add_generation_prompt=generation) == theirs
        ids = tokenizer.apply_chat_template(messages[:cut], tokenize=True, add_generation_prompt=generation)
        assert local.count(theirs) == len(ids["input_ids"])


def test_unpaired_kto_examples_export_as_kto_rows_in_parquet(tmp_path):
    rows = [{"prompt": f"Q{i}", "completion": f"A{i}", "label": i % 2 == 0} for i in range(12)]
    kto = formats.load_dataset("".join(json.dumps(r) + "\n" for r in rows).encode(), "kto.jsonl").records
    data, problems = export.write_split(kto, "parquet")
    assert not [p for p in problems if p.startswith("error")]
    path = tmp_path / "kto.parquet"
    path.write_bytes(data)
    loaded = datasets.load_dataset("parquet", data_files={"train": str(path)})["train"]
    assert loaded.num_rows == 12 and loaded[1]["label"] is False
    assert loaded[1]["completion"] == "A1"  # the source style (standard), one style per file
