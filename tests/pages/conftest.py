import pytest

from core import records
from core.workspace import Workspace
from tests.conftest import ROOT

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
CATEGORIES = ("billing", "shipping", "returns")


def small_frame(n: int = 40):
    rows = []
    for i in range(n):
        rows.append(
            records.make_record(
                "sft",
                [
                    {"role": "system", "content": "You are a support agent."},
                    {
                        "role": "user",
                        "content": f"Where is my order number {1000 + i}? It was due on day {i % 28 + 1}.",
                    },
                    {
                        "role": "assistant",
                        "content": f"Order {1000 + i} left the warehouse and arrives in {i % 5 + 1} days.",
                    },
                ],
                extra={
                    "category": CATEGORIES[i % 3],
                    "difficulty": ("easy", "moderate", "hard")[i % 3],
                    "created_at": f"2026-0{i % 9 + 1}-1{i % 9}T10:00:00Z",
                    "source": "real",
                },
                source_format="openai-sft",
                source_line=i + 1,
            )
        )
    return records.make_frame(rows)


@pytest.fixture
def seeded_workspace(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(small_frame(), note="test data", name="orders.jsonl", source_format="openai-sft")
    return ws


def app_test(path, root, timeout=60):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(path), default_timeout=timeout)
    at.session_state["workspace_root"] = str(root)
    return at


@pytest.fixture(autouse=True)
def _no_background_work_outlives_the_test():
    """End the threads a test's pages started (dataset warm-ups, synthetic runs) before the next test.

    Every page starts a warm-up of the current version (``ui.open_workspace``); left running, it works
    on while later tests run their pages: CPU taken from them, and concurrent ``ast.parse`` calls
    (see tests/ast_race.py).
    """
    from core import derived
    from core.synth import runner

    yield
    for (root, run_id), (thread, stop) in list(runner._ACTIVE.items()):
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), f"synthetic run {run_id} of {root} did not stop within 60 s"
    for key, warmup in list(derived._WARMING.items()):
        warmup.join(60)
        assert not warmup.is_alive(), f"warm-up {key} did not end within 60 s"
