"""The Training panel: every option of the training engine, and Train / Pause / Stop."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.training.settings_form import Field, SettingsForm, field_from_spec


def training_fields() -> list[Field]:
    """The training section's fields, from graph_builder.settings (the one schema)."""
    from graph_builder import settings

    specs = getattr(settings, "TRAINING_FIELDS", None)
    if specs:
        return [field_from_spec(s) for s in specs]
    return list(FALLBACK_TRAINING_FIELDS)


# Used only while graph_builder.settings has no schema table (it is being written).
FALLBACK_TRAINING_FIELDS = (
    Field("task", "choice", "classification", choices=("classification", "regression", "reconstruction")),
    Field("epochs", "int", 10, min=1, max=100000),
    Field("batch_size", "int", 64, min=1, max=1 << 20),
    Field("optimizer", "choice", "adam", choices=("sgd", "adam", "adamw", "rmsprop")),
    Field("lr", "float", 1e-3, label="learning rate", min=1e-8, max=10.0),
    Field("seed", "int", 0, min=0),
    Field("device", "choice", "auto", choices=("auto", "cpu", "cuda", "mps")),
)


class TrainingPanel(QWidget):
    """Training options plus the run buttons; emits the user's intent, holds no run state."""

    train_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    settings_changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = SettingsForm(training_fields())
        self.form.changed.connect(self.settings_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("train_button")
        self.train_button.setToolTip("Train the current graph on the chosen data (Ctrl+T)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause_button")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop_button")
        self.train_button.clicked.connect(self.train_clicked)
        self.pause_button.clicked.connect(self.pause_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        """Enable the buttons that make sense in the bridge's `state`."""
        active = state != "idle"
        self.train_button.setEnabled(not active)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))

    def values(self) -> dict:
        """The training section as edited."""
        return self.form.values()

    def set_values(self, values: dict) -> None:
        """Show a project's training section."""
        self.form.set_values(values)
