"""The window is a view of the open project and its selected run (issue 22): opening another project
resets every view to that project's state; no view keeps a result of a run that is not the selected one;
the newest finished run of the open network is selected by default, and Evaluate uses it."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from app.training.runs_panel import read_run
from tests.app.test_dashboard_per_task import open_template, tab_titles
from tests.app.test_training_data_runs import train_once


def plotted(plot) -> int:
    """How many points a dashboard plot holds, over all its series."""
    return sum(plot.point_count(key) for key in plot.buffers)


def assert_shows_no_run(window) -> None:
    c = window.training
    dash = c.dashboard
    assert c.current_run is None
    assert dash.confusion.matrix is None and dash.class_table.rowCount() == 0
    assert all(plotted(plot) == 0 for plot in dash.plots)
    assert "accuracy" not in dash.status.text().lower() and "finished" not in dash.status.text().lower()
    assert dash.class_names == []


def test_a_classifier_then_a_gan_then_the_classifier_again(app_window, qtbot, tmp_path):
    c = app_window.training
    dash = c.dashboard
    open_template(app_window, "mlp_digits")
    assert app_window.save_project_as(tmp_path / "mlp.json")
    first = train_once(qtbot, app_window, 2)
    assert dash.confusion.matrix is not None and "Finished" in dash.status.text()
    matrix = dash.confusion.matrix.copy()

    # Another project: nothing of the classifier's run stays on show, not even its confusion matrix.
    open_template(app_window, "dcgan_digits")
    assert_shows_no_run(app_window)
    assert tab_titles(dash) == ["Generative"]

    # Its own run: a GAN's views only, and no classifier result anywhere.
    gan = train_once(qtbot, app_window, 1)
    assert gan.parent != first.parent and c.current_run == gan
    assert dash.confusion.matrix is None and dash.class_table.rowCount() == 0
    assert "accuracy" not in dash.status.text().lower()
    assert plotted(dash.generative.gan_loss_plot) > 0

    # Reopened, the classifier shows its own newest run again, with no click in Runs.
    app_window.discard_changes()
    assert app_window.open_project(tmp_path / "mlp.json")
    assert c.current_run == first
    assert (dash.confusion.matrix == matrix).all() and dash.class_table.rowCount() == len(matrix) + 1
    assert plotted(dash.loss_plot) > 0 and plotted(dash.generative.gan_loss_plot) == 0
    assert "Finished" in dash.status.text() and tab_titles(dash) == ["Confusion matrix", "Per-class metrics"]
    assert c.runs_panel.item_for(first).font(0).bold()  # the run in use, in bold

    # Evaluate predicts with that run at once.
    panel = c.inference_panel
    with qtbot.waitSignal(panel.predicted, timeout=60000) as got:
        qtbot.mouseClick(panel.predict_button, Qt.LeftButton)
    assert len(got.args[0]) == 10 and "predicted" in panel.message.text()


def test_the_newest_run_that_fits_the_open_network_is_chosen(app_window, qtbot, tmp_path):
    c = app_window.training
    open_template(app_window, "mlp_digits")
    assert app_window.save_project_as(tmp_path / "mlp.json")
    older = train_once(qtbot, app_window, 1)
    newer = train_once(qtbot, app_window, 1)
    assert newer != older
    # The newer run's config says it trained another network: it does not fit, the older one is chosen.
    config = newer / "config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["network"]["fingerprint"] = "0" * len(data["network"]["fingerprint"])
    config.write_text(json.dumps(data), encoding="utf-8")
    app_window.discard_changes()
    assert app_window.open_project(tmp_path / "mlp.json")
    assert c.current_run == older
    assert c.dashboard.loss_plot.point_count("train_epoch") == len(read_run(older).epochs)


def test_choosing_a_past_run_shows_that_runs_results(app_window, qtbot, tmp_path):
    c = app_window.training
    dash = c.dashboard
    open_template(app_window, "mlp_digits")
    one = train_once(qtbot, app_window, 1)
    three = train_once(qtbot, app_window, 3)
    assert c.current_run == three and dash.loss_plot.point_count("train_epoch") == 3
    c.select_run(str(one))
    assert c.current_run == one and dash.loss_plot.point_count("train_epoch") == 1
    assert Path(dash.generative.run_dir) == one
