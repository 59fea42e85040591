"""How diverse a synthetic batch is, and which rows the paraphrase check stopped, with what they restate.

"Diverse, or mostly paraphrases?" is one of the manual review's three questions. :func:`batch_diversity`
answers it with each row's nearest neighbour inside the batch (embedding cosine,
:func:`core.semantic.novelty.row_novelty`): the median nearest cosine, the share of rows at or above
the paraphrase cosine, and the closest pairs. :func:`restated_rows` pairs each row the synthetic
validators rejected with ``paraphrase: restates <key>`` with the text it restates, so the reviewer sees
both side by side.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from core.semantic.novelty import row_novelty
from core.semantic.pairs import PairSettings

_RESTATES = re.compile(r"^paraphrase: restates (?P<key>\S+) \(cosine (?P<cosine>[0-9.]+)")
RESTATED_COLUMNS = ("id", "text", "restates", "restated text", "cosine")


@dataclasses.dataclass(frozen=True)
class BatchDiversity:
    """Nearest-neighbour cosines within one batch.

    Attributes:
        rows: Rows compared (with text).
        median_cosine: Median over rows of the cosine to the nearest other row (0.0 with fewer than 2 rows).
        paraphrase_share: Share of rows whose nearest other row is at or above ``cosine``.
        cosine: The paraphrase threshold.
        closest: The closest pairs, closest first: ``a``, ``b`` (row positions), ``cosine``.
    """

    rows: int
    median_cosine: float
    paraphrase_share: float
    cosine: float
    closest: tuple[tuple[int, int, float], ...]

    def closest_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the closest pairs with both rows' ids and prompts."""
        ids = (
            frame["id"].astype(str).tolist() if "id" in frame.columns else [str(i) for i in range(len(frame))]
        )
        prompts = (
            frame["prompt_text"].fillna("").astype(str).tolist() if "prompt_text" in frame.columns else []
        )
        return pd.DataFrame(
            [
                {
                    "cosine": round(cos, 3),
                    "id": ids[a],
                    "prompt": prompts[a][:300] if prompts else "",
                    "nearest id": ids[b],
                    "nearest prompt": prompts[b][:300] if prompts else "",
                }
                for a, b, cos in self.closest
            ],
            columns=["cosine", "id", "prompt", "nearest id", "nearest prompt"],
        )


def batch_diversity(frame: pd.DataFrame, settings: PairSettings, *, top: int = 10) -> BatchDiversity:
    """Return the batch's nearest-neighbour cosines under ``settings``' scope and paraphrase cosine.

    Args:
        frame: The batch's rows.
        settings: Scope of the text compared and the cosine at which a row restates another.
        top: How many closest pairs to keep.
    """
    found = row_novelty(frame, settings)
    present = found.nearest >= 0
    cosines = (1.0 - found.scores)[present]
    if cosines.size == 0:
        return BatchDiversity(int(present.sum()), 0.0, 0.0, settings.cosine, ())
    pairs: dict[tuple[int, int], float] = {}
    for row in np.flatnonzero(present):
        other = int(found.nearest[row])
        pairs[(min(int(row), other), max(int(row), other))] = float(1.0 - found.scores[row])
    closest = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:top]
    return BatchDiversity(
        rows=int(present.sum()),
        median_cosine=round(float(np.median(cosines)), 4),
        paraphrase_share=round(float((cosines >= settings.cosine - 1e-6).mean()), 4),
        cosine=settings.cosine,
        closest=tuple((a, b, round(cos, 4)) for (a, b), cos in closest),
    )


def restated_keys(reasons: Iterable[str]) -> list[tuple[str, float]]:
    """Return the ``(key, cosine)`` of every ``paraphrase: restates <key>`` reason."""
    found = []
    for reason in reasons:
        match = _RESTATES.match(str(reason))
        if match:
            found.append((match["key"], float(match["cosine"])))
    return found


def restated_rows(batch: pd.DataFrame, references: Mapping[str, str]) -> pd.DataFrame:
    """Return each row the paraphrase check stopped beside the text it restates.

    Args:
        batch: The batch with its ``reasons`` column
            (:func:`core.synth.batch_examples` with ``valid_only=False``).
        references: Reference key (``real:<id>``, ``synthetic:<id>``, ...) to its text; a key not found
            shows an empty text.
    """
    rows = []
    if "reasons" in batch.columns:
        for row in batch.itertuples(index=False):
            for key, cosine in restated_keys(getattr(row, "reasons", None) or []):
                rows.append(
                    {
                        "id": str(getattr(row, "id", "")),
                        "text": str(getattr(row, "prompt_text", "") or ""),
                        "restates": key,
                        "restated text": references.get(key, ""),
                        "cosine": cosine,
                    }
                )
    return pd.DataFrame(rows, columns=list(RESTATED_COLUMNS))


def reference_texts(dataset: pd.DataFrame | None, synthetic: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return the paraphrase check's references by key: ``real:<id>`` prompts, synthetic texts.

    Args:
        dataset: The current dataset (its prompts, under ``real:<id>``).
        synthetic: ``(example id, text)`` of the stored synthetic examples
            (:func:`core.synth.store.synthetic_texts`): keyed by the bare id, as earlier runs' are, and
            as ``synthetic:<id>``, as the run's own accepted examples are.
    """
    texts: dict[str, str] = {}
    for key, text in synthetic:
        texts[key] = texts[f"synthetic:{key}"] = text
    if dataset is not None and not dataset.empty and "id" in dataset.columns:
        prompts = (
            dataset["prompt_text"] if "prompt_text" in dataset.columns else pd.Series([""] * len(dataset))
        )
        for row_id, prompt in zip(dataset["id"].astype(str), prompts.fillna("").astype(str), strict=True):
            texts[f"real:{row_id}"] = prompt
    return texts
