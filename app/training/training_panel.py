"""The Training panel: every option of the training engine, and Train / Pause / Stop."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.training.settings_form import Push, SettingsForm
from graph_builder.schema import Field
from graph_builder.settings import TRAINING_FIELDS, SettingsSection


def training_fields() -> list[Field]:
    """The training section's fields: graph_builder.settings' table (the one schema)."""
    return list(TRAINING_FIELDS)


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
        """The training settings the form shows (the section's, since the form follows it)."""
        return self.form.values()

    def follow(self, section: SettingsSection, push: Push) -> None:
        """Show a project's training section and send edits of it to `push` (the undo stack)."""
        self.form.follow(section, push)

    def detach(self) -> None:
        """Stop following the section (the window has closed)."""
        self.form.detach()
