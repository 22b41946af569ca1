"""The Data panel: choose the dataset, see its size, classes and balance and a few samples,
set split, normalisation and augmentation, and preview augmented samples.

Describing and sampling the data needs runtime (torch), so it runs on the worker thread the
first time the panel needs it, never at start-up.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from app.training.background import run_in_background
from app.training.samples import SampleView
from app.training.settings_form import Field, SettingsForm, field_from_spec


def dataset_fields() -> list[Field]:
    """The dataset section's fields, from graph_builder.settings (the one schema)."""
    from graph_builder import settings

    specs = getattr(settings, "DATASET_FIELDS", None)
    if specs:
        return [field_from_spec(s) for s in specs]
    return list(FALLBACK_DATASET_FIELDS)


FALLBACK_DATASET_FIELDS = (
    Field("name", "choice", "digits", label="dataset",
          choices=("digits", "iris", "wine", "breast_cancer", "moons", "spirals", "sine", "waveforms")),
    Field("val_fraction", "float", 0.2, label="validation fraction", min=0.0, max=0.9, decimals=3),
    Field("test_fraction", "float", 0.2, label="test fraction", min=0.0, max=0.9, decimals=3),
    Field("normalize", "bool", True),
)


def load_preview(config: dict, augmented: bool = False) -> dict:
    """Description and a few samples of the dataset `config` (worker thread; imports torch)."""
    from runtime import data

    desc = data.describe_dataset(config)
    x, y = data.sample_batch(config, 32, augmented=augmented)
    return {"description": desc, "x": np.asarray(x), "y": np.asarray(y) if y is not None else None}


def describe_text(desc: dict) -> str:
    """One paragraph about a dataset description."""
    parts = []
    if desc.get("title") or desc.get("name"):
        parts.append(f"<b>{desc.get('title') or desc.get('name')}</b>")
    if desc.get("input_shape") is not None:
        parts.append(f"input {tuple(desc['input_shape'])}")
    counts = desc.get("counts") or desc.get("sizes") or {}
    if counts:
        parts.append(", ".join(f"{k} {v}" for k, v in counts.items()))
    classes = desc.get("classes") or []
    if classes:
        parts.append(f"{len(classes)} classes")
    elif desc.get("task"):
        parts.append(desc["task"])
    return " · ".join(parts)


class DataPanel(QWidget):
    """Dataset settings with a description, class balance and sample preview."""

    settings_changed = Signal(str, object)
    preview_ready = Signal(dict)
    preview_failed = Signal(str)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.form = SettingsForm(dataset_fields())
        self.form.changed.connect(self._on_changed)
        self.summary = QLabel("Choose a dataset; its description appears here.")
        self.summary.setObjectName("dataset_summary")
        self.summary.setWordWrap(True)
        self.balance = pg.PlotWidget()
        self.balance.setBackground(None)
        self.balance.setMaximumHeight(140)
        self.balance.setMouseEnabled(x=False, y=False)
        self.balance.getPlotItem().setTitle("class balance", size="9pt")
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#56B4E9")
        self.balance.addItem(self._bars)
        self.samples = SampleView()
        self.samples.setMinimumHeight(160)
        self.load_button = QPushButton("Show samples")
        self.load_button.setObjectName("show_samples")
        self.load_button.clicked.connect(lambda: self.load(False))
        self.augment_button = QPushButton("Preview augmentation")
        self.augment_button.setObjectName("preview_augmentation")
        self.augment_button.clicked.connect(lambda: self.load(True))
        buttons = QHBoxLayout()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.augment_button)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(scroll)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.summary)
        bl.addWidget(self.balance)
        bl.addLayout(buttons)
        bl.addWidget(self.samples, 1)
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._job = None
        self._pending: bool | None = None
        self.last_preview: dict | None = None

    def values(self) -> dict:
        return self.form.values()

    def set_values(self, values: dict) -> None:
        self.form.set_values(values)
        self.summary.setText("Choose a dataset; its description appears here.")

    def _on_changed(self, name: str, value) -> None:
        self.settings_changed.emit(name, value)
        if self.last_preview is not None:  # keep a shown preview in step with the settings
            QTimer.singleShot(0, lambda: self.load(False))

    def load(self, augmented: bool = False) -> None:
        """Describe the dataset and show samples (on the worker thread)."""
        if self._job is not None and not self._job.done:
            self._pending = augmented  # one load at a time; the latest request wins
            return
        self.summary.setText("Loading the dataset…")
        config = {**self.controller.project.dataset, **self.values()}
        self._job = run_in_background(load_preview, config, augmented, on_done=self._on_loaded,
                                      on_error=self._on_failed, parent=self)

    def _on_loaded(self, preview: dict) -> None:
        self.last_preview = preview
        desc = preview["description"]
        self.summary.setText(describe_text(desc))
        classes = [str(c) for c in desc.get("classes") or []]
        balance = desc.get("class_counts") or desc.get("balance")
        if balance:
            values = list(balance.values()) if isinstance(balance, dict) else list(balance)
            self._bars.setOpts(x=np.arange(len(values)), height=np.asarray(values, dtype=float), width=0.8)
            self.balance.getPlotItem().getAxis("bottom").setTicks(
                [[(i, c) for i, c in enumerate(classes[: len(values)])]] if classes else None)
            self.balance.show()
        else:
            self.balance.hide()
        self.samples.show_samples(preview["x"], preview["y"], classes)
        self.preview_ready.emit(preview)
        self._next()

    def _on_failed(self, exc: BaseException) -> None:
        message = f"The dataset could not be loaded: {exc}"
        self.summary.setText(message)
        self.preview_failed.emit(message)
        self._next()

    def _next(self) -> None:
        if self._pending is not None:
            augmented, self._pending = self._pending, None
            self.load(augmented)
