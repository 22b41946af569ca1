"""The dashboard's views of a generative run (the events of runtime/generate/generative.py).

Autoencoder and VAE runs: reconstructions beside their originals, samples from the prior,
the latent plane coloured by class and an interpolation strip between two chosen samples
(decoded from the run's latest weights on a worker thread); the worst-reconstructed samples
are listed in a table. GAN runs: generator and discriminator losses, D(real) and D(fake),
fixed-noise samples and a warning when they collapse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QSizePolicy, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from app.training.background import run_in_background
from app.training.plots import EXTRA, OVERLAY, TRAIN, VALID, LivePlot, Series
from app.training.samples import array_to_pixmap
from graph_builder.run_folder import RunFolder
from graph_builder.tasks import TaskSpec, run_task
from runtime.events import problem

GENERATIVE_TASKS = ("reconstruction", "gan")
# Okabe-Ito and Tableau colours: ten classes stay apart, also for colour-blind readers.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
                "#8C564B", "#999999")
PICK_A, PICK_B = QColor("#0072B2"), QColor("#D55E00")


def tiles_of(images, shape) -> np.ndarray:
    """An event's uint8 image lists as an array (N, H, W) or (N, H, W, 3)."""
    c, h, w = shape
    a = np.asarray(images, dtype=np.uint8)
    return a.reshape((-1, h, w) if c == 1 else (-1, h, w, 3))


def tile_mosaic(tiles: np.ndarray, columns: int, pad: int = 1, group: int = 1, gap: int = 3) -> np.ndarray:
    """Tile uint8 images in rows of `columns`, with a wider `gap` after every `group` columns."""
    n, h, w = tiles.shape[:3]
    rows = -(-n // columns)
    extra = (columns - 1) // group * (gap - pad)
    shape = (rows * (h + pad) + pad, columns * (w + pad) + pad + extra) + tiles.shape[3:]
    out = np.full(shape, 255, dtype=np.uint8)
    for k in range(n):
        r, col = divmod(k, columns)
        y = pad + r * (h + pad)
        x = pad + col * (w + pad) + col // group * (gap - pad)
        out[y:y + h, x:x + w] = tiles[k]
    return out


class ImageGrid(QWidget):
    """A grid of small images drawn as crisp enlarged pixels, scaled to fit; optional frames on two tiles."""

    tile_clicked = Signal(int, bool)  # tile index, right button

    def __init__(self, empty: str, columns: int = 8, group: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty = empty
        self.columns, self.group = columns, group
        self.tiles: np.ndarray | None = None  # (N, H, W[, 3]) uint8, as received
        self.image: np.ndarray | None = None  # the mosaic drawn
        self.frames: dict[int, QColor] = {}  # tile index -> frame colour
        self._qimage: QImage | None = None
        self.setMinimumSize(64, 48)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def set_tiles(self, tiles: np.ndarray | None) -> None:
        """Show `tiles` (or the empty text when None)."""
        self.tiles = tiles
        if tiles is None or len(tiles) == 0:
            self.image = self._qimage = None
        else:
            self.image = tile_mosaic(tiles, min(self.columns, len(tiles)), group=self.group)
            self._qimage = array_to_pixmap(self.image, 1).toImage()
        self.update()

    def clear(self) -> None:
        self.set_tiles(None)

    def _target(self) -> QRect:
        """Where the mosaic is drawn: as large as fits, its aspect kept."""
        ih, iw = self.image.shape[:2]
        scale = max(1.0, min(self.width() / iw, self.height() / ih))
        w, h = int(iw * scale), int(ih * scale)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def tile_rect(self, index: int) -> QRect:
        """The on-screen rectangle of tile `index`."""
        target = self._target()
        scale = target.width() / self.image.shape[1]
        h, w = self.tiles.shape[1:3]
        r, col = divmod(index, min(self.columns, len(self.tiles)))
        x = 1 + col * (w + 1) + col // self.group * 2
        y = 1 + r * (h + 1)
        return QRect(target.x() + round(x * scale), target.y() + round(y * scale), round(w * scale),
                     round(h * scale))

    def tile_at(self, pos) -> int | None:
        if self.tiles is None:
            return None
        return next((i for i in range(len(self.tiles)) if self.tile_rect(i).contains(pos)), None)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        if self._qimage is None:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignCenter | Qt.TextWordWrap, self.empty)
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        p.drawImage(self._target(), self._qimage)
        for index, color in self.frames.items():
            if 0 <= index < len(self.tiles):
                p.setPen(QPen(color, 3))
                p.drawRect(self.tile_rect(index).adjusted(-2, -2, 1, 1))

    def mousePressEvent(self, event) -> None:
        index = self.tile_at(event.position().toPoint())
        if index is not None:
            self.tile_clicked.emit(index, event.button() == Qt.RightButton)
        super().mousePressEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(320, 240)


def _box(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 4, 6, 6)
    for w in widgets:
        layout.addWidget(w, 1 if isinstance(w, (ImageGrid, pg.PlotWidget, LivePlot)) else 0)
    return box


class LatentScatter(pg.PlotWidget):
    """Validation samples' latent means in 2-D, one colour per class (a legend names them)."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground(None)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "z₁")
        item.setLabel("left", "z₂")
        self.key = QLabel()  # under the plot, as the dashboard's plots keep theirs, never over the points
        self.key.setObjectName("latent_key")
        self.key.setWordWrap(True)
        self.key.setTextFormat(Qt.RichText)
        self.items: dict = {}  # class label -> its ScatterPlotItem
        self.description = ""

    def set_points(self, points, labels, method: str, dims: int) -> None:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        labels = list(labels) if labels is not None else [None] * len(pts)
        order = sorted(set(labels), key=lambda v: (v is None, v if v is not None else 0))
        for label in order:
            if label not in self.items:
                color = CLASS_COLORS[len(self.items) % len(CLASS_COLORS)]
                item = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(color), name=str(label))
                self.items[label] = item
                self.addItem(item)
        self.key.setText("&nbsp;&nbsp;".join(
            f'<span style="color:{item.opts["brush"].color().name()}">●</span>&nbsp;{"all" if label is None else label}'
            for label, item in self.items.items()))
        lab = np.asarray([-1 if v is None else v for v in labels])
        for label, item in self.items.items():
            mask = lab == (-1 if label is None else label)
            item.setData(pts[mask, 0], pts[mask, 1])
        axes = ("PC 1", "PC 2") if method == "pca" else ("z₁", "z₂")
        item = self.getPlotItem()
        item.setLabel("bottom", axes[0])
        item.setLabel("left", axes[1])
        self.description = (f"{len(pts)} validation samples, {dims}-D latent"
                            + (", first two principal components" if method == "pca" else ""))

    def clear_points(self) -> None:
        for item in self.items.values():
            self.removeItem(item)
        self.key.setText("")
        self.items = {}
        self.description = ""

    def point_count(self) -> int:
        return sum(len(item.data) for item in self.items.values())

    def colors(self) -> set[str]:
        """The colours of the classes that have points."""
        return {item.opts["brush"].color().name() for item in self.items.values() if len(item.data)}


def _score_text(value: float) -> str:
    """A score with the same four decimals down the column (scientific when far from 1)."""
    return f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 else f"{value:.3e}"


class AnomalyTable(QTableWidget):
    """A reconstruction run's samples with the largest reconstruction error, worst first."""

    COLUMNS = ("Rank", "Sample", "Label", "Score", "Image")

    def __init__(self) -> None:
        super().__init__(0, len(self.COLUMNS))
        self.setObjectName("anomaly_table")
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setIconSize(QSize(32, 32))
        self.caption = QLabel("Anomaly scores (reconstruction error) appear when an autoencoder run ends.")
        self.caption.setObjectName("anomaly_caption")
        self.caption.setWordWrap(True)

    def set_ranking(self, ev: dict) -> None:
        scores = [s if s is not None else float("inf") for s in ev["scores"]]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])  # worst first, whatever the sender did
        labels = ev["labels"]
        thumbs = tiles_of(ev["thumbnails"], ev["shape"]) if ev["thumbnails"] is not None else None
        self.setRowCount(len(order))
        for row, i in enumerate(order):
            cells = (str(row + 1), str(ev["indices"][i]), "–" if labels is None else str(labels[i]),
                     _score_text(scores[i]), "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (0, 1, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if col == 3:
                    item.setData(Qt.UserRole, scores[i])
                self.setItem(row, col, item)
            if thumbs is not None:
                scale = max(1, 32 // max(thumbs.shape[1:3]))
                self.item(row, 4).setData(Qt.DecorationRole, array_to_pixmap(thumbs[i], scale))
        if thumbs is not None:
            self.verticalHeader().setDefaultSectionSize(36)
        split = {"test": "test", "validation": "validation"}.get(ev["split"], ev["split"])
        mean = ev["mean"]
        self.caption.setText(f"The {len(order)} worst-reconstructed of {ev['count']} {split} samples, worst first"
                             + (f" (mean score {mean:.4g})" if mean is not None else "")
                             + ". Score: mean squared reconstruction error.")

    def scores(self) -> list[float]:
        return [self.item(r, 3).data(Qt.UserRole) for r in range(self.rowCount())]

    def clear_ranking(self, caption: str = "Anomaly scores (reconstruction error) appear when an autoencoder "
                                           "run ends.") -> None:
        self.setRowCount(0)
        self.caption.setText(caption)


def _interpolation_strip(*args):
    from runtime.generate import interpolation_strip  # torch, imported on the worker thread

    return interpolation_strip(*args)


class GenerativeView(QWidget):
    """The generative pane of the dashboard: which run it shows, over an autoencoder/VAE page or a GAN page."""

    PAGES = ("none", "autoencoder", "gan")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generative_view")
        self.run_dir: str | None = None
        self.latents: list | None = None
        self.value_range = (0.0, 1.0)
        self.shape = None
        self.interpolation_error = ""
        self._jobs: list = []
        self._asked = 0  # the latest interpolation asked for; older answers are dropped
        self.live = False  # a run is training: choosing another run in Runs leaves its pictures alone

        none = QLabel("This run is not generative. Reconstruction (autoencoder, VAE) and GAN runs show their "
                      "samples here.")
        none.setWordWrap(True)
        none.setAlignment(Qt.AlignCenter)
        self.pages = QStackedWidget()
        self.pages.addWidget(none)
        self.pages.addWidget(self._make_autoencoder_page())
        self.pages.addWidget(self._make_gan_page())
        self.shown = QLabel("")  # which run the pictures are of (the live one, or one chosen in Runs)
        self.shown.setObjectName("generative_run")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.shown)
        layout.addWidget(self.pages, 1)
        self.anomalies = AnomalyTable()
        self.anomaly_page = QWidget()
        a = QVBoxLayout(self.anomaly_page)
        a.setContentsMargins(4, 4, 4, 4)
        a.addWidget(self.anomalies.caption)
        a.addWidget(self.anomalies, 1)

    # ----- pages
    def _make_autoencoder_page(self) -> QWidget:
        self.reconstructions = ImageGrid("Reconstructions of image data appear after each epoch.", columns=8,
                                         group=2)
        self.reconstructions.setObjectName("reconstruction_grid")
        self.reconstructions.setToolTip("Each pair: a validation sample (left) beside its reconstruction (right). "
                                        "Click a pair to interpolate from it, right-click to interpolate to it.")
        self.reconstructions.tile_clicked.connect(self._on_tile_clicked)
        self.prior = ImageGrid("Samples from the prior appear after each epoch of a VAE (a network with a "
                               "Gaussian latent layer).")
        self.prior.setObjectName("prior_grid")
        self.prior.setToolTip("Decoded from the same noise drawn from the prior N(0, I) every epoch.")
        self.scatter = LatentScatter()
        self.scatter.setObjectName("latent_scatter")
        self.scatter_note = QLabel("The latent plane needs a Gaussian latent layer (a VAE).")
        self.scatter_note.setWordWrap(True)
        self.strip = ImageGrid("The interpolation strip needs a VAE and its first epoch.", columns=8)
        self.strip.setObjectName("interpolation_strip")
        self.strip.setMinimumHeight(40)
        self.strip.setToolTip("Outputs decoded along the straight line between the two chosen samples' latent means.")
        self.pick_a, self.pick_b = QSpinBox(), QSpinBox()
        for spin, name, value, color in ((self.pick_a, "interpolate_from", 0, PICK_A),
                                         (self.pick_b, "interpolate_to", 15, PICK_B)):
            spin.setObjectName(name)
            spin.setRange(0, 15)
            spin.setValue(value)
            spin.setStyleSheet(f"QSpinBox {{ border: 2px solid {color.name()}; }}")
            spin.valueChanged.connect(self._on_pick_changed)
        self.strip_note = QLabel("")
        self.strip_note.setObjectName("interpolation_note")
        self.strip_note.setWordWrap(True)
        picks = QHBoxLayout()
        picks.addWidget(QLabel("From pair"))
        picks.addWidget(self.pick_a)
        picks.addWidget(QLabel("to pair"))
        picks.addWidget(self.pick_b)
        picks.addStretch(1)
        strip_box = _box("Interpolation", self.strip)
        strip_box.layout().addLayout(picks)
        strip_box.layout().addWidget(self.strip_note)

        page = QWidget()
        g = QGridLayout(page)
        g.setContentsMargins(0, 0, 0, 0)
        self.autoencoder_note = QLabel("A plain autoencoder: add a Gaussian latent layer (a VAE) for samples from "
                                       "the prior, the latent plane and interpolation.")
        self.autoencoder_note.setObjectName("autoencoder_note")
        self.autoencoder_note.setWordWrap(True)
        self.autoencoder_note.hide()
        g.addWidget(_box("Originals | reconstructions", self.reconstructions, self.autoencoder_note), 0, 0)
        prior_box = _box("Prior samples", self.prior)
        scatter_box = _box("Latent space", self.scatter, self.scatter.key, self.scatter_note)
        g.addWidget(prior_box, 0, 1)
        g.addWidget(strip_box, 1, 0, 1, 2)
        g.addWidget(scatter_box, 0, 2, 2, 1)
        self.vae_boxes = (prior_box, strip_box, scatter_box)  # hidden for a plain autoencoder
        self._grid = g
        g.setRowStretch(0, 3)
        g.setRowStretch(1, 1)
        g.setColumnStretch(0, 5)
        g.setColumnStretch(1, 4)
        g.setColumnStretch(2, 6)
        self._update_frames()
        return page

    def _show_vae_boxes(self, vae: bool) -> None:
        """A plain autoencoder's reconstructions take the whole page; a VAE's share it."""
        for box in self.vae_boxes:
            box.setVisible(vae)
        self.autoencoder_note.setVisible(not vae)
        self._grid.setRowStretch(1, 1 if vae else 0)
        self._grid.setColumnStretch(1, 4 if vae else 0)
        self._grid.setColumnStretch(2, 6 if vae else 0)

    def _make_gan_page(self) -> QWidget:
        self.gan_loss_plot = LivePlot("Generator and discriminator loss", "loss", "epoch", [
            Series("g_loss", "generator", TRAIN, symbols=True, width=2.0),
            Series("d_loss", "discriminator", VALID, symbols=True, width=2.0)])
        self.gan_d_plot = LivePlot("Discriminator output", "P(real)", "epoch", [
            Series("d_real", "D(real)", EXTRA, symbols=True, width=2.0),
            Series("d_fake", "D(fake)", OVERLAY[0], symbols=True, width=2.0)])
        self.gan_samples = ImageGrid("Samples of image data appear after each epoch.")
        self.gan_samples.setObjectName("gan_samples")
        self.collapse_warning = QLabel("")
        self.collapse_warning.setObjectName("collapse_warning")
        self.collapse_warning.setWordWrap(True)
        self.collapse_warning.setStyleSheet("QLabel { background: #fde2e1; color: #8a1c1c; border: 1px solid "
                                            "#d64545; border-radius: 4px; padding: 4px; font-weight: bold; }")
        self.collapse_warning.hide()
        self.diversity_label = QLabel("")
        self.diversity_label.setObjectName("sample_diversity")
        self.diversity_label.setWordWrap(True)
        page = QWidget()
        g = QGridLayout(page)
        g.setContentsMargins(0, 0, 0, 0)
        g.addWidget(self.gan_loss_plot, 0, 0)
        g.addWidget(self.gan_d_plot, 1, 0)
        g.addWidget(_box("Samples from fixed noise", self.gan_samples, self.diversity_label,
                         self.collapse_warning), 0, 1, 2, 1)
        g.setColumnStretch(0, 1)
        g.setColumnStretch(1, 1)
        return page

    @property
    def plots(self) -> list[LivePlot]:
        return [self.gan_loss_plot, self.gan_d_plot]

    # ----- the dashboard's hooks
    def show_page(self, page: str | None) -> None:
        """Turn to `page` ("autoencoder", "gan"; None: a task without pictures), as the task's views say."""
        self.pages.setCurrentIndex(self.PAGES.index(page) if page in self.PAGES else 0)

    def reset(self) -> None:
        """A new run starts: forget the previous one's images and points."""
        for grid in (self.reconstructions, self.prior, self.strip, self.gan_samples):
            grid.clear()
        self.scatter.clear_points()
        self.anomalies.clear_ranking()
        for plot in self.plots:
            plot.clear()
        self.collapse_warning.hide()
        self.diversity_label.setText("")
        self.strip_note.setText("")
        self.latents = None
        self._show_vae_boxes(True)
        self.run_dir = None
        self.shown.setText("")
        self._asked += 1

    def refresh(self) -> None:
        for plot in self.plots:
            plot.refresh()

    def handle_event(self, ev: dict) -> None:
        handler = getattr(self, f"_on_{ev.get('type')}_event", None)
        if handler is not None:
            handler(ev)

    # ----- events
    def _on_started_event(self, ev: dict) -> None:
        self.run_dir = ev["run_dir"]
        self.live = True
        self.shown.setText(f"Run {Path(self.run_dir).name} (training)" if self.run_dir else "")

    def _on_epoch_event(self, ev: dict) -> None:  # a GAN's two losses and D's outputs; other tasks have none
        epoch, train = ev["epoch"], ev["train"] or {}
        if not any(train.get(key) is not None for key in ("g_loss", "d_loss", "d_real", "d_fake")):
            return
        for key in ("g_loss", "d_loss"):
            self.gan_loss_plot.add_point(key, epoch, train.get(key))
        for key in ("d_real", "d_fake"):
            self.gan_d_plot.add_point(key, epoch, train.get(key))

    def _on_reconstructions_event(self, ev: dict) -> None:
        originals = tiles_of(ev["originals"], ev["shape"])
        rebuilt = tiles_of(ev["reconstructions"], ev["shape"])
        pairs = np.empty((2 * len(originals), *originals.shape[1:]), dtype=np.uint8)
        pairs[0::2], pairs[1::2] = originals, rebuilt
        self.reconstructions.set_tiles(pairs)
        self.shape = ev["shape"]
        self.value_range = tuple(ev["value_range"])
        self.latents = ev.get("latents")
        last = len(originals) - 1
        for spin in (self.pick_a, self.pick_b):
            spin.blockSignals(True)
            spin.setMaximum(max(0, last))
            spin.blockSignals(False)
        self._update_frames()
        self._show_vae_boxes(self.latents is not None)
        if self.latents is not None:
            self.interpolate()

    def _on_samples_event(self, ev: dict) -> None:
        tiles = tiles_of(ev["images"], ev["shape"])
        if ev["kind"] == "prior":
            self.prior.set_tiles(tiles)
            return
        self.gan_samples.set_tiles(tiles)
        self.diversity_label.setText(f"Epoch {ev['epoch']}: sample diversity {ev['diversity']:.2f} × that of real "
                                     f"data (mean pairwise distance; collapse below {ev['threshold']:.2f}).")
        if ev["collapsed"]:
            self.collapse_warning.setText(
                f"⚠ Mode collapse: the generator's samples barely differ (diversity {ev['diversity']:.2f}, below "
                f"{ev['threshold']:.2f}). Lower the generator's learning rate, add label smoothing, or make "
                "the generator use its noise input.")
        self.collapse_warning.setVisible(bool(ev["collapsed"]))

    def _on_latent_event(self, ev: dict) -> None:
        self.scatter.set_points(ev["points"], ev["labels"], ev["method"], ev["dims"])
        self.scatter_note.setText(f"Epoch {ev['epoch']}: {self.scatter.description}; each point is a sample's "
                                  "latent mean.")

    def _on_anomaly_event(self, ev: dict) -> None:
        self.anomalies.set_ranking(ev)

    def page(self) -> str:
        """The page shown: none, autoencoder or gan."""
        return self.PAGES[self.pages.currentIndex()]

    def _on_finished_event(self, ev: dict) -> None:
        self.live = False
        self.shown.setText(f"Run {Path(self.run_dir).name}" if self.run_dir else "")

    _on_stopped_event = _on_failed_event = _on_finished_event

    def show_run(self, run_dir: str) -> TaskSpec | None:
        """Show the pictures and anomaly scores a past run left (Evaluate: a run chosen in the Runs panel).

        Returns the task the run trained, for the dashboard to show its views (None: a run is training,
        and its pictures stay)."""
        if self.live or run_dir is None:
            return None
        run = RunFolder(run_dir)
        folder = run.path
        config = run.read_config_or_empty()  # bounded, as every run-folder read: a hostile folder costs a refusal
        spec = run_task(config)
        views = run.read_views()
        self.reset()
        self.run_dir = str(folder)
        for ev in views:
            if ev.get("type") in ("reconstructions", "samples", "latent") and problem(ev) is None:
                self.handle_event(ev)
        epoch = next((ev["epoch"] for ev in views if "epoch" in ev), None)
        self.shown.setText(f"Run {folder.name}" + (f", after epoch {epoch}" if epoch else ""))
        found = None
        for ev in run.read_events("anomaly"):
            if problem(ev) is None:
                found = ev
        if found is not None:
            self.anomalies.set_ranking(found)
        else:
            self.anomalies.clear_ranking(f"The run {folder.name} has no anomaly scores: autoencoder and VAE "
                                         "runs list them when they finish.")
        return spec

    # ----- interpolation
    def _on_tile_clicked(self, tile: int, right: bool) -> None:
        (self.pick_b if right else self.pick_a).setValue(tile // 2)

    def _on_pick_changed(self, _value: int) -> None:
        self._update_frames()
        self.interpolate()

    def _update_frames(self) -> None:
        a, b = self.pick_a.value(), self.pick_b.value()
        self.reconstructions.frames = {} if self.latents is None else {  # the interpolation's two ends
            2 * a: PICK_A, 2 * a + 1: PICK_A, 2 * b: PICK_B, 2 * b + 1: PICK_B}
        self.reconstructions.update()

    def interpolate(self) -> None:
        """Decode the line between the two chosen samples' latent codes on a worker thread."""
        if self.latents is None or self.run_dir is None:
            return
        a, b = self.pick_a.value(), self.pick_b.value()
        if max(a, b) >= len(self.latents):
            return
        self._asked += 1
        asked = self._asked
        self.strip_note.setText(f"Decoding from pair {a} to pair {b}…")

        def done(images, asked=asked, a=a, b=b):
            if asked == self._asked:
                self.strip.set_tiles(tiles_of(images, self.shape))
                self.strip_note.setText(f"Pair {a} → pair {b}, 8 steps.")

        def failed(exc, asked=asked):
            if asked == self._asked:
                self.strip.clear()
                self.interpolation_error = str(exc)
                self.strip_note.setText(f"The interpolation could not be made: {exc}")

        self._jobs = [job for job in self._jobs if not job.done]
        self._jobs.append(run_in_background(_interpolation_strip, self.run_dir, self.latents[a], self.latents[b],
                                            self.value_range, on_done=done, on_error=failed, parent=self))

    def wait_for_jobs(self, timeout: float = 30) -> None:
        """Block until running interpolations end (tests and shutdown)."""
        for job in self._jobs:
            job.wait(timeout)
