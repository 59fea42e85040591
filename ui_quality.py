"""The Quality page's sections: the flag chart and its examples, judging with a paid teacher, curation."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core import quality
from core.quality import judge, versioned
from core.quality.curate import Curation, curate
from core.synth import runner, teachers
from core.synth.budget import Price, lookup_price
from core.workspace import Workspace
from ui import embedding_bar, md_text, plural, render_example

_PAGE_SIZE = 20
LABELS = {
    "empty_response": "Empty or placeholder reply",
    "refusal": "Refusal",
    "truncated_response": "Truncated reply",
    "echo_response": "Echoes the prompt",
    "repetition": "Repetition",
    "special_characters": "Mostly symbols",
    "non_printing": "Invisible characters",
    "invalid_json_response": "Not the JSON asked for",
    "language_mismatch": "Another language than the prompt",
    "pii_email": "E-mail address",
    "pii_phone": "Phone number",
    "pii_credit_card": "Payment card",
    "pii_iban": "IBAN",
    "pii_ip": "IP address",
    "secret_api_key": "API key or secret",
    "misaligned_reply": "Prompt does not help the reply (IFD >= 1)",
    "low_judge_score": "Judged 2/5 or lower",
}
JUDGE_STATE = "quality.judge_runs"  # dataset version -> judging run id


def paid_judge(ws: Workspace, frame: pd.DataFrame, version: int | None) -> None:
    """Judge with an OpenAI-compatible teacher under a budget: endpoint, model, prices."""
    presets = [name for name, p in teachers.PRESETS.items() if p.provider != "local" or p.base_url]
    preset = teachers.PRESETS[st.selectbox("Endpoint", presets, key="quality_judge_preset")]
    left, right = st.columns(2)
    model = left.text_input("Model", value=preset.example_model, key="quality_judge_model")
    base_url = right.text_input("Base URL", value=preset.base_url, key="quality_judge_base_url")
    key_env = left.text_input("API key variable", value=preset.key_env or "", key="quality_judge_key_env")
    right.text_input("API key (kept in memory only)", type="password", key="quality_judge_api_key")
    price = lookup_price(model) if model else None
    cols = st.columns(3)
    price_in = cols[0].number_input(
        "USD / 1M in", 0.0, value=price.input if price else None, key="quality_judge_in"
    )
    price_out = cols[1].number_input(
        "USD / 1M out", 0.0, value=price.output if price else None, key="quality_judge_out"
    )
    budget = cols[2].number_input("Budget (USD)", 0.0, 100_000.0, 1.0, key="quality_judge_budget")
    ready = bool(model) and base_url.startswith(("http://", "https://")) and None not in (price_in, price_out)
    if st.button("Judge every example", key="quality_judge_paid", disabled=not ready):
        teacher = teachers.TeacherConfig(
            base_url=base_url,
            model=model,
            provider=preset.provider,
            key_env=key_env or None,
            structured=preset.structured,
        )
        settings = runner.RunSettings(
            teacher=teacher, price=Price(price_in, price_out), budget_usd=budget, max_tokens=200
        )
        start_judging(
            ws, frame, version, settings, api_key=st.session_state.get("quality_judge_api_key") or None
        )


def start_judging(
    ws: Workspace,
    frame: pd.DataFrame,
    version: int | None,
    settings: runner.RunSettings,
    api_key: str | None = None,
) -> None:
    """Plan a judging run of the dataset, remember it for this version and start it in the background."""
    try:
        run_id = judge.plan_judging(ws, frame, settings)
    except ValueError as exc:
        st.error(str(exc))
        return
    ws.set_state(JUDGE_STATE, {**(ws.get_state(JUDGE_STATE) or {}), str(version): run_id})
    runner.start_background(ws, run_id, api_key=api_key, label="the Quality page")
    st.rerun()


def curate_section(
    ws: Workspace, frame: pd.DataFrame, version: int | None, report: quality.QualityReport
) -> None:
    """Curate the best N examples, skipping near-alike ones, and keep them as a new version."""
    st.subheader("Curate the best N")
    st.caption(
        "1,000 excellent, varied examples beat 50,000 mediocre ones. Takes the best-scoring examples "
        "(no hard flag, replies with substance and varied words) one at a time and skips any that is too "
        "close to one already taken, so paraphrases do not crowd the set: by meaning (the packaged "
        "embedding model, maximal marginal relevance) or by words (word 3-gram Jaccard)."
    )
    cols = st.columns([1, 1, 1, 2])
    n = cols[0].number_input("Keep", 1, len(frame), min(len(frame), 1000), key="quality_curate_n")
    method = cols[1].radio(
        "Closeness", ["semantic", "lexical"], key="quality_curate_method", help="by meaning, or by words"
    )
    if method == "semantic":
        closest = cols[2].slider("Closest cosine", 0.5, 0.99, 0.85, 0.01, key="quality_curate_cosine")
    else:
        closest = cols[2].slider("Closest allowed", 0.3, 0.9, 0.5, 0.05, key="quality_curate_similarity")
    model_flags = [f for f in report.flags if f.signal not in quality.SIGNALS]  # perplexity, judge
    flags_key = hashlib.sha256(repr(model_flags).encode()).hexdigest()
    result = _curation(str(ws.root), version, int(n), method, float(closest), flags_key, frame, report)
    reasons = result.reasons()
    cols[3].metric("Would keep", f"{len(result.chosen):,} of {len(frame):,}")
    if reasons:
        st.caption("Left out: " + ", ".join(f"{count:,} {kind}" for kind, count in reasons.items()))
    with st.expander("Why each one was left out"):
        table = result.left_out.assign(line=_lines(frame, result.left_out["position"].to_numpy()))
        st.dataframe(table[["line", "reason"]], hide_index=True, key="quality_left_out")
    if st.button(f"Keep these {len(result.chosen):,} as a new version", key="quality_curate"):
        ws.save_dataset(
            frame.iloc[sorted(result.chosen)].reset_index(drop=True), note=f"quality: curated {n} best"
        )
        st.session_state["quality_flash"] = f"Kept the {len(result.chosen):,} best in a new version."
        st.rerun()


@st.cache_data(max_entries=4, show_spinner="Choosing the best, least alike examples…")
def _curation(
    root: str,
    dataset_version: int | None,
    n: int,
    method: str,
    closest: float,
    flags_key: str,  # the model-based flags merged into the report
    _frame: pd.DataFrame,
    _report: quality.QualityReport,
) -> Curation:
    if dataset_version is not None:  # stored with the version (the defaults measured in the background)
        model_flags = [f for f in _report.flags if f.signal not in quality.SIGNALS]
        return versioned.version_curation(
            Workspace.open(root), dataset_version, n, method, closest, _frame, _report, model_flags
        )
    if method == "semantic":
        with embedding_bar("Embedding prompt and reply…") as progress:
            return curate(_frame, n, max_cosine=closest, report=_report, method="auto", progress=progress)
    return curate(_frame, n, max_similarity=closest, report=_report, method="lexical")


def _lines(frame: pd.DataFrame, positions: np.ndarray) -> list[int | None]:
    """The source line of each example at ``positions`` (``None`` where it has none)."""
    if "source_line" not in frame.columns:
        return [None] * len(positions)
    return [None if pd.isna(v) else int(v) for v in frame["source_line"].iloc[positions].tolist()]


def flag_chart(counts: dict[str, int]) -> str:
    """The flags per signal as a bar chart (a click picks the signal); returns the signal shown."""
    chart_data = pd.DataFrame(
        {"signal": [LABELS[c] for c in counts], "code": list(counts), "flags": list(counts.values())}
    )
    chart_data = chart_data[chart_data["flags"] > 0]
    figure = px.bar(
        chart_data,
        x="flags",
        y="signal",
        orientation="h",
        custom_data=["code"],
        height=80 + 36 * len(chart_data),
    )
    figure.update_layout(
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        yaxis_title=None,
        xaxis={"tickformat": ",d", "dtick": max(1, int(chart_data["flags"].max()) // 5)},
    )
    event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key="quality_chart")
    clicked = [p["customdata"][0] for p in (event.selection.points if event else []) if p.get("customdata")]
    codes = list(chart_data["code"])
    if clicked and clicked[0] in codes:
        st.session_state["quality_code"] = clicked[0]
    code = st.selectbox("Show", codes, format_func=LABELS.get, key="quality_code")
    return code


def flagged_examples(frame: pd.DataFrame, report: quality.QualityReport, code: str) -> list[int]:
    """The examples flagged ``code``, each with what was found; returns their positions."""
    flags = [f for f in report.flags if f.code == code]
    rows = sorted({f.row for f in flags})
    st.subheader(f"{LABELS[code]}: {plural(len(rows), 'example')}")
    for position in rows[:_PAGE_SIZE]:
        example = frame.iloc[position]
        line = example.get("source_line")
        mine = [f for f in flags if f.row == position]
        title = f"line {line}" if pd.notna(line) else f"example {position + 1}"
        with st.expander(f"{title} · {mine[0].field} · {md_text(mine[0].reason)}"):
            for flag in mine:
                if not flag.text and flag.signal in ("perplexity", "judge"):  # about the whole reply
                    st.markdown(md_text(flag.reason))
                    continue
                st.markdown(
                    f"Found in `{flag.field}`: :red-background[{md_text(flag.text[:200]) or '(empty)'}]"
                )
            render_example(example)
    if len(rows) > _PAGE_SIZE:
        st.caption(f"… and {len(rows) - _PAGE_SIZE:,} more.")
    return rows
