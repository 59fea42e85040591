"""Curate the best N: the examples that are good and unlike each other, and why each other one was left out.

Every example gets a score; then examples are taken greedily, best first, skipping one that is too
close (word 3-gram Jaccard of prompt and reply at or above ``max_similarity``) to one already taken,
as DEITA does with its scores and embeddings. Until the semantic layer exists, closeness is
lexical: the same MinHash/LSH engine as Dedup (:func:`core.dedup.duplicate_pairs`), every pair
verified by its true Jaccard.

The score is offline and explainable, a proxy for what a judge would say: an example with a hard
flag (empty, refusal, echo, truncated, invalid JSON, another language than the prompt, PII or a secret) is never taken; soft flags
(repetition, symbols, invisible characters) halve it; otherwise it grows with the reply's substance
(words, up to about 300) and its lexical variety (distinct words over words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.quality import QualityReport, scan_quality
from core.quality.pii import PLACEHOLDERS

HARD = frozenset(
    {
        "empty_response",
        "refusal",
        "echo_response",
        "truncated_response",
        "invalid_json_response",
        "language_mismatch",
        *PLACEHOLDERS,  # every PII and secret code that is redacted
    }
)
_SUBSTANCE_WORDS = 300


@dataclass(frozen=True)
class Curation:
    """The chosen examples (positions, best first) and every other one with the reason it was left out."""

    chosen: list[int]
    scores: np.ndarray
    left_out: pd.DataFrame  # columns: position, reason

    def reasons(self) -> dict[str, int]:
        """How many examples were left out for each kind of reason."""
        kinds = self.left_out["reason"].str.split(":").str[0] if len(self.left_out) else pd.Series(dtype=str)
        return {str(k): int(v) for k, v in kinds.value_counts().items()}


def score_examples(frame: pd.DataFrame, report: QualityReport) -> np.ndarray:
    """The score of each example in [0, 1] (0: a hard flag), as described in the module docstring."""
    hard = np.zeros(len(frame), dtype=bool)
    soft = np.zeros(len(frame), dtype=bool)
    for flag in report.flags:
        (hard if flag.code in HARD else soft)[flag.row] = True
    scores = np.empty(len(frame))
    for position, reply in enumerate(frame["response_text"].fillna("").astype(str)):
        words = reply.lower().split()
        substance = math.log1p(len(words)) / math.log1p(_SUBSTANCE_WORDS)
        variety = len(set(words)) / len(words) if words else 0.0
        scores[position] = min(1.0, substance) * (0.5 + 0.5 * variety)
    scores[soft] *= 0.5
    scores[hard] = 0.0
    return scores


def curate(
    frame: pd.DataFrame, n: int, *, max_similarity: float = 0.5, report: QualityReport | None = None
) -> Curation:
    """Choose up to ``n`` examples of ``frame`` that score best and are not near each other.

    Raises:
        ValueError: If ``n`` < 1 or ``max_similarity`` is not in (0, 1].
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 < max_similarity <= 1:
        raise ValueError(f"max_similarity must be in (0, 1], got {max_similarity}")
    report = report or scan_quality(frame)
    scores = score_examples(frame, report)
    group, neighbours = _closeness(frame, max_similarity)
    codes = _hard_codes(report)
    order = sorted(range(len(frame)), key=lambda i: (-scores[i], str(frame["id"].iloc[i])))
    chosen: list[int] = []
    taken: dict[int, int] = {}  # group -> the position taken for it
    left: list[tuple[int, str]] = []
    for position in order:
        if position in codes:
            left.append((position, f"flagged: {codes[position]}"))
            continue
        near = _taken_near(int(group[position]), neighbours, taken)
        if near is not None:
            left.append((position, f"too close: to {_where(frame, near)} (word 3-grams)"))
        elif len(chosen) >= n:
            left.append((position, f"not among the {n} best: score {scores[position]:.2f}"))
        else:
            chosen.append(position)
            taken[int(group[position])] = position
    table = pd.DataFrame(left, columns=["position", "reason"]).sort_values("position", ignore_index=True)
    return Curation(chosen, scores, table)


def _hard_codes(report: QualityReport) -> dict[int, str]:
    out: dict[int, str] = {}
    for flag in report.flags:
        if flag.code in HARD:
            out[flag.row] = ", ".join(sorted({*out.get(flag.row, "").split(", "), flag.code} - {""}))
    return out


def _closeness(frame: pd.DataFrame, threshold: float) -> tuple[np.ndarray, dict[int, set[int]]]:
    """Each row's exact group, and which groups are near which (Jaccard >= ``threshold``)."""
    from core import dedup

    config = dedup.DedupConfig(threshold=threshold, scope="all", shingle_size=3)
    pairs = dedup.duplicate_pairs(frame, config)
    group = pairs.exact_group.copy()
    alone = group < 0
    group[alone] = -1 - np.flatnonzero(alone)  # rows with no text are their own group
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(pairs.left.tolist(), pairs.right.tolist(), strict=True):
        ga, gb = int(group[a]), int(group[b])
        neighbours.setdefault(ga, set()).add(gb)
        neighbours.setdefault(gb, set()).add(ga)
    return group, neighbours


def _taken_near(group: int, neighbours: dict[int, set[int]], taken: dict[int, int]) -> int | None:
    if group in taken:
        return taken[group]
    return next((taken[g] for g in neighbours.get(group, ()) if g in taken), None)


def _where(frame: pd.DataFrame, position: int) -> str:
    line = frame["source_line"].iloc[position] if "source_line" in frame.columns else None
    return f"line {int(line)}" if line is not None and pd.notna(line) else f"example {position + 1}"
