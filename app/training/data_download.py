"""The Data panel's download row: MNIST, Fashion-MNIST or CIFAR-10 fetched on request, with progress and cancel.

Shown when the chosen dataset is downloadable and no folder of its files is set. The download runs
off the GUI thread (runtime.data.download_dataset, the one downloader); progress comes back as a
queued signal; Cancel stops between chunks and keeps what arrived, so the next press resumes it.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.training.background import run_in_background
from graph_builder.settings import DOWNLOADABLE

TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


class _Progress(QObject):
    moved = Signal(str, int, int)  # file, bytes done, total (-1: unknown)


class DownloadRow(QWidget):
    """A Download button, its progress and Cancel; `ready(name)` once the files are in the cache."""

    ready = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name: str | None = None
        self.button = QPushButton("Download")
        self.button.setObjectName("dataset_download")
        self.button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("dataset_download_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.bar = QProgressBar()
        self.bar.setObjectName("dataset_download_progress")
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.status = QLabel("")
        self.status.setObjectName("dataset_download_status")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._progress = _Progress()
        self._progress.moved.connect(self._on_progress)
        self._stop = threading.Event()
        self.job = None

    def show_for(self, name: str | None, path: str | None) -> None:
        """Offer the download of `name` when it is downloadable and no folder is set (else hide)."""
        if self.job is not None and not self.job.done:
            return  # a download in flight keeps its row
        self.name = name if name in DOWNLOADABLE and not path else None
        self.setVisible(self.name is not None)
        if self.name is None:
            return
        from runtime.data import dataset_folder, is_downloaded  # torch: only once such a dataset is chosen

        title = TITLES[self.name]
        if is_downloaded(self.name):
            self.button.setText(f"{title} is downloaded")
            self.button.setEnabled(False)
            self.status.setText(f"Read from {dataset_folder(self.name)}.")
        else:
            self.button.setText(f"Download {title}")
            self.button.setEnabled(True)
            self.status.setText(f"{title} is not on this machine yet: download it (once), or choose a folder of "
                                "its files.")

    def start(self) -> None:
        """Download the shown dataset in the background."""
        if self.name is None or (self.job is not None and not self.job.done):
            return
        from runtime.data import download_dataset

        name, relay = self.name, self._progress
        self._stop.clear()
        self.button.setEnabled(False)
        self.cancel_button.show()
        self.bar.show()
        self.bar.setValue(0)
        self.status.setText(f"Downloading {TITLES[name]}…")

        def fetch():
            return download_dataset(name, progress=lambda f, d, t: relay.moved.emit(f, d, -1 if t is None else t),
                                    cancelled=self._stop.is_set)

        self.job = run_in_background(fetch, on_done=lambda folder: self._finished(name, folder),
                                     on_error=self._failed, parent=self)

    def cancel(self) -> None:
        self._stop.set()

    def wait(self, timeout: float = 60) -> None:
        if self.job is not None:
            self.job.wait(timeout)

    def _on_progress(self, file: str, done: int, total: int) -> None:
        if total > 0:
            self.bar.setValue(int(1000 * done / total))
            self.bar.setFormat(f"{file}: {100 * done / total:.0f} %")
        else:
            self.bar.setFormat(f"{file}: {done / 1e6:.1f} MB")

    def _finished(self, name: str, folder) -> None:
        self._idle()
        self.ready.emit(name)
        self.show_for(name, None)
        self.status.setText(f"{TITLES[name]} is ready in {folder}.")

    def _failed(self, exc: BaseException) -> None:
        from runtime.download import DownloadCancelled

        self._idle()
        self.button.setEnabled(True)
        self.status.setText(("Cancelled: " if isinstance(exc, DownloadCancelled) else "") + str(exc))

    def _idle(self) -> None:
        self.cancel_button.hide()
        self.bar.hide()
