"""Teacher prompts for the generation modes, request planning and defensive reply parsing.

Modes: ``variations`` (new SFT examples from k rotated seeds), ``gaps`` (fill the targets the
distribution / eval pages saved), ``preference`` (the non-preferred, or both, answers for existing
prompts), ``paraphrase`` (new wordings of a seed's user message, same answer) and ``judge`` (a 1-5
score with a rationale for an existing example, :mod:`core.quality.judge`; it generates nothing).
Templates use ``$name`` placeholders (:class:`string.Template`) so JSON braces in them need no escaping.

The modules: ``templates`` (the modes, their templates and reply schemas, the plan), ``planning``
(seeds into requests, the expected reply length) and ``replies`` (a reply into records).
"""

from __future__ import annotations

from core.synth.prompts.planning import eligible_seeds, expected_output_tokens, plan_requests, prompt_hash
from core.synth.prompts.replies import build_record, extract_json, parse_items
from core.synth.prompts.templates import (
    DEFAULT_TEMPLATES,
    MODES,
    PREFERENCE_SIDES,
    PlanConfig,
    default_template,
    reply_schema,
)

__all__ = [
    "DEFAULT_TEMPLATES",
    "MODES",
    "PREFERENCE_SIDES",
    "PlanConfig",
    "build_record",
    "default_template",
    "eligible_seeds",
    "expected_output_tokens",
    "extract_json",
    "parse_items",
    "plan_requests",
    "prompt_hash",
    "reply_schema",
]
