"""Generated modules compute exactly what hand-written PyTorch computes, given the same weights.

Each graph names its nodes like the hand-written module's attributes, so the hand-written
state dict loads into the generated module with strict=True: that alone proves both hold the
same parameters with the same shapes. Outputs and gradients then agree to 1e-6.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from graph_builder.graph import Graph
from runtime.compile.compiler import build_module
from tests.builders import wire

# ---------------------------------------------------------------- MLP


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(13, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc3(torch.tanh(self.fc2(torch.relu(self.fc1(x)))))


def mlp_graph() -> Graph:
    g = Graph()
    nodes = [
        g.add_node("Input", "x", {"shape": (13,)}),
        g.add_node("Linear", "fc1", {"out_features": 64}), g.add_node("ReLU", "relu1"),
        g.add_node("Linear", "fc2", {"out_features": 32}), g.add_node("Tanh", "tanh"),
        g.add_node("Linear", "fc3", {"out_features": 3}), g.add_node("Output", "logits"),
    ]
    wire(g, *nodes)
    return g


# ---------------------------------------------------------------- LeNet


class HandLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def lenet_graph() -> Graph:
    g = Graph()
    wire(g,
          g.add_node("Input", "image", {"shape": (1, 28, 28)}),
          g.add_node("Conv2d", "conv1", {"out_channels": 6, "kernel_size": 5, "padding": 2}),
          g.add_node("ReLU", "r1"), g.add_node("MaxPool2d", "p1"),
          g.add_node("Conv2d", "conv2", {"out_channels": 16, "kernel_size": 5}),
          g.add_node("ReLU", "r2"), g.add_node("MaxPool2d", "p2"), g.add_node("Flatten", "flat"),
          g.add_node("Linear", "fc1", {"out_features": 120}), g.add_node("ReLU", "r3"),
          g.add_node("Linear", "fc2", {"out_features": 84}), g.add_node("ReLU", "r4"),
          g.add_node("Linear", "fc3", {"out_features": 10}), g.add_node("Output", "logits"))
    return g


# ---------------------------------------------------------------- residual block


class HandResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv_a = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(16)
        self.conv_b = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = torch.relu(self.bn_a(self.conv_a(x)))
        y = self.bn_b(self.conv_b(y))
        x = torch.relu(x + y)
        return self.fc(x.mean(dim=(2, 3)))


def residual_graph() -> Graph:
    g = Graph()
    x = g.add_node("Input", "image", {"shape": (3, 12, 12)})
    stem = g.add_node("Conv2d", "stem", {"out_channels": 16, "padding": 1})
    r0 = g.add_node("ReLU", "r0")
    conv_a = g.add_node("Conv2d", "conv_a", {"out_channels": 16, "padding": 1, "bias": False})
    bn_a = g.add_node("BatchNorm2d", "bn_a")
    ra = g.add_node("ReLU", "ra")
    conv_b = g.add_node("Conv2d", "conv_b", {"out_channels": 16, "padding": 1, "bias": False})
    bn_b = g.add_node("BatchNorm2d", "bn_b")
    add = g.add_node("Add", "add")
    r1 = g.add_node("ReLU", "r1")
    gap = g.add_node("GlobalAvgPool", "gap")
    fc = g.add_node("Linear", "fc", {"out_features": 10})
    out = g.add_node("Output", "logits")
    wire(g, x, stem, r0, conv_a, bn_a, ra, conv_b, bn_b, add, r1, gap, fc, out)
    g.connect(r0.id, add.id)  # the skip connection
    return g


# ---------------------------------------------------------------- LSTM classifier


class HandLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(200, 24)
        self.lstm = nn.LSTM(24, 32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 4)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


def lstm_graph() -> Graph:
    g = Graph()
    wire(g,
          g.add_node("Input", "tokens", {"shape": (15,), "dtype": "int64"}),
          g.add_node("Embedding", "embed", {"num_embeddings": 200, "embedding_dim": 24}),
          g.add_node("LSTM", "lstm", {"hidden_size": 32, "num_layers": 2, "output": "last"}),
          g.add_node("Linear", "fc", {"out_features": 4}), g.add_node("Output", "logits"))
    return g


# ---------------------------------------------------------------- transformer encoder classifier


class HandPositionalEncoding(nn.Module):
    """The PyTorch tutorial's sinusoidal encoding, batch-first."""

    def __init__(self, d_model, max_len=100):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class HandTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(300, 32)
        self.pos = HandPositionalEncoding(32, max_len=100)
        self.encoder = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(32, 3)

    def forward(self, tokens):
        x = self.encoder(self.pos(self.embed(tokens)))
        return self.fc(x.mean(dim=1))


def transformer_graph() -> Graph:
    g = Graph()
    wire(g,
          g.add_node("Input", "tokens", {"shape": (10,), "dtype": "int64"}),
          g.add_node("Embedding", "embed", {"num_embeddings": 300, "embedding_dim": 32}),
          g.add_node("PositionalEncoding", "pos", {"max_len": 100}),
          g.add_node("TransformerEncoderLayer", "encoder", {"nhead": 4, "dim_feedforward": 64, "dropout": 0.0}),
          g.add_node("Reduce", "mean", {"op": "mean", "dim": 1}),
          g.add_node("Linear", "fc", {"out_features": 3}), g.add_node("Output", "logits"))
    return g


# ---------------------------------------------------------------- U-Net style


class HandUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(1, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 3, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Conv2d(16, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e = torch.relu(self.enc(x))
        d = torch.relu(self.down(nn.functional.max_pool2d(e, 2)))
        u = self.up(d)
        y = torch.relu(self.dec(torch.cat([u, e], dim=1)))
        return self.head(y)


def unet_graph() -> Graph:
    g = Graph()
    x = g.add_node("Input", "image", {"shape": (1, 16, 16)})
    enc = g.add_node("Conv2d", "enc", {"out_channels": 8, "padding": 1})
    er = g.add_node("ReLU", "er")
    pool = g.add_node("MaxPool2d", "pool")
    down = g.add_node("Conv2d", "down", {"out_channels": 16, "padding": 1})
    dr = g.add_node("ReLU", "dr")
    up = g.add_node("ConvTranspose2d", "up", {"out_channels": 8, "kernel_size": 2, "stride": 2})
    cat = g.add_node("Concatenate", "cat")
    dec = g.add_node("Conv2d", "dec", {"out_channels": 8, "padding": 1})
    rr = g.add_node("ReLU", "rr")
    head = g.add_node("Conv2d", "head", {"out_channels": 2, "kernel_size": 1})
    out = g.add_node("Output", "mask")
    wire(g, x, enc, er, pool, down, dr, up, cat, dec, rr, head, out)
    g.connect(er.id, cat.id)  # the skip: concatenated after the upsampled branch
    return g


# ---------------------------------------------------------------- two outputs


class HandTwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(10, 32)
        self.cls = nn.Linear(32, 5)
        self.reg = nn.Linear(32, 1)

    def forward(self, x):
        h = nn.functional.gelu(self.trunk(x))
        return self.cls(h), self.reg(h)


def two_heads_graph() -> Graph:
    g = Graph()
    x = g.add_node("Input", "x", {"shape": (10,)})
    trunk = g.add_node("Linear", "trunk", {"out_features": 32})
    act = g.add_node("GELU", "act")
    cls = g.add_node("Linear", "cls", {"out_features": 5})
    reg = g.add_node("Linear", "reg", {"out_features": 1})
    wire(g, x, trunk, act, cls, g.add_node("Output", "label"))
    wire(g, act, reg, g.add_node("Output", "value"))
    return g


CASES = {
    "mlp": (HandMLP, mlp_graph, [((13,), "float")]),
    "lenet": (HandLeNet, lenet_graph, [((1, 28, 28), "float")]),
    "residual": (HandResidual, residual_graph, [((3, 12, 12), "float")]),
    "lstm": (HandLSTM, lstm_graph, [((15,), 200)]),
    "transformer": (HandTransformer, transformer_graph, [((10,), 300)]),
    "unet": (HandUNet, unet_graph, [((1, 16, 16), "float")]),
    "two_heads": (HandTwoHeads, two_heads_graph, [((10,), "float")]),
}


def make_inputs(spec, batch=4):
    gen = torch.Generator().manual_seed(1)
    return [torch.randn((batch, *shape), generator=gen) if kind == "float"
            else torch.randint(0, kind, (batch, *shape), generator=gen) for shape, kind in spec]


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_generated_module_matches_hand_written(name, mode):
    hand_cls, graph_fn, input_spec = CASES[name]
    torch.manual_seed(0)
    hand = hand_cls()
    generated = build_module(graph_fn(), seed=123)
    generated.load_state_dict(hand.state_dict(), strict=True)  # same parameter names and shapes
    hand.train(mode == "train")
    generated.train(mode == "train")

    inputs = make_inputs(input_spec)
    want, got = as_tuple(hand(*inputs)), as_tuple(generated(*inputs))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.shape == g.shape
        torch.testing.assert_close(g, w, rtol=0, atol=1e-6)

    sum(o.square().sum() for o in want).backward()
    sum(o.square().sum() for o in got).backward()
    hand_params = dict(hand.named_parameters())
    for key, param in generated.named_parameters():
        torch.testing.assert_close(param.grad, hand_params[key].grad, rtol=1e-5, atol=1e-6)
    if mode == "train":  # running statistics moved identically
        for key, buf in generated.named_buffers():
            if key in dict(hand.named_buffers()):
                torch.testing.assert_close(buf, dict(hand.named_buffers())[key], rtol=0, atol=1e-6)
