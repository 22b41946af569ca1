"""The File menu's project actions: new, open, template, save, save as, the autosave and its recovery, and the
question about unsaved work before any of them replaces the open project.

The window owns the open project and its file (``window.project``, ``window.path``) and makes a project
current through one path (``window.set_project``); these actions decide when, and write the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.projects import Autosave, RecentFiles, RecoveryFile, data_dir
from graph_builder.errors import GraphBuilderError
from graph_builder.project import Project, load_project, save_project


class FilesHost(Protocol):
    """What the project actions need of the main window."""

    project: Project
    path: Path | None
    editor: object  # app.commands.Editor: its undo stack says whether there is unsaved work
    view: object  # app.canvas.view.GraphView
    project_saved: object  # Signal(str, str)

    def set_project(self, project: Project, path: str | os.PathLike | None, unsaved: bool = False) -> None: ...
    def update_title(self) -> None: ...
    def show_error(self, title: str, text: str) -> object: ...
    def status_message(self, text: str, timeout_ms: int = 6000) -> None: ...


class ProjectFiles(QObject):
    """Opening and saving the host window's project; the recent files and the autosave."""

    def __init__(self, host: FilesHost, settings) -> None:
        super().__init__(host)  # the host is the main window: this lives as long as it
        self.host = host
        self.recent = RecentFiles(settings)
        self.autosave = Autosave(data_dir())
        self.recovery_box: QMessageBox | None = None
        self.unsaved_outside_history = False  # recovered or template projects count as unsaved

    def confirm_discard(self) -> str:
        """Ask what to do with unsaved changes: "save", "discard" or "cancel"."""
        box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                          f"{self.host.path.name if self.host.path else 'This project'} has changes that are not saved.",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self.host)
        box.setInformativeText("Save them before continuing?")
        answer = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def maybe_discard(self) -> bool:
        """True when the current work may be replaced (saved, discarded or unchanged)."""
        if not self.is_dirty():
            return True
        answer = self.confirm_discard()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def discard_changes(self) -> None:
        """Forget unsaved changes (the history stays, marked clean) and the recovery file."""
        self.unsaved_outside_history = False
        self.host.editor.stack.setClean()
        self.autosave.discard()

    def new_project(self) -> None:
        """An empty, untitled project (asking about unsaved work first)."""
        if self.maybe_discard():
            self.autosave.discard()
            self.host.set_project(Project(), None)
            self.host.view.resetTransform()
            self.host.view.centerOn(0, 0)

    def open_template(self, path: str) -> None:
        """Open the template at `path` as a new, unsaved project."""
        if not self.maybe_discard():
            return
        from runtime.templates import template_project

        try:
            project = template_project(path)  # bundled data found beside the template
        except GraphBuilderError as exc:
            self.host.show_error("Cannot use this template", str(exc))
            return
        self.autosave.discard()
        self.host.set_project(project, None, unsaved=True)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.host, "Open project", self.last_folder(),
                                              "NetCanvas projects (*.json);;All files (*)")
        if path:
            self.open_project(path)

    def open_project(self, path: str | os.PathLike) -> bool:
        """Open a project file (asking about unsaved work first); False if it cannot be read."""
        if not self.maybe_discard():
            return False
        try:
            project = load_project(path)
        except GraphBuilderError as exc:
            self.host.show_error("Cannot open project", f"{Path(path).name} could not be opened:\n{exc}")
            return False
        self.autosave.discard()
        self.host.set_project(project, path)
        self.recent.add(path)
        self.host.status_message(f"Opened {Path(path).name}")
        return True

    def save(self) -> bool:
        """Save to the project's file, or ask for one while it is untitled."""
        if self.host.path is None:
            return self.save_as_dialog()
        return self.save_project_as(self.host.path)

    def save_as_dialog(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.host, "Save project", self.last_folder(),
                                              "NetCanvas projects (*.json)")
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        return self.save_project_as(path)

    def save_project_as(self, path: str | os.PathLike) -> bool:
        """Write the project to `path` (atomically) and make it the current file."""
        try:
            save_project(self.host.project, path)
        except OSError as exc:
            self.host.show_error("Cannot save", f"Could not write {path}: {exc.strerror or exc}")
            return False
        previous = str(self.host.path) if self.host.path else ""
        self.host.path = Path(path).resolve()
        self.unsaved_outside_history = False
        self.host.editor.stack.setClean()
        self.autosave.discard()
        self.recent.add(self.host.path)
        self.host.update_title()
        self.host.status_message(f"Saved {self.host.path.name}")
        self.host.project_saved.emit(previous, str(self.host.path))
        return True

    def last_folder(self) -> str:
        """The folder of the most recent project (home when there is none): where file dialogs start."""
        recent = self.recent.paths()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def autosave_now(self) -> None:
        """Write the recovery file when there are unsaved changes (removes it otherwise)."""
        try:
            if self.is_dirty():
                self.autosave.write(self.host.project, str(self.host.path) if self.host.path else None)
            else:
                self.autosave.discard()
        except OSError as exc:  # a WriteError names the recovery file; the previous copy is intact
            self.host.status_message(f"Autosave failed: {exc}")

    def offer_recovery(self) -> RecoveryFile | None:
        """If a session ended without closing, offer to recover its autosave (non-blocking)."""
        if os.environ.get("NETCANVAS_NO_AUTOSAVE_PROMPT"):
            return None
        leftovers = self.autosave.leftovers()
        if not leftovers:
            return None
        found = leftovers[0]
        box = QMessageBox(QMessageBox.Question, "Recover unsaved work?",
                          "NetCanvas did not close normally last time.", QMessageBox.NoButton, self.host)
        box.setInformativeText(f"Unsaved work was kept: {found.describe()}.\nRecover it?")
        recover = box.addButton("Recover", QMessageBox.AcceptRole)
        box.addButton("Discard", QMessageBox.DestructiveRole)
        box.setDefaultButton(recover)
        box.setWindowModality(Qt.WindowModal)

        def answered(button) -> None:
            if button is recover:
                self.recover(found)
            else:
                for leftover in leftovers:
                    leftover.discard()
            self.recovery_box = None

        box.buttonClicked.connect(answered)
        box.setAttribute(Qt.WA_DeleteOnClose)
        self.recovery_box = box
        box.open()
        return found

    def recover(self, found: RecoveryFile) -> bool:
        """Open the autosaved project as unsaved work (its file is removed once loaded)."""
        try:
            project = found.load()
        except GraphBuilderError as exc:
            self.host.show_error("Cannot recover", f"The autosave could not be read: {exc}")
            return False
        self.host.set_project(project, found.source, unsaved=True)
        found.discard()
        self.autosave_now()
        self.host.status_message("Recovered unsaved work; save it to keep it")
        return True

    def is_dirty(self) -> bool:
        """True when there are changes that are not in the project file."""
        return self.unsaved_outside_history or not self.host.editor.stack.isClean()
