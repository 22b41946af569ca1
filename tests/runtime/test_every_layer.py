"""Every catalog layer, with default parameters and a suitable input, compiles, trains a step and exports."""

from __future__ import annotations

import pytest
import torch

from graph_builder.catalog import all_specs, get_spec
from graph_builder.graph import Graph
from runtime.compile.compiler import build_module
from runtime.export.formats import OnnxUnsupportedError, example_inputs, export_onnx
from runtime.compile.lowering import LOWERINGS, not_exportable_to_onnx

# A suitable input (shape without the batch, dtype) per layer type; layers with several inputs list each.
INPUTS: dict[str, list[tuple[tuple, str]]] = {
    "Linear": [((16,), "float32")],
    "Identity": [((3, 4, 4), "float32")],
    "Flatten": [((3, 4, 4), "float32")],
    "Unflatten": [((64,), "float32")],
    "Reshape": [((3, 4, 4), "float32")],
    "Permute": [((5, 6), "float32")],
    **{f"Conv{n}d": [((3, *(6,) * n), "float32")] for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": [((3, *(4,) * n), "float32")] for n in (1, 2, 3)},
    **{f"{kind}Pool{n}d": [((3, *(4,) * n), "float32")] for kind in ("Max", "Avg") for n in (1, 2, 3)},
    "AdaptiveAvgPool1d": [((3, 8), "float32")],
    "AdaptiveAvgPool2d": [((3, 8, 8), "float32")],
    "AdaptiveMaxPool2d": [((3, 8, 8), "float32")],
    "GlobalAvgPool": [((3, 5, 5), "float32")],
    "BatchNorm1d": [((4, 10), "float32")],
    "BatchNorm2d": [((3, 6, 6), "float32")],
    "BatchNorm3d": [((2, 4, 4, 4), "float32")],
    "LayerNorm": [((5, 16), "float32")],
    "GroupNorm": [((4, 6, 6), "float32")],
    "InstanceNorm2d": [((3, 6, 6), "float32")],
    "Dropout": [((16,), "float32")],
    "Dropout2d": [((3, 6, 6), "float32")],
    **{t: [((16,), "float32")] for t in ("ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Mish",
                                         "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Hardswish",
                                         "Hardsigmoid", "ReLU6", "Softplus", "Softsign", "Softmin", "GLU",
                                         "Exp", "Log", "Sqrt", "Abs", "Neg", "Clip", "Rescaling")},
    **{t: [((3, 4, 4), "float32")] for t in ("ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d")},
    "Pow": [((8,), "float32"), ((8,), "float32")],
    "Maximum": [((8,), "float32"), ((8,), "float32")],
    "Minimum": [((3, 4), "float32"), ((3, 4), "float32")],
    "StochasticDepth": [((3, 4, 4), "float32")],
    "Embedding": [((12,), "int64")],
    "RNN": [((7, 8), "float32")],
    "LSTM": [((7, 8), "float32")],
    "GRU": [((7, 8), "float32")],
    "MultiheadAttention": [((6, 16), "float32")],
    "TransformerEncoderLayer": [((6, 16), "float32")],
    "TransformerDecoderLayer": [((5, 16), "float32"), ((7, 16), "float32")],
    "PositionalEncoding": [((6, 16), "float32")],
    "Add": [((8,), "float32"), ((8,), "float32")],
    "Multiply": [((8,), "float32"), ((8,), "float32")],
    "Average": [((3, 4), "float32"), ((3, 4), "float32")],
    "Concatenate": [((3, 4, 4), "float32"), ((5, 4, 4), "float32")],
    "Reduce": [((5, 8), "float32")],
    "SelectStep": [((5, 8), "float32")],
    "Upsample": [((3, 4, 4), "float32")],
    "PixelShuffle": [((8, 3, 3), "float32")],
    # one Input feeds both ports: in eval z = mean, and ONNX drops an Input nothing reads
    "GaussianLatent": [((6,), "float32")],
}
# Defined for positive inputs only (NaN elsewhere, which has no gradient to check)
POSITIVE = {"Log", "Sqrt", "Pow"}
ENDPOINTS = ("Input", "Output", "Block")  # a Block stands for a network: tests/runtime/test_blocks.py
LAYERS = [s.type_id for s in all_specs() if s.type_id not in ENDPOINTS]


def one_layer_graph(type_id: str) -> Graph:
    """Input(s) → the layer with default parameters → Output."""
    g = Graph()
    layer = g.add_node(type_id, "layer", pos=(200, 0))
    ports = [p.name for p in get_spec(type_id).inputs]
    for k, (shape, dtype) in enumerate(INPUTS[type_id]):
        src = g.add_node("Input", f"x{k}", {"shape": shape, "dtype": dtype})
        port = ports[k] if len(ports) > 1 else ports[0]
        g.connect(src.id, layer.id, dst_port=port)
        if len(INPUTS[type_id]) == 1:
            for port in ports[1:]:
                g.connect(src.id, layer.id, dst_port=port)
    out = g.add_node("Output", "y")
    g.connect(layer.id, out.id)
    return g


def test_every_catalog_layer_has_an_allowlist_entry_and_a_test_input():
    catalog = {s.type_id for s in all_specs()}
    assert catalog - set(LOWERINGS) == set(), "add these to runtime/compile/lowering.py LOWERINGS"
    assert set(LOWERINGS) - catalog == set(), "LOWERINGS names layers the catalog does not have"
    assert set(LAYERS) - set(INPUTS) == set(), "give these layers a suitable input in INPUTS"


def test_allowlist_class_names_match_the_catalog():
    for spec in all_specs():
        entry = LOWERINGS[spec.type_id]
        if spec.torch_name and spec.torch_name.startswith("nn."):
            assert entry.module == spec.torch_name, spec.type_id
        for p in spec.params:
            assert p.name.isidentifier(), (spec.type_id, p.name)


@pytest.mark.parametrize("type_id", LAYERS)
def test_layer_compiles_runs_forward_and_backward(type_id):
    module = build_module(one_layer_graph(type_id)).train()
    inputs = example_inputs(module.netcanvas_interface, 3)
    if type_id in POSITIVE:
        inputs = [t.abs() + 0.5 for t in inputs]
    inputs = [t.requires_grad_() if t.is_floating_point() else t for t in inputs]
    out = module(*inputs)
    expected = (3, *module.netcanvas_interface.outputs[0].shape[1:])
    assert tuple(out.shape) == expected
    out.float().square().mean().backward()
    grads = [t.grad for t in inputs if t.is_floating_point()] + [p.grad for p in module.parameters()]
    assert grads and any(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_a_graph_of_only_input_and_output_passes_the_input_through():
    g = Graph()
    x = g.add_node("Input", "x", {"shape": (4,)})
    y = g.add_node("Output", "y")
    g.connect(x.id, y.id)
    module = build_module(g)
    t = torch.randn(2, 4)
    assert torch.equal(module(t), t)


@pytest.mark.parametrize("type_id", LAYERS)
def test_layer_exports_to_onnx_with_parity(type_id, tmp_path):
    graph = one_layer_graph(type_id)
    refused = not_exportable_to_onnx()
    target = tmp_path / "m.onnx"
    if type_id in refused:
        with pytest.raises(OnnxUnsupportedError, match=type_id):
            export_onnx(graph, target)
        assert not target.exists()
        return
    report = export_onnx(graph, target)
    assert report.ok and report.max_abs_diff <= 1e-4
    assert report.input_names == [f"x{k}" for k in range(len(INPUTS[type_id]))]
    assert report.output_names == ["y"]
    assert target.stat().st_size == report.size_bytes > 0


# Parameter choices that change the generated code (not just a constructor argument).
VARIANTS = [
    ("LSTM", {"bidirectional": True, "output": "last", "num_layers": 2}),
    ("GRU", {"bidirectional": True, "output": "last"}),
    ("RNN", {"output": "sequence", "nonlinearity": "relu"}),
    ("LSTM", {"output": "last_unpadded"}),
    ("GRU", {"output": "last_unpadded", "bidirectional": True}),
    ("LSTM", {"output": "sequence_unpadded", "bidirectional": True}),
    ("Upsample", {"mode": "bilinear", "align_corners": True}),
    ("Reduce", {"op": "max", "keepdim": True}),
    ("Reduce", {"op": "sum", "dim": 2}),
    ("SelectStep", {"which": "first"}),
    ("PositionalEncoding", {"kind": "learned", "max_len": 16}),
    ("Conv2d", {"padding": "same", "kernel_size": (3, 5)}),
    ("Permute", {"dims": (2, 1)}),
    ("TransformerEncoderLayer", {"norm_first": True, "activation": "gelu"}),
]


def variant_graph(type_id: str, params: dict) -> Graph:
    graph = one_layer_graph(type_id)
    layer = graph.node_by_name("layer")
    for name, value in params.items():
        graph.set_param(layer.id, name, value)
    return graph


@pytest.mark.parametrize(("type_id", "params"), VARIANTS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(VARIANTS)])
def test_layer_variant_runs_and_exports_with_parity(type_id, params, tmp_path):
    graph = variant_graph(type_id, params)
    module = build_module(graph)
    inputs = [t.requires_grad_() for t in example_inputs(module.netcanvas_interface, 3)]
    out = module(*inputs)
    assert tuple(out.shape) == (3, *module.netcanvas_interface.outputs[0].shape[1:])
    out.float().square().sum().backward()
    assert inputs[0].grad is not None and inputs[0].grad.abs().sum() > 0
    report = export_onnx(graph, tmp_path / "v.onnx")
    assert report.max_abs_diff <= 1e-4


def test_bidirectional_last_joins_both_final_hidden_states():
    module = build_module(variant_graph("LSTM", {"bidirectional": True, "output": "last"})).eval()
    x = torch.randn(2, 7, 8)
    seq, (h, _) = module.layer(x)
    got = module(x)
    hidden = module.layer.hidden_size
    # forward half: the last step; backward half: step 0 (where the reversed pass ends)
    assert torch.equal(got[:, :hidden], seq[:, -1, :hidden])
    assert torch.equal(got[:, hidden:], seq[:, 0, hidden:])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_last_unpadded_is_the_last_real_step_as_if_the_padding_were_not_there(kind):
    module = build_module(variant_graph(kind, {"output": "last_unpadded", "bidirectional": True})).eval()
    x = torch.randn(3, 7, 8)
    x[0, 4:] = 0  # four real steps, then padding (an Embedding's padding_idx row is all zeros)
    x[1, 1:] = 0
    hidden = module.layer.hidden_size
    got = module(x)
    for i, steps in enumerate((4, 1, 7)):
        alone, _ = module.layer(x[i:i + 1, :steps])
        assert torch.allclose(got[i, :hidden], alone[0, -1, :hidden], atol=1e-6)
        assert torch.allclose(got[i, hidden:], alone[0, 0, hidden:], atol=1e-6)


def test_sequence_unpadded_keeps_zeros_where_the_padding_was():
    module = build_module(variant_graph("GRU", {"output": "sequence_unpadded"})).eval()
    x = torch.randn(2, 7, 8)
    x[0, 3:] = 0
    got = module(x)
    assert got.shape == (2, 7, module.layer.hidden_size)
    assert torch.count_nonzero(got[0, 3:]) == 0 and torch.count_nonzero(got[1]) > 0
