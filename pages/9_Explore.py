import numpy as np
import pandas as pd
import streamlit as st

import ui_explore
from core import explore
from core.semantic import pairs, versioned
from core.workspace import Workspace
from ui import (
    md_text,
    open_workspace,
    plural,
    quality_report,
    render_example,
    require_dataset,
    version_features,
    version_topics,
)

_MODEL = "gpt-4o-mini"  # token measures as the Distribution page counts them by default
_SHOWN = 500  # rows listed in the table (all matches are downloaded or removed)
_CHARTS = ("category", "language", "flag")
_FIELDS = {"all": "Prompt and replies", "prompt": "Prompt", "response": "Replies"}


st.title("🔭 Explore")
st.caption(
    "Find rows by what they say and by what was measured about them: search the texts, filter by "
    "category, language, quality flag or size, and click a bar to filter by it. The search is kept "
    "in the page address, so a refresh or a shared link opens the same rows."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
flash = st.session_state.pop("explore_flash", None)
if flash:
    st.success(flash)
last = ws.dataset_info()
undoable = last is not None and last.note.startswith("explore:") and last.parent is not None
if undoable and st.button(f"Undo: back to v{last.parent}", key="explore_undo"):
    ws.revert_to(last.parent)
    st.rerun()


@st.cache_resource(max_entries=2, show_spinner="Indexing the rows for search…")
def _table(root: str, dataset_version: int, _frame: pd.DataFrame, _features, _flags, _topics):
    return explore.explore_table(_frame, _features, _flags, _topics)


# 1 - cosine to the nearest other row, embedded once per version and kept with it (core.semantic)
@st.cache_resource(
    max_entries=2, show_spinner="Embedding every row to measure its novelty, once per version…"
)
def _novelty(root: str, dataset_version: int, _frame: pd.DataFrame):
    return versioned.version_novelty(Workspace.open(root), dataset_version, pairs.PairSettings(), _frame)


features = version_features(ws, frame, _MODEL)
flags = explore.flags_by_row(quality_report(ws, frame).flags)
table = _table(str(ws.root), version, frame, features, flags, version_topics(ws, frame))

if "explore_text" not in st.session_state:
    st.session_state["explore_text"] = st.query_params.get("q", "")
left, middle, right = st.columns([4, 2, 1], vertical_alignment="bottom")
left.text_input(
    "Search",
    key="explore_text",
    placeholder="a word, a phrase, an order number…",
    on_change=ui_explore.remember_text,
)
field = middle.selectbox("In", list(_FIELDS), format_func=_FIELDS.get, key="explore_field")
regex = right.toggle("Regex", key="explore_regex", help="RE2 regular expression instead of plain text")

with st.expander(
    "Filters", expanded=any(st.session_state.get(ui_explore.facet_key(f)) for f in explore.FACETS)
):
    columns = st.columns(4)
    for k, facet in enumerate(explore.FACETS):
        options = explore.facet_values(table, facet)
        chosen = st.session_state.get(ui_explore.facet_key(facet), [])
        options += [v for v in chosen if v not in options]
        if len(options) > 1 or chosen:
            columns[k % 4].multiselect(facet.capitalize(), options, key=ui_explore.facet_key(facet))
    tokens = table["total_tokens"].drop_null().to_numpy()
    if len(tokens) and tokens.max() > tokens.min():
        bounds = (int(tokens.min()), int(tokens.max()))
        st.slider("Tokens per example", *bounds, value=bounds, key="explore_tokens")
        st.session_state["explore_token_bounds"] = bounds

token_range = st.session_state.get("explore_tokens")
if token_range is not None and tuple(token_range) == st.session_state.get("explore_token_bounds"):
    token_range = None  # the whole range is no filter
try:
    row_filter = explore.RowFilter(
        text=st.session_state.get("explore_text", ""),
        field=field,
        regex=regex,
        facets={f: tuple(st.session_state.get(ui_explore.facet_key(f), [])) for f in explore.FACETS},
        ranges={"total_tokens": tuple(token_range)} if token_range else {},
    )
    rows = explore.matching(table, row_filter)
except ValueError as exc:
    st.error(md_text(exc))
    st.stop()

chips = []
if row_filter.text:
    chips.append(("text", f'"{row_filter.text}" in {_FIELDS[field].lower()}'))
chips += [(f, f"{f} = {' or '.join(v)}") for f, v in row_filter.facets.items() if v]
if token_range:
    chips.append(("tokens", f"{token_range[0]:,} to {token_range[1]:,} tokens"))
if chips:
    cells = st.columns(min(len(chips), 5) + 1)
    for k, (what, label) in enumerate(chips):
        cells[k % 5].button(
            f"✕ {md_text(label)}", key=f"explore_chip_{what}", on_click=ui_explore.clear, args=(what,)
        )
st.subheader(f"{plural(len(rows), 'row')} of {len(frame):,}")


for cell, facet in zip(st.columns(len(_CHARTS)), _CHARTS, strict=True):
    ui_explore.facet_chart(cell, table, rows, facet)
with st.expander("Topics: the prompts grouped by what they ask about", expanded=True):
    st.caption(
        "Each topic is named by its most particular words (prompts embedded with the packaged model, "
        "grouped by k-means with seed 0)."
    )
    ui_explore.facet_chart(st.container(), table, rows, "topic", limit=30)

if not len(rows):
    st.info("No row matches: remove a filter above.")
    st.stop()
order = st.radio(
    "Order", list(ui_explore.ORDERS), format_func=ui_explore.ORDERS.get, horizontal=True, key="explore_order"
)
rows, typical = ui_explore.typicality_order(ws, frame, version, rows, order)
listed = pd.DataFrame([explore.row_summary(table, int(r), row_filter.text) for r in rows[:_SHOWN]])
listed = listed[["line", "category", "language", "total_tokens", "flags", "prompt", "response"]]
listed["flags"] = [", ".join(v) for v in listed["flags"]]
if st.toggle(
    "Novelty",
    key="explore_novelty",
    help="1 - the cosine of a row's embedding to its nearest other row: 0 a copy, about 0.15 a paraphrase.",
):
    listed.insert(
        4, "novelty", _novelty(str(ws.root), version, frame).scores[np.asarray(rows[:_SHOWN])].round(3)
    )
if typical is not None:
    ui_explore.typicality_columns(listed, frame, typical, rows)
event = st.dataframe(
    listed,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="explore_rows",
    column_config={
        "line": st.column_config.NumberColumn("Line", format="%d"),
        "category": st.column_config.TextColumn("Category"),
        "language": st.column_config.TextColumn("Language"),
        "flags": st.column_config.TextColumn("Flags"),
        "total_tokens": st.column_config.NumberColumn("Tokens", format="%d"),
        "novelty": st.column_config.NumberColumn("Novelty", format="%.3f"),
        "typicality": st.column_config.NumberColumn(
            "Typicality", format="%.3f", help="mean cosine to the 5 nearest rows: low = outlier"
        ),
        "why": st.column_config.TextColumn("Why"),
        "prompt": st.column_config.TextColumn("Prompt", width="large"),
        "response": st.column_config.TextColumn("Reply", width="large"),
    },
)
if len(rows) > _SHOWN:
    st.caption(f"The first {_SHOWN:,} are listed; the actions below take all {len(rows):,}.")
picked = event.selection.rows if event is not None else []
position = int(rows[picked[0]]) if picked else int(rows[0])
line = frame.iloc[position].get("source_line")
st.markdown(f"**{'Line ' + str(int(line)) if pd.notna(line) else 'Example ' + str(position + 1)}**")
render_example(frame.iloc[position])

ui_explore.act_on_rows(ws, frame, version, rows, row_filter)
if typical is not None:
    ui_explore.remove_outliers(ws, frame, typical)
