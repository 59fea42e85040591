"""Checks of a whole file once its rows are read: size, container, one TRL style, token counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from core.formats import (
    openai_dpo,
)
from core.formats._base import (
    Problem,
    is_missing,
)
from core.formats._trl import TRL_STYLES, row_style
from core.formats.catalog import _STYLED_FORMATS, MAX_RFT_EXAMPLES, MIN_EXAMPLES, OPENAI_FORMATS
from core.formats.result import LoadResult


def _file_checks(result: LoadResult, name: str) -> None:
    fmt = result.detection.format
    total = result.valid + result.invalid
    if total < MIN_EXAMPLES:
        # One severity for every format: the rows are fine, the file is small (a val / test split
        # often is); OpenAI rejects a training file this small, which the message says.
        result.problems.append(
            Problem(
                None,
                "",
                "too_few_examples",
                f"{name} holds {total} examples; OpenAI needs at least {MIN_EXAMPLES} (50+ recommended)",
                "warning",
                "add examples",
            )
        )
    if fmt == "openai-rft" and total > MAX_RFT_EXAMPLES:
        result.problems.append(
            Problem(
                None,
                "",
                "too_many_examples",
                f"{total} examples; an RFT training file holds at most 50,000",
                "warning",
            )
        )
    if result.container == "json" and name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson")):
        result.problems.append(
            Problem(
                None,
                "",
                "json_array_not_jsonl",
                f"{name} is a JSON array, not JSON Lines; it was read as an array",
                "warning",
                "export as JSONL (one object per line)",
            )
        )
    elif result.container == "json" and fmt in OPENAI_FORMATS:
        result.problems.append(
            Problem(
                None,
                "",
                "not_jsonl",
                "OpenAI needs a .jsonl file (one object per line), this is a JSON array",
                "warning",
                "export as JSONL",
            )
        )
    if fmt in _STYLED_FORMATS:
        _check_one_style(result)
    if fmt == "trl-preference" and "dpo" in name.lower():
        result.problems.append(
            Problem(
                None,
                "",
                "dpo_wrong_shape",
                "the file name says DPO but the rows use TRL's prompt/chosen/rejected: "
                "OpenAI's DPO would reject it",
                "warning",
                openai_dpo.WRONG_SHAPE_FIX,
            )
        )


def _check_one_style(result: LoadResult) -> None:
    """Flag a file whose rows mix standard (string) and conversational (list) rows.

    ``datasets`` gives each column one type and TRL's trainers pick the chat template from the
    first row, so in a mixed file the rows of the other style train wrongly.
    """
    first: dict[str, int | None] = {}
    count: Counter[str] = Counter()
    for raw, line in zip(result.records["raw"], result.records["source_line"], strict=True):
        style = row_style(raw) if isinstance(raw, Mapping) else None
        if style is not None:
            count[style] += 1
            first.setdefault(style, None if is_missing(line) else int(line))
    if len(count) < 2:
        return
    detail = ", ".join(f"{count[s]} {s} (first on line {first[s]})" for s in TRL_STYLES)
    result.problems.append(
        Problem(
            None,
            "",
            "mixed_standard_conversational",
            f"the file mixes standard (string) and conversational (message list) rows: {detail}; "
            "a trainer reads every row the way it reads the first",
            "error",
            "write one style: python -m core convert FILE --to "
            f"{result.detection.format} --trl-style conversational -o OUT.jsonl",
        )
    )


def _check_tokens(result: LoadResult, model: str, known: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Count every valid example's training tokens (column ``n_tokens``) and flag those over the limit.

    ``known``: record indices and tokens of the rows counted during the read; the rest are counted here.
    """
    try:
        from core import tokens

        limit = tokens.token_limit(model)
        counted = _count_rest(tokens, result.records, model, known)
    except (ImportError, AttributeError) as exc:
        result.problems.append(
            Problem(None, "", "token_check_skipped", f"token counts are not available ({exc})", "warning")
        )
        return
    frame = result.records
    frame["n_tokens"] = pd.array(counted, dtype="Int64")
    if counted:
        total = int(sum(counted))
        result.token_stats = {"total": total, "max": int(max(counted)), "mean": total / len(counted)}
    if limit is None:
        return
    for line, n in zip(frame["source_line"], counted, strict=True):
        if n > limit:
            result.problems.append(
                Problem(
                    None if is_missing(line) else int(line),
                    "",
                    "too_many_tokens",
                    f"{n} tokens, over the {limit} a {model} training example may hold: it will be truncated",
                    "warning",
                    "shorten or split the example",
                )
            )


def _count_rest(
    tokens: ModuleType, frame: pd.DataFrame, model: str, known: tuple[np.ndarray, np.ndarray] | None
) -> list[int]:
    """Training tokens per row: those ``known`` from the read, the others counted now."""
    if known is None or not len(known[0]):
        return _count_tokens(tokens, frame, model)
    rows, totals = known
    counted = np.full(len(frame), -1, dtype=np.int64)
    counted[rows] = totals
    rest = np.flatnonzero(counted < 0)
    if len(rest):
        counted[rest] = _count_tokens(tokens, frame.iloc[rest], model)
    return counted.tolist()


def _count_tokens(tokens: ModuleType, frame: pd.DataFrame, model: str) -> list[int]:
    """Training tokens per row: the batch counter when there is one, else one call per row."""
    if len(frame) and hasattr(tokens, "count_training_tokens"):
        return [int(n) for n in tokens.count_training_tokens(frame, model=model)]
    count = tokens.count_messages_tokens
    return [_example_tokens(count, m, c, r, t, model) for m, c, r, t in _nested(frame)]


def _nested(frame: pd.DataFrame) -> Iterator[tuple[Any, Any, Any, Any]]:
    return zip(frame["messages"], frame["chosen"], frame["rejected"], frame["tools"], strict=True)


def _example_tokens(
    count: Callable[..., int], messages: Any, chosen: Any, rejected: Any, tools: Any, model: str
) -> int:
    tools = tools if isinstance(tools, list) and tools else None
    base = list(messages or [])
    if isinstance(chosen, list):
        return max(
            count(base + chosen, tools, model=model), count(base + list(rejected or []), tools, model=model)
        )
    return count(base, tools, model=model)
