import hashlib
import json

import pandas as pd
import streamlit as st

import ui_semantic
import ui_split
from core import derived, export, formats, pricing, split, synth
from core.errors import DatasetError
from core.pipeline import opening
from core.semantic import leaks as semantic_leaks
from core.semantic import pairs as semantic_pairs
from core.workspace import Workspace
from ui import md_text, open_workspace, require_dataset, stop_on_dataset_error

st.title("📦 Split & export")
st.caption(
    "Hold out 10-20% and never train on your test set: near-duplicates stay in one split, synthetic and "
    "eval-derived examples go to train only, and the first export locks the test set."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
lock = split.get_lock(ws)
dedup_settings = ws.get_state("dedup.settings") or {}
pipeline_run = opening.pipeline_splits(ws)
if pipeline_run:
    st.info(
        f"Opened from the pipeline run {md_text(pipeline_run['dir'])}, which split it into "
        + ", ".join(f"{k} {v:,}" for k, v in pipeline_run["splits"].items())
        + ". Its test set is the test lock; train and val below are drawn around it with the run's seed."
    )


# Which rows are copies or near-duplicates is kept with the dataset version (core.derived, usually
# found in the background right after the upload) down to Jaccard 0.7: the threshold slider filters it.
@st.cache_data(max_entries=8, show_spinner="Splitting…")
def _split(
    root: str, version: int, config_json: str, seed: int, lock_json: str, _frame: pd.DataFrame
) -> split.SplitResult:
    config = split.SplitConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(config_json).items()}
    )
    slot = st.empty()  # a bar while near-duplicates are found (seconds at 100,000 rows); gone after
    waiting = derived.warming(Workspace.open(root), version)
    bar = slot.progress(
        0.0,
        text="Waiting for the near-duplicates being found in the background, once per dataset version…"
        if waiting
        else "Finding near-duplicates to keep together…",
    )
    graph = derived.split_graph(
        Workspace.open(root),
        version,
        config.cluster_threshold,
        config.cluster_scope,
        _frame,
        progress=lambda done: bar.progress(
            done, text=f"Finding near-duplicates to keep together… {done:.0%}"
        ),
    )
    slot.empty()
    links = None
    if config.semantic_cosine is not None:  # the version's stored semantic pairs (the background pass)
        links = ui_semantic.semantic_links(Workspace.open(root), version, config, _frame)
    return split.split_frame(
        _frame, config, seed=seed, lock=json.loads(lock_json), graph=graph, semantic=links
    )


@st.cache_data(max_entries=8, show_spinner="Counting tokens…")
def _cost(
    root: str, version: int, labels_digest: str, model: str, _labels: tuple[str, ...], _frame: pd.DataFrame
) -> dict:
    counts = derived.token_counts(Workspace.open(root), version, model, _frame)["total_tokens"]
    train = [int(n) for n, label in zip(counts, _labels, strict=True) if label == "train"]
    return export.finetune_cost_dict(pricing.finetune_estimate(train, model))


_SEMANTIC_AUTO_ROWS = 20_000


@st.cache_data(max_entries=4, show_spinner="Looking for test and val rows restated in train…")
def _semantic_leaks(
    root: str, version: int, labels_digest: str, cosine: float, scope: str, _parts: dict
) -> list[semantic_leaks.SemanticLeak]:
    settings = semantic_pairs.PairSettings(cosine=cosine, scope=scope)
    return semantic_leaks.find_leaks(_parts, settings)


# -- settings -----------------------------------------------------------------------------------
# The last settings used are kept in the workspace, so a revisit or a refresh re-creates the same
# split (the seed matters for train / val even when the test set is locked).
saved = ws.get_state("split.settings") or {}
(val_pct, test_pct, seed, threshold, stratify, time_based, keep_paraphrases, confirmed) = (
    ui_split.settings_form(saved, lock, dedup_settings)
)

try:
    config = split.SplitConfig(
        val=val_pct / 100,
        test=test_pct / 100,
        stratify=tuple(stratify),
        cluster_threshold=float(threshold),
        cluster_scope=str(dedup_settings.get("scope", "all")),
        semantic_cosine=float(st.session_state.get("split_cosine", saved.get("split_cosine", 0.85)))
        if keep_paraphrases
        else None,
        time_based=time_based,
        confirm_holdout=confirmed,
    )
except ValueError as exc:
    st.error(str(exc))
    st.stop()
settings = {
    "split_val": int(val_pct),
    "split_test": int(test_pct),
    "split_seed": int(seed),
    "split_threshold": float(threshold),
    "split_stratify": list(stratify),
    "split_time_based": time_based,
    "split_keep_paraphrases": keep_paraphrases,
    "split_cosine": float(st.session_state.get("split_cosine", saved.get("split_cosine", 0.85))),
}
if settings != saved:
    ws.set_state("split.settings", settings)
config_json = json.dumps(config.__dict__)
lock_json = json.dumps(lock)
args = (str(ws.root), version, config_json, int(seed), lock_json)
try:
    result = _split(*args, frame)
except DatasetError as exc:
    stop_on_dataset_error(exc)
parts = result.split(frame)

# -- preview ------------------------------------------------------------------------------------
ui_split.preview(frame, result, lock)

# -- leakage ------------------------------------------------------------------------------------
st.subheader("Leakage report")
upload = st.file_uploader(
    "External eval set (optional): is any of it in your splits?",
    key="split_eval_upload",
    type=["jsonl", "json", "csv", "parquet", "gz"],
)
leakage = result.leakage
if upload is not None:
    try:
        external = formats.load_dataset(upload.getvalue(), upload.name).records
    except DatasetError as exc:
        st.error(md_text(exc))  # quotes the uploaded file
    else:
        leakage = split.leakage_report(
            {k: parts[k] for k in split.SPLITS}, threshold=float(threshold), external=external
        )
        st.caption(f"Checked against {len(external)} examples of {upload.name}.")
ui_split.leakage_table(leakage, float(threshold))

cols = st.columns([1, 2])
# embedding every row takes seconds from tens of thousands of rows: asked for there, automatic below
checked = cols[0].toggle(
    "Look for semantic leaks",
    value=len(frame) <= _SEMANTIC_AUTO_ROWS,
    key="split_semantic",
    help="Embeds every row once per split: seconds to minutes on large datasets.",
)
leak_cosine = cols[0].slider(
    "Semantic leaks at cosine",
    0.75,
    1.0,
    float(saved.get("split_cosine", semantic_pairs.DEFAULT_COSINE)),
    0.01,
    key="split_cosine",
    help="A val or test row whose restatement (embedding cosine at least this) is in train.",
)
labels_digest = hashlib.sha256("\n".join(result.labels).encode()).hexdigest()
found_leaks = (
    _semantic_leaks(str(ws.root), version, labels_digest, float(leak_cosine), config.cluster_scope, parts)
    if checked
    else []
)
bundle_parts, leak_excluded = ui_split.semantic_leak_fix(
    cols[1], checked, found_leaks, parts, float(leak_cosine), lock
)

# -- lock ---------------------------------------------------------------------------------------
ui_split.lock_section(ws, lock, result)

# -- export -------------------------------------------------------------------------------------
st.subheader("Export bundle")
kinds = sorted({str(k) for k in frame["kind"]})
options = [f for f in export.EXPORT_FORMATS if all(f in export.formats_for(k) for k in kinds)]
cols = st.columns([3, 2])
chosen = cols[0].multiselect("Target formats", options, default=options[:1], key="split_formats")
models = pricing.list_models(fine_tunable=True) or ["gpt-4.1-mini"]
model = cols[1].selectbox(
    "Target model",
    models,
    index=models.index("gpt-4.1-mini") if "gpt-4.1-mini" in models else 0,
    key="split_model",
)
cost = _cost(str(ws.root), version, labels_digest, model, result.labels, frame)
ui_split.cost_estimate(cost)

# The Synthetic page promises: over 70% synthetic, export needs a reason, which goes into the data card.
sources = frame["source"].fillna("real") if "source" in frame.columns else pd.Series(["real"] * len(frame))
mix = synth.mix_status(int((sources != "synthetic").sum()), int((sources == "synthetic").sum()))
mix_reason = ""
if mix.blocks_export:
    st.error(mix.message)
    mix_reason = st.text_input("Why export anyway (recorded in the data card)", key="split_mix_override")
blocked = mix.blocks_export and not mix_reason.strip()
if st.button("Build bundle", key="split_build", type="primary", disabled=not chosen or blocked):
    ui_split.build(
        ws,
        version=version,
        lock=lock,
        result=result,
        config=config,
        seed=int(seed),
        chosen=chosen,
        leakage=leakage,
        cost=cost,
        mix=mix,
        mix_reason=mix_reason,
        bundle_parts=bundle_parts,
        leak_excluded=leak_excluded,
    )

ui_split.download(version)
