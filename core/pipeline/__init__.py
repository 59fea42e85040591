"""Batch pipeline over sharded datasets: validate, dedup, split, export, on a local or a Ray engine.

Each stage is a pure function from one shard (or partition) to one output shard
(:mod:`core.pipeline.stages`); the driver (:mod:`core.pipeline.driver`) plans the tasks
and skips those whose marker matches their input fingerprint; engines run the tasks
(:class:`~core.pipeline.local.LocalEngine`, :mod:`core.pipeline.ray_engine`, which imports
Ray). Results depend neither on the engine nor on the number of workers.

Example::

    config = PipelineConfig(inputs=("shards/",), out="run/")
    summary = run_pipeline(config, LocalEngine(workers=2))
"""

from core.pipeline.driver import expand_inputs, run_pipeline
from core.pipeline.local import LocalEngine
from core.pipeline.plan import KEEP_POLICIES, STEPS, PipelineConfig

__all__ = ["KEEP_POLICIES", "STEPS", "LocalEngine", "PipelineConfig", "expand_inputs", "run_pipeline"]
