"""Review in Chromium: rows sent from Explore, decided by keyboard, a group approved at once, applied."""

import re

from core import review
from core.__main__ import main
from core.workspace import Workspace
from tests.e2e.conftest import (
    eventually,
    expect_rerun,
    goto_page,
    log_tail,
    main_text,
    screenshot,
    wait_for_app,
)


def _reviewed(page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    return int(re.search(r"(\d+) of \d+ sampled examples reviewed", text).group(1))


def test_rows_sent_from_explore_are_reviewed_with_keys_and_in_bulk_then_applied(
    app_server, page, monkeypatch
):
    monkeypatch.setenv("TRAINSET_WORKSPACE", str(app_server["workspace"]))
    assert main(["open-sample"]) == 0
    page.goto(app_server["url"] + "/Explore")
    wait_for_app(page)
    search = page.get_by_test_id("stTextInputField")
    search.fill("refund")
    with expect_rerun(page):
        search.press("Enter")
    with expect_rerun(page):
        page.get_by_role("button", name="Send 33 rows to review").click()
    eventually(page, lambda: "Sent 33 rows to review as rows-1" in main_text(page), log_tail(app_server))

    goto_page(page, "Review")
    assert "rows-1" in page.get_by_role("combobox", name="Batch").input_value()
    name = page.get_by_role("textbox", name="Reviewer")
    name.fill("ana")
    with expect_rerun(page):
        name.press("Enter")
    page.get_by_role("heading", name="Review").first.click()  # focus leaves the text box: keys reach the page
    with expect_rerun(page):
        page.keyboard.press("a")  # approve
    eventually(page, lambda: _reviewed(page) == 1, "1 reviewed")
    with expect_rerun(page):
        page.keyboard.press("x")  # reject, with the reason shown
    eventually(page, lambda: _reviewed(page) == 2, "2 reviewed")
    with expect_rerun(page):
        page.keyboard.press("u")  # undo the reject
    eventually(page, lambda: _reviewed(page) == 1, "1 reviewed")
    with expect_rerun(page):
        page.keyboard.press("x")
    eventually(page, lambda: _reviewed(page) == 2, "2 reviewed")

    show = page.get_by_role("combobox", name="Show only")
    with expect_rerun(page):
        show.click()
        page.get_by_role("option").nth(1).click()  # the first category
    bulk = page.get_by_role("button", name=re.compile(r"^Approve all \d+$"))
    count = int(bulk.inner_text().split()[-1])
    with expect_rerun(page):
        page.get_by_text(re.compile(r"I have read them: decide all \d+ at once")).click()
    with expect_rerun(page):
        bulk.click()
    eventually(page, lambda: _reviewed(page) == 2 + count, f"{2 + count} reviewed")
    screenshot(page, "review")

    with expect_rerun(page):
        page.get_by_role("button", name="Apply the review as a new version").click()
    eventually(page, lambda: "1 rejected rows removed" in main_text(page), log_tail(app_server))
    ws = Workspace.open(app_server["workspace"])
    assert len(ws.current_dataset()) == 401
    verdicts = review.ReviewStore(ws).decisions("rows-1")["verdict"].value_counts().to_dict()
    assert verdicts == {"approve": 1 + count, "reject": 1}
