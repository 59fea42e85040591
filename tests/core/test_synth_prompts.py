import json

import pytest

from core.synth import prompts
from core.synth.store import RequestRow
from tests.core.conftest import support_frame


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"examples": [{"user": "a", "assistant": "b"}]}', [{"user": "a", "assistant": "b"}]),
        ('```json\n{"user": "a", "assistant": "b"}\n```', [{"user": "a", "assistant": "b"}]),
        ('Here you go:\n[{"user": "a", "assistant": "b"}] enjoy', [{"user": "a", "assistant": "b"}]),
        (
            'noise {"examples": [{"user": "a", "assistant": "b"}, {"user": "c", "assistant": "d"}]} tail',
            [{"user": "a", "assistant": "b"}, {"user": "c", "assistant": "d"}],
        ),
        (
            '{"examples": [{"user": "a", "assistant": "b"}, {"user": "broken',
            [{"user": "a", "assistant": "b"}],
        ),
    ],
)
def test_parse_items_is_defensive(text, expected):
    assert prompts.parse_items(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("no json here", "no JSON object found"),
        ("[]", "holds no example object"),
        ("{}", "holds no example object"),
        ('{"examples": []}', "holds no example object"),
    ],
)
def test_parse_items_refuses_empty_replies(text, match):
    with pytest.raises(ValueError, match=match):
        prompts.parse_items(text)


def test_rotation_uses_every_seed():
    seeds = support_frame(10)
    rows = prompts.plan_requests(
        seeds, prompts.PlanConfig(n=4, seeds_per_request=3), run_id="r", model="gpt-4o"
    )
    used = {s for row in rows for s in row.seed_ids}
    assert used == set(seeds["id"])
    assert all(len(row.seed_ids) == 3 for row in rows)
    assert len({row.key for row in rows}) == 4
    again = prompts.plan_requests(
        seeds, prompts.PlanConfig(n=4, seeds_per_request=3), run_id="r", model="gpt-4o"
    )
    assert [r.key for r in again] == [r.key for r in rows]  # deterministic request keys


def test_per_request_batches_and_editable_template():
    seeds = support_frame(6)
    config = prompts.PlanConfig(n=5, per_request=2, template="Make $n like these: $seeds")
    rows = prompts.plan_requests(seeds, config, run_id="r", model="gpt-4o")
    assert [r.context["n"] for r in rows] == [2, 2, 1]
    assert rows[0].messages[-1]["content"].startswith("Make 2 like these: [")
    assert rows[0].prompt_tokens_est > 10


def test_locked_test_split_is_never_a_seed():
    seeds = support_frame(9)
    locked = set(seeds["id"][:3])
    eligible = prompts.eligible_seeds(seeds, locked_ids=locked)
    assert not set(eligible["id"]) & locked
    assert set(prompts.eligible_seeds(seeds, category="billing")["category"]) == {"billing"}


def test_gap_mode_targets_rotate_by_missing():
    targets = (
        {
            "kind": "category",
            "value": "returns",
            "missing": 3,
            "description": "returns questions",
            "examples": ["x"],
        },
        {"kind": "difficulty", "value": "hard", "missing": 1, "description": "hard cases", "examples": []},
    )
    config = prompts.PlanConfig(mode="gaps", n=4, targets=targets)
    rows = prompts.plan_requests(support_frame(9), config, run_id="r", model="gpt-4o")
    values = [r.context["target"]["value"] for r in rows]
    assert values.count("returns") == 3 and values.count("hard") == 1
    assert rows[0].category == "returns" or rows[1].category == "returns"
    assert "returns questions" in " ".join(r.messages[-1]["content"] for r in rows)


def test_gap_mode_needs_targets():
    with pytest.raises(ValueError, match="target"):
        prompts.PlanConfig(mode="gaps")


def _row(mode, seeds):
    config = prompts.PlanConfig(mode=mode, n=1)
    return prompts.plan_requests(seeds, config, run_id="r", model="gpt-4o")[0]


def test_preference_record_keeps_seed_answer_as_chosen():
    seeds = support_frame(3)
    row = _row("preference", seeds)
    record = prompts.build_record({"rejected": "Not my problem."}, row, "preference")
    assert record["kind"] == "preference" and record["rejected_text"] == "Not my problem."
    seed = seeds[seeds["id"] == row.seed_ids[0]].iloc[0]
    assert record["response_text"] == seed["response_text"] and record["prompt_text"] == seed["prompt_text"]
    both = prompts.build_record({"chosen": "Good.", "rejected": "Bad."}, row, "preference")
    assert (both["response_text"], both["rejected_text"]) == ("Good.", "Bad.")


def test_paraphrase_record_keeps_answer():
    seeds = support_frame(3)
    row = _row("paraphrase", seeds)
    record = prompts.build_record({"user": "Reworded question?"}, row, "paraphrase")
    seed = seeds[seeds["id"] == row.seed_ids[0]].iloc[0]
    assert record["prompt_text"] == "Reworded question?" and record["response_text"] == seed["response_text"]


def test_sft_record_and_missing_fields():
    row = RequestRow("k", "r", 0, [], [], "billing", {}, "h", 1)
    record = prompts.build_record({"user": "Q?", "assistant": "A."}, row, "variations")
    assert record["messages"][-1] == {"role": "assistant", "content": "A."}
    assert record["category"] == "billing" and record["source"] == "synthetic"
    with pytest.raises(ValueError, match="assistant"):
        prompts.build_record({"user": "Q?"}, row, "variations")


def test_reply_schema_matches_mode():
    schema = prompts.reply_schema(prompts.PlanConfig(mode="preference", preference_sides="both"))
    assert schema["properties"]["examples"]["items"]["required"] == ["chosen", "rejected"]
    assert json.dumps(schema)


def test_expected_output_tokens_follow_seed_lengths():
    seeds = support_frame(6)
    short = prompts.expected_output_tokens(seeds, prompts.PlanConfig(mode="paraphrase"), "gpt-4o")
    full = prompts.expected_output_tokens(seeds, prompts.PlanConfig(), "gpt-4o")
    assert 0 < short < full
