"""Every command says which rows it did not carry, why and where they went (#16 items 8, 9, 17)."""

import io
import json
import zipfile

import pytest

from core import formats
from core.__main__ import main

BROKEN_LINE = 9  # the invalid row's line in the file below


def chat(i):
    return {
        "messages": [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    }


@pytest.fixture
def dataset(tmp_path):
    """13 valid rows (line 3 repeated on line 6) and one invalid row on line 9."""
    lines = [json.dumps(chat(i)) for i in range(12)]
    lines.insert(5, lines[2])
    lines.insert(BROKEN_LINE - 1, '{"messages": "broken"}')
    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_json(capsys, *argv):
    assert main([*map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


QUARANTINED = {"rows": 1, "codes": {"messages_not_list": 1}, "lines": [BROKEN_LINE]}


def test_dedup_names_both_lines_of_an_exact_duplicate(dataset, capsys):
    (cluster,) = run_json(capsys, "dedup", dataset)["clusters"]
    assert cluster["kept"] == cluster["removed"][0]  # the same content id: only the lines tell them apart
    assert (cluster["kept_line"], cluster["removed_lines"]) == (3, [6])


def test_dedup_text_report_says_the_lines(dataset, capsys):
    assert main(["dedup", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "keep line 3 (" in out and "remove line 6 (" in out


def test_dedup_out_says_which_rows_it_did_not_write_and_writes_them_beside(dataset, tmp_path, capsys):
    summary = run_json(capsys, "dedup", dataset, "-o", tmp_path / "kept.jsonl")
    beside = tmp_path / "kept.quarantine.jsonl"
    assert summary["quarantined"] == {**QUARANTINED, "file": str(beside)}
    assert summary["out"]["rows"] == 12 == len((tmp_path / "kept.jsonl").read_text().splitlines())
    (row,) = [json.loads(line) for line in beside.read_text().splitlines()]
    assert (row["line"], row["codes"]) == (BROKEN_LINE, "messages_not_list")


@pytest.mark.parametrize("method", [[], ["--method", "lexical"]])
def test_dedup_without_out_writes_no_quarantine(dataset, tmp_path, capsys, method):
    assert run_json(capsys, "dedup", dataset, *method)["quarantined"] == QUARANTINED
    assert not list(tmp_path.glob("*quarantine*"))


def test_dedup_semantic_out_writes_the_quarantine_too(dataset, tmp_path, capsys):
    summary = run_json(capsys, "dedup", dataset, "--method", "lexical", "-o", tmp_path / "kept.jsonl")
    assert summary["quarantined"]["file"] == str(tmp_path / "kept.quarantine.jsonl")
    assert "messages_not_list" in (tmp_path / "kept.quarantine.jsonl").read_text()


def test_dedup_semantic_method_says_the_same(dataset, capsys):
    summary = run_json(capsys, "dedup", dataset, "--method", "lexical")
    assert summary["quarantined"] == QUARANTINED
    assert (summary["clusters"][0]["kept_line"], summary["clusters"][0]["removed_lines"]) == (3, [6])


def test_split_writes_the_quarantine_and_counts_it(dataset, tmp_path, capsys):
    out = tmp_path / "split"
    summary = run_json(capsys, "split", dataset, "--val", "0.1", "--test", "0.1", "--out", out)
    assert summary["quarantined"] == {**QUARANTINED, "file": "quarantine.jsonl"}
    assert json.loads((out / "manifest.json").read_text())["quarantined"] == summary["quarantined"]
    (row,) = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert (row["line"], row["codes"]) == (BROKEN_LINE, "messages_not_list")


def test_split_of_a_clean_file_writes_no_quarantine(tmp_path, capsys):
    path = tmp_path / "clean.jsonl"
    path.write_text("\n".join(json.dumps(chat(i)) for i in range(12)) + "\n")
    summary = run_json(capsys, "split", path, "--val", "0.1", "--test", "0.1", "--out", tmp_path / "s")
    assert summary["quarantined"] == {"rows": 0, "codes": {}, "lines": []}
    assert not (tmp_path / "s" / "quarantine.jsonl").exists()


def test_the_export_manifest_counts_the_quarantine_and_every_file_of_the_zip(dataset, tmp_path, capsys):
    bundle = tmp_path / "bundle.zip"
    summary = run_json(capsys, "export", dataset, "--val", "0.1", "--test", "0.1", "--out", bundle)
    names = zipfile.ZipFile(io.BytesIO(bundle.read_bytes())).namelist()
    manifest = json.loads(zipfile.ZipFile(bundle).read("manifest.json"))
    assert manifest["quarantined"] == {**QUARANTINED, "file": "quarantine.jsonl"}
    assert summary["file_count"] == len(names) == len(manifest["files"]) + 1  # the manifest itself


def test_the_export_text_says_how_many_files_the_zip_holds(dataset, tmp_path, capsys):
    bundle = tmp_path / "bundle.zip"
    assert main(["export", str(dataset), "--val", "0.1", "--test", "0.1", "--out", str(bundle)]) == 0
    count = len(zipfile.ZipFile(bundle).namelist())
    assert f"{bundle}: {count} files," in capsys.readouterr().out


def test_rft_through_csv_says_what_csv_loses_and_nothing_else():
    row = {
        "messages": [
            {"role": "developer", "content": "Answer yes or no."},
            {"role": "user", "content": "Secure?"},
        ],
        "compliant": "yes",
        "score": 3,
        "meta": {"src": "audit"},
    }
    rft = formats.load_dataset(json.dumps(row).encode(), "rft.jsonl").records
    data, to_csv = formats.write_dataset(rft, "csv")
    assert [p.message for p in to_csv] == [
        "`score`, `meta` written as text "
        "(a CSV cell is text: numbers, booleans and objects read back as strings)"
    ]
    back = formats.load_dataset(data, "rft.csv").records
    again, to_rft = formats.write_dataset(back, "openai-rft")
    assert not to_rft  # the developer message went through CSV's `developer` column as itself
    assert json.loads(again)["messages"] == row["messages"]


def test_convert_says_the_same_of_the_rows_it_did_not_convert(dataset, tmp_path, capsys):
    summary = run_json(capsys, "convert", dataset, "--to", "trl-messages", "-o", tmp_path / "out.jsonl")
    assert summary["quarantined"] == QUARANTINED
    assert summary["written"] == 13
