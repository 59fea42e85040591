"""ShareGPT / FastChat: ``{"id"?, "conversations": [{"from": "human"|"gpt"|..., "value": str}, ...]}``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from core.formats._base import RowContext, clean, metadata_of, type_name
from core.formats._text import common_losses, plain_text
from core.records import make_record

NAME = "sharegpt"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("conversations", "tools")
ROLE_OF = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "system": "system",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
}
FROM_OF = {
    "user": "human",
    "assistant": "gpt",
    "system": "system",
    "developer": "system",
    "tool": "observation",
}


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one ShareGPT row and return its canonical record."""
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        code = "missing_conversations" if turns is None else "invalid_conversations"
        ctx.error("conversations", code, f"`conversations` must be a non-empty array, got {type_name(turns)}")
        return None
    messages: list[dict] = []
    for index, turn in enumerate(turns):
        message = _message(turn, f"conversations[{index}]", ctx, len(messages))
        if message is not None:
            messages.append(message)
    if ctx.errors:
        return None
    _check_order(turns, messages, ctx)
    tools = _tools(row.get("tools"), ctx)
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(KIND, messages, tools=tools, extra=extra, raw=row, source_format=NAME)


def _message(turn: Any, field: str, ctx: RowContext, position: int) -> dict[str, Any] | None:
    if not isinstance(turn, Mapping):
        ctx.error(field, "message_not_object", f"{field} must be an object, got {type_name(turn)}")
        return None
    speaker, value = turn.get("from", turn.get("role")), turn.get("value", turn.get("content"))
    if speaker not in ROLE_OF:
        known = ", ".join(sorted(ROLE_OF))
        ctx.error(f"{field}.from", "unknown_from", f"`from` is {speaker!r}, expected one of: {known}")
        return None
    if not isinstance(value, str):
        ctx.error(f"{field}.value", "invalid_field_type", f"`value` must be a string, got {type_name(value)}")
        return None
    if speaker == "function_call":
        return _tool_call(value, position, field, ctx)
    if ROLE_OF[speaker] == "tool":
        return {"role": "tool", "tool_call_id": f"call_{position - 1}", "content": value}
    return {"role": ROLE_OF[speaker], "content": value}


def _tool_call(value: str, position: int, field: str, ctx: RowContext) -> dict[str, Any]:
    try:
        call = json.loads(value)
    except json.JSONDecodeError:
        call = None
    if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
        ctx.warn(
            f"{field}.value", "invalid_function_call", 'function_call value is not {"name", "arguments"} JSON'
        )
        return {"role": "assistant", "content": value}
    arguments = call.get("arguments", {})
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    function = {"name": call["name"], "arguments": arguments}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"call_{position}", "type": "function", "function": function}],
    }


def _check_order(turns: list[dict], messages: list[dict], ctx: RowContext) -> None:
    roles = [m["role"] for m in messages if m["role"] != "system"]
    if "assistant" not in roles:
        ctx.error("conversations", "missing_assistant", "no gpt turn: there is nothing to train on")
        return
    if roles and roles[0] != "user":
        ctx.warn(
            "conversations[0]",
            "first_turn_not_human",
            "the first turn is not from `human` (FastChat drops it)",
        )
    chat = [r for r in roles if r in ("user", "assistant")]
    if any(a == b for a, b in zip(chat, chat[1:], strict=False)) and "tool" not in roles:
        ctx.warn(
            "conversations", "not_alternating", "human and gpt turns do not alternate (FastChat requires it)"
        )


def _tools(value: Any, ctx: RowContext) -> list[Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            ctx.warn("tools", "invalid_tools", "tools is a string but not JSON; kept as metadata")
            return None
    if not isinstance(value, list):
        return None
    return [
        t if isinstance(t, Mapping) and "function" in t else {"type": "function", "function": t}
        for t in value
    ]


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the ShareGPT row of a canonical SFT record and what was lost."""
    messages: list[dict] = clean(record.get("messages")) or []
    losses = [loss for loss in common_losses(record, messages) if "tool definitions" not in loss]
    conversations = [_turn(m, losses) for m in messages]
    losses.extend(_tool_losses(record, messages))
    out: dict[str, Any] = {}
    for key, value in metadata_of(record).items():
        out[key] = value
    out["conversations"] = conversations
    tools = clean(record.get("tools"))
    if tools:
        out["tools"] = json.dumps([t.get("function", t) for t in tools], ensure_ascii=False)
    return out, losses


def _tool_losses(record: dict[str, Any], messages: list[dict]) -> list[str]:
    """What ShareGPT cannot say of tool use: ``parallel_tool_calls``, and ids the reader does not give back.

    A ShareGPT reader numbers a call by its turn (``call_<turn>``) and links a tool reply to the
    turn before it; other ids come back renumbered.
    """
    losses = []
    if "parallel_tool_calls" in (clean(record.get("extra")) or {}):
        losses.append("parallel_tool_calls dropped (ShareGPT has no such key)")
    renumbered = False
    for index, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        if calls and not message.get("content"):
            renumbered |= calls[0].get("id") != f"call_{index}"
        elif message.get("role") == "tool":
            renumbered |= message.get("tool_call_id") != f"call_{index - 1}"
    if renumbered:
        losses.append("tool-call ids dropped (ShareGPT has none: read back as call_<turn>)")
    return losses


def _turn(message: dict, losses: list[str]) -> dict[str, str]:
    calls = message.get("tool_calls")
    if calls and not message.get("content"):
        function = calls[0].get("function", {})
        if len(calls) > 1:
            losses.append(f"{len(calls) - 1} parallel tool call(s) dropped (one function_call per turn)")
        arguments = function.get("arguments", "{}")
        with contextlib.suppress(json.JSONDecodeError):
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        return {
            "from": "function_call",
            "value": json.dumps({"name": function.get("name"), "arguments": arguments}),
        }
    role = message.get("role", "user")
    return {"from": FROM_OF.get(role, role), "value": plain_text(message, losses, role)}
