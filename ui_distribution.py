"""The Distribution page's sections: the readiness checklist, its charts, the production comparison."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from core import lang, profile
from core.errors import DatasetError
from core.workspace import Workspace
from ui import page_link, render_example

MODELS = (
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
_ROW_COLUMNS = [
    "prompt_text",
    "category",
    "difficulty",
    "language",
    "prompt_tokens",
    "total_tokens",
    "is_negative",
]


def plain(text: Any) -> str:
    """Chart labels come from the data; plotly reads a few HTML tags in labels, so none may pass."""
    return str(text).replace("<", "‹").replace(">", "›")


def step_summary(ws: Workspace, result: profile.Profile, rows: int, extra: dict | None = None) -> dict:
    """The distribution step as the data card reports it: the checklist as seen, and saved targets."""
    counts = pd.Series([c.status for c in result.checks]).value_counts()
    summary = {
        "rows": rows,
        "fail": int(counts.get("fail", 0)),
        "warn": int(counts.get("warn", 0)),
        "checklist": {c.title: f"{_STATUS_WORDS[c.status]}: {c.message}" for c in result.checks},
    }
    previous = ws.steps().get("distribution", {}).get("summary") or {}
    for key in ("targets", "missing", "production"):  # what "Save targets" recorded stays
        if key in previous:
            summary[key] = previous[key]
    return {**summary, **(extra or {})}


def _rows_table(features: pd.DataFrame, frame: pd.DataFrame, row_ids: Sequence[int], key: str) -> None:
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


def checklist(ws: Workspace, result: profile.Profile, features: pd.DataFrame, frame: pd.DataFrame) -> None:
    """The readiness checklist: counts by status, then each check opening to the rows behind it."""
    st.header("Readiness checklist", anchor="checklist")
    counts = pd.Series([c.status for c in result.checks]).value_counts()
    st.write(
        "  ·  ".join(
            f"{_ICONS[s]} {counts[s]} {_STATUS_WORDS[s]}"
            for s in ("fail", "warn", "pass", "not_labelled", "not_run")
            if s in counts
        )
    )
    # Seeing the checklist is the step: the data card reports it from now on, not "not run".
    if ws.steps().get("distribution", {}).get("summary") != step_summary(ws, result, len(features)):
        ws.mark_step("distribution", step_summary(ws, result, len(features)))
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
                _rows_table(features, frame, check.row_ids, f"distribution_check_row_{check.id}")


def token_lengths(result: profile.Profile, features: pd.DataFrame, model: str) -> None:
    """Prompt and response token lengths against the model's limit."""
    st.header("Token lengths", anchor="tokens")
    limit = result.token_limit
    show_all = st.toggle("Include the longest 1%", key="distribution_tokens_all")
    lengths = features.melt(
        value_vars=["prompt_tokens", "response_tokens"], var_name="part", value_name="tokens"
    )
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
            f"{len(lengths) - len(shown):,} values above {cut:,.0f} tokens are not drawn "
            "(see Length outliers)."
        )
    if limit and limit > 2 * max(right, 1):
        longest = int(features["total_tokens"].max()) if len(features) else 0
        notes.append(f"Token limit of {model}: {limit:,} per example; the longest example has {longest:,}.")
    if notes:
        st.caption(" ".join(notes))
    with st.expander("Table: token lengths"):
        st.dataframe(pd.DataFrame(result.summary()["tokens"]).drop(columns="limit", errors="ignore"))


@st.cache_data(max_entries=4, show_spinner="Counting tokens with the tokenizer's chat template…")
def _model_lengths(
    root: str, dataset_version: int, folder: str, max_length: int, _frame: pd.DataFrame
) -> dict[str, Any]:
    from core import hf_tokens

    return hf_tokens.length_report(_frame, hf_tokens.load_tokenizer(folder), max_length)


def model_lengths(ws: Workspace, frame: pd.DataFrame) -> None:
    """Lengths as a local Hugging Face tokenizer and its chat template count them."""
    with st.expander("Lengths for the model you will train (a local Hugging Face tokenizer)"):
        hf_left, hf_right = st.columns([3, 1])
        hf_folder = hf_left.text_input(
            "Tokenizer directory",
            key="distribution_hf_tokenizer",
            help="A local folder with tokenizer.json and tokenizer_config.json (its chat template); "
            "nothing is downloaded. Every example is rendered with the template as TRL does.",
        )
        hf_max = hf_right.number_input("Max length", 1, 1_000_000, 2048, key="distribution_hf_max_length")
        if not hf_folder.strip():
            return
        try:
            report = _model_lengths(str(ws.root), ws.dataset_version(), hf_folder.strip(), int(hf_max), frame)
        except DatasetError as exc:
            st.error(str(exc))
        else:
            _model_length_report(report, int(hf_max))


def _model_length_report(report: dict[str, Any], hf_max: int) -> None:
    cols = st.columns(4)
    cols[0].metric("Longest", f"{report['max']:,}")
    cols[1].metric("Mean", f"{report['mean']:,}")
    cols[2].metric("p95", f"{report['p95']:,}")
    cols[3].metric(f"Over {hf_max:,}", f"{report['over']:,}")
    if report["rejected"]:
        st.warning(
            f"The chat template rejects {report['rejected']:,} examples (lines "
            f"{', '.join(str(n) for n in report['rejected_lines'])}): "
            f"{report['rejected_reason']}"
        )
    if report["over"]:
        st.caption(
            f"{report['over']:,} of {report['rows']:,} examples are longer than "
            f"{hf_max:,} tokens: a trainer with max_length={hf_max} truncates them."
        )
        st.dataframe(
            pd.DataFrame({"line": report["over_lines"], "tokens": report["over_tokens"]}),
            key="distribution_hf_over",
        )


def categories(
    result: profile.Profile, config: profile.ProfileConfig, features: pd.DataFrame, frame: pd.DataFrame
) -> None:
    """Examples per category against the class-size rules, and a few examples of one."""
    st.header("Categories", anchor="categories")
    category_counts = profile.category_counts(features)
    if not category_counts:
        st.info(next(c.message for c in result.checks if c.id == "category_coverage"))
        return
    table = pd.DataFrame(
        {"category": [plain(c) for c in category_counts], "examples": list(category_counts.values())}
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


def difficulty(
    result: profile.Profile, config: profile.ProfileConfig, features: pd.DataFrame, frame: pd.DataFrame
) -> None:
    """The difficulty mix against the target mix, and a few examples of one level."""
    st.header("Difficulty", anchor="difficulty")
    counts = profile.difficulty_counts(features)
    if not sum(counts.values()):
        st.info(next(c.message for c in result.checks if c.id == "difficulty_mix"))
        return
    total = sum(counts.values())
    mix = pd.DataFrame(
        [{"set": "this dataset", "level": lv, "share": n / total} for lv, n in counts.items()]
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
        shortfall = profile.difficulty_shortfall(counts, config.difficulty_target)
        st.dataframe(pd.DataFrame({"examples": counts, "shortfall": shortfall}))
        level = st.selectbox("Level", list(profile.DIFFICULTY_LEVELS), key="distribution_drill_difficulty")
        for _, row in frame[features["difficulty"].to_numpy() == level].head(3).iterrows():
            render_example(row)


def languages(features: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Examples per language, and a few examples of one."""
    st.header("Languages", anchor="languages")
    counts = profile.language_counts(features)
    table = pd.DataFrame(
        {"language": [lang.language_label(c) for c in counts], "examples": list(counts.values())}
    )
    st.plotly_chart(px.bar(table, x="language", y="examples"), key="distribution_languages_chart")
    with st.expander("Table and examples: languages"):
        st.dataframe(table, width="stretch", hide_index=True)
        language = st.selectbox(
            "Language", list(counts), format_func=lang.language_label, key="distribution_drill_language"
        )
        for _, row in frame[features["language"].to_numpy() == language].head(3).iterrows():
            render_example(row)


def over_time(result: profile.Profile, features: pd.DataFrame) -> None:
    """Examples per week of their ``created_at``."""
    st.header("Examples over time", anchor="time")
    times = features["created_at"].dropna()
    if times.empty:
        st.info(next(c.message for c in result.checks if c.id == "temporal_spread"))
        return
    weekly = times.dt.tz_convert(None).dt.to_period("W").dt.start_time.value_counts().sort_index()
    table = pd.DataFrame({"week": weekly.index, "examples": weekly.to_numpy()})
    st.plotly_chart(px.bar(table, x="week", y="examples"), key="distribution_time_chart")
    with st.expander("Table: examples per week"):
        st.dataframe(table, width="stretch", hide_index=True)


def negatives(features: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Negative examples (a reply that declines or finds nothing), by category, and the rows."""
    st.header("Negative examples", anchor="negatives")
    count = int(features["is_negative"].sum())
    if features["category"].notna().any():
        per_category = features.groupby(features["category"].map(plain))["is_negative"].agg(["sum", "count"])
        table = pd.DataFrame({"category": per_category.index, "negatives": per_category["sum"].astype(int)})
        figure = px.bar(table, x="category", y="negatives", title=f"{count:,} negative examples, by category")
    else:
        table = pd.DataFrame({"kind": ["negative", "other"], "examples": [count, len(features) - count]})
        figure = px.bar(table, x="kind", y="examples", color="kind")
    st.plotly_chart(figure, key="distribution_negatives_chart")
    with st.expander("Negative examples found"):
        st.caption(
            "Responses like 'not found', 'not applicable', 'none', empty JSON, or a refusal, "
            "at the start of the reply."
        )
        if "preference" in set(frame["kind"].dropna()):
            st.caption(
                "Preference pairs: the chosen reply is what is read. A pair whose chosen reply declines "
                "or says 'not found' is a negative example; a rejected reply that does so is not (it is "
                "what the model should learn not to say)."
            )
        if count:
            _rows_table(
                features, frame, tuple(features.index[features["is_negative"]]), "distribution_negative_row"
            )
        else:
            st.write("None.")


def sources(features: pd.DataFrame) -> None:
    """Where the examples came from, when not every one is real."""
    if not (features["source"] != "real").any():
        return
    st.header("Sources", anchor="sources")
    counts = features["source"].value_counts()
    st.plotly_chart(
        px.pie(values=counts.to_numpy(), names=[plain(s) for s in counts.index]),
        key="distribution_sources_chart",
    )
    with st.expander("Table: sources"):
        st.dataframe(counts.rename("examples"), width="stretch")
