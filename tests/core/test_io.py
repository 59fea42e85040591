"""core.io and the bad-input paths of load_dataset: encodings, containers, broken and odd files."""

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import formats
from core import io as core_io
from core.errors import FormatError
from tests.conftest import SAMPLE_DATA

FORMAT_DIR = SAMPLE_DATA / "formats"
ROW = {
    "messages": [
        {"role": "user", "content": "Où est ma commande ?"},
        {"role": "assistant", "content": "En route."},
    ]
}
LINE = json.dumps(ROW, ensure_ascii=False)


def rows_of(data, filename="x.jsonl"):
    source = core_io.open_rows(data, filename)
    rows = list(source.rows)
    return source, rows


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ((LINE + "\n") * 3, [1, 2, 3]),
        ("\ufeff" + (LINE + "\n") * 2, [1, 2]),
        ((LINE + "\r\n") * 2, [1, 2]),
        (LINE + "\n\n   \n" + LINE, [1, 4]),
        (LINE, [1]),
    ],
    ids=["plain", "bom", "crlf", "blank-lines", "no-final-newline"],
)
def test_jsonl_line_numbers(data, lines):
    source, rows = rows_of(data.encode("utf-8"))
    assert [r.line for r in rows] == lines
    assert all(r.value == ROW for r in rows)
    assert not source.issues and source.container == "jsonl"


def test_broken_line_in_the_middle_keeps_the_rest():
    data = "\n".join([LINE, LINE, '{"messages": [', LINE, "not json", LINE]).encode()
    source, rows = rows_of(data)
    assert [r.line for r in rows] == [1, 2, 4, 6]
    assert [(i.line, i.code) for i in source.issues] == [(3, "invalid_json"), (5, "invalid_json")]
    assert source.issues[0].raw == '{"messages": ['


def test_truncated_last_line():
    source, rows = rows_of((LINE + "\n" + LINE[:20]).encode())
    assert len(rows) == 1
    assert source.issues[0].code == "truncated_line" and source.issues[0].line == 2


def test_gzip_by_extension_and_by_magic_bytes():
    packed = gzip.compress(((LINE + "\n") * 3).encode())
    for name in ("x.jsonl.gz", "upload.bin"):
        source, rows = rows_of(packed, name)
        assert source.compressed and len(rows) == 3


def test_truncated_gzip_keeps_what_was_read():
    packed = gzip.compress(((LINE + "\n") * 2000).encode())
    source, rows = rows_of(packed[: len(packed) // 2], "x.jsonl.gz")
    assert rows and any(i.code == "truncated_file" for i in source.issues)


def test_latin1_lines_fall_back_with_a_warning():
    data = (LINE + "\n").encode("utf-8") + (LINE + "\n").encode("latin-1")
    source, rows = rows_of(data)
    assert [r.value for r in rows] == [ROW, ROW]
    assert [(i.code, i.severity, i.line) for i in source.issues] == [("encoding_fallback", "warning", 2)]


def test_utf16_file():
    source, rows = rows_of(
        ("\ufeff" + LINE + "\n" + LINE).encode("utf-16-le").replace(b"", b"", 0), "x.jsonl"
    )
    assert [r.value for r in rows] == [ROW, ROW]


def test_json_array_rows_are_numbered_by_element():
    data = json.dumps([ROW, ROW, ROW], indent=2).encode()
    source, rows = rows_of(data, "x.jsonl")
    assert source.container == "json" and [r.line for r in rows] == [1, 2, 3]


def test_json_document_with_a_data_list():
    source, rows = rows_of(json.dumps({"version": 1, "data": [ROW, ROW]}).encode(), "x.json")
    assert len(rows) == 2


def test_damaged_json_array_is_salvaged_and_reported():
    good = json.dumps(ROW)
    text = "[\n  " + good + ',\n  {"messages": [oops]},\n  ' + good + "\n]"
    source, rows = rows_of(text.encode(), "x.json")
    assert [r.line for r in rows] == [1, 3]
    assert source.issues[0].line == 2 and source.issues[0].code == "invalid_json"
    source, rows = rows_of(("[\n  " + good + ",\n  " + good[:15]).encode(), "x.json")
    assert len(rows) == 1 and source.issues[0].code == "truncated_file"


def test_csv_rows_quoted_newlines_and_wrong_field_count():
    data = b'prompt,response\n"two\nlines",ok\na,b,c\nx,y\n'
    source, rows = rows_of(data, "t.csv")
    assert source.columns == ["prompt", "response"]
    assert [r.value for r in rows] == [
        {"prompt": "two\nlines", "response": "ok"},
        {"prompt": "x", "response": "y"},
    ]
    assert [(i.line, i.code) for i in source.issues] == [(2, "csv_wrong_field_count")]


def test_csv_delimiters_and_duplicate_headers():
    _, rows = rows_of(b"prompt;response\nhi;there\n", "t.csv")
    assert rows[0].value == {"prompt": "hi", "response": "there"}
    _, rows = rows_of(b"prompt\tresponse\nhi\tthere\n", "t.tsv")
    assert rows[0].value == {"prompt": "hi", "response": "there"}
    source, _ = rows_of(b"a,a,\n1,2,3\n", "t.csv")
    assert source.columns == ["a", "a_2", "column_3"]


def test_parquet_rows_and_nested_values():
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([ROW, ROW]), buffer)
    source, rows = rows_of(buffer.getvalue(), "x.parquet")
    assert source.container == "parquet" and [r.value for r in rows] == [ROW, ROW]
    source, rows = rows_of(gzip.compress(buffer.getvalue()), "x.parquet.gz")
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (bytes(range(256)), "binary"),
        (b"\x00\x01PK\x03\x04", "binary"),
        (b"PK\x03\x04" + b"x" * 100, "ZIP"),
        (bytes(range(1, 32)) * 50, "binary"),
    ],
)
def test_unreadable_files_raise_format_error_naming_the_file(data, match):
    with pytest.raises(FormatError, match=match) as info:
        formats.load_dataset(data, "upload.jsonl")
    assert "upload.jsonl" in str(info.value)


def test_missing_path_raises_format_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        formats.load_dataset(tmp_path / "nope.jsonl")


def test_file_of_only_broken_lines_raises():
    with pytest.raises(FormatError, match="no row could be read"):
        formats.load_dataset(b"{oops\n{nope\n", "x.jsonl")


def test_ten_megabyte_single_line():
    big = {
        "messages": [{"role": "user", "content": "x" * 10_000_000}, {"role": "assistant", "content": "ok"}]
    }
    data = (json.dumps(big) + "\n" + LINE + "\n").encode()
    result = formats.load_dataset(data, "big.jsonl")
    assert result.valid == 2


def test_path_str_and_bytes_agree():
    path = FORMAT_DIR / "openai_sft_valid.jsonl"
    by_path = formats.load_dataset(path)
    by_str = formats.load_dataset(str(path))
    by_bytes = formats.load_dataset(path.read_bytes(), path.name)
    assert by_path.valid == by_str.valid == by_bytes.valid == 12
    assert list(by_path.records["id"]) == list(by_bytes.records["id"])


SAMPLES = [
    (
        "openai_sft_errors.jsonl",
        "openai-sft",
        {
            5: "developer_role_not_allowed",
            6: "weight_not_binary",
            7: "weight_on_non_assistant",
            8: "arguments_not_string",
            9: "invalid_tool_name",
            10: "missing_assistant",
            11: "invalid_json",
            12: "image_not_in_user",
            13: "invalid_content_type",
            16: "invalid_role",
            17: "not_an_object",
        },
    ),
    (
        "openai_dpo_errors.jsonl",
        "openai-dpo",
        {
            6: "dpo_outputs_identical",
            7: "output_not_single_assistant",
            8: "weight_not_allowed",
            9: "image_not_allowed",
            10: "input_not_ending_with_user",
            11: "missing_non_preferred_output",
            12: "stale_dpo_key",
        },
    ),
    ("openai_rft_errors.jsonl", "openai-rft", {9: "system_role_not_allowed", 10: "rft_last_not_user"}),
    (
        "alpaca_errors.json",
        "alpaca",
        {10: "missing_output", 11: "invalid_field_type", 12: "empty_instruction"},
    ),
    (
        "sharegpt_errors.jsonl",
        "sharegpt",
        {10: "unknown_from", 11: "missing_assistant", 12: "invalid_field_type"},
    ),
    (
        "trl_prompt_completion_errors.jsonl",
        "trl-prompt-completion",
        {10: "missing_completion", 11: "mixed_standard_conversational", 12: "empty_completion"},
    ),
    (
        "trl_preference_errors.jsonl",
        "trl-preference",
        {10: "missing_rejected", 11: "mixed_standard_conversational"},
    ),
    ("hh_rlhf_errors.jsonl", "hh-rlhf", {10: "hh_not_transcript", 11: "hh_last_not_assistant"}),
    ("csv_errors.csv", "csv", {10: "missing_response", 11: "csv_wrong_field_count"}),
    ("mixed_formats.jsonl", "openai-sft", {4: "mixed_formats", 7: "mixed_formats", 12: "mixed_formats"}),
    ("truncated.jsonl", "openai-sft", {12: "truncated_line"}),
]


@pytest.mark.parametrize(("filename", "format", "planted"), SAMPLES)
def test_planted_errors_in_the_samples(filename, format, planted):
    result = formats.load_dataset(FORMAT_DIR / filename)
    assert result.detection.format == format
    found = {}
    for problem in result.errors:
        found.setdefault(problem.line, set()).add(problem.code)
    assert all(code in found.get(line, ()) for line, code in planted.items()), found
    assert set(result.quarantine["line"]) == set(planted)


@pytest.mark.parametrize(
    ("filename", "code"),
    [
        ("latin1.jsonl", "encoding_fallback"),
        ("json_array_as_jsonl.jsonl", "json_array_not_jsonl"),
        ("dpo_wrong_shape.jsonl", "dpo_wrong_shape"),
    ],
)
def test_sample_warnings(filename, code):
    result = formats.load_dataset(FORMAT_DIR / filename)
    assert result.invalid == 0
    assert code in {p.code for p in result.warnings}


def test_latin1_text_is_kept():
    result = formats.load_dataset(FORMAT_DIR / "latin1.jsonl")
    assert result.records.iloc[0]["prompt_text"] == "¿Dónde está mi pedido?"


def test_bom_crlf_blank_lines_sample():
    result = formats.load_dataset(FORMAT_DIR / "bom_crlf_blank_lines.jsonl")
    assert result.valid == 12 and not result.problems
    assert list(result.records["source_line"])[-1] == 14


def test_parquet_and_gzip_samples():
    assert formats.load_dataset(FORMAT_DIR / "trl_preference.parquet").valid == 12
    assert formats.load_dataset(FORMAT_DIR / "openai_sft_valid.jsonl.gz").valid == 12


def test_dumps_helpers():
    assert core_io.dumps_jsonl([{"a": "é"}]) == '{"a":"é"}\n'.encode()
    assert core_io.dumps_csv([{"a": [1], "b": None}], ["a", "b"]) == b"a,b\n[1],\n"
    assert core_io.truncate_raw("x" * 20, limit=5).startswith("xxxxx…")


def test_wrapped_rows_and_single_objects():
    rows = [{"instruction": "a", "output": "b"}] * 10
    assert formats.load_dataset(json.dumps({"data": rows}).encode(), "x.json").valid == 10
    assert formats.load_dataset(json.dumps({"data": rows}, indent=2).encode(), "x.json").valid == 10
    single = formats.load_dataset(json.dumps(ROW, indent=2).encode(), "one.json")
    assert single.valid == 1 and single.records.iloc[0]["messages"] == ROW["messages"]


def test_windows_1252_fallback_keeps_curly_quotes():
    line = json.dumps({"instruction": "“Hi” café", "output": "ok"}, ensure_ascii=False)
    result = formats.load_dataset(((line + "\n") * 10).encode("cp1252"), "x.jsonl")
    assert result.records.iloc[0]["prompt_text"] == "“Hi” café"
    assert [p.code for p in result.problems] == ["encoding_fallback"]


@pytest.mark.parametrize("target", formats.FORMAT_NAMES)
def test_writing_an_empty_table(target):
    empty = formats.load_dataset(FORMAT_DIR / "alpaca_valid.json").records.iloc[0:0]
    data, losses = formats.write_dataset(empty, target)
    assert losses == [] and isinstance(data, bytes)
