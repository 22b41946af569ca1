"""Generated code is stable, readable and traceable: golden files, refusals, tracebacks, init schemes.

Regenerate the golden files after an intended change with
`NETCANVAS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/runtime/test_codegen.py` and review the diff.
"""

from __future__ import annotations

import ast
import os
import traceback
from pathlib import Path

import pytest
import torch

from graph_builder.graph import Graph
from graph_builder.graph_file import read_graph
from graph_builder.layout import insert_on_edge
from runtime.compile.codegen import GraphInvalidError, generate_source, sanitize
from runtime.compile.compiler import (
    INIT_SCHEMES,
    InitSchemeError,
    build_module,
    explain_failure,
    failing_node,
)
from tests.builders import wire

GOLDEN = Path(__file__).parent / "golden"


def mlp() -> Graph:
    g = Graph()
    x = g.add_node("Input", "features", {"shape": (4,)})
    fc1 = g.add_node("Linear", "fc1", {"out_features": 32})
    act = g.add_node("ReLU", "act1")
    drop = g.add_node("Dropout", "drop", {"p": 0.2})
    fc2 = g.add_node("Linear", "fc2", {"out_features": 3})
    out = g.add_node("Output", "logits")
    wire(g, x, fc1, act, drop, fc2, out)
    return g


def residual_cnn() -> Graph:
    g = Graph()
    x = g.add_node("Input", "image", {"shape": (1, 8, 8)})
    stem = g.add_node("Conv2d", "stem", {"out_channels": 8, "padding": 1})
    bn = g.add_node("BatchNorm2d", "bn")
    act = g.add_node("ReLU", "act")
    conv = g.add_node("Conv2d", "conv", {"out_channels": 8, "padding": "same", "bias": False})
    add = g.add_node("Add", "skip")
    pool = g.add_node("MaxPool2d", "pool")
    gap = g.add_node("GlobalAvgPool", "gap")
    fc = g.add_node("Linear", "classifier", {"out_features": 10})
    out = g.add_node("Output", "logits")
    wire(g, x, stem, bn, act, conv, add, pool, gap, fc, out)
    g.connect(act.id, add.id)
    return g


def lstm_classifier() -> Graph:
    g = Graph()
    x = g.add_node("Input", "tokens", {"shape": (20,), "dtype": "int64"})
    emb = g.add_node("Embedding", "embed", {"num_embeddings": 100, "embedding_dim": 16, "padding_idx": 0})
    lstm = g.add_node("LSTM", "lstm", {"hidden_size": 32, "bidirectional": True, "output": "last"})
    fc = g.add_node("Linear", "head", {"out_features": 2})
    out = g.add_node("Output", "logits")
    wire(g, x, emb, lstm, fc, out)
    return g


def transformer() -> Graph:
    g = Graph()
    x = g.add_node("Input", "tokens", {"shape": (12,), "dtype": "int64"})
    emb = g.add_node("Embedding", "embed", {"num_embeddings": 50, "embedding_dim": 32})
    pe = g.add_node("PositionalEncoding", "position", {"max_len": 64})
    enc = g.add_node("TransformerEncoderLayer", "encoder", {"nhead": 4, "dim_feedforward": 64, "dropout": 0.0})
    attn = g.add_node("MultiheadAttention", "attention", {"num_heads": 2})
    pool = g.add_node("Reduce", "pool", {"op": "mean", "dim": 1})
    fc = g.add_node("Linear", "head", {"out_features": 5})
    out = g.add_node("Output", "logits")
    wire(g, x, emb, pe, enc, attn, pool, fc, out)
    return g


def two_inputs_two_outputs() -> Graph:
    g = Graph()
    img = g.add_node("Input", "image", {"shape": (3, 8, 8)})
    meta = g.add_node("Input", "meta", {"shape": (5,)})
    conv = g.add_node("Conv2d", "conv", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1})
    flat = g.add_node("Flatten", "flat")
    dense = g.add_node("Linear", "meta_fc", {"out_features": 8})
    cat = g.add_node("Concatenate", "joined")
    fc_a = g.add_node("Linear", "class_head", {"out_features": 4})
    fc_b = g.add_node("Linear", "box_head", {"out_features": 2})
    unused = g.add_node("Linear", "forgotten", {"out_features": 7})  # leads nowhere: dropped
    out_a = g.add_node("Output", "classes")
    out_b = g.add_node("Output", "box")
    wire(g, img, conv, flat, cat)
    wire(g, meta, dense, cat)
    wire(g, cat, fc_a, out_a)
    wire(g, cat, fc_b, out_b)
    g.connect(dense.id, unused.id)
    return g


SAMPLES = {
    "mlp": mlp,
    "residual_cnn": residual_cnn,
    "lstm_classifier": lstm_classifier,
    "transformer": transformer,
    "two_inputs_two_outputs": two_inputs_two_outputs,
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_generated_source_matches_golden_file(name):
    source = generate_source(SAMPLES[name]())
    golden = GOLDEN / f"{name}.py"
    if os.environ.get("NETCANVAS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(source, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with NETCANVAS_UPDATE_GOLDEN=1 and review it"
    assert source == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_same_graph_gives_same_text_after_a_json_round_trip(name):
    graph = SAMPLES[name]()
    assert generate_source(read_graph(graph.to_dict())) == generate_source(graph)


def test_generated_module_reads_like_hand_written_code():
    source = generate_source(residual_cnn())
    tree = ast.parse(source)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {ast.unparse(n) for n in imports} == {"import torch", "from torch import nn"}
    assert "self.stem = nn.Conv2d(1, 8, 3, padding=1)" in source
    assert "self.conv = nn.Conv2d(8, 8, 3, padding='same', bias=False)" in source
    assert "self.bn = nn.BatchNorm2d(8)" in source  # torch defaults are left out
    assert "self.pool = nn.MaxPool2d(2)" in source
    assert "skip = conv + act  # (N, 8, 8, 8)" in source
    assert "gap = pool.mean(dim=(2, 3))  # (N, 8)" in source
    assert "logits = self.classifier(gap)  # (N, 10)" in source
    assert "return logits" in source  # forward returns a variable named after the Output node
    # submodules are created in topological order
    order = [line.split("=")[0].strip() for line in source.splitlines() if line.startswith("        self.")]
    assert order == ["self.stem", "self.bn", "self.act", "self.conv", "self.pool", "self.classifier"]


def test_nodes_that_lead_to_no_output_are_dropped():
    graph = two_inputs_two_outputs()
    source = generate_source(graph)
    assert "forgotten" not in source
    module = build_module(graph)
    classes, box = module(torch.randn(2, 3, 8, 8), torch.randn(2, 5))
    assert classes.shape == (2, 4) and box.shape == (2, 2)
    assert "def forward(self, image: torch.Tensor, meta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:" \
        in source
    assert "return classes, box" in source


def test_unused_input_stays_a_forward_argument():
    graph = mlp()
    graph.add_node("Input", "spare", {"shape": (2,)})
    module = build_module(graph)
    assert module(torch.randn(3, 4), torch.randn(3, 2)).shape == (3, 3)


def test_graph_with_errors_is_refused_naming_the_first_error():
    graph = mlp()
    graph.set_param(graph.node_by_name("features").id, "shape", (1, 8, 8))  # Linear on 4-D is a warning only
    graph.add_node("Conv2d", "orphan")
    with pytest.raises(GraphInvalidError, match="orphan has nothing connected"):
        generate_source(graph)
    with pytest.raises(GraphInvalidError, match="no Input"):
        generate_source(Graph())


def test_shape_error_is_refused():
    graph = mlp()
    fc1 = graph.node_by_name("fc1")
    conv = insert_on_edge(graph, graph.out_edges(fc1.id)[0], "Conv2d")
    graph.apply(conv)
    with pytest.raises(GraphInvalidError, match="conv2d"):
        build_module(graph)


def test_traceback_shows_the_generated_line_and_the_node():
    graph = residual_cnn()
    module = build_module(graph)
    module.conv.weight.data = torch.randn(8, 3, 3, 3)  # corrupt it so forward fails inside node "conv"
    with pytest.raises(RuntimeError) as info:
        module(torch.randn(2, 1, 8, 8))
    node_id, lineno, line = failing_node(info.value)
    assert graph.nodes[node_id].name == "conv"
    assert line == "conv = self.conv(act)  # (N, 8, 8, 8)"
    assert explain_failure(info.value, graph).startswith("in node conv (Conv2d), generated line ")
    text = "".join(traceback.format_exception(info.value))
    assert "<netcanvas Net " in text and "conv = self.conv(act)" in text


def test_compiled_source_is_exactly_the_exported_file():
    graph = transformer()
    module = build_module(graph)
    assert module.netcanvas_source == generate_source(graph, main=True)
    assert module.netcanvas_source.startswith(generate_source(graph))


@pytest.mark.parametrize("init", INIT_SCHEMES)
def test_init_scheme_is_seeded_and_trains(init):
    graph = lstm_classifier()
    a = build_module(graph, init=init, seed=3, orthogonal_recurrent=True)
    b = build_module(graph, init=init, seed=3, orthogonal_recurrent=True)
    c = build_module(graph, init=init, seed=4, orthogonal_recurrent=True)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.head.weight, c.head.weight)
    w_hh = a.lstm.weight_hh_l0
    gate = w_hh[: a.lstm.hidden_size]
    assert torch.allclose(gate @ gate.T, torch.eye(a.lstm.hidden_size), atol=1e-5)
    tokens = torch.randint(0, 100, (8, 20))
    labels = torch.randint(0, 2, (8,))
    optimizer = torch.optim.Adam(a.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(a(tokens), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5


def test_xavier_changes_the_distribution_and_zeroes_biases():
    graph = mlp()
    default = build_module(graph, seed=0)
    xavier = build_module(graph, init="xavier_uniform", seed=0)
    bound = (6 / (4 + 32)) ** 0.5
    assert xavier.fc1.weight.abs().max() <= bound and xavier.fc1.weight.abs().max() > 0.5 * bound
    assert torch.count_nonzero(xavier.fc1.bias) == 0 and torch.count_nonzero(default.fc1.bias) > 0
    he = build_module(graph, init="he_normal", seed=0)
    assert abs(he.fc1.weight.std().item() - (2 / 4) ** 0.5) < 0.25


def test_unknown_init_scheme_names_the_choices():
    with pytest.raises(InitSchemeError, match="xavier_uniform"):
        build_module(mlp(), init="glorot")


@pytest.mark.parametrize(("raw", "expected"), [
    ("conv 1", "conv_1"), ("__init__", "init"), ("3x3", "layer_3x3"), ("", "layer"), ("名前", "layer"),
    ("a" * 100, "a" * 40), ("x-y.z", "x_y_z"),
])
def test_sanitize(raw, expected):
    assert sanitize(raw) == expected
