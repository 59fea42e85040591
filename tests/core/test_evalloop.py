import contextlib
import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from core import evalloop, lang
from core.__main__ import main
from core.errors import DatasetError, FormatError
from tests.conftest import SAMPLE_DATA

SAMPLE = SAMPLE_DATA / "eval_results.csv"
SAMPLE_BASE = SAMPLE_DATA / "eval_results_base.csv"


def _frame(expected, predicted, *, category=None, inputs=None, score=None):
    n = len(expected)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "input": inputs
            if inputs is not None
            else [f"message number {i} about something" for i in range(n)],
            "expected": list(expected),
            "predicted": list(predicted),
            "category": category if category is not None else [None] * n,
            "score": score if score is not None else [np.nan] * n,
        },
        dtype=object,
    ).astype({"score": float})


@pytest.fixture(scope="module")
def sample_reports():
    current = evalloop.build_report(evalloop.read_results(SAMPLE))
    baseline = evalloop.build_report(evalloop.read_results(SAMPLE_BASE))
    return current, baseline


# ----------------------------------------------------------------------------- metrics = scikit-learn

_LABELS = ["billing", "shipping", "returns", "warranty"]


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=25, deadline=None)
@given(hs.lists(hs.tuples(hs.sampled_from(_LABELS), hs.sampled_from(_LABELS)), min_size=2, max_size=60))
def test_label_metrics_equal_sklearn(pairs):
    y_true, y_pred = [p[0] for p in pairs], [p[1] for p in pairs]
    report = evalloop.build_report(_frame(y_true, y_pred), task="labels", languages=False)
    assert report.overall["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    labels = sorted(set(y_true) | set(y_pred))
    macro = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    assert report.overall["macro_f1"] == pytest.approx(macro)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        got = report.per_category[label]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(
            (p[i], r[i], f[i], s[i])
        )
    assert report.confusion == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert report.labels == labels


def test_sample_metrics_equal_classification_report(sample_reports):
    current, _ = sample_reports
    table = pd.read_csv(SAMPLE)
    expected = classification_report(table["expected"], table["predicted"], output_dict=True, zero_division=0)
    for label, item in current.per_category.items():
        assert item["precision"] == pytest.approx(expected[label]["precision"])
        assert item["recall"] == pytest.approx(expected[label]["recall"])
        assert item["f1"] == pytest.approx(expected[label]["f1-score"])
        assert item["support"] == expected[label]["support"]
    assert current.overall["accuracy"] == pytest.approx(expected["accuracy"]) == pytest.approx(0.885)
    assert current.overall["macro_f1"] == pytest.approx(expected["macro avg"]["f1-score"])


def test_free_text_exact_match_is_normalised_and_score_mean_given():
    frame = _frame(
        ["Paris", "42", "blue whale"], ["  paris. ", "forty-two", "Blue  Whale!"], score=[1.0, 0.2, 0.9]
    )
    report = evalloop.build_report(frame, task="text")
    assert report.overall["exact_match"] == pytest.approx(2 / 3)
    assert report.overall["score_mean"] == pytest.approx(0.7)
    assert report.per_category == {}
    assert evalloop.main_metric("text", report.frame) == "exact_match"


def test_score_only_eval_uses_the_grader_score():
    frame = _frame([None] * 4, ["a long answer", "b", "c", "d"], score=[0.9, 0.1, 0.8, 0.2])
    report = evalloop.build_report(frame)
    assert report.task == "text"
    assert report.overall["score_mean"] == pytest.approx(0.5)
    assert report.frame["correct"].tolist() == [True, False, True, False]
    assert {s.metric for s in report.slices} == {"score"}


@pytest.mark.parametrize(
    ("expected", "task"),
    [
        (["billing", "shipping"] * 10, "labels"),
        (["The parcel ships on Monday with the express service, tracking by email."] * 20, "text"),
        ([f"answer number {i}" for i in range(40)], "text"),
    ],
)
def test_detect_task(expected, task):
    assert evalloop.detect_task(_frame(expected, expected)) == task


# ----------------------------------------------------------------------------- reading and columns


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["id", "input", "expected", "predicted"], {"expected": "expected", "predicted": "predicted"}),
        (["ID", "Prompt", "Label", "Prediction"], {"id": "ID", "input": "Prompt", "expected": "Label"}),
        (["uid", "question", "gold", "model_output"], {"expected": "gold", "predicted": "model_output"}),
        (["qid", "text", "target", "output", "Category"], {"expected": "target", "category": "Category"}),
        (
            ["id", "reference", "response", "grade"],
            {"expected": "reference", "predicted": "response", "score": "grade"},
        ),
        (["Gold Label", "Model Output", "input"], {"expected": "Gold Label", "predicted": "Model Output"}),
    ],
)
def test_guess_columns_by_usual_names(columns, expected):
    guess = evalloop.guess_columns(columns)
    for role, column in expected.items():
        assert guess[role] == column


def test_overrides_win_and_unknown_override_is_a_value_error():
    guess = evalloop.guess_columns(
        ["q", "truth", "guess", "label"], {"expected": "truth", "predicted": "guess"}
    )
    assert (guess["expected"], guess["predicted"]) == ("truth", "guess")
    with pytest.raises(ValueError, match="nope"):
        evalloop.guess_columns(["a", "b"], {"expected": "nope"})
    with pytest.raises(ValueError, match="role"):
        evalloop.guess_columns(["a", "b"], {"colour": "a"})


def test_column_map_validates():
    with pytest.raises(ValueError, match="predicted"):
        evalloop.ColumnMap(id="id", expected="e")
    with pytest.raises(ValueError, match="one role"):
        evalloop.ColumnMap(id="x", predicted="x")


@pytest.mark.parametrize("kind", ["csv", "jsonl", "json", "tsv"])
def test_read_results_in_each_format(kind):
    rows = [
        {"id": i, "prompt": f"text {i}", "gold": "a" if i % 2 else "b", "prediction": "a"} for i in range(6)
    ]
    if kind == "csv":
        data = pd.DataFrame(rows).to_csv(index=False).encode()
    elif kind == "tsv":
        data = pd.DataFrame(rows).to_csv(index=False, sep="\t").encode()
    elif kind == "jsonl":
        data = "\n".join(json.dumps(r) for r in rows).encode()
    else:
        data = json.dumps(rows).encode()
    frame = evalloop.read_results(data, filename=f"results.{kind}")
    assert list(frame.columns) == list(evalloop.STANDARD_COLUMNS)
    assert frame["id"].tolist() == [str(i) for i in range(6)]
    assert frame["expected"].tolist() == ["b", "a", "b", "a", "b", "a"]


def test_gzipped_results_are_read():
    data = gzip.compress(b"id,label,prediction\n1,a,a\n2,b,a\n")
    assert evalloop.read_results(data, filename="r.csv.gz")["predicted"].tolist() == ["a", "a"]
    with pytest.raises(FormatError, match="gzip"):
        evalloop.read_results(data[:12], filename="r.csv.gz")


def _results_rows():
    return [
        {"id": i, "prompt": f"text {i}", "gold": "a" if i % 2 else "b", "prediction": "a"} for i in range(4)
    ]


@pytest.mark.parametrize("kind", ["jsonl.gz", "json.gz", "parquet", "parquet.gz"])
def test_results_read_through_the_one_reader(kind, tmp_path):
    rows = _results_rows()
    if kind.startswith("parquet"):
        pd.DataFrame(rows).to_parquet(tmp_path / "r.parquet")
        data = (tmp_path / "r.parquet").read_bytes()
    elif kind.startswith("jsonl"):
        data = "\n".join(json.dumps(r) for r in rows).encode()
    else:
        data = json.dumps(rows, indent=2).encode()
    if kind.endswith(".gz"):
        data = gzip.compress(data)
    frame = evalloop.read_results(data, filename=f"results.{kind}")
    assert frame["id"].tolist() == ["0", "1", "2", "3"]  # numbers kept as text, as in CSV
    assert frame["expected"].tolist() == ["b", "a", "b", "a"]
    assert frame["input"].tolist() == [f"text {i}" for i in range(4)]


def test_a_results_file_cut_short_names_the_file_and_the_line():
    lines = "\n".join(json.dumps(r) for r in _results_rows() * 400).encode()
    data = gzip.compress(lines)
    with pytest.raises(FormatError, match=r"results.jsonl.gz: the compressed file ends early after line \d+"):
        evalloop.read_table(data[: len(data) // 2], filename="results.jsonl.gz")
    with pytest.raises(FormatError, match=r"results.csv.gz: the file is empty \(the gzip data ends"):
        evalloop.read_table(data[:12], filename="results.csv.gz")


def test_ids_come_from_the_input_when_missing():
    data = b"input,label,prediction\nhello there,a,a\nsomething else,b,a\n"
    frame = evalloop.read_results(data, filename="x.csv")
    assert frame["id"].str.len().tolist() == [16, 16]


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", FormatError, "empty"),
        (b"\xff\xfe\x00garbage", FormatError, r"bad.csv: found only one column"),
        (b'{"id": 1, "label": "a", "prediction": "a"}\n{"id": 2, "label": \n', FormatError, "line 2"),
        (b"[1, 2]", FormatError, "bad.json, line 1: expected a JSON object, got int"),
        (b"id,label,prediction\n1,a,a\n2,b\n", FormatError, "bad.csv row 2 .*2 fields, the header has 3"),
        (b"id,label,other\n1,a,b\n", DatasetError, "predicted"),
        (b"id,label,prediction\n1,a,a\n1,b,b\n", DatasetError, "unique"),
        (b"id,label,prediction,score\n1,a,a,high\n", DatasetError, "score 'high'"),
    ],
)
def test_bad_files_are_clear_dataset_errors(data, error, match):
    with pytest.raises(error, match=match):
        name = {b"{": "bad.jsonl", b"[": "bad.json"}.get(data[:1], "bad.csv")
        evalloop.read_results(data, filename=name)


def test_label_metrics_need_every_label():
    frame = _frame(["a", None], ["a", "b"])
    with pytest.raises(DatasetError, match="expected and a predicted"):
        evalloop.build_report(frame, task="labels")


# ----------------------------------------------------------------------------- slices


def test_worst_slices_find_the_planted_failures(sample_reports):
    current, _ = sample_reports
    worst = [s.label for s in current.worst_slices(min_n=5, limit=5)]
    assert {"category=gift_cards", "category=warranty", "language=es"} <= set(worst)
    assert "length=very long (80+ words)" in worst
    by_label = {s.label: s for s in current.slices}
    assert by_label["category=warranty"].score == pytest.approx(0.5)
    assert by_label["category=warranty"].n == 20
    assert by_label["category=gift_cards"].failures == 6


def test_min_n_keeps_tiny_slices_out():
    frame = _frame(["a"] * 10 + ["b"], ["a"] * 10 + ["a"], category=["x"] * 10 + ["y"])
    report = evalloop.build_report(frame)
    assert "category=y" not in [s.label for s in report.worst_slices(min_n=2)]
    assert report.worst_slices(min_n=1)[0].label == "category=y"


@pytest.mark.parametrize(
    ("text", "bucket"),
    [
        ("hi", "short (<8 words)"),
        ("one two three four five six seven eight", "medium (8-24 words)"),
        (" ".join(["w"] * 30), "long (25-79 words)"),
        (" ".join(["w"] * 200), "very long (80+ words)"),
        (None, "short (<8 words)"),
    ],
)
def test_length_bucket(text, bucket):
    assert evalloop.length_bucket(text) == bucket


def test_languages_can_be_skipped():
    report = evalloop.build_report(_frame(["a", "b"] * 3, ["a"] * 6), languages=False)
    assert {s.value for s in report.slices if s.dimension == "language"} == {"not detected"}


def test_language_slices_come_from_the_one_detector_and_spell_out_und():
    texts = [
        "Hola, hice un pedido hace cinco días y todavía no ha llegado a mi casa.",
        "Wo ist meine Bestellung? Die Sendungsverfolgung zeigt seit Tagen nichts an.",
        "Where is my order? The tracking page has not changed for three days now.",
        "ok",
    ]
    frame = _frame(["a", "b", "a", "b"], ["a", "b", "b", "b"], inputs=texts)
    report = evalloop.build_report(frame, task="labels")
    assert report.frame["language"].tolist() == ["es", "de", "en", "und"] == lang.detect_languages(texts)
    und = next(s for s in report.slices if s.label == "language=und")
    assert und.title == "language=undetermined (too short or unclear)"
    assert evalloop.slice_title("category=und") == "category=und"


# ----------------------------------------------------------------------------- comparison


def test_comparison_on_the_sample_matches_what_was_planted(sample_reports):
    current, baseline = sample_reports
    comparison = evalloop.compare_results(current, baseline)
    verdicts = {s.slice: s for s in comparison.slices}
    assert comparison.matched == 200
    assert comparison.overall.verdict == "helped"
    assert comparison.overall.delta == pytest.approx(0.885 - 0.78)
    for name in ("shipping", "order_status", "technical_support", "account"):
        assert verdicts[f"category={name}"].verdict == "helped"
    for name in ("billing", "warranty", "gift_cards"):
        assert verdicts[f"category={name}"].verdict == "no change"
        assert "fine-tuning was premature" in verdicts[f"category={name}"].note
    assert verdicts["category=product_info"].verdict == "hurt"
    assert verdicts["language=es"].verdict == "hurt"
    payload = comparison.to_json()
    assert "category=product_info" in payload["hurt"] and "category=billing" in payload["no_change"]


def test_comparison_joins_by_id_and_tolerance_counts():
    current = evalloop.build_report(_frame(["a", "b", "a", "b"], ["a", "b", "a", "a"]), task="labels")
    base_frame = _frame(["a", "b", "a", "b"], ["b", "b", "a", "a"])
    base_frame.loc[3, "id"] = "other"
    baseline = evalloop.build_report(base_frame, task="labels")
    comparison = evalloop.compare_results(current, baseline, tolerance=0.1)
    assert (comparison.matched, comparison.only_current, comparison.only_baseline) == (3, 1, 1)
    assert comparison.overall.current == pytest.approx(1.0)
    assert comparison.overall.baseline == pytest.approx(2 / 3)
    assert comparison.overall.verdict == "helped"
    same = evalloop.compare_results(current, current, tolerance=0.1)
    assert same.overall.verdict == "no change" and same.overall.p_value is None
    with pytest.raises(ValueError, match="tolerance"):
        evalloop.compare_results(current, baseline, tolerance=1.5)


def test_comparison_without_shared_ids_is_a_dataset_error():
    a = evalloop.build_report(_frame(["a", "b"], ["a", "b"]), task="labels")
    other = _frame(["a", "b"], ["a", "b"])
    other["id"] = ["x", "y"]
    with pytest.raises(DatasetError, match="share no ids"):
        evalloop.compare_results(a, evalloop.build_report(other, task="labels"))


# ----------------------------------------------------------------------------- failures -> actions


def test_targets_are_saved_in_the_shared_format(sample_reports, workspace):
    current, _ = sample_reports
    targets = evalloop.make_targets(
        current, ["category=warranty", "language=es"], per_failure=3, round_number=2
    )
    assert [t["value"] for t in targets] == ["category=warranty", "language=es"]
    warranty = targets[0]
    assert set(warranty) == {"kind", "value", "missing", "description", "examples"}
    assert warranty["kind"] == "eval_slice"
    assert warranty["missing"] == 30
    assert "round 2" in warranty["description"] and "'returns'" in warranty["description"]
    assert 1 <= len(warranty["examples"]) <= 5 and all(isinstance(e, str) for e in warranty["examples"])
    evalloop.save_targets(workspace, targets)
    evalloop.save_targets(workspace, [dict(targets[0], missing=12)])
    stored = workspace.get_state(evalloop.TARGETS_KEY)
    assert [(t["value"], t["missing"]) for t in stored] == [("category=warranty", 12), ("language=es", 12)]
    json.dumps(stored)
    assert len(evalloop.save_targets(workspace, targets[:1], replace=True)) == 1
    with pytest.raises(ValueError, match="unknown slice"):
        evalloop.make_targets(current, ["category=nope"])


def test_select_failures_by_slice_and_id(sample_reports):
    current, _ = sample_reports
    rows = evalloop.select_failures(current.frame, slices=["category=gift_cards"])
    assert len(rows) == 6 and set(rows["expected"]) == {"gift_cards"}
    one = current.frame[~current.frame["correct"]]["id"].iloc[0]
    both = evalloop.select_failures(current.frame, slices=["category=gift_cards"], ids=[one])
    assert len(both) in (6, 7)
    assert len(evalloop.select_failures(current.frame)) == 23
    with pytest.raises(ValueError, match="dimension"):
        evalloop.select_failures(current.frame, slices=["colour=red"])


def test_annotation_queue_round_trips_through_csv_and_the_workspace(sample_reports, workspace):
    current, _ = sample_reports
    rows = evalloop.select_failures(current.frame, slices=["category=warranty"])
    queue = evalloop.annotation_queue(rows)
    assert list(queue.columns) == [
        "id",
        "eval_id",
        "input",
        evalloop.GOLD_COLUMN,
        "model_predicted",
        "category",
        "reason",
        evalloop.QUEUE_LABEL_COLUMN,
    ]
    back = pd.read_csv(io.BytesIO(evalloop.queue_csv(queue)), encoding="utf-8-sig", keep_default_na=False)
    assert back["eval_id"].tolist() == rows["id"].tolist()
    assert set(back[evalloop.QUEUE_LABEL_COLUMN]) == {""}
    # the queue's ids are the ids the rows get as training examples, so the labels page can join them
    examples = evalloop.eval_rows_to_records(rows)
    assert back["id"].tolist() == examples["id"].tolist()
    assert evalloop.save_queue(workspace, queue, round_number=1) == 10
    evalloop.save_queue(workspace, queue, round_number=1)
    assert len(evalloop.load_queue(workspace)) == 10
    with pytest.raises(ValueError, match="label_column"):
        evalloop.annotation_queue(rows, label_column="input")


def test_eval_rows_become_train_only_canonical_rows(sample_reports, workspace):
    from core import split

    current, _ = sample_reports
    rows = evalloop.select_failures(current.frame)
    corrected = rows.assign(fix=["warranty_fixed"] + [""] * (len(rows) - 1))
    examples = evalloop.eval_rows_to_records(corrected, label_column="fix")
    assert len(examples) == 23 and set(examples["source"]) == {"eval"}
    assert examples["response_text"].iloc[0] == "warranty_fixed"
    assert examples["response_text"].iloc[1] == rows["expected"].iloc[1]
    assert examples["prompt_text"].tolist() == rows["input"].astype(str).tolist()
    assert examples["extra"].iloc[0]["eval_id"] == rows["id"].iloc[0]
    version = evalloop.add_to_dataset(workspace, examples)
    assert workspace.dataset_version() == version and len(workspace.current_dataset()) == 23
    evalloop.add_to_dataset(workspace, examples)  # a second click adds nothing again
    assert len(workspace.current_dataset()) == 23
    real = examples.assign(source="real", id=[f"real{i}" for i in range(len(examples))])
    mixed = pd.concat([workspace.current_dataset(), real], ignore_index=True)
    result = split.split_frame(mixed, split.SplitConfig(val=0.1, test=0.1), seed=0)
    eval_labels = [
        label for label, source in zip(result.labels, mixed["source"], strict=True) if source == "eval"
    ]
    assert set(eval_labels) == {"train"}


# ----------------------------------------------------------------------------- rounds


def test_rounds_and_their_history(sample_reports, workspace):
    current, baseline = sample_reports
    comparison = evalloop.compare_results(current, baseline)
    assert evalloop.save_round(workspace, baseline, name="base model") == 1
    assert (
        evalloop.save_round(
            workspace, current, name="fine-tuned", comparison=comparison, baseline_name="base"
        )
        == 2
    )
    rounds = evalloop.list_rounds(workspace)
    assert rounds["round"].tolist() == [1, 2]
    assert rounds["accuracy"].tolist() == pytest.approx([0.78, 0.885])
    history = evalloop.round_history(workspace)
    warranty = history[(history["slice"] == "warranty") & (history["dimension"] == "category")]
    assert warranty["value"].tolist() == pytest.approx([0.5, 0.5])
    assert len(evalloop.load_round(workspace, 2)) == 200
    with pytest.raises(ValueError, match="no eval round"):
        evalloop.load_round(workspace, 9)


# ----------------------------------------------------------------------------- command line


def _cli(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["evalreport", *map(str, argv)])
    return code, out.getvalue()


def test_cli_json_shape():
    code, out = _cli(SAMPLE, "--baseline", SAMPLE_BASE, "--json")
    assert code == 0
    payload = json.loads(out)
    assert {"overall", "per_category", "worst_slices", "comparison"} <= set(payload)
    assert {"accuracy", "macro_f1"} <= set(payload["overall"])
    assert set(payload["per_category"]["warranty"]) == {"precision", "recall", "f1", "support"}
    assert all({"slice", "metric", "value", "n"} <= set(s) for s in payload["worst_slices"])
    assert payload["comparison"]["overall"]["verdict"] == "helped"
    assert "category=warranty" in payload["comparison"]["no_change"]


def test_cli_with_unusual_column_names(tmp_path):
    path = tmp_path / "odd.jsonl.txt"
    rows = [
        {"key": i, "utterance": f"text {i}", "truth": "a" if i < 3 else "b", "guess": "a"} for i in range(6)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    code, _ = _cli(path, "--json")
    assert code == 2
    code, out = _cli(
        path,
        "--id-col",
        "key",
        "--input-col",
        "utterance",
        "--expected-col",
        "truth",
        "--predicted-col",
        "guess",
        "--no-language",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["overall"]["accuracy"] == pytest.approx(0.5)
    assert json.loads(out)["comparison"] is None


def test_cli_text_output_and_unreadable_file(tmp_path, capsys):
    code, out = _cli(SAMPLE, "--baseline", SAMPLE_BASE, "--no-language")
    assert code == 0 and "Worst slices" in out and "premature" in out
    assert "language=" not in out.replace("language=not detected", "")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(gzip.compress(b"not text"))
    code, _ = _cli(bad, "--json")
    assert code == 2
    assert "bad.csv" in capsys.readouterr().err
