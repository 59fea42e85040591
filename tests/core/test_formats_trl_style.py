"""TRL outputs hold one style per file, and rows TRL cannot read are losses, not rows."""

import json

import pytest

from core import formats
from core.records import make_frame, make_record

U = {"role": "user", "content": "Hi?"}
A = {"role": "assistant", "content": "Hello."}
B = {"role": "assistant", "content": "Go away."}
S = {"role": "system", "content": "Be brief."}


def rows_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def preference_frame():
    plain = make_record("preference", [U], chosen=[A], rejected=[B], source_line=1)
    multi = make_record("preference", [S, U, A, U], chosen=[A], rejected=[B], source_line=2)
    return make_frame([plain, multi])


def test_preference_output_is_conversational_by_default_in_every_row():
    data, losses = formats.write_dataset(preference_frame(), "trl-preference")
    assert not losses
    assert all(isinstance(row[k], list) for row in rows_of(data) for k in ("prompt", "chosen", "rejected"))


def test_standard_style_leaves_out_rows_that_cannot_be_strings_and_says_so():
    data, losses = formats.write_dataset(preference_frame(), "trl-preference", trl_style="standard")
    assert rows_of(data) == [{"prompt": "Hi?", "chosen": "Hello.", "rejected": "Go away."}]
    assert [(p.line, p.severity) for p in losses] == [(2, "error")]
    assert "conversational" in losses[0].message


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="trl_style"):
        formats.write_dataset(preference_frame(), "trl-preference", trl_style="chatml")


def test_a_mixed_file_is_flagged():
    rows = [{"prompt": "a", "completion": "b"}] * 6 + [{"prompt": [U], "completion": [A]}] * 6
    data = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    result = formats.load_dataset(data, "mixed.jsonl")
    problem = next(p for p in result.problems if p.code == "mixed_standard_conversational")
    assert problem.line is None and problem.severity == "error" and "first on line 7" in problem.message
    assert result.valid == 12


def test_hh_rlhf_to_trl_preference_is_one_style():
    rows = [
        {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: no"},
        {
            "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
            "rejected": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: e",
        },
    ] * 5
    data = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    result = formats.load_dataset(data, "hh.jsonl", format="hh-rlhf")
    out, losses = formats.write_dataset(result.records, "trl-preference")
    assert not losses
    assert {isinstance(row["chosen"], list) for row in rows_of(out)} == {True}
    back = formats.load_dataset(out, "back.jsonl", format="trl-preference")
    assert not back.errors


def test_prompt_completion_without_user_turn_is_a_loss_not_a_row():
    no_user = make_record("sft", [S, A], source_line=4)
    data, losses = formats.write_dataset(make_frame([no_user]), "trl-prompt-completion")
    assert data == b""
    assert [(p.line, p.severity) for p in losses] == [(4, "error")]
    assert "prompt" in losses[0].message


def test_convert_takes_the_style(tmp_path):
    from core.__main__ import main

    source = tmp_path / "in.jsonl"
    rows = [{"messages": [U, A]}] * 10
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    code = main(
        ["convert", str(source), "--to", "trl-prompt-completion", "--trl-style", "standard", "-o", str(out)]
    )
    assert code == 0
    assert rows_of(out.read_bytes())[0] == {"prompt": "Hi?", "completion": "Hello."}
