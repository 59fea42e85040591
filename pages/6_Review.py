import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import review, synth
from core.errors import DatasetError
from ui import (
    blank,
    current_dataset,
    dataset_at,
    md_text,
    open_workspace,
    page_link,
    plural,
    render_example,
    render_message,
)

st.title("✅ Review")
st.caption(
    "Never train on raw synthetic output. Review a fixed 10% sample of each batch (at least 20); a batch "
    "enters the dataset only when at least 90% of its reviewed examples pass."
)
ws = open_workspace()
store = review.ReviewStore(ws)

batches = synth.list_batches(ws)
chosen_sets = {s.set_id: s for s in review.sets.list_sets(ws)}
if batches.empty and not chosen_sets:
    st.info(
        "Nothing to review yet: generate synthetic data on the Synthetic page, or send rows of the "
        "dataset to review from Explore."
    )
    page_link("pages/5_Synthetic.py", label="Go to Synthetic", icon="🧪")
    page_link("pages/9_Explore.py", label="Go to Explore", icon="🔭")
    st.stop()


@st.cache_data(max_entries=16, ttl=30)
def _batch(root: str, batch_id: str) -> pd.DataFrame:
    return synth.batch_examples(open_workspace(), batch_id, valid_only=True)


def _reviewer() -> str:
    return st.session_state.get("review_reviewer", "").strip()


def _decide(batch_id: str, example_id: str, verdict: str, **extra) -> None:
    try:
        store.record(review.Decision(batch_id, example_id, verdict, _reviewer(), **extra))
    except ValueError as exc:
        st.session_state["review_error"] = str(exc)
        return
    ws.set_state("review.reviewer", _reviewer())
    rate = store.pass_rate()
    ws.mark_step("review", {"reviewed": rate.reviewed, "pass rate": f"{rate.rate:.0%}" if rate.rate else "—"})


def _save_edit(batch_id: str, example_id: str, messages: list, last: int) -> None:
    # read the text here: callback args are bound when the button is drawn, so a reply typed right
    # before the click would be lost
    text = st.session_state.get(f"review_edit_{example_id}", messages[last]["content"])
    edited = [*messages[:last], {**messages[last], "content": text}, *messages[last + 1 :]]
    _decide(batch_id, example_id, "edit", edited_messages=edited)


def _reject(batch_id: str, example_id: str) -> None:
    note = st.session_state.get("review_note") or None  # read now, for the same reason as above
    _decide(batch_id, example_id, "reject", reason=st.session_state.get("review_reason"), note=note)
    st.session_state["review_note"] = ""  # the next example starts with an empty note


def _undo(batch_id: str) -> None:
    store.undo_last(batch_id, _reviewer() or None)


def _assign(batch_id: str, ids: list, seed: int) -> None:
    names = review.assign.clean_reviewers(st.session_state.get("review_team", "").split(","))
    try:
        plan = review.assign.plan(ids, names, overlap=st.session_state["review_overlap"] / 100, seed=seed)
    except ValueError as exc:
        st.session_state["review_error"] = str(exc)
        return
    store.assign(batch_id, plan, seed=seed)
    ws.set_state("review.team", ", ".join(names))


def _reviewers(batch_id: str, ids: list, seed: int, assignments: pd.DataFrame, by_reviewer: pd.DataFrame):
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
        cols[2].button("Assign", key="review_assign", on_click=_assign, args=(batch_id, ids, seed))
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


def _decide_all(batch_id: str, example_ids: list, verdict: str) -> None:
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


def _bulk(batch_id: str, pending: list, category: str) -> None:
    with st.container(border=True):
        st.markdown(f"**All {len(pending)} examples of {md_text(category)} still to review**")
        sure = st.checkbox(f"I have read them: decide all {len(pending)} at once", key="review_bulk_confirm")
        cols = st.columns(2)
        allowed = sure and bool(_reviewer())
        cols[0].button(
            f"Approve all {len(pending)}", key="review_bulk_approve", disabled=not allowed,
            on_click=_decide_all, args=(batch_id, pending, "approve"),
        )  # fmt: skip
        cols[1].button(
            f"Reject all {len(pending)} (reason below)", key="review_bulk_reject", disabled=not allowed,
            on_click=_decide_all, args=(batch_id, pending, "reject"),
        )  # fmt: skip


def _audit_trail() -> None:
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

chosen_set = chosen_sets.get(batch_id)
frame = (
    review.sets.set_rows(dataset_at(ws, chosen_set.dataset_version), chosen_set)  # the rows as chosen
    if chosen_set is not None
    else _batch(str(ws.root), batch_id)
)
if frame.empty:
    st.warning(
        "The version these rows were chosen from is gone: nothing to review."
        if chosen_set is not None
        else "This batch has no example that passed the validators: nothing to review."
    )
    st.stop()
ids = store.ensure_sample(batch_id, frame, seed=int(seed))
decisions = store.decisions(batch_id)
by_reviewer = store.reviewer_decisions(batch_id)
assignments = store.assignments(batch_id)
rate = store.pass_rate(batch_id)

progress = rate.reviewed / max(1, rate.sample_size)
st.progress(
    min(1.0, progress),
    text=f"{rate.reviewed} of {rate.sample_size} sampled examples reviewed ({len(frame)} in the batch)",
)
if error := st.session_state.pop("review_error", None):
    st.error(error)
_reviewers(batch_id, ids, int(seed), assignments, by_reviewer)

categories = sorted({str(c) for c in frame.get("category", pd.Series(dtype=object)).dropna()})
if categories:
    only = st.selectbox("Show only", ["(every category)", *categories], key="review_filter")
else:
    only = "(every category)"
category_of = dict(zip(frame["id"], frame.get("category", pd.Series([None] * len(frame))), strict=True))
seeds_of = {  # the seed examples each generated one was written from (none for rows sent from Explore)
    i: [str(s) for s in v] if hasattr(v, "__iter__") and not isinstance(v, str) else []
    for i, v in zip(frame["id"], frame.get("seed_ids", pd.Series([None] * len(frame))), strict=True)
}
seed_options = sorted({s for v in seeds_of.values() for s in v})
seed_only = (
    st.selectbox(
        "From seed", ["", *seed_options], format_func=lambda s: s or "(every seed)", key="review_seed_filter"
    )
    if seed_options
    else ""
)
group = " · ".join(
    [*([only] if only != "(every category)" else []), *([f"seed {seed_only}"] if seed_only else [])]
)
st.caption(
    "Keys: A approve · X reject (with the reason below) · U undo · N next (skip) · Ctrl+Enter save an edit"
)

left, right = st.columns([3, 2], gap="large")
with left:
    pending = review.assign.queue(ids, assignments, by_reviewer, reviewer.strip())
    if only != "(every category)":
        pending = [i for i in pending if str(category_of.get(i)) == only]
    if seed_only:
        pending = [i for i in pending if seed_only in seeds_of.get(i, [])]
    skipped = st.session_state.setdefault("review_skipped", [])  # skipped ones come back last (view state)
    pending = [i for i in pending if i not in skipped] + [i for i in skipped if i in pending]
    if pending and group:
        _bulk(batch_id, pending, group)
    if not pending and group:
        st.success(f"Every sampled example of {group} is reviewed.")
    elif not pending:
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
            store.extend_sample(batch_id, frame, int(more), seed=int(seed) + len(ids))
            st.rerun()
        # the last decision can be taken back too, not only those with examples still to come
        cols[1].button("Undo last", key="review_undo", on_click=_undo, args=(batch_id,))
    else:
        example = frame.set_index("id").loc[pending[0]]
        example["id"] = pending[0]
        st.markdown(
            f"**{len(pending)} still to review{f' by {md_text(reviewer)}' if reviewer.strip() else ''}**"
        )
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
            args=(batch_id, pending[0], "approve"),
            width="stretch",
            shortcut="A",
        )
        buttons[1].button(
            "Undo last",
            key="review_undo",
            on_click=_undo,
            args=(batch_id,),
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
                args=(batch_id, pending[0]),
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
                    args=(batch_id, pending[0], messages, last),
                    shortcut="Ctrl+Enter",
                )
with right:
    st.markdown("**Where it came from**")
    if pending:
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

st.divider()
st.subheader("Pass rate")
overall = store.pass_rate()


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


cols = st.columns(4)
cols[0].metric(
    "This batch", "—" if rate.rate is None else f"{rate.rate:.1%}", help="Approved share of the reviewed"
)
cols[0].caption(_interval_text(rate) or "nothing reviewed yet")
cols[1].metric("Still to review", rate.remaining)
cols[2].metric("All batches", "—" if overall.rate is None else f"{overall.rate:.1%}")
cols[2].caption(_interval_text(overall) or "nothing reviewed yet")
cols[3].metric("Bar", "90%")
if rate.rate is not None:
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

if chosen_set is not None:
    pass  # chosen rows, not a generation: the bar is a batch's; rejections are applied below
elif rate.reviewed and not rate.meets_bar and rate.remaining:
    st.warning(f"So far below the 90% bar, with {rate.remaining} sampled examples still to review.")
elif rate.reviewed and not rate.meets_bar:
    st.error("Below the 90% bar: fix the generation prompt first, then generate a new batch.")
if rate.reviewed and not rate.meets_bar:
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
    if chosen_set is None:
        page_link("pages/5_Synthetic.py", label="Fix the prompt on the Synthetic page", icon="🧪")

if chosen_set is not None:
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
    _audit_trail()
    st.stop()

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
already = not admitted.empty and batch_id in set(admitted["batch_id"])
if already:
    st.success(f"Batch {batch_id} is in the dataset.")
else:
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

_audit_trail()
