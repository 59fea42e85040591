"""OpenAI reinforcement fine-tuning: ``{"messages": [...], "tools"?, <reference fields for the grader>}``."""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean, metadata_of
from core.formats._messages import RFT_RULES, check_messages, check_tools, roles_of
from core.formats.openai_sft import openai_messages, record_of

NAME = "openai-rft"
KIND = "rft"
CONTAINER = "jsonl"
RESERVED = ("messages", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one RFT row; every key beside ``messages`` and ``tools`` is a reference field."""
    messages: Any = row.get("messages")
    usable = check_messages(messages, ctx, "messages", RFT_RULES)
    check_tools(row.get("tools"), ctx)
    if not usable:
        return None
    roles = roles_of(messages)
    if roles[-1] != "user":
        ctx.error(
            "messages",
            "rft_last_not_user",
            f"the final message must have the user role, it is {roles[-1]!r}",
            "end each example with the user message the model answers",
        )
    if len(row) <= 1 + ("tools" in row):
        ctx.warn(
            "",
            "rft_no_reference_fields",
            "no reference field beside messages: a grader has nothing to compare",
        )
    return record_of(NAME, KIND, row, messages)


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the RFT row of a canonical record (its extra fields become reference fields)."""
    losses: list[str] = []
    messages = []
    for message in clean(record["messages"]) or []:
        if message.get("role") == "system":
            message = {**message, "role": "developer"}
            losses.append("system message written as developer")
        messages.append(message)
    out: dict[str, Any] = {"messages": openai_messages(messages, losses)}
    tools = clean(record.get("tools"))
    if tools:
        out["tools"] = tools
    for key, value in metadata_of(record).items():
        if key not in out:
            out[key] = value
    return out, losses
