"""The measure stage: the app's own token counts and text measures, per row, resumable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core import formats, measures, tokens
from core.pipeline import LocalEngine, PipelineConfig, run_pipeline
from core.pipeline.measure import MEASURE_COLUMNS
from core.pipeline.planted import generate_rows, write_shards

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("measure-in")
    write_shards(generate_rows(600, seed=5).rows, folder, 3)
    return folder


def _run(shards: Path, out: Path, **settings) -> dict:
    engine = LocalEngine(1)
    try:
        config = PipelineConfig(
            inputs=(str(shards),), out=str(out), steps=("validate", "measure"), **settings
        )
        return run_pipeline(config, engine)
    finally:
        engine.close()


def test_measures_equal_what_the_app_computes_on_the_same_rows(shards, tmp_path):
    summary = _run(shards, tmp_path / "run")
    table = pq.read_table(tmp_path / "run" / "measure").to_pandas()
    assert summary["stages"]["measure"]["rows"] == len(table) == 600
    assert list(table.columns) == ["g", "id", *MEASURE_COLUMNS]
    assert sorted(table["g"]) == list(range(600))
    frames = [formats.load_dataset(str(p), str(p)).records for p in sorted(shards.glob("*"))]
    frame = pd.concat(frames, ignore_index=True)
    counted = tokens.count_frame(frame, model="gpt-4.1-mini", workers=1)
    prompt = measures.measure(frame["prompt_text"].tolist())
    expected = pd.DataFrame(
        {
            "id": frame["id"].astype(str),
            "prompt_tokens": counted["prompt_tokens"],
            "total_tokens": counted["total_tokens"],
            "prompt_words": prompt["words"],
            "prompt_sentences": prompt["sentences"],
            "response_words": measures.measure(frame["response_text"].tolist(), words_only=True)["words"],
            "n_turns": frame["n_turns"].astype("int64"),
        }
    )
    got = table[list(expected.columns)]
    key = ["id", *expected.columns.drop("id")]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    assert (table["total_tokens"] > 0).all()


def test_rerun_skips_and_another_model_remeasures_only(shards, tmp_path):
    out = tmp_path / "run"
    _run(shards, out)
    again = _run(shards, out)
    assert again["stages"]["measure"]["tasks_run"] == 0
    other = _run(shards, out, model="gpt-4")  # cl100k_base: other counts, same rows
    assert other["stages"]["validate"]["tasks_run"] == 0
    assert other["stages"]["measure"]["tasks_run"] == 3
    assert pq.read_table(out / "measure").num_rows == 600
