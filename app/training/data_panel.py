"""The Data panel: choose the dataset, see its size, classes and balance and a few samples,
set split, normalisation and augmentation, and preview augmented samples.

Describing and sampling the data needs runtime (torch), so it runs on the worker thread,
never at start-up: when the panel is shown, and again shortly after each edit while it is.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QVBoxLayout,
                               QWidget)

from app.training.background import run_in_background
from app.training.data_download import DownloadRow
from app.training.samples import SampleView
from app.training.settings_form import Push, SettingsForm
from graph_builder.datafit import LoadedData, fit_issues
from graph_builder.schema import Field
from graph_builder.settings import DATASET_FIELDS, SettingsSection


def dataset_fields() -> list[Field]:
    """The dataset section's fields: graph_builder.settings' table (the one schema)."""
    return list(DATASET_FIELDS)


REFRESH_DELAY_MS = 150
IDLE_TEXT = ("Press “Show samples” to see the dataset's size, classes and a few samples; "
             "from then on they follow your edits.")
# File datasets and what the "Choose…" dialog picks for each: a file, or a folder
FILE_FILTERS = {"csv": "CSV tables (*.csv *.txt)", "npz": "NumPy archives (*.npz)",
                "text": "Texts and labels (*.csv *.tsv)"}  # a folder of class folders is typed into the path
FOLDER_DATASETS = ("image_folder", "mnist", "fashion_mnist", "cifar10")


def augmentation_words(config: dict, image: bool) -> list[str]:
    """The augmentations `config` turns on for this kind of data, in words."""
    words = []
    if image:  # flip, rotation and crop move pixels: they apply to images only
        if config.get("augment_flip"):
            words.append("random flip")
        if (config.get("augment_rotation") or 0) > 0:
            words.append(f"rotation up to ±{config['augment_rotation']:g}°")
        if (config.get("augment_crop_padding") or 0) > 0:
            words.append(f"crop with {config['augment_crop_padding']} px padding")
    if (config.get("augment_noise") or 0) > 0:
        words.append(f"noise σ {config['augment_noise']:g}")
    return words


def load_preview(config: dict, augmented: bool = False, seed: int = 0) -> dict:
    """Description and a few samples of the dataset `config` (worker thread; imports torch)."""
    from runtime import data

    desc = data.describe_dataset(config)
    fit = data.describe_data(config)  # what the fit check needs (graph_builder.datafit.DataDescription)
    x, y = data.sample_batch(config, 32, augmented=augmented, seed=seed)
    if not augmented:
        caption = "Training samples, as the model sees them."
    else:
        words = augmentation_words(config, bool(desc.get("image")))
        caption = (f"Augmented training samples ({', '.join(words)}); press again for another draw." if words else
                   "Augmentation is off for this data, so these are the plain training samples; turn on "
                   "flip, rotation or crop (images) or input noise to preview it.")
    return {"description": desc, "fit": fit, "x": np.asarray(x), "y": np.asarray(y) if y is not None else None,
            "augmented": augmented, "caption": caption}


def explain_failure(exc: BaseException, config: dict) -> str:
    """Plain words for a dataset that could not be loaded (never a traceback)."""
    from graph_builder.errors import ProjectError
    from runtime.errors import NetCanvasRuntimeError

    if isinstance(exc, (NetCanvasRuntimeError, ProjectError)):  # these already say what is wrong and what to do
        detail = exc.message if isinstance(exc, ProjectError) else str(exc)
        return f"The dataset could not be loaded: {detail[:1].lower()}{detail[1:]}"
    name = config.get("name") or "the chosen"
    where = f" from {config['path']}" if config.get("path") else ""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (f"The {name} dataset could not be loaded{where} ({first_line}). Check that the file is a "
            f"{name} dataset of the expected layout, or choose another dataset.")


def describe_text(desc: dict) -> str:
    """One paragraph about a dataset description."""
    parts = []
    if desc.get("title") or desc.get("name"):
        parts.append(f"<b>{desc.get('title') or desc.get('name')}</b>")
    if desc.get("input_shape") is not None:
        parts.append(f"input {tuple(desc['input_shape'])}")
    if desc.get("vocabulary"):
        parts.append(f"token ids of a {desc['vocabulary']}-token vocabulary, learnt on the training split")
    counts = desc.get("counts") or {}
    if counts:
        total = sum(v for v in counts.values() if isinstance(v, int))
        parts.append(f"{total} samples: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    classes = desc.get("classes") or []
    if classes:
        parts.append(f"{len(classes)} classes")
        per_class = [v for v in (desc.get("class_counts") or {}).values() if isinstance(v, int)]
        if per_class:  # the balance in words; the bar chart below shows it per class
            lo, hi = min(per_class), max(per_class)
            verdict = "balanced" if lo >= 0.8 * hi else "imbalanced"
            parts.append(f"{verdict}: {lo}–{hi} training samples per class")
    elif desc.get("kind"):
        parts.append(f"{desc['kind']} to predict")
    return " · ".join(parts)


class DataPanel(QWidget):
    """Dataset settings with a description, class balance and sample preview."""

    settings_changed = Signal(str, object)
    preview_ready = Signal(dict)
    preview_failed = Signal(str)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.section: SettingsSection | None = None
        self.form = SettingsForm(dataset_fields())
        self.form.changed.connect(self._on_changed)
        self.summary = QLabel(IDLE_TEXT)
        self.summary.setObjectName("dataset_summary")
        self.summary.setWordWrap(True)
        self.balance = pg.PlotWidget()
        self.balance.setBackground(None)
        self.balance.setMaximumHeight(140)
        self.balance.setMouseEnabled(x=False, y=False)
        self.balance.getPlotItem().setTitle("class balance", size="9pt")
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#56B4E9")
        self.balance.addItem(self._bars)
        self.fit = QLabel("")
        self.fit.setObjectName("dataset_fit")
        self.fit.setWordWrap(True)
        self.fit.setStyleSheet("color: #D55E00;")  # the palette's vermilion: a warning, not an error
        self.fit.hide()
        self.caption = QLabel("")
        self.caption.setObjectName("samples_caption")
        self.caption.setWordWrap(True)
        self.samples = SampleView()
        self.samples.setMinimumHeight(160)
        self.load_button = QPushButton("Show samples")
        self.load_button.setObjectName("show_samples")
        self.load_button.clicked.connect(lambda: self.load(False))
        self.augment_button = QPushButton("Preview augmentation")
        self.augment_button.setObjectName("preview_augmentation")
        self.augment_button.clicked.connect(lambda: self.load(True))
        self.file_button = QPushButton("Choose file…")
        self.file_button.setObjectName("choose_dataset_file")
        self.file_button.setToolTip("Pick the file or folder the dataset is read from")
        self.file_button.clicked.connect(self.choose_path)
        self.download = DownloadRow()  # MNIST, Fashion-MNIST, CIFAR-10: fetched on request
        self.download.ready.connect(lambda _name: self.load(self._augmented))
        self.file_dialog: QFileDialog | None = None
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
        tl.addWidget(self.file_button)
        tl.addWidget(self.download)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.summary)
        bl.addWidget(self.fit)
        bl.addWidget(self.balance)
        bl.addLayout(buttons)
        bl.addWidget(self.caption)
        bl.addWidget(self.samples, 1)
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._job = None
        self._pending: bool | None = None
        self._augmented = False  # the kind of preview last asked for; edits refresh the same kind
        self._draws = 0  # each augmentation preview shows a fresh random draw
        self._stale = True  # the shown description does not match the settings
        # Loading imports torch (seconds): only once the user has asked for the data (a button or
        # an edit), never just because the panel came up with the window.
        self._wanted = False
        self._refresh_timer = QTimer(self)  # typing in a spin box must not load the data per key
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(lambda: self.load(self._augmented))
        self.last_preview: dict | None = None
        self._loaded_config: dict = {}  # the settings of the load in flight
        self._update_file_button()
        controller.window.validated.connect(self.show_fit)  # the graph or the data changed: does it fit now?
        self.show_fit()  # built-in data is known without loading it

    def values(self) -> dict:
        """The dataset settings the form shows (the section's, since the form follows it)."""
        return self.form.values()

    def follow(self, section: SettingsSection, push: Push) -> None:
        """Show a project's dataset section (every setting it leaves out at its default) and send edits to `push`."""
        self.detach()
        self.section = section
        self.form.follow(section, push)
        section.events.changed.connect(self._on_section_changed)
        self.summary.setText(IDLE_TEXT)
        self._update_file_button()
        self._schedule_refresh()

    def detach(self) -> None:
        """Stop following the section (a new project, or the window has closed)."""
        if self.section is not None:
            self.section.events.changed.disconnect(self._on_section_changed)
            self.section = None
        self.form.detach()

    def _on_section_changed(self) -> None:
        """An edit, an undo or a redo: the file button and the description follow the settings."""
        self._update_file_button()
        self._schedule_refresh()

    def _on_changed(self, name: str, value) -> None:
        self.settings_changed.emit(name, value)
        self._wanted = True
        self._schedule_refresh()

    def _file_kind(self) -> str | None:
        """'file' or 'folder' when the chosen dataset is read from the user's files, else None."""
        name = self.form.value("name") if "name" in self.form.fields else None
        if name in FOLDER_DATASETS:
            return "folder"
        return "file" if name in FILE_FILTERS else None

    def _update_file_button(self) -> None:
        kind = self._file_kind()
        self.file_button.setVisible(kind is not None and "path" in self.form.fields)
        self.file_button.setText(f"Choose {kind or 'file'}…")
        name = self.form.value("name") if "name" in self.form.fields else None
        self.download.show_for(name, self.form.value("path") if "path" in self.form.fields else None)

    def choose_path(self) -> QFileDialog:
        """Open a (non-modal) dialog for the dataset's file or folder; the choice becomes `path`."""
        name = self.form.value("name")
        current = self.form.value("path") if "path" in self.form.fields else None
        dialog = QFileDialog(self, f"Choose the {name} data", str(current or ""))
        dialog.setObjectName("dataset_file_dialog")
        dialog.setOption(QFileDialog.DontUseNativeDialog, True)  # same dialog everywhere, testable
        if self._file_kind() == "folder":
            dialog.setFileMode(QFileDialog.Directory)
            dialog.setOption(QFileDialog.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.ExistingFile)
            dialog.setNameFilters([FILE_FILTERS.get(name, "All files (*)"), "All files (*)"])
        dialog.fileSelected.connect(self._on_path_chosen)
        dialog.finished.connect(dialog.deleteLater)
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def _on_path_chosen(self, path: str) -> None:
        if not path:
            return
        self.form.edit("path", path)

    def _schedule_refresh(self) -> None:
        """Describe the data again soon when it is on screen; otherwise when it is next shown."""
        self._stale = True
        if self.isVisible() and self._wanted:
            self._refresh_timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self._wanted:  # settings changed while the panel was hidden
            self._refresh_timer.start()

    def load(self, augmented: bool = False) -> None:
        """Describe the dataset and show samples (on the worker thread)."""
        self._wanted = True
        self._augmented = augmented
        self._stale = False
        self._refresh_timer.stop()
        if self._job is not None and not self._job.done:
            self._pending = augmented  # one load at a time; the latest request wins
            return
        self.summary.setText("Loading the dataset…")
        from graph_builder.settings import dataset_beside

        config = dict(self.controller.project.dataset)
        self._loaded_config = config
        if augmented:
            self._draws += 1
        if self._job is not None:
            self._job.deleteLater()  # it has ended; it would otherwise hold its samples until the panel goes
        beside = dataset_beside(config, self.controller.project_path())  # a relative path: the project's folder
        self._job = run_in_background(load_preview, beside, augmented, self._draws, on_done=self._on_loaded,
                                      on_error=self._on_failed, parent=self)

    def _on_loaded(self, preview: dict) -> None:
        if self._pending is not None:  # the settings changed while loading: this preview is already old
            self._next()
            return
        self.last_preview = preview
        desc = preview["description"]
        self.summary.setText(describe_text(desc))
        classes = [str(c) for c in desc.get("classes") or []]
        balance = desc.get("class_counts")
        if balance:
            values = list(balance.values()) if isinstance(balance, dict) else list(balance)
            self._bars.setOpts(x=np.arange(len(values)), height=np.asarray(values, dtype=float), width=0.8)
            self.balance.getPlotItem().getAxis("bottom").setTicks(
                [[(i, c) for i, c in enumerate(classes[: len(values)])]] if classes else None)
            self.balance.show()
        else:
            self.balance.hide()
        x = preview["x"]
        # The description knows what the data is; (N, 6, 6) may be six steps of six features.
        kind = "image" if desc.get("image") else "sequence" if np.ndim(x) == 3 else "table"
        self.samples.show_samples(x, preview["y"], classes, kind=kind)
        self.caption.setText(preview.get("caption", ""))
        self._remember_load(LoadedData(self._loaded_config, preview["fit"]))
        self.preview_ready.emit(preview)
        self._next()

    def _on_failed(self, exc: BaseException) -> None:
        if self._pending is not None:
            self._next()
            return
        message = explain_failure(exc, dict(self.controller.project.dataset))
        self.last_preview = None
        self.summary.setText(message)
        self.balance.hide()
        self.samples.show_message("No samples: the dataset could not be loaded.")
        self.caption.setText("")
        self._remember_load(None)
        self.preview_failed.emit(message)
        self._next()

    def _remember_load(self, loaded: LoadedData | None) -> None:
        """Keep the last load's description on the window (file datasets are checked against it)."""
        self.controller.window.loaded_data = loaded
        self.controller.window.validate_now()  # shows the fit here too, through validated

    def show_fit(self, validation=None) -> list[str]:
        """Show the main network's fit problems (graph_builder.datafit's words); [] when it fits."""
        found = [issue.message for issue in fit_issues(self.controller.window.fit_issues)]
        self.fit.setText("\n".join(found))
        self.fit.setVisible(bool(found))
        return found

    def _next(self) -> None:
        if self._pending is not None:
            augmented, self._pending = self._pending, None
            self.load(augmented)
