"""Live line plots for the training dashboard.

Items are created once; points are appended to growable numpy buffers and pushed to the
curves with `setData` only from `refresh()`, which the dashboard calls on its 20–30 Hz timer
(STYLE.md, pyqtgraph notes). Long series are clipped to the view and peak-downsampled.

What costs the GUI thread while training is repainting, not data: so the axes are cached as
pixmaps (a curve update blits them instead of replaying every grid line and label), and the
view range is set here in round steps that change only when the data outgrows them, rather
than auto-ranged on every point (which re-ticked, re-clipped and redrew both axes each time).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from graph_builder.files import atomic_path

# Colour-blind-friendly series colours (Okabe–Ito).
TRAIN = "#0072B2"
TRAIN_EPOCH = "#56B4E9"
VALID = "#D55E00"
EXTRA = "#009E73"
OVERLAY = ("#CC79A7", "#E69F00", "#999999", "#F0E442", "#000000")


class SeriesBuffer:
    """Growable (x, y) arrays: amortised O(1) append, views without copies."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def append(self, x: float, y: float) -> None:
        """Add one point."""
        if self.size == len(self._x):
            self._x = np.resize(self._x, 2 * len(self._x))
            self._y = np.resize(self._y, 2 * len(self._y))
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def clear(self) -> None:
        """Forget every point (keeps the memory)."""
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


@dataclass(frozen=True)
class Series:
    """One line of a plot: its key, legend label, colour and whether it shows markers."""

    key: str
    label: str
    color: str
    symbols: bool = False
    width: float = 1.5


class LivePlot(QWidget):
    """A titled plot holding several named series, updated on the dashboard's timer."""

    def __init__(self, title: str, y_label: str, x_label: str, series: list[Series],
                 log_y: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.x_label = x_label
        self._widget = pg.PlotWidget()
        self._widget.setBackground(None)
        # The key sits under the plot, never over the curves.
        self.legend = QLabel()
        self.legend.setObjectName("plotLegend")
        self.legend.setWordWrap(True)
        self.legend.setAlignment(Qt.AlignHCenter)
        self.legend.setTextFormat(Qt.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._widget, 1)
        layout.addWidget(self.legend)
        item = self._widget.getPlotItem()
        item.setTitle(title, size="10pt")
        item.setLabel("left", y_label)
        item.setLabel("bottom", x_label)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLogMode(y=log_y)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.setMenuEnabled(True)
        item.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" on a learning rate reads as noise
        for side in ("left", "bottom"):  # the grid is drawn by the axes: cache it, redraw it on a new range only
            item.getAxis(side).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.log_y = log_y
        self.plot_item = item
        self._keys: list[tuple[str, str, bool]] = []  # legend entries: label, colour, dashed
        self.buffers: dict[str, SeriesBuffer] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._labels: dict[str, str] = {}
        for s in series:
            self._add_curve(s)
        self._overlays: list[pg.PlotDataItem] = []
        self._dirty: set[str] = set()
        # Hover readout: one text item, moved and re-labelled on mouse moves (no per-point items).
        self._hover = pg.TextItem(anchor=(0, 1), color="#333", fill=pg.mkBrush(255, 255, 255, 215))
        self._hover.setZValue(100)
        self._hover.hide()
        item.addItem(self._hover, ignoreBounds=True)
        self._widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._show_empty()

    def _add_curve(self, s: Series) -> None:
        pen = pg.mkPen(s.color, width=s.width)
        kwargs = {"symbol": "o", "symbolSize": 5, "symbolBrush": s.color, "symbolPen": None} if s.symbols else {}
        curve = self.plot_item.plot([], [], pen=pen, name=s.label, **kwargs)  # named; no legend item
        self.buffers[s.key] = SeriesBuffer()
        self.curves[s.key] = curve
        self._labels[s.key] = s.label
        self._keys.append((s.label, s.color, False))
        self._show_keys()

    def _show_keys(self) -> None:
        self.legend.setText("&nbsp;&nbsp; ".join(
            f'<span style="color:{color}">{"╌╌" if dashed else "━━"}</span>&nbsp;{label}'
            for label, color, dashed in self._keys))

    def _show_empty(self) -> None:
        """Clean axes for a plot with no points yet: 0 to 1 (10⁻⁴ to 1 on a log axis)."""
        self._low, self._high = np.inf, -np.inf  # the running y range of every series' points (and overlays)
        self._x_low, self._x_high = np.inf, -np.inf  # and their x range
        self._applied_x: tuple | None = None
        self._applied_y: tuple | None = None
        self._applied_ticks: tuple | None = None
        self.plot_item.disableAutoRange()
        self.plot_item.setRange(xRange=(0, 1), yRange=(-4, 0) if self.log_y else (0, 1), padding=0)

    def _note_extent(self, xs, ys) -> None:
        """Widen the running x and y ranges to hold the points (xs, ys)."""
        if len(xs):
            self._x_low, self._x_high = min(self._x_low, float(np.min(xs))), max(self._x_high, float(np.max(xs)))
        if len(ys):
            self._low, self._high = min(self._low, float(np.min(ys))), max(self._high, float(np.max(ys)))

    def _fit(self) -> None:
        """Set the view to hold every point, in round steps, touching the axes only when the step changes.

        x runs from 0 (or the first point, if negative) to the next round number past the last
        point. y is a round band around the points that stays put while they fit in it and fill
        at least 40 % of it, and at least doubles when they outgrow it; a flat series gets a band around its value instead of ±0, and a log
        axis (the learning rate) whole decades, a decade either side of a constant.
        """
        if self._x_low <= self._x_high:
            x_range = (min(0.0, _round_down(self._x_low)), _round_up(max(self._x_high, 1.0)))
            if x_range != self._applied_x:
                self._applied_x = x_range
                self.plot_item.setXRange(*x_range, padding=0.02)
        low, high = self._low, self._high
        if low > high:
            return
        ticks, pad = None, 0.0
        if self.log_y and low > 0:
            low, high = np.log10(low), np.log10(high)
            if high - low < 0.5:  # a constant learning rate: a flat line with a decade either side
                target = ((high + low) / 2 - 1, (high + low) / 2 + 1)
            else:
                target = (float(np.floor(low)), float(np.ceil(high)))
            # One labelled tick per decade: pyqtgraph's own log ticks crowd a short axis with 0.002, 0.003…
            ticks = tuple(range(int(np.floor(target[0])), int(np.ceil(target[1])) + 1))
        elif high - low <= 1e-9 * max(1.0, abs(high)):
            band = max(abs(high) * 0.5, 1e-3)
            target = (low - band, high + band)
        else:
            kept = self._applied_y
            if kept is not None and kept[0] <= low and high <= kept[1] and high - low >= 0.4 * (kept[1] - kept[0]):
                target = kept
            else:
                wanted_low, wanted_high = low, high
                if kept is not None:  # outgrown: at least double toward the side the points left by
                    span = kept[1] - kept[0]
                    if low < kept[0]:
                        wanted_low = min(low, kept[1] - 2 * span)
                    if high > kept[1]:
                        wanted_high = max(high, kept[0] + 2 * span)
                    if low >= 0:
                        wanted_low = max(wanted_low, 0.0)  # a loss or an accuracy: never below 0 for room
                if 0 <= low and high <= 1:  # a fraction (accuracy): room, but never past 0 or 1
                    wanted_low, wanted_high = max(wanted_low, 0.0), min(wanted_high, 1.0)
                step = _round_step((wanted_high - wanted_low) / 4)
                target = (float(np.floor(wanted_low / step) * step), float(np.ceil(wanted_high / step) * step))
            pad = 0.04  # markers on a round end (accuracy 1.0) stay whole
        if ticks is not None and ticks != self._applied_ticks:
            self._applied_ticks = ticks
            self.plot_item.getAxis("left").setTicks([[(d, f"{10.0 ** d:g}") for d in ticks], []])
        if target != self._applied_y:
            self._applied_y = target
            self.plot_item.setYRange(*target, padding=pad)

    # ----- data
    def add_point(self, key: str, x: float, y: float) -> None:
        """Append one point to series `key`; shown on the next `refresh()`."""
        if y is None or not np.isfinite(y):
            return  # a NaN would break the auto-range; the dashboard reports NaN in words
        self.buffers[key].append(float(x), float(y))
        self._low, self._high = min(self._low, float(y)), max(self._high, float(y))
        self._x_low, self._x_high = min(self._x_low, float(x)), max(self._x_high, float(x))
        self._dirty.add(key)

    def refresh(self) -> None:
        """Push changed series to their curves (one `setData` per changed series)."""
        if not self._dirty:
            return
        self._fit()  # before setData: clip-to-view cuts each curve to the range it is given
        for key in self._dirty:
            buf = self.buffers[key]
            self.curves[key].setData(buf.x, buf.y)
        self._dirty.clear()

    def clear(self) -> None:
        """Empty every series and remove overlays."""
        for key, buf in self.buffers.items():
            buf.clear()
            self.curves[key].setData([], [])
        self.clear_overlays()
        self._hover.hide()
        self._show_empty()

    def point_count(self, key: str) -> int:
        """How many points series `key` holds."""
        return self.buffers[key].size

    def add_overlay(self, label: str, x, y, index: int) -> None:
        """A dashed line for a past run (runs panel overlay)."""
        pen = pg.mkPen(OVERLAY[index % len(OVERLAY)], width=1.5, style=Qt.DashLine)
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        finite = np.isfinite(xs) & np.isfinite(ys)
        curve = self.plot_item.plot(xs, ys, pen=pen, name=label)
        self._overlays.append(curve)
        self._keys.append((label, OVERLAY[index % len(OVERLAY)], True))
        self._show_keys()
        self._note_extent(xs[finite], ys[finite])
        self._fit()

    def clear_overlays(self) -> None:
        """Remove every overlay line."""
        for curve in self._overlays:
            self.plot_item.removeItem(curve)
        had_overlays = bool(self._overlays)
        self._overlays.clear()
        self._keys = [k for k in self._keys if not k[2]]
        self._show_keys()
        if had_overlays:  # the view shrinks back to this run's own points
            self._low, self._high, self._x_low, self._x_high = np.inf, -np.inf, np.inf, -np.inf
            self._applied_x = self._applied_y = None
            for buf in self.buffers.values():
                self._note_extent(buf.x, buf.y)
            self._fit()

    # ----- hover
    def _on_mouse_moved(self, pos) -> None:
        vb = self.plot_item.vb
        if not self.plot_item.sceneBoundingRect().contains(pos):
            self._hover.hide()
            return
        point = vb.mapSceneToView(pos)
        text = self.readout(point.x())
        if not text:
            self._hover.hide()
            return
        self._hover.setText(text)
        self._hover.setPos(point.x(), point.y())
        self._hover.show()

    def readout(self, x: float) -> str:
        """The values of every series at the point nearest to `x` (the hover text)."""
        lines = []
        for key, buf in self.buffers.items():
            if buf.size == 0:
                continue
            i = int(np.clip(np.searchsorted(buf.x, x), 0, buf.size - 1))
            if i > 0 and abs(buf.x[i - 1] - x) < abs(buf.x[i] - x):
                i -= 1
            lines.append(f"{self._labels[key]}: {buf.y[i]:.4g}  ({self.x_label} {buf.x[i]:g})")
        return "\n".join(lines)

    # ----- export
    def export_png(self, path: str | Path, width: int = 1200) -> Path:
        """Write the plot as a PNG image."""
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(self.plot_item)
        exporter.parameters()["width"] = width
        exporter.export(str(path))
        return Path(path)

    def rows(self) -> list[tuple[str, float, float]]:
        """Every point as (series label, x, y)."""
        out = []
        for key, buf in self.buffers.items():
            out.extend((self._labels[key], float(x), float(y)) for x, y in zip(buf.x, buf.y))
        return out


def _round_step(span: float) -> float:
    """The round tick step (1, 2 or 5 times a power of ten) nearest above `span`."""
    if not np.isfinite(span) or span <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(span))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= span * (1 - 1e-9)))


def _round_up(value: float) -> float:
    """The next of 1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten at or above `value` (> 0): the axis's end."""
    if value <= 0:
        return 0.0
    power = 10.0 ** np.floor(np.log10(value))
    return float(next(m * power for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10) if m * power >= value * (1 - 1e-9)))


def _round_down(value: float) -> float:
    """`-_round_up(-value)` for a negative start; a positive start keeps the axis at 0."""
    return -_round_up(-value) if value < 0 else 0.0


def write_metrics_csv(path: str | Path, plots: list[LivePlot]) -> Path:
    """Write every point of `plots` as CSV rows: plot, series, x axis, x, y."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["plot", "series", "x_axis", "x", "y"])
        for plot in plots:
            for label, x, y in plot.rows():
                writer.writerow([plot.title, label, plot.x_label, f"{x:g}", repr(y)])
    return path
