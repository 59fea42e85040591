"""The display helpers every page shares (ui.py), outside any script run."""

import math

import pandas as pd

import ui


def test_blank_shows_missing_text_as_empty_and_keeps_numbers():
    frame = pd.DataFrame({"reason": ["incorrect", None], "note": [None, float("nan")], "line": [3, 4]})
    shown = ui.blank(frame)
    assert shown["reason"].tolist() == ["incorrect", ""]
    assert shown["note"].tolist() == ["", ""]
    assert shown["line"].tolist() == [3, 4]
    assert frame["reason"].isna().tolist() == [False, True]  # the caller's frame is not changed
    assert math.isnan(frame["note"].tolist()[1])


def test_plural_says_one_row_and_many_rows():
    assert (ui.plural(1, "row"), ui.plural(0, "row"), ui.plural(1000, "row")) == (
        "1 row",
        "0 rows",
        "1,000 rows",
    )
