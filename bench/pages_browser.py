"""Time each page's first open in Chromium on a 100,000-example dataset, as a person meets it.

The app is started with `streamlit run app.py` on 127.0.0.1 over a workspace holding one version of
``--n`` generated examples (bench/pages.py's generator). Two rounds are timed:

- "before measurements": every page opened right after the version is saved, while the app's
  background measurements of the version (core.derived) are still running or not started;
- "after measurements": the same pages in a new browser session once those measurements are done
  (the server still holds what the first round computed and cached);
- "cold, measured": the same pages in a new browser session on a newly started server, so no page
  finds anything in Streamlit's caches: each first open reads what the measurements stored.

A page's time runs from the navigation until the app's script state is idle twice in a row (Streamlit
reruns a page right after some first runs). Wall time is what a person waits; the machine's load
average is printed beside it, since on a shared 2-core machine wall time is what this process got.
Needs Debian's chromium (``TRAINSET_CHROMIUM``, default /usr/bin/chromium).

    python bench/pages_browser.py [--n 100000] [--pages Distribution Split_and_export ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import derived, records  # noqa: E402
from core.workspace import Workspace  # noqa: E402


def _make_dataset(n: int) -> list[dict]:
    """bench/pages.py's generator (loaded by path: the app's pages/ folder holds the name ``pages``)."""
    spec = importlib.util.spec_from_file_location("bench_pages", ROOT / "bench" / "pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_dataset(n, seed=0)


_PAGES = ("Upload", "Distribution", "Quality", "Dedup", "Split_and_export", "Explore", "")
_IDLE = "[data-testid='stApp'][data-test-connection-state='CONNECTED'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(root: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TRAINSET_WORKSPACE": str(root), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)  # noqa: S310
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise TimeoutError("streamlit did not answer")


def _open(tab, url: str) -> float:  # noqa: ANN001 - a Playwright page
    start = time.perf_counter()
    tab.goto(url)
    for _ in range(2):  # idle twice: a first run can ask for a second one
        tab.wait_for_selector(_IDLE, state="attached", timeout=600_000)
        tab.wait_for_timeout(300)
    errors = tab.locator('[data-testid="stException"]').count()
    return time.perf_counter() - start - 0.6 + (1e9 if errors else 0)


def _round(browser, base: str, pages: list[str]) -> dict[str, float]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    try:
        return {page or "Home": _open(tab, f"{base}/{page}") for page in pages}
    finally:
        context.close()


def main() -> None:
    """Build the workspace, start the app, open the pages twice, print the times."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pages", nargs="*", default=list(_PAGES), help="page paths; '' is Home")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_browser_")) / "ws"
    ws = Workspace.open(root)
    ws.save_dataset(
        records.make_frame(_make_dataset(args.n)),
        note="bench",
        name="bench.jsonl",
        source_format="openai-sft",
    )
    port = _free_port()
    process = _start(root, port, root.parent / "streamlit.log")
    base = f"http://127.0.0.1:{port}"
    chromium = os.environ.get("TRAINSET_CHROMIUM", "/usr/bin/chromium")
    flags = [
        "--no-sandbox",
        "--headless=new",
        "--disable-background-networking",
        "--disable-component-update",
    ]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=flags)
            load = os.getloadavg()[0]
            before = _round(browser, base, args.pages)
            start = time.perf_counter()
            version = ws.dataset_version()
            assert version is not None
            derived.warm_in_background(ws, version).join()  # already done by the app: returns at once then
            waited = time.perf_counter() - start
            after = _round(browser, base, args.pages)
            process.terminate()
            process.wait(30)
            port = _free_port()
            process = _start(root, port, root.parent / "streamlit-cold.log")
            cold = _round(browser, f"http://127.0.0.1:{port}", args.pages)
            browser.close()
    finally:
        process.terminate()
        process.wait(30)
    print(f"{args.n:,} examples; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"after the first round, the background measurements needed {waited:.1f} s more")
    print(f"{'page':20} {'before measurements s':>22} {'after measurements s':>21} {'cold, measured s':>17}")
    for name, first in before.items():
        shown = [f"{v:.1f}" if v < 1e8 else "page error" for v in (first, after[name], cold[name])]
        print(f"{name:20} {shown[0]:>22} {shown[1]:>21} {shown[2]:>17}")


if __name__ == "__main__":
    main()
