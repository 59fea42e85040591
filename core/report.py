"""The data card: a plain-language card that travels with the export bundle (its README.md).

Every section takes plain inputs (numbers and the small summaries the journey steps
record); a section whose step never ran says "not run", so the card is honest about
what was and was not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.workspace import Workspace

NOT_RUN = "not run"
_STEP_SECTIONS = ("dedup", "labels", "review", "synthetic", "distribution")


@dataclass(frozen=True)
class DataCardInputs:
    """Everything the data card reports; ``None`` marks a step that did not run.

    Attributes:
        title: Dataset name.
        dataset_version: Workspace version the bundle was cut from.
        app_version: ``core.__version__``.
        created_at: When the bundle was built (ISO 8601).
        seed: Seed of the split.
        fractions: ``{"train", "val", "test"}`` fractions.
        split_counts: Rows per split.
        per_category: ``{category: {split: rows}}``.
        sources: Rows per source (real / synthetic / eval) in the split data.
        quarantined: Invalid rows set aside (in quarantine.jsonl).
        dedup: The dedup step's summary.
        agreement: The labels step's summary (agreement figures).
        review: The review step's summary (pass rate, overrides).
        synthetic: The synthetic step's summary (counts, money spent).
        checklist: The readiness checklist (distribution step summary).
        quality: The quality step's summary (examples with PII, refusals, truncated replies).
        guidelines: Labelling guidelines per category.
        leakage: Leakage report summary.
        lock: The test lock (ids count and date).
        finetune_cost: Fine-tuning cost estimate.
        formats: Target formats in the bundle.
    """

    title: str = "Dataset"
    dataset_version: int | None = None
    app_version: str = ""
    created_at: str = ""
    seed: int | None = None
    fractions: Mapping[str, float] = field(default_factory=dict)
    split_counts: Mapping[str, int] = field(default_factory=dict)
    per_category: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sources: Mapping[str, int] = field(default_factory=dict)
    quarantined: int = 0
    dedup: Mapping[str, Any] | None = None
    agreement: Mapping[str, Any] | None = None
    review: Mapping[str, Any] | None = None
    synthetic: Mapping[str, Any] | None = None
    checklist: Any = None
    quality: Mapping[str, Any] | None = None
    guidelines: Mapping[str, Any] | None = None
    leakage: Mapping[str, Any] | None = None
    lock: Mapping[str, Any] | None = None
    finetune_cost: Mapping[str, Any] | None = None
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.quarantined < 0:
            raise ValueError(f"quarantined must be >= 0, got {self.quarantined!r}")

    @property
    def synthetic_share(self) -> float | None:
        """Share of synthetic rows among the split data (``None`` when there is no data)."""
        total = sum(self.sources.values())
        return self.sources.get("synthetic", 0) / total if total else None


def workspace_sections(ws: Workspace) -> dict[str, Any]:
    """Collect the card sections recorded by earlier steps (summaries and guidelines).

    Returns:
        Keyword arguments for :class:`DataCardInputs` (``dedup``, ``agreement``, ``review``,
        ``synthetic``, ``checklist``, ``quality``, ``guidelines``); missing steps are ``None``.
    """
    steps = ws.steps()

    def summary(step: str) -> Any:
        return steps[step]["summary"] if step in steps else None

    distribution = summary("distribution")
    checklist = (
        distribution.get("checklist", distribution) if isinstance(distribution, dict) else distribution
    )
    return {
        "dedup": summary("dedup"),
        "agreement": summary("labels"),
        "review": summary("review"),
        "synthetic": summary("synthetic"),
        "checklist": checklist,
        "quality": summary("quality"),
        "guidelines": ws.get_state("labels.guidelines"),
    }


def review_summary(
    step_summary: Mapping[str, Any] | None, gates: pd.DataFrame | None
) -> dict[str, Any] | None:
    """Merge the review step's summary with the batch gate outcomes (pass rates and overrides).

    Args:
        step_summary: What the review page recorded with ``mark_step("review", ...)``.
        gates: One row per gated batch (``admitted``, ``rate``, ``override_reason`` columns).

    Returns:
        The review section's facts, or ``None`` when no review happened.
    """
    out = dict(step_summary or {})
    if gates is not None and not gates.empty:
        out["batches gated"] = len(gates)
        if "admitted" in gates.columns:
            out["batches admitted"] = int(gates["admitted"].fillna(0).astype(int).sum())
        rate_column = "pass_rate" if "pass_rate" in gates.columns else "rate"  # core.review: pass_rate
        if rate_column in gates.columns:
            out["pass rate per batch"] = {
                str(b): None if pd.isna(r) else round(float(r), 3)
                for b, r in zip(gates.get("batch_id", gates.index), gates[rate_column], strict=True)
            }
        if "rule" in gates.columns:
            out["gate rule"] = ", ".join(sorted({str(r).replace("_", " ") for r in gates["rule"].dropna()}))
        if "override_reason" in gates.columns:
            out["overrides"] = [str(r) for r in gates["override_reason"] if isinstance(r, str) and r.strip()]
    return out or None


def render_data_card(card: DataCardInputs) -> str:
    """Return DATA_CARD.md for the bundle.

    Args:
        card: The numbers and summaries to report.

    Returns:
        Markdown text; sections without data say "not run".
    """
    parts = [
        _header(card),
        _splits_section(card),
        _sources_section(card),
        _summary_section("Deduplication", card.dedup),
        _summary_section("Label agreement", card.agreement),
        _summary_section("Review of synthetic data", card.review),
        _synthetic_section(card),
        _summary_section("Quality signals", card.quality),
        _summary_section("Readiness checklist", card.checklist),
        _guidelines_section(card.guidelines),
        _leakage_section(card.leakage),
        _lock_section(card.lock),
        _cost_section(card.finetune_cost),
    ]
    return "\n\n".join(parts).rstrip() + "\n"


def _header(card: DataCardInputs) -> str:
    lines = [f"# Data card: {_inline(card.title)}", ""]
    lines.append(
        f"- Dataset version: {card.dataset_version if card.dataset_version is not None else 'unknown'}"
    )
    lines.append(f"- Built: {card.created_at or 'unknown'} with Trainset Studio {card.app_version or '?'}")
    lines.append(f"- Seed: {card.seed if card.seed is not None else 'unknown'}")
    if card.fractions:
        lines.append("- Fractions: " + ", ".join(f"{k} {v:.0%}" for k, v in card.fractions.items()))
    if card.formats:
        lines.append("- Formats: " + ", ".join(card.formats))
    lines.append(f"- Quarantined invalid rows: {card.quarantined} (see quarantine.jsonl)")
    return "\n".join(lines)


def _splits_section(card: DataCardInputs) -> str:
    lines = ["## Counts per split and category", ""]
    if not card.split_counts:
        return "\n".join([*lines, NOT_RUN])
    names = [n for n in ("train", "val", "test") if n in card.split_counts]
    lines.append("| category | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for category, counts in sorted(card.per_category.items()):
        lines.append(f"| {_cell(category)} | " + " | ".join(str(counts.get(n, 0)) for n in names) + " |")
    lines.append("| **total** | " + " | ".join(f"**{card.split_counts[n]}**" for n in names) + " |")
    return "\n".join(lines)


def _sources_section(card: DataCardInputs) -> str:
    lines = ["## Sources", ""]
    if not card.sources:
        return "\n".join([*lines, NOT_RUN])
    total = sum(card.sources.values())
    for source, n in sorted(card.sources.items()):
        lines.append(f"- {_inline(source)}: {n} ({n / total:.1%})" if total else f"- {_inline(source)}: {n}")
    return "\n".join(lines)


def _synthetic_section(card: DataCardInputs) -> str:
    lines = ["## Synthetic data", ""]
    share = card.synthetic_share
    lines.append(
        f"- Synthetic share of the split data: {share:.1%}" if share is not None else "- Synthetic share: n/a"
    )
    if card.synthetic is None:
        lines.append(f"- Generation: {NOT_RUN}")
        return "\n".join(lines)
    spent = _find_spend(card.synthetic)
    lines.append(
        f"- Money spent on generation: {spent}" if spent else "- Money spent on generation: not recorded"
    )
    lines.extend(_bullets(card.synthetic))
    return "\n".join(lines)


def _find_spend(summary: Mapping[str, Any]) -> str | None:
    for key in ("spent_usd", "cost_usd", "spent", "cost", "money_spent"):
        value = summary.get(key)
        if isinstance(value, (int, float)):
            return f"${value:,.4f}"
    return None


def _summary_section(title: str, summary: Any) -> str:
    lines = [f"## {title}", ""]
    if summary is None or summary == {} or summary == []:
        return "\n".join([*lines, NOT_RUN])
    if isinstance(summary, Mapping):
        lines.extend(_bullets(summary))
    elif isinstance(summary, list):
        lines.extend(f"- {_inline(_short(item))}" for item in summary)
    else:
        lines.append(_inline(_short(summary)))
    return "\n".join(lines)


def _bullets(summary: Mapping[str, Any]) -> list[str]:
    return [f"- {_inline(str(key))}: {_inline(_short(value))}" for key, value in summary.items()]


def _guidelines_section(guidelines: Mapping[str, Any] | None) -> str:
    lines = ["## Labelling guidelines", ""]
    if not guidelines:
        return "\n".join([*lines, NOT_RUN])
    for category, entry in sorted(guidelines.items()):
        lines.append(f"### {_inline(category)}")
        if not isinstance(entry, Mapping):
            lines.extend([_inline(_short(entry)), ""])
            continue
        lines.append(f"- Definition: {_inline(_short(entry.get('definition', '')))}")
        for key in ("positives", "negatives"):
            values = entry.get(key) or []
            lines.append(
                f"- {key.capitalize()}: " + ("; ".join(_inline(_short(v)) for v in values) or "none")
            )
        lines.append(f"- Edge cases: {_inline(_short(entry.get('edge_cases') or 'none'))}")
        lines.append("")
    return "\n".join(lines)


def _leakage_section(leakage: Mapping[str, Any] | None) -> str:
    lines = ["## Leakage between splits", ""]
    if not leakage:
        return "\n".join([*lines, NOT_RUN])
    threshold = leakage.get("threshold")
    near = (
        f"near-duplicates at Jaccard >= {threshold}" if threshold is not None else "no near-duplicate check"
    )
    lines.append(f"- Overlapping pairs: {leakage.get('total', 0)} (exact matches and {near})")
    counts = leakage.get("counts") or {}
    if counts:
        checks = list(next(iter(counts.values())))
        lines.extend(["", "| between | " + " | ".join(checks) + " |", "|---|" + "---:|" * len(checks)])
        for pair, row in counts.items():
            lines.append(f"| {_cell(pair)} | " + " | ".join(str(row.get(c, 0)) for c in checks) + " |")
    return "\n".join(lines)


def _cost_section(cost: Mapping[str, Any] | None) -> str:
    lines = ["## Fine-tuning cost estimate", ""]
    if not cost:
        return "\n".join([*lines, NOT_RUN])
    usd = cost.get("usd")
    lines.append(f"- Model: {_inline(str(cost.get('model', '?')))}")
    lines.append(f"- Training examples: {cost.get('n_examples', '?')}, epochs: {cost.get('epochs', '?')}")
    billable, charged = cost.get("billable_tokens", "?"), cost.get("charged_tokens", "?")
    lines.append(f"- Billable tokens per epoch: {billable}; charged: {charged}")
    lines.append(f"- Cost: ${usd:,.2f}" if isinstance(usd, (int, float)) else "- Cost: no per-token price")
    lines.extend(f"- {_inline(str(note))}" for note in cost.get("notes") or [])
    return "\n".join(lines)


def _lock_section(lock: Mapping[str, Any] | None) -> str:
    lines = ["## Test lock", ""]
    if not lock:
        return "\n".join([*lines, "not locked"])
    lines.append(f"- Locked at: {lock.get('locked_at', 'unknown')}")
    lines.append(f"- Examples: {len(lock.get('ids', []))} (ids and sha256 content hashes in manifest.json)")
    return "\n".join(lines)


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _inline(text: str) -> str:
    """Keep data on one line and stop it from opening HTML in a Markdown viewer."""
    return " ".join(str(text).split()).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")
