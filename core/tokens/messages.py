"""Counting one text, one conversation and its tool definitions (the cookbook's method, exact ids)."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.tokens.encodings import (
    _PLAIN_OVERHEAD,
    _TOOL_CONSTANTS,
    ENCODINGS,
    IMAGE_TOKENS_DEFAULT,
    IMAGE_TOKENS_LOW,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    _ToolConstants,
    encoding_name_for_model,
)

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
