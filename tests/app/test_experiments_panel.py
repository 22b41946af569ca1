"""Search over this, the Experiments panel's trial table and plots, and Apply best trial as one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit

from graph_builder.project import Project
from tests.app.test_editor_panels import cnn_graph, select

optuna = pytest.importorskip("optuna")


def built(window, qtbot):
    qtbot.waitUntil(lambda: window.training.built, timeout=5000)
    return window.training


def right_click(widget):
    point = QPoint(3, 3)
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Mouse, point, widget.mapToGlobal(point)))


def choose(menu, text):
    action = next(a for a in menu.actions() if a.text() == text)
    action.trigger()
    menu.close()


def setting_label(controller, name):
    form = controller.training_panel.form
    return form._layout.labelForField(form.editors[name])


def test_search_over_this_on_a_training_setting_adds_it_and_undo_takes_it_back(window, qtbot):
    c = built(window, qtbot)
    right_click(setting_label(c, "lr"))
    choose(c.field_menu, "Search over this")
    dim = window.project.experiment.dimension("training/lr")
    assert dim is not None and dim.log and dim.low == pytest.approx(1e-4) and dim.high == pytest.approx(1e-2)
    assert window.editor.stack.undoText() == "Search over this"
    window.editor.stack.undo()
    assert window.project.experiment.space == ()


def test_search_over_this_on_a_layer_parameter_uses_the_node_and_shows_in_the_panel(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    c = built(window, qtbot)
    select(window, mouse, "n2")
    form = next(window.inspector._layout.itemAt(i).layout() for i in range(window.inspector._layout.count())
                if isinstance(window.inspector._layout.itemAt(i).layout(), QFormLayout))
    right_click(form.labelForField(window.inspector.fields["out_channels"]))
    choose(c.field_menu, "Search over this")
    dim = window.project.experiment.dimension("Net/n2/out_channels")
    assert (dim.low, dim.high) == (2, 8)
    qtbot.waitUntil(lambda: "conv2d.out_channels" in c.experiments_panel.summary.text())


def test_the_panel_lists_the_studys_trials_sortably_and_applies_the_best_as_one_edit(window, qtbot):
    from graph_builder.experiment import ReplaceExperiment
    from runtime.tune.study import open_study

    window.set_project(Project(cnn_graph()), None)
    c = built(window, qtbot)
    project = window.project
    project.experiment.apply(ReplaceExperiment({"metric": "val_accuracy", "space": [
        {"setting": "lr", "low": 1e-4, "high": 1e-1, "log": True},
        {"network": "Net", "node": "n2", "param": "out_channels", "low": 2, "high": 16}]}))
    study = open_study(project.experiment, c.runs_root())
    dists = {"training/lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
             "Net/n2/out_channels": optuna.distributions.IntDistribution(2, 16)}
    for lr, width, acc in ((1e-3, 4, 0.80), (1e-2, 12, 0.93), (3e-4, 8, 0.71), (5e-2, 16, 0.88)):
        study.add_trial(optuna.trial.create_trial(params={"training/lr": lr, "Net/n2/out_channels": width},
                                                  distributions=dists, value=acc))
    panel = c.experiments_panel
    panel.reload()
    table = panel.table
    assert table.rowCount() == 4 and table.horizontalHeaderItem(2).text() == "val_accuracy"
    assert table.column_values(0) == [0, 1, 2, 3]  # trial order first, under an ascending arrow
    table.sortItems(2, Qt.DescendingOrder)
    assert table.column_values(2) == [0.93, 0.88, 0.80, 0.71]
    xs, ys = panel.best_curve.getData()
    assert list(ys) == pytest.approx([0.80, 0.93, 0.93, 0.93])
    assert panel.parallel_best.getData()[1][-1] == pytest.approx(1.0)  # the best trial tops the metric axis
    assert set(panel.importances) == {"lr", "conv2d.out_channels"}
    assert panel.apply_button.isEnabled()
    panel.apply_button.click()
    assert project.training["lr"] == pytest.approx(1e-2) and project.graph.nodes["n2"].params["out_channels"] == 12
    assert window.editor.stack.undoText() == "Apply trial 1"
    window.editor.stack.undo()
    assert "lr" not in project.training and project.graph.nodes["n2"].params["out_channels"] == 4


def test_the_runs_list_names_a_trials_number_and_a_folds_place(tmp_path):
    import json

    from app.training.runs_panel import read_run

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "trial.json").write_text(json.dumps({"trial": 3}))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "fold.json").write_text(json.dumps({"fold": 2, "folds": 5}))
    (tmp_path / "c").mkdir()
    assert [read_run(tmp_path / n).name for n in "abc"] == ["a (trial 3)", "b (fold 2/5)", "c"]


def edit_cell(qtbot, table, row, col, text):
    """Double-click a cell, type `text`, press Enter: a user's edit of the search table."""
    qtbot.waitUntil(table.isVisible)
    table.scrollToItem(table.item(row, col))
    rect = table.visualItemRect(table.item(row, col))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: table.state() == table.State.EditingState)
    editor = next(e for e in table.findChildren(QLineEdit) if e.isVisible())  # the cell's own editor
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState)  # Qt commits an Enter queued


def test_the_panel_edits_the_studys_settings_and_ranges_as_undoable_edits(window, qtbot):
    c = built(window, qtbot)
    right_click(setting_label(c, "lr"))
    choose(c.field_menu, "Search over this")
    right_click(setting_label(c, "optimizer"))
    choose(c.field_menu, "Search over this")
    panel = c.experiments_panel
    window.workspaces.show("Experiments")
    table = panel.space_table
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    assert table.item(0, 0).text() == "lr" and table.item(0, 3).checkState() == Qt.Checked

    edit_cell(qtbot, table, 0, 2, "0.05")  # the high end of the learning rate
    assert window.project.experiment.dimension("training/lr").high == pytest.approx(0.05)
    assert window.editor.stack.undoText() == "Search over this"
    edit_cell(qtbot, table, 0, 1, "0.5")  # above the high end: refused, said, and the table shows the kept range
    assert window.project.experiment.dimension("training/lr").low == pytest.approx(1e-4)
    assert "inverted" in window.statusBar().currentMessage()
    assert table.item(0, 1).text() == "0.0001"
    edit_cell(qtbot, table, 1, 4, "adam, sgd")  # the optimizer's choices
    assert window.project.experiment.dimension("training/optimizer").choices == ("adam", "sgd")

    form = panel.study_form
    trials = form.editors["trials"]
    trials.setFocus()
    trials.selectAll()
    qtbot.keyClicks(trials, "6")
    qtbot.keyClick(trials, Qt.Key_Return)
    assert window.project.experiment["trials"] == 6
    method = form.editors["method"]
    method.setCurrentIndex(method.findText("grid"))  # as a user's pick in the drop-down
    assert window.project.experiment["method"] == "grid"
    assert "grid, 6 trials" in panel.summary.text()

    window.editor.stack.undo()  # method back
    assert window.project.experiment["method"] == "tpe" and form.value("method") == "tpe"
    table.selectRow(1)
    qtbot.mouseClick(panel.remove_button, Qt.LeftButton)
    assert [d.key for d in window.project.experiment.space] == ["training/lr"]
    assert table.rowCount() == 1
    window.editor.stack.undo()
    assert table.rowCount() == 2


def four_trial_study(window, qtbot):
    """The CNN project searching lr (log, 1e-4..1e-1) and conv2d.out_channels (2..16), with four finished trials."""
    from graph_builder.experiment import ReplaceExperiment
    from runtime.tune.study import open_study

    window.set_project(Project(cnn_graph()), None)
    c = built(window, qtbot)
    project = window.project
    project.experiment.apply(ReplaceExperiment({"metric": "val_accuracy", "space": [
        {"setting": "lr", "low": 1e-4, "high": 1e-1, "log": True},
        {"network": "Net", "node": "n2", "param": "out_channels", "low": 2, "high": 16}]}))
    study = open_study(project.experiment, c.runs_root())
    dists = {"training/lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
             "Net/n2/out_channels": optuna.distributions.IntDistribution(2, 16)}
    for lr, width, acc in ((1e-3, 4, 0.80), (1e-2, 12, 0.93), (3e-4, 8, 0.71), (5e-2, 16, 0.88)):
        study.add_trial(optuna.trial.create_trial(params={"training/lr": lr, "Net/n2/out_channels": width},
                                                  distributions=dists, value=acc))
    panel = c.experiments_panel
    panel.reload()
    window.workspaces.show("Experiments")
    return panel


def arrow_points_up(header, section: int) -> bool:
    """Read the header as drawn: is the sort arrow of `section` wider at its bottom (▲) than at its top (▼)?"""
    image = header.grab().toImage()
    right = header.sectionViewportPosition(section) + header.sectionSize(section)
    rows = {}
    for x in range(right - 20, right):
        for y in range(image.height()):
            if image.pixelColor(x, y).lightness() < 128:
                rows[y] = rows.get(y, 0) + 1
    assert rows, "no sort arrow drawn"
    return rows[max(rows)] > rows[min(rows)]


def test_clicking_a_column_sorts_its_numbers_as_numbers_under_an_arrow_pointing_the_way_they_grow(window, qtbot):
    panel = four_trial_study(window, qtbot)
    table, header = panel.table, panel.table.horizontalHeader()
    assert table.column_values(0) == [0, 1, 2, 3] and arrow_points_up(header, 0)  # trial order, ▲
    lr = next(c for c in range(table.columnCount()) if table.horizontalHeaderItem(c).text() == "lr")
    point = lambda: QPoint(header.sectionViewportPosition(lr) + header.sectionSize(lr) // 2,  # noqa: E731
                           header.height() // 2)
    table.scrollTo(table.model().index(0, lr))  # in view, however narrow the test's window
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=point())
    assert header.sortIndicatorOrder() == Qt.AscendingOrder
    assert table.column_values(lr) == [3e-4, 1e-3, 1e-2, 5e-2]  # as numbers: 0.0003 before 0.001
    assert arrow_points_up(header, lr)
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=point())
    assert table.column_values(lr) == [5e-2, 1e-2, 1e-3, 3e-4] and not arrow_points_up(header, lr)
    panel.reload()  # a refill (a trial came in) keeps the user's order
    assert table.column_values(lr) == [5e-2, 1e-2, 1e-3, 3e-4]


def test_parallel_coordinates_write_each_axis_values_over_its_searched_range_log_where_searched_log(window, qtbot):
    panel = four_trial_study(window, qtbot)
    texts = panel.parallel.texts()
    assert {"0.0001", "0.00316", "0.1"} <= set(texts)  # lr: low, geometric middle, high
    assert {"2", "9", "16"} <= set(texts)  # out_channels: a linear range
    assert {"0.71", "0.82", "0.93"} <= set(texts)  # the metric, over what the trials reached
    xs, ys = panel.parallel_lines.getData()
    trial_1 = ys[4:7]  # the second polyline (three axes and a gap each): lr 1e-2, 12 channels, 0.93
    assert trial_1[0] == pytest.approx(2 / 3) and trial_1[1] == pytest.approx(10 / 14) and trial_1[2] == 1.0


def test_the_best_so_far_plot_counts_trials_in_whole_numbers(window, qtbot):
    panel = four_trial_study(window, qtbot)
    axis = panel.best_plot.getAxis("bottom")
    for low, high in ((0.0, 1.0), (-0.2, 3.2), (0.0, 40.0)):
        ticks = [v for _spacing, values in axis.tickValues(low, high, 400) for v in values]
        assert ticks and all(float(v).is_integer() for v in ticks), ticks
        assert all(s.isdigit() for s in axis.tickStrings(ticks, 1.0, 1.0))
    axis.setRange(-0.001, 0.001)  # one trial: a range of nothing, which pyqtgraph would scale by 1/1000
    assert "x0.001" not in axis.labelString() and "trial" in axis.labelString()


def test_trials_in_training_are_listed_row_by_row_before_they_end(window, qtbot):
    from runtime.tune import StudyResult, TrialRecord

    panel = four_trial_study(window, qtbot)
    panel.running_total = 6
    started = TrialRecord(4, "running", None, {"lr": 2e-3, "conv2d.out_channels": 6}, None, 0.4, 0)
    panel._on_study_message("running", started.to_dict())  # the study's message as the runner relays it
    assert panel.table.rowCount() == 5 and panel.table.item(4, 1).text() == "running"
    later = TrialRecord(4, "running", 0.75, started.params, None, 3.1, 2)
    panel._on_study_message("running", later.to_dict())
    assert panel.table.rowCount() == 5 and panel.table.item(4, 1).text() == "running, epoch 2"
    assert "1 training" in panel.summary.text()
    done = TrialRecord(4, "complete", 0.79, started.params, None, 5.0, 3)
    panel._on_study_message("trial", done.to_dict())
    assert panel.table.rowCount() == 5 and panel.table.item(4, 1).text() == "complete"
    assert isinstance(panel.result, StudyResult)
