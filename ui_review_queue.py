"""The Review queue's filters: by category, by the seed an example came from, by a quality flag.

Each filter narrows the pending queue and the group the bulk buttons decide, alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core import quality

EVERY_CATEGORY = "(every category)"


@st.cache_data(max_entries=16, ttl=30)
def flags_of(root: str, batch_id: str, _frame: pd.DataFrame) -> dict[str, list[str]]:
    """Each example's flags: the validators' warnings it passed with, and the quality signals' codes.

    Cached by workspace and batch (``_frame`` is the batch's examples, read under the same key).
    """
    frame = _frame
    codes = quality.scan_quality(frame).codes_by_id(frame)
    reasons = frame["reasons"] if "reasons" in frame.columns else pd.Series([None] * len(frame))
    for example_id, warned in zip(frame["id"], reasons, strict=True):
        if isinstance(warned, list) and warned:
            codes[str(example_id)] = sorted({*codes.get(str(example_id), []), *map(str, warned)})
    return codes


@dataclass(frozen=True)
class Narrowing:
    """What the person chose to see: a test on an example id, and the group's name ("" for every example)."""

    keeps: Callable[[str], bool]
    group: str


def filters(root: str, batch_id: str, frame: pd.DataFrame) -> Narrowing:
    """The category, seed and flag selectboxes (each only when the batch has something to choose)."""
    categories = sorted({str(c) for c in frame.get("category", pd.Series(dtype=object)).dropna()})
    only = (
        st.selectbox("Show only", [EVERY_CATEGORY, *categories], key="review_filter")
        if categories
        else EVERY_CATEGORY
    )
    category_of = dict(zip(frame["id"], frame.get("category", pd.Series([None] * len(frame))), strict=True))
    seeds_of = {  # the seed examples each generated one was written from (none for rows sent from Explore)
        i: [str(s) for s in v] if hasattr(v, "__iter__") and not isinstance(v, str) else []
        for i, v in zip(frame["id"], frame.get("seed_ids", pd.Series([None] * len(frame))), strict=True)
    }
    seed_only = _choice(
        "From seed", sorted({s for v in seeds_of.values() for s in v}), "seed", "review_seed_filter"
    )
    flagged = flags_of(root, batch_id, frame)
    counts = pd.Series([c for v in flagged.values() for c in v], dtype=object).value_counts()
    flag_only = _choice(
        "Flag",
        sorted(counts.index),
        "flag",
        "review_flag_filter",
        lambda c: f"{c} ({counts[c]} in the batch)",
    )

    def keeps(example_id: str) -> bool:
        return (
            (only == EVERY_CATEGORY or str(category_of.get(example_id)) == only)
            and (not seed_only or seed_only in seeds_of.get(example_id, []))
            and (not flag_only or flag_only in flagged.get(str(example_id), []))
        )

    group = " · ".join(
        [
            *([only] if only != EVERY_CATEGORY else []),
            *([f"seed {seed_only}"] if seed_only else []),
            *([f"flag {flag_only}"] if flag_only else []),
        ]
    )
    return Narrowing(keeps, group)


def _choice(label: str, options: list[str], what: str, key: str, name: Callable[[str], str] = str) -> str:
    if not options:
        return ""
    return st.selectbox(
        label, ["", *options], format_func=lambda o: name(o) if o else f"(every {what})", key=key
    )
