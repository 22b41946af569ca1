"""The NetCanvas main window: canvas in the middle, palette, inspector, problems and summary docks.

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

Parts it assembles rather than holds: ``window.help`` (app/help.py), ``window.transfer`` (app/transfer.py:
Freeze and the transfer-learning presets), ``window.imports`` (app/import_dialog.py: File ▸ Import),
``window.start_page`` (app/start_page.py) and ``window.workspaces`` (app/workspaces.py).

Settings use QSettings("NetCanvas", "NetCanvas"), or an ini file in NETCANVAS_SETTINGS_DIR.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QPointF, QSignalBlocker, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow,
                               QMenu, QMessageBox, QStackedWidget, QTabBar, QUndoView, QVBoxLayout, QWidget)

from app.canvas.clipboard import Clipboard
from graph_builder.layout import layered_positions
from app.canvas.nodes import GRID, NODE_WIDTH
from app.canvas.scene import GraphScene
from app.canvas.view import GraphView
from app.commands import Editor
from app.help import Help, typeable
from app.import_dialog import ModelImports
from app.inspector import Inspector
from app.palette import BLOCK_PREFIX, Palette, QuickAdd
from app.problems import ProblemsPanel
from app.projects import Autosave, RecentFiles, RecoveryFile, data_dir, settings
from app.memory_check import editor_device_memory
from app.summary import SummaryPanel, node_memory_text, status_text
from app.theme import icon
from app.transfer import TRANSFER_PRESETS, TransferLearning
from app.workspaces import Workspaces
from graph_builder.datafit import LoadedData, check_project_fit
from graph_builder.memory import MemoryEstimate, estimate_project, memory_issues
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Batch, Disconnect, Graph, Move, RemoveNode
from graph_builder.networks import (AddNetwork, Networks, RemoveNetwork, RenameNetwork, SetMainNetwork,
                                    block_node_name, group_command, ungroup_command)
from graph_builder.project import Project, load_project, save_project
from graph_builder.validation import Validation, check

MENUS = ("&File", "&Edit", "&Network", "&View", "&Train", "E&xport", "&Help")
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
        self.recent = RecentFiles(self.settings)
        self.autosave = Autosave(data_dir())
        self.project = project or Project()
        self.path: Path | None = None
        self.validation: Validation | None = None
        self.loaded_data: LoadedData | None = None  # the Data panel's last load (file datasets); not saved
        self.fit_issues: list = []  # the main network against the data, from the latest validation
        self.run_issues = lambda: []  # the chosen run's problems on the main network (app/training sets it)
        self.recovery_box: QMessageBox | None = None
        self.last_dialog: QMessageBox | None = None
        self._unsaved_outside_history = False  # recovered or template projects count as unsaved
        self._painted = False
        self._warmup: _Warmup | None = None
        from app.pretrained_weights import PretrainedWeights

        self.pretrained = PretrainedWeights(self, self)  # Network ▸ Load Pretrained Weights…
        self._graph: Graph | None = None

        self.editor = Editor(self.project.graph, self)
        self.scene = GraphScene(self.editor, self)
        self.view = GraphView(self.scene)
        self._networks: Networks | None = None
        self._sections: tuple = ()
        self.network_tabs = QTabBar()
        self.network_tabs.setObjectName("networkTabs")
        self.network_tabs.setDocumentMode(True)
        self.network_tabs.setExpanding(False)
        self.network_tabs.setMovable(False)
        self.network_tabs.setContextMenuPolicy(Qt.CustomContextMenu)
        self.network_tabs.setToolTip("The networks of this project (★ the main one). Double-click to rename; "
                                     "right-click for more.")
        centre = QWidget()
        box = QVBoxLayout(centre)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.network_tabs)
        box.addWidget(self.view, 1)
        self.pages = QStackedWidget()  # the canvas, or the start page before a project is open
        self.pages.addWidget(centre)
        self.start_page = None
        self.tour = None  # the first-run tour while it is shown (app/tour.py)
        self._state_before_start = QByteArray()
        self.setCentralWidget(self.pages)
        self.view.viewport().installEventFilter(self)
        # The view's policy, not the viewport's: QAbstractScrollArea hands the viewport's context-menu
        # event to the view (its position in viewport coordinates).
        self.view.setContextMenuPolicy(Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_canvas_menu)
        self.last_canvas_menu: QMenu | None = None

        self._menus: dict[str, QMenu] = {}
        for name in MENUS:
            self._menus[name] = self.menuBar().addMenu(name)
        self._docks: dict[str, QDockWidget] = {}
        self.palette = Palette()
        self.inspector = Inspector(self.editor)
        self.problems = ProblemsPanel(self.editor)
        self.summary = SummaryPanel()
        self.history = QUndoView(self.editor.stack)
        self.history.setEmptyLabel("<opened>")
        self.quick_add = QuickAdd(self)
        self.help = Help(self)
        self.clipboard = Clipboard(self)
        self.transfer = TransferLearning(self)
        self.imports = ModelImports(self)
        self._build_actions()
        self.add_dock(self.palette, "Layers", Qt.LeftDockWidgetArea, "paletteDock")
        self.add_dock(self.inspector, "Inspector", Qt.RightDockWidgetArea, "inspectorDock")
        self.add_dock(self.problems, "Problems", Qt.BottomDockWidgetArea, "problemsDock")
        self.add_dock(self.summary, "Summary", Qt.BottomDockWidgetArea, "summaryDock")
        self.add_dock(self.history, "History", Qt.RightDockWidgetArea, "historyDock")

        self.summary_label = QLabel()
        self.problem_label = QLabel()
        self.statusBar().addPermanentWidget(self.problem_label)
        self.statusBar().addPermanentWidget(self.summary_label)

        self._validate_timer = QTimer(self, singleShot=True, interval=0)
        self._validate_timer.timeout.connect(self.validate_now)
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()

        self.editor.refused.connect(lambda reason: self.status_message(f"Not changed: {reason}", 8000))
        self.editor.stack.cleanChanged.connect(lambda _: self._update_title())
        self.scene.message.connect(lambda text: self.status_message(text, 8000))
        self.scene.selectionChanged.connect(self._on_selection_changed)
        self.view.layer_dropped.connect(lambda type_id, pos: self.add_layer(type_id, pos))
        self.view.quick_add_requested.connect(self._on_quick_add_requested)
        self.view.file_dropped.connect(self.open_project)
        self.view.node_double_clicked.connect(self._on_node_double_clicked)
        self.network_tabs.currentChanged.connect(self._on_tab_changed)
        self.network_tabs.tabBarDoubleClicked.connect(lambda i: self.rename_network_dialog(self._tab_name(i)))
        self.network_tabs.customContextMenuRequested.connect(self._on_tab_menu)
        self.editor.undone_or_redone.connect(self._on_undone_or_redone)
        self.palette.add_requested.connect(lambda type_id: self.add_layer(type_id, self.view.visible_center()))
        self.quick_add.chosen.connect(lambda type_id: self.add_layer(type_id, self._quick_add_pos))
        self.problems.node_activated.connect(self.reveal_node)
        self.summary.batch.valueChanged.connect(lambda _: self.summary_label.setText(status_text(self.summary.summary)))
        self._quick_add_pos = QPointF()

        self.resize(1400, 860)
        self._restore_layout()
        self._follow_networks(self.project.networks)
        self._attach(self.project.graph)
        self.scene.set_graph(self.project.graph)
        self.validate_now()
        self._update_title()
        from app.training import install as install_training  # training docks, Train and Export menus

        install_training(self)
        self.workspaces = Workspaces(self, self._docks, self.settings)
        self.problems.rows_changed.connect(lambda: self.workspaces.fit("problemsDock"))
        self._make_workspace_menu()
        self._make_theme_menu()
        self.workspaces.start()

    # ------------------------------------------------------------ extension points

    def menu(self, name: str) -> QMenu:
        """The menu called `name` ("&File", "&Edit", "&View", "&Train", "E&xport", "&Help")."""
        if name not in self._menus:
            raise KeyError(f"there is no menu {name!r}; menus: {', '.join(self._menus)}")
        return self._menus[name]

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
        self._panels_menu.addAction(toggle)
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

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        # One row per action: menu, text, shortcuts, slot, icon, on the toolbar.
        rows = [
            ("&File", "&New", [std.New], self.new_project, "new", True),
            ("&File", "New from &Template…", ["Ctrl+Shift+N"], self.new_from_template, "template", True),
            (("&File", "&Help"), "&Start Page", [], self.show_start_page, None, False),
            ("&File", "&Open…", [std.Open], self.open_dialog, "open", True),
            ("&File", "&Import…", ["Ctrl+I"], lambda: self.imports.ask(), None, False),
            ("&File", None, None, None, None, False),
            ("&File", "&Save", [std.Save], self.save, "save", True),
            ("&File", "Save &As…", [std.SaveAs, "Ctrl+Shift+S"], self.save_as_dialog, None, False),
            ("&File", None, None, None, None, False),
            ("&File", "&Quit", [std.Quit, "Ctrl+Q"], self.close, None, False),
            ("&Edit", "&Undo", [std.Undo], self.editor.stack.undo, "undo", True),
            ("&Edit", "&Redo", [std.Redo, "Ctrl+Shift+Z"], self.editor.stack.redo, "redo", True),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "Cu&t", [std.Cut], self.clipboard.cut, None, False),
            ("&Edit", "&Copy", [std.Copy], self.clipboard.copy, None, False),
            ("&Edit", "&Paste", [std.Paste], lambda: self.clipboard.paste(), None, False),
            ("&Edit", "D&uplicate", ["Ctrl+D"], self.clipboard.duplicate, None, False),
            ("&Edit", "&Delete", [std.Delete, "Backspace"], self.delete_selection, "delete", False),
            ("&Edit", "Select &All", [std.SelectAll], self.select_all, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "&Add Layer…\tTab", [], lambda: self._on_quick_add_requested(self.view.visible_center()),
             None, False),
            ("&Edit", "&Find Layer in Palette", [std.Find], self.focus_palette_search, None, False),
            ("&Edit", "&History", ["Ctrl+H"], self.show_history, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "&Group into Block", ["Ctrl+G"], self.group_selection, None, False),
            ("&Edit", "U&ngroup Block", ["Ctrl+Shift+G"], self.ungroup_selection, None, False),
            ("&Edit", None, None, None, None, False),
            ("&Edit", "Free&ze", [], lambda: self.transfer.freeze_selection(True), None, False),
            ("&Edit", "Unfree&ze", [], lambda: self.transfer.freeze_selection(False), None, False),
            ("&Network", "&New Network", ["Ctrl+Alt+N"], self.add_network, None, False),
            ("&Network", "&Rename Network…", [], lambda: self.rename_network_dialog(self.current_network()),
             None, False),
            ("&Network", "&Delete Network", [], lambda: self.delete_network(self.current_network()), None, False),
            ("&Network", "Make &Main Network", [], lambda: self.set_main_network(self.current_network()),
             None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "&Open Block's Network", [], self.open_selected_block, None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "Load &Pretrained Weights…", [], lambda: self.pretrained.load_into_network(), None, False),
            ("&Network", "Load Pretrained Weights into &Block…", [], lambda: self.pretrained.load_into_block(),
             None, False),
            ("&Network", "Remo&ve Pretrained Weights", [], self.pretrained.remove, None, False),
            ("&Network", None, None, None, None, False),
            ("&Network", "&Back to Main Network", ["Alt+Home"], lambda: self.show_network(self.project.networks.main),
             None, False),
            ("&View", "&Fit to View", ["F", "Ctrl+0"], self.view.fit_all, "fit", True),
            ("&View", "Zoom &In", [std.ZoomIn, "Ctrl+="], lambda: self.view.zoom_about_center(1.25), None, False),
            ("&View", "Zoom &Out", [std.ZoomOut], lambda: self.view.zoom_about_center(0.8), None, False),
            ("&View", "&Actual Size", ["Ctrl+1"], self.actual_size, None, False),
            ("&View", None, None, None, None, False),
            ("&View", "Auto &Layout", ["Ctrl+L"], self.auto_layout, "layout", True),
            ("&View", "Layout &Selection", ["Ctrl+Shift+L"], lambda: self.auto_layout(selection=True),
             None, False),
            ("&Help", "&Tour", [], self.start_tour, None, False),
            ("&Help", "&User Guide", [std.HelpContents, "F1"], self.help.show_user_guide, None, False),
            ("&Help", "&Keyboard Shortcuts", ["Ctrl+/"], self.help.show_shortcuts, None, False),
            ("&Help", "&About NetCanvas", [], self.help.show_about, None, False),
        ]
        self.actions_by_text: dict[str, QAction] = {}
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setMovable(False)
        for menu_names, text, keys, slot, icon_name, on_toolbar in rows:
            menus = [self._menus[n] for n in ((menu_names,) if isinstance(menu_names, str) else menu_names)]
            if text is None:
                menus[0].addSeparator()
                continue
            action = QAction(text, self)
            if icon_name:
                action.setIcon(icon(icon_name))
            shortcuts = []
            for key in keys:
                shortcuts += QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) \
                    else [QKeySequence(key)]
            action.setShortcuts(list(dict.fromkeys(s for s in shortcuts if typeable(s))))
            action.triggered.connect(lambda _=False, f=slot: f())
            for menu in menus:  # one action in several menus: one shortcut, one entry in the shortcut list
                menu.addAction(action)
            if on_toolbar:
                toolbar.addAction(action)
            self.actions_by_text[text.replace("&", "").split("\t")[0].rstrip("…")] = action
        transfer = self._menus["&Edit"].addMenu("Transfer &Learning")
        for text, slot, tip in TRANSFER_PRESETS:
            action = transfer.addAction(text)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, f=slot: f(self.transfer))
            self.actions_by_text[text.replace("&", "").rstrip("…")] = action
        self._recent_menu = self._menus["&File"].addMenu("Open &Recent")
        self._menus["&File"].insertMenu(self.actions_by_text["Save"], self._recent_menu)
        self._recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._menus["&File"].insertSeparator(self.actions_by_text["Save"])
        undo, redo = self.actions_by_text["Undo"], self.actions_by_text["Redo"]
        self.editor.stack.canUndoChanged.connect(undo.setEnabled)
        self.editor.stack.canRedoChanged.connect(redo.setEnabled)
        undo.setEnabled(False)
        redo.setEnabled(False)
        view_menu = self._menus["&View"]
        view_menu.addSeparator()
        self.grid_action = view_menu.addAction("Show &Grid")
        self.grid_action.setCheckable(True)
        self.grid_action.setChecked(True)
        self.grid_action.setShortcut(QKeySequence("Ctrl+'"))
        self.grid_action.toggled.connect(self._set_grid)
        self.snap_action = view_menu.addAction("&Snap to Grid")
        self.snap_action.setCheckable(True)
        self.snap_action.setChecked(True)
        self.snap_action.setShortcut(QKeySequence("Ctrl+Shift+'"))
        self.snap_action.toggled.connect(lambda on: setattr(self.scene, "snap", on))
        view_menu.addSeparator()
        self._panels_menu = view_menu.addMenu("&Panels")

    def _set_grid(self, on: bool) -> None:
        self.view.show_grid = on
        self.view.viewport().update()

    def _fill_recent_menu(self) -> None:
        self._recent_menu.clear()
        paths = self.recent.paths()
        for i, path in enumerate(paths):
            action = self._recent_menu.addAction(f"&{i + 1}  {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_project(p))
        if not paths:
            self._recent_menu.addAction("(none)").setEnabled(False)

    # ------------------------------------------------------------ the current graph

    def _attach(self, graph: Graph) -> None:
        if self._graph is not None:
            self._graph.events.changed.disconnect(self._on_graph_changed)
        self._graph = graph
        graph.events.changed.connect(self._on_graph_changed)

    def _on_graph_changed(self) -> None:
        self._validate_timer.start()
        self.graph_edited.emit()

    def validate_now(self) -> Validation:
        """Check the shown network and update badges, wire labels, problems, inspector and summary."""
        self._validate_timer.stop()
        graph = self.editor.graph
        validation = check(graph)
        main = self.project.graph  # the data is fed to the main network, whichever one is shown
        main_shapes = validation.shapes if graph is main else check(main).shapes
        self.fit_issues = check_project_fit(self.project, main_shapes, self.loaded_data)  # model against data
        network = self.project.networks.name_of(graph) or ""
        memory = self._memory_at(None, {self.project.networks.main: main_shapes})
        if graph is main:
            memory_problems = self._memory_problems(memory) if validation.ok else []
            validation.issues = [*validation.errors, *self.fit_issues, *memory_problems, *self.run_issues(),
                                 *validation.issues[len(validation.errors):]]
        self.validation = validation
        rows = memory.of_network(network) if memory else {}
        self.scene.apply_validation(validation, {node_id: node_memory_text(row, memory.batch_size, memory.optimizer)
                                                 for node_id, row in rows.items() if row.total})
        self.problems.set_issues(validation.issues)
        self.inspector.set_validation(validation)
        self.summary.follow_batch_size(int(self.project.training.value("batch_size")))
        summary = self.summary.set_shapes(graph, validation.shapes,
                                          lambda b: memory if memory and b == memory.batch_size else self._memory_at(b),
                                          network)
        errors = len(validation.errors)
        warnings = len(validation.issues) - errors
        if not graph.nodes:
            self.problem_label.setText("Empty canvas")
        elif errors:
            self.problem_label.setText(f"⛔ {errors} error{'s' * (errors != 1)}")
        elif warnings:
            self.problem_label.setText(f"⚠ {warnings} warning{'s' * (warnings != 1)}")
        else:
            self.problem_label.setText("✓ valid")
        self.summary_label.setText(status_text(summary))
        self.validated.emit(validation)
        return validation

    def _memory_at(self, batch_size: int | None, known: dict | None = None) -> MemoryEstimate | None:
        """The project's training-step memory at `batch_size` (None: the training section's); None if unknown.

        `known`: shape reports just inferred, by network name."""
        try:
            return estimate_project(self.project, batch_size, known)
        except GraphBuilderError:  # a task that cannot resolve yet: its own problem says why
            return None

    def _memory_problems(self, memory: MemoryEstimate | None) -> list:
        """The memory problem of the step on the project's device (graph_builder.memory), if any."""
        if memory is None:
            return []
        free, total, device = editor_device_memory(str(self.project.training.value("device")))
        return memory_issues(memory, free, total, device)

    def set_project(self, project: Project, path: str | os.PathLike | None, unsaved: bool = False) -> None:
        """Make `project` current (the scene is rebuilt through the same path as live edits)."""
        self.show_canvas()
        self.project = project
        self.path = Path(path).resolve() if path else None
        self._unsaved_outside_history = unsaved
        self.clipboard.pastes = 0  # the next paste lands beside its original again
        self.editor.set_graph(project.graph)
        self._follow_networks(project.networks)
        self._attach(project.graph)
        self.scene.set_graph(project.graph)
        self.validate_now()
        self.view.show_graph()
        self._update_title()
        self.project_replaced.emit(project)

    def is_dirty(self) -> bool:
        """True when there are changes that are not in the project file."""
        return self._unsaved_outside_history or not self.editor.stack.isClean()

    def _update_title(self) -> None:
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — NetCanvas")
        self.setWindowModified(self.is_dirty())

    # ------------------------------------------------------------ editing

    def add_layer(self, type_id: str, center: QPointF) -> str | None:
        """Add a `type_id` layer centred on `center` (scene coordinates); returns its id."""
        graph = self.editor.graph
        x, y = center.x() - NODE_WIDTH / 2, center.y() - 40
        if self.scene.snap:
            x, y = round(x / GRID) * GRID, round(y / GRID) * GRID
        params = None
        if type_id.startswith(BLOCK_PREFIX):  # a network of the project, used here as a block
            type_id, params = "Block", {"network": type_id[len(BLOCK_PREFIX):]}
        try:
            name = graph.unique_name(block_node_name(params["network"])) if params else None
            command = graph.add_node_command(type_id, name, params, pos=(x, y))
        except GraphBuilderError as exc:
            self.status_message(f"Not added: {exc}", 8000)
            return None
        if not self.editor.push(command):
            return None
        self.scene.select_nodes([command.node_id])
        self.view.setFocus()
        return command.node_id

    def _on_quick_add_requested(self, scene_pos: QPointF) -> None:
        self._quick_add_pos = scene_pos
        self.quick_add.popup(self.view.viewport().mapToGlobal(self.view.mapFromScene(scene_pos)))

    def delete_selection(self) -> None:
        """Delete the selected layers and wires (one undo step)."""
        nodes = self.scene.selected_node_ids()
        gone = set(nodes)
        wires = [e for e in self.scene.selected_edges() if e.src not in gone and e.dst not in gone]
        commands = [Disconnect(e) for e in wires] + [RemoveNode(n) for n in nodes]
        if commands:
            count = len(nodes) or len(wires)
            what = "layer" if nodes else "wire"
            self.editor.push(Batch(commands, f"Delete {count} {what}{'s' * (count != 1)}"))

    def select_all(self) -> None:
        self.scene.select_nodes(self.editor.graph.nodes)

    def auto_layout(self, selection: bool = False) -> None:
        """Arrange the graph (or the selected layers) in rows from the top down."""
        graph = self.editor.graph
        ids = self.scene.selected_node_ids() if selection else None
        if selection and not ids:
            self.status_message("Select the layers to arrange")
            return
        origin = (0.0, 0.0)
        if ids:
            origin = (min(graph.nodes[n].pos[0] for n in ids), min(graph.nodes[n].pos[1] for n in ids))
        positions = layered_positions(graph, set(ids) if ids else None, origin)
        if ids:  # keep the selection's top-left corner where it was
            dy = origin[1] - min(p[1] for p in positions.values())
            positions = {n: (x, y + dy) for n, (x, y) in positions.items()}
        moves = [Move(n, p) for n, p in positions.items() if graph.nodes[n].pos != p]
        if moves:
            self.editor.push(Batch(moves, "Auto layout"))
        if not selection:
            self.view.fit_all()

    def actual_size(self) -> None:
        self.view.actual_size()

    def reveal_node(self, node_id: str) -> None:
        """Select `node_id` and centre the view on it."""
        self.scene.select_nodes([node_id])
        self.view.center_on_node(node_id)

    def focus_palette_search(self) -> None:
        self._docks["paletteDock"].show()
        self.palette.search.setFocus()
        self.palette.search.selectAll()

    def show_history(self) -> None:
        dock = self._docks["historyDock"]
        dock.show()
        dock.raise_()

    def _on_selection_changed(self) -> None:
        self.inspector.show_nodes(self.scene.selected_node_ids())

    # ------------------------------------------------------------ networks

    def _follow_networks(self, networks: Networks) -> None:
        """Follow the document's networks (tabs) and settings (the fit to the data is re-checked)."""
        if self._networks is not None:
            self._networks.events.changed.disconnect(self._on_networks_changed)
        for section in self._sections:
            section.events.changed.disconnect(self._on_settings_changed)
        self._networks = networks
        networks.events.changed.connect(self._on_networks_changed)
        self._sections = (self.project.dataset, self.project.training)
        for section in self._sections:
            section.events.changed.connect(self._on_settings_changed)
        self._fill_tabs()

    def _tab_name(self, index: int) -> str | None:
        return self.network_tabs.tabData(index) if 0 <= index < self.network_tabs.count() else None

    def _fill_tabs(self) -> None:
        networks = self.project.networks
        current = networks.name_of(self.editor.graph) or networks.main
        with QSignalBlocker(self.network_tabs):
            while self.network_tabs.count():
                self.network_tabs.removeTab(0)
            for name in networks:
                index = self.network_tabs.addTab(f"★ {name}" if name == networks.main else name)
                self.network_tabs.setTabData(index, name)
                graph = networks[name]
                self.network_tabs.setTabToolTip(index, f"{name}: {len(graph.nodes)} nodes"
                                                + (" (the main network: trained and exported)"
                                                   if name == networks.main else ""))
            self.network_tabs.setCurrentIndex(list(networks).index(current))
        self.network_tabs.setVisible(True)
        self._offer_blocks()

    def _on_settings_changed(self) -> None:
        self.validate_now()  # the data or the task changed: the fit problems show at once

    def _on_networks_changed(self) -> None:
        networks = self.project.networks
        if networks.name_of(self.editor.graph) is None:  # the shown network was deleted (or undone away)
            self.show_network(networks.main)
        self._fill_tabs()
        self._validate_timer.start()

    def _offer_blocks(self) -> None:
        """The palette lists the other networks with Inputs and Outputs as blocks to drag in (not those
        that contain the shown network: that block would be refused)."""
        self.palette.set_networks(self.project.networks.block_candidates(self.current_network()))

    def _on_tab_changed(self, index: int) -> None:
        name = self._tab_name(index)
        if name is not None:
            self.show_network(name)

    def current_network(self) -> str:
        """The name of the network on the canvas."""
        return self.project.networks.name_of(self.editor.graph) or self.project.networks.main

    def show_network(self, name: str) -> bool:
        """Put network `name` on the canvas (the undo history is the project's: it stays)."""
        networks = self.project.networks
        if name not in networks:
            self.status_message(f"There is no network {name!r}")
            return False
        graph = networks[name]
        if graph is not self.editor.graph:
            self.editor.show_graph(graph)
            self._attach(graph)
            self.scene.set_graph(graph)
            self.clipboard.pastes = 0  # the next paste lands beside its original again
            self.validate_now()
            self.view.show_graph()
        with QSignalBlocker(self.network_tabs):
            self.network_tabs.setCurrentIndex(list(networks).index(name))
        self._offer_blocks()
        return True

    def add_network(self, name: str | None = None) -> str | None:
        """Add an empty network (one undo step) and show it; returns its name."""
        networks = self.project.networks
        name = name or networks.unique_name("Network")
        if not self.editor.push_on(networks, AddNetwork(name)):
            return None
        self.show_network(name)
        return name

    def rename_network_dialog(self, name: str | None) -> None:
        if not name:
            return
        new, ok = QInputDialog.getText(self, "Rename network", f"New name for {name}:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.rename_network(name, new)

    def rename_network(self, old: str, new: str) -> bool:
        """Rename a network; the blocks that use it follow (one undo step)."""
        return self.editor.push_on(self.project.networks, RenameNetwork(old, new))

    def delete_network(self, name: str) -> bool:
        """Delete a network no block uses (one undo step)."""
        return self.editor.push_on(self.project.networks, RemoveNetwork(name))

    def set_main_network(self, name: str) -> bool:
        """Make `name` the network that is trained and exported."""
        if name == self.project.networks.main:
            return True
        return self.editor.push_on(self.project.networks, SetMainNetwork(name))

    def _on_tab_menu(self, pos) -> None:
        name = self._tab_name(self.network_tabs.tabAt(pos))
        menu = QMenu(self)
        if name:
            menu.addAction("Rename…", lambda: self.rename_network_dialog(name))
            menu.addAction("Make Main Network", lambda: self.set_main_network(name))
            menu.addAction("Delete", lambda: self.delete_network(name))
            menu.addSeparator()
        menu.addAction("New Network", self.add_network)
        menu.popup(self.network_tabs.mapToGlobal(pos))

    def group_selection(self, name: str | None = None) -> str | None:
        """Turn the selected layers into a new network placed here as one block (Ctrl+G)."""
        ids = self.scene.selected_node_ids()
        if not ids:
            self.status_message("Select the layers to group into a block")
            return None
        networks = self.project.networks
        try:
            command = group_command(networks, self.current_network(), ids, name)
        except GraphBuilderError as exc:
            self.status_message(f"Not grouped: {exc}", 8000)
            return None
        if not self.editor.push_on(networks, command):
            return None
        block = next(n for n in self.editor.graph.nodes.values() if n.type_id == "Block"
                     and n.params["network"] == command.commands[0].name and n.id not in ids)
        self.scene.select_nodes([block.id])
        self.status_message(f"Grouped {len(ids)} layers into block {block.name} (network "
                            f"{command.commands[0].name}); double-click it to open")
        return command.commands[0].name

    def _on_canvas_menu(self, pos) -> None:
        """Right-click on the canvas: Freeze / Unfreeze the selection (the node under the cursor joins it)."""
        node_id = self.scene.node_at(self.view.mapToScene(pos))
        if node_id is not None and node_id not in self.scene.selected_node_ids():
            self.scene.select_nodes([node_id])
        ids = self.scene.selected_node_ids()
        menu = QMenu(self)
        for text in ("Freeze", "Unfreeze"):
            action = menu.addAction(text, lambda f=text == "Freeze": self.transfer.freeze_selection(f))
            action.setEnabled(bool(ids))
        menu.addSeparator()
        for text in ("Group into Block", "Ungroup Block", "Delete"):
            menu.addAction(self.actions_by_text[text])
        self.last_canvas_menu = menu
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def ungroup_selection(self) -> bool:
        """Put the selected block's layers back in its place (Ctrl+Shift+G)."""
        blocks = [n for n in self.scene.selected_node_ids() if self.editor.graph.nodes[n].type_id == "Block"]
        if len(blocks) != 1:
            self.status_message("Select one block to ungroup")
            return False
        try:
            command = ungroup_command(self.project.networks, self.current_network(), blocks[0])
        except GraphBuilderError as exc:
            self.status_message(f"Not ungrouped: {exc}", 8000)
            return False
        return self.editor.push_on(self.project.networks, command)

    def open_selected_block(self) -> None:
        blocks = [n for n in self.scene.selected_node_ids() if self.editor.graph.nodes[n].type_id == "Block"]
        if blocks:
            self._on_node_double_clicked(blocks[0])
        else:
            self.status_message("Select a block to open its network")

    def selected_block(self) -> str | None:
        """The name of the one selected block of the main network, or None."""
        if self.editor.graph is not self.project.graph:
            return None
        blocks = [n for n in self.scene.selected_node_ids() if self.editor.graph.nodes[n].type_id == "Block"]
        return self.editor.graph.nodes[blocks[0]].name if len(blocks) == 1 else None

    def weights_folder(self) -> str:
        """Where a weights file dialog starts: the project's folder, else the last one used."""
        return str(self.path.parent) if self.path else self.last_folder()

    def _on_node_double_clicked(self, node_id: str) -> None:
        node = self.editor.graph.nodes.get(node_id)
        if node is not None and node.type_id == "Block":
            if not self.show_network(node.params["network"]):
                self.status_message(f"{node.name} stands for no network of this project; choose one in the "
                                    "Inspector")

    def _on_undone_or_redone(self, target) -> None:
        """An undo or redo in a network not on the canvas shows that network, so the change is seen."""
        name = self.project.networks.name_of(target) if isinstance(target, Graph) else None
        if name is not None and target is not self.editor.graph:
            self.show_network(name)

    # ------------------------------------------------------------ projects

    def confirm_discard(self) -> str:
        """Ask what to do with unsaved changes: "save", "discard" or "cancel"."""
        box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                          f"{self.path.name if self.path else 'This project'} has changes that are not saved.",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
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
        self._unsaved_outside_history = False
        self.editor.stack.setClean()
        self.autosave.discard()

    def new_project(self) -> None:
        if self.maybe_discard():
            self.autosave.discard()
            self.set_project(Project(), None)
            self.view.resetTransform()
            self.view.centerOn(0, 0)

    def show_start_page(self) -> None:
        """Show the start page (templates, recent projects, a blank project) in place of the canvas."""
        from app.start_page import StartPage

        if self.pages.currentWidget() is not self.start_page or self.start_page is None:
            # The page has the window to itself: the panels come back as they were with a project.
            self._state_before_start = self.saveState()
            for dock in self._docks.values():
                dock.hide()
            self.workspaces.bar.hide()
        if self.start_page is None:
            self.start_page = StartPage(self.recent.paths())
            self.start_page.blank_requested.connect(self.new_project)
            self.start_page.open_requested.connect(self.open_dialog)
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

    def open_template(self, path: str) -> None:
        """Open the template at `path` as a new, unsaved project."""
        if not self.maybe_discard():
            return
        from runtime.templates import template_project

        try:
            project = template_project(path)  # bundled data found beside the template
        except GraphBuilderError as exc:
            self.show_error("Cannot use this template", str(exc))
            return
        self.autosave.discard()
        self.set_project(project, None, unsaved=True)

    def new_from_template(self) -> None:
        """The start page, scrolled to its template cards (a click opens one; Back returns)."""
        self.show_start_page()
        self.start_page.widget().layout().activate()  # the cards' places, before the page is painted
        self.start_page.show_examples()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self.last_folder(),
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
            self.show_error("Cannot open project", f"{Path(path).name} could not be opened:\n{exc}")
            return False
        self.autosave.discard()
        self.set_project(project, path)
        self.recent.add(path)
        self.status_message(f"Opened {Path(path).name}")
        return True

    def save(self) -> bool:
        if self.path is None:
            return self.save_as_dialog()
        return self.save_project_as(self.path)

    def save_as_dialog(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", self.last_folder(),
                                              "NetCanvas projects (*.json)")
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        return self.save_project_as(path)

    def save_project_as(self, path: str | os.PathLike) -> bool:
        """Write the project to `path` (atomically) and make it the current file."""
        try:
            save_project(self.project, path)
        except OSError as exc:
            self.show_error("Cannot save", f"Could not write {path}: {exc.strerror or exc}")
            return False
        previous = str(self.path) if self.path else ""
        self.path = Path(path).resolve()
        self._unsaved_outside_history = False
        self.editor.stack.setClean()
        self.autosave.discard()
        self.recent.add(self.path)
        self._update_title()
        self.status_message(f"Saved {self.path.name}")
        self.project_saved.emit(previous, str(self.path))
        return True

    def last_folder(self) -> str:
        """The folder of the most recent project (home when there is none): where file dialogs start."""
        recent = self.recent.paths()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def autosave_now(self) -> None:
        """Write the recovery file when there are unsaved changes (removes it otherwise)."""
        try:
            if self.is_dirty():
                self.autosave.write(self.project, str(self.path) if self.path else None)
            else:
                self.autosave.discard()
        except OSError as exc:  # a WriteError names the recovery file; the previous copy is intact
            self.status_message(f"Autosave failed: {exc}")

    def offer_recovery(self) -> RecoveryFile | None:
        """If a session ended without closing, offer to recover its autosave (non-blocking)."""
        if os.environ.get("NETCANVAS_NO_AUTOSAVE_PROMPT"):
            return None
        leftovers = self.autosave.leftovers()
        if not leftovers:
            return None
        found = leftovers[0]
        box = QMessageBox(QMessageBox.Question, "Recover unsaved work?",
                          "NetCanvas did not close normally last time.", QMessageBox.NoButton, self)
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
            self.show_error("Cannot recover", f"The autosave could not be read: {exc}")
            return False
        self.set_project(project, found.source, unsaved=True)
        found.discard()
        self.autosave_now()
        self.status_message("Recovered unsaved work; save it to keep it")
        return True

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

    def _make_workspace_menu(self) -> None:
        menu = self.menu("&View").addMenu("&Workspace")
        for i, name in enumerate(self.workspaces.names()):
            action = QAction(name, self)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.triggered.connect(lambda _=False, n=name: self.workspaces.show(n))
            menu.addAction(action)
            self.addAction(action)
        menu.addSeparator()
        reset = QAction("&Reset This Workspace's Layout", self)
        reset.triggered.connect(self.workspaces.reset)
        menu.addAction(reset)

    def _make_theme_menu(self) -> None:
        from PySide6.QtGui import QActionGroup

        from app.theme import THEMES, theme_choice

        menu = self.menu("&View").addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for choice in THEMES:
            action = QAction(choice.capitalize() if choice != "system" else "Follow the &System", self)
            action.setCheckable(True)
            action.setChecked(choice == theme_choice())
            action.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            group.addAction(action)
            menu.addAction(action)
            self.theme_actions[choice] = action

    def set_theme(self, choice: str) -> None:
        """Use the light or dark theme, or follow the system's; remembered for the next start."""
        from app.theme import set_theme

        set_theme(QApplication.instance(), choice)
        self.theme_actions[choice].setChecked(True)
        self.settings.setValue("view/theme", choice)

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
        self._validate_timer.stop()
        self.autosave.discard()
        if self._warmup is not None:
            self._warmup.wait()
        self.imports.wait()
        self.scene.detach()
        self.inspector.detach()
        if self._graph is not None:
            self._graph.events.changed.disconnect(self._on_graph_changed)
            self._graph = None
        if self._networks is not None:
            self._networks.events.changed.disconnect(self._on_networks_changed)
            self._networks = None
        for section in self._sections:
            section.events.changed.disconnect(self._on_settings_changed)
        self._sections = ()
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
