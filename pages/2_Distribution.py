import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from core import drift, lang, profile
from core.errors import DatasetError
from core.ingest import SAMPLE_DIR
from core.quality import readiness
from ui import open_workspace, page_link, render_example, require_dataset, version_features

_MODELS = (
    "gpt-4.1-mini",
    "gpt-4.1",
    "gpt-4.1-nano",
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0613",
)
_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "not_labelled": "🏷️", "not_run": "⏳"}
_STATUS_WORDS = {
    "pass": "pass",
    "warn": "warning",
    "fail": "fail",
    "not_labelled": "not labelled",
    "not_run": "not run yet",
}
_CHART_TITLES = {
    "tokens": "Token lengths",
    "categories": "Categories",
    "difficulty": "Difficulty",
    "languages": "Languages",
    "time": "Examples over time",
    "negatives": "Negative examples",
    "sources": "Sources",
    "drift": "Production comparison",
}
_STEP_PAGES = {
    "duplicates": ("pages/4_Dedup.py", "Dedup"),
    "label_agreement": ("pages/3_Labels.py", "Labels"),
    **dict.fromkeys(("pii_found", "refusal_share", "truncation_share"), ("pages/2_Quality.py", "Quality")),
}
_SAMPLE_PRODUCTION = SAMPLE_DIR / "production_inputs.txt"
_ROW_COLUMNS = [
    "prompt_text",
    "category",
    "difficulty",
    "language",
    "prompt_tokens",
    "total_tokens",
    "is_negative",
]

st.title("📊 Distribution")
st.caption(
    "Does the data cover lengths, categories, difficulty, negatives, languages and time the way production "
    "will? The readiness checklist comes first; every item opens to the rows behind it."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
root = str(ws.root)
flash = st.session_state.pop("distribution_flash", None)
if flash:
    st.success(flash)

left, middle, right = st.columns(3)
model = left.selectbox(
    "Target model", _MODELS, key="distribution_model", help="Sets the tokenizer and the token limit."
)
task_type = middle.selectbox(
    "Task type (dataset size rule)", list(profile.TASK_SIZES), index=1, key="distribution_task_type"
)
_COVERAGE_BY = {"semantic": "meaning (embeddings)", "tfidf": "words (character 4-gram TF-IDF)"}
coverage_by = right.selectbox(
    "Coverage by",
    [m for m in _COVERAGE_BY if m != "semantic" or drift.semantic.available()],
    format_func=_COVERAGE_BY.get,
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


def _plain(text) -> str:
    # chart labels come from the data; plotly reads a few HTML tags in labels, so none may pass
    return str(text).replace("<", "‹").replace(">", "›")


@st.cache_data(max_entries=4, show_spinner="Comparing with the production sample…")
def _drift(
    root: str,
    dataset_version: int,
    model: str,
    threshold: float,
    name: str,
    digest: str,
    _data: bytes,
    _features: pd.DataFrame,
    method: str = "tfidf",
):
    production = drift.load_production(_data, name)
    limit = {"semantic_threshold" if method == "semantic" else "coverage_threshold": threshold}
    config = drift.DriftConfig(method=method, **limit)
    return drift.compare(_features, production, config, model=model, seed=0)


def _production_file() -> tuple[str, bytes] | None:
    saved = ws.get_state("distribution.production")
    if not saved:
        return None
    path = ws.root / "distribution" / saved["file"]
    return (saved["name"], path.read_bytes()) if path.exists() else None


def _store_production(name: str, data: bytes) -> None:
    folder = ws.root / "distribution"
    folder.mkdir(parents=True, exist_ok=True)
    stored = "production" + "".join(Path(name).suffixes[-2:])
    (folder / stored).write_bytes(data)
    ws.set_state("distribution.production", {"name": name, "file": stored})


def _steps_summary(uncovered: float | None) -> profile.StepSummaries:
    steps = ws.steps()
    dedup = steps.get("dedup", {}).get("summary", {})
    labels = steps.get("labels", {}).get("summary", {})
    duplicates = None
    if dedup.get("before"):
        found = (dedup.get("exact") or 0) + (dedup.get("near") or 0)
        applied = dedup.get("after") is not None and dedup["after"] < dedup["before"]
        duplicates = 0.0 if applied else found / dedup["before"]
    agreement = labels.get("kappa", labels.get("alpha"))
    return profile.StepSummaries(
        duplicate_share=duplicates,
        agreement=float(agreement) if isinstance(agreement, (int, float)) else None,
        uncovered_share=uncovered,
    )


features = version_features(ws, frame, model)

# -- production sample (kept in the workspace so that a refresh keeps it) -----------------------
report = None
production = _production_file()
if production is not None:
    name, data = production
    try:
        report = _drift(
            root,
            version,
            model,
            threshold,
            name,
            hashlib.sha256(data).hexdigest(),
            data,
            features,
            coverage_by,
        )
    except DatasetError as exc:
        st.error(str(exc))

result = profile.build_profile(
    features,
    config,
    steps=_steps_summary(report.uncovered_share if report else None),
    clusters=report.targets() if report else (),
)
quality_summary = ws.steps().get("quality", {}).get("summary")
result = dataclasses.replace(
    result, checks=result.checks + tuple(readiness.quality_checks(quality_summary, version))
)


def _rows_table(row_ids, key: str) -> None:
    rows = features.iloc[list(row_ids)][_ROW_COLUMNS].copy()
    rows["prompt_text"] = rows["prompt_text"].str.slice(0, 200)
    st.dataframe(rows.head(1000), width="stretch")
    if len(rows) > 1000:
        st.caption(f"First 1,000 of {len(rows):,} rows.")
    choice = st.selectbox(
        "Show an example", list(rows.index[:1000]), key=key, format_func=lambda i: f"row {i}"
    )
    if choice is not None:
        render_example(frame.iloc[int(choice)])


# -- the readiness checklist ---------------------------------------------------------------------
st.header("Readiness checklist", anchor="checklist")
counts = pd.Series([c.status for c in result.checks]).value_counts()
st.write(
    "  ·  ".join(
        f"{_ICONS[s]} {counts[s]} {_STATUS_WORDS[s]}"
        for s in ("fail", "warn", "pass", "not_labelled", "not_run")
        if s in counts
    )
)


def _step_summary(extra: dict | None = None) -> dict:
    """The distribution step as the data card reports it: the checklist as seen, and saved targets."""
    summary = {
        "rows": len(features),
        "fail": int(counts.get("fail", 0)),
        "warn": int(counts.get("warn", 0)),
        "checklist": {c.title: f"{_STATUS_WORDS[c.status]}: {c.message}" for c in result.checks},
    }
    previous = ws.steps().get("distribution", {}).get("summary") or {}
    for key in ("targets", "missing", "production"):  # what "Save targets" recorded stays
        if key in previous:
            summary[key] = previous[key]
    return {**summary, **(extra or {})}


# Seeing the checklist is the step: the data card reports it from now on, not "not run".
if ws.steps().get("distribution", {}).get("summary") != _step_summary():
    ws.mark_step("distribution", _step_summary())
for check in result.checks:
    with st.expander(f"{_ICONS[check.status]} **{check.title}** · {check.message}"):
        st.markdown(
            f"**Status:** {_STATUS_WORDS[check.status]}  \n**Measured:** `{check.value}`  \n"
            f"**Rule:** {check.threshold}"
        )
        if check.chart:
            st.markdown(f"Chart: [{_CHART_TITLES.get(check.chart, check.chart)}](#{check.chart})")
        if check.id in _STEP_PAGES:
            page, label = _STEP_PAGES[check.id]
            page_link(page, label=f"Go to {label}")
        if check.row_ids:
            _rows_table(check.row_ids, f"distribution_check_row_{check.id}")

# -- charts ----------------------------------------------------------------------------------------
st.header("Token lengths", anchor="tokens")
limit = result.token_limit
show_all = st.toggle("Include the longest 1%", key="distribution_tokens_all")
lengths = features.melt(value_vars=["prompt_tokens", "response_tokens"], var_name="part", value_name="tokens")
cut = float(lengths["tokens"].quantile(0.99)) if len(lengths) else 0.0
shown = lengths if show_all else lengths[lengths["tokens"] <= cut]
figure = px.histogram(shown, x="tokens", color="part", barmode="overlay", nbins=60, opacity=0.7)
right = float(shown["tokens"].max()) if len(shown) else 0.0
if limit and limit <= 2 * max(right, 1):
    figure.add_vline(x=limit, line_dash="dash", line_color="red", annotation_text=f"limit {limit:,}")
st.plotly_chart(figure, key="distribution_tokens_chart")
notes = []
if not show_all and len(shown) < len(lengths):
    notes.append(
        f"{len(lengths) - len(shown):,} values above {cut:,.0f} tokens are not drawn (see Length outliers)."
    )
if limit and limit > 2 * max(right, 1):
    longest = int(features["total_tokens"].max()) if len(features) else 0
    notes.append(f"Token limit of {model}: {limit:,} per example; the longest example has {longest:,}.")
if notes:
    st.caption(" ".join(notes))
with st.expander("Table: token lengths"):
    st.dataframe(pd.DataFrame(result.summary()["tokens"]).drop(columns="limit", errors="ignore"))


@st.cache_data(max_entries=4, show_spinner="Counting tokens with the tokenizer's chat template…")
def _model_lengths(root: str, dataset_version: int, folder: str, max_length: int, _frame: pd.DataFrame):
    from core import hf_tokens

    return hf_tokens.length_report(_frame, hf_tokens.load_tokenizer(folder), max_length)


with st.expander("Lengths for the model you will train (a local Hugging Face tokenizer)"):
    hf_left, hf_right = st.columns([3, 1])
    hf_folder = hf_left.text_input(
        "Tokenizer directory",
        key="distribution_hf_tokenizer",
        help="A local folder with tokenizer.json and tokenizer_config.json (its chat template); "
        "nothing is downloaded. Every example is rendered with the template as TRL does.",
    )
    hf_max = hf_right.number_input("Max length", 1, 1_000_000, 2048, key="distribution_hf_max_length")
    if hf_folder.strip():
        try:
            hf_report = _model_lengths(root, version, hf_folder.strip(), int(hf_max), frame)
        except DatasetError as exc:
            st.error(str(exc))
        else:
            cols = st.columns(4)
            cols[0].metric("Longest", f"{hf_report['max']:,}")
            cols[1].metric("Mean", f"{hf_report['mean']:,}")
            cols[2].metric("p95", f"{hf_report['p95']:,}")
            cols[3].metric(f"Over {int(hf_max):,}", f"{hf_report['over']:,}")
            if hf_report["rejected"]:
                st.warning(
                    f"The chat template rejects {hf_report['rejected']:,} examples (lines "
                    f"{', '.join(str(n) for n in hf_report['rejected_lines'])}): "
                    f"{hf_report['rejected_reason']}"
                )
            if hf_report["over"]:
                st.caption(
                    f"{hf_report['over']:,} of {hf_report['rows']:,} examples are longer than "
                    f"{int(hf_max):,} tokens: a trainer with max_length={int(hf_max)} truncates them."
                )
                st.dataframe(
                    pd.DataFrame({"line": hf_report["over_lines"], "tokens": hf_report["over_tokens"]}),
                    key="distribution_hf_over",
                )

st.header("Categories", anchor="categories")
category_counts = profile.category_counts(features)
if category_counts:
    table = pd.DataFrame(
        {"category": [_plain(c) for c in category_counts], "examples": list(category_counts.values())}
    )
    table["status"] = [
        "fail" if n < config.fail_class else "warn" if n < config.min_class else "pass"
        for n in table["examples"]
    ]
    figure = px.bar(
        table,
        x="category",
        y="examples",
        color="status",
        color_discrete_map={"fail": "#d62728", "warn": "#ff7f0e", "pass": "#2ca02c"},
    )
    figure.add_hline(
        y=config.fail_class, line_dash="dot", line_color="red", annotation_text=str(config.fail_class)
    )
    figure.add_hline(
        y=config.min_class, line_dash="dash", line_color="orange", annotation_text=str(config.min_class)
    )
    st.plotly_chart(figure, key="distribution_categories_chart")
    with st.expander("Table and examples: categories"):
        st.dataframe(table, width="stretch", hide_index=True)
        picked = st.selectbox("Category", list(category_counts), key="distribution_drill_category")
        for _, row in frame[features["category"].to_numpy() == picked].head(3).iterrows():
            render_example(row)
else:
    st.info(next(c.message for c in result.checks if c.id == "category_coverage"))

st.header("Difficulty", anchor="difficulty")
difficulty = profile.difficulty_counts(features)
if sum(difficulty.values()):
    total = sum(difficulty.values())
    mix = pd.DataFrame(
        [{"set": "this dataset", "level": lv, "share": n / total} for lv, n in difficulty.items()]
        + [{"set": "target", "level": lv, "share": s} for lv, s in config.difficulty_target.items()]
    )
    figure = px.bar(
        mix,
        x="set",
        y="share",
        color="level",
        text_auto=".0%",
        category_orders={"level": list(profile.DIFFICULTY_LEVELS)},
    )
    st.plotly_chart(figure, key="distribution_difficulty_chart")
    with st.expander("Table and examples: difficulty"):
        st.dataframe(
            pd.DataFrame(
                {
                    "examples": difficulty,
                    "shortfall": profile.difficulty_shortfall(difficulty, config.difficulty_target),
                }
            )
        )
        level = st.selectbox("Level", list(profile.DIFFICULTY_LEVELS), key="distribution_drill_difficulty")
        for _, row in frame[features["difficulty"].to_numpy() == level].head(3).iterrows():
            render_example(row)
else:
    st.info(next(c.message for c in result.checks if c.id == "difficulty_mix"))

st.header("Languages", anchor="languages")
languages = profile.language_counts(features)
table = pd.DataFrame(
    {"language": [lang.language_label(c) for c in languages], "examples": list(languages.values())}
)
st.plotly_chart(px.bar(table, x="language", y="examples"), key="distribution_languages_chart")
with st.expander("Table and examples: languages"):
    st.dataframe(table, width="stretch", hide_index=True)
    language = st.selectbox(
        "Language", list(languages), format_func=lang.language_label, key="distribution_drill_language"
    )
    for _, row in frame[features["language"].to_numpy() == language].head(3).iterrows():
        render_example(row)

st.header("Examples over time", anchor="time")
times = features["created_at"].dropna()
if times.empty:
    st.info(next(c.message for c in result.checks if c.id == "temporal_spread"))
else:
    weekly = times.dt.tz_convert(None).dt.to_period("W").dt.start_time.value_counts().sort_index()
    table = pd.DataFrame({"week": weekly.index, "examples": weekly.to_numpy()})
    st.plotly_chart(px.bar(table, x="week", y="examples"), key="distribution_time_chart")
    with st.expander("Table: examples per week"):
        st.dataframe(table, width="stretch", hide_index=True)

st.header("Negative examples", anchor="negatives")
negatives = int(features["is_negative"].sum())
if features["category"].notna().any():
    per_category = features.groupby(features["category"].map(_plain))["is_negative"].agg(["sum", "count"])
    table = pd.DataFrame({"category": per_category.index, "negatives": per_category["sum"].astype(int)})
    figure = px.bar(table, x="category", y="negatives", title=f"{negatives:,} negative examples, by category")
else:
    table = pd.DataFrame({"kind": ["negative", "other"], "examples": [negatives, len(features) - negatives]})
    figure = px.bar(table, x="kind", y="examples", color="kind")
st.plotly_chart(figure, key="distribution_negatives_chart")
with st.expander("Negative examples found"):
    st.caption(
        "Responses like 'not found', 'not applicable', 'none', empty JSON, or a refusal, "
        "at the start of the reply."
    )
    if "preference" in set(frame["kind"].dropna()):
        st.caption(
            "Preference pairs: the chosen reply is what is read. A pair whose chosen reply declines or says "
            "'not found' is a negative example; a rejected reply that does so is not (it is what the model "
            "should learn not to say)."
        )
    if negatives:
        _rows_table(tuple(features.index[features["is_negative"]]), "distribution_negative_row")
    else:
        st.write("None.")

if (features["source"] != "real").any():
    st.header("Sources", anchor="sources")
    sources = features["source"].value_counts()
    st.plotly_chart(
        px.pie(values=sources.to_numpy(), names=[_plain(s) for s in sources.index]),
        key="distribution_sources_chart",
    )
    with st.expander("Table: sources"):
        st.dataframe(sources.rename("examples"), width="stretch")

# -- production comparison -------------------------------------------------------------------------
st.header("Production comparison", anchor="drift")
st.caption(
    "Upload real production inputs (any supported dataset format, or plain text with one input per line; "
    "at least 100) to compare lengths and languages and to see which inputs no training example resembles."
)
upload = st.file_uploader("Production sample", key="distribution_production")
cols = st.columns(2)
if upload is not None and st.session_state.get("distribution_uploaded") != upload.file_id:
    st.session_state["distribution_uploaded"] = upload.file_id
    _store_production(upload.name, upload.getvalue())
    st.rerun()
if _SAMPLE_PRODUCTION.exists() and cols[0].button(
    "Use the bundled production sample", key="distribution_use_sample"
):
    _store_production(_SAMPLE_PRODUCTION.name, _SAMPLE_PRODUCTION.read_bytes())
    st.rerun()
if production is not None and cols[1].button(
    "Remove the production sample", key="distribution_remove_production"
):
    ws.set_state("distribution.production", None)
    st.rerun()

if report is not None:
    inputs = report.inputs
    st.write(f"**{production[0]}**: {len(inputs):,} production inputs.")
    a, b, c = st.columns(3)
    a.metric(
        "KS p-value (input tokens)",
        f"{report.lengths['ks_p_value']:.2g}",
        help="Under 0.05: the length distributions differ.",
    )
    b.metric(
        "PSI",
        f"{report.lengths['psi']:.2f}",
        help="Under 0.1 stable, 0.1-0.25 moderate shift, over 0.25 major shift.",
    )
    c.metric(
        "Not covered",
        f"{report.uncovered_share:.0%}",
        help=f"Nearest training example less similar than {report.threshold} "
        f"(by {_COVERAGE_BY[report.method]}).",
    )
    overlay = pd.concat(
        [
            pd.DataFrame({"tokens": report.train_tokens, "set": "training"}),
            pd.DataFrame({"tokens": inputs["tokens"], "set": "production"}),
        ]
    )
    cut = float(overlay["tokens"].quantile(0.99))
    figure = px.histogram(
        overlay[overlay["tokens"] <= cut],
        x="tokens",
        color="set",
        barmode="overlay",
        histnorm="percent",
        nbins=60,
        opacity=0.6,
        title="Input tokens, training vs production (up to the 99th percentile)",
    )
    st.plotly_chart(figure, key="distribution_drift_lengths_chart")
    with st.expander("Table: input token lengths"):
        st.dataframe(
            pd.DataFrame({"training": report.lengths["train"], "production": report.lengths["production"]}),
            width="stretch",
        )
    shares = pd.DataFrame(
        [
            {"language": lang.language_label(k), "set": s, "share": v[s]}
            for k, v in report.languages.items()
            for s in ("train", "production")
        ]
    )
    st.plotly_chart(
        px.bar(shares, x="language", y="share", color="set", barmode="group"),
        key="distribution_drift_languages_chart",
    )
    with st.expander("Table: languages, training vs production"):
        st.dataframe(pd.DataFrame(report.languages).T.rename(index=lang.language_label), width="stretch")
    if report.categories:
        shares = pd.DataFrame(
            [
                {"category": _plain(k), "set": s, "share": v[s]}
                for k, v in report.categories.items()
                for s in ("train", "production")
            ]
        )
        st.plotly_chart(
            px.bar(shares, x="category", y="share", color="set", barmode="group"),
            key="distribution_drift_categories_chart",
        )
        with st.expander("Table: categories, training vs production"):
            st.dataframe(pd.DataFrame(report.categories).T, width="stretch")
    figure = px.histogram(
        inputs,
        x="similarity",
        nbins=40,
        title="Similarity of each production input to its nearest training example",
    )
    figure.add_vline(
        x=report.threshold, line_dash="dash", line_color="red", annotation_text="covered from here"
    )
    st.plotly_chart(figure, key="distribution_drift_similarity_chart")
    with st.expander("Table: production inputs"):
        shown = inputs[["text", "tokens", "language", "similarity", "covered", "cluster"]].copy()
        shown["language"] = shown["language"].map(lang.language_label)
        shown["nearest training prompt"] = [
            features["prompt_text"].iat[i][:200] if i >= 0 else "" for i in inputs["nearest"]
        ]
        st.dataframe(shown, width="stretch")
    st.subheader("Uncovered clusters")
    if not report.clusters:
        st.success("Every production input has a similar training example.")
    for cluster in report.clusters:
        with st.expander(f"{cluster.name} · {cluster.size} inputs"):
            st.caption("Top terms: " + ", ".join(cluster.terms))
            for text in cluster.examples:
                st.text(text)
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
        _step_summary(
            {
                "targets": len(targets),
                "missing": int(sum(t["missing"] for t in targets)),
                "production": production[0] if production else None,
            }
        ),
    )
    st.session_state["distribution_flash"] = f"Saved {len(targets)} targets for the Synthetic page."
    st.rerun()
if ws.get_state("targets.distribution"):
    page_link("pages/5_Synthetic.py", label="Generate the missing examples on the Synthetic page", icon="🧪")
