"""Request planning: seeds rotated into the run's requests, and the expected length of a reply."""

from __future__ import annotations

import hashlib
import json
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from core.synth.prompts.templates import PlanConfig, default_template
from core.synth.store import RequestRow


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
