"""Heuristic quality signals on the replies of examples: cheap, explainable, each with a stable code.

A reply (an assistant turn, or the chosen side of a pair) is checked for: nothing or a placeholder
in it (``empty_response``), a refusal (``refusal``), an end mid-sentence or with an open code fence
or bracket (``truncated_response``), a copy of the prompt (``echo_response``), repeated n-grams or
lines, Gopher-style (``repetition``), mostly symbols (``special_characters``), control or
invisible characters (``non_printing``), and, where the system prompt asks for JSON, a reply that
does not parse (``invalid_json_response``). The rejected side of a pair is meant to be worse and is
not checked. Patterns run over the whole column with Arrow's RE2 kernels; Python looks only at the
replies they pick (and at long ones, for repetition).
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.quality.base import Fields, Flag

CODES = (
    "empty_response",
    "refusal",
    "truncated_response",
    "echo_response",
    "repetition",
    "special_characters",
    "non_printing",
    "invalid_json_response",
)
_REFUSAL = (
    r"(?i)\b(?:as an ai(?: language)? model|as a large language model|i(?: am|'m) (?:just )?an ai\b"
    r"|i (?:can ?not|can't|cannot|won't|am unable to|'m unable to|am not able to|'m not able to)"
    r" (?:help|assist|provide|do that|comply|fulfil|fulfill|answer|share|create|generate|write)"
    r"|i must (?:decline|refuse)|i'm sorry, but i (?:can|won)|i apologi[sz]e, but i (?:can|am unable)"
    r"|lo siento, (?:pero )?no puedo|es tut mir leid, aber ich kann|je suis désolé, mais je ne (?:peux|suis)"
    r"|je ne peux pas (?:vous )?aider)"
)
_PLACEHOLDER = (
    r"(?i)^\s*(?:|n/?a|none|null|todo|tbd|\.\.\.|…|-+|\?+|lorem ipsum.*"
    r"|\[(?:insert|your|answer|response)[^\]]*\]|<(?:answer|response|insert)[^>]*>|\{\{?[a-z_ ]+\}?\})\s*$"
)
_NON_PRINTING = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{200b}-\x{200f}\x{2060}\x{feff}\x{fffd}]"
_NON_PRINTING_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2060\ufeff\ufffd]")
_SYMBOL = r"[^\pL\pN\s.,;:!?'\"()\-]"
_ASKS_JSON = (
    r"(?i)(?:respond|reply|answer|output|return|format(?:ted)?|write|produce)\b[^.\n]{0,40}\bjson\b"
    r"|\bjson\b[^.\n]{0,20}\b(?:only|format|object|schema)\b|\bvalid json\b"
)
_DANGLING = re.compile(
    r"(?i)(?:[,;:(\[{-]|\b(?:and|or|but|the|a|an|to|of|with|because|which|that|for|in))\s*$"
)
_ENDS_OK = r"[.!?。！？…\"')\]»*`:>]\s*$"  # run by Python's re on a stripped reply, by RE2 on the raw one
_END_OK = re.compile(_ENDS_OK)
_MAY_NOT_CLOSE = r"```|[(\[{]"
_FENCE = re.compile(r"^```[a-zA-Z0-9_+-]*\s*\n?|\n?```\s*$")
_MIN_WORDS_TRUNCATED = 20
_SYMBOL_SHARE = 0.4
_REPETITION_MIN_CHARS = 300
_COMPRESSION_HINT = 0.35  # zlib ratio below which a long reply is checked for repeated n-grams
_DUP_NGRAM_SHARE = 0.3  # Gopher: characters in duplicated 5-grams
_DUP_LINE_SHARE = 0.3


def scan(frame: pd.DataFrame, fields: Fields, codes: tuple[str, ...] = CODES) -> list[Flag]:
    """Every heuristic finding on the replies of ``frame`` (codes :data:`CODES`)."""
    replies = reply_positions(fields)
    if not len(replies):
        return []
    text = fields.text.take(pa.array(replies, type=pa.int64()))
    flags: list[Flag] = []
    for code in codes:
        flags += [
            Flag(
                int(fields.row[replies[i]]),
                "heuristics",
                code,
                fields.field[replies[i]],
                start,
                end,
                span,
                why,
            )
            for i, start, end, span, why in _CHECKS[code](frame, fields, replies, text)
        ]
    return flags


def reply_positions(fields: Fields) -> np.ndarray:
    """Positions in ``fields`` of the replies checked: assistant turns and chosen sides, not rejected ones."""
    return np.asarray(
        [i for i, (role, name) in enumerate(zip(fields.role, fields.field, strict=True))
         if role == "assistant" and not name.startswith("rejected")],
        dtype=np.int64,
    )  # fmt: skip


_Hit = tuple[int, int, int, str, str]  # (index into replies, start, end, span, reason)


def _picked(text: pa.Array, pattern: str) -> np.ndarray:
    return np.flatnonzero(pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False))


def _as_list(text: pa.Array, indices: np.ndarray) -> list[str]:
    return [str(v) for v in text.take(pa.array(indices, type=pa.int64())).to_pylist()]


def _empty(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    for i, value in zip(picked := _picked(text, _PLACEHOLDER), _as_list(text, picked), strict=True):
        yield (
            int(i),
            0,
            len(value),
            value,
            "no answer" if not value.strip() else "a placeholder, not an answer",
        )


def _refusals(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    pattern = re.compile(_REFUSAL)
    for i, value in zip(picked := _picked(text, _REFUSAL), _as_list(text, picked), strict=True):
        match = pattern.search(value)
        if match:
            yield int(i), match.start(), match.end(), match.group(), "the reply refuses or disclaims"


def _truncated(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    # Only a reply with a fence, an open bracket or no sentence end can be truncated (_truncation);
    # RE2's \s is narrower than Python's, so what it calls a clean end Python does too.
    maybe = pc.or_(
        pc.match_substring_regex(text, _MAY_NOT_CLOSE),
        pc.invert(pc.match_substring_regex(text, _ENDS_OK)),
    )
    picked = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    for i, value in zip(picked.tolist(), _as_list(text, picked), strict=True):
        why = _truncation(value)
        if why:
            start = max(0, len(value.rstrip()) - 40)
            yield i, start, len(value), value[start:], why


def _truncation(value: str) -> str | None:
    if value.count("```") % 2:
        return "a code block is opened and never closed"
    for open_, close in ("()", "[]", "{}"):
        if value.count(open_) - value.count(close) >= 2:
            return f"{value.count(open_) - value.count(close)} more '{open_}' than '{close}'"
    stripped = value.rstrip()
    long_enough = len(stripped.split()) >= _MIN_WORDS_TRUNCATED
    if (
        long_enough
        and not _END_OK.search(stripped)
        and (_DANGLING.search(stripped) or stripped[-1:].isalpha())
    ):
        return "it ends mid-sentence"
    return None


def _echoes(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    if "prompt_text" not in frame.columns:
        return
    prompts = frame["prompt_text"].fillna("").astype(str).tolist()
    rows = fields.row[replies]
    for i, reply in enumerate(text.to_pylist()):
        head = reply[:60].lower()
        if len(head.strip()) < 12 or " ".join(head.split()[:4]) not in prompts[rows[i]].lower():
            continue  # the cheap test: an echo starts with the prompt's words
        prompt = " ".join(prompts[rows[i]].lower().split())
        copied = _shared_share(" ".join(reply.lower().split()), prompt)
        if copied >= 0.8:
            yield i, 0, len(reply), reply[:80], f"{copied:.0%} of the reply's word 3-grams are the prompt's"


def _grams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _shared_share(reply: str, prompt: str) -> float:
    mine = _grams(reply)
    return len(mine & _grams(prompt)) / len(mine) if mine else 0.0


def _repetition(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(lengths >= _REPETITION_MIN_CHARS):
        value = text[int(i)].as_py()
        data = value.encode("utf-8", "replace")
        if len(zlib.compress(data, 1)) / len(data) > _COMPRESSION_HINT:
            continue
        why = _repeated(value)
        if why:
            yield int(i), 0, len(value), value[:80], why


def _repeated(value: str) -> str | None:
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    if len(lines) >= 4:
        counts = Counter(lines)
        dup = sum(len(line) * n for line, n in counts.items() if n > 1) / max(1, sum(map(len, lines)))
        if dup > _DUP_LINE_SHARE:
            return f"{dup:.0%} of the characters are in repeated lines"
    words = value.split()
    grams = [" ".join(words[i : i + 5]) for i in range(len(words) - 4)]
    counts = Counter(grams)
    covered = np.zeros(len(words), dtype=bool)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[i : i + 5] = True
    share = sum(len(w) for w, c in zip(words, covered, strict=True) if c) / max(1, sum(map(len, words)))
    return f"{share:.0%} of the characters are in repeated 5-grams" if share > _DUP_NGRAM_SHARE else None


def _symbols(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    prose = pc.replace_substring_regex(text, r"(?s)```.*?```", "")  # code is allowed its symbols
    lengths = pc.utf8_length(prose).to_numpy(zero_copy_only=False)
    counts = pc.count_substring_regex(prose, _SYMBOL).to_numpy(zero_copy_only=False)
    share = counts / np.maximum(lengths, 1)
    for i in np.flatnonzero((lengths >= 20) & (share > _SYMBOL_SHARE)):
        value = text[int(i)].as_py()
        yield int(i), 0, len(value), value[:80], f"{share[i]:.0%} of the characters are symbols"


def _non_printing(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    pattern = _NON_PRINTING_PY
    for i, value in zip(picked := _picked(text, _NON_PRINTING), _as_list(text, picked), strict=True):
        match = pattern.search(value)
        if match:
            yield int(i), match.start(), match.end(), match.group(), f"character U+{ord(match.group()):04X}"


def _json_replies(frame: pd.DataFrame, fields: Fields, replies: np.ndarray, text: pa.Array) -> Iterator[_Hit]:
    if "system_text" not in frame.columns:
        return
    system = pa.array(frame["system_text"].fillna("").astype(str).tolist(), type=pa.large_string())
    asks = pc.match_substring_regex(system, _ASKS_JSON).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(asks[fields.row[replies]]):
        value = text[int(i)].as_py()
        try:
            json.loads(_FENCE.sub("", value.strip()))
        except ValueError as exc:
            yield (
                int(i),
                0,
                len(value),
                value[:80],
                f"the system prompt asks for JSON; the reply is not ({exc})",
            )


_CHECKS = {
    "empty_response": _empty,
    "refusal": _refusals,
    "truncated_response": _truncated,
    "echo_response": _echoes,
    "repetition": _repetition,
    "special_characters": _symbols,
    "non_printing": _non_printing,
    "invalid_json_response": _json_replies,
}
