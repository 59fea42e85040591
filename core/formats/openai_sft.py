"""OpenAI supervised fine-tuning, chat format: ``{"messages": [...], "tools"?, "parallel_tool_calls"?}``."""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean, type_name
from core.formats._messages import KEYS_BY_ROLE, SFT_RULES, check_messages, check_tools, roles_of
from core.records import make_record

NAME = "openai-sft"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("messages", "tools", "parallel_tool_calls", "functions")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (``None`` if it has no usable messages)."""
    messages: Any = row.get("messages")
    usable = check_messages(messages, ctx, "messages", SFT_RULES)
    check_top_level(row, ctx)
    if not usable:
        return None
    roles = roles_of(messages)
    if "assistant" not in roles:
        ctx.error("messages", "missing_assistant", "no assistant message: there is nothing to train on")
    elif roles[-1] != "assistant":
        ctx.warn("messages", "last_message_not_assistant", "the last message is not from the assistant")
    if "user" not in roles:
        ctx.warn("messages", "missing_user_message", "no user message")
    return record_of(NAME, KIND, row, messages)


def check_top_level(row: dict[str, Any], ctx: RowContext) -> None:
    """Check ``tools``, ``parallel_tool_calls``, ``functions`` and report unknown keys."""
    check_tools(row.get("tools"), ctx)
    parallel = row.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        ctx.error(
            "parallel_tool_calls",
            "invalid_parallel_tool_calls",
            f"must be true or false, got {type_name(parallel)}",
        )
    if "functions" in row:
        ctx.warn("functions", "deprecated_functions", "`functions` is deprecated", "use `tools`")
    for key in row:
        if key not in RESERVED:
            ctx.warn(
                key,
                "unknown_top_level_key",
                f"`{key}` is not an OpenAI key: kept as metadata, left out of an OpenAI export",
            )


def record_of(name: str, kind: str, row: dict[str, Any], messages: list[dict]) -> dict[str, Any]:
    """Build the canonical record of an OpenAI-style ``messages`` row."""
    extra = {k: v for k, v in row.items() if k not in ("messages", "tools")}
    messages = drop_null_keys(messages)
    return make_record(
        kind, messages, tools=row.get("tools"), extra=extra, raw=row, source_format=name, source_line=None
    )


def drop_null_keys(messages: list[dict]) -> list[dict]:
    """Return messages without null-valued keys other than ``content`` (Parquet schemas add them)."""
    if not any(None in m.values() for m in messages if isinstance(m, dict)):
        return messages
    return [
        {k: v for k, v in m.items() if v is not None or k == "content"} if isinstance(m, dict) else m
        for m in messages
    ]


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the OpenAI SFT row of a canonical record and what could not be carried over."""
    losses: list[str] = []
    messages = []
    for message in clean(record["messages"]) or []:
        if message.get("role") == "developer":
            message = {**message, "role": "system"}
            losses.append("developer message written as system")
        messages.append(message)
    out: dict[str, Any] = {"messages": openai_messages(messages, losses)}
    out.update(openai_tools(record))
    losses.extend(dropped_metadata(record))
    return out, losses


def openai_tools(record: dict[str, Any]) -> dict[str, Any]:
    """Return ``tools`` / ``parallel_tool_calls`` of a record, as OpenAI keys."""
    out: dict[str, Any] = {}
    tools = clean(record.get("tools"))
    if tools:
        out["tools"] = tools
    extra = clean(record.get("extra")) or {}
    if isinstance(extra.get("parallel_tool_calls"), bool):
        out["parallel_tool_calls"] = extra["parallel_tool_calls"]
    return out


def dropped_metadata(record: dict[str, Any]) -> list[str]:
    """Describe metadata an OpenAI export leaves out."""
    from core.formats._base import metadata_of

    keys = sorted(metadata_of(record))
    return [f"metadata left out (OpenAI rejects unknown keys): {', '.join(keys)}"] if keys else []


def openai_messages(messages: list[Any], losses: list[str]) -> list[Any]:
    """Return messages without the keys an OpenAI message of their role does not have, noting the loss.

    OpenAI rejects a file with unknown keys (the cookbook counts ``message_unrecognized_key``);
    null-valued ones are a Parquet schema's padding and go without a word.
    """
    out: list[Any] = []
    dropped: set[str] = set()
    for message in messages:
        allowed = KEYS_BY_ROLE.get(str(message.get("role"))) if isinstance(message, dict) else None
        if allowed is None or message.keys() <= allowed:
            out.append(message)
            continue
        dropped.update(k for k, v in message.items() if k not in allowed and v is not None)
        out.append({k: v for k, v in message.items() if k in allowed})
    if dropped:
        losses.append(f"message keys left out (OpenAI rejects unknown keys): {', '.join(sorted(dropped))}")
    return out
