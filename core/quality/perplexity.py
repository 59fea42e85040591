"""Perplexity and instruction-following difficulty (IFD) of each reply, with a local model.

For each example the model reads the reply twice: after its prompt (system and user turns, in
ChatML, the template SmolLM2 was tuned on) and alone. The perplexity of the reply's tokens in the
first reading says how expected the reply is; the ratio of the two (IFD, Li et al. 2023, "From
Quantity to Quality") says how much the prompt helps: near 0 the reply follows from the prompt,
at or above 1 the prompt does not make the reply any more likely (``misaligned_reply``).

The log-probabilities come from an OpenAI-compatible ``/v1/completions`` endpoint that echoes
the prompt's log-probabilities (``echo`` with ``logprobs``), as ``python -m llama_cpp.server``
does with the embedded SmolLM2 (:class:`core.synth.teachers.LocalTeacher`). Texts are cut to
:data:`MAX_CHARS` each, so a row costs at most two short readings.

:func:`score_missing` scores the examples that have no stored score (:mod:`core.quality.store`),
one at a time, saving each: it resumes where it stopped and never scores an example twice.
:func:`start_in_background` runs it in a thread with its progress, once per workspace and version.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.quality.base import Flag
from core.quality.store import PerplexityScore, load_perplexity, save_perplexity
from core.workspace import Workspace

CODES = ("misaligned_reply",)
MAX_CHARS = 2000
MISALIGNED_IFD = 1.0
_START, _END = "<|im_start|>", "<|im_end|>"


class ScoringError(RuntimeError):
    """The endpoint did not give the log-probabilities of a text."""


def reply_logprobs(
    base_url: str, model: str, context: str, reply: str, *, timeout_s: float = 120.0
) -> list[float]:
    """Log-probabilities of the tokens of ``reply`` read after ``context`` (one echoed completion).

    Raises:
        ScoringError: If the endpoint fails or its answer has no usable log-probabilities.
    """
    text = context + reply
    body = {"model": model, "prompt": text, "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0}
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/completions",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - a configured endpoint
            answer = json.loads(response.read())
        logprobs = answer["choices"][0]["logprobs"]
        offsets, values = logprobs["text_offset"], logprobs["token_logprobs"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ScoringError(f"no log-probabilities from {base_url}: {exc}") from exc
    # llama.cpp counts offsets in the text as it detokenises it, where ChatML's markers are empty
    start = len(context.replace(_START, "").replace(_END, ""))
    end = start + len(reply)
    picked = [float(v) for o, v in zip(offsets, values, strict=False) if start <= o < end and v is not None]
    if not picked:
        raise ScoringError(f"{base_url} gave no log-probability for the reply's tokens")
    return picked


def score_example(base_url: str, model: str, example_id: str, prompt: str, reply: str) -> PerplexityScore:
    """The reply's perplexity after ``prompt`` and alone (both cut to :data:`MAX_CHARS`)."""
    reply = reply[:MAX_CHARS]
    head = f"{_START}assistant\n"
    after = reply_logprobs(base_url, model, f"{_START}user\n{prompt[-MAX_CHARS:]}{_END}\n{head}", reply)
    alone = reply_logprobs(base_url, model, head, reply)
    return PerplexityScore(example_id, _perplexity(after), _perplexity(alone), len(after))


def _perplexity(logprobs: list[float]) -> float:
    return math.exp(-sum(logprobs) / len(logprobs))


def _instructions(frame: pd.DataFrame) -> list[str]:
    system = frame["system_text"].fillna("").astype(str) if "system_text" in frame else ""
    return [
        ("\n".join(p for p in parts if p))
        for parts in zip(system, frame["prompt_text"].fillna("").astype(str), strict=True)
    ]


def score_missing(
    ws: Workspace,
    frame: pd.DataFrame,
    base_url: str,
    model: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Score every example of ``frame`` with a reply and no stored score; return how many were scored.

    Each score is saved as soon as it exists, so a stop (``stop`` set) or a crash loses at most the
    example being read. ``progress(done, total)`` is called after each (``done`` counts stored ones).
    """
    ids = frame["id"].astype(str).tolist()
    replies = frame["response_text"].fillna("").astype(str).tolist()
    todo = [i for i, reply in enumerate(replies) if reply.strip()]
    known = load_perplexity(ws, model, (ids[i] for i in todo))
    missing = [i for i in todo if ids[i] not in known]
    done = len(todo) - len(missing)
    prompts = _instructions(frame)
    for scored, i in enumerate(missing, start=1):
        if stop is not None and stop.is_set():
            return scored - 1
        save_perplexity(ws, model, score_example(base_url, model, ids[i], prompts[i], replies[i]))
        if progress is not None:
            progress(done + scored, len(todo))
    return len(missing)


def scores_frame(ws: Workspace, frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """One row per example of ``frame`` (same order): perplexity, reply_perplexity, ifd (NaN: not scored)."""
    ids = frame["id"].astype(str).tolist()
    known = load_perplexity(ws, model, ids)
    empty = (math.nan, math.nan, math.nan)
    values = [(s.perplexity, s.reply_perplexity, s.ifd) if (s := known.get(i)) else empty for i in ids]
    return pd.DataFrame(values, columns=["perplexity", "reply_perplexity", "ifd"], index=frame.index)


def flags_of(scores: pd.DataFrame) -> list[Flag]:
    """A ``misaligned_reply`` flag on each example whose IFD is at or above :data:`MISALIGNED_IFD`."""
    out = []
    for row in np.flatnonzero(scores["ifd"].to_numpy() >= MISALIGNED_IFD):
        ifd = float(scores["ifd"].iloc[row])
        why = f"IFD {ifd:.2f}: the prompt does not make the reply more likely"
        out.append(Flag(int(row), "perplexity", CODES[0], "response", 0, 0, "", why))
    return out


# -- in the background -------------------------------------------------------------------------


@dataclass
class ScoringJob:
    """A :func:`score_missing` run in a thread: its progress, its end and why it ended."""

    done: int = 0
    total: int = 0
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread still scores."""
        return self.thread is not None and self.thread.is_alive()


_JOBS: dict[tuple[str, int, str], ScoringJob] = {}
_JOBS_GUARD = threading.Lock()


def start_in_background(
    ws: Workspace, version: int, frame: pd.DataFrame, base_url: str, model: str
) -> ScoringJob:
    """Start scoring ``frame`` (version ``version``) in a thread, or return the job already doing it."""
    key = (str(ws.root), version, model)
    with _JOBS_GUARD:
        job = _JOBS.get(key)
        if job is not None and job.running:
            return job
        job = _JOBS[key] = ScoringJob()

    def update(done: int, total: int) -> None:
        job.done, job.total = done, total

    def run() -> None:
        try:
            score_missing(ws, frame, base_url, model, progress=update, stop=job.stop)
        except ScoringError as exc:
            job.error = str(exc)

    job.thread = threading.Thread(target=run, name=f"perplexity-v{version}", daemon=True)
    job.thread.start()
    return job


def job_of(ws: Workspace, version: int, model: str) -> ScoringJob | None:
    """The background job of this workspace, version and model, if one was started here."""
    return _JOBS.get((str(ws.root), version, model))
