"""Writes the example projects in this folder from the graph_builder API (one table row per template).

    python resources/templates/build_templates.py

Node positions come from the editor's own top-to-bottom layered layout (graph_builder.layout),
so a template opens looking as Auto Layout would leave it. Training budgets are sized for a
laptop CPU.

Each checked-in template also carries meta["reference"]: the figure it reaches and its CPU
training time, measured by measure_templates.py, never typed. A rebuild keeps a template's
figures only while the networks, dataset and training settings they were measured with are
unchanged (`reference_key`); otherwise they are dropped, and the tests ask for a re-measure.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graph_builder import Graph, Project, load_project, save_project  # noqa: E402
from graph_builder.errors import GraphBuilderError  # noqa: E402
from graph_builder.fingerprint import network_fingerprint  # noqa: E402
from graph_builder.layout import layered_positions  # noqa: E402
from graph_builder.networks import Networks  # noqa: E402

FOLDER = Path(__file__).resolve().parent


class Chain:
    """Builds a graph by appending layers, wiring each to the previous one unless told otherwise."""

    def __init__(self, graph: Graph | None = None) -> None:
        self.graph = graph if graph is not None else Graph()
        self.last: str | None = None

    def add(self, type_id: str, name: str | None = None, after: str | None | bool = True, **params) -> str:
        node = self.graph.add_node(type_id, name=name, params=params or None)
        src = self.last if after is True else after
        if src:
            self.graph.connect(src, node.id)
        self.last = node.id
        return node.id

    def wire(self, src: str, dst: str) -> None:
        self.graph.connect(src, dst)


def lay_out(graph: Graph) -> None:
    """Rows from the top down, as the editor's Auto Layout arranges them."""
    for node_id, pos in layered_positions(graph).items():
        graph.move(node_id, pos)


# ---------------------------------------------------------------- the networks

def mlp_digits() -> Graph:
    c = Chain()
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Flatten")
    c.add("Linear", "hidden", out_features=128)
    c.add("ReLU")
    c.add("Dropout", p=0.2)
    c.add("Linear", "classifier", out_features=10)
    c.add("Output", "logits")
    return c.graph


def lenet_digits() -> Graph:
    c = Chain()
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Conv2d", "conv1", out_channels=16, kernel_size=3, padding=1)
    c.add("ReLU", "relu1")
    c.add("MaxPool2d", "pool1", kernel_size=2)
    c.add("Conv2d", "conv2", out_channels=32, kernel_size=3, padding=1)
    c.add("ReLU", "relu2")
    c.add("MaxPool2d", "pool2", kernel_size=2)
    c.add("Flatten")
    c.add("Linear", "fc1", out_features=64)
    c.add("ReLU", "relu3")
    c.add("Dropout", p=0.2)
    c.add("Linear", "classifier", out_features=10)
    c.add("Output", "logits")
    return c.graph


def mnist_mlp() -> Graph:
    """The course texts' first network: Flatten 28x28, Dense 128 ReLU, Dropout 0.2, Dense 10 (101,770 parameters)."""
    c = Chain()
    c.add("Input", "image", after=None, shape=(1, 28, 28))
    c.add("Flatten")
    c.add("Linear", "hidden", out_features=128)
    c.add("ReLU")
    c.add("Dropout", p=0.2)
    c.add("Linear", "classifier", out_features=10)
    c.add("Output", "logits")
    return c.graph


def cifar10_cnn() -> Graph:
    """The CIFAR-10 CNN of the TensorFlow tutorial: Conv 32/64/64 3x3, two 2x2 max-pools, Dense 64, Dense 10
    (122,570 parameters)."""
    c = Chain()
    c.add("Input", "image", after=None, shape=(3, 32, 32))
    c.add("Conv2d", "conv1", out_channels=32, kernel_size=3)
    c.add("ReLU", "relu1")
    c.add("MaxPool2d", "pool1", kernel_size=2)
    c.add("Conv2d", "conv2", out_channels=64, kernel_size=3)
    c.add("ReLU", "relu2")
    c.add("MaxPool2d", "pool2", kernel_size=2)
    c.add("Conv2d", "conv3", out_channels=64, kernel_size=3)
    c.add("ReLU", "relu3")
    c.add("Flatten")
    c.add("Linear", "fc1", out_features=64)
    c.add("ReLU", "relu4")
    c.add("Linear", "classifier", out_features=10)
    c.add("Output", "logits")
    return c.graph


def residual_block() -> Graph:
    """conv-bn-relu-conv-bn plus the skip connection, then ReLU: used twice by the residual CNN."""
    c = Chain()
    x = c.add("Input", "x", after=None, shape=(32, 8, 8))
    c.add("Conv2d", "conv1", out_channels=32, kernel_size=3, padding=1)
    c.add("BatchNorm2d", "bn1")
    c.add("ReLU", "relu1")
    c.add("Conv2d", "conv2", out_channels=32, kernel_size=3, padding=1)
    c.add("BatchNorm2d", "bn2")
    add = c.add("Add", "skip")
    c.wire(x, add)
    c.add("ReLU", "relu2")
    c.add("Output", "y")
    return c.graph


def residual_digits() -> Networks:
    networks = Networks({"ResidualCNN": Graph(), "ResidualBlock": residual_block()}, "ResidualCNN")
    c = Chain(networks["ResidualCNN"])
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Conv2d", "stem", out_channels=32, kernel_size=3, padding=1)
    c.add("BatchNorm2d", "stem_bn")
    c.add("ReLU", "stem_relu")
    c.add("Block", "block1", network="ResidualBlock")
    c.add("Block", "block2", network="ResidualBlock")
    c.add("GlobalAvgPool", "pool")
    c.add("Linear", "classifier", out_features=10)
    c.add("Output", "logits")
    return networks


def mlp_iris() -> Graph:
    c = Chain()
    c.add("Input", "measurements", after=None, shape=(4,))
    c.add("Linear", "hidden", out_features=32)
    c.add("ReLU")
    c.add("Linear", "classifier", out_features=3)
    c.add("Output", "logits")
    return c.graph


def recurrent_waveforms(kind: str) -> Callable[[], Graph]:
    def build() -> Graph:
        c = Chain()
        c.add("Input", "sequence", after=None, shape=(32, 1))
        c.add(kind, kind.lower(), hidden_size=32, output="last")
        c.add("Linear", "classifier", out_features=4)
        c.add("Output", "logits")
        return c.graph
    return build


REVIEWS_FILE = "sentiment_reviews.csv"  # the bundled text corpus, beside the templates
REVIEW_VOCAB, REVIEW_LENGTH = 2000, 48


def sentiment_recurrent(kind: str) -> Callable[[], Graph]:
    def build() -> Graph:
        c = Chain()
        c.add("Input", "tokens", after=None, shape=(REVIEW_LENGTH,), dtype="int64")
        c.add("Embedding", "embedding", num_embeddings=REVIEW_VOCAB, embedding_dim=32, padding_idx=0)
        c.add(kind, kind.lower(), hidden_size=48, output="last_unpadded")
        c.add("Linear", "classifier", out_features=2)
        c.add("Output", "logits")
        return c.graph
    return build


def review_corpus(folder: Path, rows: int = 1500, seed: int = 0) -> Path:
    """A small labelled corpus of short made-up film reviews: sentiment words among neutral ones, 15 % of the
    reviews with one word of the other side, and a sentence that negates ("not good") a quarter of the time."""
    import csv
    import random

    good = ("great", "wonderful", "excellent", "superb", "delightful", "brilliant", "enjoyable", "charming",
            "moving", "gripping", "funny", "beautiful", "clever", "fresh", "touching")
    bad = ("terrible", "awful", "boring", "dreadful", "dull", "poor", "disappointing", "weak", "tedious",
           "clumsy", "bland", "messy", "predictable", "lifeless", "silly")
    neutral = ("the", "film", "movie", "plot", "acting", "story", "was", "and", "it", "a", "really", "quite",
               "with", "cast", "ending", "scenes", "music", "director", "script", "characters", "i", "thought",
               "overall", "this", "of", "its", "some", "camera", "dialogue", "pace")
    r = random.Random(seed)
    path = folder / REVIEWS_FILE
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["review", "sentiment"])
        for _ in range(rows):
            positive = r.random() < 0.55
            own, other = (good, bad) if positive else (bad, good)
            words = [r.choice(neutral) for _ in range(r.randint(6, 30))]
            for _ in range(r.randint(1, 3)):
                words.insert(r.randrange(len(words) + 1), r.choice(own))
            if r.random() < 0.15:
                words.insert(r.randrange(len(words) + 1), r.choice(other))
            if r.random() < 0.25:
                words += ["not", r.choice(other)]
            out.writerow([" ".join(words).capitalize() + ".", "positive" if positive else "negative"])
    return path


def transformer_waveforms() -> Graph:
    c = Chain()
    c.add("Input", "sequence", after=None, shape=(32, 1))
    c.add("Reshape", "patches", shape=(8, 4))  # 8 tokens of 4 steps: each token sees the local shape
    c.add("Linear", "embed", out_features=32)
    c.add("PositionalEncoding", "positions")
    c.add("TransformerEncoderLayer", "encoder", nhead=4, dim_feedforward=64, dropout=0.0)
    c.add("Reduce", "mean_over_tokens", op="mean", dim=1)
    c.add("Linear", "classifier", out_features=4)
    c.add("Output", "logits")
    return c.graph


def sine_forecaster() -> Graph:
    c = Chain()
    c.add("Input", "history", after=None, shape=(32, 1))
    c.add("GRU", "gru", hidden_size=32, output="last")
    c.add("Linear", "head", out_features=1)
    c.add("Output", "next_value")
    return c.graph


def sunspots_forecaster() -> Graph:
    c = Chain()
    c.add("Input", "past_years", after=None, shape=(12, 1))
    c.add("GRU", "gru", hidden_size=16, output="last")
    c.add("Linear", "head", out_features=1)
    c.add("Output", "next_year")
    return c.graph


def conv_autoencoder() -> Graph:
    c = Chain()
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Conv2d", "enc_conv1", out_channels=16, kernel_size=3, padding=1)
    c.add("ReLU", "enc_relu1")
    c.add("MaxPool2d", "enc_pool", kernel_size=2)
    c.add("Conv2d", "code", out_channels=8, kernel_size=3, padding=1)
    c.add("ReLU", "code_relu")
    c.add("Upsample", "dec_up", scale_factor=2.0)
    c.add("Conv2d", "dec_conv1", out_channels=16, kernel_size=3, padding=1)
    c.add("ReLU", "dec_relu1")
    c.add("Conv2d", "dec_out", out_channels=1, kernel_size=3, padding=1)
    c.add("Sigmoid", "dec_pixels")  # the pixels are scaled to 0–1 (PIXELS_0_1)
    c.add("Output", "reconstruction")
    return c.graph


def _latent(c: Chain, features: str, size: int) -> str:
    """Mean and log-variance heads on `features`, joined by a Gaussian latent layer."""
    mean = c.add("Linear", "mean", after=features, out_features=size)
    log_var = c.add("Linear", "log_var", after=features, out_features=size)
    z = c.graph.add_node("GaussianLatent", name="z")
    c.graph.connect(mean, z.id, dst_port="mean")
    c.graph.connect(log_var, z.id, dst_port="log_var")
    c.last = z.id
    return z.id


def mlp_vae() -> Graph:
    c = Chain()
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Flatten")
    c.add("Linear", "enc_hidden", out_features=256)
    features = c.add("ReLU", "enc_relu")
    _latent(c, features, 8)
    c.add("Linear", "dec_hidden", out_features=256)
    c.add("ReLU", "dec_relu")
    c.add("Linear", "dec_out", out_features=64)
    c.add("Sigmoid", "dec_pixels")  # the pixels are scaled to 0–1 (PIXELS_0_1)
    c.add("Unflatten", "to_image", dim=1, unflattened_size=(1, 8, 8))
    c.add("Output", "reconstruction")
    return c.graph


def conv_vae() -> Graph:
    c = Chain()
    c.add("Input", "digit", after=None, shape=(1, 8, 8))
    c.add("Conv2d", "enc_conv1", out_channels=32, kernel_size=3, stride=2, padding=1)  # 32x4x4
    c.add("ReLU", "enc_relu1")
    c.add("Conv2d", "enc_conv2", out_channels=64, kernel_size=3, stride=2, padding=1)  # 64x2x2
    c.add("ReLU", "enc_relu2")
    features = c.add("Flatten", "enc_flat")
    _latent(c, features, 8)
    c.add("Linear", "dec_in", out_features=256)
    c.add("ReLU", "dec_relu0")
    c.add("Unflatten", "dec_grid", dim=1, unflattened_size=(64, 2, 2))
    c.add("ConvTranspose2d", "dec_up1", out_channels=32, kernel_size=4, stride=2, padding=1)  # 32x4x4
    c.add("ReLU", "dec_relu1")
    c.add("ConvTranspose2d", "dec_up2", out_channels=1, kernel_size=4, stride=2, padding=1)  # 1x8x8
    c.add("Sigmoid", "dec_pixels")  # the pixels are scaled to 0–1 (PIXELS_0_1)
    c.add("Output", "reconstruction")
    return c.graph


def dcgan() -> Networks:
    networks = Networks({"Generator": Graph(), "Discriminator": Graph()}, "Generator")
    g = Chain(networks["Generator"])
    g.add("Input", "noise", after=None, shape=(32,))
    g.add("Linear", "project", out_features=128 * 2 * 2)
    g.add("Unflatten", "to_grid", dim=1, unflattened_size=(128, 2, 2))
    g.add("BatchNorm2d", "bn0")
    g.add("ReLU", "relu0")
    g.add("ConvTranspose2d", "up1", out_channels=64, kernel_size=4, stride=2, padding=1)  # 64x4x4
    g.add("BatchNorm2d", "bn1")
    g.add("ReLU", "relu1")
    g.add("ConvTranspose2d", "up2", out_channels=1, kernel_size=4, stride=2, padding=1)  # 1x8x8
    g.add("Tanh", "pixels")  # the pixels are scaled to -1..1 (PIXELS_PLUS_MINUS_1), as DCGAN's paper has them
    g.add("Output", "sample")
    d = Chain(networks["Discriminator"])
    d.add("Input", "image", after=None, shape=(1, 8, 8))
    d.add("Conv2d", "down1", out_channels=64, kernel_size=4, stride=2, padding=1)  # 64x4x4
    d.add("LeakyReLU", "lrelu1", negative_slope=0.2)
    d.add("Conv2d", "down2", out_channels=128, kernel_size=4, stride=2, padding=1)  # 128x2x2
    d.add("BatchNorm2d", "bn2")
    d.add("LeakyReLU", "lrelu2", negative_slope=0.2)
    d.add("Flatten", "flat")
    d.add("Linear", "verdict", out_features=1)
    d.add("Output", "logit")
    return networks


DIGITS_FOLDER = "digits_images"  # the bundled image folder, beside the templates
DIGITS_PER_CLASS = 50


def digits_image_folder(folder: Path, per_class: int = DIGITS_PER_CLASS) -> Path:
    """A small real image folder: the first `per_class` sklearn digits of each class as 8x8 grey PNGs."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = folder / DIGITS_FOLDER
    for label in range(10):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(digits.target == label)[:per_class]):
            pixels = np.round(digits.images[index] * (255 / 16)).astype(np.uint8)  # 0..16 counts as 8-bit grey
            Image.fromarray(pixels, "L").save(root / str(label) / f"{i:03d}.png", optimize=False)
    return root


def resnet18_features() -> Networks:
    """torchvision's ResNet-18, imported as NetCanvas networks, its 1000-class fc replaced by a new 10-class head.

    The head has a new name, so torchvision's weights fill everything but it (runtime.pretrained).
    """
    from runtime.importers import read_source

    imported, _ = read_source("resnet18", input_shape=(3, 64, 64))
    networks = imported.networks
    g = networks.main_graph
    fc = g.node_by_name("fc")
    (feeds,) = g.in_edges(fc.id)
    (out,) = [e.dst for e in g.out_edges(fc.id)]
    g.remove_node(fc.id)
    head = g.add_node("Linear", name="head", params={"out_features": 10})
    g.connect(feeds.src, head.id)
    g.connect(head.id, out)
    try:  # feature extraction: everything but the new head frozen, where this build has freezing
        from graph_builder.graph import SetFrozen
    except ImportError:  # Node.frozen comes with the transfer-learning mechanics; until then all of it trains
        return networks
    g.apply(SetFrozen(tuple(n.id for n in g.nodes.values() if n.id != head.id), True))
    return networks


@dataclass(frozen=True)
class Template:
    """One example project."""

    name: str
    title: str
    description: str
    build: Callable[[], Graph | Networks]  # one network, or several (blocks)
    dataset: dict
    training: dict
    meta: dict | None = None  # more meta records (e.g. "pretrained": its weight sources)


SEQ = {"samples": 1200}
# A generative template's samples must stay in the data's range: its pixels scaled to a fixed range (the input
# adapter's normalisation) and a last layer that squashes to it (graph_builder.tasks.fit.range_issues).
PIXELS_0_1 = {"input_normalization": "custom", "input_mean": "0", "input_std": "1"}  # Sigmoid
PIXELS_PLUS_MINUS_1 = {"input_normalization": "custom", "input_mean": "0.5", "input_std": "0.5"}  # Tanh
TEMPLATES = (
    Template("mlp_digits", "MLP on digits", "A two-layer perceptron classifying 8x8 handwritten digits.",
             mlp_digits, {"name": "digits", "val_fraction": 0.1},
             {"epochs": 30, "batch_size": 32, "lr": 0.002, "optimizer": "adamw", "weight_decay": 1e-4}),
    Template("lenet_digits", "LeNet-style CNN on digits", "Two convolution and pooling stages, then a small "
             "classifier: the classic LeNet layout, sized for 8x8 digits.",
             lenet_digits, {"name": "digits", "val_fraction": 0.1},
             {"epochs": 30, "batch_size": 32, "lr": 0.002, "optimizer": "adamw", "weight_decay": 1e-4}),
    Template("mnist_mlp", "MNIST MLP (the textbook example)", "The first network of the course texts: each 28x28 "
             "digit flattened, one hidden layer of 128 ReLU units, dropout 0.2 and ten outputs; 101,770 "
             "parameters. Expect about 98 % test accuracy after 5 epochs (the TensorFlow tutorial's figure). "
             "MNIST (11 MB) is downloaded once, when you ask: Data ▸ Download MNIST, or netcanvas data download "
             "mnist.", mnist_mlp, {"name": "mnist", "val_fraction": 0.1},
             {"epochs": 5, "batch_size": 32, "lr": 0.001, "optimizer": "adam"}),
    Template("cifar10_cnn", "CIFAR-10 CNN (the textbook example)", "The TensorFlow tutorial's CNN: three 3x3 "
             "convolutions (32, 64, 64 filters) with two 2x2 max-pools, a dense layer of 64 and ten outputs; "
             "122,570 parameters. Expect over 70 % test accuracy after 10 epochs (the tutorial's figure). "
             "CIFAR-10's binary version (163 MB) is downloaded once, when you ask: Data ▸ Download CIFAR-10, or "
             "netcanvas data download cifar10.", cifar10_cnn, {"name": "cifar10", "val_fraction": 0.1},
             {"epochs": 10, "batch_size": 64, "lr": 0.001, "optimizer": "adam"}),
    Template("residual_cnn_digits", "Residual CNN on digits", "A convolutional stem and two residual blocks "
             "(one ResidualBlock network used twice: conv, batch norm, ReLU, conv, batch norm, plus the skip "
             "connection), then global average pooling.",
             residual_digits, {"name": "digits"}, {"epochs": 15, "batch_size": 32, "lr": 0.002}),
    Template("mlp_iris", "MLP on iris", "A small perceptron telling three iris species apart from four "
             "measurements.", mlp_iris, {"name": "iris"}, {"epochs": 60, "batch_size": 16, "lr": 0.01}),
    Template("lstm_waveforms", "LSTM sequence classifier", "An LSTM reads a 32-step signal and its last state "
             "tells sine, square, sawtooth and pulse waves apart.", recurrent_waveforms("LSTM"),
             {"name": "waveforms", **SEQ}, {"epochs": 25, "batch_size": 32, "lr": 0.01}),
    Template("gru_waveforms", "GRU sequence classifier", "A GRU reads a 32-step signal and classifies its "
             "waveform.", recurrent_waveforms("GRU"), {"name": "waveforms", **SEQ},
             {"epochs": 20, "batch_size": 32, "lr": 0.005}),
    Template("transformer_waveforms", "Transformer sequence classifier", "The signal is cut into patches of 4 "
             "steps, each patch is embedded, position encodings are added, a transformer encoder layer mixes the "
             "patches, and their mean is classified.", transformer_waveforms, {"name": "waveforms", **SEQ},
             {"epochs": 25, "batch_size": 32, "lr": 0.003, "schedule": "cosine"}),
    Template("sentiment_lstm", "Sentiment analysis (LSTM)", "Reviews as token ids: an Embedding turns each word "
             "into 32 numbers, an LSTM reads the review up to its last real word (the padding is packed away) "
             "and a Linear layer says positive or negative. Trained on a bundled corpus of 1,500 short made-up "
             "reviews; point the dataset at your own CSV (a text and a label column) or a folder of .txt files "
             "per class, such as IMDB's reviews.", sentiment_recurrent("LSTM"),
             {"name": "text", "path": REVIEWS_FILE, "vocab_size": REVIEW_VOCAB, "max_length": REVIEW_LENGTH},
             {"epochs": 6, "batch_size": 32, "lr": 0.003}),
    Template("sine_forecaster", "Sine-wave forecaster", "A GRU reads 32 noisy values of a sine wave and "
             "predicts the next one (regression).", sine_forecaster, {"name": "sine"},
             {"epochs": 20, "batch_size": 32, "lr": 0.005}),
    Template("sunspots_forecaster", "Sunspot forecaster (GRU)", "A GRU reads 12 years of the real yearly "
             "sunspot series (1700–2008) and forecasts the next year. The series is split in time order (the last "
             "62 years are the test part) and standardised on its training years; the dashboard's Forecast tab "
             "sets the test forecast against the truth and the naive last-value forecast.", sunspots_forecaster,
             {"name": "sunspots", "seq_len": 12},
             {"task": "forecasting", "epochs": 20, "batch_size": 16, "lr": 0.01, "loss": "mse"}),
    Template("conv_autoencoder_digits", "Convolutional autoencoder on digits", "An encoder squeezes each digit "
             "to an 8x4x4 code and a decoder rebuilds it; trained to reproduce its input. The pixels are scaled to "
             "0–1 and a Sigmoid keeps the reconstruction there.", conv_autoencoder,
             {"name": "digits", **PIXELS_0_1},
             {"task": "reconstruction", "epochs": 20, "batch_size": 32, "lr": 0.003}),
    Template("mlp_vae_digits", "Variational autoencoder (MLP) on digits", "An encoder gives the mean and "
             "log-variance of an 8-number code, a Gaussian latent layer samples it, and a decoder rebuilds the "
             "digit; the loss is the reconstruction error plus β times the KL divergence from N(0, I), so "
             "decoding random codes draws new digits. The pixels are scaled to 0–1 and a Sigmoid keeps every "
             "sample there.", mlp_vae,
             {"name": "digits", **PIXELS_0_1},
             {"task": "reconstruction", "epochs": 60, "batch_size": 64, "lr": 0.002, "beta": 1.0, "beta_warmup": 10}),
    Template("conv_vae_digits", "Variational autoencoder (convolutional) on digits", "Strided convolutions "
             "encode each digit to the mean and log-variance of an 8-number code; transposed convolutions decode "
             "a sample of it, and a Sigmoid keeps it in the pixels' 0–1. Reconstruction error plus β·KL.", conv_vae,
             {"name": "digits", **PIXELS_0_1},
             {"task": "reconstruction", "epochs": 60, "batch_size": 64, "lr": 0.002, "beta": 1.0, "beta_warmup": 10}),
    Template("dcgan_digits", "DCGAN on digits", "Two networks: a Generator turns 32 random numbers into a digit "
             "with transposed convolutions and batch norm, a Discriminator (strided convolutions, LeakyReLU) tells "
             "real digits from generated ones; they train in turns. The pixels are scaled to -1..1 and the "
             "Generator ends in a Tanh, so its samples stay there.", dcgan, {"name": "digits", **PIXELS_PLUS_MINUS_1},
             {"generator": "Generator", "discriminator": "Discriminator", "epochs": 60, "batch_size": 64,
              "lr": 0.0005, "lr_d": 0.0005, "gan_beta1": 0.5, "label_smoothing": 0.1, "restore_best": False}),
    Template("resnet18_features_image_folder", "ResNet-18 feature extraction on an image folder",
             "torchvision's ResNet-18 with ImageNet weights and a new 10-class head, trained on a folder of "
             "images (a bundled one of 500 digit PNGs, 50 per class; point the dataset at your own, one sub-folder "
             "per class). The input adapter resizes the 8x8 grey images to 64x64, repeats them to 3 channels and "
             "normalises them with ImageNet's mean and std. The weights (45 MB) are downloaded once into torch's "
             "hub cache; offline, training says which file to put where (or remove the weight source to train "
             "from random weights).",
             resnet18_features,
             {"name": "image_folder", "path": DIGITS_FOLDER, "image_size": 8, "input_height": 64, "input_width": 64,
              "input_gray_to_rgb": True, "input_normalization": "imagenet"},
             {"epochs": 5, "batch_size": 32, "lr": 0.001, "optimizer": "adam"},
             {"pretrained": [{"target": None, "source": {"kind": "torchvision", "model": "resnet18",
                                                         "weights": "IMAGENET1K_V1"}}]}),
)


def template_project(t: Template) -> Project:
    """The Project of template `t` (laid out), with the checked-in reference figures while they still apply."""
    built = t.build()
    networks = built if isinstance(built, Networks) else Networks({"Net": built})
    for graph in networks.values():
        lay_out(graph)
    project = Project(dataset=dict(t.dataset), training=dict(t.training), networks=networks,
                      meta={"title": t.title, "description": t.description, "template": t.name,
                            **(t.meta or {})})
    reference = checked_in_reference(t.name)
    if reference and reference.get("key") == reference_key(project):
        project.meta["reference"] = reference
    return project


def reference_key(project: Project) -> str:
    """A hash of what a template's figures depend on: every network's architecture, the dataset and training settings."""
    facts = {"networks": {name: network_fingerprint(g, project.networks) for name, g in project.networks.items()},
             "dataset": dict(project.dataset), "training": dict(project.training)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def checked_in_reference(name: str) -> dict | None:
    """meta["reference"] of the template file `name` in this folder, or None."""
    try:
        return load_project(FOLDER / f"{name}.json").meta.get("reference")
    except (OSError, GraphBuilderError):
        return None


def main(folder: Path = FOLDER) -> list[Path]:
    """Write every template as <name>.json into `folder`."""
    written = []
    if any(t.dataset.get("path") == DIGITS_FOLDER for t in TEMPLATES):
        digits_image_folder(folder)
    if any(t.dataset.get("path") == REVIEWS_FILE for t in TEMPLATES):
        review_corpus(folder)
    for t in TEMPLATES:
        path = folder / f"{t.name}.json"
        save_project(template_project(t), path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main():
        print(p.relative_to(ROOT))
