from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def workspace(tmp_path):
    from core.workspace import Workspace

    return Workspace.open(tmp_path / "ws")
