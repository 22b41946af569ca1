"""Blocks from module paths: a flat graph regrouped by the module instances that ran its nodes.

torch.export records, for every op, the stack of module calls it ran in (`nn_module_stack`).
The ops of one call are consecutive in the program, so a module instance is a run of nodes;
an instance whose class is used more than once becomes a Block node, its run a network of its
own (Inputs for the values it reads from outside, Outputs for the values used after it), one
network per distinct structure, as the torch.fx import does for modules.
"""

from __future__ import annotations

import json
from collections import Counter

from graph_builder.graph import Edge, Graph
from graph_builder.shapes import incoming, infer_shapes, topological_order

from runtime.importers.model import NetworkBuilder

Stack = tuple[tuple[str, str], ...]  # ((module path, class name), ...) outermost first, the root left out


def _is_container(cls: str) -> bool:
    return cls.startswith("torch.nn.modules.")  # torch's own modules are layers or containers, never blocks


def regroup(flat: Graph, stacks: dict[str, Stack], weights: dict, main: str) -> tuple[dict[str, Graph], dict]:
    """The networks (main first) and per-node-path weights of `flat` with repeated module instances as blocks."""
    order = topological_order(flat)
    shapes = infer_shapes(flat)
    edges_in = incoming(flat)
    members: dict[str, set[str]] = {}
    classes: dict[str, str] = {}
    for node_id, stack in stacks.items():
        for path, cls in stack:
            members.setdefault(path, set()).add(node_id)
            classes[path] = cls
    uses = Counter(cls for path, cls in classes.items() if len(members[path]) >= 2 and not _is_container(cls))
    state = _State(flat, shapes, edges_in, stacks, weights, classes, members, uses, main)
    body = [n for n in order if flat.nodes[n].type_id not in ("Input", "Output")]
    inputs = [(n.id, "out") for n in flat.inputs()]
    outputs = [edges_in[o.id][0] for o in flat.outputs()]
    graph, rel = state.network(body, "", 0, inputs, [(e.src, e.src_port) for e in outputs],
                               [o.name for o in flat.outputs()], [n.name for n in flat.inputs()])
    return {main: graph, **state.graphs}, rel


class _State:
    def __init__(self, flat, shapes, edges_in, stacks, weights, classes, members, uses, main):
        self.flat, self.shapes, self.edges_in, self.stacks = flat, shapes, edges_in, stacks
        self.weights, self.classes, self.members, self.uses = weights, classes, members, uses
        self.graphs: dict[str, Graph] = {}
        self.by_structure: dict[str, str] = {}
        self.main = main

    def block_at(self, node_id: str, depth: int) -> str | None:
        stack = self.stacks.get(node_id, ())
        for path, cls in stack[depth:]:
            if self.uses.get(cls, 0) >= 2 and len(self.members[path]) >= 2 and not _is_container(cls):
                return path
        return None

    def network(self, body: list[str], scope: str, depth: int, inputs: list, outputs: list,
                output_names: list[str], input_names: list[str]) -> tuple[Graph, dict]:
        b = NetworkBuilder()
        env: dict[tuple[str, str], tuple[str, str]] = {}
        for value, name in zip(inputs, input_names):
            shape = self.shapes.port_out.get(value, self.shapes.out.get(value[0]))
            dtype = "int64" if self.shapes.edge_dtype(Edge(value[0], "", value[1])) == "int" else "float32"
            env[value] = (b.add("Input", name, {"shape": tuple(shape[1:]), "dtype": dtype}), "out")
        rel: dict[tuple[str, ...], dict] = {}
        i = 0
        while i < len(body):
            node_id = body[i]
            path = self.block_at(node_id, depth)
            if path is None:
                node = self.flat.nodes[node_id]
                ins = [env[(e.src, e.src_port)] for e in self.edges_in[node_id]]
                new = b.add(node.type_id, _relative(node.name, scope), dict(node.params), inputs=ins,
                            ports=[e.dst_port for e in self.edges_in[node_id]])
                env[(node_id, "out")] = (new, "out")
                if (node_id,) in self.weights:
                    rel[(new,)] = self.weights[(node_id,)]
                i += 1
                continue
            run = []
            while i < len(body) and path in [p for p, _ in self.stacks.get(body[i], ())]:
                run.append(body[i])
                i += 1
            inside = set(run)
            ext_in = list(dict.fromkeys((e.src, e.src_port) for n in run for e in self.edges_in[n]
                                        if e.src not in inside))
            used_outside = {(e.src, e.src_port) for e in self.flat.edges if e.src in inside and e.dst not in inside}
            ext_out = [(n, "out") for n in run if (n, "out") in used_outside or (n, "out") in outputs]
            depth_here = [p for p, _ in self.stacks[run[0]]].index(path) + 1
            names_in = ["x" if len(ext_in) == 1 else f"x{k}" for k in range(len(ext_in))]
            names_out = ["y" if len(ext_out) == 1 else f"y{k}" for k in range(len(ext_out))]
            inner, inner_rel = self.network(run, path, depth_here, ext_in, ext_out, names_out, names_in)
            network = self.share(inner, self.classes[path].rsplit(".", 1)[-1])
            ports = [n.id for n in inner.inputs()]
            block = b.add("Block", _relative(path.replace(".", "_"), scope), {"network": network},
                          inputs=[env[v] for v in ext_in], ports=ports)
            for value, out in zip(ext_out, inner.outputs()):
                env[value] = (block, out.id)
            for key, tensors in inner_rel.items():
                rel[(block, *key)] = tensors
        for value, name in zip(outputs, output_names):
            b.add("Output", name, inputs=[env[value]])
        return b.graph, rel

    def share(self, graph: Graph, base: str) -> str:
        key = json.dumps(graph.to_dict(), sort_keys=True, default=str)
        if key in self.by_structure:
            return self.by_structure[key]
        name, i = base, 2
        while name in self.graphs or name == self.main:
            name, i = f"{base}{i}", i + 1
        self.graphs[name] = graph
        self.by_structure[key] = name
        return name


def _relative(name: str, scope: str) -> str:
    prefix = scope.replace(".", "_") + "_" if scope else ""
    return name[len(prefix):] if prefix and name.startswith(prefix) and len(name) > len(prefix) else name
