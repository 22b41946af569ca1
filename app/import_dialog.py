"""File ▸ Import…: a torchvision model by name, or a Python / .pt2 / ONNX file, into a new project."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressDialog, QPushButton, QRadioButton,
                               QVBoxLayout, QWidget)

# The models the import is tested with; any other torchvision classification name can be typed.
SUGGESTED = ("resnet18", "resnet50", "vgg11", "vgg16", "mobilenet_v3_small", "efficientnet_b0")
# torchvision's weight names common to the suggested models; the job lists a model's own when one is wrong.
WEIGHT_NAMES = ("DEFAULT", "IMAGENET1K_V1", "IMAGENET1K_V2")
PYTHON_WARNING = ("Importing a Python file runs its code (to build the model), as running it yourself would. "
                  "Import only files you trust. ONNX and .pt2 files are read as data and never run.")


@dataclass(frozen=True)
class ImportRequest:
    """What the dialog asks for: the source, the class of a Python file, the input shape, where to write."""

    source: str
    class_name: str | None
    input_shape: tuple[int, ...] | None
    out: Path
    pretrained: str | None = None  # torchvision's weights (DEFAULT, IMAGENET1K_V1, …); None: random weights


def parse_shape(text: str) -> tuple[int, ...] | None:
    """'3, 224, 224' -> (3, 224, 224); empty -> None; ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    if not dims or any(d < 1 for d in dims):
        raise ValueError(text)
    return dims


class ImportDialog(QDialog):
    """Choose what to import and where the project goes; `request()` reads the choice."""

    def __init__(self, parent=None, folder: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import a model")
        self._folder = folder or Path.home()
        self.from_torchvision = QRadioButton("torchvision model")
        self.from_file = QRadioButton("File: Python (.py), torch.export (.pt2) or ONNX (.onnx)")
        group = QButtonGroup(self)
        group.addButton(self.from_torchvision)
        group.addButton(self.from_file)
        self.from_torchvision.setChecked(True)
        self.model_name = QComboBox()
        self.model_name.setEditable(True)
        self.model_name.addItems(SUGGESTED)
        self.pretrained = QCheckBox("Start from torchvision's pretrained weights")
        self.pretrained.setToolTip("Downloaded once (with progress, checked) into torch's hub cache, where torchvision "
                                   "looks; without it the model starts from random weights and nothing is downloaded.")
        self.weights_name = QComboBox()
        self.weights_name.setEditable(True)
        self.weights_name.addItems(WEIGHT_NAMES)
        self.file_path = QLineEdit()
        self.file_path.setPlaceholderText("model.py, model.pt2 or model.onnx")
        file_row = _with_browse(self.file_path, self._browse_source)
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("the nn.Module class of a Python file, e.g. Net")
        self.input_shape = QLineEdit("3, 224, 224")
        self.input_shape.setToolTip("Without the batch dimension; .pt2 and ONNX files give their own.")
        self.warning = QLabel(PYTHON_WARNING)
        self.warning.setWordWrap(True)
        self.warning.setObjectName("pythonWarning")
        self.out_path = QLineEdit(str(self._folder / "imported.json"))
        out_row = _with_browse(self.out_path, self._browse_out)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")

        form = QFormLayout()
        form.addRow(self.from_torchvision)
        form.addRow("Model", self.model_name)
        form.addRow(self.pretrained)
        form.addRow("Weights", self.weights_name)
        form.addRow(self.from_file)
        form.addRow("File", file_row)
        form.addRow("Class", self.class_name)
        form.addRow("Input shape", self.input_shape)
        form.addRow("Project", out_row)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        for signal in (self.from_torchvision.toggled, self.file_path.textChanged, self.pretrained.toggled):
            signal.connect(lambda *_: self._update())
        self._update()

    def _is_python(self) -> bool:
        return self.from_file.isChecked() and self.file_path.text().strip().lower().endswith(".py")

    def _update(self) -> None:
        file = self.from_file.isChecked()
        self.model_name.setEnabled(not file)
        self.pretrained.setEnabled(not file)
        self.weights_name.setEnabled(not file and self.pretrained.isChecked())
        self.file_path.setEnabled(file)
        self.class_name.setEnabled(self._is_python())
        self.warning.setVisible(self._is_python())

    def _browse_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import from", str(self._folder),
                                              "Models (*.py *.pt2 *.onnx);;All files (*)")
        if path:
            self.from_file.setChecked(True)
            self.file_path.setText(path)

    def _browse_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Imported project", self.out_path.text(),
                                              "NetCanvas projects (*.json)")
        if path:
            self.out_path.setText(path if path.lower().endswith(".json") else path + ".json")

    def request(self) -> ImportRequest:
        """The choice; ValueError saying what to fix when a field is not usable."""
        try:
            shape = parse_shape(self.input_shape.text())
        except ValueError:
            raise ValueError("write the input shape like 3, 224, 224") from None
        out = Path(self.out_path.text().strip())
        if out.suffix.lower() != ".json":
            raise ValueError("the project file should end in .json")
        if self.from_file.isChecked():
            source = self.file_path.text().strip()
            if not source:
                raise ValueError("choose a file to import")
            if self._is_python() and not self.class_name.text().strip():
                raise ValueError("give the nn.Module class of the Python file")
            return ImportRequest(source, self.class_name.text().strip() or None, shape, out)
        weights = (self.weights_name.currentText().strip() or "DEFAULT") if self.pretrained.isChecked() else None
        return ImportRequest(self.model_name.currentText().strip(), None, shape, out, weights)

    def _on_accept(self) -> None:
        try:
            self.request()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def _with_browse(path: QLineEdit, browse) -> QWidget:
    """A path field with its Browse… button beside it."""
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(path)
    row.addWidget(button)
    return box


class DownloadProgress(QProgressDialog):
    """The download of an import's pretrained weights: bytes so far, then the import itself; Cancel stops it."""

    def __init__(self, request: ImportRequest, parent=None):
        super().__init__(f"Getting torchvision's {request.source} weights ({request.pretrained}) …", "Cancel", 0, 0,
                         parent)
        self.source = request.source
        self.setWindowTitle("Pretrained weights")
        self.setWindowModality(Qt.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)

    @Slot(int, int)
    def on_progress(self, done: int, total: int) -> None:
        if total <= 0:
            self.setLabelText(f"Downloading {self.source} weights: {done / 1e6:.1f} MB")
            return
        self.setMaximum(1000)
        self.setValue(min(1000, int(1000 * done / total)))
        if done >= total:  # downloaded (or found in the cache): the import itself takes a few seconds
            self.setLabelText(f"Importing {self.source} with its pretrained weights …")
            self.setCancelButton(None)
        else:
            self.setLabelText(f"Downloading {self.source} weights: {done / 1e6:.1f} of {total / 1e6:.1f} MB")


class ImportJob(QThread):
    """Runs one import off the GUI thread (a large model takes seconds, a download longer); reports once, by signal.

    With pretrained weights, `progress` reports the download's bytes (done, total; total -1 when
    unknown) and `cancel()` stops it at the next chunk (the partial file is kept to resume).
    """

    succeeded = Signal(object)  # runtime.importers.ImportReport
    failed = Signal(str)
    progress = Signal(int, int)  # bytes downloaded, bytes in all (-1: unknown)
    cancelled = Signal(str)

    def __init__(self, request: ImportRequest, parent=None):
        super().__init__(parent)
        self.request = request
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Stop the download (thread-safe); the job then reports `cancelled`."""
        self._stop.set()

    def run(self) -> None:
        from runtime.importers import ModelImportError, import_model
        from runtime.pretrained import DownloadCancelled, DownloadError, PretrainedError

        r = self.request
        try:
            report = import_model(r.source, r.out, class_name=r.class_name, input_shape=r.input_shape,
                                  pretrained=r.pretrained,
                                  progress=lambda done, total: self.progress.emit(done, total or -1),
                                  cancelled=self._stop.is_set)
        except DownloadCancelled as exc:
            self.cancelled.emit(str(exc))
        except (ModelImportError, PretrainedError, DownloadError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 — a user's Python file can raise anything; say what
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(report)


class ModelImports(QObject):
    """File ▸ Import… for `window`: the dialog, the import in the background, the weights' progress; the
    project it writes is opened in the window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.job: ImportJob | None = None  # while an import runs
        self.progress: DownloadProgress | None = None  # of the latest import's weights

    def ask(self) -> None:
        """The Import dialog (after asking about unsaved work); OK starts the import."""
        if not self.window.maybe_discard():
            return
        dialog = ImportDialog(self.window, Path(self.window.last_folder()))
        if dialog.exec():
            self.start(dialog.request())

    def start(self, request: ImportRequest) -> ImportJob:
        """Import `request` in the background; opens the project it writes."""
        if self.job is not None and self.job.isRunning():
            self.window.status_message("An import is already running")
            return self.job
        job = ImportJob(request, self)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(lambda message: self.window.show_error("Cannot import", message))
        job.cancelled.connect(lambda message: self.window.status_message(message, 12000))
        self.job = job
        self.window.status_message(f"Importing {request.source} …", 0)
        if request.pretrained:
            self.progress = self._show_progress(job, request)
        job.start()
        return job

    def wait(self) -> None:
        """Let a running import end (the window closes)."""
        if self.job is not None:
            self.job.wait()

    def _show_progress(self, job: ImportJob, request: ImportRequest) -> DownloadProgress:
        """A window-modal progress dialog for the weights download; Cancel stops it (the event loop keeps running)."""
        dialog = DownloadProgress(request, self.window)
        job.progress.connect(dialog.on_progress)  # a QObject slot: queued onto the GUI thread
        dialog.canceled.connect(job.cancel)
        job.finished.connect(dialog.close)
        dialog.show()
        return dialog

    def _on_succeeded(self, report) -> None:
        if self.window.open_project(report.project_path):
            self.window.status_message(report.summary(), 12000)
