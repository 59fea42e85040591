"""Self-instruct seed tasks.

A task is ``{"id", "name", "instruction", "instances": [{"input", "output"}], "is_classification"}``.

One task holds several instances; each instance becomes one SFT example: the instruction and
the instance's input as the user turn (as in Alpaca), its output as the assistant turn. The
task's other keys (``id``, ``name``, ``is_classification``) are kept as metadata, with
``instance`` (1-based) saying which instance of the task the example is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formats._base import RowContext, metadata_of, type_name
from core.formats._text import split_last_exchange
from core.formats.alpaca import user_text
from core.records import make_record

NAME = "self-instruct"
KIND = "sft"
CONTAINER = "jsonl"
RESERVED = ("instruction", "instances", "instance")  # instance: added by parse, not written back


def looks_like_task(row: Mapping[str, Any]) -> bool:
    """True for a row with an instruction and a list of instances."""
    return "instruction" in row and isinstance(row.get("instances"), list)


def parse(row: dict[str, Any], ctx: RowContext) -> list[dict[str, Any]] | None:
    """Validate one task and return one canonical record per instance (all or none)."""
    instruction: Any = row.get("instruction")
    instances: Any = row.get("instances")
    if not isinstance(instruction, str) or not instruction.strip():
        got = "no instruction" if instruction is None else f"a {type_name(instruction)} instruction"
        ctx.error(
            "instruction", "missing_instruction", f"the task needs a non-empty string instruction, got {got}"
        )
    if not isinstance(instances, list) or not instances:
        ctx.error("instances", "invalid_instances", "instances must be a non-empty array of {input, output}")
        return None
    pairs = [_instance(item, index, ctx) for index, item in enumerate(instances, start=1)]
    if ctx.errors:
        return None
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    records = []
    for index, (extra_input, output) in enumerate(pairs, start=1):
        messages = [
            {"role": "user", "content": user_text(instruction, extra_input)},
            {"role": "assistant", "content": output},
        ]
        raw = {**row, "instances": [instances[index - 1]]}
        records.append(
            make_record(KIND, messages, extra={**extra, "instance": index}, raw=raw, source_format=NAME)
        )
    return records


def _instance(item: Any, index: int, ctx: RowContext) -> tuple[str, str]:
    field = f"instances[{index}]"
    if not isinstance(item, dict):
        ctx.error(field, "invalid_instances", f"{field} is a {type_name(item)}, not an object")
        return "", ""
    extra_input, output = item.get("input", ""), item.get("output")
    if extra_input is not None and not isinstance(extra_input, str):
        ctx.error(
            f"{field}.input", "invalid_field_type", f"`input` must be a string, got {type_name(extra_input)}"
        )
    if not isinstance(output, str) or not output.strip():
        ctx.error(f"{field}.output", "missing_output", f"{field} has no output: nothing to train on")
    return (extra_input if isinstance(extra_input, str) else ""), (output if isinstance(output, str) else "")


def build(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Return a one-instance task of a canonical SFT record (multi-turn keeps the last exchange)."""
    user, reply, losses = split_last_exchange(record)
    if user is None or reply is None:
        return None, losses
    metadata = metadata_of(record)
    metadata.pop("instance", None)
    out: dict[str, Any] = {"instruction": user, "instances": [{"input": "", "output": reply}]}
    out["is_classification"] = bool(metadata.pop("is_classification", False))
    for key, value in metadata.items():
        out.setdefault(key, value)
    return out, losses
