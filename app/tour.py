"""The first-run tour: four short steps, one per workspace, that can be dismissed at any time.

Shown once, the first time a project is open (from the start page or a file); Help ▸ Tour shows
it again. Each step switches to the workspace it describes, so the panels it names are in view.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

STEPS = (  # workspace, title, text — one row per step
    ("Design", "1 of 4 · Build", ("Drag layers from the Layers palette onto the canvas (or press Tab), then drag "
     "from a layer's bottom port to the next one's top port. The Problems panel says what is missing.")),
    ("Data", "2 of 4 · Choose the data", ("Pick the dataset the network learns from; Show samples previews it, and "
     "Problems tells when the network's input or output does not fit it.")),
    ("Train", "3 of 4 · Train", ("Set epochs, batch size and learning rate, then press Train (Ctrl+T). The curves "
     "update live; a run that diverges is flagged and stopped.")),
    ("Evaluate", "4 of 4 · Evaluate and export", ("Read the confusion matrix, try the model on samples, compare "
     "runs, then use the Export menu for PyTorch code or ONNX. Help ▸ User Guide tells more.")),
)


class Tour(QFrame):
    """A card floating over the top of the window; Next walks the steps, Close ends the tour."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.setObjectName("tour")
        self.setFrameShape(QFrame.StyledPanel)
        self.setAutoFillBackground(True)
        self.step = 0
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("tourNext")
        self.next_button.clicked.connect(self.next)
        close = QPushButton("Close tour")
        close.setObjectName("tourClose")
        close.clicked.connect(self.finish)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.next_button)
        box = QVBoxLayout(self)
        box.addWidget(self.title)
        box.addWidget(self.text)
        box.addLayout(buttons)
        self.setFixedWidth(420)
        self._show_step()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            self.finish()
            return
        super().keyPressEvent(event)

    def _show_step(self) -> None:
        workspace, title, text = STEPS[self.step]
        self.window_.workspaces.show(workspace)
        self.title.setText(title)
        self.text.setText(text)
        self.next_button.setText("Done" if self.step == len(STEPS) - 1 else "Next")
        self.adjustSize()
        self.move((self.window_.width() - self.width()) // 2, self.window_.menuBar().height() + 48)
        self.raise_()
        self.show()

    def next(self) -> None:
        """Go to the next step, or end the tour after the last."""
        if self.step == len(STEPS) - 1:
            self.finish()
            return
        self.step += 1
        self._show_step()

    def finish(self) -> None:
        """End the tour for good (it is not offered again)."""
        self.window_.settings.setValue("tour/done", True)
        self.hide()
        self.deleteLater()
        if self.window_.tour is self:  # MainWindow declares `tour` (None when no tour is shown)
            self.window_.tour = None


def tour_done(settings) -> bool:
    """True once the tour was finished or closed."""
    return str(settings.value("tour/done", "false")).lower() == "true"

