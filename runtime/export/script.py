"""Export a standalone training script: the same model, data, split and settings as the app.

The script imports only torch, numpy and scikit-learn. The model class is runtime.compile.codegen's
source (what the app trains); the training engine (runtime.train.objectives with runtime.train.metrics, and
the weight initialisation) is embedded with inspect.getsource, so the script's step, losses,
optimizers, schedules, monitor and early stopping are the trainer's own (DESIGN.md decision 12);
the synthetic generators, the split and the normalisation are embedded verbatim from
runtime.data, so the script's data is the app's data. Datasets read from
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
from runtime.codetext import comment_text, data_literal, doc_text, text_literal
from runtime.compile import compiler
from runtime.compile.codegen import generate_source
from runtime.train import metrics, objectives
from runtime.data import adapter, augment, dataset_config, get_dataset, load_splits, splits, synthetic
from runtime.errors import NetCanvasRuntimeError


class ScriptExportError(NetCanvasRuntimeError):
    """A training script that cannot be written (bad target, unsupported setting)."""


SKLEARN_LOADERS = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
                   "breast_cancer": "load_breast_cancer"}


def _model_source(project: Project, t: dict | None = None) -> str:
    """The generated model without its module docstring and torch imports (the script has its own).

    A GAN's script holds both networks' classes, Generator and Discriminator."""
    if t is not None and (t.get("generator") or t.get("discriminator")):
        from runtime.train.gan import gan_problem

        problem = gan_problem(project, t, tuple(get_dataset(project.dataset["name"]).load(
            dataset_config(project.dataset)).x.shape[1:]))
        if problem:
            raise ScriptExportError(problem)
        return "\n\n".join(_one_class(generate_source(project.networks[t[role]], cls))
                             for role, cls in (("generator", "Generator"), ("discriminator", "Discriminator")))
    return _one_class(generate_source(project.graph, "Net"))


def _noise_shape(project: Project, t: dict) -> tuple | None:
    from runtime.train.gan import is_gan, noise_shape

    return noise_shape(project, t) if is_gan(t) else None


def _one_class(source: str) -> str:
    tree = ast.parse(source)
    lines = source.splitlines()
    first = tree.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines = lines[first.end_lineno:]
    kept = [line for line in lines if line not in ("import torch", "from torch import nn")]
    return "\n".join(kept).strip() + "\n"


def _function_source(fn) -> str:
    return inspect.getsource(fn).strip() + "\n"


def _module_body(module) -> str:
    """A module's source without its docstring and imports: the script has its own imports, and the
    module's runtime.* imports are other embedded modules."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    lines = source.splitlines()
    drop = set()
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and \
            isinstance(node.value.value, str)
        if docstring or isinstance(node, (ast.Import, ast.ImportFrom)):
            drop.update(range(node.lineno - 1, node.end_lineno))
    name = module.__name__
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip()
    return f"# ---- {name} (embedded from NetCanvas, unchanged)\n\n{kept}\n"


def _engine_source() -> str:
    """The training engine the app runs: metrics, objectives and the weight initialisation."""
    init = "\n\n".join([
        f"INIT_SCHEMES = {compiler.INIT_SCHEMES!r}\n_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)\n\n\n"
        "class InitSchemeError(ValueError):\n    pass\n",
        _function_source(compiler.initialise), _function_source(compiler._init_matrix)])
    return "\n\n".join([_module_body(metrics), _module_body(objectives),
                         "# ---- runtime.compile.compiler (weight initialisation, embedded unchanged)\n\n" + init])


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
        call = f"{entry.synthetic}({', '.join(data_literal(v) for v in values)})"
        return (_function_source(fn) + "\n\n"
                f"def load_data():\n"
                f"    x, y = {call}\n"
                f"    return x, y, None, None, {text_literal(raw.task)}, {data_literal(list(raw.classes))}, False\n")
    return (f"def load_data():\n"
            f"    # Decoded from {comment_text(d['name'])} ({comment_text(d.get('path'))}) when the script was "
            "exported.\n"
            f"    here = os.path.dirname(os.path.abspath(__file__))\n"
            f"    with np.load(os.path.join(here, {text_literal(data_file)}), allow_pickle=False) as f:\n"
            f"        x_test = f[\"x_test\"] if \"x_test\" in f.files else None\n"
            f"        y_test = f[\"y_test\"] if \"y_test\" in f.files else None\n"
            f"        classes = [str(c) for c in f[\"classes\"]]\n"
            f"        return (f[\"x\"], f[\"y\"], x_test, y_test, str(f[\"task\"]), classes, bool(f[\"image\"]))\n")


def _adapter_settings(d: dict) -> dict:
    """The input adapter of dataset `d` as the script's plain values (channels after the adapter)."""
    from runtime.data.adapter import adapter_of, script_settings
    from runtime.data.registry import pixel_max

    a = adapter_of(d)
    if not a.active:
        return {"size": None, "gray_to_rgb": False, "mean": None, "std": None}
    shape = load_splits(d).input_shape
    return script_settings(d, shape[0] if len(shape) == 3 else None, pixel_max(d["name"]))


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
    if d["classes"] or d["train_fraction"] < 1:
        raise ScriptExportError("the training script does not apply the classes and training fraction dataset "
                                "settings; clear them (train on the whole dataset) before exporting the script")
    from runtime.train.freezing import frozen_modules

    frozen = [] if t.get("generator") or t.get("discriminator") else frozen_modules(project.graph)
    pretrained = bool(project.meta.get("weights") or project.meta.get("pretrained"))
    data_file = None
    if get_dataset(d["name"]).source == "file":
        data_file = f"{path.stem}_data.npz"
        _write_data_file(d, path.with_name(data_file))
    title = project.meta.get("title") or path.stem
    parts = [  # every text from the project reaches the script through runtime.codetext
        HEADER.format(title=doc_text(title), script=doc_text(path.name),
                      data_note=f"\nIt reads its data from {doc_text(data_file)}, written beside it.\n" if data_file
                      else ""),
        "# ---------------------------------------------------------------- the model (NetCanvas codegen)\n\n",
        _model_source(project, t),
        "\n\n# ---------------------------------------------------------------- the training engine\n\n",
        _engine_source(),
        "\n\n# ---------------------------------------------------------------- settings\n\n",
        f"DATASET = {data_literal(d)}\n",
        (f"ADAPTER = {data_literal(_adapter_settings(d))}  # the input adapter: resize, grey to RGB, a backbone's "
         "mean/std\n"),
        f"TRAINING = {data_literal(t)}\n",
        f"NOISE_SHAPE = {data_literal(_noise_shape(project, t))}  # a GAN generator's Input, without the batch\n",
        (f"FROZEN = {data_literal(frozen)}  # module paths of the frozen nodes: not trained, their BatchNorm in eval "
         "mode\n"),
        (f"PRETRAINED = {data_literal(pretrained)}  # the project starts from pretrained weights, which this script "
         "does not load\n"),
        "\n\n# ---------------------------------------------------------------- data\n\n",
        _data_source(d, data_file),
        "\n\n",
        _function_source(splits.split_indices),
        "\n\n",
        _function_source(splits.feature_stats),
        "\n\n",
        _function_source(adapter.adapt_pixels).replace("chunk=CHUNK", f"chunk={adapter.CHUNK}"),
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

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

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
    if ADAPTER["size"] or ADAPTER["gray_to_rgb"]:
        x = adapt_pixels(x, ADAPTER["size"], ADAPTER["gray_to_rgb"])
        x_test = adapt_pixels(x_test, ADAPTER["size"], ADAPTER["gray_to_rgb"]) if x_test is not None else None
    classification = task == "classification"
    if x_test is not None:
        train, val, _ = split_indices(y if classification else None, len(x), DATASET["val_fraction"], 0.0,
                                      DATASET["split_seed"])
        parts = {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x_test, y_test)}
    else:
        train, val, test = split_indices(y if classification else None, len(x), DATASET["val_fraction"],
                                         DATASET["test_fraction"], DATASET["split_seed"])
        parts = {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x[test], y[test])}
    if ADAPTER["mean"] is not None:  # the backbone's normalisation replaces the split's statistics
        mean = np.asarray(ADAPTER["mean"], np.float32).reshape(-1, 1, 1)
        std = np.asarray(ADAPTER["std"], np.float32).reshape(-1, 1, 1)
        parts = {k: (((a - mean) / std).astype(np.float32), b) for k, (a, b) in parts.items()}
    elif DATASET["normalize"] and x.dtype.kind == "f":
        mean, std = feature_stats(parts["train"][0], image)
        parts = {k: (((a - mean) / std).astype(np.float32), b) for k, (a, b) in parts.items()}
    target_dtype = torch.long if classification else torch.float32
    tensors = {k: (torch.from_numpy(np.array(a)).to(device), torch.from_numpy(np.array(b)).to(target_dtype).to(device))
               for k, (a, b) in parts.items()}
    return tensors, task, classes, image


def build_model(seed, cls=None):
    """Net (or `cls`) with the app's seeded weights and initialisation (runtime.compile.compiler.build_module)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = (cls or Net)()
        initialise(model, TRAINING["init"])
    return model


def batches(x, y, size):
    for i in range(0, len(x), size):
        yield x[i:i + size], y[i:i + size]


def shown(metrics, prefix):
    return "".join(f"  {prefix}{k} {v:.4f}" for k, v in metrics.items() if k in ("loss", "accuracy", "mae", "reconstruction", "kl"))


def train_gan(data, image, device, out, rank, distributed):
    """The GAN objective over Generator and Discriminator, as the app trains it (single process)."""
    t = TRAINING
    if distributed:
        raise SystemExit("this GAN script trains in one process; run it with python, not torchrun")
    generator = build_model(t["seed"], Generator).to(device)
    discriminator = build_model(t["seed"] + 1, Discriminator).to(device)
    amp = amp_dtype(device, t["mixed_precision"])
    gan = make_gan(generator, discriminator, NOISE_SHAPE, t, device, (t["generator"], t["discriminator"]),
                   amp if amp != torch.float16 else None)
    x_train, y_train = data["train"]
    n, batch = len(x_train), t["batch_size"]
    augmentation = Augmentation.from_config(DATASET)
    shuffle = torch.Generator().manual_seed(t["seed"])
    noise = torch.Generator(device=device).manual_seed(t["seed"] + 1)
    print(f"1 process(es) on {device}; GAN: train {n}, validation {len(data['val'][0])}; "
          f"{sum(p.numel() for p in gan.pair.parameters()):,} parameters", flush=True)
    for epoch in range(1, t["epochs"] + 1):
        started = time.perf_counter()
        order = torch.randperm(n, generator=shuffle).to(device)
        x, y = x_train.index_select(0, order), y_train.index_select(0, order)
        meter = gan.meter(device, keep_scores=False)
        for i in range(0, n, batch):
            fake, real, g_loss, total = gan.step(x[i:i + batch], augmentation, noise, image)
            gan.update(meter, fake, real, g_loss)
        bad = gan.nonfinite_network()
        if bad:
            raise SystemExit(f"the {bad} network {t[bad]!r}'s loss became NaN or infinite in epoch {epoch}; "
                             "lower its learning rate")
        train = meter.compute()
        val = evaluate(gan, gan.pair, batches(*data["val"], max(EVAL_BATCH, batch)), device).compute() \
            if len(data["val"][0]) else {}
        print(f"epoch {epoch}/{t['epochs']}  D loss {train['d_loss']:.4f}  G loss {train['g_loss']:.4f}  "
              f"D(real) {train['d_real']:.3f}  D(fake) {train['d_fake']:.3f}  "
              f"diversity {val.get('diversity', float('nan')):.3f}  {time.perf_counter() - started:.2f}s", flush=True)
    torch.save({k: v.cpu() for k, v in gan.pair.state_dict().items()}, out)
    print(f"saved the weights of both networks to {out}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"], help="global batch size")
    parser.add_argument("--lr", type=float, default=TRAINING["lr"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--out", default="weights.pt", help="where rank 0 saves the trained state dict")
    args = parser.parse_args()
    t = TRAINING
    t.update(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    else:
        rank, local_rank = 0, 0
    want = t["device"]
    if torch.cuda.is_available() and want in ("auto", "cuda"):
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")

    torch.manual_seed(t["seed"])  # dropout draws as in the app
    data, task, classes, image = prepare_data(device)
    if t.get("generator"):
        return train_gan(data, image, device, args.out, rank, distributed)
    task = task if t["task"] == "auto" else t["task"]
    classes = classes if task == "classification" else []
    amp = amp_dtype(device, t["mixed_precision"])
    model = build_model(t["seed"]).to(device)  # the same initial weights in every process (and as in the app)
    if PRETRAINED and rank == 0:
        print("note: the project starts from pretrained weights; this script starts from fresh ones "
              "(load them into the model here to match the app)", flush=True)
    frozen_norms = freeze(model, FROZEN)
    params = [p for p in model.parameters() if p.requires_grad]
    loss_name = resolve_loss(task, t["loss"])
    model.eval()
    with torch.no_grad():
        probe = forward(model, data["train"][0][:2], amp)
    model.train()
    binary_logit = task == "classification" and loss_name == "bce_with_logits" and len(classes) == 2 \
        and probe[0].numel() == 1
    objective = make_objective(task, loss_name, len(classes), t, binary_logit, model)
    monitor_split, monitor_key = resolve_monitor(t["monitor"], task, len(classes), len(data["val"][0]) > 0)
    trained = nn.parallel.DistributedDataParallel(model) if distributed else model
    x_train, y_train = data["train"]
    n = len(x_train)
    per_rank = math.ceil(n / world)
    batch = max(1, t["batch_size"] // world)
    steps = math.ceil(per_rank / batch)
    optimizer = make_optimizer(params, t, device)
    scheduler = make_scheduler(optimizer, t, steps, monitor_key)
    step = Step(trained, params, optimizer, scheduler, amp, t["grad_clip"], t["l1"], t["schedule"] == "one_cycle")
    state = RunState()
    augmentation = Augmentation.from_config(DATASET)
    shuffle = torch.Generator().manual_seed(t["seed"])  # the same permutation in every process
    noise = torch.Generator(device=device).manual_seed(t["seed"] + 1 + rank)
    eval_batch = max(EVAL_BATCH, t["batch_size"])
    if rank == 0:
        print(f"{world} process(es) on {device}; train {n}, validation {len(data['val'][0])}, "
              f"test {len(data['test'][0])}; {sum(p.numel() for p in params):,} parameters", flush=True)
    best_state = None
    for epoch in range(1, t["epochs"] + 1):
        started = time.perf_counter()
        hold_frozen(frozen_norms)  # evaluate() put every layer back in training mode
        order = torch.randperm(n, generator=shuffle)
        order = torch.cat([order, order[: per_rank * world - n]])[rank::world].to(device)  # equal shards
        objective.begin_epoch(epoch)
        meter = objective.meter(device, keep_scores=False)
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            out, target, loss, total = step(objective, x_train[idx], y_train[idx], augmentation, noise, image)
            state.step += 1
            objective.update(meter, out, target, loss)
        train = meter.compute()
        if not math.isfinite(train["loss"]):
            raise SystemExit(f"the loss became NaN or infinite in epoch {epoch}; lower the learning rate")
        if distributed:  # the training loss over every process's shard
            both = torch.tensor([train["loss"] * len(order), float(len(order))], dtype=torch.float64)
            dist.all_reduce(both)
            train["loss"] = float(both[0] / both[1])
        val = evaluate(objective, model, batches(*data["val"], eval_batch), device, amp).compute() \
            if len(data["val"][0]) else {}
        monitored = (val if monitor_split == "val" else train).get(monitor_key)
        if state.observe(epoch, monitor_key, monitored, t["min_delta"]):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        end_of_epoch_schedule(scheduler, t, monitored)
        if rank == 0:
            print(f"epoch {epoch}/{t['epochs']}  train loss {train['loss']:.4f}{shown(val, 'val ')}  "
                  f"{t['monitor']} {monitored if monitored is not None else float('nan'):.4f}  "
                  f"{time.perf_counter() - started:.2f}s", flush=True)
        if state.should_stop(t, t["epochs"]):
            if rank == 0:
                print(f"stopped early: {t['monitor']} did not improve for {t['patience']} epochs", flush=True)
            break
    if t["restore_best"] and best_state is not None:
        model.load_state_dict(best_state)
    test = evaluate(objective, model, batches(*data["test"], eval_batch), device, amp).compute() \
        if len(data["test"][0]) else {}
    if rank == 0:
        if test:
            print(shown(test, "test ").strip(), flush=True)
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, args.out)
        print(f"saved the weights to {args.out}", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
