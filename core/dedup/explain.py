"""Explaining a cluster: word diffs of two members, their Jaccard matrix, the command line's summary.

A pair is shown whole, from its first difference, by the lines or by the turns that differ.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import similarity
from core.dedup.config import DedupConfig, DedupResult, scope_texts

_TOKEN = re.compile(r"\s+|[^\s]+")


def diff_words(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Return both texts as ``(token, differs)`` runs: words of one that the other lacks are marked.

    Texts in scripts without spaces are compared character by character. Joining the tokens
    of each side gives back its text exactly.
    """
    split = _chars if similarity.uses_char_ngrams(a + b) else _words
    left, right = split(a), split(b)
    # compare the words only, so that a change of spacing is not a difference
    left_words = [i for i, t in enumerate(left) if not t.isspace()]
    right_words = [i for i, t in enumerate(right) if not t.isspace()]
    matcher = difflib.SequenceMatcher(
        a=[left[i] for i in left_words], b=[right[i] for i in right_words], autojunk=False
    )
    marks_a, marks_b = [False] * len(left), [False] * len(right)
    for i in left_words:
        marks_a[i] = True
    for i in right_words:
        marks_b[i] = True
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            marks_a[left_words[block.a + k]] = False
            marks_b[right_words[block.b + k]] = False
    return _runs(left, marks_a), _runs(right, marks_b)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def from_first_difference(runs: list[tuple[str, bool]], *, context: int = 12) -> list[tuple[str, bool]]:
    """The runs from ``context`` words before the first differing one (an ellipsis says what was cut).

    Two near duplicates usually start alike: shown from the top, the difference is below the fold.
    """
    first = next((i for i, (text, differs) in enumerate(runs) if differs and text.strip()), None)
    if first is None:
        return runs
    before = "".join(text for text, _ in runs[:first])
    tokens = _TOKEN.findall(before)
    words = [k for k, token in enumerate(tokens) if not token.isspace()]
    if len(words) <= context:
        return runs
    kept = "".join(tokens[words[-context] :])
    skipped = len(before) - len(kept)
    return [(f"… ({skipped:,} identical characters) ", False), (kept, False), *runs[first:]]


def differing_parts(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Only the lines (turns, paragraphs) that hold a difference, ``…`` where others were left out."""
    lines: list[list[tuple[str, bool]]] = [[]]
    for text, differs in runs:
        pieces = text.split("\n")
        for k, piece in enumerate(pieces):
            if k:
                lines.append([])
            if piece:
                lines[-1].append((piece, differs))
    out: list[tuple[str, bool]] = []
    for line in lines:
        if any(differs and text.strip() for text, differs in line):
            out += [*line, ("\n", False)]
        elif not out or out[-1][0] != "…\n":
            out.append(("…\n", False))
    return out


def differing_turns(messages: Sequence[Any], other: Sequence[Any]) -> list[tuple[str, bool]]:
    """Only the turns of ``messages`` that differ from the same turn of ``other``, as runs, word-marked.

    Turns are compared by position (role and content); each kept turn starts with a header naming
    its number and role, and ``…`` says how many identical turns were left out between them. A turn
    ``other`` lacks is kept whole and marked.
    """
    out: list[tuple[str, bool]] = []
    skipped = 0
    for k, message in enumerate(messages):
        there = other[k] if k < len(other) else None
        role, text = _turn(message)
        if there is not None and _turn(there) == (role, text):
            skipped += 1
            continue
        if skipped:
            out.append((f"… {skipped} identical turn{'s' if skipped > 1 else ''}\n", False))
            skipped = 0
        out.append((f"turn {k + 1} · {role}\n", False))
        out += diff_words(text, _turn(there)[1])[0] if there is not None else [(text, True)]
        out.append(("\n", False))
    if skipped:
        out.append((f"… {skipped} identical turn{'s' if skipped > 1 else ''}\n", False))
    if len(other) > len(messages):
        more = len(other) - len(messages)
        out.append((f"(the other side has {more} more turn{'s' if more > 1 else ''})\n", False))
    return out


def _turn(message: Any) -> tuple[str, str]:
    if not isinstance(message, dict):
        return "?", str(message)
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return str(message.get("role", "?")), text


def _chars(text: str) -> list[str]:
    return list(text)


def _runs(tokens: list[str], marks: list[bool]) -> list[tuple[str, bool]]:
    """Merge neighbouring tokens with the same mark (whitespace never counts as a difference)."""
    runs: list[tuple[str, bool]] = []
    for token, mark in zip(tokens, marks, strict=True):
        mark = mark and not token.isspace()
        if runs and runs[-1][1] == mark:
            runs[-1] = (runs[-1][0] + token, runs[-1][1])
        else:
            runs.append((token, mark))
    return runs


def pairwise_jaccard(frame: pd.DataFrame, positions: Sequence[int], config: DedupConfig) -> np.ndarray:
    """Return the true Jaccard matrix of a few rows (by position), computed the obvious way."""
    texts = scope_texts(frame.iloc[list(positions)], config)
    params = config.engine_params()
    sets = [similarity.shingles(t, params) for t in texts]
    matrix = np.ones((len(sets), len(sets)))
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            matrix[i, j] = matrix[j, i] = similarity.jaccard(sets[i], sets[j])
    return matrix


def result_summary(
    ids: Sequence[str], result: DedupResult, keepers: dict[int, int], lines: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Return the command line's JSON summary of a result on rows with these ``ids``.

    ``lines``: each row's line in the file (``source_line``); exact duplicates share their id, so
    the lines are what a person looks them up by (``kept_line``, ``removed_lines``).
    """
    clusters = []
    for c in result.clusters:
        keeper = keepers[c.cluster_id]
        removed = [m for m in c.members if m != keeper]
        cluster: dict[str, Any] = {
            "kept": ids[keeper],
            "removed": [ids[m] for m in removed],
            "min_jaccard": round(c.min_jaccard, 4),
            "kind": c.kind,
        }
        if lines is not None:
            cluster["kept_line"] = _line(lines[keeper])
            cluster["removed_lines"] = [_line(lines[m]) for m in removed]
        clusters.append(cluster)
    return {
        "rows": result.rows,
        "exact_duplicates": result.exact_duplicates,
        "near_duplicates": result.near_duplicates,
        "removed_fraction": round(result.removed_fraction, 6),
        "threshold": result.config.threshold,
        "scope": result.config.scope,
        "notes": list(result.notes),
        "clusters": clusters,
    }


def member_label(frame: pd.DataFrame, position: int) -> str:
    """How a person finds a row again: its source line (or row number), its id and its source."""
    row = frame.iloc[position]
    source = row.get("source") if isinstance(row.get("source"), str) else "real"
    line = row.get("source_line")
    where = f"line {line}" if line is not None and not pd.isna(line) else f"row {position + 1}"
    return f"{where} · {row['id']} · {source}"


def _line(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
