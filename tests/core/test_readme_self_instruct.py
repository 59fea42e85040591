"""The self-instruct example of README.md works as it says: each of its command lines is run."""

import shlex

from core import formats
from core.__main__ import main
from tests.conftest import ROOT


def code_blocks(text):
    """The fenced blocks of a Markdown text, each as its lines."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is not None:
                blocks.append(current)
            current = [] if current is None else None
        elif current is not None:
            current.append(line)
    return blocks


def readme_commands():
    blocks = code_blocks((ROOT / "README.md").read_text())
    (block,) = [b for b in blocks if any("self_instruct_seed_tasks" in line for line in b)]
    return [shlex.split(line, comments=True) for line in block if line.strip()]


def test_the_readme_shows_a_validate_and_a_convert_line():
    assert [argv[3] for argv in readme_commands()] == ["validate", "convert"]


def test_every_self_instruct_line_of_the_readme_runs(tmp_path, capsys):
    outputs = []
    for argv in readme_commands():
        assert argv[:3] == ["python", "-m", "core"]
        args = [str(ROOT / a) if a.startswith("sample_data/") else a for a in argv[3:]]
        if "-o" in args:
            at = args.index("-o") + 1
            args[at] = str(tmp_path / args[at])
            outputs.append(args[at])
        assert main(args) == 0, capsys.readouterr()
    assert "rows 16, valid 16, invalid 0" in capsys.readouterr().out  # "6 tasks: 16 examples"
    (out,) = outputs
    converted = formats.load_dataset(out, format="trl-messages")
    assert (converted.valid, converted.invalid) == (16, 0)
