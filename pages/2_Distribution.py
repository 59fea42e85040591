import dataclasses

import pandas as pd
import streamlit as st

from core import drift, profile
from core.quality import readiness
from ui import open_workspace, page_link, require_dataset, version_features
from ui_distribution import (
    MODELS,
    categories,
    checklist,
    difficulty,
    languages,
    model_lengths,
    negatives,
    over_time,
    sources,
    step_summary,
    token_lengths,
)
from ui_drift import COVERAGE_BY, comparison, production_controls, production_report

st.title("📊 Distribution")
st.caption(
    "Does the data cover lengths, categories, difficulty, negatives, languages and time the way production "
    "will? The readiness checklist comes first; every item opens to the rows behind it."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
flash = st.session_state.pop("distribution_flash", None)
if flash:
    st.success(flash)

left, middle, right = st.columns(3)
model = left.selectbox(
    "Target model", MODELS, key="distribution_model", help="Sets the tokenizer and the token limit."
)
task_type = middle.selectbox(
    "Task type (dataset size rule)", list(profile.TASK_SIZES), index=1, key="distribution_task_type"
)
coverage_by = right.selectbox(
    "Coverage by",
    [m for m in COVERAGE_BY if m != "semantic" or drift.semantic.available()],
    format_func=COVERAGE_BY.get,
    key="distribution_coverage_by",
    help="How a production input is matched with its most similar training example.",
)
threshold = right.slider(
    "Coverage threshold",
    0.1,
    0.9,
    drift.DriftConfig().semantic_threshold
    if coverage_by == "semantic"
    else drift.DriftConfig().coverage_threshold,
    0.05,
    key=f"distribution_threshold_{coverage_by}",
    help="A production input whose most similar training example (cosine) is below this is 'not covered'.",
)
config = profile.ProfileConfig(model=model, task_type=task_type)
features = version_features(ws, frame, model)

# -- production sample (kept in the workspace so that a refresh keeps it) -----------------------
production, report = production_report(ws, model, threshold, features, coverage_by)
result = profile.build_profile(
    features,
    config,
    steps=readiness.step_summaries(ws.steps(), report.uncovered_share if report else None),
    clusters=report.targets() if report else (),
)
quality_summary = ws.steps().get("quality", {}).get("summary")
result = dataclasses.replace(
    result, checks=result.checks + tuple(readiness.quality_checks(quality_summary, version))
)

checklist(ws, result, features, frame)
token_lengths(result, features, model)
model_lengths(ws, frame)
categories(result, config, features, frame)
difficulty(result, config, features, frame)
languages(features, frame)
over_time(result, features)
negatives(features, frame)
sources(features)

production_controls(ws, production)
if report is not None:
    comparison(production[0], report, features)
else:
    st.info("No production sample yet.")

# -- targets ---------------------------------------------------------------------------------------
st.header("Targets for the next round", anchor="targets")
targets = list(result.targets)
if targets:
    table = pd.DataFrame(targets)[["kind", "value", "missing", "description"]]
    st.dataframe(table, width="stretch", hide_index=True)
    st.write(f"**{sum(t['missing'] for t in targets):,} examples** to collect or generate in all.")
else:
    st.success("Nothing is missing.")
if st.button("Save targets", key="distribution_save", type="primary"):
    ws.set_state("targets.distribution", targets)
    ws.mark_step(
        "distribution",
        step_summary(
            ws,
            result,
            len(features),
            {
                "targets": len(targets),
                "missing": int(sum(t["missing"] for t in targets)),
                "production": production[0] if production else None,
            },
        ),
    )
    st.session_state["distribution_flash"] = f"Saved {len(targets)} targets for the Synthetic page."
    st.rerun()
if ws.get_state("targets.distribution"):
    page_link("pages/5_Synthetic.py", label="Generate the missing examples on the Synthetic page", icon="🧪")
