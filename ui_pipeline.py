"""Running ``python -m core pipeline`` from the app: start it in the background, watch its stages.

:func:`run_section` draws the form (shards, output folder, engine, workers), starts the run with
:func:`core.pipeline.background.start`, and while it runs redraws, once a second, each stage's rows
done, rows per second and ETA from the run's progress record. When the run ends it offers the
folder to the page's run-folder field (``open_key``), so the result opens as any run folder does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.pipeline import background
from ui import md_text

_REFRESH_S = 1.0


def progress_table(stages: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per stage (in the order they started): rows done, rows/s, ETA, tasks."""
    rows = []
    for name, f in stages.items():
        total = f"/{f['rows_total']:,}" if f.get("rows_total") is not None else ""
        eta = "done" if f["finished"] else ("?" if f["eta_s"] is None else f"{f['eta_s']:.0f} s")
        rows.append(
            {
                "stage": name,
                "done": f"{f['rows']:,}{total} {f['unit']}",
                "per second": f"{f['rows_per_s']:,.0f}",
                "ETA": eta,
                "tasks": f"{f['tasks_done']}/{f['tasks']}"
                + (f" ({f['skipped']} skipped)" if f["skipped"] else ""),
            }
        )
    return pd.DataFrame(rows, columns=["stage", "done", "per second", "ETA", "tasks"])


def run_section(default_out: Path, *, key: str, open_key: str) -> None:
    """The "run a pipeline" form and the watch of the run it started.

    Args:
        default_out: The output folder proposed.
        key: Prefix of this section's widget keys.
        open_key: Session key of the page's run-folder field, filled in when the run is done.
    """
    inputs = st.text_input(
        "Shards",
        key=f"{key}_inputs",
        help="Folders, files or globs of JSONL, JSON, CSV or Parquet shards (gzipped or not), "
        "separated by spaces.",
    )
    out = st.text_input("Output folder", value=str(default_out), key=f"{key}_out")
    left, right = st.columns(2)
    engine = left.selectbox("Engine", ["local", "ray"], key=f"{key}_engine", help="ray starts a local Ray")
    workers = int(right.number_input("Workers", min_value=1, max_value=64, value=2, key=f"{key}_workers"))
    running = st.session_state.get(f"{key}_started")
    busy = running is not None and background.is_running(running)
    if st.button("Run pipeline", key=f"{key}_start", disabled=busy or not inputs.strip() or not out.strip()):
        try:
            background.start(inputs.split(), out, engine=engine, workers=workers)
        except ValueError as exc:
            st.error(md_text(exc))
        else:
            st.session_state[f"{key}_started"] = str(Path(out).resolve())
    if st.session_state.get(f"{key}_started"):
        _watch(key)
        state = background.status(st.session_state[f"{key}_started"])
        if not state.running and state.summary is not None:
            st.button(
                "Use this run in “Open a pipeline run folder”",
                key=f"{key}_use",
                on_click=_offer,
                args=(open_key, st.session_state[f"{key}_started"]),
            )


@st.fragment(run_every=_REFRESH_S)
def _watch(key: str) -> None:
    """Redraw the run's progress; once it ends, its summary (or error), and the page once more."""
    folder = st.session_state[f"{key}_started"]
    state = background.status(folder)
    if state.stages:
        st.dataframe(progress_table(state.stages), hide_index=True)
    if state.running:
        st.caption(f"Running into {md_text(folder)}…")
        st.session_state[f"{key}_ended"] = False
        return
    if st.session_state.get(f"{key}_ended") is False:  # it ended during a redraw: the whole page again
        st.session_state[f"{key}_ended"] = True
        st.rerun(scope="app")
    if state.error is not None:
        st.error(f"The pipeline run failed: {md_text(state.error)}")
        return
    summary = state.summary or {}
    st.success(
        f"Pipeline done: {summary.get('valid', 0):,} valid rows, {summary.get('kept', 0):,} kept "
        f"({summary.get('exact_removed', 0):,} exact and {summary.get('near_removed', 0):,} near duplicates "
        f"removed) in {md_text(folder)}."
    )


def _offer(open_key: str, folder: str) -> None:
    st.session_state[open_key] = folder
