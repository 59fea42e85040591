"""Token counts with the model that will be trained: a local Hugging Face tokenizer and its chat template.

The OpenAI counts of :mod:`core.tokens` say what OpenAI bills; a model trained with TRL sees its
own tokenizer's tokens of the text its chat template renders. :func:`load_tokenizer` reads a
local directory (``tokenizer.json``, and ``tokenizer_config.json`` / ``chat_template.jinja`` for
the template and special tokens) offline: nothing is downloaded. The template is rendered with
jinja2 the way ``transformers``' ``apply_chat_template`` renders it (sandboxed, ``trim_blocks``,
``lstrip_blocks``, ``tojson``, ``raise_exception``), and the text is encoded without adding special
tokens (the template writes them), as ``apply_chat_template(tokenize=True)`` does.

:func:`length_report` counts every example of a canonical table and names those over a maximum
length (TRL's ``max_length`` truncates them).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import DatasetError

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
TEMPLATE_FILE = "chat_template.jinja"
_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")
_LISTED_LINES = 20


@dataclass(frozen=True)
class HFTokenizer:
    """A local tokenizer and its chat template, ready to render and count."""

    path: Path
    tokenizer: Any  # tokenizers.Tokenizer
    template: Any  # jinja2.Template, or None when the tokenizer has no chat template
    special_tokens: Mapping[str, str]

    @property
    def has_template(self) -> bool:
        """True when the tokenizer ships a chat template."""
        return self.template is not None

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        add_generation_prompt: bool = False,
    ) -> str:
        """Return the text the chat template makes of ``messages`` (``apply_chat_template(tokenize=False)``).

        Tool-call arguments stored as JSON strings (OpenAI's way) are given to the template as
        objects, the way Hugging Face templates expect them (``arguments | tojson``).

        Raises:
            DatasetError: If the tokenizer has no chat template, or the template rejects the messages.
        """
        if self.template is None:
            raise DatasetError(
                f"{self.path}: the tokenizer has no chat template ({CONFIG_FILE} chat_template)"
            )
        from jinja2 import TemplateError

        try:
            return str(
                self.template.render(
                    messages=[_for_template(m) for m in messages],
                    tools=list(tools) if tools else None,
                    add_generation_prompt=add_generation_prompt,
                    **self.special_tokens,
                )
            )
        except TemplateError as exc:
            raise DatasetError(f"the chat template of {self.path} rejects this example: {exc}") from exc

    def count(self, text: str) -> int:
        """Return the number of tokens of ``text`` (no special tokens added)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


def load_tokenizer(path: str | Path) -> HFTokenizer:
    """Read a local Hugging Face tokenizer: a directory holding ``tokenizer.json``, or that file itself.

    The chat template comes from ``chat_template.jinja`` or ``tokenizer_config.json``'s
    ``chat_template`` (a string, or a list of named templates: the ``default`` one).

    Raises:
        DatasetError: If there is no ``tokenizer.json``, or a file cannot be read.
    """
    from tokenizers import Tokenizer

    given = Path(path)
    folder = given.parent if given.is_file() else given
    tokenizer_file = given if given.is_file() else given / TOKENIZER_FILE
    if not tokenizer_file.is_file():
        raise DatasetError(
            f"{given}: no {TOKENIZER_FILE} (give a local tokenizer directory; nothing is downloaded)"
        )
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except Exception as exc:  # tokenizers raises its own Exception type for a bad file
        raise DatasetError(f"{tokenizer_file}: not a tokenizers file ({exc})") from exc
    config = _read_config(folder / CONFIG_FILE)
    source = _template_source(folder, config)
    return HFTokenizer(
        folder, tokenizer, _compile(source, folder) if source else None, _special_tokens(config)
    )


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return config


def _template_source(folder: Path, config: Mapping[str, Any]) -> str | None:
    standalone = folder / TEMPLATE_FILE
    if standalone.is_file():
        return standalone.read_text(encoding="utf-8")
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, Mapping)}
        template = named.get("default") or next(iter(named.values()), None)
    return template if isinstance(template, str) and template.strip() else None


def _special_tokens(config: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in _SPECIAL_KEYS:
        value = config.get(key)
        if isinstance(value, Mapping):
            value = value.get("content")
        if isinstance(value, str):
            out[key] = value
    return out


def _compile(source: str, folder: Path) -> Any:
    from jinja2 import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, **kw: Any) -> str:
        return json.dumps(
            value, ensure_ascii=ensure_ascii, indent=indent, sort_keys=kw.get("sort_keys", False)
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    try:
        return env.from_string(source)
    except TemplateError as exc:
        raise DatasetError(f"{folder}: the chat template is not valid Jinja ({exc})") from exc


def _for_template(message: Mapping[str, Any]) -> dict[str, Any]:
    calls = message.get("tool_calls")
    if not calls:
        return dict(message)
    fixed = []
    for call in calls:
        function = dict(call.get("function") or {}) if isinstance(call, Mapping) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            with contextlib.suppress(json.JSONDecodeError):  # else the template shows the string
                function["arguments"] = json.loads(arguments)
        fixed.append({**call, "function": function} if isinstance(call, Mapping) else call)
    return {**message, "tool_calls": fixed}


# ----------------------------------------------------------------------------- counting examples


def example_text(tokenizer: HFTokenizer, record: Mapping[str, Any]) -> list[str]:
    """Return the text(s) a trainer tokenizes for one canonical example.

    SFT: the whole conversation; a ``trl-text`` row: its text as it is (no template); RFT /
    prompt-only: the prompt with the generation prompt; preference: prompt + chosen and prompt +
    rejected (one text per side present).
    """
    messages = _plain_list(record.get("messages"))
    tools = _plain_list(record.get("tools")) or None
    if record.get("source_format") == "trl-text" and len(messages) == 1:
        return [str(messages[0].get("content") or "")]
    kind = record.get("kind")
    if kind == "rft":
        return [tokenizer.render(messages, tools, add_generation_prompt=True)]
    if kind == "preference":
        sides = [_plain_list(record.get(k)) for k in ("chosen", "rejected")]
        return [tokenizer.render(messages + side, tools) for side in sides if side]
    return [tokenizer.render(messages, tools)]


def _plain_list(value: Any) -> list[dict[str, Any]]:
    from core.formats._base import clean

    value = clean(value)
    return list(value) if isinstance(value, list) else []


def count_examples(frame: pd.DataFrame, tokenizer: HFTokenizer) -> list[int]:
    """Return each example's token count (for preference rows: the longer side).

    Raises:
        DatasetError: If the template rejects an example (see :func:`length_report`, which does not).
    """
    return [_example_count(tokenizer, r) for r in frame.to_dict("records")]


def count_each(frame: pd.DataFrame, tokenizer: HFTokenizer) -> tuple[list[int | None], list[str | None]]:
    """Each example's token count (``None`` where the template rejects it) and the template's reason."""
    counts: list[int | None] = []
    reasons: list[str | None] = []
    for record in frame.to_dict("records"):
        try:
            counts.append(_example_count(tokenizer, record))
            reasons.append(None)
        except DatasetError as exc:
            counts.append(None)
            reasons.append(str(exc))
    return counts, reasons


def _example_count(tokenizer: HFTokenizer, record: Mapping[str, Any]) -> int:
    return max((tokenizer.count(t) for t in example_text(tokenizer, record)), default=0)


def length_report(
    frame: pd.DataFrame, tokenizer: HFTokenizer, max_length: int | None = None
) -> dict[str, Any]:
    """Count every example with ``tokenizer``'s chat template and name those over ``max_length``.

    An example the template rejects (``raise_exception``: a role it does not take, turns that
    do not alternate) is not counted; it is named in ``rejected`` with the template's reason,
    since a trainer using that template fails on it.

    Returns:
        ``tokenizer`` (its directory), ``template`` (whether the tokenizer has one), ``rows``
        (examples counted), ``total`` / ``max`` / ``mean`` / ``p95`` tokens, ``rejected`` (how
        many the template refused), ``rejected_lines`` and ``rejected_reason`` (the first one's),
        and with ``max_length``: ``over`` (how many examples are longer), ``over_lines`` and
        ``over_tokens`` (the first 20).
    """
    lines = frame["source_line"] if "source_line" in frame.columns else pd.Series([None] * len(frame))
    counts, reasons = count_each(frame, tokenizer)
    counted: list[tuple[int | None, int]] = []
    refused: list[tuple[int | None, str]] = []
    for line, n, reason in zip(lines, counts, reasons, strict=True):
        where = None if pd.isna(line) else int(line)
        if n is None:
            refused.append((where, str(reason)))
        else:
            counted.append((where, n))
    series = pd.Series([n for _, n in counted], dtype="int64")
    report: dict[str, Any] = {
        "tokenizer": str(tokenizer.path),
        "template": tokenizer.has_template,
        "rows": len(counted),
        "total": int(series.sum()),
        "max": int(series.max()) if counted else 0,
        "mean": round(float(series.mean()), 1) if counted else 0.0,
        "p95": int(series.quantile(0.95)) if counted else 0,
        "max_length": max_length,
        "rejected": len(refused),
        "rejected_lines": [line for line, _ in refused[:_LISTED_LINES]],
        "rejected_reason": refused[0][1] if refused else None,
    }
    if max_length is not None:
        over = [(line, n) for line, n in counted if n > max_length]
        report["over"] = len(over)
        report["over_lines"] = [line for line, _ in over[:_LISTED_LINES]]
        report["over_tokens"] = [n for _, n in over[:_LISTED_LINES]]
    return report
