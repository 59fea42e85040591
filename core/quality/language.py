"""A reply in another language than its prompt (``language_mismatch``), read by :mod:`core.lang`.

A reply is compared with the user turn before it. Both must be long enough to read with
confidence (:data:`MIN_LETTERS` letters each; fastText misfires on short texts, see
:mod:`core.lang`), neither may be undetermined, and code (fenced or inline) is left out of the
reply first: code says nothing of the language. A prompt or system prompt that names a language
("Translate into French", "Always answer in English") is not checked, since the answer is meant
to be in that language.

Detection is the costly part (tens of microseconds a text), so :func:`start_mismatch_check`
hands most of it to a forked child for big tables (as the Distribution step does,
:mod:`core._fork`) while the other signals run here;
the result is the same whether the child ran or not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import lang
from core.quality.base import Fields, Flag
from core.quality.heuristics import reply_positions

CODES = ("language_mismatch",)
MIN_LETTERS = lang.SECOND_READING_LETTERS  # below it a text is read twice and still often wrong
_FORK_FROM_TEXTS = 20_000  # core.profile's own threshold: below it a child costs more than it saves
_CODE = r"(?s)```.*?(?:```|$)|`[^`\n]*`"
_NAMES_LANGUAGE = (
    r"(?i)translat|tradu[cizeé]|übersetz|\b(?:english|spanish|french|german|italian|portuguese|dutch"
    r"|chinese|japanese|korean|russian|arabic|hindi|polish|turkish|inglés|español|castellano|francés"
    r"|alemán|anglais|français|espagnol|allemand|englisch|deutsch|spanisch|französisch|italiano"
    r"|italien|italienisch)\b|中文|英文|日本語|영어"
)
_NOT_LETTERS = r"[^\pL]+"


def start_mismatch_check(frame: pd.DataFrame, fields: Fields) -> Callable[[], list[Flag]]:
    """Start reading the languages of the replies and prompts of ``frame``; the call returns the flags."""
    replies = reply_positions(fields)
    prompts = _prompt_of(fields, replies)
    reply_text = pc.replace_substring_regex(fields.text.take(pa.array(replies, type=pa.int64())), _CODE, " ")
    checked = np.flatnonzero(
        _readable(reply_text) & _readable(prompts) & ~_names_language(frame, fields, replies, prompts)
    )
    pairs = [str(v) for v in reply_text.take(pa.array(checked, type=pa.int64())).to_pylist()] + [
        str(v) for v in prompts.take(pa.array(checked, type=pa.int64())).to_pylist()
    ]
    detect = _detection(pairs)

    def flags() -> list[Flag]:
        codes = detect()
        said, asked = codes[: len(checked)], codes[len(checked) :]
        out = []
        for i, reply_code, prompt_code in zip(checked.tolist(), said, asked, strict=True):
            if lang.UNDETERMINED not in (reply_code, prompt_code) and reply_code != prompt_code:
                position = int(replies[i])
                value = fields.texts(np.asarray([position]))[0]
                why = f"the prompt is in {prompt_code}, the reply in {reply_code}"
                out.append(
                    Flag(
                        int(fields.row[position]),
                        "heuristics",
                        CODES[0],
                        fields.field[position],
                        0,
                        len(value),
                        value[:80],
                        why,
                    )
                )
        return out

    return flags


def _readable(text: pa.Array) -> np.ndarray:
    # the letters are what is left once every run of non-letters is cut out: one match a run, not a character
    letters = pc.utf8_length(pc.replace_substring_regex(text, _NOT_LETTERS, ""))
    return np.asarray(letters.to_numpy(zero_copy_only=False) >= MIN_LETTERS, dtype=bool)


def _names_language(
    frame: pd.DataFrame, fields: Fields, replies: np.ndarray, prompts: pa.Array
) -> np.ndarray:
    named = pc.match_substring_regex(prompts, _NAMES_LANGUAGE).to_numpy(zero_copy_only=False)
    if "system_text" in frame.columns and len(replies):
        system = pa.array(frame["system_text"].fillna("").astype(str).tolist(), type=pa.large_string())
        asks = pc.match_substring_regex(system, _NAMES_LANGUAGE).to_numpy(zero_copy_only=False)
        named = named | asks[fields.row[replies]]
    return np.asarray(named, dtype=bool)


def _prompt_of(fields: Fields, replies: np.ndarray) -> pa.Array:
    """The user turn before each reply in its example ("" when there is none)."""
    users = np.flatnonzero(np.asarray(fields.role, dtype=object) == "user")
    if not len(users):
        return pa.array([""] * len(replies), type=pa.large_string())
    before = np.searchsorted(users, replies) - 1  # fields are in example order, then turn order
    position = users[np.maximum(before, 0)]
    found = (before >= 0) & (fields.row[position] == fields.row[replies])
    text = fields.text.take(pa.array(position, type=pa.int64()))
    return pc.if_else(pa.array(found), text, pa.scalar("", pa.large_string()))


def _detection(texts: list[str]) -> Callable[[], list[str]]:
    if len(texts) < _FORK_FROM_TEXTS:  # not worth a child, nor importing the Distribution step
        return lambda: lang.detect_languages(texts)
    # the Distribution step's split of language detection between a forked child and this process
    from core.profile.texts import _languages_of

    return _languages_of(texts)
