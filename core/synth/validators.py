"""Checks run on every generated example; each failure is a reason kept with the example.

Checks: the record has the target format's structure (and passes ``core.formats`` validation
when that module offers it); label in the allowed set; length within the real data's 1st–99th
percentile; no unfilled template placeholder ("[your name here]", "{customer_name}") unless the
real data has them too; prompt and answer made of words at least as much as the real data's 1st
percentile (a file path or a hash is not a customer question); language as requested; not an exact
or near duplicate (Jaccard >= threshold) of the real data, the seeds, other synthetic examples or
the test split; not a paraphrase of them either (embedding cosine >= ``paraphrase_cosine``, code
``paraphrase``, :mod:`core.semantic.references`); an answer of 12+ words that is not a copy of a
real row's (a seed's) answer under a new question (``copied_answer``); an answer that is not mostly
the prompt (``echo_response``, :mod:`core.quality`); person-written regex rules; a JSON Schema for
structured (JSON) answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import lang
from core.errors import DatasetError
from core.quality.pii import PLACEHOLDERS
from core.semantic.references import ParaphraseIndex
from core.similarity import NearDupIndex

_SHINGLE = 3  # words per shingle: generated variations are short
_INDEX_SEED = 1
_PLACEHOLDER = re.compile(
    # "[your name here]", "[<insert date>]", "[...]", "[name here]", "[XX]"; not a markdown link
    # "[text](url)", a button "[Add to cart]" or a key "[Enter]"
    r"\[\s*<?\s*(?:your|insert|placeholder|tbd|todo|x{2,}|fill in|enter (?:your|the|a|an))\b"
    r"[^\]\n]{0,60}\](?!\()"
    r"|\[[^\]\n]{0,40}\bhere\s*>?\s*\](?!\()"
    r"|\[\s*\.{3}\s*\]|\[\s*…\s*\]"
    r"|<\s*(?:your|insert|enter|fill|placeholder)\b[^>\n]{0,60}>"
    # template fields left unfilled: "{{ customer.name }}", "{customer_name}"
    r"|\{\{\s*[A-Za-z_][\w.]*\s*\}\}"
    r"|\{[a-z]+(?:_[a-z]+)+\}"
    r"|\blorem ipsum\b",
    re.IGNORECASE,
)
# "[CUSTOMER NAME]", "[ORDER_ID]": all capitals, two words or an underscore (case-sensitive)
_CAPITALS = re.compile(r"\[[A-Z]{2,}(?:[ _][A-Z]{2,})+\](?!\()")
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.DOTALL)
_WORD = re.compile(r"[(\"'“‘«„¿¡*_]*[^\W\d_]+(?:['’-][^\W\d_]+)*[.,!?;:)\"'”’»…*_]*")
_MARKUP = re.compile(r"[-*+•>#|=_~`]+|\d+[.)]")  # bullets, numbering, headings, rules: neither
_PLACEHOLDER_SHARE = 0.01  # real data with more placeholders than this is a template set: no check
_MAX_WORD_SHARE_FLOOR = 0.5  # never ask for more words than this, whatever the real data holds
PARAPHRASE_COSINE = 0.9
"""The cosine to ask for (``rules_from_data(..., paraphrase_cosine=PARAPHRASE_COSINE)``): above the
Dedup page's 0.85, since a variation on a seed's topic is wanted and its restatement is not. The check
is off unless asked for: templated teacher output (one answer shape, other numbers) reads as
restatements of each other, and ``paraphrase`` mode's examples are restatements by design."""


def find_placeholder(text: str) -> str | None:
    """Return the first unfilled template placeholder in ``text`` ("[your name here]"), if any.

    Code (fenced or inline) is left out: ``{first_name}`` in a snippet is code, not a gap.
    """
    prose = _CODE.sub(" ", text)
    found = [m for m in (_PLACEHOLDER.search(prose), _CAPITALS.search(prose)) if m is not None]
    return min(found, key=lambda m: m.start()).group(0) if found else None


def word_share(text: str) -> float | None:
    """Return the share of whitespace-separated tokens that are words (``None`` without any).

    A word is letters, possibly joined by apostrophes or hyphens and wrapped in punctuation
    ("¿Reembolso?", "*Settings*"); a file path, a URL, a hash or a number is not. Bullets,
    numbering and other markup count as neither.
    """
    tokens = [t for t in _CODE.sub(" ", text).split() if not _MARKUP.fullmatch(t)]
    if not tokens:
        return None
    return sum(1 for t in tokens if _WORD.fullmatch(t)) / len(tokens)


COPIED_ANSWER_WORDS = 12
"""An answer this long (words) that copies a real row's answer under a new question is rejected
(``copied_answer``); shorter ones (a label, "Yes.") are given again legitimately."""


def near_dup_index(threshold: float = 0.8) -> NearDupIndex:
    """Return the index a validator checks near duplicates against (word 3-shingles)."""
    return NearDupIndex(threshold, shingle_size=_SHINGLE, seed=_INDEX_SEED)


def example_text(record: dict[str, Any] | pd.Series, mode: str) -> str:
    """Return the text a generated example is compared on (what the teacher actually wrote)."""
    if mode == "paraphrase":
        return str(record.get("prompt_text") or "")
    if mode == "preference":
        return str(record.get("rejected_text") or "")
    return f"{record.get('prompt_text') or ''}\n{record.get('response_text') or ''}"


_TEXT_COLUMNS = ("prompt_text", "response_text", "rejected_text")
# the rejected side of a preference pair is left out: a flaw is what makes it the rejected one
_TEXT_PARTS = (("prompt_text", "prompt"), ("response_text", "answer"))


def _real_length(row: pd.Series, mode: str) -> int:
    """Length of the real text a generated example's text is compared with (answers for preference)."""
    if mode == "preference":
        return len(str(row.get("response_text") or ""))
    return len(example_text(row, mode))


@dataclass(frozen=True)
class Rules:
    """Person-set checks for one run."""

    allowed_labels: tuple[str, ...] = ()
    min_chars: int | None = None
    max_chars: int | None = None
    language: str | None = None
    must_match: tuple[str, ...] = ()
    must_not_match: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    dedup_threshold: float = 0.8
    target_format: str | None = None  # a core.formats name: examples must survive writing in it
    reject_placeholders: bool = True
    min_word_share: float | None = None  # prompts and answers with fewer words than this fail
    paraphrase_cosine: float | None = None  # reject restatements of a reference at this cosine (None: off)

    def __post_init__(self) -> None:
        for pattern in (*self.must_match, *self.must_not_match):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        if self.paraphrase_cosine is not None and not 0.0 < self.paraphrase_cosine <= 1.0:
            raise ValueError(f"paraphrase_cosine must be in (0, 1], got {self.paraphrase_cosine!r}")
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise ValueError(f"min_chars {self.min_chars} > max_chars {self.max_chars}")

    def to_dict(self) -> dict[str, Any]:
        """Return the rules as JSON-serialisable data (stored with the run)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rules:
        """Inverse of :meth:`to_dict`."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def rules_from_data(real: pd.DataFrame, mode: str, **overrides: Any) -> Rules:
    """Return default rules learned from the real data.

    Label set; 1st–99th percentile length; placeholders rejected unless over 1% of the real
    examples hold one; a word share of at least the real texts' 1st percentile (at most 0.5).
    """
    labels: tuple[str, ...] = ()
    if "category" in real.columns:
        labels = tuple(sorted({c for c in real["category"] if isinstance(c, str) and c}))
    lengths = [_real_length(r, mode) for _, r in real.iterrows()]
    lengths = [n for n in lengths if n > 0]
    low = high = None
    if lengths:
        low, high = (int(v) for v in np.percentile(lengths, [1, 99]))
    texts = [str(v or "") for column in _TEXT_COLUMNS if column in real.columns for v in real[column]]
    shares = [share for share in map(word_share, texts) if share is not None]
    min_share = min(_MAX_WORD_SHARE_FLOOR, float(np.percentile(shares, 1))) if shares else None
    with_placeholder = sum(1 for t in texts if find_placeholder(t)) / max(1, len(real))
    defaults = {
        "allowed_labels": labels,
        "min_chars": low,
        "max_chars": high,
        "reject_placeholders": with_placeholder <= _PLACEHOLDER_SHARE,
        "min_word_share": round(min_share, 3) if min_share else None,
    }
    return Rules(**{**defaults, **overrides})


QUALITY_CODES = (
    "empty_response",
    "refusal",
    "echo_response",
    "non_printing",
    "invalid_json_response",
    "language_mismatch",
    *PLACEHOLDERS,  # every PII and secret code that is redacted
)
"""The quality signals a generated example must pass (:mod:`core.quality`, the same codes as on real
data). Left out: the ones a short, plain teacher reply trips without being wrong (symbols, repetition
on templates, a reply cut at ``max_tokens`` is caught by the schema check instead)."""


def quality_reasons(record: dict[str, Any]) -> list[str]:
    """One reason per quality flag of ``record`` in :data:`QUALITY_CODES`: ``code: why ('span')``."""
    from core import quality, records

    report = quality.scan_quality(records.make_frame([record]))
    return [
        f"{flag.code}: {flag.reason} ({flag.text[:40]!r})"
        for flag in report.flags
        if flag.code in QUALITY_CODES
    ]


@dataclass
class Validator:
    """Validates generated examples of one run against rules and a near-duplicate index."""

    rules: Rules
    mode: str
    index: NearDupIndex = field(default_factory=near_dup_index)
    paraphrases: ParaphraseIndex | None = None
    answers: NearDupIndex = field(default_factory=near_dup_index)  # the real rows' (and seeds') answers

    def __post_init__(self) -> None:
        if self.paraphrases is None and self.rules.paraphrase_cosine is not None:
            self.paraphrases = ParaphraseIndex(self.rules.paraphrase_cosine)

    def seed_index(self, items: Iterable[tuple[str, str]]) -> None:
        """Add reference texts (real data, seeds, test split, earlier synthetic) to the indexes."""
        references = list(items)
        self.index.add_many(references)
        if self.paraphrases is not None:
            self.paraphrases.add_many(references)

    def answer_index(self, items: Iterable[tuple[str, str]]) -> None:
        """Add the answers of real rows (seeds among them) a new question must not be given again."""
        self.answers.add_many((key, text) for key, text in items if len(text.split()) >= COPIED_ANSWER_WORDS)

    def _copied_answer_reasons(self, record: dict[str, Any]) -> list[str]:
        answer = str(record.get("response_text") or "")
        if self.mode in ("paraphrase", "preference") or len(answer.split()) < COPIED_ANSWER_WORDS:
            return []
        copied = self.answers.query(answer)
        if not copied:
            return []
        key, jaccard = copied[0]
        return [f"copied_answer: the answer copies the answer of {key} (Jaccard {jaccard:.2f})"]

    def check(self, record: dict[str, Any]) -> list[str]:
        """Return every reason ``record`` fails (empty when it passes); a passing one joins the index."""
        reasons = _structure_reasons(record) or _format_reasons(record, self.rules.target_format)
        reasons += self._label_reasons(record) + self._length_reasons(record) + self._junk_reasons(record)
        reasons += self._language_reasons(record) + self._regex_reasons(record) + self._schema_reasons(record)
        reasons += quality_reasons(record)
        text = example_text(record, self.mode)
        prepared = self.index.prepare(text)
        dup = self.index.query(text, prepared=prepared)
        if dup:
            reasons.append(f"near duplicate of {dup[0][0]} (Jaccard {dup[0][1]:.2f})")
        elif self.paraphrases is not None:
            reasons += self._paraphrase_reasons(text)
        if not dup:
            reasons += self._copied_answer_reasons(record)
        if not reasons:
            self.index.add(f"synthetic:{record['id']}", text, prepared=prepared)
            if self.paraphrases is not None:
                self.paraphrases.add(f"synthetic:{record['id']}", text)
        return reasons

    def _paraphrase_reasons(self, text: str) -> list[str]:
        assert self.paraphrases is not None
        match = self.paraphrases.query(text)
        if match is None:
            return []
        key, cosine = match
        return [f"paraphrase: restates {key} (cosine {cosine:.2f} >= {self.paraphrases.cosine:.2f})"]

    def _label_reasons(self, record: dict[str, Any]) -> list[str]:
        label = record.get("category")
        if self.rules.allowed_labels and label is not None and label not in self.rules.allowed_labels:
            return [f"label {label!r} not in the allowed set"]
        return []

    def _length_reasons(self, record: dict[str, Any]) -> list[str]:
        length = len(example_text(record, self.mode))
        if self.rules.min_chars is not None and length < self.rules.min_chars:
            return [f"too short: {length} chars < {self.rules.min_chars} (1st percentile of real data)"]
        if self.rules.max_chars is not None and length > self.rules.max_chars:
            return [f"too long: {length} chars > {self.rules.max_chars} (99th percentile of real data)"]
        return []

    def _junk_reasons(self, record: dict[str, Any]) -> list[str]:
        reasons = []
        for column, part in _TEXT_PARTS:
            text = str(record.get(column) or "")
            placeholder = find_placeholder(text) if self.rules.reject_placeholders else None
            if placeholder:
                reasons.append(f"unfilled placeholder in the {part}: {placeholder[:60]!r}")
            share = word_share(text)
            floor = self.rules.min_word_share
            if floor is not None and share is not None and share < floor:
                reasons.append(
                    f"the {part} is mostly not words ({share:.0%} words, real data at least {floor:.0%})"
                )
        return reasons

    def _language_reasons(self, record: dict[str, Any]) -> list[str]:
        # the run's language, or the one a gap target asked for (set on the record by the prompt builder)
        expected = self.rules.language or record.get("language")
        if not isinstance(expected, str) or not expected:
            return []
        found = lang.detect_language(example_text(record, self.mode))
        if found != lang.UNDETERMINED and found != lang.normalize_code(expected):
            return [f"language {found!r}, expected {expected!r}"]
        return []

    def _regex_reasons(self, record: dict[str, Any]) -> list[str]:
        text = example_text(record, self.mode)
        reasons = [
            f"does not match required pattern {p!r}" for p in self.rules.must_match if not re.search(p, text)
        ]
        reasons += [
            f"matches forbidden pattern {p!r}" for p in self.rules.must_not_match if re.search(p, text)
        ]
        return reasons

    def _schema_reasons(self, record: dict[str, Any]) -> list[str]:
        if not self.rules.json_schema:
            return []
        import json

        import jsonschema

        answer = str(record.get("response_text") or "")
        try:
            jsonschema.validate(json.loads(answer), self.rules.json_schema)
        except json.JSONDecodeError:
            return ["answer is not JSON (a JSON Schema is set)"]
        except jsonschema.ValidationError as exc:
            return [f"answer fails the JSON Schema: {exc.message}"]
        return []


def _structure_reasons(record: dict[str, Any]) -> list[str]:
    messages = record.get("messages") or []
    if not messages or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        return ["messages must be a non-empty list of {role, content} objects"]
    roles = [m.get("role") for m in messages]
    if "user" not in roles:
        return ["no user message"]
    if record.get("kind") == "preference":
        if not record.get("chosen") or not record.get("rejected"):
            return ["preference example needs chosen and rejected answers"]
        if record.get("response_text") == record.get("rejected_text"):
            return ["chosen and rejected answers are identical"]
    elif roles[-1] != "assistant":
        return ["the last message must be the assistant's reply"]
    return []


def _format_reasons(record: dict[str, Any], target_format: str | None) -> list[str]:
    """Write the record in the target format and read it back with ``core.formats``'s validation."""
    if not target_format:
        return []
    try:
        from core import formats, records
    except ImportError:  # formats not in this tree: the structure check above is all we have
        return []
    try:
        # two copies: a one-line file holding a single object reads as a wrapper, not as JSONL
        data, problems = formats.write_dataset(records.make_frame([record, record]), target_format)
        if not any(p.severity == "error" for p in problems):
            problems = formats.load_dataset(data, f"check.{_extension(data)}", format=target_format).problems
    except (ValueError, DatasetError) as exc:
        return [f"format {target_format}: {exc}"]
    first_row = [
        f"format {target_format}: {p.message}" for p in problems if p.severity == "error" and p.line == 1
    ]
    return list(dict.fromkeys(first_row))


def target_format_for(source_format: str | None, mode: str) -> str | None:
    """Return the format generated examples must fit: the seeds' own, or one for their kind."""
    try:
        from core import formats
    except ImportError:
        return None
    kind = "preference" if mode == "preference" else "sft"
    if source_format in formats.FORMAT_NAMES and kind in formats.format_kinds(source_format):
        return source_format
    options = formats.formats_for_kind(kind)
    return options[0] if options else None


def _extension(data: bytes) -> str:
    return "json" if data.lstrip()[:1] == b"[" else "jsonl"
