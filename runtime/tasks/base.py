"""What a task does with torch: its networks, objective and build, its views, samples, predictions and script part.

A TaskRuntime is joined to its spec (graph_builder.tasks) by the task's id, as a layer's lowering is
joined to its LayerSpec. The trainer, the exported script, the CLI and the exporters ask it; none of
them tests a task's name. Building is split in two so the app and the script share it:

- `networks` and `settings` (here, with graph_builder and the compiler): the task's modules, built
  and seeded, and the plain settings `s` (loss, classes, monitor, frozen and pretrained layers …)
  resolved from the project and the data;
- `assemble(models, s, t, device, amp, steps, world)`: a plain-torch function of the task's module
  that makes the Built the loop drives. The exported script embeds that very function with its
  engine, and calls it with the same `s` written out as a literal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from graph_builder.data_description import DataDescription
from graph_builder.protocols import ProjectLike
from graph_builder.tasks import TaskSettingError, TaskSpec
from runtime.train.errors import ModelDataMismatchError, TrainingSettingError
from runtime.train.loop import Built, Epoch
from runtime.train.optim import forward

TARGET_DTYPES = {"labels": torch.long, "values": torch.float32, "input": torch.float32, "none": None}


class Objective(Protocol):
    """What the loop asks of an objective (runtime.train.objectives, runtime.train.gan_objective)."""

    def bind(self, model: nn.Module) -> Objective: ...

    def begin_epoch(self, epoch: int) -> None: ...

    def meter(self, device: torch.device, keep_scores: bool) -> Any: ...

    def update(self, meter: Any, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None: ...

    def evaluate(self, model: nn.Module, batches: Any, device: torch.device, amp: torch.dtype | None = None) -> Any: ...

    def nonfinite_network(self) -> str | None: ...


@dataclass
class Setup:
    """What a task's build is given, once per run: the settings, the data (on the device) and the project."""

    project: ProjectLike | None
    module: nn.Module | None  # a module given in code (train(module=…)) instead of the project's network
    t: dict  # the training settings, every default filled in
    splits: Any  # runtime.data.Splits
    description: DataDescription
    data: dict  # split name -> runtime.data.DeviceSplit
    device: torch.device
    amp: torch.dtype | None
    steps: int  # batches per epoch
    project_path: Any = None  # where the project's pretrained weights are read from
    pretrained: Mapping[str, Any] | None = None  # the script's starting weights instead of the project's sources


class Views:
    """A run's per-epoch and end-of-run views: (event type, data) pairs its task's dashboard tabs show."""

    def epoch(self, end: Epoch) -> list[tuple[str, dict]]:
        return []

    def final(self, epoch: int, test_meter: Any) -> list[tuple[str, dict]]:
        return []


Sampler = Callable[[int, "torch.Generator | None"], torch.Tensor]


@dataclass
class ScriptPart:
    """A task's part of the exported training script (runtime/export/script.py writes it)."""

    classes: dict[str, str]  # role -> the class the script builds for it, in role order (seed offsets)
    settings: dict  # `s`: the plain settings assemble() takes, written as a literal
    assemble: Callable  # the task's plain-torch assemble function, embedded with inspect.getsource
    engine: tuple = ()  # what it needs beyond the common engine: modules (the GAN objective) or classes, embedded
    starting: dict[str, dict] = field(default_factory=dict)  # role -> pretrained starting tensors to write beside


class TaskRuntime:
    """The runtime half of one task; subclasses are registered in runtime.tasks by their spec's id."""

    spec: TaskSpec
    engine: tuple = ()  # modules or classes its assemble() needs beyond metrics, optim, objectives and loop

    @property
    def target_dtype(self) -> torch.dtype | None:
        """The dtype its targets are held in on the device (class labels are long, values float)."""
        return TARGET_DTYPES[self.spec.target]

    # ------------------------------------------------------------ building

    def networks(self, setup: Setup) -> tuple[dict[str, nn.Module], list[str]]:
        """(role -> its module, seeded and with its starting weights; the state-dict keys pretrained weights filled)."""
        raise NotImplementedError

    def settings(self, setup: Setup, models: dict[str, nn.Module], pretrained: list[str]) -> dict:
        """The plain settings `s` assemble() takes (JSON values only): the script writes them as a literal."""
        raise NotImplementedError

    @staticmethod
    def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
                 world: int = 1) -> Built:
        raise NotImplementedError

    def build(self, setup: Setup) -> tuple[Built, dict]:
        """What the loop drives for this run, and its plain settings (recorded and written into the script)."""
        models, pretrained = self.networks(setup)
        s = self.settings(setup, models, pretrained)
        built = self.assemble(models, s, setup.t, setup.device, setup.amp, setup.steps)
        if not built.params:
            frozen = any(not p.requires_grad for p in built.model.parameters())
            if frozen:
                raise ModelDataMismatchError("every layer with weights is frozen, so nothing would train; unfreeze "
                                             "the new head (or choose Edit ▸ Transfer learning ▸ Full fine-tuning)")
            raise ModelDataMismatchError("the model has no trainable parameters; add a layer with weights "
                                         "(Linear, Conv2d, …) before training")
        return built, s

    def monitor(self, t: dict, classes: int, has_val: bool) -> dict:
        """The monitored split and metric of `t` with its direction, as `s` holds them."""
        try:
            split, metric = self.spec.monitor(t["monitor"], classes, has_val)
        except TaskSettingError as exc:
            raise TrainingSettingError(str(exc)) from None
        return {"monitor": [split, metric.key], "lower_is_better": metric.lower_is_better}

    def loss(self, t: dict) -> str | None:
        """The loss the task trains with for the `loss` setting (auto resolved); None: its own."""
        try:
            return self.spec.resolve_loss(t["loss"])
        except TaskSettingError as exc:
            raise TrainingSettingError(str(exc)) from None

    # ------------------------------------------------------------ what a run shows and gives

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        """The views this task's runs emit after each epoch and at the end (none by default)."""
        return Views()

    def sampler(self, project: ProjectLike, config: Mapping, state: dict, device: torch.device) -> Sampler | None:
        """A function (n, generator) -> samples from a finished run's weights `state`; None: not generative."""
        return None

    def predictions(self, prep: Any, labels: list[str], out: np.ndarray) -> list[dict]:
        """One row per predicted sample (`netcanvas predict`, Evaluate): its values, by default."""
        return [{"input": label, "values": o.reshape(-1).tolist()} for label, o in zip(labels, out)]

    def demo_lines(self, prep: Any, out_values: int, real: bool) -> list[str]:
        """The last lines of an exported run's demo, after `output = model(x)`: what the output says."""
        return ["    print(output[0].tolist())"]

    def raw_output(self, prep: Any) -> bool:
        """Whether a run's exported model turns its output back into raw data units (it learnt normalised data)."""
        return False

    def offers_export(self, key: str) -> bool:
        """Whether this task has export format `key` (runtime.export.registry); every registered one by default."""
        return True

    def exporters(self) -> dict[str, Callable]:
        """Export formats this task writes its own way: key -> writer(Request) -> Written, or None to leave
        a request to the format's own writer (runtime.export.registry)."""
        return {}

    def script(self, project: ProjectLike, setup: Setup) -> ScriptPart:
        """Its part of the exported training script: classes, settings, assemble and starting weights."""
        models, pretrained = self.networks(setup)
        s = self.settings(setup, models, pretrained)
        starting = {}
        if pretrained:
            (role, model), = models.items()
            state = model.state_dict()
            starting[role] = {k: state[k].detach().cpu().contiguous() for k in pretrained}
        return ScriptPart({r.name: r.class_name for r in self.spec.roles}, s, type(self).assemble, self.engine,
                          starting)


# ---------------------------------------------------------------- helpers a task's build uses

def probe_output(model: nn.Module, setup: Setup) -> tuple[int, ...]:
    """The model's output shape (without the batch) for two training samples, in eval mode."""
    probe = setup.data["train"].x[:2]
    if not setup.data["train"].resident:
        probe = probe.to(setup.device)
    was = model.training
    model.eval()
    with torch.no_grad():
        out = forward(model, probe, setup.amp)
    model.train(was)
    return tuple(out.shape[1:])


def shape_words(shape: tuple) -> str:
    return f"(N, {', '.join(map(str, shape))})"


def check_values(shape: tuple, target: tuple, what: str) -> None:
    """A model's output must hold as many values per sample as the target (`what`: "regression target")."""
    if math.prod(shape) != math.prod(target):
        raise ModelDataMismatchError(
            f"the model's output has shape {shape_words(shape)} but the {what} has shape {shape_words(target)}; "
            f"make the last layer produce {math.prod(target)} values per sample")
