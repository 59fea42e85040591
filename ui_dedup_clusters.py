"""The Dedup page's clusters: one page of them, each with its members side by side and the row to keep."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from core import dedup
from core.semantic import pairs as semantic_pairs
from ui import highlight_markdown, md_text

_PAGE_SIZE = 10
_SHOWN_CHARS = 2000


@dataclasses.dataclass(frozen=True)
class ClusterView:
    """What a cluster's panel shows: the rows of one version, compared as the settings say."""

    frame: pd.DataFrame
    version: int
    config: dedup.DedupConfig
    semantic: semantic_pairs.PairSettings | None = None
    texts: dict[int, str] = dataclasses.field(default_factory=dict)


def _pair_table(frame: pd.DataFrame, links: list, semantic: semantic_pairs.PairSettings) -> None:
    rows = [
        {
            "a": dedup.member_label(frame, p.a),
            "b": dedup.member_label(frame, p.b),
            "cosine": round(p.cosine, 3),
            "Jaccard": round(p.jaccard, 3),
            "method": p.method,
            "why": semantic_pairs.explain_pair(p, semantic),
        }
        for p in links[:50]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=None)


_SHOW = {
    "from the first difference": dedup.from_first_difference,
    "only the turns that differ": None,  # compares the messages, not the compared text
    "only the lines that differ": dedup.differing_parts,
    "the whole text": lambda runs: runs,
}


def _shown_runs(view: ClusterView, member: int, other: int) -> list[tuple[str, bool]]:
    """One side of a pair as the person chose to see it, differences marked against the other."""
    show = _SHOW.get(st.session_state.get("dedup_show", ""), dedup.from_first_difference)
    if show is None:
        return dedup.differing_turns(_turns(view.frame, member), _turns(view.frame, other))
    runs, _ = dedup.diff_words(view.texts[member][:_SHOWN_CHARS], view.texts[other][:_SHOWN_CHARS])
    return show(runs)


def _turns(frame: pd.DataFrame, position: int) -> list[dict]:
    """A row's turns: its messages, then a preference pair's chosen and rejected replies (text cut short)."""
    row = frame.iloc[position]
    out = []
    for column in ("messages", "chosen", "rejected"):
        value = row.get(column)
        if value is None or isinstance(value, str) or not hasattr(value, "__iter__"):
            continue
        for m in value:
            if not isinstance(m, dict):
                continue
            content = m.get("content")
            role = str(m.get("role", "?")) if column == "messages" else f"{column} {m.get('role', '?')}"
            out.append(
                {"role": role, "content": content[:_SHOWN_CHARS] if isinstance(content, str) else content}
            )
    return out


def _cluster(view: ClusterView, cluster: dedup.Cluster, keeper: int, links: list | None) -> int:
    frame = view.frame
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
            format_func=lambda m: dedup.member_label(frame, m),
            key=f"dedup_pick_{view.version}_{cluster.cluster_id}",
        )
        shown = [pick, *[m for m in cluster.members if m != pick]][:4]
        columns = st.columns(len(shown))
        for column, member in zip(columns, shown, strict=True):
            other = shown[1] if member == pick else pick
            runs = _shown_runs(view, member, other)
            with column:
                st.markdown("**Kept**" if member == pick else "**Removed**")
                st.caption(md_text(dedup.member_label(frame, member)))
                with st.container(height=260):
                    st.markdown(highlight_markdown(runs, "green" if member == pick else "red"))
        if cluster.size > len(shown):
            st.caption(f"… and {cluster.size - len(shown)} more members")
        if links is not None and view.semantic is not None:
            _pair_table(frame, links, view.semantic)
        elif cluster.size <= 8:
            matrix = dedup.pairwise_jaccard(frame, cluster.members, view.config)
            labels = [f"{k + 1}. {frame.iloc[m]['id']}" for k, m in enumerate(cluster.members)]
            st.dataframe(pd.DataFrame(matrix, index=labels, columns=labels).round(3), key=None)
    return pick


def clusters(
    view: ClusterView,
    result: dedup.DedupResult,
    policy: str,
    by_cluster: dict[int, list[semantic_pairs.SimilarPair]] | None = None,
) -> dict[int, int]:
    """One page of clusters, each with the row to keep; returns the keepers picked by hand (any page)."""
    frame = view.frame
    keepers = dedup.choose_keepers(frame, result, policy)
    st.subheader(f"{len(result.clusters):,} clusters, largest first")
    st.radio("Show each side", list(_SHOW), horizontal=True, key="dedup_show")
    pages = max(1, -(-len(result.clusters) // _PAGE_SIZE))
    page = st.number_input("Page", 1, pages, 1, key="dedup_page") if pages > 1 else 1
    shown = result.clusters[(page - 1) * _PAGE_SIZE : page * _PAGE_SIZE]
    members = sorted({m for c in shown for m in c.members})
    texts = dict(zip(members, dedup.scope_texts(frame.iloc[members], view.config), strict=True))
    view = dataclasses.replace(view, texts=texts)
    for cluster in shown:
        links = None if by_cluster is None else by_cluster.get(cluster.cluster_id, [])
        _cluster(view, cluster, keepers[cluster.cluster_id], links)
    manual = {}
    for cluster in result.clusters:  # picks made on any page count
        chosen = st.session_state.get(f"dedup_pick_{view.version}_{cluster.cluster_id}")
        if chosen in cluster.members and chosen != keepers[cluster.cluster_id]:
            manual[cluster.cluster_id] = chosen
    return manual
