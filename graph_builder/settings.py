"""Schema, defaults and validation of a project's `dataset` and `training` sections.

One declarative table per section (STYLE rule 4): the Data and Training panels build their
forms from DATASET_FIELDS / TRAINING_FIELDS, load_project validates with them, and the trainer
reads the normalised dict. Pure Python: no torch, so projects open and validate instantly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from graph_builder.errors import ProjectError


class SettingsError(ProjectError):
    """A dataset or training setting that is missing, of the wrong type or out of range."""


@dataclass(frozen=True)
class SettingSpec:
    """One setting: kind is int, float, bool, choice or str; optional allows None ("off"/"auto")."""

    name: str
    kind: str
    default: Any
    label: str = ""
    help: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    optional: bool = False
    visible_when: dict = field(default_factory=dict)  # {other setting: allowed values}


# Names must match runtime.data's registry (a test checks they do; graph_builder cannot import runtime).
DATASET_NAMES = ("digits", "iris", "wine", "breast_cancer", "moons", "spirals", "sine", "waveforms",
                 "csv", "npz", "image_folder", "mnist", "fashion_mnist", "cifar10")
FILE_DATASETS = ("csv", "npz", "image_folder", "mnist", "fashion_mnist", "cifar10")
SYNTHETIC_DATASETS = ("moons", "spirals", "sine", "waveforms")
SEQUENCE_DATASETS = ("sine", "waveforms")

DATASET_FIELDS = (
    SettingSpec("name", "choice", "digits", "dataset", "Which data to train on: bundled, synthetic or your files.",
                DATASET_NAMES),
    SettingSpec("path", "str", None, "file or folder", "Where the data lives (file datasets only).",
                optional=True, visible_when={"name": FILE_DATASETS}),
    SettingSpec("target", "str", None, "target column", "CSV column holding the target (name or 0-based index); "
                "the last column when empty.", optional=True, visible_when={"name": ("csv",)}),
    SettingSpec("target_type", "choice", "auto", "target type", "classes: labels to predict; values: numbers "
                "to regress; auto decides from the column.", ("auto", "classes", "values"),
                visible_when={"name": ("csv",)}),
    SettingSpec("image_size", "int", 32, "image size", "Images are resized to this many pixels square.",
                min=4, max=512, visible_when={"name": ("image_folder",)}),
    SettingSpec("samples", "int", 1000, "samples", "How many samples to generate.", min=20, max=1_000_000,
                visible_when={"name": SYNTHETIC_DATASETS}),
    SettingSpec("noise", "float", None, "noise", "Noise added to the generated data (empty: the dataset's "
                "default).", min=0.0, max=10.0, optional=True, visible_when={"name": SYNTHETIC_DATASETS}),
    SettingSpec("seq_len", "int", 32, "sequence length", "Time steps per sequence.", min=4, max=4096,
                visible_when={"name": SEQUENCE_DATASETS}),
    SettingSpec("horizon", "int", 1, "forecast horizon", "How many future values to predict.", min=1, max=256,
                visible_when={"name": ("sine",)}),
    SettingSpec("seed", "int", 0, "generator seed", "Seed of the synthetic data.", min=0, max=2**31 - 1,
                visible_when={"name": SYNTHETIC_DATASETS}),
    SettingSpec("val_fraction", "float", 0.2, "validation fraction", "Share of the data held out to validate "
                "each epoch.", min=0.0, max=0.9),
    SettingSpec("test_fraction", "float", 0.2, "test fraction", "Share held out for the final test (ignored "
                "when the source has its own test set).", min=0.0, max=0.9),
    SettingSpec("split_seed", "int", 0, "split seed", "Seed of the stratified split.", min=0, max=2**31 - 1),
    SettingSpec("normalize", "bool", True, "normalise", "Standardise inputs with the training split's mean and "
                "standard deviation (per channel or feature)."),
    SettingSpec("augment_flip", "bool", False, "random flip", "Mirror training images left-right at random."),
    SettingSpec("augment_rotation", "float", 0.0, "random rotation (°)", "Rotate training images by up to this "
                "many degrees.", min=0.0, max=180.0),
    SettingSpec("augment_crop_padding", "int", 0, "random crop padding", "Pad training images by this many "
                "pixels and crop back at a random offset.", min=0, max=64),
    SettingSpec("augment_noise", "float", 0.0, "input noise", "Add Gaussian noise of this standard deviation "
                "to training inputs.", min=0.0, max=10.0),
)

TASKS = ("auto", "classification", "regression", "reconstruction")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LOSSES = ("auto", "cross_entropy", "bce_with_logits", "mse", "l1", "huber", "nll")
SCHEDULES = ("none", "step", "cosine", "plateau", "one_cycle")
MONITORS = ("val_loss", "val_accuracy", "val_f1_macro", "val_auc", "val_mae", "val_mse", "val_r2", "train_loss")
DEVICES = ("auto", "cpu", "cuda", "mps")
INITS = ("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")
CLASS_LOSSES = ("cross_entropy", "bce_with_logits", "nll")

TRAINING_FIELDS = (
    SettingSpec("task", "choice", "auto", "task", "auto: the dataset's own task; reconstruction trains an "
                "autoencoder (the target is the input).", TASKS),
    SettingSpec("epochs", "int", 10, "epochs", "Passes over the training data.", min=1, max=100_000),
    SettingSpec("batch_size", "int", 64, "batch size", "Samples per optimisation step.", min=1, max=1 << 20),
    SettingSpec("optimizer", "choice", "adam", "optimizer", "", OPTIMIZERS),
    SettingSpec("lr", "float", 1e-3, "learning rate", "Step size (the peak rate for one-cycle).",
                min=1e-8, max=10.0),
    SettingSpec("momentum", "float", 0.9, "momentum", "Momentum of SGD and RMSprop.", min=0.0, max=0.999,
                visible_when={"optimizer": ("sgd", "rmsprop")}),
    SettingSpec("nesterov", "bool", False, "Nesterov", "Nesterov momentum (SGD).",
                visible_when={"optimizer": ("sgd",)}),
    SettingSpec("weight_decay", "float", 0.0, "weight decay (L2)", "L2 penalty (decoupled for AdamW).",
                min=0.0, max=1.0),
    SettingSpec("l1", "float", 0.0, "L1 penalty", "Adds this times the sum of absolute weights to the loss.",
                min=0.0, max=1.0),
    SettingSpec("loss", "choice", "auto", "loss", "auto: cross-entropy for classes, MSE for values.", LOSSES),
    SettingSpec("huber_delta", "float", 1.0, "Huber delta", "", min=1e-6, max=1e6,
                visible_when={"loss": ("huber",)}),
    SettingSpec("schedule", "choice", "none", "LR schedule", "", SCHEDULES),
    SettingSpec("step_size", "int", 10, "step every (epochs)", "", min=1, max=100_000,
                visible_when={"schedule": ("step",)}),
    SettingSpec("gamma", "float", 0.1, "LR factor", "Multiplies the rate at each step or plateau.",
                min=1e-6, max=0.999999, visible_when={"schedule": ("step", "plateau")}),
    SettingSpec("schedule_patience", "int", 3, "plateau patience", "Epochs without improvement before the rate "
                "drops.", min=0, max=10_000, visible_when={"schedule": ("plateau",)}),
    SettingSpec("monitor", "choice", "val_loss", "monitor", "Metric that picks the best weights, drives "
                "early stopping and the plateau schedule.", MONITORS),
    SettingSpec("early_stopping", "bool", False, "early stopping", "Stop when the monitored metric stops "
                "improving."),
    SettingSpec("patience", "int", 5, "patience", "Epochs without improvement before stopping.", min=1,
                max=100_000, visible_when={"early_stopping": (True,)}),
    SettingSpec("min_delta", "float", 0.0, "min improvement", "Smaller changes do not count as improvement.",
                min=0.0, max=1e6, visible_when={"early_stopping": (True,)}),
    SettingSpec("restore_best", "bool", True, "restore best weights", "End with the best epoch's weights (they "
                "are the ones tested)."),
    SettingSpec("grad_clip", "float", None, "gradient clipping", "Largest gradient norm (empty: off).",
                min=1e-6, max=1e6, optional=True),
    SettingSpec("seed", "int", 0, "seed", "Seeds weights, shuffling, dropout and augmentation.", min=0,
                max=2**31 - 1),
    SettingSpec("device", "choice", "auto", "device", "auto: CUDA, then Apple MPS, then CPU.", DEVICES),
    SettingSpec("mixed_precision", "bool", True, "mixed precision", "bf16 (or fp16) autocast on CUDA; no effect "
                "on other devices."),
    SettingSpec("init", "choice", "default", "weight init", "", INITS),
)

_DATASET_SPECS = {s.name: s for s in DATASET_FIELDS}
_TRAINING_SPECS = {s.name: s for s in TRAINING_FIELDS}


def defaults(fields: tuple[SettingSpec, ...]) -> dict:
    """Every setting of a table at its default."""
    return {s.name: s.default for s in fields}


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def coerce_setting(spec: SettingSpec, value: Any, path: str) -> Any:
    """`value` checked against `spec`; raises SettingsError naming the JSON path."""
    if value is None:
        if spec.optional:
            return None
        raise SettingsError(f"{spec.name} cannot be empty (null); its default is {spec.default!r}", path)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError(f"{spec.name} must be true or false, not {_kind(value)}", path)
        return value
    if spec.kind == "choice":
        if value not in spec.choices or isinstance(value, bool):
            raise SettingsError(f"{spec.name} must be one of {', '.join(map(str, spec.choices))}, not {value!r}", path)
        return value
    if spec.kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SettingsError(f"{spec.name} must be a text, not {_kind(value)}", path)
        value = str(value).strip()
        if len(value) > 4096:
            raise SettingsError(f"{spec.name} is {len(value)} characters long; at most 4096", path)
        return value or (None if spec.optional else value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(f"{spec.name} must be a finite number, not {value!r}", path)
    if spec.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise SettingsError(f"{spec.name} must be a whole number, not {value!r}", path)
            value = int(value)
    else:
        value = float(value)
    if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
        raise SettingsError(f"{spec.name} must be between {spec.min:g} and {spec.max:g}, not {value!r}", path)
    return value


def _validate(data: Any, specs: dict[str, SettingSpec], path: str, section: str, fill: bool) -> dict:
    if not isinstance(data, dict):
        raise SettingsError(f"{section} must be an object, not {_kind(data)}", path)
    out = {}
    for key, value in data.items():
        spec = specs.get(key)
        if spec is None:
            raise SettingsError(f"unknown {section} setting {key!r}; known settings: {', '.join(specs)}",
                                f"{path}.{key if str(key).isidentifier() else repr(key)}")
        out[key] = coerce_setting(spec, value, f"{path}.{key}")
    full = {name: out.get(name, spec.default) for name, spec in specs.items()}
    return full if fill else {name: value for name, value in full.items() if name in out}


def validate_dataset_section(data: Any, path: str = "$.dataset", fill_defaults: bool = False) -> dict:
    """The dataset section checked (with every default filled in when asked); raises SettingsError.

    Project files keep only what the user set, so a saved project reads back equal; the trainer
    asks for the defaults.
    """
    d = _validate(data, _DATASET_SPECS, path, "dataset", True)
    if d["val_fraction"] + d["test_fraction"] > 0.9:
        raise SettingsError(f"validation ({d['val_fraction']:g}) and test ({d['test_fraction']:g}) fractions add up "
                            "to more than 0.9, leaving too little to train on; lower one of them",
                            f"{path}.test_fraction")
    if d["name"] in FILE_DATASETS and not d["path"]:
        raise SettingsError(f"the {d['name']} dataset reads your files: set path to the "
                            f"{'file' if d['name'] in ('csv', 'npz') else 'folder'}", f"{path}.path")
    return d if fill_defaults else _given(data, d)


def validate_training_section(data: Any, path: str = "$.training", fill_defaults: bool = False) -> dict:
    """The training section checked (with every default filled in when asked); raises SettingsError."""
    t = _validate(data, _TRAINING_SPECS, path, "training", True)
    if t["nesterov"] and (t["optimizer"] != "sgd" or t["momentum"] <= 0):
        raise SettingsError("Nesterov momentum needs optimizer sgd with momentum above 0", f"{path}.nesterov")
    if t["task"] in ("regression", "reconstruction") and t["loss"] in CLASS_LOSSES:
        raise SettingsError(f"loss {t['loss']} is for classes, but the task is {t['task']}; use mse, l1 or huber",
                            f"{path}.loss")
    if t["task"] == "classification" and t["loss"] in ("mse", "l1", "huber"):
        raise SettingsError(f"loss {t['loss']} is for values, but the task is classification; use cross_entropy, "
                            "bce_with_logits or nll", f"{path}.loss")
    return t if fill_defaults else _given(data, t)


def _given(data: dict, full: dict) -> dict:
    return {key: full[key] for key in data}
