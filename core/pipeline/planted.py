"""Chat datasets with planted exact and near duplicates, for the pipeline's tests and bench.

Rows come in families: a base example and, for some families, copies (exact, or differing
only in case and spacing, which dedup's normalisation makes exact) and paraphrases (a few
words of the reply replaced: the fewer words, the higher the true Jaccard). Words are drawn
from a seeded random vocabulary, so two families share almost no shingle.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core._minhash import reference_shingles
from core.dedup import DedupConfig
from core.records import content_id

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
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["prompt", "response", "category"])
        writer.writeheader()
        writer.writerows(rows)


def true_clusters(rows: list[dict[str, Any]], family: np.ndarray, threshold: float) -> dict[str, str]:
    """Return id -> smallest id of its true component (within a family: exact, or Jaccard >= threshold).

    Jaccard is computed the slow, obvious way (:func:`core._minhash.reference_shingles`) on the text
    dedup compares (prompt and reply joined by a blank line); rows of different families are never
    duplicates (their words are drawn independently).
    """
    params = DedupConfig(threshold=threshold).engine_params()
    by_family: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row, f in zip(rows, family.tolist(), strict=True):
        by_family[f].append(row)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for members in by_family.values():
        texts = [f"{r['messages'][0]['content']}\n\n{r['messages'][1]['content']}" for r in members]
        ids = [content_id("sft", r["messages"]) for r in members]
        norm = [" ".join(t.casefold().split()) for t in texts]
        sets = [reference_shingles(t, params) for t in texts]
        for i, j in combinations(range(len(members)), 2):
            if norm[i] == norm[j] or len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold:
                a, b = sorted((find(ids[i]), find(ids[j])))
                parent[b] = a
    return {x: find(x) for x in list(parent)}


def cluster_pairs(cluster_of: dict[str, str]) -> set[tuple[str, str]]:
    """Return the pairs of distinct ids that share a cluster (``cluster_of``: id -> cluster)."""
    members: dict[str, set[str]] = defaultdict(set)
    for node, root in cluster_of.items():
        members[root].add(node)
    pairs: set[tuple[str, str]] = set()
    for group in members.values():
        pairs.update(combinations(sorted(group), 2))
    return pairs
