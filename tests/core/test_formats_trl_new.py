"""TRL's text, unpaired preference (KTO) and prompt-only formats: read, validate, write, losses."""

import json

import hypothesis.strategies as hs
import pytest
from hypothesis import HealthCheck, given, settings

from core import formats
from core.records import make_frame, make_record

U = {"role": "user", "content": "Hi?"}
A = {"role": "assistant", "content": "Hello."}
B = {"role": "assistant", "content": "Go away."}
S = {"role": "system", "content": "Be brief."}
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = hs.text(alphabet=hs.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda t: t.strip() and t == t.strip()
)


def load_rows(rows, **kw):
    return formats.load_dataset("".join(json.dumps(r) + "\n" for r in rows).encode(), "data.jsonl", **kw)


def rows_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def codes(result) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for p in result.problems:
        if p.line is not None:
            out.setdefault(p.line, set()).add(p.code)
    return out


# -------------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"text": "Once upon a time."}, "trl-text"),
        ({"text": "Once.", "source": "web"}, "trl-text"),
        ({"prompt": "Q", "completion": "A", "label": True}, "trl-kto"),
        ({"prompt": [U], "completion": [A], "label": False}, "trl-kto"),
        ({"prompt": "Q", "completion": "A", "label": "spam"}, "trl-prompt-completion"),  # a class, metadata
        ({"prompt": "Solve 2+2.", "solution": "4"}, "trl-prompt-only"),
        ({"prompt": [S, U]}, "trl-prompt-only"),
        ({"prompt": "Q", "answer": "A"}, None),  # a flat table: prompt + response columns
        ({"text": "a review", "label": "pos"}, None),  # a classification table, not language modeling
    ],
)
def test_rows_are_classified(row, expected):
    assert formats.classify_row(row) == expected


def test_detected_files_read_every_row():
    text = load_rows([{"text": f"Story number {i}."} for i in range(10)])
    assert (text.detection.format, text.detection.kind, text.valid) == ("trl-text", "sft", 10)
    assert text.records.iloc[0]["messages"] == [{"role": "assistant", "content": "Story number 0."}]
    kto = load_rows([{"prompt": f"Q{i}", "completion": f"A{i}", "label": i % 2 == 0} for i in range(10)])
    assert (kto.detection.format, kto.detection.kind, kto.valid) == ("trl-kto", "preference", 10)
    first, second = kto.records.iloc[0], kto.records.iloc[1]
    assert first["chosen"] == [{"role": "assistant", "content": "A0"}] and first["rejected"] is None
    assert second["rejected"] == [{"role": "assistant", "content": "A1"}] and second["chosen"] is None
    prompts = load_rows(
        [{"prompt": [S, {"role": "user", "content": f"Q{i}"}], "solution": i} for i in range(10)]
    )
    assert (prompts.detection.format, prompts.detection.kind, prompts.valid) == ("trl-prompt-only", "rft", 10)
    assert (
        prompts.records.iloc[3]["extra"] == {"solution": 3} and prompts.records.iloc[3]["prompt_text"] == "Q3"
    )


# ------------------------------------------------------------------------------------- validation

INVALID = [
    ("trl-text", {"text": ""}, "empty_text"),
    ("trl-text", {"text": 3}, "invalid_field_type"),
    ("trl-text", {"content": "x"}, "missing_text"),
    ("trl-kto", {"prompt": "Q", "completion": "A", "label": "yes"}, "label_not_boolean"),
    ("trl-kto", {"prompt": "Q", "completion": "A", "label": 1}, "label_not_boolean"),
    ("trl-kto", {"prompt": "Q", "completion": "A"}, "missing_label"),
    ("trl-kto", {"prompt": "Q", "label": True}, "missing_completion"),
    ("trl-kto", {"completion": "A", "label": True}, "missing_prompt"),
    ("trl-kto", {"prompt": "Q", "completion": "  ", "label": False}, "empty_completion"),
    ("trl-kto", {"prompt": "Q", "completion": [A], "label": True}, "mixed_standard_conversational"),
    ("trl-kto", {"prompt": [U], "completion": [U], "label": True}, "missing_assistant"),
    ("trl-prompt-only", {"prompt": " "}, "empty_prompt"),
    ("trl-prompt-only", {"prompt": [U, A]}, "prompt_last_not_user"),
    ("trl-prompt-only", {"prompt": [{"role": "robot", "content": "x"}]}, "invalid_role"),
    ("trl-prompt-only", {"prompt": 7}, "invalid_field_type"),
]


@pytest.mark.parametrize(("fmt", "row", "code"), INVALID)
def test_invalid_rows_are_quarantined_with_a_code_that_has_a_fix(fmt, row, code):
    good = {
        "trl-text": {"text": "fine"},
        "trl-kto": {"prompt": "Q", "completion": "A", "label": True},
        "trl-prompt-only": {"prompt": "Q"},
    }[fmt]
    result = load_rows([good, row, good], format=fmt)
    assert code in codes(result).get(2, set()), result.problems
    assert result.valid == 2 and list(result.quarantine["line"]) == [2]
    assert code in formats.PROBLEM_CODES and formats.PROBLEM_FIXES[code].strip()
    assert all(p.fix for p in result.problems)


def test_a_kto_row_in_a_prompt_completion_file_is_a_mixed_format():
    rows = [{"prompt": "Q", "completion": "A"}] * 9 + [{"prompt": "Q", "completion": "B", "label": False}]
    result = load_rows(rows)
    assert result.detection.format == "trl-prompt-completion"
    assert codes(result)[10] == {"mixed_formats"} and result.valid == 9


# ---------------------------------------------------------------------------------------- writing


def test_paired_preference_becomes_two_kto_rows_and_back_one_sided():
    frame = make_frame([make_record("preference", [U], chosen=[A], rejected=[B], extra={"category": "x"})])
    data, losses = formats.write_dataset(frame, "trl-kto", trl_style="standard")
    assert not losses
    assert rows_of(data) == [
        {"prompt": "Hi?", "completion": "Hello.", "label": True, "category": "x"},
        {"prompt": "Hi?", "completion": "Go away.", "label": False, "category": "x"},
    ]
    conversational, _ = formats.write_dataset(frame, "trl-kto")
    assert rows_of(conversational)[1] == {"prompt": [U], "completion": [B], "label": False, "category": "x"}
    back = formats.load_dataset(data, "kto.jsonl", format="trl-kto")
    assert back.valid == 2 and back.records.iloc[0]["category"] == "x"


@pytest.mark.parametrize("target", ["trl-preference", "openai-dpo", "hh-rlhf", "csv"])
def test_an_unpaired_row_is_a_reported_loss_in_paired_formats(target):
    kto = load_rows(
        [
            {"prompt": "Q", "completion": "A", "label": True},
            {"prompt": "Q", "completion": "B", "label": False},
        ]
    )
    data, losses = formats.write_dataset(kto.records, target)
    assert [p.severity for p in losses] == ["error", "error"]
    assert "only a desirable completion" in losses[0].message
    assert "only an undesirable completion" in losses[1].message
    assert [p.line for p in losses] == [1, 2]


def test_kto_same_format_export_is_lossless():
    rows = [
        {"prompt": "Q", "completion": "A", "label": True, "id7": "x"},
        {"prompt": [U], "completion": [B], "label": False},
    ]
    result = load_rows(rows, format="trl-kto")
    data, losses = formats.write_dataset(result.records, "trl-kto")
    # one style per file (TRL reads the first row's): the string row becomes messages
    assert rows_of(data)[1] == rows[1] and rows_of(data)[0]["prompt"] == [{"role": "user", "content": "Q"}]
    assert not losses


def test_prompt_only_ends_at_the_last_user_turn_and_says_so():
    frame = make_frame([make_record("rft", [S, U, A, U, A], source_line=4)])
    data, losses = formats.write_dataset(frame, "trl-prompt-only")
    assert rows_of(data) == [{"prompt": [S, U, A, U]}]
    assert [p.message for p in losses] == [
        "1 message(s) after the last user turn dropped (a prompt ends there)"
    ]
    sft = make_frame([make_record("sft", [U, A], source_line=5)])
    assert formats.write_dataset(sft, "trl-prompt-only")[1][0].message == (
        "row left out: a sft example cannot be written as trl-prompt-only"
    )


def test_prompt_only_and_openai_rft_round_trip_with_reference_fields():
    rows = [{"prompt": [{"role": "user", "content": f"{i}+{i}?"}], "answer": str(2 * i)} for i in range(10)]
    prompts = load_rows(rows)
    rft, losses = formats.write_dataset(prompts.records, "openai-rft")
    assert not losses and rows_of(rft)[2] == {
        "messages": [{"role": "user", "content": "2+2?"}],
        "answer": "4",
    }
    back = formats.load_dataset(rft, "rft.jsonl")
    again, losses = formats.write_dataset(back.records, "trl-prompt-only")
    assert not losses and rows_of(again) == rows
    standard, losses = formats.write_dataset(back.records, "trl-prompt-only", trl_style="standard")
    assert rows_of(standard)[2] == {"prompt": "2+2?", "answer": "4"} and not losses


def test_prompt_only_standard_style_cannot_hold_a_system_prompt():
    frame = make_frame([make_record("rft", [S, U], source_line=1)])
    data, losses = formats.write_dataset(frame, "trl-prompt-only", trl_style="standard")
    assert data == b"" and losses[0].severity == "error" and "conversational" in losses[0].message


def test_text_from_a_conversation_is_chatml_with_the_loss_reported():
    frame = make_frame([make_record("sft", [S, U, A], source_line=3)])
    data, losses = formats.write_dataset(frame, "trl-text")
    assert rows_of(data) == [
        {
            "text": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n"
        }
    ]
    assert len(losses) == 1 and losses[0].line == 3 and "ChatML" in losses[0].message
    assert losses[0].severity == "warning"


def test_text_takes_a_renderer():
    frame = make_frame([make_record("sft", [U, A])])
    data, losses = formats.write_dataset(
        frame, "trl-text", render=lambda messages, tools: "|".join(m["content"] for m in messages)
    )
    assert rows_of(data) == [{"text": "Hi?|Hello."}] and "chat template" in losses[0].message


@SETTINGS
@given(hs.lists(TEXT, min_size=1, max_size=4))
def test_text_round_trips_through_every_sft_format_that_keeps_a_reply(texts):
    # a text row is one assistant message: formats that need a user turn leave it out, with the loss
    original = load_rows([{"text": t} for t in texts], format="trl-text")
    for target in formats.formats_for_kind("sft"):
        data, losses = formats.write_dataset(original.records, target)
        left_out = [p for p in losses if p.severity == "error"]
        back = (
            formats.load_dataset(
                data,
                f"x.{ {'alpaca': 'json', 'sharegpt': 'json', 'csv': 'csv'}.get(target, 'jsonl') }",
                format=target,
            )
            if data.strip() and data.strip() != b"[]"
            else None
        )
        kept = 0 if back is None else back.valid
        assert kept + len(left_out) == len(texts), (target, losses)
        if target in ("openai-sft", "trl-messages", "trl-text") and back is not None:
            again, _ = formats.write_dataset(back.records, "trl-text")
            assert [r["text"] for r in rows_of(again)] == texts


@SETTINGS
@given(hs.lists(hs.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=3))
def test_preference_to_kto_keeps_both_sides(pairs):
    frame = make_frame(
        [
            make_record(
                "preference",
                [{"role": "user", "content": p}],
                chosen=[{"role": "assistant", "content": c}],
                rejected=[{"role": "assistant", "content": r}],
            )
            for p, c, r in pairs
        ]
    )
    data, losses = formats.write_dataset(frame, "trl-kto")
    assert not losses
    back = formats.load_dataset(data, "kto.jsonl", format="trl-kto")
    assert not [p for p in back.errors]
    sides = [
        (r["messages"], r["chosen"] or r["rejected"], r["chosen"] is not None)
        for _, r in back.records.iterrows()
    ]
    expected = []
    for p, c, r in pairs:
        expected += [([{"role": "user", "content": p}], [{"role": "assistant", "content": c}], True)]
        expected += [([{"role": "user", "content": p}], [{"role": "assistant", "content": r}], False)]
    assert sides == expected


def test_convert_cli_writes_the_new_formats(tmp_path, capsys):
    from core.__main__ import main

    source = tmp_path / "pairs.jsonl"
    source.write_text(
        "".join(
            json.dumps({"prompt": f"Q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n"
            for i in range(10)
        )
    )
    out = tmp_path / "kto.jsonl"
    assert main(["convert", str(source), "--to", "trl-kto", "--trl-style", "standard", "-o", str(out)]) == 0
    rows = rows_of(out.read_bytes())
    assert len(rows) == 20 and rows[1] == {"prompt": "Q0", "completion": "bad 0", "label": False}
    assert main(["validate", str(out), "--format", "trl-kto"]) == 0
    capsys.readouterr()
    assert main(["convert", str(source), "--to", "trl-kto", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["written"], summary["written_rows"]) == (10, 20)
