"""Quality in Chromium: a click on a signal's bar shows its flagged rows; redact makes a new version; undo."""

import re

from core import quality, records
from core.workspace import Workspace
from tests.e2e.conftest import expect_rerun, log_tail, main_text, metric_value, screenshot, wait_for_app
from tests.quality_corpus import planted


def _click_bar(page, position: int) -> None:
    bar = page.locator(".js-plotly-plot").first.locator("g.point").nth(position)
    bar.wait_for()
    box = bar.bounding_box()
    with expect_rerun(page):  # plotly's drag layer takes the pointer: click where the bar is
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _shown_heading(page) -> str:
    return page.locator("h3").filter(has_text=re.compile(r": \d+ examples?$")).first.inner_text()


def test_a_bar_click_shows_its_rows_and_redact_makes_an_undoable_version(app_server, page):
    ws = Workspace.open(app_server["workspace"])
    frame = records.make_frame([record for record, _codes in planted(seed=0)])
    ws.save_dataset(frame, note="upload planted.jsonl", name="planted.jsonl", source_format="openai-sft")
    counts = quality.scan_quality(frame).counts
    bars = [code for code, n in counts.items() if n]  # the chart's bars, in its order
    page.goto(app_server["url"] + "/Quality")
    wait_for_app(page)
    assert metric_value(page, "With PII or a secret") == "13", log_tail(app_server)
    assert metric_value(page, "Refusals") == "2"

    _click_bar(page, bars.index("refusal"))
    assert _shown_heading(page) == "Refusal: 2 examples"
    assert main_text(page).count("the reply refuses or disclaims") == 2  # the two expanders' titles
    _click_bar(page, bars.index("pii_email"))
    assert _shown_heading(page) == "E-mail address: 1 example"
    page.get_by_test_id("stExpander").filter(has_text="an e-mail address").first.click()
    page.get_by_text("maria.lopez@correo.es").first.wait_for()  # the span, highlighted, and the reply
    screenshot(page, "quality")

    with expect_rerun(page):
        page.get_by_role("button", name=re.compile(r"^Redact PII and secrets")).click()
    assert "Redacted 13 spans in a new version." in main_text(page)
    assert metric_value(page, "With PII or a secret") == "0"
    redacted = " ".join(ws.current_dataset()["response_text"])
    assert ws.dataset_version() == 2 and "[EMAIL]" in redacted and "maria.lopez@correo.es" not in redacted
    assert "E-mail address" not in _shown_heading(page)  # no e-mail left to show

    with expect_rerun(page):
        page.get_by_role("button", name="Undo: back to v1").click()
    assert "Back to the data of v1, as a new version." in main_text(page)
    assert metric_value(page, "With PII or a secret") == "13"
    assert "maria.lopez@correo.es" in " ".join(ws.current_dataset()["response_text"])
