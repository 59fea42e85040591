"""TRL prompt-only (GRPO, RLOO, online DPO): ``{"prompt", <reference fields>}``.

``prompt`` is a string (standard) or a list of messages ending with the user turn the model
answers (conversational). The canonical kind is ``rft``, like OpenAI RFT: a prompt without a
reply, whose other keys (``solution``, ``answer``, ...) are the reference fields a reward
function or grader reads.
"""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean
from core.formats._trl import finish_row, for_trl, styled, to_messages
from core.records import make_record

NAME = "trl-prompt-only"
KIND = "rft"
CONTAINER = "jsonl"
RESERVED = ("prompt", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (the prompt messages, reference fields as extra)."""
    value = row.get("prompt")
    if value is None:
        ctx.error("prompt", "missing_prompt", "the row has no `prompt`")
        return None
    if isinstance(value, str) and not value.strip():
        ctx.error("prompt", "empty_prompt", "the prompt is blank: there is nothing to generate from")
        return None
    prompt = to_messages(value, "user", "prompt", ctx)
    if prompt is None:
        return None
    if not prompt or prompt[-1].get("role") != "user":
        last = prompt[-1].get("role") if prompt else None
        ctx.error(
            "prompt",
            "prompt_last_not_user",
            f"the prompt must end with the user turn the model answers, it ends with {last!r}",
        )
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(KIND, prompt, tools=row.get("tools"), extra=extra, raw=row, source_format=NAME)


def build(
    record: dict[str, Any], *, style: str = "conversational"
) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the prompt-only row in ``style``: the prompt up to its last user turn, plus reference fields."""
    losses: list[str] = []
    messages = for_trl(clean(record["messages"]) or [], losses)
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return None, ["row left out: no user message, so there is no prompt"]
    cut = users[-1] + 1
    if cut < len(messages):
        losses.append(
            f"{len(messages) - cut} message(s) after the last user turn dropped (a prompt ends there)"
        )
    out = styled({"prompt": messages[:cut]}, style, losses)
    if out is None:
        return None, losses
    return finish_row(out, record), losses
