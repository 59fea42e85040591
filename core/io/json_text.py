"""One JSON text: the fast orjson path and its doubts, and the slow exact parse that says what is wrong."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from core.io.rows import _BOM, MAX_DEPTH


def _maybe_deep(data: bytes) -> bool:
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH and _depth(orjson.loads(data)) > MAX_DEPTH


def _depth(value: Any) -> int:
    """Return how deep lists and dicts nest in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class _Broken:
    """Marks a JSON text that gave no value."""


_BROKEN: Any = _Broken()
_WARNINGS = frozenset({"duplicate_key", "non_finite_number", "lone_surrogate"})
JSON_FIXES = {
    "invalid_json": "fix or remove this line",
    "truncated_line": "complete or remove the last line",
    "json_too_deep": f"flatten the value: at most {MAX_DEPTH} nested arrays / objects",
    "number_too_long": "write the number as a string",
    "duplicate_key": "keep one of the keys: trainers' parsers may keep another one",
    "non_finite_number": "use null or a number: NaN and Infinity are not JSON",
    "lone_surrogate": "fix the text's escapes (\\ud800-\\udfff must come in pairs)",
}


def parse_strict(text: str) -> tuple[Any, list[tuple[str, str]]]:
    """Parse one JSON text the slow, exact way and say what is wrong or doubtful in it.

    The rule for every JSON text the fast parser refused or doubted (JSONL lines, array elements):
    errors (``invalid_json``, ``truncated_line``, ``json_too_deep``, ``number_too_long``) give no
    value; doubts (``duplicate_key``, ``non_finite_number``, ``lone_surrogate``) keep it, lone
    surrogates replaced by U+FFFD so ids, hashes, Parquet and exports never meet one.

    Args:
        text: The JSON text (a BOM at its start is ignored).

    Returns:
        The value (or the ``_BROKEN`` marker) and the ``(code, detail)`` problems found.
    """
    problems: list[tuple[str, str]] = []
    text = text.removeprefix(_BOM)
    try:
        value = json.loads(
            text, object_pairs_hook=_PairsHook(problems), parse_constant=_constant_hook(problems)
        )
    except json.JSONDecodeError as exc:
        return _BROKEN, [_json_error(text, exc)]
    except RecursionError:
        return _BROKEN, [("json_too_deep", f"nested deeper than Python can read (over {MAX_DEPTH} levels)")]
    except ValueError as exc:  # an integer literal over sys.get_int_max_str_digits() digits
        return _BROKEN, [("number_too_long", f"a number too long to read ({str(exc).split(';')[0]})")]
    if _depth(value) > MAX_DEPTH:
        depth = _depth(value)
        return _BROKEN, [("json_too_deep", f"nested {depth} levels deep; at most {MAX_DEPTH} are read")]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "surrogates" not in str(exc):
            raise
        value = _without_surrogates(value)
        problems.append(
            ("lone_surrogate", "a lone UTF-16 surrogate escape (\\ud800-\\udfff) was replaced by U+FFFD")
        )
    return value, problems


def _json_error(text: str, exc: json.JSONDecodeError) -> tuple[str, str]:
    if not text.endswith("\n"):
        return "truncated_line", "the file ends before this line's JSON is complete (truncated file?)"
    nul = text.find("\x00")
    if nul >= 0:
        return "invalid_json", f"not valid JSON: a NUL byte at column {nul + 1}"
    return (
        "invalid_json",
        f"not valid JSON ({exc.msg.removesuffix(' at').removesuffix(':')} at column {exc.colno})",
    )


class _PairsHook:
    """``object_pairs_hook`` that notes duplicate keys (the last one wins, as in ``json``)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) < len(pairs):
            keys = [k for k, n in Counter(k for k, _ in pairs).items() if n > 1]
            shown = ", ".join(map(repr, keys))
            self.problems.append(("duplicate_key", f"duplicate key {shown}: the last one is kept"))
        return value


def _constant_hook(problems: list[tuple[str, str]]) -> Callable[[str], float]:
    def hook(name: str) -> float:
        problems.append(("non_finite_number", f"{name} is not JSON; read as a float {name}"))
        return float(name)

    return hook


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def _doubtless(data: bytes) -> Any:
    """Return orjson's value, or ``_BROKEN`` when orjson refuses it or may have misread it."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _BROKEN
    if _maybe_deep(data) or data.count(b'":') > orjson.dumps(value).count(b'":'):
        return _BROKEN
    return value
