"""A version's raw embeddings kept in chunks, so a background pass killed partway resumes where it was.

Embedding 100,000 rows takes tens of seconds on two cores; the warm-up of a version runs it in the
background, and a restart of the app (or a killed process) used to lose all of it. :func:`embed_stored`
embeds the texts :data:`CHUNK_ROWS` at a time into a subfolder named by the texts' digest:
``texts.sha256`` (the marker: which texts the chunks belong to) and ``chunk-00000.npy``,
``chunk-00001.npy``, each renamed into place once complete. A later call reads the chunks there and
embeds from the first missing one. Other texts get their own subfolder, so two processes embedding
different texts of one version at once (the page and the background pass) never remove each other's
files; two embedding the same texts write the same chunks, each renamed whole. The chunks hold the
model's raw vectors: what a set's rows share is taken out after
(:func:`core.semantic.embedding.fit` with ``raw``), over all of them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.semantic.model import load_model

CHUNK_ROWS = 16_384
"""Rows per stored chunk: a killed pass loses at most this many rows' work."""
MARKER = "texts.sha256"


def embed_stored(
    folder: Path, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Return the raw embeddings of ``texts``, reading the chunks stored in ``folder`` and adding the rest.

    Args:
        folder: The chunks' folder (made when missing); these texts' chunks go to its subfolder.
        texts: The texts, in order.
        progress: Called with (rows done, rows), the stored chunks counting as done.
    """
    digest = _digest(texts)
    folder = folder / digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        _write_atomic(marker, functools.partial(_write_text, text=digest))
    model = load_model()
    out = np.zeros((len(texts), model.dims), dtype=np.float32)
    for number, start in enumerate(range(0, len(texts), CHUNK_ROWS)):
        stop = min(start + CHUNK_ROWS, len(texts))
        path = folder / f"chunk-{number:05d}.npy"
        stored = _read(path, stop - start, model.dims)
        if stored is None:
            stored = model.embed(list(texts[start:stop]), progress=_offset(progress, start, len(texts)))
            _write_atomic(path, functools.partial(_save, value=stored))
        elif progress is not None:
            progress(stop, len(texts))
        out[start:stop] = stored
    return out


def stored_chunks(folder: Path) -> list[Path]:
    """The chunk files stored under ``folder`` (every set of texts), in order."""
    return sorted(folder.glob("*/chunk-*.npy")) if folder.exists() else []


def _read(path: Path, rows: int, dims: int) -> np.ndarray | None:
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return value if value.shape == (rows, dims) and value.dtype == np.float32 else None


def _offset(
    progress: Callable[[int, int], None] | None, start: int, total: int
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, _rows: progress(start + done, total)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _save(path: Path, value: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, value, allow_pickle=False)


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        encoded = (text if isinstance(text, str) else "").encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()
