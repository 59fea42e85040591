"""The Eval loop page's sections: the metrics, the worst slices, the comparison, rounds and actions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui_figures
from core import evalloop
from core.errors import DatasetError
from core.workspace import Workspace
from ui import md_text


def headline(report: evalloop.EvalReport) -> None:
    """Rows, accuracy (or exact match), macro F1 or the mean grader score, failing rows."""
    overall = report.overall
    cells = st.columns(4)
    cells[0].metric("Rows", report.rows)
    cells[1].metric("Accuracy" if report.task == "labels" else "Exact match", f"{overall['accuracy']:.1%}")
    if "macro_f1" in overall:
        cells[2].metric("Macro F1", f"{overall['macro_f1']:.3f}")
    elif "score_mean" in overall:
        cells[2].metric("Mean grader score", f"{overall['score_mean']:.3f}")
    cells[3].metric("Failing rows", overall["failures"])


def per_category(report: evalloop.EvalReport) -> None:
    """Precision, recall and F1 per category and the confusion matrix (label tasks only)."""
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


def worst(report: evalloop.EvalReport) -> list[evalloop.Slice]:
    """The worst slices (of at least the chosen size); returns them."""
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


def comparison(
    report: evalloop.EvalReport, baseline: evalloop.EvalReport, min_n: int
) -> evalloop.Comparison | None:
    """The run against its baseline, overall and per slice, naming where fine-tuning was premature."""
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


def rounds(
    ws: Workspace,
    report: evalloop.EvalReport,
    name: str,
    comparison: evalloop.Comparison | None,
    baseline_name: str | None,
) -> None:
    """Save this eval as a round; the metrics over the saved rounds."""
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
    numbers = [int(n) for n in rounds["round"]]
    chosen = st.selectbox("A saved round's rows", numbers[::-1], key="eval_round_rows")
    rows = evalloop.load_round(ws, int(chosen))
    st.download_button(
        f"Download round {chosen}'s {len(rows):,} eval rows (JSON Lines)",
        rows.to_json(orient="records", lines=True, force_ascii=False).encode(),
        f"eval_round_{int(chosen):04d}.jsonl",
        "application/jsonl",
        key="eval_round_download",
    )


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


def actions(ws: Workspace, report: evalloop.EvalReport, worst: list[evalloop.Slice]) -> dict:
    """Turn the selected failures into an annotation queue, generation targets or dataset rows."""
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
