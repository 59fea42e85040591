"""Helpers of the TRL formats: standard (strings) vs conversational (message lists)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.formats._base import RowContext, type_name
from core.formats._messages import TRL_RULES, check_messages


def is_conversational(value: Any) -> bool:
    """TRL's rule: a list whose first item is a dict with ``role``."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], Mapping) and "role" in value[0]


def to_messages(value: Any, role: str, key: str, ctx: RowContext) -> list[dict] | None:
    """Return ``value`` as canonical messages: a string becomes one ``role`` message."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list):
        if not check_messages(value, ctx, key, TRL_RULES):
            return None
        return link_tool_replies([normalise(m) for m in value])
    ctx.error(
        key, "invalid_field_type", f"`{key}` must be a string or a list of messages, got {type_name(value)}"
    )
    return None


def normalise(message: dict[str, Any]) -> dict[str, Any]:
    """Return an OpenAI-style copy of a TRL message (tool-call arguments as JSON strings)."""
    if None in message.values():
        message = {k: v for k, v in message.items() if v is not None or k == "content"}
    calls = message.get("tool_calls")
    if not calls or not any(
        isinstance(c, Mapping) and not isinstance(c.get("function", {}).get("arguments", ""), str)
        for c in calls
    ):
        return message
    fixed = []
    for index, call in enumerate(calls):
        function = dict(call.get("function", {}))
        if not isinstance(function.get("arguments", ""), str):
            function["arguments"] = json.dumps(function["arguments"], ensure_ascii=False)
        fixed.append(
            {"id": call.get("id", f"call_{index}"), "type": "function", **call, "function": function}
        )
    return {**message, "tool_calls": fixed}


def same_style(values: dict[str, Any], ctx: RowContext) -> bool:
    """Check that every present field is a string, or every one a list (TRL does not mix them)."""
    styles = {key: isinstance(value, str) for key, value in values.items() if isinstance(value, (str, list))}
    if len(set(styles.values())) > 1:
        detail = ", ".join(f"{k}: {'string' if s else 'list'}" for k, s in styles.items())
        ctx.error("", "mixed_standard_conversational", f"TRL fields mix strings and message lists ({detail})")
        return False
    return True


def without_weight(messages: list[dict], losses: list[str]) -> list[dict]:
    """Return messages without ``weight`` (TRL ignores it), noting the loss."""
    if not any("weight" in m for m in messages):
        return messages
    zero = sum(1 for m in messages if m.get("weight") == 0)
    if zero:
        losses.append(f"{zero} assistant message(s) with weight 0 become trained (TRL has no weight)")
    return [{k: v for k, v in m.items() if k != "weight"} for m in messages]


def link_tool_replies(messages: list[dict]) -> list[dict]:
    """Give tool messages without ``tool_call_id`` the id of the latest tool call (OpenAI needs it)."""
    last_id = None
    out = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                last_id = call["id"]
        if message.get("role") == "tool" and "tool_call_id" not in message and last_id is not None:
            message = {**message, "tool_call_id": last_id}
        out.append(message)
    return out
