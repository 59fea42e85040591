from pathlib import Path

import pandas as pd
import streamlit as st

import ui_labels
from core import agreement, dedup
from core.errors import DatasetError
from ui import md_text, open_workspace, require_dataset, stop_on_dataset_error

_HOWTO = (
    "Add labels as a column per annotator, e.g. `annotator_a`, `annotator_b` (in the dataset, or in a CSV / "
    "JSONL with an `id` column); or upload a long CSV `item_id,annotator,label`. Missing labels may be blank."
)
_SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "support_annotations.csv"

st.title("🏷️ Labels")
st.caption(
    "Measure how well annotators agree, find where and why they disagree, write guidelines for the "
    "confusing categories, and consolidate the labels. Kappa under 0.7 means labels are noise, not signal."
)
ws = open_workspace()
frame = require_dataset(ws)


@st.cache_data(max_entries=8, show_spinner="Computing agreement…")
def _report(matrix: pd.DataFrame, order: tuple | None, weights: str | None, resamples: int):
    config = agreement.AgreementConfig(
        order=order, weights=weights, level="ordinal" if order else "nominal", n_resamples=resamples
    )
    return agreement.compute_report(matrix, config, seed=0)


@st.cache_data(max_entries=8)
def _drilldown(matrix: pd.DataFrame, order: tuple | None, weights: str | None):
    config = agreement.AgreementConfig(order=order, weights=weights, level="ordinal" if order else "nominal")
    pairwise = agreement.pairwise_kappas(matrix, config)
    return (
        agreement.confused_pairs(matrix, top=8),
        agreement.annotator_agreement(matrix, pairwise),
        agreement.majority_labels(matrix),
    )


@st.cache_data(max_entries=4)
def _texts(root: str, version: int) -> dict[str, str]:
    return agreement.texts_by_id(frame)


def _store_upload(data: bytes, name: str) -> None:
    try:
        table = agreement.read_label_file(data, name)
        labelled = agreement.to_label_matrix(table)
        matrix, unmatched = agreement.align_to_dataset(labelled, frame["id"])
    except DatasetError as exc:
        stop_on_dataset_error(exc)
    if matrix.empty:
        stop_on_dataset_error(
            DatasetError(f"{name}: no labelled id matches an example of the current dataset")
        )
    agreement.save_uploaded_labels(ws, matrix, filename=name)
    if unmatched:
        audit = dedup.load_audit(ws)
        removed = set(audit["id"].astype(str)) if "id" in audit.columns else set()
        deduplicated = sum(str(i) in removed for i in labelled.index.difference(matrix.index))
        reasons = []
        if deduplicated:
            reasons.append(
                f"{deduplicated} were removed as duplicates on the Dedup page (their kept copy stays; "
                "restore them there to measure them too)"
            )
        if unmatched - deduplicated:
            reasons.append(
                f"{unmatched - deduplicated} match no example of the dataset (rows quarantined at upload, "
                "or labels of another file)"
            )
        st.warning(f"{unmatched} labelled item(s) in {md_text(name)} were left out: {'; '.join(reasons)}.")


def _labels_from_columns() -> pd.DataFrame:
    candidates = agreement.candidate_label_columns(frame)
    guessed = [c for c in agreement.guess_annotator_columns(frame) if c in candidates]
    chosen = st.multiselect(
        "Annotator columns (one column per annotator)", candidates, default=guessed, key="labels_columns"
    )
    if len(chosen) < 2:
        st.info("Pick at least two annotator columns. " + _HOWTO)
        st.stop()
    return agreement.to_label_matrix(frame, annotators=chosen)


def _labels_from_upload() -> pd.DataFrame:
    upload = st.file_uploader(
        "Labels file (CSV or JSONL): wide (id + a column per annotator) or long (item_id,annotator,label)",
        type=["csv", "jsonl", "json"],
        key="labels_upload",
    )
    if upload is not None and st.session_state.get("labels_upload_done") != upload.file_id:
        _store_upload(upload.getvalue(), upload.name)
        st.session_state["labels_upload_done"] = upload.file_id
    if _SAMPLE.exists() and st.button("Use the bundled sample annotations", key="labels_load_sample"):
        _store_upload(_SAMPLE.read_bytes(), _SAMPLE.name)
    stored = agreement.load_uploaded_labels(ws)
    if stored is None:
        st.info("No annotator labels yet. " + _HOWTO)
        st.stop()
    matrix, _ = agreement.align_to_dataset(stored, frame["id"])
    info = ws.get_state(agreement.UPLOAD_KEY, {}) or {}
    st.caption(
        f"Using labels from {md_text(info.get('filename', 'an earlier upload'))}: "
        f"{len(matrix)} items of this dataset."
    )
    return matrix


def _choose_labels() -> pd.DataFrame:
    has_columns = bool(agreement.guess_annotator_columns(frame))
    options = ["Columns of the dataset", "An uploaded labels file"]
    source = st.radio(
        "Where are the labels?", options, index=0 if has_columns else 1, horizontal=True, key="labels_source"
    )
    return _labels_from_columns() if source == options[0] else _labels_from_upload()


def _options(matrix: pd.DataFrame) -> tuple[tuple | None, str | None, int]:
    with st.expander("Ordinal labels and confidence intervals"):
        ordinal = st.checkbox("The labels are ordinal (ordered)", key="labels_ordinal")
        order, weights = None, None
        if ordinal:
            present = sorted({v for v in matrix.to_numpy().ravel() if v is not None})
            text = st.text_input(
                "Label order, lowest first (comma-separated)", ", ".join(present), key="labels_order"
            )
            order = tuple(p.strip() for p in text.split(",") if p.strip())
            weights = st.radio("Kappa weights", agreement.WEIGHTS, horizontal=True, key="labels_weights")
        resamples = st.number_input(
            "Bootstrap resamples for 95% intervals (0 = none)", 0, 5000, 500, step=100, key="labels_resamples"
        )
    return order, weights, int(resamples)


matrix = _choose_labels()
order, weights, resamples = _options(matrix)
try:
    report = _report(matrix, order, weights, resamples)
except DatasetError as exc:
    stop_on_dataset_error(exc)
if "labels" not in ws.steps():
    ws.mark_step("labels", {"kappa": round(report.overall_kappa, 3), "gate": report.gate.status})
pairs, drift, _majority = _drilldown(matrix, order, weights)
texts = _texts(str(ws.root), ws.dataset_version())
ui_labels.gate(report, drift, pairs)

tabs = st.tabs(
    [
        "Agreement",
        "Where they disagree",
        "Disputed items",
        "Guidelines",
        "Consolidate",
        "Consensus (cleanlab)",
    ]
)
with tabs[0]:
    ui_labels.agreement_tab(report, drift)
with tabs[1]:
    ui_labels.confusion(matrix, report)
    ui_labels.confused_pairs(matrix, pairs, texts)
with tabs[2]:
    ui_labels.disputed_tab(matrix, texts)
with tabs[3]:
    ui_labels.guidelines_tab(ws, report)
with tabs[4]:
    ui_labels.consolidate_tab(ws, frame, matrix, report, texts)
with tabs[5]:
    ui_labels.crowdlab_tab(matrix, texts)
