"""Units: rows that must share a split (same id, prompt or text, near duplicates, seed of, paraphrases).

Near-duplicate pairs come from the dedup engine (MinHash + LSH, verified by the true Jaccard
of :mod:`core.similarity`'s shingles). A pair is a candidate iff the two signatures share a
band, whatever else is in the set, so the pairs among a subset are found again when the subset
is checked on its own: that is what makes "leakage is zero after a split made here" hold.

When asked (:attr:`core.split.SplitConfig.semantic_cosine`), rows whose embeddings are at or above a
cosine (:func:`semantic_links`, the Dedup page's semantic pairs) are joined as well: a question restated
in other words shares few shingles, and would otherwise be free to land on the other side.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import dedup

_SHINGLE_WORDS = 3


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    column = frame[name]
    missing = column.isna().to_numpy()  # one vectorised pass; lists and dicts count as present
    return [None if gone else value for value, gone in zip(column.tolist(), missing, strict=True)]


def prompt_texts(frame: pd.DataFrame) -> list[str]:
    """Return the prompt text of each row (the user turns)."""
    return [str(v or "") for v in _column(frame, "prompt_text")]


def full_texts(frame: pd.DataFrame) -> list[str]:
    """Return prompt + response text of each row."""
    return [
        f"{p}\n{r or ''}" for p, r in zip(prompt_texts(frame), _column(frame, "response_text"), strict=True)
    ]


@dataclass(frozen=True)
class PairGraph:
    """Which rows of one table are copies or near-duplicates of each other, per text view.

    Views: ``prompt`` (the user turns), ``prompt+response`` and, when a dedup scope is given,
    ``scope`` (the text the Dedup page compares). Near pairs are verified down to ``floor``, so
    one graph answers every threshold from the floor up: the Split page keeps it beside the
    dataset version (:mod:`core.derived`) and a threshold change is only a filter.
    """

    rows: int
    floor: float | None  # None: exact relations only
    scope: str | None
    views: Mapping[str, dedup.PairSet]

    def near(self, view: str, threshold: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the near pairs ``(left, right, jaccard)`` of ``view`` at ``threshold``."""
        if threshold is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        if self.floor is None or threshold < self.floor - 1e-12:
            raise ValueError(f"the pair graph holds near pairs down to {self.floor}, not {threshold}")
        return self.views[view].near(threshold)

    def covers(self, rows: int, threshold: float | None, scope: str | None) -> bool:
        """Return whether this graph can answer a split of ``rows`` rows at ``threshold`` and ``scope``."""
        floor_ok = threshold is None or (self.floor is not None and self.floor <= threshold + 1e-12)
        return self.rows == rows and floor_ok and (scope is None or scope == self.scope)

    def save(self, path: str | Path) -> None:
        """Write the graph as one ``.npz`` file."""
        arrays: dict[str, Any] = {
            "meta": np.array(json.dumps({"rows": self.rows, "floor": self.floor, "scope": self.scope}))
        }
        for name, pairs in self.views.items():
            for part in ("exact_group", "left", "right", "jaccard"):
                arrays[f"{name}/{part}"] = getattr(pairs, part)
            arrays[f"{name}/floor"] = np.array(pairs.floor)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> PairGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            names = sorted({key.split("/")[0] for key in data.files if "/" in key})
            views = {
                name: dedup.PairSet(
                    float(data[f"{name}/floor"]),
                    *(data[f"{name}/{part}"] for part in ("exact_group", "left", "right", "jaccard")),
                )
                for name in names
            }
        return cls(meta["rows"], meta["floor"], meta["scope"], views)


def pair_graph(
    frame: pd.DataFrame,
    floor: float | None,
    scope: str | None = "all",
    *,
    processes: int | None = None,
    scope_pairs: dedup.PairSet | None = None,
    progress: Callable[[float], None] | None = None,
) -> PairGraph:
    """Find the copies and near-duplicates (down to Jaccard ``floor``) of a canonical table.

    Args:
        frame: The canonical table.
        floor: Lowest threshold the graph must answer (``None``: exact copies only).
        scope: Dedup scope of the ``scope`` view (``None``: prompts and prompt + response only).
        processes: Worker processes of the MinHash engine (default: 2 for big tables).
        scope_pairs: The ``scope`` view when already found (the Dedup page's graph for ``scope``
            with default settings, at a floor at or below ``floor``).
        progress: Called with the finished fraction (0-1) while texts are processed.

    Raises:
        ValueError: If ``scope_pairs`` was verified above ``floor``.
    """
    level = 1.0 if floor is None else floor
    runs = 2 + (scope is not None and scope_pairs is None)

    def step(k: int) -> Callable[[float], None] | None:  # run k of `runs` reports its share of the bar
        return None if progress is None else (lambda done: progress((k + done) / runs))

    views: dict[str, dedup.PairSet] = {}
    for k, (name, texts) in enumerate(
        (("prompt", prompt_texts(frame)), ("prompt+response", full_texts(frame)))
    ):
        config = dedup.DedupConfig(threshold=level, scope="prompt", shingle_size=_SHINGLE_WORDS)
        table = pd.DataFrame({"prompt_text": texts})
        views[name] = dedup.duplicate_pairs(table, config, processes=processes, progress=step(k))
    if scope is not None and scope_pairs is not None:
        if scope_pairs.floor > level + 1e-12 or len(scope_pairs.exact_group) != len(frame):
            raise ValueError(f"scope pairs at {scope_pairs.floor} do not serve {len(frame)} rows at {level}")
        views["scope"] = scope_pairs
    elif scope is not None:
        config = dedup.DedupConfig(threshold=level, scope=scope)
        views["scope"] = dedup.duplicate_pairs(frame, config, processes=processes, progress=step(2))
    return PairGraph(len(frame), floor, scope, views)


def _seed_pairs(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """Tie each synthetic row to the seed examples it was generated from (``seed_ids``).

    A paraphrase is often below the near-duplicate threshold of its seed, yet a seed in test with
    its paraphrase in train is leakage: the unit goes to train, or the paraphrase is excluded when
    the seed is in a locked test set.
    """
    if "seed_ids" not in frame.columns:
        return []
    position = {str(v): i for i, v in enumerate(_column(frame, "id"))}
    pairs: list[tuple[int, int]] = []
    for i, seeds in enumerate(frame["seed_ids"]):
        if isinstance(seeds, (list, tuple, np.ndarray)):
            pairs.extend((position[str(s)], i) for s in seeds if str(s) in position)
    return pairs


def _id_groups(frame: pd.DataFrame) -> np.ndarray:
    """Each row's id as a group label (-1 when missing): rows sharing an id share a split."""
    ids = [None if v is None or v == "" else str(v) for v in _column(frame, "id")]
    codes, _ = pd.factorize(pd.Series(ids, dtype=object))
    return codes.astype(np.int64)


def semantic_links(
    frame: pd.DataFrame,
    cosine: float,
    scope: str = "all",
    *,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Return the ``(n, 2)`` row pairs whose embeddings (of the ``scope`` text) reach ``cosine``."""
    from core.semantic.pairs import PairSettings, duplicate_pairs  # the model loads only when asked

    settings = PairSettings(method="semantic", cosine=cosine, scope=scope)
    pairs = duplicate_pairs(frame, settings, progress=progress)
    return np.asarray([(p.a, p.b) for p in pairs], dtype=np.int64).reshape(-1, 2)


def _unit_labels(
    frame: pd.DataFrame, graph: PairGraph, threshold: float | None, semantic: np.ndarray | None = None
) -> np.ndarray:
    """Connected components over rows: same id, same text, near-duplicate, seed of, paraphrase."""
    n = len(frame)
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    nodes = n

    def join(group: np.ndarray) -> None:  # rows of one group meet at a node of their own
        nonlocal nodes
        present = np.flatnonzero(group >= 0)
        if present.size:
            sources.append(present)
            targets.append(nodes + group[present])
            nodes += int(group[present].max()) + 1

    join(_id_groups(frame))
    for name, pairs in graph.views.items():
        if name == "scope" and threshold is None:
            continue  # exact relations only: ids, prompts and whole texts, as the dedup scope may be partial
        join(np.asarray(pairs.exact_group, dtype=np.int64))
        left, right, _ = graph.near(name, threshold)
        sources.append(left.astype(np.int64))
        targets.append(right.astype(np.int64))
    for links in (np.asarray(_seed_pairs(frame), dtype=np.int64).reshape(-1, 2), semantic):
        if links is not None:
            sources.append(links[:, 0])
            targets.append(links[:, 1])
    source, target = np.concatenate(sources), np.concatenate(targets)
    adjacency = coo_matrix((np.ones(len(source), dtype=np.int8), (source, target)), shape=(nodes, nodes))
    _, labels = connected_components(adjacency, directed=False)
    return labels[:n]
