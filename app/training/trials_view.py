"""The Experiments panel's trials as a user reads them: a table that sorts by value and fits its width,
parallel coordinates whose axes carry their values, and plot axes that count trials in whole numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHeaderView, QProxyStyle, QStyle, QStyleOptionHeader, QTableWidget,
                               QTableWidgetItem, QWidget)

FIXED_COLUMNS = ("trial", "state", "metric", "time (s)")
MIN_COLUMN = 56  # a parameter column narrower than this elides to nothing readable
MAX_CHOICE_TICKS = 8


class AscendingArrowStyle(QProxyStyle):
    """Header arrows that point the way the values grow: ▲ over ascending rows (Fusion draws ▼ there)."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element == QStyle.PE_IndicatorHeaderArrow and isinstance(option, QStyleOptionHeader):
            option = QStyleOptionHeader(option)
            flip = {QStyleOptionHeader.SortUp: QStyleOptionHeader.SortDown,
                    QStyleOptionHeader.SortDown: QStyleOptionHeader.SortUp}
            option.sortIndicator = flip.get(option.sortIndicator, option.sortIndicator)
        super().drawPrimitive(element, option, painter, widget)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell_text(value: Any) -> str:
    """A cell's words: floats to four significant digits, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class TrialItem(QTableWidgetItem):
    """A cell that sorts by its value (numbers as numbers, then words, then empty cells)."""

    def __init__(self, value: Any) -> None:
        super().__init__(cell_text(value))
        self.value = value
        if _is_number(value):
            self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        if isinstance(value, float):
            self.setToolTip(repr(value))

    def sort_key(self) -> tuple:
        if _is_number(self.value):
            return (0, float(self.value), "")
        return (1, 0.0, str(self.value)) if self.value is not None else (2, 0.0, "")

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, TrialItem):
            return self.sort_key() < other.sort_key()
        return super().__lt__(other)


class TrialsTable(QTableWidget):
    """One row per trial (finished or running); every column in view, long ones elided; sorted by trial first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(FIXED_COLUMNS), parent)
        self.setObjectName("trials")
        self.setEditTriggers(QTableWidget.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectRows)
        # Columns share the width (and elide); only a table too narrow for MIN_COLUMN each scrolls.
        self.setTextElideMode(Qt.ElideRight)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        self._arrows = AscendingArrowStyle()
        self._arrows.setParent(self)
        header.setStyle(self._arrows)
        header.setMinimumSectionSize(MIN_COLUMN)
        header.setTextElideMode(Qt.ElideRight)
        header.setSectionResizeMode(QHeaderView.Interactive)  # fit_columns sizes them; a user may still drag
        header.setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.AscendingOrder)  # trial 0 first, under ▲
        self.set_trials([], "metric")

    def set_trials(self, trials: list, metric: str) -> None:
        """Show `trials` (TrialRecords); the user's sort column and order stay."""
        header = self.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        params = list(dict.fromkeys(k for t in trials for k in t.params))
        names = [*FIXED_COLUMNS[:2], metric, FIXED_COLUMNS[3], *params]
        self.setSortingEnabled(False)
        self.clearContents()
        self.setColumnCount(len(names))
        for col, name in enumerate(names):
            item = QTableWidgetItem(name)
            item.setToolTip(name)
            self.setHorizontalHeaderItem(col, item)
        self.setRowCount(len(trials))
        for row, t in enumerate(trials):
            state = t.state if t.state != "running" else f"running, epoch {t.epochs}" if t.epochs else "running"
            cells = [t.trial, state, t.value, t.duration_s, *(t.params.get(p) for p in params)]
            for col, value in enumerate(cells):
                item = TrialItem(value)
                if col == 1 and t.reason:
                    item.setToolTip(t.reason)
                self.setItem(row, col, item)
        self.setSortingEnabled(True)
        self.sortByColumn(column if column < len(names) else 0, order)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Each column as wide as it reads where the width allows; else the widest share what is left and elide."""
        header = self.horizontalHeader()
        count = self.columnCount()
        wanted = [max(header.sectionSizeHint(c), self.sizeHintForColumn(c)) for c in range(count)]
        for col, width in enumerate(shared_widths(wanted, self.viewport().width(), MIN_COLUMN)):
            header.resizeSection(col, width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def column_values(self, col: int) -> list:
        """The values of column `col`, top to bottom as shown."""
        return [self.item(r, col).value for r in range(self.rowCount())]


def shared_widths(wanted: list[int], room: int, least: int) -> list[int]:
    """Column widths within `room`: every column its wanted width if all fit, else the widest capped at one level."""
    if sum(wanted) <= room or not wanted:
        return list(wanted)
    level = room / len(wanted)
    for _ in range(len(wanted)):  # the narrow columns keep their width; what they leave goes to the wide ones
        narrow = [w for w in wanted if w < level]
        widened = (room - sum(narrow)) / max(1, len(wanted) - len(narrow))
        if abs(widened - level) < 0.5:
            break
        level = widened
    return [max(least, min(w, int(level))) for w in wanted]


class IntegerAxis(pg.AxisItem):
    """An axis of counts (trials): ticks only at whole numbers, never at 0.5 trials."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)  # one trial's narrow range would read "trial (x0.001)"

    def tickValues(self, minVal, maxVal, size):
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        levels = [(spacing, values) for spacing, values in levels if values]
        if not levels and math.isfinite(minVal) and math.isfinite(maxVal):
            levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        return levels

    def tickStrings(self, values, scale, spacing):
        return [str(int(round(v * scale))) for v in values]


@dataclass(frozen=True)
class ParallelAxis:
    """One axis of the parallel coordinates: its name and how its values map to 0..1 (log where searched so)."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    @classmethod
    def of(cls, name: str, values: list, dimension=None) -> ParallelAxis:
        """The axis for `values`, over the searched range of `dimension` when there is one."""
        if dimension is not None and dimension.choices:
            return cls(name, choices=tuple(dimension.choices))
        numbers = [float(v) for v in values if _is_number(v)]
        if len(numbers) != len([v for v in values if v is not None]):  # words: each its own rank
            return cls(name, choices=tuple(sorted(set(map(str, values)))))
        low = min([*numbers, *([dimension.low] if dimension is not None and dimension.low is not None else [])],
                  default=0.0)
        high = max([*numbers, *([dimension.high] if dimension is not None and dimension.high is not None else [])],
                   default=1.0)
        log = bool(dimension is not None and dimension.log and low > 0)
        return cls(name, float(low), float(high), log)

    def position(self, value: Any) -> float:
        """Where `value` sits on the axis, 0 (bottom) to 1 (top)."""
        if value is None:  # a trial that did not set this value: no point on this axis
            return math.nan
        if self.choices:
            keys = [str(c) for c in self.choices]
            rank = keys.index(str(value)) if str(value) in keys else 0
            return rank / (len(keys) - 1) if len(keys) > 1 else 0.5
        f = math.log10 if self.log else float
        a, b = f(self.low), f(self.high)
        return (f(value) - a) / (b - a) if b > a else 0.5

    def ticks(self) -> list[tuple[float, str]]:
        """(position, words) of the values written beside the axis."""
        if self.choices:
            shown = self.choices if len(self.choices) <= MAX_CHOICE_TICKS else (self.choices[0], self.choices[-1])
            return [(self.position(c), cell_text(c)) for c in shown]
        if self.high <= self.low:
            return [(0.5, cell_text(self.low))]
        middle = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return [(self.position(v), f"{v:.3g}") for v in (self.low, middle, self.high)]


class ParallelCoordinates:
    """The parallel-coordinates plot's items, made once: every trial's polyline, the best one, and each axis's values."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        plot.hideAxis("left")
        plot.setYRange(-0.05, 1.05, padding=0)
        self.lines = pg.PlotDataItem([], [], connect="finite", pen=pg.mkPen(120, 160, 255, 140))
        self.best = pg.PlotDataItem([], [], pen=pg.mkPen(255, 140, 0, width=3))
        plot.addItem(self.lines)
        plot.addItem(self.best)
        self.labels: list[pg.TextItem] = []  # reused from fill to fill; the extra ones hidden

    def set_trials(self, rows: list[list], axes: list[ParallelAxis], best: int | None) -> None:
        """`rows`: each trial's values, one per axis; `best`: the row drawn over the others."""
        if not rows:
            self.lines.setData([], [])
            self.best.setData([], [])
            self._label([])
            return
        scaled = np.array([[axis.position(v) for axis, v in zip(axes, row)] for row in rows], dtype=float)
        x = np.arange(len(axes), dtype=float)
        self.lines.setData(np.concatenate([np.append(x, np.nan) for _ in rows]),
                           np.concatenate([np.append(r, np.nan) for r in scaled]))
        self.best.setData(x, scaled[best]) if best is not None else self.best.setData([], [])
        self.plot.getAxis("bottom").setTicks([list(enumerate(a.name for a in axes))])
        self.plot.setXRange(-0.75, len(axes) - 0.4, padding=0)  # room for the first values and the last name
        self._label([(i, pos, text) for i, axis in enumerate(axes) for pos, text in axis.ticks()])

    def _label(self, ticks: list[tuple[int, float, str]]) -> None:
        while len(self.labels) < len(ticks):
            label = pg.TextItem(anchor=(1.0, 0.5), color=self.plot.getAxis("bottom").textPen().color())
            self.plot.addItem(label)
            self.labels.append(label)
        for label, (i, pos, text) in zip(self.labels, ticks):
            label.setText(text)
            label.setPos(i - 0.03, pos)
            label.show()
        for label in self.labels[len(ticks):]:
            label.hide()

    def texts(self) -> list[str]:
        """The values written beside the axes (what a user reads)."""
        return [label.textItem.toPlainText() for label in self.labels if label.isVisible()]
