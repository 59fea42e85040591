"""Writing one split in one format (Parquet through pyarrow), and the writer's problems as readable lines."""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import formats
from core.errors import DatasetError
from core.export.targets import _PARQUET_ROWS_FORMAT, PARQUET, file_extension
from core.export.uniform import _map_dicts, _uniform_rows, uniform_content_jsonl


@dataclass(frozen=True)
class WrittenFile:
    """One file of the bundle, with what the check after writing found."""

    name: str
    data: bytes
    rows: int
    split: str | None = None
    format: str | None = None
    problems: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """Hex sha256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()


def write_split(frame: pd.DataFrame, fmt: str) -> tuple[bytes, list[str]]:
    """Write one split in ``fmt`` so that pyarrow can read it back.

    Args:
        frame: Canonical table of the split.
        fmt: An export format (:data:`EXPORT_FORMATS`).

    Returns:
        The bytes and the problems the writer reported (as readable lines).

    Raises:
        DatasetError: If the writer cannot put these examples in ``fmt``.
    """
    if fmt == PARQUET:
        return _write_parquet(frame)
    extension = file_extension(fmt)
    data, problems = formats.write_dataset(frame, fmt, container=None if extension == "csv" else extension)
    lines = _problem_lines(problems)
    if file_extension(fmt) == "jsonl":
        data = uniform_content_jsonl(data)
    return data, lines


def _write_parquet(frame: pd.DataFrame) -> tuple[bytes, list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = sorted({str(k) for k in frame["kind"]}) if len(frame) else ["sft"]
    if len(kinds) > 1:
        raise DatasetError(f"Parquet export needs one kind of example per file, got {kinds}")
    rows_format = _PARQUET_ROWS_FORMAT[kinds[0]]
    if rows_format == "trl-preference" and not all(
        _paired(c, r) for c, r in zip(frame["chosen"], frame["rejected"], strict=True)
    ):
        rows_format = "trl-kto"  # unpaired (KTO) examples: one row per completion, never an invented pair
    data, problems = formats.write_dataset(frame, rows_format)
    rows = _uniform_rows([json.loads(line) for line in data.splitlines() if line.strip()])
    notes = _problem_lines(problems)
    if len(_argument_shapes(rows)) > 1:
        rows = [_string_arguments(row) for row in rows]
        notes.append(_PARQUET_ARGUMENTS_NOTE)
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DatasetError(f"cannot write Parquet: the rows do not share one type per field ({exc})") from exc
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue(), notes


_PARQUET_ARGUMENTS_NOTE = (
    "warning: file: tool-call arguments written as JSON strings: their keys or types differ between "
    "rows, and a Parquet column holds one type (the JSONL files keep them as objects)"
)


def _tool_calls_in(value: Any) -> Iterable[dict]:
    if isinstance(value, dict):
        yield from (c for c in value.get("tool_calls") or [] if isinstance(c, dict))
        for child in value.values():
            yield from _tool_calls_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from _tool_calls_in(child)


def _argument_shapes(rows: list[Any]) -> set[tuple[tuple[str, str], ...]]:
    """The (key, type) sets of every object of tool-call arguments: one means one Parquet struct type."""
    shapes = set()
    for call in _tool_calls_in(rows):
        arguments = (call.get("function") or {}).get("arguments")
        if isinstance(arguments, dict):
            shapes.add(tuple(sorted((str(k), type(v).__name__) for k, v in arguments.items())))
    return shapes


def _string_arguments(value: Any) -> Any:
    """``value`` with every tool call's object arguments as a JSON string (OpenAI's form)."""
    return _map_dicts(value, _call_with_string_arguments)


def _call_with_string_arguments(out: dict) -> dict:
    function = out.get("function")
    if "id" in out and isinstance(function, dict) and isinstance(function.get("arguments"), dict):
        out["function"] = {**function, "arguments": json.dumps(function["arguments"], ensure_ascii=False)}
    return out


def _paired(chosen: Any, rejected: Any) -> bool:
    return all(
        side is not None and not (isinstance(side, float) and math.isnan(side)) and len(side)
        for side in (chosen, rejected)
    )


def _problem_lines(problems: Any) -> list[str]:
    """Return one line per distinct problem, with how many rows had it and the first lines."""
    if problems is None:
        return []
    items = problems.to_dict("records") if isinstance(problems, pd.DataFrame) else list(problems)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for problem in items:
        get = _getter(problem)
        key = (str(get("severity", "error")), str(get("field", "") or ""), str(get("message", problem)))
        groups.setdefault(key, []).append(get("line"))
    return [_problem_text(key, lines) for key, lines in groups.items()]


def _getter(problem: Any) -> Any:
    if isinstance(problem, Mapping):
        return problem.get
    return lambda key, default=None: getattr(problem, key, default)


def _problem_text(key: tuple[str, str, str], lines: list[Any]) -> str:
    severity, field_name, message = key
    numbers = [int(n) for n in lines if n is not None and not pd.isna(n)]
    where = "file" if not numbers else f"line {numbers[0]}"
    if len(numbers) > 1:
        where = (
            f"{len(numbers)} rows, lines "
            + ", ".join(str(n) for n in numbers[:3])
            + (", …" if len(numbers) > 3 else "")
        )
    return f"{severity}: {where}: {field_name + ': ' if field_name else ''}{message}"


def written_rows(data: bytes, fmt: str) -> int:
    """Return how many rows a written file holds (rows left out are not; a KTO pair is two)."""
    extension = file_extension(fmt)
    if not data.strip():
        return 0
    if extension == PARQUET:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)
    return formats.rows_in(data, fmt)
