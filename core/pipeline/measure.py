"""The measure stage: tokens and text measures of every valid row, one shard at a time.

Tokens come from :func:`core.tokens.count_frame` (prompt, response, total for the run's model),
words, sentences and paragraphs from :func:`core.measures.measure` on the derived prompt and
response texts (:func:`core.records.derive_texts`), exactly as the app measures a dataset. Each
shard's measures land in ``DIR/measure/part-N.parquet`` with the row labels ``g`` and ids, so
they join to ``DIR/kept/`` and ``removed.parquet`` by either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import measures, tokens
from core.pipeline import store
from core.pipeline.stages import canonical_frame
from core.records import derive_texts

MEASURE_COLUMNS = (
    "prompt_tokens",
    "response_tokens",
    "total_tokens",
    "prompt_words",
    "response_words",
    "prompt_sentences",
    "prompt_paragraphs",
    "n_turns",
)
"""The int64 columns of a measure shard (besides ``g`` and ``id``)."""


def measure_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Measure one validated shard; write ``g``, ``id`` and :data:`MEASURE_COLUMNS`.

    Task keys: ``shard``, ``source`` (validate part), ``g`` (row labels), ``model`` (fixes the
    encoding), ``out``, ``fp``. Tokens are counted in this process (``workers=1``): the engine
    already spreads shards over the cores.
    """
    out, name = Path(task["out"]), f"part-{task['shard']:05d}"
    frame = canonical_frame(pq.read_table(task["source"]).drop_columns(["text"]))
    n = len(frame)
    derived = [
        derive_texts(k, m, c, r)
        for k, m, c, r in zip(
            frame["kind"], frame["messages"], frame["chosen"], frame["rejected"], strict=True
        )
    ]
    prompts = [d["prompt_text"] for d in derived]
    responses = [d["response_text"] for d in derived]
    counted = tokens.count_frame(frame, model=task["model"], workers=1) if n else None
    prompt = measures.measure(prompts)
    columns: dict[str, Any] = {
        "g": np.asarray(task["g"], np.int64),
        "id": pa.array(frame["id"].astype(str).tolist() if n else [], pa.string()),
    }
    for key in ("prompt_tokens", "response_tokens", "total_tokens"):
        columns[key] = counted[key].to_numpy(np.int64) if counted is not None else np.zeros(0, np.int64)
    columns["prompt_words"] = prompt["words"]
    columns["response_words"] = measures.measure(responses, words_only=True)["words"]
    columns["prompt_sentences"] = prompt["sentences"]
    columns["prompt_paragraphs"] = prompt["paragraphs"]
    columns["n_turns"] = np.fromiter((d["n_turns"] for d in derived), dtype=np.int64, count=n)
    store.write_table(out / f"{name}.parquet", pa.table(columns))
    tokens_total = int(columns["total_tokens"].sum())
    store.mark_done(out, name, task["fp"], rows=n, tokens=tokens_total)
    return {"rows": n, "tokens": tokens_total}
