"""TRL language modeling, standard: ``{"text": "..."}`` (SFT trains on every token of ``text``).

A text row has no roles, so its canonical record is one assistant message holding the whole
text (every token is trained on, as TRL's SFTTrainer does with a ``text`` column). Writing a
conversation as text needs a chat template: the model's own (``render``, e.g. a local Hugging
Face tokenizer's, see :mod:`core.hf_tokens`) or, when none is given, ChatML markup; either way
the loss says that roles became markup and that the prompt is trained on too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.formats._base import RowContext, clean, metadata_of, type_name
from core.formats._text import plain_text
from core.records import make_record

NAME = "trl-text"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("text",)

Render = Callable[[list[dict[str, Any]], list[dict[str, Any]] | None], str]


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (one assistant message holding the text)."""
    text = row.get("text")
    if text is None:
        ctx.error("text", "missing_text", "the row has no `text`")
        return None
    if not isinstance(text, str):
        ctx.error("text", "invalid_field_type", f"`text` must be a string, got {type_name(text)}")
        return None
    if not text.strip():
        ctx.error("text", "empty_text", "the text is blank: there is nothing to train on")
        return None
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    messages = [{"role": "assistant", "content": text}]
    return make_record(KIND, messages, extra=extra, raw=row, source_format=NAME)


def build(record: dict[str, Any], *, render: Render | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the text row of an SFT record: the text itself, or the conversation rendered."""
    losses: list[str] = []
    messages: list[dict[str, Any]] = clean(record["messages"]) or []
    tools = clean(record.get("tools")) or None
    if not messages:
        return None, ["row left out: no messages"]
    if len(messages) == 1 and messages[0].get("role") == "assistant" and not tools:
        text = plain_text(messages[0], losses, "text")
    elif render is not None:
        text = render(messages, tools)
        losses.append("roles rendered with the chat template given: the prompt is trained on too")
    else:
        text = chatml(messages, losses)
        losses.append(
            "roles rendered as ChatML markup (<|im_start|>role ... <|im_end|>), the prompt is trained on "
            "too; to use your model's template: convert --to trl-text --tokenizer DIR"
        )
        if tools:
            losses.append("tool definitions dropped")
    if any(m.get("weight") == 0 for m in messages):
        losses.append("assistant message(s) with weight 0 become trained text")
    if not text.strip():
        return None, ["row left out: the rendered text is empty"]
    out: dict[str, Any] = {"text": text}
    for key, value in metadata_of(record).items():
        out.setdefault(key, value)
    return out, losses


def chatml(messages: list[dict[str, Any]], losses: list[str]) -> str:
    """Render messages in ChatML markup (tool calls and images become text, noted in ``losses``)."""
    blocks = []
    for index, message in enumerate(messages):
        role = message.get("role", "user")
        content = plain_text(message, losses, f"message {index + 1}")
        blocks.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
    return "".join(blocks)
