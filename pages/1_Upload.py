import time

import pandas as pd
import streamlit as st

import ui_pipeline
import ui_upload
from core import derived, formats, pricing
from core.errors import DatasetError
from core.ingest import SAMPLES, load_sample, store_upload
from core.pipeline import opening
from core.project import Project
from core.workspace import Workspace
from ui import current_dataset, md_text, open_workspace, switch_dataset

st.title("⬆️ Upload")
st.caption(
    "Upload a dataset in any common fine-tuning format, or open a bundled sample. Every problem is listed "
    "with its line; rows with errors are kept in quarantine, never dropped."
)
ws = open_workspace()
try:
    prices = pricing.load_prices(ws.root)
except DatasetError as exc:
    st.error(f"{exc} — fix or delete the workspace's prices.json.")
    prices = pricing.load_prices()


def _parse(data: bytes, filename: str, fmt: str | None, model: str, column_map: tuple | None):
    """Read the upload with its progress shown: rows read, rows per second and, for JSONL, the share done."""
    mapping = formats.ColumnMap(**dict(column_map)) if column_map else None
    plain_lines = not filename.lower().endswith((".gz", ".json", ".parquet", ".csv"))
    total = data.count(b"\n") + (not data.endswith(b"\n")) if plain_lines else None
    bar = st.progress(0.0, text=f"Reading {filename}…")
    started = time.perf_counter()

    def report(done: int) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        share = min(1.0, done / total) if total else 0.0
        of = f" of about {total:,}" if total else ""
        bar.progress(share, text=f"Reading {filename}: {done:,}{of} rows, {rate:,.0f} rows/s")

    try:
        return formats.load_dataset(
            data, filename, format=fmt, model=model, column_map=mapping, progress=report
        )
    finally:
        bar.empty()


@st.cache_data(max_entries=4, show_spinner="Counting tokens…")
def _token_counts(root: str, version: int, model: str) -> pd.DataFrame:
    # kept with the version (core.derived): the Distribution and Split pages use the same counts
    return derived.token_counts(Workspace.open(root), version, model, current_dataset(open_workspace()))


with st.container(border=True):
    left, right = st.columns([3, 2])
    with left:
        uploaded = st.file_uploader(
            "Dataset file",
            type=["jsonl", "json", "csv", "parquet", "gz", "txt"],
            key="upload_file",
            help="JSONL, JSON array, CSV or Parquet, optionally gzipped.",
        )
    with right:
        fmt_choice = st.selectbox("Format", ["auto-detect", *formats.FORMAT_NAMES], key="upload_format")
        models = pricing.list_models(prices, fine_tunable=True)
        model = st.selectbox(
            "Target model",
            models,
            index=models.index("gpt-4.1-mini") if "gpt-4.1-mini" in models else 0,
            key="upload_model",
            help="Used for the token limit per example and the fine-tuning cost.",
        )
        sample_names = [s.name for s in SAMPLES]
        sample_name = st.selectbox("Bundled sample", sample_names, key="upload_sample")
        open_sample = st.button("Open sample", key="upload_open_sample")
    with st.expander("Run a pipeline on shards"):
        ui_pipeline.run_section(ws.root / "pipeline-run", key="upload_run", open_key="upload_pipeline_dir")
    with st.expander("Open a pipeline run folder"):
        run_dir = st.text_input(
            "Folder",
            key="upload_pipeline_dir",
            help="The --out folder of `python -m core pipeline`: its kept rows become a version, its "
            "removed rows show on Dedup with their clusters and reasons, its test split is the test lock.",
        )
        open_run = st.button("Open run", key="upload_open_pipeline", disabled=not run_dir.strip())

    current_info = ws.dataset_info()
    as_new = True
    if current_info is not None:
        here = md_text(current_info.name or "this dataset")
        choice = st.radio(
            "Add what you open as",
            ["new", "version"],
            format_func={"new": "a new dataset", "version": f"a new version of {here}"}.get,
            key="upload_target",
            horizontal=True,
            help="A new dataset has its own versions, test lock, reviews and journey; a new version "
            "replaces this dataset's rows and keeps its history (its locked test rows must still be in it).",
        )
        as_new = choice == "new"


def _target(name: str) -> Workspace:
    """Where what is opened goes: a new dataset named after it, or the dataset in hand."""
    return Project.of(ws.root).create(name) if as_new and ws.dataset_info() is not None else ws


def _opened(target: Workspace, message: str) -> None:
    """Say what was saved; when it is a new dataset, make it the one in hand (on every page)."""
    if target.root != ws.root:
        project = Project.of(ws.root)
        switch_dataset(project, project.slug_of(target.root))
        st.session_state["upload_flash"] = f"{message} It is a new dataset: switch back in the sidebar."
        st.rerun()
    st.success(message)


fmt = None if fmt_choice == "auto-detect" else fmt_choice
flash = st.session_state.pop("upload_flash", None)
if flash:
    st.success(md_text(flash))
try:
    if open_sample:
        sample = SAMPLES[sample_names.index(sample_name)]
        result = load_sample(sample, model=model)
        target = _target(sample.filename)
        version = store_upload(target, result, note=f"sample {sample.filename}")
        _opened(target, f"Opened {sample.filename} as version {version}.")
    elif open_run:
        target = _target(run_dir.strip().rstrip("/").rsplit("/", 1)[-1] or "pipeline run")
        opened = opening.open_run(target, run_dir.strip())
        _opened(
            target,
            f"Opened the pipeline run as version {opened.version}: {opened.kept:,} kept, "
            f"{opened.removed:,} removed (listed on Dedup), splits "
            + ", ".join(f"{k} {v:,}" for k, v in opened.splits.items())
            + ".",
        )
    elif uploaded is not None and st.session_state.get("upload_stored") != (uploaded.file_id, fmt, model):
        data = uploaded.getvalue()
        is_csv = uploaded.name.lower().removesuffix(".gz").endswith(".csv")
        mapping = ui_upload.csv_mapping(data, uploaded.name) if is_csv else None
        if not is_csv or st.button("Load with this mapping", key="upload_load_csv"):
            result = _parse(data, uploaded.name, fmt, model, mapping)
            target = _target(uploaded.name)
            version = store_upload(target, result)
            st.session_state["upload_stored"] = (uploaded.file_id, fmt, model)
            _opened(target, f"Saved {uploaded.name} as version {version}.")
except DatasetError as exc:
    st.error(md_text(exc))  # names the file and quotes its content
    st.stop()

info = ws.dataset_info()
frame = current_dataset(ws)
if info is None or frame is None:
    st.info("Nothing loaded yet: upload a file above or open the bundled sample.")
    st.stop()

problems = ws.problems()
quarantine = ws.quarantine()
errors = problems[problems["severity"] == "error"] if not problems.empty else problems
warnings = problems[problems["severity"] == "warning"] if not problems.empty else problems

st.subheader(f"{md_text(info.name)} · {info.source_format} · v{info.version}")
uploaded_as = ws.steps().get("upload", {}).get("summary", {})
if uploaded_as.get("reason") and uploaded_as.get("format") == info.source_format:
    st.caption(f"Read as {info.source_format}: {md_text(uploaded_as['reason'])}.")
cols = st.columns(5)
cols[0].metric("Valid examples", f"{info.rows:,}")
cols[1].metric("Quarantined rows", f"{info.quarantined:,}")
cols[2].metric("Errors", f"{len(errors):,}")
cols[3].metric("Warnings", f"{len(warnings):,}")
cols[4].metric("Kind", ", ".join(sorted(frame["kind"].dropna().unique())) or "—")

# Only the chosen section is computed: on 100,000 examples, converting or counting tokens takes seconds.
view = st.segmented_control(
    "Show",
    ["Problems", "Preview", "Tokens & cost", "Convert & download", "Versions"],
    default="Problems",
    key="upload_view",
)

if view == "Problems":
    ui_upload.problems_view(problems, quarantine)

if view == "Preview":
    ui_upload.preview_view(frame)

if view == "Tokens & cost":
    ui_upload.tokens_view(_token_counts(str(ws.root), info.version, model), model)

if view == "Convert & download":
    ui_upload.convert_view(ws, info, frame)

if view == "Versions":
    ui_upload.versions_view(ws, info)
