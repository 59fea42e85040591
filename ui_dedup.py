"""The Dedup page's sections: the settings, a run of the finder, its clusters, Apply and Restore."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

import ui_semantic
from core import dedup, derived
from core.semantic import pairs as semantic_pairs
from core.semantic import versioned
from core.workspace import Workspace
from ui import plural

_SCOPE_LABELS = {
    "all": "Whole conversation (prompt + response)",
    "prompt": "Prompt only (user turns)",
    "response": "Response only (assistant turns)",
    "prompt+chosen": "Prompt + chosen side",
    "chosen": "Chosen side only",
    "rejected": "Rejected side only",
    "prompt+rejected": "Prompt + rejected side",
}
_POLICY_LABELS = {
    "first": "First in the file",
    "longest": "Longest text",
    "shortest": "Shortest text",
    "newest": "Newest (created_at)",
    "prefer_real": "Prefer real over synthetic",
    "prefer_valid": "Prefer valid rows",
}
_METHOD_LABELS = {
    "lexical": "Lexical (shared words: MinHash)",
    "semantic": "Semantic (same meaning: embeddings)",
    "both": "Both (either links a pair)",
}


# The engine runs once per dataset version and settings, down to Jaccard 0.7, and its graph is kept
# with the version (core.derived; usually found in the background right after the version is saved):
# moving the threshold slider from there up only filters it.
@st.cache_data(max_entries=8, show_spinner=False)
def _find(root: str, dataset_version: int, settings: tuple, _frame: pd.DataFrame) -> dedup.DedupResult:
    # the bar is made inside the cached call (a cache hit replays only its cleared slot); a click on
    # Cancel reruns the script, which stops this call at its next progress update
    slot = st.empty()
    bar = slot.progress(0.0, text="Finding duplicates…")
    config = dedup.DedupConfig(**dict(settings))
    graph = derived.dedup_graph(
        Workspace.open(root),
        dataset_version,
        config,
        _frame,
        progress=lambda done: bar.progress(done, text=f"Finding duplicates… {done:.0%}"),
    )
    slot.empty()
    return dedup.result_at(graph, config)


@st.cache_data(max_entries=8, show_spinner="Measuring sensitivity…")
def _sensitivity(
    root: str, dataset_version: int, settings: tuple, thresholds: tuple, _frame: pd.DataFrame
) -> pd.DataFrame:
    config = dedup.DedupConfig(**dict(settings))
    lowest = dataclasses.replace(config, threshold=min(thresholds))
    graph = derived.dedup_graph(Workspace.open(root), dataset_version, lowest, _frame)
    return dedup.sensitivity(_frame, config, thresholds, graph=graph)


# Embeddings and pairs are found once per version and scope down to cosine 0.75 and Jaccard 0.7 and kept
# with the version (core.semantic.versioned): the cosine and Jaccard sliders only filter them.
@st.cache_resource(max_entries=4, show_spinner=False)
def _semantic(
    root: str, dataset_version: int, scope: str, include_system: bool, _frame: pd.DataFrame
) -> list[semantic_pairs.SimilarPair]:
    slot = st.empty()
    bar = slot.progress(0.0, text="Embedding every row, once per dataset version…")
    settings = semantic_pairs.PairSettings(scope=scope, include_system=include_system)
    ui_semantic.wait_for_semantic_pass(Workspace.open(root), dataset_version, settings, bar)
    found = versioned.version_pairs(
        Workspace.open(root),
        dataset_version,
        settings,
        _frame,
        progress=lambda p: bar.progress(p.done / max(p.total, 1), text=f"Embedding… {p.describe()}"),
    )
    slot.empty()
    return found


def settings_controls(
    frame: pd.DataFrame, saved: dict[str, Any]
) -> tuple[dedup.DedupConfig, str, semantic_pairs.PairSettings | None]:
    """The method, thresholds, scope, keep policy and normalisation, starting from the applied ones."""
    preference = bool((frame["kind"] == "preference").any()) if "kind" in frame.columns else False
    scopes = (
        ["all", "prompt", "prompt+chosen", "chosen", "rejected"]
        if preference
        else ["all", "prompt", "response"]
    )
    methods = list(_METHOD_LABELS)
    method = st.radio(
        "Find",
        methods,
        index=_saved_index(methods, saved.get("method")),
        format_func=_METHOD_LABELS.get,
        horizontal=True,
        key="dedup_method",
        help="Semantic finds rows that say the same thing in other words (cosine of sentence embeddings).",
    )
    cosine = None
    if method != "lexical":
        cosine = st.slider(
            "Cosine threshold",
            versioned.COSINE_FLOOR,
            1.0,
            float(min(max(saved.get("cosine", semantic_pairs.DEFAULT_COSINE), versioned.COSINE_FLOOR), 1.0)),
            0.01,
            key="dedup_cosine",
            help="Two examples are semantic duplicates when their embeddings' cosine is at least this.",
        )
    left, middle, right = st.columns(3)
    threshold = left.slider(
        "Jaccard threshold",
        0.5,
        0.95,
        float(min(max(saved.get("threshold", 0.8), 0.5), 0.95)),
        0.01,
        key="dedup_threshold",
        help="Two examples are near duplicates when their shingle sets overlap at least this much.",
    )
    scope = middle.selectbox(
        "Compare",
        scopes,
        _saved_index(scopes, saved.get("scope", "all")),
        _SCOPE_LABELS.get,
        key="dedup_scope",
    )
    policies = list(dedup.KEEP_POLICIES)
    policy = right.selectbox(
        "Keep in each cluster",
        policies,
        _saved_index(policies, saved.get("keep", "first")),
        _POLICY_LABELS.get,
        key="dedup_keep",
    )
    config = _normalisation(saved, round(threshold, 2), scope)
    semantic = None
    if cosine is not None:
        semantic = semantic_pairs.PairSettings(
            method=method,
            cosine=round(cosine, 2),
            threshold=config.threshold,
            scope=scope,
            include_system=config.include_system,
        )
    return config, policy, semantic


def _saved_index(options: list[str], saved: Any) -> int:
    return options.index(saved) if saved in options else 0


def _normalisation(saved: dict[str, Any], threshold: float, scope: str) -> dedup.DedupConfig:
    with st.expander("Normalisation"):
        cols = st.columns(4)
        nfkc = cols[0].toggle("Unicode NFKC", value=saved.get("nfkc", True), key="dedup_nfkc")
        casefold = cols[1].toggle("Ignore case", value=saved.get("casefold", True), key="dedup_casefold")
        collapse = cols[2].toggle(
            "Collapse whitespace", value=saved.get("collapse_whitespace", True), key="dedup_whitespace"
        )
        system = cols[3].toggle(
            "Include system prompt",
            value=saved.get("include_system", False),
            key="dedup_system",
            help="Off by default: a shared system prompt makes everything look alike.",
        )
    return dedup.DedupConfig(
        threshold=threshold,
        scope=scope,
        include_system=system,
        nfkc=nfkc,
        casefold=casefold,
        collapse_whitespace=collapse,
    )


def run(
    ws: Workspace, version: int, frame: pd.DataFrame, config: dedup.DedupConfig
) -> tuple[dedup.DedupResult, tuple]:
    """Find the duplicates (with a Cancel button while it runs); stops the page once cancelled."""
    if st.session_state.get("dedup_paused"):
        st.warning("The search was cancelled.")
        st.button(
            "Find duplicates", key="dedup_run", on_click=st.session_state.pop, args=("dedup_paused", None)
        )
        st.stop()
    settings = tuple(sorted(dataclasses.asdict(config).items()))
    cancel = st.empty()
    cancel.button(
        "Cancel", key="dedup_cancel", on_click=st.session_state.__setitem__, args=("dedup_paused", True)
    )
    result = _find(str(ws.root), version, settings, frame)
    cancel.empty()
    return result, settings


def run_semantic(
    ws: Workspace, version: int, frame: pd.DataFrame, semantic: semantic_pairs.PairSettings
) -> tuple[dedup.DedupResult, dict[int, list[semantic_pairs.SimilarPair]]]:
    """Clusters of rows linked by meaning (and wording), with the pairs that link each cluster."""
    found = _semantic(str(ws.root), version, semantic.scope, semantic.include_system, frame)
    linked = versioned.pairs_at(found, semantic)
    result = semantic_pairs.duplicate_result(frame, linked, semantic)
    counts = semantic_pairs.pair_counts(linked)
    st.caption(
        f"{plural(counts['pairs'], 'pair')} linked: {counts['semantic']:,} by meaning (cosine ≥ "
        f"{semantic.cosine:.2f}), {counts['lexical']:,} by wording (Jaccard ≥ {semantic.threshold:.2f}), "
        f"{counts['both']:,} by both."
    )
    return result, semantic_pairs.pairs_by_cluster(result, linked)


def novelty(ws: Workspace, version: int, frame: pd.DataFrame, semantic: semantic_pairs.PairSettings) -> None:
    """How many rows restate another, and the least novel rows."""
    found = versioned.version_novelty(ws, version, semantic, frame)
    with st.expander(
        f"Novelty: {found.paraphrase_share:.0%} of rows restate another row (cosine ≥ {semantic.cosine:.2f})"
    ):
        st.caption(
            "A row's novelty is 1 - the cosine to its nearest other row: 0 is a copy, about 0.15 a "
            "paraphrase; if most rows are near 0, new examples mostly restate what you have."
        )
        least = found.scores.argsort(kind="stable")[:50]
        table = pd.DataFrame(
            {
                "row": [dedup.member_label(frame, int(r)) for r in least],
                "novelty": found.scores[least].round(3),
                "nearest": [
                    dedup.member_label(frame, int(found.nearest[r])) if found.nearest[r] >= 0 else ""
                    for r in least
                ],
            }
        )
        st.dataframe(table, hide_index=True, key="dedup_novelty_table")


def metrics(result: dedup.DedupResult) -> None:
    """Rows now and after removal, and how many removals are exact or near duplicates."""
    cols = st.columns(5)
    cols[0].metric("Rows now", f"{result.rows:,}")
    cols[1].metric("After removal", f"{result.rows - result.removed:,}", delta=f"-{result.removed:,}")
    cols[2].metric("Would be removed", f"{result.removed_fraction:.1%}")
    total = max(result.removed, 1)
    cols[3].metric(
        "Exact", f"{result.exact_duplicates:,}", help=f"{result.exact_duplicates / total:.0%} of removals"
    )
    cols[4].metric(
        "Near", f"{result.near_duplicates:,}", help=f"{result.near_duplicates / total:.0%} of removals"
    )
    for note in result.notes:
        st.caption(note)


def sensitivity_chart(
    ws: Workspace, version: int, frame: pd.DataFrame, config: dedup.DedupConfig, settings: tuple
) -> None:
    """Rows removed at a few Jaccard thresholds around the chosen one."""
    thresholds = tuple(sorted({0.7, 0.8, 0.9, config.threshold}))
    table = _sensitivity(str(ws.root), version, settings, thresholds, frame)
    long = table.melt(id_vars="threshold", value_vars=["exact", "near"], var_name="match", value_name="rows")
    figure = px.bar(
        long,
        x="threshold",
        y="rows",
        color="match",
        barmode="stack",
        title="Rows removed by threshold",
        height=260,  # compact: the clusters and their highlighted differences follow right below
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0})
    figure.update_xaxes(type="category")
    st.plotly_chart(figure, key="dedup_sensitivity")


def apply(
    ws: Workspace,
    version: int,
    frame: pd.DataFrame,
    result: dedup.DedupResult,
    config: dedup.DedupConfig,
    policy: str,
    manual: dict[int, int],
    semantic: semantic_pairs.PairSettings | None = None,
) -> None:
    """Save the dataset without the removed rows as a new version, with the audit trail of each one."""
    kept, removed = dedup.apply_dedup(frame, result, policy=policy, manual=manual)
    at = f"{config.threshold:.2f}" if semantic is None else f"{semantic.method} cosine {semantic.cosine:.2f}"
    note = f"dedup at {at} ({config.scope}, keep {policy}): removed {len(removed)} rows"
    new_version = ws.save_dataset(kept, note=note)
    dedup.save_audit(ws, removed, from_version=version, to_version=new_version)
    if semantic is None:
        dedup.save_settings(ws, config, policy)
    else:
        dedup.save_settings(ws, config, policy, method=semantic.method, cosine=semantic.cosine)
    ws.mark_step(
        "dedup",
        {
            "before": len(frame),
            "after": len(kept),
            "exact": result.exact_duplicates,
            "near": result.near_duplicates,
            "threshold": config.threshold,
            "scope": config.scope,
        },
    )
    st.session_state["dedup_flash"] = (
        f"Removed {len(removed):,} rows: {len(frame):,} → {len(kept):,} (version {new_version})."
    )
    st.rerun()


def audit(ws: Workspace, frame: pd.DataFrame) -> None:
    """The rows removed so far, and restoring some or all of them as a new version."""
    removed = dedup.load_audit(ws)
    st.subheader("Removed rows")
    if removed.empty:
        st.caption("Nothing removed yet.")
        return
    columns = [
        "audit_key",
        "id",
        "dedup_cluster",
        "dedup_kept_id",
        "dedup_similarity",
        "dedup_match",
        "prompt_text",
    ]
    shown = removed[columns]
    st.dataframe(shown.rename(columns=lambda c: c.removeprefix("dedup_")), hide_index=True, key=None)
    labels = {
        k: f"{i} (cluster {c + 1})"
        for k, i, c in zip(removed["audit_key"], removed["id"], removed["dedup_cluster"], strict=True)
    }
    keys = st.multiselect("Rows to restore", list(labels), format_func=labels.get, key="dedup_restore_keys")
    left, right = st.columns(2)
    if left.button("Restore selected", key="dedup_restore", disabled=not keys):
        _restore(ws, frame, removed, keys)
    if right.button("Restore all", key="dedup_restore_all"):
        _restore(ws, frame, removed, list(labels))


def _restore(ws: Workspace, frame: pd.DataFrame, removed: pd.DataFrame, keys: list) -> None:
    chosen = removed[removed["audit_key"].isin(keys)]
    restored, _ = dedup.restore(frame, chosen, chosen["id"])
    new_version = ws.save_dataset(restored, note=f"dedup: restored {len(chosen)} rows")
    dedup.mark_restored(ws, keys, version=new_version)
    st.session_state["dedup_flash"] = f"Restored {len(chosen):,} rows ({len(frame):,} → {len(restored):,})."
    st.rerun()
