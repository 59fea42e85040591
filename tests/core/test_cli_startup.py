"""Every command's ``--help`` imports only the command line itself: no pandas, numpy, datasketch."""

import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import _COMMANDS

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import contextlib, io, sys
from core.__main__ import main
heavy = ("pandas", "numpy", "scipy", "pyarrow", "datasketch", "tiktoken", "core.formats", "core.dedup")
for name in sys.argv[1:]:
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
        main([name, "--help"])
    assert "usage:" in out.getvalue(), name
    loaded = [m for m in heavy if m in sys.modules]
    print(name, ",".join(loaded) or "-")
"""


def test_help_of_every_command_loads_no_heavy_module():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *_COMMANDS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:-1] == [f"{name} -" for name in _COMMANDS]


def test_a_wrong_choice_still_lists_the_names(capsys, monkeypatch):
    from core.__main__ import main

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with pytest.raises(SystemExit) as stopped:
        main(["dedup", "x.jsonl", "--keep", "oldest"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'oldest'" in err and "'longest'" in err
