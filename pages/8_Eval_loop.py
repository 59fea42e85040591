import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

import ui_evalloop
from core import evalloop
from core.errors import DatasetError
from ui import current_dataset, md_text, open_workspace, stop_on_dataset_error

_SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
_SAMPLE = _SAMPLES / "eval_results.csv"
_SAMPLE_BASE = _SAMPLES / "eval_results_base.csv"
_SOURCES = ("Bundled sample (support-message classifier)", "Upload my results")
_NONE = "(none)"

st.title("🔁 Eval loop")
st.caption(
    "Upload eval results, see which categories, lengths and languages fail, compare with a well-prompted "
    "base model, and turn the failures into the next round of data: an annotation queue or generation "
    "targets."
)
ws = open_workspace()
dataset = current_dataset(ws)
if dataset is None:
    st.info(
        "No training dataset yet, and that is fine: benchmark a well-prompted base model before starting "
        "data collection. Its failures tell you what data to collect."
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _table(data: bytes, name: str) -> pd.DataFrame:
    return evalloop.read_table(data, filename=name)


@st.cache_data(max_entries=8, show_spinner="Computing metrics…")
def _report(frame: pd.DataFrame, task: str | None) -> evalloop.EvalReport:
    return evalloop.build_report(frame, task=task)


def _inputs():
    source = st.radio("Eval results", _SOURCES, key="eval_source", horizontal=True)
    if source == _SOURCES[0]:
        compare = st.checkbox("Compare with the base model's results", value=True, key="eval_sample_baseline")
        base = (_SAMPLE_BASE.read_bytes(), _SAMPLE_BASE.name) if compare else None
        return (_SAMPLE.read_bytes(), _SAMPLE.name), base
    left, right = st.columns(2)
    upload = left.file_uploader(
        "Results (CSV, JSONL or JSON)", type=["csv", "jsonl", "json"], key="eval_upload"
    )
    baseline = right.file_uploader(
        "Baseline to compare with (optional): base model or last round",
        type=["csv", "jsonl", "json"],
        key="eval_baseline_upload",
    )
    if upload is None:
        st.info(
            "Upload a file with one row per eval example: an `id` or `input`, the `expected` answer or "
            "label, the model's `predicted` answer, optionally a `category` and a grader `score`."
        )
        st.stop()
    return (upload.getvalue(), upload.name), (baseline.getvalue(), baseline.name) if baseline else None


def _column_map(table: pd.DataFrame, name: str, prefix: str) -> evalloop.ColumnMap:
    guess = evalloop.guess_columns(list(table.columns))
    incomplete = guess["predicted"] is None and guess["score"] is None or guess["expected"] is None
    with st.expander(f"Column mapping of {md_text(name)}", expanded=incomplete):
        options = [_NONE, *table.columns]
        chosen = {}
        cells = st.columns(3)
        for i, role in enumerate(evalloop.ROLES):
            default = options.index(guess[role]) if guess[role] in options else 0
            pick = cells[i % 3].selectbox(role, options, index=default, key=f"{prefix}_col_{role}")
            chosen[role] = None if pick == _NONE else pick
    return evalloop.mapping_from_guess(chosen, list(table.columns), name)


def _load(file, prefix: str) -> pd.DataFrame:
    data, name = file
    table = _table(data, name)
    return evalloop.standardize(table, _column_map(table, name, prefix), name=name)


sources = _inputs()
try:
    frame = _load(sources[0], "eval")
    base_frame = _load(sources[1], "eval_base") if sources[1] else None
    task_pick = st.radio("Task", ("auto", *evalloop.TASKS), horizontal=True, key="eval_task")
    report = _report(frame, None if task_pick == "auto" else task_pick)
    baseline = _report(base_frame, report.task) if base_frame is not None else None
except DatasetError as exc:
    stop_on_dataset_error(exc)

ui_evalloop.headline(report)
ui_evalloop.per_category(report)
worst = ui_evalloop.worst(report)
comparison = (
    ui_evalloop.comparison(report, baseline, st.session_state["eval_min_n"]) if baseline is not None else None
)
ui_evalloop.rounds(ws, report, sources[0][1], comparison, sources[1][1] if sources[1] else None)
done = ui_evalloop.actions(ws, report, worst)

summary = {
    "rows": report.rows,
    "accuracy": round(report.overall["accuracy"], 4),
    "worst_slice": worst[0].label if worst else None,
    "rounds": len(evalloop.list_rounds(ws)),
    **done,
}
marked = hashlib.sha256(repr(sorted(summary.items())).encode()).hexdigest()
acted = bool(done) or summary["rounds"] > 0
if acted and st.session_state.get("eval_marked") != marked:
    ws.mark_step("eval", summary)
    st.session_state["eval_marked"] = marked
