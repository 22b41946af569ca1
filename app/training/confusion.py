"""Confusion-matrix heatmap with counts and a colour bar, and the per-class metrics table.

One ImageItem is updated with `setImage(levels=…)` each epoch, so colours stay stable between
updates, and one CountsItem paints every cell's count: a hundred TextItems (ten classes) cost the
GUI thread tens of milliseconds to restyle each epoch while training runs, one item's paint does not.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)


def per_class_metrics(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a (true × predicted) count matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    predicted = m.sum(axis=0)
    support = m.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


COUNT_MIN_CELL_PX = 12  # smaller cells show their colour only (hover the heatmap for the count)
COUNT_MAX_CLASSES = 20  # beyond this the numbers would not fit at any size


class CountsItem(pg.GraphicsObject):
    """The count in each cell of an n×n matrix (one unit per cell), painted at a pixel size that fits the cell.

    The font follows the cell size as drawn (at most 12 px, 45 % of a cell), so resizing the pane
    needs no work here; cells under 12 px get no numbers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []  # row by row, "" for an empty cell
        self._light: list[bool] = []  # light text on the dark end of the colour map
        self.n = 0
        self.drawn = 0  # how many counts the last paint drew (what a test can see)
        self._font = QFont()

    def set_counts(self, m: np.ndarray, top: int) -> None:
        """Show the counts of matrix `m` (`top`: the colour scale's maximum)."""
        self.prepareGeometryChange()
        self.n = m.shape[0] if m.shape[0] <= COUNT_MAX_CLASSES else 0
        flat = m.ravel() if self.n else np.zeros(0, dtype=np.int64)
        self.texts = [str(int(v)) if v else "" for v in flat]
        self._light = list(flat / max(top, 1) > 0.55)
        self.update()

    def cell_pixels(self) -> float:
        """How many device pixels one cell spans now (0 when not in a view)."""
        views = self.scene().views() if self.scene() is not None else []
        if not views:
            return 0.0
        transform = self.deviceTransform(views[0].viewportTransform())
        a, b = transform.map(QPointF(0, 0)), transform.map(QPointF(1, 1))
        return min(abs(b.x() - a.x()), abs(b.y() - a.y()))

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.n, self.n)

    def paint(self, painter: QPainter, *_args) -> None:
        self.drawn = 0
        transform = painter.transform()
        cell = min(abs(transform.m11()) + abs(transform.m21()), abs(transform.m22()) + abs(transform.m12()))
        if not self.n or cell < COUNT_MIN_CELL_PX:
            return
        self._font.setPixelSize(max(6, int(min(12, cell * 0.45))))
        painter.save()
        painter.resetTransform()  # text in pixels, not in cell units
        painter.setFont(self._font)
        light, dark = QColor("#ffffff"), QColor("#1f2430")
        n = self.n
        for k, text in enumerate(self.texts):
            if not text:
                continue
            i, j = divmod(k, n)
            centre = transform.map(QPointF(j + 0.5, i + 0.5))
            painter.setPen(light if self._light[k] else dark)
            painter.drawText(QRectF(centre.x() - cell / 2, centre.y() - cell / 2, cell, cell), Qt.AlignCenter, text)
            self.drawn += 1
        painter.restore()


class ConfusionView(QWidget):
    """Heatmap of true (rows) × predicted (columns) counts; clicking a cell emits it."""

    cell_clicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._widget = pg.GraphicsLayoutWidget()
        self._widget.setBackground(None)
        self.caption = QLabel("The confusion matrix appears after the first epoch.")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self._widget, 1)
        self.plot_item = self._widget.addPlot()
        self.plot_item.setLabel("bottom", "predicted class")
        self.plot_item.setLabel("left", "true class")
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.hideButtons()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.invertY(True)  # row 0 at the top, as matrices are read
        self.plot_item.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        cmap = pg.colormap.get("CET-L12") if "CET-L12" in pg.colormap.listMaps() else pg.colormap.get("viridis")
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=cmap, interactive=False, width=14,
                                         label="count")
        self.color_bar.setImageItem(self.image, insert_in=self.plot_item)
        self.counts = CountsItem()
        self.plot_item.addItem(self.counts)
        self.matrix: np.ndarray | None = None
        self.class_names: list[str] = []
        self.split = "validation"
        self._labelled_classes = 0  # the n of the n×n class ticks set (each epoch only updates the counts)
        self._widget.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self._show_empty()

    def _show_empty(self) -> None:
        """Before the first epoch: a blank square, no made-up class numbers or ±500 ranges."""
        for side in ("bottom", "left"):
            self.plot_item.getAxis(side).setTicks([[]])
            self.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.plot_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)

    def clear(self) -> None:
        """No matrix: what a project without a classification run shows."""
        self.image.clear()
        self.counts.set_counts(np.zeros((0, 0), dtype=np.int64), 1)
        self.matrix, self.class_names, self.split = None, [], "validation"
        self._labelled_classes = 0
        self.caption.setText("The confusion matrix appears after the first epoch.")
        self._show_empty()

    def set_matrix(self, matrix, class_names: list[str] | None = None, caption: str = "",
                   split: str = "validation") -> None:
        """Show `matrix` (rows: true class, columns: predicted class) of the data `split`."""
        m = np.asarray(matrix, dtype=np.int64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"a confusion matrix is square (classes × classes), received shape {m.shape}")
        n = m.shape[0]
        names = list(class_names) if class_names and len(class_names) == n else [str(i) for i in range(n)]
        top = max(int(m.max()), 1)
        self.image.setImage(m.astype(np.float32), levels=(0, top))
        self.color_bar.setLevels((0, top))
        if n != self._labelled_classes or names != self.class_names:  # re-tick only when classes change
            self._build_labels(n, names)
        self.counts.set_counts(m, top)
        self.matrix = m
        self.class_names = names
        self.split = split  # which samples a clicked cell stands for
        self.caption.setText(caption or f"{int(m.sum())} samples; diagonal = correct")

    def _build_labels(self, n: int, names: list[str]) -> None:
        self._labelled_classes = n
        ticks = [(k + 0.5, name) for k, name in enumerate(names)]
        self.plot_item.getAxis("bottom").setTicks([ticks])
        self.plot_item.getAxis("left").setTicks([ticks])
        self.plot_item.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(true, predicted) for a point in image coordinates, or None outside the matrix."""
        if self.matrix is None:
            return None
        n = self.matrix.shape[0]
        col, row = int(np.floor(x)), int(np.floor(y))
        if 0 <= row < n and 0 <= col < n:
            return row, col
        return None

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        pos = self.image.mapFromScene(event.scenePos())
        cell = self.cell_at(pos.x(), pos.y())
        if cell is not None:
            self.cell_clicked.emit(*cell)


class ClassMetricsTable(QTableWidget):
    """Per-class precision, recall, F1 and support, plus the macro averages."""

    HEADERS = ("class", "precision", "recall", "F1", "support")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.setAlternatingRowColors(True)

    def set_matrix(self, matrix, class_names: list[str]) -> None:
        """Fill the table from a confusion matrix."""
        metrics = per_class_metrics(matrix)
        n = len(metrics["support"])
        self.setRowCount(n + 1)
        for i in range(n):
            self._set_row(i, class_names[i] if i < len(class_names) else str(i), metrics["precision"][i],
                          metrics["recall"][i], metrics["f1"][i], metrics["support"][i])
        self._set_row(n, "macro average", metrics["precision"].mean(), metrics["recall"].mean(),
                      metrics["f1"].mean(), metrics["support"].sum())

    def clear_rows(self) -> None:
        """No matrix, no rows (the headers stay)."""
        self.setRowCount(0)

    def _set_row(self, row: int, name: str, p: float, r: float, f: float, support: int) -> None:
        for col, text in enumerate((name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", str(int(support)))):
            item = self.item(row, col)
            if item is None:  # made once per cell, re-texted each epoch
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.setItem(row, col, item)
            elif item.text() != text:
                item.setText(text)
