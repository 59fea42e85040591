"""Helpers of the TRL formats: standard (strings) vs conversational (message lists)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.formats._base import RowContext, clean, metadata_of, plain_string_content, type_name
from core.formats._messages import TRL_RULES, MessageRules, check_messages


def is_conversational(value: Any) -> bool:
    """TRL's rule: a list whose first item is a dict with ``role``."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], Mapping) and "role" in value[0]


def to_messages(
    value: Any, role: str, key: str, ctx: RowContext, rules: MessageRules = TRL_RULES
) -> list[dict] | None:
    """Return ``value`` as canonical messages: a string becomes one ``role`` message."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list):
        if not check_messages(value, ctx, key, rules):
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


def for_trl(messages: list[dict], losses: list[str]) -> list[dict]:
    """Return canonical messages as TRL reads them: no ``weight``, tool-call arguments as objects.

    Hugging Face chat templates render ``tool_call.arguments | tojson``: a JSON string there would
    be written quoted, as a string. Arguments that are not a JSON object stay a string, with the loss.
    """
    messages = without_weight(messages, losses)
    if not any(m.get("tool_calls") for m in messages):
        return messages
    return [_with_object_arguments(m, losses) if m.get("tool_calls") else m for m in messages]


def _with_object_arguments(message: dict[str, Any], losses: list[str]) -> dict[str, Any]:
    calls = []
    for call in message["tool_calls"]:
        function = call.get("function") if isinstance(call, Mapping) else None
        arguments = function.get("arguments") if isinstance(function, Mapping) else None
        if isinstance(arguments, str) and isinstance(function, Mapping):
            try:
                parsed = json.loads(arguments)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                call = {**call, "function": {**function, "arguments": parsed}}
            else:
                losses.append(
                    "tool-call arguments that are not a JSON object kept as a string "
                    "(chat templates expect an object)"
                )
        calls.append(call)
    return {**message, "tool_calls": calls}


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


# TRL decides per dataset, from its first row, whether to apply the chat template, and ``datasets``
# gives a column one type: a file must hold one style (see :func:`styled`).
TRL_STYLES = ("conversational", "standard")
STYLE_KEYS = ("prompt", "completion", "chosen", "rejected")


def check_style(style: str) -> None:
    """Raise ValueError unless ``style`` is one of :data:`TRL_STYLES`."""
    if style not in TRL_STYLES:
        raise ValueError(f"trl_style must be one of {', '.join(TRL_STYLES)}, got {style!r}")


def row_style(row: Mapping[str, Any]) -> str | None:
    """Return ``standard`` (all strings), ``conversational`` (all lists), or ``None`` (mixed or neither)."""
    kinds = {isinstance(row[k], str) for k in STYLE_KEYS if isinstance(row.get(k), (str, list))}
    if len(kinds) != 1:
        return None
    return "standard" if kinds.pop() else "conversational"


def styled(fields: dict[str, list[dict]], style: str, losses: list[str]) -> dict[str, Any] | None:
    """Return the TRL fields in one style: message lists, or (``standard``) plain strings.

    A field that is not exactly one plain ``{role, content: str}`` message cannot be a string:
    in the standard style the row is left out (``None``) and the loss says why.
    """
    if style == "conversational":
        return dict(fields)
    out: dict[str, Any] = {}
    for key, messages in fields.items():
        role = "user" if key == "prompt" else "assistant"
        if len(messages) != 1 or messages[0].get("role") != role or not plain_string_content(messages):
            losses.append(
                f"row left out: `{key}` is not one plain text {role} message, so it cannot be a standard "
                "string (write it in the conversational style)"
            )
            return None
        out[key] = messages[0]["content"]
    return out


def finish_row(out: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """Add a record's tools, ``parallel_tool_calls`` and metadata to a TRL row (its own keys win)."""
    tools = clean(record.get("tools"))
    if tools:
        out["tools"] = tools
    parallel = (clean(record.get("extra")) or {}).get("parallel_tool_calls")
    if tools and isinstance(parallel, bool):
        out["parallel_tool_calls"] = parallel
    for key, value in metadata_of(record).items():
        out.setdefault(key, value)
    return out
