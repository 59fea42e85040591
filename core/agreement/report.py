"""The agreement report: overall and pairwise figures, the gate, confusions, annotators."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.agreement.metrics import (
    LEVELS,
    Level,
    Weights,
    _categories,
    _check_weights,
    _counts,
    _encode,
    _kappa_batch,
    _pair_codes,
    _weight_matrix,
    bootstrap_ci,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha,
    percent_agreement,
)
from core.errors import DatasetError

GATE_THRESHOLD = 0.7


GATE_ADVICE = (
    "Agreement is below kappa 0.7: these labels are closer to noise than signal. "
    "Retrain the annotators on the guidelines, or merge labels that people cannot tell apart."
)


_DRIFT_MARGIN = 0.1


@dataclass(frozen=True)
class PairKappa:
    """Cohen's kappa of one annotator pair on the ``n`` items both labelled."""

    a: str
    b: str
    kappa: float
    n: int
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class Gate:
    """The 0.7 bar: overall kappa and each label's one-vs-rest kappa."""

    kappa: float
    threshold: float = GATE_THRESHOLD
    flagged_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")

    @property
    def passed(self) -> bool:
        """True when the overall kappa reaches the threshold (an undefined kappa fails)."""
        return math.isfinite(self.kappa) and self.kappa >= self.threshold

    @property
    def status(self) -> str:
        """``pass`` or ``fail``."""
        return "pass" if self.passed else "fail"

    @property
    def advice(self) -> str:
        """What to do: the plain advice when the gate fails, else an empty string."""
        return "" if self.passed else GATE_ADVICE


def check_gate(
    kappa: float, per_label: Mapping[str, float] | None = None, *, threshold: float = GATE_THRESHOLD
) -> Gate:
    """Return the gate: ``kappa < threshold`` fails; labels whose kappa is under it are flagged."""
    flagged = tuple(
        label
        for label, value in (per_label or {}).items()
        if not (math.isfinite(value) and value >= threshold)
    )
    return Gate(kappa=float(kappa), threshold=threshold, flagged_labels=flagged)


@dataclass(frozen=True)
class AgreementConfig:
    """How to read the labels: nominal, or ordinal with an order (then kappa can be weighted)."""

    order: tuple[str, ...] | None = None
    weights: Weights | None = None
    level: Level = "nominal"
    n_resamples: int = 0
    threshold: float = GATE_THRESHOLD

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        _check_weights(self.weights, self.order)
        if self.level == "ordinal" and self.order is None:
            raise ValueError("ordinal level needs the label order")
        if self.n_resamples < 0:
            raise ValueError(f"n_resamples must be >= 0, got {self.n_resamples}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")


@dataclass(frozen=True)
class AgreementReport:
    """Every agreement number of one label matrix."""

    items: int
    annotators: tuple[str, ...]
    labels: tuple[str, ...]
    percent_agreement: float
    unanimous_share: float
    pairwise: tuple[PairKappa, ...]
    fleiss_kappa: float | None
    krippendorff_alpha: float
    overall_kappa: float
    overall_method: str
    per_label: dict[str, float] = field(default_factory=dict)
    gate: Gate = field(default_factory=lambda: Gate(kappa=math.nan))
    kappa_ci: tuple[float, float] | None = None
    alpha_ci: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the command-line JSON shape (NaN becomes ``None``)."""
        return {
            "items": self.items,
            "annotators": list(self.annotators),
            "percent_agreement": _finite(self.percent_agreement),
            "pairwise": [{"a": p.a, "b": p.b, "kappa": _finite(p.kappa), "n": p.n} for p in self.pairwise],
            "fleiss_kappa": _finite(self.fleiss_kappa),
            "krippendorff_alpha": _finite(self.krippendorff_alpha),
            "per_label": {label: _finite(value) for label, value in self.per_label.items()},
            "gate": self.gate.status,
            "overall_kappa": _finite(self.overall_kappa),
            "overall_method": self.overall_method,
            "kappa_ci": list(self.kappa_ci) if self.kappa_ci else None,
            "krippendorff_alpha_ci": list(self.alpha_ci) if self.alpha_ci else None,
        }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def pairwise_kappas(
    matrix: pd.DataFrame, config: AgreementConfig | None = None, *, seed: int = 0
) -> tuple[PairKappa, ...]:
    """Return Cohen's kappa for every annotator pair (weighted when ``config.weights`` is set)."""
    config = config or AgreementConfig()
    out = []
    for a, b in itertools.combinations(matrix.columns, 2):
        kappa, n = cohen_kappa(matrix, a, b, order=config.order, weights=config.weights)
        ci = None
        if config.n_resamples and n:
            ci = bootstrap_ci(
                matrix, "cohen", pair=(a, b), n_resamples=config.n_resamples, seed=seed,
                order=config.order, weights=config.weights,
            )  # fmt: skip
        out.append(PairKappa(str(a), str(b), kappa, n, ci))
    return tuple(out)


def per_label_kappa(matrix: pd.DataFrame) -> dict[str, float]:
    """Return each label's one-vs-rest kappa (Cohen with two annotators, Fleiss with more)."""
    categories = _categories(matrix, None)
    codes = _encode(matrix, categories)
    counts = _counts(codes, len(categories))
    out = {}
    for index, label in enumerate(categories):
        if matrix.shape[1] == 2:
            binary = np.where(codes < 0, -1, (codes == index).astype(int))
            pair = _pair_codes(binary, 0, 1)
            confusion = np.zeros((1, 2, 2))
            np.add.at(confusion[0], (pair[:, 0], pair[:, 1]), 1)
            out[label] = float(_kappa_batch(confusion, _weight_matrix(2, None))[0])
        else:
            binary = np.stack([counts[:, index], counts.sum(axis=1) - counts[:, index]], axis=1)
            out[label] = fleiss_kappa_from_counts(binary)
    return out


def _unanimous_share(matrix: pd.DataFrame) -> float:
    labelled = matrix.notna().sum(axis=1) >= 2
    if not labelled.any():
        return math.nan
    distinct = matrix[labelled].apply(lambda row: row.dropna().nunique(), axis=1)
    return float((distinct == 1).mean())


def _check_matrix(matrix: pd.DataFrame) -> None:
    if matrix.shape[1] < 2:
        raise DatasetError(f"need labels from at least two annotators, got {list(matrix.columns)}")
    if not (matrix.notna().sum(axis=1) >= 2).any():
        raise DatasetError("no item has labels from two annotators, so agreement cannot be measured")


def compute_report(
    matrix: pd.DataFrame, config: AgreementConfig | None = None, *, seed: int = 0
) -> AgreementReport:
    """Compute every agreement number and the gate for a label matrix.

    Args:
        matrix: The label matrix (items x annotators, ``None`` where missing).
        config: Ordinal order, kappa weights, alpha level, bootstrap resamples (0 = no intervals).
        seed: Seed of the bootstrap.

    Returns:
        The report.

    Raises:
        DatasetError: With fewer than two annotators, no item labelled twice, or labels outside the order.
    """
    config = config or AgreementConfig()
    _check_matrix(matrix)
    labels = tuple(_categories(matrix, config.order))
    pairwise = pairwise_kappas(matrix, config, seed=seed)
    fleiss = fleiss_kappa(matrix) if matrix.shape[1] >= 3 else None
    overall = fleiss if fleiss is not None else pairwise[0].kappa
    per_label = per_label_kappa(matrix)
    kappa_ci = alpha_ci = None
    if config.n_resamples:
        kappa_ci = (
            bootstrap_ci(matrix, "fleiss", n_resamples=config.n_resamples, seed=seed)
            if fleiss is not None
            else pairwise[0].ci
        )
        alpha_ci = bootstrap_ci(
            matrix, "alpha", n_resamples=config.n_resamples, seed=seed, level=config.level, order=config.order
        )
    return AgreementReport(
        items=int((matrix.notna().sum(axis=1) >= 1).sum()),
        annotators=tuple(str(c) for c in matrix.columns),
        labels=labels,
        percent_agreement=percent_agreement(matrix),
        unanimous_share=_unanimous_share(matrix),
        pairwise=pairwise,
        fleiss_kappa=fleiss,
        krippendorff_alpha=krippendorff_alpha(matrix, level=config.level, order=config.order),
        overall_kappa=float(overall),
        overall_method="Fleiss' kappa"
        if fleiss is not None
        else "Cohen's kappa" + (f" ({config.weights} weights)" if config.weights else ""),
        per_label=per_label,
        gate=check_gate(overall, per_label, threshold=config.threshold),
        kappa_ci=kappa_ci,
        alpha_ci=alpha_ci,
    )


def confusion_matrix(
    matrix: pd.DataFrame, a: str, b: str, *, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the confusion matrix of annotators ``a`` (rows) and ``b`` (columns) on items both labelled."""
    for name in (a, b):
        if name not in matrix.columns:
            raise ValueError(f"unknown annotator {name!r}; expected one of {list(matrix.columns)}")
    categories = list(labels) if labels is not None else _categories(matrix, None)
    pair = matrix[[a, b]].dropna()
    table = pd.crosstab(
        pd.Categorical(pair[a], categories), pd.Categorical(pair[b], categories), dropna=False
    )
    table.index = pd.Index(categories, name=a)
    table.columns = pd.Index(categories, name=b)
    return table.astype(int)


@dataclass(frozen=True)
class ConfusedPair:
    """Two labels that annotators confuse: how often, and on which items."""

    labels: tuple[str, str]
    count: int
    share: float
    item_ids: tuple[str, ...]


def confused_pairs(matrix: pd.DataFrame, *, top: int = 10) -> list[ConfusedPair]:
    """Return the label pairs most often given to the same item by two annotators, most first.

    ``count`` counts disagreeing annotator pairs; ``share`` is that count over all disagreements.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    tally: dict[tuple[str, str], list[str]] = {}
    for a, b in itertools.combinations(matrix.columns, 2):
        pair = matrix[[a, b]].dropna()
        for item_id, x, y in zip(pair.index, pair[a], pair[b], strict=True):
            if x != y:
                tally.setdefault(tuple(sorted((x, y))), []).append(item_id)  # type: ignore[arg-type]
    total = sum(len(v) for v in tally.values())
    ranked = sorted(tally.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return [
        ConfusedPair(labels=key, count=len(ids), share=len(ids) / total, item_ids=tuple(dict.fromkeys(ids)))
        for key, ids in ranked
    ]


def annotator_agreement(matrix: pd.DataFrame, pairwise: Sequence[PairKappa] | None = None) -> pd.DataFrame:
    """Return, per annotator, agreement with the others and whether they drift.

    Columns: ``annotator``, ``labelled`` (items), ``agreement`` (share of agreeing pairs with the
    others), ``mean_kappa`` (mean Cohen's kappa with each other annotator), ``drifting`` (with
    three or more annotators: the lowest mean kappa, at least 0.1 under the others' mean).
    """
    pairwise = pairwise if pairwise is not None else pairwise_kappas(matrix)
    rows = []
    for name in matrix.columns:
        kappas = [p.kappa for p in pairwise if name in (p.a, p.b) and math.isfinite(p.kappa)]
        rows.append(
            {
                "annotator": str(name),
                "labelled": int(matrix[name].notna().sum()),
                "agreement": _agreement_with_rest(matrix, name),
                "mean_kappa": float(np.mean(kappas)) if kappas else math.nan,
            }
        )
    table = pd.DataFrame(rows)
    table["drifting"] = _drifting(table["mean_kappa"].to_numpy(dtype=float))
    return table


def _agreement_with_rest(matrix: pd.DataFrame, name: str) -> float:
    agree = total = 0
    for other in matrix.columns:
        if other == name:
            continue
        pair = matrix[[name, other]].dropna()
        agree += int((pair[name] == pair[other]).sum())
        total += len(pair)
    return agree / total if total else math.nan


def _drifting(mean_kappas: np.ndarray) -> list[bool]:
    if len(mean_kappas) < 3 or not np.isfinite(mean_kappas).any():
        return [False] * len(mean_kappas)
    lowest = int(np.nanargmin(mean_kappas))
    others = np.delete(mean_kappas, lowest)
    drifts = bool(np.nanmean(others) - mean_kappas[lowest] >= _DRIFT_MARGIN)
    return [drifts and i == lowest for i in range(len(mean_kappas))]
