"""TRL prompt-completion: ``{"prompt", "completion"}``, both strings or both message lists."""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean
from core.formats._trl import finish_row, for_trl, same_style, styled, to_messages
from core.records import make_record

NAME = "trl-prompt-completion"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("prompt", "completion", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (prompt then completion messages)."""
    for key in ("prompt", "completion"):
        if row.get(key) is None:
            ctx.error(key, f"missing_{key}", f"the row has no `{key}`")
    if ctx.errors or not same_style({"prompt": row["prompt"], "completion": row["completion"]}, ctx):
        return None
    prompt = to_messages(row["prompt"], "user", "prompt", ctx)
    completion = to_messages(row["completion"], "assistant", "completion", ctx)
    if prompt is None or completion is None:
        return None
    if not any(m.get("role") == "assistant" for m in completion):
        ctx.error("completion", "missing_assistant", "the completion has no assistant message")
    if isinstance(row["completion"], str) and not row["completion"].strip():
        ctx.error("completion", "empty_completion", "the completion is empty: there is nothing to train on")
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(
        KIND, prompt + completion, tools=row.get("tools"), extra=extra, raw=row, source_format=NAME
    )


def build(
    record: dict[str, Any], *, style: str = "conversational"
) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the prompt-completion row in ``style``: completion = the messages after the last user turn."""
    losses: list[str] = []
    messages = for_trl(clean(record["messages"]) or [], losses)
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        # An empty prompt is no TRL row: the validator rejects it and TRL raises IndexError.
        return None, ["row left out: no user message, so there is no prompt (TRL needs one)"]
    cut = users[-1] + 1
    prompt, completion = messages[:cut], messages[cut:]
    if not completion:
        return None, ["row left out: no assistant reply after the last user message"]
    out = styled({"prompt": prompt, "completion": completion}, style, losses)
    if out is None:
        return None, losses
    return finish_row(out, record), losses
