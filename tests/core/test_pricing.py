import datetime as dt
import json
import math

import hypothesis
import hypothesis.strategies as hs
import pytest

from core import pricing
from core.errors import DatasetError
from core.pricing import (
    FinetuneEstimate,
    ModelPrice,
    Usage,
    default_epochs,
    finetune_estimate,
    generation_cost,
    get_price,
    list_models,
    load_prices,
)

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def table():
    return load_prices()


# --- the bundled table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "values"),
    [
        ("gpt-4.1", {"input": 2.0, "cached_input": 0.5, "output": 8.0, "training": 25.0, "ft_output": 12.0}),
        (
            "gpt-4.1-mini",
            {"input": 0.4, "cached_input": 0.1, "output": 1.6, "training": 5.0, "ft_input": 0.8},
        ),
        ("gpt-4.1-nano", {"input": 0.1, "cached_input": 0.025, "output": 0.4, "training": 1.5}),
        ("o4-mini", {"input": 1.1, "cached_input": 0.275, "output": 4.4, "training_per_hour": 100.0}),
        ("gpt-5.4", {"input": 2.5, "cached_input": 0.25, "output": 15.0, "training": None}),
        ("claude-opus-4-7", {"input": 5.0, "cached_input": 0.5, "output": 25.0, "provider": "anthropic"}),
        ("claude-sonnet-4-6", {"input": 3.0, "output": 15.0}),
        ("gemini-3.1-pro-preview", {"input": 2.0, "cached_input": None, "output": 12.0, "long_output": 18.0}),
        ("smollm2-135m-instruct", {"input": 0.0, "output": 0.0, "local": True, "provider": "local"}),
    ],
)
def test_bundled_prices_match_formats_md(table, model, values):
    price = table[model]
    for name, value in values.items():
        assert getattr(price, name) == value, name


def test_every_entry_is_dated_and_sourced(table):
    for price in table.values():
        assert price.seen and price.source, price.model


def test_list_models(table):
    assert "gpt-4.1" in list_models(table)
    assert list_models(table, provider="anthropic") == ["claude-opus-4-7", "claude-sonnet-4-6"]
    assert set(list_models(table, fine_tunable=True)) == {
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o4-mini",
    }
    assert list_models() == list(table)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
    ],
)
def test_get_price_dated_ids(table, model, expected):
    assert get_price(model, table) == table[expected]


def test_get_price_fine_tuned_id_uses_fine_tuned_inference_prices(table):
    price = get_price("ft:gpt-4.1-mini-2025-04-14:org::abc123", table)
    assert (price.input, price.cached_input, price.output) == (0.8, 0.2, 3.2)
    assert price.model == "ft:gpt-4.1-mini-2025-04-14:org::abc123"


def test_get_price_unknown_model_names_it(table):
    with pytest.raises(ValueError, match="mystery-model"):
        get_price("mystery-model", table)
    with pytest.raises(ValueError, match="fine-tuned"):
        get_price("ft:gpt-5.4:org::x", table)


# --- ModelPrice / Usage validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"model": ""}, "model"),
        ({"provider": ""}, "provider"),
        ({"input": -1.0}, "input"),
        ({"output": math.nan}, "output"),
        ({"cached_input": "cheap"}, "cached_input"),
        ({"training": 1.0, "training_per_hour": 2.0}, "not both"),
        ({"seen": "last week"}, "seen"),
        ({"local": True}, "local"),
        ({"long_context_above": 100}, "long_input"),
        ({"long_context_above": -5, "long_input": 1.0, "long_output": 1.0}, "long_context_above"),
    ],
)
def test_model_price_rejects_bad_values(changes, match):
    with pytest.raises(ValueError, match=match):
        ModelPrice(**{"model": "m", "provider": "p", "input": 1.0, "output": 2.0, **changes})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prompt_tokens": -1}, "prompt_tokens"),
        ({"completion_tokens": 1.5}, "completion_tokens"),
        ({"prompt_tokens": 5, "cached_tokens": 6}, "cannot exceed"),
        ({"prompt_tokens": True}, "prompt_tokens"),
    ],
)
def test_usage_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Usage(**kwargs)


def test_usage_adds_up_and_reads_openai_usage():
    total = Usage(10, 4, 5) + Usage(prompt_tokens=1, completion_tokens=2)
    assert total == Usage(prompt_tokens=11, cached_tokens=4, completion_tokens=7)
    assert total.total_tokens == 18
    payload = {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 64}}
    assert Usage.from_openai(payload) == Usage(100, 64, 20)
    assert Usage.from_openai({"prompt_tokens": 3, "completion_tokens": 1}) == Usage(3, 0, 1)

    class Details:
        cached_tokens = None

    class Reply:
        prompt_tokens, completion_tokens, prompt_tokens_details = 7, 2, Details()

    assert Usage.from_openai(Reply()) == Usage(7, 0, 2)


# --- generation cost -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "usage", "usd"),
    [
        # 1M uncached prompt + 1M completion at gpt-4.1: 2.00 + 8.00
        ("gpt-4.1", Usage(1_000_000, 0, 1_000_000), 10.0),
        # 1,000 prompt of which 400 cached, 500 completion at gpt-4.1-mini:
        # 600 x 0.40 + 400 x 0.10 + 500 x 1.60 = 240 + 40 + 800 = 1,080 per 1M -> 0.00108
        ("gpt-4.1-mini", Usage(1_000, 400, 500), 0.00108),
        # Gemini has no cached rate: cached tokens are priced as input. 2.00 x 1000 + 12 x 100
        ("gemini-3.1-pro-preview", Usage(1_000, 500, 100), 0.0032),
        # Above 200K prompt tokens Gemini's long-context rates apply to the whole request.
        ("gemini-3.1-pro-preview", Usage(300_000, 0, 1_000), (300_000 * 4.0 + 1_000 * 18.0) / 1e6),
        # gpt-5.4 over 272K: 5.00 / 0.50 / 22.50
        ("gpt-5.4", Usage(300_000, 100_000, 10_000), (200_000 * 5 + 100_000 * 0.5 + 10_000 * 22.5) / 1e6),
        ("gpt-5.4", Usage(272_000, 0, 0), 272_000 * 2.5 / 1e6),
        ("smollm2-135m-instruct", Usage(10**9, 0, 10**9), 0.0),
    ],
)
def test_generation_cost(table, model, usage, usd):
    assert generation_cost(usage, table[model]) == pytest.approx(usd)


def test_fine_tuned_generation_cost(table):
    price = get_price("ft:gpt-4.1-2025-04-14:org::x", table)
    assert generation_cost(Usage(1_000_000, 1_000_000, 1_000_000), price) == pytest.approx(0.75 + 12.0)


@hypothesis.given(
    prompt=hs.integers(0, 10**7),
    cached_fraction=hs.floats(0, 1),
    completion=hs.integers(0, 10**6),
    model=hs.sampled_from(
        ["gpt-4.1", "gpt-4.1-mini", "o4-mini", "gpt-5.4", "claude-opus-4-7", "gemini-3.1-pro-preview"]
    ),
)
def test_cache_never_costs_more_than_no_cache(prompt, cached_fraction, completion, model):
    price = load_prices()[model]
    cached = int(prompt * cached_fraction)
    cost = generation_cost(Usage(prompt, cached, completion), price)
    assert 0 <= cost <= generation_cost(Usage(prompt, 0, completion), price) + 1e-12


# --- fine-tuning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "epochs"),
    [
        (1, 25),
        (3, 25),
        (4, 25),
        (5, 20),
        (10, 10),
        (33, 3),
        (34, 3),
        (100, 3),
        (8_333, 3),
        (8_334, 2),
        (25_000, 1),
        (100_000, 1),
    ],
)
def test_default_epochs_cookbook_rule(n, epochs):
    assert default_epochs(n) == epochs


def test_default_epochs_edges():
    assert default_epochs(0) == pricing.MAX_DEFAULT_EPOCHS
    with pytest.raises(ValueError, match="-1"):
        default_epochs(-1)


def test_finetune_estimate_gpt41_mini():
    counts = [1_000] * 99 + [70_000]
    estimate = finetune_estimate(counts, "gpt-4.1-mini", today=TODAY)
    assert estimate.epochs == 3
    assert estimate.token_limit == 65_536
    assert estimate.billable_tokens == 99_000 + 65_536
    assert estimate.charged_tokens == 3 * (99_000 + 65_536)
    assert estimate.truncated_examples == 1
    assert estimate.usd == pytest.approx(3 * 164_536 * 5.0 / 1e6)
    assert estimate.price_per_1m == 5.0
    assert any("2027-01-06" in note for note in estimate.notes)
    assert any("truncated" in note for note in estimate.notes)


def test_finetune_estimate_explicit_epochs_and_ft_model():
    estimate = finetune_estimate([100] * 10, "ft:gpt-4.1-nano-2025-04-14:org::x", epochs=2, today=TODAY)
    assert (estimate.epochs, estimate.charged_tokens) == (2, 2_000)
    assert estimate.usd == pytest.approx(2_000 * 1.5 / 1e6)


def test_finetune_estimate_o4_mini_is_billed_per_hour():
    estimate = finetune_estimate([500] * 200, "o4-mini", today=TODAY)
    assert estimate.usd is None
    assert any("billed per hour" in note and "100.00" in note for note in estimate.notes)
    assert any("16,385" in note for note in estimate.notes)  # no limit known: the cookbook's
    assert estimate.charged_tokens == 3 * 100_000


def test_finetune_estimate_model_without_training_price():
    estimate = finetune_estimate([10] * 20, "gpt-5.4", today=TODAY)
    assert estimate.usd is None
    assert any("no fine-tuning price" in note for note in estimate.notes)


def test_platform_note_after_closing():
    estimate = finetune_estimate([10] * 20, "gpt-4.1", today=dt.date(2027, 2, 1))
    assert any("closed to new jobs on 2027-01-06" in note for note in estimate.notes)
    assert not any("OpenAI" in note for note in finetune_estimate([1], "claude-opus-4-7").notes)


def test_finetune_estimate_accepts_numpy_and_empty():
    np = pytest.importorskip("numpy")
    assert finetune_estimate(np.array([5, 6]), "gpt-4.1", today=TODAY).billable_tokens == 11
    empty = finetune_estimate([], "gpt-4.1", today=TODAY)
    assert (empty.n_examples, empty.charged_tokens, empty.usd) == (0, 0, 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1], "gpt-4.1"), {"epochs": 0}, "epochs"),
        (([1], "gpt-4.1"), {"epochs": 51}, "epochs"),
        (([1], "gpt-4.1"), {"epochs": 2.5}, "epochs"),
        (([-3], "gpt-4.1"), {}, "-3"),
        (([1], "unknown-model"), {}, "unknown-model"),
    ],
)
def test_finetune_estimate_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        finetune_estimate(*args, **kwargs)


@hypothesis.given(
    counts=hs.lists(hs.integers(0, 200_000), max_size=50), epochs=hs.none() | hs.integers(1, 50)
)
def test_finetune_invariants(counts, epochs):
    estimate = finetune_estimate(counts, "gpt-4.1", epochs=epochs, today=TODAY)
    assert isinstance(estimate, FinetuneEstimate)
    assert estimate.billable_tokens <= sum(counts)
    assert estimate.billable_tokens == sum(min(65_536, c) for c in counts)
    assert estimate.charged_tokens == estimate.epochs * estimate.billable_tokens
    assert estimate.usd == pytest.approx(estimate.charged_tokens * 25.0 / 1e6)


# --- user overrides ------------------------------------------------------------------------------


def test_user_overrides_merge_field_by_field(tmp_path):
    (tmp_path / "prices.json").write_text(
        json.dumps(
            {
                "models": {
                    "gpt-4.1": {"input": 1.5, "seen": "2026-11-20", "source": "my invoice"},
                    "my-vllm": {
                        "provider": "local",
                        "local": True,
                        "input": 0,
                        "output": 0,
                        "seen": "2026-11",
                    },
                }
            }
        )
    )
    table = load_prices(tmp_path)  # a workspace folder
    assert table["gpt-4.1"].input == 1.5
    assert table["gpt-4.1"].output == 8.0  # untouched fields keep the bundled value
    assert table["my-vllm"].local
    assert load_prices(tmp_path / "prices.json") == table  # or the file itself
    assert load_prices()["gpt-4.1"].input == 2.0  # the bundled table is not changed


def test_missing_user_file_means_bundled(tmp_path):
    assert load_prices(tmp_path) == load_prices()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "cannot read"),
        ('{"models": []}', "'models' object"),
        ('{"models": {"gpt-4.1": 3}}', "gpt-4.1"),
        ('{"models": {"gpt-4.1": {"input": -2}}}', "gpt-4.1"),
        ('{"models": {"new": {"provider": "x"}}}', "new"),
        ('{"models": {"gpt-4.1": {"colour": "red"}}}', "colour"),
    ],
)
def test_bad_user_file_is_a_dataset_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=match) as info:
        load_prices(path)
    assert "prices.json" in str(info.value)


def test_usd_text():
    assert finetune_estimate([1_000] * 100, "gpt-4.1-mini", today=TODAY).usd_text == "$1.50"
    assert finetune_estimate([1_000] * 100, "o4-mini", today=TODAY).usd_text == "billed per hour"
    assert finetune_estimate([1_000] * 100, "gpt-5.4", today=TODAY).usd_text == "no price known"
