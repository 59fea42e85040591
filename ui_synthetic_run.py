"""The Synthetic page's runs: the live meter with its controls, the batches, and the mix guard."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import review
from core.errors import DatasetError
from core.synth import mix_status, runner, store, teachers, terms_notice
from core.workspace import Workspace
from ui import render_example

CURRENT_RUN = "synth.current_run"


def run_is_live(ws: Workspace) -> bool:
    """True while the current run is running here or elsewhere (another tab, the command line)."""
    run_id = ws.get_state(CURRENT_RUN)
    return bool(run_id) and (runner.is_active(ws, run_id) or runner.holder(ws, run_id) is not None)


def meter(ws: Workspace, live: bool) -> None:
    """The live meter of the current run and its controls."""
    # it polls once a second only while a run is live; when it ends, the whole page reruns
    st.fragment(run_every=1 if live else None)(_meter)(ws)


def _meter(ws: Workspace) -> None:
    run_id = ws.get_state(CURRENT_RUN)
    if not run_id or store.get_run(ws, run_id) is None:
        return
    meter = runner.progress(ws, run_id)
    st.subheader(f"Run {run_id}")
    refused = st.session_state.get("synth_start_error")
    if refused and not meter.alive:
        st.error(f"Not started: {refused}. Wait for it to end, or press Stop, then resume.")
    cols = st.columns(4)
    cols[0].metric("Spent", f"${meter.spent_usd:.5f}", help="From the real usage of every answer")
    cols[1].metric("Generated", meter.generated)
    cols[2].metric("Passing", meter.valid)
    cols[3].metric("Failing", meter.invalid)
    cols = st.columns(4)
    per_valid = meter.usd_per_valid
    cols[0].metric("$ per passing example", "—" if per_valid is None else f"${per_valid:.5f}")
    cols[1].metric("Projected total", f"${meter.projected_usd:.5f}")
    cols[2].metric("Tokens in / out", f"{meter.tokens_in:,} / {meter.tokens_out:,}")
    cols[3].metric("Elapsed · rate", f"{meter.elapsed_s:.0f} s · {meter.rate_per_s:.2f}/s")
    at_risk = f" + ${meter.at_risk_usd:.4f} at risk" if meter.at_risk_usd > 0 else ""
    cols = st.columns(4)
    cols[0].metric("At risk", f"${meter.at_risk_usd:.5f}", help="Attempts that may have been billed")
    cols[1].metric("In flight", f"${meter.in_flight_usd:.5f}", help="Worst case of the requests out now")
    cols[2].metric("Gave up", meter.requests_failed, help="Requests that used up their retries")
    cols[3].metric("Needed retries", meter.requests_retried)
    st.progress(
        meter.budget_fraction, text=f"Spent ${meter.spent_usd:.4f}{at_risk} of ${meter.budget_usd:.2f} budget"
    )
    if meter.at_risk_usd > 0:
        st.caption(
            f"${meter.at_risk_usd:.4f} at risk: every attempt counts at its worst case from the moment it is "
            "sent; one that timed out, lost its connection, came back unreadable or was cut off by a crash "
            "may still be billed, so it stays counted against the budget."
        )
    answered = meter.requests_done + meter.requests_failed
    st.progress(
        answered / meter.n_requests if meter.n_requests else 1.0,
        text=f"{answered} of {meter.n_requests} requests answered",
    )
    st.caption(
        f"{meter.requests_done} answered · {meter.requests_failed} gave up · "
        f"{meter.requests_retried} needed retries · {meter.requests_pending} not sent yet"
    )
    _run_controls(ws, run_id, meter)


_OUTCOMES = {
    "done": "Done: every request was answered.",
    "budget": "Stopped by the budget.",
    "cancel": "Stopped by you.",
    "failed": "Failed.",
}


def _run_controls(ws: Workspace, run_id: str, meter: runner.Progress) -> None:
    if meter.alive:
        if meter.holder and not runner.is_active(ws, run_id):
            st.info(f"Running elsewhere: {meter.holder}. Stop asks it to stop after its requests in flight.")
        if st.button("Stop", key="synth_stop", type="primary"):
            runner.stop_run(ws, run_id)
        return
    _show_outcome(meter)
    if meter.requests_pending and st.button("Resume", key="synth_resume"):
        start_existing(ws, run_id)
    if meter.requests_failed and st.button(
        f"Retry the {meter.requests_failed} requests that gave up", key="synth_retry_failed"
    ):
        store.reset_failed(ws, run_id)
        start_existing(ws, run_id)
    marked = st.session_state.setdefault("synth_marked", set())
    if meter.status != "running" and run_id not in marked:
        ws.mark_step(
            "synthetic",
            {
                "batch": run_id,
                "generated": meter.generated,
                "valid": meter.valid,
                "spent_usd": round(meter.spent_usd, 4),
            },
        )
        marked.add(run_id)
        st.rerun(scope="app")  # the batches, mix guard and start button below must see the end


def _show_outcome(meter: runner.Progress) -> None:
    if meter.status == "running":  # its runner died (a crash, a restart of the app)
        st.warning("Interrupted: the runner stopped without finishing. Resume sends what is left.")
        return
    st.caption(f"Status: {meter.status}")
    text = _OUTCOMES.get(meter.status, f"Status: {meter.status}")
    if meter.reason:
        text = f"{text} {meter.reason[0].upper()}{meter.reason[1:]}."
    if meter.status == "failed":
        st.error(text)
    elif meter.status in ("budget", "cancel") or meter.requests_failed:
        st.warning(text)
    else:
        st.success(text)


def start_existing(ws: Workspace, run_id: str) -> None:
    """Start (or resume) a run in the background with the key of this session, then rerun."""
    try:
        runner.start_background(ws, run_id, api_key=st.session_state.get("synth_api_key") or None)
    except DatasetError as exc:  # another runner holds it (the command line, another tab's app)
        st.session_state["synth_start_error"] = str(exc)
    else:
        st.session_state.pop("synth_start_error", None)
    st.rerun()


def batches_section(ws: Workspace, live: bool) -> None:
    """The batches, each one's passing and failing examples."""
    # they follow a live run as the meter does (its counts and examples grow while it runs)
    st.fragment(run_every=2 if live else None)(_batches)(ws)


def _batches(ws: Workspace) -> None:
    batches = store.list_batches(ws)
    if batches.empty:
        return
    st.subheader("Batches")
    st.dataframe(batches, hide_index=True, key="synth_batches_table")
    batch_id = st.selectbox("Show batch", list(batches["batch_id"]), key="synth_batch")
    examples = store.batch_examples(ws, batch_id, valid_only=False)
    valid_tab, failed_tab = st.tabs(
        [
            f"Passing ({int(examples['valid'].sum())})",
            f"Failing ({int((~examples['valid'].astype(bool)).sum())})",
        ]
    )
    with valid_tab:
        _example_list(examples[examples["valid"].astype(bool)], "valid")
    with failed_tab:
        failed = examples[~examples["valid"].astype(bool)]
        if not failed.empty:
            table = pd.DataFrame(
                {
                    "prompt": failed["prompt_text"],
                    "answer": failed["response_text"],
                    "reasons": ["; ".join(r) for r in failed["reasons"]],
                }
            )
            st.dataframe(table, hide_index=True, key="synth_failed_table")
        _example_list(failed, "failed")


def _example_list(examples: pd.DataFrame, kind: str) -> None:
    for index, (_, row) in enumerate(examples.head(20).iterrows()):
        with st.expander(f"{kind.capitalize()} example {index + 1}"):
            render_example(row)
            if row["reasons"]:
                st.text("Failed: " + "; ".join(row["reasons"]))
            st.text(f"category: {row.get('category')} · seeds: {', '.join(row['seed_ids'])}")


def mix_section(ws: Workspace, frame: pd.DataFrame, teacher: teachers.TeacherConfig | None) -> None:
    """The share of synthetic examples now and if every passing one were added; the terms notice."""
    st.subheader("Mix guard")
    sources = (
        frame["source"].fillna("real") if "source" in frame.columns else pd.Series(["real"] * len(frame))
    )
    real, synthetic = int((sources != "synthetic").sum()), int((sources == "synthetic").sum())
    batches = store.list_batches(ws)
    gates = review.ReviewStore(ws).gates()
    # admitted batches are already in the dataset (counted above): only the others are still to come
    admitted = set(gates.loc[gates["admitted"] == 1, "batch_id"]) if not gates.empty else set()
    waiting = batches[~batches["batch_id"].isin(admitted)] if not batches.empty else batches
    pending = int(waiting["valid"].sum()) if not waiting.empty else 0
    status = mix_status(real, synthetic)
    after = mix_status(real, synthetic + pending)
    cols = st.columns(3)
    cols[0].metric("Real", real)
    cols[1].metric("Synthetic in the dataset", synthetic, help=status.message)
    cols[2].metric("Share if every passing example were added", f"{after.share:.0%}")
    for item in (status, after):
        if item.level == "block":
            st.error(item.message)
        elif item.level == "warn":
            st.warning(item.message)
    if teacher is not None:
        info = ws.dataset_info()
        default_target = "openai" if info and str(info.source_format or "").startswith("openai") else "other"
        options = ["openai", "anthropic", "google", "other"]
        target = st.selectbox(
            "The data is meant for a model from",
            options,
            index=options.index(default_target),
            key="synth_target_provider",
        )
        notice = terms_notice(teacher.provider, target)
        if notice:
            st.warning(notice)
