"""Train-step time of the generated module vs the hand-written equivalent, measured in one run.

Both models hold the same weights and see the same batch; rounds alternate which goes first,
and the ratio (generated / hand-written) is the median over rounds. Target: ≤ 1.02.

    .venv/bin/python bench/bench_compile.py [--rounds 15] [--steps 20] [--device cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from graph_builder.graph import Graph  # noqa: E402
from runtime.compile.compiler import build_module  # noqa: E402


def chain(g: Graph, *nodes) -> None:
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 256), nn.Linear(256, 256), nn.Linear(256, 10)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def mlp_graph() -> Graph:
    g = Graph()
    chain(g, g.add_node("Input", "x", {"shape": (64,)}),
          g.add_node("Linear", "fc1", {"out_features": 256}), g.add_node("ReLU", "r1"),
          g.add_node("Linear", "fc2", {"out_features": 256}), g.add_node("ReLU", "r2"),
          g.add_node("Linear", "fc3", {"out_features": 10}), g.add_node("Output", "y"))
    return g


class HandCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean(dim=(2, 3)))


def cnn_graph() -> Graph:
    g = Graph()
    chain(g, g.add_node("Input", "x", {"shape": (1, 16, 16)}),
          g.add_node("Conv2d", "conv1", {"out_channels": 16, "padding": 1}), g.add_node("BatchNorm2d", "bn1"),
          g.add_node("ReLU", "r1"), g.add_node("MaxPool2d", "pool"),
          g.add_node("Conv2d", "conv2", {"out_channels": 32, "padding": 1}), g.add_node("BatchNorm2d", "bn2"),
          g.add_node("ReLU", "r2"), g.add_node("GlobalAvgPool", "gap"),
          g.add_node("Linear", "fc", {"out_features": 10}), g.add_node("Output", "y"))
    return g


class HandLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(500, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.fc = nn.Linear(64, 2)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


def lstm_graph() -> Graph:
    g = Graph()
    chain(g, g.add_node("Input", "tokens", {"shape": (30,), "dtype": "int64"}),
          g.add_node("Embedding", "embed", {"num_embeddings": 500, "embedding_dim": 32}),
          g.add_node("LSTM", "lstm", {"hidden_size": 64, "output": "last"}),
          g.add_node("Linear", "fc", {"out_features": 2}), g.add_node("Output", "y"))
    return g


CASES = {
    "MLP": (HandMLP, mlp_graph, lambda b: torch.randn(b, 64)),
    "CNN": (HandCNN, cnn_graph, lambda b: torch.randn(b, 1, 16, 16)),
    "LSTM": (HandLSTM, lstm_graph, lambda b: torch.randint(0, 500, (b, 30))),
}


def make_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    return step


def timed(step, steps: int, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def bench(name: str, rounds: int, steps: int, batch: int, device: str) -> tuple[float, float, float]:
    hand_cls, graph_fn, make_x = CASES[name]
    torch.manual_seed(0)
    hand = hand_cls().to(device)
    generated = build_module(graph_fn()).to(device)
    generated.load_state_dict(hand.state_dict(), strict=True)
    x, y = make_x(batch).to(device), torch.randint(0, 2, (batch,), device=device)
    steps_of = {"hand": make_step(hand, x, y), "generated": make_step(generated, x, y)}
    for step in steps_of.values():  # warm up allocator, kernels and autograd caches
        timed(step, steps, device)
    times = {"hand": [], "generated": []}
    for r in range(rounds):
        order = ("hand", "generated") if r % 2 == 0 else ("generated", "hand")
        for who in order:
            times[who].append(timed(steps_of[who], steps, device))
    ratios = [g / h for g, h in zip(times["generated"], times["hand"])]
    return statistics.median(times["hand"]), statistics.median(times["generated"]), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 keeps a shared machine quiet)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"train step (forward, backward, SGD), batch {args.batch}, device {args.device}, "
          f"torch {torch.__version__}, {args.rounds} rounds × {args.steps} steps, median")
    print(f"{'model':<6} {'hand-written':>14} {'generated':>12} {'ratio':>7}  target ≤ 1.02")
    for name in CASES:
        hand, gen, ratio = bench(name, args.rounds, args.steps, args.batch, args.device)
        verdict = "ok" if ratio <= 1.02 else "over"
        print(f"{name:<6} {hand * 1e3:>11.3f} ms {gen * 1e3:>9.3f} ms {ratio:>7.3f}  {verdict}")


if __name__ == "__main__":
    main()
