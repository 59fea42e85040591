"""OpenAI DPO rows.

Shape: ``{"input": {"messages", "tools"?}, "preferred_output": [..], "non_preferred_output": [..]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formats._base import RowContext, clean, type_name
from core.formats._messages import (
    DPO_REPLY_RULES,
    DPO_RULES,
    check_messages,
    check_reply,
    check_tools,
    roles_of,
)
from core.formats.openai_sft import dropped_metadata, openai_messages, openai_tools
from core.records import make_record

NAME = "openai-dpo"
KIND = "preference"
CONTAINER = "jsonl"
RESERVED = ("input", "preferred_output", "non_preferred_output")
_STALE = {"preferred_completion": "preferred_output", "non_preferred_completion": "non_preferred_output"}
WRONG_SHAPE_FIX = (
    'OpenAI DPO wants {"input": {"messages": [{"role": "user", "content": PROMPT}]}, '
    '"preferred_output": [{"role": "assistant", "content": CHOSEN}], '
    '"non_preferred_output": [{"role": "assistant", "content": REJECTED}]}; '
    "convert the file with: python -m core convert FILE --format trl-preference --to openai-dpo -o OUT.jsonl"
)


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one DPO row and return its canonical record (``None`` if unusable)."""
    if "input" not in row and {"chosen", "rejected"} <= set(row):
        ctx.error(
            "",
            "dpo_wrong_shape",
            "this row uses prompt/chosen/rejected (TRL / HH-RLHF), not OpenAI's DPO keys: "
            "OpenAI would reject it",
            WRONG_SHAPE_FIX,
        )
        return None
    _check_keys(row, ctx)
    messages = _input_messages(row.get("input"), ctx)
    chosen = _output(row, "preferred_output", ctx)
    rejected = _output(row, "non_preferred_output", ctx)
    if messages is None or chosen is None or rejected is None:
        return None
    if _content(chosen) == _content(rejected):
        ctx.error(
            "non_preferred_output",
            "dpo_outputs_identical",
            "preferred and non-preferred outputs are the same: the pair teaches nothing",
        )
    inner = row["input"]
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    if "parallel_tool_calls" in inner:
        extra["parallel_tool_calls"] = inner["parallel_tool_calls"]
    return make_record(
        KIND,
        messages,
        chosen=chosen,
        rejected=rejected,
        tools=inner.get("tools"),
        extra=extra,
        raw=row,
        source_format=NAME,
    )


def _check_keys(row: dict[str, Any], ctx: RowContext) -> None:
    for key in row:
        if key in _STALE:
            ctx.error(key, "stale_dpo_key", f"`{key}` is the old name", f"rename it to `{_STALE[key]}`")
        elif key not in RESERVED:
            ctx.warn(
                key,
                "unknown_top_level_key",
                f"`{key}` is not an OpenAI key: kept as metadata, left out of an OpenAI export",
            )


def _input_messages(value: Any, ctx: RowContext) -> list[dict] | None:
    if value is None:
        ctx.error("input", "missing_input", "the row has no `input` object")
        return None
    if not isinstance(value, Mapping):
        fix = 'wrap the list: "input": {"messages": [...]}' if isinstance(value, list) else None
        message = f"`input` must be an object with `messages`, got {type_name(value)}"
        ctx.error("input", "input_not_object", message, fix)
        return None
    messages: Any = value.get("messages")
    if not check_messages(messages, ctx, "input.messages", DPO_RULES):
        return None
    check_tools(value.get("tools"), ctx, "input.tools")
    roles = roles_of(messages)
    if roles[-1] != "user":
        ctx.error(
            "input.messages",
            "input_not_ending_with_user",
            f"input.messages must end with a user message, ends with {roles[-1]!r}",
            "the preferred and non-preferred outputs answer the last user message",
        )
    return messages


def _output(row: dict[str, Any], key: str, ctx: RowContext) -> list[dict] | None:
    value = row.get(key)
    if value is None:
        stale = {v: k for k, v in _STALE.items()}[key]
        if stale not in row:
            ctx.error(key, f"missing_{key}", f"the row has no `{key}`")
        return None
    if isinstance(value, Mapping):
        ctx.error(
            key,
            "output_not_single_assistant",
            f"`{key}` must be an array holding one message",
            "wrap it in [ ]",
        )
        return None
    if not check_messages(value, ctx, key, DPO_REPLY_RULES):
        return None
    if len(value) != 1 or value[0].get("role") != "assistant":
        ctx.error(
            key,
            "output_not_single_assistant",
            f"`{key}` must hold exactly one assistant message, "
            f"got {len(value)} ({', '.join(map(str, roles_of(value)))})",
        )
    elif value[0].get("tool_calls") or value[0].get("function_call"):
        ctx.error(key, "dpo_output_not_text", f"`{key}` must be text: DPO trains on text outputs only")
    else:
        check_reply(value, key, ctx)
    return value


def _content(messages: list[dict]) -> Any:
    return [(m.get("content"), m.get("tool_calls")) for m in messages if isinstance(m, Mapping)]


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the OpenAI DPO row of a canonical preference record and what was lost."""
    losses: list[str] = []
    messages = [
        {**m, "role": "system"} if m.get("role") == "developer" else m
        for m in clean(record["messages"]) or []
    ]
    chosen = _single(clean(record.get("chosen")) or [], "chosen", losses)
    rejected = _single(clean(record.get("rejected")) or [], "rejected", losses)
    if chosen is None or rejected is None:
        return None, losses
    if _content([chosen]) == _content([rejected]):
        return None, ["row left out: chosen and rejected are the same, and OpenAI DPO rejects such a pair"]
    if not messages or messages[-1].get("role") != "user":
        losses.append("the prompt does not end with a user message: OpenAI will reject this row")
    inner: dict[str, Any] = {"messages": openai_messages(messages, losses), **openai_tools(record)}
    losses.extend(dropped_metadata(record))
    outputs = openai_messages([chosen, rejected], losses)
    return {"input": inner, "preferred_output": outputs[:1], "non_preferred_output": outputs[1:]}, losses


def _single(messages: list[dict], side: str, losses: list[str]) -> dict[str, Any] | None:
    replies = [m for m in messages if m.get("role") == "assistant"]
    if not replies:
        losses.append(f"row left out: the {side} side has no assistant message")
        return None
    if len(messages) > 1:
        losses.append(
            f"{side}: {len(messages) - 1} earlier message(s) dropped, DPO keeps one assistant message"
        )
    reply = {k: v for k, v in replies[-1].items() if k != "weight"}
    if "weight" in replies[-1]:
        losses.append(f"{side}: weight dropped (not allowed in DPO)")
    return reply
