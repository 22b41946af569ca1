"""A forecasting run's test forecast: the truth, the model's forecast and the naive last-value forecast.

One plot with three curves made once and fed by `setData` when the run's `forecast` event comes
(docs/events.md), in the series' own units, and a caption setting the two mean absolute errors side by side.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.training.plots import OVERLAY, TRAIN, VALID

SPLIT_WORDS = {"test": "Test", "val": "Validation"}
WAITING = ("The test forecast shows here when the run ends: the model's forecast against the truth and the naive "
           "last-value forecast.")
PAST_RUN = ("A past run's forecast is not read back yet: it is the forecast line of the run's journal. Train "
            "again to see it here.")


class ForecastView(QWidget):
    """The forecast of a run's test (else validation) windows against the truth and the naive forecast."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("forecast_view")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("forecast_plot")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "time")
        self.legend = item.addLegend(offset=(8, 8))
        self.curves = {
            "truth": item.plot([], [], name="truth", pen=pg.mkPen(OVERLAY[2], width=2.0)),
            "forecast": item.plot([], [], name="forecast", pen=pg.mkPen(TRAIN, width=2.0)),
            "naive": item.plot([], [], name="naive (last value)", pen=pg.mkPen(VALID, width=1.5, style=Qt.DashLine)),
        }
        self.caption = QLabel(WAITING)
        self.caption.setObjectName("forecast_caption")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.shown: dict | None = None  # the forecast event on show

    def reset(self, words: str = WAITING) -> None:
        """A new run (or a past one chosen): no forecast shown, and `words` say why."""
        for curve in self.curves.values():
            curve.setData([], [])
        self.caption.setText(words)
        self.shown = None

    def show_forecast(self, ev: dict) -> None:
        """Show a `forecast` event: the three curves over the windows' times, and the errors in words."""
        times = [str(t) for t in ev["times"]]
        steps = np.arange(len(times), dtype=np.float64)
        for key, curve in self.curves.items():
            curve.setData(steps, np.asarray(ev[key], dtype=np.float64))
        axis = self.plot.getPlotItem().getAxis("bottom")
        every = max(1, len(times) // 6)
        axis.setTicks([[(float(i), times[i]) for i in range(0, len(times), every)]])
        item = self.plot.getPlotItem()
        item.setLabel("left", ev["target"])
        item.setTitle(f"{SPLIT_WORDS.get(ev['split'], ev['split'])} forecast", size="10pt")
        ahead = f" (the first of {ev['horizon']} steps ahead)" if ev["horizon"] > 1 else ""
        span = f"{times[0]}–{times[-1]}" if times else "no steps"
        better = "beats" if ev["mae"] < ev["naive_mae"] else "does not beat"
        self.caption.setText(f"{SPLIT_WORDS.get(ev['split'], ev['split'])} steps {span}{ahead}: forecast MAE "
                             f"{ev['mae']:.4g}, naive last-value MAE {ev['naive_mae']:.4g}; the model {better} the "
                             "naive forecast.")
        self.shown = ev
