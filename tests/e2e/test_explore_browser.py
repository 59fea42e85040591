"""Explore in Chromium: a click on a chart bar filters the rows, a search stays in the address."""

from core.__main__ import main
from tests.e2e.conftest import expect_rerun, log_tail, main_text, screenshot, wait_for_app


def _rows_heading(page) -> str:
    return page.locator("h3").filter(has_text="rows of").first.inner_text()


def test_a_bar_click_filters_and_a_search_survives_a_reload(app_server, page, monkeypatch):
    monkeypatch.setenv("TRAINSET_WORKSPACE", str(app_server["workspace"]))
    assert main(["open-sample"]) == 0
    page.goto(app_server["url"] + "/Explore")
    wait_for_app(page)
    assert _rows_heading(page) == "402 rows of 402", log_tail(app_server)
    bar = page.locator(".js-plotly-plot").first.locator("g.point").first  # the biggest category
    bar.wait_for()
    box = bar.bounding_box()
    with expect_rerun(page):  # plotly's drag layer takes the pointer: click where the bar is
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert _rows_heading(page) == "62 rows of 402"
    assert "✕ category = billing" in main_text(page)
    search = page.get_by_test_id("stTextInputField")
    search.fill("refund")
    with expect_rerun(page):
        search.press("Enter")
    assert _rows_heading(page) == "10 rows of 402"
    assert page.url.endswith("/Explore?q=refund")
    screenshot(page, "explore")
    page.reload()
    wait_for_app(page)
    assert page.get_by_test_id("stTextInputField").input_value() == "refund"
    assert _rows_heading(page) == "33 rows of 402"  # the search came back from the address
