"""The Review page's outcome: the pass rate, the rejections, and what enters the dataset.

A generated batch passes the gate (or an override) into the dataset; rows chosen on Explore are
already in it, so their review is applied as a new version instead.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import review
from core.errors import DatasetError
from core.workspace import Workspace
from ui import blank, page_link


def _rate_text(value: review.PassRate) -> str:
    if value.rate is None:
        return "—"
    low, high = value.interval
    return f"{value.rate:.1%} (95% CI {low:.0%}–{high:.0%})"


def _interval_text(value: review.PassRate) -> str | None:
    if value.rate is None:
        return None
    low, high = value.interval
    return f"95% CI {low:.0%}–{high:.0%} (Wilson), {value.reviewed} reviewed"


def pass_rate(store: review.ReviewStore, rate: review.PassRate) -> None:
    """This batch's and every batch's pass rate, with their intervals, against the 90% bar."""
    st.divider()
    st.subheader("Pass rate")
    overall = store.pass_rate()
    cols = st.columns(4)
    cols[0].metric(
        "This batch", "—" if rate.rate is None else f"{rate.rate:.1%}", help="Approved share of the reviewed"
    )
    cols[0].caption(_interval_text(rate) or "nothing reviewed yet")
    cols[1].metric("Still to review", rate.remaining)
    cols[2].metric("All batches", "—" if overall.rate is None else f"{overall.rate:.1%}")
    cols[2].caption(_interval_text(overall) or "nothing reviewed yet")
    cols[3].metric("Bar", "90%")
    if rate.rate is None:
        return
    low, high = rate.interval
    fig = go.Figure(
        go.Bar(
            x=[rate.rate],
            y=["pass rate"],
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [high - rate.rate],
                "arrayminus": [rate.rate - low],
            },
        )
    )
    fig.add_vline(x=review.PASS_BAR, line_dash="dash", annotation_text="90% bar")
    fig.update_layout(height=160, xaxis={"range": [0, 1], "tickformat": ".0%"}, margin={"t": 10, "b": 10})
    st.plotly_chart(fig, key="review_rate_chart")


def below_the_bar(
    store: review.ReviewStore,
    batch_id: str,
    frame: pd.DataFrame,
    decisions: pd.DataFrame,
    rate: review.PassRate,
    chosen: bool,
) -> None:
    """Below the 90% bar: say so (for a batch), and show the top rejection reasons and rejected rows."""
    if chosen:
        pass  # chosen rows, not a generation: the bar is a batch's; rejections are applied below
    elif rate.reviewed and not rate.meets_bar and rate.remaining:
        st.warning(f"So far below the 90% bar, with {rate.remaining} sampled examples still to review.")
    elif rate.reviewed and not rate.meets_bar:
        st.error("Below the 90% bar: fix the generation prompt first, then generate a new batch.")
    if not rate.reviewed or rate.meets_bar:
        return
    reasons = store.rejection_reasons(batch_id)
    st.markdown("**Top rejection reasons**")
    st.bar_chart(reasons, horizontal=True, height=60 + 35 * len(reasons))
    rejected = decisions[decisions["verdict"] == "reject"].merge(
        frame[["id", "prompt_text", "response_text"]], left_on="example_id", right_on="id", how="left"
    )
    st.dataframe(
        blank(rejected[["example_id", "reason", "note", "prompt_text", "response_text"]].head(10)),
        hide_index=True,
        width="stretch",
    )
    if not chosen:
        page_link("pages/5_Synthetic.py", label="Fix the prompt on the Synthetic page", icon="🧪")


def apply_chosen(ws: Workspace, chosen_set: review.sets.ReviewSet, rate: review.PassRate) -> None:
    """Apply the review of rows chosen on Explore as a new version (rejected out, edited in), or undo it."""
    st.subheader("Apply to the dataset")
    st.write(
        "These rows are already in the dataset: applying the review removes the rejected ones and puts "
        "the edited ones in their place, as a new version that can be undone."
    )
    if flash := st.session_state.pop("review_flash", None):
        st.success(flash)
    last = ws.dataset_info()
    applied = (
        last is not None and last.parent is not None and last.note.startswith(f"review: {chosen_set.set_id} ")
    )
    if applied and st.button(f"Undo: back to v{last.parent}", key="review_apply_undo"):
        ws.revert_to(last.parent)
        st.rerun()
    if st.button("Apply the review as a new version", key="review_apply", disabled=rate.reviewed == 0):
        try:
            version, removed, edited = review.sets.apply_set(ws, chosen_set)
        except DatasetError as exc:
            st.info(str(exc))
        else:
            ws.mark_step("review", {"applied": chosen_set.set_id, "pass rate": _rate_text(rate)})
            st.session_state["review_flash"] = (
                f"Version {version}: {removed} rejected rows removed, {edited} edited."
            )
            st.rerun()


def gate(
    ws: Workspace,
    store: review.ReviewStore,
    batch_id: str,
    frame: pd.DataFrame,
    rate: review.PassRate,
    reviewer: str,
) -> None:
    """The gate rule, its decision on this batch, and adding the batch to the dataset (or an override)."""
    st.subheader("Gate")
    rules = list(review.GATE_RULES)
    saved_rule = ws.get_state("review.gate_rule", "point")
    rule = st.radio(
        "The gate passes a batch when",
        rules,
        index=rules.index(saved_rule) if saved_rule in rules else 0,
        format_func=review.GATE_RULES.get,
        key="review_gate_rule",
        horizontal=True,
    )
    if rule != saved_rule:
        ws.set_state("review.gate_rule", rule)
    decision = review.gate(rate, rule=rule)
    admitted = store.gates()
    if not admitted.empty and batch_id in set(admitted["batch_id"]):
        st.success(f"Batch {batch_id} is in the dataset.")
        return
    st.write(("✅ " if decision.allowed else "⛔ ") + decision.reason)
    override = st.text_input("Override reason (recorded in the data card)", key="review_override")
    if st.button(
        "Add batch to the dataset",
        key="review_admit",
        disabled=not (decision.allowed or override.strip()) or not reviewer.strip(),
    ):
        try:
            version = review.admit_batch(
                ws, batch_id, frame, reviewer=reviewer, override_reason=override or None, rule=rule
            )
        except DatasetError as exc:
            st.error(str(exc))
        else:
            ws.mark_step("review", {"admitted batch": batch_id, "pass rate": _rate_text(rate)})
            st.success(f"Added as dataset version {version}.")
