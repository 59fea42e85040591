"""The quality scan and curation stored with a version are what scanning and curating the frame give."""

import dataclasses

import pandas as pd
import pytest

from core import derived, quality, records
from core.quality import curate as curation
from core.quality import versioned
from core.quality.base import Flag
from core.workspace import Workspace
from tests.core.test_quality import _curation_frame, _restated_frame
from tests.quality_corpus import planted

pytestmark = pytest.mark.timeout(120)


def _save(tmp_path, frame):
    ws = Workspace.open(tmp_path / "ws")
    version = ws.save_dataset(frame, note="test", name="t.jsonl", source_format="openai-sft")
    return ws, version, ws.load_version(version)


def _same_curation(stored, fresh):
    assert stored.chosen == fresh.chosen
    assert stored.method == fresh.method
    assert stored.scores.tolist() == fresh.scores.tolist()
    pd.testing.assert_frame_equal(stored.left_out, fresh.left_out.astype({"position": "int64"}))


def test_the_stored_report_is_the_scan_of_the_version_and_is_read_back_without_scanning(
    tmp_path, monkeypatch
):
    ws, version, frame = _save(tmp_path, records.make_frame([record for record, _codes in planted(seed=0)]))
    fresh = quality.scan_quality(frame)
    assert fresh.flags  # the corpus plants every code
    assert versioned.version_report(ws, version, frame) == fresh
    monkeypatch.setattr(versioned, "scan_quality", lambda *_: pytest.fail("scanned again"))
    again = versioned.version_report(ws, version)  # a restart of the app: from the file alone
    assert again == fresh and again.counts == fresh.counts


def test_a_version_without_any_flag_keeps_its_row_count(tmp_path):
    ws, version, frame = _save(tmp_path, _restated_frame())
    assert quality.scan_quality(frame).flags == []
    versioned.version_report(ws, version, frame)
    assert versioned.version_report(ws, version) == quality.QualityReport(len(frame), [])


@pytest.mark.parametrize(("method", "closest"), [("semantic", 0.85), ("lexical", 0.5), ("semantic", 0.6)])
def test_the_stored_curation_is_what_the_page_used_to_compute(tmp_path, method, closest):
    ws, version, frame = _save(tmp_path, _curation_frame())
    report = quality.scan_quality(frame)
    if method == "semantic":
        fresh = curation.curate(frame, 3, max_cosine=closest, report=report, method="auto")
    else:
        fresh = curation.curate(frame, 3, max_similarity=closest, report=report, method="lexical")
    _same_curation(versioned.version_curation(ws, version, 3, method, closest, frame, report), fresh)
    _same_curation(versioned.version_curation(ws, version, 3, method, closest), fresh)  # read back


def test_model_flags_are_part_of_the_stored_curation(tmp_path):
    ws, version, frame = _save(tmp_path, _curation_frame())
    plain = versioned.version_curation(ws, version, 3, "lexical", 0.5, frame)
    judged = Flag(5, "judge", "low_judge_score", "messages[1].content", 0, 0, "", "judged 1/5")
    report = quality.with_flags(quality.scan_quality(frame), [judged])
    with_judge = versioned.version_curation(ws, version, 3, "lexical", 0.5, frame, report, [judged])
    fresh = curation.curate(frame, 3, max_similarity=0.5, report=report, method="lexical")
    _same_curation(with_judge, fresh)
    assert with_judge.scores[5] == plain.scores[5] * 0.5  # a soft flag halves the score
    _same_curation(versioned.version_curation(ws, version, 3, "lexical", 0.5, model_flags=[judged]), fresh)


def test_the_background_measurements_store_the_quality_pages_defaults(tmp_path, monkeypatch):
    ws, version, frame = _save(tmp_path, _curation_frame())
    derived.warm(ws, version)
    monkeypatch.setattr(versioned, "scan_quality", lambda *_: pytest.fail("scanned on the page"))
    monkeypatch.setattr(versioned, "curate", lambda *_a, **_k: pytest.fail("curated on the page"))
    report = versioned.version_report(ws, version)
    n = min(len(frame), versioned.CURATE_N)
    stored = versioned.version_curation(ws, version, n, "semantic", versioned.CURATE_COSINE, report=report)
    fresh = curation.curate(frame, n, max_cosine=versioned.CURATE_COSINE, report=report, method="auto")
    _same_curation(stored, fresh)
    assert dataclasses.replace(report) == quality.scan_quality(frame)
