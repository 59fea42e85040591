"""Inter-annotator agreement: kappas, Krippendorff's alpha, where annotators disagree, consolidation.

Labels live in a *label matrix*: a DataFrame indexed by item id (index name ``item_id``),
one column per annotator, each cell a label (``str``) or ``None`` when that annotator did not
label the item. :func:`to_label_matrix` builds it from a wide table (one column per
annotator) or a long one (``item_id, annotator, label``); :func:`read_label_file` reads CSV
or JSONL bytes first.

Metrics and the conventions they follow:

- *Percent agreement*: Fleiss' observed agreement, the mean over items with two or more
  labels of the share of agreeing annotator pairs on that item.
- *Cohen's kappa* per annotator pair: :func:`sklearn.metrics.cohen_kappa_score` on the items
  both labelled; linear / quadratic weights when the labels are ordinal and an order is given.
- *Fleiss' kappa* (three or more annotators). Items may have different numbers of labels:
  items with fewer than two labels are left out, the observed agreement is the mean of the
  per-item agreement ``P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))`` and the chance agreement
  uses the category shares pooled over every label given. With a constant number of raters
  this is exactly Fleiss (1971).
- *Krippendorff's alpha* (nominal / ordinal / interval) from the coincidence matrix; missing
  labels are simply absent and items with one label do not count (Krippendorff 2011).
- The *overall kappa* the gate reads is Cohen's kappa with two annotators and Fleiss' kappa
  with three or more. *Per-label* kappa is the same statistic on the one-vs-rest labels.
- A kappa whose chance agreement is 1 (everyone used one single label) is 1.0 when the
  annotators agree perfectly and NaN otherwise.
- Bootstrap confidence intervals resample items with replacement (percentile method, seeded).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core import records
from core.errors import DatasetError, FormatError
from core.workspace import Workspace, now_iso

GATE_THRESHOLD = 0.7
GATE_ADVICE = (
    "Agreement is below kappa 0.7: these labels are closer to noise than signal. "
    "Retrain the annotators on the guidelines, or merge labels that people cannot tell apart."
)
GUIDELINES_KEY = "labels.guidelines"
UPLOAD_KEY = "agreement.upload"
TIE_POLICIES = ("flag", "drop", "adjudicate")
LEVELS = ("nominal", "ordinal", "interval")
WEIGHTS = ("linear", "quadratic")
LONG_COLUMNS = ("item_id", "annotator", "label")
_DRIFT_MARGIN = 0.1
_ANNOTATOR_NAME = re.compile(r"^(annotator|annot|rater|coder|labeler|labeller|judge|label)[\s_\-]?\w*$", re.I)
_NOT_ANNOTATORS = {"label_status", "labels", "label"}
_ID_COLUMNS = ("item_id", "id")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS agreement_adjudications (
    item_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agreement_labels (
    item_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (item_id, annotator)
);
"""

Level = Literal["nominal", "ordinal", "interval"]
Weights = Literal["linear", "quadratic"]
TiePolicy = Literal["flag", "drop", "adjudicate"]


# -- reading labels ------------------------------------------------------------------------


def label_text(value: Any) -> str | None:
    """Return a label as text, or ``None`` when it is missing (None, NaN, blank)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value).strip()
    return text or None


def read_label_file(data: bytes, filename: str) -> pd.DataFrame:
    """Read a CSV or JSONL file of labels (or a dataset with annotator columns) into a table.

    JSONL rows get an ``id`` column when they have none: the canonical content id of their
    ``messages`` (the same id the dataset table uses), else their line number.

    Args:
        data: The file's bytes.
        filename: Its name; ``.jsonl`` / ``.ndjson`` / ``.json`` mean JSON lines, anything else CSV.

    Returns:
        One row per line, every value kept as text or ``None``.

    Raises:
        FormatError: If the file cannot be parsed (naming the file and line).
    """
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        return _read_jsonl(data, filename)
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FormatError(f"{filename}: cannot read as CSV ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    return table.astype(object).where(table.notna(), None)


def _read_jsonl(data: bytes, filename: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{filename}, line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise FormatError(f"{filename}, line {number}: expected a JSON object, got {type(row).__name__}")
        rows.append(_with_id(row, number))
    if not rows:
        raise FormatError(f"{filename}: no rows")
    return pd.DataFrame.from_records(rows)


def _with_id(row: dict[str, Any], number: int) -> dict[str, Any]:
    if any(key in row for key in _ID_COLUMNS):
        return row
    messages = row.get("messages")
    if isinstance(messages, list):
        return {"id": records.content_id("sft", messages, None, None, row.get("tools")), **row}
    return {"id": str(number), **row}


def guess_annotator_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns whose names look like annotators (``annotator_a``, ``rater2``, ``label_bob``)."""
    return [
        str(c)
        for c in frame.columns
        if _ANNOTATOR_NAME.match(str(c)) and str(c).lower() not in _NOT_ANNOTATORS
    ]


def candidate_label_columns(frame: pd.DataFrame, *, max_distinct: int = 50) -> list[str]:
    """Return the columns that could hold one annotator's labels: scalar, few distinct values."""
    skip = set(records.CORE_COLUMNS) - set(records.METADATA_COLUMNS) | {
        "created_at",
        "source",
        "label_status",
    }
    out = []
    for column in frame.columns:
        if column in skip or frame[column].dtype.kind in "fc":
            continue
        values = [label_text(v) for v in frame[column] if not isinstance(v, (list, dict))]
        distinct = {v for v in values if v is not None}
        if 2 <= len(distinct) <= max_distinct or (len(distinct) == 1 and _ANNOTATOR_NAME.match(str(column))):
            out.append(str(column))
    return out


def is_long(table: pd.DataFrame) -> bool:
    """Return True when ``table`` has the long-layout columns ``item_id, annotator, label``."""
    return set(LONG_COLUMNS) <= {str(c) for c in table.columns}


def to_label_matrix(
    table: pd.DataFrame,
    *,
    layout: Literal["auto", "wide", "long"] = "auto",
    annotators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Turn a wide or long table of labels into the label matrix (items x annotators).

    Args:
        table: A table from :func:`read_label_file` or the canonical dataset.
        layout: ``long`` (``item_id, annotator, label``), ``wide`` or ``auto`` (long if those columns exist).
        annotators: Wide layout only: the annotator columns (default: :func:`guess_annotator_columns`).

    Returns:
        The label matrix, indexed by item id.

    Raises:
        ValueError: If ``layout`` is unknown.
        DatasetError: If columns are missing, fewer than two annotators are found, or a long
            table gives one annotator two different labels for the same item.
    """
    if layout not in ("auto", "wide", "long"):
        raise ValueError(f"layout must be auto, wide or long, got {layout!r}")
    if layout == "long" or (layout == "auto" and annotators is None and is_long(table)):
        return _from_long(table)
    return _from_wide(table, annotators)


def _from_wide(table: pd.DataFrame, annotators: Sequence[str] | None) -> pd.DataFrame:
    columns = list(annotators) if annotators is not None else guess_annotator_columns(table)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DatasetError(f"annotator column(s) not found: {', '.join(missing)}")
    if len(columns) < 2:
        raise DatasetError(
            "need labels from at least two annotators: a column per annotator, e.g. annotator_a, annotator_b "
            f"(found {columns or 'none'})"
        )
    id_column = next((c for c in _ID_COLUMNS if c in table.columns), None)
    ids = [str(v) for v in table[id_column]] if id_column else [str(i) for i in range(1, len(table) + 1)]
    matrix = pd.DataFrame({c: [label_text(v) for v in table[c]] for c in columns}, dtype=object)
    matrix.index = pd.Index(ids, name="item_id", dtype=object)
    return _clean(matrix[~matrix.index.duplicated(keep="first")])


def _from_long(table: pd.DataFrame) -> pd.DataFrame:
    if not is_long(table):
        raise DatasetError(f"a long label table needs the columns {', '.join(LONG_COLUMNS)}")
    rows = pd.DataFrame(
        {
            "item_id": [label_text(v) for v in table["item_id"]],
            "annotator": [label_text(v) for v in table["annotator"]],
            "label": [label_text(v) for v in table["label"]],
        },
        dtype=object,
    ).dropna(subset=["item_id", "annotator"])
    rows = rows[rows["label"].notna()].drop_duplicates()
    clash = rows.duplicated(subset=["item_id", "annotator"], keep=False)
    if clash.any():
        first = rows[clash].iloc[0]
        raise DatasetError(
            f"annotator {first['annotator']!r} gave item {first['item_id']!r} more than one label"
        )
    matrix = rows.pivot(index="item_id", columns="annotator", values="label")
    matrix.columns = [str(c) for c in matrix.columns]
    if matrix.shape[1] < 2:
        raise DatasetError(f"need labels from at least two annotators, found {list(matrix.columns)}")
    return _clean(matrix.astype(object))


def _clean(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix.astype(object).where(matrix.notna(), None)
    out.index = pd.Index([str(i) for i in out.index], name="item_id", dtype=object)
    return out


def align_to_dataset(matrix: pd.DataFrame, dataset_ids: Iterable[str]) -> tuple[pd.DataFrame, int]:
    """Keep the labelled items that are in the dataset.

    Returns:
        The label matrix restricted to ``dataset_ids`` and the number of labelled items that
        matched no example.
    """
    wanted = {str(i) for i in dataset_ids}
    keep = [i in wanted for i in matrix.index]
    return matrix[keep], int(len(keep) - sum(keep))


def to_long(matrix: pd.DataFrame) -> pd.DataFrame:
    """Return the label matrix as a long table ``item_id, annotator, label`` (missing labels left out)."""
    long = matrix.reset_index().melt(id_vars="item_id", var_name="annotator", value_name="label")
    return long[long["label"].notna()].reset_index(drop=True)


# -- encoding ------------------------------------------------------------------------------


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def _categories(matrix: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    present = sorted({v for v in matrix.to_numpy().ravel() if _present(v)})
    if order is None:
        return present
    order = [str(o).strip() for o in order]
    unknown = [v for v in present if v not in order]
    if unknown:
        raise DatasetError(f"label(s) {', '.join(map(repr, unknown))} are not in the given order {order}")
    return order


def _encode(matrix: pd.DataFrame, categories: Sequence[str]) -> np.ndarray:
    """Return an int array items x annotators: the category index, -1 where missing."""
    lookup = {c: i for i, c in enumerate(categories)}
    values = matrix.to_numpy()
    return np.vectorize(lambda v: lookup.get(v, -1) if v is not None else -1, otypes=[int])(values).reshape(
        values.shape
    )


def _counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Return items x categories: how many annotators gave each category to each item."""
    counts = np.zeros((codes.shape[0], k), dtype=float)
    for column in codes.T:
        present = column >= 0
        counts[np.flatnonzero(present), column[present]] += 1
    return counts


# -- the statistics --------------------------------------------------------------------------


def _chance_corrected(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Return ``(po - pe) / (1 - pe)``; 1.0 when ``pe == 1`` and agreement is perfect, else NaN."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1 - expected)
    degenerate = np.isclose(expected, 1.0)
    return np.where(degenerate, np.where(np.isclose(observed, 1.0), 1.0, np.nan), kappa)


def _fleiss_batch(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fleiss' kappa of ``counts`` (items x categories) under item weights (resamples x items)."""
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    counts, n_i, weights = counts[keep], n_i[keep], weights[:, keep]
    if counts.shape[0] == 0:
        return np.full(weights.shape[0], np.nan)
    p_i = (counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))
    total = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = weights @ p_i / total
        p_j = (weights @ counts) / (weights @ n_i)[:, None]
    return _chance_corrected(p_bar, (p_j**2).sum(axis=1))


def fleiss_kappa_from_counts(counts: np.ndarray | Sequence[Sequence[float]]) -> float:
    """Return Fleiss' kappa of a subjects x categories table of rater counts.

    Rows may sum to different numbers of raters (see the module docstring); rows with fewer
    than two ratings are left out.

    Raises:
        ValueError: If ``counts`` is not a 2-D table of non-negative numbers.
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or (table < 0).any():
        raise ValueError(f"counts must be a 2-D table of non-negative counts, got shape {table.shape}")
    return float(_fleiss_batch(table, np.ones((1, table.shape[0])))[0])


def _weight_matrix(k: int, weights: Weights | None) -> np.ndarray:
    positions = np.arange(k)
    distance = np.abs(positions[:, None] - positions[None, :]).astype(float)
    if weights is None:
        return (distance > 0).astype(float)
    return distance if weights == "linear" else distance**2


def _kappa_batch(confusions: np.ndarray, weight_matrix: np.ndarray) -> np.ndarray:
    """Cohen's kappa of a stack of confusion matrices (resamples x k x k)."""
    total = confusions.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = confusions / total[:, None, None]
        expected = observed.sum(axis=2)[:, :, None] * observed.sum(axis=1)[:, None, :]
        disagree_o = (observed * weight_matrix).sum(axis=(1, 2))
        disagree_e = (expected * weight_matrix).sum(axis=(1, 2))
        kappa = 1 - disagree_o / disagree_e
    degenerate = np.isclose(disagree_e, 0.0)
    return np.where(degenerate, np.where(np.isclose(disagree_o, 0.0), 1.0, np.nan), kappa)


def _pair_codes(codes: np.ndarray, i: int, j: int) -> np.ndarray:
    both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
    return codes[both][:, [i, j]]


def cohen_kappa(
    matrix: pd.DataFrame,
    a: str,
    b: str,
    *,
    order: Sequence[str] | None = None,
    weights: Weights | None = None,
) -> tuple[float, int]:
    """Return Cohen's kappa of annotators ``a`` and ``b`` on the items both labelled, and that count.

    Uses :func:`sklearn.metrics.cohen_kappa_score`; with ``weights`` the labels must be ordinal
    and ``order`` gives their order. Perfect agreement on a single label counts as 1.0.

    Raises:
        ValueError: If an annotator is unknown or ``weights`` is set without ``order``.
    """
    from sklearn.metrics import cohen_kappa_score

    _check_weights(weights, order)
    for name in (a, b):
        if name not in matrix.columns:
            raise ValueError(f"unknown annotator {name!r}; expected one of {list(matrix.columns)}")
    pair = matrix[[a, b]].dropna()
    if len(pair) == 0:
        return math.nan, 0
    y1, y2 = pair[a].tolist(), pair[b].tolist()
    if y1 == y2:
        return 1.0, len(pair)
    labels = _categories(matrix[[a, b]], order)
    kappa = cohen_kappa_score(y1, y2, labels=labels, weights=weights, replace_undefined_by=np.nan)
    return float(kappa), len(pair)


def _check_weights(weights: str | None, order: Sequence[str] | None) -> None:
    if weights is not None and weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS} or None, got {weights!r}")
    if weights is not None and order is None:
        raise ValueError("weighted kappa needs the label order (ordinal labels)")


def _alpha_distances(level: Level, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Squared distances between categories (resamples x k x k) for Krippendorff's alpha."""
    k = len(values)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (n_c.shape[0], k, k))
    if level == "interval":
        return np.broadcast_to((values[:, None] - values[None, :]) ** 2, (n_c.shape[0], k, k))
    low = np.minimum(*np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
    high = np.maximum(*np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
    cumulative = np.cumsum(n_c, axis=1)
    between = cumulative[:, high] - cumulative[:, low] + n_c[:, low]
    return (between - (n_c[:, low] + n_c[:, high]) / 2) ** 2


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-item coincidence contributions (items x k*k); items with one label contribute nothing."""
    m = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(counts.shape[1])[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = outer / np.where(m >= 2, m - 1, np.inf)[:, None, None]
    return scaled.reshape(counts.shape[0], -1)


def _alpha_batch(counts: np.ndarray, weights: np.ndarray, level: Level, values: np.ndarray) -> np.ndarray:
    k = counts.shape[1]
    coincidences = (weights @ _unit_coincidences(counts)).reshape(-1, k, k)
    n_c = coincidences.sum(axis=2)
    n = n_c.sum(axis=1)
    delta = _alpha_distances(level, values, n_c)
    observed = (coincidences * delta).sum(axis=(1, 2))
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (n - 1) * observed / expected
    degenerate = np.isclose(expected, 0.0)
    return np.where(degenerate, np.where(np.isclose(observed, 0.0), 1.0, np.nan), alpha)


def _interval_values(categories: Sequence[str], order: Sequence[str] | None) -> np.ndarray:
    try:
        return np.array([float(c) for c in categories])
    except ValueError:
        if order is None:
            raise DatasetError(
                "interval alpha needs numeric labels or an order (labels are then spaced 0, 1, 2, ...)"
            ) from None
        return np.arange(len(categories), dtype=float)


def _alpha_categories(matrix: pd.DataFrame, level: Level, order: Sequence[str] | None) -> list[str]:
    categories = _categories(matrix, order)
    if level == "nominal" or order is not None:
        return categories
    try:
        return sorted(categories, key=float)
    except ValueError:
        raise DatasetError(f"{level} alpha needs numeric labels or the label order") from None


def krippendorff_alpha(
    matrix: pd.DataFrame, *, level: Level = "nominal", order: Sequence[str] | None = None
) -> float:
    """Return Krippendorff's alpha of the label matrix (missing labels allowed).

    Args:
        matrix: The label matrix (items x annotators).
        level: ``nominal``, ``ordinal`` or ``interval``.
        order: The label order (ordinal / interval); without it labels must be numbers.

    Raises:
        ValueError: If ``level`` is unknown.
        DatasetError: If an ordered level is asked for labels with no order.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    categories = _alpha_categories(matrix, level, order)
    counts = _counts(_encode(matrix, categories), len(categories))
    values = (
        _interval_values(categories, order)
        if level == "interval"
        else np.arange(len(categories), dtype=float)
    )
    return float(_alpha_batch(counts, np.ones((1, len(counts))), level, values)[0])


def percent_agreement(matrix: pd.DataFrame) -> float:
    """Return the mean share of agreeing annotator pairs over items with two or more labels."""
    categories = _categories(matrix, None)
    counts = _counts(_encode(matrix, categories), len(categories))
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    if not keep.any():
        return math.nan
    per_item = (counts[keep] * (counts[keep] - 1)).sum(axis=1) / (n_i[keep] * (n_i[keep] - 1))
    return float(per_item.mean())


def fleiss_kappa(matrix: pd.DataFrame) -> float:
    """Return Fleiss' kappa of the label matrix (varying numbers of labels per item allowed)."""
    categories = _categories(matrix, None)
    return fleiss_kappa_from_counts(_counts(_encode(matrix, categories), len(categories)))


# -- bootstrap -------------------------------------------------------------------------------


def _resample_weights(n: int, n_resamples: int, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def _percentile_ci(samples: np.ndarray) -> tuple[float, float] | None:
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_ci(
    matrix: pd.DataFrame,
    statistic: Literal["fleiss", "alpha", "cohen"],
    *,
    n_resamples: int = 1000,
    seed: int,
    pair: tuple[str, str] | None = None,
    level: Level = "nominal",
    order: Sequence[str] | None = None,
    weights: Weights | None = None,
) -> tuple[float, float] | None:
    """Return a bootstrap 95% confidence interval (items resampled with replacement).

    Args:
        matrix: The label matrix.
        statistic: ``fleiss``, ``alpha`` or ``cohen`` (then ``pair`` names the two annotators).
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the resampling.
        pair: The annotator pair, for ``cohen``.
        level: Level of measurement, for ``alpha``.
        order: Label order (ordinal labels).
        weights: Kappa weights, for ``cohen``.

    Returns:
        ``(low, high)``, or ``None`` when no resample gives a defined value.

    Raises:
        ValueError: If ``statistic`` is unknown, ``n_resamples`` < 1, or ``pair`` is missing for ``cohen``.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if statistic not in ("fleiss", "alpha", "cohen"):
        raise ValueError(f"statistic must be fleiss, alpha or cohen, got {statistic!r}")
    if statistic == "cohen":
        if pair is None:
            raise ValueError("the cohen statistic needs pair=(a, b)")
        return _percentile_ci(_cohen_resamples(matrix, pair, n_resamples, seed, order, weights))
    categories = (
        _alpha_categories(matrix, level, order) if statistic == "alpha" else _categories(matrix, order)
    )
    counts = _counts(_encode(matrix, categories), len(categories))
    counts = counts[counts.sum(axis=1) >= 2]
    if len(counts) == 0:
        return None
    draws = _resample_weights(len(counts), n_resamples, seed=seed)
    if statistic == "fleiss":
        return _percentile_ci(_fleiss_batch(counts, draws))
    values = (
        _interval_values(categories, order)
        if level == "interval"
        else np.arange(len(categories), dtype=float)
    )
    return _percentile_ci(_alpha_batch(counts, draws, level, values))


def _cohen_resamples(
    matrix: pd.DataFrame,
    pair: tuple[str, str],
    n_resamples: int,
    seed: int,
    order: Sequence[str] | None,
    weights: Weights | None,
) -> np.ndarray:
    categories = _categories(matrix[list(pair)], order)
    k = len(categories)
    codes = _pair_codes(_encode(matrix[list(pair)], categories), 0, 1)
    if len(codes) == 0:
        return np.array([np.nan])
    one_hot = np.zeros((len(codes), k * k))
    one_hot[np.arange(len(codes)), codes[:, 0] * k + codes[:, 1]] = 1
    draws = _resample_weights(len(codes), n_resamples, seed=seed)
    return _kappa_batch((draws @ one_hot).reshape(-1, k, k), _weight_matrix(k, weights))


# -- the report ------------------------------------------------------------------------------


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


# -- where annotators disagree ---------------------------------------------------------------


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


def majority_labels(matrix: pd.DataFrame) -> pd.DataFrame:
    """Return, per item, the majority label (``None`` on a tie), its votes and whether it is tied."""
    labels, votes, n_labels, distinct, tied = [], [], [], [], []
    for row in matrix.itertuples(index=False):
        counts = Counter(v for v in row if _present(v))
        top = max(counts.values(), default=0)
        winners = sorted(label for label, n in counts.items() if n == top)
        labels.append(winners[0] if len(winners) == 1 else None)
        votes.append(top)
        n_labels.append(sum(counts.values()))
        distinct.append(len(counts))
        tied.append(len(winners) > 1)
    index = pd.Index(matrix.index, name="item_id", dtype=object)
    return pd.DataFrame(
        {
            "label": pd.Series(labels, index=index, dtype=object),
            "votes": pd.Series(votes, index=index, dtype=int),
            "n_labels": pd.Series(n_labels, index=index, dtype=int),
            "distinct": pd.Series(distinct, index=index, dtype=int),
            "tied": pd.Series(tied, index=index, dtype=bool),
        }
    )


def disputed_items(matrix: pd.DataFrame, *, texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return the items annotators disagree on, with every annotator's label and the majority.

    Args:
        matrix: The label matrix.
        texts: Optional item id -> text (e.g. the prompt), shown next to the labels.

    Returns:
        Columns ``item_id``, one per annotator, ``majority`` (empty on a tie), ``tied`` (and ``text``).
    """
    majority = majority_labels(matrix)
    disputed = majority.index[majority["distinct"] > 1]
    table = matrix.loc[disputed].copy()
    table.insert(0, "item_id", list(table.index))
    table["majority"] = majority.loc[disputed, "label"].to_numpy()
    table["tied"] = majority.loc[disputed, "tied"].to_numpy()
    if texts is not None:
        table["text"] = [texts.get(i, "") for i in table.index]
    return table.reset_index(drop=True)


def disputed_items_csv(table: pd.DataFrame) -> bytes:
    """Return the disputed-items table as UTF-8 CSV bytes (for the guideline meeting)."""
    return table.to_csv(index=False).encode("utf-8")


# -- gate helpers and guidelines -------------------------------------------------------------


def high_disagreement_labels(
    per_label: Mapping[str, float], *, threshold: float = GATE_THRESHOLD
) -> list[str]:
    """Return the labels whose one-vs-rest kappa is under ``threshold`` (or undefined), worst first."""
    flagged = [(v if math.isfinite(v) else -math.inf, k) for k, v in per_label.items() if not v >= threshold]
    return [label for _, label in sorted(flagged)]


@dataclass(frozen=True)
class Guideline:
    """What a category means: a definition, positive and negative examples, edge-case rules."""

    definition: str = ""
    positives: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    edge_cases: str = ""

    def __post_init__(self) -> None:
        for name in ("positives", "negatives"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a sequence of strings, got {value!r}")
            object.__setattr__(self, name, tuple(v.strip() for v in value if v.strip()))

    @property
    def is_empty(self) -> bool:
        """True when nothing has been written."""
        return not (self.definition.strip() or self.positives or self.negatives or self.edge_cases.strip())

    def to_dict(self) -> dict[str, Any]:
        """Return the shape stored at ``labels.guidelines``."""
        return {
            "definition": self.definition.strip(),
            "positives": list(self.positives),
            "negatives": list(self.negatives),
            "edge_cases": self.edge_cases.strip(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Guideline:
        """Build a guideline from the stored shape (unknown keys ignored)."""
        return cls(
            definition=str(data.get("definition") or ""),
            positives=tuple(str(v) for v in data.get("positives") or ()),
            negatives=tuple(str(v) for v in data.get("negatives") or ()),
            edge_cases=str(data.get("edge_cases") or ""),
        )


def load_guidelines(ws: Workspace) -> dict[str, Guideline]:
    """Return the guidelines saved in the workspace, by category."""
    stored = ws.get_state(GUIDELINES_KEY, {}) or {}
    return {str(k): Guideline.from_dict(v) for k, v in stored.items() if isinstance(v, Mapping)}


def save_guideline(ws: Workspace, category: str, guideline: Guideline) -> None:
    """Save (or, when empty, remove) the guideline of ``category`` in the workspace.

    Raises:
        ValueError: If ``category`` is blank.
    """
    if not category.strip():
        raise ValueError("category must not be blank")
    stored = dict(ws.get_state(GUIDELINES_KEY, {}) or {})
    if guideline.is_empty:
        stored.pop(category, None)
    else:
        stored[category] = guideline.to_dict()
    ws.set_state(GUIDELINES_KEY, stored)


def labels_without_guidelines(
    high_disagreement_labels: Iterable[str], guidelines: Mapping[str, Guideline | Mapping[str, Any]]
) -> list[str]:
    """Return the high-disagreement labels that have no guideline (or only an empty definition)."""
    out = []
    for label in high_disagreement_labels:
        entry = guidelines.get(label)
        guideline = Guideline.from_dict(entry) if isinstance(entry, Mapping) else entry
        if guideline is None or not guideline.definition.strip():
            out.append(label)
    return out


# -- consolidation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Consolidation:
    """One final label per item, with how it was reached.

    ``table`` is indexed by item id with columns ``label`` (``None`` when there is none) and
    ``status``: ``unanimous``, ``majority``, ``single`` (one label only), ``adjudicated``,
    ``tie`` (flag policy: left unlabelled and flagged), ``dropped`` (drop policy) or
    ``pending`` (adjudicate policy, not decided yet).
    """

    table: pd.DataFrame
    tie_policy: str

    def __post_init__(self) -> None:
        if self.tie_policy not in TIE_POLICIES:
            raise ValueError(f"tie_policy must be one of {TIE_POLICIES}, got {self.tie_policy!r}")

    @property
    def pending(self) -> list[str]:
        """Items still waiting for a person's decision."""
        return [str(i) for i in self.table.index[self.table["status"] == "pending"]]

    def counts(self) -> dict[str, int]:
        """Return how many items ended in each status."""
        return {str(k): int(v) for k, v in self.table["status"].value_counts().items()}


_TIE_STATUS = {"flag": "tie", "drop": "dropped", "adjudicate": "pending"}


def consolidate(
    matrix: pd.DataFrame, *, tie_policy: TiePolicy, adjudications: Mapping[str, str] | None = None
) -> Consolidation:
    """Reduce the label matrix to one label per item by majority vote.

    Args:
        matrix: The label matrix.
        tie_policy: What to do when the top labels tie: ``flag`` (no label, flagged), ``drop``
            (the item is removed from the consolidated dataset) or ``adjudicate`` (a person decides).
        adjudications: Item id -> label a person picked; it overrides the vote for that item.

    Returns:
        The consolidation.

    Raises:
        ValueError: If ``tie_policy`` is unknown.
    """
    if tie_policy not in TIE_POLICIES:
        raise ValueError(f"tie_policy must be one of {TIE_POLICIES}, got {tie_policy!r}")
    majority = majority_labels(matrix)
    status = np.select(
        [majority["tied"], majority["n_labels"] == 1, majority["distinct"] == 1, majority["distinct"] > 1],
        [_TIE_STATUS[tie_policy], "single", "unanimous", "majority"],
        default="unlabelled",
    )
    labels = dict(zip(majority.index, majority["label"], strict=True))
    statuses = dict(zip(majority.index, status, strict=True))
    for item_id, label in (adjudications or {}).items():
        if item_id in labels and label:
            labels[item_id], statuses[item_id] = label, "adjudicated"
    table = pd.DataFrame(
        {
            "label": pd.Series(list(labels.values()), index=majority.index, dtype=object),
            "status": pd.Series([str(v) for v in statuses.values()], index=majority.index, dtype=object),
        }
    )
    return Consolidation(table=table, tie_policy=tie_policy)


def adjudication_queue(
    matrix: pd.DataFrame, consolidation: Consolidation, *, scope: Literal["ties", "disputed"] = "ties"
) -> list[str]:
    """Return the items a person should decide: pending ties, or every disputed item not yet decided."""
    if scope not in ("ties", "disputed"):
        raise ValueError(f"scope must be ties or disputed, got {scope!r}")
    status = consolidation.table["status"]
    if scope == "ties":
        return [str(i) for i in status.index[status.isin(["pending", "tie"])]]
    disputed = majority_labels(matrix)["distinct"] > 1
    return [
        str(i)
        for i in status.index[disputed.reindex(status.index, fill_value=False) & (status != "adjudicated")]
    ]


def apply_consolidation(
    dataset: pd.DataFrame, consolidation: Consolidation, *, column: str = "category"
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Write the consolidated labels into ``column`` of a copy of the dataset.

    Rows without a consolidated label keep their value; rows of dropped items are removed.
    A ``label_status`` column records how each row's label was reached. When the source row
    kept the field in ``extra`` (for lossless export) it is updated there too.

    Returns:
        The new table and a summary ``{"labelled", "dropped", "pending", "flagged"}``.

    Raises:
        ValueError: If ``column`` is blank or a core structured column.
    """
    protected = set(records.CORE_COLUMNS) - set(records.METADATA_COLUMNS)
    if not column.strip() or column in protected:
        raise ValueError(f"cannot write labels into column {column!r}")
    table = consolidation.table
    ids = dataset["id"].astype(str)
    labels = ids.map(table["label"].dropna())
    statuses = ids.map(table["status"])
    out = dataset.copy()
    has_label = labels.notna().to_numpy()
    current = (
        out[column].astype(object) if column in out.columns else pd.Series([None] * len(out), index=out.index)
    )
    out[column] = np.where(has_label, labels.to_numpy(dtype=object), current.to_numpy(dtype=object))
    out["label_status"] = statuses.to_numpy(dtype=object)
    if "extra" in out.columns:
        out["extra"] = [_with_extra(e, column, lab) for e, lab in zip(out["extra"], labels, strict=True)]
    keep = (statuses != "dropped").to_numpy()
    summary = {
        "labelled": int(has_label[keep].sum()),
        "dropped": int((~keep).sum()),
        "pending": int((statuses == "pending").sum()),
        "flagged": int((statuses == "tie").sum()),
    }
    return out[keep].reset_index(drop=True), summary


def _with_extra(extra: Any, column: str, label: Any) -> Any:
    if not isinstance(extra, dict) or column not in extra or label is None or label != label:
        return extra
    return {**extra, column: label}


# -- workspace persistence -------------------------------------------------------------------


def save_adjudication(ws: Workspace, item_id: str, label: str | None) -> None:
    """Save a person's final label for an item at once (``None`` clears the decision)."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        if label is None:
            connection.execute("DELETE FROM agreement_adjudications WHERE item_id = ?", (item_id,))
        else:
            connection.execute(
                "INSERT OR REPLACE INTO agreement_adjudications VALUES (?, ?, ?)", (item_id, label, now_iso())
            )


def load_adjudications(ws: Workspace) -> dict[str, str]:
    """Return every saved adjudication: item id -> final label."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT item_id, label FROM agreement_adjudications").fetchall()
    return {r["item_id"]: r["label"] for r in rows}


def save_uploaded_labels(ws: Workspace, matrix: pd.DataFrame, *, filename: str) -> None:
    """Keep an uploaded label matrix in the workspace (replacing the previous upload)."""
    ws.ensure_schema(_SCHEMA)
    long = to_long(matrix)
    with ws.connect() as connection:
        connection.execute("DELETE FROM agreement_labels")
        connection.executemany(
            "INSERT INTO agreement_labels VALUES (?, ?, ?)",
            [(str(i), str(a), str(lab)) for i, a, lab in long.itertuples(index=False)],
        )
    ws.set_state(UPLOAD_KEY, {"filename": filename, "items": len(matrix), "annotators": list(matrix.columns)})


def load_uploaded_labels(ws: Workspace) -> pd.DataFrame | None:
    """Return the uploaded label matrix kept in the workspace, or ``None``."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute("SELECT item_id, annotator, label FROM agreement_labels").fetchall()
    if not rows:
        return None
    order = (ws.get_state(UPLOAD_KEY, {}) or {}).get("annotators")
    matrix = _from_long(pd.DataFrame([dict(r) for r in rows], columns=list(LONG_COLUMNS)))
    return matrix[[c for c in order if c in matrix.columns]] if order else matrix


def texts_by_id(dataset: pd.DataFrame, *, column: str = "prompt_text", limit: int = 300) -> dict[str, str]:
    """Return item id -> the first ``limit`` characters of ``column`` (for showing items as text)."""
    if column not in dataset.columns:
        return {}
    texts = (str(t or "")[:limit] for t in dataset[column])
    return dict(zip(dataset["id"].astype(str), texts, strict=True))
