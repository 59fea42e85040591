"""Dedup's semantic view in Chromium: rows that say the same thing in other words, each with its cosine."""

import re

from core.__main__ import main
from tests.e2e.conftest import exception_texts, expect_rerun, goto_page, log_tail, main_text, wait_for_app


def test_the_semantic_view_lists_pairs_by_meaning_with_their_cosine(app_server, page, monkeypatch):
    monkeypatch.setenv("TRAINSET_WORKSPACE", str(app_server["workspace"]))
    assert main(["open-sample"]) == 0
    page.goto(app_server["url"] + "/")
    wait_for_app(page)
    goto_page(page, "Dedup")
    with expect_rerun(page):
        page.get_by_text("Semantic (same meaning: embeddings)").click()
    assert exception_texts(page) == [], log_tail(app_server)
    text = main_text(page)
    linked = re.search(r"([\d,]+) pairs? linked: ([\d,]+) by meaning", text)
    assert linked, log_tail(app_server)
    assert int(linked.group(2).replace(",", "")) > 0  # the sample's paraphrases are found by meaning
    assert page.get_by_role("slider", name="Cosine threshold").count() == 1
