"""Trainer speed against its peers, measured in one run (not a test).

The same models (an MLP and a LeNet-style CNN on sklearn digits), batch size, epochs and
optimizer (Adam) in three engines:

  * NetCanvas's trainer, with live events (batch/progress/epoch/confusion) and with them off;
  * the idiomatic PyTorch loop: TensorDataset + DataLoader(shuffle=True), loss.item() per batch;
  * Keras 3 `fit` on its torch backend (pip install keras; the `bench` extra).

Every engine trains and validates once per epoch. Times are the median of several repeats
after a warm-up; ratios > 1 mean NetCanvas is faster. Targets (DESIGN.md): >= 1.2x the
DataLoader loop on CPU (2x on GPU), >= 3x Keras, live-event overhead <= 5 %.

    python bench/bench_trainer.py [--epochs 20] [--repeats 5] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from runtime.data import load_splits  # noqa: E402
from runtime.train.trainer import select_device, train  # noqa: E402

BATCH = 32
LR = 1e-3


def torch_model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10))


def keras_model(kind: str):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    if kind == "mlp":
        body = [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
    else:
        body = [layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10)]
    model = keras.Sequential([keras.Input((8, 8, 1)), *body])
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def time_netcanvas(kind: str, epochs: int, device: str, live: bool) -> tuple[float, float]:
    """Seconds from `started` to the last `epoch` event (train + validate), and the final val accuracy."""
    module = torch_model(kind)
    start = end = None
    acc = float("nan")
    for event in train(module=module, dataset={"name": "digits"}, live=live,
                       training={"epochs": epochs, "batch_size": BATCH, "lr": LR, "device": device}):
        if event["type"] == "started":
            start = time.perf_counter()
        elif event["type"] == "epoch":
            end = time.perf_counter()
            acc = event["val"]["accuracy"]
        elif event["type"] == "failed":
            raise RuntimeError(event["message"])
    return end - start, acc


def time_dataloader(kind: str, epochs: int, device: str) -> tuple[float, float]:
    """The loop most tutorials write: DataLoader batches, copy to device, loss.item() per batch."""
    from torch.utils.data import DataLoader, TensorDataset

    splits = load_splits({"name": "digits"})
    dev = select_device(device)
    model = torch_model(kind).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    train_loader = DataLoader(TensorDataset(*(torch.from_numpy(np.array(a)) for a in splits["train"])),
                              batch_size=BATCH, shuffle=True)
    val_loader = DataLoader(TensorDataset(*(torch.from_numpy(np.array(a)) for a in splits["val"])),
                            batch_size=256)
    acc = float("nan")
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(dev), yb.to(dev)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item() * len(xb)
        model.eval()
        correct = total = 0
        val_loss = 0.0
        with torch.no_grad():
            for xb, yb in val_loader:
                xb, yb = xb.to(dev), yb.to(dev)
                out = model(xb)
                val_loss += F.cross_entropy(out, yb, reduction="sum").item()
                correct += (out.argmax(1) == yb).sum().item()
                total += len(yb)
        acc = correct / total
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, acc


def time_keras(kind: str, epochs: int) -> tuple[float, float]:
    splits = load_splits({"name": "digits"})
    x, y = (np.array(a) for a in splits["train"])
    xv, yv = (np.array(a) for a in splits["val"])
    to_nhwc = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))  # noqa: E731  Keras is channels-last
    model = keras_model(kind)
    start = time.perf_counter()
    history = model.fit(to_nhwc(x), y, batch_size=BATCH, epochs=epochs, validation_data=(to_nhwc(xv), yv),
                        shuffle=True, verbose=0)
    return time.perf_counter() - start, history.history["val_accuracy"][-1]


# ---------------------------------------------------------------- generative objectives

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


def generative_project(template: str, epochs: int, device: str):
    from graph_builder import load_project

    project = load_project(TEMPLATES / f"{template}.json")
    project.training.replace({**project.training, "epochs": epochs, "device": device, "beta_warmup": 0})
    return project


def time_objective(template: str, epochs: int, device: str) -> tuple[float, float]:
    """The trainer (live events) on a VAE or GAN template: seconds from started to the last epoch."""
    start = end = None
    value = float("nan")
    for event in train(generative_project(template, epochs, device), live=True):
        if event["type"] == "started":
            start = time.perf_counter()
        elif event["type"] == "epoch":
            end = time.perf_counter()
            value = event["val"]["loss"]
        elif event["type"] == "failed":
            raise RuntimeError(event["message"])
    return end - start, value


def _hand_data(project, dev):
    splits = load_splits(dict(project.dataset))
    return [torch.from_numpy(np.array(splits[k][0])).to(dev) for k in ("train", "val")]


def time_hand_vae(epochs: int, device: str) -> tuple[float, float]:
    """A hand-written VAE loop on the same generated model and data: on-device batches, sum-per-sample MSE + KL."""
    from runtime.compile.compiler import build_module

    project = generative_project("mlp_vae_digits", epochs, device)
    dev = select_device(device)
    t = project.training.full()
    model = build_module(project.graph, seed=t["seed"]).to(dev)
    latent = next(m for m in model.modules() if type(m).__name__ == "GaussianLatent")
    opt = torch.optim.Adam(model.parameters(), lr=t["lr"], fused=dev.type in ("cpu", "cuda"))
    x, xv = _hand_data(project, dev)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    val = float("nan")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen).to(dev)
        xs = x[order]
        for i in range(0, len(xs), t["batch_size"]):
            xb = xs[i:i + t["batch_size"]]
            loss = (model(xb) - xb).pow(2).flatten(1).sum(1).mean() + latent.kl.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = float((model(xv) - xv).pow(2).flatten(1).sum(1).mean() + latent.kl.mean())
    return time.perf_counter() - start, val


def time_hand_gan(epochs: int, device: str) -> tuple[float, float]:
    """A hand-written DCGAN loop (D step then non-saturating G step) on the same generated networks and data."""
    from runtime.compile.compiler import build_module

    project = generative_project("dcgan_digits", epochs, device)
    dev = select_device(device)
    t = project.training.full()
    g = build_module(project.networks["Generator"], seed=t["seed"]).to(dev)
    d = build_module(project.networks["Discriminator"], seed=t["seed"] + 1).to(dev)
    fused = {"fused": True} if dev.type in ("cpu", "cuda") else {}
    opt_g = torch.optim.Adam(g.parameters(), lr=t["lr"], betas=(0.5, 0.999), **fused)
    opt_d = torch.optim.Adam(d.parameters(), lr=t["lr_d"], betas=(0.5, 0.999), **fused)
    x, xv = _hand_data(project, dev)
    bce = F.binary_cross_entropy_with_logits
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    val = float("nan")
    for _ in range(epochs):
        g.train()
        d.train()
        xs = x[torch.randperm(len(x), generator=gen).to(dev)]
        for i in range(0, len(xs), t["batch_size"]):
            real = xs[i:i + t["batch_size"]]
            fake = g(torch.randn(len(real), 32, device=dev))
            dr, df = d(real).reshape(-1), d(fake.detach()).reshape(-1)
            loss_d = bce(dr, torch.full_like(dr, 0.9)) + bce(df, torch.zeros_like(df))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            out = d(fake).reshape(-1)
            loss_g = bce(out, torch.ones_like(out))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        g.eval()
        d.eval()
        with torch.no_grad():
            dr = d(xv).reshape(-1)
            df = d(g(torch.randn(len(xv), 32, device=dev))).reshape(-1)
            val = float(bce(dr, torch.ones_like(dr)) + 2 * bce(df, torch.zeros_like(df)))
    return time.perf_counter() - start, val


def generative_rows(epochs: int, repeats: int, device: str) -> None:
    for name, template, hand in (("VAE", "mlp_vae_digits", time_hand_vae), ("GAN", "dcgan_digits", time_hand_gan)):
        t = interleaved({"ours": lambda template=template: time_objective(template, epochs, device),
                         "hand": lambda hand=hand: hand(epochs, device)}, repeats)
        ours, theirs = t["ours"][0], t["hand"][0]
        print(f"\n{name} objective ({template})")
        print(f"  NetCanvas trainer, live events  {ours:8.3f} s   val loss {t['ours'][1]:.3f}")
        print(f"  hand-written PyTorch loop       {theirs:8.3f} s   val loss {t['hand'][1]:.3f}")
        print(f"  time vs hand-written loop       {ours / theirs:6.2f}x  (target <= 1.05x)")


def interleaved(engines: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Median seconds and last accuracy per engine; runs alternate so machine noise hits all alike."""
    for fn in engines.values():
        fn()  # warm-up: imports, allocator, autotuning
    runs: dict[str, list] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, fn in engines.items():
            runs[name].append(fn())
    return {name: (statistics.median(r[0] for r in rs), rs[-1][1]) for name, rs in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--only-generative", action="store_true", help="just the VAE and GAN rows")
    args = parser.parse_args()
    dev = select_device(args.device)
    print(f"digits, batch {BATCH}, Adam lr {LR}, {args.epochs} epochs, median of {args.repeats}; device {dev}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for kind in () if args.only_generative else ("mlp", "cnn"):
        engines = {
            "live": lambda kind=kind: time_netcanvas(kind, args.epochs, args.device, True),
            "quiet": lambda kind=kind: time_netcanvas(kind, args.epochs, args.device, False),
            "loader": lambda kind=kind: time_dataloader(kind, args.epochs, args.device),
        }
        keras_note = ""
        if not args.no_keras:
            try:
                import keras  # noqa: F401
            except ImportError:
                keras_note = "not installed: pip install keras"
            else:
                engines["keras"] = lambda kind=kind: time_keras(kind, args.epochs)
        t = interleaved(engines, args.repeats)
        ours, quiet, loader = t["live"][0], t["quiet"][0], t["loader"][0]
        print(f"\n{kind.upper()}")
        print(f"  NetCanvas trainer, live events  {ours:8.3f} s   val acc {t['live'][1]:.3f}")
        print(f"  NetCanvas trainer, events off   {quiet:8.3f} s")
        print(f"  PyTorch DataLoader loop         {loader:8.3f} s   val acc {t['loader'][1]:.3f}")
        if "keras" in t:
            print(f"  Keras 3 fit (torch backend)     {t['keras'][0]:8.3f} s   val acc {t['keras'][1]:.3f}")
        elif keras_note:
            print(f"  Keras 3 fit (torch backend)     {keras_note}")
        print(f"  speed-up vs DataLoader loop     {loader / ours:6.2f}x  (target >= 1.2x CPU, 2x GPU)")
        if "keras" in t:
            print(f"  speed-up vs Keras fit           {t['keras'][0] / ours:6.2f}x  (target >= 3x)")
        print(f"  live-event overhead             {100 * (ours / quiet - 1):+6.1f} %  (target <= 5 %)")
    generative_rows(args.epochs, args.repeats, args.device)

if __name__ == "__main__":
    main()
