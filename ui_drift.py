"""The Distribution page's production comparison: the sample kept in the workspace, and its drift."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd
import plotly.express as px
import streamlit as st

from core import drift, lang
from core.errors import DatasetError
from core.ingest import SAMPLE_DIR
from core.workspace import Workspace
from ui import embedding_bar
from ui_distribution import plain

_SAMPLE_PRODUCTION = SAMPLE_DIR / "production_inputs.txt"
COVERAGE_BY = {"semantic": "meaning (embeddings)", "tfidf": "words (character 4-gram TF-IDF)"}
"""How a production input can be matched with its most similar training example, as the page names it."""


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
) -> drift.DriftReport:
    production = drift.load_production(_data, name)
    limit = {"semantic_threshold" if method == "semantic" else "coverage_threshold": threshold}
    config = drift.DriftConfig(method=method, **limit)
    if method != "semantic":
        return drift.compare(_features, production, config, model=model, seed=0)
    with embedding_bar("Embedding the training prompts and the production inputs…") as progress:
        return drift.compare(_features, production, config, model=model, seed=0, progress=progress)


def production_report(
    ws: Workspace, model: str, threshold: float, features: pd.DataFrame, method: str = "tfidf"
) -> tuple[tuple[str, bytes] | None, drift.DriftReport | None]:
    """The production sample kept in the workspace and its comparison (shown as an error if unreadable)."""
    production = drift.saved_production(ws)
    if production is None:
        return None, None
    name, data = production
    try:
        digest = hashlib.sha256(data).hexdigest()
        return production, _drift(
            str(ws.root), ws.dataset_version(), model, threshold, name, digest, data, features, method
        )
    except DatasetError as exc:
        st.error(str(exc))
        return production, None


def production_controls(ws: Workspace, production: tuple[str, bytes] | None) -> None:
    """Upload a production sample, use the bundled one, or remove the one kept."""
    st.header("Production comparison", anchor="drift")
    st.caption(
        "Upload real production inputs (any supported dataset format, or plain text with one input per "
        "line; at least 100) to compare lengths and languages and to see which inputs no training example "
        "resembles."
    )
    upload = st.file_uploader("Production sample", key="distribution_production")
    cols = st.columns(2)
    if upload is not None and st.session_state.get("distribution_uploaded") != upload.file_id:
        st.session_state["distribution_uploaded"] = upload.file_id
        drift.store_production(ws, upload.name, upload.getvalue())
        st.rerun()
    if _SAMPLE_PRODUCTION.exists() and cols[0].button(
        "Use the bundled production sample", key="distribution_use_sample"
    ):
        drift.store_production(ws, _SAMPLE_PRODUCTION.name, _SAMPLE_PRODUCTION.read_bytes())
        st.rerun()
    if production is not None and cols[1].button(
        "Remove the production sample", key="distribution_remove_production"
    ):
        drift.forget_production(ws)
        st.rerun()


def comparison(name: str, report: drift.DriftReport, features: pd.DataFrame) -> None:
    """Lengths, languages, categories and coverage of the production sample against the training set."""
    inputs = report.inputs
    st.write(f"**{name}**: {len(inputs):,} production inputs.")
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
        f"(by {COVERAGE_BY[report.method]}).",
    )
    _lengths(report)
    _shares(report)
    _coverage(report, features)


def _lengths(report: drift.DriftReport) -> None:
    overlay = pd.concat(
        [
            pd.DataFrame({"tokens": report.train_tokens, "set": "training"}),
            pd.DataFrame({"tokens": report.inputs["tokens"], "set": "production"}),
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


def _shares(report: drift.DriftReport) -> None:
    _share_chart(report.languages, "language", lang.language_label, "distribution_drift_languages_chart")
    with st.expander("Table: languages, training vs production"):
        st.dataframe(pd.DataFrame(report.languages).T.rename(index=lang.language_label), width="stretch")
    if report.categories:
        _share_chart(report.categories, "category", plain, "distribution_drift_categories_chart")
        with st.expander("Table: categories, training vs production"):
            st.dataframe(pd.DataFrame(report.categories).T, width="stretch")


def _share_chart(shares: dict, column: str, label: Callable[[str], str], key: str) -> None:
    table = pd.DataFrame(
        [
            {column: label(k), "set": s, "share": v[s]}
            for k, v in shares.items()
            for s in ("train", "production")
        ]
    )
    st.plotly_chart(px.bar(table, x=column, y="share", color="set", barmode="group"), key=key)


def _coverage(report: drift.DriftReport, features: pd.DataFrame) -> None:
    inputs = report.inputs
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
