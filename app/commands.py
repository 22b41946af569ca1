"""QUndoCommand wrapper over the model's reversible commands (DESIGN.md decision 3).

The model does the work: `redo` applies the command and keeps its inverse, `undo` applies the
inverse and keeps what it returns (the command again). `push_edit` applies the command *before*
pushing it, so an edit the model refuses raises nothing into Qt and leaves the stack unchanged.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Command, Graph


class GraphEdit(QUndoCommand):
    """One undo step: a model command and its inverse, on any target with `apply(command) -> inverse`
    (a network's Graph, the project's Networks, a settings section)."""

    def __init__(self, graph, command: Command, inverse: Command | None = None, on_applied=None):
        super().__init__(command.title)
        self._graph = graph
        self._command = command
        self._inverse = inverse
        self._skip_redo = inverse is not None  # already applied by push_edit
        self._on_applied = on_applied

    @property
    def target(self):
        return self._graph

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._inverse = self._graph.apply(self._command)
        if self._on_applied:
            self._on_applied(self._graph)

    def undo(self) -> None:
        self._command = self._graph.apply(self._inverse)
        if self._on_applied:
            self._on_applied(self._graph)


def push_edit(stack: QUndoStack, graph, command: Command, on_applied=None) -> str | None:
    """Apply `command` and push it; return the reason (and change nothing) if the model refuses."""
    try:
        inverse = graph.apply(command)
    except GraphBuilderError as exc:
        return str(exc)
    stack.push(GraphEdit(graph, command, inverse, on_applied))
    return None


class Editor(QObject):
    """The one door every GUI edit goes through: the current graph plus its undo stack.

    Canvas, inspector and problems panel call `push`; a refused edit changes nothing and is
    reported through `refused` (the main window shows it in the status bar).
    """

    refused = Signal(str)
    graph_replaced = Signal(object)
    undone_or_redone = Signal(object)  # the target an undo/redo changed (a Graph, the Networks, …)

    def __init__(self, graph: Graph, parent: QObject | None = None):
        super().__init__(parent)
        self.graph = graph
        self.stack = QUndoStack(self)
        self.last_refusal: str | None = None  # why the latest push was refused, if it was

    def push(self, command: Command) -> bool:
        """Apply `command` to the current network as one undo step; False (and `refused`) if refused."""
        return self.push_on(self.graph, command)

    def push_on(self, target, command: Command, merge_key=None) -> bool:
        """Apply `command` to `target` (anything with `apply(command) -> inverse`) as one undo step."""
        reason = push_edit(self.stack, target, command, self.undone_or_redone.emit)
        self.last_refusal = reason
        if reason is not None:
            self.refused.emit(reason)
            return False
        return True

    def show_graph(self, graph: Graph) -> None:
        """Make `graph` (another network of the same project) current; the history stays."""
        self.graph = graph
        self.graph_replaced.emit(graph)

    def set_graph(self, graph: Graph) -> None:
        """Make `graph` current; its history starts empty and clean."""
        self.stack.clear()
        self.graph = graph
        self.stack.setClean()
        self.graph_replaced.emit(graph)
