"""One type per key, as pyarrow's JSON reader (behind datasets.load_dataset) needs: TRL styles, parts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

# TRL keys that hold a plain string (standard) or a message list (conversational), and the role of a string.
_TRL_STYLE_KEYS = {
    "prompt": "user",
    "completion": "assistant",
    "chosen": "assistant",
    "rejected": "assistant",
}


def _map_dicts(value: Any, fix: Callable[[dict], dict]) -> Any:
    """A copy of ``value`` with ``fix`` applied to every dict in it, innermost first."""
    if isinstance(value, list):
        return [_map_dicts(v, fix) for v in value]
    if not isinstance(value, dict):
        return value
    return fix({k: _map_dicts(v, fix) for k, v in value.items()})


def uniform_content_jsonl(data: bytes) -> bytes:
    """Return JSONL bytes whose values share one type per key (see module docstring)."""
    rows = [json.loads(line) for line in data.splitlines() if line.strip()]
    fixed = _uniform_rows(rows)
    if fixed is rows:
        return data
    return b"".join(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in fixed)


def _uniform_rows(rows: list[Any]) -> list[Any]:
    """Return ``rows`` itself when nothing needs changing, else fixed copies."""
    mixed_style = [key for key in _TRL_STYLE_KEYS if _mixed_style(rows, key)]
    out = [_conversational(row, mixed_style) for row in rows] if mixed_style else rows
    return [_parts_everywhere(row) for row in out] if _mixed_content(out) else out


def _mixed_style(rows: list[Any], key: str) -> bool:
    types = {type(row.get(key)) for row in rows if isinstance(row, dict) and row.get(key) is not None}
    return str in types and list in types


def _conversational(row: Any, keys: list[str]) -> Any:
    if not isinstance(row, dict):
        return row
    out = dict(row)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = [{"role": _TRL_STYLE_KEYS[key], "content": out[key]}]
    return out


def _messages_in(value: Any) -> Iterable[dict]:
    if isinstance(value, dict):
        if "role" in value and "content" in value:
            yield value
        for child in value.values():
            yield from _messages_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from _messages_in(child)


def _mixed_content(rows: list[Any]) -> bool:
    types = {type(m["content"]) for m in _messages_in(rows) if m["content"] is not None}
    return str in types and list in types


def _parts_everywhere(value: Any) -> Any:
    return _map_dicts(value, _message_with_parts)


def _message_with_parts(out: dict) -> dict:
    if "role" in out and isinstance(out.get("content"), str):
        out["content"] = [{"type": "text", "text": out["content"]}]
    return out


def pyarrow_problem(data: bytes) -> str | None:
    """Return why pyarrow's JSON reader cannot load JSONL ``data``, or ``None`` when it can."""
    if not data.strip():
        return None
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        pj.read_json(io.BytesIO(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        return str(exc).splitlines()[0]
    return None
