"""``python -m core dedup IN -o OUT`` end to end, side by side with rensa + the same true-Jaccard check.

Usage:
    python bench/dedup_cli.py --n 100000 --rounds 2          # interleaved: ours, rensa, ours, rensa
    python bench/dedup_cli.py --n 1000000 --rounds 1
    python bench/dedup_cli.py --n 100000 --rounds 1 --datasketch

Both runs start from the same OpenAI-SFT JSONL file (the corpus of ``bench/dedup.py``: 80% random
chat text, 10% exact copies, 10% copies with 1-5 words edited) and write the kept rows as JSONL.
The peer is rensa used well: orjson to read, word 5-gram shingle sets, one R-MinHash digest
matrix for all rows, an LSH index filled from the matrix, candidates of the flagged rows only,
every candidate verified by the true Jaccard of the shingle sets (as core.dedup does), union-find,
the kept lines written as they were read. With ``--datasketch``, datasketch used well as well
(MinHash.bulk, LeanMinHash, one insertion session, the bands core.dedup chooses, the same check).
Each run is its own process, timed from outside:
wall time, CPU-seconds (the process and its workers) and peak RSS (the biggest process, and
the whole process tree sampled every 50 ms).

Quality is scored from each output file alone: recall is the share of planted pairs with true
Jaccard >= the threshold of which at most one row is left; precision the share of removed rows
that have such a partner.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


# -- the input file -----------------------------------------------------------------------------------


def write_corpus(n: int, seed: int, path: Path) -> np.ndarray:
    """Write ``n`` OpenAI-SFT rows to ``path``; return each row's planted group."""
    from dedup import make_corpus  # bench/dedup.py

    frame, group = make_corpus(n, seed=seed)
    with open(path, "wb") as handle:
        for system, prompt, response in zip(
            frame["system_text"], frame["prompt_text"], frame["response_text"], strict=True
        ):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": response},
            ]
            handle.write(orjson.dumps({"messages": messages}) + b"\n")
    np.save(path.with_suffix(".groups.npy"), group)
    return group


def _key(line: bytes) -> tuple[str, ...]:
    return tuple(m.get("content") or "" for m in orjson.loads(line)["messages"] if m["role"] != "system")


# -- the peer: rensa + true Jaccard ---------------------------------------------------------------------


def _read_texts(source: Path) -> tuple[list[bytes], list[str]]:
    """The file's lines and, per line, the compared text (user and assistant turns, as scope all)."""
    lines = source.read_bytes().splitlines()
    texts = []
    for line in lines:
        row = orjson.loads(line)
        parts = [m.get("content") or "" for m in row["messages"] if m.get("role") in ("user", "assistant")]
        texts.append("\n\n".join(p for p in parts if p))
    return lines, texts


def rensa_dedup(source: Path, out: Path, threshold: float, num_perm: int, bands: int) -> None:
    """Dedup ``source`` into ``out`` with rensa's digest matrix + LSH and the true-Jaccard check."""
    from rensa import RMinHash, RMinHashLSH

    lines, texts = _read_texts(source)
    lsh = RMinHashLSH(threshold, num_perm, bands)
    flagged: list[int] = []
    for start in range(0, len(texts), _PEER_BATCH):  # shingle strings of one batch at a time
        batch = [sorted(_shingle_set(t)) or [""] for t in texts[start : start + _PEER_BATCH]]
        matrix = RMinHash.digest_matrix_from_token_sets(batch, num_perm, 0)
        flags = lsh.insert_matrix_and_query_duplicate_flags(matrix, start_key=start)
        flagged += [start + k for k, flag in enumerate(flags) if flag]
    sets: dict[int, frozenset[str]] = {}

    def shingles_of(i: int) -> frozenset[str]:
        if i not in sets:
            sets[i] = frozenset(_shingle_set(texts[i]))
        return sets[i]

    parent = list(range(len(lines)))
    first: dict[frozenset[str], int] = {}  # exact copies (same shingle set) join their first row
    for i in flagged:
        parent[i] = first.setdefault(shingles_of(i), i)
    representatives = [i for i in flagged if parent[i] == i]
    minhashes = RMinHash.from_token_sets([sorted(shingles_of(i)) for i in representatives], num_perm, 0)
    for i, minhash in zip(representatives, minhashes, strict=True):
        for j in lsh.query(minhash):
            if j != i and parent[j] == j and _jaccard(shingles_of(i), shingles_of(j)) >= threshold:
                _union(parent, i, j)
    dropped = {i for i in range(len(lines)) if _find(parent, i) != i}
    with open(out, "wb") as handle:
        handle.writelines(line + b"\n" for i, line in enumerate(lines) if i not in dropped)


_PEER_BATCH = 10_000


def datasketch_dedup(source: Path, out: Path, threshold: float, num_perm: int) -> None:
    """The same with datasketch used well: MinHash.bulk, LeanMinHash, one insertion session."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    from core.similarity import choose_bands

    lines, texts = _read_texts(source)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=choose_bands(threshold, num_perm))
    keys: list[LeanMinHash] = []
    with lsh.insertion_session() as session:
        for start in range(0, len(texts), _PEER_BATCH):
            batch = [
                [s.encode() for s in _shingle_set(t)] or [b""] for t in texts[start : start + _PEER_BATCH]
            ]
            for k, minhash in enumerate(MinHash.bulk(batch, num_perm=num_perm)):
                lean = LeanMinHash(minhash)
                session.insert(start + k, lean)
                keys.append(lean)
    parent = list(range(len(lines)))
    sets: dict[int, frozenset[str]] = {}

    def shingles_of(i: int) -> frozenset[str]:
        if i not in sets:
            sets[i] = frozenset(_shingle_set(texts[i]))
        return sets[i]

    for i, minhash in enumerate(keys):
        for j in lsh.query(minhash):
            if (
                j < i
                and _find(parent, i) != _find(parent, j)
                and _jaccard(shingles_of(i), shingles_of(j)) >= threshold
            ):
                _union(parent, i, j)
    dropped = {i for i in range(len(lines)) if _find(parent, i) != i}
    with open(out, "wb") as handle:
        handle.writelines(line + b"\n" for i, line in enumerate(lines) if i not in dropped)


def _shingle_set(text: str) -> set[str]:
    words = text.casefold().split()
    if len(words) < 5:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}


def _jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)  # the earliest row stays, as core.dedup's keep=first


# -- timing from outside -----------------------------------------------------------------------------


class TreeMemory:
    """Peak of the summed RSS of a process and its descendants, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(_rss_mb(p) for p in _tree(self.pid)))


def _tree(pid: int) -> list[int]:
    pids, at = [pid], 0
    while at < len(pids):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pids[at]}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        at += 1
    return pids


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024
    return 0.0


def timed(command: list[str]) -> dict[str, float]:
    """Run ``command``; return wall seconds, CPU-seconds (with its children) and peak RSS figures."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    memory = TreeMemory(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    tree_mb = memory.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,  # the biggest single process (children included)
        "tree_mb": tree_mb,
    }


# -- quality ---------------------------------------------------------------------------------------


def _peer_command(name: str, args: argparse.Namespace, source: Path) -> list[str]:
    here = str(Path(__file__).resolve())
    out = str(args.work / f"{name}.jsonl")
    return [sys.executable, here, "--threshold", str(args.threshold), "--peer", name, str(source), out]


def quality(source: Path, out: Path, group: np.ndarray, threshold: float) -> dict[str, float]:
    """Recall and precision of one output file against the planted groups (true Jaccard)."""
    lines = source.read_bytes().splitlines()
    keys = [_key(line) for line in lines]
    positions: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        positions[key].append(i)
    kept = np.zeros(len(lines), dtype=bool)
    left = {key: list(p) for key, p in positions.items()}
    for line in out.read_bytes().splitlines():
        kept[left[_key(line)].pop(0)] = True
    sets = [_shingle_set("\n\n".join(p for p in key if p)) for key in keys]
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group.tolist()):
        members[g].append(i)
    truth_pairs = caught = 0
    has_partner = np.zeros(len(lines), dtype=bool)
    for rows in members.values():
        for k, a in enumerate(rows):
            for b in rows[k + 1 :]:
                if _jaccard(sets[a], sets[b]) >= threshold:
                    truth_pairs += 1
                    caught += not (kept[a] and kept[b])
                    has_partner[a] = has_partner[b] = True
    removed = ~kept
    return {
        "recall": caught / truth_pairs if truth_pairs else 1.0,
        "precision": float(has_partner[removed].mean()) if removed.any() else 1.0,
        "kept": int(kept.sum()),
        "truth_pairs": truth_pairs,
    }


# -- main -----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of each")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/trainset-bench-dedup"))
    parser.add_argument("--datasketch", action="store_true", help="also datasketch used well (slow)")
    parser.add_argument("--peer", nargs=3, metavar=("NAME", "IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    # rensa's bands must divide num_perm: the most rows per band that still find a pair *at* the
    # threshold with probability >= 0.999 (the recall bias core.dedup's choose_bands has)
    bands = next(
        b for b in (1, 2, 4, 8, 16, 32, 64, 128) if 1 - (1 - args.threshold ** (128 // b)) ** b >= 0.999
    )
    if args.peer:
        name, source, out = args.peer
        if name == "rensa":
            rensa_dedup(Path(source), Path(out), args.threshold, 128, bands)
        else:
            datasketch_dedup(Path(source), Path(out), args.threshold, 128)
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    source = args.work / f"sft-{args.n}-{args.seed}.jsonl"
    if source.exists() and source.with_suffix(".groups.npy").exists():
        group = np.load(source.with_suffix(".groups.npy"))
    else:
        group = write_corpus(args.n, args.seed, source)
    size_mb = source.stat().st_size / 2**20
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
        f"input {args.n:,} rows, {size_mb:,.0f} MB"
    )
    commands = {
        "core dedup -o": [
            sys.executable,
            "-m",
            "core",
            "dedup",
            str(source),
            "-o",
            str(args.work / "ours.jsonl"),
        ],
        "rensa + true Jaccard": _peer_command("rensa", args, source),
    }
    if args.datasketch:
        commands["datasketch + true Jaccard"] = _peer_command("datasketch", args, source)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for round_ in range(args.rounds):
        for name, command in commands.items():
            figures = timed(command)
            results[name].append(figures)
            print(
                f"round {round_ + 1} {name}: {figures['wall']:.1f} s wall, {figures['cpu']:.1f} CPU-s, "
                f"peak RSS {figures['max_rss_mb']:,.0f} MB (process tree {figures['tree_mb']:,.0f} MB); "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    outputs = {
        name: Path(command[-1]) if name != "core dedup -o" else args.work / "ours.jsonl"
        for name, command in commands.items()
    }
    best = {}
    for name, runs in results.items():
        wall = min(r["wall"] for r in runs)
        cpu = min(r["cpu"] for r in runs)
        peak = max(r["max_rss_mb"] for r in runs)
        tree = max(r["tree_mb"] for r in runs)
        best[name] = (wall, cpu)
        scored = quality(source, outputs[name], group, args.threshold)
        print(
            f"{name}: best {args.n / wall:,.0f} rows/s wall, {args.n / cpu:,.0f} rows per CPU-second; "
            f"peak RSS {peak:,.0f} MB ({peak * 2**20 / args.n / 1024:.1f} KB per row; tree {tree:,.0f} MB); "
            f"recall {scored['recall']:.4f}, precision {scored['precision']:.4f} over "
            f"{scored['truth_pairs']:,} planted pairs; {scored['kept']:,} rows kept"
        )
    ours_wall, ours_cpu = best["core dedup -o"]
    for name, (peer_wall, peer_cpu) in best.items():
        if name != "core dedup -o":
            print(
                f"core dedup -o vs {name}: {peer_wall / ours_wall:.2f}x faster by wall time, "
                f"{peer_cpu / ours_cpu:.2f}x by CPU-seconds"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
