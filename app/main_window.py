"""The NetCanvas main window: it assembles the workspaces and the menus, and owns which project is open.

Extension points (the training dashboard under app/training/ plugs in here):

- ``window.project``: the current graph_builder ``Project`` (``window.project.graph`` is its main network;
  ``window.editor.graph`` is the network on the canvas, one tab per network).
- ``project_replaced(Project)``: emitted when a different project/graph object becomes current
  (new, open, template, recovery). Re-read ``window.project`` then; the old one is stale.
- ``project_saved(str, str)``: emitted after a save: the previous file ("" when it was untitled)
  and the file written.
- ``graph_edited()``: emitted after every edit of the current graph (undo and redo included).
- ``validated(Validation)``: emitted after each (debounced) validation with issues and shapes.
- ``menu(name) -> QMenu`` for "&File", "&Edit", "&View", "&Train", "E&xport" (and "&Help").
- ``add_dock(widget, title, area, object_name) -> QDockWidget``: a dock whose place and size
  are remembered between runs (QSettings saveState/restoreState; give a stable object_name),
  with a toggle in the View menu.
- ``status_message(text, timeout_ms=6000)``: a short message in the status bar.
- ``editor``: the ``app.commands.Editor``; ``editor.push(command)`` applies a graph_builder
  command as one undo step (returns False and shows the reason if the model refuses);
  ``editor.push_on(target, command, merge_key)`` does the same for another model (a settings
  section), on the same undo stack, so the stack alone says whether there is unsaved work.

Parts it assembles rather than holds: ``window.design`` (app/design_workspace.py: the canvas, its docks and
the validation they show), ``window.network_edits`` (app/network_edits.py: the network tabs and the Network
menu's edits), ``window.files`` (app/project_files.py: new, open, save, autosave, recovery),
``window.menus`` (app/menus.py: the action table, the toolbar), ``window.help`` (app/help.py),
``window.transfer`` (app/transfer.py: Freeze and the transfer-learning presets), ``window.imports``
(app/import_dialog.py: File ▸ Import), ``window.start_page`` (app/start_page.py) and ``window.workspaces``
(app/workspaces.py). A project becomes current through one path, ``set_project``; the methods under "the
parts' faces" pass a call on to the part that does it, for the panels and tests that call the window.

Settings use QSettings("NetCanvas", "NetCanvas"), or an ini file in NETCANVAS_SETTINGS_DIR.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QPointF, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QMainWindow,
                               QMenu, QMessageBox, QStackedWidget, QWidget)

from app.canvas.clipboard import Clipboard
from app.commands import Editor
from app.design_workspace import DesignWorkspace
from app.help import Help
from app.import_dialog import ModelImports
from app.menus import Menus
from app.network_edits import NetworkEdits
from app.project_files import ProjectFiles
from app.projects import RecoveryFile, data_dir, settings
from app.theme import icon
from app.transfer import TransferLearning
from app.workspaces import Workspaces
from graph_builder.datafit import LoadedData
from graph_builder.errors import GraphBuilderError
from graph_builder.project import Project
from graph_builder.validation import Validation

AUTOSAVE_MS = int(os.environ.get("NETCANVAS_AUTOSAVE_MS", "30000"))


class _Warmup(QThread):
    """Imports torch (and the runtime) in the background so the first Train click is quick."""

    def run(self) -> None:
        try:
            import torch  # noqa: F401
        except Exception:  # the editor works without torch; training will say what is missing
            pass


class MainWindow(QMainWindow):
    """The editor window (see the module docstring for the extension points)."""

    project_replaced = Signal(object)
    project_saved = Signal(str, str)
    graph_edited = Signal()
    validated = Signal(object)
    first_painted = Signal()

    def __init__(self, project: Project | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("NetCanvasMainWindow")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.settings = settings()
        self.files = ProjectFiles(self, self.settings)  # File ▸ New, Open, Save…, the autosave and the recent files
        self.recent, self.autosave = self.files.recent, self.files.autosave
        self.project = project or Project()
        self.path: Path | None = None
        self.validation: Validation | None = None
        self.loaded_data: LoadedData | None = None  # the Data panel's last load (file datasets); not saved
        self.fit_issues: list = []  # the main network against the data, from the latest validation
        self.run_issues = lambda: []  # the chosen run's problems on the main network (app/training sets it)
        self.last_dialog: QMessageBox | None = None
        self._painted = False
        self._warmup: _Warmup | None = None
        from app.pretrained_weights import PretrainedWeights

        self.pretrained = PretrainedWeights(self, self)  # Network ▸ Load Pretrained Weights…
        self.editor = Editor(self.project.graph, self)
        self.network_edits = NetworkEdits(self)  # the network tabs and the Network menu's edits
        self.design = DesignWorkspace(self, self.network_edits.tabs)  # the canvas and its panels
        design = self.design
        # The parts tests and the other panels reach by name.
        self.scene, self.view, self.network_tabs = design.scene, design.view, self.network_edits.tabs
        self.palette, self.inspector, self.problems = design.palette, design.inspector, design.problems
        self.summary, self.history, self.quick_add = design.summary, design.history, design.quick_add
        self.summary_label, self.problem_label = design.summary_label, design.problem_label
        self.pages = QStackedWidget()  # the canvas, or the start page before a project is open
        self.pages.addWidget(design.centre)
        self.start_page = None
        self.tour = None  # the first-run tour while it is shown (app/tour.py)
        self._state_before_start = QByteArray()
        self.setCentralWidget(self.pages)
        self.view.viewport().installEventFilter(self)

        self.menus = Menus(self)
        self._docks: dict[str, QDockWidget] = {}
        self.help = Help(self)
        self.clipboard = Clipboard(self)
        self.transfer = TransferLearning(self)
        self.imports = ModelImports(self)
        self.menus.build_actions()
        self.actions_by_text = self.menus.actions_by_text
        self.add_dock(self.palette, "Layers", Qt.LeftDockWidgetArea, "paletteDock")
        self.add_dock(self.inspector, "Inspector", Qt.RightDockWidgetArea, "inspectorDock")
        self.add_dock(self.problems, "Problems", Qt.BottomDockWidgetArea, "problemsDock")
        self.add_dock(self.summary, "Summary", Qt.BottomDockWidgetArea, "summaryDock")
        self.add_dock(self.history, "History", Qt.RightDockWidgetArea, "historyDock")
        self.statusBar().addPermanentWidget(self.problem_label)
        self.statusBar().addPermanentWidget(self.summary_label)

        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()

        self.editor.refused.connect(lambda reason: self.status_message(f"Not changed: {reason}", 8000))
        self.editor.stack.cleanChanged.connect(lambda _: self.update_title())
        self.view.file_dropped.connect(self.open_project)
        self.view.node_double_clicked.connect(self.network_edits.open_block)
        self.editor.undone_or_redone.connect(self.network_edits.on_undone_or_redone)

        self.resize(1400, 860)
        self._restore_layout()
        self.network_edits.follow(self.project.networks)
        design.follow(self.project)
        design.attach(self.project.graph)
        self.scene.set_graph(self.project.graph)
        design.validate_now()
        self.update_title()
        from app.training import install as install_training  # training docks, Train and Export menus

        install_training(self)
        self.workspaces = Workspaces(self, self._docks, self.settings)
        self.problems.rows_changed.connect(lambda: self.workspaces.fit("problemsDock"))
        self.menus.add_workspace_menu()
        self.menus.add_theme_menu()
        self.theme_actions = self.menus.theme_actions
        self.workspaces.start()

    # ------------------------------------------------------------ extension points

    def menu(self, name: str) -> QMenu:
        """The menu called `name` ("&File", "&Edit", "&View", "&Train", "E&xport", "&Help")."""
        return self.menus.menu(name)

    def set_theme(self, choice: str) -> None:
        """Use the light or dark theme, or follow the system's (app/menus.py)."""
        self.menus.set_theme(choice)

    def add_dock(self, widget: QWidget, title: str, area=Qt.RightDockWidgetArea,
                 object_name: str | None = None) -> QDockWidget:
        """Add `widget` in a dock whose place is remembered between runs; returns the dock."""
        object_name = object_name or f"{title.lower().replace(' ', '_')}Dock"
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                         | QDockWidget.DockWidgetFloatable)
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
        self._docks[object_name] = dock
        toggle = dock.toggleViewAction()
        toggle.setText(title)
        self.menus.panels.addAction(toggle)
        return dock

    def project_path(self) -> Path | None:
        """The open project's file, or None while it is untitled."""
        return self.path

    def reveal_dock(self, object_name: str) -> None:
        """Switch to a workspace that shows the dock `object_name`, unless the current one does."""
        self.workspaces.reveal(object_name)

    def status_message(self, text: str, timeout_ms: int = 6000) -> None:
        """Show `text` in the status bar for a while."""
        self.statusBar().showMessage(text, timeout_ms)

    # ------------------------------------------------------------ actions and menus

    # ------------------------------------------------------------ the current graph

    def set_project(self, project: Project, path: str | os.PathLike | None, unsaved: bool = False) -> None:
        """Make `project` current (the scene is rebuilt through the same path as live edits)."""
        self.show_canvas()
        self.project = project
        self.path = Path(path).resolve() if path else None
        self.files.unsaved_outside_history = unsaved
        self.editor.set_graph(project.graph)
        self.network_edits.follow(project.networks)
        self.design.follow(project)
        self.design.show_graph(project.graph)
        self.update_title()
        self.project_replaced.emit(project)

    def update_title(self) -> None:
        """The project's file name in the title bar, marked while there is unsaved work."""
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — NetCanvas")
        self.setWindowModified(self.is_dirty())

    # ------------------------------------------------------------ the parts' faces (tests and panels call these)

    def validate_now(self) -> Validation:
        """Check the shown network now and show the result everywhere (app/design_workspace.py)."""
        return self.design.validate_now()

    def add_layer(self, type_id: str, center: QPointF) -> str | None:
        """Add a `type_id` layer centred on `center` (scene coordinates); returns its id."""
        return self.design.add_layer(type_id, center)

    def actual_size(self) -> None:
        self.design.actual_size()

    def current_network(self) -> str:
        """The name of the network on the canvas (app/network_edits.py)."""
        return self.network_edits.current_network()

    def show_network(self, name: str) -> bool:
        """Put network `name` on the canvas."""
        return self.network_edits.show_network(name)

    def add_network(self, name: str | None = None) -> str | None:
        """Add an empty network (one undo step) and show it; returns its name."""
        return self.network_edits.add_network(name)

    def rename_network(self, old: str, new: str) -> bool:
        return self.network_edits.rename_network(old, new)

    def delete_network(self, name: str) -> bool:
        return self.network_edits.delete_network(name)

    def selected_block(self) -> str | None:
        """The name of the one selected block of the main network, or None."""
        return self.network_edits.selected_block()

    def open_project(self, path: str | os.PathLike) -> bool:
        """Open a project file (asking about unsaved work first); False if it cannot be read (app/project_files.py)."""
        return self.files.open_project(path)

    def open_template(self, path: str) -> None:
        self.files.open_template(path)

    def new_project(self) -> None:
        self.files.new_project()

    def save(self) -> bool:
        return self.files.save()

    def save_project_as(self, path: str | os.PathLike) -> bool:
        return self.files.save_project_as(path)

    def maybe_discard(self) -> bool:
        """True when the current work may be replaced (saved, discarded or unchanged)."""
        return self.files.maybe_discard()

    def discard_changes(self) -> None:
        self.files.discard_changes()

    def is_dirty(self) -> bool:
        """True when there are changes that are not in the project file."""
        return self.files.is_dirty()

    def autosave_now(self) -> None:
        self.files.autosave_now()

    def offer_recovery(self) -> RecoveryFile | None:
        return self.files.offer_recovery()

    def last_folder(self) -> str:
        """Where file dialogs start: the folder of the most recent project."""
        return self.files.last_folder()

    def weights_folder(self) -> str:
        """Where a weights file dialog starts: the project's folder, else the last one used."""
        return str(self.path.parent) if self.path else self.last_folder()

    # ------------------------------------------------------------ projects

    def show_start_page(self) -> None:
        """Show the start page (templates, recent projects, a blank project) in place of the canvas."""
        from app.start_page import StartPage

        if self.pages.currentWidget() is not self.start_page or self.start_page is None:
            # The page has the window to itself: the panels come back as they were with a project.
            self._state_before_start = self.saveState()
            for dock in self._docks.values():
                dock.hide()
            self.workspaces.bar.hide()
            for label in (self.problem_label, self.summary_label):  # the canvas's verdict: not the page's
                label.hide()
        if self.start_page is None:
            self.start_page = StartPage(self.recent.paths())
            self.start_page.blank_requested.connect(self.files.new_project)
            self.start_page.open_requested.connect(self.files.open_dialog)
            self.start_page.template_chosen.connect(self.open_template)
            self.start_page.recent_chosen.connect(self.open_project)
            self.start_page.back_requested.connect(self.show_canvas)
            # The first paint may be the start page's: its body covers the viewport.
            self.start_page.widget().installEventFilter(self)
            self.pages.addWidget(self.start_page)
        else:
            self.start_page.set_recent(self.recent.paths())
        something_open = bool(self.path or self.project.graph.nodes or self.is_dirty())
        self.start_page.set_project_name((self.path.name if self.path else "Untitled") if something_open else None)
        self.pages.setCurrentWidget(self.start_page)
        self.start_page.setFocus()

    def show_canvas(self) -> None:
        """Leave the start page: the canvas and the panels as they were (the project is unchanged)."""
        if self.pages.currentIndex() != 0:
            self.pages.setCurrentIndex(0)
            self.restoreState(self._state_before_start)
            self.workspaces.bar.show()
            for label in (self.problem_label, self.summary_label):
                label.show()

    def offer_tour(self) -> None:
        """Start the first-run tour once a project is open, unless it was finished or closed before."""
        from app.tour import tour_done

        if tour_done(self.settings):
            return

        def start(*_args) -> None:
            self.project_replaced.disconnect(start)
            self.start_tour()

        if self.pages.currentIndex() == 0:
            self.start_tour()
        else:
            self.project_replaced.connect(start)

    def start_tour(self) -> None:
        """Show the four-step tour (Help ▸ Tour)."""
        from app.tour import Tour

        if self.tour is None:
            self.tour = Tour(self)

    def new_from_template(self) -> None:
        """The start page, scrolled to its template cards (a click opens one; Back returns)."""
        self.show_start_page()
        self.start_page.widget().layout().activate()  # the cards' places, before the page is painted
        self.start_page.show_examples()

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A plain-words message that does not block the event loop."""
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModal)
        self.last_dialog = box
        box.finished.connect(lambda _: setattr(self, "last_dialog", None))
        box.open()
        return box

    # ------------------------------------------------------------ window events

    def eventFilter(self, obj, event) -> bool:
        painted_page = obj is self.view.viewport() or (self.start_page is not None and obj is self.start_page.widget())
        if not self._painted and painted_page and event.type() == QEvent.Paint:
            self._painted = True
            QTimer.singleShot(0, self.first_painted.emit)  # after this paint has finished
        return super().eventFilter(obj, event)

    def start_warmup(self) -> None:
        """Import torch in a background thread (called once the window is on screen)."""
        if self._warmup is None:
            self._warmup = _Warmup(self)
            self._warmup.start(QThread.LowPriority)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_project(url.toLocalFile())
                event.acceptProposedAction()
                return

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(int(screen.width() * 0.94), int(screen.height() * 0.92))
            self.move(screen.center() - self.rect().center())
        self.keep_inside_screen()
        # The docks' places belong to the workspaces (app/workspaces.py), laid out once all are in.
        QTimer.singleShot(0, self.view.show_graph)

    def keep_inside_screen(self) -> None:
        """Shrink and move the window back onto its screen if it has grown past it."""
        screen = self.screen().availableGeometry()
        frame = self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()
        width = min(self.width(), screen.width() - extra_w)
        height = min(self.height(), screen.height() - extra_h)
        if (width, height) != (self.width(), self.height()) and not self.isMaximized():
            self.resize(width, height)
        frame = self.frameGeometry()
        x = min(max(frame.x(), screen.left()), screen.right() + 1 - frame.width())
        y = min(max(frame.y(), screen.top()), screen.bottom() + 1 - frame.height())
        if (x, y) != (frame.x(), frame.y()) and not self.isMaximized():
            self.move(max(x, screen.left()), max(y, screen.top()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # A panel that asks for more room (a workspace's docks, a wide form) must not push the
        # window past the screen: shrink it back once the layout has settled.
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None and (event.size().width() > screen.width() or event.size().height() > screen.height()):
            QTimer.singleShot(0, self.keep_inside_screen)

    def save_layout(self) -> None:
        """Remember the window size and each workspace's dock layout for the next run."""
        if self.pages.currentIndex() != 0:  # on the start page the panels are only hidden for it
            self.restoreState(self._state_before_start)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.workspaces.remember()
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if not self.maybe_discard():
            event.ignore()
            return
        self.save_layout()
        self._autosave_timer.stop()
        self.autosave.discard()
        if self._warmup is not None:
            self._warmup.wait()
        self.imports.wait()
        self.design.detach()
        self.network_edits.detach()
        super().closeEvent(event)


def install_excepthook(window: MainWindow) -> None:
    """Unexpected errors become a plain-words message; the traceback goes to a log file."""
    import logging

    from runtime.logs import log_to

    log = data_dir() / "netcanvas.log"
    log_to(log)
    logger = logging.getLogger("app")

    def hook(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        logger.error("unexpected error", exc_info=(kind, value, tb))
        try:
            window.autosave_now()
            reason = str(value) if isinstance(value, GraphBuilderError) else f"{kind.__name__}: {value}"
            window.show_error("Something went wrong",
                              f"NetCanvas could not finish that action ({reason}).\n\nNothing was lost: "
                              f"your work is autosaved. Details were written to {log}.")
        except Exception:
            sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook
