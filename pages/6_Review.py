import streamlit as st

import ui_semantic
from core import review, synth
from ui import dataset_at, open_workspace, page_link
from ui_review import (
    audit_trail,
    batch,
    bulk,
    chooser,
    example_to_review,
    provenance,
    reviewers,
    sample_done,
)
from ui_review_gate import apply_chosen, below_the_bar, gate, pass_rate
from ui_review_queue import filters

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

reviewer, batch_id, seed = chooser(ws, batches, chosen_sets)
chosen_set = chosen_sets.get(batch_id)
frame = (
    review.sets.set_rows(dataset_at(ws, chosen_set.dataset_version), chosen_set)  # the rows as chosen
    if chosen_set is not None
    else batch(str(ws.root), batch_id)
)
if frame.empty:
    st.warning(
        "The version these rows were chosen from is gone: nothing to review."
        if chosen_set is not None
        else "This batch has no example that passed the validators: nothing to review."
    )
    st.stop()
ids = store.ensure_sample(batch_id, frame, seed=seed)
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
reviewers(ws, store, batch_id, ids, seed, assignments, by_reviewer)
if chosen_set is None:  # a synthetic batch: how diverse it is, and what the paraphrase check stopped
    ui_semantic.batch_semantics(ws, batch_id, frame)

narrowing = filters(str(ws.root), batch_id, frame)
st.caption(
    "Keys: A approve · X reject (with the reason below) · U undo · N next (skip) · Ctrl+Enter save an edit"
)

example = None
left, right = st.columns([3, 2], gap="large")
with left:
    pending = review.assign.queue(ids, assignments, by_reviewer, reviewer.strip())
    pending = [i for i in pending if narrowing.keeps(i)]
    skipped = st.session_state.setdefault("review_skipped", [])  # skipped ones come back last (view state)
    pending = [i for i in pending if i not in skipped] + [i for i in skipped if i in pending]
    if pending and narrowing.group:
        bulk(ws, store, batch_id, pending, narrowing.group)
    if not pending and narrowing.group:
        st.success(f"Every sampled example of {narrowing.group} is reviewed.")
    elif not pending:
        sample_done(store, batch_id, frame, ids, seed)
    else:
        example = frame.set_index("id").loc[pending[0]]
        example["id"] = pending[0]
        example_to_review(ws, store, batch_id, example, pending, reviewer, rate)
with right:
    provenance(ws, frame, example)

pass_rate(store, rate)
below_the_bar(store, batch_id, frame, decisions, rate, chosen=chosen_set is not None)
if chosen_set is not None:
    apply_chosen(ws, chosen_set, rate)
    audit_trail(store)
    st.stop()
gate(ws, store, batch_id, frame, rate, reviewer)
audit_trail(store)
