"""Flat tables (CSV, or JSON rows of plain values) read through a :class:`ColumnMap`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.formats._base import ColumnMap, RowContext, clean, metadata_of
from core.formats._text import split_last_exchange, system_text
from core.formats.trl_preference import check_pair
from core.records import make_record

NAME = "csv"
CONTAINER = "csv"
KIND = "sft"  # the default; a ColumnMap decides (see ColumnMap.kind)
_CANDIDATES = {
    "prompt": (
        "prompt",
        "instruction",
        "question",
        "query",
        "input",
        "user",
        "user_message",
        "request",
        "customer_message",
        "message",
        "text",
    ),
    "response": (
        "response",
        "completion",
        "answer",
        "output",
        "reply",
        "assistant",
        "assistant_message",
        "agent_response",
        "target",
    ),
    "system": ("system", "system_prompt", "system_message", "developer"),
    "chosen": ("chosen", "preferred", "preferred_output", "accepted"),
    "rejected": ("rejected", "dispreferred", "non_preferred", "non_preferred_output"),
    "category": ("category", "intent", "topic", "label", "class"),
    "difficulty": ("difficulty", "level", "complexity"),
    "created_at": ("created_at", "timestamp", "created", "date", "time"),
    "source": ("source", "origin"),
}


def suggest_column_map(columns: list[str]) -> ColumnMap | None:
    """Guess which column is the prompt, the response, ... from the usual names (``None``: no prompt)."""
    lowered = {c.strip().lower().replace(" ", "_").replace("-", "_"): c for c in columns}
    picked: dict[str, str] = {}
    for role, names in _CANDIDATES.items():
        for name in names:
            column = lowered.get(name)
            if column is not None and column not in picked.values():
                picked[role] = column
                break
    if "prompt" not in picked:
        return None
    if ("chosen" in picked) != ("rejected" in picked):
        picked.pop("chosen", None)
        picked.pop("rejected", None)
    return ColumnMap(**picked)


def _cell(value: Any) -> Any:
    """Return a cell's value with an empty CSV cell as ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def make_parser(column_map: ColumnMap) -> Callable[[dict[str, Any], RowContext], dict[str, Any] | None]:
    """Return the row parser of a table read through ``column_map``."""
    used = column_map.used()
    text_roles = ("prompt", "response", "system", "chosen", "rejected")
    renamed = {column: role for role, column in used.items() if role not in text_roles}
    skipped = {used[role] for role in text_roles if role in used}
    # A ``developer`` column is the instructions of an RFT (or newer OpenAI) prompt: that role, kept.
    system_role = "developer" if used.get("system", "").strip().lower() == "developer" else "system"

    def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
        texts = {role: _text(row.get(used[role])) for role in text_roles if role in used}
        for role in ("chosen", "rejected"):
            if texts.get(role) is None and isinstance(row.get(used.get(role, "")), str):
                texts[role] = ""  # an empty reply, not a missing one: check_pair reports it
        required = {
            "sft": ("prompt", "response"),
            "preference": ("prompt", "chosen", "rejected"),
            "rft": ("prompt",),
        }
        for role in required[column_map.kind]:
            if texts.get(role) is None:
                ctx.error(
                    used[role], f"missing_{role}", f"column `{used[role]}` ({role}) is empty in this row"
                )
        if ctx.errors:
            return None
        messages = [{"role": system_role, "content": texts["system"]}] if texts.get("system") else []
        messages.append({"role": "user", "content": texts["prompt"]})
        extra = {renamed.get(k, k): _cell(v) for k, v in row.items() if k not in skipped}
        if column_map.kind == "preference":
            chosen = [{"role": "assistant", "content": texts["chosen"]}]
            rejected = [{"role": "assistant", "content": texts["rejected"]}]
            check_pair(chosen, rejected, ctx)
            return make_record(
                "preference",
                messages,
                chosen=chosen,
                rejected=rejected,
                extra=extra,
                raw=row,
                source_format=NAME,
            )
        if column_map.kind == "sft":
            messages.append({"role": "assistant", "content": texts["response"]})
        return make_record(column_map.kind, messages, extra=extra, raw=row, source_format=NAME)

    return parse


def _text(value: Any) -> str | None:
    value = _cell(value)
    return None if value is None else str(value)


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the flat row of a canonical record: system, prompt, response (or chosen / rejected)."""
    kind = record.get("kind")
    messages: list[dict] = clean(record.get("messages")) or []
    out: dict[str, Any] = {}
    system = system_text(messages)
    if system is not None:
        instructions = {m.get("role") for m in messages if m.get("role") in ("system", "developer")}
        out["developer" if instructions == {"developer"} else "system"] = system
    if kind == "sft":
        user, reply, losses = split_last_exchange(record)
        losses = [loss for loss in losses if not loss.startswith("system prompt")]
        if user is None:
            return None, losses
        out.update(prompt=user, response=reply)
    else:
        losses = []
        out["prompt"] = _prompt_text(messages, losses)
        if kind == "preference":
            out["chosen"] = _side(record.get("chosen"), losses)
            out["rejected"] = _side(record.get("rejected"), losses)
    metadata = metadata_of(record)
    if kind == "rft":  # a reference field named like a reply would be read back as the reply (SFT)
        metadata = _without_reply_names(metadata, losses)
    for key, value in metadata.items():
        out.setdefault(key, value)
    texts = [key for key, value in metadata.items() if value is not None and not isinstance(value, str)]
    if texts:
        losses.append(
            f"{', '.join(f'`{k}`' for k in texts)} written as text "
            "(a CSV cell is text: numbers, booleans and objects read back as strings)"
        )
    return out, losses


_REPLY_NAMES = frozenset(_CANDIDATES["response"] + _CANDIDATES["chosen"] + _CANDIDATES["rejected"])


def _without_reply_names(metadata: dict[str, Any], losses: list[str]) -> dict[str, Any]:
    clashes = [key for key in metadata if key.strip().lower() in _REPLY_NAMES]
    for key in clashes:
        losses.append(
            f"reference field `{key}` written as `meta_{key}` (CSV would read `{key}` as the reply)"
        )
    return {(f"meta_{k}" if k in clashes else k): v for k, v in metadata.items()}


def _prompt_text(messages: list[dict], losses: list[str]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    if len(users) > 1 or any(m.get("role") in ("assistant", "tool") for m in messages):
        losses.append("multi-turn prompt: only the user turns kept, joined")
    return "\n\n".join(str(m.get("content") if isinstance(m.get("content"), str) else "") for m in users)


def _side(messages: Any, losses: list[str]) -> str:
    replies = [m for m in clean(messages) or [] if m.get("role") == "assistant"]
    if len(replies) > 1:
        losses.append("multi-message answer: only the last assistant message kept")
    return replies[-1].get("content") or "" if replies else ""
