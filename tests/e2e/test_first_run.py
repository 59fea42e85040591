"""First run (issue 10): on an empty workspace every page says what it needs, and nothing crashes."""

import re
import time

import pytest

from core.workspace import JOURNEY
from tests.e2e.conftest import (
    ROOT,
    exception_texts,
    expect_rerun,
    goto_page,
    log_tail,
    main_text,
    save_page_image,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

# page title -> what its first-run message must point to (a regex over its info / warning boxes)
NEEDS = {
    "Upload": r"upload a file|open the bundled sample",
    "Distribution": r"upload",
    "Labels": r"upload",
    "Dedup": r"upload",
    "Synthetic": r"upload",
    "Review": r"synthetic",
    "Split & export": r"upload",
    "Eval loop": r"no training dataset yet|upload",
}


def _page_problems(page, title: str, pattern: str) -> list[str]:
    problems = []
    crashed = exception_texts(page)
    if crashed:
        problems.append(f"{title}: exception box:\n{crashed[0][:2000]}")
    alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
    if not any(re.search(pattern, alert, re.IGNORECASE) for alert in alerts):
        problems.append(
            f"{title}: no info / warning box matching {pattern!r}; boxes: {alerts}; "
            f"text: {main_text(page)[:300]!r}"
        )
    return problems


def test_every_page_says_what_it_needs_on_an_empty_workspace(app_server, page):
    artifacts = ROOT / "test-artifacts" / "e2e" / time.strftime("first-run-%Y%m%d-%H%M%S")
    page.goto(app_server["url"])
    wait_for_app(page)
    home = main_text(page)
    problems = [] if "No dataset yet" in home else [f"Home: no 'No dataset yet' message: {home[:300]!r}"]
    for title, pattern in NEEDS.items():
        goto_page(page, title)
        found = _page_problems(page, title, pattern)
        if found:
            save_page_image(page, artifacts / f"first_run_{title.split()[0]}.png")
        problems += found
    goto_page(page, "Home")
    links = page.locator('[data-testid="stMain"] [data-testid="stPageLink"]').all_inner_texts()
    green = [link for link in links if "🟢" in link]
    if green:
        problems.append(f"Home: steps marked done by only opening the pages: {green}")
    if not any(f"👉 {JOURNEY[0][1]}" in link for link in links):
        problems.append(f"Home: the first step is not pointed to: {links}")
    assert not problems, "\n\n".join(problems) + f"\n\nscreenshots in {artifacts}\n\n" + log_tail(app_server)


def test_a_page_that_needs_a_dataset_links_to_upload(app_server, page):
    page.goto(app_server["url"])
    wait_for_app(page)
    goto_page(page, "Dedup")
    with expect_rerun(page):
        page.locator('[data-testid="stMain"]').get_by_role("link", name="Go to Upload").click()
    assert page.url.rstrip("/").endswith("/Upload"), page.url
    assert not exception_texts(page)
