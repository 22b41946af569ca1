"""Live plots and the confusion heatmap: points reach the curves, counts reach the cells."""

import csv

import numpy as np
from PySide6.QtCore import QPointF, Qt

from app.training.confusion import ClassMetricsTable, ConfusionView, per_class_metrics
from app.training.plots import LivePlot, Series, SeriesBuffer, write_metrics_csv


def test_series_buffer_grows_past_its_capacity_and_keeps_order():
    buf = SeriesBuffer(capacity=2)
    for i in range(1000):
        buf.append(i, i * i)
    assert buf.size == 1000
    assert buf.x[-1] == 999 and buf.y[10] == 100


def test_points_reach_the_curve_only_on_refresh(qtbot):
    plot = LivePlot("Loss", "loss", "step", [Series("train", "train", "#000"), Series("val", "val", "#f00", True)])
    qtbot.addWidget(plot)
    for i in range(50):
        plot.add_point("train", i, 1.0 / (i + 1))
    plot.add_point("val", 49, float("nan"))  # non-finite values are not plotted
    assert plot.curves["train"].getData()[0] is None or len(plot.curves["train"].getData()[0]) == 0
    plot.refresh()
    x, y = plot.curves["train"].getData()
    assert len(x) == 50 and y[0] == 1.0
    assert plot.point_count("val") == 0
    assert "train: 0.1" in plot.readout(9.2)


def test_plot_exports_png_and_csv(qtbot, tmp_path):
    plot = LivePlot("Accuracy", "accuracy", "epoch", [Series("val", "validation", "#f00")])
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    for epoch, acc in enumerate([0.5, 0.8, 0.9], start=1):
        plot.add_point("val", epoch, acc)
    plot.refresh()
    png = plot.export_png(tmp_path / "acc.png", width=400)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.reader(open(write_metrics_csv(tmp_path / "m.csv", [plot]))))
    assert rows[0] == ["plot", "series", "x_axis", "x", "y"]
    assert rows[1:] == [["Accuracy", "validation", "epoch", str(e), repr(a)] for e, a in
                        zip((1, 2, 3), (0.5, 0.8, 0.9))]


def test_per_class_metrics_match_scikit_learn():
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 4, 300))
    m = confusion_matrix(y_true, y_pred)
    ours = per_class_metrics(m)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    np.testing.assert_allclose(ours["precision"], p)
    np.testing.assert_allclose(ours["recall"], r)
    np.testing.assert_allclose(ours["f1"], f)
    assert list(ours["support"]) == list(s)


def test_confusion_view_shows_counts_and_reports_clicked_cell(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(420, 380)
    view.show()
    m = np.array([[5, 1, 0], [2, 7, 0], [0, 0, 9]])
    view.set_matrix(m, ["a", "b", "c"])
    assert view.image.image.shape == (3, 3)
    assert view.counts.texts == ["5", "1", "", "2", "7", "", "", "", "9"]
    assert view.color_bar.levels() == (0, 9)
    qtbot.waitExposed(view)
    # Click the centre of row 1 ("b" true), column 0 ("a" predicted) with the mouse.
    gv = view._widget
    scene_pt = view.image.mapToScene(QPointF(0.5, 1.5))
    vp_pt = gv.mapFromScene(scene_pt)
    with qtbot.waitSignal(view.cell_clicked) as sig:
        qtbot.mouseClick(gv.viewport(), Qt.LeftButton, pos=vp_pt)
    assert sig.args == [1, 0]


def test_metrics_table_lists_classes_and_macro_average(qtbot):
    table = ClassMetricsTable()
    qtbot.addWidget(table)
    table.set_matrix(np.array([[3, 1], [0, 4]]), ["cat", "dog"])
    assert table.rowCount() == 3
    assert table.item(0, 0).text() == "cat" and table.item(0, 2).text() == "0.750"
    assert table.item(1, 1).text() == "0.800" and table.item(2, 0).text() == "macro average"
    assert table.item(2, 4).text() == "8"


def _y_range(plot):
    return plot.plot_item.vb.viewRange()[1]


def test_a_constant_learning_rate_is_a_flat_line_a_decade_either_side_on_a_log_axis(qtbot):
    plot = LivePlot("Learning rate", "learning rate", "epoch", [Series("lr", "learning rate", "#0a0")], log_y=True)
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    for epoch in range(1, 6):
        plot.add_point("lr", epoch, 0.001)
    plot.refresh()
    low, high = _y_range(plot)  # log10 units
    assert low == -4.0 and high == -2.0
    assert not plot.plot_item.getAxis("left").autoSIPrefix


def test_a_flat_series_on_a_linear_axis_gets_a_band_around_its_value(qtbot):
    plot = LivePlot("Throughput", "samples / s", "epoch", [Series("speed", "samples/s", "#00f")])
    qtbot.addWidget(plot)
    for epoch in range(1, 4):
        plot.add_point("speed", epoch, 500.0)
    plot.refresh()
    low, high = _y_range(plot)
    assert low < 500 < high and high - low == 500


def test_an_empty_plot_has_clean_axes_again_after_clear(qtbot):
    plot = LivePlot("Loss", "loss", "epoch", [Series("train", "train", "#000")])
    qtbot.addWidget(plot)
    assert _y_range(plot) == [0.0, 1.0] and plot.plot_item.vb.viewRange()[0] == [0.0, 1.0]
    plot.add_point("train", 1, 400.0)
    plot.add_point("train", 2, -400.0)
    plot.refresh()
    plot.clear()
    assert _y_range(plot) == [0.0, 1.0]


def test_the_legend_sits_below_the_plot_not_over_its_curves(qtbot):
    plot = LivePlot("Loss", "loss", "epoch", [Series("train", "train (batch)", "#000"),
                                             Series("val", "validation", "#f00")])
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.plot_item.legend is None  # no legend item inside the view box
    assert "train (batch)" in plot.legend.text() and "validation" in plot.legend.text()
    assert plot.legend.geometry().top() >= plot._widget.geometry().bottom()
    plot.add_overlay("run 1", [1, 2], [0.5, 0.4], 0)
    assert "run 1" in plot.legend.text()
    plot.clear_overlays()
    assert "run 1" not in plot.legend.text()


def test_the_empty_confusion_matrix_shows_no_class_ticks_or_odd_ranges(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    x_range, y_range = view.plot_item.vb.viewRange()
    assert max(abs(v) for v in x_range + y_range) < 2  # square cells may widen one axis a little


def test_confusion_counts_fit_their_cells_and_hide_when_cells_are_too_small(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(700, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_matrix(np.eye(10, dtype=int) * 30)
    qtbot.waitUntil(lambda: view.counts.drawn == 10)  # the ten non-zero cells, painted
    assert view.counts.cell_pixels() >= 12
    view.resize(140, 160)
    qtbot.waitUntil(lambda: view.counts.cell_pixels() < 12)
    view.counts.update()
    qtbot.waitUntil(lambda: view.counts.drawn == 0)


def test_confusion_counts_are_painted_into_their_cells(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(500, 460)
    view.show()
    qtbot.waitExposed(view)
    m = np.zeros((4, 4), dtype=int)
    m[0, 0] = 888  # the dark end of the map: light text
    view.set_matrix(m)
    qtbot.waitUntil(lambda: view.counts.drawn == 1)
    image = view._widget.grab().toImage()
    gv = view._widget

    def pixels(row, col):
        """Colours in the middle third of cell (row, col) as drawn."""
        a = gv.mapFromScene(view.image.mapToScene(QPointF(col + 1 / 3, row + 1 / 3)))
        b = gv.mapFromScene(view.image.mapToScene(QPointF(col + 2 / 3, row + 2 / 3)))
        return {image.pixel(x, y) for x in range(a.x(), b.x()) for y in range(a.y(), b.y())}

    assert len(pixels(0, 0)) > 2  # the digits drawn over the cell's colour
    assert len(pixels(1, 1)) <= 2  # an empty cell is one flat colour


def test_the_view_grows_in_round_steps_and_holds_still_while_the_points_fit(qtbot):
    plot = LivePlot("Loss", "loss", "epoch", [Series("train", "train", "#000")])
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    ranges = []
    for i in range(1, 401):  # a falling loss over 40 epochs, ten points an epoch
        plot.add_point("train", i / 10, 2.0 * np.exp(-i / 100) + 0.05)
        plot.refresh()
        ranges.append((plot._applied_x, plot._applied_y))
    x_low, x_high = plot.plot_item.vb.viewRange()[0]
    y_low, y_high = _y_range(plot)
    assert x_low <= 0 and 40 <= x_high <= 1.1 * 40  # every point shown, the end a round number just past them
    assert y_low <= 0.05 + 2.0 * np.exp(-4) and y_high >= 2.0 * np.exp(-0.01) + 0.05
    assert len(set(ranges)) <= 30  # re-ranged (and the axes redrawn) a few times an epoch at first, not 400
    x, _ = plot.curves["train"].getData()
    assert len(x) == 400


def test_an_overlay_widens_the_view_and_clearing_it_shrinks_the_view_back(qtbot):
    plot = LivePlot("Loss", "loss", "epoch", [Series("val", "validation", "#f00")])
    qtbot.addWidget(plot)
    for epoch, loss in enumerate([1.0, 0.8, 0.7], start=1):
        plot.add_point("val", epoch, loss)
    plot.refresh()
    plot.add_overlay("run 1", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5.0] * 10, 0)
    assert plot.plot_item.vb.viewRange()[0][1] >= 10 and _y_range(plot)[1] >= 5
    plot.clear_overlays()
    assert plot.plot_item.vb.viewRange()[0][1] < 10 and _y_range(plot)[1] < 5


def test_an_accuracy_axis_never_runs_past_one(qtbot):
    plot = LivePlot("Accuracy", "accuracy", "epoch", [Series("train", "train", "#000"), Series("val", "val", "#f00")])
    qtbot.addWidget(plot)
    for epoch, (train, val) in enumerate([(0.68, 0.88), (0.96, 0.95), (0.975, 0.96), (0.99, 0.99)], start=1):
        plot.add_point("train", epoch, train)
        plot.add_point("val", epoch, val)
        plot.refresh()
        assert _y_range(plot)[1] <= 1.05  # at most 1.0 and a little padding for the markers
    low, high = _y_range(plot)
    assert low <= 0.68 and 0.99 < high
