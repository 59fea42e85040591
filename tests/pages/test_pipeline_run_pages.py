"""A pipeline run's folder opened on the Upload page: Dedup lists its clusters, Split its test lock."""

import pytest

from core.pipeline import LocalEngine, PipelineConfig, run_pipeline
from core.pipeline.planted import generate_rows, write_shards
from tests.conftest import ROOT
from tests.pages.conftest import app_test

UPLOAD = ROOT / "pages" / "1_Upload.py"
DEDUP = ROOT / "pages" / "4_Dedup.py"
SPLIT = ROOT / "pages" / "7_Split_and_export.py"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    write_shards(generate_rows(1_500, seed=5).rows, folder / "in", 3, formats=("jsonl",))
    engine = LocalEngine(1)
    summary = run_pipeline(PipelineConfig(inputs=(str(folder / "in"),), out=str(folder / "run")), engine)
    return folder / "run", summary


def test_open_a_pipeline_run_then_see_its_clusters_and_test_lock(run_dir, tmp_path):
    out, summary = run_dir
    root = tmp_path / "ws"
    at = app_test(UPLOAD, root).run()
    assert at.button(key="upload_open_pipeline").disabled  # nothing typed yet
    at.text_input(key="upload_pipeline_dir").input(str(out)).run()
    at.button(key="upload_open_pipeline").click().run()
    assert not at.exception, at.exception
    assert any(f"{summary['kept']:,} kept" in s.value for s in at.success), [s.value for s in at.success]

    dedup_page = app_test(DEDUP, root, timeout=120).run()
    assert not dedup_page.exception, dedup_page.exception
    removed = next(d.value for d in dedup_page.dataframe if "match" in d.value.columns)
    assert len(removed) == summary["exact_removed"] + summary["near_removed"]
    assert set(removed["match"]) == {"exact", "near"}
    assert removed["similarity"].min() >= 0.8

    split_page = app_test(SPLIT, root, timeout=120).run()
    assert not split_page.exception, split_page.exception
    assert any("Opened from the pipeline run" in i.value for i in split_page.info)
    assert any(f"{summary['splits']['test']} examples" in s.value for s in split_page.success)
    metrics = {m.label: m.value for m in split_page.metric}
    assert metrics["Test"] == str(summary["splits"]["test"])


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    at = app_test(UPLOAD, tmp_path / "ws").run()
    at.text_input(key="upload_pipeline_dir").input(str(tmp_path)).run()
    at.button(key="upload_open_pipeline").click().run()
    assert not at.exception
    assert any("is not a pipeline run folder" in e.value for e in at.error)
