"""Benchmark of core.dedup against datasketch, on a generated chat-style corpus.

Usage:
    python bench/dedup.py                      # 200,000 examples, best of 3, both baselines
    python bench/dedup.py --n 1000000 --repeat 1 --baseline-n 0   # must complete; prints its time

Prints, from one run: examples/s end to end (shingling, signatures, LSH, true-Jaccard
verification, clusters) and per CPU-second, peak memory beyond the corpus (parent and worker
processes), recall over the pairs whose true word-5-gram Jaccard is >= the threshold,
precision over the (removed, kept) pairs, and the same for a naive datasketch loop and for
datasketch used well (on the first --naive-n / --baseline-n rows, single process, with
core.dedup timed on the same rows next to them) with the speed ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import _minhash, dedup  # noqa: E402

_SYSTEM = "You are a helpful support assistant for Acme. Answer politely and concisely."


# -- corpus ----------------------------------------------------------------------------------------


def make_vocabulary(rng: np.random.Generator, size: int = 30_000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, size=size)
    marks = rng.choice(["", "", "", "", "", ",", ".", "?"], size=size)
    return ["".join(rng.choice(letters, size=k)) + m for k, m in zip(lengths, marks, strict=True)]


def make_corpus(n: int, *, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Return a chat-style table (prompt/response text columns) and each row's planted group.

    80% of the rows are random text (20-300 words from a Zipf-weighted 30,000-word vocabulary),
    10% exact copies of one of them, 10% copies with 1-5 words replaced, inserted or deleted.
    """
    rng = np.random.default_rng(seed)
    vocab = make_vocabulary(rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    weights /= weights.sum()
    n_exact, n_near = int(n * 0.1), int(n * 0.1)
    n_base = n - n_exact - n_near
    lengths = rng.integers(20, 301, size=n_base)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=weights).tolist()
    offsets = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    base = [words[offsets[i] : offsets[i + 1]] for i in range(n_base)]
    del words
    copies = rng.integers(0, n_base, size=n_exact)
    edited = rng.integers(0, n_base, size=n_near)
    docs = base + [base[i] for i in copies] + [_edit(base[i], rng, len(vocab)) for i in edited]
    group = np.concatenate([np.arange(n_base), copies, edited])
    order = rng.permutation(n)
    group = group[order]
    prompts, responses = [], []
    for i in order:
        doc = docs[i]
        k = max(3, len(doc) // 5)
        prompts.append(" ".join([vocab[w] for w in doc[:k]]))
        responses.append(" ".join([vocab[w] for w in doc[k:]]))
    del docs, base
    frame = pd.DataFrame(
        {
            "id": [f"ex{i:07d}" for i in range(n)],
            "kind": "sft",
            "system_text": _SYSTEM,
            "prompt_text": prompts,
            "response_text": responses,
            "rejected_text": "",
        }
    )
    return frame, group


def _edit(words: list[int], rng: np.random.Generator, vocab_size: int) -> list[int]:
    out = list(words)
    for _ in range(int(rng.integers(1, 6))):
        action = rng.integers(0, 3)
        at = int(rng.integers(0, len(out)))
        if action == 0:
            out[at] = int(rng.integers(0, vocab_size))
        elif action == 1:
            out.insert(at, int(rng.integers(0, vocab_size)))
        elif len(out) > 1:
            del out[at]
    return out


# -- truth -----------------------------------------------------------------------------------------


def true_pairs(frame: pd.DataFrame, group: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    """True Jaccard (reference shingler) of every pair in a planted group, kept if >= threshold.

    Unplanted pairs are random text (word 5-grams from a 30,000-word vocabulary) and have
    Jaccard ~0; pairs the method reports outside the groups are checked in `precision`.
    """
    params = dedup.DedupConfig(threshold=threshold).engine_params()
    texts = dedup.scope_texts(frame, dedup.DedupConfig())
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    truth: dict[tuple[int, int], float] = {}
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        sets = {int(m): _minhash.reference_shingles(texts[m], params) for m in members}
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                j = _jaccard(sets[int(a)], sets[int(b)])
                if j >= threshold:
                    truth[(min(int(a), int(b)), max(int(a), int(b)))] = j
    return truth


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def score(
    frame: pd.DataFrame, clusters: list[list[int]], truth: dict[tuple[int, int], float], threshold: float
) -> dict[str, float]:
    """Recall: truth pairs put in one cluster. Precision: (removed, kept) pairs really >= threshold."""
    label = {}
    for k, members in enumerate(clusters):
        for m in members:
            label[m] = k
    found = sum(1 for a, b in truth if a in label and label.get(a) == label.get(b))
    params = dedup.DedupConfig(threshold=threshold).engine_params()
    texts = dedup.scope_texts(frame, dedup.DedupConfig())
    claimed = [(min(c), m) for c in clusters for m in c if m != min(c)]
    good = 0
    for kept, removed in claimed:
        key = (min(kept, removed), max(kept, removed))
        if key in truth:
            good += 1
            continue
        a = _minhash.reference_shingles(texts[kept], params)
        b = _minhash.reference_shingles(texts[removed], params)
        good += _jaccard(a, b) >= threshold
    return {
        "recall": found / len(truth) if truth else 1.0,
        "precision": good / len(claimed) if claimed else 1.0,
        "truth_pairs": len(truth),
        "claimed_pairs": len(claimed),
    }


# -- memory ----------------------------------------------------------------------------------------


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


class WorkerMemory:
    """Samples the private memory (own allocations + copied-on-write pages) of our child processes."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(_private_mb(pid) for pid in _children()))


def _children() -> list[int]:
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in path.read_text().split()]
    return []


def _private_mb(pid: int) -> float:
    total = 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += float(line.split()[1]) / 1024
    return total


# -- runs ------------------------------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(frame: pd.DataFrame, threshold: float, processes: int) -> tuple[float, list[list[int]], dict]:
    return _run_ours(frame, threshold, processes)


def _run_ours(frame: pd.DataFrame, threshold: float, processes: int) -> tuple[float, list[list[int]], dict]:
    gc.collect()
    reset_peak()
    before = rss_mb()
    cpu_before = time.process_time() + _children_cpu()
    start = time.perf_counter()
    with WorkerMemory() as workers:
        result = dedup.find_duplicates(frame, dedup.DedupConfig(threshold=threshold), processes=processes)
    seconds = time.perf_counter() - start
    info = {
        "seconds": seconds,
        "cpu_seconds": time.process_time() + _children_cpu() - cpu_before,
        "parent_extra_mb": peak_mb() - before,
        "workers_mb": workers.peak_mb,
        "candidates": result.candidate_pairs,
        "verified": result.verified_pairs,
        "exact": result.exact_duplicates,
        "near": result.near_duplicates,
    }
    return seconds, [list(c.members) for c in result.clusters], info


def _shingle_bytes(text: str, params: _minhash.EngineParams) -> list[bytes]:
    return [" ".join(s).encode("utf-8") for s in _minhash.reference_shingles(text, params)]


def run_naive(texts: list[str], threshold: float) -> tuple[float, list[list[int]]]:
    """The obvious datasketch loop: MinHash.update per shingle, insert, then query each."""
    from datasketch import MinHash, MinHashLSH

    params = dedup.DedupConfig(threshold=threshold).engine_params()
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=128)
        for s in _shingle_bytes(text, params):
            m.update(s)
        lsh.insert(i, m)
        hashes.append(m)
    pairs = [(i, j) for i, m in enumerate(hashes) for j in lsh.query(m) if j > i]
    clusters = _union(len(texts), pairs)
    return time.perf_counter() - start, clusters


def run_well(texts: list[str], threshold: float) -> tuple[float, list[list[int]]]:
    """datasketch used well: MinHash.bulk, LeanMinHash, insertion_session, recall-biased weights."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    params = dedup.DedupConfig(threshold=threshold).engine_params()
    start = time.perf_counter()
    shingles = [_shingle_bytes(t, params) or [b""] for t in texts]
    hashes = [LeanMinHash(m) for m in MinHash.bulk(shingles, num_perm=128)]
    lsh = MinHashLSH(threshold=threshold, num_perm=128, weights=(0.1, 0.9))
    with lsh.insertion_session() as session:
        for i, m in enumerate(hashes):
            session.insert(i, m)
    pairs = [(i, j) for i, m in enumerate(hashes) for j in lsh.query(m) if j > i]
    sets = [set(s) for s in shingles]
    pairs = [(i, j) for i, j in pairs if _jaccard(sets[i], sets[j]) >= threshold]
    clusters = _union(len(texts), pairs)
    return time.perf_counter() - start, clusters


def _union(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument(
        "--baseline-n", type=int, default=20_000, help="rows for datasketch used well (0: skip)"
    )
    parser.add_argument("--naive-n", type=int, default=10_000, help="rows for the naive datasketch loop")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of core.dedup (the best is reported)"
    )
    parser.add_argument("--skip-truth", action="store_true", help="skip recall/precision (very large n)")
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
        "(other load slows every variant alike; compare the ratios)"
    )
    t0 = time.perf_counter()
    frame, group = make_corpus(args.n, seed=args.seed)
    print(f"corpus: {args.n:,} examples generated in {time.perf_counter() - t0:.1f}s, rss {rss_mb():.0f} MB")

    runs = [run_ours(frame, args.threshold, args.processes) for _ in range(max(1, args.repeat))]
    seconds, clusters, info = min(runs, key=lambda run: run[0])
    rate = args.n / seconds
    print(
        f"core.dedup: {args.n:,} examples end to end in {seconds:.2f}s = {rate:,.0f} examples/s "
        f"(best of {len(runs)}: {', '.join(f'{r[0]:.1f}s' for r in runs)}; {args.processes} processes; "
        f"{info['cpu_seconds']:.1f} CPU-s = {args.n / info['cpu_seconds']:,.0f} examples per CPU-second); "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  exact {info['exact']:,}, near {info['near']:,}, LSH candidates {info['candidates']:,}, "
        f"verified {info['verified']:,}"
    )
    print(
        f"  peak memory beyond the corpus: parent +{info['parent_extra_mb']:.0f} MB, worker processes "
        f"{info['workers_mb']:.0f} MB private (sampled every 50 ms); total "
        f"{info['parent_extra_mb'] + info['workers_mb']:.0f} MB"
    )
    if not args.skip_truth:
        t1 = time.perf_counter()
        truth = true_pairs(frame, group, args.threshold)
        quality = score(frame, clusters, truth, args.threshold)
        print(
            f"  recall {quality['recall']:.4f} over {quality['truth_pairs']:,} pairs with true word-5-gram "
            f"Jaccard >= {args.threshold}; precision {quality['precision']:.4f} over "
            f"{quality['claimed_pairs']:,} (removed, kept) pairs  [scored in {time.perf_counter() - t1:.0f}s]"
        )
    if args.baseline_n > 0:
        _baselines(frame, group, args, rate, args.n / info["cpu_seconds"])
    return 0


def _baselines(
    frame: pd.DataFrame, group: np.ndarray, args: argparse.Namespace, rate: float, per_cpu: float
) -> None:
    for name, runner, size in (
        ("naive datasketch", run_naive, args.naive_n),
        ("datasketch used well", run_well, args.baseline_n),
    ):
        size = min(size, args.n)
        sub = frame.iloc[:size].reset_index(drop=True)
        texts = dedup.scope_texts(sub, dedup.DedupConfig())
        seconds, clusters = runner(texts, args.threshold)
        truth = true_pairs(sub, group[:size], args.threshold)
        quality = score(sub, clusters, truth, args.threshold)
        ours_seconds, ours_clusters, _ = run_ours(sub, args.threshold, args.processes)
        ours_quality = score(sub, ours_clusters, truth, args.threshold)
        their_rate = size / seconds
        print(
            f"{name} (1 process) on the first {size:,} rows: {their_rate:,.0f} examples/s, "
            f"recall {quality['recall']:.4f}, precision {quality['precision']:.4f}"
        )
        print(
            f"  core.dedup on the same rows: {size / ours_seconds:,.0f}/s, "
            f"recall {ours_quality['recall']:.4f}, precision {ours_quality['precision']:.4f}"
        )
        print(
            f"  ratio: core.dedup at {args.n:,} is {rate / their_rate:.1f}x faster end to end "
            f"({per_cpu / their_rate:.1f}x per CPU-second)"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
