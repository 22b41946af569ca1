"""What a project offers the code that reads it, declared where `project: Any` and getattr probes stood.

graph_builder.project.Project is the one implementation; the runtime, the tasks and the
experiment read a project only through these members, so a test's stand-in or a run's snapshot
only has to offer them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, Self, runtime_checkable

from graph_builder.graph import Graph


class NetworksLike(Protocol):
    """A project's named networks, one of them the main one (graph_builder.networks.Networks)."""

    main: str

    @property
    def main_graph(self) -> Graph: ...

    def __getitem__(self, name: str) -> Graph: ...

    def __contains__(self, name: object) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def network(self, name: str) -> Graph: ...

    def get(self, name: str | None) -> Graph | None: ...  # None (no name) has no network either


@runtime_checkable
class ProjectLike(Protocol):
    """A project: its networks (one main), its dataset and training sections and its meta record."""

    # Read-only to whoever reads a project (so a section type that is a Mapping satisfies them).
    @property
    def networks(self) -> NetworksLike: ...

    @property
    def dataset(self) -> Mapping[str, Any]: ...

    @property
    def training(self) -> Mapping[str, Any]: ...

    @property
    def meta(self) -> dict: ...

    @property
    def graph(self) -> Graph: ...


class EditableSection(Protocol):
    """A settings section, read as a mapping and edited by commands (graph_builder.settings.SettingsSection)."""

    def keys(self) -> Iterable[str]: ...

    def __getitem__(self, name: str) -> Any: ...

    def apply(self, command: Any) -> Any: ...


class TrialTarget(Protocol):
    """What a trial's values are set in: its networks' node parameters and its training section (a Project)."""

    @property
    def networks(self) -> NetworksLike: ...

    @property
    def training(self) -> EditableSection: ...


class TrialSource(TrialTarget, Protocol):
    """A TrialTarget that copies itself, so a trial's values are set in a copy (a Project)."""

    def copy(self) -> Self: ...
