import streamlit as st

from core.synth import runner, validators
from ui import open_workspace, require_dataset
from ui_synthetic import limits_section, plan_section, price_for, show_estimate, start, teacher_section
from ui_synthetic_run import CURRENT_RUN, batches_section, meter, mix_section, run_is_live

st.title("🧪 Synthetic")
st.caption(
    "Generate new examples from seeds with a teacher model. The estimate comes first; the budget is hard; "
    "everything that finishes is kept, even after a refresh. Generated examples go to Review, never straight "
    "into the dataset."
)
ws = open_workspace()
frame = require_dataset(ws)
live = run_is_live(ws)  # the meter and the batches poll only while a run is live

teacher = teacher_section()
price = price_for(teacher) if teacher is not None else None
planned = plan_section(ws, frame)
ready = teacher is not None and price is not None and planned is not None
if ready:
    plan, seeds = planned
    settings = limits_section(teacher, price)
    show_estimate(ws, plan, seeds, settings)
    current = ws.get_state(CURRENT_RUN)
    busy = bool(current) and runner.is_active(ws, current)
    paraphrases = st.checkbox(
        f"Reject restatements of a seed, a real row or a test row (cosine ≥ {validators.PARAPHRASE_COSINE})",
        key="synth_paraphrase_check",
        disabled=plan.mode == "paraphrase",
        help="Embeddings of the packaged model. Off by default: templated teacher output (one answer "
        "shape, other numbers) reads as restatements, and paraphrase mode restates by design.",
    )
    if st.button("Start generating", key="synth_start", type="primary", disabled=busy):
        start(ws, frame, plan, seeds, settings, paraphrases and plan.mode != "paraphrase")
elif teacher is None:
    st.info("Choose a teacher (start the offline teacher, or give an endpoint) to see the estimate.")
meter(ws, live)
batches_section(ws, live)
mix_section(ws, frame, teacher)
