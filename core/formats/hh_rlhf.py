r"""Anthropic HH-RLHF: ``{"chosen": transcript, "rejected": transcript}``.

A transcript is ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``; the two share the conversation so
far and differ in the last assistant turn. The shared turns become the prompt, as in TRL's
``hh-rlhf-helpful-base.py``.
"""

from __future__ import annotations

import re
from typing import Any

from core.formats._base import RowContext, clean, metadata_of, type_name
from core.formats._text import common_losses, plain_text
from core.formats.trl_preference import check_pair, split_shared_prompt
from core.records import make_record

NAME = "hh-rlhf"
KIND = "preference"
CONTAINER = "jsonl"
RESERVED = ("chosen", "rejected")
_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant): ?")
_ROLE = {"Human": "user", "Assistant": "assistant"}
_LABEL = {"user": "Human", "assistant": "Assistant"}


def looks_like_transcript(value: Any) -> bool:
    """True for a string holding at least one ``Human:`` turn."""
    return isinstance(value, str) and "Human:" in value[:2000]


def parse_transcript(text: str) -> tuple[list[dict], str]:
    """Return the turns of a transcript and any text before the first turn."""
    parts = _TURN.split(text)
    turns = [{"role": _ROLE[parts[i]], "content": parts[i + 1]} for i in range(1, len(parts) - 1, 2)]
    return turns, parts[0]


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one HH-RLHF row and return its canonical preference record."""
    sides = {}
    for key in ("chosen", "rejected"):
        value = row.get(key)
        if not isinstance(value, str):
            ctx.error(
                key,
                f"missing_{key}" if value is None else "invalid_field_type",
                f"`{key}` must be a transcript string, got {type_name(value)}",
            )
            continue
        turns, before = parse_transcript(value)
        if not any(t["role"] == "user" for t in turns):
            ctx.error(
                key,
                "hh_not_transcript",
                f'`{key}` has no "\\n\\nHuman: " turn',
                "write turns as \\n\\nHuman: ... \\n\\nAssistant: ...",
            )
            continue
        if before.strip():
            ctx.warn(
                key, "hh_text_before_first_turn", f"text before the first turn is dropped: {before[:60]!r}"
            )
        if turns[-1]["role"] != "assistant":
            ctx.error(key, "hh_last_not_assistant", f"`{key}` must end with an Assistant turn")
        sides[key] = turns
    if ctx.errors:
        return None
    prompt, chosen, rejected = split_shared_prompt(sides["chosen"], sides["rejected"])
    check_pair(chosen, rejected, ctx)
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(
        KIND, prompt, chosen=chosen, rejected=rejected, extra=extra, raw=row, source_format=NAME
    )


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the HH-RLHF transcripts of a canonical preference record."""
    prompt: list[dict] = clean(record["messages"]) or []
    losses = common_losses(record, prompt)
    if any(m.get("role") not in _LABEL for m in prompt):
        losses.append("system / tool messages dropped (transcripts have Human and Assistant turns only)")
    head = _transcript([m for m in prompt if m.get("role") in _LABEL], losses)
    chosen = clean(record.get("chosen")) or []
    rejected = clean(record.get("rejected")) or []
    if not chosen or not rejected:
        return None, ["row left out: chosen or rejected is empty"]
    out: dict[str, Any] = {
        "chosen": head + _transcript(chosen, losses),
        "rejected": head + _transcript(rejected, losses),
    }
    for key, value in metadata_of(record).items():
        out.setdefault(key, value)
    return out, sorted(set(losses), key=losses.index)


def _transcript(messages: list[dict], losses: list[str]) -> str:
    return "".join(
        f"\n\n{_LABEL.get(str(m.get('role')), 'Assistant')}: {plain_text(m, losses, m.get('role', ''))}"
        for m in messages
    )
