from core import profile, quality, records
from core.quality import readiness
from tests.quality_corpus import planted


def _report():
    return quality.scan_quality(records.make_frame([record for record, _codes in planted(seed=0)]))


def test_the_summary_counts_examples_with_pii_refusals_and_truncation():
    report = _report()
    summary = readiness.step_summary(report)
    assert summary["examples"] == report.rows
    assert summary["with PII"] == 13  # the planted PII and secret rows
    assert summary["refusals"] == 2 and summary["truncated"] == 2
    assert summary["refusal share"] == round(2 / report.rows, 4)


def test_checks_fail_on_pii_and_warn_on_refusal_and_truncation_shares():
    checks = {c.id: c for c in readiness.quality_checks(readiness.step_summary(_report()))}
    assert checks["pii_found"].status == "fail" and checks["pii_found"].value == 13
    assert checks["refusal_share"].status == "warn"
    assert (
        checks["truncation_share"].status == "warn" and "Quality page" in checks["truncation_share"].message
    )


def test_checks_pass_under_the_limits():
    summary = {"examples": 1000, "with PII": 0, "refusals": 10, "truncated": 20}
    assert [c.status for c in readiness.quality_checks(summary)] == ["pass", "pass", "pass"]


def test_checks_are_not_run_without_a_summary_or_with_another_versions():
    assert {c.status for c in readiness.quality_checks(None)} == {"not_run"}
    summary = {"examples": 10, "with PII": 1, "version": 2}
    assert {c.status for c in readiness.quality_checks(summary, version=3)} == {"not_run"}
    assert readiness.quality_checks(summary, version=2)[0].status == "fail"


def test_the_data_card_reports_the_quality_step():
    from core.report import DataCardInputs, render_data_card

    card = render_data_card(DataCardInputs(quality=readiness.step_summary(_report())))
    section = card.split("## Quality signals", 1)[1].split("##", 1)[0]
    assert "- with PII: 13" in section and "- refusals: 2" in section


def test_the_steps_summaries_read_dedup_and_labels():
    assert readiness.step_summaries({}) == profile.StepSummaries()
    found = {
        "dedup": {"summary": {"before": 100, "exact": 5, "near": 15}},
        "labels": {"summary": {"kappa": 0.6}},
    }
    assert readiness.step_summaries(found, 0.25) == profile.StepSummaries(0.2, 0.6, 0.25)
    applied = {"dedup": {"summary": {"before": 100, "after": 80, "exact": 5, "near": 15}}}
    assert readiness.step_summaries(applied).duplicate_share == 0.0  # removed: none left
    assert readiness.step_summaries({"labels": {"summary": {"alpha": "n/a"}}}).agreement is None
