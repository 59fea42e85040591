import json
from pathlib import Path

import pytest

from tests import ast_race

# Before any test starts a thread: page tests parse scripts while background threads parse too.
ast_race.install()

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


def write_prompts(path: Path, prompts: list[str], reply: str = "Sure.") -> Path:
    """Write an OpenAI-chat JSONL file: one row per prompt, each answered with ``reply``."""
    messages = (
        {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": reply}]}
        for p in prompts
    )
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


@pytest.fixture
def workspace(tmp_path):
    from core.workspace import Workspace

    return Workspace.open(tmp_path / "ws")
