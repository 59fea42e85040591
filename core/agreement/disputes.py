"""Where annotators disagree: majority labels, disputed items, guidelines, consolidation."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from core import records
from core.agreement.metrics import _present
from core.agreement.report import GATE_THRESHOLD

TIE_POLICIES = ("flag", "drop", "adjudicate")


TiePolicy = Literal["flag", "drop", "adjudicate"]


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
    missing = label is None or (isinstance(label, float) and math.isnan(label))
    if not isinstance(extra, dict) or column not in extra or missing:
        return extra
    return {**extra, column: label}
