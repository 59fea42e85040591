"""The Upload page's sections: the CSV column mapping and the views of the dataset in hand."""

from __future__ import annotations

import io

import pandas as pd
import plotly.express as px
import streamlit as st

from core import export, formats, pricing, tokens
from core.workspace import DatasetVersion, Workspace
from ui import blank, current_dataset, md_text, open_workspace, render_example


@st.cache_data(max_entries=8)
def _convert(root: str, version: int, target: str) -> tuple[bytes, list]:
    extension = export.file_extension(target)  # what the download's name promises (a .json is an array)
    container = None if extension == "csv" else extension
    return formats.write_dataset(current_dataset(open_workspace()), target, container=container)


def csv_mapping(data: bytes, filename: str) -> tuple | None:
    """Ask which CSV column is what (suggested from the header); stops until the prompt column is picked."""
    try:
        columns = list(pd.read_csv(io.BytesIO(data), nrows=5, compression="infer").columns)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        st.error(f"{filename}: cannot read the CSV header ({exc}).")
        st.stop()
    suggested = formats.suggest_column_map(columns)
    st.markdown("**CSV column mapping**: which column is what.")
    options = ["—", *columns]
    cols = st.columns(4)
    chosen = {}
    for i, field in enumerate(
        ("prompt", "response", "system", "category", "difficulty", "created_at", "chosen", "rejected")
    ):
        default = getattr(suggested, field, None) if suggested else None
        pick = cols[i % 4].selectbox(
            field,
            options,
            index=options.index(default) if default in options else 0,
            key=f"upload_map_{field}",
        )
        if pick != "—":
            chosen[field] = pick
    if "prompt" not in chosen:
        st.warning("Pick the prompt column to load this CSV.")
        st.stop()
    return tuple(sorted(chosen.items()))


def problems_view(problems: pd.DataFrame, quarantine: pd.DataFrame) -> None:
    """The problems found, filterable by code, and the quarantine, each downloadable."""
    if problems.empty:
        st.success("No problems found: every row is valid.")
    else:
        codes = sorted(problems["code"].unique())
        picked = st.multiselect("Filter by code", codes, key="upload_codes")
        shown = problems[problems["code"].isin(picked)] if picked else problems
        table = st.dataframe(
            blank(shown),
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="multi-row",
            key="upload_problems_table",
            column_config={
                "line": st.column_config.NumberColumn(
                    "record" if "text_line" in shown.columns else "line", format="%d"
                ),
                "text_line": st.column_config.NumberColumn("line in the file", format="%d"),
                "message": st.column_config.TextColumn("message", width="large"),
                "fix": st.column_config.TextColumn("fix", width="medium"),
            },
        )
        _full_messages(shown, list(table.selection.rows) if table is not None else [])
        _csv_download("Download problems (CSV)", shown, "problems.csv", "upload_download_problems")
    if not quarantine.empty:
        st.markdown(f"**Quarantine**: {len(quarantine):,} rows kept aside with their reasons.")
        st.dataframe(blank(quarantine), hide_index=True, width="stretch")
        _csv_download("Download quarantine (CSV)", quarantine, "quarantine.csv", "upload_download_quarantine")


_FULL_SHOWN = 5


def _full_messages(shown: pd.DataFrame, selected: list[int]) -> None:
    """The messages a table cell cuts off, in full and wrapped: the selected problems, or the first few."""
    rows = shown.iloc[selected] if selected else shown.head(_FULL_SHOWN)
    heading = "Selected problems in full" if selected else f"The first {len(rows)} problems in full"
    with st.container(border=True, key="upload_problem_messages"):
        st.markdown(f"**{heading}** (select rows in the table to read others)")
        for row in rows.itertuples():
            where = getattr(row, "text_line", None)
            where = where if where is not None and pd.notna(where) else row.line
            place = f"line {int(where)}" if where is not None and pd.notna(where) else "the file"
            fix = getattr(row, "fix", None)
            st.markdown(
                f"- **{place}** · {md_text(row.code)}: {md_text(row.message)}"
                + (f"  \n  Fix: {md_text(fix)}" if isinstance(fix, str) and fix else "")
            )


def preview_view(frame: pd.DataFrame) -> None:
    """One example at a time, with its metadata as plain text."""
    if frame.empty:
        st.info("No valid examples to preview.")
    else:
        position = st.number_input("Example", 1, len(frame), 1, key="upload_preview_index") - 1
        row = frame.iloc[int(position)]
        meta = {
            k: row.get(k)
            for k in ("id", "category", "difficulty", "language", "source", "created_at", "source_line")
            if pd.notna(row.get(k))
        }
        st.text(" · ".join(f"{k}: {v}" for k, v in meta.items()))  # dataset values: never markdown
        render_example(row)


def tokens_view(counts: pd.DataFrame, model: str) -> None:
    """Tokens per example against the model's limit, and the fine-tuning cost."""
    limit = tokens.token_limit(model)
    cols = st.columns(4)
    cols[0].metric("Total tokens", f"{int(counts['total_tokens'].sum()):,}")
    cols[1].metric("Mean per example", f"{counts['total_tokens'].mean():,.0f}")
    cols[2].metric("Max per example", f"{int(counts['total_tokens'].max()):,}")
    cols[3].metric(
        "Over the limit",
        f"{int((counts['total_tokens'] > limit).sum()) if limit else 0:,}",
        help=f"{model} trains on at most {limit:,} tokens per example" if limit else None,
    )
    fig = px.histogram(counts, x="total_tokens", nbins=50, title="Tokens per example")
    if limit:
        fig.add_vline(x=limit, line_dash="dash", annotation_text="limit")
    st.plotly_chart(fig, key="upload_tokens_hist")
    estimate = pricing.finetune_estimate(counts["total_tokens"].tolist(), model)
    st.markdown(
        f"**Fine-tuning {model}**: {estimate.epochs} epochs × {estimate.billable_tokens:,} billable "
        f"tokens ≈ **${estimate.usd:,.2f}**"
    )
    for note in estimate.notes:
        st.caption(note)


def convert_view(ws: Workspace, info: DatasetVersion, frame: pd.DataFrame) -> None:
    """Convert the dataset to another format (what each row loses listed) and download it."""
    kinds = sorted(frame["kind"].dropna().unique())
    targets = formats.formats_for_kind(kinds[0]) if len(kinds) == 1 else []
    if not targets:
        st.info("Conversion needs a dataset of one kind (SFT, preference or RFT).")
    else:
        target = st.selectbox("Convert to", targets, key="upload_convert_to")
        if st.session_state.get("upload_converted") != (info.version, target):
            if not st.button(f"Convert to {target}", key="upload_convert", type="primary"):
                st.stop()
            st.session_state["upload_converted"] = (info.version, target)
        with st.spinner(f"Converting {info.rows:,} examples…"):
            data, losses = _convert(str(ws.root), info.version, target)
        if losses:
            st.warning(f"{len(losses):,} rows lose something in {target}:")
            st.dataframe(pd.DataFrame([vars(p) for p in losses]), hide_index=True, width="stretch")
        else:
            st.success(f"Nothing is lost converting to {target}.")
        extension = export.file_extension(target)
        st.download_button(
            f"Download {target}",
            data,
            f"{(info.name or 'dataset').split('.')[0]}.{target}.{extension}",
            key="upload_download_converted",
        )


def versions_view(ws: Workspace, info: DatasetVersion) -> None:
    """The dataset's versions, and going back to one as a new version."""
    versions = pd.DataFrame([vars(v) for v in ws.versions()])
    st.dataframe(blank(versions), hide_index=True, width="stretch")
    older = [v.version for v in ws.versions() if v.version != info.version]
    if older:
        back = st.selectbox("Go back to version", older[::-1], key="upload_revert_version")
        if st.button("Make it current", key="upload_revert"):
            ws.revert_to(int(back))
            st.rerun()


def _csv_download(label: str, table: pd.DataFrame, file_name: str, key: str) -> None:
    st.download_button(label, table.to_csv(index=False).encode(), file_name, "text/csv", key=key)
