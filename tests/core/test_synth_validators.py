import pytest

from core import records
from core.synth import mix_status, terms_notice, validators
from core.synth.validators import NearDupIndex, Rules, Validator, rules_from_data
from tests.core.conftest import support_frame


def _sft(user, assistant, category="billing"):
    record = records.make_record(
        "sft", [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    )
    record["category"] = category
    return record


_GOOD = _sft(
    "Why was my card charged two times for the same order last night?",
    "I am sorry: the second charge is a pre-authorisation and it disappears within three days.",
)


@pytest.mark.parametrize(
    "rules, record, reason",
    [
        (Rules(), _GOOD, None),
        (Rules(allowed_labels=("shipping",)), _GOOD, "label 'billing' not in the allowed set"),
        (Rules(min_chars=500), _GOOD, "too short"),
        (Rules(max_chars=20), _GOOD, "too long"),
        (Rules(language="de"), _GOOD, "language 'en', expected 'de'"),
        (Rules(language="zh-Hans"), _sft("请问我的订单什么时候到？", "您的订单明天就会送到。"), None),
        (Rules(language="de"), _sft("Who are you?", "A helpful assistant."), "language 'en', expected 'de'"),
        (Rules(must_match=(r"refund",)), _GOOD, "does not match required pattern"),
        (Rules(must_not_match=(r"(?i)sorry",)), _GOOD, "matches forbidden pattern"),
        (Rules(json_schema={"type": "object"}), _GOOD, "answer is not JSON"),
        (
            Rules(json_schema={"type": "object", "required": ["x"]}),
            _sft("Give JSON please now", '{"y": 1}'),
            "answer fails the JSON Schema",
        ),
        (
            Rules(),
            _sft(
                "Where is my parcel?",
                "Sure [<your name here>] can get the package delivered by [number of items you want]",
            ),
            "unfilled placeholder in the answer: '[<your name here>]'",
        ),
        (
            Rules(),
            _sft("Hi {customer_name}, where is my parcel?", "On its way."),
            "placeholder in the prompt",
        ),
        (Rules(reject_placeholders=False), _sft("Hi {customer_name}, where is it?", "On its way."), None),
        (
            Rules(min_word_share=0.5),
            _sft(
                "/Users/JohnDoe/.AppData/Local/Home_jd16.0.48_SJ-CfGvpB,\n2fbfdc04daa7ece.png:john.email\n@example/x",
                "Happy to help with that order today.",
            ),
            "the prompt is mostly not words (0% words, real data at least 50%)",
        ),
        (Rules(min_word_share=0.5), _GOOD, None),
        # normal answers that look a little like placeholders or non-words pass
        (Rules(), _sft("Where are my orders?", "Open [Order history](https://shop.example/orders)."), None),
        (
            Rules(),
            _sft("How do I buy it?", "Press [Add to cart], then [Enter]. Your [Order #48213] ships."),
            None,
        ),
        (Rules(), _sft("Greeting in Python?", 'Use `f"Hello {first_name}"` in your template.'), None),
        (
            Rules(min_word_share=0.5),
            _sft("¿Reembolso?", "- **Paso 1:** Abra *Ajustes*\n- **Paso 2:** Pulse"),
            None,
        ),
        (
            Rules(),
            _sft("Sign it how?", "Best regards, [CUSTOMER NAME]"),
            "placeholder in the answer: '[CUSTOMER NAME]'",
        ),
        (Rules(), records.make_record("sft", [{"role": "assistant", "content": "hi"}]), "no user message"),
        (Rules(), records.make_record("sft", [{"role": "user", "content": "hi"}]), "last message"),
    ],
)
def test_each_rule_reports_its_reason(rules, record, reason):
    reasons = Validator(rules, "variations").check(record)
    if reason is None:
        assert reasons == []
    else:
        assert any(reason in r for r in reasons), reasons


def test_near_duplicates_of_real_data_and_of_each_other_fail():
    frame = support_frame(6)
    validator = Validator(Rules(), "variations")
    validator.seed_index(
        (f"real:{r['id']}", f"{r['prompt_text']}\n{r['response_text']}") for _, r in frame.iterrows()
    )
    copy = _sft(frame.loc[0, "prompt_text"], frame.loc[0, "response_text"])
    assert any("near duplicate of real:" in r for r in validator.check(copy))
    assert validator.check(_GOOD) == []
    again = _sft(_GOOD["prompt_text"] + " Thanks.", _GOOD["response_text"])
    assert any("near duplicate of synthetic:" in r for r in validator.check(again))


def test_near_dup_index_threshold():
    index = NearDupIndex(0.8)
    index.add("a", "one two three four five six seven eight nine ten")
    assert index.query("one two three four five six seven eight nine ten")[0] == ("a", 1.0)
    assert index.query("completely different words in this sentence here now") == []


def test_preference_identical_sides_fail():
    record = records.make_record(
        "preference",
        [{"role": "user", "content": "Hi there, help?"}],
        chosen=[{"role": "assistant", "content": "Same"}],
        rejected=[{"role": "assistant", "content": "Same"}],
    )
    assert any("identical" in r for r in Validator(Rules(), "preference").check(record))


def test_rules_from_data_learns_labels_and_length_percentiles():
    rules = rules_from_data(support_frame(30), "variations")
    assert rules.allowed_labels == ("billing", "returns", "shipping")
    assert 0 < rules.min_chars <= rules.max_chars
    assert Rules.from_dict(rules.to_dict()) == rules


def test_rules_from_data_learn_how_wordy_the_real_data_is_and_whether_it_is_a_template_set():
    rules = rules_from_data(support_frame(40), "variations")
    assert rules.reject_placeholders and rules.min_word_share == 0.5  # capped: never stricter than 0.5
    codes = records.make_frame(
        [_sft(f"Decode SKU-{i}A7 X{i}-B?", f"Item {i}: ok.") for i in range(50)]
        + [_sft(f"Dear {{customer_name}}, order {i}", "Thanks") for i in range(10)]
    )
    learned = rules_from_data(codes, "variations")
    assert learned.min_word_share < 0.5  # such prompts are normal here: the bar follows the data
    assert not learned.reject_placeholders  # placeholders in 1 of 6 real examples: a template set
    assert Validator(learned, "variations").check(_sft("Decode SKU-99A7 X9-B?", "Item 9: ok.")) == []


def test_the_rejected_side_of_a_preference_pair_may_be_flawed():
    record = records.make_record(
        "preference",
        [{"role": "user", "content": "Where is my parcel?"}],
        chosen=[
            {"role": "assistant", "content": "It arrives on Tuesday; the tracking link is in your email."}
        ],
        rejected=[{"role": "assistant", "content": "Dear [your name], it arrives [insert date]."}],
    )
    assert Validator(Rules(min_word_share=0.5), "preference").check(record) == []


def test_bad_regex_is_refused():
    with pytest.raises(ValueError, match="invalid regex"):
        Rules(must_match=("(",))


@pytest.mark.parametrize(
    "real, synthetic, level",
    [(100, 0, "ok"), (40, 60, "ok"), (39, 61, "warn"), (30, 70, "warn"), (29, 71, "block"), (0, 0, "ok")],
)
def test_mix_status(real, synthetic, level):
    status = mix_status(real, synthetic)
    assert status.level == level
    assert status.blocks_export is (level == "block")


def test_mix_status_refuses_negative_counts():
    with pytest.raises(ValueError, match="real=-1"):
        mix_status(-1, 3)


@pytest.mark.parametrize(
    "teacher, target, shown",
    [
        ("openai", "openai", False),
        ("anthropic", "openai", True),
        ("local", "openai", False),
        ("google", None, False),
    ],
)
def test_terms_notice(teacher, target, shown):
    assert (terms_notice(teacher, target) is not None) is shown


@pytest.mark.parametrize(
    "target_format, weight, failing",
    [("openai-sft", 1, False), ("openai-sft", 2, True), ("alpaca", 2, False), (None, 2, False)],
)
def test_target_format_validation(target_format, weight, failing):
    record = records.make_record(
        "sft",
        [
            {"role": "user", "content": "Why was my card charged two times for the same order?"},
            {
                "role": "assistant",
                "content": "A pre-authorisation; it disappears in three days.",
                "weight": weight,
            },
        ],
    )
    reasons = Validator(Rules(target_format=target_format), "variations").check(record)
    assert any("weight" in r for r in reasons) is failing


@pytest.mark.parametrize(
    "source, mode, expected",
    [
        ("openai-sft", "variations", "openai-sft"),
        ("openai-sft", "preference", "openai-dpo"),
        (None, "paraphrase", "openai-sft"),
    ],
)
def test_target_format_for(source, mode, expected):
    from core.synth.validators import target_format_for

    assert target_format_for(source, mode) == expected


@pytest.mark.parametrize(
    "reply, code",
    [
        ("As an AI language model, I cannot help with refunds.", "refusal"),
        ("Write to jane.doe@example.org and we will refund you.", "pii_email"),
        ("Your key is AKIAIOSFODNN7EXAMPLE, keep it safe.", "secret_api_key"),
        ("How do I get a refund for my order number 1234?", "echo_response"),
    ],
)
def test_a_generated_example_with_a_quality_flag_is_rejected_with_its_code(reply, code):
    from core import records

    record = records.make_record(
        "sft",
        [
            {"role": "user", "content": "How do I get a refund for my order number 1234?"},
            {"role": "assistant", "content": reply},
        ],
    )
    reasons = validators.quality_reasons(record)
    assert [r.split(":")[0] for r in reasons] == [code]
    assert validators.Validator(validators.Rules(), "variations").check(record) == reasons


def _paraphrase_validator(cosine=0.85):
    from tests.paraphrase_corpus import PARAPHRASES

    validator = Validator(Rules(paraphrase_cosine=cosine), "variations")
    validator.seed_index(
        (f"real:seed{i}", f"{a}\nHere is how.") for i, (_, a, _) in enumerate(PARAPHRASES[:16])
    )
    return validator, PARAPHRASES


def test_a_generated_restatement_of_a_seed_is_rejected_with_the_paraphrase_code_and_the_seed():
    validator, paraphrases = _paraphrase_validator()
    restated = _sft(paraphrases[1][2], "Here is how.")  # "Which city is France's capital?"
    reasons = validator.check(restated)
    assert [r.split(":")[0] for r in reasons] == ["paraphrase"]
    assert "real:seed1" in reasons[0] and "cosine" in reasons[0]


def test_a_new_request_passes_and_its_restatement_is_then_rejected_as_a_synthetic_paraphrase():
    validator, _ = _paraphrase_validator()
    new = _sft("How do I repot a cactus without hurting my hands?", "Here is how.")
    assert validator.check(new) == []
    again = _sft("What is the way to repot a cactus without hurting my hands?", "Here is how.")
    reasons = validator.check(again)
    assert len(reasons) == 1 and reasons[0].startswith("paraphrase: restates synthetic:")


def test_paraphrase_check_is_off_unless_asked_for():
    assert Validator(Rules(), "variations").paraphrases is None
    assert rules_from_data(support_frame(10), "variations").paraphrase_cosine is None
    asked = rules_from_data(support_frame(10), "variations", paraphrase_cosine=validators.PARAPHRASE_COSINE)
    assert Rules.from_dict(asked.to_dict()) == asked
    assert Validator(asked, "variations").paraphrases.cosine == validators.PARAPHRASE_COSINE
    with pytest.raises(ValueError, match="paraphrase_cosine"):
        Rules(paraphrase_cosine=1.5)


SEED_ANSWER = (
    "To reset your password open Settings, choose Security, click Reset password, then follow the link"
    " we email you within five minutes and pick a new password of at least twelve characters."
)


def test_an_answer_copied_from_a_seed_under_a_new_question_is_rejected_with_the_seed():
    validator = Validator(Rules(), "variations")
    validator.answer_index([("real:seed7", SEED_ANSWER), ("real:seed8", "positive")])
    copied = _sft("My login stopped working after yesterday's update, what can I do about it?", SEED_ANSWER)
    reasons = validator.check(copied)
    assert [r.split(":")[0] for r in reasons] == ["copied_answer"] and "real:seed7" in reasons[0]
    assert validator.check(_sft("Is this review happy? I love it", "positive")) == []  # a label is no copy
    own = _sft("How do I change my e-mail address?", "Open Settings, then Account, type the new address.")
    assert validator.check(own) == []
