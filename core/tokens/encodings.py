"""Which encoding a model uses, its context limit, and the constants of OpenAI's chat counting."""

from __future__ import annotations

import re
from dataclasses import dataclass

ENCODINGS = ("o200k_base", "cl100k_base")
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_DEFAULT = 765
COOKBOOK_MAX_TOKENS_PER_EXAMPLE = 16_385
FRAME_COLUMNS = ("prompt_tokens", "response_tokens", "total_tokens")

# tiktoken v0.14.0 model.py, limited to the two encodings we ship (FORMATS.md §6).
_MODEL_TO_ENCODING = {
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
}
# Order matters: the first matching prefix wins (as in tiktoken).
_PREFIX_TO_ENCODING = (
    ("o1-", "o200k_base"),
    ("o3-", "o200k_base"),
    ("o4-mini-", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-4.5-", "o200k_base"),
    ("gpt-4.1-", "o200k_base"),
    ("chatgpt-4o-", "o200k_base"),
    ("gpt-4o-", "o200k_base"),
    ("gpt-4-", "cl100k_base"),
    ("gpt-3.5-turbo-", "cl100k_base"),
    ("gpt-35-turbo-", "cl100k_base"),
)
# Training tokens per example (FORMATS.md §1: OpenAI's table, Azure's for gpt-4.1). Exact ids
# first, then prefixes; first match wins.
_TOKEN_LIMITS = (
    ("gpt-3.5-turbo-0613", 4_096),
    ("gpt-3.5-turbo-1106", 16_385),
    ("gpt-3.5-turbo-0125", 16_385),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-4.1", 65_536),
    ("gpt-4o-mini", 65_536),
    ("gpt-4o", 65_536),
)
# Per-message overhead plus the role name, one token in both encodings (checked in the tests).
PLAIN_MESSAGE_OVERHEAD = TOKENS_PER_MESSAGE + 1
_PLAIN_OVERHEAD = dict.fromkeys(("system", "user", "assistant"), PLAIN_MESSAGE_OVERHEAD)
_PARALLEL_MIN_ROWS = 20_000
_FT_ID = re.compile(r"^ft:([^:]+)")


@dataclass(frozen=True)
class _ToolConstants:
    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


_TOOL_CONSTANTS = {"o200k_base": _ToolConstants(func_init=7), "cl100k_base": _ToolConstants(func_init=10)}


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding used for a model, and whether it was a guess (unknown model)."""

    encoding: str
    fallback: bool
    model: str

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")


def base_model(model: str) -> str:
    """Return the base model of a fine-tuned id; other ids come back stripped of blanks.

    ``ft:gpt-4.1-mini-2025-04-14:org::abc`` -> ``gpt-4.1-mini-2025-04-14``.
    """
    model = model.strip()
    match = _FT_ID.match(model)
    return match.group(1) if match else model


def encoding_name_for_model(model: str) -> str:
    """Return the tiktoken encoding name for a model id (``ft:`` ids use their base model).

    Raises:
        ValueError: If the model is unknown (the message names it).
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    name = base_model(model)
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _PREFIX_TO_ENCODING:
        if name.startswith(prefix):
            return encoding
    raise ValueError(
        f"unknown model {model!r}: no tokenizer is known for it; "
        "use an OpenAI model id (gpt-4.1, gpt-4o, o4-mini, gpt-3.5-turbo, ...)"
    )


def resolve_encoding(model: str, *, default: str = "o200k_base") -> EncodingChoice:
    """Return the encoding for ``model``, falling back to ``default`` for unknown models.

    The ``fallback`` flag tells the UI to say that counts are an approximation (Claude,
    Gemini and local models have their own tokenizers).
    """
    try:
        return EncodingChoice(encoding_name_for_model(model), fallback=False, model=model)
    except ValueError:
        return EncodingChoice(default, fallback=True, model=model)


def token_limit(model: str) -> int | None:
    """Return the training tokens allowed per example for ``model``, or None if no figure is known.

    65,536 for the gpt-4.1 family, gpt-4o and gpt-4o-mini; 16,385 for gpt-3.5-turbo-0125 / -1106;
    4,096 for gpt-3.5-turbo-0613 (FORMATS.md §1). Longer examples are truncated by OpenAI.
    """
    name = base_model(model)
    for prefix, limit in _TOKEN_LIMITS:
        if name.startswith(prefix):
            return limit
    return None
