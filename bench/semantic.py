"""Benchmark of the semantic layer: throughput next to SemHash with the same model, and ROC AUC.

Usage:
    python bench/semantic.py                       # 100,000 rows, 3 interleaved rounds
    python bench/semantic.py --rows 20000 --rounds 1
    python bench/semantic.py --msrp msr_paraphrase_test.txt   # also AUC on a local MSRP TSV

Throughput: embedding + neighbour index + self-dedup at cosine 0.9, end to end, on a generated
corpus (English words of the model's vocabulary, 20-60 words a row, Zipf-weighted; 5% exact copies
and 5% copies with a fifth of their words replaced). "ours" is ``core.semantic.pairs.duplicate_pairs``
(method semantic); "semhash" is ``SemHash.from_records(...).self_deduplicate(threshold=0.9)`` given
an encoder that wraps our packaged model and returns the same vectors ours compares (the corpus's
common direction removed), so the difference is the rest of the pipeline (``--raw-semhash``: the
model's raw vectors, whose cosines are all lifted: many more rows pass 0.9). SemHash's default
model (potion-base-8M) is fetched from a hub at run time and no PyPI package ships it, so it is not
measured here. Each run is a fresh child process
(rows/s on wall time, CPU-s of all its threads, its peak RSS), ours and SemHash's alternating.

Quality: ROC AUC of the model's cosine on the planted paraphrase pairs of tests/paraphrase_corpus.py
(en, es, de, zh; label 1 paraphrase, 0 a request sharing a topic or words), next to TF-IDF cosine and
word-5-gram Jaccard on the same pairs; and on an MSRP-format TSV (``Quality, #1 ID, #2 ID, #1 String,
#2 String``) when one is given; recall and precision at the app's cosine (0.85); and the unrelated
pairs of tests/paraphrase_corpus.UNRELATED (de, es, zh) at or above 0.85 among 300 English requests of
the bundled sample. Each quality line is printed with our vectors and with the dataset's mean only
(before minority languages' function words were taken out). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))

_COSINE = 0.9
DEFAULT_COSINE = 0.85  # the app's (core.semantic.DEFAULT_COSINE): recall and precision are read there


# -- corpus ----------------------------------------------------------------------------------------


def make_corpus(n: int, *, seed: int) -> list[str]:
    """Return ``n`` texts: 90% random word sequences, 5% exact copies, 5% copies with 20% words replaced."""
    vocab = json.loads((_ROOT / "core/semantic/data/tokenizer.json").read_text())["model"]["vocab"]
    words = [w for w, i in sorted(vocab.items(), key=lambda kv: kv[1]) if w.isalpha() and len(w) > 2]
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    weights /= weights.sum()
    n_copy = n_edit = n // 20
    n_base = n - n_copy - n_edit
    lengths = rng.integers(20, 61, size=n_base)
    picks = rng.choice(len(words), size=int(lengths.sum()), p=weights)
    texts, start = [], 0
    for length in lengths:
        texts.append(" ".join(words[i] for i in picks[start : start + length]))
        start += length
    texts += [texts[i] for i in rng.integers(0, n_base, size=n_copy)]
    for i in rng.integers(0, n_base, size=n_edit):
        tokens = texts[i].split()
        for k in rng.choice(len(tokens), size=len(tokens) // 5, replace=False):
            tokens[k] = words[int(rng.integers(0, len(words)))]
        texts.append(" ".join(tokens))
    order = rng.permutation(len(texts))
    return [texts[i] for i in order]


# -- one measured run (in a child process) -----------------------------------------------------------


class _PackagedEncoder:
    """SemHash's ``Encoder`` with our packaged model: the vectors ours compares (common direction removed).

    The corpus is embedded once when the encoder is made (inside the timed run), as ours does, and
    ``encode`` looks its texts up; other texts are embedded and centred on the corpus's direction.
    """

    def __init__(self, corpus: list[str], *, centred: bool) -> None:
        from core.semantic import embedding
        from core.semantic.model import load_model

        self._model = load_model()
        self._reference, vectors = embedding.fit(corpus) if centred else (None, self._model.embed(corpus))
        self._vectors = dict(zip(corpus, vectors, strict=True))

    def _centre(self, texts: list[str]) -> np.ndarray:
        if self._reference is None:
            return self._model.embed(texts)
        return self._reference.embed(texts)

    def encode(self, inputs: list[str], **_: object) -> np.ndarray:
        texts = list(inputs)
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._centre(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])


def _run_ours(texts: list[str]) -> int:
    import pandas as pd

    from core.semantic import pairs

    frame = pd.DataFrame({"prompt_text": texts, "id": [str(i) for i in range(len(texts))]})
    settings = pairs.PairSettings(method="semantic", scope="prompt", cosine=_COSINE)
    found = pairs.duplicate_pairs(frame, settings)
    return pairs.duplicate_result(frame, found, settings).removed


def _run_semhash(texts: list[str], *, centred: bool = True) -> int:
    from semhash import SemHash

    index = SemHash.from_records(records=texts, model=_PackagedEncoder(texts, centred=centred))
    result = index.self_deduplicate(threshold=_COSINE)
    return len(result.filtered)


def _child(which: str, corpus: Path) -> None:
    texts = json.loads(corpus.read_text())
    from core.semantic.model import load_model

    load_model()  # the model loads once per process in both (not timed: ~0.3 s)
    wall, cpu = time.perf_counter(), time.process_time()
    run = {
        "ours": _run_ours,
        "semhash": _run_semhash,
        "semhash-raw": lambda t: _run_semhash(t, centred=False),
    }
    found = run[which](texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "found": found}))


def _measure(which: str, corpus: Path) -> dict | None:
    done = subprocess.run(
        [sys.executable, __file__, "--child", which, "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  {which} failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- quality ------------------------------------------------------------------------------------------


def _shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}


def _centred(texts: list[str], corrected: bool) -> np.ndarray:
    """Our vectors (``corrected``) or those before minority languages' function words were taken out."""
    from core.semantic.embedding import embed_set
    from core.semantic.model import load_model, remove_common_direction

    return embed_set(texts) if corrected else remove_common_direction(load_model().embed(texts))


def pair_cosines(a: list[str], b: list[str], *, corrected: bool = True) -> np.ndarray:
    """Return our cosine of each pair (a and b embedded together, as a dataset's rows are)."""
    vectors = _centred(a + b, corrected)
    return (vectors[: len(a)] * vectors[len(a) :]).sum(axis=1)


def roc_aucs(a: list[str], b: list[str], labels: list[int], *, corrected: bool = True) -> dict[str, float]:
    """Return ROC AUC of our cosine, TF-IDF cosine and word-5-gram Jaccard on the pairs."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import roc_auc_score

    ours = pair_cosines(a, b, corrected=corrected)
    tfidf = TfidfVectorizer().fit(a + b)
    ta, tb = tfidf.transform(a), tfidf.transform(b)
    tf = np.asarray(ta.multiply(tb).sum(axis=1)).ravel()
    jac = [
        len(_shingles(x) & _shingles(y)) / max(1, len(_shingles(x) | _shingles(y)))
        for x, y in zip(a, b, strict=True)
    ]
    return {
        "ours_cosine": roc_auc_score(labels, ours),
        "tfidf_cosine": roc_auc_score(labels, tf),
        "word5_jaccard": roc_auc_score(labels, jac),
    }


def at_threshold(
    cosines: np.ndarray, labels: list[int], cosine: float = DEFAULT_COSINE
) -> tuple[float, float]:
    """Return recall and precision of ``cosine >= threshold`` for label 1."""
    found = cosines >= cosine - 1e-6
    truth = np.asarray(labels) == 1
    hits = int((found & truth).sum())
    return hits / max(1, int(truth.sum())), hits / max(1, int(found.sum()))


def unrelated_false_positives(*, corrected: bool = True, cosine: float = DEFAULT_COSINE) -> dict[str, int]:
    """Count unrelated pairs at or above the cosine among the bundled sample's English requests.

    The rows are ``tests/paraphrase_corpus.UNRELATED`` (eight unrelated requests with their answers per
    language: de, es, zh) embedded together with the first 300 distinct requests of
    ``sample_data/production_inputs.txt``; every pair of two of them is unrelated, within one language
    (``same``) or across two (``cross``).
    """
    from tests.paraphrase_corpus import UNRELATED

    lines = (_ROOT / "sample_data" / "production_inputs.txt").read_text().splitlines()
    english = list(dict.fromkeys(line for line in lines if line.strip()))[:300]
    rows = [(code, text) for code, texts in UNRELATED.items() for text in texts]
    vectors = _centred(english + [text for _, text in rows], corrected)[len(english) :]
    counts = {"same": 0, "same_pairs": 0, "cross": 0, "cross_pairs": 0}
    for i, j in itertools.combinations(range(len(rows)), 2):
        kind = "same" if rows[i][0] == rows[j][0] else "cross"
        counts[kind + "_pairs"] += 1
        counts[kind] += int(float(vectors[i] @ vectors[j]) >= cosine - 1e-6)
    return counts


def _quality(name: str, a: list[str], b: list[str], labels: list[int]) -> None:
    """Print AUCs, recall and precision at the app's cosine, now and without the function-word step."""
    for corrected, label in ((False, "before (dataset mean only)"), (True, "ours")):
        aucs = roc_aucs(a, b, labels, corrected=corrected)
        recall, precision = at_threshold(pair_cosines(a, b, corrected=corrected), labels)
        print(
            f"ROC AUC on {len(labels)} {name}, {label}: {_fmt(aucs)}; at cosine {DEFAULT_COSINE}: "
            f"recall {recall:.2f}, precision {precision:.2f}"
        )


def _msrp(path: Path) -> tuple[list[str], list[str], list[int]]:
    a, b, labels = [], [], []
    for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) == 5:
            labels.append(int(parts[0]))
            a.append(parts[3])
            b.append(parts[4])
    return a, b, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--msrp", type=Path, help="a local MSRP-format TSV (nothing is downloaded)")
    parser.add_argument("--raw-semhash", action="store_true", help="give SemHash the raw vectors")
    parser.add_argument("--child", choices=("ours", "semhash", "semhash-raw"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.corpus)
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    from tests.paraphrase_corpus import labelled_pairs

    planted = labelled_pairs()
    planted_sides = [p[0] for p in planted], [p[1] for p in planted], [p[2] for p in planted]
    _quality("planted pairs (tests/paraphrase_corpus.py)", *planted_sides)
    for corrected, label in ((False, "before"), (True, "ours")):
        fp = unrelated_false_positives(corrected=corrected)
        print(
            f"unrelated pairs at cosine >= {DEFAULT_COSINE} among 300 English rows, {label}: "
            f"{fp['same']} of {fp['same_pairs']} within one language (de, es, zh), "
            f"{fp['cross']} of {fp['cross_pairs']} across two"
        )
    if args.msrp:
        _quality(f"MSRP pairs ({args.msrp.name})", *_msrp(args.msrp))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.json"
        corpus.write_text(json.dumps(make_corpus(args.rows, seed=args.seed)))
        peer = "semhash-raw" if args.raw_semhash else "semhash"
        results: dict[str, list[dict]] = {"ours": [], peer: []}
        for round_no in range(args.rounds):
            for which in ("ours", peer) if round_no % 2 == 0 else (peer, "ours"):
                measured = _measure(which, corpus)
                if measured is not None:
                    results[which].append(measured)
                    print(
                        f"  round {round_no + 1} {which:8s} {measured['wall']:6.2f} s wall "
                        f"{measured['cpu']:6.2f} CPU-s  {args.rows / measured['wall']:8,.0f} rows/s  "
                        f"peak {measured['peak_mb']:,.0f} MB  ({measured['found']:,} rows removed)"
                    )
        print(f"load average {os.getloadavg()[0]:.1f} at the end; medians over {args.rounds} rounds:")
        for which, runs in results.items():
            if runs:
                wall = float(np.median([r["wall"] for r in runs]))
                cpu = float(np.median([r["cpu"] for r in runs]))
                print(
                    f"  {which:8s} {wall:6.2f} s wall, {cpu:6.2f} CPU-s, {args.rows / wall:,.0f} rows/s, "
                    f"{args.rows / cpu:,.0f} rows per CPU-s"
                )
    return 0


def _fmt(aucs: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in aucs.items())


if __name__ == "__main__":
    raise SystemExit(main())
