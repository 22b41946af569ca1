"""The dashboard shows the views of the task it shows, and only those (app.tasks): a classifier's confusion
matrix and per-class table, a generative run's pictures, an autoencoder's anomaly scores, a regression's
curves alone. It follows the open project's task before any run, a run's task while it trains, and a past
run's task when one is chosen in Runs; a task registered from outside gets its own tab."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.tasks import TabView, register_view, tab_views, unregister_view
from graph_builder import tasks
from graph_builder.project import load_project
from graph_builder.tasks import LOSS, TaskSpec
from graph_builder.tasks.regression import MAE
from runtime.templates import template_paths
from tests.app.test_training_data_runs import choose, train_once

# The side tabs of each task's dashboard, in order; [] is no side pane at all.
TABS = {
    "mlp_digits": ("classification", ["Confusion matrix", "Per-class metrics"], "Accuracy"),
    "sine_forecaster": ("regression", [], "Mean absolute error"),
    "conv_autoencoder_digits": ("reconstruction", ["Generative", "Anomaly scores"], "Mean absolute error"),
    "mlp_vae_digits": ("vae", ["Generative", "Anomaly scores"], "Mean absolute error"),
    "dcgan_digits": ("gan", ["Generative"], "D(real)"),
}
PAGE = {"classification": "none", "regression": "none", "reconstruction": "autoencoder", "vae": "autoencoder",
        "gan": "gan"}


def tab_titles(dash) -> list[str]:
    """The side tabs a user sees: none when the pane is hidden."""
    side = dash.side_tabs
    return [side.tabText(i) for i in range(side.count())] if side.isVisibleTo(dash) else []


def open_template(window, stem: str):
    project = load_project(template_paths()[stem])
    window.set_project(project, None, unsaved=True)
    return project


@pytest.mark.parametrize("stem", sorted(TABS))
def test_each_templates_dashboard_shows_only_its_tasks_tabs(app_window, stem):
    task, titles, metric_title = TABS[stem]
    project = open_template(app_window, stem)
    assert project.task().id == task
    dash = app_window.training.dashboard
    app_window.training._show("dashboard_dock")
    assert tab_titles(dash) == titles
    assert dash.metric_plot.title == metric_title
    assert dash.generative.page() == PAGE[task]
    for i in range(dash.side_tabs.count()):  # each tab shows a page of its own task, never an empty one
        assert dash.side_tabs.widget(i) is not None


def test_a_classifiers_run_then_a_gan_template_then_the_classifier_again(app_window, qtbot):
    c = app_window.training
    dash = c.dashboard
    open_template(app_window, "mlp_digits")
    run = train_once(qtbot, app_window, 1)
    assert tab_titles(dash) == TABS["mlp_digits"][1] and dash.confusion.matrix is not None

    open_template(app_window, "dcgan_digits")  # no confusion matrix or per-class table under a GAN
    assert tab_titles(dash) == ["Generative"] and dash.generative.page() == "gan"
    assert dash.side_tabs.currentWidget() is dash.generative

    # Evaluate: the classifier's run chosen in Runs shows a classifier's tabs again.
    c.select_run(str(run))
    assert tab_titles(dash) == TABS["mlp_digits"][1] and dash.generative.page() == "none"


def test_the_tabs_follow_an_edit_that_changes_the_task(app_window, qtbot):
    project = open_template(app_window, "mlp_vae_digits")
    c = app_window.training
    dash = c.dashboard
    assert tab_titles(dash) == ["Generative", "Anomaly scores"]
    c._show("training_dock")
    choose(qtbot, c.training_panel.form.editors["task"], "classification")
    assert project.task().id == "classification"
    assert tab_titles(dash) == ["Confusion matrix", "Per-class metrics"]
    app_window.editor.stack.undo()
    assert project.task().id == "vae" and tab_titles(dash) == ["Generative", "Anomaly scores"]


QUANTILE = TaskSpec(id="toy_quantile", title="Quantile regression", priority=-1, target="values",
                    metrics=(LOSS, MAE), headline="mae", views=("curves", "quantile_band", "no_such_view"),
                    setting_tags=frozenset({"optimizer"}))


@pytest.fixture
def quantile_task():
    """A task and its one view, registered from outside as a plug-in would (the guide's "Adding a task")."""
    band = QLabel("the band between the quantiles")
    band.setObjectName("quantile_band")
    tasks.register(QUANTILE)
    register_view(TabView("quantile_band", "Quantile band", lambda dash: band))
    yield band
    unregister_view("quantile_band")
    tasks.unregister(QUANTILE.id)


def test_a_task_registered_from_outside_gets_its_own_tab_and_nothing_else(app_window, qtbot, quantile_task):
    assert [v.title for v in tab_views(QUANTILE)] == ["Quantile band"]  # unknown view ids have no tab
    dash = app_window.training.dashboard
    app_window.training._show("dashboard_dock")
    dash.handle_event({"type": "started", "task": "toy_quantile", "run_dir": None, "epochs": 1})
    assert tab_titles(dash) == ["Quantile band"]
    assert dash.side_tabs.currentWidget() is quantile_task and quantile_task.isVisible()
    assert dash.metric_plot.title == "Mean absolute error"
    # A classifier's run next: its own two tabs, the plug-in's gone.
    dash.handle_event({"type": "started", "task": "classification", "run_dir": None, "epochs": 1})
    assert tab_titles(dash) == ["Confusion matrix", "Per-class metrics"] and not quantile_task.isVisible()
    qtbot.mouseClick(dash.side_tabs.tabBar(), Qt.LeftButton, pos=dash.side_tabs.tabBar().tabRect(1).center())
    assert dash.side_tabs.currentWidget() is dash.class_table


def test_a_view_id_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        register_view(TabView("confusion", "Again", lambda dash: dash.confusion))
