"""The Design workspace: the canvas with its network tabs, the Layers palette, Inspector, Problems, Summary and
History docks, the status bar's verdict, and the edits made on the canvas.

The shown network is checked after every edit (debounced): node badges, wire labels, the problems,
the inspector's shapes and the summary all come from that one validation, which the window keeps
(``window.validation``, ``window.fit_issues``) for the training side to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QPointF, Qt, QTimer
from PySide6.QtWidgets import QLabel, QMenu, QUndoView, QVBoxLayout, QWidget

from app.canvas.nodes import GRID, NODE_WIDTH
from app.canvas.scene import GraphScene
from app.canvas.view import GraphView
from app.inspector import Inspector
from app.memory_check import editor_device_memory
from app.palette import BLOCK_PREFIX, Palette, QuickAdd
from app.problems import ProblemsPanel
from app.summary import SummaryPanel, node_memory_text, status_text
from graph_builder.datafit import LoadedData, check_project_fit
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Batch, Disconnect, Graph, Move, RemoveNode
from graph_builder.layout import layered_positions
from graph_builder.memory import MemoryEstimate, estimate_project, memory_issues
from graph_builder.networks import block_node_name
from graph_builder.project import Project
from graph_builder.validation import Validation, check


class DesignHost(Protocol):
    """What the Design workspace needs of the main window."""

    project: Project
    editor: object  # app.commands.Editor
    validation: Validation | None
    loaded_data: LoadedData | None
    fit_issues: list
    run_issues: Callable[[], list]  # the chosen run's problems on the main network (app/training sets it)
    graph_edited: object  # Signal()
    validated: object  # Signal(Validation)

    clipboard: object  # app.canvas.clipboard.Clipboard
    transfer: object  # app.transfer.TransferLearning: Freeze and Unfreeze
    actions_by_text: dict  # the window's actions by their text (app/menus.py)

    def status_message(self, text: str, timeout_ms: int = 6000) -> None: ...


class DesignWorkspace(QObject):
    """The canvas and its panels for the host window's project; `tabs` (the network tabs) sit above the canvas."""

    def __init__(self, host: DesignHost, tabs: QWidget) -> None:
        super().__init__(host)  # the host is the main window: this lives as long as it
        self.host = host
        editor = host.editor
        self.scene = GraphScene(editor, host)
        self.view = GraphView(self.scene)
        self.centre = QWidget()
        box = QVBoxLayout(self.centre)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(tabs)
        box.addWidget(self.view, 1)
        # The view's policy, not the viewport's: QAbstractScrollArea hands the viewport's context-menu
        # event to the view (its position in viewport coordinates).
        self.view.setContextMenuPolicy(Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_canvas_menu)
        self.last_canvas_menu: QMenu | None = None
        self.palette = Palette()
        self.inspector = Inspector(editor)
        self.problems = ProblemsPanel(editor)
        self.summary = SummaryPanel()
        self.history = QUndoView(editor.stack)
        self.history.setEmptyLabel("<opened>")
        self.quick_add = QuickAdd(host)
        self._quick_add_pos = QPointF()
        self.summary_label = QLabel()
        self.problem_label = QLabel()
        self._graph: Graph | None = None
        self._sections: tuple = ()
        self._validate_timer = QTimer(self, singleShot=True, interval=0)
        self._validate_timer.timeout.connect(self.validate_now)

        self.scene.message.connect(lambda text: host.status_message(text, 8000))
        self.scene.selectionChanged.connect(self._on_selection_changed)
        self.view.layer_dropped.connect(lambda type_id, pos: self.add_layer(type_id, pos))
        self.view.quick_add_requested.connect(self.quick_add_at)
        self.palette.add_requested.connect(lambda type_id: self.add_layer(type_id, self.view.visible_center()))
        self.quick_add.chosen.connect(lambda type_id: self.add_layer(type_id, self._quick_add_pos))
        self.problems.node_activated.connect(self.reveal_node)
        self.summary.batch.valueChanged.connect(lambda _: self.summary_label.setText(status_text(self.summary.summary)))

    # ------------------------------------------------------------ the shown network and its checks

    def follow(self, project: Project) -> None:
        """Follow `project`'s settings: a change of the data or the task re-checks the fit at once."""
        for section in self._sections:
            section.events.changed.disconnect(self._on_settings_changed)
        self._sections = (project.dataset, project.training)
        for section in self._sections:
            section.events.changed.connect(self._on_settings_changed)

    def attach(self, graph: Graph) -> None:
        """Check `graph` again after each of its edits (the network on the canvas)."""
        if self._graph is not None:
            self._graph.events.changed.disconnect(self._on_graph_changed)
        self._graph = graph
        graph.events.changed.connect(self._on_graph_changed)

    def show_graph(self, graph: Graph) -> None:
        """Put `graph` on the canvas, checked and framed (the editor already edits it)."""
        self.attach(graph)
        self.scene.set_graph(graph)
        self.host.clipboard.pastes = 0  # the next paste lands beside its original again
        self.validate_now()
        self.view.show_graph()

    def detach(self) -> None:
        """Stop following the document (the window is closing)."""
        self._validate_timer.stop()
        self.scene.detach()
        self.inspector.detach()
        if self._graph is not None:
            self._graph.events.changed.disconnect(self._on_graph_changed)
            self._graph = None
        for section in self._sections:
            section.events.changed.disconnect(self._on_settings_changed)
        self._sections = ()

    def _on_graph_changed(self) -> None:
        self._validate_timer.start()
        self.host.graph_edited.emit()

    def _on_settings_changed(self) -> None:
        self.validate_now()  # the data or the task changed: the fit problems show at once

    def validate_soon(self) -> None:
        """Check the shown network once the current event is handled (edits arrive in bursts)."""
        self._validate_timer.start()

    def validate_now(self) -> Validation:
        """Check the shown network and update badges, wire labels, problems, inspector and summary."""
        self._validate_timer.stop()
        host = self.host
        project = host.project
        graph = host.editor.graph
        validation = check(graph)
        main = project.graph  # the data is fed to the main network, whichever one is shown
        main_shapes = validation.shapes if graph is main else check(main).shapes
        host.fit_issues = check_project_fit(project, main_shapes, host.loaded_data)  # model against data
        network = project.networks.name_of(graph) or ""
        memory = self._memory_at(None, {project.networks.main: main_shapes})
        if graph is main:
            memory_problems = self._memory_problems(memory) if validation.ok else []
            validation.issues = [*validation.errors, *host.fit_issues, *memory_problems, *host.run_issues(),
                                 *validation.issues[len(validation.errors):]]
        host.validation = validation
        rows = memory.of_network(network) if memory else {}
        self.scene.apply_validation(validation, {node_id: node_memory_text(row, memory.batch_size, memory.optimizer)
                                                 for node_id, row in rows.items() if row.total})
        self.problems.set_issues(validation.issues)
        self.inspector.set_validation(validation)
        self.summary.follow_batch_size(int(project.training.value("batch_size")))
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
        host.validated.emit(validation)
        return validation

    def _memory_at(self, batch_size: int | None, known: dict | None = None) -> MemoryEstimate | None:
        """The project's training-step memory at `batch_size` (None: the training section's); None if unknown.

        `known`: shape reports just inferred, by network name."""
        try:
            return estimate_project(self.host.project, batch_size, known)
        except GraphBuilderError:  # a task that cannot resolve yet: its own problem says why
            return None

    def _memory_problems(self, memory: MemoryEstimate | None) -> list:
        """The memory problem of the step on the project's device (graph_builder.memory), if any."""
        if memory is None:
            return []
        free, total, device = editor_device_memory(str(self.host.project.training.value("device")))
        return memory_issues(memory, free, total, device)

    # ------------------------------------------------------------ editing on the canvas

    def add_layer(self, type_id: str, center: QPointF) -> str | None:
        """Add a `type_id` layer centred on `center` (scene coordinates); returns its id."""
        graph = self.host.editor.graph
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
            self.host.status_message(f"Not added: {exc}", 8000)
            return None
        if not self.host.editor.push(command):
            return None
        self.scene.select_nodes([command.node_id])
        self.view.setFocus()
        return command.node_id

    def quick_add_at(self, scene_pos: QPointF) -> None:
        """The type-to-add popup, for a layer placed at `scene_pos` (Tab on the canvas)."""
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
            self.host.editor.push(Batch(commands, f"Delete {count} {what}{'s' * (count != 1)}"))

    def select_all(self) -> None:
        self.scene.select_nodes(self.host.editor.graph.nodes)

    def auto_layout(self, selection: bool = False) -> None:
        """Arrange the graph (or the selected layers) in rows from the top down."""
        graph = self.host.editor.graph
        ids = self.scene.selected_node_ids() if selection else None
        if selection and not ids:
            self.host.status_message("Select the layers to arrange")
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
            self.host.editor.push(Batch(moves, "Auto layout"))
        if not selection:
            self.view.fit_all()

    def actual_size(self) -> None:
        self.view.actual_size()

    def set_grid(self, on: bool) -> None:
        self.view.show_grid = on
        self.view.viewport().update()

    def reveal_node(self, node_id: str) -> None:
        """Select `node_id` and centre the view on it."""
        self.scene.select_nodes([node_id])
        self.view.center_on_node(node_id)

    def focus_palette_search(self) -> None:
        self.palette.parentWidget().show()  # its dock
        self.palette.search.setFocus()
        self.palette.search.selectAll()

    def show_history(self) -> None:
        dock = self.history.parentWidget()
        dock.show()
        dock.raise_()

    def _on_selection_changed(self) -> None:
        self.inspector.show_nodes(self.scene.selected_node_ids())

    def _on_canvas_menu(self, pos) -> None:
        """Right-click on the canvas: Freeze / Unfreeze the selection (the node under the cursor joins it)."""
        node_id = self.scene.node_at(self.view.mapToScene(pos))
        if node_id is not None and node_id not in self.scene.selected_node_ids():
            self.scene.select_nodes([node_id])
        ids = self.scene.selected_node_ids()
        menu = QMenu(self.host)
        transfer = self.host.transfer
        for text in ("Freeze", "Unfreeze"):
            action = menu.addAction(text, lambda f=text == "Freeze": transfer.freeze_selection(f))
            action.setEnabled(bool(ids))
        menu.addSeparator()
        for text in ("Group into Block", "Ungroup Block", "Delete"):
            menu.addAction(self.host.actions_by_text[text])
        self.last_canvas_menu = menu
        menu.popup(self.view.viewport().mapToGlobal(pos))
