import json

import numpy as np
import pytest

from core import explore, profile, records
from core.__main__ import main
from tests.pages.conftest import small_frame


@pytest.fixture(scope="module")
def frame():
    return small_frame(40)


@pytest.fixture(scope="module")
def table(frame):
    return explore.explore_table(
        frame, profile.compute_features(frame), {3: ["refusal"], 5: ["pii_email", "refusal"]}
    )


def test_a_substring_search_is_case_folded_and_looks_in_the_chosen_field(table):
    assert explore.matching(table, explore.RowFilter(text="ORDER NUMBER 1007")).tolist() == [7]
    assert (
        explore.matching(table, explore.RowFilter(text="order number 1007", field="response")).tolist() == []
    )
    assert len(explore.matching(table, explore.RowFilter(text="ORDER", case_sensitive=True))) == 0
    assert explore.matching(table, explore.RowFilter(text=r"number 10(07|13)\?", regex=True)).tolist() == [
        7,
        13,
    ]


def test_facets_ranges_and_flags_all_hold(table, frame):
    billing = explore.RowFilter(facets={"category": ("billing",)})
    assert explore.matching(table, billing).tolist() == [i for i in range(40) if i % 3 == 0]
    assert explore.matching(table, explore.RowFilter(facets={"flag": ("refusal",)})).tolist() == [3, 5]
    both = explore.RowFilter(facets={"flag": ("pii_email",), "category": ("returns",)})
    assert explore.matching(table, both).tolist() == [5]
    tokens = table["total_tokens"].to_numpy()
    low = float(np.median(tokens))
    bounded = explore.matching(table, explore.RowFilter(ranges={"total_tokens": (low, None)}))
    assert bounded.tolist() == np.flatnonzero(tokens >= low).tolist()


def test_missing_values_are_a_facet_value_and_counts_are_most_first():
    rows = [
        records.make_record(
            "sft",
            [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}],
            extra={"category": "billing" if i < 3 else None},
        )
        for i in range(5)
    ]
    table = explore.explore_table(records.make_frame(rows))
    counts = explore.facet_counts(table, np.arange(5), "category")
    assert counts.to_dict("list") == {"value": ["billing", explore.MISSING], "rows": [3, 2]}
    picked = explore.matching(table, explore.RowFilter(facets={"category": (explore.MISSING,)}))
    assert picked.tolist() == [3, 4]


def test_a_filter_names_its_conditions_and_rejects_unknown_ones():
    row_filter = explore.RowFilter(
        text="refund", facets={"category": ("a", "b")}, ranges={"total_tokens": (10, 90)}
    )
    assert row_filter.chips() == ['all contains "refund"', "category = a or b", "10 <= total_tokens <= 90"]
    with pytest.raises(ValueError, match="cannot filter on colour"):
        explore.RowFilter(facets={"colour": ("red",)})
    with pytest.raises(ValueError, match="unknown search field 'title'"):
        explore.RowFilter(field="title")


def test_a_bad_regular_expression_is_a_value_error(table):
    with pytest.raises(ValueError, match="not a valid regular expression"):
        explore.matching(table, explore.RowFilter(text="order (", regex=True))


def test_the_snippet_is_taken_around_the_match():
    text = "x" * 300 + " the refund is late " + "y" * 300
    out = explore.snippet(text, "REFUND", width=60)
    assert "refund" in out and out.startswith("…") and out.endswith("…") and len(out) <= 62


def _write(tmp_path, frame):
    """The rows as OpenAI chat lines with their category beside the messages."""
    lines = [
        json.dumps({"messages": list(messages), "category": category})
        for messages, category in zip(frame["messages"], frame["category"], strict=True)
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_search_command_prints_matches_and_writes_them(tmp_path, capsys, frame):
    path = _write(tmp_path, frame)
    out = tmp_path / "billing.jsonl"
    code = main(
        [
            "search",
            str(path),
            "order",
            "--where",
            "category=billing",
            "--max",
            "n_turns=9",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 40 and summary["matches"] == 14
    assert summary["counts"]["category"] == {"billing": 14}
    assert summary["shown"][0]["line"] == 1 and "order number 1000" in summary["shown"][0]["prompt"]
    assert len(out.read_bytes().splitlines()) == 14


def test_the_search_command_says_what_is_wrong_with_a_filter(tmp_path, capsys, frame):
    path = _write(tmp_path, frame)
    assert main(["search", str(path), "--where", "category"]) == 2
    assert "--where 'category': write FACET=VALUE" in capsys.readouterr().err
    assert main(["search", str(path), "--min", "total_tokens=many"]) == 2
    assert "write MEASURE=NUMBER" in capsys.readouterr().err
