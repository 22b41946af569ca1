"""A forecasting run's dashboard: a Forecast tab that ends with the test forecast against the truth and the naive
last-value forecast, in the series' own units, from a run trained through the real window."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.app.test_dashboard_per_task import open_template, tab_titles
from tests.app.test_training_data_runs import train_once


def test_the_sunspot_template_trains_and_its_forecast_tab_beats_the_naive_forecast(app_window, qtbot):
    project = open_template(app_window, "sunspots_forecaster")
    assert project.task().id == "forecasting"
    c = app_window.training
    dash = c.dashboard
    c._show("dashboard_dock")
    assert tab_titles(dash) == ["Forecast"]
    assert dash.side_tabs.currentWidget() is dash.forecast
    assert "when the run ends" in dash.forecast.caption.text()

    run = train_once(qtbot, app_window, 20)
    qtbot.waitUntil(lambda: dash.forecast.shown is not None, timeout=10000)
    ev = dash.forecast.shown
    truth_x, truth_y = dash.forecast.curves["truth"].getData()
    _, forecast_y = dash.forecast.curves["forecast"].getData()
    _, naive_y = dash.forecast.curves["naive"].getData()
    assert len(truth_x) == len(forecast_y) == len(naive_y) == 50  # the test years a window can forecast
    assert ev["times"][0] == "1959" and ev["times"][-1] == "2008"
    assert 0 <= truth_y.min() and truth_y.max() > 100  # sunspot numbers, not standardised values
    np.testing.assert_allclose(naive_y[1:], truth_y[:-1], rtol=1e-4)  # the naive forecast is last year's value
    assert ev["mae"] < ev["naive_mae"]
    caption = dash.forecast.caption.text()
    assert "Test steps 1959–2008" in caption and "beats the naive forecast" in caption

    # The tab stays where a click puts it, and shows the plot.
    bar = dash.side_tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(0).center())
    assert dash.side_tabs.currentWidget() is dash.forecast and dash.forecast.plot.isVisible()

    # A past run chosen in Runs: never the forecast of the run trained here under its name.
    c.select_run(str(run))
    assert dash.forecast.shown is None and len(dash.forecast.curves["forecast"].getData()[0] or ()) == 0
    assert "past run" in dash.forecast.caption.text() and tab_titles(dash) == ["Forecast"]
