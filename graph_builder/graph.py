"""The graph model: nodes, ports and edges, edited only through reversible commands.

Every edit is a command whose `apply(graph)` performs it and returns the command that undoes
it (DESIGN.md decision 3), so undo/redo needs no Qt and is tested on its own. The editor wraps
the same commands in a QUndoStack. Events (psygnal) tell views what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Iterable

from graph_builder.catalog import PortSpec, get_spec
from graph_builder.errors import CycleError, EditError, NodeNameError, PortError
from graph_builder.graph_parts import MAX_NAME_LENGTH, Edge, GraphEvents, NameIndex, Node, Wiring

# Node, Edge, GraphEvents and MAX_NAME_LENGTH live in graph_parts; the document's modules import them from here.
__all__ = ["MAX_NAME_LENGTH", "AddNode", "Batch", "Command", "Connect", "Disconnect", "Edge", "Graph", "GraphEvents",
           "Library", "Move", "Node", "RemoveNode", "Rename", "SetFrozen", "SetParam"]


class Library(Protocol):
    """What a graph asks of the project's networks it belongs to (graph_builder.networks.Networks): a block's
    network by name, and whether a block may name it. Declared here so graph.py imports nothing above it."""

    def get(self, name: str) -> Graph | None: ...

    def __getitem__(self, name: str) -> Graph: ...

    def __contains__(self, name: object) -> bool: ...

    def check_block(self, graph: Graph, target: str) -> None: ...


# ---------------------------------------------------------------- commands


class Command:
    """A reversible edit: `apply` performs it and returns its inverse."""

    @property
    def title(self) -> str:
        """What Edit ▸ Undo names."""
        return "Edit"

    def apply(self, graph: Graph) -> Command:
        raise NotImplementedError


@dataclass
class AddNode(Command):
    node_id: str
    type_id: str
    name: str
    params: dict
    pos: tuple[float, float] = (0.0, 0.0)
    index: int | None = None  # position in the node order (undo restores it)
    frozen: bool = False

    @property
    def title(self) -> str:
        return f"Add {self.name}"

    def apply(self, graph: Graph) -> Command:
        x, y = self.pos
        graph._insert_node(Node(self.node_id, self.type_id, self.name, dict(self.params), (float(x), float(y)),
                                bool(self.frozen)), self.index)
        return RemoveNode(self.node_id)


@dataclass
class RemoveNode(Command):
    node_id: str

    @property
    def title(self) -> str:
        return f"Delete {self.node_id}"

    def apply(self, graph: Graph) -> Command:
        node = graph.node(self.node_id)
        index = list(graph.nodes).index(self.node_id)
        touching = [(i, e) for i, e in enumerate(graph.edges) if self.node_id in (e.src, e.dst)]
        for _, edge in reversed(touching):
            graph._remove_edge(edge)
        graph._remove_node(self.node_id)
        restore: list[Command] = [AddNode(node.id, node.type_id, node.name, dict(node.params), node.pos, index,
                                          node.frozen)]
        restore += [Connect(e, index=i, check=False) for i, e in touching]
        return Batch(restore, f"Restore {node.name}")


@dataclass
class Connect(Command):
    edge: Edge
    index: int | None = None
    check: bool = True

    title = "Connect"

    def apply(self, graph: Graph) -> Command:
        if self.check:
            graph.check_connect(self.edge)
        graph._insert_edge(self.edge, self.index)
        return Disconnect(self.edge)


@dataclass
class Disconnect(Command):
    edge: Edge

    title = "Disconnect"

    def apply(self, graph: Graph) -> Command:
        index = graph.edges.index(self.edge) if self.edge in graph.edges else None
        if index is None:
            raise EditError(f"there is no wire {graph.describe_edge(self.edge)}")
        graph._remove_edge(self.edge)
        return Connect(self.edge, index=index, check=False)


@dataclass
class SetParam(Command):
    node_id: str
    name: str
    value: Any

    @property
    def title(self) -> str:
        return f"Set {self.name}"

    def apply(self, graph: Graph) -> Command:
        node = graph.node(self.node_id)
        spec = node.spec
        try:
            pspec = spec.param(self.name)
        except KeyError:
            raise EditError(f"{node.name} ({spec.type_id}) has no parameter {self.name!r}") from None
        value = pspec.coerce(self.value)
        if node.type_id == "Block" and graph.library is not None:
            graph.library.check_block(graph, value)
        old = node.params[self.name]
        node.params[self.name] = value
        graph.events.param_changed.emit(node.id, self.name, value)
        return SetParam(self.node_id, self.name, old)


@dataclass
class Rename(Command):
    node_id: str
    name: str

    title = "Rename"

    def apply(self, graph: Graph) -> Command:
        node = graph.node(self.node_id)
        name = graph.check_name(self.name, exclude=self.node_id)
        old = node.name
        names = graph._names()
        node.name = name
        names.rename(node.id, old, name)
        graph.events.node_renamed.emit(node.id, name)
        return Rename(self.node_id, old)


@dataclass
class Move(Command):
    node_id: str
    pos: tuple[float, float]

    title = "Move"

    def apply(self, graph: Graph) -> Command:
        node = graph.node(self.node_id)
        old = node.pos
        node.pos = (float(self.pos[0]), float(self.pos[1]))
        graph.events.node_moved.emit(node.id, node.pos)
        return Move(self.node_id, old)


@dataclass
class SetFrozen(Command):
    """Freeze or unfreeze nodes (their weights are kept as they are while training); one undo step."""

    node_ids: tuple[str, ...]
    frozen: bool | tuple[bool, ...]  # one value for all, or one per node (what undo restores)

    @property
    def title(self) -> str:
        if isinstance(self.frozen, bool):
            count = len(self.node_ids)
            return f"{'Freeze' if self.frozen else 'Unfreeze'} {count} node{'s' * (count != 1)}"
        return "Change frozen nodes"

    def apply(self, graph: Graph) -> Command:
        ids = tuple(self.node_ids)
        values = (self.frozen,) * len(ids) if isinstance(self.frozen, bool) else tuple(self.frozen)
        if len(values) != len(ids):
            raise EditError(f"SetFrozen got {len(ids)} nodes but {len(values)} values")
        nodes = [graph.node(i) for i in ids]  # every id checked before anything changes
        old = tuple(n.frozen for n in nodes)
        for node, value in zip(nodes, values):
            if node.frozen != bool(value):
                node.frozen = bool(value)
                graph.events.frozen_changed.emit(node.id, node.frozen)
        return SetFrozen(ids, old)


@dataclass
class Batch(Command):
    """Several commands applied as one edit (one undo step), all or nothing.

    It applies to whatever its commands apply to: a Graph, or a project's Networks.
    """

    commands: list[Command] = field(default_factory=list)
    label: str = "Edit"

    @property
    def title(self) -> str:
        return self.label

    def apply(self, graph: Graph) -> Command:
        inverses: list[Command] = []
        try:
            for command in self.commands:
                inverses.append(command.apply(graph))
        except Exception:
            # Leave the target as it was: undo what already ran, newest first.
            for inverse in reversed(inverses):
                inverse.apply(graph)
            raise
        return Batch(list(reversed(inverses)), self.label)


# ---------------------------------------------------------------- graph


_NAME_TAIL = re.compile(r"^(.*?)(?:_(\d+))?$")


class Graph:
    """Nodes (in insertion order) and edges (ordered), changed only through commands."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self._wires: Wiring | None = None  # edges by node, so an edit need not scan every edge
        self._name_index: NameIndex | None = None  # node ids by name, so naming a node need not scan them all
        self.events = GraphEvents()
        self.library: Library | None = None  # the project's Networks when this graph is one of them (blocks resolve there)
        self._next_id = 1
        self._depth = 0  # nesting of apply(); `changed` fires at depth 0 only

    # ------------------------------------------------------------ public editing API

    def apply(self, command: Command) -> Command:
        """Perform `command` and return its inverse."""
        self._depth += 1
        try:
            inverse = command.apply(self)
        finally:
            self._depth -= 1
        if self._depth == 0:
            self.events.changed.emit()
        return inverse

    def add_node(self, type_id: str, name: str | None = None, params: dict | None = None,
                 pos: tuple[float, float] = (0.0, 0.0)) -> Node:
        """Add a layer of `type_id`; parameters not given take their defaults."""
        command = self.add_node_command(type_id, name, params, pos)
        self.apply(command)
        return self.nodes[command.node_id]

    def add_node_command(self, type_id: str, name: str | None = None, params: dict | None = None,
                         pos: tuple[float, float] = (0.0, 0.0)) -> AddNode:
        """The AddNode command `add_node` would apply (for undo stacks and batches)."""
        spec = get_spec(type_id)
        values = spec.coerce_params(params or {})
        name = self.check_name(name) if name is not None else self.unique_name(spec.type_id.lower())
        return AddNode(self.new_id(), spec.type_id, name, values, (float(pos[0]), float(pos[1])))

    def connect(self, src: str, dst: str, src_port: str | None = None, dst_port: str | None = None) -> Edge:
        """Wire `src`'s output (its first when src_port is None) to `dst`'s input (its first free one)."""
        edge = self.edge_to(src, dst, src_port, dst_port)
        self.apply(Connect(edge))
        return edge

    def edge_to(self, src: str, dst: str, src_port: str | None = None, dst_port: str | None = None) -> Edge:
        """The Edge `connect` would add, choosing src's first output and dst's first free input if not named."""
        if src_port is None:
            ports = self.output_ports(src)
            src_port = ports[0].name if ports else "out"
        if dst_port is None:
            ports = self.input_ports(dst)
            dst_port = self.free_input_port(dst) or (ports[0].name if ports else "in")
        return Edge(src, dst, src_port, dst_port)

    def disconnect(self, edge: Edge) -> None:
        """Remove a wire."""
        self.apply(Disconnect(edge))

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every wire touching it."""
        self.apply(RemoveNode(node_id))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set one parameter; a bad value raises ParamError and changes nothing."""
        self.apply(SetParam(node_id, name, value))

    def rename(self, node_id: str, name: str) -> None:
        """Give a node a new name (unique in this graph)."""
        self.apply(Rename(node_id, name))

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        """Move a node on the canvas."""
        self.apply(Move(node_id, pos))

    def set_frozen(self, node_ids: Iterable[str], frozen: bool = True) -> None:
        """Freeze (or unfreeze) nodes: their weights stay as they are while training."""
        self.apply(SetFrozen(tuple(node_ids), bool(frozen)))

    # ------------------------------------------------------------ queries

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except (KeyError, TypeError):
            raise EditError(f"there is no node with id {node_id!r}") from None

    def node_by_name(self, name: str) -> Node:
        for node in self.nodes.values():
            if node.name == name:
                return node
        raise EditError(f"there is no node named {name!r}")

    def in_edges(self, node_id: str) -> list[Edge]:
        """Edges into `node_id`, in port order then wire order."""
        order = {p.name: i for i, p in enumerate(self.input_ports(node_id))}
        edges = [e for e in self.edges if e.dst == node_id]
        return sorted(edges, key=lambda e: order.get(e.dst_port, len(order)))

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def block_network(self, node_id: str) -> Graph | None:
        """The network a Block node stands for (None for other nodes, or when it is not in the project)."""
        node = self.node(node_id)
        if node.type_id != "Block" or self.library is None:
            return None
        return self.library.get(node.params["network"])

    def input_ports(self, node_id: str) -> tuple[PortSpec, ...]:
        """The node's input ports: its spec's, or for a block its network's Inputs (named by node id)."""
        node = self.node(node_id)
        if node.type_id != "Block":
            return node.spec.inputs
        inner = self.block_network(node_id)
        return tuple(PortSpec(n.id, label=n.name) for n in inner.inputs()) if inner is not None else ()

    def output_ports(self, node_id: str) -> tuple[PortSpec, ...]:
        """The node's output ports: its spec's, or for a block its network's Outputs."""
        node = self.node(node_id)
        if node.type_id != "Block":
            return node.spec.outputs
        inner = self.block_network(node_id)
        return tuple(PortSpec(n.id, label=n.name) for n in inner.outputs()) if inner is not None else ()

    def free_input_port(self, node_id: str) -> str | None:
        """The first input port of `node_id` that can take another wire."""
        used = {e.dst_port for e in self._wiring().into.get(node_id, ())}
        for port in self.input_ports(node_id):
            if port.multi or port.name not in used:
                return port.name
        return None

    def describe_edge(self, edge: Edge) -> str:
        def label(node_id: str) -> str:
            node = self.nodes.get(node_id)
            return node.name if node else node_id
        return f"{label(edge.src)}.{edge.src_port} → {label(edge.dst)}.{edge.dst_port}"

    def inputs(self) -> list[Node]:
        """Input nodes in graph order (the model's positional inputs)."""
        return [n for n in self.nodes.values() if n.type_id == "Input"]

    def outputs(self) -> list[Node]:
        """Output nodes in graph order (the model's return values)."""
        return [n for n in self.nodes.values() if n.type_id == "Output"]

    def to_networkx(self):
        """A networkx MultiDiGraph of node ids, edges keyed by port names."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        for e in self.edges:
            g.add_edge(e.src, e.dst, key=(e.src_port, e.dst_port))
        return g

    def ancestors(self, node_id: str) -> set[str]:
        """Every node with a path into `node_id`."""
        into = self._wiring().into
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for e in into.get(stack.pop(), ()):
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        return seen

    def _reaches(self, start: str, goal: str) -> bool:
        """Whether a path leads from `start` to `goal`: a search over `start`'s descendants only,
        which for the usual edit (wiring a new node onto the end) is a step or two."""
        out = self._wiring().out
        seen = {start}
        stack = [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for e in out.get(node, ()):
                if e.dst not in seen:
                    seen.add(e.dst)
                    stack.append(e.dst)
        return False

    def _wiring(self) -> Wiring:
        """The edges by node, rebuilt when `edges` was changed other than by an edit (file loading)."""
        wires = self._wires
        if wires is None or wires.count != len(self.edges):
            wires = self._wires = Wiring(self.edges)
        return wires

    # ------------------------------------------------------------ checks shared with the editor

    def check_connect(self, edge: Edge) -> None:
        """Raise EditError (PortError, CycleError) if `edge` may not be added."""
        src, dst = self.node(edge.src), self.node(edge.dst)
        if edge.src_port not in {p.name for p in self.output_ports(src.id)}:
            raise PortError(f"{src.name} has no output port {edge.src_port!r}")
        ports = {p.name: p for p in self.input_ports(dst.id)}
        if edge.dst_port not in ports:
            raise PortError(f"{dst.name} has no input port {edge.dst_port!r}")
        if edge.src == edge.dst:
            raise CycleError(f"{src.name} cannot feed itself: that would be a cycle")
        wires = self._wiring()
        if edge in wires.present:
            raise PortError(f"{self.describe_edge(edge)} is already connected")
        if not ports[edge.dst_port].multi and any(e.dst_port == edge.dst_port for e in wires.into.get(edge.dst, ())):
            raise PortError(
                f"{dst.name}.{edge.dst_port} already has an input; remove that wire first "
                "or merge the branches with Add or Concatenate"
            )
        if self._reaches(edge.dst, edge.src):
            raise CycleError(
                f"connecting {src.name} → {dst.name} would create a cycle "
                f"({dst.name} already feeds {src.name})"
            )

    def can_connect(self, edge: Edge) -> tuple[bool, str]:
        """(True, "") if `edge` may be added, else (False, the reason) for hover feedback."""
        try:
            self.check_connect(edge)
        except EditError as exc:
            return False, str(exc)
        return True, ""

    def check_name(self, name: str, exclude: str | None = None) -> str:
        """`name` stripped, or NodeNameError if it is empty, too long or taken."""
        if not isinstance(name, str) or not name.strip():
            raise NodeNameError("a node name cannot be empty")
        name = name.strip()
        if len(name) > MAX_NAME_LENGTH:
            raise NodeNameError(f"a node name can have at most {MAX_NAME_LENGTH} characters")
        if any(holder != exclude for holder in self._names().ids.get(name, ())):
            raise NodeNameError(f"another node is already named {name!r}; names are unique in a graph")
        return name

    def unique_name(self, base: str, taken: Iterable[str] = ()) -> str:
        """`base`, or `base_1`, `base_2` … : the first not used in this graph (or in `taken`)."""
        names = self._names()
        taken = set(taken)
        if base not in names.ids and base not in taken:
            return base
        tail = _NAME_TAIL.match(base)
        stem = (tail.group(1) if tail else None) or base
        i = names.first_free.get(stem, 1)  # every stem_1 … stem_(i-1) is in use: no need to try them again
        while f"{stem}_{i}" in names.ids:
            i += 1
        names.first_free[stem] = i
        while f"{stem}_{i}" in names.ids or f"{stem}_{i}" in taken:
            i += 1
        return f"{stem}_{i}"

    def _names(self) -> NameIndex:
        """The node names, rebuilt when `nodes` was changed other than by an edit (file loading)."""
        names = self._name_index
        if names is None or names.count != len(self.nodes):
            names = self._name_index = NameIndex(self.nodes.values())
        return names

    def new_id(self) -> str:
        """A node id never used in this graph."""
        while f"n{self._next_id}" in self.nodes:
            self._next_id += 1
        node_id = f"n{self._next_id}"
        self._next_id += 1
        return node_id

    # ------------------------------------------------------------ primitive mutations (commands only)

    def _insert_node(self, node: Node, index: int | None) -> None:
        if node.id in self.nodes:
            raise EditError(f"a node with id {node.id!r} already exists")
        self.check_name(node.name)
        if node.type_id == "Block" and self.library is not None:
            self.library.check_block(self, node.params["network"])
        names = self._names()
        if index is None or index >= len(self.nodes):
            self.nodes[node.id] = node
        else:
            items = list(self.nodes.items())
            items.insert(index, (node.id, node))
            self.nodes = dict(items)
        names.add(node.id, node.name)
        self.events.node_added.emit(node)

    def _remove_node(self, node_id: str) -> None:
        names = self._names()
        node = self.nodes.pop(node_id)
        names.remove(node.id, node.name)
        self.events.node_removed.emit(node)

    def _insert_edge(self, edge: Edge, index: int | None) -> None:
        if edge.src not in self.nodes or edge.dst not in self.nodes:
            raise EditError(f"cannot wire {self.describe_edge(edge)}: a node is missing")
        wires = self._wiring()
        if index is None or index >= len(self.edges):
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        wires.add(edge)
        self.events.edge_added.emit(edge)

    def _remove_edge(self, edge: Edge) -> None:
        wires = self._wiring()
        self.edges.remove(edge)
        wires.remove(edge)
        self.events.edge_removed.emit(edge)

    # ------------------------------------------------------------ serialisation

    def to_dict(self) -> dict:
        """Plain JSON-ready data: nodes (with params and positions) and edges, in order."""
        return {
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type_id,
                    "name": n.name,
                    "params": {k: list(v) if isinstance(v, tuple) else v for k, v in n.params.items()},
                    "pos": [n.pos[0], n.pos[1]],
                    **({"frozen": True} if n.frozen else {}),  # absent = trainable: old files read unchanged
                }
                for n in self.nodes.values()
            ],
            "edges": [
                {"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                for e in self.edges
            ],
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, {len(self.edges)} edges>"
