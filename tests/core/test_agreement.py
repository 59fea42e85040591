import gzip
import io
import json
import math
from contextlib import redirect_stdout

import hypothesis.strategies as hs
import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from sklearn.metrics import cohen_kappa_score

from core import agreement, records
from core.__main__ import main
from core.errors import DatasetError, FormatError
from tests.conftest import SAMPLE_DATA

# Fleiss (1971) as reproduced on Wikipedia's "Fleiss' kappa" worked example:
# 10 subjects, 14 raters, 5 categories; kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def matrix_of(columns: dict[str, list]) -> pd.DataFrame:
    """A label matrix from lists of labels (None = missing), items numbered from 1."""
    n = len(next(iter(columns.values())))
    table = pd.DataFrame({"id": [str(i) for i in range(1, n + 1)], **columns})
    return agreement.to_label_matrix(table, annotators=list(columns))


def random_matrix(seed: int, n_items: int = 60, n_raters: int = 3, k: int = 4, missing: float = 0.2):
    rng = np.random.default_rng(seed)
    data = rng.integers(1, k + 1, size=(n_raters, n_items)).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    data[:, 0] = 1.0  # at least one item labelled by everyone, with one value
    data[:2, 1] = [1.0, 2.0]  # and two distinct values in the data
    columns = {f"r{i}": [None if np.isnan(v) else str(int(v)) for v in data[i]] for i in range(n_raters)}
    return data, matrix_of(columns)


def expand_counts(table) -> pd.DataFrame:
    """Turn a subjects x categories count table into a label matrix (one column per rater slot)."""
    rows = []
    for counts in table:
        labels = [f"c{j}" for j, count in enumerate(counts) for _ in range(count)]
        rows.append(labels)
    width = max(len(r) for r in rows)
    return matrix_of({f"r{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)})


# -- known values --------------------------------------------------------------------------


def test_fleiss_worked_example():
    assert agreement.fleiss_kappa_from_counts(FLEISS_TABLE) == pytest.approx(0.20993, abs=1e-5)
    assert round(agreement.fleiss_kappa_from_counts(FLEISS_TABLE), 3) == 0.210


def test_fleiss_from_label_matrix_matches_counts():
    assert agreement.fleiss_kappa(expand_counts(FLEISS_TABLE)) == pytest.approx(0.20993, abs=1e-5)


def test_fleiss_varying_raters_leaves_out_single_labels():
    # the third item has one label only: it must not change the result
    with_single = agreement.fleiss_kappa_from_counts([[2, 0, 1], [0, 3, 0], [1, 0, 0]])
    without = agreement.fleiss_kappa_from_counts([[2, 0, 1], [0, 3, 0]])
    assert with_single == pytest.approx(without)


@pytest.mark.parametrize("bad", [[1, 2, 3], [[1, -1], [0, 2]]])
def test_fleiss_rejects_bad_tables(bad):
    with pytest.raises(ValueError, match="counts"):
        agreement.fleiss_kappa_from_counts(bad)


@settings(max_examples=40, deadline=None)
@given(
    pairs=hs.lists(hs.tuples(hs.sampled_from("abcd"), hs.sampled_from("abcd")), min_size=2, max_size=60),
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cohen_equals_scikit_learn(pairs):
    y1, y2 = [p[0] for p in pairs], [p[1] for p in pairs]
    expected = cohen_kappa_score(y1, y2)
    kappa, n = agreement.cohen_kappa(matrix_of({"a": y1, "b": y2}), "a", "b")
    assert n == len(pairs)
    if y1 == y2:
        assert kappa == 1.0
    elif math.isnan(expected):
        assert math.isnan(kappa)
    else:
        assert kappa == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(
    pairs=hs.lists(hs.tuples(hs.sampled_from("1234"), hs.sampled_from("1234")), min_size=3, max_size=60),
    weights=hs.sampled_from([None, "linear", "quadratic"]),
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bootstrap_kernel_equals_scikit_learn(pairs, weights):
    """The vectorised kappa used for bootstrap intervals is the same statistic as scikit-learn's."""
    order = ["1", "2", "3", "4"]
    y1, y2 = [p[0] for p in pairs], [p[1] for p in pairs]
    expected = cohen_kappa_score(y1, y2, labels=order, weights=weights)
    confusion = np.zeros((1, 4, 4))
    for x, y in pairs:
        confusion[0, order.index(x), order.index(y)] += 1
    got = agreement._kappa_batch(confusion, agreement._weight_matrix(4, weights))[0]
    if math.isfinite(expected):
        assert got == pytest.approx(expected)


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_uses_the_given_order(weights):
    y1 = ["low", "mid", "high", "mid", "low", "high", "mid"]
    y2 = ["low", "high", "high", "low", "mid", "mid", "mid"]
    order = ["low", "mid", "high"]
    kappa, _ = agreement.cohen_kappa(matrix_of({"a": y1, "b": y2}), "a", "b", order=order, weights=weights)
    assert kappa == pytest.approx(cohen_kappa_score(y1, y2, labels=order, weights=weights))


def test_weighted_kappa_needs_an_order():
    with pytest.raises(ValueError, match="order"):
        agreement.cohen_kappa(matrix_of({"a": ["x"], "b": ["x"]}), "a", "b", weights="linear")


def test_cohen_uses_only_items_both_labelled():
    m = matrix_of({"a": ["x", "y", None, "x"], "b": ["x", "y", "x", None]})
    assert agreement.cohen_kappa(m, "a", "b") == (1.0, 2)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_krippendorff_alpha_equals_reference_package(level, seed):
    data, m = random_matrix(seed, missing=0.3, n_raters=2 + seed % 3, k=3 + seed)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert agreement.krippendorff_alpha(m, level=level) == pytest.approx(expected)


@settings(max_examples=25, deadline=None)
@given(seed=hs.integers(0, 10_000), level=hs.sampled_from(["nominal", "ordinal", "interval"]))
def test_krippendorff_alpha_property(seed, level):
    data, m = random_matrix(seed, n_items=25, missing=0.35)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert agreement.krippendorff_alpha(m, level=level) == pytest.approx(expected)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_the_bootstrap_kernel_gives_the_reference_alpha_on_every_resample(level):
    """Why alpha stays hand-written: one vectorised pass scores every bootstrap resample at once, and
    each of its values is what the ``krippendorff`` package gives for that resample (one call each)."""
    from core.agreement import metrics

    data, m = random_matrix(7, n_items=30, missing=0.25)
    categories = metrics._alpha_categories(m, level, None)
    counts = metrics._counts(metrics._encode(m, categories), len(categories))
    kept = np.flatnonzero(counts.sum(axis=1) >= 2)
    draws = metrics._resample_weights(len(kept), 20, seed=3)
    values = metrics._interval_values(categories, None) if level == "interval" else np.arange(len(categories))
    batch = metrics._alpha_batch(counts[kept], draws, level, values.astype(float))
    for r, weights in enumerate(draws):
        resampled = data[:, np.repeat(kept, weights.astype(int))]
        expected = krippendorff.alpha(reliability_data=resampled, level_of_measurement=level)
        assert batch[r] == pytest.approx(expected), r


def test_ordinal_alpha_with_text_labels_and_order():
    order = ["never", "sometimes", "often"]
    numeric = {"never": 1, "sometimes": 2, "often": 3}
    a = ["never", "often", "sometimes", None, "often", "never"]
    b = ["never", "sometimes", "sometimes", "often", "often", "sometimes"]
    data = np.array([[numeric[v] if v else np.nan for v in col] for col in (a, b)], dtype=float)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert agreement.krippendorff_alpha(
        matrix_of({"a": a, "b": b}), level="ordinal", order=order
    ) == pytest.approx(expected)


def test_ordered_alpha_without_order_on_text_is_a_dataset_error():
    with pytest.raises(DatasetError, match="order"):
        agreement.krippendorff_alpha(matrix_of({"a": ["x", "y"], "b": ["x", "x"]}), level="ordinal")


# -- properties ------------------------------------------------------------------------------


def test_perfect_agreement_is_one():
    labels = ["billing", "shipping", "returns", "billing", "shipping"]
    m = matrix_of({"a": labels, "b": labels, "c": labels})
    report = agreement.compute_report(m)
    assert report.fleiss_kappa == 1.0
    assert report.krippendorff_alpha == 1.0
    assert report.percent_agreement == 1.0
    assert all(p.kappa == 1.0 for p in report.pairwise)
    assert set(report.per_label.values()) == {1.0}
    assert report.gate.passed


def test_perfect_agreement_on_one_label_is_one():
    m = matrix_of({"a": ["x", "x"], "b": ["x", "x"], "c": ["x", None]})
    report = agreement.compute_report(m)
    assert report.overall_kappa == 1.0
    assert report.krippendorff_alpha == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_symmetry_and_annotator_order(seed):
    _, m = random_matrix(seed)
    assert agreement.cohen_kappa(m, "r0", "r1")[0] == pytest.approx(agreement.cohen_kappa(m, "r1", "r0")[0])
    shuffled = m[["r2", "r0", "r1"]]
    assert agreement.fleiss_kappa(shuffled) == pytest.approx(agreement.fleiss_kappa(m))
    assert agreement.krippendorff_alpha(shuffled) == pytest.approx(agreement.krippendorff_alpha(m))


@pytest.mark.parametrize("seed", range(5))
def test_invariant_to_label_renaming(seed):
    _, m = random_matrix(seed)
    names = {"1": "zeta", "2": "alpha", "3": "mu", "4": "beta"}
    renamed = m.apply(lambda col: col.map(lambda v: names.get(v) if v is not None else None))
    a, b = agreement.compute_report(m), agreement.compute_report(renamed)
    assert b.fleiss_kappa == pytest.approx(a.fleiss_kappa)
    assert b.krippendorff_alpha == pytest.approx(a.krippendorff_alpha)
    assert [p.kappa for p in b.pairwise] == pytest.approx([p.kappa for p in a.pairwise])
    assert {names[k]: v for k, v in a.per_label.items()} == pytest.approx(b.per_label)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    _, m = random_matrix(7, n_items=200, k=3, missing=0.1)
    first = agreement.bootstrap_ci(m, "fleiss", n_resamples=300, seed=5)
    assert first == agreement.bootstrap_ci(m, "fleiss", n_resamples=300, seed=5)
    assert first != agreement.bootstrap_ci(m, "fleiss", n_resamples=300, seed=6)
    assert first[0] <= agreement.fleiss_kappa(m) <= first[1]
    low, high = agreement.bootstrap_ci(m, "alpha", n_resamples=300, seed=5, level="nominal")
    assert low <= agreement.krippendorff_alpha(m) <= high
    low, high = agreement.bootstrap_ci(m, "cohen", pair=("r0", "r1"), n_resamples=300, seed=5)
    assert low <= agreement.cohen_kappa(m, "r0", "r1")[0] <= high


def test_report_with_intervals():
    _, m = random_matrix(3, n_items=80)
    report = agreement.compute_report(m, agreement.AgreementConfig(n_resamples=200), seed=1)
    assert report.kappa_ci and report.alpha_ci
    assert all(p.ci for p in report.pairwise)


# -- gate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kappa", "status"),
    [(0.0, "fail"), (0.6999, "fail"), (0.7, "pass"), (0.7001, "pass"), (1.0, "pass"), (math.nan, "fail")],
)
def test_gate_boundaries(kappa, status):
    gate = agreement.check_gate(kappa)
    assert gate.status == status
    assert (gate.advice == "") == (status == "pass")
    if status == "fail":
        assert "Retrain the annotators" in gate.advice and "merge labels" in gate.advice


def test_gate_flags_each_label_under_the_bar():
    gate = agreement.check_gate(0.9, {"a": 0.95, "b": 0.69, "c": 0.7, "d": math.nan})
    assert gate.flagged_labels == ("b", "d")
    assert agreement.high_disagreement_labels({"a": 0.95, "b": 0.69, "d": math.nan}) == ["d", "b"]


def test_config_validation():
    with pytest.raises(ValueError, match="level"):
        agreement.AgreementConfig(level="ratio")
    with pytest.raises(ValueError, match="order"):
        agreement.AgreementConfig(level="ordinal")
    with pytest.raises(ValueError, match="threshold"):
        agreement.check_gate(0.5, threshold=1.5)


# -- reading labels ----------------------------------------------------------------------------


def test_long_and_wide_give_the_same_matrix():
    wide = b"id,annotator_a,annotator_b\n1,x,y\n2,y,\n3,x,x\n"
    long = (
        b"item_id,annotator,label\n1,annotator_a,x\n1,annotator_b,y\n2,annotator_a,y\n"
        b"3,annotator_a,x\n3,annotator_b,x\n"
    )
    m_wide = agreement.to_label_matrix(agreement.read_label_file(wide, "w.csv"))
    m_long = agreement.to_label_matrix(agreement.read_label_file(long, "l.csv"))
    pd.testing.assert_frame_equal(m_wide, m_long[m_wide.columns])
    assert m_wide.loc["2", "annotator_b"] is None


def test_long_table_with_two_labels_for_one_annotator_is_an_error():
    table = agreement.read_label_file(b"item_id,annotator,label\n1,a,x\n1,a,y\n1,b,x\n", "l.csv")
    with pytest.raises(DatasetError, match="more than one label"):
        agreement.to_label_matrix(table)


def test_jsonl_rows_get_the_canonical_id():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    line = json.dumps({"messages": messages, "annotator_a": "x", "annotator_b": "y"})
    m = agreement.to_label_matrix(agreement.read_label_file((line + "\n").encode(), "d.jsonl"))
    assert list(m.index) == [records.content_id("sft", messages, None, None, None)]


def test_label_files_are_read_through_core_io_gzip_and_tabs_included():
    wide = b"id\tannotator_a\tannotator_b\n1\tx\tNA\n2\ty\t\n"
    table = agreement.read_label_file(gzip.compress(wide), "labels.tsv.gz")
    assert table.to_dict("records") == [
        {"id": "1", "annotator_a": "x", "annotator_b": None},
        {"id": "2", "annotator_a": "y", "annotator_b": None},
    ]


def test_a_json_row_that_is_not_an_object_names_its_line():
    with pytest.raises(FormatError, match="line 2: expected a JSON object, got list"):
        agreement.read_label_file(b'{"id": 1, "a": "x"}\n[1, 2]\n', "labels.jsonl")


def test_malformed_jsonl_names_the_line():
    with pytest.raises(FormatError, match="line 2"):
        agreement.read_label_file(b'{"id": 1, "a": "x"}\n{oops\n', "labels.jsonl")


def test_one_annotator_is_a_dataset_error():
    with pytest.raises(DatasetError, match="two annotators"):
        agreement.to_label_matrix(pd.DataFrame({"id": ["1"], "annotator_a": ["x"]}))


def test_guess_and_candidate_columns():
    frame = pd.DataFrame(
        {
            "id": ["1", "2"],
            "annotator_a": ["x", "y"],
            "rater2": ["x", "x"],
            "label_status": ["a", "b"],
            "text": ["p", "q"],
        }
    )
    assert agreement.guess_annotator_columns(frame) == ["annotator_a", "rater2"]
    assert "annotator_a" in agreement.candidate_label_columns(frame)


def test_numbers_become_clean_labels():
    m = agreement.to_label_matrix(
        pd.DataFrame({"id": [1, 2], "r1": [1.0, float("nan")], "r2": [2, 3]}), annotators=["r1", "r2"]
    )
    assert m.loc["1"].tolist() == ["1", "2"]
    assert m.loc["2", "r1"] is None


# -- where they disagree -----------------------------------------------------------------------


@pytest.fixture
def confusing():
    """a and b agree; c confuses returns with warranty and drifts."""
    a = ["returns", "warranty", "billing", "billing", "shipping", "returns", "warranty", "shipping"] * 3
    c = ["warranty", "returns", "billing", "shipping", "shipping", "warranty", "returns", "billing"] * 3
    return matrix_of({"a": a, "b": list(a), "c": c})


def test_confusion_matrix(confusing):
    table = agreement.confusion_matrix(confusing, "a", "c")
    assert table.loc["returns", "warranty"] == 6
    assert table.to_numpy().sum() == 24
    assert agreement.confusion_matrix(confusing, "a", "b").to_numpy().trace() == 24


def test_confused_pairs_and_drift(confusing):
    pairs = agreement.confused_pairs(confusing, top=3)
    assert pairs[0].labels == ("returns", "warranty")
    assert pairs[0].count == 24 and len(pairs[0].item_ids) == 12
    table = agreement.annotator_agreement(confusing)
    assert table.set_index("annotator")["drifting"].to_dict() == {"a": False, "b": False, "c": True}


def test_disputed_items_and_csv(confusing):
    table = agreement.disputed_items(confusing, texts={"1": "first"})
    assert list(table.columns) == ["item_id", "a", "b", "c", "majority", "tied", "text"]
    assert len(table) == 18
    assert table.loc[table["item_id"] == "1", "majority"].item() == "returns"
    csv = agreement.disputed_items_csv(table).decode()
    assert csv.splitlines()[0] == "item_id,a,b,c,majority,tied,text"


# -- consolidation -----------------------------------------------------------------------------


@pytest.fixture
def tied():
    return matrix_of(
        {"a": ["x", "x", "x", "y", None], "b": ["x", "y", "y", None, None], "c": ["x", "x", None, None, "z"]}
    )


@pytest.mark.parametrize(
    ("policy", "status_3"),
    [("flag", "tie"), ("drop", "dropped"), ("adjudicate", "pending")],
)
def test_tie_policies(tied, policy, status_3):
    result = agreement.consolidate(tied, tie_policy=policy)
    table = result.table
    assert table["status"].tolist() == ["unanimous", "majority", status_3, "single", "single"]
    assert table.loc["2", "label"] == "x"
    assert table.loc["3", "label"] is None
    assert result.pending == (["3"] if policy == "adjudicate" else [])


def test_adjudication_overrides_the_vote(tied):
    result = agreement.consolidate(
        tied, tie_policy="adjudicate", adjudications={"3": "y", "2": "y", "nope": "x"}
    )
    assert result.table.loc["3"].tolist() == ["y", "adjudicated"]
    assert result.table.loc["2"].tolist() == ["y", "adjudicated"]
    assert result.pending == []


def test_unknown_tie_policy(tied):
    with pytest.raises(ValueError, match="tie_policy"):
        agreement.consolidate(tied, tie_policy="coin")


def test_adjudication_queue_scopes(tied):
    result = agreement.consolidate(tied, tie_policy="adjudicate")
    assert agreement.adjudication_queue(tied, result) == ["3"]
    assert agreement.adjudication_queue(tied, result, scope="disputed") == ["2", "3"]


def test_apply_consolidation_writes_the_column(tied):
    dataset = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "6"],
            "category": ["old"] * 5,
            "extra": [{"category": "old"}, {}, {"category": "old"}, None, {"category": "old"}],
        }
    )
    result = agreement.consolidate(tied, tie_policy="drop")
    out, summary = agreement.apply_consolidation(dataset, result)
    assert out["id"].tolist() == ["1", "2", "4", "6"]
    assert out["category"].tolist() == ["x", "x", "y", "old"]
    assert out["extra"].tolist()[0] == {"category": "x"}
    assert out["label_status"].tolist()[:3] == ["unanimous", "majority", "single"]
    assert summary == {"labelled": 3, "dropped": 1, "pending": 0, "flagged": 0}
    assert dataset["category"].tolist() == ["old"] * 5  # the input is not changed
    with pytest.raises(ValueError, match="messages"):
        agreement.apply_consolidation(dataset, result, column="messages")


# -- workspace ---------------------------------------------------------------------------------


def test_adjudications_are_saved_at_once(workspace):
    agreement.save_adjudication(workspace, "item-1", "returns")
    agreement.save_adjudication(workspace, "item-2", "warranty")
    agreement.save_adjudication(workspace, "item-1", "warranty")
    assert agreement.load_adjudications(workspace) == {"item-1": "warranty", "item-2": "warranty"}
    agreement.save_adjudication(workspace, "item-2", None)
    assert agreement.load_adjudications(workspace) == {"item-1": "warranty"}


def test_guidelines_round_trip(workspace):
    guideline = agreement.Guideline(
        "Product is broken within the warranty period.",
        ("Broke after 3 months", "Dead pixel"),
        ("Wrong size", ""),
        "Age decides.",
    )
    agreement.save_guideline(workspace, "warranty", guideline)
    stored = workspace.get_state(agreement.GUIDELINES_KEY)
    assert stored["warranty"]["negatives"] == ["Wrong size"]
    assert agreement.load_guidelines(workspace) == {"warranty": guideline}
    high = ["returns", "warranty"]
    assert agreement.labels_without_guidelines(high, agreement.load_guidelines(workspace)) == ["returns"]
    assert agreement.labels_without_guidelines(high, stored) == ["returns"]
    agreement.save_guideline(workspace, "warranty", agreement.Guideline())
    assert agreement.load_guidelines(workspace) == {}


def test_uploaded_labels_round_trip(workspace, tied):
    agreement.save_uploaded_labels(workspace, tied, filename="labels.csv")
    loaded = agreement.load_uploaded_labels(workspace)
    assert list(loaded.columns) == ["a", "b", "c"]
    pd.testing.assert_frame_equal(loaded.sort_index(), tied.drop(index=[]).sort_index(), check_dtype=False)


# -- command line ------------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_json_shape(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("id,annotator_a,annotator_b,annotator_c\n1,x,x,y\n2,y,y,y\n3,x,,x\n4,z,x,z\n")
    code, out = run_cli("agreement", str(path), "--json")
    assert code == 0
    payload = json.loads(out)
    keys = ["items", "annotators", "percent_agreement", "pairwise", "fleiss_kappa", "krippendorff_alpha"]
    assert list(payload)[:8] == [*keys, "per_label", "gate"]
    assert payload["items"] == 4
    assert payload["annotators"] == ["annotator_a", "annotator_b", "annotator_c"]
    assert [set(p) for p in payload["pairwise"]] == [{"a", "b", "kappa", "n"}] * 3
    assert payload["pairwise"][0]["n"] == 3
    assert set(payload["per_label"]) == {"x", "y", "z"}
    assert payload["gate"] in ("pass", "fail")


def test_cli_long_annotators_and_ordinal(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text("item_id,annotator,label\n1,a,low\n1,b,mid\n2,a,high\n2,b,high\n3,a,low\n3,b,low\n")
    code, out = run_cli("agreement", str(long), "--long", "--ordinal", "low,mid,high", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["fleiss_kappa"] is None
    expected = cohen_kappa_score(
        ["low", "high", "low"], ["mid", "high", "low"], labels=["low", "mid", "high"], weights="linear"
    )
    assert payload["pairwise"][0]["kappa"] == pytest.approx(expected, abs=1e-6)
    wide = tmp_path / "d.jsonl"
    wide.write_text('{"id": "1", "x": "a", "y": "a"}\n{"id": "2", "x": "b", "y": "a"}\n')
    code, out = run_cli("agreement", str(wide), "--annotators", "x,y", "--json")
    assert code == 0 and json.loads(out)["annotators"] == ["x", "y"]


def test_cli_errors_are_messages(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("id,annotator_a\n1,x\n")
    assert main(["agreement", str(path), "--json"]) == 2
    assert "two annotators" in capsys.readouterr().err
    assert main(["agreement", str(tmp_path / "missing.csv")]) == 2


# -- the bundled sample ------------------------------------------------------------------------


def test_sample_annotations_fail_the_gate_on_one_pair_and_one_annotator():
    table = agreement.read_label_file(
        (SAMPLE_DATA / "support_annotations.csv").read_bytes(), "support_annotations.csv"
    )
    m = agreement.to_label_matrix(table)
    report = agreement.compute_report(m)
    assert list(m.columns) == ["annotator_a", "annotator_b", "annotator_c"]
    assert m.isna().to_numpy().any()
    assert report.fleiss_kappa < 0.7 and report.gate.status == "fail"
    assert agreement.confused_pairs(m)[0].labels == ("returns", "warranty")
    assert {"returns", "warranty"} <= set(report.gate.flagged_labels)
    drift = agreement.annotator_agreement(m, report.pairwise).set_index("annotator")["drifting"]
    assert drift.to_dict() == {"annotator_a": False, "annotator_b": False, "annotator_c": True}


def test_sample_annotation_ids_are_canonical_ids():
    table = agreement.read_label_file((SAMPLE_DATA / "support_annotations.csv").read_bytes(), "a.csv")
    ids = set()
    for line in (SAMPLE_DATA / "support_sft.jsonl").read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("messages"), list):
            ids.add(records.content_id("sft", row["messages"], None, None, row.get("tools")))
    assert set(table["id"]) <= ids
