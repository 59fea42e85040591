"""The Labels page's sections: the gate, agreement charts, disputes, guidelines, consolidation, CROWDLAB."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core import agreement
from core.agreement import AgreementReport, ConfusedPair, Consolidation, crowdlab
from core.workspace import Workspace
from ui import md_text

_QUEUE_SHOWN = 5


@st.cache_data(max_entries=8)
def _consolidate(matrix: pd.DataFrame, policy: str, decisions: tuple) -> Consolidation:
    return agreement.consolidate(matrix, tie_policy=policy, adjudications=dict(decisions))


@st.cache_data(max_entries=4, show_spinner="Weighing annotators (cleanlab CROWDLAB)…")
def _crowdlab(matrix: pd.DataFrame, texts: dict[str, str]) -> crowdlab.Crowdlab:
    return crowdlab.crowdlab_consensus(matrix, texts, seed=0)


def crowdlab_tab(matrix: pd.DataFrame, texts: dict[str, str]) -> None:
    """CROWDLAB's consensus: annotator quality and the least certain labels."""
    st.caption(
        "cleanlab's CROWDLAB: the most likely label of each item and how sure that is, and how good each "
        "annotator is, weighing everyone by how often they agree with the others and with a classifier "
        "trained on the item texts (out of fold)."
    )
    if not crowdlab.available():
        st.info("Install cleanlab (`pip install 'cleanlab>=2.7,<3'`, in requirements.txt) to see this.")
        return
    try:
        result = _crowdlab(matrix, texts)
    except ValueError as exc:
        st.info(str(exc))
        return
    st.markdown("**Annotator quality** (0 to 1; lowest last)")
    st.dataframe(result.annotators, key="labels_crowdlab_annotators")
    low = result.consensus.sort_values("quality").head(50)
    low = low.assign(text=[texts.get(str(i), "") for i in low.index])
    st.markdown(f"**Least certain consensus labels** (classifier from the {result.method})")
    st.dataframe(low, key="labels_crowdlab_items")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _ci(interval: tuple[float, float] | None) -> str | None:
    return f"95% CI {interval[0]:.2f} to {interval[1]:.2f}" if interval else None


def gate(report: AgreementReport, drift: pd.DataFrame, pairs: list[ConfusedPair]) -> None:
    """The headline metrics, the 0.7 gate and the warnings (drifting annotators, the most confused pair)."""
    gate = report.gate
    cols = st.columns(4)
    cols[0].metric(
        "Overall kappa",
        _fmt(report.overall_kappa),
        delta=f"{report.overall_kappa - gate.threshold:+.2f} vs {gate.threshold}"
        if math.isfinite(report.overall_kappa)
        else None,
        help=" · ".join(filter(None, [report.overall_method, _ci(report.kappa_ci)])),
    )
    cols[1].metric("Krippendorff's alpha", _fmt(report.krippendorff_alpha), help=_ci(report.alpha_ci))
    cols[2].metric(
        "Percent agreement", f"{report.percent_agreement:.0%}", help="Share of agreeing annotator pairs"
    )
    cols[3].metric("Items · annotators", f"{report.items} · {len(report.annotators)}")
    if gate.passed:
        st.success(f"Gate passed: kappa {_fmt(report.overall_kappa)} is at or above {gate.threshold}.")
    else:
        st.error(f"Gate failed: kappa {_fmt(report.overall_kappa)} is under {gate.threshold}. {gate.advice}")
    if gate.flagged_labels:
        st.warning("Labels under kappa 0.7: " + ", ".join(map(md_text, gate.flagged_labels)))
    for name in drift.loc[drift["drifting"], "annotator"]:
        st.warning(
            f"{md_text(name)} drifts: their agreement with the others is clearly lower than the rest's."
        )
    if pairs:
        top = pairs[0]
        st.warning(
            f"Most confused: {md_text(top.labels[0])} vs {md_text(top.labels[1])} "
            f"({top.count} disagreements, {top.share:.0%} of all), on {len(top.item_ids)} items."
        )


def _pairwise_heatmap(report: AgreementReport) -> None:
    names = list(report.annotators)
    grid = pd.DataFrame(1.0, index=names, columns=names)
    for pair in report.pairwise:
        grid.loc[pair.a, pair.b] = grid.loc[pair.b, pair.a] = pair.kappa
    fig = px.imshow(grid, text_auto=".2f", zmin=0, zmax=1, color_continuous_scale="RdYlGn", aspect="auto")
    fig.update_layout(height=320, margin={"t": 30})
    st.plotly_chart(fig, key="labels_pairwise_chart")
    table = pd.DataFrame(
        [
            {"a": p.a, "b": p.b, "kappa": p.kappa, "items both labelled": p.n, "95% CI": _ci(p.ci) or ""}
            for p in report.pairwise
        ]
    )
    st.dataframe(table, hide_index=True)


def _per_label_chart(report: AgreementReport) -> None:
    data = pd.DataFrame({"label": list(report.per_label), "kappa": list(report.per_label.values())})
    data["status"] = ["at or above 0.7" if v >= report.gate.threshold else "under 0.7" for v in data["kappa"]]
    colors = {"under 0.7": "#d62728", "at or above 0.7": "#2ca02c"}
    fig = px.bar(data, x="label", y="kappa", color="status", color_discrete_map=colors)
    fig.add_hline(y=report.gate.threshold, line_dash="dash", annotation_text="0.7")
    fig.update_layout(height=340, margin={"t": 30})
    st.plotly_chart(fig, key="labels_per_label_chart")


def agreement_tab(report: AgreementReport, drift: pd.DataFrame) -> None:
    """Pairwise kappa heatmap, kappa per label and each annotator against the rest."""
    st.subheader("Cohen's kappa per annotator pair")
    _pairwise_heatmap(report)
    st.subheader("Kappa per label (one vs rest)")
    _per_label_chart(report)
    st.subheader("Each annotator against the rest")
    st.dataframe(drift, hide_index=True)


def confusion(matrix: pd.DataFrame, report: AgreementReport) -> None:
    """The confusion matrix of two annotators the person picks."""
    names = list(report.annotators)
    left, right = st.columns(2)
    a = left.selectbox("Annotator (rows)", names, index=0, key="labels_pair_a")
    b = right.selectbox("Annotator (columns)", names, index=1, key="labels_pair_b")
    if a == b:
        st.info("Pick two different annotators.")
        return
    table = agreement.confusion_matrix(matrix, a, b, labels=list(report.labels))
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=list(table.columns),
            y=list(table.index),
            colorscale="Blues",
            texttemplate="%{z}",
        )
    )
    fig.update_layout(xaxis_title=b, yaxis_title=a, height=460, margin={"t": 30}, yaxis_autorange="reversed")
    st.plotly_chart(fig, key="labels_confusion_chart")


def confused_pairs(matrix: pd.DataFrame, pairs: list[ConfusedPair], texts: dict[str, str]) -> None:
    """The most confused label pairs, each with its items."""
    st.subheader("Most confused label pairs")
    if not pairs:
        st.success("The annotators never disagree.")
        return
    for pair in pairs:
        with st.expander(
            f"{md_text(pair.labels[0])} vs {md_text(pair.labels[1])}: {pair.count} disagreements on "
            f"{len(pair.item_ids)} items"
        ):
            for item_id in pair.item_ids[:10]:
                labels = ", ".join(f"{name}: {matrix.at[item_id, name] or '—'}" for name in matrix.columns)
                st.text(f"{item_id}  ·  {labels}\n{texts.get(item_id, '')}")
            if len(pair.item_ids) > 10:
                st.caption(f"… and {len(pair.item_ids) - 10} more (see the disputed items export).")


def disputed_tab(matrix: pd.DataFrame, texts: dict[str, str]) -> None:
    """The disputed items, with a CSV download."""
    table = agreement.disputed_items(matrix, texts=texts)
    st.metric("Disputed items", len(table))
    st.dataframe(table, hide_index=True)
    st.download_button(
        "Download disputed items (CSV)",
        agreement.disputed_items_csv(table),
        file_name="disputed_items.csv",
        mime="text/csv",
        key="labels_disputed_download",
    )


def guidelines_tab(ws: Workspace, report: AgreementReport) -> None:
    """Write and save a guideline per category, flagging high-disagreement ones without one."""
    guidelines = agreement.load_guidelines(ws)
    high = agreement.high_disagreement_labels(report.per_label, threshold=report.gate.threshold)
    missing = agreement.labels_without_guidelines(high, guidelines)
    if missing:
        st.warning("High disagreement and no guideline yet: " + ", ".join(map(md_text, missing)))
    categories = list(dict.fromkeys([*missing, *high, *report.labels, *guidelines]))
    category = st.selectbox("Category", categories, key="labels_guideline_category")
    current = guidelines.get(category, agreement.Guideline())
    positives = [*current.positives, "", ""][:2]
    negatives = [*current.negatives, "", ""][:2]
    with st.form(key=f"labels_guideline_form_{category}"):
        definition = st.text_area("Definition", current.definition, key=f"labels_gl_definition_{category}")
        cols = st.columns(2)
        pos = [
            cols[0].text_input(f"Positive example {i + 1}", v, key=f"labels_gl_pos{i}_{category}")
            for i, v in enumerate(positives)
        ]
        neg = [
            cols[1].text_input(f"Negative example {i + 1}", v, key=f"labels_gl_neg{i}_{category}")
            for i, v in enumerate(negatives)
        ]
        edge = st.text_area(
            "Edge cases: how to decide ambiguous items", current.edge_cases, key=f"labels_gl_edge_{category}"
        )
        if st.form_submit_button("Save guideline", key="labels_guideline_save"):
            agreement.save_guideline(
                ws, category, agreement.Guideline(definition, tuple(pos), tuple(neg), edge)
            )
            st.success(f"Guideline for {md_text(category)} saved.")
    if guidelines:
        st.caption("Categories with a guideline: " + ", ".join(map(md_text, sorted(guidelines))))


def _decide(ws: Workspace, item_id: str, label: str) -> None:
    agreement.save_adjudication(ws, item_id, label)


def _queue(
    ws: Workspace, matrix: pd.DataFrame, queue: list[str], labels: tuple, texts: dict[str, str]
) -> None:
    st.subheader(f"Adjudication queue: {len(queue)} item(s) to decide")
    for item_id in queue[:_QUEUE_SHOWN]:
        with st.container(border=True):
            given = {name: matrix.at[item_id, name] for name in matrix.columns}
            st.text(f"{item_id}  ·  " + ", ".join(f"{k}: {v or '—'}" for k, v in given.items()))
            st.text(texts.get(item_id, ""))
            choices = list(dict.fromkeys(v for v in given.values() if v))
            cols = st.columns(len(choices) + 1)
            for i, label in enumerate(choices):
                cols[i].button(
                    md_text(label),
                    key=f"labels_adj_{item_id}_{i}",
                    on_click=_decide,
                    args=(ws, item_id, label),
                )
            other = cols[-1].selectbox(
                "Other label",
                ["—", *[c for c in labels if c not in choices]],
                key=f"labels_adj_other_{item_id}",
            )
            if other != "—":
                _decide(ws, item_id, other)
                st.rerun()


def consolidate_tab(
    ws: Workspace, frame: pd.DataFrame, matrix: pd.DataFrame, report: AgreementReport, texts: dict[str, str]
) -> None:
    """Consolidate the labels by majority vote (tie policy, adjudication queue) and save a version."""
    policy = st.radio(
        "When the vote is tied",
        agreement.TIE_POLICIES,
        index=2,
        horizontal=True,
        key="labels_tie_policy",
        help="flag: leave the item unlabelled and mark it; drop: remove it from the new version; "
        "adjudicate: a person picks the final label below.",
    )
    column = st.text_input("Write the final label into column", "category", key="labels_target_column")
    scope = (
        "disputed"
        if st.checkbox("Queue every disputed item, not only ties", key="labels_queue_all")
        else "ties"
    )
    decisions = agreement.load_adjudications(ws)
    result = _consolidate(matrix, policy, tuple(sorted(decisions.items())))
    counts = result.counts()
    cols = st.columns(4)
    for col, (name, value) in zip(cols * 3, sorted(counts.items()), strict=False):
        col.metric(name, value)
    queue = agreement.adjudication_queue(matrix, result, scope=scope)
    if policy == "adjudicate" or scope == "disputed":
        _queue(ws, matrix, queue, report.labels, texts)
    if result.pending:
        st.warning(
            f"{len(result.pending)} tied item(s) still wait for a decision; they keep their current value."
        )
    if st.button("Save consolidated labels", type="primary", key="labels_save"):
        _save(ws, frame, result, column, report)


def _save(
    ws: Workspace, frame: pd.DataFrame, result: Consolidation, column: str, report: AgreementReport
) -> None:
    try:
        new, summary = agreement.apply_consolidation(frame, result, column=column.strip())
    except ValueError as exc:
        st.error(str(exc))
        return
    note = (
        f"labels: majority vote of {len(report.annotators)} annotators into '{column.strip()}' "
        f"({summary['labelled']} labelled, ties: {result.tie_policy}, {summary['dropped']} dropped)"
    )
    version = ws.save_dataset(new, note=note)
    ws.mark_step(
        "labels",
        {
            "kappa": round(report.overall_kappa, 3),
            "gate": report.gate.status,
            "consolidated": summary["labelled"],
        },
    )
    st.success(f"Saved as version v{version}: {note}.")
