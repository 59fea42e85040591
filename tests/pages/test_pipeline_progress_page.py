"""Running a pipeline from the Upload page: in the background, its stages' progress, then opening it."""

import io

import pytest

from core.pipeline import background
from core.pipeline.planted import generate_rows, write_shards
from core.pipeline.progress import ProgressRecord, StageProgress, read_record
from tests.conftest import ROOT
from tests.pages.conftest import app_test
from ui_pipeline import progress_table

UPLOAD = ROOT / "pages" / "1_Upload.py"
STAGES = ["validate", "measure", "signatures", "buckets", "gather", "filter", "split", "export"]

pytestmark = pytest.mark.timeout(300)


def _start(at, inputs: str, out) -> None:
    at.text_input(key="upload_run_inputs").input(inputs).run()
    at.text_input(key="upload_run_out").input(str(out)).run()
    at.button(key="upload_run_start").click().run()
    assert not at.exception, at.exception


def test_run_in_the_background_watch_its_stages_then_open_it(tmp_path):
    write_shards(generate_rows(600, seed=9).rows, tmp_path / "in", 2, formats=("jsonl",))
    out = tmp_path / "run"
    at = app_test(UPLOAD, tmp_path / "ws", timeout=120).run()
    _start(at, str(tmp_path / "in" / "*.jsonl"), out)
    assert background.wait(out, timeout=240) == 0
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    for stage in STAGES:
        row = table[table["stage"] == stage].iloc[0]
        assert row["ETA"] == "done", row
    validate = table[table["stage"] == "validate"].iloc[0]
    assert validate["done"].startswith("600") and validate["tasks"] == "2/2"
    assert any("Pipeline done: 600 valid rows" in s.value for s in at.success), [s.value for s in at.success]

    at.button(key="upload_run_use").click().run()
    assert at.text_input(key="upload_pipeline_dir").value == str(out.resolve())
    at.button(key="upload_open_pipeline").click().run()
    assert not at.exception, at.exception
    kept = background.status(out).summary["kept"]
    assert any(f"{kept:,} kept" in s.value for s in at.success), [s.value for s in at.success]


def test_a_run_on_missing_shards_shows_why_it_failed(tmp_path):
    out = tmp_path / "run"
    at = app_test(UPLOAD, tmp_path / "ws", timeout=120).run()
    _start(at, str(tmp_path / "nothing-here"), out)
    assert background.wait(out, timeout=120) == 2
    at.run()
    assert any("matches no file" in e.value for e in at.error), [e.value for e in at.error]


def test_the_record_holds_rows_rate_and_eta_as_the_terminal_line_does(tmp_path):
    record = ProgressRecord(tmp_path / "progress.json")
    bar = StageProgress("validate", [100, 300], io.StringIO(), rows_total=400, record=record)
    bar.update(1, 300)
    middle = read_record(tmp_path)["validate"]
    assert (middle["rows"], middle["rows_total"], middle["tasks_done"], middle["finished"]) == (
        300,
        400,
        1,
        False,
    )
    assert middle["eta_s"] is not None and middle["eta_s"] >= 0
    bar.update(0, 100)
    done = read_record(tmp_path)["validate"]
    assert (done["rows"], done["tasks_done"], done["finished"]) == (400, 2, True)
    row = progress_table(read_record(tmp_path)).iloc[0]
    assert (row["stage"], row["done"], row["ETA"], row["tasks"]) == (
        "validate",
        "400/400 rows",
        "done",
        "2/2",
    )
