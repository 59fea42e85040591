import json

import pytest

from core.__main__ import main
from core.project import FIRST, Project
from tests.pages.conftest import small_frame


def _uploaded(ws, name="orders.jsonl", n=10):
    ws.save_dataset(small_frame(n), note=f"upload {name}", name=name, source_format="openai-sft")
    return ws


def test_a_workspace_from_before_datasets_is_the_first_dataset_where_it_is(tmp_path):
    from core.workspace import Workspace

    legacy = _uploaded(Workspace.open(tmp_path / "ws"), "support.jsonl", 12)
    files = lambda: sorted(p for p in (tmp_path / "ws").rglob("*") if not p.name.endswith(("-wal", "-shm")))  # noqa: E731
    before = files()
    entries = Project(tmp_path / "ws").datasets()
    assert [(e.slug, e.name, e.rows, e.version) for e in entries] == [(FIRST, "support.jsonl", 12, 1)]
    assert entries[0].root == legacy.root
    assert files() == before  # nothing moved or written (SQLite's own -wal / -shm aside)


def test_datasets_are_separate_workspaces_with_unique_slugs_and_names(tmp_path):
    from core.workspace import Workspace

    _uploaded(Workspace.open(tmp_path / "ws"), "orders.jsonl")
    project = Project(tmp_path / "ws")
    second = _uploaded(project.create("orders.jsonl"), n=5)
    third = project.create("Orders.JSONL.gz")
    entries = project.datasets()
    assert [e.slug for e in entries] == [FIRST, "orders", "orders-2"]
    assert [e.name for e in entries] == ["orders.jsonl", "orders.jsonl (2)", "Orders.JSONL.gz"]
    assert [e.rows for e in entries] == [10, 5, 0]
    assert second.root == tmp_path / "ws" / "datasets" / "orders" and third.load_version  # a real workspace
    assert Project.of(second.root) == project and Project.of(project.root) == project


def test_the_current_dataset_is_remembered_and_falls_back_when_it_is_gone(tmp_path):
    import shutil

    from core.workspace import Workspace

    Workspace.open(tmp_path / "ws")
    project = Project(tmp_path / "ws")
    assert project.current() == FIRST
    project.create("b")
    project.set_current("b")
    assert Project(tmp_path / "ws").current() == "b"
    with pytest.raises(ValueError, match="no dataset 'nope'"):
        project.set_current("nope")
    shutil.rmtree(project.workspace_root("b"))
    assert project.current() == FIRST


def test_a_damaged_project_file_loses_only_the_names(tmp_path):
    from core.workspace import Workspace

    _uploaded(Workspace.open(tmp_path / "ws"), "first.jsonl")
    project = Project(tmp_path / "ws")
    _uploaded(project.create("named"), "upload.jsonl")
    (tmp_path / "ws" / "project.json").write_text("{not json")
    assert [(e.slug, e.name) for e in project.datasets()] == [
        (FIRST, "first.jsonl"),
        ("named", "upload.jsonl"),
    ]


def test_an_empty_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a dataset needs a name"):
        Project(tmp_path).create("  ")


def test_the_datasets_command_lists_and_creates(tmp_path, capsys):
    from core.workspace import Workspace

    _uploaded(Workspace.open(tmp_path / "ws"), "first.jsonl")
    assert main(["datasets", "--workspace", str(tmp_path / "ws"), "--create", "Eval set", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(d["slug"], d["rows"], d["current"]) for d in out["datasets"]] == [
        (FIRST, 10, True),
        ("eval-set", 0, False),
    ]
    assert out["created"] == str(tmp_path / "ws" / "datasets" / "eval-set")
