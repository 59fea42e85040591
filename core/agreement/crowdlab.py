"""Consensus labels and annotator quality with cleanlab's CROWDLAB, beside kappa and alpha.

Kappa and alpha say how much annotators agree; CROWDLAB (Goh, Tkachenko and Mueller, 2022,
:func:`cleanlab.multiannotator.get_label_quality_multiannotator`) says which label each item most
likely has, how sure that is, and how good each annotator is, weighing every annotator by how
often they agree with the others and with a classifier. The classifier's out-of-fold
probabilities come from the items' texts when there are enough of them (TF-IDF and logistic
regression, :data:`FOLDS`-fold cross-validation on the majority labels, seeded); otherwise from
the votes themselves (each item's label shares, smoothed), so CROWDLAB then weighs annotators by
agreement alone. ``method`` in the result says which.

cleanlab is optional: :func:`available` says whether it imports here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.agreement.disputes import majority_labels

FOLDS = 5
_MIN_TEXT_SHARE = 0.9  # of the items with a text, for the classifier to be trained on them


@dataclass(frozen=True)
class Crowdlab:
    """CROWDLAB's consensus per item and quality per annotator.

    Attributes:
        consensus: Per item (index ``item_id``): ``label``, ``quality`` (0-1, how likely the
            label is right) and ``agreement`` (share of its annotators who gave it).
        annotators: Per annotator (index ``annotator``): ``quality`` (0-1), ``agreement`` (share of
            their labels equal to the consensus), ``labelled`` and ``worst_label`` (the label
            they get wrong most).
        method: Where the classifier's probabilities came from: ``texts`` or ``votes``.
    """

    consensus: pd.DataFrame
    annotators: pd.DataFrame
    method: str


def available() -> bool:
    """Whether cleanlab is installed."""
    return importlib.util.find_spec("cleanlab") is not None


def crowdlab_consensus(
    matrix: pd.DataFrame, texts: Mapping[str, str] | None = None, *, seed: int = 0
) -> Crowdlab:
    """Run CROWDLAB on a label matrix (items x annotators; ``None`` where an annotator did not label).

    Raises:
        ValueError: If fewer than two labels or two annotators are there, or cleanlab is missing.
    """
    if not available():
        raise ValueError("cleanlab is not installed: pip install 'cleanlab>=2.7,<3'")
    from cleanlab.multiannotator import get_label_quality_multiannotator

    matrix = matrix[matrix.notna().any(axis=1)]
    matrix = matrix.loc[:, matrix.notna().any(axis=0)]
    labels = sorted({str(v) for v in matrix.to_numpy().ravel() if not pd.isna(v)})
    if len(labels) < 2 or matrix.shape[1] < 2:
        raise ValueError(
            f"CROWDLAB needs two labels and two annotators, got {labels} and {list(matrix.columns)}"
        )
    codes = matrix.apply(
        lambda column: column.map(lambda v: labels.index(str(v)) if not pd.isna(v) else np.nan)
    )
    probs, method = _pred_probs(matrix, codes.to_numpy(dtype=float), labels, texts, seed)
    result = get_label_quality_multiannotator(codes, probs, verbose=False)
    return Crowdlab(
        _consensus(result["label_quality"], labels, matrix.index),
        _annotators(result["annotator_stats"], labels),
        method,
    )


def _pred_probs(
    matrix: pd.DataFrame, codes: np.ndarray, labels: list[str], texts: Mapping[str, str] | None, seed: int
) -> tuple[np.ndarray, str]:
    k = len(labels)
    counts = np.stack([(codes == c).sum(axis=1) for c in range(k)], axis=1).astype(float)
    votes = (counts + 1 / k) / (counts.sum(axis=1, keepdims=True) + 1)
    item_texts = [str((texts or {}).get(str(i), "") or "") for i in matrix.index]
    majority = majority_labels(matrix)["label"].to_numpy()
    target = np.array([labels.index(str(m)) if m is not None else -1 for m in majority])
    has_text = np.array([bool(t.strip()) for t in item_texts])
    known = has_text & (target >= 0)  # a tie trains nothing
    per_class = np.bincount(target[known], minlength=k) if known.any() else np.zeros(k, dtype=int)
    if has_text.mean() < _MIN_TEXT_SHARE or per_class.min() < FOLDS:
        return votes, "votes"
    return _classifier_probs(item_texts, target, known, votes, seed), "texts"


def _classifier_probs(
    texts: list[str], target: np.ndarray, known: np.ndarray, votes: np.ndarray, seed: int
) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    features = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(texts)
    rows = np.flatnonzero(known)
    model = LogisticRegression(max_iter=1000)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    out = votes.copy()  # items without a text or a majority keep their vote shares
    out[rows] = cross_val_predict(model, features[rows], target[rows], cv=folds, method="predict_proba")
    return out


def _consensus(table: pd.DataFrame, labels: list[str], index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": [labels[int(c)] for c in table["consensus_label"]],
            "quality": table["consensus_quality_score"].to_numpy(dtype=float).round(4),
            "agreement": table["annotator_agreement"].to_numpy(dtype=float).round(4),
        },
        index=pd.Index(index, name="item_id"),
    )


def _annotators(stats: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "quality": stats["annotator_quality"].to_numpy(dtype=float).round(4),
            "agreement": stats["agreement_with_consensus"].to_numpy(dtype=float).round(4),
            "labelled": stats["num_examples_labeled"].to_numpy(dtype=int),
            "worst_label": [labels[int(c)] for c in stats["worst_class"]],
        },
        index=pd.Index([str(a) for a in stats.index], name="annotator"),
    )
    return out.sort_values("quality", ascending=False)
