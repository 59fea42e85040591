"""Counting a whole table's prompts and replies: one flat list of texts, split over two processes."""

from __future__ import annotations

import multiprocessing
import os
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import _fork
from core.tokens.encodings import (
    _PARALLEL_MIN_ROWS,
    _PLAIN_OVERHEAD,
    REPLY_PRIMING,
    encoding_name_for_model,
)
from core.tokens.messages import (
    _Counter,
    _counter,
    _plain_parts,
    _split_counts,
    _tokenizer,
)


class _Plan:
    """One walk over the rows: what is known without the tokenizer, and which texts remain.

    Plain rows (see :func:`_plain_parts`) only queue their texts, so the
    tokenizer can then run over one flat list, split between two processes; every other row
    is counted in full on the spot. Slot ``2 * row`` is a row's prompt, ``2 * row + 1`` its
    response.
    """

    def __init__(self, encoding: str) -> None:
        self.counter = _Counter(encoding)
        # int64 arrays, not lists: no int object per entry (a 1 GB file queues millions)
        self.known = array("q")
        self.texts: list[str] = []
        self.refs = array("q")  # per queued occurrence: index into texts
        self.slots = array("q")  # per queued occurrence: slot it adds to
        self._system: dict[str, int] = {}  # system prompts repeat: each is counted once

    def add(self, kind: Any, messages: Any, chosen: Any, tools: Any) -> None:
        parts = _plain_parts(kind, messages, chosen, tools)
        if parts is None:
            self.known.extend(_split_counts(self.counter, kind, messages, chosen, tools))
        else:
            slot = len(self.known)
            prompt = self._queue(parts[0], slot) + REPLY_PRIMING
            self.known.extend((prompt, self._queue(parts[1], slot + 1)))

    def _queue(self, messages: list[dict], slot: int) -> int:
        """Queue the texts of plain messages for ``slot``; return their fixed overhead."""
        fixed = 0
        texts, refs, slots = self.texts, self.refs, self.slots
        for message in messages:
            role, text = message["role"], message["content"]
            fixed += _PLAIN_OVERHEAD[role]
            index = self._system.get(text) if role == "system" else None
            if index is None:
                index = len(texts)
                texts.append(text)
                if role == "system":
                    self._system[text] = index
            refs.append(index)
            slots.append(slot)
        return fixed

    def totals(self, counts: np.ndarray) -> np.ndarray:
        """Return (rows, 2) int64 tokens, given the counts of :attr:`texts`."""
        known = np.frombuffer(self.known, dtype=np.int64).copy()
        if self.refs:
            per_occurrence = counts[np.frombuffer(self.refs, dtype=np.int64)]
            slots = np.frombuffer(self.slots, dtype=np.int64)
            known += np.bincount(slots, weights=per_occurrence, minlength=len(known)).astype(np.int64)
        return known.reshape(-1, 2)


def _count_texts(texts: Sequence[str], encoding: str) -> np.ndarray:
    count = _counter(encoding)
    return np.fromiter((count(text) for text in texts), dtype=np.int64, count=len(texts))


def _count_texts_forked(texts: list[str], encoding: str) -> np.ndarray:
    """Count the texts in this process and one forked child, half of the characters each.

    The tokenizer holds the GIL, so threads would not help. If the child cannot start or
    fails, its half is counted here.
    """
    _tokenizer(encoding)  # loaded before the fork, so the child needs no import
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    half = int(np.searchsorted(np.cumsum(lengths), lengths.sum() / 2))
    rest = texts[half:]

    def decode(data: bytes) -> np.ndarray:
        counts = np.frombuffer(data, dtype=np.int64)
        if len(counts) != len(rest):
            raise ValueError(f"the child counted {len(counts)} texts, not {len(rest)}")
        return counts

    tail = _fork.ForkedCall(lambda: _count_texts(rest, encoding), encode=lambda a: a.tobytes(), decode=decode)
    head = _count_texts(texts[:half], encoding)
    return np.concatenate([head, tail.result()])


def _use_fork(rows: int, workers: int | None) -> bool:
    if workers is None:
        workers = 2 if rows >= _PARALLEL_MIN_ROWS and (os.cpu_count() or 1) >= 2 else 1
    if workers not in (1, 2):
        raise ValueError(f"workers must be 1, 2 or None, got {workers!r}")
    return workers == 2 and rows >= 2 and "fork" in multiprocessing.get_all_start_methods()


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def count_frame(frame: pd.DataFrame, *, model: str, workers: int | None = None) -> pd.DataFrame:
    """Count prompt, response and total tokens for every row of a canonical table.

    The prompt is every message before the last assistant message (for preference rows: the
    input messages), with the reply priming and the tool definitions; the response is the last
    assistant message and anything after it (for preference rows: the chosen output). So
    ``total_tokens`` equals :func:`count_messages_tokens` of the whole example (for preference
    rows: of the input plus the chosen output).

    Args:
        frame: A canonical table (columns ``kind``, ``messages``, ``chosen``, ``tools``).
        model: The model id that fixes the encoding.
        workers: 1 counts in this process; 2 forks one child for half of the text; None (the
            default) uses 2 from 20,000 rows on when the machine has 2 cores and can fork.

    Returns:
        A frame with int64 columns ``prompt_tokens``, ``response_tokens`` and ``total_tokens``,
        indexed like ``frame``.

    Raises:
        ValueError: If the model is unknown, ``workers`` is not 1, 2 or None, or ``frame`` has
            no ``messages`` column.
    """
    if "messages" not in frame.columns:
        raise ValueError(f"frame must have a 'messages' column, got columns {list(frame.columns)}")
    encoding = encoding_name_for_model(model)
    fork = _use_fork(len(frame), workers)
    plan = _Plan(encoding)
    columns = (
        _column(frame, "kind"),
        frame["messages"].tolist(),
        _column(frame, "chosen"),
        _column(frame, "tools"),
    )
    for kind, messages, chosen, tools in zip(*columns, strict=True):
        plan.add(kind, messages, chosen, tools)
    texts = plan.texts
    counts = (
        _count_texts_forked(texts, encoding) if fork and len(texts) > 1 else _count_texts(texts, encoding)
    )
    totals = plan.totals(counts)
    prompt, response = totals[:, 0], totals[:, 1]
    return pd.DataFrame(
        {"prompt_tokens": prompt, "response_tokens": response, "total_tokens": prompt + response},
        index=frame.index,
    )


def count_training_tokens(frame: pd.DataFrame, *, model: str, workers: int | None = None) -> pd.Series:
    """Return the tokens each example holds for training, to check against :func:`token_limit`.

    That is ``total_tokens`` of :func:`count_frame`, except for preference rows, where it is the
    larger of input + chosen and input + rejected.

    Args:
        frame: A canonical table.
        model: The model id that fixes the encoding.
        workers: As for :func:`count_frame`.

    Returns:
        An int64 Series named ``n_tokens``, indexed like ``frame``.

    Raises:
        ValueError: As :func:`count_frame`.
    """
    total = count_frame(frame, model=model, workers=workers)["total_tokens"].to_numpy().copy()
    if "rejected" in frame.columns and "kind" in frame.columns:
        preference = (frame["kind"] == "preference").to_numpy(dtype=bool, na_value=False)
        if preference.any():
            rows = frame.loc[preference]
            rejected = count_frame(rows.assign(chosen=rows["rejected"]), model=model, workers=1)
            total[preference] = np.maximum(total[preference], rejected["total_tokens"].to_numpy())
    return pd.Series(total, index=frame.index, name="n_tokens")


class TextCounts:
    """Token counts of batches of texts, counted by a forked worker while the caller reads on.

    :meth:`add` hands a batch to the worker when it has at most one batch waiting, else counts it
    here, so both cores stay busy and neither waits long for the other. The worker starts with
    the second batch (a small file never forks); where it cannot start (one core, no ``fork``,
    inside a daemonic worker) or fails, every batch is counted here: the counts never depend on it.

    Args:
        encoding: One of :data:`ENCODINGS`.
        parallel: Whether a worker may be used (``None``: when the machine can fork on 2+ cores).
    """

    _WAIT_S = 300.0

    def __init__(self, encoding: str, *, parallel: bool | None = None) -> None:
        self.encoding = encoding
        _tokenizer(encoding)  # loaded before any fork, so the worker needs no import
        self._parallel = _fork.can_fork() if parallel is None else parallel
        self._pool: Any = None
        # per batch: its counts, or the worker's pending result and the texts (to count here if it fails)
        self._batches: list[np.ndarray | tuple[Any, list[str]]] = []

    def add(self, texts: list[str]) -> None:
        """Count ``texts`` (in the worker or here); their counts come after the earlier batches'."""
        waiting = sum(1 for batch in self._batches if isinstance(batch, tuple) and not batch[0].ready())
        if self._parallel and self._batches and waiting <= 1 and self._start():
            self._batches.append((self._pool.apply_async(_count_batch, (texts, self.encoding)), texts))
            return
        self._batches.append(_count_texts(texts, self.encoding))

    def _start(self) -> bool:
        if self._pool is None:
            try:
                self._pool = multiprocessing.get_context("fork").Pool(1)
            except (AssertionError, OSError):  # inside a daemonic worker, or no process left
                self._parallel = False
                return False
        return True

    def counts(self) -> np.ndarray:
        """Return the int64 counts of every text added, in order (waits for the worker)."""
        parts: list[np.ndarray] = []
        try:
            for batch in self._batches:
                parts.append(batch if isinstance(batch, np.ndarray) else self._result(*batch))
        finally:
            self.close()
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def _result(self, pending: Any, texts: list[str]) -> np.ndarray:
        try:
            counted = np.frombuffer(pending.get(timeout=self._WAIT_S), dtype=np.int64)
        except Exception:  # noqa: BLE001 - whatever stopped the worker, the batch is counted here
            return _count_texts(texts, self.encoding)
        return counted if len(counted) == len(texts) else _count_texts(texts, self.encoding)

    def close(self) -> None:
        """Stop the worker, if one was started."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


def _count_batch(texts: list[str], encoding: str) -> bytes:
    return _count_texts(texts, encoding).tobytes()
