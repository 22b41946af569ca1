"""The parts a graph is made of: its nodes and edges, the events views listen to, and the indexes a
Graph keeps in step with its nodes and edges (graph_builder.graph edits them through commands)."""

from __future__ import annotations

from dataclasses import dataclass

from psygnal import Signal, SignalGroup

from graph_builder.catalog import LayerSpec, get_spec

MAX_NAME_LENGTH = 100


@dataclass
class Node:
    """One layer instance placed on the canvas."""

    id: str
    type_id: str
    name: str
    params: dict
    pos: tuple[float, float] = (0.0, 0.0)
    frozen: bool = False  # its weights (a block's: all of them) are not trained

    @property
    def spec(self) -> LayerSpec:
        return get_spec(self.type_id)


@dataclass(frozen=True)
class Edge:
    """A wire from an output port to an input port."""

    src: str
    dst: str
    src_port: str = "out"
    dst_port: str = "in"


class GraphEvents(SignalGroup):
    """What views listen to; `changed` fires once after every applied command."""

    node_added = Signal(object)
    node_removed = Signal(object)
    edge_added = Signal(object)
    edge_removed = Signal(object)
    param_changed = Signal(str, str, object)
    node_renamed = Signal(str, str)
    node_moved = Signal(str, object)
    frozen_changed = Signal(str, bool)
    changed = Signal()



class Wiring:
    """Edges into and out of each node, and which edges exist; kept in step with Graph.edges."""

    def __init__(self, edges: list[Edge]) -> None:
        self.into: dict[str, list[Edge]] = {}
        self.out: dict[str, list[Edge]] = {}
        self.present: dict[Edge, int] = {}
        self.count = 0
        for edge in edges:
            self.add(edge)

    def add(self, edge: Edge) -> None:
        self.into.setdefault(edge.dst, []).append(edge)
        self.out.setdefault(edge.src, []).append(edge)
        self.present[edge] = self.present.get(edge, 0) + 1
        self.count += 1

    def remove(self, edge: Edge) -> None:
        self.into[edge.dst].remove(edge)
        self.out[edge.src].remove(edge)
        self.present[edge] -= 1
        if not self.present[edge]:
            del self.present[edge]
        self.count -= 1


class NameIndex:
    """Node ids by name, and per name stem the first `stem_<i>` that may be free; kept in step with Graph.nodes."""

    def __init__(self, nodes) -> None:
        self.ids: dict[str, set[str]] = {}
        self.first_free: dict[str, int] = {}
        self.count = 0
        for node in nodes:
            self.add(node.id, node.name)

    def add(self, node_id: str, name: str) -> None:
        self.ids.setdefault(name, set()).add(node_id)
        self.count += 1

    def remove(self, node_id: str, name: str) -> None:
        holders = self.ids.get(name, set())
        holders.discard(node_id)
        if not holders:
            self.ids.pop(name, None)
        self.count -= 1
        self.first_free.clear()  # a name came free: the first free suffix may be lower now

    def rename(self, node_id: str, old: str, new: str) -> None:
        self.remove(node_id, old)
        self.add(node_id, new)

