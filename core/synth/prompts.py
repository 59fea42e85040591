"""Teacher prompts for the generation modes, request planning and defensive reply parsing.

Modes: ``variations`` (new SFT examples from k rotated seeds), ``gaps`` (fill the targets the
distribution / eval pages saved), ``preference`` (the non-preferred, or both, answers for existing
prompts), ``paraphrase`` (new wordings of a seed's user message, same answer) and ``judge`` (a 1-5
score with a rationale for an existing example, :mod:`core.quality.judge`; it generates nothing).
Templates use ``$name`` placeholders (:class:`string.Template`) so JSON braces in them need no escaping.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from core import records
from core.synth.store import RequestRow

MODES = ("variations", "gaps", "preference", "paraphrase", "judge")
PREFERENCE_SIDES = ("rejected", "both")

_SFT_ITEM = {
    "type": "object",
    "properties": {"user": {"type": "string"}, "assistant": {"type": "string"}},
    "required": ["user", "assistant"],
}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "variations": _SFT_ITEM,
    "gaps": _SFT_ITEM,
    "paraphrase": {"type": "object", "properties": {"user": {"type": "string"}}, "required": ["user"]},
    "preference:rejected": {
        "type": "object",
        "properties": {"rejected": {"type": "string"}},
        "required": ["rejected"],
    },
    "preference:both": {
        "type": "object",
        "properties": {"chosen": {"type": "string"}, "rejected": {"type": "string"}},
        "required": ["chosen", "rejected"],
    },
    "judge": {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "rationale": {"type": "string"},
        },
        "required": ["score", "rationale"],
    },
}

DEFAULT_TEMPLATES: dict[str, str] = {
    "variations": (
        "You write training examples for fine-tuning a chat assistant.\n"
        "Here are real examples of the dataset:\n$seeds\n\n"
        "Write $n new example(s) in the same domain, style, tone and length, about different "
        "situations than these.$category_hint$language_hint\n"
        'Answer with JSON only: {"examples": [{"user": "...", "assistant": "..."}]}'
    ),
    "gaps": (
        "You write training examples for fine-tuning a chat assistant.\n"
        "The dataset lacks examples of this kind: $target ($kind = $value).\n"
        "Texts of the kind that is needed:\n$target_examples\n\n"
        "Real examples of the dataset, for style:\n$seeds\n\n"
        "Write $n new example(s) that fill this gap.$language_hint\n"
        'Answer with JSON only: {"examples": [{"user": "...", "assistant": "..."}]}'
    ),
    "preference": (
        "You help build preference data. Here is a user request and a good answer.\n"
        "Request: $prompt\nGood answer: $chosen\n\n"
        "Write a worse answer: plausible and on topic, but less helpful, less accurate or "
        "with the wrong tone.\n"
        'Answer with JSON only: {"examples": [{"rejected": "..."}]}'
    ),
    "preference:both": (
        "You help build preference data. Here is a user request.\nRequest: $prompt\n\n"
        "Write a good answer and a worse one (plausible but less helpful or accurate).\n"
        'Answer with JSON only: {"examples": [{"chosen": "...", "rejected": "..."}]}'
    ),
    "paraphrase": (
        "Rewrite this user message in $n different way(s). Keep its meaning and every fact; "
        "change the wording, length and register.\nMessage: $prompt\n"
        'Answer with JSON only: {"examples": [{"user": "..."}]}'
    ),
    "judge": (
        "You grade training examples for fine-tuning a chat assistant.\n"
        "Request: $prompt\nAnswer: $chosen\n\n"
        "Score the answer from 1 to 5: 5 is correct, complete, helpful and well written; 3 is usable "
        "but flawed; 1 is wrong, off topic, a refusal or harmful. Give the reason in one or two sentences.\n"
        'Answer with JSON only: {"examples": [{"score": 1-5, "rationale": "..."}]}'
    ),
}


@dataclass(frozen=True)
class PlanConfig:
    """What to generate: mode, how many, how seeds are used."""

    mode: str = "variations"
    n: int = 10
    per_request: int = 1
    seeds_per_request: int = 3
    template: str | None = None  # None: the mode's default template
    preference_sides: str = "rejected"
    language: str | None = None
    targets: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.n < 1 or self.per_request < 1 or self.seeds_per_request < 1:
            raise ValueError(
                f"n, per_request and seeds_per_request must be >= 1, got {self.n}, "
                f"{self.per_request}, {self.seeds_per_request}"
            )
        if self.preference_sides not in PREFERENCE_SIDES:
            raise ValueError(
                f"preference_sides must be one of {PREFERENCE_SIDES}, got {self.preference_sides!r}"
            )
        if self.mode == "gaps" and not self.targets:
            raise ValueError("mode 'gaps' needs at least one target (targets.distribution / targets.eval)")

    @property
    def schema_key(self) -> str:
        """Key of the reply JSON Schema in :data:`_SCHEMAS`."""
        return f"preference:{self.preference_sides}" if self.mode == "preference" else self.mode


def default_template(mode: str, preference_sides: str = "rejected") -> str:
    """Return the default prompt template of a mode."""
    if mode == "preference" and preference_sides == "both":
        return DEFAULT_TEMPLATES["preference:both"]
    return DEFAULT_TEMPLATES[mode]


def reply_schema(config: PlanConfig) -> dict[str, Any]:
    """Return the JSON Schema of a reply: ``{"examples": [item, ...]}``."""
    item = _SCHEMAS[config.schema_key]
    return {
        "type": "object",
        "properties": {"examples": {"type": "array", "items": item, "minItems": 1}},
        "required": ["examples"],
    }


def eligible_seeds(
    frame: pd.DataFrame, *, locked_ids: set[str] | None = None, category: str | None = None
) -> pd.DataFrame:
    """Return the rows that may be seeds: not in the locked test split, optionally one category."""
    out = frame
    if locked_ids:
        out = out[~out["id"].isin(list(locked_ids))]
    if category is not None and "category" in out.columns:
        out = out[out["category"] == category]
    return out


def _seed_view(row: pd.Series) -> dict[str, str]:
    return {"user": str(row.get("prompt_text") or ""), "assistant": str(row.get("response_text") or "")}


def _system_messages(row: pd.Series) -> list[dict[str, Any]]:
    messages = row.get("messages")
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")]


def _hints(config: PlanConfig, category: str | None) -> dict[str, str]:
    return {
        "category_hint": f" Stay in the category '{category}'." if category else "",
        "language_hint": f" Write in the language '{config.language}'." if config.language else "",
    }


def _render(template: str, values: dict[str, Any]) -> str:
    return Template(template).safe_substitute({k: str(v) for k, v in values.items()})


def _request_key(run_id: str, idx: int, messages: list[dict[str, Any]]) -> str:
    payload = json.dumps([run_id, idx, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    """Return a short hash of a request's messages (logged with every call)."""
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _counts(config: PlanConfig) -> list[int]:
    full, rest = divmod(config.n, config.per_request)
    return [config.per_request] * full + ([rest] if rest else [])


def _majority(values: list[Any]) -> str | None:
    clean = [v for v in values if isinstance(v, str) and v]
    return max(set(clean), key=clean.count) if clean else None


def _variation_request(
    config: PlanConfig, seeds: pd.DataFrame, order: np.ndarray, i: int, n: int
) -> dict[str, Any]:
    k = min(config.seeds_per_request, len(seeds))
    picked = seeds.iloc[[int(order[(i * k + j) % len(order)]) for j in range(k)]]
    category = _majority(list(picked["category"])) if "category" in picked.columns else None
    values = {
        "seeds": json.dumps([_seed_view(r) for _, r in picked.iterrows()], ensure_ascii=False, indent=1),
        "n": n,
        **_hints(config, category),
    }
    return {"values": values, "seeds": picked, "category": category, "context": {}}


def _gap_request(
    config: PlanConfig, seeds: pd.DataFrame, order: np.ndarray, i: int, n: int
) -> dict[str, Any]:
    target = _rotate_targets(config.targets)[
        i % sum(max(1, int(t.get("missing") or 1)) for t in config.targets)
    ]
    kind, value = str(target.get("kind", "")), str(target.get("value", ""))
    pool = seeds[seeds["category"] == value] if kind == "category" and "category" in seeds.columns else seeds
    pool = pool if len(pool) else seeds
    k = min(config.seeds_per_request, len(pool))
    picked = pool.iloc[[(i * k + j) % len(pool) for j in range(k)]]
    values = {
        "seeds": json.dumps([_seed_view(r) for _, r in picked.iterrows()], ensure_ascii=False, indent=1),
        "n": n,
        "target": target.get("description") or f"{kind} {value}",
        "kind": kind,
        "value": value,
        "target_examples": "\n".join(f"- {e}" for e in (target.get("examples") or [])[:5]) or "(none given)",
        **_hints(config, None),
    }
    context = {"target": {"kind": kind, "value": value}}
    category = (
        value if kind == "category" else _majority(list(picked["category"])) if "category" in picked else None
    )
    return {"values": values, "seeds": picked, "category": category, "context": context}


def _rotate_targets(targets: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Interleave targets in proportion to how many examples each is missing."""
    slots: list[tuple[float, int]] = []
    for t_index, target in enumerate(targets):
        weight = max(1, int(target.get("missing") or 1))
        slots.extend(((j + 0.5) / weight, t_index) for j in range(weight))
    return [targets[t] for _, t in sorted(slots)]


def _single_seed_request(
    config: PlanConfig, seeds: pd.DataFrame, order: np.ndarray, i: int, n: int
) -> dict[str, Any]:
    row = seeds.iloc[int(order[i % len(order)])]
    values = {
        "prompt": str(row.get("prompt_text") or ""),
        "chosen": str(row.get("response_text") or ""),
        "n": n,
    }
    prompt_messages = [
        m for m in (row.get("messages") or []) if isinstance(m, dict) and m.get("role") != "assistant"
    ]
    context = {"seed_messages": list(row.get("messages") or []), "prompt_messages": prompt_messages}
    if row.get("kind") == "preference":
        context["seed_chosen"] = list(row.get("chosen") or [])
    category = row.get("category") if isinstance(row.get("category"), str) else None
    return {
        "values": values,
        "seeds": seeds.iloc[[int(order[i % len(order)])]],
        "category": category,
        "context": context,
    }


_BUILDERS = {
    "variations": _variation_request,
    "gaps": _gap_request,
    "preference": _single_seed_request,
    "paraphrase": _single_seed_request,
    "judge": _single_seed_request,
}


def plan_requests(seeds: pd.DataFrame, config: PlanConfig, *, run_id: str, model: str) -> list[RequestRow]:
    """Turn seeds and a plan into the run's requests (deterministic keys, exact prompt token counts).

    Args:
        seeds: Canonical rows to draw from (already filtered: never the locked test split).
        config: The plan.
        run_id: The run the requests belong to (part of each request key).
        model: The teacher model (for token counting).

    Returns:
        One :class:`RequestRow` per request, seeds rotated so that every seed gets used.

    Raises:
        ValueError: If there are no seeds.
    """
    from core.synth.budget import count_prompt_tokens

    if seeds.empty:
        raise ValueError("no seed examples to generate from")
    order = np.random.default_rng(config.seed).permutation(len(seeds))
    template = config.template or default_template(config.mode, config.preference_sides)
    rows: list[RequestRow] = []
    for i, n in enumerate(_counts(config)):
        built = _BUILDERS[config.mode](config, seeds, order, i, n)
        messages = _system_for(config, built["seeds"]) + [
            {"role": "user", "content": _render(template, built["values"])}
        ]
        context = {**built["context"], "n": n, "system": _system_messages(built["seeds"].iloc[0])}
        rows.append(
            RequestRow(
                key=_request_key(run_id, i, messages),
                run_id=run_id,
                idx=i,
                messages=messages,
                seed_ids=[str(s) for s in built["seeds"]["id"]],
                category=built["category"],
                context=context,
                prompt_hash=prompt_hash(messages),
                prompt_tokens_est=count_prompt_tokens(messages, model),
            )
        )
    return rows


def _system_for(config: PlanConfig, seeds: pd.DataFrame) -> list[dict[str, Any]]:
    del config, seeds  # the teacher needs no system prompt; kept as a hook for presets
    return []


def expected_output_tokens(seeds: pd.DataFrame, config: PlanConfig, model: str) -> int:
    """Return the expected completion tokens of one request, from the seeds' own lengths."""
    from core.synth.budget import count_output_tokens

    sample = seeds.head(50)
    if sample.empty:
        return 0
    items = [_expected_item(row, config) for _, row in sample.iterrows()]
    per_example = float(
        np.mean([count_output_tokens(json.dumps(item, ensure_ascii=False), model) for item in items])
    )
    return int(round(per_example * config.per_request + 8))


def _expected_item(row: pd.Series, config: PlanConfig) -> dict[str, str]:
    view = _seed_view(row)
    if config.mode == "judge":
        return {"score": "3", "rationale": " ".join(["word"] * 30)}  # about two sentences
    if config.mode == "paraphrase":
        return {"user": view["user"]}
    if config.mode == "preference":
        return (
            {"rejected": view["assistant"]}
            if config.preference_sides == "rejected"
            else {"chosen": view["assistant"], "rejected": view["assistant"]}
        )
    return view


# -- parsing replies ----------------------------------------------------------------------

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
