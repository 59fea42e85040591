"""The Explore page's sections: filter chips and state, the facet charts, typicality, acting on the rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import pyarrow as pa
import streamlit as st

from core import explore, formats, review
from core.semantic import representative, versioned
from core.workspace import Workspace
from ui import embedding_bar, plural

_REVIEW_MAX = 1_000  # rows one review set may hold: a person decides each of them


ORDERS = {
    "table": "Table order",
    "representative": "Most representative first",
    "outliers": "Outliers first",
}
"""How the matching rows are listed: as in the file, or by typicality (core.semantic.representative)."""


# mean cosine to the 5 nearest rows, embedded once per version (the page's rerun reads it from here)
@st.cache_resource(max_entries=2, show_spinner=False)
def _typicality(root: str, dataset_version: int | None, _frame: pd.DataFrame) -> representative.Typicality:
    with embedding_bar("Embedding every row to find outliers, once per version…") as progress:
        if dataset_version is None:
            return representative.row_typicality(_frame, progress=progress)
        return versioned.version_typicality(Workspace.open(root), dataset_version, _frame, progress=progress)


def typicality_order(
    ws: Workspace, frame: pd.DataFrame, version: int | None, rows: np.ndarray, order: str
) -> tuple[np.ndarray, representative.Typicality | None]:
    """The rows in the chosen order, and the version's typicality when the order needs it."""
    if order == "table":
        return rows, None
    found = _typicality(str(ws.root), version, frame)
    scores = found.scores[rows]
    keys = np.nan_to_num(-scores if order == "representative" else scores, nan=np.inf)
    return rows[np.lexsort((rows, keys))], found


def typicality_columns(
    listed: pd.DataFrame, frame: pd.DataFrame, found: representative.Typicality, rows: Any
) -> None:
    """Add each listed row's typicality and its reason to the table shown."""
    shown = np.asarray(rows[: len(listed)])
    listed.insert(4, "typicality", found.scores[shown].round(3))
    listed["why"] = [found.reason(int(p), lambda q: representative.place(frame, q)) for p in shown]


def remove_outliers(ws: Workspace, frame: pd.DataFrame, found: representative.Typicality) -> None:
    """Remove the N rows least like their nearest rows as a new version (the page's Undo brings them back)."""
    scored = int((~np.isnan(found.scores)).sum())
    if scored < 3:
        return
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    n = int(left.number_input("Outliers", 1, scored - 1, min(10, scored - 1), key="explore_outlier_n"))
    if right.button(f"Remove the {plural(n, 'outlier')} as a new version", key="explore_remove_outliers"):
        dropped = found.outliers(n)
        kept = frame.drop(frame.index[dropped]).reset_index(drop=True)
        ws.save_dataset(
            kept,
            note=f"explore: removed {len(dropped)} outliers (lowest mean cosine to their {found.k} nearest)",
        )
        st.session_state["explore_flash"] = f"Removed {plural(len(dropped), 'outlier')} in a new version."
        st.rerun()


def facet_key(facet: str) -> str:
    """The session_state key of a facet's filter."""
    return f"explore_facet_{facet}"


def _chart_key(facet: str) -> str:
    return f"explore_chart_{facet}_{st.session_state.get('explore_chart_round', 0)}"


def _pick_from_chart(facet: str) -> None:
    """A click on a bar adds its value to the facet's filter (before the widgets are drawn again)."""
    state = st.session_state.get(_chart_key(facet))
    points = state.selection.points if state is not None else []
    picked = [p["customdata"][0] for p in points if p.get("customdata")]
    current = list(st.session_state.get(facet_key(facet), []))
    st.session_state[facet_key(facet)] = current + [v for v in picked if v not in current]
    st.session_state["explore_chart_round"] = st.session_state.get("explore_chart_round", 0) + 1


def clear(what: str) -> None:
    """Drop one filter (a chip's ✕): the search text, the token range or a facet."""
    if what == "text":
        st.session_state["explore_text"] = ""
        st.query_params.pop("q", None)
    elif what == "tokens":
        st.session_state.pop("explore_tokens", None)
    else:
        st.session_state[facet_key(what)] = []


def remember_text() -> None:
    """Keep the search text in the page address, so a refresh or a shared link opens the same rows."""
    text = st.session_state.get("explore_text", "")
    if text:
        st.query_params["q"] = text
    else:
        st.query_params.pop("q", None)


def facet_chart(cell: Any, table: pa.Table, rows: Any, facet: str, limit: int = 15) -> None:
    """A bar per value of ``facet`` among the matching rows; a click filters by it."""
    counts = explore.facet_counts(table, rows, facet).head(limit)
    if counts.empty or (facet == "topic" and set(counts["value"]) == {explore.MISSING}):
        return
    # chart labels come from the data; plotly reads a few HTML tags in labels, so none may pass
    counts["label"] = [str(v).replace("<", "‹").replace(">", "›") for v in counts["value"]]
    figure = px.bar(
        counts, x="rows", y="label", orientation="h", custom_data=["value"], height=60 + 26 * len(counts)
    )
    figure.update_layout(
        margin={"r": 0, "t": 10, "b": 0},
        yaxis={"title": None, "autorange": "reversed", "automargin": True},
        xaxis={"title": None, "tickformat": ",d"},
    )
    cell.caption(f"**{facet.capitalize()}** · click a bar to filter")
    cell.plotly_chart(
        figure,
        key=_chart_key(facet),
        on_select=lambda: _pick_from_chart(facet),
        selection_mode="points",
        config={"displayModeBar": False},  # small charts: the toolbar would cover the first bar
    )


def act_on_rows(
    ws: Workspace, frame: pd.DataFrame, version: int | None, rows: Any, row_filter: explore.RowFilter
) -> None:
    """Download, remove or keep only the matching rows (a new version), or send them to review."""
    st.subheader("Act on these rows")
    chosen_rows = np.asarray(rows)
    source_format = (
        str(frame["source_format"].mode().iloc[0]) if frame["source_format"].notna().any() else "openai-sft"
    )
    extension = "csv" if source_format == "csv" else "jsonl"
    left, middle, right, fourth = st.columns(4)
    left.download_button(
        f"Download {plural(len(rows), 'row')} ({source_format})",
        data=lambda: formats.write_dataset(frame.iloc[chosen_rows], source_format)[0],
        file_name=f"explore-v{version}.{extension}",
        key="explore_download",
    )
    described = "; ".join(row_filter.chips())
    if middle.button(f"Remove {plural(len(rows), 'row')} as a new version", key="explore_remove"):
        kept = frame.drop(frame.index[chosen_rows]).reset_index(drop=True)
        ws.save_dataset(kept, note=f"explore: removed {len(rows)} rows ({described})")
        st.session_state["explore_flash"] = f"Removed {plural(len(rows), 'row')} in a new version."
        st.rerun()
    if len(rows) < len(frame) and right.button(
        f"Keep only these {len(rows):,} as a new version", key="explore_keep"
    ):
        ws.save_dataset(
            frame.iloc[chosen_rows].reset_index(drop=True),
            note=f"explore: kept {len(rows)} rows ({described})",
        )
        st.session_state["explore_flash"] = f"Kept {plural(len(rows), 'row')} in a new version."
        st.rerun()
    if len(rows) > _REVIEW_MAX:
        fourth.caption(f"Narrow the filter to {_REVIEW_MAX:,} rows or fewer to send them to review.")
    elif fourth.button(f"Send {plural(len(rows), 'row')} to review", key="explore_review"):
        ids = frame["id"].iloc[chosen_rows].astype(str).tolist()
        made = review.sets.create_set(ws, ids, description=described or "every row")
        st.session_state["explore_flash"] = (
            f"Sent {plural(len(made.ids), 'row')} to review as {made.set_id}: decide them on the Review page."
        )
        st.rerun()
