import hashlib
import json

import pandas as pd
import plotly.express as px
import streamlit as st

import ui_semantic
from core import derived, export, formats, pricing, report, review, split, synth
from core.errors import DatasetError
from core.pipeline import opening
from core.semantic import leaks as semantic_leaks
from core.semantic import pairs as semantic_pairs
from core.workspace import Workspace
from ui import blank, md_text, open_workspace, require_dataset, stop_on_dataset_error

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
with st.container(border=True):
    cols = st.columns(4)
    val_pct = cols[0].number_input("Validation %", 0, 50, int(saved.get("split_val", 10)), key="split_val")
    test_pct = cols[1].number_input(
        "Test %",
        0,
        50,
        int(saved.get("split_test", 10)),
        key="split_test",
        disabled=lock is not None,
        help="The test set is locked: it stays as it is." if lock else None,
    )
    seed = cols[2].number_input("Seed", 0, 2**31 - 1, int(saved.get("split_seed", 0)), key="split_seed")
    threshold = cols[3].slider(
        "Keep near-duplicates together at Jaccard",
        0.5,
        1.0,
        min(1.0, max(0.5, float(saved.get("split_threshold", dedup_settings.get("threshold", 0.8))))),
        0.05,
        key="split_threshold",
        help="Default: the threshold chosen on the Dedup page.",
    )
    cols = st.columns([2, 1])
    stratify = cols[0].multiselect(
        "Stratify by",
        split.STRATIFY_FIELDS,
        default=[f for f in saved.get("split_stratify", ["category"]) if f in split.STRATIFY_FIELDS],
        key="split_stratify",
    )
    time_based = cols[1].checkbox(
        "Time-based hold-out",
        value=bool(saved.get("split_time_based", False)),
        key="split_time_based",
        help="Test = the newest examples by created_at.",
    )
    keep_paraphrases = cols[1].checkbox(
        "Keep paraphrases together",
        value=bool(saved.get("split_keep_paraphrases", False)),
        key="split_keep_paraphrases",
        help="Rows that say the same thing in other words (embedding cosine at the leak check's cosine "
        "below) share a split, like near-duplicates.",
    )
    needs_confirm = split.holdout_needs_confirmation(val_pct / 100, test_pct / 100)
    confirmed = False
    if needs_confirm:
        confirmed = st.checkbox(
            f"I want a hold-out of {val_pct + test_pct}% (outside the usual 10-20%)",
            key="split_confirm_holdout",
        )
        if not confirmed:
            st.warning("A hold-out outside 10-20% needs your confirmation above.")
            st.stop()

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
st.subheader("Split preview")
counts = result.counts
metrics = st.columns(5)
for column, name in zip(metrics, ("train", "val", "test"), strict=False):
    column.metric(
        name.capitalize(),
        counts[name],
        f"{counts[name] / max(1, len(frame)):.0%}",
        delta_color="off",
        delta_arrow="off",
    )
metrics[3].metric(
    "Clusters kept together",
    result.clusters_kept_together,
    f"{result.rows_in_clusters} rows",
    delta_color="off",
    delta_arrow="off",
)
metrics[4].metric(
    "Forced to train", len(result.forced_train), "synthetic / eval", delta_color="off", delta_arrow="off"
)
for warning in result.warnings:
    st.warning(warning)

table = pd.DataFrame(result.per_stratum).T.rename_axis("stratum")
left, right = st.columns([3, 2])
with left:
    # with a lock, test holds exactly the locked examples: there is no test target to show
    shown = ["train", "val", "test", "target_val", *([] if lock else ["target_test"])] + (
        ["excluded"] if counts["excluded"] else []
    )
    st.dataframe(table[shown], width="stretch")
with right:
    long = (
        table[["train", "val", "test"]]
        .reset_index()
        .melt(id_vars="stratum", var_name="split", value_name="rows")
    )
    figure = px.bar(long, x="stratum", y="rows", color="split", barmode="group", height=300)
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(figure, width="stretch", key="split_chart")

if result.forced_train or result.excluded:
    with st.expander(
        f"Rows forced to train ({len(result.forced_train)}) or excluded ({len(result.excluded)})"
    ):
        if result.forced_train:
            st.caption("Synthetic and eval-derived examples only ever train.")
            st.dataframe(pd.DataFrame({"id": list(result.forced_train)}), hide_index=True)
        if result.excluded:
            st.caption("Near-duplicates of locked test examples are kept out of train and val.")
            st.dataframe(
                pd.DataFrame(list(result.excluded.items()), columns=["id", "reason"]), hide_index=True
            )

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
if leakage.total == 0:
    st.success(
        f"✅ Leakage: 0 — no exact or near-duplicate (Jaccard ≥ {threshold:.2f}) overlap on prompts or "
        "prompt + response."
    )
else:
    st.error(f"Leakage: {leakage.total} overlapping pairs.")
st.dataframe(pd.DataFrame(leakage.counts).T.rename_axis("between"), width="stretch")
if leakage.total:
    st.dataframe(leakage.pairs_frame(), hide_index=True, width="stretch")

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
bundle_parts, leak_excluded = {k: parts[k] for k in split.SPLITS}, {}
if not checked:
    cols[1].info("Semantic leaks not checked: turn the check on to look for restated test rows.")
elif not found_leaks:
    cols[1].success(f"✅ No val or test row is restated in train (cosine ≥ {leak_cosine:.2f}).")
else:
    cols[1].warning(
        f"Semantic leaks: {len(found_leaks)} pairs of a val/test row and its paraphrase in train "
        "(few shared words, so the Jaccard report above misses them)."
    )
    st.dataframe(semantic_leaks.leaks_frame(found_leaks, parts), hide_index=True, width="stretch")
    fixes = {"keep": "Leave them", "move": "Move the train rows beside their paraphrase", "drop": "Drop them"}
    fix = st.radio(
        "Before the bundle is built",
        list(fixes),
        format_func=fixes.get,
        horizontal=True,
        key="split_leak_fix",
        help="With the test set locked, a train row restating a test row is dropped instead of moved.",
    )
    if fix != "keep":
        repaired = semantic_leaks.fix_leaks(
            bundle_parts, found_leaks, fix, locked=("test",) if lock is not None else ()
        )
        bundle_parts, leak_excluded = repaired.parts, repaired.dropped
        st.caption(
            f"The bundle will have {len(repaired.moved)} train rows moved, {len(repaired.dropped)} dropped: "
            + ", ".join(f"{s} {len(p):,}" for s, p in bundle_parts.items())
        )

# -- lock ---------------------------------------------------------------------------------------
st.subheader("Test lock")
if lock is None:
    st.info(
        "The test set is not locked yet. Building the bundle locks it: later splits keep exactly these "
        "examples in test, and new data never enters test."
    )
else:
    st.success(f"🔒 Test set locked on {lock.get('locked_at')}: {len(lock['ids'])} examples.")
    if result.locked_missing:
        st.warning(f"{len(result.locked_missing)} locked test examples are no longer in the dataset.")
    with st.expander("Unlock the test set"):
        st.caption(
            "Unlocking lets new data into test; results before and after are no longer comparable. "
            f"Type {split.UNLOCK_WORD} to confirm."
        )
        typed = st.text_input("Confirmation", key="split_unlock_text")
        reason = st.text_input("Why (recorded)", key="split_unlock_note")
        if st.button("Unlock", key="split_unlock"):
            try:
                split.unlock(ws, typed, note=reason)
            except DatasetError as exc:
                st.error(str(exc))
            else:
                st.rerun()
history = split.lock_history(ws)
if history:
    with st.expander("Lock history"):
        st.dataframe(blank(pd.DataFrame(history)), hide_index=True)

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
if cost["usd"] is not None:
    st.metric(
        "Fine-tuning cost estimate",
        f"${cost['usd']:,.2f}",
        f"{cost['charged_tokens']:,} trained tokens = {cost['billable_tokens']:,} x {cost['epochs']} epochs",
        delta_color="off",
        delta_arrow="off",
    )
else:
    st.info(f"{cost['billable_tokens']:,} training tokens x {cost['epochs']} epochs: no per-token price.")
for note in cost["notes"]:
    st.caption(note)

# The Synthetic page promises: over 70% synthetic, export needs a reason, which goes into the data card.
sources = frame["source"].fillna("real") if "source" in frame.columns else pd.Series(["real"] * len(frame))
mix = synth.mix_status(int((sources != "synthetic").sum()), int((sources == "synthetic").sum()))
mix_reason = ""
if mix.blocks_export:
    st.error(mix.message)
    mix_reason = st.text_input("Why export anyway (recorded in the data card)", key="split_mix_override")
blocked = mix.blocks_export and not mix_reason.strip()
if st.button("Build bundle", key="split_build", type="primary", disabled=not chosen or blocked):
    info = ws.dataset_info()
    store = review.ReviewStore(ws)
    audit = store.audit()
    sections = report.workspace_sections(ws)
    sections["review"] = report.review_summary(sections["review"], store.gates())
    if mix.blocks_export:
        sections["synthetic"] = {
            **(sections["synthetic"] or {}),
            "synthetic share": f"{mix.share:.0%}",
            "exported over the 70% bar because": mix_reason.strip(),
        }
    card = report.DataCardInputs(
        title=(info.name if info and info.name else "Dataset"),
        leakage=leakage.to_dict(max_pairs=0),
        finetune_cost=cost,
        **sections,
    )
    new_lock = lock or split.make_lock(
        bundle_parts["test"], seed=int(seed), fractions=config.fractions(), dataset_version=version
    )
    request = export.BundleRequest(
        formats=tuple(chosen),
        seed=int(seed),
        fractions=config.fractions(),
        dataset_version=version,
        card=card,
        quarantine=ws.quarantine(),
        review_audit=None if audit.empty else audit,
        lock=new_lock,
        excluded={**result.excluded, **leak_excluded},
    )
    try:
        bundle = export.build_bundle(bundle_parts, request)
    except DatasetError as exc:
        st.error(md_text(exc))  # quotes rows that failed the check
    else:
        if lock is None:
            split.save_lock(ws, new_lock, note=f"first export of v{version}")
        ws.mark_step(
            "split",
            {
                **bundle.manifest["counts"],
                "leakage": leakage.total,
                "locked": True,
                "formats": ", ".join(chosen),
            },
        )
        st.session_state["split_bundle"] = {
            "data": bundle.data,
            "sha256": bundle.sha256,
            "problems": list(bundle.problems),
            "version": version,
        }
        st.rerun()

built = st.session_state.get("split_bundle")
if built and built["version"] == version:
    size_mb = len(built["data"]) / 1e6
    st.success(f"Bundle built ({size_mb:.1f} MB); the test set is locked. Download it below.")
    st.download_button(
        "Download bundle (zip)",
        built["data"],
        file_name=f"trainset_v{version}.zip",
        mime="application/zip",
        key="split_download",
        type="primary",
    )
    st.caption(f"sha256 {built['sha256']}")
    if built["problems"]:
        with st.expander(f"Notes from writing and checking the files ({len(built['problems'])})"):
            for problem in built["problems"]:
                st.text(problem)
