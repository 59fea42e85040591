"""The planted problems of sample_data/ are really there (checked with plain json, not with core)."""

import csv
import json
import re
import subprocess
import sys
import unicodedata
from collections import Counter

import pytest

from tests.conftest import SAMPLE_DATA

SFT = SAMPLE_DATA / "support_sft.jsonl"
MALFORMED = {
    23: "invalid_json",
    88: "missing_assistant",
    147: "weight",
    219: "role",
    288: "arguments",
    351: "role",
}
CATEGORIES = {
    "billing": 62,
    "shipping": 58,
    "returns": 55,
    "technical_support": 52,
    "order_status": 48,
    "account": 45,
    "product_info": 36,
    "warranty": 26,
    "gift_cards": 12,
    "data_privacy": 8,
}
SYSTEM_ROLES = {"system", "user", "assistant", "tool"}


@pytest.fixture(scope="module")
def lines():
    return SFT.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def rows(lines):
    """Well-formed rows by line number."""
    return {n: json.loads(line) for n, line in enumerate(lines, 1) if n not in MALFORMED}


@pytest.fixture(scope="module")
def planted():
    return json.loads((SAMPLE_DATA / "planted.json").read_text())


def _text(row):
    """User + assistant text (system prompt excluded), as the dedup page compares by default."""
    return " ".join(
        m["content"]
        for m in row["messages"]
        if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str)
    )


def _normal(text):
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _shingles(text):
    words = re.findall(r"\w+", _normal(text))
    return {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def _jaccard(a, b):
    return len(a & b) / len(a | b)


def test_line_count_and_malformed_lines(lines, planted):
    assert len(lines) == 408
    assert {m["line"]: m["kind"] for m in planted["malformed"]} == MALFORMED
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        json.loads(lines[23 - 1])
    parsed = {n: json.loads(lines[n - 1]) for n in MALFORMED if n != 23}
    assert not any(m["role"] == "assistant" for m in parsed[88]["messages"])
    assert [m.get("weight") for m in parsed[147]["messages"] if m["role"] == "assistant"] == [2]
    assert parsed[219]["messages"][0]["role"] == "developer"
    call = next(m for m in parsed[288]["messages"] if m.get("tool_calls"))["tool_calls"][0]
    assert isinstance(call["function"]["arguments"], dict)
    assert {m["role"] for m in parsed[351]["messages"]} - SYSTEM_ROLES == {"customer"}


def test_every_other_line_is_well_formed(rows):
    assert len(rows) == 402
    for row in rows.values():
        roles = [m["role"] for m in row["messages"]]
        assert set(roles) <= SYSTEM_ROLES and "assistant" in roles
        assert all(m.get("weight", 1) in (0, 1) for m in row["messages"])
        for m in row["messages"]:
            for call in m.get("tool_calls") or []:
                assert isinstance(call["function"]["arguments"], str)
        assert row["source"] == "real"
        assert re.fullmatch(r"2026-(0[6-9])-\d\dT\d\d:\d\d:\d\dZ", row["created_at"])


def test_categories_two_are_under_20(rows):
    counts = Counter(r["category"] for r in rows.values())
    assert counts == CATEGORIES
    assert sorted(c for c, n in counts.items() if n < 20) == ["data_privacy", "gift_cards"]
    assert len(counts) >= 8


def test_difficulty_lacks_hard_cases(rows):
    counts = Counter(r["difficulty"] for r in rows.values())
    shares = {k: v / len(rows) for k, v in counts.items()}
    assert set(shares) == {"easy", "moderate", "hard"}
    assert 0.62 <= shares["easy"] <= 0.78
    assert 0.18 <= shares["moderate"] <= 0.30
    assert 0.03 <= shares["hard"] <= 0.08


def test_one_system_prompt_on_most_rows(rows):
    systems = Counter(
        next((m["content"] for m in r["messages"] if m["role"] == "system"), None) for r in rows.values()
    )
    assert systems.most_common(1)[0][1] / len(rows) > 0.9


def test_exact_duplicates_are_equal_after_normalisation(rows, planted):
    exact = planted["exact"]
    assert len(exact) == 15
    assert sum(d["kind"] == "exact" for d in exact) == 10
    for d in exact:
        copy, original = rows[d["line"]], rows[d["copy_of"]]
        assert _normal(_text(copy)) == _normal(_text(original))
        assert (copy == original) == (d["kind"] == "exact")


def test_near_duplicates_and_no_unplanted_pairs(rows, planted):
    near = {(d["copy_of"], d["line"]) for d in planted["near"]}
    exact = {(d["copy_of"], d["line"]) for d in planted["exact"]}
    assert len(near) == 15
    assert all(1 <= d["words_changed"] <= 5 for d in planted["near"])
    shingles = {n: _shingles(_text(r)) for n, r in rows.items()}
    numbers = sorted(shingles)
    found = set()
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            if _jaccard(shingles[a], shingles[b]) >= 0.5:
                found.add((a, b))
    assert found == near | exact
    for a, b in near:
        assert 0.8 <= _jaccard(shingles[a], shingles[b]) < 1


def test_few_negatives_one_liners_and_multi_turn(rows, planted):
    negative = re.compile(r"couldn't find|not applicable|can't share|no order|not found", re.I)
    replies = {
        n: " ".join(m["content"] or "" for m in r["messages"] if m["role"] == "assistant")
        for n, r in rows.items()
    }
    assert sorted(n for n, text in replies.items() if negative.search(text)) == planted["negatives"]
    assert len(planted["negatives"]) == 3
    assert len(planted["one_liners"]) >= 5
    for n in planted["one_liners"]:
        assert len(_text(rows[n]).split()) <= 16
    multi_turn = sum(sum(m["role"] == "user" for m in r["messages"]) > 1 for r in rows.values())
    assert multi_turn >= planted["multi_turn"] > 20  # planted counts distinct rows, not their copies
    assert sum(m.get("tool_calls") is not None for r in rows.values() for m in r["messages"]) == 3


def test_long_examples_exceed_the_gpt35_0613_limit(rows, planted):
    import bpe_openai

    encoding = bpe_openai.get_encoding("o200k_base")
    longs = [d["line"] for d in planted["long"]]
    assert len(longs) == 4
    for n in longs:
        tokens = sum(len(encoding.encode(m["content"])) for m in rows[n]["messages"] if m.get("content"))
        assert 4096 < tokens < 16385
    others = max(len(_text(r)) for n, r in rows.items() if n not in longs)
    assert others < 2000


def test_foreign_examples_are_detected(rows, planted):
    from core import lang

    languages = Counter(
        lang.detect_languages(
            next(m["content"] for m in rows[n]["messages"] if m["role"] == "user") for n in planted["foreign"]
        )
    )
    assert languages == {"es": 5, "de": 4, "fr": 3}


def test_production_inputs_have_uncovered_topics(rows):
    lines = (SAMPLE_DATA / "production_inputs.txt").read_text(encoding="utf-8").splitlines()
    assert 380 <= len(lines) <= 420 and all(line.strip() for line in lines)
    install = [x for x in lines if re.search(r"install|technician", x, re.I)]
    trade_in = [x for x in lines if re.search(r"trade.?in", x, re.I)]
    assert len(install) == 40 and len(trade_in) == 30
    training = " ".join(_text(r) for r in rows.values()).lower()
    assert "trade-in" not in training and "technician" not in training and "install" not in training
    assert sum(len(x.split()) > 120 for x in lines) >= 15


@pytest.mark.parametrize(
    ("category", "fine_tuned", "base"),
    [
        ("billing", 24, 24),
        ("shipping", 24, 18),
        ("order_status", 20, 14),
        ("product_info", 17, 20),
        ("warranty", 10, 10),
        ("gift_cards", 4, 4),
    ],
)
def test_eval_results_planted_per_category(category, fine_tuned, base):
    def correct(name):
        with (SAMPLE_DATA / name).open(encoding="utf-8") as handle:
            table = list(csv.DictReader(handle))
        return table, sum(r["expected"] == r["predicted"] for r in table if r["category"] == category)

    ft_rows, ft_correct = correct("eval_results.csv")
    base_rows, base_correct = correct("eval_results_base.csv")
    assert (ft_correct, base_correct) == (fine_tuned, base)
    assert len(ft_rows) == 200
    assert [(r["id"], r["input"]) for r in ft_rows] == [(r["id"], r["input"]) for r in base_rows]
    assert list(ft_rows[0]) == ["id", "input", "expected", "predicted", "category"]


def test_generator_is_deterministic_and_files_are_up_to_date(tmp_path):
    subprocess.run([sys.executable, str(SAMPLE_DATA / "make_samples.py"), "--out", str(tmp_path)], check=True)
    for name in (
        "support_sft.jsonl",
        "production_inputs.txt",
        "eval_results.csv",
        "eval_results_base.csv",
        "README.md",
        "planted.json",
    ):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DATA / name).read_bytes(), name
