"""The canonical example table: one row per example, whatever the source format.

Every format module parses into records built with :func:`make_record`, and
:func:`make_frame` turns a list of them into the DataFrame every later step uses.

Columns (see ARCHITECTURE.md):

- ``id``: content hash (kind, messages, chosen, rejected, tools); same example, same id.
- ``kind``: ``sft``, ``preference`` or ``rft``.
- ``messages``: list of OpenAI-style chat messages (for ``preference`` only the prompt).
- ``chosen`` / ``rejected``: lists of assistant messages (``preference`` only, else ``None``).
- ``tools``: tool definitions or ``None``.
- ``extra``: dict of every other top-level field of the source row (kept for lossless export).
- ``raw``: the original row as parsed (dict), or ``None`` for rows made in the app.
- ``source_format`` / ``source_line``: where the row came from.
- metadata: ``category``, ``difficulty``, ``language``, ``source`` (``real`` / ``synthetic`` /
  ``eval``), ``created_at``, and any other scalar top-level key as a column of its own.
- derived: ``system_text``, ``prompt_text``, ``response_text``, ``rejected_text``, ``n_turns``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pandas as pd

KINDS = ("sft", "preference", "rft")
SOURCES = ("real", "synthetic", "eval")
METADATA_COLUMNS = ("category", "difficulty", "language", "source", "created_at")
CORE_COLUMNS = (
    "id",
    "kind",
    "messages",
    "chosen",
    "rejected",
    "tools",
    "extra",
    "raw",
    "source_format",
    "source_line",
    *METADATA_COLUMNS,
    "system_text",
    "prompt_text",
    "response_text",
    "rejected_text",
    "n_turns",
)
NESTED_COLUMNS = ("messages", "chosen", "rejected", "tools", "extra", "raw")
_PROMPT_ROLES = ("user",)
_SYSTEM_ROLES = ("system", "developer")


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _canonical_json(value: Any) -> str:
    # orjson writes the same compact, key-sorted, UTF-8 text as json.dumps for JSON data, ~5x faster;
    # the stdlib handles what orjson refuses (integers over 64 bits).
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS, default=str).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_id(
    kind: str,
    messages: list[dict] | None,
    chosen: list[dict] | None = None,
    rejected: list[dict] | None = None,
    tools: list[dict] | None = None,
) -> str:
    """Return the stable id of an example: a hash of its content, not of its metadata."""
    content = [kind, messages or [], chosen or [], rejected or [], tools or []]
    try:  # orjson's UTF-8 is the text's UTF-8: hashed as it comes (the hot path of ingest)
        return hashlib.sha256(orjson.dumps(content, option=_ORJSON_OPTIONS)).hexdigest()[:16]
    except TypeError:
        pass
    payload = _canonical_json(content)
    # surrogatepass: a lone surrogate (from an edit; the readers replace them) still gets an id
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def message_text(message: Mapping[str, Any]) -> str:
    """Return the readable text of one chat message (text parts, tool calls, refusals)."""
    content = message.get("content")
    if type(content) is str and len(message) <= 3 and not message.keys() - _PLAIN_KEYS:
        return content  # the common case, and the hot path of ingest
    pieces: list[str] = []
    if isinstance(content, str):
        pieces.append(content)
    elif isinstance(content, list):
        pieces.extend(_part_text(part) for part in content)
    if message.get("refusal") and isinstance(message["refusal"], str):
        pieces.append(message["refusal"])
    for call in message.get("tool_calls") or []:
        function = call.get("function", {}) if isinstance(call, Mapping) else {}
        if isinstance(function, Mapping):
            pieces.append(f"{function.get('name', '')}({_as_text(function.get('arguments', ''))})")
    function_call = message.get("function_call")
    if isinstance(function_call, Mapping):
        pieces.append(f"{function_call.get('name', '')}({_as_text(function_call.get('arguments', ''))})")
    return "\n".join(p for p in pieces if p)


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        return ""
    if part.get("type") == "text" or "text" in part:
        return _as_text(part.get("text", ""))
    if part.get("type") == "refusal":
        return _as_text(part.get("refusal", ""))
    if part.get("type") == "image_url":
        return "[image]"
    return ""


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _canonical_json(value)


_PLAIN_KEYS = frozenset({"role", "content", "weight"})


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # the exact-type check skips the slow ABC path


def _join(messages: Iterable[Mapping[str, Any]], roles: tuple[str, ...]) -> str:
    return "\n".join(message_text(m) for m in messages if _is_mapping(m) and m.get("role") in roles)


def derive_texts(
    kind: str, messages: list[dict] | None, chosen: list[dict] | None, rejected: list[dict] | None
) -> dict[str, Any]:
    """Return the derived text columns of one example.

    ``prompt_text`` joins the user turns, ``response_text`` the assistant turns (for
    preference data: the chosen side), ``system_text`` the system / developer turns.
    """
    system: list[str] = []
    prompt: list[str] = []
    answer: list[str] = []
    for message in messages or []:
        if not _is_mapping(message):
            continue
        role = message.get("role")
        target = system if role in _SYSTEM_ROLES else prompt if role in _PROMPT_ROLES else answer
        if role in _SYSTEM_ROLES or role in _PROMPT_ROLES or role == "assistant":
            target.append(message_text(message))
    turns = len(prompt) + len(answer)
    if kind == "preference":
        response = _join(chosen or [], ("assistant",))
        rejected_text = _join(rejected or [], ("assistant",))
        turns += 1 if chosen else 0
    else:
        response, rejected_text = "\n".join(answer), ""
    return {
        "system_text": "\n".join(system),
        "prompt_text": "\n".join(prompt),
        "response_text": response,
        "rejected_text": rejected_text,
        "n_turns": turns,
    }


def make_record(
    kind: str,
    messages: list[dict],
    *,
    chosen: list[dict] | None = None,
    rejected: list[dict] | None = None,
    tools: list[dict] | None = None,
    extra: dict[str, Any] | None = None,
    raw: Any = None,
    source_format: str | None = None,
    source_line: int | None = None,
) -> dict[str, Any]:
    """Build one canonical record (a dict with the core columns, metadata promoted).

    Args:
        kind: ``sft``, ``preference`` or ``rft``.
        messages: The chat messages (for preference data: the prompt only).
        chosen: Preferred assistant message(s), preference data only.
        rejected: Non-preferred assistant message(s), preference data only.
        tools: Tool definitions, if any.
        extra: Every other top-level field of the source row.
        raw: The source row as parsed, for lossless export.
        source_format: The format name the row was read as.
        source_line: 1-based line (JSONL) or row (CSV / JSON array) number.

    Returns:
        A dict with every core column; scalar keys of ``extra`` also become columns.

    Raises:
        ValueError: If ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    extra = dict(extra or {})
    record: dict[str, Any] = {
        "id": content_id(kind, messages, chosen, rejected, tools),
        "kind": kind,
        "messages": messages,
        "chosen": chosen,
        "rejected": rejected,
        "tools": tools,
        "extra": extra,
        "raw": raw,
        "source_format": source_format,
        "source_line": source_line,
        **{column: None for column in METADATA_COLUMNS},
        **derive_texts(kind, messages, chosen, rejected),
    }
    promote_metadata(record, extra)
    return record


def promote_metadata(record: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Copy the scalar values of ``extra`` into ``record`` as columns (``meta_KEY`` for a core name)."""
    for key, value in extra.items():
        if isinstance(value, dt.date):  # Parquet timestamps: the column gets ISO text, extra keeps the value
            value = None if value is pd.NaT else value.isoformat()
        if value is not None and not isinstance(value, (str, int, float, bool)):
            continue
        column = key if key not in CORE_COLUMNS or key in METADATA_COLUMNS else f"meta_{key}"
        record[column] = value


def make_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Turn canonical records into the canonical DataFrame (core columns first)."""
    frame = pd.DataFrame.from_records(list(records))
    for column in CORE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    ordered = list(CORE_COLUMNS) + [c for c in frame.columns if c not in CORE_COLUMNS]
    frame = frame[ordered]
    if frame.empty:
        return frame.astype({"source_line": "Int64", "n_turns": "Int64"})
    frame["source_line"] = frame["source_line"].astype("Int64")
    frame["n_turns"] = frame["n_turns"].astype("Int64")
    return frame.reset_index(drop=True)


def empty_frame() -> pd.DataFrame:
    """Return a canonical table with no rows."""
    return make_frame([])


def refresh_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Recompute ids and derived text columns after messages were edited (returns a copy)."""
    out = frame.copy()
    derived = [
        derive_texts(k, m, c, r)
        for k, m, c, r in zip(out["kind"], out["messages"], out["chosen"], out["rejected"], strict=True)
    ]
    for column in ("system_text", "prompt_text", "response_text", "rejected_text", "n_turns"):
        out[column] = [d[column] for d in derived]
    out["id"] = [
        content_id(k, m, c, r, t)
        for k, m, c, r, t in zip(
            out["kind"], out["messages"], out["chosen"], out["rejected"], out["tools"], strict=True
        )
    ]
    return out
