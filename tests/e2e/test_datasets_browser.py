"""Two datasets in one workspace, in Chromium: each keeps its own journey; the sidebar switches."""

from tests.e2e.conftest import expect_rerun, goto_page, log_tail, main_text, metric_value, wait_for_app


def test_a_second_dataset_has_its_own_journey_and_the_sidebar_switches(app_server, page):
    page.goto(app_server["url"] + "/Upload")
    wait_for_app(page)
    with expect_rerun(page):
        page.get_by_role("button", name="Open sample").click()
    assert "Opened support_sft.jsonl as version 1" in main_text(page), log_tail(app_server)
    goto_page(page, "Split & export")
    with expect_rerun(page):
        page.get_by_role("button", name="Build bundle").click()
    goto_page(page, "Home")
    home = main_text(page)
    assert "Split & export — done" in home or "Split & export" in home
    goto_page(page, "Upload")
    assert page.get_by_text("a new dataset").first.is_visible()  # the default for what is opened next
    with expect_rerun(page):
        page.get_by_role("button", name="Open sample").click()
    wait_for_app(page)
    assert "It is a new dataset" in main_text(page), log_tail(app_server)
    sidebar = page.locator('[data-testid="stSidebar"]')
    switcher = sidebar.get_by_role("combobox", name="Dataset")
    assert switcher.input_value() == "support_sft.jsonl (2) · 402 rows"
    goto_page(page, "Home")
    assert metric_value(page, "Dataset") == "support_sft.jsonl (2)"
    assert "🟢 Split" not in main_text(page)  # the first dataset's split is not this one's
    assert _test_rows(page) > 0  # the first dataset's lock does not empty this one's test split
    goto_page(page, "Home")
    with expect_rerun(page):
        page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name="support_sft.jsonl · 402 rows").click()
    wait_for_app(page)
    assert metric_value(page, "Dataset") == "support_sft.jsonl"
    assert "🟢 Split" in main_text(page)
    assert _test_rows(page) > 0


def _test_rows(page) -> int:
    goto_page(page, "Split & export")
    page.get_by_role("heading", name="Export bundle").wait_for()
    return int(metric_value(page, "Test").replace(",", ""))
