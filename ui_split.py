"""The Split & export page's sections: the settings, the preview, the test lock, the bundle."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from core import export, report, review, split
from core.errors import DatasetError
from core.semantic import leaks as semantic_leaks
from core.workspace import Workspace
from ui import blank, md_text


def settings_form(
    saved: dict[str, Any], lock: dict[str, Any] | None, dedup_settings: dict[str, Any]
) -> tuple[int, int, int, float, list[str], bool, bool, bool]:
    """The split settings (last ones kept in the workspace); stops while a big hold-out is unconfirmed.

    Returns:
        ``(val_pct, test_pct, seed, threshold, stratify, time_based, keep_paraphrases, confirmed)``.
    """
    with st.container(border=True):
        cols = st.columns(4)
        val_pct = cols[0].number_input(
            "Validation %", 0, 50, int(saved.get("split_val", 10)), key="split_val"
        )
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
    return val_pct, test_pct, seed, threshold, stratify, time_based, keep_paraphrases, confirmed


def preview(frame: pd.DataFrame, result: split.SplitResult, lock: dict[str, Any] | None) -> None:
    """Rows per split and stratum, clusters kept together, the rows forced to train or excluded."""
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


def leakage_table(leakage: split.LeakageReport, threshold: float) -> None:
    """The exact and near-duplicate overlap between the splits (and an external eval set)."""
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


def semantic_leak_fix(
    column: Any,
    checked: bool,
    found_leaks: list[semantic_leaks.SemanticLeak],
    parts: dict[str, pd.DataFrame],
    leak_cosine: float,
    lock: dict[str, Any] | None,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Show the semantic leaks found and how to fix them before the bundle is built.

    Returns:
        The parts the bundle is built from and the rows dropped from them (id -> reason).
    """
    bundle_parts, leak_excluded = {k: parts[k] for k in split.SPLITS}, {}
    if not checked:
        column.info("Semantic leaks not checked: turn the check on to look for restated test rows.")
    elif not found_leaks:
        column.success(f"✅ No val or test row is restated in train (cosine ≥ {leak_cosine:.2f}).")
    else:
        column.warning(
            f"Semantic leaks: {len(found_leaks)} pairs of a val/test row and its paraphrase in train "
            "(few shared words, so the Jaccard report above misses them)."
        )
        st.dataframe(semantic_leaks.leaks_frame(found_leaks, parts), hide_index=True, width="stretch")
        fixes = {
            "keep": "Leave them",
            "move": "Move the train rows beside their paraphrase",
            "drop": "Drop them",
        }
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
                f"The bundle will have {len(repaired.moved)} train rows moved, "
                f"{len(repaired.dropped)} dropped: "
                + ", ".join(f"{s} {len(p):,}" for s, p in bundle_parts.items())
            )
    return bundle_parts, leak_excluded


def lock_section(ws: Workspace, lock: dict[str, Any] | None, result: split.SplitResult) -> None:
    """Whether the test set is locked, the unlock form and the lock history."""
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


def cost_estimate(cost: dict[str, Any]) -> None:
    """The fine-tuning cost estimate of the train split."""
    if cost["usd"] is not None:
        st.metric(
            "Fine-tuning cost estimate",
            f"${cost['usd']:,.2f}",
            f"{cost['charged_tokens']:,} trained tokens = {cost['billable_tokens']:,} x "
            f"{cost['epochs']} epochs",
            delta_color="off",
            delta_arrow="off",
        )
    else:
        st.info(f"{cost['billable_tokens']:,} training tokens x {cost['epochs']} epochs: no per-token price.")
    for note in cost["notes"]:
        st.caption(note)


def build(
    ws: Workspace,
    *,
    version: int | None,
    lock: dict[str, Any] | None,
    result: split.SplitResult,
    config: split.SplitConfig,
    seed: int,
    chosen: list[str],
    leakage: split.LeakageReport,
    cost: dict[str, Any],
    mix: Any,
    mix_reason: str,
    bundle_parts: dict[str, pd.DataFrame],
    leak_excluded: dict[str, str],
) -> None:
    """Build the bundle (locking the test set on the first export) and keep it for the download."""
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


def download(version: int | None) -> None:
    """The download of the bundle built for this version."""
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
