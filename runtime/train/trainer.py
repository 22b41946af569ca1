"""The training engine: a generator of small plain-dict events (docs/events.md).

    for event in train(project, run_dir="runs/1"):
        print(event["type"])

The same generator runs in-process (the CLI) and in a spawned child process (the app, through
`run_in_child`, events over a multiprocessing queue). Stop and pause are flags checked before
every batch. The data is held on the device and batched by index (DESIGN.md decision 7).
Batch and progress events are throttled to ~20 per second, and the loss is checked for
NaN/inf on the device, so the loop never waits for the host between those points.

A run folder holds config.json, metrics.jsonl (every event but batch and progress), best and
last weights (safetensors), checkpoint.pt (plain tensors and dicts, read back with
weights_only=True) and confusion matrices (confusion/*.json). `resume=True` continues it.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph_builder.files import WriteError, write_atomic

from runtime.data import Augmentation, DataError, DeviceSplit, Splits, dataset_config, load_splits
from runtime.errors import NetCanvasRuntimeError
from runtime.events import LOGGED, make
from runtime.train.errors import (CheckpointError, DeviceUnavailableError, ModelDataMismatchError, NonFiniteLossError,
                                  TrainingError, TrainingMemoryError, TrainingSettingError)
from runtime.train.runlog import METRICS, RunLog, check_checkpoint, read_config
from runtime.train.gan import gan_problem, is_gan, noise_shape
from runtime.train.objectives import (CHECKPOINT_FORMAT, EVAL_BATCH, GANStep, ObjectiveError, Optimizers, RunState, Step,
                                amp_dtype, end_of_epoch_schedule, evaluate, forward, freeze, hold_frozen, make_gan,
                                make_objective, make_optimizer, make_scheduler, resolve_loss, resolve_monitor)
from runtime.train.sanity import SanityWatch, settings_warnings
from runtime.train.monitor import TensorBoardSink

EVENT_INTERVAL_S = 0.05  # batch/progress events at most ~20 per second
CHECKPOINT = "checkpoint.pt"


@dataclass
class Control:
    """Flags the loop checks before each batch; members may be threading or multiprocessing Events."""

    stop: Any = field(default_factory=threading.Event)
    pause: Any = field(default_factory=threading.Event)

    @classmethod
    def of(cls, control: Any) -> "Control":
        """A Control from None, a Control, or a dict {"stop": Event, "pause": Event} (the app's form)."""
        if control is None:
            return cls()
        if isinstance(control, Control):
            return control
        if isinstance(control, dict):
            return cls(control.get("stop") or threading.Event(), control.get("pause") or threading.Event())
        return cls(getattr(control, "stop"), getattr(control, "pause"))


# ---------------------------------------------------------------- devices

def select_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA, then Apple MPS, then CPU; a named device must exist."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("device cuda was chosen but this machine has no usable CUDA GPU (or this torch "
                                     "build has no CUDA); choose auto or cpu")
    if name == "mps" and not has_mps:
        raise DeviceUnavailableError("device mps was chosen but Apple MPS is not available here; choose auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """A readable name of `device`, e.g. 'NVIDIA H100 (cuda)' or 'CPU, 2 threads'."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    if device.type == "mps":
        return "Apple GPU (mps)"
    threads = torch.get_num_threads()
    return f"CPU {platform.machine()}, {threads} thread{'' if threads == 1 else 's'}"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors and CPU allocator failures."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())) or isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "DefaultCPUAllocator" in text
                                              or "not enough memory" in text)


# ---------------------------------------------------------------- public entry points

def train(project: Any = None, *, module: nn.Module | None = None, dataset: dict | None = None,
          training: dict | None = None, run_dir: str | os.PathLike | None = None, control: Any = None,
          resume: bool = False, live: bool = True, splits: Splits | None = None,
          project_path: str | os.PathLike | None = None) -> Iterator[dict]:
    """Train and yield events; ends with exactly one finished, stopped or failed event.

    `project` (a Project or its dict) gives the graph and both settings sections; `module`
    replaces the graph's model, and `dataset`/`training` override single settings. With
    `resume`, `run_dir`'s checkpoint is continued. `live=False` leaves out batch/progress events.
    `splits` replaces the dataset's own split (a cross-validation fold, runtime.train.crossval).
    `project_path` is the project's file: its imported weights and weight sources are read from
    beside it (runtime.pretrained), and training starts from them.
    """
    return _Run(project, module, dataset, training, run_dir, Control.of(control), resume, live, splits,
                project_path).events()


def run_in_child(project_dict: dict, run_dir: str, queue, control, resume: bool = False,
                 project_path: str | None = None) -> None:
    """Entry point of the spawned training process: events go to `queue`, one dict at a time."""
    for event in train(project_dict, run_dir=run_dir, control=control, resume=resume, project_path=project_path):
        queue.put(event)


def last_event(events: Iterator[dict]) -> dict:
    """Drain an event generator and return its final event."""
    event: dict = {}
    for event in events:
        pass
    return event


# ---------------------------------------------------------------- the run

class _Stopped(Exception):
    pass


class _Run:
    def __init__(self, project, module, dataset, training, run_dir, control: Control, resume: bool, live: bool,
                 splits: Splits | None = None, project_path: str | os.PathLike | None = None):
        self.project_in = project
        self.project_path = project_path
        self.pretrained_keys: list[str] = []  # the state-dict keys the pretrained weights filled
        self.frozen_norms: list[nn.Module] = []  # BatchNorm layers of frozen nodes: kept in eval mode
        self.module_in = module
        self.dataset_over = dataset or {}
        self.training_over = training or {}
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.control = control
        self.resume = resume
        self.live = live
        self.splits_in = splits
        self.epoch = 0
        self.batch = None
        self.batch_size = None
        self.device: torch.device | None = None
        self._log: RunLog | None = None
        self._log_bytes: int | None = None  # how much of metrics.jsonl the resumed checkpoint covers
        self._resumed_epoch: int | None = None
        self._tensorboard = TensorBoardSink()  # every run also writes TensorBoard event files
        self._t0 = time.perf_counter()
        self.network: dict | None = None  # what config.json says was trained (fingerprint, parameters, title)
        self.state = RunState()  # epoch, step, best and patience: with the modules' states, the checkpoint
        self._report = None  # runtime.generate.generative's views of a reconstruction, VAE or GAN run

    # ----- event plumbing
    def _emit(self, type_: str, **data) -> dict:
        event = make(type_, **data)  # declared in runtime/events.py
        if self._log is not None and type_ in LOGGED:
            try:
                self._log.write(event, default=_jsonable)
            except WriteError:
                if type_ != "failed":
                    raise
                self._log.close()  # the failure is reported as an event, not a second traceback
                self._log = None
        self._tensorboard(event)
        return event

    def events(self) -> Iterator[dict]:
        try:
            yield from self._events()
        except _Stopped:
            pass
        except GeneratorExit:
            raise
        except BaseException as exc:  # every failure ends the stream with one failed event
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            yield self._failed(exc)
        finally:
            self._tensorboard.close()
            if self._log is not None:
                self._log.close()  # never raises: a failed write was already reported
                self._log = None

    def _failed(self, exc: BaseException) -> dict:
        where = {"epoch": self.epoch or None, "batch": self.batch}
        if isinstance(exc, DataError):  # data errors first: a too-large dataset is not a batch-size problem
            return self._emit("failed", kind="data", message=f"The dataset could not be used: {exc}", **where)
        if is_out_of_memory(exc) and not hasattr(self, "splits"):
            return self._emit("failed", kind="data", message="The dataset could not be loaded: it does not fit in "
                              "memory; use a smaller dataset (or a smaller image size)", **where)
        if isinstance(exc, TrainingMemoryError):
            return self._emit("failed", kind="oom", message=str(exc), batch_size_to_try=exc.batch_size_to_try, **where)
        if is_out_of_memory(exc):
            bs = self.batch_size or 0
            smaller = max(1, bs // 2)
            at = f" at epoch {self.epoch}, batch {self.batch + 1}" if self.batch is not None and self.epoch else ""
            message = (f"Ran out of memory on {self.device or 'the device'}{at} with batch size {bs}. "
                       f"Try batch size {smaller}, or a smaller model.")
            return self._emit("failed", kind="oom", message=message, batch_size_to_try=smaller, **where)
        if isinstance(exc, WriteError):
            return self._emit("failed", kind="disk", message=f"Training stopped: {exc}.", **where)
        if isinstance(exc, TrainingError):
            return self._emit("failed", kind=exc.kind, message=str(exc), **where)
        if isinstance(exc, NetCanvasRuntimeError):
            return self._emit("failed", kind="model", message=f"The model could not be built: {exc}", **where)
        from graph_builder.errors import GraphBuilderError
        from runtime.pretrained import PretrainedError

        if isinstance(exc, PretrainedError):
            return self._emit("failed", kind="weights", message=f"The pretrained weights could not be used: {exc}",
                              **where)
        if isinstance(exc, GraphBuilderError):
            return self._emit("failed", kind="project", message=f"The project is not valid: {exc}", **where)
        at = f" (epoch {self.epoch}, batch {self.batch + 1})" if self.batch is not None and self.epoch else ""
        return self._emit("failed", kind="error", message=f"Training stopped because of an error{at}: "
                          f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=8), **where)

    # ----- setup
    def _settings(self) -> None:
        from graph_builder.errors import ProjectError
        from graph_builder.project import Project, project_from_dict, project_to_dict
        from graph_builder.settings import validate_training_section

        project = self.project_in
        if project is None and self.module_in is None and self.resume and self.run_dir is not None:
            project = _read_config(self.run_dir).get("project")
        if isinstance(project, dict):
            project = project_from_dict(project)
        if project is not None and not isinstance(project, Project):
            raise TypeError(f"train() takes a Project or its dict, not {type(project).__name__}")
        if project is None and self.module_in is None:
            raise TrainingSettingError("nothing to train: give a project (with a graph) or a module")
        self.project = project
        training = {**(project.training if project else {}), **self.training_over}
        try:
            self.t = validate_training_section(training, "$.training", fill_defaults=True)
        except ProjectError as exc:
            raise TrainingSettingError(f"training setting {exc.path.removeprefix('$.training.')}: "
                                       f"{exc.message}") from None
        self.d = dataset_config({**(project.dataset if project else {}), **self.dataset_over})
        snapshot = project_to_dict(project) if project else {"dataset": {}, "training": {}}
        snapshot["dataset"], snapshot["training"] = dict(self.d), dict(self.t)
        if self.module_in is not None:
            for key in ("networks", "main", "graph"):
                snapshot.pop(key, None)  # the networks did not make this model
        self.snapshot = snapshot

    def _setup(self) -> None:
        t = self.t
        self.batch_size = t["batch_size"]
        torch.manual_seed(t["seed"])
        self.device = device = select_device(t["device"])
        self.amp = amp_dtype(device, t["mixed_precision"])
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")
        self.splits: Splits = self.splits_in if self.splits_in is not None else load_splits(self.d)
        s = self.splits
        if is_gan(t):
            return self._setup_gan()
        self._check_fit()
        task = self.spec.id if self.spec.id != "vae" else "reconstruction"
        self.task = task
        self.classes = s.classes if task == "classification" else ()
        self.model = self._model()
        self._start_from_pretrained()
        self._check_inputs()
        target_dtype = torch.long if task == "classification" else torch.float32
        self.data = {k: DeviceSplit.from_arrays(*s[k], device, target_dtype) for k in ("train", "val", "test")}
        self.model.to(device)
        self.loss_name = self._loss_name()
        self._check_outputs()
        self.monitor_split, self.monitor_key = self._monitor()
        self.objective = make_objective(task, self.loss_name, len(self.classes), t, self.binary_logit, self.model)
        self.augment = Augmentation.from_config(self.d)
        self.shuffle_gen = torch.Generator().manual_seed(t["seed"])
        self.augment_gen = torch.Generator(device=device).manual_seed(t["seed"] + 1)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        if not self.params:
            if self.frozen_norms or any(not p.requires_grad for p in self.model.parameters()):
                raise ModelDataMismatchError("every layer with weights is frozen, so nothing would train; unfreeze "
                                             "the new head (or choose Edit ▸ Transfer learning ▸ Full fine-tuning)")
            raise ModelDataMismatchError("the model has no trainable parameters; add a layer with weights "
                                         "(Linear, Conv2d, …) before training")
        pretrained = set(self.pretrained_keys)
        self.pretrained_params = [p for name, p in self.model.named_parameters()
                                  if name in pretrained and p.requires_grad]
        self.optimizer = make_optimizer(self.params, t, device, self.pretrained_params)
        self.batches = self.data["train"].num_batches(t["batch_size"])
        self.scheduler = make_scheduler(self.optimizer, t, self.batches, self.monitor_key)
        self.step_fn = Step(self.model, self.params, self.optimizer, self.scheduler, self.amp, t["grad_clip"],
                            t["l1"], t["schedule"] == "one_cycle")
        self.scaler = self.step_fn.scaler

    def _setup_gan(self) -> None:
        """Two networks of the project, alternating steps (runtime.train.gan checks them, runtime.train.objectives trains)."""
        from runtime.compile.compiler import build_module
        from runtime.data import describe_splits

        t, s, device = self.t, self.splits, self.device
        self.description = describe_splits(s, self.d)
        problem = gan_problem(self.project, t, s.input_shape, self.description.label) if self.project else \
            "a GAN trains two networks of a project; give a project"
        if problem:
            raise ModelDataMismatchError(problem)
        self.task, self.classes, self.loss_name, self.binary_logit = "gan", (), "gan", False
        names = (t["generator"], t["discriminator"])
        g = build_module(self.project.networks[names[0]], init=t["init"], seed=t["seed"])
        d = build_module(self.project.networks[names[1]], init=t["init"], seed=t["seed"] + 1)
        self.data = {k: DeviceSplit.from_arrays(*s[k], device) for k in ("train", "val", "test")}
        amp = self.amp if self.amp != torch.float16 else None  # no loss scaling across two optimizers
        self.objective = make_gan(g.to(device), d.to(device), noise_shape(self.project, t), t, device, names, amp)
        self.model = self.objective.pair
        self.monitor_split, self.monitor_key = self._monitor()
        self.augment = Augmentation.from_config(self.d)
        self.shuffle_gen = torch.Generator().manual_seed(t["seed"])
        self.augment_gen = torch.Generator(device=device).manual_seed(t["seed"] + 1)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = Optimizers(generator=self.objective.g_optimizer, discriminator=self.objective.d_optimizer)
        self.batches = self.data["train"].num_batches(t["batch_size"])
        self.scheduler = self.scaler = None
        self.step_fn = GANStep(self.objective)

    def _start_from_pretrained(self) -> None:
        """Load the project's pretrained weights, then freeze its frozen nodes (runtime.pretrained, .freezing)."""
        if self.module_in is not None or self.project is None:
            return
        from runtime.train.freezing import frozen_modules
        from runtime.pretrained import load_initial_weights

        # Also on resume: the checkpoint then replaces the weights, but the keys say which are the
        # pretrained part (their own learning rate, the optimizer's second group).
        self.pretrained_keys = load_initial_weights(self.project, self.project_path, self.model)
        self.frozen_norms = freeze(self.model, frozen_modules(self.project.graph))

    def _model(self) -> nn.Module:
        if self.module_in is not None:
            return self.module_in
        if self.project is None or not self.project.graph.nodes:
            raise ModelDataMismatchError("the graph is empty; add an Input, some layers and an Output")
        from runtime.compile.compiler import build_module

        return build_module(self.project.graph, init=self.t["init"], seed=self.t["seed"])

    def _check_fit(self) -> None:
        """The one model-against-data check (graph_builder.datafit), before the model is built."""
        from graph_builder.shapes import infer_shapes
        from graph_builder.tasks import resolve
        from runtime.data import describe_splits

        self.description = description = describe_splits(self.splits, self.d)
        graph = self.project.graph if self.project is not None and self.module_in is None else None
        self.spec = spec = resolve(self.t, description.kind, graph)
        problem = spec.data_problem(description)
        if problem:
            raise TrainingSettingError(problem)
        if graph is None:
            return  # a module given in code: _check_inputs/_check_outputs probe it
        issues = spec.fit_problems(graph, infer_shapes(graph), description, self.t, self.project)
        if issues:
            raise ModelDataMismatchError(issues[0].message)

    def _check_inputs(self) -> None:
        from runtime.compile.compiler import interface_of

        iface = interface_of(self.model)
        if iface is None or self.module_in is None:
            return  # a graph's model was checked by _check_fit
        if len(iface.inputs) != 1:
            raise ModelDataMismatchError(f"the model has {len(iface.inputs)} inputs but a dataset feeds one; "
                                         "keep a single Input node")
        inp = iface.inputs[0]
        want = tuple(inp.shape[1:])  # without the batch dimension
        have = self.splits.input_shape
        if want != have:
            raise ModelDataMismatchError(
                f"the Input node {inp.name!r} has shape {want} but {self.description.label} has samples of "
                f"shape {have}; set the Input shape to {list(have)}")
        if inp.dtype != self.splits.dtype:
            raise ModelDataMismatchError(f"the Input node {inp.name!r} is {inp.dtype} but {self.description.label} "
                                         f"gives {self.splits.dtype}; set the Input dtype to {self.splits.dtype}")

    def _loss_name(self) -> str:
        try:
            return resolve_loss(self.task, self.t["loss"], self.splits.title)
        except ObjectiveError as exc:
            raise TrainingSettingError(str(exc)) from None

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.model, x, self.amp)

    def _check_outputs(self) -> None:
        probe = self.data["train"].x[:2]
        if not self.data["train"].resident:
            probe = probe.to(self.device)
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self._forward(probe)
        self.model.train(was)
        shape = tuple(out.shape[1:])
        self.binary_logit = False
        if self.task == "classification":
            k = len(self.classes)
            if self.loss_name == "bce_with_logits" and k == 2 and math.prod(shape) == 1:
                self.binary_logit = True
                return
            if shape != (k,):
                fix = (f"end with Linear(out_features={k})" if len(shape) == 1
                       else f"Flatten and end with Linear(out_features={k})")
                raise ModelDataMismatchError(
                    f"the model's output has shape (N, {', '.join(map(str, shape))}) but {self.description.label} "
                    f"has {k} classes, so it must be (N, {k}) (one score per class); {fix}")
        else:
            target = self.splits.input_shape if self.task == "reconstruction" else self.splits.target_shape
            if math.prod(shape) != math.prod(target):
                raise ModelDataMismatchError(
                    f"the model's output has shape (N, {', '.join(map(str, shape))}) but the {self.task} target has "
                    f"shape (N, {', '.join(map(str, target))}); make the last layer produce {math.prod(target)} "
                    "values per sample")

    def _monitor(self) -> tuple[str, str]:
        try:
            return resolve_monitor(self.t["monitor"], self.task, len(self.classes), len(self.data["val"]) > 0)
        except ObjectiveError as exc:
            raise TrainingSettingError(str(exc)) from None

    def _evaluate(self, split: str):
        data = self.data[split]
        if len(data) == 0:
            return {}, None
        meter = evaluate(self.objective, self.model, data.batches(max(EVAL_BATCH, self.t["batch_size"])),
                         self.device, self.amp)
        matrix = meter.matrix.tolist() if self.task == "classification" else None
        return meter.compute(), matrix

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # ----- files
    def _prepare_folder(self) -> None:
        if self.run_dir is None:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "confusion").mkdir(exist_ok=True)
        except OSError as exc:
            raise WriteError(self.run_dir, exc) from None
        self.network = self._network_record()
        config = {
            "format": "netcanvas-run", "version": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "project": self.snapshot,
            "network": self.network,
            "resolved": {
                "task": self.task, "loss": self.loss_name, "device": str(self.device),
                "amp": _dtype_name(self.amp), "classes": list(self.classes),
                "input_shape": list(self.splits.input_shape), "target_shape": list(self.splits.target_shape),
                "normalization": None if self.splits.mean is None else {
                    "mean": self.splits.mean.reshape(-1).tolist(), "std": self.splits.std.reshape(-1).tolist(),
                    "shape": list(self.splits.mean.shape)},  # broadcasts against one sample (runtime.export.preprocess)
                "dataset": self.splits.name, "image": self.splits.image, "dtype": self.splits.dtype,
            },
        }
        if not (self.resume and (self.run_dir / "config.json").exists()):
            write_atomic(self.run_dir / "config.json", json.dumps(config, indent=2, default=_jsonable).encode())
        self._log = RunLog(self.run_dir / METRICS, resume=self.resume, committed=self._log_bytes,
                           last_epoch=self._resumed_epoch)

    def _network_record(self) -> dict | None:
        """The fingerprint, parameter count and title of the network trained (None for a given module)."""
        if self.project is None or self.module_in is not None:
            return None
        from graph_builder.runs import network_record

        return network_record(self.project, sum(p.numel() for p in self.model.parameters()))

    def _save_weights(self, name: str, state: dict | None = None) -> None:
        if self.run_dir is None:
            return
        from safetensors.torch import save

        state = state if state is not None else self.model.state_dict()
        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        metadata = {"format": "netcanvas", "epoch": str(self.epoch)}
        if self.network is not None:  # weights copied out of the run still say what they fit
            metadata["fingerprint"] = self.network["fingerprint"]
        write_atomic(self.run_dir / name, save(tensors, metadata=metadata))

    def _save_checkpoint(self, epoch: int) -> None:
        if self.run_dir is None:
            return
        self.state.epoch = epoch
        state = self.state.to_checkpoint(
            model={k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            rng={"torch": torch.get_rng_state(), "shuffle": self.shuffle_gen.get_state(),
                 "augment": self.augment_gen.get_state().cpu(),
                 "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None},
            log_bytes=self._log.commit() if self._log is not None else None)  # the journal it covers
        buffer = io.BytesIO()  # serialised first, so a full disk is an OSError from one write, not torch's
        torch.save(state, buffer)
        write_atomic(self.run_dir / CHECKPOINT, buffer.getvalue())

    def _load_checkpoint(self) -> int:
        path = self.run_dir / CHECKPOINT if self.run_dir else None
        if path is None or not path.is_file():
            raise CheckpointError(f"there is no {CHECKPOINT} in {str(self.run_dir)!r} to resume from; a run writes it "
                                  "after its first epoch")
        if (self.run_dir / "config.json").exists():
            read_config(self.run_dir)  # a damaged config.json is refused here, by name
        if self.project is not None and self.module_in is None:
            from graph_builder.runs import RunsError, check_run_fits

            try:
                check_run_fits(self.run_dir, self.project)
            except RunsError as exc:
                raise CheckpointError(f"cannot resume: {exc}") from None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling refused or a damaged file
            raise CheckpointError(f"{path} cannot be read safely ({type(exc).__name__}: {exc}); start a new run") \
                from None
        state = check_checkpoint(state, path, CHECKPOINT_FORMAT)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{path} was made for a different model or optimizer, or is damaged "
                                  f"({exc}); resume with the same project or start a new run") from None
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        try:
            torch.set_rng_state(rng["torch"])
            self.shuffle_gen.set_state(rng["shuffle"])
            self.augment_gen.set_state(rng["augment"].to(self.augment_gen.device) if self.device.type != "cpu"
                                       else rng["augment"])
            if rng.get("cuda") is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.device)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path} is damaged: its random-number state cannot be restored ({exc}); "
                                  "start a new run") from None
        self.state = RunState.from_checkpoint(state)
        best = self.run_dir / "best.safetensors"
        if best.is_file() and self.state.best_epoch is not None:
            from safetensors.torch import load_file

            try:
                self.best_state = {k: v.to(self.device) for k, v in load_file(str(best)).items()}
            except Exception as exc:  # noqa: BLE001 — a damaged file, in safetensors' words
                raise CheckpointError(f"{best} is damaged ({exc}); start a new run") from None
        self._log_bytes = state.get("log_bytes")
        self._resumed_epoch = state["epoch"]
        return state["epoch"]

    # ----- the loop
    def _events(self) -> Iterator[dict]:
        self._settings()
        self._setup()
        t = self.t
        self.best_state: dict | None = None
        start = self._load_checkpoint() if self.resume else 0
        st = self.state
        self._prepare_folder()
        epochs = t["epochs"]
        n_train = len(self.data["train"])
        yield self._started(start, epochs, n_train)
        total_batches = max(1, (epochs - start) * self.batches)
        done_batches = 0
        train_started = time.perf_counter()
        last_emit = -math.inf
        stopped_early = False
        bad_at = torch.full((), -1, dtype=torch.long, device=self.device)  # first batch with a non-finite loss
        sanity = SanityWatch(len(self.classes), t["lr"])
        for warning in settings_warnings(t, n_train):
            yield self._emit("alarm", kind="settings", message=warning, epoch=0)
        for epoch in range(start + 1, epochs + 1):
            self.epoch = epoch
            self.model.train()
            hold_frozen(self.frozen_norms)  # train() set every layer; frozen BatchNorm keeps its statistics
            self.objective.begin_epoch(epoch)
            meter = self.objective.meter(self.device, keep_scores=False)
            epoch_started = time.perf_counter()
            order = torch.randperm(n_train, generator=self.shuffle_gen)
            for b, (xb, yb) in enumerate(self.data["train"].batches(t["batch_size"], order)):
                self.batch = b
                yield from self._obey_control(epoch, b)
                out, target, loss, total = self.step_fn(self.objective, xb, yb, self.augment, self.augment_gen,
                                                        self.splits.image)
                st.step += 1
                done_batches += 1
                bad_at = torch.where((bad_at < 0) & ~torch.isfinite(total), b, bad_at)
                self.objective.update(meter, out, target, loss)
                now = time.perf_counter()
                if self.live and now - last_emit >= EVENT_INTERVAL_S:
                    last_emit = now
                    self._check_finite(bad_at)
                    yield self._emit("batch", epoch=epoch, batch=b, batches=self.batches, step=st.step,
                                     loss=float(loss), lr=self._lr())
                    yield self._progress(epoch, b + 1, done_batches, total_batches, train_started, n_train)
            self.batch = None
            self._check_finite(bad_at)
            train_time = time.perf_counter() - epoch_started
            train_metrics = meter.compute()
            val_metrics, matrix = self._evaluate("val")
            lr = self._lr()
            monitored = (val_metrics if self.monitor_split == "val" else train_metrics).get(self.monitor_key)
            improved = st.observe(epoch, self.monitor_key, monitored, t["min_delta"])
            if improved:
                self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self._save_weights("best.safetensors", self.best_state)
            end_of_epoch_schedule(self.scheduler, t, monitored)
            yield self._emit("epoch", epoch=epoch, epochs=epochs, train=train_metrics, val=val_metrics, lr=lr,
                             next_lr=self._lr(), time_s=round(train_time, 4),
                             samples_per_s=round(n_train / train_time, 1) if train_time > 0 else None,
                             monitor=t["monitor"], monitor_value=monitored, improved=improved,
                             best_epoch=st.best_epoch, best_value=st.best_value)
            if matrix is not None:
                yield self._confusion(epoch, "validation", matrix)
            self._save_weights("last.safetensors")
            yield from self._generative(epoch)
            self._save_checkpoint(epoch)
            if (alarm := sanity.observe(train_metrics, val_metrics)) is not None:
                yield self._emit("alarm", kind=alarm.kind, message=alarm.message, epoch=epoch)
                if t["stop_on_divergence"]:
                    yield self._emit("failed", kind=alarm.kind, message=f"Stopped at epoch {epoch}: {alarm.message}",
                                     epoch=epoch, batch=None)
                    return
            if self.live:
                yield self._progress(epoch, self.batches, done_batches, total_batches, train_started, n_train)
            if st.should_stop(t, epochs):
                stopped_early = True
                break
        yield from self._finish(stopped_early)

    def _started(self, start: int, epochs: int, n_train: int) -> dict:
        t = self.t
        return self._emit(
            "started", run_dir=str(self.run_dir) if self.run_dir else None, epochs=epochs, start_epoch=start + 1,
            resumed=self.resume, batches_per_epoch=self.batches, batch_size=t["batch_size"], train_size=n_train,
            val_size=len(self.data["val"]), test_size=len(self.data["test"]), classes=list(self.classes),
            task=self.task, metric=_HEADLINE.get(self.task, "mae"), loss=self.loss_name,
            optimizer=t["optimizer"], monitor=t["monitor"], device=str(self.device),
            device_name=device_name(self.device), amp=_dtype_name(self.amp), dataset=self.splits.name,
            input_shape=list(self.splits.input_shape), params=sum(p.numel() for p in self.params))

    def _obey_control(self, epoch: int, b: int) -> Iterator[dict]:
        """Pause and stop, checked before every batch."""
        stop, pause = self.control.stop, self.control.pause
        if pause.is_set() and not stop.is_set():
            yield self._emit("paused", epoch=epoch, batch=b)
            while pause.is_set() and not stop.is_set():
                stop.wait(0.05)
            if not stop.is_set():
                yield self._emit("resumed", epoch=epoch, batch=b)
        if stop.is_set():
            self._save_weights("last.safetensors")
            yield self._emit("stopped", message=f"Training stopped at epoch {epoch}, batch {b + 1} of "
                             f"{self.batches}.", epoch=epoch, batch=b, best_epoch=self.state.best_epoch)
            raise _Stopped

    def _finish(self, stopped_early: bool) -> Iterator[dict]:
        t, st = self.t, self.state
        epochs = t["epochs"]
        self.epoch = epochs if not stopped_early else self.epoch
        restored = False
        if t["restore_best"] and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            restored = True
        test_metrics, matrix = self._evaluate("test")
        if matrix is not None:
            yield self._confusion(self.epoch, "test", matrix)
        yield from self._anomalies()
        elapsed = time.perf_counter() - self._t0
        summary = _summary(self.task, test_metrics)
        why = (f"stopped early after epoch {self.epoch}: {t['monitor']} did not improve for {t['patience']} epochs"
               if stopped_early else f"finished {self.epoch} epochs")
        yield self._emit("finished", message=f"Training {why}{'; ' + summary if summary else ''}.",
                         epochs_run=self.epoch, stopped_early=stopped_early, best_epoch=st.best_epoch,
                         best_value=st.best_value, restored_best=restored, test=test_metrics,
                         elapsed_s=round(elapsed, 3), run_dir=str(self.run_dir) if self.run_dir else None)

    def _generative(self, epoch: int) -> Iterator[dict]:
        """The generative views of the epoch (runtime.generate.generative): reconstructions, samples, latent plane."""
        if self._report is None:  # made at the first epoch's end (None again for a supervised objective)
            from runtime.generate.generative import GenerativeReport

            self._report = GenerativeReport.of(self.objective, self.model, self.data, self.splits.input_shape,
                                               bool(self.splits.classes), self.device, self.amp)
        if self._report is not None:
            events = [self._emit(type_, **data) for type_, data in self._report.epoch_events(epoch)]
            if self.run_dir is not None and events:  # the latest views, for a past run chosen in Evaluate
                write_atomic(self.run_dir / "generative.json", json.dumps(events).encode())
            yield from events

    def _anomalies(self) -> Iterator[dict]:
        """An autoencoder's worst-reconstructed samples, worst first (the Evaluate view lists them)."""
        from runtime.train.objectives import Reconstruction

        if not isinstance(self.objective, Reconstruction):
            return
        from runtime.generate.generative import anomaly_ranking

        split = "test" if len(self.data["test"]) else "val"
        data = anomaly_ranking(self.objective, self.model, self.data[split], self.splits.input_shape,
                               bool(self.splits.classes), "validation" if split == "val" else split)
        if data is not None:
            yield self._emit("anomaly", **data)

    def _check_finite(self, bad_at: torch.Tensor) -> None:
        b = int(bad_at)
        if b >= 0:
            self.batch = b  # the failed event names the batch the message names
            role = self.objective.nonfinite_network()
            whose = f"The {role} network {self.t[role]!r}'s loss" if role else "The loss"
            raise NonFiniteLossError(
                f"{whose} became NaN or infinite at epoch {self.epoch}, batch {b + 1}. Lower the learning rate "
                f"(now {self.t['lr']:g}), turn on gradient clipping, or check the data for extreme values.")

    def _progress(self, epoch: int, batch: int, done: int, total: int, started: float, n_train: int) -> dict:
        elapsed = time.perf_counter() - started
        fraction = min(1.0, done / total)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        epoch_batches = (epoch - 1) * self.batches + batch
        return self._emit("progress", epoch=epoch, epochs=self.t["epochs"], batch=batch, batches=self.batches,
                          fraction=round(fraction, 5), elapsed_s=round(elapsed, 3),
                          eta_s=round(eta, 3) if eta is not None else None,
                          samples_per_s=round(done * n_train / self.batches / elapsed, 1) if elapsed > 0 else None,
                          step=epoch_batches)

    def _confusion(self, epoch: int, split: str, matrix: list) -> dict:
        event = self._emit("confusion", epoch=epoch, split=split, matrix=matrix, classes=list(self.classes))
        if self.run_dir is not None:
            name = f"{split}_epoch{epoch:04d}.json" if split == "validation" else "test.json"
            write_atomic(self.run_dir / "confusion" / name,
                         json.dumps({"epoch": epoch, "split": split, "classes": list(self.classes),
                                     "matrix": matrix}).encode())
        return event


# ---------------------------------------------------------------- small helpers

_HEADLINE = {"classification": "accuracy", "gan": "d_real"}  # the dashboard's metric plot; else mae


def _summary(task: str, metrics: dict) -> str:
    if not metrics:
        return ""
    if task == "classification":
        return f"test accuracy {metrics['accuracy']:.2%}, macro F1 {metrics['f1_macro']:.3f}"
    if task == "gan":
        return (f"test D(real) {metrics['d_real']:.2f}, D(fake) {metrics['d_fake']:.2f}, sample diversity "
                f"{metrics.get('diversity', float('nan')):.2f}")
    r2 = metrics.get("r2")
    return f"test MSE {metrics['mse']:.4g}, MAE {metrics['mae']:.4g}" + (f", R² {r2:.3f}" if r2 is not None else "")


def _dtype_name(dtype: torch.dtype | None) -> str | None:
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype) if dtype is not None else None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _read_config(run_dir: Path) -> dict:
    return read_config(run_dir)
