"""The Review page's sections: the reviewers, the queue and its buttons, the pass rate, the gate.

Decisions are written in button callbacks (they run before the rerun draws the next example), so
those functions take the workspace and its review store as arguments bound when the button is drawn.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import review, synth
from core.workspace import Workspace
from ui import blank, current_dataset, md_text, plural, render_example, render_message


@st.cache_data(max_entries=16, ttl=30)
def batch(root: str, batch_id: str) -> pd.DataFrame:
    """The passing examples of a generated batch (cached for half a minute)."""
    return synth.batch_examples(Workspace.open(root), batch_id, valid_only=True)


def _reviewer() -> str:
    return st.session_state.get("review_reviewer", "").strip()


def _decide(
    ws: Workspace, store: review.ReviewStore, batch_id: str, example_id: str, verdict: str, **extra: Any
) -> None:
    try:
        store.record(review.Decision(batch_id, example_id, verdict, _reviewer(), **extra))
    except ValueError as exc:
        st.session_state["review_error"] = str(exc)
        return
    ws.set_state("review.reviewer", _reviewer())
    rate = store.pass_rate()
    ws.mark_step("review", {"reviewed": rate.reviewed, "pass rate": f"{rate.rate:.0%}" if rate.rate else "—"})


def _save_edit(
    ws: Workspace, store: review.ReviewStore, batch_id: str, example_id: str, messages: list, last: int
) -> None:
    # read the text here: callback args are bound when the button is drawn, so a reply typed right
    # before the click would be lost
    text = st.session_state.get(f"review_edit_{example_id}", messages[last]["content"])
    edited = [*messages[:last], {**messages[last], "content": text}, *messages[last + 1 :]]
    _decide(ws, store, batch_id, example_id, "edit", edited_messages=edited)


def _reject(ws: Workspace, store: review.ReviewStore, batch_id: str, example_id: str) -> None:
    note = st.session_state.get("review_note") or None  # read now, for the same reason as above
    _decide(
        ws, store, batch_id, example_id, "reject", reason=st.session_state.get("review_reason"), note=note
    )
    st.session_state["review_note"] = ""  # the next example starts with an empty note


def _undo(store: review.ReviewStore, batch_id: str) -> None:
    store.undo_last(batch_id, _reviewer() or None)


def _assign(ws: Workspace, store: review.ReviewStore, batch_id: str, ids: list, seed: int) -> None:
    names = review.assign.clean_reviewers(st.session_state.get("review_team", "").split(","))
    try:
        plan = review.assign.plan(ids, names, overlap=st.session_state["review_overlap"] / 100, seed=seed)
    except ValueError as exc:
        st.session_state["review_error"] = str(exc)
        return
    store.assign(batch_id, plan, seed=seed)
    ws.set_state("review.team", ", ".join(names))


def chooser(
    ws: Workspace, batches: pd.DataFrame, chosen_sets: dict[str, review.sets.ReviewSet]
) -> tuple[str, str, int]:
    """The reviewer's name, the batch (or set of rows chosen on Explore) and the sample seed."""
    st.session_state.setdefault("review_reviewer", ws.get_state("review.reviewer", ""))
    top = st.columns([2, 3, 1])
    reviewer = top[0].text_input("Reviewer", key="review_reviewer", placeholder="your name")
    labels = {
        row.batch_id: f"{row.batch_id} · {row.mode} · {row.valid} valid · {row.created_at}"
        for row in batches.itertuples()
    }
    labels |= {
        s.set_id: f"{s.set_id} · {len(s.ids)} rows chosen on Explore · {s.description}"
        for s in chosen_sets.values()
    }
    batch_id = top[1].selectbox("Batch", list(labels), format_func=labels.get, key="review_batch")
    seed = top[2].number_input(
        "Sample seed",
        0,
        2**31 - 1,
        0,
        key="review_seed",
        help="Used once, when the batch's sample is first drawn; then the sample is fixed.",
    )
    return reviewer, batch_id, int(seed)


def reviewers(
    ws: Workspace,
    store: review.ReviewStore,
    batch_id: str,
    ids: list,
    seed: int,
    assignments: pd.DataFrame,
    by_reviewer: pd.DataFrame,
) -> None:
    """Share the sample among reviewers; their progress and their agreement on the overlap."""
    with st.expander("Reviewers: share the sample, progress, agreement", expanded=not assignments.empty):
        st.session_state.setdefault("review_team", ws.get_state("review.team", ""))
        cols = st.columns([3, 2, 1])
        cols[0].text_input("Reviewers (comma separated)", key="review_team", placeholder="ana, ben")
        cols[1].slider(
            "Overlap everyone reviews (%)",
            0,
            100,
            int(review.DEFAULT_OVERLAP * 100),
            5,
            key="review_overlap",
            help="These examples are reviewed by every reviewer, to measure their agreement (kappa).",
        )
        cols[2].button("Assign", key="review_assign", on_click=_assign, args=(ws, store, batch_id, ids, seed))
        if assignments.empty:
            st.caption("Not shared out: every reviewer sees every example nobody has decided.")
            return
        rows = review.assign.progress(assignments, by_reviewer)
        shared = assignments.loc[assignments["shared"] == 1, "example_id"].unique().tolist()
        st.caption(f"{plural(len(shared), 'example')} shared by everyone; the rest dealt out in turn.")
        st.dataframe(
            pd.DataFrame(
                {
                    "reviewer": [r.reviewer for r in rows],
                    "assigned": [r.assigned for r in rows],
                    "done": [r.done for r in rows],
                    "remaining": [r.remaining for r in rows],
                    "progress": [r.done / max(1, r.assigned) for r in rows],
                }
            ),
            column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1)},
            hide_index=True,
        )
        _agreement(by_reviewer, shared)


def _agreement(by_reviewer: pd.DataFrame, shared: list) -> None:
    pairs = review.assign.agreement(by_reviewer, shared)
    for pair in pairs:
        kappa = "undefined" if pair.kappa != pair.kappa else f"{pair.kappa:.2f}"
        text = (
            f"{md_text(pair.a)} and {md_text(pair.b)}: kappa {kappa} on {pair.n} shared examples "
            f"({pair.agreed} agreed)"
        )
        if pair.noisy:
            st.warning(text + ": below 0.7, they do not read the rubric alike; talk it through first.")
        else:
            st.write(text)
    if shared and not any(p.n for p in pairs):
        st.caption("Agreement shows once two reviewers have both decided a shared example.")


def _decide_all(
    ws: Workspace, store: review.ReviewStore, batch_id: str, example_ids: list, verdict: str
) -> None:
    reason = st.session_state.get("review_reason") if verdict == "reject" else None
    try:
        store.record_many(
            [review.Decision(batch_id, i, verdict, _reviewer(), reason=reason) for i in example_ids]
        )
    except ValueError as exc:
        st.session_state["review_error"] = str(exc)
        return
    st.session_state["review_bulk_confirm"] = False
    ws.set_state("review.reviewer", _reviewer())


def bulk(ws: Workspace, store: review.ReviewStore, batch_id: str, pending: list, group: str) -> None:
    """Approve or reject every example of the filtered group still to review, once confirmed."""
    with st.container(border=True):
        st.markdown(f"**All {len(pending)} examples of {md_text(group)} still to review**")
        sure = st.checkbox(f"I have read them: decide all {len(pending)} at once", key="review_bulk_confirm")
        cols = st.columns(2)
        allowed = sure and bool(_reviewer())
        cols[0].button(
            f"Approve all {len(pending)}", key="review_bulk_approve", disabled=not allowed,
            on_click=_decide_all, args=(ws, store, batch_id, pending, "approve"),
        )  # fmt: skip
        cols[1].button(
            f"Reject all {len(pending)} (reason below)", key="review_bulk_reject", disabled=not allowed,
            on_click=_decide_all, args=(ws, store, batch_id, pending, "reject"),
        )  # fmt: skip


def audit_trail(store: review.ReviewStore) -> None:
    """Every decision (who, when, what, why), and its download."""
    with st.expander("Audit trail (every decision: who, when, what, why)"):
        audit = store.audit()
        st.dataframe(blank(audit), hide_index=True, width="stretch")
        st.download_button(
            "Download audit (CSV)",
            audit.to_csv(index=False).encode(),
            "review_audit.csv",
            "text/csv",
            key="review_download_audit",
        )


def sample_done(store: review.ReviewStore, batch_id: str, frame: pd.DataFrame, ids: list, seed: int) -> None:
    """Every sampled example is reviewed: extend the sample, or take the last decision back."""
    st.success("Every sampled example of this batch is reviewed.")
    unsampled = len(frame) - len(ids)
    more = st.number_input(
        "Extend the sample by",
        1,
        max(1, unsampled),
        min(10, max(1, unsampled)),
        key="review_extend_n",
        disabled=unsampled <= 0,
    )
    cols = st.columns(2)
    if cols[0].button("Extend sample", key="review_extend", disabled=unsampled <= 0):
        store.extend_sample(batch_id, frame, int(more), seed=seed + len(ids))
        st.rerun()
    # the last decision can be taken back too, not only those with examples still to come
    cols[1].button("Undo last", key="review_undo", on_click=_undo, args=(store, batch_id))


def example_to_review(
    ws: Workspace,
    store: review.ReviewStore,
    batch_id: str,
    example: pd.Series,
    pending: list,
    reviewer: str,
    rate: review.PassRate,
) -> None:
    """The next example, with Approve, Undo, Reject (a reason and a note) and Edit and approve."""
    st.markdown(f"**{len(pending)} still to review{f' by {md_text(reviewer)}' if reviewer.strip() else ''}**")
    st.text(f"{example.get('category') or 'no category'} · mode {example.get('mode')}")
    render_example(example)
    if not reviewer.strip():
        st.warning("Type your name above: every decision records who made it.")
    buttons = st.columns(3)
    buttons[0].button(
        "Approve",
        key="review_approve",
        type="primary",
        disabled=not reviewer.strip(),
        on_click=_decide,
        args=(ws, store, batch_id, pending[0], "approve"),
        width="stretch",
        shortcut="A",
    )
    buttons[1].button(
        "Undo last",
        key="review_undo",
        on_click=_undo,
        args=(store, batch_id),
        disabled=rate.reviewed == 0,
        width="stretch",
        shortcut="U",
    )
    buttons[2].button(
        "Skip for now",
        key="review_skip",
        on_click=lambda i: st.session_state["review_skipped"].append(i),
        args=(pending[0],),
        width="stretch",
        shortcut="N",
    )
    with st.expander("Reject", expanded=True):
        st.selectbox("Reason", review.REJECT_REASONS, key="review_reason")
        st.text_input("Note", key="review_note")
        st.button(
            "Reject",
            key="review_reject",
            disabled=not reviewer.strip(),
            on_click=_reject,
            args=(ws, store, batch_id, pending[0]),
            shortcut="X",
        )
    with st.expander("Edit and approve"):
        messages = list(example["messages"] or [])
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is None or not isinstance(messages[last].get("content"), str):
            st.caption("Only a text assistant reply can be edited here.")
        else:
            st.text_area("Assistant reply", messages[last]["content"], key=f"review_edit_{pending[0]}")
            st.button(
                "Save edit and approve",
                key="review_edit",
                disabled=not reviewer.strip(),
                on_click=_save_edit,
                args=(ws, store, batch_id, pending[0], messages, last),
                shortcut="Ctrl+Enter",
            )


def provenance(ws: Workspace, frame: pd.DataFrame, example: pd.Series | None) -> None:
    """The seed examples the one under review was generated from, and the generation prompt."""
    st.markdown("**Where it came from**")
    if example is not None:
        seed_ids = list(example.get("seed_ids") or [])
        data = current_dataset(ws)
        seeds = data[data["id"].isin(seed_ids)] if data is not None and seed_ids else pd.DataFrame()
        if seeds.empty:
            st.caption("No seed example recorded for this one (gap-targeted generations have none).")
        for _, seed_row in seeds.head(3).iterrows():
            with st.container(border=True):
                for message in seed_row["messages"]:
                    if message.get("role") != "system":
                        render_message(message)
    if example_prompt := (
        frame["prompt"].dropna().iloc[0] if "prompt" in frame and frame["prompt"].notna().any() else None
    ):
        with st.expander("Generation prompt"):
            st.text(example_prompt)
