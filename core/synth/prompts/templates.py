"""The modes, their default templates and reply schemas, and the plan of what to generate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
