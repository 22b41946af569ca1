"""Inspect results: the samples behind a confusion-matrix cell (sorted by confidence), and
the predicted class probabilities of a chosen sample or of a digit drawn on a small canvas.

The model (the chosen run's graph and weights) is built and run on the worker thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from app.training.background import run_in_background
from app.training.run_check import refuse_wrong_run
from app.training.samples import SampleView
from graph_builder.run_folder import RunFolder


class Predictor:
    """A run's model and data split, loaded once, answering probability queries."""

    def __init__(self, project_dict: dict, weights: str | None) -> None:
        import torch

        from graph_builder.project import project_from_dict
        from runtime.compile import build_module
        from runtime.data import load_splits
        from runtime.export import load_weights

        project = project_from_dict(project_dict)
        self.graph = project.graph  # the run's network, as it trained
        self.module = build_module(project.graph)
        if weights:
            load_weights(self.module, weights)
        self.module.eval()
        self.splits = load_splits(project.dataset)
        self.torch = torch
        self.preprocessing = None  # the run's raw-input contract, for drawings (runtime.export.preprocess)
        folder = RunFolder.holding(weights) if weights else None
        if folder is not None:
            from runtime.export import PreprocessError, read_preprocessing

            try:
                self.preprocessing = read_preprocessing(folder.path)
            except PreprocessError:
                pass

    def split_arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.splits[split]
        return np.asarray(x), np.asarray(y)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax class probabilities for a batch of raw inputs."""
        with self.torch.no_grad():
            # A copy: the cached splits are read-only and torch wants writable memory.
            logits = self.module(self.torch.from_numpy(np.array(x, dtype=np.float32)))
            if isinstance(logits, tuple):
                logits = logits[0]
            return self.torch.softmax(logits.float(), dim=-1).numpy()


class DrawCanvas(QWidget):
    """A small square to draw a digit on with the mouse; `pixels(size)` gives it as an array."""

    drawn = Signal()

    def __init__(self, side: int = 160, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(side, side)
        self.setObjectName("draw_canvas")
        self.setCursor(Qt.CrossCursor)
        self.image = QImage(side, side, QImage.Format_Grayscale8)
        self.image.fill(0)
        self._last: QPoint | None = None

    def clear(self) -> None:
        self.image.fill(0)
        self.update()

    def mousePressEvent(self, event) -> None:
        self._last = event.position().toPoint()
        self._stroke(self._last)

    def mouseMoveEvent(self, event) -> None:
        if self._last is not None:
            self._stroke(event.position().toPoint())

    def mouseReleaseEvent(self, event) -> None:
        self._last = None
        self.drawn.emit()

    def _stroke(self, to: QPoint) -> None:
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255), self.width() / 9, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        painter.drawLine(self._last, to)
        painter.end()
        self._last = to
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.setPen(QColor("#888"))
        painter.drawRect(0, 0, self.width() - 1, self.height() - 1)

    def ink(self) -> np.ndarray:
        """The drawing at full size, ink in 0..1."""
        ptr = self.image.constBits()
        a = np.frombuffer(ptr, dtype=np.uint8).reshape(self.image.height(), self.image.bytesPerLine())
        return a[:, : self.image.width()].astype(np.float32) / 255.0

    def pixels(self, size: int = 8) -> np.ndarray:
        """The drawing averaged down to size × size, in 0..1."""
        ptr = self.image.constBits()
        a = np.frombuffer(ptr, dtype=np.uint8).reshape(self.image.height(), self.image.bytesPerLine())
        a = a[:, : self.image.width()].astype(np.float32) / 255.0
        k = a.shape[0] // size
        return a[: k * size, : k * size].reshape(size, k, size, k).mean(axis=(1, 3))


class InferencePanel(QWidget):
    """Predictions of the chosen run on one sample, a drawing, or one confusion cell."""

    predicted = Signal(object)  # probabilities (np.ndarray)
    cell_shown = Signal(int, int, int)  # true, predicted, number of samples

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._predictor: Predictor | None = None
        self._predictor_key = None
        self.split = QComboBox()
        self.split.addItems(["val", "test", "train"])
        self.split.currentTextChanged.connect(self._update_index_range)
        self.split_sizes: dict[str, int] = {}  # samples per split of the chosen run's data
        self.index = QSpinBox()
        self.index.setRange(0, 0)
        self.index.setObjectName("sample_index")
        self.predict_button = QPushButton("Predict sample")
        self.predict_button.setObjectName("predict_sample")
        self.predict_button.clicked.connect(self.predict_sample)
        self.canvas = DrawCanvas()
        self.canvas.drawn.connect(self.predict_drawing)
        clear = QPushButton("Clear drawing")
        clear.clicked.connect(self.canvas.clear)
        self.message = QLabel("Finish a run, then pick a sample, draw a digit, or click a confusion-matrix cell.")
        self.message.setWordWrap(True)
        self.message.setObjectName("inference_message")
        self.bars_plot = pg.PlotWidget()
        self.bars_plot.setBackground(None)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setYRange(0, 1)
        self.bars_plot.getPlotItem().setTitle("class probabilities", size="9pt")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#0072B2")
        self.bars_plot.addItem(self.bars)
        self.cell_samples = SampleView()
        self.cell_samples.setMinimumWidth(220)

        pick = QHBoxLayout()
        for w in (QLabel("split"), self.split, QLabel("sample"), self.index, self.predict_button):
            pick.addWidget(w)
        pick.addStretch(1)
        left = QVBoxLayout()
        left.addLayout(pick)
        draw_row = QHBoxLayout()
        draw_row.addWidget(self.canvas)
        draw_row.addWidget(clear, 0, Qt.AlignBottom)
        draw_row.addStretch(1)
        left.addLayout(draw_row)
        left.addWidget(self.message)
        # Drawing and chart side by side, a cell's samples in a strip below: three columns in a row
        # asked for more width than a 1366-px screen leaves the panel, and the chart was cut off.
        layout = QGridLayout(self)
        layout.addLayout(left, 0, 0)
        layout.addWidget(self.bars_plot, 0, 1)
        layout.addWidget(self.cell_samples, 1, 0, 1, 2)
        layout.setColumnStretch(0, 1)
        layout.setColumnStretch(1, 2)
        layout.setRowStretch(0, 3)
        layout.setRowStretch(1, 2)
        self._jobs = []
        self.cell_indices = np.zeros(0, dtype=np.int64)  # the shown cell's samples, in display order
        self.cell_confidences = np.zeros(0, dtype=np.float32)
        self.cell_split = "val"  # the split the shown cell's samples come from

    def set_split_sizes(self, sizes: dict[str, int]) -> None:
        """Let the sample index cover each split (from the run's started event or its data)."""
        self.split_sizes = {k: int(v) for k, v in sizes.items() if v is not None}
        self._update_index_range()

    def _update_index_range(self, *_args) -> None:
        size = self.split_sizes.get(self.split.currentText(), 0)
        self.index.setMaximum(max(size - 1, 0))

    # ----- model
    def with_predictor(self, then, say=None) -> None:
        """Load (or reuse) the chosen run's model off the GUI thread, then call `then(predictor)`.

        `say` shows why there is none (default: this panel's message line); the Inside panel passes its own.
        """
        say = say or self.message.setText
        run = self.controller.current_run
        if run is None:
            say("There is no run yet: train the model first, or choose a run in the Runs panel.")
            return
        from app.training.runs_panel import read_run

        info = read_run(run)
        if info.project is None or info.weights is None:
            say(f"Run {info.name} has no saved weights yet; wait for its first epoch to finish.")
            return
        refused = refuse_wrong_run(self.controller, run, "Inference")
        if refused:
            say(f"Inference was not done: {refused}.")
            return
        # The weights' time too: a live run rewrites its best weights whenever it improves.
        try:
            key = (info.weights, Path(info.weights).stat().st_mtime_ns,
                   RunFolder(info.path).config.stat().st_mtime_ns)
        except OSError:  # replaced between listing and reading
            say(f"Run {info.name}'s weights are being written; try again in a moment.")
            return
        if self._predictor is not None and self._predictor_key == key:
            then(self._predictor)
            return
        say(f"Loading the model of run {info.name}…")

        def loaded(predictor):
            self._predictor, self._predictor_key = predictor, key
            self.set_split_sizes({k: len(predictor.split_arrays(k)[1]) for k in ("train", "val", "test")})
            then(predictor)

        self._jobs.append(run_in_background(Predictor, info.project, info.weights, on_done=loaded,
                                            on_error=lambda exc: say(f"The model could not be run: {exc}"),
                                            parent=self))

    def _show_probabilities(self, probs: np.ndarray, caption: str) -> None:
        probs = np.asarray(probs).reshape(-1)
        self.bars.setOpts(x=np.arange(len(probs)), height=probs, width=0.8)
        names = self.controller.dashboard.class_names or [str(i) for i in range(len(probs))]
        self.bars_plot.getPlotItem().getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names[: len(probs)])]])
        self.bars_plot.setXRange(-0.6, len(probs) - 0.4, padding=0)  # every class, not the first view's five
        best = int(np.argmax(probs))
        label = names[best] if best < len(names) else str(best)
        self.message.setText(f"{caption}: predicted {label} with probability {probs[best]:.1%}.")
        self.predicted.emit(probs)

    # ----- actions
    def predict_sample(self) -> None:
        """Predict the chosen sample of the chosen split."""
        split, i = self.split.currentText(), self.index.value()

        def go(p: Predictor) -> None:
            x, y = p.split_arrays(split)
            if not len(x):
                self.message.setText(f"The {SPLIT_WORDS[split]} split of this run's data is empty; choose another split.")
                return
            k = min(i, len(x) - 1)
            self.cell_samples.show_samples(x[k: k + 1], y[k: k + 1], self.controller.dashboard.class_names)
            self._show_probabilities(p.probabilities(x[k: k + 1])[0], f"{split} sample {k} (true {y[k]})")

        self.with_predictor(go)

    def predict_drawing(self) -> None:
        """Predict the digit drawn on the canvas, prepared as the digits were made, then normalised as in training."""
        def go(p: Predictor) -> None:
            prep = p.preprocessing
            if prep is None or not prep.image:
                self.message.setText("Drawing works for image datasets such as digits, with a run that records its "
                                     "inputs (train it again if it is older).")
                return
            if prep.dataset == "digits":
                from runtime.data import prepare_drawing

                raw = prepare_drawing(self.canvas.ink())
                if prep.adapter is not None:  # the digits went through the input adapter (resize, channels)
                    raw = prep.adapt(raw[None])[0]
            else:  # other image data: the pad averaged down to the input size, white as the data's white
                channels, height, width = prep.input_shape
                raw = np.broadcast_to(self.canvas.pixels(width)[:height] * prep.pixel_max, (channels, height, width))
            self._show_probabilities(p.probabilities(prep.normalise(raw[None]))[0], "your drawing")

        self.with_predictor(go)

    def show_cell(self, true: int, pred: int) -> None:
        """Show the samples of the shown matrix's split with this (true, predicted) pair, most confident first."""
        view = self.controller.dashboard.confusion
        split = SPLIT_KEYS.get(view.split, "val")
        expected = int(view.matrix[true, pred]) if view.matrix is not None else None
        names = self.controller.dashboard.class_names or view.class_names

        def name(k: int) -> str:
            return names[k] if k < len(names) else str(k)

        def go(p: Predictor) -> None:
            x, y = p.split_arrays(split)
            probs = p.probabilities(x)
            chosen = np.flatnonzero((y == true) & (probs.argmax(1) == pred))
            order = chosen[np.argsort(-probs[chosen, pred], kind="stable")]
            self.cell_indices = order
            self.cell_split = split
            self.cell_confidences = probs[order, pred]
            if len(order):
                self.cell_samples.show_samples(x[order], y[order], names, columns=6)
                self.cell_samples.setToolTip("Confidence, most confident first: "
                                             + " ".join(f"{c:.0%}" for c in self.cell_confidences[:24]))
            else:  # an empty cell: the previous cell's samples must not linger
                grid = self.cell_samples.image_label
                grid.clear()
                grid.setText("No samples in this cell.")
                self.cell_samples.setCurrentWidget(grid)
                self.cell_samples.setToolTip("")
            words = SPLIT_WORDS[split]
            text = (f"{len(order)} {words} samples of class {name(true)} predicted as {name(pred)}, "
                    "most confident first" + (f" ({self.cell_confidences[0]:.1%} to {self.cell_confidences[-1]:.1%})."
                                              if len(order) else "."))
            if expected is not None and expected != len(order):
                # The matrix came from other weights (an earlier epoch) than the run's saved best ones.
                text += (f" The matrix shows {expected}: it was computed with that epoch's weights, these "
                         "predictions use the run's saved weights.")
            self.message.setText(text)
            self.cell_shown.emit(true, pred, len(order))

        self.controller.show_beside_dashboard("inference_dock")  # the matrix stays in view for the next click
        self.with_predictor(go)


# The confusion events' split names, and the keys of runtime.data's splits.
SPLIT_KEYS = {"validation": "val", "val": "val", "test": "test", "train": "train"}
SPLIT_WORDS = {"val": "validation", "test": "test", "train": "training"}
