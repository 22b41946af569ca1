"""Inside the model (Evaluate): one sample's output at every node, and which of its inputs drove the prediction.

The sample comes from a split of the chosen run's data by index, is the Inference panel's
current one, or the most confident sample of the confusion cell it shows. The run's model is the one the Inference panel loads (its `with_predictor`), so both
use the selected run alike. The node outputs and attributions are computed on a worker thread
(Captum's first import takes seconds), on a copy of the model so a prediction meanwhile is untouched.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QListWidget, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from app.training.background import run_in_background
from runtime.explain import METHOD_TITLES, METHODS

CURVES = 8  # a sequence's first features drawn as lines


def explain_sample(predictor, x: np.ndarray, method: str, layer: str | None):
    """(every node's output, the attribution, feature names) for one normalised sample; runs on the worker thread."""
    import copy

    import torch

    from runtime.explain import attribute, capture_activations, feature_names

    module = copy.deepcopy(predictor.module).eval()
    outputs = capture_activations(module, predictor.graph, torch.from_numpy(np.array(x[None], dtype=np.float32)))
    found = attribute(module, predictor.graph, x, method, layer=layer)
    prep = predictor.preprocessing
    names = feature_names(prep.dataset if prep is not None else None, found.values.size) if x.ndim == 1 else []
    return outputs, found, names


class ExplainPanel(QWidget):
    """Pick a sample, a method (and Grad-CAM's layer); see each node's output and the attribution map."""

    explained = Signal(str)  # the method shown

    def __init__(self, controller, inference, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.inference = inference  # the Inference panel: the run's model, and its current sample
        self.split = QComboBox()
        self.split.addItems(["test", "val", "train"])
        self.index = QSpinBox()
        self.index.setRange(0, 100_000_000)
        self.index.setObjectName("explain_index")
        use_predict = QPushButton("Use predict sample")
        use_predict.setObjectName("explain_use_predict")
        use_predict.setToolTip("Explain the sample chosen in the Inference panel")
        use_predict.clicked.connect(self._on_use_predict)
        self.method = QComboBox()
        self.method.setObjectName("explain_method")
        for name in METHODS:
            self.method.addItem(METHOD_TITLES[name], name)
        self.method.currentIndexChanged.connect(self._on_method_changed)
        self.layer = QComboBox()
        self.layer.setObjectName("explain_layer")
        self.layer.setToolTip("Grad-CAM's Conv2d node")
        self.explain_button = QPushButton("Explain")
        self.explain_button.setObjectName("explain_sample")
        self.explain_button.clicked.connect(self.explain)
        self.nodes = QListWidget()
        self.nodes.setObjectName("explain_nodes")
        self.nodes.setMaximumWidth(220)  # names and shapes; the plot takes the rest
        self.nodes.currentRowChanged.connect(self._on_node_chosen)
        self.message = QLabel("Pick a sample and press Explain to see every node's output and what drove the "
                              "prediction.")
        self.message.setWordWrap(True)
        self.message.setObjectName("explain_message")

        self.node_plot = pg.PlotWidget()
        self.node_plot.setBackground(None)
        self.node_plot.getPlotItem().setTitle("node output", size="9pt")
        self.node_image = pg.ImageItem(axisOrder="row-major")
        self.node_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#0072B2")
        self.node_curves = [self.node_plot.plot([], [], pen=pg.intColor(i, CURVES)) for i in range(CURVES)]
        for item in (self.node_image, self.node_bars):
            self.node_plot.addItem(item)
        self.map_plot = pg.PlotWidget()
        self.map_plot.setBackground(None)
        self.map_plot.getPlotItem().setTitle("attribution", size="9pt")
        self.map_image = pg.ImageItem(axisOrder="row-major")
        self.map_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#E69F00")
        for item in (self.map_image, self.map_bars):
            self.map_plot.addItem(item)
        self._outputs: dict[str, np.ndarray] = {}  # the shown sample's node outputs, for choosing another node
        self._jobs: list = []

        pick = QHBoxLayout()
        for w in (QLabel("split"), self.split, QLabel("sample"), self.index, use_predict):
            pick.addWidget(w)
        pick.addStretch(1)
        how = QHBoxLayout()
        for w in (QLabel("method"), self.method, QLabel("layer"), self.layer, self.explain_button):
            how.addWidget(w)
        how.addStretch(1)
        top = QVBoxLayout()
        top.addLayout(pick)
        top.addLayout(how)
        top.addWidget(self.message)
        layout = QGridLayout(self)
        layout.addLayout(top, 0, 0, 1, 2)
        layout.addWidget(self.nodes, 1, 0)
        layout.addWidget(self.node_plot, 1, 1)
        layout.addWidget(self.map_plot, 2, 0, 1, 2)
        layout.setColumnStretch(1, 3)
        layout.setRowStretch(1, 3)
        layout.setRowStretch(2, 3)
        self._on_method_changed()
        inference.cell_shown.connect(self._on_cell_shown)

    def clear(self) -> None:
        """Show nothing of a previous project's run (called when the document is replaced)."""
        self._outputs = {}
        self.nodes.clear()
        self.layer.clear()
        self._show_node(None)
        self.map_image.clear()
        self.map_bars.setOpts(x=[], height=[])
        self.message.setText("Pick a sample and press Explain to see every node's output and what drove the "
                             "prediction.")

    def _on_use_predict(self) -> None:
        self.split.setCurrentText(self.inference.split.currentText())
        self.index.setValue(self.inference.index.value())

    def _on_cell_shown(self, true: int, pred: int, count: int) -> None:
        """A confusion-matrix cell was opened: its most confident sample is the one to explain."""
        if not count:
            return
        self.split.setCurrentText(self.inference.cell_split)
        self.index.setValue(int(self.inference.cell_indices[0]))
        self.message.setText(f"The clicked cell's most confident sample ({self.split.currentText()} sample "
                             f"{self.index.value()}) is chosen: press Explain.")

    def _on_method_changed(self, *_args) -> None:
        self.layer.setEnabled(self.method.currentData() == "gradcam")

    # ----- computing
    def explain(self) -> None:
        """Compute the chosen sample's node outputs and attributions with the chosen run's model."""
        split, i, method = self.split.currentText(), self.index.value(), self.method.currentData()
        layer = (self.layer.currentText() or None) if method == "gradcam" else None

        def go(predictor) -> None:
            from runtime.explain import conv_nodes

            convs = conv_nodes(predictor.graph)
            if [self.layer.itemText(k) for k in range(self.layer.count())] != convs:
                self.layer.clear()
                self.layer.addItems(convs)
                if convs:
                    self.layer.setCurrentIndex(len(convs) - 1)
            x, y = predictor.split_arrays(split)
            if not len(x):
                self.message.setText(f"The {split} split of this run's data is empty; choose another split.")
                return
            k = min(i, len(x) - 1)
            self.message.setText(f"Explaining {split} sample {k}…")
            chosen = layer if layer in convs else (convs[-1] if convs else None)
            self._jobs.append(run_in_background(
                explain_sample, predictor, np.asarray(x[k]), method, chosen,
                on_done=lambda result: self._on_explained(result, f"{split} sample {k} (true {y[k]})", x[k]),
                on_error=self._on_error, parent=self))

        self.inference.with_predictor(go, self.message.setText)

    def _on_error(self, exc: BaseException) -> None:
        self.message.setText(f"Could not explain the sample: {exc}")

    def _on_explained(self, result, caption: str, sample: np.ndarray) -> None:
        outputs, found, names = result
        self._outputs = outputs
        shown = self.nodes.currentItem().text().split("  ")[0] if self.nodes.currentItem() else None
        self.nodes.blockSignals(True)
        self.nodes.clear()
        for name, value in outputs.items():
            self.nodes.addItem(f"{name}  {tuple(value.shape[1:])}")
        self.nodes.blockSignals(False)
        row = list(outputs).index(shown) if shown in outputs else 0
        self.nodes.setCurrentRow(row)
        self._on_node_chosen(row)
        self._show_attribution(found, names, sample)
        classes = self.controller.dashboard.class_names
        target = classes[found.target] if found.target < len(classes) else str(found.target)
        where = f" at {found.layer}" if found.layer else ""
        self.message.setText(f"{caption}: {METHOD_TITLES[found.method]}{where} for class {target} "
                             f"(output {found.score:.4g}).")
        self.explained.emit(found.method)

    # ----- showing
    def _on_node_chosen(self, row: int) -> None:
        names = list(self._outputs)
        self._show_node(self._outputs[names[row]][0] if 0 <= row < len(names) else None)

    def _show_node(self, value: np.ndarray | None) -> None:
        """One node's output for the sample: a feature-map grid, a line per feature of a sequence, or bars."""
        from runtime.explain import feature_grid

        self.node_image.setVisible(value is not None and value.ndim >= 3)
        self.node_bars.setVisible(value is not None and value.ndim <= 1)
        for curve in self.node_curves:
            curve.setData([], [])
        if value is None:
            return
        item = self.node_plot.getPlotItem()
        if value.ndim >= 3:
            self.node_image.setImage(feature_grid(value), levels=(0, 1))
            item.invertY(True)
            item.setAspectLocked(True)
        elif value.ndim == 2:  # a sequence (steps, features)
            item.invertY(False)
            item.setAspectLocked(False)
            for k, curve in enumerate(self.node_curves[: value.shape[1]]):
                curve.setData(np.arange(len(value)), value[:, k])
        else:
            item.invertY(False)
            item.setAspectLocked(False)
            values = value.reshape(-1)
            self.node_bars.setOpts(x=np.arange(len(values)), height=values, width=0.8)
        item.autoRange()

    def _show_attribution(self, found, names: list[str], sample: np.ndarray) -> None:
        from runtime.explain import overlay

        item = self.map_plot.getPlotItem()
        image = found.values.ndim == 3
        self.map_image.setVisible(image)
        self.map_bars.setVisible(not image)
        item.setTitle(f"{METHOD_TITLES[found.method]} attribution", size="9pt")
        if image:
            self.map_image.setImage(overlay(sample, found.heat()), levels=(0, 255))
            item.invertY(True)
            item.setAspectLocked(True)
            item.getAxis("bottom").setTicks(None)
        else:
            values = found.values.reshape(-1)
            self.map_bars.setOpts(x=np.arange(len(values)), height=values, width=0.8)
            item.invertY(False)
            item.setAspectLocked(False)
            item.getAxis("bottom").setTicks([list(enumerate(names))] if names else None)
        item.autoRange()
