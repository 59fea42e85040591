"""TRL unpaired preference (KTO): ``{"prompt", "completion", "label": bool}``.

One row judges one completion: ``label: true`` means desirable, ``false`` undesirable. The
canonical kind is ``preference`` with one side only: a ``true`` row is a record whose
``chosen`` is the completion and ``rejected`` is ``None``, a ``false`` row the other way round.
Pairs are never invented from unpaired rows, so a KTO row written as a paired format (DPO,
trl-preference) is left out with its loss; a paired record written as KTO becomes two rows
(chosen ``true``, rejected ``false``), as TRL's ``unpair_preference_dataset`` does.
"""

from __future__ import annotations

from typing import Any

from core.formats import trl_prompt_completion
from core.formats._base import RowContext, clean, type_name
from core.formats._trl import finish_row, for_trl, styled
from core.records import make_record

NAME = "trl-kto"
KIND = "preference"
CONTAINER = "jsonl"
RESERVED = ("prompt", "completion", "label", "tools")
PAIR_KEYS = ("prompt", "completion", "tools")


def parse(row: dict[str, Any], ctx: RowContext) -> dict[str, Any] | None:
    """Validate one row and return its one-sided preference record.

    ``prompt`` and ``completion`` follow the rules of TRL prompt-completion (one rule in one
    place); ``label`` must be a boolean.
    """
    label = row.get("label")
    if label is None:
        ctx.error("label", "missing_label", "the row has no `label`")
    elif not isinstance(label, bool):
        ctx.error(
            "label", "label_not_boolean", f"`label` must be true or false, got {type_name(label)} {label!r}"
        )
    pair = trl_prompt_completion.parse({k: v for k, v in row.items() if k in PAIR_KEYS}, ctx)
    if pair is None or ctx.errors:
        return None
    prompt_value = row["prompt"]
    cut = 1 if isinstance(prompt_value, str) else len(prompt_value)  # to_messages maps a list 1:1
    prompt, completion = pair["messages"][:cut], pair["messages"][cut:]
    extra = {k: v for k, v in row.items() if k not in RESERVED}
    return make_record(
        KIND,
        prompt,
        chosen=completion if label else None,
        rejected=None if label else completion,
        tools=row.get("tools"),
        extra=extra,
        raw=row,
        source_format=NAME,
    )


def build(
    record: dict[str, Any], *, style: str = "conversational"
) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """Return the KTO rows of a preference record: one per side present (chosen true, rejected false)."""
    losses: list[str] = []
    prompt = for_trl(clean(record["messages"]) or [], losses)
    sides = [
        (label, for_trl(clean(record.get(key)) or [], losses))
        for label, key in ((True, "chosen"), (False, "rejected"))
    ]
    sides = [(label, side) for label, side in sides if side]
    if not prompt:
        return None, ["row left out: no prompt (KTO needs one)"]
    if not sides:
        return None, ["row left out: neither chosen nor rejected holds a completion"]
    rows: list[dict[str, Any]] = []
    for label, side in sides:
        out = styled({"prompt": prompt, "completion": side}, style, losses)
        if out is None:
            return None, losses
        out["label"] = label
        rows.append(finish_row(out, record))
    return rows, losses
