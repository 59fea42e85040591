"""Exact token counts, offline, for OpenAI's ``o200k_base`` and ``cl100k_base`` encodings.

Counts come from the ``bpe-openai`` package (Rust ``bpe`` crate), whose bundled vocabulary
files are byte-identical to tiktoken's (same SHA-256 as ``tiktoken_ext.openai_public``), so a
count here equals ``len(tiktoken.get_encoding(name).encode_ordinary(text))``; the tests check
this against known token ids and against tiktoken itself on random text.

Text in a dataset is counted as ordinary text: ``<|endoftext|>`` typed by a person is a few
ordinary tokens, exactly as the API treats it.

Chat overhead follows OpenAI's counting method (cookbook ``num_tokens_from_messages``): 3
tokens per message, the tokens of every value, +1 when a ``name`` is present, and 3 at the end
to prime the reply. Values that are not strings, which the cookbook's function cannot count:

- ``content`` parts: ``text`` and ``refusal`` parts count their text; an ``image_url`` part
  counts 85 tokens with ``detail: "low"`` (OpenAI's fixed figure) and 765 otherwise (the
  tile rule for a 1024x1024 image: 85 + 4 tiles x 170; the real size is unknown offline).
- ``tool_calls`` / ``function_call``: the function name plus its ``arguments`` JSON string.
- ``weight`` and ``None`` values: not counted (they are training flags, not text).
- anything else: its compact JSON.

Tool definitions use the cookbook's constants (How_to_count_tokens_with_tiktoken): for
o200k models ``func_init=7``, for cl100k models ``func_init=10``; ``prop_init=3``,
``prop_key=3``, ``enum_init=-3``, ``enum_item=3``, ``func_end=12``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import multiprocessing
import os
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import _fork

ENCODINGS = ("o200k_base", "cl100k_base")
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_DEFAULT = 765
COOKBOOK_MAX_TOKENS_PER_EXAMPLE = 16_385
FRAME_COLUMNS = ("prompt_tokens", "response_tokens", "total_tokens")

# tiktoken v0.14.0 model.py, limited to the two encodings we ship (FORMATS.md §6).
_MODEL_TO_ENCODING = {
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
}
# Order matters: the first matching prefix wins (as in tiktoken).
_PREFIX_TO_ENCODING = (
    ("o1-", "o200k_base"),
    ("o3-", "o200k_base"),
    ("o4-mini-", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-4.5-", "o200k_base"),
    ("gpt-4.1-", "o200k_base"),
    ("chatgpt-4o-", "o200k_base"),
    ("gpt-4o-", "o200k_base"),
    ("gpt-4-", "cl100k_base"),
    ("gpt-3.5-turbo-", "cl100k_base"),
    ("gpt-35-turbo-", "cl100k_base"),
)
# Training tokens per example (FORMATS.md §1: OpenAI's table, Azure's for gpt-4.1). Exact ids
# first, then prefixes; first match wins.
_TOKEN_LIMITS = (
    ("gpt-3.5-turbo-0613", 4_096),
    ("gpt-3.5-turbo-1106", 16_385),
    ("gpt-3.5-turbo-0125", 16_385),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-4.1", 65_536),
    ("gpt-4o-mini", 65_536),
    ("gpt-4o", 65_536),
)
# Per-message overhead plus the role name, one token in both encodings (checked in the tests).
PLAIN_MESSAGE_OVERHEAD = TOKENS_PER_MESSAGE + 1
_PLAIN_OVERHEAD = dict.fromkeys(("system", "user", "assistant"), PLAIN_MESSAGE_OVERHEAD)
_PARALLEL_MIN_ROWS = 20_000
_FT_ID = re.compile(r"^ft:([^:]+)")


@dataclass(frozen=True)
class _ToolConstants:
    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


_TOOL_CONSTANTS = {"o200k_base": _ToolConstants(func_init=7), "cl100k_base": _ToolConstants(func_init=10)}


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding used for a model, and whether it was a guess (unknown model)."""

    encoding: str
    fallback: bool
    model: str

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")


def base_model(model: str) -> str:
    """Return the base model of a fine-tuned id; other ids come back stripped of blanks.

    ``ft:gpt-4.1-mini-2025-04-14:org::abc`` -> ``gpt-4.1-mini-2025-04-14``.
    """
    model = model.strip()
    match = _FT_ID.match(model)
    return match.group(1) if match else model


def encoding_name_for_model(model: str) -> str:
    """Return the tiktoken encoding name for a model id (``ft:`` ids use their base model).

    Raises:
        ValueError: If the model is unknown (the message names it).
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    name = base_model(model)
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _PREFIX_TO_ENCODING:
        if name.startswith(prefix):
            return encoding
    raise ValueError(
        f"unknown model {model!r}: no tokenizer is known for it; "
        "use an OpenAI model id (gpt-4.1, gpt-4o, o4-mini, gpt-3.5-turbo, ...)"
    )


def resolve_encoding(model: str, *, default: str = "o200k_base") -> EncodingChoice:
    """Return the encoding for ``model``, falling back to ``default`` for unknown models.

    The ``fallback`` flag tells the UI to say that counts are an approximation (Claude,
    Gemini and local models have their own tokenizers).
    """
    try:
        return EncodingChoice(encoding_name_for_model(model), fallback=False, model=model)
    except ValueError:
        return EncodingChoice(default, fallback=True, model=model)


def token_limit(model: str) -> int | None:
    """Return the training tokens allowed per example for ``model``, or None if no figure is known.

    65,536 for the gpt-4.1 family, gpt-4o and gpt-4o-mini; 16,385 for gpt-3.5-turbo-0125 / -1106;
    4,096 for gpt-3.5-turbo-0613 (FORMATS.md §1). Longer examples are truncated by OpenAI.
    """
    name = base_model(model)
    for prefix, limit in _TOKEN_LIMITS:
        if name.startswith(prefix):
            return limit
    return None


_BINDINGS = "bpe_openai._bindings"


def _load_bindings() -> Any:
    """Import bpe-openai's compiled module without running the package's ``__init__``.

    ``import bpe_openai`` parses both vocabularies into Python dicts (about 1.2 s) for its
    tiktoken-compatible wrapper, which we do not use; the compiled tokenizer loads in ~70 ms.
    The module is registered under its usual name, so a later ``import bpe_openai`` reuses it.
    """
    if _BINDINGS in sys.modules:
        return sys.modules[_BINDINGS]
    try:
        package = importlib.util.find_spec("bpe_openai")
        folder = Path(next(iter(package.submodule_search_locations or [])))  # type: ignore[union-attr]
        library = next(folder.glob("_bindings*.so"), None) or next(folder.glob("_bindings*.pyd"))
        loader = importlib.machinery.ExtensionFileLoader(_BINDINGS, str(library))
        spec = importlib.util.spec_from_file_location(_BINDINGS, library, loader=loader)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        loader.exec_module(module)
    except (AttributeError, StopIteration, TypeError, ImportError, OSError):
        return importlib.import_module(_BINDINGS)
    sys.modules[_BINDINGS] = module
    return module


@cache
def _tokenizer(encoding: str) -> Any:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    # The compiled tokenizer has a count-only call: no list of ids is built.
    return _load_bindings().tokenizer_for_encoding(encoding)


def _sanitize(text: str) -> str:
    # Same repair as tiktoken: surrogate pairs become code points, lone surrogates U+FFFD.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _counter(encoding: str) -> Callable[[str], int]:
    count = _tokenizer(encoding).count

    def counted(text: str) -> int:
        try:
            return count(text)
        except UnicodeEncodeError:
            return count(_sanitize(text))

    return counted


def count_text(text: str, encoding: str = "o200k_base") -> int:
    """Return the number of tokens of ``text`` in ``encoding`` (counted as ordinary text).

    Raises:
        ValueError: If ``encoding`` is not one of :data:`ENCODINGS` or ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return _counter(encoding)(text) if text else 0


class _Counter:
    """Counts chat messages with one tokenizer, remembering every distinct string it saw."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._count = _counter(encoding)
        self._cache: dict[str, int] = {}

    def text(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = self._count(text) if text else 0
        return cached

    def messages(self, messages: Iterable[Any]) -> int:
        total = 0
        for message in messages:
            total += self.message(message)
        return total

    def message(self, message: Any) -> int:
        if not isinstance(message, Mapping):
            return TOKENS_PER_MESSAGE + self.value("content", message)
        total = TOKENS_PER_MESSAGE
        for key, value in message.items():
            total += self.value(key, value)
            if key == "name":
                total += TOKENS_PER_NAME
        return total

    def value(self, key: str, value: Any) -> int:
        if isinstance(value, str):
            return self.text(value)
        if value is None or key == "weight":
            return 0
        if key == "content" and isinstance(value, list):
            return sum(self.part(part) for part in value)
        if key == "tool_calls" and isinstance(value, list):
            return sum(
                self.call(call.get("function") if isinstance(call, Mapping) else call) for call in value
            )
        if key == "function_call":
            return self.call(value)
        return self.text(_compact_json(value))

    def part(self, part: Any) -> int:
        if isinstance(part, str):
            return self.text(part)
        if not isinstance(part, Mapping):
            return self.text(_compact_json(part))
        kind = part.get("type")
        if kind == "image_url" or "image_url" in part:
            return _image_tokens(part.get("image_url"))
        for field in ("text", "refusal"):
            if field in part:
                return self.value(field, part[field])
        return 0

    def call(self, function: Any) -> int:
        if not isinstance(function, Mapping):
            return self.value("function", function)
        return self.value("name", function.get("name")) + self.value("arguments", function.get("arguments"))

    def tools(self, tools: Any) -> int:
        if not isinstance(tools, (list, tuple)) or not tools:
            return 0
        constants = _TOOL_CONSTANTS[self.encoding]
        return sum(self.tool(tool, constants) for tool in tools) + constants.func_end

    def tool(self, tool: Any, constants: _ToolConstants) -> int:
        function = tool.get("function", tool) if isinstance(tool, Mapping) else {}
        if not isinstance(function, Mapping):
            return constants.func_init
        description = _strip_period(_as_str(function.get("description")))
        total = constants.func_init + self.text(f"{_as_str(function.get('name'))}:{description}")
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
        if isinstance(properties, Mapping) and properties:
            total += constants.prop_init
            total += sum(self.prop(key, spec, constants) for key, spec in properties.items())
        return total

    def prop(self, key: str, spec: Any, constants: _ToolConstants) -> int:
        spec = spec if isinstance(spec, Mapping) else {}
        total = constants.prop_key
        enum = spec.get("enum")
        if isinstance(enum, list):
            total += constants.enum_init
            total += sum(constants.enum_item + self.text(_as_str(item)) for item in enum)
        description = _strip_period(_as_str(spec.get("description")))
        return total + self.text(f"{key}:{_as_str(spec.get('type'))}:{description}")


def _image_tokens(image_url: Any) -> int:
    detail = image_url.get("detail") if isinstance(image_url, Mapping) else None
    return IMAGE_TOKENS_LOW if detail == "low" else IMAGE_TOKENS_DEFAULT


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _compact_json(value)


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def count_messages_tokens(messages: list[dict], tools: list[dict] | None = None, *, model: str) -> int:
    """Return the prompt tokens of a chat as OpenAI's counting method gives them.

    Args:
        messages: OpenAI-style chat messages (string or content-part ``content``, tool calls).
        tools: Tool definitions, counted with the cookbook's constants.
        model: The model id; fixes the encoding (``ft:`` ids use their base model).

    Returns:
        3 per message + the tokens of every value (+1 per ``name``) + 3 reply priming + tools.

    Raises:
        ValueError: If the model is unknown or ``messages`` is not a list.
    """
    if not isinstance(messages, (list, tuple)):
        raise ValueError(f"messages must be a list of dicts, got {type(messages).__name__}")
    counter = _Counter(encoding_name_for_model(model))
    return counter.messages(messages) + REPLY_PRIMING + counter.tools(tools)


def _as_list(value: Any) -> Sequence[Any]:
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, np.ndarray):
        return list(value)
    return ()


def _last_assistant(messages: Sequence[Any]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            return index
    return len(messages)


def _split_counts(counter: _Counter, kind: Any, messages: Any, chosen: Any, tools: Any) -> tuple[int, int]:
    """Return (prompt, response) tokens of one canonical row."""
    messages = _as_list(messages)
    if kind == "preference":
        prompt_messages, response_messages = messages, _as_list(chosen)
    else:
        cut = _last_assistant(messages)
        prompt_messages, response_messages = messages[:cut], messages[cut:]
    prompt = counter.messages(prompt_messages) + REPLY_PRIMING + counter.tools(_as_list(tools))
    return prompt, counter.messages(response_messages)


def _all_plain(messages: Any) -> bool:
    """Whether ``messages`` is a list of plain ``{"role", "content"}`` string messages."""
    if type(messages) is not list:
        return False
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return False
        if type(message.get("content")) is not str or message.get("role") not in _PLAIN_OVERHEAD:
            return False
    return True


def _plain_parts(kind: Any, messages: Any, chosen: Any, tools: Any) -> tuple[list, list] | None:
    """Return (prompt, response) messages of a row without tools and with plain messages only."""
    if not (tools is None or (type(tools) is list and not tools)) or not _all_plain(messages):
        return None
    if kind == "preference":
        return (messages, chosen) if _all_plain(chosen) else None
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1], messages[-1:]
    return None


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
