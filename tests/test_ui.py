"""ui.py's markup: data shown as Markdown is escaped, never interpreted."""

import ui
from core import dedup


def test_highlighted_diff_cannot_inject_anything():
    evil = "<script>alert(1)</script> [click](javascript:alert(1)) **bold** :red[x] $x$"
    left, _ = dedup.diff_words(evil, "nothing alike")
    markdown = ui.highlight_markdown(left)
    assert "<script>" not in markdown and "](" not in markdown and "**" not in markdown
    assert "\\<script\\>" in markdown


def test_only_the_differing_words_are_coloured():
    left, _ = dedup.diff_words("the quick brown fox", "the quick red fox")
    assert ui.highlight_markdown(left, "green") == "the quick :green-background[brown] fox"
