import dataclasses

import pandas as pd
import plotly.express as px
import streamlit as st

import ui_semantic
from core import dedup, derived
from core.errors import DatasetError
from core.semantic import pairs as semantic_pairs
from core.semantic import versioned
from core.workspace import Workspace
from ui import highlight_markdown, md_text, open_workspace, plural, require_dataset

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
_PAGE_SIZE = 10
_SHOWN_CHARS = 2000

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


# The engine runs once per dataset version and settings, down to Jaccard 0.7, and its graph is kept
# with the version (core.derived; usually found in the background right after the version is saved):
# moving the threshold slider from there up only filters it.
@st.cache_data(max_entries=8, show_spinner=False)
def _find(root: str, dataset_version: int, settings: tuple, _frame: pd.DataFrame):
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
def _sensitivity(root: str, dataset_version: int, settings: tuple, thresholds: tuple, _frame: pd.DataFrame):
    config = dedup.DedupConfig(**dict(settings))
    lowest = dataclasses.replace(config, threshold=min(thresholds))
    graph = derived.dedup_graph(Workspace.open(root), dataset_version, lowest, _frame)
    return dedup.sensitivity(_frame, config, thresholds, graph=graph)


# Embeddings and pairs are found once per version and scope down to cosine 0.75 and Jaccard 0.7 and kept
# with the version (core.semantic.versioned): the cosine and Jaccard sliders only filter them.
@st.cache_resource(max_entries=4, show_spinner=False)
def _semantic(root: str, dataset_version: int, scope: str, include_system: bool, _frame: pd.DataFrame):
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


def _settings_controls():
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
        index=methods.index(saved.get("method", "lexical")) if saved.get("method") in methods else 0,
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
    default_scope = saved.get("scope", "all")
    scope = middle.selectbox(
        "Compare",
        scopes,
        index=scopes.index(default_scope) if default_scope in scopes else 0,
        format_func=_SCOPE_LABELS.get,
        key="dedup_scope",
    )
    policies = list(dedup.KEEP_POLICIES)
    default_policy = saved.get("keep", "first")
    policy = right.selectbox(
        "Keep in each cluster",
        policies,
        index=policies.index(default_policy) if default_policy in policies else 0,
        format_func=_POLICY_LABELS.get,
        key="dedup_keep",
    )
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
    config = dedup.DedupConfig(
        threshold=round(threshold, 2),
        scope=scope,
        include_system=system,
        nfkc=nfkc,
        casefold=casefold,
        collapse_whitespace=collapse,
    )
    semantic = None
    if cosine is not None:
        semantic = semantic_pairs.PairSettings(
            method=method,
            cosine=round(cosine, 2),
            threshold=config.threshold,
            scope=scope,
            include_system=system,
        )
    return config, policy, semantic


def _run(config):
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


def _run_semantic(semantic):
    found = _semantic(str(ws.root), version, semantic.scope, semantic.include_system, frame)
    linked = versioned.pairs_at(found, semantic)
    result = semantic_pairs.duplicate_result(frame, linked, semantic)
    by_cluster = {}
    row_cluster = {m: c.cluster_id for c in result.clusters for m in c.members}
    for pair in linked:
        by_cluster.setdefault(row_cluster[pair.a], []).append(pair)
    counts = semantic_pairs.pair_counts(linked)
    st.caption(
        f"{plural(counts['pairs'], 'pair')} linked: {counts['semantic']:,} by meaning (cosine ≥ "
        f"{semantic.cosine:.2f}), {counts['lexical']:,} by wording (Jaccard ≥ {semantic.threshold:.2f}), "
        f"{counts['both']:,} by both."
    )
    return result, by_cluster


def _novelty(semantic):
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
                "row": [_member_label(int(r)) for r in least],
                "novelty": found.scores[least].round(3),
                "nearest": [
                    _member_label(int(found.nearest[r])) if found.nearest[r] >= 0 else "" for r in least
                ],
            }
        )
        st.dataframe(table, hide_index=True, key="dedup_novelty_table")


def _pair_table(links, semantic):
    rows = [
        {
            "a": _member_label(p.a),
            "b": _member_label(p.b),
            "cosine": round(p.cosine, 3),
            "Jaccard": round(p.jaccard, 3),
            "method": p.method,
            "why": semantic_pairs.explain_pair(p, semantic),
        }
        for p in links[:50]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=None)


def _metrics(result):
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


def _sensitivity_chart(config, settings):
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


def _member_label(position):
    row = frame.iloc[position]
    source = row.get("source") if isinstance(row.get("source"), str) else "real"
    line = row.get("source_line")
    where = f"line {line}" if line is not None and not pd.isna(line) else f"row {position + 1}"
    return f"{where} · {row['id']} · {source}"


def _cluster(cluster, keeper, config, texts, links=None, semantic=None):
    measure = (
        f"best cosine {max(cluster.similarity):.2f}"
        if cluster.kind == "semantic"
        else f"min Jaccard {cluster.min_jaccard:.2f}"
    )
    header = f"Cluster {cluster.cluster_id + 1} · {cluster.size} members · {cluster.kind} · {measure}"
    with st.expander(header, expanded=cluster.cluster_id < 3):
        options = list(cluster.members)
        pick = st.selectbox(
            "Keep",
            options,
            index=options.index(keeper),
            format_func=_member_label,
            key=f"dedup_pick_{version}_{cluster.cluster_id}",
        )
        shown = [pick, *[m for m in cluster.members if m != pick]][:4]
        columns = st.columns(len(shown))
        for column, member in zip(columns, shown, strict=True):
            other = shown[1] if member == pick else pick
            runs, _ = dedup.diff_words(texts[member][:_SHOWN_CHARS], texts[other][:_SHOWN_CHARS])
            if st.session_state.get("dedup_only_differences"):
                runs = dedup.differing_parts(runs)
            elif st.session_state.get("dedup_from_difference", True):
                runs = dedup.from_first_difference(runs)
            with column:
                st.markdown("**Kept**" if member == pick else "**Removed**")
                st.caption(md_text(_member_label(member)))
                with st.container(height=260):
                    st.markdown(highlight_markdown(runs, "green" if member == pick else "red"))
        if cluster.size > len(shown):
            st.caption(f"… and {cluster.size - len(shown)} more members")
        if links is not None:
            _pair_table(links, semantic)
        elif cluster.size <= 8:
            matrix = dedup.pairwise_jaccard(frame, cluster.members, config)
            labels = [f"{k + 1}. {frame.iloc[m]['id']}" for k, m in enumerate(cluster.members)]
            st.dataframe(pd.DataFrame(matrix, index=labels, columns=labels).round(3), key=None)
    return pick


def _clusters(result, config, policy, by_cluster=None, semantic=None):
    keepers = dedup.choose_keepers(frame, result, policy)
    st.subheader(f"{len(result.clusters):,} clusters, largest first")
    cols = st.columns(2)
    cols[0].toggle("Open each side at the first difference", value=True, key="dedup_from_difference")
    cols[1].toggle("Only the lines that differ", value=False, key="dedup_only_differences")
    pages = max(1, -(-len(result.clusters) // _PAGE_SIZE))
    page = st.number_input("Page", 1, pages, 1, key="dedup_page") if pages > 1 else 1
    members = sorted(
        {m for c in result.clusters[(page - 1) * _PAGE_SIZE : page * _PAGE_SIZE] for m in c.members}
    )
    texts = dict(zip(members, dedup.scope_texts(frame.iloc[members], config), strict=True))
    for cluster in result.clusters[(page - 1) * _PAGE_SIZE : page * _PAGE_SIZE]:
        links = None if by_cluster is None else by_cluster.get(cluster.cluster_id, [])
        _cluster(cluster, keepers[cluster.cluster_id], config, texts, links, semantic)
    manual = {}
    for cluster in result.clusters:  # picks made on any page count
        chosen = st.session_state.get(f"dedup_pick_{version}_{cluster.cluster_id}")
        if chosen in cluster.members and chosen != keepers[cluster.cluster_id]:
            manual[cluster.cluster_id] = chosen
    return manual


def _apply(result, config, policy, manual, semantic=None):
    kept, audit = dedup.apply_dedup(frame, result, policy=policy, manual=manual)
    at = f"{config.threshold:.2f}" if semantic is None else f"{semantic.method} cosine {semantic.cosine:.2f}"
    note = f"dedup at {at} ({config.scope}, keep {policy}): removed {len(audit)} rows"
    new_version = ws.save_dataset(kept, note=note)
    dedup.save_audit(ws, audit, from_version=version, to_version=new_version)
    settings = {"threshold": config.threshold, "scope": config.scope, "keep": policy}
    settings.update(
        nfkc=config.nfkc,
        casefold=config.casefold,
        collapse_whitespace=config.collapse_whitespace,
        include_system=config.include_system,
    )
    if semantic is not None:
        settings.update(method=semantic.method, cosine=semantic.cosine)
    ws.set_state("dedup.settings", settings)
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
        f"Removed {len(audit):,} rows: {len(frame):,} → {len(kept):,} (version {new_version})."
    )
    st.rerun()


def _audit():
    audit = dedup.load_audit(ws)
    st.subheader("Removed rows")
    if audit.empty:
        st.caption("Nothing removed yet.")
        return
    shown = audit[
        [
            "audit_key",
            "id",
            "dedup_cluster",
            "dedup_kept_id",
            "dedup_similarity",
            "dedup_match",
            "prompt_text",
        ]
    ]
    st.dataframe(shown.rename(columns=lambda c: c.removeprefix("dedup_")), hide_index=True, key=None)
    labels = {
        k: f"{i} (cluster {c + 1})"
        for k, i, c in zip(audit["audit_key"], audit["id"], audit["dedup_cluster"], strict=True)
    }
    keys = st.multiselect("Rows to restore", list(labels), format_func=labels.get, key="dedup_restore_keys")
    left, right = st.columns(2)
    if left.button("Restore selected", key="dedup_restore", disabled=not keys):
        _restore(audit, keys)
    if right.button("Restore all", key="dedup_restore_all"):
        _restore(audit, list(labels))


def _restore(audit, keys):
    chosen = audit[audit["audit_key"].isin(keys)]
    restored, _ = dedup.restore(frame, chosen, chosen["id"])
    new_version = ws.save_dataset(restored, note=f"dedup: restored {len(chosen)} rows")
    dedup.mark_restored(ws, keys, version=new_version)
    st.session_state["dedup_flash"] = f"Restored {len(chosen):,} rows ({len(frame):,} → {len(restored):,})."
    st.rerun()


by_cluster = None
try:
    config, policy, semantic = _settings_controls()
    if semantic is None:
        result, settings = _run(config)
    else:
        result, by_cluster = _run_semantic(semantic)
except DatasetError as exc:
    st.error(str(exc))
    st.stop()
_metrics(result)
if result.clusters:
    if semantic is None:
        _sensitivity_chart(config, settings)
    else:
        _novelty(semantic)
    manual = _clusters(result, config, policy, by_cluster, semantic)
    if st.button(f"Apply: remove {result.removed:,} rows", type="primary", key="dedup_apply"):
        _apply(result, config, policy, manual, semantic)
else:
    st.success("No duplicates at this threshold.")
_audit()
