from pathlib import Path

import pytest

from tests import ast_race

# Before any test starts a thread: page tests parse scripts while background threads parse too.
ast_race.install()

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def workspace(tmp_path):
    from core.workspace import Workspace

    return Workspace.open(tmp_path / "ws")
