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
    """One undo step: a model command and its inverse."""

    def __init__(self, graph: Graph, command: Command, inverse: Command | None = None):
        super().__init__(command.title)
        self._graph = graph
        self._command = command
        self._inverse = inverse
        self._skip_redo = inverse is not None  # already applied by push_edit

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._inverse = self._graph.apply(self._command)

    def undo(self) -> None:
        self._command = self._graph.apply(self._inverse)


def push_edit(stack: QUndoStack, graph: Graph, command: Command) -> str | None:
    """Apply `command` and push it; return the reason (and change nothing) if the model refuses."""
    try:
        inverse = graph.apply(command)
    except GraphBuilderError as exc:
        return str(exc)
    stack.push(GraphEdit(graph, command, inverse))
    return None


class Editor(QObject):
    """The one door every GUI edit goes through: the current graph plus its undo stack.

    Canvas, inspector and problems panel call `push`; a refused edit changes nothing and is
    reported through `refused` (the main window shows it in the status bar).
    """

    refused = Signal(str)
    graph_replaced = Signal(object)

    def __init__(self, graph: Graph, parent: QObject | None = None):
        super().__init__(parent)
        self.graph = graph
        self.stack = QUndoStack(self)
        self.last_refusal: str | None = None  # why the latest push was refused, if it was

    def push(self, command: Command) -> bool:
        """Apply `command` as one undo step; False (and a `refused` reason) if the model refuses."""
        reason = push_edit(self.stack, self.graph, command)
        self.last_refusal = reason
        if reason is not None:
            self.refused.emit(reason)
            return False
        return True

    def set_graph(self, graph: Graph) -> None:
        """Make `graph` current; its history starts empty and clean."""
        self.stack.clear()
        self.graph = graph
        self.stack.setClean()
        self.graph_replaced.emit(graph)
