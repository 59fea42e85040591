"""Chat datasets with planted exact and near duplicates, for the pipeline's tests and bench.

Rows come in families: a base example and, for some families, copies (exact, or differing
only in case and spacing, which dedup's normalisation makes exact) and paraphrases (a few
words of the reply replaced: the fewer words, the higher the true Jaccard). Words are drawn
from a seeded random vocabulary, so two families share almost no shingle.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CATEGORIES = ("billing", "shipping", "returns", "account", "technical")
SHARD_FORMATS = ("jsonl", "jsonl.gz", "parquet", "csv")


@dataclass(frozen=True)
class PlantedRows:
    """Generated rows and, per row, its family (rows of different families are not duplicates)."""

    rows: list[dict[str, Any]]
    family: np.ndarray


def generate_rows(n: int, *, seed: int, family_share: float = 0.3, prompt_words: int = 25) -> PlantedRows:
    """Return ``n`` chat rows (``messages``, ``category``); ~``family_share`` in duplicate families."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, size=int(k))) for k in rng.integers(3, 10, size=20_000)])
    rows: list[dict[str, Any]] = []
    family: list[int] = []
    f = 0
    while len(rows) < n:
        base_p = rng.choice(vocab, size=prompt_words).tolist()
        base_r = rng.choice(vocab, size=int(rng.integers(30, 60))).tolist()
        category = str(rng.choice(CATEGORIES))
        members = 1 + (int(rng.integers(1, 6)) if rng.random() < family_share / 2 else 0)
        for m in range(min(members, n - len(rows))):
            prompt, reply = _variant(base_p, base_r, m, rng, vocab)
            rows.append(_row(prompt, reply, category))
            family.append(f)
        f += 1
    return PlantedRows(rows=rows, family=np.array(family, dtype=np.int64))


def _variant(
    prompt: list[str], reply: list[str], member: int, rng: np.random.Generator, vocab: np.ndarray
) -> tuple[str, str]:
    if member == 0:
        return " ".join(prompt), " ".join(reply)
    kind = rng.integers(0, 4)
    if kind == 0:  # exact copy
        return " ".join(prompt), " ".join(reply)
    if kind == 1:  # same after normalisation (case, spacing)
        return " ".join(prompt).upper(), "  ".join(reply)
    words = list(reply)
    for position in rng.choice(len(words), size=int(rng.integers(1, 4)), replace=False):
        words[int(position)] = str(vocab[rng.integers(len(vocab))])
    return " ".join(prompt), " ".join(words)


def _row(prompt: str, reply: str, category: str) -> dict[str, Any]:
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    return {"messages": messages, "category": category}


def write_shards(
    rows: list[dict[str, Any]], folder: Path, shards: int, formats: tuple[str, ...] = SHARD_FORMATS
) -> list[Path]:
    """Write ``rows`` round-robin into ``shards`` files, cycling through ``formats``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(shards):
        part = rows[s::shards]
        fmt = formats[s % len(formats)]
        path = folder / f"shard-{s:03d}.{fmt}"
        _write(part, path, fmt)
        paths.append(path)
    return paths


def _write(rows: list[dict[str, Any]], path: Path, fmt: str) -> None:
    if fmt in ("jsonl", "jsonl.gz"):
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        path.write_bytes(gzip.compress(data, mtime=0) if fmt.endswith(".gz") else data)
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt == "csv":
        flat = [
            {
                "prompt": r["messages"][0]["content"],
                "response": r["messages"][1]["content"],
                "category": r["category"],
            }
            for r in rows
        ]
        _write_csv(flat, path)
    else:
        raise ValueError(f"shard format must be one of {SHARD_FORMATS}, got {fmt!r}")


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["prompt", "response", "category"])
        writer.writeheader()
        writer.writerows(rows)
