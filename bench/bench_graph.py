"""Validation + shape inference of a 1,000-node graph (target: ≤ 20 ms full, per edit likewise).

Peer, measured in the same run: a bare networkx topological sort of the same graph, the floor
for any pass that visits every node in order.
"""

from __future__ import annotations

import statistics
import time

import networkx as nx

from graph_builder import Graph, check
from graph_builder.networks import AddNetwork, Networks


def residual_mlp(nodes: int = 1000) -> Graph:
    """Input → (Linear → ReLU → Linear → Add(skip)) × k → Output, about `nodes` nodes."""
    g = Graph()
    with g.events.blocked():
        prev = g.add_node("Input", params={"shape": [64]})
        while len(g.nodes) < nodes - 5:
            a = g.add_node("Linear", params={"out_features": 64})
            r = g.add_node("ReLU")
            b = g.add_node("Linear", params={"out_features": 64})
            add = g.add_node("Add")
            g.connect(prev.id, a.id)
            g.connect(a.id, r.id)
            g.connect(r.id, b.id)
            g.connect(b.id, add.id)
            g.connect(prev.id, add.id)
            prev = add
        out = g.add_node("Output")
        g.connect(prev.id, out.id)
    return g


def residual_blocks(nodes: int = 1000, blocks: int = 10) -> Graph:
    """The same kind of network spread over `blocks` distinct block networks of ~nodes/blocks nodes each."""
    networks = Networks()
    main = networks.main_graph
    prev = main.add_node("Input", params={"shape": [64]})
    for k in range(blocks):
        inner = residual_mlp(nodes // blocks)
        networks.apply(AddNetwork(f"Stage{k}", inner))
        block = main.add_node("Block", params={"network": f"Stage{k}"})
        main.connect(prev.id, block.id)
        prev = block
    out = main.add_node("Output")
    main.connect(prev.id, out.id)
    return main


def best_of(fn, repeat: int = 15) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3, statistics.median(times) * 1e3


def chain_connect_cost(nodes: int, probe: int = 200) -> tuple[float, float, float]:
    """Build an Input → ReLU × … chain of `nodes` nodes through the API; returns the build time (s)
    and the mean cost (µs) of one `connect` and of one `add_node` over the last `probe` nodes."""
    g = Graph()
    started = time.perf_counter()
    prev = g.add_node("Input", params={"shape": [8]})
    connect_s = add_s = 0.0
    for i in range(1, nodes):
        t0 = time.perf_counter()
        node = g.add_node("ReLU")
        t1 = time.perf_counter()
        g.connect(prev.id, node.id)
        t2 = time.perf_counter()
        if i >= nodes - probe:
            add_s += t1 - t0
            connect_s += t2 - t1
        prev = node
    return time.perf_counter() - started, connect_s / probe * 1e6, add_s / probe * 1e6


def main() -> None:
    small_build, small_connect, small_add = chain_connect_cost(1_000)
    big_build, big_connect, big_add = chain_connect_cost(20_000)
    print(f"chain through the API: one connect at 1,000 nodes {small_connect:6.1f} µs, at 20,000 nodes "
          f"{big_connect:6.1f} µs → ratio {big_connect / small_connect:.2f}× (target: does not grow)")
    print(f"                       one add_node at 1,000 nodes {small_add:6.1f} µs, at 20,000 nodes "
          f"{big_add:6.1f} µs → ratio {big_add / small_add:.2f}×; whole 20,000-node build {big_build:.2f} s")

    g = residual_mlp()
    assert check(g).ok
    full_min, full_med = best_of(lambda: check(g))

    node = next(n for n in g.nodes.values() if n.type_id == "Linear")
    values = iter([32, 64] * 100)

    def edit_then_check():
        g.set_param(node.id, "out_features", next(values))
        check(g)

    edit_min, edit_med = best_of(edit_then_check)

    nxg = nx.DiGraph([(e.src, e.dst) for e in g.edges])
    peer_min, _ = best_of(lambda: list(nx.topological_sort(nxg)))

    print(f"graph: {len(g.nodes)} nodes, {len(g.edges)} edges")
    print(f"full validate + infer shapes:   min {full_min:6.2f} ms  median {full_med:6.2f} ms  "
          f"(target ≤ 20 ms: {'met' if full_med <= 20 else 'MISSED'})")
    print(f"one edit, then re-validate:     min {edit_min:6.2f} ms  median {edit_med:6.2f} ms")
    print(f"peer: networkx topological sort min {peer_min:6.2f} ms  → full check / peer = {full_min / peer_min:.1f}×")

    blocked = residual_blocks()
    assert check(blocked).ok, check(blocked).issues
    inner_nodes = sum(len(g.nodes) for g in blocked.library.values())
    block_min, block_med = best_of(lambda: check(blocked))
    print(f"{inner_nodes} nodes over {len(blocked.library) - 1} blocks, full validate + shapes through the "
          f"blocks: min {block_min:6.2f} ms  median {block_med:6.2f} ms  "
          f"(target ≤ 20 ms: {'met' if block_med <= 20 else 'MISSED'}; flat graph / blocks = "
          f"{full_med / block_med:.2f}×)")


if __name__ == "__main__":
    main()
