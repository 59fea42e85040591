"""The command-line contract: ``python -m core validate`` / ``convert`` exit codes and JSON shape."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLE_DATA

FORMAT_DIR = SAMPLE_DATA / "formats"


def cli(*args):
    process = subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return process.returncode, process.stdout, process.stderr


@pytest.mark.parametrize(
    ("filename", "extra", "code"),
    [
        ("openai_sft_valid.jsonl", [], 0),
        ("openai_sft_errors.jsonl", [], 1),
        ("dpo_wrong_shape.jsonl", ["--format", "openai-dpo"], 1),
        ("empty.jsonl", [], 2),
        ("binary.jsonl", [], 2),
        ("alpaca_valid.json", ["--model", "gpt-4.1"], 0),
    ],
)
def test_validate_exit_codes_and_json_shape(filename, extra, code):
    status, out, err = cli("validate", FORMAT_DIR / filename, "--json", *extra)
    assert status == code, err
    assert "Traceback" not in err
    payload = json.loads(out)
    if code == 2:
        assert payload["error"] and filename in err
        return
    assert {"format", "kind", "rows", "valid", "invalid", "errors", "warnings", "tokens"} <= set(payload)
    assert payload["rows"] == payload["valid"] + payload["invalid"]
    assert set(payload["tokens"]) == {"total", "max", "mean"}
    for item in payload["errors"] + payload["warnings"]:
        assert {"line", "field", "code", "message"} <= set(item)
    assert (payload["invalid"] > 0) == (code == 1)


def test_validate_reports_lines_and_codes():
    _, out, _ = cli("validate", FORMAT_DIR / "openai_sft_errors.jsonl", "--json")
    payload = json.loads(out)
    assert {"line": 5, "code": "developer_role_not_allowed"}.items() <= payload["errors"][0].items()
    assert payload["tokens"]["total"] > 0 and payload["format"] == "openai-sft"


def test_validate_unknown_model_and_missing_file_exit_2(tmp_path):
    assert (
        cli("validate", FORMAT_DIR / "openai_sft_valid.jsonl", "--model", "no-such-model", "--json")[0] == 2
    )
    assert cli("validate", tmp_path / "missing.jsonl")[0] == 2


def test_validate_readable_report():
    status, out, _ = cli("validate", FORMAT_DIR / "sharegpt_errors.jsonl")
    assert status == 1
    assert "line 10" in out and "unknown_from" in out and "sharegpt" in out


def test_convert_writes_and_reports_losses(tmp_path):
    out_path = tmp_path / "out.json"
    status, out, err = cli(
        "convert", FORMAT_DIR / "sharegpt_valid.jsonl", "--to", "alpaca", "-o", out_path, "--json"
    )
    assert status == 0, err
    payload = json.loads(out)
    assert payload["written"] == 12 and len(json.loads(out_path.read_text())) == 12
    assert any("system prompt dropped" in loss["message"] for loss in payload["losses"])


def test_convert_fixes_the_wrong_dpo_shape(tmp_path):
    out_path = tmp_path / "dpo.jsonl"
    status, _, _ = cli("convert", FORMAT_DIR / "dpo_wrong_shape.jsonl", "--to", "openai-dpo", "-o", out_path)
    assert status == 0
    assert cli("validate", out_path, "--format", "openai-dpo", "--json")[0] == 0


def test_convert_errors_exit_2(tmp_path):
    assert cli("convert", FORMAT_DIR / "empty.jsonl", "--to", "alpaca", "-o", tmp_path / "x")[0] == 2
    status, _, err = cli(
        "convert", FORMAT_DIR / "openai_dpo_valid.jsonl", "--to", "alpaca", "-o", tmp_path / "x"
    )
    assert status == 2 and "preference" in err


def test_convert_skips_invalid_rows_and_says_which(tmp_path):
    status, out, _ = cli(
        "convert",
        FORMAT_DIR / "openai_sft_errors.jsonl",
        "--to",
        "sharegpt",
        "-o",
        tmp_path / "x.jsonl",
        "--json",
    )
    payload = json.loads(out)
    assert status == 0 and payload["skipped_invalid"] == len(payload["skipped_invalid_lines"]) > 0
    assert 5 in payload["skipped_invalid_lines"]
