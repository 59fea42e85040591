"""The read loop's fast path: a clean row's record built without the per-row validator (private).

Most rows of a real file are clean: an OpenAI SFT row whose messages are all plain
``{"role", "content": "text"}`` pairs from system, user and assistant, ending with the
assistant. For such a row the validator (``openai_sft.parse``) reports nothing but the
``unknown_top_level_key`` warning of each metadata key, and builds the record with
``records.make_record``. :func:`plain_sft` checks those conditions with a few exact-type
tests and builds the very same record (same id, same columns, same warnings) in one pass;
any row that fails one test returns ``None`` and goes through the per-row validator, which
says what is wrong. ``tests/core/test_formats_batch.py`` checks both give the same records
and problems on random, partly broken datasets.

It also returns the messages' texts, so the tokens of a clean row are counted per batch
(see :class:`core.tokens.TextCounts`) while the file is read.
"""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext
from core.records import METADATA_COLUMNS, content_id, promote_metadata

# openai-sft's own top-level keys besides ``messages``: a row holding one takes the per-row path.
_SFT_RESERVED = frozenset({"tools", "parallel_tool_calls", "functions"})
_UNKNOWN_KEY = "`{}` is not an OpenAI key: kept as metadata, left out of an OpenAI export"
_NO_METADATA = dict.fromkeys(METADATA_COLUMNS)


def plain_sft(
    value: dict[str, Any], ctx: RowContext, others: frozenset[str], name: str
) -> tuple[dict[str, Any], list[str]] | None:
    """The record of a clean OpenAI SFT row and its messages' texts; ``None`` if the row is not clean.

    Args:
        value: The parsed row (a dict).
        ctx: The row context; receives the row's ``unknown_top_level_key`` warnings.
        others: Keys that make a row look like another format (it takes the per-row path).
        name: The format name recorded as ``source_format``.
    """
    messages = value.get("messages")
    if type(messages) is not list or not messages or len(value) > 4:
        return None
    texts = _plain_texts(messages)
    extra = _metadata(value, others) if len(value) > 1 else {}
    if texts is None or extra is None:
        return None
    for key in extra:
        ctx.warn(key, "unknown_top_level_key", _UNKNOWN_KEY.format(key))
    system, prompt, answer = texts
    record: dict[str, Any] = {
        "id": content_id("sft", messages),
        "kind": "sft",
        "messages": messages,
        "chosen": None,
        "rejected": None,
        "tools": None,
        "extra": extra,
        "raw": value,
        "source_format": name,
        "source_line": None,
        **_NO_METADATA,
        "system_text": "\n".join(system),
        "prompt_text": "\n".join(prompt),
        "response_text": "\n".join(answer),
        "rejected_text": "",
        "n_turns": len(prompt) + len(answer),
    }
    if extra:
        promote_metadata(record, extra)
    return record, [message["content"] for message in messages]


def _plain_texts(messages: list[Any]) -> tuple[list[str], list[str], list[str]] | None:
    """System, user and assistant texts of plain messages ending with the assistant's; else None."""
    system: list[str] = []
    prompt: list[str] = []
    answer: list[str] = []
    by_role = {"system": system, "user": prompt, "assistant": answer}
    role: Any = None
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        content = message.get("content")
        if type(content) is not str or not content or content.isspace():
            return None
        role = message.get("role")
        texts = by_role.get(role)  # type: ignore[arg-type]
        if texts is None:
            return None
        texts.append(content)
    return (system, prompt, answer) if role == "assistant" and prompt else None


def _metadata(value: dict[str, Any], others: frozenset[str]) -> dict[str, Any] | None:
    """Every key but ``messages`` (metadata); None when one is a format's own key."""
    extra: dict[str, Any] = {}
    for key, item in value.items():
        if key == "messages":
            continue
        if key in _SFT_RESERVED or key in others:
            return None
        extra[key] = item
    return extra
