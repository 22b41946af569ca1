"""Export a standalone training script: the same model, data, split, settings and training as the app.

The script imports only torch, numpy and scikit-learn. It holds no training code of its own: the
model classes are runtime.compile.codegen's source (what the app trains), and the engine is the
app's own, embedded with inspect.getsource: the metrics, optimisers and schedules, the objectives,
the epoch loop (runtime/train/loop.py, which the trainer drives too) and the task's part, its
`assemble` function (runtime/tasks), called with the task's settings written out as a literal. The
data functions (class subset, split, training fraction, normalisation, input adapter, placing on
the device) are embedded from runtime.data, so the script's data is the app's data. Datasets read
from files are decoded once and written beside the script as `<script>_data.npz`; pretrained
starting weights as `<script>_start.pt` (read back with weights_only=True), so the script never
downloads anything.

It runs as `python train.py` or, unchanged, under `torchrun --nproc_per_node=N train.py`
(gloo on CPU, nccl on GPU): each process takes every N-th sample of a shared seeded permutation
and a batch of batch_size // N, so the global batch matches the app's.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
from pathlib import Path

import numpy as np
import torch

from graph_builder.files import atomic_path, write_atomic
from graph_builder.protocols import ProjectLike
from runtime.codetext import comment_text, data_literal, doc_text, text_literal
from runtime.compile import compiler
from runtime.compile.codegen import generate_source
from runtime.data import adapter, augment, dataset_config, get_dataset, load_splits, loading, splits, synthetic
from runtime.errors import NetCanvasRuntimeError
from runtime.export.preprocess import TOKENIZER_FILE
from runtime.train import loop, metrics, objectives, optim


class ScriptExportError(NetCanvasRuntimeError):
    """A training script that cannot be written (bad target, a project that cannot train)."""


SKLEARN_LOADERS = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
                   "breast_cancer": "load_breast_cancer"}
ENGINE = (metrics, optim, objectives, loop)  # embedded in this order, each after what it uses


def _one_class(source: str) -> str:
    """A generated model without its module docstring and torch imports (the script has its own)."""
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


def _engine_source(extra: tuple) -> str:
    """The training engine the app runs: metrics, optimisers, objectives, the loop, the task's own modules
    and the weight initialisation."""
    init = "\n\n".join([
        f"INIT_SCHEMES = {compiler.INIT_SCHEMES!r}\n_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)\n\n\n"
        "class InitSchemeError(ValueError):\n    pass\n",
        _function_source(compiler.initialise), _function_source(compiler._init_matrix)])
    own = [_module_body(m) if inspect.ismodule(m) else _function_source(m) for m in extra]
    return "\n\n".join([*(_module_body(m) for m in ENGINE), *own,
                        "# ---- runtime.compile.compiler (weight initialisation, embedded unchanged)\n\n" + init])


def _data_source(d: dict, data_file: str | None) -> str:
    """A `load_data()` returning the dataset `d` as its source has it: a dict of x, y, kind, classes and image, and
    x_val, y_val, x_test, y_test and scale where the source split or standardised it itself."""
    name = d["name"]
    entry = get_dataset(name)
    if name in SKLEARN_LOADERS:
        image = name == "digits"
        x = "bunch.images[:, None]" if image else "bunch.data"
        return (f"def load_data():\n"
                f"    from sklearn.datasets import {SKLEARN_LOADERS[name]}\n\n"
                f"    bunch = {SKLEARN_LOADERS[name]}()\n"
                f"    classes = [str(c) for c in bunch.target_names]\n"
                f"    return dict(x={x}.astype(np.float32), y=bunch.target.astype(np.int64), kind=\"classes\", "
                f"classes=classes, image={image})\n")
    if entry.synthetic:
        fn = getattr(synthetic, entry.synthetic)
        raw = entry.load(d)  # for the kind and class names
        args = {"make_moons": ("samples", "noise"), "make_spirals": ("samples", "noise"),
                "make_sine": ("samples", "seq_len", "horizon", "noise"),
                "make_waveforms": ("samples", "seq_len", "noise")}[entry.synthetic]
        defaults = inspect.signature(fn).parameters
        values = [d[a] if d.get(a) is not None else defaults[a].default for a in args] + [d["seed"]]
        call = f"{entry.synthetic}({', '.join(data_literal(v) for v in values)})"
        return (_function_source(fn) + "\n\n"
                f"def load_data():\n"
                f"    x, y = {call}\n"
                f"    return dict(x=x, y=y, kind={text_literal(raw.kind)}, classes={data_literal(list(raw.classes))}, "
                "image=False)\n")
    return (f"def load_data():\n"
            f"    # Decoded from {comment_text(d['name'])} ({comment_text(d.get('path'))}) when the script was "
            "exported.\n"
            f"    here = os.path.dirname(os.path.abspath(__file__))\n"
            f"    with np.load(os.path.join(here, {text_literal(data_file)}), allow_pickle=False) as f:\n"
            f"        data = {{k: f[k] for k in f.files if k.startswith((\"x\", \"y\"))}}\n"
            f"        data[\"scale\"] = (f[\"mean\"], f[\"std\"]) if \"mean\" in f.files else None\n"
            f"        return dict(data, kind=str(f[\"kind\"]), classes=[str(c) for c in f[\"classes\"]], "
            f"image=bool(f[\"image\"]))\n")


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
    if raw.text is not None:  # texts as the token ids of the app's tokenizer (learnt on its training split)
        from runtime.data.text import encode, read_tokenizer

        raw.x = encode(read_tokenizer(json.dumps(load_splits(d).info["tokenizer"]["json"])), raw.x)
    arrays = {"x": raw.x, "y": raw.y, "kind": np.array(raw.kind), "classes": np.array(list(raw.classes), dtype=str),
              "image": np.array(raw.image)}
    if raw.x_test is not None:
        arrays["x_test"], arrays["y_test"] = raw.x_test, raw.y_test
    if raw.x_val is not None:
        arrays["x_val"], arrays["y_val"] = raw.x_val, raw.y_val
    if raw.scale is not None:
        arrays["mean"], arrays["std"] = raw.scale
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def _task_part(project: ProjectLike, t: dict, d: dict, project_path):
    """The project's task, its runtime half and its part of the script, made as the trainer makes them."""
    from graph_builder.tasks import resolve
    from runtime.data import describe_splits
    from runtime.tasks import Setup, task_runtime
    from runtime.train.errors import TrainingError
    from runtime.train.loop import batches_per_epoch
    from runtime.train.setup import Settings, check_fit, place

    s = load_splits(d)
    description = describe_splits(s, d)
    spec = resolve(t, description.kind, project.graph)
    runtime = task_runtime(spec)
    try:
        check_fit(spec, Settings(project, t, d, {}), description, None)
        data = place(s, torch.device("cpu"), runtime.target_dtype)
        setup = Setup(project, None, t, s, description, data, torch.device("cpu"), None,
                      batches_per_epoch(len(data["train"]), t["batch_size"]), project_path)
        part = runtime.script(project, setup)
    except TrainingError as exc:
        raise ScriptExportError(f"the project cannot train as it is, so no script was written: {exc}") from None
    return spec, runtime, part


def export_training_script(project: ProjectLike, path: str | os.PathLike, project_path: str | os.PathLike | None = None,
                           download: bool = False) -> Path:
    """Write a standalone training script for `project` (its data file for file datasets, its starting weights
    when it starts from pretrained ones: read from beside `project_path`, downloaded only with `download`)."""
    from graph_builder.settings import class_selection, validate_training_section
    from runtime.pretrained import DownloadError, PretrainedError, missing_weights

    path = Path(path)
    if path.is_dir():
        raise ScriptExportError(f"{str(path)!r} is a folder; give a file name such as train.py")
    if not path.parent.is_dir():
        raise ScriptExportError(f"the folder {str(path.parent)!r} does not exist; create it or choose another place")
    d = dataset_config(project.dataset)
    t = validate_training_section(dict(project.training), "$.training", fill_defaults=True)
    missing = missing_weights(project)
    if missing and not download:
        raise ScriptExportError(f"the project {missing}, which this machine has not downloaded; train once (or "
                                "download them from Edit ▸ Pretrained weights) or export with --download")
    try:
        spec, runtime, part = _task_part(project, t, d, project_path)
    except (PretrainedError, DownloadError) as exc:
        raise ScriptExportError(f"the pretrained starting weights cannot be read: {exc}") from None
    data_file = starting_file = None
    if d["name"] not in SKLEARN_LOADERS and not get_dataset(d["name"]).synthetic:  # files, bundled series
        data_file = f"{path.stem}_data.npz"
        _write_data_file(d, path.with_name(data_file))
    tokenizer = load_splits(d).info.get("tokenizer")
    if tokenizer is not None:  # what turns new texts into the ids the trained model reads
        write_atomic(path.with_name(TOKENIZER_FILE), json.dumps(tokenizer["json"], ensure_ascii=False).encode())
    if part.starting:
        starting_file = f"{path.stem}_start.pt"
        with atomic_path(path.with_name(starting_file)) as tmp:
            torch.save(part.starting, tmp)
    title = project.meta.get("title") or path.stem
    roles = ", ".join(f"{data_literal(role)}: {cls}" for role, cls in part.classes.items())
    parts = [  # every text from the project reaches the script through runtime.codetext
        HEADER.format(title=doc_text(title), script=doc_text(path.name),
                      data_note=(f"\nIt reads its data from {doc_text(data_file)}, written beside it" +
                                 (f" (texts as the token ids of {TOKENIZER_FILE}, the vocabulary learnt on the "
                                  "training split; tokenise new texts with it)" if tokenizer else "") + ".\n")
                      if data_file else "",
                      start_note=f"\nIt starts from the pretrained weights in {doc_text(starting_file)}, written "
                      "beside it.\n" if starting_file else ""),
        "# ---------------------------------------------------------------- the model (NetCanvas codegen)\n\n",
        "\n\n".join(_one_class(generate_source(project.networks[name], part.classes[role]))
                    for role, name in spec.networks(project).items()),
        "\n\n# ---------------------------------------------------------------- the training engine\n\n",
        _engine_source(part.engine),
        f"\n\n# ---- the {spec.title.lower()} task's part (runtime/tasks, embedded unchanged)\n\n",
        _function_source(part.assemble),
        "\n\n# ---------------------------------------------------------------- settings\n\n",
        f"TASK = {text_literal(spec.id)}\n",
        f"DATASET = {data_literal(d)}\n",
        f"PICKED = {data_literal(class_selection(d['classes']) if d['classes'] else ())}  # the classes trained on\n",
        (f"ADAPTER = {data_literal(_adapter_settings(d))}  # the input adapter: resize, grey to RGB, a backbone's "
         "mean/std\n"),
        f"TRAINING = {data_literal(t)}\n",
        (f"SETTINGS = {data_literal(part.settings)}  # what the task resolved: loss, classes, monitor, frozen and "
         "pretrained layers\n"),
        f"ROLES = {{{roles}}}  # the networks the task trains, seeded seed, seed + 1, … in this order\n",
        f"TARGET_DTYPE = {_dtype_literal(runtime.target_dtype)}\n",
        f"STARTING = {data_literal(starting_file)}  # the pretrained starting weights beside this script, if any\n",
        "\n\n# ---------------------------------------------------------------- data\n\n",
        _data_source(d, data_file),
        "\n\n",
        "\n\n".join(_function_source(fn) for fn in (splits.shuffle_split, splits.split_indices, splits.feature_stats,
                                                    splits.select_classes, splits.split_parts, splits.train_subset,
                                                    splits.normalised)),
        "\n\n",
        _function_source(adapter.adapt_pixels).replace("chunk=CHUNK", f"chunk={adapter.CHUNK}"),
        "\n\n",
        _function_source(augment.Augmentation),
        "\n\n",
        _function_source(loading.DeviceSplit),
        "\n\n",
        _function_source(loading._free_bytes),
        BODY,
    ]
    text = "".join(parts)
    ast.parse(text)  # a broken export must fail here, not on the user's machine
    write_atomic(path, text.encode("utf-8"))
    return path


def _dtype_literal(dtype: torch.dtype | None) -> str:
    return "None" if dtype is None else f"torch.{str(dtype).removeprefix('torch.')}"


HEADER = '''#!/usr/bin/env python3
"""Train "{title}": a standalone script exported by NetCanvas.

    python {script} [--epochs N] [--out weights.pt]
    torchrun --nproc_per_node=2 {script}          # several processes (gloo on CPU)

Same model, data, split, normalisation, settings and training loop as the app. Needs torch, numpy
and scikit-learn only.{data_note}{start_note}"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


'''

# What the script does beyond the embedded engine: read its arguments, start its processes, make the
# app's data and seeded networks, hand them to the task's assemble() and the engine's Loop, print, save.
BODY = '''

# ---------------------------------------------------------------- running it

def prepare_data(device):
    """The app's data: its classes, split (stratified, seeded), training fraction and normalisation, on the device."""
    data = load_data()
    x, y, x_test, y_test, classes, image = (data.get(k) for k in ("x", "y", "x_test", "y_test", "classes", "image"))
    classification = data["kind"] == "classes"
    if PICKED:
        x, y, x_test, y_test = select_classes(x, y, x_test, y_test, classes, PICKED)
    if ADAPTER["size"] or ADAPTER["gray_to_rgb"]:
        x = adapt_pixels(x, ADAPTER["size"], ADAPTER["gray_to_rgb"])
        x_test = adapt_pixels(x_test, ADAPTER["size"], ADAPTER["gray_to_rgb"]) if x_test is not None else None
    seed = DATASET["split_seed"]
    parts = split_parts(x, y, x_test, y_test, classification, DATASET["val_fraction"], DATASET["test_fraction"], seed,
                        data.get("x_val"), data.get("y_val"))
    parts["train"] = train_subset(*parts["train"], DATASET["train_fraction"], classification, seed)
    if ADAPTER["mean"] is not None:  # the backbone's normalisation replaces the split's statistics
        mean = np.asarray(ADAPTER["mean"], np.float32).reshape(-1, 1, 1)
        std = np.asarray(ADAPTER["std"], np.float32).reshape(-1, 1, 1)
        parts = normalised(parts, mean, std)
    elif DATASET["normalize"] and x.dtype.kind == "f" and data.get("scale") is None:  # a series came standardised
        parts = normalised(parts, *feature_stats(parts["train"][0], image))
    return {k: DeviceSplit.from_arrays(a, b, device, TARGET_DTYPE) for k, (a, b) in parts.items()}, image


def build_models(seed):
    """The task's networks with the app's seeded weights and initialisation (runtime.compile.compiler.build_module),
    then the pretrained starting weights written beside this script."""
    models = {}
    for offset, (role, cls) in enumerate(ROLES.items()):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + offset)
            models[role] = cls()
            initialise(models[role], TRAINING["init"])
    if STARTING:
        here = os.path.dirname(os.path.abspath(__file__))
        for role, state in torch.load(os.path.join(here, STARTING), weights_only=True).items():
            models[role].load_state_dict(state, strict=False)
    return models


def start_processes(t):
    """(rank, world size, device): one process, or this one of torchrun's."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    else:
        rank, local_rank = 0, 0
    if torch.cuda.is_available() and t["device"] in ("auto", "cuda"):
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world, device


def shown(values, prefix):
    """The task's metrics of one split, as "  val accuracy 0.9500"."""
    return "".join(f"  {prefix}{k} {v:.4f}" for k, v in values.items() if isinstance(v, float))


def report(end):
    t = TRAINING
    monitored = end.monitored if end.monitored is not None else float("nan")
    print(f"epoch {end.epoch}/{t['epochs']}  train loss {end.train['loss']:.4f}{shown(end.val, 'val ')}  "
          f"{t['monitor']} {monitored:.4f}  {end.seconds:.2f}s", flush=True)


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
    rank, world, device = start_processes(t)
    torch.manual_seed(t["seed"])  # dropout draws as in the app
    data, image = prepare_data(device)
    models = {role: model.to(device) for role, model in build_models(t["seed"]).items()}
    amp = amp_dtype(device, t["mixed_precision"])
    steps = batches_per_epoch(len(data["train"]), t["batch_size"], world)
    built = assemble(models, SETTINGS, t, device, amp, steps, world)
    run = Loop(built, data, t, device, amp, Augmentation.from_config(DATASET), image, rank, world)
    if rank == 0:
        print(f"{world} process(es) on {device}; {TASK}: train {len(data['train'])}, validation {len(data['val'])}, "
              f"test {len(data['test'])}; {sum(p.numel() for p in built.params):,} parameters", flush=True)
    try:
        run.fit(on_epoch=report if rank == 0 else None)
    except NonFiniteLoss as exc:
        where = f" in the {exc.network} network" if exc.network else ""
        raise SystemExit(f"{exc}{where}; lower the learning rate or turn on gradient clipping") from None
    if run.stopped_early and rank == 0:
        print(f"stopped early: {t['monitor']} did not improve for {t['patience']} epochs", flush=True)
    restored, test, _ = run.finish()
    if rank == 0:
        if test:
            print(shown(test, "test ").strip(), flush=True)
        torch.save({k: v.cpu() for k, v in built.model.state_dict().items()}, args.out)
        print(f"saved the weights of {', '.join(ROLES)} to {args.out}", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
