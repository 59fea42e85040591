"""Defensive reply parsing: the JSON in a teacher's reply, turned into canonical records."""

from __future__ import annotations

import json
import re
from typing import Any

from core import records
from core.synth.store import RequestRow

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """Return the first JSON object or array in ``text`` (code fences and chatter tolerated).

    Raises:
        ValueError: If no JSON value can be found.
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        stripped = candidate.strip()
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            pass
        for match in re.finditer(r"[\[{]", stripped):
            try:
                value, _ = decoder.raw_decode(stripped, match.start())
                return value
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON object found in the reply")


def parse_items(text: str) -> list[dict[str, Any]]:
    """Return the example objects of a reply: ``{"examples": [...]}``, a list, or a bare object.

    Raises:
        ValueError: If the reply holds no example object.
    """
    value = extract_json(text)
    if isinstance(value, dict) and isinstance(value.get("examples"), list):
        value = value["examples"]
    items = value if isinstance(value, list) else [value]
    items = [item for item in items if isinstance(item, dict) and item]
    if not items:
        raise ValueError("the reply's JSON holds no example object")
    return items


def build_record(item: dict[str, Any], row: RequestRow, mode: str) -> dict[str, Any]:
    """Turn one parsed reply item into a canonical record (``source="synthetic"``).

    Raises:
        ValueError: If the item misses a field the mode needs (the reason is recorded).
    """
    context = row.context
    if mode == "judge":
        return _judgement_record(item, row)
    if mode == "preference":
        record = _preference_record(item, context)
    elif mode == "paraphrase":
        user = _text_field(item, "user")
        seed = [dict(m) for m in context.get("seed_messages", [])]
        first_user = next((i for i, m in enumerate(seed) if m.get("role") == "user"), None)
        if first_user is None:
            raise ValueError("the seed has no user message to paraphrase")
        seed[first_user]["content"] = user
        record = records.make_record("sft", seed)
    else:
        messages = list(context.get("system", [])) + [
            {"role": "user", "content": _text_field(item, "user")},
            {"role": "assistant", "content": _text_field(item, "assistant")},
        ]
        record = records.make_record("sft", messages)
    record["category"] = item.get("category") if isinstance(item.get("category"), str) else row.category
    target = context.get("target") or {}
    if target.get("kind") in ("difficulty", "language"):
        record[target["kind"]] = target.get("value")
    record["source"] = "synthetic"
    return record


def _judgement_record(item: dict[str, Any], row: RequestRow) -> dict[str, Any]:
    """The judged example itself, with the score and the rationale in ``extra``."""
    score = item.get("score")
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int | float) or score not in (1, 2, 3, 4, 5):
        raise ValueError(f"score must be an integer from 1 to 5, got {score!r}")
    extra = {
        "judge_score": int(score),
        "judge_rationale": _text_field(item, "rationale"),
        "judged_id": row.seed_ids[0] if row.seed_ids else None,
    }
    return records.make_record("sft", list(row.context.get("seed_messages", [])), extra=extra)


def _preference_record(item: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    prompt = list(context.get("prompt_messages", []))
    rejected = [{"role": "assistant", "content": _text_field(item, "rejected")}]
    if "chosen" in item:
        chosen = [{"role": "assistant", "content": _text_field(item, "chosen")}]
    elif context.get("seed_chosen"):
        chosen = list(context["seed_chosen"])
    else:
        chosen = [m for m in context.get("seed_messages", []) if m.get("role") == "assistant"][-1:]
    if not chosen:
        raise ValueError("no chosen answer: the seed has no assistant reply")
    return records.make_record("preference", prompt, chosen=chosen, rejected=rejected)


def _text_field(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field '{name}' is missing or empty in the reply")
    return value.strip()
