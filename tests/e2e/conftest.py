"""Real-browser fixtures: `streamlit run app.py` on 127.0.0.1 and Debian's Chromium driven by Playwright."""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TRAINSET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("TRAINSET_SCREENSHOTS")

pytestmark = pytest.mark.e2e  # (has no effect in a conftest: the hook below marks the tests)


def pytest_collection_modifyitems(items) -> None:
    """Mark every test of this folder ``e2e`` (``-m "not e2e"`` skips the browser).

    They also get 900 s instead of the suite's 120 s: the journey builds a real teacher and browser.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(900))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout}s")


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """Start the app on a free loopback port with a fresh workspace; stop it afterwards."""
    workspace = tmp_path_factory.mktemp("e2e_workspace")
    port = _free_port()
    env = {**os.environ, "TRAINSET_WORKSPACE": str(workspace), "PYTHONUNBUFFERED": "1"}
    log = open(workspace / "streamlit.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield {"url": url, "workspace": workspace, "log": workspace / "streamlit.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    _count_server_frames(tab)
    yield tab
    context.close()


# Messages the app server sent to each tab over its websocket. A script run always sends some (new
# session, status, deltas, finished); the page's script-state attribute can miss a short run, because
# the browser may render "running" and "not running" in one frame.
_SERVER_FRAMES: "weakref.WeakKeyDictionary[object, list[int]]" = weakref.WeakKeyDictionary()


def _count_server_frames(tab) -> None:
    count = _SERVER_FRAMES.setdefault(tab, [0])

    def on_socket(socket) -> None:
        socket.on("framereceived", lambda _payload: count.__setitem__(0, count[0] + 1))

    tab.on("websocket", on_socket)


def _server_frames(tab) -> int:
    return _SERVER_FRAMES.get(tab, [0])[0]


# The app root carries the script-run and connection states (Streamlit >= 1.30): idle means both settled.
_IDLE = "[data-testid='stApp'][data-test-connection-state='CONNECTED'][data-test-script-state='notRunning']"


def wait_for_app(tab, timeout: float = 120_000) -> None:
    """Wait until Streamlit has finished running the script (and a rerun it asked for right after)."""
    tab.wait_for_selector('[data-testid="stApp"]')
    tab.wait_for_timeout(300)  # a click's rerun request reaches the server after a few milliseconds
    for _ in range(2):  # idle twice in a row: st.rerun() starts a second run just after the first ends
        tab.wait_for_selector(_IDLE, state="attached", timeout=timeout)
        tab.wait_for_timeout(300)


# Counts changes of the app root's script-state attribute from now on: from idle, any change means a run
# started (a short run can go running -> notRunning within one batch of mutation records). The watched
# root is marked: a root without the mark (React mounted a new one) or a window without the counter (the
# browser loaded the page anew, as it does when a link is followed before the app's handler is attached)
# also means the action started a run, on a root this observer cannot see.
_COUNT_RUNS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__trainsetRuns = 0;
  app.__trainsetWatched = true;
  if (window.__trainsetRunObserver) window.__trainsetRunObserver.disconnect();
  window.__trainsetRunObserver = new MutationObserver((found) => { window.__trainsetRuns += found.length; });
  window.__trainsetRunObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_RUN_STARTED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return window.__trainsetRuns === undefined || window.__trainsetRuns > 0 || !app || !app.__trainsetWatched;
}"""


@contextlib.contextmanager
def expect_rerun(tab, timeout: float = 120_000, start_timeout: float = 45_000):
    """Around an action that reruns the script: wait until that run has started, then until all is idle.

    On a busy machine a click's run can start later than any fixed pause; waiting for it to start
    avoids reading the page as it was before the click.
    """
    tab.wait_for_selector('[data-testid="stApp"]')
    tab.evaluate(_COUNT_RUNS)
    frames = _server_frames(tab)
    yield
    deadline = time.monotonic() + start_timeout / 1000
    while not _run_started(tab, frames):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the action did not start a script run within {start_timeout / 1000:.0f} s "
                "(the click missed, or the widget does not rerun the page)"
            )
        tab.wait_for_timeout(50)  # lets Playwright deliver the websocket events it has received
    wait_for_app(tab, timeout)


def _run_started(tab, frames_before: int) -> bool:
    """Whether the server answered since the action, or the page shows a run began."""
    if _server_frames(tab) > frames_before:
        return True
    try:
        return bool(tab.evaluate(_RUN_STARTED))
    except Exception:  # the page is navigating: its old context is gone, so a run has begun
        return True


def screenshot(tab, name: str, *, max_height: int = 3000) -> None:
    """Save a screenshot of the whole page when TRAINSET_SCREENSHOTS names a folder.

    Streamlit scrolls inside its main element, so a Playwright full-page shot would stop at the window:
    the window is made as tall as the content for the shot, then put back.
    """
    if SCREENSHOTS:
        folder = ROOT / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        save_page_image(tab, folder / f"{name}.png", max_height=max_height)


def save_page_image(tab, path: Path, *, max_height: int = 9000) -> Path:
    """Save the whole app (sidebar and the full scrolled main area) as a PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = tab.viewport_size or {"width": 1400, "height": 1000}
    height = tab.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    tab.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(int(height), max_height))}
    )
    try:
        tab.wait_for_timeout(400)  # charts re-lay out to the new window
        tab.screenshot(path=str(path), full_page=True)
    finally:
        tab.set_viewport_size(size)
    return path


def goto_page(tab, title: str) -> None:
    """Open a page the way a person does: its link in the sidebar (session state is kept)."""
    with expect_rerun(tab):
        tab.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=False).first.click()


def metric_value(tab, label: str) -> str:
    """Return the shown value of the first ``st.metric`` whose label is exactly ``label``."""
    metric = tab.locator('[data-testid="stMetric"]').filter(
        has=tab.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    )
    return metric.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def eventually(tab, check, what: str, timeout: float = 60) -> None:
    """Wait until ``check()`` holds: a run the action queued (a flash, then ``st.rerun()``) can begin after
    the page first went idle on a loaded machine, so what it shows is polled, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - the element is being replaced by the run: look again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        tab.wait_for_timeout(100)


def main_text(tab) -> str:
    """Return the visible text of the main area."""
    return tab.locator('[data-testid="stMain"]').inner_text()


def exception_texts(tab) -> list[str]:
    """Return the text of every exception box Streamlit shows (a page crashed)."""
    return tab.locator('[data-testid="stException"]').all_inner_texts()


def log_tail(server: dict, lines: int = 60) -> str:
    """Return the last lines of the app server's log (tracebacks of page crashes land there)."""
    try:
        return "\n".join(Path(server["log"]).read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"
