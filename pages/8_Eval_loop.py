import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

import ui_figures
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


def _headline(report: evalloop.EvalReport) -> None:
    overall = report.overall
    cells = st.columns(4)
    cells[0].metric("Rows", report.rows)
    cells[1].metric("Accuracy" if report.task == "labels" else "Exact match", f"{overall['accuracy']:.1%}")
    if "macro_f1" in overall:
        cells[2].metric("Macro F1", f"{overall['macro_f1']:.3f}")
    elif "score_mean" in overall:
        cells[2].metric("Mean grader score", f"{overall['score_mean']:.3f}")
    cells[3].metric("Failing rows", overall["failures"])


def _per_category(report: evalloop.EvalReport) -> None:
    if report.task != "labels":
        return
    st.subheader("Per category")
    table = pd.DataFrame(report.per_category).T.rename_axis("category").reset_index()
    table["support"] = table["support"].astype(int)
    number = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(
        table.sort_values("f1"),
        hide_index=True,
        width="stretch",
        column_config={"precision": number, "recall": number, "f1": number},
    )
    st.plotly_chart(ui_figures.confusion_figure(report), key="eval_confusion")


def _worst(report: evalloop.EvalReport) -> list[evalloop.Slice]:
    st.subheader("Worst slices")
    min_n = st.slider("Smallest slice to rank", 1, 30, 5, key="eval_min_n")
    worst = report.worst_slices(min_n=min_n, limit=12)
    st.dataframe(
        pd.DataFrame(
            [
                {"slice": s.title, "metric": s.metric, "value": s.score, "n": s.n, "failing": s.failures}
                for s in worst
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"value": st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0)},
    )
    return worst


def _comparison(report, baseline, min_n: int) -> evalloop.Comparison | None:
    st.subheader("Fine-tuned vs baseline")
    try:
        comparison = evalloop.compare_results(report, baseline)
    except DatasetError as exc:
        st.error(str(exc))
        return None
    overall = comparison.overall
    message = (
        f"Overall {overall.metric}: {overall.current:.1%} vs {overall.baseline:.1%} for the baseline "
        f"({overall.delta:+.1%}) on {comparison.matched} shared rows: **{overall.verdict}**."
    )
    (st.success if overall.verdict == "helped" else st.warning)(message)
    rows = pd.DataFrame(
        [
            {
                "slice": evalloop.slice_title(s.slice),
                "current": s.current,
                "baseline": s.baseline,
                "delta": s.delta,
                "n": s.n,
                "verdict": s.verdict,
                "McNemar p": s.p_value,
                "note": s.note,
            }
            for s in comparison.slices
        ]
    )
    premature = rows[(rows["verdict"] != "helped") & (rows["n"] >= min_n)]
    if len(premature):
        st.warning(
            f"In {len(premature)} slice(s) the base model already does as well or better, so fine-tuning was "
            f"premature there: {', '.join(map(md_text, premature['slice']))} "
            f"(slices of at least {min_n} rows). "
            "Fix the data (or the prompt) for those first."
        )
    dimension = st.selectbox("Chart by", evalloop.SLICE_DIMENSIONS, key="eval_compare_dim")
    st.plotly_chart(ui_figures.comparison_figure(comparison, dimension=dimension), key="eval_compare_chart")
    number = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={"current": number, "baseline": number, "delta": number, "McNemar p": number},
    )
    return comparison


def _rounds(report: evalloop.EvalReport, name: str, comparison, baseline_name: str | None) -> None:
    st.subheader("Rounds")
    rounds = evalloop.list_rounds(ws)
    st.caption("Each saved eval is a round; the charts show how the metrics move from round to round.")
    round_name = st.text_input("Round name", value=f"{name} · round {len(rounds) + 1}", key="eval_round_name")
    if st.button("Save this eval as a round", key="eval_save_round"):
        number = evalloop.save_round(
            ws, report, name=round_name, comparison=comparison, baseline_name=baseline_name
        )
        st.session_state["eval_saved_round"] = number
        st.success(f"Saved as round {number}.")
        rounds = evalloop.list_rounds(ws)
    if rounds.empty:
        st.info("No round saved yet.")
        return
    history = evalloop.round_history(ws)
    dimension = st.selectbox(
        "Metric over rounds", ("overall", *evalloop.SLICE_DIMENSIONS), key="eval_history_dim"
    )
    st.plotly_chart(ui_figures.history_figure(history, dimension=dimension), key="eval_history_chart")
    st.dataframe(rounds, hide_index=True, width="stretch")


def _selected_failures(
    report: evalloop.EvalReport, worst: list[evalloop.Slice]
) -> tuple[list[str], pd.DataFrame]:
    failing_slices = [s.label for s in report.slices if s.failures]
    by_category = [s.label for s in worst if s.failures and s.dimension == "category"]
    default = (by_category or [s.label for s in worst if s.failures])[:2]
    slices = st.multiselect(
        "Failing slices",
        failing_slices,
        default=default,
        format_func=evalloop.slice_title,
        key="eval_pick_slices",
    )
    failing = evalloop.select_failures(report.frame)
    texts = {i: "" if t is None else str(t) for i, t in zip(failing["id"], failing["input"], strict=True)}
    ids = st.multiselect(
        "…and/or single failing rows",
        list(texts),
        format_func=lambda i: f"{i}: {texts[i][:80]}",
        key="eval_pick_rows",
    )
    return slices, evalloop.select_failures(
        report.frame, slices=slices, ids=ids
    ) if slices or ids else failing.iloc[:0]


def _actions(report: evalloop.EvalReport, worst: list[evalloop.Slice]) -> dict:
    st.subheader("Failures → next round of data")
    slices, rows = _selected_failures(report, worst)
    st.caption(f"{len(rows)} failing row(s) selected.")
    if rows.empty:
        return {}
    st.dataframe(rows[["id", "input", "expected", "predicted", "category"]], hide_index=True, width="stretch")
    queue = evalloop.annotation_queue(rows)
    round_number = st.session_state.get("eval_saved_round")
    done: dict = {}
    left, middle, right = st.columns(3)
    with left:
        st.download_button(
            "Download annotation queue (CSV)",
            evalloop.queue_csv(queue),
            file_name="eval_annotation_queue.csv",
            mime="text/csv",
            key="eval_queue_download",
        )
        if st.button("Send to annotation queue", key="eval_send_queue"):
            done["queued"] = evalloop.save_queue(ws, queue, round_number=round_number)
            st.success(
                f"{done['queued']} row(s) saved to the annotation queue. Fill in "
                f"`{evalloop.QUEUE_LABEL_COLUMN}` and upload the file on the Labels page (add the rows to "
                "the dataset first, so the ids match)."
            )
    with middle:
        per_failure = st.number_input("Examples per failing row", 1, 20, 3, key="eval_per_failure")
        if st.button("Save as generation targets", key="eval_save_targets"):
            names = slices or [f"category={c}" for c in rows["slice_category"].unique()]
            targets = evalloop.make_targets(
                report, names, per_failure=int(per_failure), round_number=round_number
            )
            evalloop.save_targets(ws, targets)
            done["targets"] = len(targets)
            st.success(f"Saved {len(targets)} target(s): they now appear on the Synthetic page.")
            st.caption("Open **Synthetic** in the sidebar and pick the gap-targeted mode to generate them.")
    with right:
        if st.button("Add to the dataset (source = eval)", key="eval_add_dataset"):
            examples = evalloop.eval_rows_to_records(rows)
            version = evalloop.add_to_dataset(ws, examples, note="eval failures")
            done["added"] = len(examples)
            st.success(
                f"Added {len(examples)} example(s) as dataset version {version}; the split keeps them in "
                "train only."
            )
    return done


sources = _inputs()
try:
    frame = _load(sources[0], "eval")
    base_frame = _load(sources[1], "eval_base") if sources[1] else None
    task_pick = st.radio("Task", ("auto", *evalloop.TASKS), horizontal=True, key="eval_task")
    report = _report(frame, None if task_pick == "auto" else task_pick)
    baseline = _report(base_frame, report.task) if base_frame is not None else None
except DatasetError as exc:
    stop_on_dataset_error(exc)

_headline(report)
_per_category(report)
worst = _worst(report)
comparison = _comparison(report, baseline, st.session_state["eval_min_n"]) if baseline is not None else None
_rounds(report, sources[0][1], comparison, sources[1][1] if sources[1] else None)
done = _actions(report, worst)

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
