import pytest

from tests.conftest import ROOT
from tests.pages.conftest import PAGES, app_test


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_a_dataset(page, tmp_path):
    at = app_test(ROOT / "pages" / page, tmp_path / "ws").run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_dataset(page, seeded_workspace):
    at = app_test(ROOT / "pages" / page, seeded_workspace.root).run()
    assert not at.exception, at.exception


def test_home_without_dataset_points_to_upload(tmp_path):
    at = app_test(ROOT / "app.py", tmp_path / "ws").run()
    assert not at.exception
    assert any("No dataset yet" in i.value for i in at.info)


def test_home_shows_dataset_and_journey(seeded_workspace):
    seeded_workspace.mark_step("upload", {"file": "orders.jsonl", "valid": 40})
    at = app_test(ROOT / "app.py", seeded_workspace.root).run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["orders.jsonl", "40"]
    captions = " ".join(c.value for c in at.caption)
    assert "done: file orders.jsonl" in captions


def test_home_step_summaries_cannot_inject_markdown(seeded_workspace):
    seeded_workspace.mark_step("eval", {"worst_slice": "category=[click](https://evil.example)"})
    at = app_test(ROOT / "app.py", seeded_workspace.root).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "evil" in captions and "[click](" not in captions
