"""The formats this package knows: their names, modules, families and kinds."""

from __future__ import annotations

from types import ModuleType

from core.formats import (
    alpaca,
    csv_table,
    hh_rlhf,
    openai_dpo,
    openai_rft,
    openai_sft,
    self_instruct,
    sharegpt,
    trl_kto,
    trl_messages,
    trl_preference,
    trl_prompt_completion,
    trl_prompt_only,
    trl_text,
)

FORMAT_NAMES = (
    "openai-sft",
    "openai-dpo",
    "openai-rft",
    "alpaca",
    "sharegpt",
    "trl-messages",
    "trl-text",
    "trl-prompt-completion",
    "trl-preference",
    "trl-kto",
    "trl-prompt-only",
    "hh-rlhf",
    "csv",
    "self-instruct",
)


OPENAI_FORMATS = ("openai-sft", "openai-dpo", "openai-rft")


MIN_EXAMPLES = 10


MAX_RFT_EXAMPLES = 50_000


SAMPLE_ROWS = 50


_MODULES: dict[str, ModuleType] = {
    "openai-sft": openai_sft,
    "openai-dpo": openai_dpo,
    "openai-rft": openai_rft,
    "alpaca": alpaca,
    "sharegpt": sharegpt,
    "trl-messages": trl_messages,
    "trl-prompt-completion": trl_prompt_completion,
    "trl-preference": trl_preference,
    "trl-text": trl_text,
    "trl-kto": trl_kto,
    "trl-prompt-only": trl_prompt_only,
    "hh-rlhf": hh_rlhf,
    "csv": csv_table,
    "self-instruct": self_instruct,
}


_FAMILY = {
    "openai-sft": "messages",
    "trl-messages": "messages",
    "openai-rft": "messages",
    "openai-dpo": "dpo",
    "trl-preference": "chosen/rejected",
    "hh-rlhf": "chosen/rejected",
    "trl-prompt-completion": "prompt/completion",
    "trl-kto": "unpaired",
    "trl-prompt-only": "prompt",
    "trl-text": "text",
    "alpaca": "instruction/output",
    "sharegpt": "conversations",
    "csv": "flat",
    "self-instruct": "instruction/instances",
}


# A row holding its family's main key fits without a closer look (the hot path).
_MAIN_KEY = {
    "messages": "messages",
    "dpo": "input",
    "chosen/rejected": "chosen",
    "prompt/completion": "completion",
    "instruction/output": "instruction",
    "conversations": "conversations",
    "unpaired": "label",
    "prompt": "prompt",
    "text": "text",
    "instruction/instances": "instances",
}


_OTHER_MAIN_KEYS = {
    family: (frozenset(k for f, k in _MAIN_KEY.items() if f != family) | {"prompt", "preferred_output"})
    - {_MAIN_KEY.get(family)}
    for family in (*_MAIN_KEY, "flat")
}


# standard (strings) or conversational (message lists)
_STYLED_FORMATS = ("trl-prompt-completion", "trl-preference", "trl-kto", "trl-prompt-only")


def format_kinds(format: str) -> tuple[str, ...]:
    """Return the kinds of example a format can hold (``csv`` holds all three)."""
    _check_format_name(format)
    return ("sft", "preference", "rft") if format == "csv" else (_MODULES[format].KIND,)


def formats_for_kind(kind: str) -> list[str]:
    """Return the formats a canonical table of ``kind`` can be written in.

    Raises:
        ValueError: If ``kind`` is not ``sft``, ``preference`` or ``rft``.
    """
    if kind not in ("sft", "preference", "rft"):
        raise ValueError(f"kind must be sft, preference or rft, got {kind!r}")
    return [name for name in FORMAT_NAMES if kind in format_kinds(name)]


def _check_format_name(format: str) -> None:
    if format not in FORMAT_NAMES:
        raise ValueError(f"unknown format {format!r}; known formats: {', '.join(FORMAT_NAMES)}")
