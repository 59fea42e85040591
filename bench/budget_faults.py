"""The hard budget under faults: SIGKILL and double starts of ``python -m core generate`` against a ledger.

Usage::

    .venv/bin/python bench/budget_faults.py [--kills 5] [--n 300] [--concurrency 16] [--budget 0.5]

Starts the test chat-completions server (tests/fake_openai_server.py) on 127.0.0.1 as the worst
provider there is: it bills every generation it completes, whatever the ``Idempotency-Key``, even
when the client was killed while it waited. Then runs the same ``generate`` command ``--kills``
times, each killed with SIGKILL when the server has received a random number of further requests
(in flight at concurrency 16), starts two copies at once, and lets a last one finish.

Prints what was measured: the provider's ledger (dollars billed, generations billed, requests billed
more than once), the meter (spent, at risk) and the budget, and whether
``billed <= spent + at risk <= budget`` held after every step.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.synth import runner  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.core.conftest import support_frame, unique_reply  # noqa: E402
from tests.fake_openai_server import FakeOpenAIServer, Reply  # noqa: E402

PRICE_IN, PRICE_OUT = 2.0, 8.0


def _seeds(folder: Path) -> Path:
    frame = support_frame()
    path = folder / "seeds.jsonl"
    lines = [json.dumps({"messages": m}) for m in frame["messages"]]
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(folder: Path, url: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, "-m", "core", "generate", str(_seeds(folder)), "--n", str(args.n),
        "--budget", str(args.budget), "--model", "m", "--base-url", url, "--price-in", str(PRICE_IN),
        "--price-out", str(PRICE_OUT), "--concurrency", str(args.concurrency), "--max-tokens", "200",
        "--workspace", str(folder / "ws"), "--run-id", "bench", "--create",
        "--out", str(folder / "out.jsonl"), "--json",
    ]  # fmt: skip


def _check(server: FakeOpenAIServer, folder: Path, step: str) -> bool:
    meter = runner.progress(Workspace.open(folder / "ws"), "bench")
    billed = server.billed_usd(PRICE_IN, PRICE_OUT)
    held = billed <= meter.spent_usd + meter.at_risk_usd + 1e-12 <= meter.budget_usd + 2e-12
    print(
        f"{step:<28} billed ${billed:.5f}  spent ${meter.spent_usd:.5f}  at risk ${meter.at_risk_usd:.5f}"
        f"  budget ${meter.budget_usd:.2f}  answered {meter.requests_done:>4}"
        f"  invariant {'held' if held else 'BROKEN'}"
    )
    return held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--budget", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counter = itertools.count()
    server = FakeOpenAIServer(honour_idempotency=False, bill_malformed=True)
    server.responder = lambda body: Reply(
        content=unique_reply(next(counter)), latency=0.2, completion_tokens=80
    )
    received = threading.Condition()
    server.on_receive = lambda count: _notify(received)
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "PYTHONPATH": str(ROOT)}
    ok = True
    with server, tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        folder = Path(tmp)
        command = _command(folder, server.base_url, args)
        for kill in range(args.kills):
            mark = len(server.requests) + rng.randint(4, 3 * args.concurrency)
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            with received:
                received.wait_for(
                    lambda m=mark, p=process: len(server.requests) >= m or p.poll() is not None, timeout=120
                )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            ok &= _check(server, folder, f"after SIGKILL {kill + 1} (at {mark})")
        pair = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        codes = sorted(p.wait(timeout=600) for p in pair)
        ok &= _check(server, folder, f"two at once (exit {codes[0]}, {codes[1]})")
        last = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        ok &= _check(server, folder, f"last run (exit {last.returncode})")
        with Workspace.open(folder / "ws").connect() as c:
            stored, risky = c.execute(
                "SELECT SUM(status = 'ok'), SUM(at_risk > 0) FROM synth_calls WHERE run_id = 'bench'"
            ).fetchone()
    twice = sum(1 for count in Counter(key for key, _p, _c in server.ledger).values() if count > 1)
    beyond = len(server.ledger) - stored
    print(
        f"generations billed {len(server.ledger)} ({twice} requests more than once); answers stored "
        f"{stored}; billed beyond them {beyond}, attempts the meter booked at risk {risky}"
    )
    ok &= beyond <= risky
    print("invariant billed <= spent + at risk <= budget:", "held at every step" if ok else "BROKEN")
    return 0 if ok else 1


def _notify(condition: threading.Condition) -> None:
    with condition:
        condition.notify_all()


if __name__ == "__main__":
    raise SystemExit(main())
