"""Issue 16: every malformed file gives a clear answer, never a traceback, never a lost row."""

import json
import subprocess
import sys

import pytest

from core.__main__ import main
from tests.conftest import ROOT
from tests.malformed_corpus import write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return {case.name: case for case in write_corpus(tmp_path_factory.mktemp("malformed"))}


CASES = [
    "deep_nesting",
    "lone_surrogate",
    "huge_integer",
    "nul_byte",
    "duplicate_keys",
    "nan",
    "truncated_last_line",
    "truncated_gzip",
    "bom",
    "bom_every_line",
    "utf16",
    "latin1",
    "ten_mb_line",
    "mixed_formats",
    "json_array_in_jsonl",
    "broken_array_record",
    "csv_quoted_newlines",
    "directory",
    "missing_path",
]
CRASHED_BEFORE = ["deep_nesting", "lone_surrogate", "huge_integer", "nul_byte"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out.strip().splitlines()[-1]), err


@pytest.mark.parametrize("name", CASES)
def test_validate(corpus, capsys, name):
    case = corpus[name]
    code, summary, _ = _run(capsys, "validate", str(case.path), "--json")
    assert code == case.exit_code, summary
    if case.exit_code == 2:
        assert summary["rows"] == 0
        assert ("folder" if name == "directory" else "no such file") in summary["error"]
        return
    assert summary["valid"] == case.valid if case.valid is not None else summary["valid"] > 0
    assert summary["valid"] + summary["invalid"] == summary["rows"]
    if case.code is not None:
        found = {(p["line"], p["code"]) for p in summary["errors"] + summary["warnings"]}
        assert any(c == case.code and (case.line is None or line == case.line) for line, c in found), found


def test_array_records_name_record_and_line(corpus, capsys):
    _, summary, _ = _run(capsys, "validate", str(corpus["broken_array_record"].path), "--json")
    (problem,) = [p for p in summary["errors"] if p["code"] == "invalid_json"]
    assert "record 6 (line 29)" in problem["message"] and "column 13" in problem["message"]


@pytest.mark.parametrize("name", CRASHED_BEFORE)
def test_profile_keeps_every_valid_row(corpus, capsys, name):
    case = corpus[name]
    code, payload, _ = _run(capsys, "profile", str(case.path), "--json")
    assert code == 0 and payload["rows"] == case.valid


@pytest.mark.parametrize("name", CRASHED_BEFORE)
def test_convert_writes_every_valid_row(corpus, capsys, tmp_path, name):
    case = corpus[name]
    out = tmp_path / "out.jsonl"
    code, summary, _ = _run(
        capsys, "convert", str(case.path), "--to", "trl-messages", "-o", str(out), "--json"
    )
    assert code == 0 and summary["written"] == case.valid
    assert len(out.read_bytes().splitlines()) == case.valid
    assert summary["skipped_invalid_lines"] == ([] if case.exit_code == 0 else [case.line])
    assert b"\\ud800" not in out.read_bytes()  # the surrogate was replaced, the row written


def test_command_line_smoke(corpus):
    case = corpus["deep_nesting"]
    done = subprocess.run(
        [sys.executable, "-m", "core", "validate", str(case.path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["valid"] == case.valid
