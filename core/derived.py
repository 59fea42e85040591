"""What is measured on a dataset version, computed once and kept beside it.

A saved version never changes, so the slow measurements on it (token counts, the text measures of
the Distribution page, the near-duplicate graph of the split) are stored in the version's folder:
a page renders from the stored result, and a refresh, a second tab or a restart of the app reads it
back instead of measuring 100,000 examples again. :func:`warm_in_background` computes them right
after a version is saved, while the person is still reading the upload report, so the first visit
of the Distribution and Split pages does not wait for them either.

Each result is computed by one thread at a time (a second caller waits for the first, then reads
its file) and written atomically, so a crash leaves no half-written file behind; a file that cannot
be read is computed again. File names carry :data:`FORMAT` and the parameters they depend on, so a
change of either never reads a stale result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd

from core import profile, split, tokens
from core.workspace import Workspace

FORMAT = 1
SPLIT_FLOOR = 0.7
"""Near pairs for the split are verified down to this Jaccard: the Split page's threshold slider
then moves anywhere from here to 1.0 without finding pairs again (lower thresholds recompute)."""

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_WARMING: dict[tuple[str, int], threading.Thread] = {}


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


def stored(
    path: Path,
    compute: Callable[[], _T],
    *,
    read: Callable[[Path], _T],
    write: Callable[[_T, Path], None],
) -> _T:
    """Return the result stored at ``path``, computing and storing it first when there is none.

    Args:
        path: Where the result lives.
        compute: Makes the result (called at most once at a time per path in this process).
        read: Reads a stored result; any exception makes it count as missing.
        write: Writes a result to a path (a temporary one, renamed into place when complete).
    """
    with _lock_for(path):
        if path.exists():
            try:
                return read(path)
            except Exception as exc:  # noqa: BLE001 - a torn or foreign file is simply computed again
                _LOG.warning("recomputing %s: %s", path, exc)
        value = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            write(value, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return value


def _version_path(ws: Workspace, version: int, name: str) -> Path:
    return ws.derived_dir(version) / name


def _frame_loader(ws: Workspace, version: int, frame: pd.DataFrame | None) -> Callable[[], pd.DataFrame]:
    return (lambda: frame) if frame is not None else (lambda: ws.load_version(version))


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def _write_parquet(value: pd.DataFrame, path: Path) -> None:
    value.reset_index(drop=True).to_parquet(path, index=False)


def token_counts(ws: Workspace, version: int, model: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return :func:`core.tokens.count_frame` of a version for ``model`` (stored per encoding).

    Args:
        ws: The workspace.
        version: The dataset version.
        model: A model the tokenizer knows.
        frame: The version's table when already loaded (saves reading it).

    Raises:
        ValueError: If the tokenizer does not know ``model``.
    """
    encoding = tokens.encoding_name_for_model(model)
    load = _frame_loader(ws, version, frame)
    path = _version_path(ws, version, f"tokens-{encoding}-f{FORMAT}.parquet")
    counts = stored(
        path, lambda: tokens.count_frame(load(), model=model), read=_read_parquet, write=_write_parquet
    )
    return counts.reset_index(drop=True)


def text_measures(
    ws: Workspace,
    version: int,
    frame: pd.DataFrame | None = None,
    negative_patterns: Sequence[str] = profile.DEFAULT_NEGATIVE_PATTERNS,
) -> pd.DataFrame:
    """Return :func:`core.profile.measure_texts` of a version (stored per set of negative patterns)."""
    key = hashlib.sha256(json.dumps(list(negative_patterns)).encode()).hexdigest()[:12]
    load = _frame_loader(ws, version, frame)
    path = _version_path(ws, version, f"text-measures-{key}-f{FORMAT}.parquet")
    return stored(
        path,
        lambda: profile.measure_texts(load(), negative_patterns),
        read=_read_parquet,
        write=_write_parquet,
    )


def features(
    ws: Workspace, version: int, config: profile.ProfileConfig, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return :func:`core.profile.compute_features` of a version from its stored measurements."""
    data = frame if frame is not None else ws.load_version(version)
    return profile.compute_features(
        data,
        config,
        token_counts=token_counts(ws, version, config.model, data),
        text_measures=text_measures(ws, version, data, config.negative_patterns),
    )


def split_graph(
    ws: Workspace,
    version: int,
    threshold: float | None,
    scope: str,
    frame: pd.DataFrame | None = None,
) -> split.PairGraph:
    """Return the version's :class:`core.split.PairGraph` for ``scope``, good at ``threshold``.

    The stored graph reaches down to :data:`SPLIT_FLOOR`; a lower threshold gets a graph of its own.
    """
    floor = SPLIT_FLOOR if threshold is None else min(SPLIT_FLOOR, threshold)
    load = _frame_loader(ws, version, frame)
    path = _version_path(ws, version, f"split-graph-{scope.replace('+', '_')}-{floor:.2f}-f{FORMAT}.npz")
    return stored(
        path,
        lambda: split.pair_graph(load(), floor, scope),
        read=split.PairGraph.load,
        write=lambda graph, target: graph.save(target),
    )


def warm(ws: Workspace, version: int) -> None:
    """Compute what the Distribution and Split pages need first for ``version``, with their defaults."""
    frame = ws.load_version(version)
    dedup_scope = (ws.get_state("dedup.settings") or {}).get("scope", "all")
    features(ws, version, profile.ProfileConfig(), frame)
    split_graph(ws, version, None, str(dedup_scope), frame)


def warm_in_background(ws: Workspace, version: int | None) -> threading.Thread | None:
    """Start :func:`warm` for ``version`` in a daemon thread, unless it is running or was done here.

    Failures are logged, never raised: the pages compute what is missing themselves.
    """
    if version is None:
        return None
    key = (str(ws.root.resolve()), version)
    with _LOCKS_GUARD:
        if key in _WARMING:
            return _WARMING[key]

        def run() -> None:
            try:
                warm(ws, version)
            except Exception:  # noqa: BLE001 - background work: the page recomputes and reports
                _LOG.warning("warming dataset version %s of %s failed", version, ws.root, exc_info=True)

        thread = threading.Thread(target=run, name=f"warm-v{version}", daemon=True)
        _WARMING[key] = thread
    thread.start()
    return thread
