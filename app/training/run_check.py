"""Refusing a run of another network before its weights are used (export, inference).

The check itself is graph_builder.runs.check_run_fits; this puts its refusal in a plain
message box that offers to open the run's own network as a new project.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from graph_builder.errors import GraphBuilderError
from graph_builder.runs import RunMismatchError, RunsError, check_run_fits, read_run_network


def refuse_wrong_run(controller, run: str | Path, using: str) -> str | None:
    """Why `run` cannot be used with the open network (after telling the user), or None when it can.

    `using` names what was asked for ("Inference", "Export Weights").
    """
    try:
        check_run_fits(run, controller.project)
    except RunsError as exc:
        _show_refusal(controller, Path(run), using, exc)
        return str(exc)
    return None


def _show_refusal(controller, run: Path, using: str, exc: RunsError) -> None:
    window = controller.window
    box = QMessageBox(QMessageBox.Warning, "This run trained another network",
                      f"{using} was not done: {exc}.", QMessageBox.NoButton, window)
    box.setObjectName("wrong_run")
    open_button = None
    if isinstance(exc, RunMismatchError) and _snapshot(run) is not None:
        open_button = box.addButton("Open the run's network as a new project", QMessageBox.AcceptRole)
        open_button.setObjectName("open_run_network")
    box.addButton(QMessageBox.Close)
    box.finished.connect(box.deleteLater)
    if open_button is not None:
        open_button.clicked.connect(lambda: open_run_network(controller, run))
    controller.status(f"{using} was refused: {exc}")
    box.open()


def open_run_network(controller, run: str | Path) -> bool:
    """Open the project `run` trained as a new, unsaved project (after asking about unsaved work)."""
    from graph_builder.project import project_from_dict

    snapshot = _snapshot(Path(run))
    window = controller.window
    if snapshot is None or not window.maybe_discard():
        return False
    try:
        project = project_from_dict(snapshot)
    except GraphBuilderError as exc:  # a damaged snapshot: say so, never a traceback
        window.show_error("Cannot open the run's network", f"Run {Path(run).name}'s project cannot be read: {exc}")
        return False
    window.set_project(project, None, unsaved=True)
    window.status_message(f"Opened the network run {Path(run).name} trained, as a new project; save it to keep it")
    return True


def _snapshot(run: Path) -> dict | None:
    try:
        return read_run_network(run).project
    except RunsError:
        return None
