"""Which task a project's training values make, followed as the document changes.

The training section asks its scope which tagged settings apply (graph_builder.settings), so
SetSetting drops the settings a task switch leaves without use, in the same one command, and the
form shows only what applies. The scope re-resolves when the training values, the dataset, the
networks or a network's layers change, and tells the section only when the offer really changed
(a node dragged across the canvas costs a dictionary lookup, never a form relayout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph_builder.datafit import describe_builtin
from graph_builder.errors import GraphBuilderError
from graph_builder.protocols import ProjectLike
from graph_builder.tasks import TaskSpec, offered_tags, project_task


def data_kind(dataset: Mapping[str, Any]) -> str | None:
    """The kind of a dataset section's data when its settings tell it (a built-in dataset), else None."""
    try:
        description = describe_builtin(dataset)
    except GraphBuilderError:
        return None
    return description.kind if description is not None else None


def task_of(project: ProjectLike, training: Mapping[str, Any] | None = None) -> TaskSpec:
    """The task `project` trains with `training` (its own training values by default), its data's kind as known."""
    return project_task(project, data_kind(project.dataset), training)


class TaskScope:
    """The task of one project's training section (`tags` for any values), watching the document."""

    def __init__(self, project: ProjectLike, events: Any = None) -> None:
        self.project = project
        self._events = events  # the training section's SettingsEvents: offered_changed is emitted there
        self._watched: set[int] = set()
        self._offer = self._current()
        document: Any = project  # the document's sections and networks signal their edits (ProjectLike reads only)
        document.dataset.events.changed.connect(self._refresh)
        document.training.events.changed.connect(self._refresh)
        document.networks.events.changed.connect(self._on_networks)
        self._on_networks()

    def task(self, training: Mapping[str, Any] | None = None) -> TaskSpec:
        """The task the project trains with `training` (its own training values by default)."""
        return task_of(self.project, training)

    def tags(self, values: Mapping[str, Any] | None = None) -> frozenset[str]:
        """The Field.tags whose settings apply with these training values."""
        return offered_tags(self.project, values, data_kind(self.project.dataset))

    def _current(self) -> tuple[str, frozenset[str]]:
        return self.task().id, self.tags()

    def _refresh(self, *_args: Any) -> None:
        now = self._current()
        if now != self._offer:
            self._offer = now
            if self._events is not None:
                self._events.offered_changed.emit()

    def _on_networks(self, *_args: Any) -> None:
        for name in self.project.networks:
            graph = self.project.networks[name]
            if id(graph) in self._watched:
                continue
            self._watched.add(id(graph))
            for signal in (graph.events.node_added, graph.events.node_removed, graph.events.param_changed):
                signal.connect(self._refresh)
        self._refresh()
