import json

import pandas as pd

from tests.e2e.conftest import screenshot, wait_for_app


def _file_with_errors(tmp_path):
    good = [
        {
            "messages": [
                {"role": "user", "content": f"Where is order {i}?"},
                {"role": "assistant", "content": f"Order {i} ships tomorrow."},
            ]
        }
        for i in range(12)
    ]
    lines = [json.dumps(row) for row in good]
    lines.insert(3, '{"messages": [{"role": "user", "content": "broken"')
    lines.insert(
        7,
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo", "weight": 2},
                ]
            }
        ),
    )
    path = tmp_path / "orders_with_errors.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_upload_a_file_with_errors_lists_them_by_line(app_server, page, tmp_path):
    page.goto(app_server["url"] + "/Upload")  # a deep link is the first thing this server sees
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Home" in sidebar and "Split & export" in sidebar  # app.py's navigation, not the legacy one
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(_file_with_errors(tmp_path))
    )
    page.get_by_text("Saved orders_with_errors.jsonl").wait_for()
    wait_for_app(page)
    problems = page.locator('[data-testid="stDataFrame"]').first
    problems.wait_for()
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Quarantined rows" in body
    # The quarantine metric shows both bad lines; the grid (canvas) is checked through its CSV download.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download problems (CSV)").click()
    found = pd.read_csv(download.value.path())
    by_line = {
        int(line): set(group["field"].fillna("") + " " + group["code"])
        for line, group in found.dropna(subset=["line"]).groupby("line")
    }
    assert any("json" in item for item in by_line[4])
    assert any("weight" in item for item in by_line[8])
    screenshot(page, "upload")
