import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core import explore, formats, review
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
_REVIEW_MAX = 1_000  # rows one review set may hold: a person decides each of them
_CHARTS = ("category", "language", "flag")
_FIELDS = {"all": "Prompt and replies", "prompt": "Prompt", "response": "Replies"}


def _facet_key(facet: str) -> str:
    return f"explore_facet_{facet}"


def _chart_key(facet: str) -> str:
    return f"explore_chart_{facet}_{st.session_state.get('explore_chart_round', 0)}"


def _pick_from_chart(facet: str) -> None:
    """A click on a bar adds its value to the facet's filter (before the widgets are drawn again)."""
    state = st.session_state.get(_chart_key(facet))
    points = state.selection.points if state is not None else []
    picked = [p["customdata"][0] for p in points if p.get("customdata")]
    current = list(st.session_state.get(_facet_key(facet), []))
    st.session_state[_facet_key(facet)] = current + [v for v in picked if v not in current]
    st.session_state["explore_chart_round"] = st.session_state.get("explore_chart_round", 0) + 1


def _clear(what: str) -> None:
    if what == "text":
        st.session_state["explore_text"] = ""
        st.query_params.pop("q", None)
    elif what == "tokens":
        st.session_state.pop("explore_tokens", None)
    else:
        st.session_state[_facet_key(what)] = []


def _remember_text() -> None:
    text = st.session_state.get("explore_text", "")
    if text:
        st.query_params["q"] = text
    else:
        st.query_params.pop("q", None)


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
    "Search", key="explore_text", placeholder="a word, a phrase, an order number…", on_change=_remember_text
)
field = middle.selectbox("In", list(_FIELDS), format_func=_FIELDS.get, key="explore_field")
regex = right.toggle("Regex", key="explore_regex", help="RE2 regular expression instead of plain text")

with st.expander("Filters", expanded=any(st.session_state.get(_facet_key(f)) for f in explore.FACETS)):
    columns = st.columns(4)
    for k, facet in enumerate(explore.FACETS):
        options = explore.facet_values(table, facet)
        chosen = st.session_state.get(_facet_key(facet), [])
        options += [v for v in chosen if v not in options]
        if len(options) > 1 or chosen:
            columns[k % 4].multiselect(facet.capitalize(), options, key=_facet_key(facet))
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
        facets={f: tuple(st.session_state.get(_facet_key(f), [])) for f in explore.FACETS},
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
        cells[k % 5].button(f"✕ {md_text(label)}", key=f"explore_chip_{what}", on_click=_clear, args=(what,))
st.subheader(f"{plural(len(rows), 'row')} of {len(frame):,}")


def _facet_chart(cell, facet: str, limit: int = 15) -> None:
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


for cell, facet in zip(st.columns(len(_CHARTS)), _CHARTS, strict=True):
    _facet_chart(cell, facet)
with st.expander("Topics: the prompts grouped by what they ask about", expanded=True):
    st.caption(
        "Each topic is named by its most particular words (prompts embedded with the packaged model, "
        "grouped by k-means with seed 0)."
    )
    _facet_chart(st.container(), "topic", limit=30)

if not len(rows):
    st.info("No row matches: remove a filter above.")
    st.stop()
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
        frame.iloc[chosen_rows].reset_index(drop=True), note=f"explore: kept {len(rows)} rows ({described})"
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
