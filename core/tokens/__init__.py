"""Exact token counts, offline, for OpenAI's ``o200k_base`` and ``cl100k_base`` encodings.

Counts come from the ``bpe-openai`` package (Rust ``bpe`` crate), whose bundled vocabulary
files are byte-identical to tiktoken's (same SHA-256 as ``tiktoken_ext.openai_public``), so a
count here equals ``len(tiktoken.get_encoding(name).encode_ordinary(text))``; the tests check
this against known token ids and against tiktoken itself on random text.

Text in a dataset is counted as ordinary text: ``<|endoftext|>`` typed by a person is a few
ordinary tokens, exactly as the API treats it.

Chat overhead follows OpenAI's counting method (cookbook ``num_tokens_from_messages``): 3
tokens per message, the tokens of every value, +1 when a ``name`` is present, and 3 at the end
to prime the reply. Values that are not strings, which the cookbook's function cannot count:

- ``content`` parts: ``text`` and ``refusal`` parts count their text; an ``image_url`` part
  counts 85 tokens with ``detail: "low"`` (OpenAI's fixed figure) and 765 otherwise (the
  tile rule for a 1024x1024 image: 85 + 4 tiles x 170; the real size is unknown offline).
- ``tool_calls`` / ``function_call``: the function name plus its ``arguments`` JSON string.
- ``weight`` and ``None`` values: not counted (they are training flags, not text).
- anything else: its compact JSON.

Tool definitions use the cookbook's constants (How_to_count_tokens_with_tiktoken): for
o200k models ``func_init=7``, for cl100k models ``func_init=10``; ``prop_init=3``,
``prop_key=3``, ``enum_init=-3``, ``enum_item=3``, ``func_end=12``.

The modules: ``encodings`` (a model's encoding and limit, the counting constants), ``messages``
(one text, one conversation), ``tables`` (a whole table, in two processes).
"""

from __future__ import annotations

from core.tokens.encodings import (
    COOKBOOK_MAX_TOKENS_PER_EXAMPLE,
    ENCODINGS,
    FRAME_COLUMNS,
    IMAGE_TOKENS_DEFAULT,
    IMAGE_TOKENS_LOW,
    PLAIN_MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    EncodingChoice,
    base_model,
    encoding_name_for_model,
    resolve_encoding,
    token_limit,
)
from core.tokens.messages import count_messages_tokens, count_text
from core.tokens.tables import TextCounts, count_frame, count_training_tokens

__all__ = [
    "COOKBOOK_MAX_TOKENS_PER_EXAMPLE",
    "ENCODINGS",
    "FRAME_COLUMNS",
    "IMAGE_TOKENS_DEFAULT",
    "IMAGE_TOKENS_LOW",
    "PLAIN_MESSAGE_OVERHEAD",
    "REPLY_PRIMING",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "EncodingChoice",
    "TextCounts",
    "base_model",
    "count_frame",
    "count_messages_tokens",
    "count_text",
    "count_training_tokens",
    "encoding_name_for_model",
    "resolve_encoding",
    "token_limit",
]
