"""The networks of a project (DESIGN.md decision 10): named graphs, one of them the main network.

A network with Inputs and Outputs can stand in another as a Block node (`params["network"]`
names it). Project-level edits are reversible commands like graph edits: `apply(networks)`
performs one and returns its inverse, so adding, renaming and deleting networks, and grouping a
selection into a block, undo on the same stack as everything else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from psygnal import Signal, SignalGroup

from graph_builder.errors import BlockRecursionError, NetworkError
from graph_builder.graph import Batch, Command, Graph, SetParam

MAX_NETWORK_NAME = 60
DEFAULT_NETWORK = "Net"


NAME_FORBIDDEN = "/\\"  # '/' separates a searched parameter's key (Net/n3/out_features); both separate paths


def name_problem(name: object) -> str | None:
    """Why `name` cannot name a network, or None. The rule every edit and every project file obeys: at most
    60 characters of text, none of them '/', '\\' or a control character (a name becomes a class name in
    generated code, a part of a searched parameter's key and of file names)."""
    if not isinstance(name, str) or not name.strip():
        return "a network needs a name"
    name = name.strip()
    if len(name) > MAX_NETWORK_NAME:
        return f"a network name can have at most {MAX_NETWORK_NAME} characters"
    bad = sorted({c for c in name if c in NAME_FORBIDDEN or unicodedata.category(c) in ("Cc", "Zl", "Zp")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return (f"the network name {name[:60]!r} contains {shown}; network names cannot contain '/', '\\' or "
                f"control characters (use letters, digits, spaces, '-' or '_', e.g. {_suggest(name)!r})")
    return None


def _suggest(name: str) -> str:
    cleaned = "".join("-" if c in NAME_FORBIDDEN else " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                      for c in name)
    return " ".join(cleaned.split())[:MAX_NETWORK_NAME] or DEFAULT_NETWORK


class NetworkEvents(SignalGroup):
    """What views listen to; `changed` fires once after every applied command."""

    added = Signal(str)
    removed = Signal(str)
    renamed = Signal(str, str)  # old, new
    main_changed = Signal(str)
    changed = Signal()


class Networks(Mapping):
    """Named graphs in tab order; `main` is the one trained and exported by default."""

    def __init__(self, graphs: Mapping[str, Graph] | None = None, main: str | None = None) -> None:
        self._graphs: dict[str, Graph] = {}
        self.events = NetworkEvents()
        self._depth = 0
        for name, graph in (graphs or {}).items():
            self._insert(self.check_name(name), graph, None)
        if not self._graphs:
            self._insert(DEFAULT_NETWORK, Graph(), None)
        self.main = main if main in self._graphs else next(iter(self._graphs))

    # ------------------------------------------------------------ Mapping

    def __getitem__(self, name: str) -> Graph:
        return self._graphs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._graphs)

    def __len__(self) -> int:
        return len(self._graphs)

    @property
    def main_graph(self) -> Graph:
        return self._graphs[self.main]

    def name_of(self, graph: Graph) -> str | None:
        """The name under which `graph` is held here (None when it is not one of these networks)."""
        for name, g in self._graphs.items():
            if g is graph:
                return name
        return None

    def network(self, name: str) -> Graph:
        """The network called `name`; NetworkError listing the names otherwise."""
        try:
            return self._graphs[name]
        except (KeyError, TypeError):
            raise NetworkError(f"this project has no network {name!r} (its networks: "
                               f"{', '.join(self._graphs)})") from None

    # ------------------------------------------------------------ blocks

    def blocks_of(self, name: str) -> list[str]:
        """Names of the networks that `name`'s Block nodes stand for (direct uses, in node order)."""
        graph = self._graphs.get(name)
        if graph is None:
            return []
        used = [n.params["network"] for n in graph.nodes.values() if n.type_id == "Block"]
        return list(dict.fromkeys(u for u in used if u))

    def dependencies(self, name: str) -> list[str]:
        """Every network `name` uses through blocks, each after the networks it uses (`name` last)."""
        order: list[str] = []
        visiting: list[str] = []

        def visit(current: str) -> None:
            if current in order:
                return
            if current in visiting:
                chain = visiting[visiting.index(current):] + [current]
                raise BlockRecursionError(f"network {current} contains itself: {' → '.join(chain)}; "
                                          "a block cannot (even through other blocks) stand in its own network")
            visiting.append(current)
            for used in self.blocks_of(current):
                if used in self._graphs:
                    visit(used)
            visiting.pop()
            order.append(current)

        visit(name)
        return order

    def users(self, name: str) -> list[tuple[str, str]]:
        """(network, node id) of every Block that stands for `name`."""
        return [(net, node.id) for net, graph in self._graphs.items() for node in graph.nodes.values()
                if node.type_id == "Block" and node.params["network"] == name]

    def block_candidates(self, host: str | None) -> list[str]:
        """The networks a block in `host` may stand for: with Inputs and Outputs, not containing `host`."""
        names = []
        for name, graph in self._graphs.items():
            try:
                inside = self.dependencies(name)
            except BlockRecursionError:
                continue
            if host not in inside and graph.inputs() and graph.outputs():
                names.append(name)
        return names

    def check_block(self, graph: Graph, target: str) -> None:
        """Refuse a Block in `graph` standing for `target` when that would make a network contain itself."""
        host = self.name_of(graph)
        if host is None or not target or target not in self._graphs:
            return  # validation names a missing network; nothing can recurse through it
        if target == host:
            raise BlockRecursionError(f"network {host} cannot contain itself as a block ({host} → {host})")
        try:
            chain = self._path(target, host)
        except BlockRecursionError:
            return  # an existing cycle elsewhere is reported by validation
        if chain:
            names = " → ".join([host, *chain])
            raise BlockRecursionError(f"a block of {target} here would make {host} contain itself: {names}")

    def _path(self, start: str, goal: str) -> list[str] | None:
        """The chain of block uses from `start` to `goal` ([start, …, goal]), or None."""
        stack = [(start, [start])]
        seen = set()
        while stack:
            current, path = stack.pop()
            if current == goal:
                return path
            if current in seen:
                continue
            seen.add(current)
            for used in self.blocks_of(current):
                stack.append((used, [*path, used]))
        return None

    # ------------------------------------------------------------ names

    def check_name(self, name: str, exclude: str | None = None) -> str:
        """`name` stripped, or NetworkError when it is not a valid network name (`name_problem`) or taken."""
        problem = name_problem(name)
        if problem:
            raise NetworkError(problem)
        name = name.strip()
        if name in self._graphs and name != exclude:
            raise NetworkError(f"this project already has a network named {name!r}; choose another name")
        return name

    def unique_name(self, base: str) -> str:
        """`base`, or `base2`, `base3` …: the first name not taken."""
        if base not in self._graphs:
            return base
        i = 2
        while f"{base}{i}" in self._graphs:
            i += 1
        return f"{base}{i}"

    # ------------------------------------------------------------ editing

    def apply(self, command: NetworkCommand | Command) -> Command:
        """Perform a project-level command and return its inverse."""
        self._depth += 1
        try:
            inverse = command.apply(self)  # type: ignore[arg-type]  # a graph command arrives in a Batch or OnNetwork
        finally:
            self._depth -= 1
        if self._depth == 0:
            try:  # a rename or a new network can complete a loop through a block left dangling
                for name in self._graphs:
                    self.dependencies(name)
            except BlockRecursionError:
                self._depth += 1
                try:
                    inverse.apply(self)  # type: ignore[arg-type]
                finally:
                    self._depth -= 1
                raise
            self.events.changed.emit()
        return inverse

    def _insert(self, name: str, graph: Graph, index: int | None) -> None:
        items = list(self._graphs.items())
        items.insert(len(items) if index is None else index, (name, graph))
        self._graphs = dict(items)
        graph.library = self

    def _pop(self, name: str) -> tuple[Graph, int]:
        index = list(self._graphs).index(name)
        graph = self._graphs.pop(name)
        graph.library = None
        return graph, index

    def to_list(self) -> list[dict]:
        """JSON-ready networks in tab order."""
        return [{"name": name, "graph": graph.to_dict()} for name, graph in self._graphs.items()]


class NetworkCommand(Command):
    """A reversible edit of a project's networks."""

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]
        raise NotImplementedError


@dataclass
class AddNetwork(NetworkCommand):
    name: str
    graph: Graph = field(default_factory=Graph)
    index: int | None = None

    @property
    def title(self) -> str:
        return f"Add network {self.name}"

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]  # a project-level edit
        name = networks.check_name(self.name)
        networks._insert(name, self.graph, self.index)
        networks.events.added.emit(name)
        return RemoveNetwork(name)


@dataclass
class RemoveNetwork(NetworkCommand):
    name: str

    @property
    def title(self) -> str:
        return f"Delete network {self.name}"

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]  # a project-level edit
        networks.network(self.name)
        if self.name == networks.main:
            raise NetworkError(f"{self.name} is the main network; make another network the main one first")
        users = [f"{networks[net].nodes[node].name} in {net}" for net, node in networks.users(self.name)
                 if net != self.name]
        if users:
            raise NetworkError(f"{self.name} is used as a block ({', '.join(users)}); delete or ungroup "
                               "those blocks first")
        graph, index = networks._pop(self.name)
        networks.events.removed.emit(self.name)
        return AddNetwork(self.name, graph, index)  # the same graph object: older undo steps stay valid


@dataclass
class RenameNetwork(NetworkCommand):
    old: str
    new: str

    @property
    def title(self) -> str:
        return f"Rename network {self.old} to {self.new}"

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]  # a project-level edit
        networks.network(self.old)
        new = networks.check_name(self.new, exclude=self.old)
        users = [(net, node) for net, node in networks.users(self.old)]
        items = [(new if k == self.old else k, g) for k, g in networks._graphs.items()]
        networks._graphs = dict(items)
        if networks.main == self.old:
            networks.main = new
        for net, node_id in users:  # blocks follow the rename
            networks[new if net == self.old else net].apply(SetParam(node_id, "network", new))
        networks.events.renamed.emit(self.old, new)
        return RenameNetwork(new, self.old)


@dataclass
class SetMainNetwork(NetworkCommand):
    name: str

    @property
    def title(self) -> str:
        return f"Make {self.name} the main network"

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]  # a project-level edit
        networks.network(self.name)
        old = networks.main
        networks.main = self.name
        networks.events.main_changed.emit(self.name)
        return SetMainNetwork(old)


@dataclass
class OnNetwork(NetworkCommand):
    """A graph command applied to one network by name (so it can sit in a project-level batch)."""

    network: str
    command: Command

    @property
    def title(self) -> str:
        return self.command.title

    def apply(self, networks: Networks) -> Command:  # type: ignore[override]  # a project-level edit
        return OnNetwork(self.network, networks.network(self.network).apply(self.command))


NetworkBatch = Batch  # several project-level commands as one edit: the graph's Batch works on any target


# ---------------------------------------------------------------- group and ungroup


def block_node_name(name: str) -> str:
    """ResidualBlock -> residual_block: a block node's default name after its network."""
    import re

    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "block"


def group_command(networks: Networks, host: str, node_ids, name: str | None = None) -> NetworkBatch:
    """The edit that turns `node_ids` of network `host` into a new network used there as one Block.

    Each distinct value entering the selection becomes an Input of the new network (with the
    shape it carries now), each value leaving it an Output; the wires outside are kept, now on
    the block's ports. One undo step restores everything exactly.
    """
    from graph_builder.graph import AddNode, Batch, Connect, Edge, RemoveNode
    from graph_builder.shapes import infer_shapes

    graph = networks.network(host)
    chosen = [n for n in graph.nodes if n in set(node_ids)]
    if not chosen:
        raise NetworkError("select the layers to group first")
    kinds = {graph.nodes[n].type_id for n in chosen}
    if kinds & {"Input", "Output"}:
        raise NetworkError("a group cannot hold the network's own Input or Output nodes; select the layers "
                           "between them")
    inside = set(chosen)
    entering = [e for e in graph.edges if e.dst in inside and e.src not in inside]
    leaving = [e for e in graph.edges if e.src in inside and e.dst not in inside]
    if not entering:
        raise NetworkError("the selection receives nothing from outside it; a block needs at least one input")
    if not leaving:
        raise NetworkError("nothing outside the selection uses its result; a block needs at least one output")
    shapes = infer_shapes(graph)
    name = networks.check_name(name) if name else networks.unique_name("Block")

    inner = Graph()
    xs = [graph.nodes[n].pos[0] for n in chosen]
    ys = [graph.nodes[n].pos[1] for n in chosen]
    top, left = min(ys), min(xs)
    for n in chosen:
        node = graph.nodes[n]
        inner.apply(AddNode(node.id, node.type_id, node.name, dict(node.params), node.pos, frozen=node.frozen))
    for e in graph.edges:
        if e.src in inside and e.dst in inside:
            inner.apply(Connect(e, check=False))
    sources: dict[tuple[str, str], str] = {}  # (outside node, port) -> the new Input's id
    for e in entering:
        key = (e.src, e.src_port)
        if key not in sources:
            shape = shapes.edge_shape(e)
            if shape is None:
                raise NetworkError(f"the shape entering {graph.nodes[e.dst].name} is not known yet; fix the "
                                   "problems before the selection first")
            dtype = "int64" if shapes.edge_dtype(e) == "int" else "float32"
            base = graph.nodes[e.src].name if len({(x.src, x.src_port) for x in entering}) > 1 else "x"
            add = inner.add_node_command("Input", inner.unique_name(base),
                                         {"shape": tuple(shape[1:]), "dtype": dtype},
                                         (left + 220 * len(sources), top - 160))
            inner.apply(add)
            sources[key] = add.node_id
        inner.apply(Connect(Edge(sources[key], e.dst, "out", e.dst_port)))
    results: dict[tuple[str, str], str] = {}  # (inside node, port) -> the new Output's id
    for e in leaving:
        key = (e.src, e.src_port)
        if key not in results:
            base = "y" if len({(x.src, x.src_port) for x in leaving}) == 1 else f"{graph.nodes[e.src].name}_out"
            add = inner.add_node_command("Output", inner.unique_name(base), {},
                                         (left + 220 * len(results), max(ys) + 160))
            inner.apply(add)
            inner.apply(Connect(Edge(e.src, add.node_id, e.src_port, "in")))
            results[key] = add.node_id

    block = graph.add_node_command("Block", graph.unique_name(block_node_name(name), taken=[graph.nodes[n].name for n in chosen]),
                                   {"network": name}, (sum(xs) / len(xs), sum(ys) / len(ys)))
    edits: list[Command] = [RemoveNode(n) for n in reversed(chosen)]
    edits.append(block)
    for (src, port), input_id in sources.items():  # one wire per value, however many layers inside use it
        edits.append(Connect(Edge(src, block.node_id, port, input_id), check=False))
    for e in leaving:
        edits.append(Connect(Edge(block.node_id, e.dst, results[(e.src, e.src_port)], e.dst_port), check=False))
    return NetworkBatch([AddNetwork(name, inner, list(networks).index(host) + 1),
                         OnNetwork(host, Batch(edits, f"Group {len(chosen)} layers into {name}"))],
                        f"Group into block {name}")


def ungroup_command(networks: Networks, host: str, block_id: str) -> NetworkBatch:
    """The edit that puts a Block's layers back in place of the block (and drops its network if unused)."""
    from graph_builder.graph import AddNode, Batch, Connect, Edge, RemoveNode

    graph = networks.network(host)
    block = graph.node(block_id)
    if block.type_id != "Block":
        raise NetworkError(f"{block.name} is not a block; select a block to ungroup")
    name = block.params["network"]
    inner = networks.network(name)
    ids: dict[str, str] = {}
    taken: list[str] = [n.name for n in graph.nodes.values() if n.id != block_id]
    edits: list[Command] = []
    layers = [n for n in inner.nodes.values() if n.type_id not in ("Input", "Output")]
    cx = sum(n.pos[0] for n in layers) / max(len(layers), 1)
    cy = sum(n.pos[1] for n in layers) / max(len(layers), 1)
    for n in layers:
        new_id = graph.new_id()  # distinct on every call, though nothing is inserted yet
        new_name = graph.unique_name(n.name, taken)
        taken.append(new_name)
        ids[n.id] = new_id
        pos = (block.pos[0] + n.pos[0] - cx, block.pos[1] + n.pos[1] - cy)
        edits.append(AddNode(new_id, n.type_id, new_name, dict(n.params), pos, frozen=n.frozen))
    outside_in = {e.dst_port: (e.src, e.src_port) for e in graph.edges if e.dst == block_id}
    outside_out = [e for e in graph.edges if e.src == block_id]
    wires: list[Edge] = []
    for e in inner.edges:
        src_kind, dst_kind = inner.nodes[e.src].type_id, inner.nodes[e.dst].type_id
        if src_kind == "Input":
            if e.src not in outside_in:
                continue
            src, src_port = outside_in[e.src]
        else:
            src, src_port = ids[e.src], e.src_port
        if dst_kind == "Output":
            wires += [Edge(src, o.dst, src_port, o.dst_port) for o in outside_out if o.src_port == e.dst]
        else:
            wires.append(Edge(src, ids[e.dst], src_port, e.dst_port))
    commands: list[Command] = [OnNetwork(host, Batch([RemoveNode(block_id), *edits,
                                                      *[Connect(w, check=False) for w in wires]],
                                                     f"Ungroup {block.name}"))]
    if [u for u in networks.users(name) if u != (host, block_id)] == []:
        commands.append(RemoveNetwork(name))
    return NetworkBatch(commands, f"Ungroup {block.name}")
