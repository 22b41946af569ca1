"""The Export menu: Python code, training script, ONNX (with its parity result), weights and
torch.export, using the trained weights of the chosen run.

Each export asks for a file, then runs on a worker thread (torch work must not freeze the
window); the outcome is shown in plain words and emitted as `export_done(kind, report)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.training.background import run_in_background
from app.training.run_check import refuse_wrong_run


@dataclass(frozen=True)
class ExportKind:
    """One row of the Export menu."""

    key: str
    text: str
    file_filter: str
    suffix: str
    needs_weights: bool


EXPORTS = (
    ExportKind("python", "&Python code…", "Python files (*.py)", ".py", False),
    ExportKind("script", "Python &training script…", "Python files (*.py)", ".py", False),
    ExportKind("onnx", "&ONNX…", "ONNX models (*.onnx)", ".onnx", True),
    ExportKind("weights", "&Weights (safetensors)…", "safetensors files (*.safetensors)", ".safetensors", True),
    ExportKind("pt2", "torch.e&xport program…", "torch.export programs (*.pt2)", ".pt2", True),
)


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
        for kind in EXPORTS:
            action = QAction(kind.text, self.window)
            action.setObjectName(f"export_{kind.key}")
            action.triggered.connect(lambda _checked=False, k=kind: self.ask_path(k))
            menu.addAction(action)
            self.actions[kind.key] = action

    def ask_path(self, kind: ExportKind) -> QFileDialog:
        """Open a (non-modal) save dialog; the export starts when a file is chosen."""
        run = self.controller.current_run
        folder = Path(self.controller.project_path() or Path.home()).parent if not run else Path(run)
        dialog = QFileDialog(self.window, f"Export {kind.text.replace('&', '').rstrip('…')}", str(folder))
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

    def export(self, kind: ExportKind | str, path: str) -> None:
        """Export to `path` on the worker thread."""
        if isinstance(kind, str):
            kind = next(k for k in EXPORTS if k.key == kind)
        project_dict, weights, note = self._source(kind)
        if weights is not None and refuse_wrong_run(self.controller, self.controller.current_run,
                                                    f"Export {kind.text.replace('&', '').rstrip('…')}"):
            return
        # A run's weights are the main network's; otherwise the network on the canvas is exported.
        network = None if weights is not None or kind.key == "script" else self.window.current_network()
        if network is not None and network != self.window.project.networks.main:
            note = f"network {network}" + (f", {note}" if note else "")
        self.controller.status(f"Exporting {kind.key} to {path}…")
        job = run_in_background(perform_export, kind.key, project_dict, weights, path, network,
                                on_done=lambda report, k=kind: self._on_done(k, report, note),
                                on_error=lambda exc, k=kind, p=path: self._on_error(k, p, exc),
                                parent=self)
        self._jobs.append(job)

    def _source(self, kind: ExportKind) -> tuple[dict, str | None, str]:
        """The graph and weights to export: the chosen run's snapshot and weights, else the current graph.

        The training script is always of the open network; Python code without a run is too.
        """
        from app.training.runs_panel import read_run

        run = self.controller.current_run
        if run is not None and kind.key == "python" and not self._python_takes_run(run):
            run = None  # code of the network shown: a run of another network has nothing to add to it
        if run is not None and kind.key != "script":  # Python code too: it is written with the run's weights
            info = read_run(run)
            if info.project is not None and info.weights:
                return info.project, info.weights, f"with the weights of run {info.name}"
        note = "with untrained weights (no finished run chosen)" if kind.needs_weights else ""
        return self.controller.snapshot(), None, note

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

    def _on_done(self, kind: ExportKind, report: dict, note: str) -> None:
        if note and report.get("ok"):
            report["message"] = f"{report['message']} ({note})"
        self._report(kind, report)

    def _on_error(self, kind: ExportKind, path: str, exc: BaseException) -> None:
        self._report(kind, {"ok": False, "path": path,
                            "message": f"Export to {Path(path).name} failed: {exc}. Nothing usable was written; "
                                       "fix the problem named above and export again."})

    def _report(self, kind: ExportKind, report: dict) -> None:
        self.last_report = report
        self.controller.status(report["message"])
        box = QMessageBox(QMessageBox.Information if report.get("ok") else QMessageBox.Warning,
                          "Export", report["message"], QMessageBox.Ok, self.window)
        box.setObjectName("export_report")
        box.finished.connect(box.deleteLater)
        box.open()
        self.export_done.emit(kind.key, report)


def perform_export(kind: str, project_dict: dict, weights: str | None, path: str,
                   network: str | None = None) -> dict:
    """Write one export of `network` (the main one by default) on the worker thread; returns {"ok", …}."""
    from graph_builder.project import project_from_dict

    project = project_from_dict(project_dict)
    graph = project.network(network)
    out = Path(path)
    run = Path(weights).parent if weights and (Path(weights).parent / "config.json").is_file() else None
    gan = _export_gan(kind, project, network, weights, run, out)
    if gan is not None:
        return gan
    if run is not None and kind in ("python", "onnx", "pt2"):
        return _export_run(kind, graph, run, weights, out)
    if kind == "python":
        from runtime.export import export_python

        export_python(graph, out)
        return {"ok": True, "path": str(out), "message": f"Wrote the model's Python code to {out}."}
    if kind == "script":
        from runtime.export import export_training_script

        export_training_script(project, out)
        return {"ok": True, "path": str(out), "message": f"Wrote a standalone training script to {out}."}
    from runtime.compile import build_module
    from runtime.export import export_onnx, export_pt2, export_weights, load_weights

    module = build_module(graph)
    if weights:
        load_weights(module, weights)
    module.eval()
    if kind == "weights":
        export_weights(module, out)
        return {"ok": True, "path": str(out), "message": f"Wrote the weights to {out}."}
    if kind == "pt2":
        export_pt2(module, None, out)
        return {"ok": True, "path": str(out), "message": f"Wrote a torch.export program to {out}."}
    if kind == "onnx":
        return onnx_report(export_onnx(module, out, graph=graph), out)
    raise ValueError(f"unknown export kind {kind!r}")


def _export_gan(kind: str, project, network: str | None, weights: str | None, run: Path | None, out: Path) -> dict | None:
    """A GAN's Python (both networks) and its run's networks (runtime.export.gan); None: not a GAN export."""
    from runtime.export import export_gan_network, export_gan_python, gan_settings, run_settings

    t = gan_settings(project)
    if t is None or kind == "script":
        return None
    run_t, normalization = run_settings(run) if run is not None else (None, None)
    if kind == "python" and network in (None, project.networks.main):
        code, beside = export_gan_python(project, t, out, weights if run_t else None, normalization)
        also = f" and the run's weights to {beside.name} beside it; load_models() reads them" if beside else ""
        return {"ok": True, "path": str(code), "weights_path": str(beside) if beside else None,
                "message": f"Wrote the generator {t['generator']!r} and the discriminator {t['discriminator']!r} as "
                           f"Python to {code}{also}."}
    if run_t is None or kind == "python":
        return None
    message, report = export_gan_network(kind, project, t, network, weights, out, normalization)
    if report is not None:
        result = onnx_report(report, out)
        what = message.rsplit(" (the ", 1)[-1].rstrip(")")
        result["message"] += f" It is the {what}."
        return result
    return {"ok": True, "path": str(out), "message": message[0].upper() + message[1:] + "."}


def _export_run(kind: str, graph, run: Path, weights: str, out: Path) -> dict:
    """A run's model on raw inputs: its normalisation inside, its class names with it (runtime.export.preprocess)."""
    from runtime.export import export_run_onnx, export_run_pt2, export_run_python, read_preprocessing

    prep = read_preprocessing(run)
    raw = " It takes raw inputs: the run's normalisation is applied inside the model." if prep.mean is not None else ""
    if kind == "python":
        code, weights_path = export_run_python(graph, prep, weights, out)
        return {"ok": True, "path": str(code), "weights_path": str(weights_path),
                "message": f"Wrote the model's Python code to {code} and its weights to {weights_path.name} beside "
                           f"it; load_model() reads them.{raw}"}
    if kind == "pt2":
        export_run_pt2(graph, prep, weights, out)
        return {"ok": True, "path": str(out), "message": f"Wrote a torch.export program to {out}.{raw}"}
    report = onnx_report(export_run_onnx(graph, prep, weights, out), out)
    report["message"] += raw
    return report


def onnx_report(report, out: Path) -> dict:
    """Plain words for runtime.export.formats's OnnxReport (parity with onnxruntime included)."""
    parity = bool(report.ok)
    text = (f"Wrote the ONNX model to {out} ({report.size_bytes:,} bytes, opset {report.opset}). "
            f"onnxruntime parity: {'OK' if parity else 'FAILED'}: largest difference from torch "
            f"{report.max_abs_diff:.2e} (tolerance {report.tolerance:g}) for batch sizes "
            f"{', '.join(map(str, report.batch_sizes))}.")
    return {"ok": parity, "path": str(out), "message": text, "parity_ok": parity,
            "max_abs_diff": report.max_abs_diff, "opset": report.opset}
