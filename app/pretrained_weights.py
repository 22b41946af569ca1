"""Network ▸ Load Pretrained Weights…: a local .pth / .safetensors file as the starting weights of the whole
network or of the selected block, recorded in the document as one undoable edit.

The file is fitted to its target (runtime.pretrained.local_file: keys and shapes, torchvision-style
keys mapped for a project imported from torchvision) off the GUI thread, on a copy of the
document; only a fit is recorded (graph_builder.weight_sources.SetWeightSource), a misfit is
shown in plain words, naming what does not fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from graph_builder.project import Project, project_from_dict
from graph_builder.weight_sources import SetWeightSource, describe_source, weight_source

WEIGHT_FILES = "Weights (*.pth *.pt *.safetensors);;All files (*)"


class WeightsHost(Protocol):
    """What the controller needs of the main window."""

    project: Project
    path: Path | None
    editor: object  # app.commands.Editor

    def status_message(self, text: str, timeout_ms: int = 6000) -> None: ...
    def show_error(self, title: str, text: str) -> object: ...
    def selected_block(self) -> str | None: ...
    def weights_folder(self) -> str: ...


class FitJob(QThread):
    """Checks that a weights file fits its target, on a copy of the document; reports once, by signal."""

    fitted = Signal(str)  # what loads and what keeps its initial values
    failed = Signal(str)

    def __init__(self, project: dict, project_path: Path | None, source: dict, target: str | None, parent=None):
        super().__init__(parent)
        self.project, self.project_path, self.source, self.target = project, project_path, source, target

    def run(self) -> None:
        from graph_builder.errors import GraphBuilderError

        try:
            from runtime.pretrained import target_network
            from runtime.pretrained import fit_file

            project = project_from_dict(self.project)
            network = target_network(project, self.target)
            fit = fit_file(self.source, project, self.project_path, network)
            self.fitted.emit(fit.summary(describe_source(self.source), f"network {network!r}"))
        except GraphBuilderError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken file can raise anything; say it in words
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class PretrainedWeights(QObject):
    """The window's pretrained-weights actions."""

    recorded = Signal(object)  # the target (None: the network) whose source was just recorded

    def __init__(self, host: WeightsHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.job: FitJob | None = None

    def load_into_network(self, path: str | None = None) -> FitJob | None:
        """Choose a weights file for the whole main network."""
        return self._load(None, path)

    def load_into_block(self, path: str | None = None) -> FitJob | None:
        """Choose a weights file for the selected block of the main network."""
        block = self.host.selected_block()
        if block is None:
            self.host.status_message("Select one block of the main network to load weights into")
            return None
        return self._load(block, path)

    def remove(self) -> bool:
        """Remove the weight source of the selected block, else of the network (one undo step)."""
        target = self.host.selected_block()
        if weight_source(self.host.project, target) is None:
            target = None
        if weight_source(self.host.project, target) is None:
            self.host.status_message("The network has no pretrained weights to remove")
            return False
        return self.host.editor.push_on(self.host.project, SetWeightSource(target, None))

    def _load(self, target: str | None, path: str | None) -> FitJob | None:
        if self.job is not None and self.job.isRunning():
            self.host.status_message("Still checking the previous weights file")
            return None
        if path is None:
            where = f"block {target}" if target else "the network"
            path, _ = QFileDialog.getOpenFileName(None, f"Pretrained weights for {where}", self.host.weights_folder(),
                                                  WEIGHT_FILES)
            if not path:
                return None
        source = {"kind": "file", "path": self._recorded(path)}
        job = FitJob(self.host.project.to_dict(), self.host.path, source, target, self)
        job.fitted.connect(self._on_fitted)  # QObject slots: queued onto the GUI thread
        job.failed.connect(self._on_failed)
        self.job = job
        self.host.status_message(f"Checking {Path(path).name} against {'block ' + target if target else 'the network'} …",
                                 0)
        job.start()
        return job

    def _recorded(self, path: str) -> str:
        """Relative to the project's folder when the file is inside it, so the pair can move together."""
        p = Path(path).resolve()
        if self.host.path is not None:
            try:
                return p.relative_to(self.host.path.parent).as_posix()
            except ValueError:
                pass
        return str(p)

    @Slot(str)
    def _on_fitted(self, summary: str) -> None:
        target, source = self.job.target, self.job.source
        if self.host.editor.push_on(self.host.project, SetWeightSource(target, source)):
            self.host.status_message(summary, 12000)
            self.recorded.emit(target)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.host.show_error("Cannot use these weights", message)
