"""Quality signals (heuristics + PII) on N examples against the same libraries used row by row.

Usage::

    .venv/bin/python bench/quality.py [--n 100000] [--repeat 2]

The data is the planted corpus of the tests (tests/quality_corpus.py: every code, look-alikes)
repeated to N rows, each made unique by a ticket number, parsed once into the canonical table.

- ``core.quality``: ``scan_quality(frame)``, every field scanned at once with Arrow's RE2 kernels,
  the libraries (phonenumbers, python-stdnum, detect-secrets' patterns) only on the picked fields.
- the obvious way: per reply, ``phonenumbers.PhoneNumberMatcher``, an e-mail regex, Luhn and IBAN
  checks of every digit run, ``detect-secrets``' regex plugins line by line, the refusal regex.

The two are run interleaved, ``--repeat`` times each; printed: wall seconds, CPU seconds, examples
per wall second, and the peak RSS of this process (it includes the data). CPU seconds include those of
forked children (language detection hands half its texts to one). Nothing is extrapolated.

``--perplexity N`` then scores the first N planted rows with the embedded SmolLM2 (two readings a
row, :mod:`core.quality.perplexity`, the llama.cpp server on loopback) and prints examples/s.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import quality, records  # noqa: E402
from core.quality import heuristics, pii  # noqa: E402
from tests.quality_corpus import planted  # noqa: E402


def _frame(n: int):  # noqa: ANN202
    cases = planted()
    rows = []
    for i in range(n):
        record, _codes = cases[i % len(cases)]
        messages = [dict(m) for m in record["messages"]]
        messages[-2]["content"] += f" (ticket {i})"
        rows.append(records.make_record("sft", messages, source_line=i + 1))
    return records.make_frame(rows)


def _obvious(frame) -> int:  # noqa: ANN001
    import phonenumbers
    from stdnum import iban, luhn

    email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    digits = re.compile(r"(?:\d[ -]?){12,18}\d")
    ibans = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
    refusal = re.compile(heuristics._REFUSAL)
    plugins = [pattern for _name, pattern in pii._secret_patterns()]
    found = 0
    for reply in frame["response_text"]:
        found += sum(1 for _ in phonenumbers.PhoneNumberMatcher(reply, "US"))
        found += len(email.findall(reply))
        found += sum(luhn.is_valid(re.sub(r"[ -]", "", m)) for m in digits.findall(reply))
        found += sum(iban.is_valid(m) for m in ibans.findall(reply))
        found += sum(1 for line in reply.splitlines() for p in plugins if p.search(line))
        found += bool(refusal.search(reply))
    return found


def _ours(frame) -> int:  # noqa: ANN001
    return len(quality.scan_quality(frame).flags)


def _cpu() -> float:
    """CPU seconds of this process and of its ended children (language detection forks one)."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn, frame) -> tuple[float, float, int]:  # noqa: ANN001
    wall, cpu = time.perf_counter(), _cpu()
    found = fn(frame)
    return time.perf_counter() - wall, _cpu() - cpu, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--perplexity", type=int, default=0, metavar="N", help="also score N rows with SmolLM2"
    )
    args = parser.parse_args()
    frame = _frame(args.n)
    print(
        f"{args.n:,} examples, {len(quality.CODES)} codes; 2-core machine, load varies: CPU s beside wall s"
    )
    results: dict[str, list[tuple[float, float, int]]] = {"core.quality": [], "row by row": []}
    for _ in range(args.repeat):  # interleaved
        results["core.quality"].append(_timed(_ours, frame))
        results["row by row"].append(_timed(_obvious, frame))
    for name, runs in results.items():
        wall = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        rate = args.n / wall
        print(
            f"{name:<14} best of {len(runs)}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, {rate:9,.0f} examples/s"
        )
    ours = min(r[0] for r in results["core.quality"])
    obvious = min(r[0] for r in results["row by row"])
    print(f"ratio (row by row / core.quality wall): {obvious / ours:.1f}x")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.perplexity:
        _perplexity(frame.head(args.perplexity))


def _perplexity(frame) -> None:  # noqa: ANN001
    import tempfile

    from core.quality import perplexity
    from core.synth import teachers
    from core.workspace import Workspace

    local = teachers.LocalTeacher()
    url = local.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            wall = time.perf_counter()
            perplexity.score_missing(Workspace.open(folder), frame, url, teachers.LOCAL_MODEL)
            wall = time.perf_counter() - wall
    finally:
        local.stop()
    print(
        f"perplexity + IFD with SmolLM2, {len(frame)} examples: {wall:.1f} s wall,"
        f" {len(frame) / wall:.2f} examples/s (the server uses both cores)"
    )


if __name__ == "__main__":
    main()
