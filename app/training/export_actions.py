"""The Export menu: the export registry's formats (runtime.export: Python code, training script, ONNX with its
parity result, weights, torch.export), using the trained weights of the chosen run.

The menu lists the registry's formats, and offers those the project's task has; each writes through the
registry's `export`, as `netcanvas export` does. Each export asks for a file, then runs on a worker thread
(torch work must not freeze the window); the outcome is shown in plain words and emitted as
`export_done(kind, report)`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.training.background import run_in_background
from app.training.run_check import refuse_wrong_run
from runtime.export import FORMATS, ExportFormat


class ExportActions(QObject):
    """The Export menu's actions and the export jobs they start."""

    export_done = Signal(str, dict)  # kind, report (always has "ok" and "message")

    def __init__(self, controller) -> None:
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.actions: dict[str, QAction] = {}
        self.dialog: QFileDialog | None = None
        self.last_report: dict | None = None
        self._jobs = []
        menu = self.window.menu("E&xport")
        for kind in FORMATS.values():
            action = QAction(kind.menu_text, self.window)
            action.setObjectName(f"export_{kind.key}")
            action.triggered.connect(lambda _checked=False, k=kind: self.ask_path(k))
            menu.addAction(action)
            self.actions[kind.key] = action
        menu.aboutToShow.connect(self.offer_task_formats)

    def offer_task_formats(self) -> None:
        """Show the formats the project's task has (the registry's, less those its runtime does not offer)."""
        from runtime.export import formats_for

        offered = {f.key for f in formats_for(self.controller.project.task())}
        for key, action in self.actions.items():
            action.setVisible(key in offered)

    def ask_path(self, kind: ExportFormat) -> QFileDialog:
        """Open a (non-modal) save dialog; the export starts when a file is chosen."""
        run = self.controller.current_run
        folder = Path(self.controller.project_path() or Path.home()).parent if not run else Path(run)
        dialog = QFileDialog(self.window, f"Export {_title(kind)}", str(folder))
        dialog.setObjectName("export_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptSave)
        dialog.setFileMode(QFileDialog.AnyFile)
        dialog.setNameFilter(kind.file_filter)
        dialog.setDefaultSuffix(kind.suffix.lstrip("."))
        dialog.setOption(QFileDialog.DontUseNativeDialog, True)  # same dialog everywhere, testable
        dialog.selectFile(f"model{kind.suffix}")
        dialog.fileSelected.connect(lambda path, k=kind: self.export(k, path))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def export(self, kind: ExportFormat | str, path: str) -> None:
        """Export to `path` on the worker thread."""
        if isinstance(kind, str):
            kind = FORMATS[kind]
        project_dict, weights, note = self._source(kind)
        if weights is not None and refuse_wrong_run(self.controller, self.controller.current_run,
                                                    f"Export {_title(kind)}"):
            return
        # A run's weights are the main network's; otherwise the network on the canvas is exported.
        network = None if weights is not None or not kind.takes_run else self.window.current_network()
        if network is not None and network != self.window.project.networks.main:
            note = f"network {network}" + (f", {note}" if note else "")
        self.controller.status(f"Exporting {kind.key} to {path}…")
        project_path = self.controller.project_path()
        job = run_in_background(perform_export, kind.key, project_dict, weights, path, network,
                                str(project_path) if project_path else None,
                                on_done=lambda report, k=kind: self._on_done(k, report, note),
                                on_error=lambda exc, k=kind, p=path: self._on_error(k, p, exc),
                                parent=self)
        self._jobs.append(job)

    def _source(self, kind: ExportFormat) -> tuple[dict, str | None, str]:
        """The graph and weights to export: the chosen run's snapshot and weights, else the current graph.

        A format that takes no run (the training script) is always of the open project; Python code of
        a network the run did not train is too.
        """
        from app.training.runs_panel import read_run

        run = self.controller.current_run
        if run is not None and not kind.needs_weights and not self._python_takes_run(run):
            run = None  # code of the network shown: a run of another network has nothing to add to it
        if run is not None and kind.takes_run:  # Python code too: it is written with the run's weights
            info = read_run(run)
            if info.project is not None and info.weights:
                return info.project, info.weights, f"with the weights of run {info.name}"
        return self.controller.snapshot(), None, ""

    def _python_takes_run(self, run) -> bool:
        """Python code goes with the run's weights when the main network is shown and the run trained it."""
        from graph_builder.runs import RunsError, check_run_fits

        if self.window.current_network() != self.window.project.networks.main:
            return False
        try:
            check_run_fits(run, self.controller.project)
        except RunsError:
            return False
        return True

    def _on_done(self, kind: ExportFormat, report: dict, note: str) -> None:
        if note and report.get("ok"):
            report["message"] = f"{report['message']} ({note})"
        self._report(kind, report)

    def _on_error(self, kind: ExportFormat, path: str, exc: BaseException) -> None:
        self._report(kind, {"ok": False, "path": path,
                            "message": f"Export to {Path(path).name} failed: {exc}. Nothing usable was written; "
                                       "fix the problem named above and export again."})

    def _report(self, kind: ExportFormat, report: dict) -> None:
        self.last_report = report
        self.controller.status(report["message"])
        box = QMessageBox(QMessageBox.Information if report.get("ok") else QMessageBox.Warning,
                          "Export", report["message"], QMessageBox.Ok, self.window)
        box.setObjectName("export_report")
        box.finished.connect(box.deleteLater)
        box.open()
        self.export_done.emit(kind.key, report)


def _title(kind: ExportFormat) -> str:
    return kind.menu_text.replace("&", "").rstrip("…")


def perform_export(kind: str, project_dict: dict, weights: str | None, path: str, network: str | None = None,
                   project_path: str | None = None) -> dict:
    """Write one export of `network` (the main one by default) on the worker thread, through the export registry
    (runtime.export: the formats `netcanvas export` writes); returns {"ok", "path", "message", …}."""
    from graph_builder.project import project_from_dict
    from runtime.export import Request, export

    from graph_builder.run_folder import RunFolder

    project = project_from_dict(project_dict)
    folder = RunFolder.holding(weights) if weights else None
    run = folder.path if folder is not None else None
    written = export(kind, Request(project, Path(path), network, weights, run, project_path=project_path))
    report = {"ok": written.ok, "path": str(written.path), "message": written.message,
              "weights_path": str(written.weights_path) if written.weights_path else None}
    if written.onnx is not None:
        report.update(parity_ok=bool(written.onnx.ok), max_abs_diff=written.onnx.max_abs_diff,
                      opset=written.onnx.opset)
    return report
