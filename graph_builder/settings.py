"""Schema, defaults, validation and the evented models of a project's `dataset` and `training` sections.

One declarative table of schema Fields per section (STYLE rule 4): the Data and Training panels
build their forms from DATASET_FIELDS / TRAINING_FIELDS, load_project validates with them, and
the trainer reads the normalised dict. In the document each section is a SettingsSection: a
read-only mapping of what the user set, changed only through reversible commands (SetSetting,
ReplaceSettings) that emit events, as the graph is (DESIGN.md decision 11). Pure Python: no
torch and no Qt, so projects open and validate instantly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from collections.abc import Callable, Iterator

from psygnal import Signal, SignalGroup

from graph_builder.errors import EditError, ParamError, ProjectError, json_kind
from graph_builder.schema import Field
from graph_builder.tasks import SELECTABLE, all_monitors, resolve


class SettingsError(ProjectError):
    """A dataset or training setting that is missing, of the wrong type or out of range."""


# A setting is a schema Field, as a layer parameter is (one class, one `coerce`); the old name stays.
SettingSpec = Field


def _row(name: str, kind: str, default: Any, label: str, help: str = "", choices: tuple = (), **extra) -> Field:
    """A table row in the order the tables read: name, kind, default, label, help, choices."""
    return Field(name, kind, default, help, label=label, choices=choices, **extra)


# Names must match runtime.data's registry (a test checks they do; graph_builder cannot import runtime).
DATASET_NAMES = ("digits", "iris", "wine", "breast_cancer", "moons", "spirals", "sine", "waveforms", "sunspots",
                 "csv", "text", "series_csv", "npz", "image_folder", "mnist", "fashion_mnist", "cifar10")
FILE_DATASETS = ("csv", "series_csv", "text", "npz", "image_folder", "mnist", "fashion_mnist", "cifar10")
DOWNLOADABLE = ("mnist", "fashion_mnist", "cifar10")  # no path: the copy downloaded on request (runtime.data)
SYNTHETIC_DATASETS = ("moons", "spirals", "sine", "waveforms")
SEQUENCE_DATASETS = ("sine", "waveforms", "sunspots", "series_csv")
FORECAST_DATASETS = ("sine", "sunspots", "series_csv")  # a horizon of future values to predict
SERIES_DATASETS = ("sunspots", "series_csv")  # real series: split in time order (runtime/data/series.py)

DATASET_FIELDS = (
    _row("name", "choice", "digits", "dataset", "Which data to train on: bundled, synthetic or your files.",
                DATASET_NAMES),
    _row("path", "str", None, "file or folder", "Where the data lives (file datasets only).",
                optional=True, max_length=4096, visible_when={"name": FILE_DATASETS}),
    _row("target", "str", None, "target column", "CSV column holding the target or label (name or 0-based "
                "index); empty: the last (value) column (for text, a column named label or sentiment first).",
                optional=True, max_length=4096, visible_when={"name": ("csv", "series_csv", "text")}),
    _row("text_column", "str", None, "text column", "Column holding the text (name or 0-based index); empty: a "
                "column named text or review, else the first.", optional=True, max_length=4096,
                visible_when={"name": ("text",)}),
    _row("tokenizer", "choice", "word", "tokenizer", "word: one token per lower-cased word; bpe: byte-pair "
                "pieces, so unseen words still split into known parts. Learnt on the training split only.",
                ("word", "bpe"), visible_when={"name": ("text",)}),
    _row("vocab_size", "int", 5000, "vocabulary size", "Most tokens the vocabulary keeps (with [PAD] = 0 and "
                "[UNK] = 1); the Embedding's num_embeddings must be at least this.", min=10, max=1_000_000,
                visible_when={"name": ("text",)}),
    _row("max_length", "int", 128, "maximum length", "Tokens per text: longer texts are cut, shorter ones padded "
                "with 0 at the end.", min=1, max=8192, visible_when={"name": ("text",)}),
    _row("time_column", "str", None, "time column", "The series' time column (name or 0-based index): labels the "
                "steps, and numeric times must rise row by row. Empty: the rows are the steps, in file order.",
                optional=True, max_length=4096, visible_when={"name": ("series_csv",)}),
    _row("value_columns", "str", None, "value columns", "The columns the model reads at each step, separated by "
                "commas (the target is always one). Empty: every numeric column but the time.",
                optional=True, max_length=4096, visible_when={"name": ("series_csv",)}),
    _row("target_type", "choice", "auto", "target type", "classes: labels to predict; values: numbers "
                "to regress; auto decides from the column.", ("auto", "classes", "values"),
                visible_when={"name": ("csv",)}),
    _row("image_size", "int", 32, "image size", "Images are resized to this many pixels square.",
                min=4, max=512, visible_when={"name": ("image_folder",)}),
    _row("samples", "int", 1000, "samples", "How many samples to generate.", min=20, max=1_000_000,
                visible_when={"name": SYNTHETIC_DATASETS}),
    _row("noise", "float", None, "noise", "Noise added to the generated data (empty: the dataset's "
                "default).", min=0.0, max=10.0, optional=True, visible_when={"name": SYNTHETIC_DATASETS}),
    _row("seq_len", "int", 32, "sequence length", "Time steps per sequence (a series: the window of past steps "
                "the model reads).", min=1, max=4096, visible_when={"name": SEQUENCE_DATASETS}),
    _row("horizon", "int", 1, "forecast horizon", "How many future values to predict.", min=1, max=256,
                visible_when={"name": FORECAST_DATASETS}),
    _row("seed", "int", 0, "generator seed", "Seed of the synthetic data.", min=0, max=2**31 - 1,
                visible_when={"name": SYNTHETIC_DATASETS}),
    _row("val_fraction", "float", 0.2, "validation fraction", "Share of the data held out to validate "
                "each epoch (a series: the steps before the test part).", min=0.0, max=0.9),
    _row("test_fraction", "float", 0.2, "test fraction", "Share held out for the final test (ignored "
                "when the source has its own test set; a series: its last steps).", min=0.0, max=0.9),
    _row("split_seed", "int", 0, "split seed", "Seed of the stratified split.", min=0, max=2**31 - 1),
    _row("normalize", "bool", True, "normalise", "Standardise inputs with the training split's mean and "
                "standard deviation (per channel or feature)."),
    _row("augment_flip", "bool", False, "random flip", "Mirror training images left-right at random."),
    _row("augment_rotation", "float", 0.0, "random rotation (°)", "Rotate training images by up to this "
                "many degrees.", min=0.0, max=180.0),
    _row("augment_crop_padding", "int", 0, "random crop padding", "Pad training images by this many "
                "pixels and crop back at a random offset.", min=0, max=64),
    _row("augment_noise", "float", 0.0, "input noise", "Add Gaussian noise of this standard deviation "
                "to training inputs.", min=0.0, max=10.0),
    # the input adapter (graph_builder.input_adapter): what a pretrained backbone expects of its images
    _row("input_height", "int", None, "resize to height", "Resize images to this height (and the width below) "
                "before the network sees them (empty: as loaded).", optional=True, min=4, max=1024),
    _row("input_width", "int", None, "resize to width", "Resize images to this width (and the height above) "
                "before the network sees them (empty: as loaded).", optional=True, min=4, max=1024),
    _row("input_gray_to_rgb", "bool", False, "grey to 3 channels", "Repeat a grey image's channel three times, "
                "as ImageNet backbones expect (3-channel images stay as they are)."),
    _row("input_normalization", "choice", "none", "backbone normalisation", "Normalise pixels (scaled to 0–1) "
                "with a backbone's mean and std: imagenet for torchvision's pretrained models, or custom. Replaces "
                "'normalise' when set.", ("none", "imagenet", "custom")),
    _row("input_mean", "str", None, "mean", "Per-channel mean of 0–1 pixels: one value or three "
                "(0.485, 0.456, 0.406).", optional=True, max_length=200,
                visible_when={"input_normalization": ("custom",)}),
    _row("input_std", "str", None, "std", "Per-channel standard deviation of 0–1 pixels: one value or three "
                "(0.229, 0.224, 0.225).", optional=True, max_length=200,
                visible_when={"input_normalization": ("custom",)}),
    # ---- class subset and label budget (transfer learning: train on some classes, or few labels)
    _row("classes", "str", None, "classes", "Train on these classes only, relabelled 0… in this order: "
                "names or ranges separated by commas (\"5-9\", \"cat, dog\"); empty: every class.",
                optional=True, max_length=4096),
    _row("train_fraction", "float", 1.0, "training fraction", "Share of the training split to train on "
                "(stratified, seeded by the split seed); validation and test stay whole.", min=0.001, max=1.0),
    # ---- end of class subset and label budget
)

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LOSSES = ("auto", "cross_entropy", "bce_with_logits", "mse", "l1", "huber", "nll")
SCHEDULES = ("none", "step", "cosine", "plateau", "one_cycle")
DEVICES = ("auto", "cpu", "cuda", "mps")
INITS = ("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")

TRAINING_FIELDS = (
    _row("task", "choice", "auto", "task", "auto: the dataset's own task; reconstruction trains an "
                "autoencoder (the target is the input); forecasting is regression on a time series, shown against "
                "the naive last-value forecast.", SELECTABLE),
    _row("denoise", "float", 0.0, "denoising noise", "Std of Gaussian noise added to the input of an "
                "autoencoder; the clean input stays the target (0: off).", min=0.0, max=10.0,
                tags=frozenset({"autoencoder"})),
    _row("beta", "float", 1.0, "KL weight β", "Weight of a Gaussian latent layer's KL term in a VAE's loss.",
                min=0.0, max=1000.0, tags=frozenset({"vae"})),
    _row("beta_warmup", "int", 0, "β warm-up (epochs)", "Raise β linearly over these first epochs (0: off).",
                min=0, max=100_000, tags=frozenset({"vae"})),
    _row("generator", "str", None, "GAN generator", "Name of the network that turns noise (its Input) into "
                "samples; with a discriminator set, the run trains a GAN.", optional=True,
                tags=frozenset({"gan_roles"})),
    _row("discriminator", "str", None, "GAN discriminator", "Name of the network that tells real samples "
                "from generated ones (one logit per sample).", optional=True, tags=frozenset({"gan_roles"})),
    # tags: the tasks a setting applies to (graph_builder.tasks: TaskSpec.setting_tags); the form, the
    # tuner and SetSetting offer a tagged setting only to a task with one of its tags
    _row("lr_d", "float", None, "discriminator learning rate", "GAN only (empty: the learning rate).",
                min=1e-8, max=10.0, optional=True, tags=frozenset({"gan"})),
    _row("gan_beta1", "float", 0.5, "GAN Adam β1", "β1 of both GAN optimizers (Adam).", min=0.0, max=0.999,
                tags=frozenset({"gan"})),
    _row("label_smoothing", "float", 0.0, "one-sided label smoothing", "GAN: the discriminator's target for "
                "real samples is 1 minus this.", min=0.0, max=0.5, tags=frozenset({"gan"})),
    _row("epochs", "int", 10, "epochs", "Passes over the training data.", min=1, max=100_000),
    _row("batch_size", "int", 64, "batch size", "Samples per optimisation step.", min=1, max=1 << 20),
    _row("optimizer", "choice", "adam", "optimizer", "", OPTIMIZERS, tags=frozenset({"optimizer"})),
    _row("lr", "float", 1e-3, "learning rate", "Step size (the peak rate for one-cycle).",
                min=1e-8, max=10.0),
    _row("pretrained_lr_factor", "float", 0.1, "pretrained LR factor", "The trainable weights that came "
                "from pretrained weights learn at the learning rate times this (1: the same rate).",
                min=0.0, max=10.0, tags=frozenset({"optimizer"})),
    _row("momentum", "float", 0.9, "momentum", "Momentum of SGD and RMSprop.", min=0.0, max=0.999,
                visible_when={"optimizer": ("sgd", "rmsprop")}, tags=frozenset({"optimizer"})),
    _row("nesterov", "bool", False, "Nesterov", "Nesterov momentum (SGD).",
                visible_when={"optimizer": ("sgd",)}, tags=frozenset({"optimizer"})),
    _row("weight_decay", "float", 0.0, "weight decay (L2)", "L2 penalty (decoupled for AdamW).",
                min=0.0, max=1.0),
    _row("l1", "float", 0.0, "L1 penalty", "Adds this times the sum of absolute weights to the loss.",
                min=0.0, max=1.0, tags=frozenset({"optimizer"})),
    _row("loss", "choice", "auto", "loss", "auto: cross-entropy for classes, MSE for values.", LOSSES,
                tags=frozenset({"loss"})),
    _row("huber_delta", "float", 1.0, "Huber delta", "", min=1e-6, max=1e6,
                visible_when={"loss": ("huber",)}, tags=frozenset({"loss"})),
    _row("schedule", "choice", "none", "LR schedule", "", SCHEDULES),
    _row("step_size", "int", 10, "step every (epochs)", "", min=1, max=100_000,
                visible_when={"schedule": ("step",)}),
    _row("gamma", "float", 0.1, "LR factor", "Multiplies the rate at each step or plateau.",
                min=1e-6, max=0.999999, visible_when={"schedule": ("step", "plateau")}),
    _row("schedule_patience", "int", 3, "plateau patience", "Epochs without improvement before the rate "
                "drops.", min=0, max=10_000, visible_when={"schedule": ("plateau",)}),
    _row("monitor", "choice", "val_loss", "monitor", "Metric that picks the best weights, drives "
                "early stopping and the plateau schedule.", all_monitors()),
    _row("early_stopping", "bool", False, "early stopping", "Stop when the monitored metric stops "
                "improving."),
    _row("patience", "int", 5, "patience", "Epochs without improvement before stopping.", min=1,
                max=100_000, visible_when={"early_stopping": (True,)}),
    _row("min_delta", "float", 0.0, "min improvement", "Smaller changes do not count as improvement.",
                min=0.0, max=1e6, visible_when={"early_stopping": (True,)}),
    _row("restore_best", "bool", True, "restore best weights", "End with the best epoch's weights (they "
                "are the ones tested)."),
    _row("stop_on_divergence", "bool", True, "stop when diverging", "End the run when the loss diverges "
                "or the accuracy stays at chance for 3 epochs (it is listed as diverged)."),
    _row("grad_clip", "float", None, "gradient clipping", "Largest gradient norm (empty: off).",
                min=1e-6, max=1e6, optional=True),
    _row("seed", "int", 0, "seed", "Seeds weights, shuffling, dropout and augmentation.", min=0,
                max=2**31 - 1),
    _row("device", "choice", "auto", "device", "auto: CUDA, then Apple MPS, then CPU.", DEVICES),
    _row("mixed_precision", "bool", True, "mixed precision", "bf16 (or fp16) autocast on CUDA; no effect "
                "on other devices."),
    _row("init", "choice", "default", "weight init", "", INITS),
    _row("folds", "int", 1, "cross-validation folds", "k-fold cross-validation (stratified for classes): "
                "k runs, each validated on one fold; 1 trains once.", min=1, max=20),
)

_DATASET_SPECS = {s.name: s for s in DATASET_FIELDS}
_PATH_KIND = {"csv": "file", "npz": "file", "text": "CSV/TSV file or class folder"}


def training_fields() -> tuple[Field, ...]:
    """The training section's fields: the table above, then the settings registered tasks add (TaskSpec.own_settings)."""
    from graph_builder.tasks import TASKS

    own = tuple(f for spec in TASKS.values() for f in spec.own_settings)
    return TRAINING_FIELDS + own if own else TRAINING_FIELDS


def _training_specs() -> dict[str, Field]:
    return {s.name: s for s in training_fields()}


def defaults(fields: tuple[SettingSpec, ...]) -> dict:
    """Every setting of a table at its default."""
    return {s.name: s.default for s in fields}


def coerce_setting(spec: SettingSpec, value: Any, path: str) -> Any:
    """`value` checked against `spec`; raises SettingsError naming the JSON path."""
    try:
        return spec.coerce(value)
    except ParamError as exc:
        raise SettingsError(str(exc), path) from None


def _validate(data: Any, specs: dict[str, SettingSpec], path: str, section: str, fill: bool) -> dict:
    if not isinstance(data, Mapping):
        raise SettingsError(f"{section} must be an object, not {json_kind(data)}", path)
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
    if d["classes"] is not None:
        try:
            class_selection(d["classes"])
        except ValueError as exc:
            raise SettingsError(str(exc), f"{path}.classes") from None
    if d["name"] in FILE_DATASETS and d["name"] not in DOWNLOADABLE and not d["path"]:
        raise SettingsError(f"the {d['name']} dataset reads your files: set path to the "
                            f"{_PATH_KIND.get(d['name'], 'folder')}", f"{path}.path")
    from graph_builder.input_adapter import AdapterError, InputAdapter

    try:
        InputAdapter.from_dataset(d, path)
    except AdapterError as exc:
        raise SettingsError(exc.message, exc.path) from None
    return d if fill_defaults else _given(data, d)


def class_selection(text: str) -> tuple[str, ...]:
    """The class names a `classes` setting picks, in order: "5-9" -> ('5', …, '9'); ValueError if malformed."""
    import re

    picked: list[str] = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            raise ValueError(f"classes {text!r} has an empty item; write names or ranges separated by commas, "
                             "such as 5-9 or cat, dog")
        span = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
        if span:
            lo, hi = int(span.group(1)), int(span.group(2))
            if hi < lo or hi - lo > 10_000:
                raise ValueError(f"the class range {item!r} runs backwards or is too long; write it low-high, "
                                 "such as 5-9")
            names = [str(i) for i in range(lo, hi + 1)]
        else:
            names = [item]
        for name in names:
            if name in picked:
                raise ValueError(f"class {name!r} is named twice in classes {text!r}; name each class once")
            picked.append(name)
    if len(picked) < 2:
        raise ValueError(f"classes {text!r} picks {len(picked)} class; a classifier needs at least two")
    return tuple(picked)


def dataset_beside(dataset: Mapping, project_file: str | os.PathLike | None) -> dict:
    """The dataset section with a relative path read from the project file's folder, not the
    current directory (an untitled project keeps its path as written)."""
    d = dict(dataset)
    path = d.get("path")
    if not path or project_file is None or os.path.isabs(os.path.expanduser(path)):
        return d
    d["path"] = os.path.join(os.path.dirname(os.path.abspath(project_file)), path)
    return d


def validate_training_section(data: Any, path: str = "$.training", fill_defaults: bool = False) -> dict:
    """The training section checked (with every default filled in when asked); raises SettingsError."""
    t = _validate(data, _training_specs(), path, "training", True)
    if t["nesterov"] and (t["optimizer"] != "sgd" or t["momentum"] <= 0):
        raise SettingsError("Nesterov momentum needs optimizer sgd with momentum above 0", f"{path}.nesterov")
    if t["task"] != "auto":  # with task auto the data decides the task, and the data is not known here
        for name, message in resolve(t).settings_problems(t):
            raise SettingsError(message, f"{path}.{name}")
    return t if fill_defaults else _given(data, t)


def _given(data: dict, full: dict) -> dict:
    return {key: full[key] for key in data}


# ---------------------------------------------------------------- the document's sections


class SettingsEvents(SignalGroup):
    """What views of a section listen to; `changed` fires once after every applied command."""

    value_changed = Signal(str, object)  # a setting's effective value now (its default when unset)
    changed = Signal()
    offered_changed = Signal()  # the rest of the document now offers other settings (another task)


class Scope(Protocol):
    """What the rest of the document offers a section: the Field.tags that apply for its values."""

    def tags(self, values: Mapping[str, Any]) -> frozenset[str]: ...


class SettingsCommand:
    """A reversible edit of a settings section: `apply` performs it and returns its inverse."""

    @property
    def title(self) -> str:
        """What Edit ▸ Undo names."""
        return "Edit settings"

    def apply(self, section: SettingsSection) -> SettingsCommand:
        raise NotImplementedError


@dataclass
class SetSetting(SettingsCommand):
    """Set one setting; settings it leaves inapplicable (Nesterov after leaving SGD) are unset."""

    name: str
    value: Any

    @property
    def title(self) -> str:
        return f"Set {self.name}"

    def apply(self, section: SettingsSection) -> SettingsCommand:
        value = section.field(self.name).coerce(self.value)
        before = dict(section)
        # A setting the change makes inapplicable would make the file contradict itself (and
        # refuse to open), so it goes; undo puts it back.
        after = section._applicable({**before, self.name: value}, keep=self.name)
        section._assign(after)
        if self.name in before and set(after) == set(before):
            return SetSetting(self.name, before[self.name])
        return ReplaceSettings(before, self.title)


@dataclass
class ReplaceSettings(SettingsCommand):
    """Make `values` exactly what the section holds (opening a file, undoing a SetSetting)."""

    values: dict
    label: str = "Replace settings"

    @property
    def title(self) -> str:
        return self.label

    def apply(self, section: SettingsSection) -> SettingsCommand:
        after = {name: section.field(name).coerce(value) for name, value in dict(self.values).items()}
        before = dict(section)
        section._assign(after)
        return ReplaceSettings(before, self.label)


class SettingsSection(Mapping):
    """One section of the document (dataset or training): what the user set, defaults on request.

    Reads like a dict of the values the user set (`section.get("epochs")`, `dict(section)`);
    `full()` fills in every default for the trainer. Changes go through `apply(command)`, which
    returns the command's inverse and emits `events.value_changed` per changed setting, then
    `events.changed` once.
    """

    def __init__(self, name: str, fields: tuple[Field, ...], check: Callable[..., dict],
                 values: Mapping | None = None) -> None:
        self.name = name
        self.fields = {f.name: f for f in fields}
        self._check = check
        self._values: dict = {}
        self.events = SettingsEvents()
        self.scope: Scope | None = None  # the project's task scope (training); None: every tagged setting applies
        if values:
            ReplaceSettings(dict(values)).apply(self)

    # ------------------------------------------------------------ editing (commands only)

    def apply(self, command: SettingsCommand) -> SettingsCommand:
        """Perform `command` and return its inverse; a refused value raises and changes nothing."""
        inverse = command.apply(self)
        self.events.changed.emit()
        return inverse

    def set(self, name: str, value: Any) -> None:
        """Set one setting (a bad value raises ParamError and changes nothing)."""
        self.apply(SetSetting(name, value))

    def update(self, values: Mapping) -> None:
        """Set several settings at once, keeping the others."""
        self.apply(ReplaceSettings({**self._values, **values}))

    def replace(self, values: Mapping) -> None:
        """Hold exactly `values`: every other setting is back at its default."""
        self.apply(ReplaceSettings(dict(values)))

    # ------------------------------------------------------------ queries

    def field(self, name: str) -> Field:
        """The schema Field of setting `name`; EditError naming the known ones if there is none."""
        try:
            return self.fields[name]
        except (KeyError, TypeError):
            known = ", ".join(self.fields)
            raise EditError(f"there is no {self.name} setting {name!r}; known settings: {known}") from None

    def value(self, name: str) -> Any:
        """The setting's effective value: what the user set, else its default."""
        return self._values[name] if name in self._values else self.field(name).default

    def full(self) -> dict:
        """Every setting, defaults filled in (what the trainer runs with)."""
        return {name: self.value(name) for name in self.fields}

    def applies(self, name: str, values: Mapping[str, Any] | None = None) -> bool:
        """Whether setting `name` means anything for the others' values (the current ones by default).

        Its visible_when rule must hold, and a tagged setting must be one the task these values
        make offers (the scope: graph_builder.tasks.offered_tags).
        """
        full = self.full() if values is None else {n: values.get(n, f.default) for n, f in self.fields.items()}
        return self._offered(self.field(name), full, self._tags(full))

    def applying(self, values: Mapping[str, Any] | None = None) -> frozenset[str]:
        """The names of every setting that applies with these values (the current ones by default)."""
        full = self.full() if values is None else {n: values.get(n, f.default) for n, f in self.fields.items()}
        tags = self._tags(full)
        return frozenset(n for n, f in self.fields.items() if self._offered(f, full, tags))

    def _tags(self, full: Mapping[str, Any]) -> frozenset[str] | None:
        return self.scope.tags(full) if self.scope is not None else None

    @staticmethod
    def _task_offers(f: Field, tags: frozenset[str] | None) -> bool:
        return tags is None or not f.tags or bool(f.tags & tags)

    @classmethod
    def _offered(cls, f: Field, full: Mapping[str, Any], tags: frozenset[str] | None) -> bool:
        return f.applies(dict(full)) and cls._task_offers(f, tags)

    def check(self) -> dict:
        """The full section checked across settings, as loading a file checks it; raises SettingsError."""
        return self._check(dict(self._values), f"$.{self.name}", fill_defaults=True)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<{self.name} settings {self._values!r}>"

    def copy(self) -> SettingsSection:
        """A new section (with its own events) holding the same values."""
        return SettingsSection(self.name, tuple(self.fields.values()), self._check, self._values)

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> SettingsSection:
        return self.copy()

    # ------------------------------------------------------------ primitive mutation (commands only)

    def _applicable(self, values: dict, keep: str) -> dict:
        """`values` without the settings they leave inapplicable. `keep` (the one being set) stays unless the
        task does not offer it: a trial or a script cannot revive a setting the task has no use for."""
        while True:
            full = {name: values.get(name, f.default) for name, f in self.fields.items()}
            tags = self._tags(full)
            dropped = [n for n in values if not self._offered(self.fields[n], full, tags)
                       and (n != keep or not self._task_offers(self.fields[n], tags))]
            if not dropped:
                return values
            values = {n: v for n, v in values.items() if n not in dropped}

    def _assign(self, values: dict) -> None:
        before = self.full()
        self._values = dict(values)
        for name, value in self.full().items():
            if value != before[name] or type(value) is not type(before[name]):
                self.events.value_changed.emit(name, value)


SECTIONS = {  # section name -> (its fields, its whole-section check)
    "dataset": (lambda: DATASET_FIELDS, validate_dataset_section),
    "training": (training_fields, validate_training_section),
}


def section(name: str, values: Mapping | None = None) -> SettingsSection:
    """A `name` section ("dataset" or "training") holding `values`; a section of that name is kept as it is."""
    if isinstance(values, SettingsSection) and values.name == name:
        return values
    fields, check = SECTIONS[name]
    return SettingsSection(name, fields(), check, values)
