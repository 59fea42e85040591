"""Semantic panels the pages share: a synthetic batch's diversity and the rows its paraphrase check stopped.

The logic is :mod:`core.review.diversity`; this module only draws it (the Review page calls
:func:`batch_semantics` for a synthetic batch). :func:`wait_for_semantic_pass` shows the progress of a
version's semantic pass running in the background (:func:`core.derived.warm`) while the Dedup page
waits for it.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from core import derived, split, synth
from core.review import diversity
from core.semantic import DEFAULT_COSINE, versioned
from core.semantic.model import PassProgress
from core.semantic.pairs import PairSettings
from core.synth.store import synthetic_texts
from core.workspace import Workspace


@st.cache_data(max_entries=8, show_spinner="Measuring how diverse the batch is…")
def _diversity(root: str, batch_id: str, rows: int, cosine: float, _frame: pd.DataFrame) -> tuple:
    found = diversity.batch_diversity(_frame, PairSettings(scope="prompt", cosine=cosine))
    return found, found.closest_frame(_frame)


@st.cache_data(max_entries=8, show_spinner=False)
def _restated(root: str, batch_id: str, _ws: Workspace) -> pd.DataFrame:
    batch = synth.batch_examples(_ws, batch_id, valid_only=False)
    if batch.empty:
        return diversity.restated_rows(batch, {})
    return diversity.restated_rows(
        batch, diversity.reference_texts(_ws.current_dataset(), synthetic_texts(_ws))
    )


def batch_semantics(ws: Workspace, batch_id: str, frame: pd.DataFrame) -> None:
    """Draw, for one synthetic batch, how diverse it is and the rows rejected as paraphrases."""
    with st.expander("Diverse, or mostly paraphrases?", expanded=False):
        cosine = st.slider(
            "Paraphrase cosine",
            0.5,
            1.0,
            DEFAULT_COSINE,
            0.01,
            key="review_diversity_cosine",
            help="Two prompts whose embeddings reach this cosine say the same thing in other words.",
        )
        found, closest = _diversity(str(ws.root), batch_id, len(frame), float(cosine), frame)
        cols = st.columns(3)
        cols[0].metric("Rows compared", f"{found.rows:,}")
        cols[1].metric(
            "Median nearest cosine",
            f"{found.median_cosine:.2f}",
            help="Per row, the cosine to the closest other row of the batch; the median over rows.",
        )
        cols[2].metric(
            "Rows restating another", f"{found.paraphrase_share:.0%}", help=f"nearest cosine >= {cosine:.2f}"
        )
        if found.paraphrase_share >= 0.5:
            st.warning("Most of this batch restates itself: ask the teacher for more varied examples.")
        if not closest.empty:
            st.markdown("**Closest pairs in the batch**")
            st.dataframe(closest, hide_index=True, use_container_width=True)
    restated = _restated(str(ws.root), batch_id, ws)
    if not restated.empty:
        with st.expander(f"Rejected as paraphrases ({len(restated)})", expanded=False):
            st.caption("Each generated row the paraphrase check stopped, beside the row it restates.")
            st.dataframe(restated, hide_index=True, use_container_width=True)


def wait_for_semantic_pass(
    ws: Workspace, version: int, settings: PairSettings, bar: st.delta_generator.DeltaGenerator
) -> None:
    """While the background warm-up embeds ``version`` for ``settings``, show its progress on ``bar``.

    Returns when the pairs are stored or no warm-up is under way (the caller then reads or finds them).
    """
    deadline = time.monotonic() + 600  # a stuck warm-up: the page finds the pairs itself after this
    while not versioned.pairs_stored(ws, version, settings) and derived.warming(ws, version):
        if time.monotonic() > deadline:
            return
        progress = versioned.pass_progress(ws, version)
        if progress is None:  # the warm-up is still on the measures before the semantic pass
            bar.progress(0.0, text="Waiting for the measures being found in the background…")
        else:
            bar.progress(
                progress.done / max(progress.total, 1),
                text=f"Embedding in the background, once per dataset version… {progress.describe()}",
            )
        time.sleep(0.25)  # a page polling a background job, not a test waiting for one


def semantic_links(ws: Workspace, version: int, config: split.SplitConfig, frame: pd.DataFrame) -> np.ndarray:
    """Return the version's paraphrase pairs at the split's cosine (its stored semantic pass, else found)."""
    assert config.semantic_cosine is not None
    settings = PairSettings(method="semantic", cosine=config.semantic_cosine, scope=config.cluster_scope)
    slot = st.empty()
    bar = slot.progress(0.0, text="Embedding every row, once per dataset version…")
    wait_for_semantic_pass(ws, version, settings, bar)

    def report(progress: PassProgress) -> None:
        bar.progress(progress.done / max(progress.total, 1), text=f"Embedding… {progress.describe()}")

    found = versioned.version_pairs(ws, version, settings, frame, progress=report)
    slot.empty()
    linked = versioned.pairs_at(found, settings)
    return np.asarray([(p.a, p.b) for p in linked], dtype=np.int64).reshape(-1, 2)
