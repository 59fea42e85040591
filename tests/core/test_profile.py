import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from core import profile, records, tokens
from core.__main__ import main
from tests.conftest import ROOT

_TOPIC_WORDS = [
    "refund",
    "invoice",
    "parcel",
    "courier",
    "password",
    "login",
    "battery",
    "charger",
    "warranty",
    "coupon",
]


def _prompt(i: int, words: int = 8) -> str:
    rng = np.random.default_rng(i)
    return " ".join(str(w) for w in rng.choice(_TOPIC_WORDS, size=words)) + f" please help with case {i}."


def make_frame(rows: list[dict]) -> pd.DataFrame:
    """rows: dicts with prompt, response and optional metadata keys."""
    built = []
    for row in rows:
        messages = [
            {"role": "user", "content": row["prompt"]},
            {"role": "assistant", "content": row.get("response", "Sure, done.")},
        ]
        extra = {k: v for k, v in row.items() if k not in ("prompt", "response")}
        built.append(records.make_record("sft", messages, extra=extra))
    return records.make_frame(built)


def frame_of(n: int, **metadata) -> pd.DataFrame:
    return make_frame([{"prompt": _prompt(i), **metadata} for i in range(n)])


def check(
    frame: pd.DataFrame, check_id: str, config: profile.ProfileConfig | None = None, **kwargs
) -> profile.Check:
    features = profile.compute_features(frame, config)
    checks = profile.run_checks(features, config, **kwargs)
    return next(c for c in checks if c.id == check_id)


# -- category coverage -----------------------------------------------------------------------


@pytest.mark.parametrize(("small", "status"), [(19, "fail"), (20, "warn"), (29, "warn"), (30, "pass")])
def test_category_coverage_thresholds(small, status):
    rows = [{"prompt": _prompt(i), "category": "tiny"} for i in range(small)]
    rows += [{"prompt": _prompt(100 + i), "category": "big"} for i in range(40)]
    result = check(make_frame(rows), "category_coverage")
    assert result.status == status
    assert result.value == small
    if status == "pass":
        assert result.row_ids == ()
    else:
        assert result.row_ids == tuple(range(small))
        assert f"tiny ({small})" in result.message
    if status == "fail":
        assert "guessing" in result.message


def test_category_missing_is_not_labelled_with_mapping_hint():
    result = check(frame_of(40), "category_coverage")
    assert result.status == "not_labelled"
    assert "Upload page" in result.message and "`category` key" in result.message


# -- difficulty ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("easy", "easy"),
        ("medium", "moderate"),
        ("Difficult", "hard"),
        ("1", "easy"),
        (2, "moderate"),
        (3.0, "hard"),
        (" EASY ", "easy"),
        ("weird", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_normalize_difficulty(value, expected):
    assert profile.normalize_difficulty(value) == expected


def _difficulty_frame(
    easy: int, moderate: int, hard: int, spelled: tuple[str, str, str] = ("easy", "moderate", "hard")
):
    levels = [spelled[0]] * easy + [spelled[1]] * moderate + [spelled[2]] * hard
    return make_frame([{"prompt": _prompt(i), "difficulty": level} for i, level in enumerate(levels)])


def test_difficulty_exact_target_passes():
    result = check(_difficulty_frame(60, 25, 15), "difficulty_mix")
    assert result.status == "pass"
    assert result.value["p_value"] == pytest.approx(1.0)
    assert result.value["shortfall"] == {"easy": 0, "moderate": 0, "hard": 0}


def test_difficulty_lacking_hard_fails_with_shortfall_and_synonyms():
    result = check(_difficulty_frame(80, 15, 5, ("1", "medium", "difficult")), "difficulty_mix")
    assert result.status == "fail"
    assert "hard" in result.message
    # 80 easy must stay 60%: total 133.3 -> 34 moderate (+19), 20 hard (+15)
    assert result.value["shortfall"] == {"easy": 0, "moderate": 19, "hard": 15}
    assert result.value["shares"] == {"easy": 0.8, "moderate": 0.15, "hard": 0.05}
    assert len(result.row_ids) == 5


def test_difficulty_significant_but_moderate_deviation_warns():
    # chi2 = 24^2/240 + 12^2/100 + 12^2/60 = 6.24, df 2 -> p = 0.044
    result = check(_difficulty_frame(264, 88, 48), "difficulty_mix")
    assert result.status == "warn"
    assert result.value["p_value"] == pytest.approx(math.exp(-6.24 / 2), rel=1e-3)


def test_difficulty_missing_is_not_labelled():
    result = check(frame_of(10, difficulty="unknown-scale"), "difficulty_mix")
    assert result.status == "not_labelled"
    assert "unknown-scale" in result.message


@given(hs.tuples(hs.integers(0, 500), hs.integers(0, 500), hs.integers(0, 500)).filter(lambda t: sum(t) > 0))
def test_difficulty_shortfall_reaches_target(counts):
    current = dict(zip(profile.DIFFICULTY_LEVELS, counts, strict=True))
    shortfall = profile.difficulty_shortfall(current, profile.DIFFICULTY_TARGET)
    needed = max(current[lv] / share for lv, share in profile.DIFFICULTY_TARGET.items())
    for level, share in profile.DIFFICULTY_TARGET.items():
        assert shortfall[level] >= 0
        assert current[level] + shortfall[level] >= share * needed - 1e-6


# -- negatives -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "negative"),
    [
        ("Not found.", True),
        ("N/A", True),
        ("none", True),
        ("[]", True),
        ("{}", True),
        ("null", True),
        ('{"results": [], "next": null}', True),
        ("I'm sorry, but I can't help with that.", True),
        ("I'm unable to share other customers' data.", True),
        ("No results found for that order number.", True),
        ("Not applicable: the vacuum has no engine.", True),
        ("I couldn't find an order with that number.", True),
        ("Your order was found and ships today.", False),
        ('{"results": [1, 2]}', False),
        ("Sure! " + "Here are the steps in detail. " * 10 + "If the file is not found, reinstall.", False),
    ],
)
def test_is_negative(response, negative):
    pattern = profile.compile_patterns(profile.DEFAULT_NEGATIVE_PATTERNS)
    assert profile.is_negative(response, pattern) is negative


def test_negative_patterns_are_configurable():
    pattern = profile.compile_patterns([r"^nope$"])
    assert profile.is_negative("Nope", pattern)
    assert not profile.is_negative("Not found.", pattern)


@pytest.mark.parametrize(
    ("negatives", "status", "missing"), [(0, "warn", 6), (2, "warn", 4), (10, "pass", 0)]
)
def test_negatives_check_and_target(negatives, status, missing):
    rows = [
        {"prompt": _prompt(i), "response": "Not found." if i < negatives else "Here you go."}
        for i in range(100)
    ]
    frame = make_frame(rows)
    result = check(frame, "negatives")
    assert result.status == status
    assert result.row_ids == tuple(range(negatives))
    targets = profile.compute_targets(profile.compute_features(frame))
    found = [t for t in targets if t["kind"] == "negative"]
    assert (found[0]["missing"] if found else 0) == missing


# -- lengths ---------------------------------------------------------------------------------


def test_length_diversity_needs_short_and_long_inputs():
    short_only = frame_of(10)
    result = check(short_only, "length_diversity")
    assert result.status == "warn" and "3+ paragraph" in result.message
    long_prompt = "First part here.\n\nSecond part here.\n\nThird part here."
    both = make_frame([{"prompt": _prompt(i)} for i in range(10)] + [{"prompt": long_prompt}])
    result = check(both, "length_diversity")
    assert result.status == "pass"
    assert result.value == {"one_sentence": 10, "three_paragraphs": 1}


def test_length_outliers_are_listed():
    rows = [{"prompt": _prompt(i, words=8 + i % 5)} for i in range(40)]
    rows[7]["prompt"] = "word " * 600
    rows[23]["prompt"] = "other " * 900
    result = check(make_frame(rows), "length_outliers")
    assert result.status == "warn"
    assert result.row_ids == (7, 23)


def test_robust_z_known_values():
    z = profile.robust_z(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    # median 3, MAD 1 -> 0.6745 * (x - 3)
    assert z == pytest.approx(0.6745 * np.array([-2, -1, 0, 1, 97]))
    assert not profile.robust_z(np.array([5.0, 5.0, 5.0])).any()


def test_token_limit_of_the_target_model():
    rows = [{"prompt": _prompt(i)} for i in range(5)] + [{"prompt": "word " * 5000}]
    config = profile.ProfileConfig(model="gpt-3.5-turbo-0613")
    result = check(make_frame(rows), "token_limit", config, token_limit=4096)
    assert result.status == "fail"
    assert result.row_ids == (5,) and result.value == 1
    assert check(make_frame(rows), "token_limit", token_limit=65_536).status == "pass"


# -- languages, time, size, synthetic, later steps -------------------------------------------

_SPANISH = [
    "¿Dónde está mi pedido? Lo compré hace una semana y todavía no ha llegado a mi casa.",
    "Quiero devolver los auriculares porque no funcionan bien desde el primer día de uso.",
    "Me cobraron dos veces el mismo pedido con mi tarjeta de crédito, ¿me pueden ayudar?",
]


def test_language_mix_lists_thin_languages():
    rows = [
        {"prompt": f"Where is my order number {i}? It has not arrived yet and I am getting worried."}
        for i in range(35)
    ]
    rows += [{"prompt": text} for text in _SPANISH]
    result = check(make_frame(rows), "language_mix")
    assert result.status == "warn"
    assert result.value == {"en": 35, "es": 3}
    assert result.row_ids == (35, 36, 37)


def test_stray_rows_and_short_texts_ask_for_no_language_examples():
    # issue 16: short English rows read as it/bs and Chinese ones as ja/wuu/yue made targets
    rows = [
        {"prompt": f"Where is my order number {i}? It has not arrived yet and I am getting worried."}
        for i in range(35)
    ]
    rows += [{"prompt": t} for t in ("Tell me who you are.", "What do you do?", "Thanks!", "ok")]
    rows += [{"prompt": t} for t in ("我想退货", "今天天气很好。", "你好，请问我的订单什么时候到？")]
    rows += [{"prompt": _SPANISH[0]}, {"prompt": _SPANISH[1], "language": "bs"}]
    features = profile.compute_features(make_frame(rows))
    assert set(profile.language_counts(features)) <= {"en", "und", "zh", "es", "bs"}
    targets = [t for t in profile.compute_targets(features) if t["kind"] == "language"]
    assert [(t["value"], t["missing"]) for t in targets] == [("zh", 27)]
    result = profile.check_languages(features, profile.ProfileConfig())
    assert result.status == "warn" and "zh (3)" in result.message
    assert "Stray rows in bs (1), es (1)" in result.message


def test_stray_language_must_fit_min_language():
    with pytest.raises(ValueError, match="stray_language"):
        profile.ProfileConfig(stray_language=40)


def test_declared_language_wins_over_detection():
    frame = make_frame([{"prompt": "Where is my parcel? It is late again.", "language": "de-DE"}])
    assert profile.compute_features(frame)["language"].tolist() == ["de"]


def test_temporal_spread():
    one_day = frame_of(20, created_at="2026-06-01T10:00:00Z")
    assert check(one_day, "temporal_spread").status == "warn"
    days = pd.date_range("2026-01-01", periods=20, freq="3D", tz="UTC")
    spread = make_frame([{"prompt": _prompt(i), "created_at": d.isoformat()} for i, d in enumerate(days)])
    result = check(spread, "temporal_spread")
    assert result.status == "pass" and result.value["span_days"] == 57
    assert check(frame_of(5), "temporal_spread").status == "not_labelled"


@pytest.mark.parametrize(("n", "status"), [(40, "fail"), (80, "warn"), (150, "pass")])
def test_dataset_size_against_task_type(n, status):
    config = profile.ProfileConfig(task_type="narrow classification")
    assert check(frame_of(n), "dataset_size", config).status == status


def test_task_size_table_comes_from_the_issue():
    assert profile.TASK_SIZES["narrow classification"] == (100, 500)
    assert profile.TASK_SIZES["complex style"] == (500, 2_000)
    assert profile.TASK_SIZES["multi-step"] == (2_000, 10_000)


@pytest.mark.parametrize(("synthetic", "status"), [(0, "pass"), (50, "pass"), (65, "warn"), (75, "fail")])
def test_synthetic_share(synthetic, status):
    rows = [{"prompt": _prompt(i), "source": "synthetic" if i < synthetic else None} for i in range(100)]
    result = check(make_frame(rows), "synthetic_share")
    assert result.status == status
    assert result.value == synthetic / 100
    if synthetic == 0:
        assert "No synthetic data yet" in result.message


@pytest.mark.parametrize(
    ("steps", "check_id", "status"),
    [
        (profile.StepSummaries(), "duplicates", "not_run"),
        (profile.StepSummaries(duplicate_share=0.10), "duplicates", "warn"),
        (profile.StepSummaries(duplicate_share=0.0), "duplicates", "pass"),
        (profile.StepSummaries(), "label_agreement", "not_run"),
        (profile.StepSummaries(agreement=0.5), "label_agreement", "fail"),
        (profile.StepSummaries(agreement=0.7), "label_agreement", "warn"),
        (profile.StepSummaries(agreement=0.9), "label_agreement", "pass"),
        (profile.StepSummaries(), "production_coverage", "not_run"),
        (profile.StepSummaries(uncovered_share=0.3), "production_coverage", "warn"),
        (profile.StepSummaries(uncovered_share=0.05), "production_coverage", "pass"),
    ],
)
def test_later_step_checks(steps, check_id, status):
    assert check(frame_of(3), check_id, steps=steps).status == status


# -- the whole profile -----------------------------------------------------------------------


def test_every_rule_of_the_issue_has_a_check():
    features = profile.compute_features(frame_of(5))
    ids = [c.id for c in profile.run_checks(features)]
    assert ids == [
        "category_coverage",
        "difficulty_mix",
        "negatives",
        "length_diversity",
        "length_outliers",
        "token_limit",
        "language_mix",
        "temporal_spread",
        "dataset_size",
        "synthetic_share",
        "duplicates",
        "label_agreement",
        "production_coverage",
    ]


def _profile(frame):
    config = profile.ProfileConfig()
    return profile.build_profile(profile.compute_features(frame, config), config)


def test_targets_use_the_shared_format():
    rows = [
        {"prompt": _prompt(i), "category": "tiny" if i < 5 else "big", "difficulty": "easy", "response": "ok"}
        for i in range(50)
    ]
    result = _profile(make_frame(rows))
    kinds = {t["kind"] for t in result.targets}
    assert {"category", "difficulty", "negative"} <= kinds
    for target in result.targets:
        assert set(target) == {"kind", "value", "missing", "description", "examples"}
        assert target["missing"] > 0 and isinstance(target["examples"], list)
    tiny = next(t for t in result.targets if t["kind"] == "category")
    assert tiny["value"] == "tiny" and tiny["missing"] == 25
    json.dumps(list(result.targets))


def test_summary_shape():
    rows = [{"prompt": _prompt(i), "category": "a", "difficulty": "easy"} for i in range(4)]
    summary = _profile(make_frame(rows)).summary()
    assert summary["rows"] == 4
    assert summary["categories"] == {"a": 4}
    assert summary["difficulty"] == {"easy": 1.0, "moderate": 0.0, "hard": 0.0}
    assert set(summary["tokens"]["prompt"]) == {"min", "mean", "p50", "p90", "p99", "max"}
    json.dumps(summary)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task_type": "poetry"}, "task_type must be one of .* got 'poetry'"),
        ({"fail_class": 40}, "fail_class <= min_class, got 40"),
        ({"negative_patterns": ("(",)}, r"negative pattern '\(' is not a valid regular expression"),
        ({"difficulty_target": {"easy": 1.0}}, "difficulty_target must name"),
        ({"synthetic_warn": 0.8, "synthetic_fail": 0.7}, "synthetic_warn <= synthetic_fail"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        profile.ProfileConfig(**kwargs)


def test_check_rejects_unknown_status():
    with pytest.raises(ValueError, match="status"):
        profile.Check("x", "X", "maybe", None, "", "")


# -- command line ----------------------------------------------------------------------------


def test_cli_json_shape_with_mapped_fields(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    lines = []
    for i in range(40):
        messages = [
            {"role": "user", "content": _prompt(i)},
            {"role": "assistant", "content": "Not found." if i < 3 else "Done."},
        ]
        lines.append(json.dumps({"messages": messages, "intent": "a" if i < 25 else "b", "level": "medium"}))
    path.write_text("\n".join(lines) + "\n")
    code = main(["profile", str(path), "--category-field", "intent", "--difficulty-field", "level", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(payload) == [
        "rows",
        "tokens",
        "categories",
        "difficulty",
        "languages",
        "negatives",
        "checks",
        "drift",
        "targets",
    ]
    assert payload["rows"] == 40
    assert payload["categories"] == {"a": 25, "b": 15}
    assert payload["difficulty"] == {"easy": 0.0, "moderate": 1.0, "hard": 0.0}
    assert payload["negatives"] == pytest.approx(3 / 40)
    assert set(payload["tokens"]) >= {"prompt", "response"}
    assert all(set(c) == {"id", "status", "value", "threshold", "message"} for c in payload["checks"])
    assert payload["drift"] is None


def test_cli_unknown_field_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    path.write_text(
        json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
        + "\n"
    )
    assert main(["profile", str(path), "--category-field", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sample_data_shows_the_planted_gaps(capsys):
    assert main(["profile", str(ROOT / "sample_data" / "support_sft.jsonl"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    checks = {c["id"]: c for c in payload["checks"]}
    assert checks["category_coverage"]["status"] == "fail"
    assert (
        "gift_cards" in checks["category_coverage"]["message"]
        and "data_privacy" in checks["category_coverage"]["message"]
    )
    assert checks["difficulty_mix"]["status"] == "fail" and "hard" in checks["difficulty_mix"]["message"]
    assert checks["negatives"]["status"] == "warn"
    kinds = {(t["kind"], t["value"]) for t in payload["targets"]}
    assert {
        ("category", "gift_cards"),
        ("category", "data_privacy"),
        ("difficulty", "hard"),
        ("negative", "negative"),
    } <= kinds


def test_patterns_anchored_at_the_start_are_tried_there_only():
    patterns = profile.compile_patterns([r"^none$", r"not found", r"^a|b"])
    assert patterns.anchored is not None and patterns.anchored.pattern == "(?:^none$)"
    assert patterns.search("none") and patterns.search("it was not found")
    assert patterns.search("xxb")  # "^a|b": only its first branch is anchored, so it is searched
    assert not patterns.search("there is none")
    assert not profile.compile_patterns([]).search("anything")


def test_stored_measures_give_the_same_features(support_seeds):
    sample_frame = support_seeds
    config = profile.ProfileConfig()
    measures = profile.measure_texts(sample_frame, config.negative_patterns)
    assert list(measures.columns) == list(profile.TEXT_MEASURES)
    counts = tokens.count_frame(sample_frame, model=config.model)
    given = profile.compute_features(sample_frame, config, token_counts=counts, text_measures=measures)
    pd.testing.assert_frame_equal(given, profile.compute_features(sample_frame, config))
    with pytest.raises(ValueError, match="text_measures has"):
        profile.compute_features(sample_frame, config, text_measures=measures.iloc[:3])
