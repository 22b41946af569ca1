"""Export a standalone training script: the same model, data, split and settings as the app.

The script imports only torch, numpy and scikit-learn. The model class is runtime.codegen's
source (what the app trains); the synthetic generators, the split and the normalisation are
embedded verbatim from runtime.data, so the script's data is the app's data. Datasets read from
files are decoded once and written beside the script as `<script>_data.npz`.

It runs as `python train.py` or, unchanged, under `torchrun --nproc_per_node=N train.py`
with DistributedDataParallel (gloo on CPU, nccl on GPU): each process takes every N-th sample
of a shared seeded permutation and a batch of batch_size // N, so the global batch matches the app.
"""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import numpy as np

from graph_builder.files import atomic_path, write_atomic
from graph_builder.project import Project
from runtime.codegen import generate_source
from runtime.data import augment, dataset_config, get_dataset, splits, synthetic
from runtime.errors import NetCanvasRuntimeError


class ScriptExportError(NetCanvasRuntimeError):
    """A training script that cannot be written (bad target, unsupported setting)."""


SKLEARN_LOADERS = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
                   "breast_cancer": "load_breast_cancer"}


def _model_source(project: Project) -> str:
    """The generated model without its module docstring and torch imports (the script has its own)."""
    source = generate_source(project.graph, "Net")
    tree = ast.parse(source)
    lines = source.splitlines()
    first = tree.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines = lines[first.end_lineno:]
    kept = [line for line in lines if line not in ("import torch", "from torch import nn")]
    return "\n".join(kept).strip() + "\n"


def _function_source(fn) -> str:
    return inspect.getsource(fn).strip() + "\n"


def _data_source(d: dict, data_file: str | None) -> str:
    """A `load_data()` returning x, y, x_test, y_test, task, classes, image for the dataset `d`."""
    name = d["name"]
    entry = get_dataset(name)
    if name in SKLEARN_LOADERS:
        image = name == "digits"
        x = "bunch.images[:, None]" if image else "bunch.data"
        return (f"def load_data():\n"
                f"    from sklearn.datasets import {SKLEARN_LOADERS[name]}\n\n"
                f"    bunch = {SKLEARN_LOADERS[name]}()\n"
                f"    classes = [str(c) for c in bunch.target_names]\n"
                f"    return {x}.astype(np.float32), bunch.target.astype(np.int64), None, None, "
                f"\"classification\", classes, {image}\n")
    if entry.synthetic:
        fn = getattr(synthetic, entry.synthetic)
        raw = entry.load(d)  # for the task and class names
        args = {"make_moons": ("samples", "noise"), "make_spirals": ("samples", "noise"),
                "make_sine": ("samples", "seq_len", "horizon", "noise"),
                "make_waveforms": ("samples", "seq_len", "noise")}[entry.synthetic]
        defaults = inspect.signature(fn).parameters
        values = [d[a] if d.get(a) is not None else defaults[a].default for a in args] + [d["seed"]]
        call = f"{entry.synthetic}({', '.join(repr(v) for v in values)})"
        return (_function_source(fn) + "\n\n"
                f"def load_data():\n"
                f"    x, y = {call}\n"
                f"    return x, y, None, None, {raw.task!r}, {list(raw.classes)!r}, False\n")
    return (f"def load_data():\n"
            f"    # Decoded from {d['name']} ({d.get('path')}) when the script was exported.\n"
            f"    here = os.path.dirname(os.path.abspath(__file__))\n"
            f"    with np.load(os.path.join(here, {data_file!r}), allow_pickle=False) as f:\n"
            f"        x_test = f[\"x_test\"] if \"x_test\" in f.files else None\n"
            f"        y_test = f[\"y_test\"] if \"y_test\" in f.files else None\n"
            f"        classes = [str(c) for c in f[\"classes\"]]\n"
            f"        return (f[\"x\"], f[\"y\"], x_test, y_test, str(f[\"task\"]), classes, bool(f[\"image\"]))\n")


def _write_data_file(d: dict, path: Path) -> None:
    raw = get_dataset(d["name"]).load(d)
    arrays = {"x": raw.x, "y": raw.y, "task": np.array(raw.task), "classes": np.array(list(raw.classes), dtype=str),
              "image": np.array(raw.image)}
    if raw.x_test is not None:
        arrays["x_test"], arrays["y_test"] = raw.x_test, raw.y_test
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def export_training_script(project: Project, path: str | os.PathLike) -> Path:
    """Write a standalone training script for `project` (and its data file for file datasets)."""
    from graph_builder.settings import validate_training_section

    path = Path(path)
    if path.is_dir():
        raise ScriptExportError(f"{str(path)!r} is a folder; give a file name such as train.py")
    if not path.parent.is_dir():
        raise ScriptExportError(f"the folder {str(path.parent)!r} does not exist; create it or choose another place")
    d = dataset_config(project.dataset)
    t = validate_training_section(dict(project.training), "$.training", fill_defaults=True)
    data_file = None
    if get_dataset(d["name"]).source == "file":
        data_file = f"{path.stem}_data.npz"
        _write_data_file(d, path.with_name(data_file))
    title = project.meta.get("title") or path.stem
    parts = [
        HEADER.format(title=str(title).replace('"""', "'''"), script=path.name,
                      data_note=f"\nIt reads its data from {data_file}, written beside it.\n" if data_file else ""),
        "# ---------------------------------------------------------------- the model (NetCanvas codegen)\n\n",
        _model_source(project),
        "\n\n# ---------------------------------------------------------------- settings\n\n",
        f"DATASET = {d!r}\n",
        f"TRAINING = {t!r}\n",
        "\n\n# ---------------------------------------------------------------- data\n\n",
        _data_source(d, data_file),
        "\n\n",
        _function_source(splits.split_indices),
        "\n\n",
        _function_source(splits.feature_stats),
        "\n\n",
        _function_source(augment.Augmentation),
        BODY,
    ]
    text = "".join(parts)
    ast.parse(text)  # a broken export must fail here, not on the user's machine
    write_atomic(path, text.encode("utf-8"))
    return path


HEADER = '''#!/usr/bin/env python3
"""Train "{title}": a standalone script exported by NetCanvas.

    python {script} [--epochs N] [--out weights.pt]
    torchrun --nproc_per_node=2 {script}          # DistributedDataParallel (gloo on CPU)

Same model, data, split, normalisation and settings as the app. Needs torch, numpy and
scikit-learn only.{data_note}"""

import argparse
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


'''

BODY = '''

# ---------------------------------------------------------------- training

def prepare_data(device):
    """Split (stratified, seeded) and normalise exactly as the app does; tensors on the device."""
    x, y, x_test, y_test, task, classes, image = load_data()
    classification = task == "classification"
    if x_test is not None:
        train, val, _ = split_indices(y if classification else None, len(x), DATASET["val_fraction"], 0.0,
                                      DATASET["split_seed"])
        parts = {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x_test, y_test)}
    else:
        train, val, test = split_indices(y if classification else None, len(x), DATASET["val_fraction"],
                                         DATASET["test_fraction"], DATASET["split_seed"])
        parts = {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x[test], y[test])}
    if DATASET["normalize"] and x.dtype.kind == "f":
        mean, std = feature_stats(parts["train"][0], image)
        parts = {k: (((a - mean) / std).astype(np.float32), b) for k, (a, b) in parts.items()}
    target_dtype = torch.long if classification else torch.float32
    tensors = {k: (torch.from_numpy(np.array(a)).to(device), torch.from_numpy(np.array(b)).to(target_dtype).to(device))
               for k, (a, b) in parts.items()}
    return tensors, task, classes, image


def make_loss(task, classes):
    name = TRAINING["loss"]
    if TRAINING["task"] == "reconstruction":
        task = "reconstruction"
    if name == "auto":
        name = "cross_entropy" if task == "classification" else "mse"

    def loss_fn(out, target):
        out = out.float()
        if name == "cross_entropy":
            return F.cross_entropy(out, target)
        if name == "nll":
            return F.nll_loss(out, target)
        if name == "bce_with_logits":
            if out.dim() == 1 or out.shape[1] == 1:
                return F.binary_cross_entropy_with_logits(out.reshape(-1), target.float())
            return F.binary_cross_entropy_with_logits(out, F.one_hot(target, out.shape[1]).float())
        out = out.reshape(target.shape)
        if name == "mse":
            return F.mse_loss(out, target)
        if name == "l1":
            return F.l1_loss(out, target)
        return F.huber_loss(out, target, delta=TRAINING["huber_delta"])

    return loss_fn, task


def make_optimizer(params):
    t = TRAINING
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=t["lr"], momentum=t["momentum"], nesterov=t["nesterov"],
                               weight_decay=t["weight_decay"])
    if t["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=t["lr"], weight_decay=t["weight_decay"])
    if t["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=t["lr"], weight_decay=t["weight_decay"])
    return torch.optim.RMSprop(params, lr=t["lr"], momentum=t["momentum"], weight_decay=t["weight_decay"])


def make_scheduler(optimizer, epochs, steps_per_epoch):
    t = TRAINING
    if t["schedule"] == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=t["step_size"], gamma=t["gamma"])
    if t["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if t["schedule"] == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=t["gamma"],
                                                          patience=t["schedule_patience"])
    if t["schedule"] == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=t["lr"], total_steps=epochs * steps_per_epoch)
    return None


@torch.no_grad()
def evaluate(model, x, y, loss_fn, task, target_of):
    """Loss plus accuracy (classification) or mean absolute error, over a whole split."""
    if len(x) == 0:
        return {}
    model.eval()
    total, correct, abs_err, values = 0.0, 0, 0.0, 0
    for i in range(0, len(x), 1024):
        xb, yb = x[i:i + 1024], y[i:i + 1024]
        target = target_of(xb, yb)
        out = model(xb)
        out = out[0] if isinstance(out, (tuple, list)) else out
        total += float(loss_fn(out, target)) * len(xb)
        if task == "classification":
            pred = (out.reshape(-1) > 0).long() if out.dim() == 1 or out.shape[1] == 1 else out.argmax(1)
            correct += int((pred == target).sum())
        else:
            abs_err += float((out.float().reshape(target.shape) - target).abs().sum())
            values += target.numel()
    model.train()
    result = {"loss": total / len(x)}
    if task == "classification":
        result["accuracy"] = correct / len(x)
    else:
        result["mae"] = abs_err / values
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"], help="global batch size")
    parser.add_argument("--lr", type=float, default=TRAINING["lr"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--out", default="weights.pt", help="where rank 0 saves the trained state dict")
    args = parser.parse_args()
    TRAINING["lr"] = args.lr

    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    else:
        rank, local_rank = 0, 0
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")

    data, task, classes, image = prepare_data(device)
    loss_fn, task = make_loss(task, classes)
    target_of = (lambda xb, yb: xb) if task == "reconstruction" else (lambda xb, yb: yb)
    torch.manual_seed(args.seed)  # the same initial weights in every process (and as in the app)
    model = Net().to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    l1_params = [p for p in params if p.dim() > 1]
    trained = nn.parallel.DistributedDataParallel(model) if distributed else model
    x_train, y_train = data["train"]
    n = len(x_train)
    per_rank = math.ceil(n / world)
    batch = max(1, args.batch_size // world)
    steps = math.ceil(per_rank / batch)
    optimizer = make_optimizer(params)
    scheduler = make_scheduler(optimizer, args.epochs, steps)
    augmentation = Augmentation.from_config(DATASET)
    shuffle = torch.Generator().manual_seed(args.seed)  # the same permutation in every process
    noise = torch.Generator(device=device).manual_seed(args.seed + 1 + rank)
    if rank == 0:
        print(f"{world} process(es) on {device}; train {n}, validation {len(data['val'][0])}, "
              f"test {len(data['test'][0])}; {sum(p.numel() for p in params):,} parameters", flush=True)
    metric = "accuracy" if task == "classification" else "mae"
    best, best_state, wait = None, None, 0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        order = torch.cat([order, order[: per_rank * world - n]])[rank::world].to(device)  # equal shards
        total = 0.0
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            xb, yb = x_train[idx], y_train[idx]
            target = target_of(xb, yb)
            if augmentation.enabled:
                xb = augmentation(xb, noise, image=image)
            out = trained(xb)
            out = out[0] if isinstance(out, (tuple, list)) else out
            loss = loss_fn(out, target)
            full = loss + TRAINING["l1"] * sum(p.abs().sum() for p in l1_params) if TRAINING["l1"] > 0 else loss
            optimizer.zero_grad(set_to_none=True)
            full.backward()
            if TRAINING["grad_clip"] is not None:
                nn.utils.clip_grad_norm_(params, TRAINING["grad_clip"])
            optimizer.step()
            if TRAINING["schedule"] == "one_cycle":
                scheduler.step()
            total += float(loss.detach()) * len(idx)
        if not math.isfinite(total):
            raise SystemExit(f"the loss became NaN or infinite in epoch {epoch}; lower the learning rate")
        train_loss = torch.tensor([total, float(len(order))], dtype=torch.float64)
        if distributed:
            dist.all_reduce(train_loss)
        val = evaluate(model, *data["val"], loss_fn, task, target_of)
        watched = val.get("loss", float(train_loss[0] / train_loss[1]))
        if scheduler is not None and TRAINING["schedule"] in ("step", "cosine"):
            scheduler.step()
        elif scheduler is not None and TRAINING["schedule"] == "plateau":
            scheduler.step(watched)
        if best is None or watched < best - TRAINING["min_delta"]:
            best, wait = watched, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            wait += 1
        if rank == 0:
            shown = f"  val loss {val['loss']:.4f}  val {metric} {val[metric]:.4f}" if val else ""
            print(f"epoch {epoch}/{args.epochs}  train loss {float(train_loss[0] / train_loss[1]):.4f}{shown}  "
                  f"{time.perf_counter() - started:.2f}s", flush=True)
        if TRAINING["early_stopping"] and wait >= TRAINING["patience"]:
            break
    if TRAINING["restore_best"] and best_state is not None:
        model.load_state_dict(best_state)
    test = evaluate(model, *data["test"], loss_fn, task, target_of)
    if rank == 0:
        if test:
            print(f"test loss {test['loss']:.4f}  test {metric} {test[metric]:.4f}", flush=True)
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, args.out)
        print(f"saved the weights to {args.out}", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
