"""A network's fingerprint: a hash of its architecture, so a run knows what it trained.

Two graphs get the same fingerprint when they are the same network: the same layer types
with the same (validated) parameters, wired the same way port by port. Node ids, names,
positions and the order nodes were added in do not count; the order of the wires into one
port does (it is the order of Concatenate's parts). A Block node counts as the
fingerprint of the network it stands for, so renaming that network changes nothing.

The hash is Weisfeiler-Lehman colour refinement over the directed, port-labelled graph, run
until the colouring stops splitting, with sha256 throughout. It is written here rather than
taken from networkx because networkx changed its WL hashes in 3.5: a library upgrade must
not make every saved run look like a different network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graph_builder.catalog import get_spec, has_spec
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph
from graph_builder.protocols import NetworksLike, ProjectLike
from graph_builder.tasks import project_task

VERSION = "netcanvas-fingerprint-1"
BLOCK = "Block"  # the node type that stands for another network of the project
LENGTH = 16  # hex digits kept (64 bits)


class FingerprintError(GraphBuilderError):
    """A network whose fingerprint cannot be computed (a block that contains itself)."""


def network_fingerprint(graph: Graph, networks: Mapping[str, Graph] | NetworksLike | None = None) -> str:
    """The architecture hash of `graph` (16 hex digits); Block nodes resolve through `networks`."""
    return _Fingerprints(networks or {}).of(graph, ())


def project_fingerprint(project: ProjectLike) -> str:
    """The fingerprint of what a project trains: its main network, or the networks of its task's roles together.

    A GAN trains its generator and discriminator, and its run keeps both networks' weights, so a
    change to either makes it a different model (graph_builder.tasks says which networks a task trains).
    """
    spec = project_task(project)
    graphs = spec.graphs(project)
    if len(graphs) == 1:
        (graph,) = graphs.values()
        return network_fingerprint(graph if graph is not None else project.graph, project.networks)
    parts = [network_fingerprint(g, project.networks) if g is not None else f"no {role} network"
             for role, g in graphs.items()]
    return _digest(VERSION, spec.id, *parts)[:LENGTH]


def short(fingerprint: str | None) -> str:
    """The first 8 hex digits, as messages show a fingerprint."""
    return (fingerprint or "unknown")[:8]


class _Fingerprints:
    def __init__(self, networks: Mapping[str, Graph] | NetworksLike) -> None:
        self.networks = networks
        self.done: dict[str, str] = {}

    def of(self, graph: Graph, chain: tuple[str, ...]) -> str:
        colour = {nid: _digest(self._label(node, chain)) for nid, node in graph.nodes.items()}
        ins: dict[str, list[tuple[str, str, str]]] = {nid: [] for nid in graph.nodes}
        outs: dict[str, list[tuple[str, str, str]]] = {nid: [] for nid in graph.nodes}
        rank: dict[tuple[str, str], int] = {}
        for e in graph.edges:
            if e.src in colour and e.dst in colour:
                # The wire order into one port is the argument order (Concatenate's parts).
                k = rank[e.dst, e.dst_port] = rank.get((e.dst, e.dst_port), -1) + 1
                outs[e.src].append((e.src_port, f"{e.dst_port}#{k}", e.dst))
                ins[e.dst].append((f"{e.dst_port}#{k}", e.src_port, e.src))
        classes = len(set(colour.values()))
        for _ in range(len(colour)):
            colour = {nid: _digest(c, "<", *sorted(f"{mine}={theirs}:{colour[o]}" for mine, theirs, o in ins[nid]),
                                   ">", *sorted(f"{mine}={theirs}:{colour[o]}" for mine, theirs, o in outs[nid]))
                      for nid, c in colour.items()}
            now = len(set(colour.values()))
            if now == classes:  # each round only splits colours: no split means no round will
                break
            classes = now
        return _digest(VERSION, str(len(colour)), *sorted(colour.values()))[:LENGTH]

    def _label(self, node, chain: tuple[str, ...]) -> str:
        params = _coerced(node)
        if node.type_id == BLOCK:
            params = dict(params)
            params["network"] = self._block(params.get("network"), chain)
        return json.dumps({"type": node.type_id, "params": params}, sort_keys=True, default=repr)

    def _block(self, name: Any, chain: tuple[str, ...]) -> str:
        if not isinstance(name, str) or name not in self.networks:
            return f"missing network {name!r}"
        if name in chain:
            path = " → ".join((*chain[chain.index(name):], name))
            raise FingerprintError(f"network {name!r} contains itself ({path}); remove the block that closes the loop")
        if name not in self.done:
            self.done[name] = self.of(self.networks[name], (*chain, name))
        return self.done[name]


def _coerced(node) -> dict:
    """The node's parameters as the model sees them: defaults filled in, values normalised."""
    if has_spec(node.type_id):
        try:
            return get_spec(node.type_id).coerce_params(dict(node.params))
        except GraphBuilderError:
            pass  # an invalid value still identifies the network; hash it as written
    return dict(node.params)


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()
