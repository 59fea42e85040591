import hashlib
import io
import json
import zipfile

import pandas as pd
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from core import export, formats, records, report, split
from core.__main__ import main
from core.errors import DatasetError
from core.workspace import Workspace
from tests.conftest import SAMPLE_DATA

CATEGORIES = ("billing", "shipping", "returns")


def sft_frame(n: int = 30, *, mixed_content: bool = False) -> pd.DataFrame:
    rows = []
    for i in range(n):
        user = f"Customer {i} asks about invoice {i * 7} and the {CATEGORIES[i % 3]} policy in week {i % 9}."
        content = [{"type": "text", "text": user}] if mixed_content and i % 2 else user
        messages = [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": content},
            {
                "role": "assistant",
                "content": f"Reply {i}: the {CATEGORIES[i % 3]} answer for invoice {i * 7}.",
            },
        ]
        extra = {"category": CATEGORIES[i % 3], "source": "synthetic" if i % 10 == 0 else "real"}
        rows.append(records.make_record("sft", messages, extra=extra))
    return records.make_frame(rows)


def preference_frame(n: int = 12) -> pd.DataFrame:
    rows = [
        records.make_record(
            "preference",
            [{"role": "user", "content": f"Question number {i} about topic {i * 3}?"}],
            chosen=[{"role": "assistant", "content": f"Helpful answer {i}."}],
            rejected=[{"role": "assistant", "content": f"Unhelpful answer {i}."}],
            extra={"category": CATEGORIES[i % 3]},
        )
        for i in range(n)
    ]
    return records.make_frame(rows)


def rft_frame(n: int = 12) -> pd.DataFrame:
    rows = [
        records.make_record(
            "rft", [{"role": "user", "content": f"What is {i} + {i}?"}], extra={"answer": str(2 * i)}
        )
        for i in range(n)
    ]
    return records.make_frame(rows)


FRAMES = {"sft": sft_frame, "preference": preference_frame, "rft": rft_frame}
# trl-text (no roles) and trl-kto (one row per side) change the rows by design: test_formats_trl_new.py
ROUND_TRIPS = [
    (kind, fmt) for kind in FRAMES for fmt in export.formats_for(kind) if fmt not in ("trl-text", "trl-kto")
]


@pytest.mark.parametrize(("kind", "fmt"), ROUND_TRIPS)
def test_every_format_round_trips_through_the_importer(kind, fmt):
    frame = FRAMES[kind]()
    data, problems = export.write_split(frame, fmt)
    assert not [p for p in problems if p.startswith("error")]
    # a CSV of prompt + reference columns is ambiguous (sft or rft): the person maps its columns
    column_map = formats.ColumnMap(prompt="prompt") if (kind, fmt) == ("rft", "csv") else None
    name = f"train.{export.file_extension(fmt)}"
    loaded = formats.load_dataset(
        data, name, format=None if fmt in ("parquet", "csv") else fmt, column_map=column_map
    )
    assert len(loaded.records) == len(frame)
    assert list(loaded.records["kind"]) == list(frame["kind"])
    assert [p.strip() for p in loaded.records["prompt_text"]] == [p.strip() for p in frame["prompt_text"]]
    if export.file_extension(fmt) == "jsonl":
        assert export.pyarrow_problem(data) is None
        assert pj.read_json(io.BytesIO(data)).num_rows == len(frame)


@pytest.mark.parametrize("fmt", ["openai-sft", "trl-messages", "trl-prompt-completion", "parquet"])
def test_mixed_content_types_still_load_with_pyarrow(fmt):
    frame = sft_frame(20, mixed_content=True)
    data, _ = export.write_split(frame, fmt)
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(data)).num_rows == 20
    else:
        assert export.pyarrow_problem(data) is None
    loaded = formats.load_dataset(data, f"x.{export.file_extension(fmt)}")
    assert len(loaded.records) == 20


def test_uniform_content_converts_strings_only_when_mixed():
    plain = b'{"messages":[{"role":"user","content":"a"}]}\n'
    assert export.uniform_content_jsonl(plain) == plain
    mixed = plain + b'{"messages":[{"role":"user","content":[{"type":"text","text":"b"}]}]}\n'
    rows = [json.loads(line) for line in export.uniform_content_jsonl(mixed).splitlines()]
    assert rows[0]["messages"][0]["content"] == [{"type": "text", "text": "a"}]
    assert export.pyarrow_problem(mixed) is not None
    assert export.pyarrow_problem(export.uniform_content_jsonl(mixed)) is None


def _bundle(frame: pd.DataFrame, fmts=("openai-sft", "trl-messages", "parquet", "alpaca", "sharegpt"), **kw):
    result = split.split_frame(frame, seed=3)
    parts = {k: v for k, v in result.split(frame).items() if k in split.SPLITS}
    lock = split.make_lock(parts["test"], seed=3, fractions=result.config.fractions())
    request = export.BundleRequest(
        formats=tuple(fmts), seed=3, fractions=result.config.fractions(), lock=lock, **kw
    )
    return parts, export.build_bundle(parts, request)


def test_bundle_manifest_hashes_match_and_every_file_loads():
    frame = sft_frame(60)
    quarantine = pd.DataFrame({"line": [7], "reason": ["missing messages"], "raw": ['{"x": 1}']})
    audit = pd.DataFrame({"example_id": ["a"], "verdict": ["approve"]})
    parts, bundle = _bundle(frame, quarantine=quarantine, review_audit=audit)
    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    names = set(archive.namelist())
    assert {
        "manifest.json",
        "README.md",
        "quarantine.jsonl",
        "review_audit.csv",
        "test_lock.json",
    } <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest == json.loads(json.dumps(bundle.manifest))
    assert manifest["counts"] == {k: len(v) for k, v in parts.items()}
    assert set(manifest["files"]) == names - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == entry["sha256"]
    for name, entry in manifest["files"].items():
        if entry["split"]:
            loaded = formats.load_dataset(archive.read(name), name.split("/")[-1])
            assert len(loaded.records) == entry["rows"], name
        if name.endswith(".jsonl") and archive.read(name):
            assert pj.read_json(io.BytesIO(archive.read(name))).num_rows >= 1
    assert json.loads(archive.read("quarantine.jsonl"))["reason"] == "missing messages"
    assert json.loads(archive.read("test_lock.json"))["ids"] == list(dict.fromkeys(parts["test"]["id"]))
    assert manifest["app_version"] and manifest["seed"] == 3


def test_bundle_blocks_formats_that_cannot_hold_the_kind():
    with pytest.raises(DatasetError, match="hh-rlhf cannot hold sft"):
        _bundle(sft_frame(20), fmts=("hh-rlhf",))


def test_openai_file_with_a_bad_row_blocks():
    bad = b'{"messages":[{"role":"user","content":"no answer"}]}\n' * 12
    reported, blocking = export.check_file("openai-sft/train.jsonl", bad, "openai-sft", 12)
    assert blocking and "train.jsonl" in blocking[0]
    good = export.write_split(sft_frame(12), "openai-sft")[0]
    assert export.check_file("openai-sft/train.jsonl", good, "openai-sft", 12)[1] == []


def test_pyarrow_problem_is_reported():
    assert export.pyarrow_problem(b'{"a": 1}\n{"a": "x"}\n') is not None
    assert export.pyarrow_problem(b"") is None


def test_data_card_sections():
    card = report.DataCardInputs(
        title="support <b>v2</b>",
        split_counts={"train": 8, "val": 1, "test": 1},
        per_category={"billing": {"train": 8, "val": 1, "test": 1}},
        sources={"real": 9, "synthetic": 1},
        dedup={"removed": 12, "threshold": 0.8},
        synthetic={"generated": 40, "spent_usd": 0.1234},
        guidelines={
            "billing": {"definition": "money", "positives": ["refund"], "negatives": [], "edge_cases": ""}
        },
    )
    text = report.render_data_card(card)
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert "| billing | 8 | 1 | 1 |" in text
    assert "Synthetic share of the split data: 10.0%" in text
    assert "$0.1234" in text
    assert "- removed: 12" in text
    assert text.count("not run") == 6  # agreement, review, quality, checklist, leakage, fine-tuning cost


def test_workspace_sections(workspace):
    workspace.mark_step("dedup", {"removed": 3})
    workspace.set_state("labels.guidelines", {"billing": {"definition": "money"}})
    sections = report.workspace_sections(workspace)
    assert sections["dedup"] == {"removed": 3}
    assert sections["review"] is None
    assert sections["guidelines"]["billing"]["definition"] == "money"


def test_review_summary_merges_gates():
    gates = pd.DataFrame(
        {
            "batch_id": ["b1", "b2"],
            "admitted": [1, 1],
            "rate": [0.95, 0.8],
            "override_reason": [None, "fixed"],
        }
    )
    summary = report.review_summary({"reviewed": 40}, gates)
    assert summary["reviewed"] == 40 and summary["batches admitted"] == 2
    assert summary["overrides"] == ["fixed"] and summary["pass rate per batch"]["b2"] == 0.8
    assert report.review_summary(None, pd.DataFrame()) is None


def test_finetune_cost_uses_tokens_epochs_and_price():
    estimate = export.finetune_cost(sft_frame(40), "gpt-4.1-mini")
    assert estimate.epochs == 3
    assert estimate.charged_tokens == 3 * estimate.billable_tokens > 0
    assert estimate.usd == pytest.approx(estimate.charged_tokens * estimate.price_per_1m / 1e6)
    assert export.finetune_cost_dict(estimate)["model"] == "gpt-4.1-mini"


# -- command line --------------------------------------------------------------------------------


def _write(path, frame, fmt="openai-sft"):
    data, _ = export.write_split(frame, fmt)
    path.write_bytes(data)
    return path


def test_cli_split_json_shape_and_lock(tmp_path, capsys):
    source = _write(tmp_path / "data.jsonl", sft_frame(60))
    lock_file = tmp_path / "lock.json"
    argv = [
        "split",
        str(source),
        "--out",
        str(tmp_path / "out"),
        "--lock",
        str(lock_file),
        "--seed",
        "4",
        "--json",
    ]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert {"counts", "per_stratum", "clusters_kept_together", "leakage", "locked"} <= set(first)
    assert first["locked"] is False and lock_file.exists()
    assert first["leakage"]["total"] == 0
    assert sum(first["counts"][k] for k in split.SPLITS) == 60
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"}
    test_ids = set(formats.load_dataset(out / "test.jsonl").records["id"])
    # add data (metadata travels as top-level keys of the input format) and split again with the lock
    more = pd.concat([sft_frame(60), records.make_frame([_fresh(i) for i in range(30)])], ignore_index=True)
    _write(source, more, "trl-messages")
    assert (
        main([*argv[:2], "--out", str(tmp_path / "out2"), "--lock", str(lock_file), "--seed", "9", "--json"])
        == 0
    )
    second = json.loads(capsys.readouterr().out)
    assert second["locked"] is True and second["lock_written"] is None
    assert set(formats.load_dataset(tmp_path / "out2" / "test.jsonl").records["id"]) == test_ids


def _fresh(i: int) -> dict:
    messages = [{"role": "user", "content": f"Brand new question {i} on gadget {i * 11}?"}]
    messages.append({"role": "assistant", "content": f"Brand new answer {i}."})
    return records.make_record("sft", messages, extra={"category": "billing", "source": "real"})


def test_cli_split_reads_source_and_stratum_from_row_metadata(tmp_path, capsys):
    source = _write(tmp_path / "data.jsonl", sft_frame(40), "trl-messages")
    assert main(["split", str(source), "--out", str(tmp_path / "o"), "--format", "alpaca", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["per_stratum"]) == set(CATEGORIES)
    assert summary["forced_train"] == 4  # rows 0, 10, 20, 30 are synthetic
    assert (tmp_path / "o" / "train.json").exists()


def test_cli_split_asks_to_confirm_an_unusual_holdout(tmp_path, capsys):
    source = _write(tmp_path / "data.jsonl", sft_frame(20))
    assert main(["split", str(source), "--out", str(tmp_path / "o"), "--val", "0.2", "--test", "0.2"]) == 2
    assert "--yes" in capsys.readouterr().err


def test_cli_split_refuses_a_format_that_cannot_hold_the_data(tmp_path, capsys):
    source = _write(tmp_path / "data.jsonl", sft_frame(20))
    assert main(["split", str(source), "--out", str(tmp_path / "o"), "--format", "openai-dpo"]) == 2
    assert "cannot hold sft" in capsys.readouterr().err


def test_cli_export_writes_a_bundle(tmp_path, capsys):
    bundle = tmp_path / "bundle.zip"
    argv = ["export", str(SAMPLE_DATA / "support_sft.jsonl"), "--out", str(bundle), "--format", "openai-sft"]
    assert main([*argv, "--format", "trl-messages", "--model", "gpt-4.1-mini", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert summary["leakage"]["total"] == 0 and summary["finetune_cost"]["usd"] > 0
    names = zipfile.ZipFile(bundle).namelist()
    assert "openai-sft/train.jsonl" in names and "trl-messages/test.jsonl" in names
    assert len(zipfile.ZipFile(bundle).read("quarantine.jsonl").splitlines()) > 0
    card = zipfile.ZipFile(bundle).read("README.md").decode()
    assert "| train~test | 0 | 0 | 0 | 0 |" in card and "- Cost: $" in card


def test_cli_export_blocks_wrong_format(tmp_path, capsys):
    argv = [
        "export",
        str(SAMPLE_DATA / "support_sft.jsonl"),
        "--out",
        str(tmp_path / "b.zip"),
        "--format",
        "openai-dpo",
    ]
    assert main(argv) == 2
    assert "cannot hold sft" in capsys.readouterr().err


def test_workspace_fixture_unused_by_export(tmp_path):
    # the bundle needs no workspace: plain inputs only
    assert Workspace.open(tmp_path / "w").current_dataset() is None


def test_rows_the_split_excluded_are_listed_in_the_bundle():
    excluded = {"abc123": "near-duplicate of locked test example def456"}
    _, bundle = _bundle(sft_frame(30), fmts=("openai-sft",), excluded=excluded)
    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    assert json.loads(archive.read("excluded.jsonl")) == {"id": "abc123", "reason": excluded["abc123"]}
    assert bundle.manifest["excluded"] == 1
