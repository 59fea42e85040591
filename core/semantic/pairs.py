"""Pairs of rows that say the same thing: by embedding cosine, by shingle Jaccard, or both.

One list serves the Dedup page, ``python -m core dedup --method`` and ``python -m core leakage``: every
pair carries both measures and the method(s) whose threshold it reaches, so a semantic match shows how
many words the two rows share, and a lexical one how close their meanings are.

Texts are the dedup scopes' (:func:`core.dedup.scope_texts`); rows with the same text are embedded
once and linked to the first of them (cosine and Jaccard 1.0), so a thousand copies of one row cost
one embedding and a thousand pairs, not half a million.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import _minhash, dedup, similarity
from core.semantic import DEFAULT_COSINE, DEFAULT_JACCARD, METHODS, index  # noqa: F401  (re-exported)
from core.semantic.embedding import embed_set, fit

Progress = Callable[[int, int], None]


RawEmbedder = Callable[[list[str]], np.ndarray]
"""Gives the model's raw vectors of texts (:meth:`core.semantic.model.StaticModel.embed`), e.g. stored."""


@dataclasses.dataclass(frozen=True)
class PairSettings:
    """Which pairs are listed.

    Attributes:
        method: ``semantic`` (cosine >= ``cosine``), ``lexical`` (exact copies and Jaccard >=
            ``threshold``) or ``both`` (either).
        cosine: Cosine of the embeddings at or above which two rows are semantic duplicates.
        threshold: Jaccard of word shingles at or above which two rows are near duplicates.
        scope: Text compared, as in :class:`core.dedup.DedupConfig`.
        include_system: Also compare the system prompt.
        shingle_size: Words per shingle (Jaccard).
        seed: Seed of the MinHash hashes and of the index's k-means.
    """

    method: str = "both"
    cosine: float = DEFAULT_COSINE
    threshold: float = DEFAULT_JACCARD
    scope: str = "all"
    include_system: bool = False
    shingle_size: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0.0 < self.cosine <= 1.0:
            raise ValueError(f"cosine threshold must be in (0, 1], got {self.cosine!r}")
        self.dedup_config()  # validates scope, threshold and shingle size

    def dedup_config(self) -> dedup.DedupConfig:
        """The lexical side's configuration."""
        return dedup.DedupConfig(
            threshold=self.threshold,
            scope=self.scope,
            include_system=self.include_system,
            shingle_size=self.shingle_size,
            seed=self.seed,
        )


@dataclasses.dataclass(frozen=True)
class SimilarPair:
    """Two rows and how alike they are.

    Attributes:
        a: Row position in the first table.
        b: Row position in the same table (dedup, ``a < b``) or in the other one (leakage).
        cosine: Cosine of the two embeddings.
        jaccard: Jaccard of the two shingle sets (1.0 for texts equal after normalisation).
        method: Which thresholds the pair reaches: ``semantic``, ``lexical`` or ``both``.
    """

    a: int
    b: int
    cosine: float
    jaccard: float
    method: str


def row_texts(frame: pd.DataFrame, settings: PairSettings) -> list[str]:
    """Return, per row, the text compared under the settings' scope."""
    return dedup.scope_texts(frame, settings.dedup_config())


def duplicate_pairs(
    frame: pd.DataFrame,
    settings: PairSettings,
    *,
    progress: Progress | None = None,
    embed_raw: RawEmbedder | None = None,
) -> list[SimilarPair]:
    """Return the pairs of rows of one table that the settings' method links, by ``a`` then ``b``.

    ``embed_raw`` gives the model's raw vectors of the distinct texts (e.g. from a version's stored
    chunks, :mod:`core.semantic.chunks`) instead of embedding them here (``progress`` is then unused).
    """
    texts = row_texts(frame, settings)
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object), sort=False)
    vectors = compared(list(uniques), progress=progress, embed_raw=embed_raw)
    found: dict[tuple[int, int], None] = {}
    if settings.method != "lexical":
        found.update(dict.fromkeys(_semantic_links(codes, vectors, settings)))
    if settings.method != "semantic":
        found.update(dict.fromkeys(_lexical_self(texts, settings)))
    return _measured(sorted(found), (texts, vectors[codes]), (texts, vectors[codes]), settings)


def compared(
    texts: list[str], *, progress: Progress | None = None, embed_raw: RawEmbedder | None = None
) -> np.ndarray:
    """:func:`core.semantic.embedding.embed_set` of ``texts``, from ``embed_raw``'s raw vectors when given."""
    if embed_raw is None:
        return embed_set(texts, progress=progress)
    return fit(texts, raw=embed_raw(texts))[1]


def leakage_pairs(
    train: pd.DataFrame, other: pd.DataFrame, settings: PairSettings, *, progress: Progress | None = None
) -> list[SimilarPair]:
    """Return every (train row, other row) pair the settings' method links, by ``a`` then ``b``.

    Both tables are embedded together (:func:`core.semantic.embedding.embed_set`): minority
    languages' function words and the common direction of the two together are taken out.
    """
    left, right = row_texts(train, settings), row_texts(other, settings)
    vectors = embed_set(left + right, progress=progress)
    a_vec, b_vec = vectors[: len(left)], vectors[len(left) :]
    found: dict[tuple[int, int], None] = {}
    if settings.method != "lexical":
        rows_a, rows_b, _ = index.cross_pairs(a_vec, b_vec, settings.cosine)
        found.update(dict.fromkeys(zip(rows_a.tolist(), rows_b.tolist(), strict=True)))
    if settings.method != "semantic":
        found.update(dict.fromkeys(_lexical_cross(left, right, settings)))
    return _measured(sorted(found), (left, a_vec), (right, b_vec), settings)


def pair_counts(pairs: list[SimilarPair]) -> dict[str, int]:
    """Return how many pairs each method linked (``both`` counts in each) and in all."""
    methods = [p.method for p in pairs]
    return {
        "pairs": len(pairs),
        "semantic": sum(m in ("semantic", "both") for m in methods),
        "lexical": sum(m in ("lexical", "both") for m in methods),
        "both": methods.count("both"),
    }


def pair_json(pair: SimilarPair, a_frame: pd.DataFrame, b_frame: pd.DataFrame) -> dict[str, Any]:
    """Return a pair as the command line prints it: ``a`` and ``b`` with their 1-based line and id."""
    return {
        "a": _row_ref(a_frame, pair.a),
        "b": _row_ref(b_frame, pair.b),
        "cosine": round(pair.cosine, 4),
        "jaccard": round(pair.jaccard, 4),
        "method": pair.method,
    }


def explain_pair(pair: SimilarPair, settings: PairSettings) -> str:
    """Say in one sentence why two rows are linked: their meaning (cosine), their wording (Jaccard)."""
    meaning = f"cosine {pair.cosine:.2f}"
    wording = (
        f"{pair.jaccard:.0%} of their word {settings.shingle_size}-grams shared (Jaccard {pair.jaccard:.2f})"
    )
    if pair.jaccard >= 1.0 - 1e-12:
        return f"The same text once case, spacing and Unicode forms are normalised ({meaning})."
    if pair.method == "both":
        return f"Close in meaning ({meaning} >= {settings.cosine:.2f}) and in wording: {wording}."
    if pair.method == "semantic":
        return (
            f"Close in meaning ({meaning} >= {settings.cosine:.2f}) but reworded: {wording}, under "
            f"{settings.threshold:.2f}, so the lexical method alone would miss this pair."
        )
    return (
        f"Mostly the same words ({wording}) but further apart in meaning ({meaning} < "
        f"{settings.cosine:.2f}): a detail such as a number, a name or a negation may change the request."
    )


def duplicate_result(
    frame: pd.DataFrame, pairs: list[SimilarPair], settings: PairSettings
) -> dedup.DedupResult:
    """Return the clusters the pairs join, as a :class:`core.dedup.DedupResult` (keep, apply, undo as usual).

    A cluster's ``kind`` is ``exact`` (all one text), ``near`` (joined by lexical links alone) or
    ``semantic`` (some link is semantic only); its members' ``similarity`` is their best Jaccard for
    exact and near clusters and their best cosine for semantic ones, which the dedup audit keeps.
    """
    n = len(frame)
    left = np.array([p.a for p in pairs], dtype=np.int64)
    right = np.array([p.b for p in pairs], dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    ids = [str(i) for i in frame["id"]] if "id" in frame.columns else [str(i) for i in range(n)]
    members: dict[int, list[int]] = {}
    for row in sorted(set(left.tolist()) | set(right.tolist())):
        members.setdefault(int(labels[row]), []).append(row)
    by_label: dict[int, list[SimilarPair]] = {}
    for pair in pairs:
        by_label.setdefault(int(labels[pair.a]), []).append(pair)
    groups = sorted(members.values(), key=lambda g: (-len(g), g[0]))
    clusters = tuple(_cluster(k, g, by_label[int(labels[g[0]])], ids) for k, g in enumerate(groups))
    exact = sum(c.size - 1 for c in clusters if c.kind == "exact")
    removed = sum(c.size - 1 for c in clusters)
    config = settings.dedup_config()
    return dedup.DedupResult(
        config=config, rows=n, clusters=clusters, exact_duplicates=exact, near_duplicates=removed - exact
    )


def pairs_by_cluster(result: dedup.DedupResult, links: list[SimilarPair]) -> dict[int, list[SimilarPair]]:
    """The linked pairs of each cluster of :func:`duplicate_result` (by cluster id)."""
    row_cluster = {m: c.cluster_id for c in result.clusters for m in c.members}
    grouped: dict[int, list[SimilarPair]] = {}
    for pair in links:
        grouped.setdefault(row_cluster[pair.a], []).append(pair)
    return grouped


def _cluster(cluster_id: int, rows: list[int], links: list[SimilarPair], ids: list[str]) -> dedup.Cluster:
    semantic = any(p.method == "semantic" for p in links)
    exact = all(p.jaccard >= 1.0 - 1e-12 for p in links)
    kind = "exact" if exact else ("semantic" if semantic else "near")
    measure = (lambda p: p.cosine) if kind == "semantic" else (lambda p: p.jaccard)
    best = dict.fromkeys(rows, 0.0)
    for p in links:
        best[p.a] = max(best[p.a], measure(p))
        best[p.b] = max(best[p.b], measure(p))
    return dedup.Cluster(
        cluster_id=cluster_id,
        members=tuple(rows),
        ids=tuple(ids[r] for r in rows),
        kind=kind,
        min_jaccard=min(p.jaccard for p in links),
        similarity=tuple(best[r] for r in rows),
    )


def _semantic_links(codes: np.ndarray, vectors: np.ndarray, settings: PairSettings) -> list[tuple[int, int]]:
    """Pairs at or above the cosine: among distinct texts, then each copy linked to its text's first row."""
    rows = np.arange(len(codes))
    first = np.full(len(vectors), -1, dtype=np.int64)
    first[codes[::-1]] = rows[::-1]  # the first row of each distinct text
    left, right, _ = index.similar_pairs(vectors, settings.cosine, seed=settings.seed)
    links = [(int(first[a]), int(first[b])) for a, b in zip(left, right, strict=True)]
    copies = rows[(first[codes] != rows) & np.any(vectors[codes] != 0, axis=1)]
    links += [(int(first[codes[r]]), int(r)) for r in copies]
    return [(min(a, b), max(a, b)) for a, b in links]


def _lexical_self(texts: list[str], settings: PairSettings) -> list[tuple[int, int]]:
    """Lexical pairs within one list: each exact copy to the first of its group, and the near pairs."""
    found = dedup.duplicate_pairs(
        pd.DataFrame({"prompt_text": texts}),
        dataclasses.replace(settings.dedup_config(), scope="prompt", include_system=False),
    )
    first: dict[int, int] = {}
    links: list[tuple[int, int]] = []
    for row, group in enumerate(found.exact_group.tolist()):
        if group >= 0 and group in first:
            links.append((first[group], row))
        elif group >= 0:
            first[group] = row
    links += [(min(a, b), max(a, b)) for a, b in zip(found.left.tolist(), found.right.tolist(), strict=True)]
    return links


def _lexical_cross(left: list[str], right: list[str], settings: PairSettings) -> list[tuple[int, int]]:
    """Lexical pairs between two lists: every exact copy across, and near pairs between their groups."""
    found = dedup.duplicate_pairs(
        pd.DataFrame({"prompt_text": left + right}),
        dataclasses.replace(settings.dedup_config(), scope="prompt", include_system=False),
    )
    group = found.exact_group
    members: dict[int, list[int]] = {}
    for row, g in enumerate(group.tolist()):
        if g >= 0:
            members.setdefault(g, []).append(row)
    links: list[tuple[int, int]] = []
    for rows in members.values():
        links += _across(rows, rows, len(left))
    for a, b in zip(found.left.tolist(), found.right.tolist(), strict=True):
        links += _across(members[group[a]], members[group[b]], len(left))
        links += _across(members[group[b]], members[group[a]], len(left))
    return links


def _across(rows_a: list[int], rows_b: list[int], split: int) -> list[tuple[int, int]]:
    return [(a, b - split) for a in rows_a if a < split for b in rows_b if b >= split]


def _measured(
    links: list[tuple[int, int]],
    a_side: tuple[list[str], np.ndarray],
    b_side: tuple[list[str], np.ndarray],
    settings: PairSettings,
) -> list[SimilarPair]:
    """Give each linked pair its cosine, its Jaccard and the methods whose thresholds it reaches."""
    (a_texts, a_vec), (b_texts, b_vec) = a_side, b_side
    params = settings.dedup_config().engine_params()
    a_sets = {r: _minhash.reference_shingles(a_texts[r], params) for r in {a for a, _ in links}}
    b_sets = {r: _minhash.reference_shingles(b_texts[r], params) for r in {b for _, b in links}}
    pairs = []
    for a, b in links:
        cosine = float(np.clip(a_vec[a] @ b_vec[b], -1.0, 1.0))
        jaccard = similarity.jaccard(a_sets[a], b_sets[b]) if a_sets[a] or b_sets[b] else 0.0
        semantic = cosine >= settings.cosine - 1e-6
        lexical = jaccard >= settings.threshold - 1e-12
        method = "both" if semantic and lexical else ("semantic" if semantic else "lexical")
        pairs.append(SimilarPair(a, b, cosine, jaccard, method))
    return pairs


def _row_ref(frame: pd.DataFrame, row: int) -> dict[str, Any]:
    line = frame["source_line"].iloc[row] if "source_line" in frame.columns else None
    ident = frame["id"].iloc[row] if "id" in frame.columns else None
    return {
        "line": int(line) if line is not None and not pd.isna(line) else row + 1,
        "id": None if ident is None or pd.isna(ident) else str(ident),
    }
