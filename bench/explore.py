"""The Explore page's search against SQLite FTS5 and pandas, on N examples.

Usage::

    .venv/bin/python bench/explore.py [--n 100000] [--repeat 3]

The rows are generated (seeded): support questions of 15-60 words with an order number and one of
12 categories, replies of 20-80 words. Each engine answers the same queries, interleaved, and must
return the same rows for the substring queries (FTS5 matches whole tokens, so its answers are
printed, not compared, for the phrase queries):

- ``core.explore``: ``matching`` on the Arrow table (``pc.match_substring``, case-folded), the
  category filter with ``pc.is_in``;
- SQLite FTS5 (the workspace's own database engine): an in-memory ``fts5`` table over prompt and
  reply, queried with ``MATCH`` (token search) joined with the category;
- pandas: ``str.contains(regex=False, case=False)`` on the two columns.

Printed per engine: the one-time build (the table / index), then per query the median wall and CPU
milliseconds over ``--repeat`` runs, and the rows found. Nothing is extrapolated.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from core import explore, records  # noqa: E402

_VOCABULARY = (
    "order parcel refund invoice account password shipping delay broken screen battery charger warranty "
    "address payment card subscription cancel upgrade login email phone store pickup return label box "
    "color size discount coupon tax receipt manager support ticket today tomorrow week month late early"
)
_WORDS = _VOCABULARY.split(" ")
_CATEGORIES = [f"topic_{k:02d}" for k in range(12)]
_QUERIES = (("refund", None), ("order 12345", None), ("battery", "topic_03"), ("zzzz not there", None))


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(15, 60))) + f" order {10000 + i}"
        reply = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 80)))
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        rows.append(records.make_record("sft", messages, extra={"category": rng.choice(_CATEGORIES)}))
    return records.make_frame(rows)


def _timed(fn):  # noqa: ANN001, ANN202
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = _frame(args.n)
    texts = frame[["prompt_text", "response_text", "category"]].copy()

    table, arrow_ms, arrow_cpu = _timed(lambda: explore.explore_table(frame))
    db = sqlite3.connect(":memory:")

    def build_fts() -> None:
        db.execute("CREATE VIRTUAL TABLE rows USING fts5(prompt, reply, category UNINDEXED)")
        db.executemany("INSERT INTO rows VALUES (?, ?, ?)", texts.itertuples(index=False, name=None))

    _, fts_ms, fts_cpu = _timed(build_fts)
    print(
        f"{args.n:,} rows; build: arrow table {arrow_ms:.0f} ms ({arrow_cpu:.0f} CPU-ms),"
        f" fts5 index {fts_ms:.0f} ms ({fts_cpu:.0f} CPU-ms)"
    )

    engines = {
        "core.explore (arrow)": lambda q, c: explore.matching(
            table, explore.RowFilter(text=q, facets={"category": (c,)} if c else {})
        ).tolist(),
        "sqlite fts5": lambda q, c: [
            r[0] - 1
            for r in db.execute(
                "SELECT rowid FROM rows WHERE rows MATCH ?"
                + (" AND category = ?" if c else "")
                + " ORDER BY rowid",
                (f'"{q}"', c) if c else (f'"{q}"',),
            )
        ],
        "pandas str.contains": lambda q, c: [
            int(i)
            for i in texts.index[
                (
                    texts["prompt_text"].str.contains(q, case=False, regex=False)
                    | texts["response_text"].str.contains(q, case=False, regex=False)
                )
                & (texts["category"] == c if c else True)
            ]
        ],
    }
    for query, category in _QUERIES:
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
        found: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, engine in engines.items():  # interleaved
                rows, wall, cpu = _timed(lambda e=engine, q=query, c=category: e(q, c))
                timings[name].append((wall, cpu))
                found[name] = len(rows)
        label = f'"{query}"' + (f" in {category}" if category else "")
        print(f"query {label}:")
        for name, runs in timings.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"  {name:24s} {wall:8.1f} ms wall {cpu:8.1f} CPU-ms  {found[name]:7,} rows")


if __name__ == "__main__":
    main()
