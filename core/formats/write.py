"""Writing a canonical table in a format, saying per row what could not be carried over."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import orjson
import pandas as pd

from core import io as core_io
from core.formats import (
    trl_preference,
    trl_text,
)
from core.formats._base import (
    ColumnMap,
    Problem,
    RowContext,
    clean,
    is_missing,
    metadata_of,
)
from core.formats._messages import is_empty_reply
from core.formats._trl import check_style, row_style
from core.formats.catalog import _MODULES, _STYLED_FORMATS, _check_format_name, format_kinds
from core.formats.openai_sft import openai_messages
from core.records import content_id


def write_dataset(
    frame: pd.DataFrame,
    format: str,
    *,
    column_map: ColumnMap | None = None,
    trl_style: str | None = None,
    render: trl_text.Render | None = None,
    container: str | None = None,
) -> tuple[bytes, list[Problem]]:
    """Write a canonical table in ``format`` and say, per row, what could not be carried over.

    A row read from ``format`` and not changed since is written from its original row
    (lossless); every other row is built from its canonical columns.

    Args:
        frame: A canonical table (see :mod:`core.records`).
        format: One of :data:`FORMAT_NAMES`.
        column_map: For ``csv``: the column names to write (e.g. the map the table was read with,
            so CSV -> CSV keeps its header); default ``prompt``, ``response``, ``category``, ...
        trl_style: For ``trl-prompt-completion`` and ``trl-preference``: every row as message
            lists (``conversational``) or as plain strings (``standard``; a row that cannot be
            one is left out, with its loss). One style per file: TRL reads the first row's.
            ``None``: the style of the table's rows when they were all read as standard rows
            of this format (a lossless same-format export), else conversational.
        render: For ``trl-text``: renders a conversation (messages, tools) as text, e.g. a local
            tokenizer's chat template (:func:`core.hf_tokens.load_tokenizer`); default ChatML.
        container: ``json`` (one array) or ``jsonl`` (one object per line) instead of the format's
            own, for a file whose name promises the other (FastChat's ShareGPT files are arrays);
            ``None``: the format's own (CSV is always CSV).

    Returns:
        The file's bytes and one ``conversion_loss`` problem per row that lost something
        (severity ``error`` when the row could not be written at all). A paired preference
        row written as ``trl-kto`` becomes two rows (chosen ``true``, rejected ``false``).

    Raises:
        ValueError: If ``format``, ``trl_style`` or ``container`` is unknown, or ``container`` is
            given for ``csv``.
    """
    _check_format_name(format)
    container = _container(format, container)
    trl_style = trl_style or _source_style(frame, format)
    check_style(trl_style)
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for outs, problem in rows_out(frame, format, trl_style, render):
        rows.extend(outs)
        if problem is not None:
            problems.append(problem)
    if format == "csv" and column_map is not None:
        names = column_map.used()
        rows = [{names.get(key, key): value for key, value in row.items()} for row in rows]
    return _serialise(rows, container), problems


def _container(format: str, container: str | None) -> str:
    own = str(_MODULES[format].CONTAINER)
    if container is None or container == own:
        return own
    if own == "csv" or container not in ("json", "jsonl"):
        raise ValueError(f"{format} is written as {own}, not {container!r} (json and jsonl swap, CSV stays)")
    return container


def rows_out(
    frame: pd.DataFrame, format: str, trl_style: str, render: trl_text.Render | None = None
) -> list[tuple[list[dict[str, Any]], Problem | None]]:
    """Per row of ``frame``: the rows to write in ``format`` (none if it cannot be) and its loss, if any.

    A paired preference row written as ``trl-kto`` is two rows; every other row is one or none.

    An OpenAI row read from ``format`` whose content is unchanged is written from its original
    row without building the whole record (most rows of a same-format export); every other row
    goes through :func:`_row_out`.
    """
    module = _MODULES[format]
    n = len(frame)

    def column(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    kinds, raws, sources, lines = (
        column("kind"),
        column("raw"),
        column("source_format"),
        column("source_line"),
    )
    contents = [column(name) for name in ("messages", "chosen", "rejected", "tools")]
    done: list[tuple[Any, list[str]] | None] = [None] * n
    if format in _DIRECT_FORMATS:
        done = [
            _direct_out(format, kinds[i], raws[i], sources[i], [c[i] for c in contents]) for i in range(n)
        ]
    pending = [i for i in range(n) if done[i] is None]
    if pending:
        records = frame.iloc[pending].to_dict("records") if len(pending) < n else frame.to_dict("records")
        built = [(r, *_row_out(r, format, module, trl_style, render)) for r in records]
        if format == "trl-preference":
            built = _one_prompt_shape(built, trl_style)
        for i, (_, out, losses) in zip(pending, built, strict=True):
            done[i] = (out, losses)
    results: list[tuple[list[dict[str, Any]], Problem | None]] = []
    for i, outcome in enumerate(done):
        assert outcome is not None
        out, losses = outcome
        outs = out if isinstance(out, list) else [] if out is None else [out]
        if format.startswith("trl-"):
            outs = [_without_trl_collisions(row, module, losses) for row in outs]
        results.append((outs, _loss_problem(losses, lines[i], written=out is not None)))
    return results


def _direct_out(
    format: str, kind: Any, raw: Any, source: Any, content: list[Any]
) -> tuple[dict[str, Any], list[str]] | None:
    """The row written from its original row when it was read from ``format`` and is unchanged, else None."""
    if kind not in format_kinds(format) or source != format or not isinstance(raw, Mapping):
        return None
    raw = clean(raw)
    if not _unchanged_content(content, raw, _MODULES[format], kind):
        return None
    return _from_raw({}, raw, format)


def _loss_problem(losses: list[str], line: Any, *, written: bool) -> Problem | None:
    """One ``conversion_loss`` per row that lost something: an error when it was not written at all."""
    if not losses:
        return None
    number = None if is_missing(line) else int(line)
    message = "; ".join(dict.fromkeys(losses))
    return Problem(number, "", "conversion_loss", message, "warning" if written else "error")


def writes_row_by_row(format: str) -> bool:
    """Whether a file in ``format`` is its rows' lines one after another, each written on its own.

    For those formats, the file of a table is the concatenation of the files of its parts
    (``write_dataset`` of consecutive batches), so a big file can be written batch by batch.
    """
    _check_format_name(format)
    return _MODULES[format].CONTAINER == "jsonl" and format not in _STYLED_FORMATS


_DIRECT_FORMATS = ("openai-sft", "openai-dpo")  # an unchanged row is its original row's reserved keys


_Built = tuple[dict[str, Any], dict[str, Any] | list[dict[str, Any]] | None, list[str]]


def _one_prompt_shape(built: list[_Built], trl_style: str) -> list[_Built]:
    """Give every preference row an explicit ``prompt`` when some rows have one and others not.

    ``datasets`` gives a row without the key ``prompt=None`` and TRL then fails on it; a row
    whose canonical prompt is empty cannot have one and is left out, with its loss.
    """
    shapes = {"prompt" in out for _, out, _ in built if isinstance(out, dict)}
    if len(shapes) < 2:
        return built
    fixed: list[_Built] = []
    for record, out, losses in built:
        if isinstance(out, dict) and "prompt" not in out:
            if clean(record.get("messages")):
                out, losses = trl_preference.build(record, style=trl_style)
            else:
                out, losses = (
                    None,
                    [
                        "row left out: it has no prompt while other rows have one (datasets would give it "
                        "prompt=None, which TRL cannot read)"
                    ],
                )
        fixed.append((record, out, losses))
    return fixed


# Keys TRL's data utilities give a meaning (trl.data_utils: the example's type is the set of
# these keys present), plus SFTTrainer's ``text``: as metadata they would change how a row trains.
_TRL_DATA_KEYS = frozenset({"prompt", "completion", "chosen", "rejected", "messages", "label", "text"})


def _without_trl_collisions(row: dict[str, Any], module: ModuleType, losses: list[str]) -> dict[str, Any]:
    """Rename metadata keys TRL would read as data (``label`` beside prompt/completion means KTO)."""
    clashes = (row.keys() & _TRL_DATA_KEYS) - set(module.RESERVED)
    if not clashes:
        return row
    for key in sorted(clashes):
        losses.append(f"metadata `{key}` written as `meta_{key}` (TRL would read `{key}` as data)")
    return {(f"meta_{k}" if k in clashes else k): v for k, v in row.items()}


def _source_style(frame: pd.DataFrame, format: str) -> str:
    """``standard`` when every row was read from a standard row of ``format``, else ``conversational``."""
    if format not in _STYLED_FORMATS or not len(frame) or "raw" not in frame.columns:
        return "conversational"
    same = (frame["source_format"] == format).all()
    standard = same and all(isinstance(r, Mapping) and row_style(r) == "standard" for r in frame["raw"])
    return "standard" if standard else "conversational"


def _row_out(
    record: dict[str, Any], format: str, module: ModuleType, trl_style: str, render: trl_text.Render | None
) -> tuple[dict[str, Any] | list[dict[str, Any]] | None, list[str]]:
    kind = record.get("kind")
    if kind not in format_kinds(format):
        return None, [f"row left out: a {kind} example cannot be written as {format}"]
    if kind == "preference" and format != "trl-kto" and not _paired(record):
        side = "a desirable" if _present(record.get("chosen")) else "an undesirable"
        return None, [
            f"row left out: an unpaired (KTO) example holds only {side} completion; "
            f"{format} needs a chosen and a rejected reply to the same prompt"
        ]
    if kind == "sft" and _rejects_empty_reply(format, trl_style) and _empty_last_reply(record):
        return None, [f"row left out: the reply is empty, and {format} takes no empty reply"]
    styled = format in _STYLED_FORMATS
    raw = record.get("raw")
    if record.get("source_format") == format and isinstance(raw, Mapping) and format != "csv":
        raw = clean(raw)
        if (not styled or row_style(raw) == trl_style) and _unchanged(record, raw, module):
            return _from_raw(record, raw, format)
    if styled:
        return module.build(record, style=trl_style)
    return module.build(record, render=render) if format == "trl-text" else module.build(record)


# Formats whose reader rejects an SFT row with an empty reply (a string field that must hold text).
_NO_EMPTY_REPLY = frozenset({"alpaca", "self-instruct", "csv"})


def _rejects_empty_reply(format: str, trl_style: str) -> bool:
    return format in _NO_EMPTY_REPLY or (format == "trl-prompt-completion" and trl_style == "standard")


def _empty_last_reply(record: Mapping[str, Any]) -> bool:
    replies = [m for m in clean(record.get("messages")) or [] if m.get("role") == "assistant"]
    return bool(replies) and is_empty_reply(replies[-1])


def _present(side: Any) -> bool:
    return not is_missing(side) and len(side) > 0


def _paired(record: Mapping[str, Any]) -> bool:
    return _present(record.get("chosen")) and _present(record.get("rejected"))


def _unchanged(record: dict[str, Any], raw: dict[str, Any], module: ModuleType) -> bool:
    return _unchanged_content(
        [record.get(k) for k in ("messages", "chosen", "rejected", "tools")], raw, module, record["kind"]
    )


def _unchanged_content(values: list[Any], raw: dict[str, Any], module: ModuleType, kind: Any) -> bool:
    """Whether the canonical ``values`` (messages, chosen, rejected, tools) are still those of ``raw``."""
    direct = _direct_content(raw, module.NAME)
    if direct is not None:
        expected = [v or None for v in direct]
        try:  # plain equal values stay equal once cleaned: skip cleaning them (the common case)
            if [v or None for v in values] == expected:
                return True
        except (TypeError, ValueError):  # NumPy arrays do not compare as one truth value
            pass
        return [v or None for v in map(clean, values)] == expected
    parsed = module.parse(raw, RowContext([]))
    if isinstance(parsed, list):  # self-instruct: the raw of one example is a one-instance task
        parsed = parsed[0] if len(parsed) == 1 else None
    if parsed is None:
        return False
    return content_id(kind, *map(clean, values)) == parsed["id"]


def _direct_content(raw: dict[str, Any], format: str) -> list[Any] | None:
    """The canonical content of an OpenAI row without parsing it again (their canonical form is the row)."""
    if format in ("openai-sft", "openai-rft"):
        return [raw.get("messages"), None, None, raw.get("tools")]
    inner = raw.get("input")
    if format == "openai-dpo" and isinstance(inner, dict):
        return [
            inner.get("messages"),
            raw.get("preferred_output"),
            raw.get("non_preferred_output"),
            inner.get("tools"),
        ]
    return None


def _from_raw(record: dict[str, Any], raw: dict[str, Any], format: str) -> tuple[dict[str, Any], list[str]]:
    module = _MODULES[format]
    losses: list[str] = []
    if format in ("openai-sft", "openai-dpo"):
        out = {k: v for k, v in raw.items() if k in module.RESERVED}
        dropped = [k for k in raw if k not in module.RESERVED]
        if dropped:
            losses.append(f"metadata left out (OpenAI rejects unknown keys): {', '.join(dropped)}")
        return _known_message_keys(out, format, losses), losses
    out = dict(raw)
    reserved = set(getattr(module, "RESERVED", ()))
    for key, value in metadata_of(record).items():
        if key not in reserved:
            out[key] = value
    if format == "openai-rft":
        out = _known_message_keys(out, format, losses)
    return out, losses


def _known_message_keys(out: dict[str, Any], format: str, losses: list[str]) -> dict[str, Any]:
    """An OpenAI row's messages without keys OpenAI rejects (read with a warning, written without)."""
    inner = out.get("input")
    if format == "openai-dpo" and isinstance(inner, dict) and isinstance(inner.get("messages"), list):
        out["input"] = {**inner, "messages": openai_messages(inner["messages"], losses)}
    for key in ("preferred_output", "non_preferred_output", "messages"):
        if isinstance(out.get(key), list):
            out[key] = openai_messages(out[key], losses)
    return out


def rows_in(data: bytes, format: str) -> int:
    """Return how many rows a file written in ``format`` holds (a KTO pair is two)."""
    if not data.strip():
        return 0
    container = _MODULES[format].CONTAINER
    if container != "csv" and data.lstrip().startswith(b"["):
        return len(orjson.loads(data))
    if container == "csv":
        return max(0, sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig")))) - 1)
    return sum(1 for line in data.splitlines() if line.strip())


def _serialise(rows: list[dict[str, Any]], container: str) -> bytes:
    if container == "json":
        return core_io.dumps_json_array(rows)
    if container == "csv":
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return core_io.dumps_csv(rows, columns)
    return core_io.dumps_jsonl(rows)
