"""A pipeline run in the background: ``python -m core pipeline`` in a subprocess, watched by its folder.

:func:`start` launches the command with its output folder; the child writes ``DIR/progress.json``
as each stage goes (see :mod:`core.pipeline.progress`), its ``--json`` summary to
``DIR/pipeline-summary.json`` and its progress lines to ``DIR/pipeline.log``. :func:`status` reads
those, so whoever started the run (the app, on any rerun) sees where it is without holding it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.pipeline.progress import read_record

SUMMARY_FILE = "pipeline-summary.json"
LOG_FILE = "pipeline.log"
_ROOT = Path(__file__).resolve().parents[2]  # the child runs from the repository: it imports core
_RUNNING: dict[str, subprocess.Popen[bytes]] = {}  # output folder -> the child running into it


@dataclass(frozen=True)
class RunStatus:
    """Where a background run is.

    Attributes:
        running: The child is still at work.
        stages: Its progress record: per stage rows, rows_total, rows_per_s, eta_s, tasks.
        summary: The ``--json`` summary once it finished well, else None.
        error: Why it failed (its last log lines), else None.
    """

    running: bool
    stages: dict[str, dict[str, Any]]
    summary: dict[str, Any] | None
    error: str | None


def start(inputs: list[str], out: str | Path, *, engine: str = "local", workers: int = 2) -> None:
    """Start ``python -m core pipeline INPUTS --out OUT --json`` in a subprocess.

    Raises:
        ValueError: If a run into ``out`` is already going, or no input is given.
    """
    folder = Path(out).resolve()
    if not inputs:
        raise ValueError("give at least one input: a folder, a file or a glob of shards")
    if is_running(folder):
        raise ValueError(f"a pipeline run into {folder} is already going")
    folder.mkdir(parents=True, exist_ok=True)
    for name in (SUMMARY_FILE, "progress.json"):
        (folder / name).unlink(missing_ok=True)
    shards = [os.path.abspath(os.path.expanduser(item)) for item in inputs]  # globs stay globs
    command = [sys.executable, "-m", "core", "pipeline", *shards, "--out", str(folder)]
    command += ["--engine", engine, "--workers", str(workers), "--json"]
    with (folder / SUMMARY_FILE).open("wb") as summary, (folder / LOG_FILE).open("wb") as log:
        _RUNNING[str(folder)] = subprocess.Popen(  # noqa: S603
            command, stdout=summary, stderr=log, cwd=_ROOT
        )


def is_running(out: str | Path) -> bool:
    """Whether a run this process started into ``out`` is still at work."""
    child = _RUNNING.get(str(Path(out).resolve()))
    return child is not None and child.poll() is None


def wait(out: str | Path, timeout: float) -> int | None:
    """Wait for the run into ``out`` to end (at most ``timeout`` seconds); its exit code, None if none."""
    child = _RUNNING.get(str(Path(out).resolve()))
    return None if child is None else child.wait(timeout)


def status(out: str | Path) -> RunStatus:
    """Read where the run into ``out`` is (its record, and its summary or error once it ended)."""
    folder = Path(out).resolve()
    running = is_running(folder)
    stages = read_record(folder)
    if running:
        return RunStatus(True, stages, None, None)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and "error" not in summary:
        return RunStatus(False, stages, summary, None)
    reason = summary.get("error") if isinstance(summary, dict) else None
    if reason is None:
        log = (folder / LOG_FILE).read_text(errors="replace") if (folder / LOG_FILE).exists() else ""
        reason = (
            "\n".join(log.replace("\r", "\n").strip().splitlines()[-5:]) or "the run ended without a summary"
        )
    return RunStatus(False, stages, None, str(reason))
