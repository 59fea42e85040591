"""What counts as a duplicate (:class:`DedupConfig`, scopes) and what a run found (:class:`DedupResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import _minhash, similarity

SCOPE_PARTS = ("prompt", "response", "chosen", "rejected")
SCOPES = (
    "all",
    "prompt",
    "response",
    "chosen",
    "rejected",
    "prompt+response",
    "prompt+chosen",
    "prompt+rejected",
)
_PART_COLUMNS = {
    "prompt": "prompt_text",
    "response": "response_text",
    "chosen": "response_text",
    "rejected": "rejected_text",
}


@dataclass(frozen=True)
class DedupConfig:
    """What counts as a duplicate.

    Attributes:
        threshold: Jaccard similarity of shingle sets at or above which two texts are near
            duplicates (the page's slider offers 0.5-0.95; the core accepts (0, 1]).
        scope: Which text is compared: ``all`` (prompt, response and a rejected side),
            ``prompt`` (user turns), ``response`` (assistant turns; for preference data the
            chosen side, also called ``chosen``), ``rejected``, or parts joined by ``+``.
        include_system: Also compare the system prompt (off: a shared system prompt makes
            everything look alike).
        shingle_size: Words per shingle for space-separated scripts.
        char_shingle_size: Characters per shingle for Chinese, Japanese, Thai and the like.
        nfkc: Apply Unicode NFKC normalisation.
        casefold: Ignore case.
        collapse_whitespace: Treat any run of whitespace as one space (exact duplicates).
        num_perm: MinHash bins (a power of two, 16-1024).
        max_shingles: Shingles kept per example; longer texts are capped (and reported).
        seed: Seed of every hash function.
    """

    threshold: float = 0.8
    scope: str = "all"
    include_system: bool = False
    shingle_size: int = 5
    char_shingle_size: int = 3
    nfkc: bool = True
    casefold: bool = True
    collapse_whitespace: bool = True
    num_perm: int = 128
    max_shingles: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        scope_parts(self.scope)
        if not 1 <= self.shingle_size <= 16:
            raise ValueError(f"shingle_size must be 1-16 words, got {self.shingle_size!r}")
        if not 1 <= self.char_shingle_size <= 16:
            raise ValueError(f"char_shingle_size must be 1-16 characters, got {self.char_shingle_size!r}")
        if self.num_perm not in {2**k for k in range(4, 11)}:
            raise ValueError(f"num_perm must be a power of two from 16 to 1024, got {self.num_perm!r}")
        if self.max_shingles < 1:
            raise ValueError(f"max_shingles must be positive, got {self.max_shingles!r}")

    def engine_params(self, threshold: float | None = None) -> _minhash.EngineParams:
        """Return the engine parameters (bands for ``threshold``, default this config's)."""
        return similarity.engine_params(
            threshold or self.threshold,
            shingle_size=self.shingle_size,
            char_shingle_size=self.char_shingle_size,
            nfkc=self.nfkc,
            casefold=self.casefold,
            collapse_whitespace=self.collapse_whitespace,
            max_shingles=self.max_shingles,
            num_perm=self.num_perm,
            seed=self.seed,
        )


@dataclass(frozen=True)
class Cluster:
    """One group of duplicates.

    Attributes:
        cluster_id: Stable within one result (0 = the largest cluster).
        members: Row positions in the input frame, ascending.
        ids: The members' ``id`` values (exact copies of one example share an id).
        kind: ``exact`` if every member has the same normalised text, else ``near``.
        min_jaccard: The weakest verified link that joined the cluster (1.0 for exact).
        similarity: Per member, its best verified Jaccard to another member.
    """

    cluster_id: int
    members: tuple[int, ...]
    ids: tuple[str, ...]
    kind: str
    min_jaccard: float
    similarity: tuple[float, ...]

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.members)


@dataclass(frozen=True)
class DedupResult:
    """What :func:`find_duplicates` found.

    Attributes:
        config: The configuration used.
        rows: Rows in the input.
        clusters: Duplicate clusters, largest first.
        exact_duplicates: Rows that would go because their normalised text repeats.
        near_duplicates: Further rows that would go as near duplicates.
        empty_rows: Rows with no text in scope (never duplicates of anything).
        capped_rows: Rows whose shingles were capped at ``config.max_shingles``.
        char_ngram_rows: Rows shingled by characters (CJK, Thai, ...).
        candidate_pairs: Pairs the LSH proposed.
        verified_pairs: Candidate pairs whose true Jaccard reached the threshold.
    """

    config: DedupConfig
    rows: int
    clusters: tuple[Cluster, ...]
    exact_duplicates: int
    near_duplicates: int
    empty_rows: int = 0
    capped_rows: int = 0
    char_ngram_rows: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def removed(self) -> int:
        """Rows that would be removed (one member of each cluster stays)."""
        return self.exact_duplicates + self.near_duplicates

    @property
    def removed_fraction(self) -> float:
        """Share of rows that would be removed."""
        return self.removed / self.rows if self.rows else 0.0


def scope_parts(scope: str) -> tuple[str, ...]:
    """Return the text parts a scope compares (``all`` = prompt, response and rejected side).

    Raises:
        ValueError: If ``scope`` names an unknown part.
    """
    if scope == "all":
        return ("prompt", "response", "rejected")
    parts = tuple(p.strip() for p in scope.split("+"))
    unknown = [p for p in parts if p not in SCOPE_PARTS]
    if unknown or not parts:
        raise ValueError(f"scope must be 'all' or parts of {SCOPE_PARTS} joined by '+', got {scope!r}")
    return parts


def scope_texts(frame: pd.DataFrame, config: DedupConfig) -> list[str]:
    """Return, per row, the text that is compared under ``config.scope``."""
    return _minhash.join_parts(_scope_columns(frame, config))


def _scope_columns(frame: pd.DataFrame, config: DedupConfig) -> list[list[Any]]:
    """Return the text columns in scope as lists (missing columns as empty strings)."""
    columns = list(dict.fromkeys(_PART_COLUMNS[p] for p in scope_parts(config.scope)))
    if config.include_system:
        columns.insert(0, "system_text")
    return [frame[c].tolist() if c in frame.columns else [""] * len(frame) for c in columns]
