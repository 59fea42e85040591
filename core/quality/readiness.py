"""What the Quality step tells the readiness checklist and the data card: PII, refusals, truncation.

The Quality page records a summary of its report (:func:`step_summary`, counts of examples), and
the checklist reads that summary (:func:`quality_checks`), as it reads the Dedup and Labels steps'
summaries: the Distribution page never scans the replies itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.profile import Check, StepSummaries
from core.quality import QualityReport

MAX_REFUSAL_SHARE = 0.01
MAX_TRUNCATION_SHARE = 0.02
_NOT_RUN = "Open the Quality step to scan the replies."


def step_summary(report: QualityReport) -> dict[str, Any]:
    """Examples with PII or a secret, refusals and truncated replies, and their shares."""
    rows = report.rows
    pii = len({f.row for f in report.flags if f.signal == "pii"})
    refusals = len(report.flagged_rows("refusal"))
    truncated = len(report.flagged_rows("truncated_response"))
    return {
        "examples": rows,
        "flagged": len(report.flagged_rows()),
        "with PII": pii,
        "refusals": refusals,
        "truncated": truncated,
        "refusal share": round(refusals / rows, 4) if rows else 0.0,
        "truncation share": round(truncated / rows, 4) if rows else 0.0,
    }


def quality_checks(summary: Mapping[str, Any] | None, version: int | None = None) -> list[Check]:
    """The checklist rules on the Quality step's summary (``not_run`` without one or with a stale one)."""
    stale = summary is not None and version is not None and summary.get("version") not in (None, version)
    if not summary or not summary.get("examples") or stale:
        return [
            Check("pii_found", "PII and secrets", "not_run", None, "no example with PII", _NOT_RUN),
            Check("refusal_share", "Refusals", "not_run", None, f"<= {MAX_REFUSAL_SHARE:.0%}", _NOT_RUN),
            Check(
                "truncation_share",
                "Truncated replies",
                "not_run",
                None,
                f"<= {MAX_TRUNCATION_SHARE:.0%}",
                _NOT_RUN,
            ),
        ]
    rows = int(summary["examples"])
    return [
        _pii(int(summary.get("with PII", 0))),
        _share(
            "refusal_share", "Refusals", int(summary.get("refusals", 0)), rows, MAX_REFUSAL_SHARE, "refuse"
        ),
        _share(
            "truncation_share",
            "Truncated replies",
            int(summary.get("truncated", 0)),
            rows,
            MAX_TRUNCATION_SHARE,
            "stop mid-answer",
        ),
    ]


def step_summaries(steps: Mapping[str, Any], uncovered: float | None = None) -> StepSummaries:
    """What the Dedup and Labels steps' recorded summaries (``Workspace.steps()``) tell the checklist.

    Args:
        steps: Each step's record, as :meth:`core.workspace.Workspace.steps` returns them.
        uncovered: Share of production inputs no training example resembles, if compared.

    Returns:
        The duplicate share (0 once a dedup removed rows), the label agreement and ``uncovered``.
    """
    dedup = steps.get("dedup", {}).get("summary", {})
    labels = steps.get("labels", {}).get("summary", {})
    duplicates = None
    if dedup.get("before"):
        found = (dedup.get("exact") or 0) + (dedup.get("near") or 0)
        applied = dedup.get("after") is not None and dedup["after"] < dedup["before"]
        duplicates = 0.0 if applied else found / dedup["before"]
    agreement = labels.get("kappa", labels.get("alpha"))
    return StepSummaries(
        duplicate_share=duplicates,
        agreement=float(agreement) if isinstance(agreement, (int, float)) else None,
        uncovered_share=uncovered,
    )


def _pii(found: int) -> Check:
    if found:
        message = f"{found:,} examples hold PII or a secret: redact them on the Quality page before training."
        return Check("pii_found", "PII and secrets", "fail", found, "no example with PII", message)
    return Check("pii_found", "PII and secrets", "pass", 0, "no example with PII", "No PII or secret found.")


def _share(check_id: str, title: str, count: int, rows: int, limit: float, verb: str) -> Check:
    share = count / rows if rows else 0.0
    threshold = f"<= {limit:.0%}"
    if share > limit:
        message = f"{share:.1%} of the replies {verb} ({count:,}): remove them on the Quality page."
        return Check(check_id, title, "warn", round(share, 4), threshold, message)
    return Check(check_id, title, "pass", round(share, 4), threshold, f"{share:.1%} of the replies {verb}.")
