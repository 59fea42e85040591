"""The Ray engine: the same stage functions, run as a Ray Data job per stage.

Each stage's tasks become the rows of a Ray dataset (one block each) that ``map_batches``
runs through the stage function on the cluster's workers, ``workers`` at a time. Tasks
carry paths and id arrays, never text: every worker reads its own shard from the shared
output directory (on a cluster: a filesystem every node mounts). Ray is imported here only.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Task = dict[str, Any]
_ROOT = str(Path(__file__).resolve().parents[2])


def _run_batch(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Worker side: unpickle ``(fn, task)`` rows, run them, return the pickled results."""
    out = []
    for blob in batch["task"]:
        fn, task = pickle.loads(bytes(blob))
        out.append(pickle.dumps(fn(task)))
    return {"index": batch["index"], "result": np.array(out, dtype=object)}


def start_local_ray(num_cpus: int) -> None:
    """Start a local Ray whose workers can import this project (``PYTHONPATH`` = the repository)."""
    import ray

    path = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )


class RayEngine:
    """Run stage tasks on Ray (a local Ray started here, or a cluster at ``address``).

    Args:
        workers: Tasks in flight at once (and CPUs of a local Ray).
        address: A running cluster's address (``ray://...`` or ``auto``); None starts a local Ray,
            unless one is already running in this process.
    """

    name = "ray"

    def __init__(self, workers: int = 2, address: str | None = None) -> None:
        import ray

        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        self.workers = workers
        self._started = False
        if not ray.is_initialized():
            if address is None:
                start_local_ray(workers)
            else:
                ray.init(
                    address=address,
                    log_to_driver=False,
                    runtime_env={"working_dir": _ROOT, "excludes": [".venv", ".git"]},
                )
            self._started = True
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False

    def map(
        self,
        fn: Callable[[Task], dict[str, Any]],
        tasks: list[Task],
        on_result: Callable[[int, dict[str, Any]], None],
    ) -> list[dict[str, Any]]:
        """Run ``fn`` over ``tasks`` with Ray Data; results in task order.

        ``on_result(k, result)`` is called as each task's result reaches the driver (streaming).
        """
        import ray

        if not tasks:
            return []
        items = [{"index": k, "task": pickle.dumps((fn, t))} for k, t in enumerate(tasks)]
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _run_batch,
            batch_size=1,
            compute=ray.data.TaskPoolStrategy(size=min(self.workers, len(items))),
            num_cpus=1,
            batch_format="numpy",
        )
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        for row in dataset.iter_rows():
            result = pickle.loads(row["result"])
            results[int(row["index"])] = result
            on_result(int(row["index"]), result)
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Shut down the Ray this engine started (one started elsewhere stays up)."""
        import ray

        if self._started:
            ray.shutdown()
            self._started = False
