import gzip
import hashlib
import importlib.util
import json
from pathlib import Path

import hypothesis
import hypothesis.strategies as hs
import numpy as np
import pandas as pd
import pytest

from core import tokens
from core.tokens import (
    count_frame,
    count_messages_tokens,
    count_text,
    encoding_name_for_model,
    resolve_encoding,
    token_limit,
)

# --- tiktoken itself, offline --------------------------------------------------------------------
# bpe-openai ships tiktoken's vocabulary files; we place them in a tiktoken cache folder under the
# name tiktoken looks for, and tiktoken's own loader checks them against its expected SHA-256.
# The encodings are then built by tiktoken_ext.openai_public, i.e. the real tiktoken.

_BPE_DATA = Path(next(iter(importlib.util.find_spec("bpe_openai").submodule_search_locations))) / "data"
_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


@pytest.fixture(scope="module")
def tiktoken_encodings(tmp_path_factory):
    tiktoken = pytest.importorskip("tiktoken")
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    cache = tmp_path_factory.mktemp("tiktoken_cache")
    data = _BPE_DATA
    for name, url in _URLS.items():
        raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        return {name: tiktoken.Encoding(**getattr(openai_public, name)()) for name in _URLS}


# --- known token ids -----------------------------------------------------------------------------
# cl100k_base: openai/tiktoken tests/test_encoding.py and tests/test_base_encodings.py.
# o200k_base: splintr's o200k tests and a js-tiktoken example (checked against tiktoken below).
KNOWN_IDS = [
    ("cl100k_base", "hello world", [15339, 1917]),
    ("cl100k_base", "rer", [38149]),
    ("cl100k_base", "'rer", [2351, 81]),
    ("cl100k_base", "today\n ", [31213, 198, 220]),
    ("cl100k_base", "today\n \n", [31213, 27907]),
    ("cl100k_base", "today\n  \n", [31213, 14211]),
    ("cl100k_base", " \x850", [220, 126, 227, 15]),
    ("cl100k_base", "👍", [9468, 239, 235]),
    ("cl100k_base", "Unicode snowman: ☃️", [35020, 12056, 1543, 25, 26182, 225, 31643]),
    ("cl100k_base", "Hello world!", [9906, 1917, 0]),
    ("cl100k_base", "こんにちは世界", [90115, 3574, 244, 98220]),
    ("cl100k_base", "Привет мир", [54745, 28089, 8341, 11562, 78746]),
    ("cl100k_base", "👋🌎", [9468, 239, 233, 9468, 234, 236]),
    (
        "cl100k_base",
        "This     is     a     sentence     with     extra     spaces.",
        [2028, 257, 374, 257, 264, 257, 11914, 257, 449, 257, 5066, 257, 12908, 13],
    ),
    (
        "cl100k_base",
        "How about numbers? 123 45.6 -78.9",
        [4438, 922, 5219, 30, 220, 4513, 220, 1774, 13, 21, 482, 2495, 13, 24],
    ),
    (
        "cl100k_base",
        "What about URLs? https://www.google.com",
        [3923, 922, 36106, 30, 3788, 1129, 2185, 5831, 916],
    ),
    (
        "cl100k_base",
        "Mi padre tiene un gato negro y blanco. 🐱",
        [42987, 62120, 24215, 653, 342, 4428, 62833, 379, 90647, 13, 11410, 238, 109],
    ),
    ("o200k_base", "Hello world", [13225, 2375]),
    ("o200k_base", "Hello, world!", [13225, 11, 2375, 0]),
    ("o200k_base", "你好世界", [177519, 28428]),
    ("o200k_base", "Hello how are you", [13225, 1495, 553, 481]),
]


@pytest.mark.parametrize(("encoding", "text", "ids"), KNOWN_IDS)
def test_known_token_ids(encoding, text, ids):
    assert tokens.messages._tokenizer(encoding).encode(text) == ids
    assert count_text(text, encoding) == len(ids)


@pytest.mark.parametrize(("encoding", "text", "ids"), KNOWN_IDS)
def test_known_ids_agree_with_tiktoken(tiktoken_encodings, encoding, text, ids):
    assert tiktoken_encodings[encoding].encode_ordinary(text) == ids


def test_bundled_vocabularies_are_tiktokens():
    expected = {
        "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    }
    data = _BPE_DATA
    for name, digest in expected.items():
        raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest


# Text that stresses the pre-tokenisation regexes: whitespace runs, newlines, digits, contractions,
# letters of several scripts, marks, emoji, and the special-token spelling.
_TRICKY = hs.lists(
    hs.sampled_from(
        list(" \t\n\r\n0123456789'sStTmMlLdDvVeErR.,!?-_/\\\"()[]{}<|>@#$%^&*+=~`")
        + list("aZéÉßñçøœæ日本語中文한국어العربيةहिन्दीПриветΑλφα\u0301\u0308\u200d😊👍🏽🇫🇷\ufeff\x00\x85")
        + ["<|endoftext|>", "<|endofprompt|>", "  ", "\n\n", "'ll", "'re", "'VE", "123456"]
    ),
    max_size=80,
).map("".join)


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(text=hs.one_of(hs.text(max_size=200), _TRICKY))
def test_counts_equal_tiktoken(tiktoken_encodings, encoding, text):
    assert count_text(text, encoding) == len(tiktoken_encodings[encoding].encode_ordinary(text))


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
def test_long_and_repetitive_text_equals_tiktoken(tiktoken_encodings, encoding):
    for text in ("x" * 20_000, " " * 5_000 + "a", "\n" * 3_000, "ab1 " * 4_000, "😊" * 2_000):
        assert count_text(text, encoding) == len(tiktoken_encodings[encoding].encode_ordinary(text))


def test_lone_surrogates_are_repaired_like_tiktoken(tiktoken_encodings):
    enc = tiktoken_encodings["cl100k_base"]
    assert count_text("\ud83d", "cl100k_base") == len(enc.encode("\ud83d")) == count_text("�", "cl100k_base")
    assert count_text("\ud83d\udc4d", "cl100k_base") == 3


def test_special_token_text_counts_as_ordinary_text(tiktoken_encodings):
    text = "hello <|endoftext|>"
    enc = tiktoken_encodings["cl100k_base"]
    assert count_text(text, "cl100k_base") == len(enc.encode(text, disallowed_special=())) > 2


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_count_text_rejects_non_strings(bad):
    with pytest.raises(ValueError, match="text must be a string"):
        count_text(bad)


def test_count_text_rejects_unknown_encoding():
    with pytest.raises(ValueError, match="p50k_base"):
        count_text("hi", "p50k_base")


# --- model -> encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-5", "o200k_base"),
        ("gpt-5.4", "o200k_base"),
        ("gpt-5.4-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("ft:gpt-4.1-mini-2025-04-14:org::abc123", "o200k_base"),
        ("ft:gpt-4.1-2025-04-14:my-org:custom-suffix:abc123", "o200k_base"),
        ("ft:o4-mini-2025-04-16:org::xyz", "o200k_base"),
        ("ft:gpt-4o-2024-08-06:org::x", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("ft:gpt-3.5-turbo-0125:org::x", "cl100k_base"),
        ("  gpt-4.1  ", "o200k_base"),
    ],
)
def test_encoding_for_model(model, encoding):
    assert encoding_name_for_model(model) == encoding


@pytest.mark.parametrize(
    "model", ["gpt-5.4", "gpt-4.1-mini", "gpt-4o", "o4-mini-2025-04-16", "o3", "gpt-4", "gpt-3.5-turbo-0125"]
)
def test_encoding_map_agrees_with_tiktoken(model):
    tiktoken_model = pytest.importorskip("tiktoken.model")
    assert encoding_name_for_model(model) == tiktoken_model.encoding_name_for_model(model)


@pytest.mark.parametrize(
    "model", ["claude-opus-4-7", "gemini-3.1-pro-preview", "smollm2-135m-instruct", "ft:llama:x"]
)
def test_unknown_model_raises_naming_it(model):
    with pytest.raises(ValueError, match=model):
        encoding_name_for_model(model)


@pytest.mark.parametrize("model", ["", "  ", None])
def test_empty_model_raises(model):
    with pytest.raises(ValueError, match="model"):
        encoding_name_for_model(model)


def test_resolve_encoding_flags_fallback():
    assert resolve_encoding("gpt-4.1") == tokens.EncodingChoice("o200k_base", fallback=False, model="gpt-4.1")
    choice = resolve_encoding("claude-sonnet-4-6")
    assert choice.fallback and choice.encoding == "o200k_base"
    assert resolve_encoding("llama", default="cl100k_base").encoding == "cl100k_base"


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        ("gpt-4.1", 65_536),
        ("gpt-4.1-mini-2025-04-14", 65_536),
        ("gpt-4.1-nano", 65_536),
        ("ft:gpt-4.1-nano-2025-04-14:org::x", 65_536),
        ("gpt-4o-2024-08-06", 65_536),
        ("gpt-4o-mini", 65_536),
        ("gpt-3.5-turbo-0125", 16_385),
        ("gpt-3.5-turbo-1106", 16_385),
        ("gpt-3.5-turbo-0613", 4_096),
        ("o4-mini", None),
        ("gpt-5.4", None),
        ("claude-opus-4-7", None),
    ],
)
def test_token_limit(model, limit):
    assert token_limit(model) == limit


# --- chat messages -------------------------------------------------------------------------------

# How_to_count_tokens_with_tiktoken.ipynb: counts the OpenAI API itself reported.
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]
COOKBOOK_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
COOKBOOK_TOOL_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(
    ("model", "expected"), [("gpt-4", 129), ("gpt-3.5-turbo", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)]
)
def test_messages_match_the_api_counts_in_the_cookbook(model, expected):
    assert count_messages_tokens(COOKBOOK_MESSAGES, model=model) == expected


@pytest.mark.parametrize(
    ("model", "expected"), [("gpt-4", 105), ("gpt-3.5-turbo", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)]
)
def test_tools_match_the_api_counts_in_the_cookbook(model, expected):
    assert count_messages_tokens(COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOLS, model=model) == expected


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
def test_role_names_are_one_token(encoding):
    for role in tokens.encodings._PLAIN_OVERHEAD:
        assert count_text(role, encoding) == 1


def _cookbook_count(messages, encoding):
    total = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode(value))
            if key == "name":
                total += 1
    return total + 3


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    messages=hs.lists(
        hs.fixed_dictionaries(
            {"role": hs.sampled_from(["system", "user", "assistant"]), "content": hs.text(max_size=60)},
            optional={"name": hs.text(alphabet="abcxyz_", min_size=1, max_size=8)},
        ),
        max_size=5,
    )
)
def test_string_messages_equal_the_cookbook_with_tiktoken(tiktoken_encodings, messages):
    assert count_messages_tokens(messages, model="gpt-4.1") == _cookbook_count(
        messages, tiktoken_encodings["o200k_base"]
    )


def test_weight_is_ignored():
    plain = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    weighted = [plain[0], {**plain[1], "weight": 0}]
    assert count_messages_tokens(weighted, model="gpt-4.1") == count_messages_tokens(plain, model="gpt-4.1")


def test_content_parts_count_text_and_images():
    text_only = [{"role": "user", "content": "What cheese is this?"}]
    low = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What cheese is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.jpg", "detail": "low"}},
            ],
        }
    ]
    auto = [
        {"role": "user", "content": [low[0]["content"][0], {"type": "image_url", "image_url": {"url": "u"}}]}
    ]
    base = count_messages_tokens(text_only, model="gpt-4o")
    assert count_messages_tokens(low, model="gpt-4o") == base + 85
    assert count_messages_tokens(auto, model="gpt-4o") == base + 765


def test_refusal_part_and_null_content():
    refusal = [{"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]
    assert (
        count_messages_tokens(refusal, model="gpt-4.1") == 3 + 1 + count_text("I can't help with that.") + 3
    )
    assert count_messages_tokens([{"role": "assistant", "content": None}], model="gpt-4.1") == 3 + 1 + 3


def test_tool_calls_count_name_and_arguments():
    arguments = json.dumps({"city": "SF"})
    message = {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
        ],
    }
    expected = 3 + 1 + count_text("get_weather") + count_text(arguments) + 3
    assert count_messages_tokens([message], model="gpt-4.1") == expected
    legacy = {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "get_weather", "arguments": arguments},
    }
    assert count_messages_tokens([legacy], model="gpt-4.1") == expected


def test_tool_result_message_counts_its_id():
    message = {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
    expected = 3 + count_text("tool") + count_text("call_1") + count_text("18C") + 3
    assert count_messages_tokens([message], model="gpt-4.1") == expected


def test_messages_must_be_a_list():
    with pytest.raises(ValueError, match="messages must be a list"):
        count_messages_tokens("hello", model="gpt-4.1")


# --- frames --------------------------------------------------------------------------------------

SFT = [
    {"role": "system", "content": "Be terse."},
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "4"},
]
MULTI = [
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Weather in SF?"},
    {"role": "assistant", "content": "About 18°C and sunny.", "weight": 1},
]
TOOLS_ROW = [
    {"role": "user", "content": "Weather in SF?"},
    {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"SF"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "18C"},
    {"role": "assistant", "content": "18°C."},
]


def _frame():
    return pd.DataFrame(
        {
            "kind": ["sft", "sft", "sft", "preference", "rft", "sft"],
            "messages": [SFT, MULTI, TOOLS_ROW, SFT[:2], [{"role": "user", "content": "Solve x+1=2"}], []],
            "chosen": [None, None, None, [{"role": "assistant", "content": "4"}], None, None],
            "rejected": [None, None, None, [{"role": "assistant", "content": "5"}], None, None],
            "tools": [None, None, COOKBOOK_TOOLS, None, None, None],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_count_frame_splits_prompt_and_response():
    frame = _frame()
    counts = count_frame(frame, model="gpt-4.1-mini")
    assert list(counts.columns) == ["prompt_tokens", "response_tokens", "total_tokens"]
    assert list(counts.index) == list(frame.index)
    assert (counts.dtypes == np.int64).all()
    assert (counts.prompt_tokens + counts.response_tokens == counts.total_tokens).all()
    model = "gpt-4.1-mini"
    assert counts.loc[10].tolist() == [
        count_messages_tokens(SFT[:2], model=model),
        count_messages_tokens(SFT, model=model) - count_messages_tokens(SFT[:2], model=model),
        count_messages_tokens(SFT, model=model),
    ]
    assert counts.loc[11, "prompt_tokens"] == count_messages_tokens(MULTI[:3], model=model)
    assert counts.loc[11, "total_tokens"] == count_messages_tokens(MULTI, model=model)
    assert counts.loc[12, "total_tokens"] == count_messages_tokens(TOOLS_ROW, COOKBOOK_TOOLS, model=model)
    assert counts.loc[12, "response_tokens"] == 3 + 1 + count_text("18°C.")
    assert counts.loc[13, "prompt_tokens"] == count_messages_tokens(SFT[:2], model=model)
    assert counts.loc[13, "total_tokens"] == count_messages_tokens(
        SFT[:2] + [{"role": "assistant", "content": "4"}], model=model
    )
    assert counts.loc[14, "response_tokens"] == 0
    assert counts.loc[15].tolist() == [3, 0, 3]


def test_count_frame_forked_equals_in_process():
    frame = pd.concat([_frame()] * 5)
    single = count_frame(frame, model="gpt-4o", workers=1)
    forked = count_frame(frame, model="gpt-4o", workers=2)
    pd.testing.assert_frame_equal(single, forked)


def test_count_frame_handles_odd_values():
    frame = pd.DataFrame(
        {
            "kind": ["sft", "sft", "sft"],
            "messages": [None, np.array([{"role": "user", "content": "hi"}], dtype=object), ["not a dict"]],
        }
    )
    counts = count_frame(frame, model="gpt-4.1")
    assert counts.total_tokens.tolist() == [3, 3 + 1 + 1 + 3, 3 + count_text("not a dict") + 3]


def test_count_frame_surrogates_take_the_safe_path():
    frame = pd.DataFrame(
        {
            "kind": ["sft"],
            "messages": [[{"role": "user", "content": "\ud83d"}, {"role": "assistant", "content": "ok"}]],
        }
    )
    counts = count_frame(frame, model="gpt-4.1")
    assert counts.prompt_tokens.iloc[0] == 3 + 1 + count_text("�") + 3


def test_count_frame_empty():
    counts = count_frame(pd.DataFrame({"kind": [], "messages": []}), model="gpt-4.1")
    assert counts.empty and list(counts.columns) == list(tokens.FRAME_COLUMNS)


@pytest.mark.parametrize(("kwargs", "match"), [({"workers": 3}, "workers"), ({"model": "nope"}, "nope")])
def test_count_frame_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        count_frame(_frame(), **{"model": "gpt-4.1", **kwargs})


def test_count_frame_needs_messages():
    with pytest.raises(ValueError, match="messages"):
        count_frame(pd.DataFrame({"kind": ["sft"]}), model="gpt-4.1")


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    rows=hs.lists(
        hs.lists(
            hs.fixed_dictionaries(
                {
                    "role": hs.sampled_from(["system", "user", "assistant", "tool"]),
                    "content": hs.text(max_size=30),
                },
                optional={"weight": hs.sampled_from([0, 1]), "name": hs.just("bob")},
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_count_frame_total_equals_count_messages_tokens(rows):
    frame = pd.DataFrame({"kind": ["sft"] * len(rows), "messages": rows})
    counts = count_frame(frame, model="gpt-4.1", workers=1)
    assert counts.total_tokens.tolist() == [count_messages_tokens(m, model="gpt-4.1") for m in rows]


def test_count_training_tokens_takes_the_longer_preference_side():
    frame = _frame()
    frame.at[13, "rejected"] = [
        {"role": "assistant", "content": "five, and here is a much longer wrong answer"}
    ]
    n_tokens = tokens.count_training_tokens(frame, model="gpt-4.1")
    counts = count_frame(frame, model="gpt-4.1")
    assert n_tokens.name == "n_tokens" and list(n_tokens.index) == list(frame.index)
    longer = SFT[:2] + frame.at[13, "rejected"]
    assert n_tokens.loc[13] == count_messages_tokens(longer, model="gpt-4.1") > counts.loc[13, "total_tokens"]
    others = [10, 11, 12, 14, 15]
    assert n_tokens.loc[others].tolist() == counts.loc[others, "total_tokens"].tolist()


def test_count_frame_falls_back_when_fork_is_refused(monkeypatch):
    import multiprocessing

    refused = []

    def refuse(self):
        refused.append(self)
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(type(multiprocessing.get_context("fork").Process()), "start", refuse)
    frame = pd.concat([_frame()] * 3)
    pd.testing.assert_frame_equal(
        count_frame(frame, model="gpt-4.1", workers=2), count_frame(frame, model="gpt-4.1", workers=1)
    )
    assert len(refused) == 1  # the forked path was taken, and its refusal handled


def test_count_frame_recounts_when_the_child_fails(monkeypatch, forked_calls):
    from core import _fork

    def broken_child(writer, work):
        writer.close()  # exits without sending anything

    monkeypatch.setattr(_fork, "_child", broken_child)
    frame = pd.concat([_frame()] * 3)
    pd.testing.assert_frame_equal(
        count_frame(frame, model="gpt-4.1", workers=2), count_frame(frame, model="gpt-4.1", workers=1)
    )
    assert len(forked_calls) == 1 and forked_calls[0]._process.exitcode is not None  # a child ran and ended


def test_count_frame_accepts_numpy_tools_and_nan():
    tools_array = np.array(COOKBOOK_TOOLS, dtype=object)
    frame = pd.DataFrame(
        {
            "kind": ["sft", "sft"],
            "messages": [COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOL_MESSAGES],
            "tools": [tools_array, np.nan],
        }
    )
    counts = count_frame(frame, model="gpt-4o")
    assert counts.prompt_tokens.tolist() == [
        101,
        count_messages_tokens(COOKBOOK_TOOL_MESSAGES, model="gpt-4o"),
    ]


def test_count_frame_forks_from_a_worker_thread():
    # Streamlit runs page scripts in threads.
    from concurrent.futures import ThreadPoolExecutor

    frame = pd.concat([_frame()] * 3)
    with ThreadPoolExecutor(1) as pool:
        forked = pool.submit(count_frame, frame, model="gpt-4.1", workers=2).result(timeout=60)
    pd.testing.assert_frame_equal(forked, count_frame(frame, model="gpt-4.1", workers=1))


def test_forked_count_handles_surrogates_and_repeated_system_prompts():
    rows = [
        [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": f"\ud83d {i}"},
            {"role": "assistant", "content": "é" * i},
        ]
        for i in range(12)
    ]
    frame = pd.DataFrame({"kind": ["sft"] * 12, "messages": rows})
    forked = count_frame(frame, model="gpt-4.1", workers=2)
    assert forked.total_tokens.tolist() == [count_messages_tokens(m, model="gpt-4.1") for m in rows]


_MESSAGE = hs.fixed_dictionaries(
    {"role": hs.sampled_from(["system", "user", "assistant"]), "content": hs.text(max_size=20)},
    optional={"weight": hs.just(1)},
)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    rows=hs.lists(
        hs.tuples(
            hs.sampled_from(["sft", "preference", "rft"]),
            hs.lists(_MESSAGE, max_size=3),
            hs.lists(_MESSAGE, max_size=1),
        ),
        min_size=2,
        max_size=8,
    )
)
def test_count_frame_any_kind_forked_or_not(rows):
    frame = pd.DataFrame(
        {
            "kind": [kind for kind, _, _ in rows],
            "messages": [messages for _, messages, _ in rows],
            "chosen": [chosen if kind == "preference" else None for kind, _, chosen in rows],
        }
    )
    expected = [
        count_messages_tokens(messages + (chosen if kind == "preference" else []), model="gpt-4o")
        for kind, messages, chosen in rows
    ]
    for workers in (1, 2):
        assert count_frame(frame, model="gpt-4o", workers=workers).total_tokens.tolist() == expected
