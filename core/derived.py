"""What is measured on a dataset version, computed once and kept beside it.

A saved version never changes, so the slow measurements on it (token counts, the text measures of
the Distribution page, the near-duplicate graphs of the Dedup and Split pages, the semantic pairs and
novelty of the Dedup page) are stored in the version's folder:
a page renders from the stored result, and a refresh, a second tab or a restart of the app reads it
back instead of measuring 100,000 examples again. :func:`warm_in_background` computes them right
after a version is saved, while the person is still reading the upload report, so the first visit
of the Distribution, Dedup and Split pages does not wait for them either.

Each result is computed by one thread at a time (a second caller waits for the first, then reads
its file) and written atomically, so a crash leaves no half-written file behind; a file that cannot
be read is computed again. File names carry :data:`FORMAT` and the parameters they depend on, so a
change of either never reads a stale result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd

from core import dedup, profile, split, tokens
from core.workspace import Workspace

FORMAT = 1
NEAR_FLOOR = 0.7
"""Near pairs are verified down to this Jaccard: the Dedup and Split pages' threshold sliders then
move anywhere from here up without running the engine again (a lower threshold gets its own run)."""

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_WARMING: dict[tuple[str, int], Warmup] = {}
_PROJECT = Path(__file__).resolve().parent.parent
PROCESS_FROM_ROWS = 20_000
"""From this many rows a warm-up runs in a child process rather than a thread of the app."""


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
    with _lock_for(path), _file_lock(path):
        if path.exists():
            try:
                return read(path)
            except Exception as exc:  # noqa: BLE001 - a torn or foreign file is simply computed again
                _LOG.warning("recomputing %s: %s", path, exc)
        value = compute()
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            write(value, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return value


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file: one process at a time computes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: processes may compute the same result twice, harmlessly
        yield
        return
    with open(path.with_name(f".{path.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def _floor_path(ws: Workspace, version: int, prefix: str, threshold: float | None) -> tuple[Path, float]:
    """Return the path and floor of the graph that serves ``threshold``.

    A stored graph with the highest floor at or below it, else a new one at ``min(NEAR_FLOOR, threshold)``.
    """
    wanted = NEAR_FLOOR if threshold is None else threshold
    stored_floors = []
    for path in ws.derived_dir(version).glob(f"{prefix}-*-f{FORMAT}.npz"):
        try:
            stored_floors.append((float(path.name.removeprefix(prefix + "-").split("-")[0]), path))
        except ValueError:
            continue
    usable = [(floor, path) for floor, path in stored_floors if floor <= wanted + 1e-9]
    if usable:
        floor, path = max(usable)
        return path, floor
    floor = min(NEAR_FLOOR, wanted)
    return ws.derived_dir(version) / f"{prefix}-{floor:.6f}-f{FORMAT}.npz", floor


def dedup_graph(
    ws: Workspace,
    version: int,
    config: dedup.DedupConfig,
    frame: pd.DataFrame | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> dedup.DuplicateGraph:
    """Return the version's :class:`core.dedup.DuplicateGraph` for ``config``, good at its threshold.

    One graph per version and settings (everything but the threshold), verified down to
    :data:`NEAR_FLOOR` (or the threshold, when lower). ``progress`` reports an engine run.
    """
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "threshold"}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path, floor = _floor_path(ws, version, f"dedup-graph-{key}", config.threshold)
    load = _frame_loader(ws, version, frame)
    return stored(
        path,
        lambda: dedup.duplicate_graph(load(), config, floor=floor, progress=progress),
        read=dedup.DuplicateGraph.load,
        write=lambda graph, target: graph.save(target),
    )


def split_graph(
    ws: Workspace,
    version: int,
    threshold: float | None,
    scope: str,
    frame: pd.DataFrame | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> split.PairGraph:
    """Return the version's :class:`core.split.PairGraph` for ``scope``, good at ``threshold``.

    Its ``scope`` view is the Dedup page's graph for that scope with default settings (shared).
    ``progress`` reports the engine runs, when there are any.
    """
    path, floor = _floor_path(ws, version, f"split-graph-{scope.replace('+', '_')}", threshold)
    load = _frame_loader(ws, version, frame)

    def compute() -> split.PairGraph:
        data = load()
        scope_progress = None if progress is None else (lambda done: progress(done / 3))
        config = dedup.DedupConfig(threshold=floor, scope=scope)
        scope_graph = dedup_graph(ws, version, config, data, progress=scope_progress)
        rest = None if progress is None else (lambda done: progress(1 / 3 + done * 2 / 3))
        return split.pair_graph(data, floor, scope, scope_pairs=scope_graph.pairs(), progress=rest)

    return stored(path, compute, read=split.PairGraph.load, write=lambda graph, target: graph.save(target))


def prune(ws: Workspace, keep: int = 3) -> list[int]:
    """Delete the measurements of all but the newest ``keep`` versions and the current one.

    They can always be measured again; 100,000 examples take about 15 MB per version. A version
    being measured in the background right now is left alone.

    Returns:
        The versions whose measurements were deleted.
    """
    current = ws.dataset_version()
    newest = {info.version for info in ws.versions()[-keep:]} | ({current} if current else set())
    root = str(ws.root.resolve())
    with _LOCKS_GUARD:
        warming = {v for (r, v), thread in _WARMING.items() if r == root and thread.is_alive()}
    pruned = []
    for info in ws.versions():
        folder = ws.derived_dir(info.version)
        if info.version not in newest | warming and folder.exists():
            with _LOCKS_GUARD:
                shutil.rmtree(folder, ignore_errors=True)
            pruned.append(info.version)
    return pruned


def warm(ws: Workspace, version: int) -> None:
    """Compute what the Distribution, Dedup and Split pages need first for ``version``.

    Then the Quality page's scan and curation and the Explore page's topics; last, the semantic pass
    (embeddings, semantic pairs and novelty: :mod:`core.semantic.versioned`), so that the Dedup page's
    semantic view reads them instead of embedding every row on the page.

    With their defaults, or the Dedup settings last applied in this workspace. Measurements of old
    versions are pruned first (see :func:`prune`).
    """
    prune(ws)
    frame = ws.load_version(version)
    saved = ws.get_state("dedup.settings") or {}
    fields = {f.name for f in dataclasses.fields(dedup.DedupConfig)}
    try:
        config = dedup.DedupConfig(**{k: v for k, v in saved.items() if k in fields})
    except (TypeError, ValueError):
        config = dedup.DedupConfig()
    steps: list[Callable[[], object]] = [
        lambda: features(ws, version, profile.ProfileConfig(), frame),
        lambda: dedup_graph(ws, version, config, frame),
        lambda: split_graph(ws, version, None, config.scope, frame),
        lambda: _quality_pass(ws, version, frame),
        lambda: _semantic_pass(ws, version, config, frame),
    ]
    for step in steps:
        if ws.dataset_version() != version:
            return  # superseded by a newer version: its own warm-up measures what matters now
        step()


def _quality_pass(ws: Workspace, version: int, frame: pd.DataFrame) -> None:
    """The Quality page's scan and default curation (:mod:`core.quality.versioned`), Explore's topics."""
    from core import topics  # both store their results through this module
    from core.quality import versioned

    versioned.warm(ws, version, frame)
    topics.version_topics(ws, version, frame)


def _semantic_pass(ws: Workspace, version: int, config: dedup.DedupConfig, frame: pd.DataFrame) -> None:
    """The Dedup page's semantic pairs and novelty, under the scope of its last applied settings."""
    from core.semantic import pairs, versioned  # versioned stores its results through this module

    settings = pairs.PairSettings(scope=config.scope, include_system=config.include_system)
    versioned.background_pass(ws, version, settings, frame)


class Warmup:
    """A warm-up under way: in a thread for small versions, in a child process for big ones."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the warm-up to end."""
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether it is still measuring."""
        return self._thread.is_alive()


def warm_in_background(ws: Workspace, version: int | None) -> Warmup | None:
    """Start :func:`warm` for ``version`` in the background, unless it is running or was done here.

    From :data:`PROCESS_FROM_ROWS` rows on it runs in a child process (``python -m core.derived``),
    so that its Python work does not take the GIL from the pages this server renders meanwhile.
    Failures are logged, never raised: the pages compute what is missing themselves.
    """
    if version is None:
        return None
    root = ws.root.resolve()
    key = (str(root), version)
    with _LOCKS_GUARD:
        if key in _WARMING:
            return _WARMING[key]
        info = ws.dataset_info(version)
        in_process = info is None or info.rows < PROCESS_FROM_ROWS

        def run() -> None:
            try:
                if in_process:
                    warm(ws, version)
                else:
                    _warm_in_child(root, version)
            except Exception:  # noqa: BLE001 - background work: the page recomputes and reports
                _LOG.warning("warming dataset version %s of %s failed", version, ws.root, exc_info=True)

        warmup = Warmup(run, name=f"warm-v{version}")
        _WARMING[key] = warmup
    return warmup


def warming(ws: Workspace, version: int | None) -> bool:
    """Whether a background warm-up of ``version`` is under way in this process (or its child)."""
    with _LOCKS_GUARD:
        warmup = _WARMING.get((str(ws.root.resolve()), version)) if version is not None else None
    return warmup is not None and warmup.is_alive()


def _warm_in_child(root: Path, version: int) -> None:
    command = [sys.executable, "-m", "core.derived", str(root), str(version)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=_PROJECT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"exit code {done.returncode}: {done.stderr.strip()[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    """``python -m core.derived WORKSPACE VERSION``: measure a version in the foreground."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        sys.stderr.write("usage: python -m core.derived WORKSPACE VERSION\n")
        return 2
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)  # background work: the pages the app renders meanwhile come first
    warm(Workspace.open(args[0]), int(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
