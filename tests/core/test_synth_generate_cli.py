import json
import subprocess
import sys

import pytest

from core.__main__ import main
from tests.conftest import ROOT


def _write_seeds(path, frame):
    lines = [
        json.dumps({"messages": m, "category": c})
        for m, c in zip(frame["messages"], frame["category"], strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1])


def test_generate_writes_valid_examples_and_summary(
    tmp_path, fake_server, support_seeds, capsys, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    seeds, out = tmp_path / "seeds.jsonl", tmp_path / "out.jsonl"
    _write_seeds(seeds, support_seeds)
    code, summary = _run(
        capsys,
        [
            "generate",
            str(seeds),
            "--n",
            "5",
            "--budget",
            "1",
            "--model",
            "my-model",
            "--base-url",
            fake_server.base_url,
            "--price-in",
            "0.5",
            "--price-out",
            "1.5",
            "--concurrency",
            "2",
            "--out",
            str(out),
            "--workspace",
            str(tmp_path / "ws"),
            "--json",
        ],
    )
    assert code == 0
    assert {k: summary[k] for k in ("requested", "generated", "stopped_by")} == {
        "requested": 5,
        "generated": 5,
        "stopped_by": "done",
    }
    assert summary["valid"] + summary["invalid"] == 5 and summary["tokens_in"] == 5 * 400
    assert summary["spent_usd"] == pytest.approx(5 * (400 * 0.5 + 120 * 1.5) / 1e6)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == summary["valid"] and all("messages" in line for line in lines)
    assert not any(b"sk-test" in f.read_bytes() for f in (tmp_path / "ws").rglob("*") if f.is_file())


def test_generate_budget_stop(tmp_path, fake_server, support_seeds, capsys):
    seeds = tmp_path / "seeds.jsonl"
    _write_seeds(seeds, support_seeds)
    code, summary = _run(
        capsys,
        [
            "generate",
            str(seeds),
            "--n",
            "50",
            "--budget",
            "0.02",
            "--model",
            "m",
            "--base-url",
            fake_server.base_url,
            "--price-in",
            "2",
            "--price-out",
            "8",
            "--out",
            str(tmp_path / "o.jsonl"),
            "--json",
        ],
    )
    assert code == 0 and summary["stopped_by"] == "budget"
    assert summary["spent_usd"] <= 0.02 and 0 < summary["generated"] < 50


def test_generate_unknown_model_needs_prices(tmp_path, support_seeds, capsys):
    seeds = tmp_path / "seeds.jsonl"
    _write_seeds(seeds, support_seeds)
    code = main(
        [
            "generate",
            str(seeds),
            "--n",
            "1",
            "--budget",
            "1",
            "--model",
            "no-such-model",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--out",
            str(tmp_path / "o.jsonl"),
        ]
    )
    assert code == 2
    assert "--price-in" in capsys.readouterr().err


def test_generate_subprocess_help():
    done = subprocess.run(
        [sys.executable, "-m", "core", "generate", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--budget" in done.stdout


def test_generate_with_a_paraphrase_cosine_rejects_a_restated_seed(tmp_path, capsys, monkeypatch):
    from core.synth import store
    from core.workspace import Workspace
    from tests.fake_openai_server import FakeOpenAIServer, Reply
    from tests.paraphrase_corpus import PARAPHRASES

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    seeds = tmp_path / "seeds.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": a},
                {"role": "assistant", "content": "Here is the answer."},
            ]
        }
        for _, a, _ in PARAPHRASES[:16]
    ]
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    restated = {
        "user": PARAPHRASES[1][2],
        "assistant": "Here is the answer.",
    }  # "Which city is France's capital?"
    server = FakeOpenAIServer()
    server.responder = lambda body: Reply(content=json.dumps({"examples": [restated]}))
    with server:
        flags = f"--n 1 --budget 1 --model m --base-url {server.base_url} --price-in 0.5 --price-out 1.5"
        argv = ["generate", str(seeds), *flags.split(), "--paraphrase-cosine", "0.85", "--out"]
        argv += [str(tmp_path / "out.jsonl"), "--workspace", str(tmp_path / "ws"), "--json"]
        code, summary = _run(capsys, argv)
    assert code == 0 and (summary["valid"], summary["invalid"]) == (0, 1)
    ws = Workspace.open(tmp_path / "ws")
    (run_id,) = store.run_ids(ws)
    examples = store.batch_examples(ws, run_id, valid_only=False)
    reasons = [r for rs in examples["reasons"] for r in rs]
    assert any(r.startswith("paraphrase: restates real:") for r in reasons), reasons
