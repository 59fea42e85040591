"""The Review page's semantic panels: a batch's diversity and a rejected paraphrase beside its match."""

from unittest.mock import patch

import pandas as pd

from core import records
from core.workspace import Workspace
from tests.conftest import ROOT
from tests.pages.conftest import app_test
from tests.paraphrase_corpus import PARAPHRASES

PAGE = ROOT / "pages" / "6_Review.py"
_REASON = "paraphrase: restates real:r7 (cosine 0.93 >= 0.85)"


def _row(prompt, i, *, valid=True):
    rec = records.make_record(
        "sft", [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"Answer {i}."}]
    )
    rec.update(source="synthetic", batch_id="run-1", mode="variations", seed_ids=[], prompt="Vary.")
    rec.update(valid=valid, reasons=[] if valid else [_REASON])
    return rec


def _batches(valid_only=True):
    prompts = [a for lang, a, _ in PARAPHRASES if lang == "en"] + [PARAPHRASES[15][2]]
    rows = [_row(p, i) for i, p in enumerate(prompts)]
    if not valid_only:
        rows.append(_row(PARAPHRASES[1][2], 99, valid=False))
    return records.make_frame(rows)


BATCHES = pd.DataFrame(
    [{"batch_id": "run-1", "created_at": "2026-11-22T10:00:00+00:00", "mode": "variations",
      "model": "m", "valid": 17, "invalid": 1}]
)  # fmt: skip


def test_the_batch_shows_its_diversity_and_the_rejected_paraphrase_beside_the_real_row(tmp_path):
    root = tmp_path / "ws"
    real = records.make_frame([_row(PARAPHRASES[1][1], 7)]).assign(id=["r7"])
    Workspace.open(root).save_dataset(real, note="upload")
    with (
        patch("core.synth.list_batches", return_value=BATCHES),
        patch("core.synth.batch_examples", side_effect=lambda ws, b, valid_only=True: _batches(valid_only)),
    ):
        at = app_test(PAGE, root).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows compared"] == "17"
    assert metrics["Rows restating another"] == f"{2 / 17:.0%}"  # the Mona Lisa pair
    closest = next(d.value for d in at.dataframe if "nearest id" in d.value.columns)
    assert "Who painted the Mona Lisa?" in set(closest["prompt"]) | set(closest["nearest prompt"])
    restated = next(d.value for d in at.dataframe if "restated text" in d.value.columns)
    assert restated.to_dict("records") == [
        {
            "id": restated["id"].iloc[0],
            "text": PARAPHRASES[1][2],
            "restates": "real:r7",
            "restated text": PARAPHRASES[1][1],
            "cosine": 0.93,
        }
    ]
