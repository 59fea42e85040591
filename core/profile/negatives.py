"""Negative examples: responses that say nothing was found, nothing applies, or refuse.

:func:`compile_patterns` compiles the patterns once; :func:`is_negative` tests one response
(an empty JSON value, or a pattern in its first :data:`_NEGATIVE_WINDOW` characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Searched (case-insensitive) in the first 120 characters of the response, so that a long
# answer which merely mentions "not found" somewhere is not taken for a negative example.
DEFAULT_NEGATIVE_PATTERNS: tuple[str, ...] = (
    r"^\W*(none|n/?a|nil|null|empty|unknown|nothing|no)\W*$",
    r"^\s*(\[\s*\]|\{\s*\}|null|\"\")\s*$",
    r"\bnot (found|applicable|available)\b",
    r"\bno (results?|matches|matching \w+|records?|data)\b",
    r"^there (is|are) no\b",
    r"\bi(?:'m| am) (?:unable|not able) to\b",
    r"\bi (?:couldn't|could not|can't|cannot) find\b",
    r"\bi (?:can't|can’t|cannot|can not|won't) (?:help|assist|do that|provide|answer|share)",
    r"\b(?:sorry|unfortunately),? (?:but )?i (?:can't|can’t|cannot|am unable|'m unable|don't have)",
)
_NEGATIVE_WINDOW = 120


def is_negative(response: str, patterns: NegativePatterns) -> bool:
    """Return whether a response is a negative example (nothing found, not applicable, refusal).

    Args:
        response: The response text.
        patterns: The compiled patterns (:func:`compile_patterns`).
    """
    text = response.strip()
    if _is_empty_json(text):
        return True
    return patterns.search(text[:_NEGATIVE_WINDOW].lower())


def _is_empty_json(text: str) -> bool:
    if not text or text[0] not in '[{n"':
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    if isinstance(value, dict) and value:
        return all(v in (None, "", [], {}) for v in value.values())
    return value in (None, "", [], {})


@dataclass(frozen=True)
class NegativePatterns:
    """Negative-example patterns, compiled case-insensitive into two alternations.

    Patterns anchored at the start (``^...`` as a whole) can only match at position 0, so they
    are tried there alone (``match``); the rest are searched. One search of nine alternatives at
    every position cost 14 microseconds per response; this costs a third of that.
    """

    anchored: re.Pattern[str] | None
    anywhere: re.Pattern[str] | None

    def search(self, text: str) -> bool:
        """Return whether any pattern matches ``text`` (as ``re.search`` of the alternation would)."""
        if self.anchored is not None and self.anchored.match(text):
            return True
        return self.anywhere is not None and self.anywhere.search(text) is not None


def compile_patterns(patterns: Iterable[str]) -> NegativePatterns:
    """Compile negative-example patterns (case-insensitive) for :func:`is_negative`.

    Raises:
        re.error: If a pattern is not a valid regular expression.
    """
    anchored: list[str] = []
    anywhere: list[str] = []
    for pattern in patterns:
        (anchored if _anchored_at_start(pattern) else anywhere).append(pattern)

    def join(group: list[str]) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{p})" for p in group), re.IGNORECASE) if group else None

    return NegativePatterns(join(anchored), join(anywhere))


def _anchored_at_start(pattern: str) -> bool:
    """Return whether every match of ``pattern`` must start at position 0 (it opens with ``^``)."""
    try:
        import importlib

        _parser = importlib.import_module("re._parser")  # the standard library's own parser
        _constants = importlib.import_module("re._constants")
        parsed = _parser.parse(pattern, re.IGNORECASE)
        if parsed.state.flags & re.MULTILINE:  # (?m): ^ also matches after every line break
            return False
        return len(parsed) > 0 and parsed[0] == (_constants.AT, _constants.AT_BEGINNING)
    except (ImportError, AttributeError, re.error, TypeError):
        return False  # searched everywhere: slower, never wrong
