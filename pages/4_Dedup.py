import streamlit as st

from core.errors import DatasetError
from ui import open_workspace, require_dataset
from ui_dedup import apply, audit, metrics, novelty, run, run_semantic, sensitivity_chart, settings_controls
from ui_dedup_clusters import ClusterView, clusters

st.title("🧬 Dedup")
st.caption(
    "Exact duplicates (same normalised text) and near duplicates (MinHash + LSH, verified by the true "
    "Jaccard of word 5-gram shingles; character n-grams for Chinese, Japanese, Thai and the like). "
    "Nothing changes until you press Apply, and every removed row can be restored."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
saved = ws.get_state("dedup.settings", {}) or {}
flash = st.session_state.pop("dedup_flash", None)
if flash:
    st.success(flash)

by_cluster = None
try:
    config, policy, semantic = settings_controls(frame, saved)
    if semantic is None:
        result, settings = run(ws, version, frame, config)
    else:
        result, by_cluster = run_semantic(ws, version, frame, semantic)
except DatasetError as exc:
    st.error(str(exc))
    st.stop()
metrics(result)
if result.clusters:
    if semantic is None:
        sensitivity_chart(ws, version, frame, config, settings)
    else:
        novelty(ws, version, frame, semantic)
    manual = clusters(ClusterView(frame, version, config, semantic), result, policy, by_cluster)
    if st.button(f"Apply: remove {result.removed:,} rows", type="primary", key="dedup_apply"):
        apply(ws, version, frame, result, config, policy, manual, semantic)
else:
    st.success("No duplicates at this threshold.")
audit(ws, frame)
