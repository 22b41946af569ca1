"""Show a few dataset samples whatever their kind: an image grid, a table of rows, or
sequence plots. Takes numpy arrays, so it works for data loaders and inference alike."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QStackedWidget, QTableWidget, QTableWidgetItem, QWidget

from app.training.plots import OVERLAY, TRAIN, VALID, EXTRA


def sample_kind(x: np.ndarray) -> str:
    """'image' for (N, C, H, W) / (N, H, W), 'sequence' for (N, T, F), 'table' for (N, F)."""
    if x.ndim == 4 or (x.ndim == 3 and x.shape[1] > 1 and x.shape[2] > 1 and x.shape[1] == x.shape[2]):
        return "image"
    if x.ndim == 3:
        return "sequence"
    return "table"


def to_gray_or_rgb(img: np.ndarray) -> np.ndarray:
    """One image (C, H, W) or (H, W) as uint8 (H, W) or (H, W, 3), contrast-stretched."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return (a * 255).clip(0, 255).astype(np.uint8)


def mosaic(x: np.ndarray, columns: int = 8, pad: int = 1) -> np.ndarray:
    """Tile images into one uint8 array (grey or RGB), `columns` per row."""
    tiles = [to_gray_or_rgb(img) for img in x]
    h, w = tiles[0].shape[:2]
    rgb = tiles[0].ndim == 3
    rows = (len(tiles) + columns - 1) // columns
    shape = (rows * (h + pad) + pad, columns * (w + pad) + pad) + ((3,) if rgb else ())
    out = np.full(shape, 255, dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = tile
    return out


def array_to_pixmap(a: np.ndarray, scale: int) -> QPixmap:
    """A uint8 grey (H, W) or RGB (H, W, 3) array as a pixmap scaled by `scale` (no smoothing)."""
    a = np.ascontiguousarray(a)
    if a.ndim == 2:
        image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format_Grayscale8)
    else:
        image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format_RGB888)
    image = image.copy()  # own the pixels: `a` goes away
    return QPixmap.fromImage(image.scaled(image.width() * scale, image.height() * scale,
                                          Qt.IgnoreAspectRatio, Qt.FastTransformation))


class SampleView(QStackedWidget):
    """Images as a grid, rows as a table, sequences as curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_label = QLabel("No samples yet.")
        self.image_label.setAlignment(Qt.AlignCenter)
        self.image_label.setObjectName("sample_grid")
        self.table = QTableWidget()
        self.plot = pg.PlotWidget()
        self.plot.setBackground(None)
        self.plot.addLegend(labelTextSize="8pt")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        for w in (self.image_label, self.table, self.plot):
            self.addWidget(w)
        self.kind = ""
        self.shown = 0  # how many samples are on screen
        self.grid: np.ndarray | None = None  # the image mosaic, before scaling

    def show_message(self, text: str) -> None:
        """Replace the samples by a line of text (nothing to show, or the data failed to load)."""
        self.kind, self.shown, self.grid = "", 0, None
        self.image_label.clear()
        self.image_label.setToolTip("")
        self.image_label.setText(text)
        self.setCurrentWidget(self.image_label)

    def show_samples(self, x, y=None, class_names: list[str] | None = None, columns: int = 8,
                     kind: str | None = None) -> None:
        """Show up to a few dozen samples of `x` (labels `y` where given); `kind` overrides the guess."""
        x = np.asarray(x)
        self.kind = kind or sample_kind(x)
        names = class_names or []
        if len(x) == 0:
            self.show_message("The chosen split holds no samples.")
            return
        if self.kind == "image":
            self.shown = min(len(x), columns * 4)
            grid = self.grid = mosaic(x[: columns * 4], columns)
            scale = max(1, min(8, 320 // max(grid.shape[1], 1)))
            self.image_label.setPixmap(array_to_pixmap(grid, scale))
            if y is not None:
                labels = [names[int(v)] if names and int(v) < len(names) else str(v)
                          for v in np.asarray(y)[: columns * 4]]
                self.image_label.setToolTip("Labels, row by row: " + " ".join(labels))
            self.setCurrentWidget(self.image_label)
        elif self.kind == "sequence":
            self.plot.clear()
            self.shown, self.grid = min(len(x), 6), None
            colors = (TRAIN, VALID, EXTRA) + OVERLAY
            for k, seq in enumerate(x[:6]):
                label = None
                if y is not None:
                    v = np.asarray(y)[k]
                    label = names[int(v)] if names and np.ndim(v) == 0 and int(v) < len(names) else str(np.round(v, 3))
                self.plot.plot(np.asarray(seq)[:, 0], pen=pg.mkPen(colors[k % len(colors)], width=1.5), name=label)
            self.setCurrentWidget(self.plot)
        else:
            rows = x[:20].reshape(min(len(x), 20), -1)
            self.shown, self.grid = len(rows), None
            cols = rows.shape[1] + (1 if y is not None else 0)
            self.table.setRowCount(len(rows))
            self.table.setColumnCount(cols)
            headers = [f"x{i}" for i in range(rows.shape[1])] + (["target"] if y is not None else [])
            self.table.setHorizontalHeaderLabels(headers)
            for r, row in enumerate(rows):
                for c, v in enumerate(row):
                    self.table.setItem(r, c, QTableWidgetItem(f"{float(v):.3g}"))
                if y is not None:
                    v = np.asarray(y)[r]
                    text = names[int(v)] if names and np.ndim(v) == 0 and int(v) < len(names) else str(v)
                    self.table.setItem(r, cols - 1, QTableWidgetItem(text))
            self.setCurrentWidget(self.table)
