"""QUndoCommand wrapper over the model's reversible commands (DESIGN.md decisions 3 and 11).

The model does the work: `redo` applies the command and keeps its inverse, `undo` applies the
inverse and keeps what it returns (the command again). A target is anything with
`apply(command) -> inverse`: the graph, a settings section, the project. `push_on` applies the
command *before* pushing it, so an edit the model refuses raises nothing into Qt and leaves the
stack unchanged. Edits pushed with the same merge key in a row (the ticks of one spin-box drag)
merge into one undo step.
"""

from __future__ import annotations

from typing import Any, Protocol
from collections.abc import Callable, Hashable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Command, Graph

MERGEABLE = 1  # QUndoCommand.id() of every edit with a merge key; mergeWith compares the keys


class Target(Protocol):
    """A model that edits only through reversible commands."""

    def apply(self, command: Any) -> Any: ...


class ModelEdit(QUndoCommand):
    """One undo step: a model command, its inverse and the target they apply to."""

    def __init__(self, target: Target, command: Any, inverse: Any = None, merge_key: Hashable | None = None,
                 on_applied: Callable[[Target], None] | None = None):
        super().__init__(command.title)
        self._target = target
        self._command = command
        self._inverse = inverse
        self._merge_key = merge_key
        self._skip_redo = inverse is not None  # already applied by push_on
        self._on_applied = on_applied  # told after every undo and redo (the window shows what changed)

    @property
    def target(self) -> Target:
        return self._target

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._inverse = self._target.apply(self._command)
        if self._on_applied:
            self._on_applied(self._target)

    def undo(self) -> None:
        self._command = self._target.apply(self._inverse)
        if self._on_applied:
            self._on_applied(self._target)

    def id(self) -> int:
        return -1 if self._merge_key is None else MERGEABLE

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb the next edit of the same key: this step's inverse still restores the value before both."""
        if not isinstance(other, ModelEdit) or other._target is not self._target or other._merge_key != self._merge_key:
            return False
        self._command = other._command
        self.setText(other.text())
        return True


GraphEdit = ModelEdit  # the name graph edits had before other targets shared the wrapper


def push_on(stack: QUndoStack, target: Target, command: Any, merge_key: Hashable | None = None,
            on_applied: Callable[[Target], None] | None = None) -> str | None:
    """Apply `command` to `target` and push it; return the reason (and change nothing) if the model refuses."""
    try:
        inverse = target.apply(command)
    except GraphBuilderError as exc:
        return str(exc)
    stack.push(ModelEdit(target, command, inverse, merge_key, on_applied))
    return None


class Editor(QObject):
    """The one door every GUI edit goes through: the current graph plus its undo stack.

    Canvas, inspector and problems panel call `push`; the settings forms call `push_on` with
    their section. A refused edit changes nothing and is reported through `refused` (the main
    window shows it in the status bar).
    """

    refused = Signal(str)
    graph_replaced = Signal(object)
    undone_or_redone = Signal(object)  # the target an undo/redo changed (a Graph, the Networks, …)

    def __init__(self, graph: Graph, parent: QObject | None = None):
        super().__init__(parent)
        self.graph = graph
        self.stack = QUndoStack(self)
        self.last_refusal: str | None = None  # why the latest push was refused, if it was

    def push(self, command: Command, merge_key: Hashable | None = None) -> bool:
        """Apply a graph `command` as one undo step; False (and a `refused` reason) if the model refuses."""
        return self.push_on(self.graph, command, merge_key)

    def push_on(self, target: Target, command: Any, merge_key: Hashable | None = None) -> bool:
        """Apply `command` to `target` as one undo step (merged with the previous edit of `merge_key`)."""
        reason = push_on(self.stack, target, command, merge_key, self.undone_or_redone.emit)
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
