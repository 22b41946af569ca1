"""What the training controller and its panels need from the window they live in.

They call the window through this Protocol instead of probing it with getattr/hasattr for
attribute names; app.main_window.MainWindow satisfies it (a test checks that it does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from graph_builder.datafit import LoadedData
from graph_builder.project import Project
from graph_builder.validation import Validation


@runtime_checkable
class TrainingHost(Protocol):
    """The main window as the training side sees it (a QMainWindow with NetCanvas's extension points)."""

    project: Project
    editor: Any  # app.commands.Editor: every edit goes through editor.push_on(target, command)
    settings: Any  # QSettings: each workspace's dock layout is kept under "workspace/<name>"
    validation: Validation | None
    loaded_data: LoadedData | None  # the Data panel's last load; file datasets are checked against it
    fit_issues: list  # the main network against the data (graph_builder.datafit), whichever network is shown
    run_issues: Any  # () -> the chosen run's problems on the main network; the training controller sets it
    # Signals: first_painted(), project_replaced(Project), validated(Validation)
    first_painted: Any
    project_replaced: Any
    validated: Any

    def project_path(self) -> Path | None:
        """The open project's file, or None while it is untitled."""

    def current_network(self) -> str:
        """The name of the network on the canvas (the project's main network is `project.networks.main`)."""

    def menu(self, name: str) -> Any:
        """The QMenu called `name` ("&Train", "E&xport" …)."""

    def add_dock(self, widget: Any, title: str, area: Any = ..., object_name: str | None = None) -> Any:
        """A QDockWidget holding `widget`, its place remembered between runs."""

    def status_message(self, text: str, timeout_ms: int = 6000) -> None:
        """A short message in the status bar."""

    def reveal_dock(self, object_name: str) -> None:
        """Switch to a workspace that shows the dock `object_name` (app/workspaces.py), unless this one does."""

    def validate_now(self) -> Validation:
        """Check the graph (and its fit to the data) now and show the result everywhere."""

    # QMainWindow's own dock handling, used to lay the training docks out
    def tabifyDockWidget(self, first: Any, second: Any) -> None: ...
    def tabifiedDockWidgets(self, dock: Any) -> list: ...
    def addDockWidget(self, *args: Any) -> None: ...
    def removeDockWidget(self, dock: Any) -> None: ...
    def dockWidgetArea(self, dock: Any) -> Any: ...
    def resizeDocks(self, docks: list, sizes: list, orientation: Any) -> None: ...
