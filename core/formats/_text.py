"""Flattening canonical messages into plain-text formats, saying what is lost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formats._base import clean
from core.records import message_text


def plain_text(message: Mapping[str, Any], losses: list[str], where: str) -> str:
    """Return the text of a message, noting images and tool calls that cannot be carried over."""
    content = message.get("content")
    if isinstance(content, str) and not message.get("tool_calls") and not message.get("function_call"):
        return content
    if isinstance(content, list) and any(
        isinstance(p, Mapping) and p.get("type") == "image_url" for p in content
    ):
        losses.append(f"{where}: image(s) dropped")
    if message.get("tool_calls") or message.get("function_call"):
        losses.append(f"{where}: tool call written as text")
    texts = (
        [p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
        if isinstance(content, list)
        else []
    )
    if texts and not message.get("tool_calls"):
        return "\n".join(texts)
    return message_text(message).replace("[image]", "").strip()


def common_losses(record: Mapping[str, Any], messages: list[dict]) -> list[str]:
    """Losses every plain-text format shares: tools and weights."""
    losses: list[str] = []
    if clean(record.get("tools")):
        losses.append("tool definitions dropped")
    weighted = sum(1 for m in messages if m.get("weight") == 0)
    if weighted:
        losses.append(f"{weighted} assistant message(s) with weight 0 become trained text")
    return losses


def split_last_exchange(record: Mapping[str, Any]) -> tuple[str | None, str | None, list[str]]:
    """Return (last user text, last assistant text, losses) of an SFT record."""
    messages: list[dict] = clean(record.get("messages")) or []
    losses = common_losses(record, messages)
    if any(m.get("role") in ("system", "developer") for m in messages):
        losses.append("system prompt dropped (the format has none)")
    last_assistant = _last_index(messages, "assistant")
    last_user = _last_index(messages[: last_assistant if last_assistant >= 0 else len(messages)], "user")
    if last_assistant < 0 or last_user < 0:
        losses.append("row left out: it needs a user message followed by an assistant reply")
        return None, None, losses
    dropped = sum(1 for m in messages if m.get("role") not in ("system", "developer")) - 2
    if dropped:
        losses.append(f"multi-turn: only the last exchange kept, {dropped} earlier/other message(s) dropped")
    user = plain_text(messages[last_user], losses, "user")
    reply = plain_text(messages[last_assistant], losses, "assistant")
    return user, reply, losses


def system_text(messages: list[dict]) -> str | None:
    """Return the joined system / developer text, or ``None``."""
    texts = [message_text(m) for m in messages if m.get("role") in ("system", "developer")]
    return "\n".join(texts) if texts else None


def _last_index(messages: list[dict], role: str) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == role:
            return index
    return -1
