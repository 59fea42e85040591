"""The pages' plotly figures (ui_figures) drawn from the eval loop's real tables."""

import pytest

import ui_figures
from core import evalloop
from tests.conftest import SAMPLE_DATA


@pytest.fixture(scope="module")
def reports():
    current = evalloop.build_report(evalloop.read_results(SAMPLE_DATA / "eval_results.csv"))
    baseline = evalloop.build_report(evalloop.read_results(SAMPLE_DATA / "eval_results_base.csv"))
    return current, baseline


@pytest.fixture
def history(reports, workspace):
    current, baseline = reports
    evalloop.save_round(workspace, baseline, name="base model")
    evalloop.save_round(workspace, current, name="fine-tuned")
    return evalloop.round_history(workspace)


def test_history_draws_one_line_per_category_over_the_rounds(history):
    figure = ui_figures.history_figure(history, dimension="category")
    categories = set(history.loc[history["dimension"] == "category", "slice"])
    assert {trace.name for trace in figure.data} == categories
    assert all(list(trace.x) == [1, 2] for trace in figure.data)


def test_history_overall_draws_only_the_metrics_asked_for(history):
    figure = ui_figures.history_figure(history, dimension="overall", metrics=["accuracy"])
    assert [trace.name for trace in figure.data] == ["accuracy"]
    assert list(figure.data[0].y) == pytest.approx([0.78, 0.885])


def test_history_refuses_an_unknown_dimension(history):
    with pytest.raises(ValueError, match="dimension must be 'overall' or one of"):
        ui_figures.history_figure(history, dimension="colour")


def test_confusion_is_the_reports_matrix(reports):
    current, _ = reports
    figure = ui_figures.confusion_figure(current)
    assert figure.data[0].z.tolist() == [list(row) for row in current.confusion]
    assert list(figure.data[0].x) == list(current.labels)


def test_comparison_draws_baseline_and_current_per_category(reports):
    current, baseline = reports
    comparison = evalloop.compare_results(current, baseline)
    figure = ui_figures.comparison_figure(comparison, dimension="category")
    assert [trace.name for trace in figure.data] == ["baseline", "current"]
    shown = [s for s in comparison.slices if s.slice.startswith("category=")]
    assert list(figure.data[1].y) == [s.current for s in shown]
