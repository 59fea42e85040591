"""Which format a file is in, from the keys of its first rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from core.errors import FormatError
from core.formats import (
    hh_rlhf,
    self_instruct,
)
from core.formats._base import (
    Detection,
)
from core.formats.catalog import _FAMILY, _MODULES, FORMAT_NAMES, SAMPLE_ROWS
from core.formats.csv_table import suggest_column_map

_CERTAINTY = {"openai-sft": 0.9, "trl-messages": 0.85, "openai-rft": 0.85, "trl-text": 0.9, "csv": 0.8}


# A KTO label as people write it; other values of a ``label`` key are metadata (a class, a grade).
_KTO_LABELS = (True, False, 0, 1, "true", "false", "True", "False")


def classify_row(row: Mapping[str, Any]) -> str | None:  # noqa: C901 - one test per format, in order
    """Return the format one row's keys point to, or ``None`` when they match none."""
    if "input" in row and any(
        k in row for k in ("preferred_output", "non_preferred_output", "preferred_completion")
    ):
        return "openai-dpo"
    if "conversations" in row:
        return "sharegpt"
    if self_instruct.looks_like_task(row):
        return "self-instruct"
    if "instruction" in row and any(k in row for k in ("output", "input", "response", "context")):
        return "alpaca"
    if "chosen" in row and "rejected" in row:
        if "prompt" not in row and hh_rlhf.looks_like_transcript(row["chosen"]):
            return "hh-rlhf"
        return "trl-preference"
    if "prompt" in row and "completion" in row:
        label = row.get("label")
        kto = "label" in row and type(label) in (bool, int, str) and label in _KTO_LABELS
        return "trl-kto" if kto else "trl-prompt-completion"
    if "messages" in row:
        return _classify_messages(row)
    if "prompt" in row and _prompt_only(row):
        return "trl-prompt-only"
    if isinstance(row.get("text"), str) and not row.keys() & _FLAT_TEXT_KEYS:
        return "trl-text"
    return None


# Keys that make a row with ``text`` a flat table rather than a language-modeling row.
_FLAT_TEXT_KEYS = frozenset({"prompt", "response", "output", "answer", "question", "label"})


def _prompt_only(row: Mapping[str, Any]) -> bool:
    """A conversational prompt, or a string prompt beside no column a flat table takes as the response."""
    prompt = row["prompt"]
    if isinstance(prompt, list):
        return True
    if not isinstance(prompt, str):
        return False
    mapping = suggest_column_map([str(k) for k in row])
    return mapping is not None and mapping.response is None and mapping.chosen is None


def _classify_messages(row: Mapping[str, Any]) -> str:
    messages = row["messages"]
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], Mapping):
        return "openai-sft"
    if any(_dict_arguments(m) for m in messages):
        return "trl-messages"
    roles = [m.get("role") for m in messages if isinstance(m, Mapping)]
    others = [k for k in row if k not in ("messages", "tools")]
    if roles[-1] == "user" and "assistant" not in roles[:-1] and (others or "developer" in roles):
        return "openai-rft"
    if roles[-1] == "user" and "developer" in roles:
        return "openai-rft"
    return "openai-sft"


def _dict_arguments(message: Any) -> bool:
    calls = message.get("tool_calls") if isinstance(message, Mapping) else None
    if not isinstance(calls, list):
        return False
    return any(
        isinstance(c, Mapping) and isinstance(c.get("function", {}).get("arguments"), dict) for c in calls
    )


def _string_argument_rows(sample: list[Mapping[str, Any]]) -> int:
    """Rows whose tool calls carry arguments as JSON strings, as OpenAI writes them."""
    return sum(
        1
        for row in sample
        if isinstance(row.get("messages"), list)
        and any(
            isinstance(c, Mapping) and isinstance(c.get("function", {}).get("arguments"), str)
            for m in row["messages"]
            if isinstance(m, Mapping) and isinstance(m.get("tool_calls"), list)
            for c in m["tool_calls"]
        )
    )


def detect_format(rows: list[dict], filename: str | None = None) -> Detection:
    """Guess the format of a file from the keys of its first rows.

    Args:
        rows: The first rows of the file (only the first 50 are looked at).
        filename: Used only as a hint in the reason (e.g. ``dpo`` in the name).

    Returns:
        The format, its kind, a confidence in [0, 1] and the reason in plain English.

    Raises:
        FormatError: If no row is an object, or the keys match no supported format.
    """
    sample: list[Any] = [r for r in rows[:SAMPLE_ROWS] if isinstance(r, Mapping)]
    if not sample:
        raise FormatError(
            f"{filename or 'the file'}: no row is a JSON object, so no format can be recognised"
        )
    votes = Counter(classify_row(r) for r in sample)
    known = {name: count for name, count in votes.items() if name is not None}
    if not known:
        return _detect_flat(sample, filename)
    families: Counter[str] = Counter()
    for name, count in known.items():
        families[_FAMILY[name]] += count
    family, family_count = families.most_common(1)[0]
    name = max((n for n in known if _FAMILY[n] == family), key=lambda n: known[n])
    if name == "openai-sft" and known.get("trl-messages", 0) > _string_argument_rows(sample):
        name = (
            "trl-messages"  # tool calls written as TRL writes them: TRL reads every row, OpenAI rejects them
        )
    share = family_count / len(sample)
    confidence = round(share * _CERTAINTY.get(name, 0.97), 3)
    return Detection(name, _MODULES[name].KIND, confidence, _reason(name, sample, family_count, filename))


def _reason(name: str, sample: list[Mapping[str, Any]], count: int, filename: str | None) -> str:
    keys = Counter(k for row in sample for k in row)
    common = ", ".join(k for k, _ in keys.most_common(5))
    reason = f"{count} of {len(sample)} sampled rows have the keys of {name} (most common keys: {common})"
    notes = {
        "openai-sft": "; the same shape is TRL's conversational language-modeling format (trl-messages)",
        "trl-messages": "; tool-call arguments are objects, as in TRL (OpenAI needs JSON strings)",
        "openai-rft": "; rows end with a user message and carry reference fields",
        "hh-rlhf": "; chosen/rejected are Human/Assistant transcripts",
        "trl-kto": "; unpaired preference (KTO): one completion per row, judged by label",
        "trl-prompt-only": "; prompts without a reply (GRPO / RLOO), other keys are reference fields",
        "trl-text": "; plain text for language modeling (every token is trained on)",
    }
    reason += notes.get(name, "")
    if name == "trl-preference" and filename and "dpo" in filename.lower():
        reason += "; NOTE: the file name says DPO, but these are TRL keys, not OpenAI DPO keys"
    return reason


def _detect_flat(sample: list[Mapping[str, Any]], filename: str | None) -> Detection:
    columns = list(dict.fromkeys(k for row in sample for k in row))
    mapping = suggest_column_map(columns)
    flat = all(not isinstance(v, (dict, list)) for row in sample for v in row.values())
    if mapping is None or not flat:
        raise FormatError(
            f"{filename or 'the file'}: the keys {columns[:12]} match no supported format "
            f"({', '.join(FORMAT_NAMES)}); choose the format, or map the columns for a flat table"
        )
    reason = f"flat rows of plain values; prompt column guessed as {mapping.prompt!r}" + (
        f", response {mapping.response!r}" if mapping.response else ""
    )
    return Detection("csv", mapping.kind, _CERTAINTY["csv"], reason)
