"""Synthetic-generation benchmark: runner throughput against a loopback teacher with fixed latency.

Usage::

    .venv/bin/python bench/synth.py [--requests 800] [--latency 0.2] [--concurrency 16]

Starts the test chat-completions server (tests/fake_openai_server.py) on 127.0.0.1 answering
every request after ``--latency`` seconds, and runs ``core.synth.runner`` with ``--concurrency``
workers: every request reserves budget, is logged, parsed, validated (near-dup index, length,
labels) and stored in the workspace before the next one is counted.

Prints achieved requests/s against the ideal ``concurrency / latency`` (80/s for the defaults),
then the same run while a second thread reads the live meter (``runner.progress``) every 100 ms,
ten times more often than the page does, and the meter's overhead (the rate lost to it and the
mean time of one meter read). Target (issue 6): >= 90% of ideal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.synth import prompts, runner, teachers, validators  # noqa: E402
from core.synth.budget import Price  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.core.conftest import support_frame  # noqa: E402


def _run_once(base_url: str, requests: int, concurrency: int, meter_every: float | None) -> dict:
    ws = Workspace.open(tempfile.mkdtemp(prefix="bench-synth-"))
    frame = support_frame(60)
    ws.save_dataset(frame, note="bench seeds")
    teacher = teachers.TeacherConfig(base_url=base_url, model="gpt-4o-mini", timeout_s=30)
    settings = runner.RunSettings(
        teacher=teacher, price=Price(0.15, 0.6), budget_usd=100.0, max_tokens=256, concurrency=concurrency
    )
    rules = validators.rules_from_data(frame, "variations", min_chars=None, max_chars=None)
    run_id = runner.create_run(ws, frame, prompts.PlanConfig(n=requests), settings, rules)
    reads: list[float] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            started = time.perf_counter()
            runner.progress(ws, run_id)
            reads.append(time.perf_counter() - started)
            done.wait(meter_every)

    poller = threading.Thread(target=poll, daemon=True) if meter_every else None
    if poller:
        poller.start()
    started = time.perf_counter()
    stopped_by = runner.execute_run(ws, run_id)
    elapsed = time.perf_counter() - started
    done.set()
    meter = runner.progress(ws, run_id)
    return {
        "stopped_by": stopped_by,
        "rate": meter.requests_done / elapsed,
        "elapsed": elapsed,
        "valid": meter.valid,
        "reads": reads,
    }


def _bare_client(base_url: str, requests: int, concurrency: int) -> float:
    """The obvious alternative: a thread pool calling the openai client, nothing stored or checked."""
    from concurrent.futures import ThreadPoolExecutor

    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=30)
    messages = [{"role": "user", "content": "Write one support example as JSON."}]

    def one(_: int) -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=256)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ideal = args.concurrency / args.latency
    # The server runs in its own process, as a real teacher would: sharing this process's GIL
    # would measure the test server, not the runner.
    server_script = Path(__file__).resolve().parent.parent / "tests" / "fake_openai_server.py"
    process = subprocess.Popen(
        [sys.executable, str(server_script), str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        _run_once(
            base_url, 2 * args.concurrency, args.concurrency, None
        )  # warm-up: imports, first connections
        bare = _bare_client(base_url, args.requests, args.concurrency)
        plain = _run_once(base_url, args.requests, args.concurrency, None)
        metered = _run_once(base_url, args.requests, args.concurrency, 0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(
        f"ideal                      {ideal:8.1f} requests/s  ("
        f"concurrency {args.concurrency} / {args.latency}s)"
    )
    print(
        f"bare openai thread pool    {bare:8.1f} requests/s  = {bare / ideal:6.1%} of ideal "
        "(no budget, log, checks)"
    )
    print(
        f"runner                     {plain['rate']:8.1f} requests/s  = {plain['rate'] / ideal:6.1%} "
        f"of ideal ({args.requests} requests in {plain['elapsed']:.2f} s, "
        f"{plain['valid']} valid, {plain['stopped_by']})"
    )
    print(
        f"runner + meter every 0.1 s {metered['rate']:8.1f} requests/s  = {metered['rate'] / ideal:6.1%} "
        "of ideal"
    )
    overhead = 1 - metered["rate"] / plain["rate"]
    mean_read = statistics.mean(metered["reads"]) * 1000 if metered["reads"] else 0.0
    print(
        f"meter overhead             {overhead:8.1%} of the rate; one meter read {mean_read:.1f} ms "
        f"({len(metered['reads'])} reads)"
    )
    print(f"runner / bare client       {plain['rate'] / bare:8.1%}")
    print(
        f"target >= 90% of ideal:    {'met' if plain['rate'] >= 0.9 * ideal else 'NOT met'}"
        f"  (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
