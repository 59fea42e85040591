"""The split keeps paraphrases together when asked (``semantic_cosine``), with the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core import records, split
from tests.paraphrase_corpus import DISTINCT, PARAPHRASES

_PLANTED = PARAPHRASES[1]  # "What is the capital city of France?" / "Which city is France's capital?"
_COSINE = 0.85


def _row(prompt: str, i: int) -> dict:
    row = records.make_record(
        "sft", [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"Answer number {i}."}]
    )
    row.update(category="general", source="real")
    return row


def _frame() -> pd.DataFrame:
    """Thirty English requests, none restating another, and the planted paraphrase pair first and last."""
    english = [i for i, (lang, _, _) in enumerate(PARAPHRASES) if lang == "en" and i != 1]
    fill = [PARAPHRASES[i][1] for i in english] + [DISTINCT[i][2] for i in english]
    prompts = [_PLANTED[1], *fill, _PLANTED[2]]
    return records.make_frame([_row(p, i) for i, p in enumerate(prompts)])


def _sides(frame: pd.DataFrame, result: split.SplitResult) -> tuple[str, str]:
    labels = dict(zip(frame["prompt_text"], result.labels, strict=True))
    return labels[_PLANTED[1]], labels[_PLANTED[2]]


def test_semantic_links_find_the_planted_pair_and_no_other() -> None:
    frame = _frame()
    links = split.semantic_links(frame, _COSINE, "prompt")
    assert links.tolist() == [[0, len(frame) - 1]]


def test_a_planted_paraphrase_never_straddles_with_the_option_and_can_without() -> None:
    frame = _frame()
    config = split.SplitConfig(val=0.15, test=0.15, cluster_scope="prompt", confirm_holdout=True)
    keep = split.SplitConfig(**{**config.__dict__, "semantic_cosine": _COSINE})
    graph = split.pair_graph(frame, config.cluster_threshold, config.cluster_scope)
    links = split.semantic_links(frame, _COSINE, "prompt")
    apart = [
        seed
        for seed in range(40)
        if len(set(_sides(frame, split.split_frame(frame, config, seed=seed, graph=graph)))) > 1
    ]
    assert apart, "without the option the pair should land apart for some seed"
    for seed in range(40):
        result = split.split_frame(frame, keep, seed=seed, graph=graph, semantic=links)
        left, right = _sides(frame, result)
        assert left == right, f"seed {seed}: {left} / {right}"
        assert result.clusters_kept_together >= 1
    found_here = split.split_frame(frame, keep, seed=apart[0], graph=graph)  # links found by the split
    assert len(set(_sides(frame, found_here))) == 1


def test_config_refuses_a_cosine_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="semantic_cosine"):
        split.SplitConfig(semantic_cosine=1.5)


def test_cli_semantic_cosine_keeps_the_pair_on_one_side(tmp_path: Path) -> None:
    lines = [
        json.dumps({"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": "ok"}]})
        for p in _frame()["prompt_text"]
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "core", "split", str(path), "--out", str(out), "--json"]
    done = subprocess.run(
        [*command, "--semantic-cosine", str(_COSINE), "--val", "0.15", "--test", "0.15", "--yes"],
        capture_output=True,
        text=True,
        timeout=100,
        check=True,
    )
    summary = json.loads(done.stdout)
    assert summary["semantic_cosine"] == _COSINE and summary["clusters_kept_together"] >= 1
    holding = {
        name
        for name in split.SPLITS
        for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        if _PLANTED[1] in line or _PLANTED[2] in line
    }
    assert len(holding) == 1
