import threading

import pandas as pd
import pytest

from core import records
from core.workspace import Workspace


def _frame(n=5, **extra):
    return records.make_frame(
        [
            records.make_record(
                "sft",
                [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
                extra={k: (v(i) if callable(v) else v) for k, v in extra.items()},
                source_line=i + 1,
            )
            for i in range(n)
        ]
    )


def test_versions_round_trip_nested_and_metadata_columns(tmp_path):
    ws = Workspace.open(tmp_path)
    frame = _frame(
        4,
        category="billing",
        flag=lambda i: i % 2 == 0,
        score=lambda i: i / 2,
        mixed=lambda i: [1, "two", None, 4.5][i],
    )
    version = ws.save_dataset(frame, note="upload", name="x.jsonl", source_format="openai-sft")
    back = Workspace.open(tmp_path).load_version(version)
    assert list(back["id"]) == list(frame["id"])
    assert back.loc[0, "messages"] == frame.loc[0, "messages"]
    assert back.loc[0, "extra"]["flag"] is True and list(back["score"]) == [0.0, 0.5, 1.0, 1.5]
    assert back["source_line"].dtype == "Int64" and back.loc[3, "source_line"] == 4
    assert back.loc[1, "mixed"] == "two" and pd.isna(back.loc[2, "mixed"])


def test_every_change_is_a_new_version_and_revert_keeps_history(tmp_path):
    ws = Workspace.open(tmp_path)
    first = ws.save_dataset(
        _frame(5),
        note="upload",
        name="x.jsonl",
        quarantine=pd.DataFrame({"line": [9], "raw": ["{"], "codes": ["invalid_json"], "reason": ["bad"]}),
    )
    ws.save_dataset(_frame(3), note="dedup")
    assert ws.dataset_info().name == "x.jsonl" and ws.dataset_info().parent == first
    third = ws.revert_to(first)
    assert [v.note for v in ws.versions()] == ["upload", "dedup", f"revert to v{first}"]
    assert len(ws.current_dataset()) == 5 and ws.dataset_version() == third
    assert list(ws.quarantine()["line"]) == [9]
    with pytest.raises(ValueError, match="no dataset version 99"):
        ws.revert_to(99)


def test_state_and_steps_survive_reopening(tmp_path):
    ws = Workspace.open(tmp_path)
    assert ws.current_dataset() is None and ws.dataset_version() is None
    ws.set_state("dedup.settings", {"threshold": 0.8})
    ws.save_dataset(_frame(2), note="upload")
    ws.mark_step("dedup", {"removed": 3})
    again = Workspace.open(tmp_path)
    assert again.get_state("dedup.settings") == {"threshold": 0.8}
    assert again.steps()["dedup"]["summary"] == {"removed": 3}
    assert again.steps()["dedup"]["dataset_version"] == 1
    with pytest.raises(ValueError, match="unknown journey step"):
        again.mark_step("nope", {})


def test_concurrent_writers_do_not_lose_versions(tmp_path):
    ws = Workspace.open(tmp_path)
    errors = []

    def save(i):
        try:
            Workspace.open(tmp_path).save_dataset(_frame(2), note=f"writer {i}")
            Workspace.open(tmp_path).set_state(f"k{i}", i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a writer was still blocked after 60 s"
    assert not errors
    assert sorted(v.version for v in ws.versions()) == [1, 2, 3, 4, 5, 6]
    assert all(ws.get_state(f"k{i}") == i for i in range(6))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", pd.NA, "b"], ["a", None, "b"]),  # pd.NA is missing, not the text "<NA>"
        ([1, "x", pd.NA], ["1", "x", None]),
        ([[1], pd.NA, None], [[1], None, None]),
        ([2**70, 1, None], [str(2**70), "1", None]),  # beyond int64: kept as text, not a crash
    ],
)
def test_object_columns_keep_missing_values_and_big_ints(tmp_path, values, expected):
    ws = Workspace.open(tmp_path)
    frame = _frame(3)
    frame["odd"] = pd.Series(values, dtype=object)
    back = ws.load_version(ws.save_dataset(frame, note="x"))
    assert [None if not isinstance(v, list) and pd.isna(v) else v for v in back["odd"]] == expected


def test_later_versions_keep_the_uploads_quarantine_and_problems(tmp_path):
    ws = Workspace.open(tmp_path)
    quarantine = pd.DataFrame({"line": [9], "raw": ["{"], "codes": ["invalid_json"], "reason": ["bad"]})
    problems = pd.DataFrame({"line": [9], "code": ["invalid_json"], "severity": ["error"]})
    ws.save_dataset(_frame(5), note="upload", quarantine=quarantine, problems=problems)
    later = ws.save_dataset(_frame(3), note="dedup")  # a step that does not touch the rejected rows
    assert list(ws.quarantine(later)["line"]) == [9] and list(ws.problems(later)["code"]) == ["invalid_json"]
    assert ws.dataset_info(later).quarantined == 1
    fresh = ws.save_dataset(_frame(2), note="new upload", quarantine=quarantine.iloc[:0])
    assert ws.quarantine(fresh).empty and ws.dataset_info(fresh).quarantined == 0


def test_a_folder_made_by_another_process_meanwhile_opens(tmp_path, monkeypatch):
    # two runners started at once both saw no folder and both made it: the second got "File exists"
    from pathlib import Path

    root = tmp_path / "ws"
    real_exists = Path.exists
    looks = []

    def not_yet(self, *args, **kwargs):
        if self == root and len(looks) < 2:  # this process looks twice before it makes the folder
            looks.append(self)
            if len(looks) == 2:
                root.mkdir()  # the other process makes it right after this one's last look
            return False
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", not_yet)
    ws = Workspace.open(root)
    assert ws.root == root and root.is_dir()
