"""TRL preference: ``{"prompt"?, "chosen", "rejected"}``, standard (strings) or conversational (lists).

Without ``prompt`` (implicit prompt) the shared leading messages of ``chosen`` and
``rejected`` are the prompt, as TRL's ``extract_prompt`` does.
"""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, clean
from core.formats._messages import TRL_REPLY_RULES, check_reply
from core.formats._trl import finish_row, for_trl, same_style, styled, to_messages
from core.records import make_record

NAME = "trl-preference"
KIND = "preference"
CONTAINER = "jsonl"
RESERVED = ("prompt", "chosen", "rejected", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its canonical record (prompt, chosen, rejected)."""
    for key in ("chosen", "rejected"):
        if row.get(key) is None:
            ctx.error(key, f"missing_{key}", f"the row has no `{key}`")
    if ctx.errors or not same_style({k: row.get(k) for k in ("chosen", "rejected")}, ctx):
        return None
    chosen = to_messages(row["chosen"], "assistant", "chosen", ctx, TRL_REPLY_RULES)
    rejected = to_messages(row["rejected"], "assistant", "rejected", ctx, TRL_REPLY_RULES)
    prompt = _prompt(row, chosen, ctx)
    if prompt is None or chosen is None or rejected is None:
        return None
    if not prompt:
        prompt, chosen, rejected = split_shared_prompt(chosen, rejected)
    check_pair(chosen, rejected, ctx)
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(
        KIND,
        prompt,
        chosen=chosen,
        rejected=rejected,
        tools=row.get("tools"),
        extra=extra,
        raw=row,
        source_format=NAME,
    )


def _prompt(row: dict[str, Any], chosen: list[dict] | None, ctx: RowContext) -> list[dict] | None:
    """Return the explicit prompt as messages, or ``[]`` when the prompt is implicit (inside chosen).

    A string prompt beside conversational chosen/rejected (e.g. UltraFeedback) is accepted with a
    warning: when chosen already starts with the user turn the prompt is implicit, otherwise the
    string becomes the user message.
    """
    value = row.get("prompt")
    if value is None:
        return []
    if isinstance(value, str) and isinstance(row.get("chosen"), list):
        ctx.warn(
            "prompt",
            "mixed_standard_conversational",
            "prompt is a string but chosen/rejected are message lists",
        )
        if chosen and chosen[0].get("role") in ("user", "system"):
            return []
    return to_messages(value, "user", "prompt", ctx)


def split_shared_prompt(
    chosen: list[dict], rejected: list[dict]
) -> tuple[list[dict], list[dict], list[dict]]:
    """Return (prompt, chosen, rejected): the prompt is the common prefix, cut before an assistant turn."""
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    cut = shared
    while cut > 0 and chosen[cut].get("role") != "assistant":
        cut -= 1
    return chosen[:cut], chosen[cut:], rejected[cut:]


def check_pair(chosen: list[dict], rejected: list[dict], ctx: RowContext) -> None:
    """Check each side (:func:`check_reply`) and warn when both sides are the same."""
    check_reply(chosen, "chosen", ctx)
    check_reply(rejected, "rejected", ctx)
    if chosen == rejected:
        ctx.warn(
            "rejected", "chosen_equals_rejected", "chosen and rejected are the same: the pair teaches nothing"
        )


def build(
    record: dict[str, Any], *, style: str = "conversational"
) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the TRL preference row in ``style`` (message lists, or ``standard`` strings)."""
    losses: list[str] = []
    prompt = for_trl(clean(record["messages"]) or [], losses)
    chosen = for_trl(clean(record.get("chosen")) or [], losses)
    rejected = for_trl(clean(record.get("rejected")) or [], losses)
    if not chosen or not rejected:
        return None, ["row left out: chosen or rejected is empty"]
    fields = {"prompt": prompt} if prompt else {}
    out = styled({**fields, "chosen": chosen, "rejected": rejected}, style, losses)
    if out is None:
        return None, losses
    return finish_row(out, record), losses
