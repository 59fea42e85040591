"""Curate the best N: the examples that are good and unlike each other, and why each other one was left out.

Every example gets a score; then examples are taken greedily, as DEITA does with its scores and
embeddings. Closeness is measured one of two ways (``method``):

- ``semantic`` (the default when the packaged embedding model loads, :mod:`core.semantic.model`):
  maximal marginal relevance. Each step takes the example with the best ``score - diversity *
  cosine`` to its nearest example already taken, and never one whose cosine to a taken one is at
  or above ``max_cosine`` (a restatement in other words).
- ``lexical``: best score first, skipping one that is too close (word 3-gram Jaccard of prompt and
  reply at or above ``max_similarity``) to one already taken: the same MinHash/LSH engine as Dedup
  (:func:`core.dedup.duplicate_pairs`), every pair verified by its true Jaccard.

The score is offline and explainable, a proxy for what a judge would say: an example with a hard
flag (empty, refusal, echo, truncated, invalid JSON, another language than the prompt, PII or a
secret) is never taken; soft flags (repetition, symbols, invisible characters) halve it; otherwise
it grows with the reply's substance (words, up to about 300) and its lexical variety (distinct
words over words).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.quality import QualityReport, scan_quality
from core.quality.pii import PLACEHOLDERS
from core.semantic.representative import place

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
METHODS = ("auto", "semantic", "lexical")


@dataclass(frozen=True)
class Curation:
    """The chosen examples (positions, best first) and every other one with the reason it was left out."""

    chosen: list[int]
    scores: np.ndarray
    left_out: pd.DataFrame  # columns: position, reason
    method: str = "lexical"  # how closeness was measured: "semantic" or "lexical"

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
    frame: pd.DataFrame,
    n: int,
    *,
    max_similarity: float = 0.5,
    report: QualityReport | None = None,
    method: str = "auto",
    max_cosine: float = 0.85,
    diversity: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
) -> Curation:
    """Choose up to ``n`` examples of ``frame`` that score best and are not near each other.

    Args:
        frame: The canonical table.
        n: How many to keep at most.
        max_similarity: Lexical: the word 3-gram Jaccard from which an example is too close.
        report: The quality report of ``frame`` (scanned here when not given).
        method: ``semantic``, ``lexical`` or ``auto`` (semantic when the embedding model loads).
        max_cosine: Semantic: the cosine from which an example is too close.
        diversity: Semantic: the weight of the cosine to the nearest taken example against the score.
        progress: Semantic: called with (rows embedded, rows) during the embedding pass.

    Raises:
        ValueError: If ``n`` < 1, a threshold is not in (0, 1], ``diversity`` < 0 or the method unknown.
    """
    _check_arguments(n, max_similarity, max_cosine, method, diversity)
    report = report or scan_quality(frame)
    scores = score_examples(frame, report)
    codes = _hard_codes(report)
    vectors = _embeddings(frame, progress) if method != "lexical" else None
    if vectors is None and method == "semantic":
        raise ValueError("the packaged embedding model is not available: use method='lexical'")
    if vectors is not None:
        return _maximal_marginal(frame, n, scores, codes, vectors, max_cosine, diversity)
    group, neighbours = _closeness(frame, max_similarity)
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
            left.append((position, f"too close: to {place(frame, near)} (word 3-grams)"))
        elif len(chosen) >= n:
            left.append((position, f"not among the {n} best: score {scores[position]:.2f}"))
        else:
            chosen.append(position)
            taken[int(group[position])] = position
    table = pd.DataFrame(left, columns=["position", "reason"]).sort_values("position", ignore_index=True)
    return Curation(chosen, scores, table)


def _check_arguments(n: int, max_similarity: float, max_cosine: float, method: str, diversity: float) -> None:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    for name, value in (("max_similarity", max_similarity), ("max_cosine", max_cosine)):
        if not 0 < value <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    if method not in METHODS or diversity < 0:
        raise ValueError(f"method must be one of {METHODS} and diversity >= 0, got {method!r}, {diversity}")


def _embeddings(frame: pd.DataFrame, progress: Callable[[int, int], None] | None) -> np.ndarray | None:
    """Prompt and reply embedded (:func:`core.semantic.embedding.embed_set`), ``None`` without the model."""
    from core import dedup

    try:
        from core.semantic.embedding import embed_set
        from core.semantic.model import load_model

        load_model()
    except (ImportError, FileNotFoundError, OSError):
        return None
    return embed_set(dedup.scope_texts(frame, dedup.DedupConfig(scope="all")), progress=progress)


def _maximal_marginal(
    frame: pd.DataFrame,
    n: int,
    scores: np.ndarray,
    codes: dict[int, str],
    vectors: np.ndarray,
    max_cosine: float,
    diversity: float,
) -> Curation:
    """Greedy MMR: best ``score - diversity * max cosine to the taken``, never one at ``max_cosine``."""
    nearest_cos = np.zeros(len(frame))  # cosine to the nearest taken example (0 before any)
    nearest = np.full(len(frame), -1)
    open_ = np.ones(len(frame), dtype=bool)
    open_[list(codes)] = False
    chosen: list[int] = []
    left = [(p, f"flagged: {c}") for p, c in codes.items()]
    while len(chosen) < n and open_.any():
        gain = np.where(open_, scores - diversity * np.maximum(nearest_cos, 0.0), -np.inf)
        pick = int(np.argmax(gain))
        chosen.append(pick)
        open_[pick] = False
        cos = vectors @ vectors[pick]
        closer = cos > nearest_cos
        nearest_cos[closer], nearest[closer] = cos[closer], pick
        for position in np.flatnonzero(open_ & (cos >= max_cosine)):
            open_[position] = False
            where = place(frame, pick)
            left.append((int(position), f"too close: to {where} (cosine {cos[position]:.2f})"))
    left += [(int(p), f"not among the {n} best: score {scores[p]:.2f}") for p in np.flatnonzero(open_)]
    table = pd.DataFrame(left, columns=["position", "reason"]).sort_values("position", ignore_index=True)
    return Curation(chosen, scores, table, "semantic")


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
