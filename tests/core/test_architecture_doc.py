"""docs/ARCHITECTURE.md stays true: what it names exists, and it names every core package."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
NAMED = set(re.findall(r"`((?:core|pages)/[\w/.]*|app\.py|ui\w*\.py)`", DOC))


def test_every_module_the_document_names_exists() -> None:
    missing = sorted(name for name in NAMED if not (ROOT / name).exists())
    assert NAMED and missing == []


def test_every_core_package_is_named() -> None:
    packages = {f"{p.parent.relative_to(ROOT).as_posix()}/" for p in (ROOT / "core").glob("*/__init__.py")}
    assert packages - NAMED == set()
