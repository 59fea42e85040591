import pandas as pd
import plotly.express as px
import streamlit as st

from core import quality
from core.quality import readiness
from core.quality.curate import curate
from ui import md_text, open_workspace, plural, quality_report, render_example, require_dataset

_PAGE_SIZE = 20
_LABELS = {
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
}


st.title("🔎 Quality")
st.caption(
    "What is wrong inside the replies, and what should never be trained on: refusals, truncated or "
    "empty answers, echoes, repetition, and PII or secrets. Click a bar to see its examples; redact or "
    "remove them as a new version (undo with the dataset versions on Upload)."
)
ws = open_workspace()
frame = require_dataset(ws)
version = ws.dataset_version()
flash = st.session_state.pop("quality_flash", None)
if flash:
    st.success(flash)


report = quality_report(ws, frame)
counts = report.counts
flagged = report.flagged_rows()
pii_rows = sorted({f.row for f in report.flags if f.signal == "pii"})
cols = st.columns(4)
cols[0].metric("Examples flagged", f"{len(flagged):,} of {len(frame):,}")
cols[1].metric("With PII or a secret", f"{len(pii_rows):,}")
cols[2].metric("Refusals", f"{len(report.flagged_rows('refusal')):,}")
cols[3].metric("Truncated", f"{len(report.flagged_rows('truncated_response')):,}")
ws.mark_step("quality", {**readiness.step_summary(report), "version": version})


def _curate_section():
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
    result = _curation(str(ws.root), version, int(n), method, float(closest), frame)
    reasons = result.reasons()
    cols[3].metric("Would keep", f"{len(result.chosen):,} of {len(frame):,}")
    if reasons:
        st.caption("Left out: " + ", ".join(f"{count:,} {kind}" for kind, count in reasons.items()))
    with st.expander("Why each one was left out"):
        table = result.left_out.assign(line=[_line(p) for p in result.left_out["position"]])
        st.dataframe(table[["line", "reason"]], hide_index=True, key="quality_left_out")
    if st.button(f"Keep these {len(result.chosen):,} as a new version", key="quality_curate"):
        ws.save_dataset(
            frame.iloc[sorted(result.chosen)].reset_index(drop=True), note=f"quality: curated {n} best"
        )
        st.session_state["quality_flash"] = f"Kept the {len(result.chosen):,} best in a new version."
        st.rerun()


@st.cache_data(max_entries=4, show_spinner="Choosing the best, least alike examples…")
def _curation(root: str, dataset_version: int, n: int, method: str, closest: float, _frame: pd.DataFrame):
    if method == "semantic":
        return curate(_frame, n, max_cosine=closest, report=report, method="auto")
    return curate(_frame, n, max_similarity=closest, report=report, method="lexical")


def _line(position):
    line = frame["source_line"].iloc[position] if "source_line" in frame.columns else None
    return int(line) if line is not None and pd.notna(line) else None


if not report.flags:
    st.success("No flag on any reply.")
    _curate_section()
    st.stop()

chart_data = pd.DataFrame(
    {"signal": [_LABELS[c] for c in counts], "code": list(counts), "flags": list(counts.values())}
)
chart_data = chart_data[chart_data["flags"] > 0]
figure = px.bar(
    chart_data, x="flags", y="signal", orientation="h", custom_data=["code"], height=80 + 36 * len(chart_data)
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
code = st.selectbox("Show", codes, format_func=_LABELS.get, key="quality_code")

flags = [f for f in report.flags if f.code == code]
rows = sorted({f.row for f in flags})
st.subheader(f"{_LABELS[code]}: {plural(len(rows), 'example')}")
for position in rows[:_PAGE_SIZE]:
    example = frame.iloc[position]
    line = example.get("source_line")
    mine = [f for f in flags if f.row == position]
    title = f"line {line}" if pd.notna(line) else f"example {position + 1}"
    with st.expander(f"{title} · {mine[0].field} · {md_text(mine[0].reason)}"):
        for flag in mine:
            st.markdown(f"Found in `{flag.field}`: :red-background[{md_text(flag.text[:200]) or '(empty)'}]")
        render_example(example)
if len(rows) > _PAGE_SIZE:
    st.caption(f"… and {len(rows) - _PAGE_SIZE:,} more.")

st.subheader("Act on them")
left, right = st.columns(2)
pii_spans = sum(1 for f in report.flags if f.signal == "pii")
if left.button(
    f"Redact PII and secrets ({pii_spans} spans)",
    key="quality_redact",
    disabled=not pii_spans,
    type="primary",
):
    redacted, replaced = quality.redact(frame, report)
    ws.save_dataset(redacted, note=f"quality: redacted {replaced} PII / secret spans")
    st.session_state["quality_flash"] = f"Redacted {replaced} spans in a new version."
    st.rerun()
if right.button(f"Remove the {plural(len(rows), 'example')} flagged '{_LABELS[code]}'", key="quality_remove"):
    kept = frame.drop(frame.index[rows]).reset_index(drop=True)
    ws.save_dataset(kept, note=f"quality: removed {len(rows)} examples flagged {code}")
    st.session_state["quality_flash"] = f"Removed {len(rows)} examples in a new version."
    st.rerun()
_curate_section()
last = ws.dataset_info()
undoable = last is not None and last.note.startswith("quality:") and last.parent is not None
if undoable and st.button(f"Undo: back to v{last.parent}", key="quality_undo"):
    ws.revert_to(last.parent)
    st.session_state["quality_flash"] = f"Back to the data of v{last.parent}, as a new version."
    st.rerun()
