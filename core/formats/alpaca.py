"""Alpaca: a JSON array of ``{"instruction", "input", "output"}``.

Also read: ``system`` and ``history`` (LLaMA-Factory), and Dolly's ``context`` / ``response``
as aliases of ``input`` / ``output``.
"""

from __future__ import annotations

from typing import Any

from core.formats._base import RowContext, metadata_of, type_name
from core.formats._text import split_last_exchange
from core.records import make_record

NAME = "alpaca"
KIND = "sft"
CONTAINER = "json"
RESERVED = ("instruction", "input", "output", "system", "history")
_ALIASES = {"input": "context", "output": "response"}


def user_text(instruction: str, extra_input: str) -> str:
    """Return the user turn of an Alpaca row: the instruction, then the input after a blank line."""
    return f"{instruction}\n\n{extra_input}" if extra_input.strip() else instruction


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one Alpaca row and return its canonical record."""
    instruction: Any = row.get("instruction")
    extra_input: Any = row.get("input", row.get("context", ""))
    output: Any = row.get("output", row.get("response"))
    for key, value, required in (
        ("instruction", instruction, True),
        ("input", extra_input, False),
        ("output", output, True),
    ):
        if value is None and required:
            ctx.error(key, f"missing_{key}", f"the row has no `{key}`")
        elif value is not None and not isinstance(value, str):
            ctx.error(key, "invalid_field_type", f"`{key}` must be a string, got {type_name(value)}")
    if ctx.errors:
        return None
    if not instruction.strip():
        ctx.error("instruction", "empty_instruction", "the instruction is empty")
    if not output.strip():
        ctx.error("output", "empty_output", "the output is empty: there is nothing to train on")
    messages = _system(row, ctx) + _history(row.get("history"), ctx)
    messages += [{"role": "user", "content": user_text(instruction, extra_input or "")}]
    messages += [{"role": "assistant", "content": output}]
    used_aliases = {alias for key, alias in _ALIASES.items() if key not in row}
    extra = {k: v for k, v in row.items() if k not in RESERVED and k not in used_aliases}
    return make_record(KIND, messages, extra=extra, raw=row, source_format=NAME)


def _system(row: dict[str, Any], ctx: RowContext) -> list[dict]:
    system = row.get("system")
    if system is None or system == "":
        return []
    if not isinstance(system, str):
        ctx.error("system", "invalid_field_type", f"`system` must be a string, got {type_name(system)}")
        return []
    return [{"role": "system", "content": system}]


def _history(history: Any, ctx: RowContext) -> list[dict]:
    if not history:
        return []
    ok = isinstance(history, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in history
    )
    if not ok:
        ctx.error("history", "invalid_history", "history must be an array of [instruction, response] pairs")
        return []
    turns: list[dict] = []
    for question, answer in history:
        turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return turns


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return the Alpaca row of a canonical SFT record; multi-turn keeps the last exchange."""
    user, reply, losses = split_last_exchange(record)
    if user is None or reply is None:
        return None, losses
    out = {"instruction": user, "input": "", "output": reply}
    for key, value in metadata_of(record).items():
        out.setdefault(key, value)
    return out, losses
