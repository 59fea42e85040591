"""TRL conversational language modeling: ``{"messages": [{"role", "content"}, ...], "tools"?}``."""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean
from core.formats._messages import TRL_RULES, check_messages, roles_of
from core.formats._trl import finish_row, for_trl, link_tool_replies, normalise
from core.records import make_record

NAME = "trl-messages"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("messages", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (tool-call arguments become JSON strings)."""
    messages: Any = row.get("messages")
    if not check_messages(messages, ctx, "messages", TRL_RULES):
        return None
    if "assistant" not in roles_of(messages):
        ctx.error("messages", "missing_assistant", "no assistant message: there is nothing to train on")
    canonical = link_tool_replies([normalise(m) for m in messages])
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(KIND, canonical, tools=row.get("tools"), extra=extra, raw=row, source_format=NAME)


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the TRL messages row of a canonical SFT record."""
    losses: list[str] = []
    out: dict[str, Any] = {"messages": for_trl(clean(record["messages"]) or [], losses)}
    return finish_row(out, record), losses
