"""A dataset version's semantic and lexical pairs, found once down to floor thresholds and kept beside it.

The Dedup page's semantic view lists pairs at a cosine and a Jaccard the person moves. Embedding
every row and verifying shingles takes seconds at 100,000 rows, so the pairs are found once per
version and scope down to :data:`COSINE_FLOOR` and :data:`core.derived.NEAR_FLOOR`, stored in the
version's folder (:func:`core.derived.stored`: one computation at a time, written atomically), and a
slider then only filters them (:func:`pairs_at`).

The background warm-up of a new version (:func:`core.derived.warm`) runs :func:`background_pass` with
the Dedup page's settings, writing where the embedding pass is to :data:`PROGRESS_FILE` beside the
results; the page shows that progress (:func:`pass_progress`) while it waits, instead of embedding the
rows itself. The model's raw vectors of the distinct texts are kept in chunks per scope
(:mod:`core.semantic.chunks`), so a pass killed partway resumes at the first missing chunk, and the
novelty of the same scope reads them instead of embedding again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core import derived
from core.semantic import chunks
from core.semantic.model import PassProgress, timed_progress
from core.semantic.novelty import Novelty, row_novelty
from core.semantic.pairs import PairSettings, RawEmbedder, SimilarPair, duplicate_pairs
from core.semantic.representative import Typicality, row_typicality
from core.workspace import Workspace

COSINE_FLOOR = 0.75
"""Semantic pairs are kept down to this cosine: the page's cosine slider starts here."""
FORMAT = 1
PROGRESS_FILE = "semantic-pass-progress.json"
"""Where the background pass of a version writes its :class:`PassProgress` (in the version's folder)."""
_COLUMNS = ("a", "b", "cosine", "jaccard", "method")


def version_pairs(
    ws: Workspace,
    version: int,
    settings: PairSettings,
    frame: pd.DataFrame | None = None,
    *,
    progress: Callable[[PassProgress], None] | None = None,
) -> list[SimilarPair]:
    """Return every pair of the version at or above the floors, under ``settings``' scope and seed.

    Only the scope, the system-prompt choice, the shingle size and the seed select the stored file;
    the method and thresholds of ``settings`` are ignored (filter with :func:`pairs_at`).

    Args:
        ws: The workspace holding the version.
        version: The dataset version.
        settings: Scope and shingling of the comparison.
        frame: The version's rows, when the caller has them (else they are read).
        progress: Called with the embedding pass's rows done, rate and time left.
    """
    floor = _floor(settings)

    def compute() -> list[SimilarPair]:
        rows = frame if frame is not None else ws.load_version(version)
        reported = timed_progress(progress) if progress else None
        return duplicate_pairs(rows, floor, embed_raw=_stored_raw(ws, version, settings, reported))

    return derived.stored(_pairs_path(ws, version, settings), compute, read=_read, write=_write)


def pairs_stored(ws: Workspace, version: int, settings: PairSettings) -> bool:
    """Return whether :func:`version_pairs` of these settings would read a stored file (no embedding)."""
    return _pairs_path(ws, version, settings).exists()


def background_pass(
    ws: Workspace, version: int, settings: PairSettings, frame: pd.DataFrame | None = None
) -> None:
    """Find and store the version's pairs and novelty; the pass's progress goes to :data:`PROGRESS_FILE`."""
    target = ws.derived_dir(version) / PROGRESS_FILE
    version_pairs(ws, version, settings, frame, progress=lambda p: _write_progress(target, p))
    version_novelty(ws, version, settings, frame)


def pass_progress(ws: Workspace, version: int) -> PassProgress | None:
    """Return where the version's background embedding pass is (``None``: none has reported yet)."""
    try:
        data = json.loads((ws.derived_dir(version) / PROGRESS_FILE).read_text(encoding="utf-8"))
        return PassProgress(int(data["done"]), int(data["total"]), float(data["rate"]), float(data["eta"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def version_novelty(
    ws: Workspace, version: int, settings: PairSettings, frame: pd.DataFrame | None = None
) -> Novelty:
    """Return :func:`core.semantic.novelty.row_novelty` of the version (stored per scope)."""
    name = (
        f"semantic-novelty-v{FORMAT}-{settings.scope.replace('+', '_')}"
        f"-sys{int(settings.include_system)}.parquet"
    )

    def compute() -> pd.DataFrame:
        rows = frame if frame is not None else ws.load_version(version)
        found = row_novelty(rows, settings, embed_raw=_stored_raw(ws, version, settings, None))
        return pd.DataFrame({"novelty": found.scores, "nearest": found.nearest})

    table = derived.stored(
        ws.derived_dir(version) / name,
        compute,
        read=pd.read_parquet,
        write=lambda value, path: value.to_parquet(path, index=False),
    )
    return Novelty(
        scores=table["novelty"].to_numpy(), nearest=table["nearest"].to_numpy(), cosine=settings.cosine
    )


def version_typicality(
    ws: Workspace,
    version: int,
    frame: pd.DataFrame,
    settings: PairSettings | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Typicality:
    """Return :func:`core.semantic.representative.row_typicality` of the version, from its stored chunks.

    After the background pass the rows are not embedded again; before it, the chunks it would write are.
    ``progress`` is called with (rows embedded, rows), stored chunks counting as done.
    """
    settings = settings or PairSettings()
    return row_typicality(frame, settings, embed_raw=_stored_raw(ws, version, settings, progress))


def pairs_at(pairs: list[SimilarPair], settings: PairSettings) -> list[SimilarPair]:
    """Return the pairs that ``settings``' method links at its thresholds, each with its method re-named.

    ``semantic`` keeps pairs with cosine >= ``settings.cosine``, ``lexical`` those with Jaccard >=
    ``settings.threshold``, ``both`` either; a pair's ``method`` says which thresholds it reaches.
    """
    kept = []
    for pair in pairs:
        semantic = pair.cosine >= settings.cosine - 1e-6
        lexical = pair.jaccard >= settings.threshold - 1e-12
        method = "both" if semantic and lexical else ("semantic" if semantic else "lexical")
        wanted = {"semantic": semantic, "lexical": lexical, "both": semantic or lexical}[settings.method]
        if wanted:
            kept.append(dataclasses.replace(pair, method=method))
    return kept


def _stored_raw(
    ws: Workspace, version: int, settings: PairSettings, progress: Callable[[int, int], None] | None
) -> RawEmbedder:
    """Raw vectors of texts from the version's chunks of this scope (:mod:`core.semantic.chunks`)."""
    folder = ws.derived_dir(version) / (
        f"semantic-raw-v{FORMAT}-{settings.scope.replace('+', '_')}-sys{int(settings.include_system)}"
    )

    def embed(texts: list[str]) -> np.ndarray:
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object), sort=False)
        return chunks.embed_stored(folder, list(uniques), progress=progress)[codes]

    return embed


def _floor(settings: PairSettings) -> PairSettings:
    return dataclasses.replace(
        settings, method="both", cosine=COSINE_FLOOR, threshold=min(derived.NEAR_FLOOR, settings.threshold)
    )


def _pairs_path(ws: Workspace, version: int, settings: PairSettings) -> Path:
    floor = _floor(settings)
    name = (
        f"semantic-pairs-v{FORMAT}-{floor.scope.replace('+', '_')}-sys{int(floor.include_system)}"
        f"-sh{floor.shingle_size}-seed{floor.seed}-j{floor.threshold:.2f}.parquet"
    )
    return ws.derived_dir(version) / name


def _write_progress(target: Path, progress: PassProgress) -> None:
    """Write the progress atomically (a reader sees the old line or the new one, never half of one)."""
    data = {"done": progress.done, "total": progress.total, "rate": progress.rows_per_second}
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(json.dumps({**data, "eta": progress.eta_seconds}), encoding="utf-8")
    os.replace(partial, target)


def _read(path: Path) -> list[SimilarPair]:
    table = pd.read_parquet(path)
    return [
        SimilarPair(int(a), int(b), float(c), float(j), str(m))
        for a, b, c, j, m in zip(*(table[c] for c in _COLUMNS), strict=True)
    ]


def _write(pairs: list[SimilarPair], path: Path) -> None:
    table = pd.DataFrame([dataclasses.astuple(p) for p in pairs], columns=list(_COLUMNS))
    table.astype({"a": "int64", "b": "int64", "cosine": "float64", "jaccard": "float64"}).to_parquet(
        path, index=False
    )
